//! `[tracker] exclude_requests`: requests excluded by their own parameters
//! (MATOMO.md §1.6 step 4), e.g. `e_c==Media,action_name=@privacy`.
//!
//! The rules are Matomo's: a comma-separated list of
//! `<parameter><operator><value>` with the segment operators `==`, `!=`,
//! `=@`, `!@`, `=^`, `=$`; the value is URL-decoded (so a literal comma is
//! written `%2C`); the request's parameter (empty when absent) and the value
//! are compared lower-cased. A request matching any rule is answered as
//! usual and stores nothing.

use crate::params::RawParams;
use crate::php;

/// One rule's comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Equals,
    NotEquals,
    Contains,
    NotContains,
    StartsWith,
    EndsWith,
}

/// Operators in the order Matomo's pattern tries them at each position.
const OPERATORS: [(&str, Op); 6] = [
    ("==", Op::Equals),
    ("!=", Op::NotEquals),
    ("=@", Op::Contains),
    ("!@", Op::NotContains),
    ("=^", Op::StartsWith),
    ("=$", Op::EndsWith),
];

#[derive(Debug, Clone, PartialEq, Eq)]
struct Rule {
    param: String,
    op: Op,
    /// URL-decoded and lower-cased.
    value: String,
}

/// The parsed `exclude_requests` rules.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RequestExclusions {
    rules: Vec<Rule>,
}

impl RequestExclusions {
    /// Parses Matomo's setting. Returns the rules and the entries that hold
    /// no operator: Matomo skips those silently; the caller should say so.
    pub fn parse(setting: &str) -> (Self, Vec<String>) {
        let mut rules = Vec::new();
        let mut skipped = Vec::new();
        if setting.trim().is_empty() {
            return (Self { rules }, skipped);
        }
        for entry in setting.split(',') {
            match split_rule(entry) {
                Some((param, op, value)) => rules.push(Rule {
                    param: param.to_owned(),
                    op,
                    value: php::urldecode(value).to_lowercase(),
                }),
                None => skipped.push(entry.to_owned()),
            }
        }
        (Self { rules }, skipped)
    }

    /// Whether no rule is configured.
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// Whether any rule matches the request's parameters.
    pub fn excludes(&self, params: &RawParams) -> bool {
        self.rules.iter().any(|rule| {
            // The value as Matomo's `getRequestVar(.., 'string')` returns it
            // (HTML special characters escaped), lower-cased.
            let actual = params
                .get(&rule.param)
                .map(|v| php::sanitize_input_value(v).to_lowercase())
                .unwrap_or_default();
            let value = rule.value.as_str();
            match rule.op {
                Op::Equals => actual == value,
                Op::NotEquals => actual != value,
                // An empty needle is found at 0 by PHP 8's `stripos`.
                Op::Contains => actual.contains(value),
                Op::NotContains => !actual.contains(value),
                Op::StartsWith => actual.starts_with(value),
                Op::EndsWith => actual.ends_with(value),
            }
        })
    }
}

/// `^(.+?)(==|!=|=@|!@|=\^|=\$)(.*)`: the shortest non-empty parameter name
/// followed by an operator.
fn split_rule(entry: &str) -> Option<(&str, Op, &str)> {
    let starts = entry.char_indices().map(|(i, _)| i).filter(|&i| i > 0);
    for i in starts {
        let rest = &entry[i..];
        if let Some((token, op)) = OPERATORS.iter().find(|(t, _)| rest.starts_with(t)) {
            return Some((&entry[..i], *op, &rest[token.len()..]));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(pairs: &[(&str, &str)]) -> RawParams {
        let mut p = RawParams::new();
        for (k, v) in pairs {
            p.insert(*k, *v);
        }
        p
    }

    fn excluded(setting: &str, pairs: &[(&str, &str)]) -> bool {
        RequestExclusions::parse(setting)
            .0
            .excludes(&request(pairs))
    }

    #[test]
    fn nothing_configured_excludes_nothing() {
        let (rules, skipped) = RequestExclusions::parse("");
        assert!(rules.is_empty() && skipped.is_empty());
        assert!(!rules.excludes(&request(&[("foo", "bar")])));
    }

    #[test]
    fn an_entry_without_operator_is_skipped_and_reported() {
        let (rules, skipped) = RequestExclusions::parse("foo=bar");
        assert!(rules.is_empty());
        assert_eq!(skipped, ["foo=bar"]);
        assert!(!rules.excludes(&request(&[("foo", "bar")])));
    }

    #[test]
    fn empty_values_compare_with_absent_parameters() {
        assert!(excluded("foo==", &[("foo", "")]));
        assert!(excluded("foo==", &[]));
        assert!(!excluded("foo==", &[("foo", "b")]));
        assert!(!excluded("foo!=", &[("foo", "")]));
        assert!(!excluded("foo!=", &[]));
        assert!(excluded("foo!=", &[("foo", "b")]));
        // PHP 8 finds an empty needle: contains, starts and ends with "".
        assert!(excluded("foo=@", &[]));
        assert!(!excluded("foo!@", &[("foo", "x")]));
        assert!(excluded("foo=^", &[("foo", "x")]));
        assert!(excluded("foo=$", &[("foo", "x")]));
    }

    #[test]
    fn each_operator() {
        assert!(excluded("foo==bar", &[("foo", "bar")]));
        assert!(!excluded("foo==bar", &[("foo", "bar1")]));
        assert!(!excluded("foo==bar", &[("foo1", "bar")]));

        assert!(!excluded("foo!=bar", &[("foo", "bar")]));
        assert!(excluded("foo!=bar", &[("foo", "bar1")]));
        assert!(excluded("foo!=bar", &[("foo1", "bar")]));

        assert!(excluded("foo=@bar", &[("foo", "fffbar1")]));
        assert!(!excluded("foo=@bar", &[("foo1", "bar")]));

        assert!(!excluded("foo!@bar", &[("foo", "fffbar1")]));
        assert!(excluded("foo!@bar", &[("foo", "ba")]));
        assert!(excluded("foo!@bar", &[("foo1", "bar")]));

        assert!(excluded("foo=^bar", &[("foo", "bar1")]));
        assert!(!excluded("foo=^bar", &[("foo", "fffbar1")]));

        assert!(excluded("foo=$bar", &[("foo", "fffbar")]));
        assert!(!excluded("foo=$bar", &[("foo", "bar1")]));
    }

    #[test]
    fn any_rule_excludes_and_values_are_url_decoded() {
        let setting = "foo==test,bar==foo%2Cbar";
        assert!(excluded(setting, &[("foo", "test")]));
        assert!(excluded(setting, &[("bar", "foo,bar")]));
        assert!(!excluded(setting, &[("bar", "foo%2Cbar")]));
        assert!(!excluded(setting, &[("foo", "other")]));
    }

    #[test]
    fn comparison_ignores_case_and_sees_escaped_html() {
        assert!(excluded("e_c==Media", &[("e_c", "MEDIA")]));
        assert!(excluded(
            "action_name=@Privacy",
            &[("action_name", "Our privacy policy")]
        ));
        // Matomo compares the sanitized value: `&` reads as `&amp;`.
        assert!(excluded(
            "action_name=@%26amp%3B",
            &[("action_name", "a&b")]
        ));
        assert!(!excluded("action_name==a%26b", &[("action_name", "a&b")]));
    }

    #[test]
    fn the_first_operator_splits_the_rule() {
        // Shortest name: `a` then `==b=@c` is not how it reads; the first
        // operator after one character is `==`.
        let (rules, _) = RequestExclusions::parse("a==b=@c");
        assert!(rules.excludes(&request(&[("a", "b=@c")])));
        let (rules, _) = RequestExclusions::parse("=@x");
        // The name cannot be empty: `=@` at 0 is skipped, `@x` holds none.
        assert!(rules.is_empty());
    }
}
