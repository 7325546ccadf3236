//! Browser languages and countries.

/// The languages whose country is safe to guess from a bare language tag:
/// the country most of their speakers live in (Matomo's language-to-country
/// list; widely spoken languages such as English, Arabic or Chinese are
/// left out). The tracker guesses a visit's country with it, the
/// UserLanguage archiver its `lang-country` labels.
const LANGUAGE_TO_COUNTRY: [(&str, &str); 40] = [
    ("bg", "bg"),
    ("bo", "cn"),
    ("ca", "es"),
    ("cs", "cz"),
    ("da", "dk"),
    ("de", "de"),
    ("el", "gr"),
    ("es", "es"),
    ("et", "ee"),
    ("fa", "ir"),
    ("fi", "fi"),
    ("fr", "fr"),
    ("he", "il"),
    ("hr", "hr"),
    ("hu", "hu"),
    ("id", "id"),
    ("is", "is"),
    ("it", "it"),
    ("ja", "jp"),
    ("ko", "kr"),
    ("lt", "lt"),
    ("lv", "lv"),
    ("mk", "mk"),
    ("ms", "my"),
    ("nb", "no"),
    ("nl", "nl"),
    ("nn", "no"),
    ("no", "no"),
    ("pl", "pl"),
    ("pt", "pt"),
    ("ro", "ro"),
    ("ru", "ru"),
    ("sk", "sk"),
    ("sl", "si"),
    ("sq", "al"),
    ("sr", "rs"),
    ("sv", "se"),
    ("th", "th"),
    ("tr", "tr"),
    ("uk", "ua"),
];

/// The country guessed for a bare language code (`fr` → `fr`, `ja` →
/// `jp`), or `None` where no guess is safe (`en`).
pub fn guessed_country(language: &str) -> Option<&'static str> {
    LANGUAGE_TO_COUNTRY
        .iter()
        .find(|(code, _)| *code == language)
        .map(|(_, country)| *country)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_safe_languages_give_a_country() {
        assert_eq!(guessed_country("ja"), Some("jp"));
        assert_eq!(guessed_country("nb"), Some("no"));
        assert_eq!(guessed_country("en"), None);
        assert_eq!(guessed_country("zh"), None);
    }
}
