//! From a validated [`TrackingRequest`] to a [`Hit`]: everything the recorder
//! needs, computed without the database (MATOMO.md §1.5–§1.7, §2.1, §2.2,
//! §3.2–§3.5, §6.2–§6.4). Runs on the HTTP worker threads so that the
//! recorder's transaction only does database work.

use std::net::IpAddr;
use std::sync::Arc;

use md5::Digest as _;
use tally_schema::ActionType;

use crate::TrackingError;
use crate::actions::ActionKey;
use crate::charset::Charset;
use crate::client_hints::{self, ClientHints};
use crate::device::{self, Device};
use crate::geoip::{self, GeoIp};
use crate::params::{CustomVariable, JsonParam, RawParams, TrackingRequest};
use crate::php;
use crate::site::{Globals, SiteSettings};
use crate::urlnorm;

/// Request metadata that is not a parameter.
#[derive(Debug, Clone, Default)]
pub struct RequestMeta {
    /// The client IP (socket peer or trusted proxy header).
    pub ip: Option<IpAddr>,
    /// `User-Agent` header.
    pub user_agent: Option<String>,
    /// `Accept-Language` header.
    pub accept_language: Option<String>,
    /// `DNT: 1` was sent.
    pub do_not_track: bool,
    /// A prefetch (`X-Purpose: preview|instant`, `X-Moz: prefetch`).
    pub prefetch: bool,
    /// The request carries the `matomo_ignore` cookie.
    pub ignore_cookie: bool,
    /// The batch-level `token_auth` of a bulk request.
    pub bulk_token: Option<String>,
    /// `Sec-CH-UA*` headers (name, value), read when the request has no
    /// `uadata`.
    pub client_hints: Vec<(String, String)>,
    /// A `Via` header naming Chrome's compression proxy (its data saver).
    pub via_data_saver: bool,
    /// Matomo's `[Tracker] enable_userid_overwrites_visitorid = 0`: a user
    /// id leaves the visitor id alone (by default, `false`, the visitor id
    /// is derived from the user id). A tracker setting, carried with each
    /// request.
    pub user_id_keeps_visitor_id: bool,
}

/// Why a request is accepted but not stored (§1.6).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exclusion {
    /// A bot user agent without `bots=1`.
    Bot,
    /// `rec` missing or 0.
    NoRec,
    /// `DNT: 1` with Do-Not-Track support on.
    DoNotTrack,
    /// A `[tracker] exclude_requests` rule matched the parameters.
    ExcludedRequest,
    /// The `matomo_ignore` cookie.
    IgnoreCookie,
    /// An excluded IP.
    ExcludedIp,
    /// An excluded user agent.
    ExcludedUserAgent,
    /// The referrer URL contains a host of the referrer spam list.
    ReferrerSpam,
    /// The URL is not one of the site's and the site excludes unknown URLs.
    UnknownUrl,
    /// A browser prefetch.
    Prefetch,
}

/// What an action request stores (§3.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActionKind {
    /// A page view (type 1 URL, type 4 title).
    Pageview,
    /// A site search (type 8 keyword, no URL).
    SiteSearch,
    /// A download (type 3).
    Download,
    /// An outlink (type 2).
    Outlink,
    /// An event (types 10–12).
    Event,
    /// A content impression or interaction (types 13–16).
    Content,
}

impl ActionKind {
    /// Counted in `visit_total_actions` (§2.6).
    pub fn counts_as_action(self) -> bool {
        !matches!(self, Self::Content)
    }
    /// Counted in `visit_total_interactions`: page views and searches.
    pub fn is_interaction(self) -> bool {
        matches!(self, Self::Pageview | Self::SiteSearch)
    }
}

/// One name to resolve to an `idaction`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Name {
    /// Its type.
    pub action_type: ActionType,
    /// The stored name.
    pub name: String,
    /// The URL prefix id for page URLs.
    pub url_prefix: Option<i8>,
}

/// `log_action.name` is `VARCHAR(4096)`. Matomo inserts names it has not
/// cut (product categories, event and content names are only trimmed) and
/// its non-strict session lets MySQL cut them to the column; ours is strict,
/// so a name is cut here, where MySQL would cut it.
const LOG_ACTION_NAME_MAX_CHARS: usize = 4096;

impl Name {
    fn new(action_type: ActionType, name: impl Into<String>) -> Self {
        let mut name = name.into();
        if name.len() > LOG_ACTION_NAME_MAX_CHARS {
            let keep = php::truncate_chars(&name, LOG_ACTION_NAME_MAX_CHARS).len();
            name.truncate(keep);
        }
        Self {
            action_type,
            name,
            url_prefix: None,
        }
    }
    /// As a key for [`crate::actions::resolve_actions`].
    pub fn key(&self) -> ActionKey<'_> {
        ActionKey {
            action_type: self.action_type,
            name: &self.name,
            url_prefix: self.url_prefix,
        }
    }
}

/// The action of a request, with every name it references.
#[derive(Debug, Clone)]
pub struct ActionDraft {
    /// What it is.
    pub kind: ActionKind,
    /// `idaction_url`.
    pub url: Option<Name>,
    /// The raw URL (before parameter exclusion), for goal matching.
    pub raw_url: Option<String>,
    /// `idaction_name`: page title, search keyword or event name.
    pub name: Option<Name>,
    /// The page title text (goal matching on `title`).
    pub title: Option<String>,
    /// `idaction_event_category`, `idaction_event_action`.
    pub event: Option<(Name, Name)>,
    /// `custom_float`: the event value.
    pub event_value: Option<f64>,
    /// Content name, piece, target, interaction.
    pub content: [Option<Name>; 4],
    /// Product view: SKU, name, categories 1–5.
    pub product: [Option<Name>; 7],
    /// `product_price`.
    pub product_price: Option<f64>,
    /// `search_cat`.
    pub search_cat: Option<String>,
    /// `search_count`.
    pub search_count: Option<i64>,
}

impl ActionDraft {
    /// Every name of the action, in the order Matomo looks them up, which
    /// is the order new names get their ids in: a page view's title before
    /// its URL (`ActionPageview::getActionsToLookup`), any other action's
    /// URL first, then the names of its dimensions; a content action's in
    /// the order of the Contents plugin's dimension classes (interaction,
    /// name, piece, target: PrivacyManager's `exportDataSubject_*.json`
    /// shows an interaction's new name numbered before its content name).
    pub fn names(&self) -> impl Iterator<Item = &Name> {
        let (first, second) = if self.kind == ActionKind::Pageview {
            (&self.name, &self.url)
        } else {
            (&self.url, &self.name)
        };
        let [content_name, piece, target, interaction] = &self.content;
        first
            .iter()
            .chain(second.iter())
            .chain(self.event.iter().flat_map(|(a, b)| [a, b]))
            .chain(
                [interaction, content_name, piece, target]
                    .into_iter()
                    .flatten(),
            )
            .chain(self.product.iter().flatten())
    }
}

/// One ecommerce item of `ec_items` (§6.4).
#[derive(Debug, Clone, PartialEq)]
pub struct Item {
    /// SKU (type 5).
    pub sku: Name,
    /// Name (type 6).
    pub name: Option<Name>,
    /// Up to five categories (type 7).
    pub categories: Vec<Name>,
    /// Price, rounded to 2 decimals.
    pub price: f64,
    /// Quantity.
    pub quantity: u32,
}

/// The conversion part of a request.
#[derive(Debug, Clone, PartialEq)]
pub enum ConversionRequest {
    /// None requested explicitly (URL goals may still match).
    None,
    /// `idgoal > 0`.
    Manual {
        /// The goal.
        idgoal: i32,
    },
    /// `idgoal=0` with `ec_id`.
    Order {
        /// `ec_id`.
        idorder: String,
        /// The items (`None` when `ec_items` is a JSON value that is
        /// neither a list nor PHP-empty, such as `45`: no conversion).
        items: Option<Vec<Item>>,
    },
    /// `idgoal=0` without `ec_id`.
    Cart {
        /// The items.
        items: Option<Vec<Item>>,
    },
}

/// A request ready for the recorder.
#[derive(Debug, Clone)]
pub struct Hit {
    /// The site.
    pub site: Arc<SiteSettings>,
    /// The parsed request.
    pub req: TrackingRequest,
    /// The campaign name and keyword sent as tracker parameters (§5.4
    /// step 3), read with the site's campaign parameter names. Only these
    /// are kept of the raw parameters: freeing a whole parameter map with
    /// every hit was a tenth of the log import's batch computing thread
    /// (callgrind).
    pub request_campaign: crate::campaign::RequestCampaign,
    /// Tracked time (unix seconds, UTC).
    pub time: i64,
    /// `location_ip` bytes (anonymized).
    pub stored_ip: Vec<u8>,
    /// The parsed user agent.
    pub device: Device,
    /// `location_browser_lang`.
    pub lang: String,
    /// The fingerprint.
    pub config_id: [u8; 8],
    /// The visitor id from `uid`, `cid` or `_id`.
    pub visitor_id: Option<[u8; 8]>,
    /// How the previous visit is looked up.
    pub lookup: Lookup,
    /// Matomo's `enable_userid_overwrites_visitorid = 0`: a visit only
    /// continues under the same user id when both it and the request have
    /// one (`VisitRequestProcessor::isVisitNew`, MATOMO.md §2.4 rule 6).
    pub user_id_must_match: bool,
    /// The action, if the request has one.
    pub action: Option<ActionDraft>,
    /// The explicit conversion.
    pub conversion: ConversionRequest,
    /// `visitor_localtime`.
    pub local_time: String,
    /// `location_country` (`None` is stored as `xx`), `location_region`,
    /// `location_city` of a new visit: the authenticated `country`,
    /// `region`, `city` parameters, else the GeoIP database, else (country
    /// only) the browser language ([`geoip::locate`]).
    pub location: [Option<String>; 3],
    /// `location_latitude` and `location_longitude`: `lat`/`long`
    /// parameters, else the GeoIP database.
    pub lat_long: (Option<f64>, Option<f64>),
    /// Which of country, region, city, latitude and longitude come from the
    /// request's parameters: the only ones Matomo changes on an existing
    /// visit (MATOMO.md §2.6).
    pub location_overridden: [bool; 5],
    /// Visit-scope custom dimensions: (column index, value).
    pub visit_dimensions: Vec<(u8, String)>,
    /// Action-scope custom dimensions.
    pub action_dimensions: Vec<(u8, String)>,
}

/// How the last visit is found (§2.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lookup {
    /// By visitor id only (`cid`).
    VisitorId,
    /// Visitor id, then fingerprint (`_id`, `uid`).
    VisitorIdThenConfig,
    /// Fingerprint only (no visitor id).
    ConfigId,
}

/// PrivacyManager's `manipulateRequest`: with `anonymizeUserId` a sent
/// `uid` becomes `sha1(uid . useridsalt)` (kept as sent without a salt, as
/// Matomo), so the stored user id and the visitor id derived from it are
/// the hash; with `anonymizeOrderId` a sent `ec_id` becomes a hash of a
/// random number, the id, the time and the instance salt, so no two
/// requests share an order id.
fn anonymize_ids(req: &mut TrackingRequest, globals: &Globals, time: i64) {
    let sha1_hex = |text: &str| crate::site::hex(&sha1::Sha1::digest(text.as_bytes()));
    if globals.privacy.anonymize_user_id
        && let Some(salt) = globals.user_id_salt.as_deref()
        && let Some(uid) = req.user_id.as_mut().filter(|uid| !uid.is_empty())
    {
        *uid = sha1_hex(&format!("{uid}{salt}"));
    }
    if globals.privacy.anonymize_order_id
        && let Some(id) = req.ec_id.as_mut().filter(|id| !id.is_empty())
    {
        let mut random = [0u8; 4];
        // Without randomness the time and salt still change the id per
        // request but not per order; the id is refused rather than kept.
        let random = getrandom::fill(&mut random).map_or(0, |()| u32::from_le_bytes(random));
        *id = sha1_hex(&format!("{random}{id}{time}{}", globals.salt));
    }
}

/// Matomo's `Piwik::getUserIdHashed`: the first 8 bytes of sha1(uid).
pub fn user_id_visitor(uid: &str) -> [u8; 8] {
    let digest = sha1::Sha1::digest(uid.as_bytes());
    let mut out = [0u8; 8];
    out.copy_from_slice(&digest[..8]);
    out
}

/// IP anonymization (§10.4), as Matomo's `IPv4::anonymize` and
/// `IPv6::anonymize`: zero the last `bytes` bytes of an IPv4 address; for
/// IPv6 the last 64/80/104/128 bits for 1/2/3/4.
///
/// An IPv4-mapped (`::ffff:a.b.c.d`) or IPv4-compatible (`::a.b.c.d`)
/// address keeps its 16 bytes, as Matomo stores it (`inet_pton`), and its
/// last `bytes` bytes are zeroed: `::ffff:10.1.2.3` with 2 gives
/// `::ffff:10.1.0.0` (Matomo's `AnonymizeIPTest`).
pub fn anonymize_ip(ip: IpAddr, bytes: u8) -> Vec<u8> {
    match ip {
        IpAddr::V4(v4) => zero_last_bytes(v4.octets().to_vec(), bytes),
        IpAddr::V6(v6) => {
            let o = v6.octets();
            if o[..10].iter().all(|b| *b == 0) && matches!(o[10..12], [0, 0] | [0xff, 0xff]) {
                return zero_last_bytes(o.to_vec(), bytes);
            }
            let keep_bits: u32 = match bytes {
                0 => 128,
                1 => 64,
                2 => 48,
                3 => 24,
                // Matomo's fourth mask (and any other value) clears it all.
                _ => 0,
            };
            let mask = u128::MAX.checked_shl(128 - keep_bits).unwrap_or(0);
            (u128::from_be_bytes(o) & mask).to_be_bytes().to_vec()
        }
    }
}

/// The address of `location_ip` bytes (4 for IPv4, 16 for IPv6).
fn ip_from_stored(bytes: &[u8]) -> Option<IpAddr> {
    if let Ok(v4) = <[u8; 4]>::try_from(bytes) {
        Some(IpAddr::from(v4))
    } else {
        <[u8; 16]>::try_from(bytes).ok().map(IpAddr::from)
    }
}

fn zero_last_bytes(mut o: Vec<u8>, bytes: u8) -> Vec<u8> {
    let n = usize::from(bytes);
    for b in o.iter_mut().rev().take(n) {
        *b = 0;
    }
    o
}

/// Matomo's `config_id` (§2.2): the first 8 bytes of an MD5 over the
/// device, plugin flags, IP, language and salts. The per-site, per-day
/// fingerprint salt is derived from the instance salt instead of stored
/// random options (docs/MATOMO-DIFFERENCES.md): same effect, no query.
pub fn config_id(
    device: &Device,
    req: &TrackingRequest,
    ip: &str,
    lang: &str,
    instance_salt: &str,
    idsite: u32,
    local_date: time::Date,
) -> [u8; 8] {
    let p = &req.plugins;
    // Internet Explorer's cookie flag is unreliable; Matomo forces it to 0.
    let cookie = if device.browser_name == "IE" {
        0
    } else {
        p.cookie
    };
    let (browser, browser_version) = device.config_id_browser();
    // Matomo's concatenation, built without `core::fmt` (it runs for every
    // hit): OS, browser, version, the plugin flags with Director and
    // Gears always 0, cookie, IP, language, instance salt, day salt, site.
    let mut s = String::with_capacity(256);
    s.push_str(&device.os);
    s.push_str(browser);
    s.push_str(browser_version);
    let mut int = itoa::Buffer::new();
    for flag in [
        p.flash,
        p.java,
        0,
        p.quicktime,
        p.realplayer,
        p.pdf,
        p.windowsmedia,
        0,
        p.silverlight,
        cookie,
    ] {
        s.push_str(int.format(flag));
    }
    s.push_str(ip);
    s.push_str(php::truncate_chars(lang, 20));
    s.push_str(instance_salt);
    push_day_salt(&mut s, instance_salt, idsite, local_date);
    s.push_str(int.format(idsite));
    let d = md5::Md5::digest(s.as_bytes());
    let mut out = [0u8; 8];
    out.copy_from_slice(&d[..8]);
    out
}

/// Appends the per-site, per-day fingerprint salt: hex of the first 16
/// bytes of a SHA-256 over the instance salt, the site and the date, then
/// the date. Remembered per thread for the last (salt, site, day) seen,
/// as a hit's neighbours are nearly always of the same site and day.
fn push_day_salt(out: &mut String, instance_salt: &str, idsite: u32, local_date: time::Date) {
    type Last = Option<(String, u32, time::Date, String)>;
    thread_local! {
        static LAST: std::cell::RefCell<Last> = const { std::cell::RefCell::new(None) };
    }
    LAST.with_borrow_mut(|last| {
        if let Some((salt, site, date, day_salt)) = last.as_ref()
            && *site == idsite
            && *date == local_date
            && salt == instance_salt
        {
            out.push_str(day_salt);
            return;
        }
        let date = local_date.to_string();
        let mut h = sha2::Sha256::new();
        h.update(instance_salt.as_bytes());
        h.update(idsite.to_le_bytes());
        h.update(date.as_bytes());
        let mut day_salt = crate::site::hex(&h.finalize()[..16]);
        day_salt.push_str(&date);
        out.push_str(&day_salt);
        *last = Some((instance_salt.to_owned(), idsite, local_date, day_salt));
    });
}

/// Matomo's `GoalManager::getRevenue`: a value that is not a whole number
/// is rounded to 2 decimals by PHP's `round()` (half away from zero after
/// PHP's pre-rounding: 1.005 gives 1.01, where `(v * 100).round()` gives 1).
pub fn round_revenue(v: f64) -> f64 {
    if v.fract() == 0.0 {
        v
    } else {
        tally_datatable::format::round_php(v, 2)
    }
}

/// §6.4: decodes `ec_items` as `GoalManager::getEcommerceItemsFromRequest`
/// reads it: PHP-`empty()` (absent, `null`, `0`, `""`, `[]`, and invalid
/// JSON, which `json_decode` makes `null`) is an order or cart without
/// items; a list, or an object (a PHP array too: its values), gives
/// the items; any other value (`45`, as in Matomo's TrackerTest) is `None`:
/// no conversion at all.
pub fn parse_items(param: &JsonParam) -> Option<Vec<Item>> {
    let list: Vec<&serde_json::Value> = match param {
        JsonParam::Absent | JsonParam::Invalid => return Some(Vec::new()),
        JsonParam::Value(serde_json::Value::Array(list)) => list.iter().collect(),
        JsonParam::Value(serde_json::Value::Object(map)) => map.values().collect(),
        JsonParam::Value(v) if json_php_empty(v) => return Some(Vec::new()),
        JsonParam::Value(_) => return None,
    };
    // `getRequestVar(.., 'json')` sanitizes every string of the decoded
    // list and `GoalManager` unsanitizes them again: HTML entities sent in
    // an item end up decoded (`&quot;sku` is the SKU `"sku`), as in
    // Matomo's TrackerTest.
    let decoded = |s: &str| php::html_entity_decode(s).replace('\0', "");
    let text = |v: &serde_json::Value| -> Option<String> {
        match v {
            serde_json::Value::String(s) => Some(decoded(s)),
            serde_json::Value::Number(n) => Some(n.to_string()),
            serde_json::Value::Array(a) => Some(
                a.iter()
                    .filter_map(|x| match x {
                        serde_json::Value::String(s) => Some(decoded(s)),
                        serde_json::Value::Number(n) => Some(n.to_string()),
                        _ => None,
                    })
                    .collect::<Vec<_>>()
                    .join(","),
            ),
            _ => None,
        }
        .map(|s| php::trim(&s).to_owned())
        .filter(|s| !s.is_empty())
    };
    let number = |v: Option<&serde_json::Value>| -> Option<f64> {
        match v? {
            serde_json::Value::Number(n) => n.as_f64(),
            serde_json::Value::String(s) if php::is_numeric(s) => php::coerce_float(s),
            _ => None,
        }
    };
    let mut items: Vec<Item> = Vec::new();
    for entry in list {
        let serde_json::Value::Array(fields) = entry else {
            continue;
        };
        // `getCleanedEcommerceItems` tests SKU, name and a single category
        // with PHP's `empty()` before anything else: a SKU of "0" or 0
        // skips the item, a name or category of "0" counts as none.
        let present = |v: &&serde_json::Value| !json_php_empty(v);
        let Some(sku) = fields.first().filter(present).and_then(text) else {
            continue;
        };
        let name = fields.get(1).filter(present).and_then(text);
        let categories: Vec<Name> = match fields.get(2) {
            // `GoalManager::getCleanedEcommerceItems` skips PHP-empty
            // categories ("", "0", 0) before counting five.
            Some(serde_json::Value::Array(cats)) => cats
                .iter()
                .filter(|c| !matches!(c, serde_json::Value::Number(n) if n.as_f64() == Some(0.0)))
                .filter_map(text)
                .filter(|c| !php::is_empty(c))
                .take(5)
                .map(|c| Name::new(ActionType::EcommerceItemCategory, c))
                .collect(),
            Some(v) => Some(v)
                .filter(present)
                .and_then(text)
                .map(|c| vec![Name::new(ActionType::EcommerceItemCategory, c)])
                .unwrap_or_default(),
            None => Vec::new(),
        };
        let price = round_revenue(number(fields.get(3)).unwrap_or(0.0));
        let quantity = number(fields.get(4))
            .filter(|q| *q > 0.0)
            // PHP (int) truncation of a positive quantity.
            .map_or(1, |q| q.min(f64::from(u32::MAX)) as u32);
        let item = Item {
            sku: Name::new(ActionType::EcommerceItemSku, sku),
            name: name.map(|n| Name::new(ActionType::EcommerceItemName, n)),
            categories,
            price,
            quantity,
        };
        // A SKU listed twice: Matomo keys items by SKU, the last one wins.
        if let Some(pos) = items.iter().position(|i| i.sku == item.sku) {
            items[pos] = item;
        } else {
            items.push(item);
        }
    }
    Some(items)
}

/// PHP `empty()` of a decoded JSON value (a list or an object is a PHP
/// array, empty when it has no entries).
fn json_php_empty(v: &serde_json::Value) -> bool {
    match v {
        serde_json::Value::Null | serde_json::Value::Bool(false) => true,
        serde_json::Value::Bool(true) => false,
        serde_json::Value::Number(n) => n.as_f64() == Some(0.0),
        serde_json::Value::String(s) => php::is_empty(s),
        serde_json::Value::Array(a) => a.is_empty(),
        serde_json::Value::Object(o) => o.is_empty(),
    }
}

/// An event or content name as Matomo's dimensions look it up: the
/// parameter as `getRequestVar` gives it (HTML-escaped), trimmed, and
/// nothing else (no `cleanupString`: line breaks stay, and only
/// `log_action.name` limits the length); `None` when that is empty.
fn request_name(s: &Option<String>) -> Option<String> {
    s.as_deref()
        .map(|s| php::trim(&php::sanitize_input_value(s)).to_owned())
        .filter(|s| !s.is_empty())
}

/// The categories of a product view, as Matomo's `ProductViewCategory`
/// reads `_pkc`: a JSON array (text starting `["`) loses its PHP-empty
/// entries (`""`, `"0"`, `0`: `array_filter`) before the first five are
/// taken; any other text, even empty, is the one category (an empty one
/// is stored and reported as not defined).
fn product_category_names(raw: Option<&str>) -> Vec<String> {
    let Some(raw) = raw.map(php::trim) else {
        return Vec::new();
    };
    if raw.starts_with("[\"")
        && let Ok(serde_json::Value::Array(a)) = serde_json::from_str::<serde_json::Value>(raw)
    {
        return a
            .iter()
            .filter_map(|v| match v {
                serde_json::Value::String(s) => Some(php::trim(s).to_owned()),
                serde_json::Value::Number(n) if n.as_f64() != Some(0.0) => Some(n.to_string()),
                _ => None,
            })
            .filter(|s| !php::is_empty(s))
            .take(5)
            .collect();
    }
    vec![raw.to_owned()]
}

/// §3.2–§3.5: the action of a request, or `None` (goal, ecommerce, ping,
/// `ca=1` requests have none). A page title is cleaned on
/// `title_delimiter` ([`urlnorm::page_title`]).
pub fn build_action(
    req: &TrackingRequest,
    site: &SiteSettings,
    title_delimiter: &str,
) -> Option<ActionDraft> {
    if req.ping || req.idgoal >= 0 {
        return None;
    }
    let settings = &site.url_settings;
    let mut draft = ActionDraft {
        kind: ActionKind::Pageview,
        url: None,
        raw_url: req.url.as_deref().and_then(urlnorm::raw_action_url),
        name: None,
        title: None,
        event: None,
        event_value: None,
        content: Default::default(),
        product: Default::default(),
        product_price: None,
        search_cat: None,
        search_count: None,
    };
    let page_url = |raw: Option<&str>| -> Option<Name> {
        let page = urlnorm::normalize_page_url_with(raw?, settings, &site.excluded_parameters)?;
        Some(Name {
            action_type: ActionType::PageUrl,
            name: page.name,
            url_prefix: page.url_prefix,
        })
    };
    // `Action::setActionUrlWithoutExcludingParameters`: a download or
    // outlink URL is stored as `getRequestVar` returned the parameter,
    // HTML-escaped once (`a&b` and `a&amp;b` are both `a&amp;b`), then
    // `PageUrl::getUrlIfLookValid` cleans it (trim, `\n \r \0`, 1024
    // bytes) without unescaping it or converting matrix URLs, as page URLs
    // are. One that does not look like a URL (`mailto:a@b.org`) is dropped,
    // so the action is stored with `idaction_url = 0` and reported as "Page
    // URL not defined", as Matomo does. Goals and custom dimensions match
    // the URL unescaped (`Common::unsanitizeInputValue`).
    let full_url = |raw: &str, ty: ActionType| -> Option<Name> {
        let u = urlnorm::cleanup_string(&php::sanitize_input_value(raw));
        urlnorm::looks_like_url(&u).then(|| Name::new(ty, u))
    };
    let unescaped = |url: &Option<Name>| -> Option<String> {
        url.as_ref()
            .map(|n| php::unsanitize_input_value(&n.name).into_owned())
    };
    // Matomo's `shouldHandle` tests `!empty(...)`: "0" names no download,
    // outlink or content. A download or outlink has no name: Matomo looks
    // up only its URL, so `idaction_name` stays NULL whatever
    // `action_name` says (MATOMO.md §4.2).
    if let Some(d) = req.download.as_deref().filter(|s| !php::is_empty(s)) {
        draft.kind = ActionKind::Download;
        draft.url = full_url(d, ActionType::Download);
        draft.raw_url = unescaped(&draft.url);
        return Some(draft);
    }
    if let Some(l) = req.link.as_deref().filter(|s| !php::is_empty(s)) {
        draft.kind = ActionKind::Outlink;
        draft.url = full_url(l, ActionType::Outlink);
        draft.raw_url = unescaped(&draft.url);
        return Some(draft);
    }
    if req.is_event() {
        draft.kind = ActionKind::Event;
        // Event URLs are stored with the event category type (§3.1).
        draft.url = page_url(req.url.as_deref()).map(|n| Name {
            action_type: ActionType::EventCategory,
            ..n
        });
        let c = request_name(&req.event_category)?;
        let a = request_name(&req.event_action)?;
        draft.event = Some((
            Name::new(ActionType::EventCategory, c),
            Name::new(ActionType::EventAction, a),
        ));
        draft.name = request_name(&req.event_name).map(|n| Name::new(ActionType::EventName, n));
        draft.event_value = req.event_value;
        return Some(draft);
    }
    if let Some(name) = request_name(&req.content_name).filter(|n| !php::is_empty(n)) {
        draft.kind = ActionKind::Content;
        // Content URLs keep their scheme (§3.1).
        draft.url = req
            .url
            .as_deref()
            .and_then(|u| urlnorm::normalize_url_with(u, settings, &site.excluded_parameters))
            .map(|u| Name::new(ActionType::ContentName, u));
        let interaction = request_name(&req.content_interaction);
        draft.content = [
            Some(Name::new(ActionType::ContentName, name)),
            request_name(&req.content_piece).map(|p| Name::new(ActionType::ContentPiece, p)),
            request_name(&req.content_target).map(|t| Name::new(ActionType::ContentTarget, t)),
            interaction.map(|i| Name::new(ActionType::ContentInteraction, i)),
        ];
        return Some(draft);
    }
    if let Some(search) = urlnorm::detect_site_search_in_charset(
        req.url.as_deref(),
        req.search.as_deref(),
        req.search_cat.as_deref(),
        req.search_count,
        settings,
        Charset::from_label(req.charset.as_deref()),
    ) {
        draft.kind = ActionKind::SiteSearch;
        // `setActionName` cleans the keyword as any action name (1024
        // bytes; `log_action.name` holds 4096).
        draft.name = Some(Name::new(
            ActionType::SiteSearch,
            urlnorm::cleanup_string(&search.keyword),
        ));
        draft.search_cat = search.category;
        draft.search_count = search.count;
        return Some(draft);
    }
    // Never a page view (`ActionPageview` declines custom actions); an
    // unclaimed one was already refused in `build_hit_with_geoip`.
    if req.custom_action {
        return None;
    }
    draft.url = page_url(req.url.as_deref());
    let title = req
        .action_name
        .as_deref()
        .and_then(|t| urlnorm::page_title(t, title_delimiter));
    draft.name = title.clone().map(|t| Name::new(ActionType::PageTitle, t));
    draft.title = title;
    // Product page view (§6.3). A parameter sent empty is an empty name,
    // as Matomo's `ProductViewSku` / `ProductViewName` record it.
    if let Some(sku) = req.product_sku.as_deref().map(urlnorm::cleanup_string) {
        draft.product[0] = Some(Name::new(ActionType::EcommerceItemSku, sku));
    }
    if let Some(name) = req.product_name.as_deref().map(urlnorm::cleanup_string) {
        draft.product[1] = Some(Name::new(ActionType::EcommerceItemName, name));
    }
    for (i, c) in product_category_names(req.product_category.as_deref())
        .into_iter()
        .enumerate()
    {
        draft.product[2 + i] = Some(Name::new(ActionType::EcommerceItemCategory, c));
    }
    // Stored as sent: Matomo's ProductViewPrice does not round.
    draft.product_price = req.product_price;
    Some(draft)
}

/// Whether an action type we implement claims a `ca=1` request (Matomo's
/// `shouldHandle` of the plugin action classes): a download, an outlink, an
/// event (`e_c` and `e_a` non-empty), a content impression or interaction
/// (`c_n`), or a site search. A page view never does (`ActionPageview`
/// declines custom actions); anything else was meant for a plugin we do not
/// have, e.g. MediaAnalytics or FormAnalytics.
pub fn custom_action_is_handled(req: &TrackingRequest, site: &SiteSettings) -> bool {
    let non_empty = |v: &Option<String>| v.as_deref().is_some_and(|s| !php::is_empty(s));
    non_empty(&req.download)
        || non_empty(&req.link)
        || req.is_event()
        || non_empty(&req.content_name)
        || urlnorm::detect_site_search_in_charset(
            req.url.as_deref(),
            req.search.as_deref(),
            req.search_cat.as_deref(),
            req.search_count,
            &site.url_settings,
            Charset::from_label(req.charset.as_deref()),
        )
        .is_some()
}

/// The tracked time: `cdt`/`cdo` when given and allowed, else `now`.
///
/// # Errors
/// A custom time more than 24 h old without a write token.
fn tracked_time(
    req: &TrackingRequest,
    now: i64,
    authenticated: bool,
) -> Result<i64, TrackingError> {
    match req.custom_timestamp(now, crate::params::CUSTOM_TIMESTAMP_AUTH_WINDOW_SECS) {
        None => Ok(now),
        Some(ts) if ts.requires_auth && !authenticated => {
            Err(TrackingError::NotAuthenticated { name: "cdt".into() })
        }
        Some(ts) => Ok(ts.unix),
    }
}

/// The token a request authenticates with: a bulk body's `token_auth` wins
/// over the request's own, as in Matomo (`Request::authenticateTrackingApi`
/// reads the request's parameter only when the bulk gave none).
pub fn request_token<'a>(req: &'a TrackingRequest, meta: &'a RequestMeta) -> &'a str {
    meta.bulk_token
        .as_deref()
        .or(req.token_auth.as_deref())
        .unwrap_or("")
}

/// What Matomo's `VisitExcluded::isExcluded` looks at, read once.
struct ExclusionChecks<'a> {
    is_bot: bool,
    bots: bool,
    rec: bool,
    ip: IpAddr,
    ua: &'a str,
    urlref: Option<&'a str>,
    url: Option<&'a str>,
}

impl ExclusionChecks<'_> {
    /// The first exclusion that applies, in Matomo's order (§1.6). Without
    /// a site (a request for an unknown one), the global lists apply and
    /// unknown URLs are not checked, as Matomo's checks of site 0.
    fn exclusion(
        &self,
        raw: &RawParams,
        meta: &RequestMeta,
        globals: &Globals,
        site: Option<&SiteSettings>,
    ) -> Option<Exclusion> {
        if !self.bots && (self.is_bot || crate::bots::is_bot_address(self.ip, meta.via_data_saver))
        {
            return Some(Exclusion::Bot);
        }
        if !self.rec {
            return Some(Exclusion::NoRec);
        }
        if globals.privacy.do_not_track && meta.do_not_track {
            return Some(Exclusion::DoNotTrack);
        }
        if globals.exclude_requests.excludes(raw) {
            return Some(Exclusion::ExcludedRequest);
        }
        if meta.ignore_cookie {
            return Some(Exclusion::IgnoreCookie);
        }
        let (ips, uas) = match site {
            Some(site) => (&site.excluded_ips, &site.excluded_user_agents),
            None => (
                &globals.global_excluded_ips,
                &globals.global_excluded_user_agents,
            ),
        };
        if ips.iter().any(|r| r.contains(self.ip)) {
            return Some(Exclusion::ExcludedIp);
        }
        if !self.ua.is_empty() && uas.iter().any(|r| r.matches(self.ua)) {
            return Some(Exclusion::ExcludedUserAgent);
        }
        if self
            .urlref
            .is_some_and(|r| globals.referrer_spam.is_spam(r))
        {
            return Some(Exclusion::ReferrerSpam);
        }
        // Only the site's own URLs count, and a request without a URL (or
        // one without a host) is unknown too (`isUrlExcluded`).
        if let Some(site) = site
            && site.exclude_unknown_urls
        {
            let known = self
                .url
                .and_then(php::parse_url)
                .is_some_and(|p| globals.site_urls.is_url_of_site(&p, site.idsite));
            if !known {
                return Some(Exclusion::UnknownUrl);
            }
        }
        if meta.prefetch {
            return Some(Exclusion::Prefetch);
        }
        None
    }
}

/// Whether a refused request would have been excluded, which keeps it out
/// of `tracking_failure`: Matomo's `Failures::logFailure` asks
/// `VisitExcluded::isExcluded` first. `site` is `None` for an unknown site.
/// A request with a `cip` is never excluded there: reading the IP needs
/// the token it was refused for, and Matomo takes that error for "not
/// excluded". Only refused requests pay for this (a user agent parse).
pub fn refused_request_is_excluded(
    raw: &RawParams,
    meta: &RequestMeta,
    globals: &Globals,
    site: Option<&SiteSettings>,
) -> bool {
    let text = |name: &str| raw.get(name).filter(|v| !v.is_empty());
    let int = |name: &str| text(name).and_then(php::coerce_int).unwrap_or(0);
    if text("cip").is_some_and(|cip| cip != "0") {
        return false;
    }
    let ua = text("ua").or(meta.user_agent.as_deref()).unwrap_or("");
    let hints = match text("uadata") {
        Some(json) => ClientHints::from_uadata(json),
        None => Some(ClientHints::from_headers(
            meta.client_hints
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str())),
        )),
    };
    let checks = ExclusionChecks {
        is_bot: client_hints::parse_with_hints(ua, hints.as_ref()).is_bot,
        bots: int("bots") == 1,
        rec: int("rec") != 0,
        ip: meta
            .ip
            .unwrap_or(IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED)),
        ua,
        urlref: text("urlref"),
        url: text("url"),
    };
    checks.exclusion(raw, meta, globals, site).is_some()
}

/// Builds the hit of one request, or the reason it is excluded, without a
/// GeoIP database: [`build_hit_with_geoip`] with `None` (the country comes
/// from the browser language).
///
/// # Errors
/// As [`build_hit_with_geoip`].
pub fn build_hit(
    raw: RawParams,
    req: TrackingRequest,
    meta: &RequestMeta,
    site: Arc<SiteSettings>,
    globals: &Globals,
    now: i64,
) -> Result<Result<Hit, Exclusion>, TrackingError> {
    build_hit_with_geoip(raw, req, meta, site, globals, now, None)
}

/// Builds the hit of one request, or the reason it is excluded, locating
/// the visitor with `geoip` when one is configured.
///
/// # Errors
/// [`TrackingError::NotAuthenticated`] for protected parameters without a
/// write token, [`TrackingError::UnknownGoal`] for a manual goal the site
/// does not have.
pub fn build_hit_with_geoip(
    raw: RawParams,
    mut req: TrackingRequest,
    meta: &RequestMeta,
    site: Arc<SiteSettings>,
    globals: &Globals,
    now: i64,
    geoip: Option<&GeoIp>,
) -> Result<Result<Hit, Exclusion>, TrackingError> {
    let authenticated = site.token_can_write(request_token(&req, meta), &globals.salt);
    if let Some(name) = req.auth_required_params().first()
        && !authenticated
    {
        return Err(TrackingError::NotAuthenticated {
            name: (*name).to_owned(),
        });
    }
    let time = tracked_time(&req, now, authenticated)?;
    anonymize_ids(&mut req, globals, time);

    let ua = req
        .user_agent
        .as_deref()
        .or(meta.user_agent.as_deref())
        .unwrap_or("");
    // `uadata` wins over the headers, even when it is not valid JSON
    // (Matomo's `getRequestVar('uadata', headers, 'json')`).
    let hints = match raw.get("uadata").filter(|v| !v.is_empty()) {
        Some(json) => ClientHints::from_uadata(json),
        None => Some(ClientHints::from_headers(
            meta.client_hints
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str())),
        )),
    };
    let device = client_hints::parse_with_hints(ua, hints.as_ref());
    // A `cip` that is set (PHP's non-`empty`) is the IP even when it does not
    // parse: Matomo's `stringToBinaryIP` stores 0.0.0.0 for it rather than
    // the sender's address (`import_logs.py` sends log IPs such as
    // `79.125.00.21`, which inet_pton refuses).
    // `cip` is already PHP-non-empty (`TrackingRequest::cip`).
    let ip: IpAddr = match req.cip.as_deref() {
        Some(cip) => cip.trim().parse().ok(),
        None => meta.ip,
    }
    .unwrap_or(IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED));

    let checked = ExclusionChecks {
        is_bot: device.is_bot,
        bots: req.bots,
        rec: req.rec,
        ip,
        ua,
        urlref: req.urlref.as_deref(),
        url: req.url.as_deref(),
    };
    if let Some(exclusion) = checked.exclusion(&raw, meta, globals, Some(&site)) {
        return Ok(Err(exclusion));
    }
    if let Some(e) = req.error_after_exclusions() {
        return Err(e);
    }
    // After the exclusions (CoreHome's request processor runs before
    // Actions'), before goals: Matomo's `Action::factory` runs for every
    // request, goal, ecommerce and ping requests included.
    if req.custom_action && !custom_action_is_handled(&req, &site) {
        return Err(TrackingError::UnhandledCustomAction);
    }

    let conversion = match req.idgoal {
        g if g > 0 => {
            let idgoal = i32::try_from(g).unwrap_or(i32::MAX);
            if !site.goals.iter().any(|d| d.idgoal == idgoal) {
                return Err(TrackingError::UnknownGoal { idgoal: g });
            }
            ConversionRequest::Manual { idgoal }
        }
        0 => match req
            .ec_id
            .as_deref()
            .map(php::trim)
            // `isRequestForAnOrder` tests `!empty(ec_id)`: "0" is a cart.
            .filter(|s| !php::is_empty(s))
        {
            Some(id) => ConversionRequest::Order {
                idorder: php::truncate_chars(id, 100).to_owned(),
                items: parse_items(&req.ec_items),
            },
            None => ConversionRequest::Cart {
                items: parse_items(&req.ec_items),
            },
        },
        _ => ConversionRequest::None,
    };
    // A heartbeat converts nothing: Matomo's ping processor empties the
    // request's conversions after the goal id was checked (§1.7 step 5).
    let conversion = if req.ping {
        ConversionRequest::None
    } else {
        conversion
    };

    // `Request::getBrowserLanguage`: a non-empty `lang` parameter in place
    // of the header, cleaned up the same way (`Common::getBrowserLanguage`:
    // lower case, `_` as `-`, no q-values), so `lang=en_US,en;q=0.9` is
    // the language `en-us` as the header would be.
    let lang_source = req
        .lang
        .as_deref()
        .filter(|l| !php::is_empty(l))
        .or(meta.accept_language.as_deref())
        .unwrap_or("");
    // The stored column is one language code; the fingerprint uses the
    // whole (normalized) list, as Matomo does.
    let (fingerprint_lang, lang) = device::accept_language_memo(lang_source);
    let ip_string = ip.to_string();
    let local_date = site.timezone.local_date(time);
    let config_id = config_id(
        &device,
        &req,
        &ip_string,
        &fingerprint_lang,
        &globals.salt,
        site.idsite,
        local_date,
    );
    let uid_visitor = req
        .user_id
        .as_deref()
        .filter(|_| !meta.user_id_keeps_visitor_id)
        .map(user_id_visitor);
    // `log_visit.user_id` is `VARCHAR(200)`: Matomo hashes the whole `uid`
    // into the visitor id and lets MySQL cut the stored one; the cut value
    // is also what a later request's `uid` is compared with.
    if let Some(uid) = req.user_id.as_mut() {
        let keep = php::truncate_chars(uid, crate::params::USER_ID_MAX_LENGTH).len();
        uid.truncate(keep);
    }
    let visitor_id =
        uid_visitor
            .or(req.forced_visitor_id)
            .or(if globals.privacy.force_cookieless {
                None
            } else {
                req.visitor_id
            });
    // A `uid` asks for both lookups whether or not it became the visitor
    // id (`shouldLookupOneVisitorFieldOnly` tests it before `cid`).
    let lookup = if req.forced_visitor_id.is_some() && req.user_id.is_none() {
        Lookup::VisitorId
    } else if visitor_id.is_some() {
        Lookup::VisitorIdThenConfig
    } else {
        Lookup::ConfigId
    };
    let stored_ip = if globals.privacy.anonymize_ip {
        anonymize_ip(ip, globals.privacy.ip_mask_bytes)
    } else {
        match ip {
            IpAddr::V4(v4) => v4.octets().to_vec(),
            IpAddr::V6(v6) => v6.octets().to_vec(),
        }
    };
    let hms = time::OffsetDateTime::from_unix_timestamp(time)
        .map(|t| {
            (
                u32::from(t.hour()),
                u32::from(t.minute()),
                u32::from(t.second()),
            )
        })
        .unwrap_or((0, 0, 0));
    let local_time = req.visitor_localtime(hms);
    let action = build_action(&req, &site, &globals.title_category_delimiter);
    let mut visit_dimensions = Vec::new();
    let mut action_dimensions = Vec::new();
    for d in &site.dimensions {
        // `CustomDimensionsRequestProcessor::getCustomDimensionsInScope`: a
        // value sent wins, even an empty one; otherwise an action dimension
        // takes what its first matching extraction captures.
        let value = match req.dimensions.get(&d.id) {
            Some(sent) => Some(php::truncate_chars(php::trim(sent), 250).to_owned()),
            None => action.as_ref().and_then(|a| {
                crate::dimensions::extract_first(
                    &d.extractions,
                    a.raw_url.as_deref(),
                    a.name.as_ref().map(|n| n.name.as_str()),
                )
            }),
        };
        let Some(value) = value else { continue };
        if d.visit_scope {
            visit_dimensions.push((d.index, value));
        } else {
            action_dimensions.push((d.index, value));
        }
    }
    let location_overridden = [
        req.country.is_some(),
        req.region.is_some(),
        req.city.is_some(),
        req.lat.is_some(),
        req.long.is_some(),
    ];
    let (location, lat_long) = if location_overridden.iter().all(|o| *o) {
        (
            [req.country.clone(), req.region.clone(), req.city.clone()],
            (req.lat, req.long),
        )
    } else {
        // Matomo geolocates the IP as stored when
        // `useAnonymizedIpForVisitEnrichment` is on (§10.4).
        let locate_ip = if globals.privacy.use_anonymized_ip_for_visit_enrichment {
            ip_from_stored(&stored_ip)
        } else {
            Some(ip)
        };
        // The default provider guesses the country from the same cleaned-up
        // language list.
        let found = geoip::locate(geoip, locate_ip, &fingerprint_lang);
        (
            [
                req.country.clone().or(found.country),
                req.region.clone().or(found.region),
                req.city.clone().or(found.city),
            ],
            (req.lat.or(found.latitude), req.long.or(found.longitude)),
        )
    };
    let request_campaign = crate::campaign::detect_in_request(&raw, &site.url_settings.campaign);
    Ok(Ok(Hit {
        site,
        time,
        stored_ip,
        device,
        lang,
        config_id,
        visitor_id,
        lookup,
        user_id_must_match: meta.user_id_keeps_visitor_id,
        action,
        conversion,
        local_time,
        location,
        lat_long,
        location_overridden,
        visit_dimensions,
        action_dimensions,
        request_campaign,
        req,
    }))
}

/// Custom variables as the ten `custom_var_*` column values of slots 1–5.
pub fn custom_var_columns(vars: &[CustomVariable]) -> [Option<String>; 10] {
    let mut out: [Option<String>; 10] = Default::default();
    for v in vars {
        let i = usize::from(v.index);
        if (1..=5).contains(&i) {
            out[(i - 1) * 2] = Some(v.name.clone());
            out[(i - 1) * 2 + 1] = Some(v.value.clone());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ip_anonymization() {
        assert_eq!(
            anonymize_ip("192.168.10.20".parse().unwrap(), 2),
            vec![192, 168, 0, 0]
        );
        assert_eq!(
            anonymize_ip("192.168.10.20".parse().unwrap(), 1),
            vec![192, 168, 10, 0]
        );
        assert_eq!(
            anonymize_ip("192.168.10.20".parse().unwrap(), 0),
            vec![192, 168, 10, 20]
        );
        let v6 = anonymize_ip("2001:db8:1:2:3:4:5:6".parse().unwrap(), 2);
        assert_eq!(v6.len(), 16);
        // 80 bits zeroed: only the first 48 bits stay.
        assert_eq!(&v6[..6], &[0x20, 0x01, 0x0d, 0xb8, 0, 1]);
        assert!(v6[6..].iter().all(|b| *b == 0));
        // Matomo keeps an IPv4-mapped address in 16 bytes and masks its tail.
        let mapped = |tail: [u8; 4]| {
            let mut v = vec![0; 10];
            v.extend([0xff, 0xff]);
            v.extend(tail);
            v
        };
        assert_eq!(
            anonymize_ip("::ffff:10.1.2.3".parse().unwrap(), 2),
            mapped([10, 1, 0, 0])
        );
        for (mask, tail) in [
            (0, [10, 1, 2, 3]),
            (1, [10, 1, 2, 0]),
            (3, [10, 0, 0, 0]),
            (4, [0, 0, 0, 0]),
        ] {
            assert_eq!(
                anonymize_ip("::ffff:10.1.2.3".parse().unwrap(), mask),
                mapped(tail),
                "mask {mask}"
            );
        }
        // Five bytes reach into the ffff marker, as in Matomo's test.
        let mut five = vec![0; 10];
        five.extend([0xff, 0, 0, 0, 0, 0]);
        assert_eq!(anonymize_ip("::ffff:10.1.2.3".parse().unwrap(), 5), five);
        // IPv4-compatible addresses are masked the same way.
        let mut compat = vec![0; 12];
        compat.extend([1, 2, 0, 0]);
        assert_eq!(anonymize_ip("::1.2.3.4".parse().unwrap(), 2), compat);
        // Plain IPv6: the fourth mask clears everything.
        assert_eq!(
            anonymize_ip("2001:db8:0:8d3:0:8a2e:70:7344".parse().unwrap(), 3),
            [0x20, 0x01, 0x0d, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]
        );
        assert_eq!(
            anonymize_ip("2001:db8:0:8d3:0:8a2e:70:7344".parse().unwrap(), 4),
            [0; 16]
        );
        assert_eq!(
            anonymize_ip("2001:db8:0:8d3:0:8a2e:70:7344".parse().unwrap(), 1),
            [
                0x20, 0x01, 0x0d, 0xb8, 0, 0, 0x08, 0xd3, 0, 0, 0, 0, 0, 0, 0, 0
            ]
        );
    }

    #[test]
    fn stored_ip_bytes_back_to_addresses() {
        assert_eq!(
            ip_from_stored(&[203, 0, 0, 0]),
            Some("203.0.0.0".parse().unwrap())
        );
        let v6 = anonymize_ip("2001:db8:42:7::1".parse().unwrap(), 2);
        assert_eq!(ip_from_stored(&v6), Some("2001:db8:42::".parse().unwrap()));
        assert_eq!(ip_from_stored(&[1, 2, 3]), None);
    }

    /// Visits in progress are found again by their stored `config_id`: a
    /// release that computed it differently would split every such visit.
    /// The expected bytes were computed by the implementation of session 13
    /// (8b4e725), before the string building changed.
    #[test]
    fn config_id_is_stable_across_releases() {
        let device = device::parse_user_agent(
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) \
             Chrome/120.0.0.0 Safari/537.36",
        );
        let mut raw = RawParams::from_query("idsite=3&rec=1&fla=1&pdf=1&cookie=1&res=1x1");
        raw.insert("url", "https://example.org/");
        let req = TrackingRequest::from_params(&raw).unwrap();
        let date = time::macros::date!(2026 - 12 - 02);
        let id = config_id(&device, &req, "192.0.2.7", "de-de,en", "s4lt", 3, date);
        assert_eq!(id, [71, 229, 126, 89, 246, 54, 68, 136]);
        // Each input is part of the fingerprint.
        let other_day = config_id(
            &device,
            &req,
            "192.0.2.7",
            "de-de,en",
            "s4lt",
            3,
            date.next_day().unwrap(),
        );
        let other_site = config_id(&device, &req, "192.0.2.7", "de-de,en", "s4lt", 4, date);
        let other_ip = config_id(&device, &req, "192.0.2.8", "de-de,en", "s4lt", 3, date);
        let other_salt = config_id(&device, &req, "192.0.2.7", "de-de,en", "salt", 3, date);
        for other in [other_day, other_site, other_ip, other_salt] {
            assert_ne!(other, id);
        }
    }

    #[test]
    fn uid_visitor_id_is_sha1_prefix() {
        // sha1("abc") = a9993e364706816a...
        assert_eq!(
            user_id_visitor("abc"),
            [0xa9, 0x99, 0x3e, 0x36, 0x47, 0x06, 0x81, 0x6a]
        );
    }

    #[test]
    fn items() {
        let p = JsonParam::Value(serde_json::json!([
            ["SKU1", "Shirt", ["Clothes", "Shirts"], 19.999, 2],
            ["SKU2", "Mug", "Kitchen", "5", "3"],
            ["", "no sku"],
            "not an item",
            ["SKU1", "Shirt", "Clothes", 20, 1]
        ]));
        let items = parse_items(&p).unwrap();
        assert_eq!(items.len(), 2);
        assert_eq!(items[0].sku.name, "SKU1");
        assert_eq!(items[0].quantity, 1);
        assert_eq!(items[0].price, 20.0);
        assert_eq!(items[1].categories.len(), 1);
        assert_eq!(items[1].categories[0].name, "Kitchen");
        assert_eq!(items[1].price, 5.0);
        assert_eq!(items[1].quantity, 3);
        assert_eq!(parse_items(&JsonParam::Absent), Some(vec![]));
        // PHP-empty values and invalid JSON (null for PHP): no items.
        for empty in [
            serde_json::json!(null),
            serde_json::json!(0),
            serde_json::json!(""),
            serde_json::json!("0"),
            serde_json::json!(false),
            serde_json::json!({}),
        ] {
            assert_eq!(parse_items(&JsonParam::Value(empty)), Some(vec![]));
        }
        assert_eq!(parse_items(&JsonParam::Invalid), Some(vec![]));
        // An object is a PHP array: its values are the entries.
        let object = parse_items(&JsonParam::Value(
            serde_json::json!({"a": 1, "b": ["SKU9", "Cap", "Hats", 3, 1]}),
        ))
        .unwrap();
        assert_eq!(object.len(), 1);
        assert_eq!(object[0].sku.name, "SKU9");
        // Any other value is no conversion.
        assert!(parse_items(&JsonParam::Value(serde_json::json!(45))).is_none());
        assert!(parse_items(&JsonParam::Value(serde_json::json!("abc"))).is_none());
    }

    /// `getCleanedEcommerceItems` skips PHP-empty categories (`""`, `"0"`,
    /// `0`) before counting five; a string `"0.0"` is not empty in PHP.
    #[test]
    fn item_categories_skip_php_empty_values_before_taking_five() {
        let p = JsonParam::Value(serde_json::json!([[
            "SKU",
            "Name",
            ["One", "", 0, "Two", "0", "Three", 0.0, "Four", "0.0", "Six"],
            10,
            1
        ]]));
        let items = parse_items(&p).unwrap();
        let names: Vec<&str> = items[0]
            .categories
            .iter()
            .map(|c| c.name.as_str())
            .collect();
        assert_eq!(names, ["One", "Two", "Three", "Four", "0.0"]);
    }

    /// `ProductViewCategory` reads `_pkc`: a JSON array without its
    /// PHP-empty entries, first five; other text, empty included, as the one
    /// category; no parameter, no category.
    #[test]
    fn product_view_categories_as_matomo_reads_pkc() {
        assert_eq!(
            product_category_names(Some(r#"["A","",0,"B","0","C","D","E","F"]"#)),
            ["A", "B", "C", "D", "E"]
        );
        assert_eq!(product_category_names(Some("Shoes")), ["Shoes"]);
        assert_eq!(product_category_names(Some("")), [""]);
        assert!(product_category_names(None).is_empty());
    }
}
