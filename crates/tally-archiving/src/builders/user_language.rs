//! UserLanguage: visits by browser language (MATOMO.md section 7.5;
//! Matomo's `plugins/UserLanguage/RecordBuilders/Languages.php`).

use tally_datatable::DataTable;

use crate::ArchiveError;
use crate::builders::{MAX_ROWS_STANDARD, label_of, sum_visits};
use crate::context::{DayContext, SharedScan};
use crate::grouping::group_visit_dimensions;
use crate::record::{Record, RecordBuilder};

/// [`UserLanguage::LANGUAGE`]: one record serves both API methods,
/// `UserLanguage.getLanguageCode` (the labels as stored) and
/// `UserLanguage.getLanguage` (grouped by language at query time).
///
/// `location_browser_lang` holds one code (`en-us`, `de`, `xx`, empty). A
/// row is labelled `lang` or `lang-country`: the language of the first tag
/// whose language has two letters (`xx` without one), and the country
/// guessed from a bare language (`ja` is `ja-jp`, `cs` is `cs-cz`; `en`
/// and `zh` are not guessed) or else the first `-xx` region. When there is
/// no country, or it equals the language (`de-de`, `fr`), the label is the
/// bare language. Values that give the same label are summed (unique
/// visitors included, as Matomo sums them). Rows carry the 8 visit
/// metrics keyed by id (1, 2, 3, 39, 4, 5, 6, 7). Longer periods use the
/// default aggregation.
///
/// Differences from Matomo: any two lowercase letters count as a language
/// and any two after a `-` as a country, where Matomo checks its language
/// and country lists. Values written by our tracker only hold codes from
/// those lists; imported values with unknown codes keep them here where
/// Matomo would label them `xx`.
#[derive(Debug, Clone)]
pub struct UserLanguage {
    /// Top-level rows (`datatable_archiving_maximum_rows_standard`,
    /// default 500).
    pub max_rows: usize,
}

impl Default for UserLanguage {
    fn default() -> Self {
        Self {
            max_rows: MAX_ROWS_STANDARD,
        }
    }
}

impl UserLanguage {
    /// Languages, labelled `lang` or `lang-country`.
    pub const LANGUAGE: &'static str = "UserLanguage_language";
}

/// Unknown language or country.
const UNKNOWN: &str = "xx";

/// The number of leading ASCII lowercase letters of `text`.
fn leading_letters(text: &str) -> usize {
    text.bytes().take_while(u8::is_ascii_lowercase).count()
}

/// The language of the first comma-separated tag that starts with exactly
/// two letters (`extractLanguageCodeFromBrowserLanguage`; three letters
/// are never a known language there).
fn language_code(value: &str) -> &str {
    value
        .split(',')
        .find(|tag| leading_letters(tag) == 2)
        .and_then(|tag| tag.get(..2))
        .unwrap_or(UNKNOWN)
}

/// The country of a browser language
/// (`extractCountryCodeFromBrowserLanguage` with the language guess on).
fn country_code(value: &str) -> &str {
    // A bare language of 2 or 3 letters, alone or before `,` or `;`.
    let letters = leading_letters(value);
    if (2..=3).contains(&letters)
        && matches!(value.as_bytes().get(letters), None | Some(b',' | b';'))
    {
        let language = value.get(..letters).unwrap_or_default();
        if let Some(country) = tally_schema::lang::guessed_country(language) {
            return country;
        }
    }
    // Else the first region: a `-` and two letters.
    value
        .match_indices('-')
        .filter_map(|(at, _)| value.get(at + 1..at + 3))
        .find(|region| leading_letters(region) == 2)
        .unwrap_or(UNKNOWN)
}

/// The report label of a stored browser language.
fn language_label(value: &str) -> String {
    let language = language_code(value);
    let country = country_code(value);
    if country == UNKNOWN || country == language {
        language.to_owned()
    } else {
        format!("{language}-{country}")
    }
}

impl RecordBuilder for UserLanguage {
    fn plugin(&self) -> &str {
        "UserLanguage"
    }

    fn shared_scans(&self) -> &'static [SharedScan] {
        &[SharedScan::VisitDimensions]
    }

    fn records(&self) -> Vec<Record> {
        vec![Record::blob(Self::LANGUAGE).max_rows(self.max_rows, 0)]
    }

    fn build_day(&self, ctx: &mut DayContext<'_>) -> Result<(), ArchiveError> {
        let visits = ctx.visit_dimensions()?;
        let mut table = DataTable::new();
        // `location_browser_lang`, grouped from the shared visit scan.
        for group in &group_visit_dimensions(&visits, |v, key| {
            key.push(v.browser_lang.as_deref());
            true
        }) {
            sum_visits(
                &mut table,
                &language_label(label_of(&group.labels, 0)),
                group,
            )?;
        }
        if table.rows_count() > 0 {
            ctx.insert_table(Self::LANGUAGE, table);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_language_and_country() {
        for (stored, label) in [
            ("en-us", "en-us"),
            ("en-gb", "en-gb"),
            ("en", "en"),
            ("de-de", "de"),
            ("de", "de"),
            ("de-at", "de-at"),
            ("ja", "ja-jp"),
            ("cs", "cs-cz"),
            ("pt-br", "pt-br"),
            ("zh-cn", "zh-cn"),
            ("es-419", "es"),
            ("fr,en", "fr"),
            ("eng", "xx"),
            ("xx", "xx"),
            ("", "xx"),
        ] {
            assert_eq!(language_label(stored), label, "for {stored:?}");
        }
    }
}
