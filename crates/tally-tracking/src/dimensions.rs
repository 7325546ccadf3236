//! Custom dimension extractions (Matomo's CustomDimensions plugin,
//! `Dimension/Extraction.php`): an action dimension the request does not
//! send is filled from the page URL, one of its query parameters or the
//! page title, by the first extraction whose pattern captures something.
//!
//! The rules live here, in the tracker, because the admin API must refuse
//! exactly the patterns the tracker could not apply: `tally-management`
//! validates a new extraction by compiling it with [`Extraction::compile`].

use regex::{Regex, RegexBuilder};

use crate::php;

/// What an extraction reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExtractionSource {
    /// `url`: the page URL as sent.
    Url,
    /// `urlparam`: the value of one query parameter of the page URL.
    UrlParam,
    /// `action_name`: the page title.
    ActionName,
}

impl ExtractionSource {
    /// Matomo's names and English labels, in its order
    /// (`CustomDimensions.getAvailableExtractionDimensions`).
    pub const ALL: [(&'static str, &'static str); 3] = [
        ("url", "Page URL"),
        ("urlparam", "Page URL Parameter"),
        ("action_name", "Page Title"),
    ];

    /// The source named `name` (`url`, `urlparam`, `action_name`).
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "url" => Some(Self::Url),
            "urlparam" => Some(Self::UrlParam),
            "action_name" => Some(Self::ActionName),
            _ => None,
        }
    }
}

/// Why an extraction cannot be used; the messages are Matomo's.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExtractionError {
    /// The dimension is not one of [`ExtractionSource::ALL`] (Matomo's
    /// typo "Invald" kept, as clients may match on it).
    #[error(
        "Invald dimension '{0}' used in an extraction. Available dimensions are: url, urlparam, action_name"
    )]
    UnknownDimension(String),
    /// A `url` or `action_name` pattern must capture exactly one group.
    #[error(
        "You need to group exactly one part of the regular expression inside round brackets, eg 'index_(.+).html'"
    )]
    OneGroup,
    /// The pattern does not compile (`General_ValidatorErrorNoValidRegex`,
    /// naming the regex in PHP's `/.../` form, as Matomo validates it).
    #[error("The value \"{0}\" is not a valid regular expression.")]
    Regex(String),
}

/// One compiled extraction.
#[derive(Debug, Clone)]
pub struct Extraction {
    source: ExtractionSource,
    regex: Regex,
}

impl Extraction {
    /// Compiles `pattern` as Matomo builds its PCRE: a `urlparam` pattern is
    /// the parameter's name (itself a regex) inside `\?.*NAME=([^&]*)`; the
    /// others must hold exactly one capturing group, counted as Matomo
    /// counts it (brackets minus `(?` openings).
    ///
    /// # Errors
    /// An unknown source, a wrong group count or a pattern that does not
    /// compile.
    pub fn compile(
        dimension: &str,
        pattern: &str,
        case_sensitive: bool,
    ) -> Result<Self, ExtractionError> {
        let source = ExtractionSource::parse(dimension)
            .ok_or_else(|| ExtractionError::UnknownDimension(dimension.to_owned()))?;
        let non_capturing = pattern.matches("(?").count();
        if !pattern.is_empty() && source != ExtractionSource::UrlParam {
            let after_open = pattern.find('(').map_or("", |at| &pattern[at..]);
            let one = |count: usize| count.checked_sub(non_capturing) == Some(1);
            if !one(pattern.matches('(').count())
                || !one(pattern.matches(')').count())
                || !one(after_open.matches(')').count())
            {
                return Err(ExtractionError::OneGroup);
            }
        }
        let full = match source {
            ExtractionSource::UrlParam => format!(r"\?.*{pattern}=([^&]*)"),
            _ => pattern.to_owned(),
        };
        let regex = RegexBuilder::new(&full)
            .case_insensitive(!case_sensitive)
            .size_limit(1 << 20)
            .build()
            .map_err(|_| {
                let flags = if case_sensitive { "" } else { "i" };
                ExtractionError::Regex(format!("/{}/{flags}", full.replace('/', "\\/")))
            })?;
        Ok(Self { source, regex })
    }

    /// The source this extraction reads.
    pub fn source(&self) -> ExtractionSource {
        self.source
    }

    /// The first group the pattern captures in the page URL (`url`,
    /// `urlparam`) or title (`action_name`), URL-decoded, trimmed and cut
    /// to 250 characters as Matomo stores it; `None` when there is no
    /// input, no match or an empty capture.
    pub fn extract(&self, url: Option<&str>, title: Option<&str>) -> Option<String> {
        let input = match self.source {
            ExtractionSource::Url | ExtractionSource::UrlParam => url?,
            ExtractionSource::ActionName => title?,
        };
        if input.is_empty() {
            return None;
        }
        let captured = self.regex.captures(input)?.get(1)?.as_str();
        if captured.is_empty() {
            return None;
        }
        let decoded = php::urldecode(captured);
        Some(php::truncate_chars(php::trim(&decoded), 250).to_owned())
    }
}

/// The value of the first extraction that captures something.
pub fn extract_first(
    extractions: &[Extraction],
    url: Option<&str>,
    title: Option<&str>,
) -> Option<String> {
    extractions.iter().find_map(|e| e.extract(url, title))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_url_pattern_captures_its_one_group() {
        let e = Extraction::compile("url", "/sub_(.{2})/page", true).unwrap();
        let url = "http://example.com/sub_en/page?test=343&param=23";
        assert_eq!(e.extract(Some(url), None).as_deref(), Some("en"));
        assert_eq!(e.extract(Some("http://example.com/"), None), None);
        assert_eq!(e.extract(None, Some("sub_en/page")), None);
    }

    #[test]
    fn a_url_parameter_is_found_by_name_and_decoded() {
        let test = Extraction::compile("urlparam", "test", true).unwrap();
        let param = Extraction::compile("urlparam", "param", true).unwrap();
        let both = [test, param];
        let url = "http://example.com/sub_en/page?test=343&param=23";
        assert_eq!(
            extract_first(&both, Some(url), None).as_deref(),
            Some("343")
        );
        let url = "http://example.com/sub_en/page?param=en%20US+x";
        assert_eq!(
            extract_first(&both, Some(url), None).as_deref(),
            Some("en US x")
        );
        assert_eq!(
            extract_first(&both, Some("http://example.com/page"), None),
            None
        );
        // An empty value is no value: the next extraction gets its turn.
        let url = "http://example.com/?test=&param=b";
        assert_eq!(extract_first(&both, Some(url), None).as_deref(), Some("b"));
    }

    #[test]
    fn titles_and_case_sensitivity() {
        let sensitive = Extraction::compile("action_name", "Product (\\w+)", true).unwrap();
        let insensitive = Extraction::compile("action_name", "Product (\\w+)", false).unwrap();
        assert_eq!(sensitive.extract(None, Some("product Shoe")), None);
        assert_eq!(
            insensitive.extract(None, Some("product Shoe")).as_deref(),
            Some("Shoe")
        );
    }

    #[test]
    fn matomos_checks_refuse_what_it_refuses() {
        assert_eq!(
            Extraction::compile("referrer", "(x)", true).unwrap_err(),
            ExtractionError::UnknownDimension("referrer".to_owned())
        );
        for pattern in ["index.html", "(a)(b)", "a)(b", "((a))"] {
            assert_eq!(
                Extraction::compile("url", pattern, true).unwrap_err(),
                ExtractionError::OneGroup,
                "{pattern}"
            );
        }
        // Non-capturing groups do not count; a URL parameter has its own group.
        assert!(Extraction::compile("url", "(?:www\\.)?x/(\\d+)", true).is_ok());
        assert!(Extraction::compile("urlparam", "utm_.*", true).is_ok());
        assert_eq!(
            Extraction::compile("url", "(a[)", true).unwrap_err(),
            ExtractionError::Regex("/(a[)/".to_owned())
        );
    }
}
