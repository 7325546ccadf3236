//! The tracker's site cache (MATOMO.md §11.4): every setting a request
//! needs, loaded from the configuration tables once and refreshed on a timer
//! and on misses, so that tracking never reads `site` per request.

use std::collections::{HashMap, HashSet};
use std::net::IpAddr;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use diesel::prelude::*;
use regex::Regex;
use tally_schema::models::{Goal, Site};
use tally_schema::schema::{access, goal, option, site, site_url, user, user_token_auth};
use tally_schema::{GoalMatchAttribute, GoalPatternType};

use crate::dimensions::Extraction;
use crate::exclude::RequestExclusions;
use crate::referrer::{ReferrerSpamList, SiteUrls};
use crate::tz::SiteTimeZone;
use crate::urlnorm::{ExcludedParameters, KeepUrlFragment, UrlSettings};

/// One goal definition, compiled for matching (MATOMO.md §6.1).
#[derive(Debug, Clone)]
pub struct GoalDef {
    /// `goal.idgoal`.
    pub idgoal: i32,
    /// What the pattern is matched against.
    pub attribute: GoalMatchAttribute,
    /// How it is matched.
    pub pattern_type: GoalPatternType,
    /// The pattern as stored.
    pub pattern: String,
    /// `case_sensitive`.
    pub case_sensitive: bool,
    /// `allow_multiple`: one conversion per visit when false.
    pub allow_multiple: bool,
    /// Default revenue.
    pub revenue: f64,
    /// Event goals: the event value is the revenue.
    pub event_value_as_revenue: bool,
    /// The compiled pattern for `regex` goals (and its URL-decoded retry).
    regex: Option<(Regex, Option<Regex>)>,
}

impl GoalDef {
    fn from_row(g: &Goal) -> Option<Self> {
        let attribute = GoalMatchAttribute::from_name(&g.match_attribute).ok()?;
        let pattern_type = match GoalPatternType::from_name(&g.pattern_type) {
            Ok(t) => t,
            // `greater_than` (visit_duration) is not in the string enum.
            Err(_) if attribute == GoalMatchAttribute::VisitDuration => GoalPatternType::Exact,
            Err(_) if attribute == GoalMatchAttribute::Manually => GoalPatternType::Exact,
            Err(_) => return None,
        };
        let case_sensitive = g.case_sensitive != 0;
        // Matomo's Goals API stores the pattern HTML-escaped and
        // `isUrlMatchingGoal` unescapes it (a pattern stored unescaped is
        // the same unless it holds an entity).
        let pattern = crate::php::unsanitize_input_value(&g.pattern).into_owned();
        let regex = (pattern_type == GoalPatternType::Regex).then(|| {
            let compile = |p: &str| {
                regex::RegexBuilder::new(p)
                    .case_insensitive(!case_sensitive)
                    .size_limit(1 << 20)
                    .build()
                    .ok()
            };
            let decoded = crate::php::urldecode(&pattern);
            let retry = (decoded != pattern).then(|| compile(&decoded)).flatten();
            compile(&pattern).map(|r| (r, retry))
        });
        Some(Self {
            idgoal: g.idgoal,
            attribute,
            pattern_type,
            pattern,
            case_sensitive,
            allow_multiple: g.allow_multiple != 0,
            revenue: g.revenue,
            event_value_as_revenue: g.event_value_as_revenue != 0,
            regex: regex.flatten(),
        })
    }

    /// Whether `value` matches the pattern; as Matomo, a failed match is
    /// retried with the URL-decoded pattern.
    pub fn matches(&self, value: &str) -> bool {
        let once = |pattern: &str| match self.pattern_type {
            GoalPatternType::Contains => {
                if self.case_sensitive {
                    value.contains(pattern)
                } else {
                    value.to_lowercase().contains(&pattern.to_lowercase())
                }
            }
            GoalPatternType::Exact => {
                if self.case_sensitive {
                    value == pattern
                } else {
                    value.to_lowercase() == pattern.to_lowercase()
                }
            }
            _ => false,
        };
        if self.pattern_type == GoalPatternType::Regex {
            return match &self.regex {
                Some((re, retry)) => {
                    re.is_match(value) || retry.as_ref().is_some_and(|r| r.is_match(value))
                }
                None => false,
            };
        }
        once(&self.pattern) || {
            let decoded = crate::php::urldecode(&self.pattern);
            decoded != self.pattern && once(&decoded)
        }
    }

    /// `visit_duration` goals: minutes the visit must exceed.
    pub fn duration_minutes(&self) -> Option<f64> {
        (self.attribute == GoalMatchAttribute::VisitDuration)
            .then(|| self.pattern.trim().parse().ok())
            .flatten()
    }
}

/// A configured custom dimension (table `custom_dimensions`).
#[derive(Debug, Clone)]
pub struct CustomDimension {
    /// The id clients send as `dimension<id>`.
    pub id: u32,
    /// The column index: `custom_dimension_<index>`.
    pub index: u8,
    /// Visit scope (else action scope).
    pub visit_scope: bool,
    /// What fills an action dimension the request does not send, tried in
    /// order. Stored patterns that no longer compile are left out (the
    /// admin API refuses them, so only hand-edited rows can hold one).
    pub extractions: Vec<Extraction>,
}

impl CustomDimension {
    /// A dimension without extractions.
    pub fn new(id: u32, index: u8, visit_scope: bool) -> Self {
        Self {
            id,
            index,
            visit_scope,
            extractions: Vec::new(),
        }
    }
}

/// The stored form of one extraction: an element of the JSON list in
/// `custom_dimensions.extractions` (Matomo's encoding).
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
pub struct StoredExtraction {
    /// `url`, `urlparam` or `action_name`.
    pub dimension: String,
    /// The pattern (a parameter name for `urlparam`).
    pub pattern: String,
}

/// Compiles a dimension's stored extractions (a JSON list), skipping
/// entries without a pattern as Matomo does and any that do not compile.
pub fn compile_extractions(json: &str, case_sensitive: bool) -> Vec<Extraction> {
    let stored: Vec<StoredExtraction> = serde_json::from_str(json).unwrap_or_default();
    stored
        .iter()
        .filter(|e| !e.pattern.is_empty())
        .filter_map(|e| Extraction::compile(&e.dimension, &e.pattern, case_sensitive).ok())
        .collect()
}

/// An IP range from an exclusion list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IpRange {
    low: IpAddr,
    high: IpAddr,
}

impl IpRange {
    /// Parses `1.2.3.4`, `1.2.3.0/24`, `1.2.*.*`, `::1`, `2001:db8::/32`.
    pub fn parse(s: &str) -> Option<Self> {
        let s = s.trim();
        if s.contains('*') {
            let low = s.replace('*', "0").parse::<IpAddr>().ok()?;
            let high = s.replace('*', "255").parse::<IpAddr>().ok()?;
            return Some(Self { low, high });
        }
        let (addr, bits) = match s.split_once('/') {
            Some((a, b)) => (a.parse::<IpAddr>().ok()?, Some(b.parse::<u32>().ok()?)),
            None => (s.parse::<IpAddr>().ok()?, None),
        };
        match addr {
            IpAddr::V4(v4) => {
                let bits = bits.unwrap_or(32).min(32);
                let mask = u32::MAX.checked_shl(32 - bits).unwrap_or(0);
                let n = u32::from(v4);
                Some(Self {
                    low: IpAddr::V4((n & mask).into()),
                    high: IpAddr::V4((n | !mask).into()),
                })
            }
            IpAddr::V6(v6) => {
                let bits = bits.unwrap_or(128).min(128);
                let mask = u128::MAX.checked_shl(128 - bits).unwrap_or(0);
                let n = u128::from(v6);
                Some(Self {
                    low: IpAddr::V6((n & mask).into()),
                    high: IpAddr::V6((n | !mask).into()),
                })
            }
        }
    }

    /// Whether `ip` is in the range.
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
            v4 => v4,
        };
        match (self.low, self.high, ip) {
            (IpAddr::V4(l), IpAddr::V4(h), IpAddr::V4(x)) => l <= x && x <= h,
            (IpAddr::V6(l), IpAddr::V6(h), IpAddr::V6(x)) => l <= x && x <= h,
            _ => false,
        }
    }
}

/// Privacy settings that change what is stored (options `PrivacyManager.*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Privacy {
    /// `ipAnonymizerEnabled` (default on).
    pub anonymize_ip: bool,
    /// `ipAddressMaskLength` (default 2 bytes).
    pub ip_mask_bytes: u8,
    /// `forceCookielessTracking`: ignore `_id`.
    pub force_cookieless: bool,
    /// `doNotTrackEnabled`: exclude requests carrying `DNT: 1`.
    pub do_not_track: bool,
    /// `useAnonymizedIpForVisitEnrichment` (default off): geolocate the
    /// anonymised IP (as stored in `location_ip`) instead of the full one.
    pub use_anonymized_ip_for_visit_enrichment: bool,
    /// `anonymizeUserId` (default off): `uid` replaced by
    /// `sha1(uid . useridsalt)` before anything uses it.
    pub anonymize_user_id: bool,
    /// `anonymizeOrderId` (default off): `ec_id` replaced by a random
    /// hash, so each order is new.
    pub anonymize_order_id: bool,
    /// `anonymizeReferrer` (default: keep everything).
    pub anonymize_referrer: crate::referrer::ReferrerAnonymization,
}

impl Default for Privacy {
    fn default() -> Self {
        Self {
            anonymize_ip: true,
            ip_mask_bytes: 2,
            force_cookieless: false,
            do_not_track: false,
            use_anonymized_ip_for_visit_enrichment: false,
            anonymize_user_id: false,
            anonymize_order_id: false,
            anonymize_referrer: crate::referrer::ReferrerAnonymization::None,
        }
    }
}

/// Everything the tracker needs about one site.
#[derive(Debug)]
pub struct SiteSettings {
    /// `site.idsite`.
    pub idsite: u32,
    /// The site's time zone (new visit after local midnight, old-day
    /// invalidations).
    pub timezone: SiteTimeZone,
    /// `site.ts_created` as a unix time.
    pub ts_created: Option<i64>,
    /// Ecommerce enabled.
    pub ecommerce: bool,
    /// URL normalization and site search settings.
    pub url_settings: UrlSettings,
    /// The compiled parameter exclusion list of `url_settings`.
    pub excluded_parameters: ExcludedParameters,
    /// `exclude_unknown_urls`.
    pub exclude_unknown_urls: bool,
    /// Site + global excluded IPs.
    pub excluded_ips: Vec<IpRange>,
    /// Site + global excluded user agents (lower-cased substrings, or regexes).
    pub excluded_user_agents: Vec<UaRule>,
    /// Active goals.
    pub goals: Vec<GoalDef>,
    /// Active custom dimensions.
    pub dimensions: Vec<CustomDimension>,
    /// sha512 hashes (hex) of tokens with write or admin access to this
    /// site, and of super users' tokens.
    pub write_tokens: HashSet<String>,
}

/// An excluded user agent entry.
#[derive(Debug, Clone)]
pub enum UaRule {
    /// Case-insensitive substring.
    Substring(String),
    /// A `/regex/` entry.
    Regex(Regex),
}

impl UaRule {
    fn parse(s: &str) -> Option<Self> {
        let s = s.trim();
        if s.is_empty() {
            return None;
        }
        Some(match crate::urlnorm::php_regex(s) {
            Some(re) => Self::Regex(re),
            None => Self::Substring(s.to_lowercase()),
        })
    }

    /// Whether the user agent matches.
    pub fn matches(&self, ua: &str) -> bool {
        match self {
            Self::Substring(s) => ua.to_lowercase().contains(s.as_str()),
            Self::Regex(re) => re.is_match(ua),
        }
    }
}

impl SiteSettings {
    /// Whether `token` (plain text) may use the protected parameters.
    pub fn token_can_write(&self, token: &str, salt: &str) -> bool {
        !token.is_empty() && self.write_tokens.contains(&hash_token(token, salt))
    }
}

/// A token as stored in `user_token_auth.password`: hex sha512 of the
/// token followed by the instance salt (MATOMO.md §10.2).
pub fn hash_token(token: &str, salt: &str) -> String {
    use sha2::Digest;
    let mut h = sha2::Sha512::new();
    h.update(token.as_bytes());
    h.update(salt.as_bytes());
    hex(&h.finalize())
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(char::from(DIGITS[usize::from(b >> 4)]));
        s.push(char::from(DIGITS[usize::from(b & 15)]));
    }
    s
}

/// Settings shared by all sites.
#[derive(Debug, Default)]
pub struct Globals {
    /// All sites' main and alias URLs (direct-entry detection, §5.2).
    pub site_urls: SiteUrls,
    /// Global excluded referrers.
    pub excluded_referrers: SiteUrls,
    /// Privacy options.
    pub privacy: Privacy,
    /// The instance salt (tokens, fingerprints).
    pub salt: String,
    /// The salt of anonymized user ids (option `useridsalt`, written by the
    /// admin API when `anonymizeUserId` is turned on); without one Matomo
    /// keeps the user id as sent.
    pub user_id_salt: Option<String>,
    /// Hashes of super users' tokens (bulk `invalid_indices`).
    pub super_user_tokens: HashSet<String>,
    /// Referrer spam hosts (§1.6). Not stored in the database: the built-in
    /// list, which the tracker replaces with its configured one after each
    /// load.
    pub referrer_spam: Arc<ReferrerSpamList>,
    /// `[tracker] exclude_requests` (§1.6 step 4). Not stored in the
    /// database either: empty after a load, then the tracker's.
    pub exclude_requests: Arc<RequestExclusions>,
    /// `[tracker] create_new_visit_when_website_referrer_changes`. Not
    /// stored either: false after a load, then the tracker's.
    pub new_visit_when_website_referrer_changes: bool,
    /// The global excluded IPs (each site's list has them too): what a
    /// request for an unknown site is checked against before it is
    /// recorded as a tracking failure (Matomo's `global_excluded_ips`).
    pub global_excluded_ips: Vec<IpRange>,
    /// The global excluded user agents, likewise.
    pub global_excluded_user_agents: Vec<UaRule>,
    /// The page title category delimiter
    /// ([`crate::http::TrackerConfig::title_category_delimiter`]). Not
    /// stored either: empty after a load, then the tracker's.
    pub title_category_delimiter: String,
}

/// The tracker's configured lists that every snapshot carries in its
/// [`Globals`] (they come from the config file, not the database).
#[derive(Debug, Clone, Default)]
pub struct ConfiguredLists {
    /// Referrer spam hosts: the built-in list plus the configured file.
    pub referrer_spam: Arc<ReferrerSpamList>,
    /// `exclude_requests` rules.
    pub exclude_requests: Arc<RequestExclusions>,
    /// `create_new_visit_when_website_referrer_changes`.
    pub new_visit_when_website_referrer_changes: bool,
    /// `action_title_category_delimiter`.
    pub title_category_delimiter: String,
}

/// The option holding the instance salt; created on first use.
pub const SALT_OPTION: &str = "tally_instance_salt";

/// The option whose value counts the committed changes of what a
/// [`Snapshot`] holds (sites, aliases, goals, custom dimensions, tokens,
/// access, the global and privacy options). A tracker compares it with
/// its snapshot's to see admin changes made by any process: reading one
/// primary key is cheap enough to do every second, or before the next
/// request after an API call, where reloading every table is not.
pub const SETTINGS_VERSION_OPTION: &str = "tally_tracker_settings_version";

/// Moves the settings version on, in the caller's transaction: the change
/// and the new version commit together, so a tracker that sees the version
/// sees the change. Every write of what [`load_snapshot`] reads calls this
/// (tally-management's); other writers (SQL by hand) are seen at the
/// snapshot's TTL.
///
/// # Errors
/// The query error.
pub fn settings_changed(conn: &mut MysqlConnection) -> QueryResult<()> {
    diesel::sql_query(
        "INSERT INTO `option` (option_name, option_value, autoload) VALUES (?, '1', 0) \
         ON DUPLICATE KEY UPDATE option_value = CAST(option_value AS UNSIGNED) + 1",
    )
    .bind::<diesel::sql_types::Text, _>(SETTINGS_VERSION_OPTION)
    .execute(conn)?;
    Ok(())
}

/// The settings version: 0 before the first change.
///
/// # Errors
/// The query error.
pub fn settings_version(conn: &mut MysqlConnection) -> QueryResult<u64> {
    let value: Option<String> = option::table
        .filter(option::option_name.eq(SETTINGS_VERSION_OPTION))
        .select(option::option_value)
        .first(conn)
        .optional()?;
    // Only settings_changed writes it; anything else reads as a change
    // from 0, which costs one reload.
    Ok(value.and_then(|v| v.trim().parse().ok()).unwrap_or(0))
}

/// Returns the instance salt, creating it on first use.
///
/// # Errors
/// The query error.
pub fn instance_salt(conn: &mut MysqlConnection) -> QueryResult<String> {
    let mut bytes = [0u8; 16];
    // Without OS randomness a salt would be guessable; failing loudly
    // here is better than a weak salt, but getrandom only fails on exotic
    // platforms, so fall back to a time-based value there.
    if getrandom::fill(&mut bytes).is_err() {
        let t = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        bytes = t.to_le_bytes();
    }
    diesel::insert_or_ignore_into(option::table)
        .values((
            option::option_name.eq(SALT_OPTION),
            option::option_value.eq(hex(&bytes)),
            option::autoload.eq(1i8),
        ))
        .execute(conn)?;
    option::table
        .filter(option::option_name.eq(SALT_OPTION))
        .select(option::option_value)
        .first(conn)
}

fn list(s: &str) -> Vec<String> {
    s.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

/// Reads the options the tracker uses (absent options keep Matomo's defaults).
fn load_options(conn: &mut MysqlConnection) -> QueryResult<HashMap<String, String>> {
    let names = [
        "SitesManager_ExcludedQueryParameters",
        "SitesManager_ExcludedIpsGlobal",
        "SitesManager_ExcludedUserAgentsGlobal",
        "SitesManager_ExcludedReferrersGlobal",
        "SitesManager_KeepURLFragmentsGlobal",
        "SitesManager_SearchKeywordParameters",
        "SitesManager_SearchCategoryParameters",
        "PrivacyManager.ipAnonymizerEnabled",
        "PrivacyManager.ipAddressMaskLength",
        "PrivacyManager.forceCookielessTracking",
        "PrivacyManager.doNotTrackEnabled",
        "PrivacyManager.useAnonymizedIpForVisitEnrichment",
        "PrivacyManager.anonymizeUserId",
        "PrivacyManager.anonymizeOrderId",
        "PrivacyManager.anonymizeReferrer",
        "useridsalt",
    ];
    Ok(option::table
        .filter(option::option_name.eq_any(names))
        .select((option::option_name, option::option_value))
        .load::<(String, String)>(conn)?
        .into_iter()
        .collect())
}

fn flag(v: Option<&String>, default: bool) -> bool {
    v.map_or(default, |v| !matches!(v.trim(), "" | "0" | "false"))
}

/// A snapshot of all sites' settings.
#[derive(Debug, Default)]
pub struct Snapshot {
    /// The settings version ([`settings_version`]) read before the rest:
    /// a change committed after that read moves the version on, so the
    /// next check reloads.
    pub version: u64,
    /// Per site.
    pub sites: HashMap<u32, Arc<SiteSettings>>,
    /// Shared settings.
    pub globals: Arc<Globals>,
}

impl Snapshot {
    /// This snapshot with the tracker's configured lists ([`load_snapshot`]
    /// sets the built-in spam list and no request exclusions).
    pub fn with_lists(mut self, lists: &ConfiguredLists) -> Self {
        match Arc::get_mut(&mut self.globals) {
            Some(g) => {
                g.referrer_spam = lists.referrer_spam.clone();
                g.exclude_requests = lists.exclude_requests.clone();
                g.new_visit_when_website_referrer_changes =
                    lists.new_visit_when_website_referrer_changes;
                g.title_category_delimiter
                    .clone_from(&lists.title_category_delimiter);
            }
            None => {
                let g = &self.globals;
                self.globals = Arc::new(Globals {
                    site_urls: g.site_urls.clone(),
                    excluded_referrers: g.excluded_referrers.clone(),
                    privacy: g.privacy,
                    salt: g.salt.clone(),
                    user_id_salt: g.user_id_salt.clone(),
                    super_user_tokens: g.super_user_tokens.clone(),
                    referrer_spam: lists.referrer_spam.clone(),
                    exclude_requests: lists.exclude_requests.clone(),
                    new_visit_when_website_referrer_changes: lists
                        .new_visit_when_website_referrer_changes,
                    global_excluded_ips: g.global_excluded_ips.clone(),
                    global_excluded_user_agents: g.global_excluded_user_agents.clone(),
                    title_category_delimiter: lists.title_category_delimiter.clone(),
                });
            }
        }
        self
    }
}

/// Loads every site's settings in a handful of queries.
///
/// # Errors
/// The query error.
pub fn load_snapshot(conn: &mut MysqlConnection) -> QueryResult<Snapshot> {
    let version = settings_version(conn)?;
    let salt = instance_salt(conn)?;
    let options = load_options(conn)?;
    let opt = |name: &str| options.get(name);
    let sites: Vec<Site> = site::table.select(Site::as_select()).load(conn)?;
    let aliases: Vec<(u32, String)> = site_url::table
        .select((site_url::idsite, site_url::url))
        .load(conn)?;
    let goals: Vec<Goal> = goal::table
        .filter(goal::deleted.eq(0))
        .select(Goal::as_select())
        .load(conn)?;
    let dims: Vec<DimRow> = diesel::sql_query(
        "SELECT idcustomdimension, idsite, `index`, scope, extractions, case_sensitive \
         FROM custom_dimensions WHERE active = 1",
    )
    .load::<DimRow>(conn)?;

    // Tokens with write/admin access per site, and super users' tokens.
    let now = time::OffsetDateTime::now_utc();
    let now = time::PrimitiveDateTime::new(now.date(), now.time());
    let tokens: Vec<(String, String, Option<time::PrimitiveDateTime>)> = user_token_auth::table
        .select((
            user_token_auth::login,
            user_token_auth::password,
            user_token_auth::date_expired,
        ))
        .load(conn)?;
    let tokens: Vec<(String, String)> = tokens
        .into_iter()
        .filter(|(_, _, exp)| exp.is_none_or(|e| e > now))
        .map(|(l, p, _)| (l, p))
        .collect();
    let supers: HashSet<String> = user::table
        .filter(user::superuser_access.gt(0))
        .select(user::login)
        .load::<String>(conn)?
        .into_iter()
        .collect();
    let grants: Vec<(String, u32, Option<String>)> = access::table
        .select((access::login, access::idsite, access::access_))
        .load(conn)?;

    let global_ex_params = list(opt("SitesManager_ExcludedQueryParameters").map_or("", |s| s));
    let global_ips: Vec<IpRange> = list(opt("SitesManager_ExcludedIpsGlobal").map_or("", |s| s))
        .iter()
        .filter_map(|s| IpRange::parse(s))
        .collect();
    let global_uas: Vec<UaRule> =
        list(opt("SitesManager_ExcludedUserAgentsGlobal").map_or("", |s| s))
            .iter()
            .filter_map(|s| UaRule::parse(s))
            .collect();
    let global_keyword = opt("SitesManager_SearchKeywordParameters")
        .map(|s| list(s))
        .unwrap_or_else(|| UrlSettings::default().global_search_keyword_parameters);
    let global_category = list(opt("SitesManager_SearchCategoryParameters").map_or("", |s| s));
    let privacy = Privacy {
        anonymize_ip: flag(opt("PrivacyManager.ipAnonymizerEnabled"), true),
        ip_mask_bytes: opt("PrivacyManager.ipAddressMaskLength")
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(2),
        force_cookieless: flag(opt("PrivacyManager.forceCookielessTracking"), false),
        do_not_track: flag(opt("PrivacyManager.doNotTrackEnabled"), false),
        use_anonymized_ip_for_visit_enrichment: flag(
            opt("PrivacyManager.useAnonymizedIpForVisitEnrichment"),
            false,
        ),
        anonymize_user_id: flag(opt("PrivacyManager.anonymizeUserId"), false),
        anonymize_order_id: flag(opt("PrivacyManager.anonymizeOrderId"), false),
        anonymize_referrer: crate::referrer::ReferrerAnonymization::parse(
            opt("PrivacyManager.anonymizeReferrer").map_or("", |s| s.as_str()),
        ),
    };

    let mut all_urls: Vec<(u32, String)> = sites
        .iter()
        .map(|s| (s.idsite, s.main_url.clone()))
        .collect();
    all_urls.extend(aliases.iter().cloned());
    let mut excluded_refs: Vec<(u32, String)> =
        list(opt("SitesManager_ExcludedReferrersGlobal").map_or("", |s| s))
            .into_iter()
            .map(|u| (0, u))
            .collect();
    for s in &sites {
        excluded_refs.extend(
            list(&s.excluded_referrers)
                .into_iter()
                .map(|u| (s.idsite, u)),
        );
    }
    let globals = Arc::new(Globals {
        site_urls: SiteUrls::new(all_urls.iter().map(|(i, u)| (*i, u.as_str()))),
        excluded_referrers: SiteUrls::new(excluded_refs.iter().map(|(i, u)| (*i, u.as_str()))),
        privacy,
        salt,
        user_id_salt: opt("useridsalt").filter(|s| !s.is_empty()).cloned(),
        super_user_tokens: tokens
            .iter()
            .filter(|(login, _)| supers.contains(login))
            .map(|(_, hash)| hash.clone())
            .collect(),
        referrer_spam: Arc::new(ReferrerSpamList::builtin().clone()),
        exclude_requests: Arc::default(),
        new_visit_when_website_referrer_changes: false,
        global_excluded_ips: global_ips.clone(),
        global_excluded_user_agents: global_uas.clone(),
        title_category_delimiter: String::new(),
    });

    let mut out = HashMap::new();
    for s in sites {
        let url_settings = UrlSettings {
            site_excluded_parameters: list(&s.excluded_parameters),
            global_excluded_parameters: global_ex_params.clone(),
            keep_url_fragment: KeepUrlFragment::from_code(i64::from(s.keep_url_fragment)),
            global_keep_url_fragment: flag(opt("SitesManager_KeepURLFragmentsGlobal"), false),
            sitesearch: s.sitesearch.unwrap_or(1) != 0,
            site_search_keyword_parameters: list(&s.sitesearch_keyword_parameters),
            site_search_category_parameters: list(&s.sitesearch_category_parameters),
            global_search_keyword_parameters: global_keyword.clone(),
            global_search_category_parameters: global_category.clone(),
            ..UrlSettings::default()
        };
        let mut excluded_ips: Vec<IpRange> = list(&s.excluded_ips)
            .iter()
            .filter_map(|x| IpRange::parse(x))
            .collect();
        excluded_ips.extend(global_ips.iter().copied());
        let mut excluded_user_agents: Vec<UaRule> = list(&s.excluded_user_agents)
            .iter()
            .filter_map(|x| UaRule::parse(x))
            .collect();
        excluded_user_agents.extend(global_uas.iter().cloned());
        let writers: HashSet<&str> = grants
            .iter()
            .filter(|(_, site, level)| {
                *site == s.idsite && matches!(level.as_deref(), Some("write" | "admin"))
            })
            .map(|(login, _, _)| login.as_str())
            .collect();
        let write_tokens = tokens
            .iter()
            .filter(|(login, _)| writers.contains(login.as_str()) || supers.contains(login))
            .map(|(_, hash)| hash.clone())
            .collect();
        let settings = SiteSettings {
            idsite: s.idsite,
            timezone: SiteTimeZone::parse(&s.timezone),
            ts_created: s.ts_created.map(|t| t.assume_utc().unix_timestamp()),
            ecommerce: s.ecommerce.unwrap_or(0) != 0,
            excluded_parameters: url_settings.excluded_parameters(),
            url_settings,
            exclude_unknown_urls: s.exclude_unknown_urls.unwrap_or(0) != 0,
            excluded_ips,
            excluded_user_agents,
            goals: goals
                .iter()
                .filter(|g| u32::try_from(g.idsite).ok() == Some(s.idsite))
                .filter_map(GoalDef::from_row)
                .collect(),
            dimensions: dims
                .iter()
                .filter(|d| d.idsite == u64::from(s.idsite))
                .filter_map(|d| {
                    let visit_scope = d.scope == "visit";
                    Some(CustomDimension {
                        id: u32::try_from(d.idcustomdimension).ok()?,
                        index: u8::try_from(d.index).ok()?,
                        visit_scope,
                        // Matomo extracts for action dimensions only.
                        extractions: if visit_scope {
                            Vec::new()
                        } else {
                            compile_extractions(&d.extractions, d.case_sensitive != 0)
                        },
                    })
                })
                .collect(),
            write_tokens,
        };
        out.insert(s.idsite, Arc::new(settings));
    }
    Ok(Snapshot {
        version,
        sites: out,
        globals,
    })
}

#[derive(QueryableByName)]
struct DimRow {
    #[diesel(sql_type = diesel::sql_types::Unsigned<diesel::sql_types::BigInt>)]
    idcustomdimension: u64,
    #[diesel(sql_type = diesel::sql_types::Unsigned<diesel::sql_types::BigInt>)]
    idsite: u64,
    #[diesel(sql_type = diesel::sql_types::Unsigned<diesel::sql_types::SmallInt>)]
    index: u16,
    #[diesel(sql_type = diesel::sql_types::Text)]
    scope: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    extractions: String,
    #[diesel(sql_type = diesel::sql_types::Unsigned<diesel::sql_types::TinyInt>)]
    case_sensitive: u8,
}

/// The shared, refreshable cache: readers take an `Arc` snapshot; a reload
/// swaps it. Unknown sites trigger a reload at most once per
/// `miss_interval`, so a flood of requests for a bad `idsite` costs one
/// query per interval, not one per request.
#[derive(Debug)]
pub struct SiteCache {
    snapshot: RwLock<(Arc<Snapshot>, Instant)>,
    ttl: Duration,
    miss_interval: Duration,
}

impl SiteCache {
    /// A cache holding `snapshot`, refreshed after `ttl`.
    pub fn new(snapshot: Snapshot, ttl: Duration) -> Self {
        Self {
            snapshot: RwLock::new((Arc::new(snapshot), Instant::now())),
            ttl,
            miss_interval: Duration::from_secs(1),
        }
    }

    /// The current snapshot.
    pub fn current(&self) -> Arc<Snapshot> {
        match self.snapshot.read() {
            Ok(g) => g.0.clone(),
            Err(p) => p.into_inner().0.clone(),
        }
    }

    fn age(&self) -> Duration {
        match self.snapshot.read() {
            Ok(g) => g.1.elapsed(),
            Err(p) => p.into_inner().1.elapsed(),
        }
    }

    /// Whether the snapshot should be reloaded: it is older than the TTL,
    /// or `missing_site` is unknown and the last load is older than the
    /// miss interval.
    pub fn wants_reload(&self, missing_site: bool) -> bool {
        let age = self.age();
        age > self.ttl || (missing_site && age > self.miss_interval)
    }

    /// Replaces the snapshot.
    pub fn replace(&self, snapshot: Snapshot) {
        let mut g = match self.snapshot.write() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        *g = (Arc::new(snapshot), Instant::now());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ip_ranges() {
        let r = IpRange::parse("10.1.0.0/16").unwrap();
        assert!(r.contains("10.1.200.3".parse().unwrap()));
        assert!(!r.contains("10.2.0.1".parse().unwrap()));
        let w = IpRange::parse("192.168.*.*").unwrap();
        assert!(w.contains("192.168.4.5".parse().unwrap()));
        assert!(w.contains("::ffff:192.168.4.5".parse().unwrap()));
        let one = IpRange::parse("8.8.8.8").unwrap();
        assert!(one.contains("8.8.8.8".parse().unwrap()));
        assert!(!one.contains("8.8.8.9".parse().unwrap()));
        let v6 = IpRange::parse("2001:db8::/32").unwrap();
        assert!(v6.contains("2001:db8:1::1".parse().unwrap()));
        assert!(IpRange::parse("nonsense").is_none());
    }

    #[test]
    fn token_hash_is_sha512_of_token_and_salt() {
        // sha512("abc") is a published test vector; an empty salt keeps it.
        assert!(hash_token("abc", "").starts_with("ddaf35a193617aba"));
        assert_ne!(hash_token("abc", "x"), hash_token("abc", ""));
    }

    fn goal(pattern: &str, ty: &str, cs: i8) -> GoalDef {
        GoalDef::from_row(&Goal {
            idsite: 1,
            idgoal: 1,
            name: "g".into(),
            description: String::new(),
            match_attribute: "url".into(),
            pattern: pattern.into(),
            pattern_type: ty.into(),
            case_sensitive: cs,
            allow_multiple: 0,
            revenue: 0.0,
            deleted: 0,
            event_value_as_revenue: 0,
        })
        .unwrap()
    }

    #[test]
    fn goal_patterns() {
        assert!(goal("thank", "contains", 0).matches("https://x.org/THANK-you"));
        assert!(!goal("thank", "contains", 1).matches("https://x.org/THANK-you"));
        assert!(goal("https://x.org/a", "exact", 0).matches("https://X.org/A"));
        assert!(
            goal("^https?://x\\.org/order/[0-9]+$", "regex", 1).matches("https://x.org/order/42")
        );
        assert!(
            !goal("^https?://x\\.org/order/[0-9]+$", "regex", 1).matches("https://x.org/order/x")
        );
        // The URL-decoded pattern is tried when the raw one fails.
        assert!(goal("caf%C3%A9", "contains", 0).matches("https://x.org/café"));
    }
}
