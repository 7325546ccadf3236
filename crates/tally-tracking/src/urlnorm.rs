//! Page URL normalization (MATOMO.md §3.3), site search detection (§3.4)
//! and page titles (§3.5): pure functions over [`UrlSettings`].

use std::borrow::Cow;

use regex::Regex;

use crate::campaign::CampaignParams;
use crate::charset::Charset;
use crate::php::{self, ParsedUrl};

/// `[General] page_maximum_length`.
pub const PAGE_MAXIMUM_LENGTH: usize = 1024;

/// Default `[Tracker] url_query_parameter_to_exclude_from_url` (§3.3).
pub const DEFAULT_TRACKER_EXCLUDED_PARAMETERS: [&str; 16] = [
    "gclid",
    "fbclid",
    "msclkid",
    "twclid",
    "wbraid",
    "gbraid",
    "yclid",
    "fb_xd_fragment",
    "fb_comment_id",
    "phpsessid",
    "jsessionid",
    "sessionid",
    "aspsessionid",
    "doing_wp_cron",
    "sid",
    "pk_vid",
];

/// Default site search keyword parameters (§3.4).
pub const DEFAULT_SEARCH_KEYWORD_PARAMETERS: [&str; 8] = [
    "q",
    "query",
    "s",
    "search",
    "searchword",
    "k",
    "keyword",
    "keywords",
];

/// Maximum stored length of `search_cat`.
pub const SEARCH_CATEGORY_MAX_LENGTH: usize = 200;

/// `site.keep_url_fragment`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum KeepUrlFragment {
    /// 0: use the global option.
    #[default]
    UseGlobal,
    /// 1: keep.
    Keep,
    /// 2: remove.
    Remove,
}

impl KeepUrlFragment {
    /// From the column value (unknown values behave like 0).
    pub fn from_code(code: i64) -> Self {
        match code {
            1 => Self::Keep,
            2 => Self::Remove,
            _ => Self::UseGlobal,
        }
    }
}

/// The settings URL handling depends on: one site's columns plus the
/// global options and tracker config.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UrlSettings {
    /// Site `excluded_parameters`.
    pub site_excluded_parameters: Vec<String>,
    /// Global option `SitesManager_ExcludedQueryParameters`.
    pub global_excluded_parameters: Vec<String>,
    /// `[Tracker] url_query_parameter_to_exclude_from_url`.
    pub tracker_excluded_parameters: Vec<String>,
    /// Campaign parameter names (all stripped from page URLs).
    pub campaign: CampaignParams,
    /// Site `keep_url_fragment`.
    pub keep_url_fragment: KeepUrlFragment,
    /// Global option `SitesManager_KeepURLFragmentsGlobal` (default false).
    pub global_keep_url_fragment: bool,
    /// Site `sitesearch` (default on).
    pub sitesearch: bool,
    /// Site `sitesearch_keyword_parameters`.
    pub site_search_keyword_parameters: Vec<String>,
    /// Site `sitesearch_category_parameters`.
    pub site_search_category_parameters: Vec<String>,
    /// Global option `SitesManager_SearchKeywordParameters`.
    pub global_search_keyword_parameters: Vec<String>,
    /// Global option `SitesManager_SearchCategoryParameters` (default empty).
    pub global_search_category_parameters: Vec<String>,
}

impl Default for UrlSettings {
    fn default() -> Self {
        Self {
            site_excluded_parameters: Vec::new(),
            global_excluded_parameters: Vec::new(),
            tracker_excluded_parameters: DEFAULT_TRACKER_EXCLUDED_PARAMETERS
                .map(str::to_owned)
                .to_vec(),
            campaign: CampaignParams::default(),
            keep_url_fragment: KeepUrlFragment::UseGlobal,
            global_keep_url_fragment: false,
            sitesearch: true,
            site_search_keyword_parameters: Vec::new(),
            site_search_category_parameters: Vec::new(),
            global_search_keyword_parameters: DEFAULT_SEARCH_KEYWORD_PARAMETERS
                .map(str::to_owned)
                .to_vec(),
            global_search_category_parameters: Vec::new(),
        }
    }
}

impl UrlSettings {
    /// Whether fragments are kept for this site.
    pub fn keeps_fragment(&self) -> bool {
        match self.keep_url_fragment {
            KeepUrlFragment::Keep => true,
            KeepUrlFragment::Remove => false,
            KeepUrlFragment::UseGlobal => self.global_keep_url_fragment,
        }
    }

    /// The compiled exclusion list for page URLs (§3.3 step 5).
    pub fn excluded_parameters(&self) -> ExcludedParameters {
        let fixed = ["ignore_referrer", "ignore_referer"];
        ExcludedParameters::new(
            fixed
                .iter()
                .copied()
                .chain(self.site_excluded_parameters.iter().map(String::as_str))
                .chain(self.global_excluded_parameters.iter().map(String::as_str))
                .chain(self.tracker_excluded_parameters.iter().map(String::as_str))
                .chain(self.campaign.all()),
        )
    }
}

/// A set of query parameter names to drop: case-insensitive names, and
/// entries written `/regex/` matched as regular expressions.
#[derive(Debug, Clone, Default)]
pub struct ExcludedParameters {
    names: Vec<String>,
    regexes: Vec<Regex>,
}

impl ExcludedParameters {
    /// Builds the set. An entry `/…/` (optionally followed by `i`) that is a
    /// valid regex is used as one; other entries (and invalid regexes) are
    /// compared as lower-cased names.
    pub fn new<'a>(entries: impl IntoIterator<Item = &'a str>) -> Self {
        let mut set = Self::default();
        for e in entries {
            let e = e.trim();
            if e.is_empty() {
                continue;
            }
            // Matomo lower-cases every entry, a regex's whole text
            // included (`strtolower`, ASCII), and tests the lower-cased
            // parameter name: `/^UTM_/` excludes `Utm_Source`.
            let e = e.to_ascii_lowercase();
            if let Some(re) = php_regex(&e) {
                set.regexes.push(re);
            } else {
                set.names.push(e.to_lowercase());
            }
        }
        set
    }

    /// True if the parameter `name` is excluded.
    pub fn matches(&self, name: &str) -> bool {
        // The names are lower-cased; an ASCII name compares without a
        // lower-cased copy (this runs for every parameter of every URL).
        let listed = if name.is_ascii() {
            self.names.iter().any(|n| n.eq_ignore_ascii_case(name))
        } else {
            self.names.contains(&name.to_lowercase())
        };
        listed
            || (!self.regexes.is_empty() && {
                let lower = name.to_ascii_lowercase();
                self.regexes.iter().any(|r| r.is_match(&lower))
            })
    }
}

/// A PHP `/pattern/flags` regex, if `s` is one we can compile.
pub(crate) fn php_regex(s: &str) -> Option<Regex> {
    let body = s.strip_prefix('/')?;
    let end = body.rfind('/')?;
    let (pattern, flags) = (&body[..end], &body[end + 1..]);
    if pattern.is_empty() && end == 0 && flags.is_empty() && s.len() == 1 {
        return None;
    }
    if !flags
        .chars()
        .all(|c| matches!(c, 'i' | 'u' | 'D' | 's' | 'm' | 'x'))
    {
        return None;
    }
    let mut prefix = String::new();
    for f in flags.chars() {
        match f {
            'i' => prefix.push_str("(?i)"),
            's' => prefix.push_str("(?s)"),
            'm' => prefix.push_str("(?m)"),
            'x' => prefix.push_str("(?x)"),
            _ => {}
        }
    }
    Regex::new(&format!("{prefix}{pattern}")).ok()
}

/// §3.3 step 1 (`PageUrl::cleanupUrl`): HTML entities decoded, trimmed,
/// `\n \r \0` removed, cut to 1024 bytes, "matrix" URLs (`;` separators)
/// turned into query strings.
pub fn cleanup_url(raw: &str) -> String {
    // One copy in all, made by the last step: a new visit's URLs go
    // through here four times (callgrind, log import).
    let decoded = php::html_entity_decode_cow(raw);
    convert_matrix_url(&cleanup_str(&decoded))
}

/// The URL goals and custom dimensions match (`Action::getActionUrlRaw`,
/// read back unescaped): entities decoded and [`cleanup_string`]ed but,
/// unlike [`cleanup_url`], no matrix conversion; `None` when it does not
/// look like a URL (`PageUrl::getUrlIfLookValid`), so a relative `url`
/// converts no URL goal.
pub fn raw_action_url(raw: &str) -> Option<String> {
    let decoded = php::html_entity_decode_cow(raw);
    let url = cleanup_str(&decoded);
    looks_like_url(&url).then(|| url.into_owned())
}

/// `PageUrl::cleanupString`: trim, remove `\n \r \0`, cut to 1024 bytes.
pub fn cleanup_string(s: &str) -> String {
    cleanup_str(s).into_owned()
}

/// [`cleanup_string`], borrowing from `s` when nothing is removed but
/// surrounding space and what lies past the cut.
fn cleanup_str(s: &str) -> Cow<'_, str> {
    let trimmed = php::trim(s);
    // Nearly every URL and title has none of them.
    if memchr::memchr3(b'\n', b'\r', 0, trimmed.as_bytes()).is_none() {
        return Cow::Borrowed(php::truncate_bytes(trimmed, PAGE_MAXIMUM_LENGTH));
    }
    let s = trimmed.replace(['\n', '\r', '\0'], "");
    Cow::Owned(php::truncate_bytes(&s, PAGE_MAXIMUM_LENGTH).to_owned())
}

/// `/p;a=1;b=2` → `/p?a=1&b=2`; when a `?` follows the first `;`, it becomes
/// a separator too. A URL whose `?` comes before any `;` is unchanged.
fn convert_matrix_url(url: &str) -> String {
    let Some(semi) = url.find(';') else {
        return url.to_owned();
    };
    let mut s = url.to_owned();
    let replace = match s.find('?') {
        None => true,
        Some(q) if q > semi => {
            s.replace_range(q..=q, ";");
            true
        }
        Some(_) => false,
    };
    if !replace {
        return s;
    }
    s.replace_range(semi..=semi, "?");
    s.replace(';', "&")
}

/// §3.3 step 2 (`UrlHelper::isLookLikeUrl`): `scheme://x` or `//x`, and not
/// a `javascript:`, `vbscript:` or `data:` URL.
pub fn looks_like_url(url: &str) -> bool {
    let (scheme, rest) = if let Some(r) = url.strip_prefix("//") {
        ("", r)
    } else if let Some(split) = php::split_scheme(url) {
        split
    } else {
        return false;
    };
    let bad = ["javascript", "vbscript", "data"];
    !rest.is_empty() && !bad.iter().any(|b| scheme.eq_ignore_ascii_case(b))
}

/// §3.3 steps 3–5 (`PageUrl::excludeQueryParametersFromUrl`) on an already
/// cleaned URL: host lower-cased, fragment processed, excluded parameters
/// removed from the query (or, with no query, from a kept fragment).
/// Returns `None` where PHP's `parse_url` fails.
pub fn exclude_query_parameters(
    url: &str,
    settings: &UrlSettings,
    excluded: &ExcludedParameters,
) -> Option<String> {
    exclude_query_parameters_with(url, settings, |name| excluded.matches(name))
}

/// [`exclude_query_parameters`] with the exclusion given as a predicate on
/// parameter names: Matomo stores a referrer URL through the same
/// function, with a few more parameters of known hosts dropped.
pub fn exclude_query_parameters_with(
    url: &str,
    settings: &UrlSettings,
    exclude: impl Fn(&str) -> bool,
) -> Option<String> {
    let mut parsed = php::parse_url(url)?;
    clean_host_and_fragment(&mut parsed, settings);
    let exclude = |name: &str| exclude(name);
    if parsed.query.as_deref().is_none_or(str::is_empty) {
        if let Some(f) = parsed.fragment.as_deref().filter(|f| !f.is_empty()) {
            parsed.fragment = Some(php::pairs_to_query(&php::query_to_pairs(f), exclude).into());
        }
    } else if let Some(q) = parsed.query.as_deref() {
        parsed.query = Some(php::pairs_to_query(&php::query_to_pairs(q), exclude).into());
    }
    Some(parsed.to_url_string())
}

fn clean_host_and_fragment(parsed: &mut ParsedUrl<'_>, settings: &UrlSettings) {
    if let Some(h) = parsed.host.as_mut()
        && h.bytes().any(|b| b.is_ascii_uppercase() || !b.is_ascii())
    {
        *h = h.to_lowercase().into();
    }
    if let Some(mut f) = parsed.fragment.take()
        && settings.keeps_fragment()
    {
        // Only one trailing '#' is removed (`#a##` keeps `a#`); a copy only
        // then, which few URLs need.
        if let Some(kept) = f.strip_suffix('#') {
            f = Cow::Owned(kept.to_owned());
        }
        parsed.fragment = Some(f);
    }
}

/// A page URL as stored in `log_action` (type 1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageUrl {
    /// `url_prefix`: 0 `http://`, 1 `http://www.`, 2 `https://`,
    /// 3 `https://www.`; `None` for any other start.
    pub url_prefix: Option<i8>,
    /// The stored `name`: the URL without that prefix.
    pub name: String,
}

/// §3.3 step 6: strips the scheme prefix (checked in the order `http://www.`,
/// `http://`, `https://www.`, `https://`, case-insensitively).
pub fn split_url_prefix(url: &str) -> PageUrl {
    const PREFIXES: [(&str, i8); 4] = [
        ("http://www.", 1),
        ("http://", 0),
        ("https://www.", 3),
        ("https://", 2),
    ];
    for (prefix, id) in PREFIXES {
        if url.len() >= prefix.len()
            && url.is_char_boundary(prefix.len())
            && url[..prefix.len()].eq_ignore_ascii_case(prefix)
        {
            return PageUrl {
                url_prefix: Some(id),
                name: url[prefix.len()..].to_owned(),
            };
        }
    }
    PageUrl {
        url_prefix: None,
        name: url.to_owned(),
    }
}

/// The full normalized URL of a page view, event or content request (§3.3
/// steps 1–5), or `None` when it does not look like a URL (stored as
/// `idaction_url = 0`).
pub fn normalize_url(raw: &str, settings: &UrlSettings) -> Option<String> {
    normalize_url_with(raw, settings, &settings.excluded_parameters())
}

/// [`normalize_url`] with the exclusion list compiled once by the caller
/// (the tracker keeps it per site: compiling it allocates every name).
pub fn normalize_url_with(
    raw: &str,
    settings: &UrlSettings,
    excluded: &ExcludedParameters,
) -> Option<String> {
    let cleaned = cleanup_url(raw);
    if !looks_like_url(&cleaned) {
        return None;
    }
    let url = exclude_query_parameters(&cleaned, settings, excluded)?;
    let url = cleanup_string(&url);
    looks_like_url(&url).then_some(url)
}

/// [`normalize_url`] followed by [`split_url_prefix`]: the `log_action` row
/// of a page URL.
pub fn normalize_page_url(raw: &str, settings: &UrlSettings) -> Option<PageUrl> {
    normalize_url(raw, settings).map(|u| split_url_prefix(&u))
}

/// [`normalize_page_url`] with a precompiled exclusion list.
pub fn normalize_page_url_with(
    raw: &str,
    settings: &UrlSettings,
    excluded: &ExcludedParameters,
) -> Option<PageUrl> {
    normalize_url_with(raw, settings, excluded).map(|u| split_url_prefix(&u))
}

/// A detected site search (§3.4).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SiteSearch {
    /// The keyword (decoded, trimmed, non-empty): `idaction_name`, type 8.
    pub keyword: String,
    /// `search_cat`, at most 200 characters.
    pub category: Option<String>,
    /// `search_count`, when >= 0.
    pub count: Option<i64>,
    /// When the keyword came from the URL: the URL with the keyword and
    /// category parameters removed (still to be normalized). `None` when the
    /// `search` request parameter was used.
    pub url: Option<String>,
}

fn setting_or_global<'a>(site: &'a [String], global: &'a [String]) -> &'a [String] {
    if site.iter().any(|s| !s.trim().is_empty()) {
        site
    } else {
        global
    }
}

/// §3.4: site search detection for one request.
///
/// `search`, `search_cat` and `search_count` are the request parameters
/// (`search_count` -1 when not sent). The `search` parameter wins; else the
/// URL's query and fragment (a fragment's own `?query` part is used alone)
/// are read with parameter names lower-cased, and the first non-empty
/// keyword parameter gives the keyword. Returns `None` when site search is
/// off for the site or no keyword is found.
///
/// The page URL's parameter values are read as UTF-8; see
/// [`detect_site_search_in_charset`] for pages sending `cs`.
pub fn detect_site_search(
    url: Option<&str>,
    search: Option<&str>,
    search_cat: Option<&str>,
    search_count: i64,
    settings: &UrlSettings,
) -> Option<SiteSearch> {
    detect_site_search_in_charset(
        url,
        search,
        search_cat,
        search_count,
        settings,
        Charset::Utf8,
    )
}

/// [`detect_site_search`] for a page in `charset` (the request's `cs`):
/// the keyword and category found in the page URL are percent-decoded as
/// bytes of that charset, as Matomo's `PageUrl::reencodeParameters` does.
/// The `search`/`search_cat` request parameters are taken as sent (the
/// JavaScript tracker always encodes them as UTF-8).
pub fn detect_site_search_in_charset(
    url: Option<&str>,
    search: Option<&str>,
    search_cat: Option<&str>,
    search_count: i64,
    settings: &UrlSettings,
    charset: Charset,
) -> Option<SiteSearch> {
    if !settings.sitesearch {
        return None;
    }
    let finish =
        |keyword: &str, category: Option<&str>, count: Option<i64>, url: Option<String>| {
            let keyword = php::trim(keyword);
            if php::is_empty(keyword) {
                return None;
            }
            let category = category
                .map(php::trim)
                .filter(|c| !php::is_empty(c))
                .map(|c| php::truncate_chars(c, SEARCH_CATEGORY_MAX_LENGTH).to_owned());
            Some(SiteSearch {
                keyword: keyword.to_owned(),
                category,
                count,
                url,
            })
        };
    if let Some(kw) = search.filter(|s| !php::is_empty(s)) {
        // Read through `getRequestVar`, so HTML-escaped; a keyword found in
        // the page URL below is not (`cleanupUrl` unescapes the URL first).
        let kw = php::sanitize_input_value(kw);
        let category = search_cat
            .filter(|c| !php::is_empty(c))
            .map(php::sanitize_input_value);
        return finish(
            &kw,
            category.as_deref(),
            (search_count >= 0).then_some(search_count),
            None,
        );
    }
    let url = cleanup_url(url?);
    let mut parsed = php::parse_url(&url)?;
    let keyword_params = setting_or_global(
        &settings.site_search_keyword_parameters,
        &settings.global_search_keyword_parameters,
    );
    // The query and the fragment (or the fragment's own query) read as one
    // query string; built only when it may name a keyword parameter, which
    // most URLs do not.
    let combined = {
        let query = parsed.query.as_deref().unwrap_or_default();
        let fragment = parsed.fragment.as_deref().unwrap_or_default();
        if query.is_empty() && fragment.is_empty() {
            return None;
        }
        // An empty fragment has no query: most URLs skip this second parse.
        let fragment_parsed = (!fragment.is_empty())
            .then(|| php::parse_url(fragment))
            .flatten();
        let fragment = fragment_parsed
            .as_ref()
            .and_then(|f| f.query.as_deref())
            .filter(|q| !q.is_empty())
            .unwrap_or(fragment);
        let may = |s: &str| !s.is_empty() && php::may_name_any(s, keyword_params);
        if !may(query) && !may(fragment) {
            return None;
        }
        let mut combined = String::with_capacity(query.len() + 1 + fragment.len());
        combined.push_str(query);
        if !query.is_empty() && !fragment.is_empty() {
            combined.push('&');
        }
        combined.push_str(fragment);
        combined
    };
    let mut params: Vec<(String, php::QueryValue)> = Vec::new();
    for (name, value) in php::query_to_pairs(&combined) {
        let lower = name.to_lowercase();
        match params.iter_mut().find(|(n, _)| *n == lower) {
            Some((_, v)) => *v = value,
            None => params.push((lower, value)),
        }
    }
    let any_value = |name: &str| -> Option<String> {
        let (_, v) = params.iter().find(|(n, _)| n == name)?;
        match v {
            php::QueryValue::Value(v) => Some((*v).to_owned()),
            php::QueryValue::Flag => None,
            // Matomo takes the first element of an array value.
            php::QueryValue::List(list) => Some((*list.first()?)?.to_owned()),
        }
    };
    // Keywords and categories count when PHP-non-empty (`!empty`).
    let first_value = |name: &str| any_value(name).filter(|v| !php::is_empty(v));
    let (keyword_param, keyword) = keyword_params
        .iter()
        .find_map(|p| first_value(&p.to_lowercase()).map(|v| (p.clone(), v)))?;
    let category_params = setting_or_global(
        &settings.site_search_category_parameters,
        &settings.global_search_category_parameters,
    );
    let category = category_params
        .iter()
        .find_map(|p| first_value(&p.to_lowercase()));
    // `isValidSearchCount`: numeric and not negative, so "0" (no results,
    // which PHP's `empty` would drop) counts.
    let count = any_value("search_count")
        .filter(|c| php::is_numeric(c))
        .and_then(|c| php::coerce_float(&c))
        .filter(|c| *c >= 0.0);
    // Matomo removes the matched keyword parameter and the *last* category
    // parameter of the list (its loop variable), compared with lower-cased
    // URL parameter names.
    let mut remove = vec![keyword_param];
    if let Some(last) = category_params.last() {
        remove.push(last.clone());
    }
    let exclude = |name: &str| remove.iter().any(|r| *r == name.to_lowercase());
    if let Some(q) = parsed.query.as_deref() {
        parsed.query = Some(php::pairs_to_query(&php::query_to_pairs(q), exclude).into());
    }
    if let Some(f) = parsed.fragment.as_deref() {
        parsed.fragment = Some(php::pairs_to_query(&php::query_to_pairs(f), exclude).into());
    }
    let keyword = charset.decode_percent(&keyword);
    let category = category.map(|c| charset.decode_percent(&c));
    #[expect(
        clippy::cast_possible_truncation,
        reason = "search counts are small integers"
    )]
    // A `search_count` request parameter (as the JS tracker sends with
    // trackSiteSearch) counts when the URL has none.
    let count = count
        .map(|c| c as i64)
        .or((search_count >= 0).then_some(search_count));
    finish(
        &keyword,
        category.as_deref(),
        count,
        Some(parsed.to_url_string()),
    )
}

/// §3.5: the stored page title (`log_action` type 4) of `action_name`, or
/// `None` when empty ("Page Name not defined").
///
/// With the default empty `delimiter` the title is kept verbatim apart from
/// cleaning; with a delimiter each segment is trimmed, empty segments are
/// dropped and the title re-joined. Cleaning is `PageUrl::cleanupString`
/// (trim, `\n \r \0` removed, 1024 bytes).
///
/// The result is HTML-escaped (`&` → `&amp;`, quotes, `<`, `>`), because
/// Matomo reads the parameter through `Common::getRequestVar`, which
/// sanitizes, and stores non-URL action names sanitized.
pub fn page_title(action_name: &str, delimiter: &str) -> Option<String> {
    let sanitized = php::sanitize_input_value(action_name);
    let joined = if delimiter.is_empty() {
        sanitized
    } else {
        sanitized
            .split(delimiter)
            .map(php::trim)
            .filter(|s| !s.is_empty())
            .collect::<Vec<_>>()
            .join(delimiter)
    };
    let cleaned = cleanup_string(&joined);
    (!cleaned.is_empty()).then_some(cleaned)
}

#[cfg(test)]
mod tests {

    use super::*;

    #[test]
    fn excluded_parameter_regexes_match_lower_cased_names() {
        let set = ExcludedParameters::new(["/^UTM_/", "SessionKey"]);
        for excluded in [
            "utm_source",
            "UTM_Content",
            "Utm_x",
            "sessionkey",
            "SESSIONKEY",
        ] {
            assert!(set.matches(excluded), "{excluded}");
        }
        for kept in ["id", "xutm_", "session"] {
            assert!(!set.matches(kept), "{kept}");
        }
    }

    fn page(url: &str) -> Option<PageUrl> {
        normalize_page_url(url, &UrlSettings::default())
    }

    #[test]
    fn prefixes() {
        // §3.3 step 6: `http://www.` → 1, `http://` → 0, `https://www.` → 3, `https://` → 2.
        let p = page("http://www.example.com/a").unwrap();
        assert_eq!((p.url_prefix, p.name.as_str()), (Some(1), "example.com/a"));
        assert_eq!(page("http://example.com/").unwrap().url_prefix, Some(0));
        assert_eq!(
            page("HTTPS://WWW.Example.com/").unwrap().url_prefix,
            Some(3)
        );
        let p = page("https://Shop.Example.com/Path?Q=1").unwrap();
        assert_eq!(
            (p.url_prefix, p.name.as_str()),
            (Some(2), "shop.example.com/Path?Q=1")
        );
        let p = split_url_prefix("ftp://x/y");
        assert_eq!((p.url_prefix, p.name.as_str()), (None, "ftp://x/y"));
    }

    #[test]
    fn not_a_url_is_dropped() {
        // §3.3 step 2.
        assert_eq!(page("/relative/path"), None);
        assert_eq!(page("javascript://alert(1)"), None);
        assert_eq!(page("data://x"), None);
        assert_eq!(page("http://"), None);
        assert!(looks_like_url("//cdn.example.com/x"));
    }

    #[test]
    fn cleanup_steps() {
        // §3.3 step 1: HTML-unescape, trim, remove \n \r \0, matrix URLs.
        assert_eq!(
            cleanup_url("  http://a.b/?x=1&amp;y=2\n "),
            "http://a.b/?x=1&y=2"
        );
        assert_eq!(
            cleanup_url("http://a.b/p;jsessionid=1;x=2"),
            "http://a.b/p?jsessionid=1&x=2"
        );
        assert_eq!(cleanup_url("http://a.b/p;x=1?y=2"), "http://a.b/p?x=1&y=2");
        assert_eq!(cleanup_url("http://a.b/p?y=2;x=1"), "http://a.b/p?y=2;x=1");
        let long = format!("http://a.b/{}", "x".repeat(2000));
        assert_eq!(cleanup_url(&long).len(), PAGE_MAXIMUM_LENGTH);
    }

    #[test]
    fn parameter_exclusion() {
        // §3.3 step 5: fixed + default list + campaign names, case-insensitive.
        let p =
            page("http://a.b/p?x=1&GCLID=abc&utm_campaign=c&pk_kwd=k&sid=1&ignore_referrer=1&y")
                .unwrap();
        assert_eq!(p.name, "a.b/p?x=1&y");
        assert_eq!(page("http://a.b/p?gclid=1").unwrap().name, "a.b/p");
        let settings = UrlSettings {
            site_excluded_parameters: vec!["Session".into(), "/^ref_/".into()],
            global_excluded_parameters: vec!["tmp".into()],
            ..UrlSettings::default()
        };
        let u = normalize_url(
            "http://a.b/?session=1&ref_a=2&tmp=3&keep=4&ref=5",
            &settings,
        )
        .unwrap();
        assert_eq!(u, "http://a.b/?keep=4&ref=5");
        // Duplicates collapse to the last value in the first position.
        assert_eq!(
            page("http://a.b/?a=1&b=2&a=3").unwrap().name,
            "a.b/?a=3&b=2"
        );
    }

    #[test]
    fn fragments() {
        // §3.3 step 4: removed by default; kept per site; trailing '#' stripped.
        assert_eq!(page("http://a.b/p?x=1#frag").unwrap().name, "a.b/p?x=1");
        let keep = UrlSettings {
            keep_url_fragment: KeepUrlFragment::Keep,
            ..UrlSettings::default()
        };
        assert_eq!(
            normalize_url("http://a.b/p#frag#", &keep).unwrap(),
            "http://a.b/p#frag"
        );
        // No query + kept fragment: exclusion applies to the fragment.
        assert_eq!(
            normalize_url("http://a.b/p#/x?y&utm_source=s&z=1", &keep).unwrap(),
            "http://a.b/p#/x?y&z=1"
        );
        let global = UrlSettings {
            global_keep_url_fragment: true,
            ..UrlSettings::default()
        };
        assert_eq!(
            normalize_url("http://a.b/#x", &global).unwrap(),
            "http://a.b/#x"
        );
        let remove = UrlSettings {
            keep_url_fragment: KeepUrlFragment::from_code(2),
            global_keep_url_fragment: true,
            ..UrlSettings::default()
        };
        assert_eq!(
            normalize_url("http://a.b/#x", &remove).unwrap(),
            "http://a.b/"
        );
    }

    #[test]
    fn site_search_in_the_page_charset() {
        let s = UrlSettings::default();
        let kw = |url: &str, cs: Charset| {
            detect_site_search_in_charset(Some(url), None, None, -1, &s, cs)
                .map(|r| (r.keyword, r.category))
        };
        let url = "http://a.b/find?q=caf%E9+%80%93x%94";
        assert_eq!(
            kw(url, Charset::Windows1252),
            Some(("café €\u{201C}x\u{201D}".into(), None))
        );
        assert_eq!(
            kw(url, Charset::Latin1),
            Some(("café \u{80}\u{93}x\u{94}".into(), None))
        );
        assert_eq!(
            kw("http://a.b/?q=caf%C3%A9", Charset::Utf8),
            Some(("café".into(), None))
        );
        assert_eq!(
            kw("http://a.b/?q=caf%E9", Charset::Utf8),
            Some(("caf\u{FFFD}".into(), None))
        );
    }

    #[test]
    fn site_search() {
        let s = UrlSettings::default();
        // §3.4: `search` param wins.
        let r = detect_site_search(
            Some("http://a.b/?q=url"),
            Some("param kw"),
            Some("Cat"),
            5,
            &s,
        )
        .unwrap();
        assert_eq!(r.keyword, "param kw");
        assert_eq!(r.category.as_deref(), Some("Cat"));
        assert_eq!(r.count, Some(5));
        assert_eq!(r.url, None);
        // From the URL: default parameters, names lower-cased, removed from URL.
        let r = detect_site_search(
            Some("http://a.b/find?page=2&Q=Red+Shoes&search_count=12"),
            None,
            None,
            -1,
            &s,
        )
        .unwrap();
        assert_eq!(r.keyword, "Red Shoes");
        assert_eq!(r.count, Some(12));
        assert_eq!(
            r.url.as_deref(),
            Some("http://a.b/find?page=2&search_count=12")
        );
        // A count of 0 in the URL (no results) is kept, not taken as empty.
        let r = detect_site_search(
            Some("http://a.b/index.htm#q=Nothing&search_count=0"),
            None,
            None,
            -1,
            &s,
        )
        .unwrap();
        assert_eq!((r.keyword.as_str(), r.count), ("Nothing", Some(0)));
        // Fragment with its own query part.
        let r = detect_site_search(Some("http://a.b/#!/search?query=x%20y"), None, None, -1, &s)
            .unwrap();
        assert_eq!(r.keyword, "x y");
        // Empty / whitespace keyword: not a search.
        assert_eq!(
            detect_site_search(Some("http://a.b/?q=+"), None, None, -1, &s),
            None
        );
        assert_eq!(
            detect_site_search(Some("http://a.b/?x=1"), None, None, -1, &s),
            None
        );
        // Site settings override the global list; category parameters.
        let custom = UrlSettings {
            site_search_keyword_parameters: vec!["term".into()],
            site_search_category_parameters: vec!["cat".into()],
            ..UrlSettings::default()
        };
        let r = detect_site_search(
            Some("http://a.b/?q=no&term=yes&cat=Books"),
            None,
            None,
            -1,
            &custom,
        )
        .unwrap();
        assert_eq!(r.keyword, "yes");
        assert_eq!(r.category.as_deref(), Some("Books"));
        assert_eq!(r.url.as_deref(), Some("http://a.b/?q=no"));
        let off = UrlSettings {
            sitesearch: false,
            ..UrlSettings::default()
        };
        assert_eq!(
            detect_site_search(Some("http://a.b/?q=x"), Some("x"), None, -1, &off),
            None
        );
    }

    #[test]
    fn page_titles() {
        // §3.5: trimmed, cleaned, verbatim with the default empty delimiter.
        assert_eq!(
            page_title("  Contact us \n", "").as_deref(),
            Some("Contact us")
        );
        assert_eq!(page_title("   ", ""), None);
        assert_eq!(
            page_title("Blog / Dev /  / Post", "/").as_deref(),
            Some("Blog/Dev/Post")
        );
        assert_eq!(page_title("Blog / Dev", "").as_deref(), Some("Blog / Dev"));
        assert_eq!(
            page_title("Q&A <b>", "").as_deref(),
            Some("Q&amp;A &lt;b&gt;")
        );
        assert_eq!(page_title("Q&amp;A", "").as_deref(), Some("Q&amp;A"));
        assert_eq!(page_title(&"é".repeat(600), "").unwrap().len(), 1024);
    }
}
