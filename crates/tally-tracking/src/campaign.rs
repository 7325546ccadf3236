//! Campaign parameters (MATOMO.md §5.4, §5.5).

use crate::params::RawParams;
use crate::php::{self, QueryValue};

/// `[Tracker] campaign_var_name` default, in priority order.
pub const DEFAULT_CAMPAIGN_NAME_PARAMS: [&str; 8] = [
    "pk_cpn",
    "pk_campaign",
    "piwik_campaign",
    "mtm_campaign",
    "matomo_campaign",
    "utm_campaign",
    "utm_source",
    "utm_medium",
];

/// `[Tracker] campaign_keyword_var_name` default, in priority order.
pub const DEFAULT_CAMPAIGN_KEYWORD_PARAMS: [&str; 7] = [
    "pk_kwd",
    "pk_keyword",
    "piwik_kwd",
    "mtm_kwd",
    "mtm_keyword",
    "matomo_kwd",
    "utm_term",
];

/// The campaign parameter names, in priority order (first non-empty wins).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CampaignParams {
    /// Campaign name parameters.
    pub name_params: Vec<String>,
    /// Campaign keyword parameters.
    pub keyword_params: Vec<String>,
}

impl Default for CampaignParams {
    fn default() -> Self {
        Self {
            name_params: DEFAULT_CAMPAIGN_NAME_PARAMS.map(str::to_owned).to_vec(),
            keyword_params: DEFAULT_CAMPAIGN_KEYWORD_PARAMS.map(str::to_owned).to_vec(),
        }
    }
}

impl CampaignParams {
    /// Builds the lists from the two comma-separated config values.
    pub fn from_config(names: &str, keywords: &str) -> Self {
        let split = |s: &str| {
            s.split(',')
                .map(str::trim)
                .filter(|p| !p.is_empty())
                .map(str::to_owned)
                .collect()
        };
        Self {
            name_params: split(names),
            keyword_params: split(keywords),
        }
    }

    /// Every name and keyword parameter (all are stripped from page URLs).
    pub fn all(&self) -> impl Iterator<Item = &str> {
        self.name_params
            .iter()
            .chain(&self.keyword_params)
            .map(String::as_str)
    }
}

/// A detected campaign, before lower-casing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Campaign {
    /// Campaign name (non-empty).
    pub name: String,
    /// Campaign keyword, if one was found.
    pub keyword: Option<String>,
}

fn scalar_value(pairs: &[(&str, QueryValue<'_>)], name: &str) -> Option<String> {
    // Array values are ignored; the value is URL-decoded and trimmed.
    let v = php::query_param(pairs, name)?;
    let v = php::trim(&php::urldecode(v)).to_owned();
    (!php::is_empty(&v)).then_some(v)
}

/// Matomo's `detectCampaignFromString` on one query-like string: updates
/// `found` and reports whether a keyword was found.
fn detect_in(query: &str, params: &CampaignParams, found: &mut Option<Campaign>) -> bool {
    let pairs = php::query_to_pairs(query);
    let Some(name) = params
        .name_params
        .iter()
        .find_map(|p| scalar_value(&pairs, p))
    else {
        return false;
    };
    let keyword = params
        .keyword_params
        .iter()
        .find_map(|p| scalar_value(&pairs, p));
    let has_keyword = keyword.is_some();
    *found = Some(Campaign { name, keyword });
    has_keyword
}

/// §5.4 step 1: the campaign in the landing page URL, from its query string
/// and then its fragment (read as a query string).
///
/// As in Matomo, the fragment is consulted whenever the query gave no
/// *keyword*: a name in the fragment then replaces the query's name.
pub fn detect_in_url(url: &str, params: &CampaignParams) -> Option<Campaign> {
    detect_in_parsed(&php::parse_url(url)?, params)
}

/// [`detect_in_url`] on a URL already parsed.
pub fn detect_in_parsed(parsed: &php::ParsedUrl, params: &CampaignParams) -> Option<Campaign> {
    let mut found = None;
    let mut has_keyword = false;
    if let Some(q) = parsed.query.as_deref() {
        has_keyword = detect_in(q, params, &mut found);
    }
    if !has_keyword && let Some(f) = parsed.fragment.as_deref() {
        detect_in(f, params, &mut found);
    }
    found
}

/// The campaign name and keyword sent as tracker parameters
/// ([`detect_in_request`]).
pub type RequestCampaign = (Option<String>, Option<String>);

/// §5.4 step 3: campaign parameters sent to the tracker itself (e.g.
/// `&mtm_campaign=` on `matomo.php`), which override name and keyword.
pub fn detect_in_request(params: &RawParams, names: &CampaignParams) -> RequestCampaign {
    // Taken as sent, not trimmed: Matomo reads the raw tracker parameter
    // and only skips PHP-empty values ("" and "0").
    let pick = |list: &[String]| {
        list.iter().find_map(|p| {
            params
                .get(p)
                .filter(|v| !php::is_empty(v))
                .map(str::to_owned)
        })
    };
    (pick(&names.name_params), pick(&names.keyword_params))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn precedence_follows_the_config_order() {
        let p = CampaignParams::default();
        // §5.4: "order matters, first non-empty wins".
        let c = detect_in_url(
            "http://a.b/?utm_campaign=Utm&pk_campaign=Pk&utm_term=t&pk_kwd=",
            &p,
        )
        .unwrap();
        assert_eq!(c.name, "Pk");
        assert_eq!(c.keyword.as_deref(), Some("t"));
        let c = detect_in_url("http://a.b/?mtm_campaign=Spring%20Sale+2", &p).unwrap();
        assert_eq!(c.name, "Spring Sale 2");
        assert_eq!(c.keyword, None);
        assert_eq!(detect_in_url("http://a.b/?x=1", &p), None);
    }

    #[test]
    fn fragment_and_arrays() {
        let p = CampaignParams::default();
        let c = detect_in_url("http://a.b/#pk_campaign=frag&pk_kwd=k", &p).unwrap();
        assert_eq!((c.name.as_str(), c.keyword.as_deref()), ("frag", Some("k")));
        // Query name without keyword: the fragment's campaign replaces it.
        let c = detect_in_url("http://a.b/?pk_campaign=q#pk_campaign=f&pk_kwd=k", &p).unwrap();
        assert_eq!(c.name, "f");
        // Array values are ignored.
        assert_eq!(detect_in_url("http://a.b/?pk_campaign[]=x", &p), None);
    }

    #[test]
    fn request_params_and_config() {
        let p = CampaignParams::from_config("c1, c2", "k1");
        assert_eq!(p.name_params, vec!["c1", "c2"]);
        // Values as sent (Matomo does not trim tracker parameters).
        let raw = RawParams::from_query("c2=Two&k1=+kw+");
        assert_eq!(
            detect_in_request(&raw, &p),
            (Some("Two".into()), Some(" kw ".into()))
        );
        let raw = RawParams::from_query("c1=0&c2=&k1=0");
        assert_eq!(detect_in_request(&raw, &p), (None, None));
    }
}
