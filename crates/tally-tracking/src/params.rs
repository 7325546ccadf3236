//! Tracking request parameters: decoding (MATOMO.md §1.1, §1.2) and the
//! typed, validated [`TrackingRequest`] (§1.4, §1.5).
//!
//! Two layers, as in Matomo: [`RawParams`] is the decoded name → value map
//! (`$_GET + $_POST`, or one element of a bulk body), and
//! [`TrackingRequest::from_params`] applies `Request::getParam`'s coercions.
//! Matomo is lenient: a value of the wrong type silently becomes the
//! parameter's default, and only a few conditions reject the request; those
//! give [`TrackingError::InvalidParameter`] here.

use std::collections::{BTreeMap, HashMap};

use crate::TrackingError;
use crate::php;

/// One decoded parameter value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParamValue {
    /// A scalar value, percent-decoded.
    Text(String),
    /// `name[]=...` / `name[key]=...` in a query. Matomo's typed getters
    /// treat it as "wrong type", i.e. the parameter's default.
    Array,
    /// A JSON array or object in a bulk request object: the wrong type for
    /// a string or number parameter, as [`ParamValue::Array`], but the value
    /// itself for the JSON parameters (`cvar`, `_cvar`, `ec_items`), which
    /// Matomo's `getRequestVar(..., 'json')` takes as it is.
    Json(serde_json::Value),
}

/// Decoded request parameters (PHP's `$_GET + $_POST`).
///
/// A hash map: a request is looked up some sixty times by name, which in
/// an ordered map was a string comparison per tree level each time. The
/// hasher is foldhash, seeded per process (names are the client's).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RawParams {
    params: HashMap<String, ParamValue, foldhash::fast::RandomState>,
}

/// PHP `parse_str` name mangling: leading spaces dropped; `.` and space
/// become `_` before the first `[`; `name[...]` is an array; an unmatched
/// `[` becomes `_`.
fn php_param_name(raw: String) -> Option<(String, bool)> {
    // The common name needs no mangling and keeps its allocation.
    if !raw.is_empty() && !raw.contains([' ', '.', '[']) {
        return Some((raw, false));
    }
    let name = raw.trim_start_matches(' ');
    let (base, rest) = match name.find('[') {
        Some(i) => (&name[..i], Some(&name[i..])),
        None => (name, None),
    };
    let mut out: String = base
        .chars()
        .map(|c| if c == '.' || c == ' ' { '_' } else { c })
        .collect();
    let mut is_array = false;
    if let Some(rest) = rest {
        if rest.contains(']') {
            is_array = true;
        } else {
            out.push('_');
            out.push_str(&rest[1..]);
        }
    }
    if out.is_empty() {
        return None;
    }
    Some((out, is_array))
}

impl RawParams {
    /// An empty set.
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty set with room for `n` parameters. A request has a dozen or
    /// two; grown from empty, the map is rebuilt three times on the way,
    /// which cost the log import about 5,000 instructions a line
    /// (callgrind, docs/PERFORMANCE.md).
    pub fn with_capacity(n: usize) -> Self {
        Self {
            params: HashMap::with_capacity_and_hasher(n, foldhash::fast::RandomState::default()),
        }
    }

    /// Parses a query string or form body like PHP's `parse_str`: `&`
    /// separated, `+` is a space, `%XX` decoded, a later duplicate wins.
    pub fn from_query(query: &str) -> Self {
        let mut params =
            Self::with_capacity(memchr::memchr_iter(b'&', query.as_bytes()).count() + 1);
        params.merge_query(query, true);
        params
    }

    fn merge_query(&mut self, query: &str, overwrite: bool) {
        let mut parsed: Vec<(String, ParamValue)> = Vec::new();
        for part in query.split('&') {
            if part.is_empty() {
                continue;
            }
            let (raw_name, raw_value) = part.split_once('=').unwrap_or((part, ""));
            let Some((name, is_array)) = php_param_name(php::urldecode(raw_name)) else {
                continue;
            };
            let value = if is_array {
                ParamValue::Array
            } else {
                ParamValue::Text(php::urldecode(raw_value))
            };
            parsed.push((name, value));
        }
        for (name, value) in parsed {
            if overwrite || !self.params.contains_key(&name) {
                self.params.insert(name, value);
            }
        }
    }

    /// The parameters of a single HTTP request: the query string and the
    /// form-encoded body, the query winning on collisions (MATOMO.md §1.1:
    /// `$_GET + $_POST`).
    pub fn from_get_post(query: Option<&str>, form_body: Option<&[u8]>) -> Self {
        let mut params = Self::from_query(query.unwrap_or(""));
        if let Some(body) = form_body {
            params.merge_query(&String::from_utf8_lossy(body), false);
        }
        params
    }

    /// The parameters of a bulk request given as a JSON object (name →
    /// value). Scalars take their PHP string form (`true` → `"1"`,
    /// `false` → `""`, `2.0` → `"2"`), `null` counts as absent, arrays and
    /// objects are kept as [`ParamValue::Json`].
    pub fn from_json_object(object: &serde_json::Map<String, serde_json::Value>) -> Self {
        let mut params = Self::new();
        for (name, value) in object {
            let v = match value {
                serde_json::Value::Null => continue,
                serde_json::Value::Bool(true) => ParamValue::Text("1".to_owned()),
                serde_json::Value::Bool(false) => ParamValue::Text(String::new()),
                serde_json::Value::Number(n) => ParamValue::Text(php_number(n)),
                serde_json::Value::String(s) => ParamValue::Text(s.clone()),
                serde_json::Value::Array(_) | serde_json::Value::Object(_) => {
                    ParamValue::Json(value.clone())
                }
            };
            params.params.insert(name.clone(), v);
        }
        params
    }

    /// Sets a parameter (for callers adding e.g. the `Referer` fallback).
    pub fn insert(&mut self, name: impl Into<String>, value: impl Into<String>) {
        self.params
            .insert(name.into(), ParamValue::Text(value.into()));
    }

    /// How many parameters are set.
    pub fn len(&self) -> usize {
        self.params.len()
    }

    /// The scalar value of `name`, if set (may be empty).
    pub fn get(&self, name: &str) -> Option<&str> {
        match self.params.get(name) {
            Some(ParamValue::Text(s)) => Some(s),
            _ => None,
        }
    }

    /// PHP `isset($params[name])`: present, scalar or array.
    pub fn contains(&self, name: &str) -> bool {
        self.params.contains_key(name)
    }

    /// True when no parameter was sent (Matomo's "empty request", §1.3).
    pub fn is_empty(&self) -> bool {
        self.params.is_empty()
    }

    /// All parameters, by name.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &ParamValue)> {
        let mut all: Vec<(&str, &ParamValue)> =
            self.params.iter().map(|(k, v)| (k.as_str(), v)).collect();
        all.sort_unstable_by_key(|(k, _)| *k);
        all.into_iter()
    }

    /// Image-tracker fallback (§1.1): with neither `url` nor `urlref`, the
    /// HTTP `Referer` header becomes `url`.
    pub fn apply_referer_header_fallback(&mut self, referer_header: Option<&str>) {
        let empty = |v: Option<&str>| v.is_none_or(php::is_empty);
        if empty(self.get("url"))
            && empty(self.get("urlref"))
            && let Some(r) = referer_header.filter(|r| !php::is_empty(r))
        {
            self.insert("url", r);
        }
    }

    /// A JSON parameter (`getRequestVar(name, '', 'json')`): text is
    /// decoded, a bulk object's JSON value taken as it is.
    fn json(&self, name: &str) -> JsonParam {
        match self.params.get(name) {
            Some(ParamValue::Json(value)) => JsonParam::Value(value.clone()),
            _ => JsonParam::from_param(self.get(name)),
        }
    }

    /// Matomo's `Request::getIdSiteUnverified`: `idsite` as an integer, 0
    /// when it is missing or not a number.
    pub fn idsite_unverified(&self) -> i64 {
        self.int("idsite").unwrap_or(0)
    }

    /// `getRequestVar(name, '', 'string')`: `None` when absent, an array or
    /// empty.
    fn string(&self, name: &str) -> Option<&str> {
        self.get(name).filter(|s| !s.is_empty())
    }

    fn int(&self, name: &str) -> Option<i64> {
        self.string(name).and_then(php::coerce_int)
    }

    /// `getRequestVar(name, default, 'float')` with a float default:
    /// `None` (the default) when absent, empty or not valid
    /// ([`php::request_float`]).
    fn float(&self, name: &str) -> Option<f64> {
        self.string(name).and_then(php::request_float)
    }

    /// `Request::getParam` of a float parameter whose default is `false`:
    /// `None` when absent or empty, and 0 when the value is not valid
    /// (`settype(false, 'float')`), so `e_v=abc` is an event value of 0.
    fn float_or_zero(&self, name: &str) -> Option<f64> {
        self.string(name)
            .map(|s| php::request_float(s).unwrap_or(0.0))
    }

    /// A location override (`UserCountry`'s `getValueFromUrlParamsIfAllowed`)
    /// or `cip`: read as a string that PHP's `empty()` does not reject, so
    /// `"0"` is no override and needs no token.
    fn override_value(&self, name: &str) -> Option<&str> {
        self.string(name).filter(|s| !php::is_empty(s))
    }
}

fn php_number(n: &serde_json::Number) -> String {
    if let Some(i) = n.as_i64() {
        return i.to_string();
    }
    if let Some(u) = n.as_u64() {
        return u.to_string();
    }
    match n.as_f64() {
        Some(f) if f.fract() == 0.0 && f.abs() < 1e15 => format!("{f:.0}"),
        Some(f) => f.to_string(),
        None => n.to_string(),
    }
}

/// Errors of a bulk body that cannot be used at all (answered with 400).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BulkError {
    /// The body is not valid JSON.
    #[error("bulk tracking body is not valid JSON: {0}")]
    Json(String),
    /// The JSON has no `requests` array.
    #[error("bulk tracking body has no `requests` array")]
    NoRequests,
}

/// A decoded bulk tracking body (MATOMO.md §1.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BulkRequest {
    /// One parameter set per element of `requests`, in order (so that
    /// `invalid_indices` can be reported), as Matomo's `BulkTracking`
    /// builds them: a string element contributes the parameters of its
    /// query part only, and a string without a query is left out (the
    /// indices of the elements after it shift); an element of another JSON
    /// type than a string or an object gives an empty set, which Matomo
    /// counts as tracked without storing anything.
    pub requests: Vec<RawParams>,
    /// The batch `token_auth`, applying to every request.
    pub token_auth: Option<String>,
    /// False when the body has `"send_image": 0`: the answer is `204`.
    pub send_image: bool,
}

/// §1.2: a POST body is a bulk request when it contains `"requests"` or
/// `'requests'`.
pub fn is_bulk_body(body: &[u8]) -> bool {
    let contains = |needle: &[u8]| body.windows(needle.len()).any(|w| w == needle);
    contains(b"\"requests\"") || contains(b"'requests'")
}

/// Decodes a bulk tracking body.
///
/// Matomo removes line breaks before decoding (`Common::sanitizeLineBreaks`),
/// so we do too.
///
/// # Errors
/// [`BulkError::Json`] for invalid JSON, [`BulkError::NoRequests`] when the
/// body is not an object with a `requests` array.
pub fn parse_bulk(body: &[u8]) -> Result<BulkRequest, BulkError> {
    let text: Vec<u8> = body
        .iter()
        .copied()
        .filter(|b| *b != b'\n' && *b != b'\r')
        .collect();
    let value: serde_json::Value =
        serde_json::from_slice(&text).map_err(|e| BulkError::Json(e.to_string()))?;
    let object = value.as_object().ok_or(BulkError::NoRequests)?;
    let list = object
        .get("requests")
        .and_then(serde_json::Value::as_array)
        .ok_or(BulkError::NoRequests)?;
    let requests = list
        .iter()
        .filter_map(|element| match element {
            serde_json::Value::String(url) => php::parse_url(url)
                .and_then(|u| u.query)
                .filter(|q| !q.is_empty())
                .map(|q| RawParams::from_query(&q)),
            serde_json::Value::Object(map) => Some(RawParams::from_json_object(map)),
            _ => Some(RawParams::new()),
        })
        .collect();
    let token_auth = match object.get("token_auth") {
        Some(serde_json::Value::String(s)) if !s.is_empty() => Some(s.clone()),
        Some(serde_json::Value::Number(n)) => Some(php_number(n)),
        _ => None,
    };
    // `"send_image": 0` (or "0") asks for a 204 answer. Matomo reads it
    // with `!!getRequestVar('send_image', true, 'string')`, for which
    // `false` has no length and so is absent: the image is sent.
    let send_image = match object.get("send_image") {
        Some(serde_json::Value::Number(n)) => php_number(n) != "0",
        Some(serde_json::Value::String(s)) => s != "0",
        _ => true,
    };
    Ok(BulkRequest {
        requests,
        token_auth,
        send_image,
    })
}

/// The names of a query string or form body in the order they were sent,
/// each once (a later duplicate keeps the first one's place, as in PHP's
/// arrays), mangled as [`RawParams::from_query`] does.
///
/// [`RawParams`] is a hash map: only a failing request, whose parameters
/// Matomo stores in their order (`tracking_failure.request_url`), asks for
/// the order again.
pub fn sent_names(query: &str) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    for part in query.split('&').filter(|part| !part.is_empty()) {
        let raw_name = part.split_once('=').map_or(part, |(name, _)| name);
        if let Some((name, _)) = php_param_name(php::urldecode(raw_name))
            && !names.contains(&name)
        {
            names.push(name);
        }
    }
    names
}

/// [`sent_names`] of a single HTTP request, as
/// [`RawParams::from_get_post`] reads it: the query's, then the body's
/// that the query does not have (`$_GET + $_POST`).
pub fn get_post_sent_names(query: Option<&str>, form_body: Option<&[u8]>) -> Vec<String> {
    let mut names = sent_names(query.unwrap_or(""));
    if let Some(body) = form_body {
        for name in sent_names(&String::from_utf8_lossy(body)) {
            if !names.contains(&name) {
                names.push(name);
            }
        }
    }
    names
}

/// [`sent_names`] of each request of a bulk body, aligned with
/// [`BulkRequest::requests`]; empty when the body does not decode.
pub fn bulk_sent_names(body: &[u8]) -> Vec<Vec<String>> {
    let text: Vec<u8> = body
        .iter()
        .copied()
        .filter(|b| *b != b'\n' && *b != b'\r')
        .collect();
    let Ok(serde_json::Value::Object(object)) = serde_json::from_slice(&text) else {
        return Vec::new();
    };
    let Some(list) = object.get("requests").and_then(serde_json::Value::as_array) else {
        return Vec::new();
    };
    list.iter()
        .filter_map(|element| match element {
            serde_json::Value::String(url) => php::parse_url(url)
                .and_then(|u| u.query)
                .filter(|q| !q.is_empty())
                .map(|q| sent_names(&q)),
            // A JSON object's keys come in its map's order: as sent when
            // serde_json keeps it (`preserve_order`), else by name.
            serde_json::Value::Object(map) => Some(
                map.iter()
                    .filter(|(_, v)| !v.is_null())
                    .map(|(k, _)| k.clone())
                    .collect(),
            ),
            _ => Some(Vec::new()),
        })
        .collect()
}

/// A JSON-typed parameter (`cvar`, `_cvar`, `ec_items`, `uadata`).
#[derive(Debug, Clone, PartialEq)]
pub enum JsonParam {
    /// Not sent (or empty).
    Absent,
    /// Sent but not valid JSON. Matomo's `json_decode` yields `null` without
    /// an error, so this is *not* a rejection: custom variables are then
    /// ignored, and an ecommerce request has no usable items.
    Invalid,
    /// The decoded value.
    Value(serde_json::Value),
}

impl JsonParam {
    fn from_param(value: Option<&str>) -> Self {
        match value.filter(|s| !s.is_empty()) {
            None => Self::Absent,
            Some(s) => match serde_json::from_str(s) {
                Ok(v) => Self::Value(v),
                Err(_) => Self::Invalid,
            },
        }
    }
}

/// One custom variable slot (CustomVariables plugin, §1.4).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomVariable {
    /// Slot 1..=[`CUSTOM_VARIABLE_SLOTS`].
    pub index: u8,
    /// Name, trimmed, at most 200 characters.
    pub name: String,
    /// Value, trimmed, at most 200 characters.
    pub value: String,
}

/// Usable custom variable slots (Matomo's default schema has 5).
pub const CUSTOM_VARIABLE_SLOTS: i64 = 5;
/// Maximum length of a custom variable name or value.
pub const CUSTOM_VARIABLE_MAX_LENGTH: usize = 200;
/// Maximum kept length of `uid`.
pub const USER_ID_MAX_LENGTH: usize = 200;
/// Maximum length of a custom dimension value.
pub const CUSTOM_DIMENSION_MAX_LENGTH: usize = 250;
/// Largest accepted page performance timing (ms); larger values are ignored.
pub const PAGE_PERFORMANCE_MAX_MS: i64 = 16_777_215;
/// Matomo's default for `res`.
pub const UNKNOWN_RESOLUTION: &str = "unknown";

fn json_php_string(v: &serde_json::Value) -> Option<String> {
    match v {
        serde_json::Value::String(s) => Some(s.clone()),
        serde_json::Value::Number(n) => Some(php_number(n)),
        serde_json::Value::Bool(true) => Some("1".to_owned()),
        serde_json::Value::Bool(false) | serde_json::Value::Null => Some(String::new()),
        _ => None,
    }
}

/// Decodes `cvar` / `_cvar` like the CustomVariables plugin: slots outside
/// 1..=5, entries that are not a 2-element `[name, value]` array and names
/// that are neither strings nor numbers are skipped; names and values are
/// trimmed and cut to 200 characters. Invalid JSON gives no variables.
pub fn custom_variables(param: &JsonParam) -> Vec<CustomVariable> {
    let JsonParam::Value(value) = param else {
        return Vec::new();
    };
    let entries: Vec<(i64, &serde_json::Value)> = match value {
        // PHP's (int) cast of a key: leading integer part, else 0.
        serde_json::Value::Object(map) => map.iter().map(|(k, v)| (php_int_cast(k), v)).collect(),
        serde_json::Value::Array(list) => list
            .iter()
            .enumerate()
            .map(|(i, v)| (i64::try_from(i).unwrap_or(i64::MAX), v))
            .collect(),
        _ => return Vec::new(),
    };
    let mut out: Vec<CustomVariable> = Vec::new();
    for (id, kv) in entries {
        if !(1..=CUSTOM_VARIABLE_SLOTS).contains(&id) {
            continue;
        }
        let Some([name, value]) = kv
            .as_array()
            .map(Vec::as_slice)
            .and_then(|s| <&[_; 2]>::try_from(s).ok())
        else {
            continue;
        };
        if !(name.is_string() || name.is_number()) {
            continue;
        }
        let (Some(name), Some(value)) = (json_php_string(name), json_php_string(value)) else {
            continue;
        };
        let index = u8::try_from(id).unwrap_or(0);
        // `getRequestVar(.., 'json')` sanitizes every string and the plugin
        // unsanitizes them again: HTML entities end up decoded, so
        // `a &quot;b&quot;` and `a "b"` are one value.
        let clean = |text: &str| {
            let decoded = php::html_entity_decode(text).replace('\0', "");
            php::truncate_chars(php::trim(&decoded), CUSTOM_VARIABLE_MAX_LENGTH).to_owned()
        };
        let var = CustomVariable {
            index,
            name: clean(&name),
            value: clean(&value),
        };
        // A later entry for the same slot overwrites the earlier one.
        match out.iter_mut().find(|v| v.index == index) {
            Some(slot) => *slot = var,
            None => out.push(var),
        }
    }
    out.sort_by_key(|v| v.index);
    out
}

/// PHP `(int)"12abc"` = 12, `(int)"abc"` = 0.
fn php_int_cast(s: &str) -> i64 {
    let t = s.trim_start_matches([' ', '\t', '\n', '\r', '\x0B', '\x0C']);
    let (neg, digits) = match t.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, t.strip_prefix('+').unwrap_or(t)),
    };
    let end = digits
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(digits.len());
    let n: i64 = digits[..end].parse().unwrap_or(0);
    if neg { -n } else { n }
}

/// Browser feature flags (`log_visit.config_*`), in Matomo's order
/// `fla java qt realp pdf wma ag cookie`; each is an int, default 0.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BrowserPlugins {
    /// `fla` → `config_flash`.
    pub flash: i64,
    /// `java` → `config_java`.
    pub java: i64,
    /// `qt` → `config_quicktime`.
    pub quicktime: i64,
    /// `realp` → `config_realplayer`.
    pub realplayer: i64,
    /// `pdf` → `config_pdf`.
    pub pdf: i64,
    /// `wma` → `config_windowsmedia`.
    pub windowsmedia: i64,
    /// `ag` → `config_silverlight`.
    pub silverlight: i64,
    /// `cookie` → `config_cookie`.
    pub cookie: i64,
}

/// Page performance timings in ms (`pf_*`); `None` = not set.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PagePerformance {
    /// `pf_net` → `time_network`.
    pub network: Option<u32>,
    /// `pf_srv` → `time_server`.
    pub server: Option<u32>,
    /// `pf_tfr` → `time_transfer`.
    pub transfer: Option<u32>,
    /// `pf_dm1` → `time_dom_processing`.
    pub dom_processing: Option<u32>,
    /// `pf_dm2` → `time_dom_completion`.
    pub dom_completion: Option<u32>,
    /// `pf_onl` → `time_on_load`.
    pub on_load: Option<u32>,
}

impl PagePerformance {
    /// True if any timing is set.
    pub fn any(&self) -> bool {
        self.timings().iter().any(Option::is_some)
    }

    /// The six timings in column order: `time_network`, `time_server`,
    /// `time_transfer`, `time_dom_processing`, `time_dom_completion`,
    /// `time_on_load`.
    pub fn timings(&self) -> [Option<u32>; 6] {
        [
            self.network,
            self.server,
            self.transfer,
            self.dom_processing,
            self.dom_completion,
            self.on_load,
        ]
    }
}

/// `bw_bytes` as the Bandwidth plugin reads it: any PHP numeric string,
/// cast with `(int)` (the fraction dropped: `"12.9"` is 12, `"1e3"` 1000),
/// else not tracked. A negative size is not tracked either: Matomo would
/// write it into its UNSIGNED column, which strict MySQL refuses and lax
/// MySQL clamps to 0 (docs/MATOMO-DIFFERENCES.md).
pub fn bandwidth(value: &str) -> Option<u64> {
    let number = php::coerce_float(value)?.trunc();
    if !(0.0..9.2e18).contains(&number) {
        return None;
    }
    // Integral, non-negative and below 2^63: exact enough for byte counts.
    #[expect(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        reason = "checked integral, non-negative and in range above"
    )]
    Some(number as u64)
}

/// A custom timestamp resolved from `cdt`/`cdo` (§1.5).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CustomTimestamp {
    /// Unix seconds (UTC).
    pub unix: i64,
    /// True when the timestamp is at least the configured window old, so the
    /// request needs an authenticated `token_auth` (else 400).
    pub requires_auth: bool,
}

/// Default of `[Tracker] tracking_requests_require_authentication_when_custom_timestamp_newer_than`.
pub const CUSTOM_TIMESTAMP_AUTH_WINDOW_SECS: i64 = 86_400;

/// A validated tracking request: every parameter of MATOMO.md §1.4 that
/// affects stored data, coerced as Matomo's `Request::getParam` does.
///
/// String fields are `None` when the parameter is absent, an array or empty
/// (Matomo's default `''`). Values are decoded but otherwise raw; cleaning
/// for storage (URLs, titles) is in [`crate::urlnorm`].
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct TrackingRequest {
    /// `idsite`, > 0.
    pub idsite: u32,
    /// `rec` is non-zero; if false the request is excluded (§1.6).
    pub rec: bool,
    /// `url`.
    pub url: Option<String>,
    /// `action_name` (raw; see [`crate::urlnorm::page_title`]).
    pub action_name: Option<String>,
    /// `urlref`.
    pub urlref: Option<String>,
    /// Visitor id from `_id`: its first 16 characters, if they are hex.
    pub visitor_id: Option<[u8; 8]>,
    /// Forced visitor id from `cid` (validated: 16 hex characters).
    pub forced_visitor_id: Option<[u8; 8]>,
    /// `uid`, at most 200 characters.
    pub user_id: Option<String>,
    /// `new_visit=1`.
    pub new_visit: bool,
    /// `h`, `m`, `s` as sent (see [`TrackingRequest::visitor_localtime`]).
    pub local_time: [Option<i64>; 3],
    /// `res`: default `unknown`, first 9 characters kept.
    pub resolution: String,
    /// Browser feature flags.
    pub plugins: BrowserPlugins,
    /// `ua` (overrides the `User-Agent` header).
    pub user_agent: Option<String>,
    /// `lang` (overrides `Accept-Language`).
    pub lang: Option<String>,
    /// `cvar` (page scope), decoded.
    pub custom_variables_page: Vec<CustomVariable>,
    /// `_cvar` (visit scope), decoded.
    pub custom_variables_visit: Vec<CustomVariable>,
    /// `dimensionN`: id → value (trimmed, at most 250 characters). An empty
    /// string is kept: it clears the dimension.
    pub dimensions: BTreeMap<u32, String>,
    /// `link` (outlink URL).
    pub link: Option<String>,
    /// `download` (download URL).
    pub download: Option<String>,
    /// `search` (site search keyword).
    pub search: Option<String>,
    /// `search_cat`.
    pub search_cat: Option<String>,
    /// `search_count`, -1 when not set.
    pub search_count: i64,
    /// `pv_id`.
    pub pv_id: Option<String>,
    /// `idgoal`: -1 none, 0 ecommerce, > 0 manual goal.
    pub idgoal: i64,
    /// `revenue`.
    pub revenue: Option<f64>,
    /// `e_c`.
    pub event_category: Option<String>,
    /// `e_a`.
    pub event_action: Option<String>,
    /// `e_n`.
    pub event_name: Option<String>,
    /// `e_v`.
    pub event_value: Option<f64>,
    /// `c_n`.
    pub content_name: Option<String>,
    /// `c_p`.
    pub content_piece: Option<String>,
    /// `c_t`.
    pub content_target: Option<String>,
    /// `c_i`.
    pub content_interaction: Option<String>,
    /// `ec_id`.
    pub ec_id: Option<String>,
    /// `ec_items` (JSON).
    pub ec_items: JsonParam,
    /// `ec_st`.
    pub ec_subtotal: Option<f64>,
    /// `ec_tx`.
    pub ec_tax: Option<f64>,
    /// `ec_sh`.
    pub ec_shipping: Option<f64>,
    /// `ec_dt`.
    pub ec_discount: Option<f64>,
    /// `_pkc` (string or JSON array string), `Some("")` when sent empty.
    pub product_category: Option<String>,
    /// `_pkp`.
    pub product_price: Option<f64>,
    /// `_pks`.
    pub product_sku: Option<String>,
    /// `_pkn`.
    pub product_name: Option<String>,
    /// `pf_*`.
    pub performance: PagePerformance,
    /// `bw_bytes`: the size of the response in bytes (Matomo's Bandwidth
    /// plugin, `log_link_visit_action.bandwidth`), see [`bandwidth`].
    pub bandwidth: Option<u64>,
    /// `ping=1` (heartbeat).
    pub ping: bool,
    /// `bots=1`: do not exclude bots.
    pub bots: bool,
    /// `ca=1`: custom action, not a pageview.
    pub custom_action: bool,
    /// `cs`: page charset.
    pub charset: Option<String>,
    /// False when `send_image=0` (answer 204).
    pub send_image: bool,
    /// `token_auth`.
    pub token_auth: Option<String>,
    /// `cip` (needs auth), when PHP-non-empty (`"0"` is none).
    pub cip: Option<String>,
    /// `cdt` as sent (see [`TrackingRequest::custom_timestamp`]).
    pub cdt: Option<String>,
    /// `cdo` (seconds).
    pub cdo: Option<i64>,
    /// True if `cdt` or `cdo` is present at all (PHP `isset`).
    pub has_cdt_or_cdo: bool,
    /// `country` (needs auth), lower-cased, at most 3 characters.
    pub country: Option<String>,
    /// `region` (needs auth).
    pub region: Option<String>,
    /// `city` (needs auth).
    pub city: Option<String>,
    /// `lat` (needs auth).
    pub lat: Option<f64>,
    /// `long` (needs auth).
    pub long: Option<f64>,
    /// `_rcn`: campaign name from the JS attribution cookie (§5.5).
    pub attribution_campaign_name: Option<String>,
    /// `_rck`: campaign keyword from the JS attribution cookie.
    pub attribution_campaign_keyword: Option<String>,
    /// `_ref`: attribution referrer URL.
    pub attribution_referrer: Option<String>,
    /// `_refts`: attribution referrer timestamp (0 = not set).
    pub attribution_referrer_ts: i64,
    /// The first parameter error found, reported only for a request that
    /// is not excluded ([`Self::error_after_exclusions`]).
    pub invalid_after_exclusions: Option<(String, String)>,
}

fn invalid(name: &str, reason: impl Into<String>) -> TrackingError {
    TrackingError::InvalidParameter {
        name: name.to_owned(),
        reason: reason.into(),
    }
}

fn hex_id(s: &str) -> Option<[u8; 8]> {
    let b = s.as_bytes();
    if b.len() != 16 || !b.iter().all(u8::is_ascii_hexdigit) {
        return None;
    }
    let mut out = [0u8; 8];
    for (i, chunk) in b.chunks(2).enumerate() {
        let hi = char::from(chunk[0]).to_digit(16)?;
        let lo = char::from(chunk[1]).to_digit(16)?;
        out[i] = u8::try_from(hi * 16 + lo).ok()?;
    }
    Some(out)
}

/// Shows at most 40 characters of a rejected value in an error message.
fn shown(s: &str) -> String {
    let cut = php::truncate_chars(s, 40);
    if cut.len() < s.len() {
        format!("'{cut}…'")
    } else {
        format!("'{cut}'")
    }
}

impl TrackingRequest {
    /// Validates and coerces `params`.
    ///
    /// # Errors
    /// [`TrackingError::InvalidParameter`] naming the parameter when Matomo
    /// rejects the request with 400:
    /// - `idsite` missing, not an integer, or <= 0 (or above `u32::MAX`);
    /// - `cid` non-empty and not exactly 16 hex characters;
    /// - `e_c`/`e_a` both sent but one is only whitespace;
    /// - a `pf_*` timing that is negative.
    ///
    /// Everything else that is malformed is ignored as Matomo does (a
    /// wrong-typed value takes the parameter's default; a short or non-hex
    /// `_id` is no visitor id; bad JSON in `cvar`/`_cvar` means no custom
    /// variables and in `ec_items` gives [`JsonParam::Invalid`]; an
    /// unparseable `cdt` is no custom timestamp).
    pub fn from_params(p: &RawParams) -> Result<Self, TrackingError> {
        let idsite_raw = p.get("idsite").unwrap_or("");
        let idsite = p.int("idsite").unwrap_or(0);
        if idsite <= 0 {
            return Err(invalid(
                "idsite",
                format!(
                    "must be an integer greater than 0, got {}",
                    shown(idsite_raw)
                ),
            ));
        }
        let idsite = u32::try_from(idsite)
            .map_err(|_| invalid("idsite", format!("no site can have id {idsite}")))?;

        let string = |name: &str| p.string(name).map(str::to_owned);

        // `_id`: only the first 16 characters count, and only if there are
        // at least 16 (Request::getVisitorId); non-hex is no id.
        let visitor_id = p
            .string("_id")
            .filter(|s| s.len() >= 16 && s.is_char_boundary(16))
            .and_then(|s| hex_id(&s[..16]));

        // Matomo checks these only for a request it does not exclude (its
        // visit and action processors run after `VisitExcluded`): the
        // first one wrong is kept, for the hit to answer after the
        // exclusions.
        let mut invalid_after_exclusions: Option<(String, String)> = None;
        let mut refuse = |name: &str, reason: String| {
            invalid_after_exclusions.get_or_insert((name.to_owned(), reason));
        };
        let forced_visitor_id = match p.string("cid") {
            Some(cid) if !php::is_empty(cid) => {
                let id = hex_id(cid);
                if id.is_none() {
                    refuse(
                        "cid",
                        format!(
                            "visitor id must be 16 hexadecimal characters, got {}",
                            shown(cid)
                        ),
                    );
                }
                id
            }
            _ => None,
        };

        let event_category = string("e_c");
        let event_action = string("e_a");
        if let (Some(c), Some(a)) = (&event_category, &event_action) {
            if php::trim(c).is_empty() {
                refuse(
                    "e_c",
                    "event category must not be only whitespace".to_owned(),
                );
            }
            if php::trim(a).is_empty() {
                refuse("e_a", "event action must not be only whitespace".to_owned());
            }
        }

        let mut perf = |name: &str| -> Option<u32> {
            match p.int(name) {
                None | Some(-1) => None,
                Some(v) if v < 0 => {
                    refuse(name, format!("timing must not be negative, got {v}"));
                    None
                }
                Some(v) if v > PAGE_PERFORMANCE_MAX_MS => None,
                Some(v) => u32::try_from(v).ok(),
            }
        };
        let performance = PagePerformance {
            network: perf("pf_net"),
            server: perf("pf_srv"),
            transfer: perf("pf_tfr"),
            dom_processing: perf("pf_dm1"),
            dom_completion: perf("pf_dm2"),
            on_load: perf("pf_onl"),
        };

        let mut dimensions = BTreeMap::new();
        // In any order: the map sorts them.
        for (name, value) in &p.params {
            let Some(id) = name.strip_prefix("dimension") else {
                continue;
            };
            let (Ok(id), ParamValue::Text(value)) = (id.parse::<u32>(), value) else {
                continue;
            };
            if id == 0 || !id.to_string().eq(name.trim_start_matches("dimension")) {
                continue;
            }
            // `getRequestVar` (HTML-escaped), then `prepareValue`: trimmed,
            // cut to 250 characters of the escaped text.
            let value = php::sanitize_input_value(value);
            dimensions.insert(
                id,
                php::truncate_chars(php::trim(&value), CUSTOM_DIMENSION_MAX_LENGTH).to_owned(),
            );
        }

        // A content impression (`!empty(c_n)`, and no download, outlink or
        // event, which take precedence) whose name is only whitespace:
        // Matomo's ContentName dimension refuses it.
        let content_name = string("c_n");
        if let Some(name) = content_name.as_deref().filter(|n| !php::is_empty(n))
            && php::trim(name).is_empty()
            && [p.string("download"), p.string("link")]
                .iter()
                .all(|u| u.is_none_or(php::is_empty))
            && !(event_category.is_some() && event_action.is_some())
        {
            refuse("c_n", "content name must not be only whitespace".to_owned());
        }

        let flag = |name: &str| p.int(name).unwrap_or(0);
        Ok(Self {
            idsite,
            rec: flag("rec") != 0,
            url: string("url"),
            action_name: string("action_name"),
            urlref: string("urlref"),
            visitor_id,
            forced_visitor_id,
            // HTML-escaped as `getParam` gives it, and whole: the visitor id
            // is hashed from all of it; the hit cuts it to its column after.
            user_id: p.string("uid").map(php::sanitize_input_value),
            // Matomo tests `new_visit`, `bots` and `ca` for any non-zero
            // integer; `ping` for exactly 1 (PingRequestProcessor).
            new_visit: flag("new_visit") != 0,
            local_time: [p.int("h"), p.int("m"), p.int("s")],
            resolution: php::truncate_chars(p.string("res").unwrap_or(UNKNOWN_RESOLUTION), 9)
                .to_owned(),
            plugins: BrowserPlugins {
                flash: flag("fla"),
                java: flag("java"),
                quicktime: flag("qt"),
                realplayer: flag("realp"),
                pdf: flag("pdf"),
                windowsmedia: flag("wma"),
                silverlight: flag("ag"),
                cookie: flag("cookie"),
            },
            user_agent: string("ua"),
            lang: string("lang"),
            custom_variables_page: custom_variables(&p.json("cvar")),
            custom_variables_visit: custom_variables(&p.json("_cvar")),
            dimensions,
            link: string("link"),
            download: string("download"),
            search: string("search"),
            search_cat: string("search_cat"),
            search_count: p.int("search_count").unwrap_or(-1),
            pv_id: string("pv_id"),
            idgoal: p.int("idgoal").unwrap_or(-1),
            revenue: p.float("revenue"),
            event_category,
            event_action,
            event_name: string("e_n"),
            event_value: p.float_or_zero("e_v"),
            content_name,
            content_piece: string("c_p"),
            content_target: string("c_t"),
            content_interaction: string("c_i"),
            // HTML-escaped as `getParam` gives it: the stored `idorder` and
            // the buster hashed from it.
            ec_id: p.string("ec_id").map(php::sanitize_input_value),
            ec_items: p.json("ec_items"),
            ec_subtotal: p.float_or_zero("ec_st"),
            ec_tax: p.float_or_zero("ec_tx"),
            ec_shipping: p.float_or_zero("ec_sh"),
            ec_discount: p.float_or_zero("ec_dt"),
            // Present even when empty: Matomo's product view dimensions
            // record an empty value (`hasParam`), reported as not defined.
            product_category: p.get("_pkc").map(str::to_owned),
            product_price: p.float_or_zero("_pkp"),
            product_sku: p.get("_pks").map(str::to_owned),
            product_name: p.get("_pkn").map(str::to_owned),
            performance,
            bandwidth: p.get("bw_bytes").and_then(bandwidth),
            ping: flag("ping") == 1,
            bots: flag("bots") != 0,
            custom_action: flag("ca") != 0,
            charset: string("cs"),
            send_image: p.get("send_image") != Some("0"),
            token_auth: string("token_auth"),
            cip: p.override_value("cip").map(str::to_owned),
            cdt: string("cdt"),
            cdo: p.int("cdo"),
            has_cdt_or_cdo: p.contains("cdt") || p.contains("cdo"),
            // Cut to the columns' lengths (UserCountry's Country, Region and
            // City dimensions: `substr` to 3, 3 and 255); the country
            // lower-cased as every stored country code is (MATOMO.md §2.5;
            // Matomo keeps an override's case, which its SDKs document as
            // lower case).
            country: p
                .override_value("country")
                .map(|c| php::truncate_chars(&c.to_lowercase(), 3).to_owned()),
            region: p
                .override_value("region")
                .map(|r| php::truncate_chars(r, 3).to_owned()),
            city: p
                .override_value("city")
                .map(|c| php::truncate_chars(c, 255).to_owned()),
            lat: p.override_value("lat").map(coordinate),
            long: p.override_value("long").map(coordinate),
            attribution_campaign_name: string("_rcn"),
            attribution_campaign_keyword: string("_rck"),
            attribution_referrer: string("_ref"),
            attribution_referrer_ts: p.int("_refts").unwrap_or(0),
            invalid_after_exclusions,
        })
    }

    /// The parameter error Matomo answers 400 with once the request is not
    /// excluded (`cid` not hexadecimal, a blank event category or action or
    /// content name, a negative `pf_*` timing); an excluded request is
    /// answered with success whatever they hold.
    pub fn error_after_exclusions(&self) -> Option<TrackingError> {
        self.invalid_after_exclusions
            .as_ref()
            .map(|(name, reason)| invalid(name, reason.clone()))
    }

    /// `log_visit.visitor_localtime` (`HH:MM:SS`): `h`/`m`/`s` as sent,
    /// the server's time (in `server_hms`, the tracked time of day) for a
    /// missing or non-integer part, 0 for an out-of-range part
    /// (`Request::getLocalTime`).
    pub fn visitor_localtime(&self, server_hms: (u32, u32, u32)) -> String {
        let [h, m, s] = self.local_time;
        let part = |v: Option<i64>, server: u32, max: i64| {
            let v = v.unwrap_or(i64::from(server));
            if (0..=max).contains(&v) { v } else { 0 }
        };
        // Two digits each, written by hand: `format!` was a thousand
        // instructions a hit (callgrind).
        let mut out = String::with_capacity(8);
        for (i, v) in [
            part(h, server_hms.0, 23),
            part(m, server_hms.1, 59),
            part(s, server_hms.2, 59),
        ]
        .into_iter()
        .enumerate()
        {
            if i > 0 {
                out.push(':');
            }
            let v = u8::try_from(v).unwrap_or(0);
            out.push(char::from(b'0' + v / 10));
            out.push(char::from(b'0' + v % 10));
        }
        out
    }

    /// The custom timestamp from `cdt`/`cdo` (`Request::getCustomTimestamp`),
    /// or `None` to use `now`.
    ///
    /// `cdt` is a unix timestamp or a date string (UTC). Of PHP's
    /// `strtotime` formats we accept `YYYY-MM-DD`, `YYYY-MM-DD HH:MM[:SS]`
    /// (also with `T`, fractional seconds and a `Z`/`±HH:MM` suffix), `@ts`
    /// and `now`; anything else is treated like a failed `strtotime`
    /// (ignored). `cdo` seconds are subtracted. A result in the future or
    /// more than 20 years (of 365 days) old is ignored. `requires_auth` is
    /// set when it is `auth_window_secs` or more in the past (default
    /// [`CUSTOM_TIMESTAMP_AUTH_WINDOW_SECS`]).
    pub fn custom_timestamp(&self, now: i64, auth_window_secs: i64) -> Option<CustomTimestamp> {
        if !self.has_cdt_or_cdo {
            return None;
        }
        let cdo = self.cdo.unwrap_or(0);
        let cdt: Option<&str> = self.cdt.as_deref().filter(|c| !php::is_empty(c));
        let base: f64 = match cdt {
            None if cdo != 0 => now as f64,
            None => return None,
            Some(c) if php::is_numeric(c) => php::coerce_float(c)?,
            Some(c) => strtotime_subset(c, now)? as f64,
        };
        let t = base - (cdo.unsigned_abs() as f64);
        let now_f = now as f64;
        if !(t <= now_f && t > now_f - 20.0 * 365.0 * 86_400.0) {
            return None;
        }
        #[expect(
            clippy::cast_possible_truncation,
            reason = "range checked above; PHP (int) truncates"
        )]
        let unix = t as i64;
        Some(CustomTimestamp {
            unix,
            requires_auth: now_f - t >= auth_window_secs as f64,
        })
    }

    /// The parameters present that need an authenticated `token_auth`
    /// (§1.5; `cdt`/`cdo` are reported by [`Self::custom_timestamp`]).
    pub fn auth_required_params(&self) -> Vec<&'static str> {
        let mut out = Vec::new();
        if self.cip.is_some() {
            out.push("cip");
        }
        if self.country.is_some() {
            out.push("country");
        }
        if self.region.is_some() {
            out.push("region");
        }
        if self.city.is_some() {
            out.push("city");
        }
        if self.lat.is_some() {
            out.push("lat");
        }
        if self.long.is_some() {
            out.push("long");
        }
        out
    }

    /// An event request (§3.2): `e_c` and `e_a` both non-empty.
    pub fn is_event(&self) -> bool {
        self.event_category.is_some() && self.event_action.is_some()
    }
}

/// A `lat`/`long` override as Matomo's MySQL stores the string it is given
/// in a `DECIMAL(9,6)` column without strict mode: its leading number, an
/// out-of-range value at the column's limit (strict mode would fail the
/// insert, and with it the request).
fn coordinate(s: &str) -> f64 {
    const LIMIT: f64 = 999.999_999;
    php::float_cast(s).clamp(-LIMIT, LIMIT)
}

/// Days since 1970-01-01 of a proleptic Gregorian date.
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The `cdt` forms of PHP's `strtotime` (in UTC, Matomo's tracker time
/// zone) that clients send: `now`, `@<unix>`; a date `YYYY-MM-DD` with an
/// optional time (`T` or space, `HH:MM[:SS[.frac]]`, `.` also separating)
/// and zone (`Z`, `UTC`, `GMT`, `±HH`, `±HHMM`, `±HH:MM`, with or without a
/// space before it); RFC 2822 (`Fri, 05 Jan 2024 10:00:00 +0000`, PHP's
/// `date('r')`); `today`, `midnight`, `yesterday`, `tomorrow` with an
/// optional time; and one relative amount (`-1 hour`, `+2 days`,
/// `3 minutes ago`). Anything else is `None` (the request time is used);
/// PHP also reads slashed and dotted dates and other relative words.
fn strtotime_subset(s: &str, now: i64) -> Option<i64> {
    let s = php::trim(s);
    let lower = s.to_ascii_lowercase();
    if lower == "now" {
        return Some(now);
    }
    if let Some(ts) = s.strip_prefix('@') {
        return ts.parse().ok();
    }
    if let Some(t) = relative_time(&lower, now) {
        return Some(t);
    }
    let num = |t: &str| digits(t, 4);
    let valid =
        |y: i64, m: i64, d: i64| (1..=12).contains(&m) && (1..=31).contains(&d) && y >= 1000;
    // RFC 2822: an optional weekday, then `DD Mon YYYY` and the time.
    let rfc = lower
        .split_once(", ")
        .map_or(lower.as_str(), |(_, rest)| rest);
    let mut words = rfc.splitn(4, ' ');
    if let (Some(d), Some(mon), Some(y)) = (words.next(), words.next(), words.next())
        && let Some(m) = month_number(mon)
        && let (Some(d), Some(y)) = (num(d), num(y))
        && valid(y, m, d)
    {
        let day = days_from_civil(y, m, d) * 86_400;
        return match words.next() {
            None => Some(day),
            Some(time) => Some(day + clock_and_zone(time)?),
        };
    }
    let (date, time) = match lower.find([' ', 't']) {
        Some(i) => (&lower[..i], Some(lower[i + 1..].trim_start())),
        None => (lower.as_str(), None),
    };
    let mut dp = date.split('-');
    let (y, m, d) = (num(dp.next()?)?, num(dp.next()?)?, num(dp.next()?)?);
    if dp.next().is_some() || !valid(y, m, d) {
        return None;
    }
    let day = days_from_civil(y, m, d) * 86_400;
    match time.filter(|t| !t.is_empty()) {
        None => Some(day),
        Some(time) => Some(day + clock_and_zone(time)?),
    }
}

/// A run of 1 to `max` ASCII digits as a number (no sign, no spaces).
fn digits(t: &str, max: usize) -> Option<i64> {
    if t.is_empty() || t.len() > max || !t.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    t.parse().ok()
}

/// `today`/`midnight`/`yesterday`/`tomorrow` (00:00 of that day, then an
/// optional clock time) or one signed amount of seconds, minutes, hours,
/// days or weeks, after `now` or `ago`.
fn relative_time(lower: &str, now: i64) -> Option<i64> {
    let today = now - now.rem_euclid(86_400);
    for (word, day) in [
        ("today", today),
        ("midnight", today),
        ("yesterday", today - 86_400),
        ("tomorrow", today + 86_400),
    ] {
        if let Some(rest) = lower.strip_prefix(word) {
            let rest = rest.trim_start();
            return if rest.is_empty() {
                Some(day)
            } else {
                Some(day + clock_and_zone(rest)?)
            };
        }
    }
    let (amount, ago) = match lower.strip_suffix(" ago") {
        Some(rest) => (rest.trim_end(), true),
        None => (lower, false),
    };
    let (number, unit) = amount.split_once(' ')?;
    let number: i64 = number.strip_prefix('+').unwrap_or(number).parse().ok()?;
    let unit = unit.trim();
    let seconds = match unit.strip_suffix('s').unwrap_or(unit) {
        "sec" | "second" => 1,
        "min" | "minute" => 60,
        "hour" => 3_600,
        "day" => 86_400,
        "week" => 604_800,
        "fortnight" => 1_209_600,
        _ => return None,
    };
    let delta = number.checked_mul(seconds)?;
    Some(if ago { now - delta } else { now + delta })
}

/// `Jan`…`Dec` (or the full name) as 1…12.
fn month_number(name: &str) -> Option<i64> {
    const MONTHS: [&str; 12] = [
        "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
    ];
    let short = name.get(..3)?;
    let index = MONTHS.iter().position(|m| *m == short)?;
    #[expect(clippy::cast_possible_wrap, reason = "an index below 12")]
    Some(index as i64 + 1)
}

/// Seconds after midnight UTC of a lower-cased `HH:MM[:SS[.frac]]` (`.`
/// also separating) followed by an optional zone (`z`, `utc`, `gmt`,
/// `±HH`, `±HHMM`, `±HH:MM`, with or without a space before it).
fn clock_and_zone(time: &str) -> Option<i64> {
    let num = |t: &str| digits(t, 2);
    let time = time.trim();
    let (clock, offset) = if let Some(c) = time.strip_suffix('z') {
        (c, 0)
    } else if let Some(c) = time
        .strip_suffix("utc")
        .or_else(|| time.strip_suffix("gmt"))
    {
        (c, 0)
    } else if let Some(i) = time.rfind(['+', '-']) {
        let (c, off) = time.split_at(i);
        let sign = if off.starts_with('-') { -1 } else { 1 };
        let digits: String = off[1..].chars().filter(|c| *c != ':').collect();
        let (hh, mm) = match digits.len() {
            2 => (num(&digits)?, 0),
            4 => (num(&digits[..2])?, num(&digits[2..])?),
            _ => return None,
        };
        let c = c.trim_end();
        (
            c.strip_suffix("utc")
                .or_else(|| c.strip_suffix("gmt"))
                .unwrap_or(c),
            sign * (hh * 3600 + mm * 60),
        )
    } else {
        (time, 0)
    };
    let clock = clock.trim_end();
    let separator = if clock.contains(':') { ':' } else { '.' };
    let mut tp = clock.split(separator);
    let h = num(tp.next()?)?;
    let mi = num(tp.next()?)?;
    let sec = match tp.next() {
        Some(x) => num(x.split('.').next()?)?,
        None => 0,
    };
    if tp.next().is_some() && separator == ':' || h > 23 || mi > 59 || sec > 59 {
        return None;
    }
    Some(h * 3600 + mi * 60 + sec - offset)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The names a failing request is stored with, in the order sent:
    /// mangled as `parse_str` does, a repeat in its first place, the
    /// query's before the body's; a bulk's per request, aligned with
    /// `parse_bulk` (a string without a query is left out of both).
    #[test]
    fn names_in_the_order_sent() {
        assert_eq!(
            sent_names("rec=1&a.b=2&&idsite=3&rec=4&x%5B%5D=5"),
            ["rec", "a_b", "idsite", "x"]
        );
        assert_eq!(
            get_post_sent_names(Some("z=1&idsite=2"), Some(b"idsite=3&a=4")),
            ["z", "idsite", "a"]
        );
        let body = br#"{"requests":["?rec=1&idsite=7","https://no.query/","?b=1&a=2",3]}"#;
        let sent = bulk_sent_names(body);
        assert_eq!(
            sent.len(),
            parse_bulk(body).map(|b| b.requests.len()).unwrap_or(0)
        );
        assert_eq!(sent, [vec!["rec", "idsite"], vec!["b", "a"], vec![]]);
    }

    fn req(q: &str) -> Result<TrackingRequest, TrackingError> {
        TrackingRequest::from_params(&RawParams::from_query(q))
    }

    /// The parameter a request is refused for, at once or once it is not
    /// excluded.
    fn err_param(r: Result<TrackingRequest, TrackingError>) -> String {
        match r.map(|r| r.error_after_exclusions()) {
            Err(TrackingError::InvalidParameter { name, .. })
            | Ok(Some(TrackingError::InvalidParameter { name, .. })) => name,
            other => panic!("expected InvalidParameter, got {other:?}"),
        }
    }

    #[test]
    fn query_decoding_like_parse_str() {
        let p = RawParams::from_query("a=1+2&b=%C3%A9&a.b=x&c[]=1&d&e=%zz&a=3&&=v");
        assert_eq!(p.get("a"), Some("3"));
        assert_eq!(p.get("b"), Some("é"));
        assert_eq!(p.get("a_b"), Some("x"));
        assert_eq!(p.get("c"), None);
        assert!(p.contains("c"));
        assert_eq!(p.get("d"), Some(""));
        assert_eq!(p.get("e"), Some("%zz"));
        assert_eq!(RawParams::from_query("x[=1").get("x_"), Some("1"));
    }

    #[test]
    fn get_wins_over_post() {
        // §1.1: `$_GET + $_POST`, GET wins on key collisions.
        let p = RawParams::from_get_post(Some("idsite=1&url=get"), Some(b"url=post&rec=1"));
        assert_eq!(p.get("url"), Some("get"));
        assert_eq!(p.get("rec"), Some("1"));
        assert_eq!(p.get("idsite"), Some("1"));
    }

    #[test]
    fn bulk_detection_and_parsing() {
        // §1.2: the JS tracker's form.
        let body = br#"{"requests":["?idsite=1&rec=1&url=http%3A%2F%2Fa.b%2F","https://x/matomo.php?idsite=2&rec=1", {"idsite": 3, "rec": true, "e_v": 2.0, "cvar": null}, "no-query", "https://x/matomo.php?", 7],"send_image":0,"token_auth":"abc"}"#;
        assert!(is_bulk_body(body));
        assert!(is_bulk_body(b"{'requests': []}"));
        assert!(!is_bulk_body(b"idsite=1&requests=2"));
        let bulk = parse_bulk(body).unwrap();
        assert_eq!(bulk.requests.len(), 4);
        assert_eq!(bulk.requests[0].get("url"), Some("http://a.b/"));
        assert_eq!(bulk.requests[1].get("idsite"), Some("2"));
        assert_eq!(bulk.requests[2].get("idsite"), Some("3"));
        assert_eq!(bulk.requests[2].get("rec"), Some("1"));
        assert_eq!(bulk.requests[2].get("e_v"), Some("2"));
        assert!(!bulk.requests[2].contains("cvar"));
        // Strings without a query are left out; other values are empty
        // requests.
        assert!(bulk.requests[3].is_empty());
        assert_eq!(bulk.token_auth.as_deref(), Some("abc"));
        assert!(!bulk.send_image);
        assert!(parse_bulk(br#"{"requests":[]}"#).unwrap().send_image);
        // Line breaks are removed before decoding, as Matomo does.
        assert!(parse_bulk(b"{\"requests\":\n[\"?a=b\"]}").is_ok());
        assert!(matches!(
            parse_bulk(b"{\"requests\": nope"),
            Err(BulkError::Json(_))
        ));
        assert!(matches!(
            parse_bulk(br#"{"requests": 1}"#),
            Err(BulkError::NoRequests)
        ));
    }

    #[test]
    fn idsite_validation() {
        // §1.4: idsite must be > 0, else 400.
        assert_eq!(err_param(req("rec=1")), "idsite");
        assert_eq!(err_param(req("idsite=0")), "idsite");
        assert_eq!(err_param(req("idsite=-4")), "idsite");
        assert_eq!(err_param(req("idsite=abc")), "idsite");
        assert_eq!(err_param(req("idsite=1.5")), "idsite");
        assert_eq!(err_param(req("idsite=99999999999")), "idsite");
        assert_eq!(req("idsite=007").unwrap().idsite, 7);
        assert_eq!(req("idsite=3.0").unwrap().idsite, 3);
    }

    #[test]
    fn rec_and_defaults() {
        let r = req("idsite=1").unwrap();
        assert!(!r.rec);
        assert_eq!(r.idgoal, -1);
        assert_eq!(r.search_count, -1);
        assert_eq!(r.resolution, "unknown");
        assert!(r.send_image);
        assert!(req("idsite=1&rec=1").unwrap().rec);
        assert!(!req("idsite=1&rec=abc").unwrap().rec);
        let r = req("idsite=1&res=1920x1080x24&idgoal=x&send_image=0").unwrap();
        assert_eq!(r.resolution, "1920x1080");
        assert_eq!(r.idgoal, -1);
        assert!(!r.send_image);
    }

    #[test]
    fn visitor_ids() {
        // §1.4: `_id` first 16 chars, must be >= 16 chars; `cid` exactly 16 hex.
        let r = req("idsite=1&_id=0123456789abcdefXYZ").unwrap();
        assert_eq!(
            r.visitor_id,
            Some([0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef])
        );
        assert_eq!(
            req("idsite=1&_id=0123456789abcde").unwrap().visitor_id,
            None
        );
        assert_eq!(
            req("idsite=1&_id=0123456789abcdeg").unwrap().visitor_id,
            None
        );
        let r = req("idsite=1&cid=FFFFFFFFFFFFFFFF").unwrap();
        assert_eq!(r.forced_visitor_id, Some([0xff; 8]));
        assert_eq!(err_param(req("idsite=1&cid=abc")), "cid");
        assert_eq!(err_param(req("idsite=1&cid=0123456789abcdefa")), "cid");
        assert_eq!(err_param(req("idsite=1&cid=0123456789abcdeg")), "cid");
        // PHP empty("0"): no forced id.
        assert_eq!(req("idsite=1&cid=0").unwrap().forced_visitor_id, None);
        // Whole and escaped: the hit hashes it, then cuts it to 200.
        let long_uid = "u".repeat(250);
        assert_eq!(
            req(&format!("idsite=1&uid={long_uid}%26"))
                .unwrap()
                .user_id
                .unwrap(),
            format!("{long_uid}&amp;")
        );
    }

    #[test]
    fn events_and_performance_validation() {
        assert!(req("idsite=1&e_c=cat&e_a=act").unwrap().is_event());
        assert!(!req("idsite=1&e_c=cat").unwrap().is_event());
        // §1.4: whitespace-only e_c/e_a → 400.
        assert_eq!(err_param(req("idsite=1&e_c=+&e_a=act")), "e_c");
        assert_eq!(err_param(req("idsite=1&e_c=c&e_a=%20%09")), "e_a");
        // §1.4: pf_* negative → 400; > 16777215 ignored; -1 = not set.
        assert_eq!(err_param(req("idsite=1&pf_net=-5")), "pf_net");
        let r = req("idsite=1&pf_net=-1&pf_srv=16777216&pf_onl=120").unwrap();
        assert_eq!(r.performance.network, None);
        assert_eq!(r.performance.server, None);
        assert_eq!(r.performance.on_load, Some(120));
    }

    #[test]
    fn bandwidth_is_any_numeric_string_cast_to_int() {
        let bw = |query: &str| req(query).unwrap().bandwidth;
        assert_eq!(bw("idsite=1"), None);
        assert_eq!(bw("idsite=1&bw_bytes=9625"), Some(9625));
        assert_eq!(bw("idsite=1&bw_bytes=0"), Some(0));
        assert_eq!(bw("idsite=1&bw_bytes=12.9"), Some(12));
        assert_eq!(bw("idsite=1&bw_bytes=1e3"), Some(1000));
        assert_eq!(bw("idsite=1&bw_bytes=%2012"), Some(12));
        assert_eq!(bw("idsite=1&bw_bytes="), None);
        assert_eq!(bw("idsite=1&bw_bytes=12kb"), None);
        assert_eq!(bw("idsite=1&bw_bytes=-5"), None);
        assert_eq!(bw("idsite=1&bw_bytes[]=5"), None);
    }

    #[test]
    fn local_time() {
        // §1.4: out-of-range values become 0; defaults to server time.
        let r = req("idsite=1&h=25&m=5&s=x").unwrap();
        assert_eq!(r.visitor_localtime((10, 11, 12)), "00:05:12");
        assert_eq!(
            req("idsite=1").unwrap().visitor_localtime((1, 2, 3)),
            "01:02:03"
        );
        assert_eq!(
            req("idsite=1&h=23&m=59&s=59")
                .unwrap()
                .visitor_localtime((0, 0, 0)),
            "23:59:59"
        );
        assert_eq!(
            req("idsite=1&h=-1&m=60&s=10")
                .unwrap()
                .visitor_localtime((4, 5, 6)),
            "00:00:10"
        );
    }

    #[test]
    fn custom_variables_and_dimensions() {
        let r = req(r#"idsite=1&cvar={"1":["Section"," News "],"2":["a"],"6":["x","y"],"3":[4,5],"0":["z","z"]}&_cvar=not-json"#)
            .unwrap();
        assert_eq!(
            r.custom_variables_page,
            vec![
                CustomVariable {
                    index: 1,
                    name: "Section".into(),
                    value: "News".into()
                },
                CustomVariable {
                    index: 3,
                    name: "4".into(),
                    value: "5".into()
                },
            ]
        );
        assert!(r.custom_variables_visit.is_empty());
        let r = req("idsite=1&dimension1=+a+&dimension2=&dimension01=x&dimensionx=1").unwrap();
        assert_eq!(r.dimensions.get(&1).map(String::as_str), Some("a"));
        assert_eq!(r.dimensions.get(&2).map(String::as_str), Some(""));
        assert_eq!(r.dimensions.len(), 2);
        let r = req("idsite=1&ec_items=[[\"sku\",\"n\",\"c\",1,2]]").unwrap();
        assert!(matches!(r.ec_items, JsonParam::Value(_)));
        assert_eq!(
            req("idsite=1&ec_items=[oops").unwrap().ec_items,
            JsonParam::Invalid
        );
    }

    #[test]
    fn custom_timestamps() {
        let now = 1_700_000_000;
        let ts = |q: &str| {
            req(q)
                .unwrap()
                .custom_timestamp(now, CUSTOM_TIMESTAMP_AUTH_WINDOW_SECS)
        };
        assert_eq!(ts("idsite=1"), None);
        assert_eq!(
            ts("idsite=1&cdt=1699999000"),
            Some(CustomTimestamp {
                unix: 1_699_999_000,
                requires_auth: false
            })
        );
        assert_eq!(
            ts("idsite=1&cdt=2023-11-14+22:13:20"),
            Some(CustomTimestamp {
                unix: 1_700_000_000,
                requires_auth: false
            })
        );
        assert_eq!(
            ts("idsite=1&cdt=2023-11-01").map(|t| t.requires_auth),
            Some(true)
        );
        assert_eq!(
            ts("idsite=1&cdt=2023-11-14T23:13:20%2B01:00").map(|t| t.unix),
            Some(now)
        );
        assert_eq!(ts("idsite=1&cdo=60").map(|t| t.unix), Some(now - 60));
        assert_eq!(
            ts("idsite=1&cdt=1699999000&cdo=-1000").map(|t| t.unix),
            Some(1_699_998_000)
        );
        // Future, older than 20 years, unparseable: ignored (not an error).
        assert_eq!(ts("idsite=1&cdt=1800000000"), None);
        assert_eq!(ts("idsite=1&cdt=100"), None);
        assert_eq!(ts("idsite=1&cdt=yesterday-ish"), None);
        assert_eq!(ts("idsite=1&cdt=2023-13-01"), None);
    }

    /// The `strtotime` forms SDK users pass (PHP's `date('r')`, a space or
    /// `GMT` before the zone, an hour-only offset, `.` between the clock's
    /// parts, relative words), each checked against PHP 8.2 in UTC.
    #[test]
    fn custom_timestamps_in_strtotime_forms() {
        // 2023-11-14 22:13:20 UTC.
        let now = 1_700_000_000;
        let midnight = 1_699_920_000;
        for (cdt, unix) in [
            ("2023-11-14 22:13:20", now),
            ("2023-11-14 23:13:20 +0100", now),
            ("2023-11-14 22:13:20 GMT", now),
            ("2023-11-14 22:13:20 utc", now),
            ("2023-11-14T23:13:20+01", now),
            ("2023-11-14 22.13.20", now),
            ("2023-11-14T22:13:20.123Z", now),
            ("Tue, 14 Nov 2023 22:13:20 +0000", now),
            ("Tue, 14 Nov 2023 23:13:20 +0100", now),
            ("14 Nov 2023 22:13:20 GMT", now),
            ("14 November 2023", midnight),
            ("today", midnight),
            ("today 10:00", midnight + 36_000),
            ("yesterday", midnight - 86_400),
            ("Yesterday 22:13:20", now - 86_400),
            ("-1 hour", now - 3_600),
            ("+2 days", now + 172_800),
            ("3 minutes ago", now - 180),
            ("1 week ago", now - 604_800),
            ("1 fortnight ago", now - 1_209_600),
            ("midnight", midnight),
            ("tomorrow", midnight + 86_400),
            ("2023-11-14 22.13", now - 20),
        ] {
            assert_eq!(strtotime_subset(cdt, now), Some(unix), "{cdt}");
        }
        for cdt in [
            "Fri, 32 Jan 2024",
            "2023-11-14 25:00",
            "1 eon ago",
            "14 Foo 2023",
        ] {
            assert_eq!(strtotime_subset(cdt, now), None, "{cdt}");
        }
    }

    #[test]
    fn auth_params_and_fallback() {
        let r = req("idsite=1&cip=1.2.3.4&country=FR&lat=1.5").unwrap();
        assert_eq!(r.auth_required_params(), vec!["cip", "country", "lat"]);
        assert_eq!(r.country.as_deref(), Some("fr"));
        let mut p = RawParams::from_query("idsite=1");
        p.apply_referer_header_fallback(Some("http://a.b/page"));
        assert_eq!(p.get("url"), Some("http://a.b/page"));
        let mut p = RawParams::from_query("idsite=1&urlref=x");
        p.apply_referer_header_fallback(Some("http://a.b/page"));
        assert_eq!(p.get("url"), None);
    }

    mod prop {
        use super::*;
        use proptest::prelude::*;

        fn check(r: &Result<TrackingRequest, TrackingError>) {
            if let Err(e) = r {
                assert!(!e.to_string().is_empty());
                if let TrackingError::InvalidParameter { name, reason } = e {
                    assert!(!name.is_empty() && !reason.is_empty());
                }
            }
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(300))]

            #[test]
            fn arbitrary_query_never_panics(q in "\\PC{0,200}") {
                let p = RawParams::from_query(&q);
                let r = TrackingRequest::from_params(&p);
                check(&r);
                if let Ok(r) = r {
                    let _ = r.custom_timestamp(1_700_000_000, 86_400);
                    let _ = r.visitor_localtime((0, 0, 0));
                }
            }

            #[test]
            fn arbitrary_known_params_never_panic(
                values in proptest::collection::vec("[ -~]{0,20}|\\PC{0,10}", 12)
            ) {
                let names = ["idsite", "cid", "_id", "cdt", "cdo", "cvar", "ec_items", "e_c", "e_a", "pf_net", "h", "dimension1"];
                let q: Vec<String> = names.iter().zip(&values).map(|(n, v)| {
                    format!("{n}={}", v.replace('&', "%26").replace('%', "%25"))
                }).collect();
                let r = TrackingRequest::from_params(&RawParams::from_query(&format!("idsite=1&{}", q.join("&"))));
                check(&r);
                if let Ok(r) = r {
                    let _ = r.custom_timestamp(1_700_000_000, 86_400);
                }
            }

            #[test]
            fn arbitrary_bulk_bodies_never_panic(body in proptest::collection::vec(any::<u8>(), 0..200)) {
                if let Err(e) = parse_bulk(&body) {
                    prop_assert!(!e.to_string().is_empty());
                }
            }

            #[test]
            fn arbitrary_bulk_json_never_panics(
                reqs in proptest::collection::vec(
                    prop_oneof![
                        "\\PC{0,40}".prop_map(serde_json::Value::String),
                        any::<i64>().prop_map(serde_json::Value::from),
                        proptest::collection::btree_map("[a-z_]{1,8}", "\\PC{0,12}", 0..6)
                            .prop_map(|m| serde_json::Value::Object(m.into_iter().map(|(k, v)| (k, serde_json::Value::String(v))).collect())),
                    ],
                    0..6,
                )
            ) {
                let body = serde_json::json!({"requests": reqs, "send_image": 0}).to_string();
                let bulk = parse_bulk(body.as_bytes()).unwrap();
                for p in &bulk.requests {
                    check(&TrackingRequest::from_params(p));
                }
            }
        }
    }
}
