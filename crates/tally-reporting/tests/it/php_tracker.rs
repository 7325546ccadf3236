//! The requests Matomo's PHP tracker (`MatomoTracker` 3.3, the version
//! Matomo's system tests use) sends, for the fixtures replayed by the
//! `matomo_*` tests: one object per tracker instance, keeping what the PHP
//! object keeps between calls (visitor id, visit custom variables, the
//! last page view id) and forgetting what it forgets after each request
//! (page and event custom variables, the product view, page timings).

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use serde_json::{Map, Value};
use time::PrimitiveDateTime;
use time::macros::format_description;

use crate::common::{Answer, encode, send};

/// The user agent of Matomo's test fixtures (`Fixture::getTracker`).
pub(crate) const FIXTURE_UA: &str = "Mozilla/5.0 (Windows; U; Windows NT 5.1; en-GB; rv:1.9.2.6) Gecko/20100625 Firefox/3.6.6 (.NET CLR 3.5.30729)";

/// The forced time of a request: `setForceVisitDateTime` takes a
/// `Y-m-d H:i:s` string or a Unix timestamp, sent as given in `cdt`.
#[derive(Clone, Copy)]
pub(crate) enum At {
    Datetime(PrimitiveDateTime),
    Timestamp(PrimitiveDateTime),
}

/// A custom variable slot: `(index, name, value)`. The value is JSON because
/// PHP sends an integer value as a JSON number.
pub(crate) type Cvar = (u32, &'static str, Value);

/// One `MatomoTracker` object after `Fixture::getTracker($idSite, $dateTime,
/// $defaultInit = true)`.
pub(crate) struct PhpTracker {
    idsite: u32,
    token: String,
    visitor_id: String,
    /// `_idts`: the tracker object's creation time (the real clock when
    /// Matomo's tests run, long after the tracked dates).
    created: i64,
    pub(crate) at: At,
    pub(crate) ip: String,
    pub(crate) lang: String,
    pub(crate) url: String,
    /// `setUrlReferrer`: kept for the following requests.
    pub(crate) referrer: String,
    pub(crate) plugins: bool,
    /// `setPageCharset`: sent as `cs` with every request.
    pub(crate) charset: Option<String>,
    visit_cvars: Vec<Cvar>,
    page_cvars: Vec<Cvar>,
    event_cvars: Vec<Cvar>,
    page_view_id: Option<String>,
    page_views: u32,
    timings: Option<[u32; 6]>,
    ecommerce_view: Vec<(&'static str, String)>,
    items: Vec<Value>,
    /// `setVisitorId`: sent as `cid` in place of `_id`.
    forced_visitor_id: Option<String>,
    /// `setUserId`: sent as `uid`.
    user_id: Option<String>,
    /// `setUserAgent`: the `User-Agent` header, else [`FIXTURE_UA`].
    pub(crate) user_agent: Option<String>,
    /// `setResolution`: `res` (default `1024x768`).
    pub(crate) resolution: Option<String>,
    /// `setCustomDimension`: sent with the next request only.
    dimensions: Vec<(u32, String)>,
    /// `setForceNewVisit`: `new_visit=1` with the next request only.
    force_new_visit: bool,
    /// `setAttributionInfo`: unset, the PHP tracker's default.
    extra: Extra,
    /// `DEBUG_APPEND_URL`: appended to every request as given (a fixture's
    /// test-only switches such as `&bots=1`).
    pub(crate) debug_append: String,
}

/// What a few fixtures change of the tracker's defaults.
#[derive(Default)]
struct Extra {
    /// Campaign name, campaign keyword, referrer timestamp, referrer URL.
    attribution: Option<(String, String, i64, String)>,
    /// `setCountry`: `country`, which needs the token.
    country: Option<String>,
    /// `setLocalTime`: the visitor's clock, `(h, m, s)`; `12:34:06` (the
    /// fixtures' `setLocalTime('12:34:06')`) when unset.
    local_time: Option<(u32, u32, u32)>,
}

/// `json_encode` of a PHP array of custom variables keyed by slot: an
/// object `{"1":["name","value"]}` (slots start at 1, so never a list).
fn cvar_json(cvars: &[Cvar]) -> String {
    let mut object = Map::new();
    for (index, name, value) in cvars {
        object.insert(
            index.to_string(),
            Value::Array(vec![Value::String((*name).to_owned()), value.clone()]),
        );
    }
    Value::Object(object).to_string()
}

/// Sets slot `index` of a PHP custom variable array, replacing it.
fn set_cvar(cvars: &mut Vec<Cvar>, index: u32, name: &'static str, value: Value) {
    match cvars.iter_mut().find(|(slot, _, _)| *slot == index) {
        Some(slot) => *slot = (index, name, value),
        None => cvars.push((index, name, value)),
    }
}

impl PhpTracker {
    pub(crate) fn new(idsite: u32, token: &str, visitor_id: &str, at: PrimitiveDateTime) -> Self {
        Self {
            idsite,
            token: token.to_owned(),
            visitor_id: visitor_id.to_owned(),
            created: 1_700_000_000,
            at: At::Datetime(at),
            ip: "156.5.3.2".to_owned(),
            lang: "fr".to_owned(),
            url: String::new(),
            referrer: String::new(),
            plugins: true,
            charset: None,
            visit_cvars: Vec::new(),
            page_cvars: Vec::new(),
            event_cvars: Vec::new(),
            page_view_id: None,
            page_views: 0,
            timings: None,
            ecommerce_view: Vec::new(),
            items: Vec::new(),
            forced_visitor_id: None,
            user_id: None,
            user_agent: None,
            resolution: None,
            dimensions: Vec::new(),
            force_new_visit: false,
            extra: Extra::default(),
            debug_append: String::new(),
        }
    }

    /// `setVisitorId`: later requests carry `cid` (a visitor id the
    /// tracker must use) instead of the cookie's `_id`.
    pub(crate) fn set_visitor_id(&mut self, id: &str) {
        self.forced_visitor_id = Some(id.to_owned());
    }

    /// `setUserId`: `Some` sends `uid` with later requests; `None` is
    /// `setUserId(false)`, which also forgets the forced visitor id and
    /// makes a new random one (`setNewVisitorId`), here `new_visitor_id`.
    pub(crate) fn set_user_id(&mut self, user_id: Option<&str>, new_visitor_id: &str) {
        match user_id {
            Some(id) => self.user_id = Some(id.to_owned()),
            None => {
                self.user_id = None;
                self.forced_visitor_id = None;
                new_visitor_id.clone_into(&mut self.visitor_id);
            }
        }
    }

    /// `setAttributionInfo(json_encode([name, keyword, timestamp, url]))`:
    /// each part sent when not PHP-empty, with every request.
    pub(crate) fn set_attribution_info(
        &mut self,
        campaign: &str,
        keyword: &str,
        timestamp: i64,
        url: &str,
    ) {
        self.extra.attribution = Some((
            campaign.to_owned(),
            keyword.to_owned(),
            timestamp,
            url.to_owned(),
        ));
    }

    /// `setCustomDimension`: `dimension<id>` on the next request (the PHP
    /// tracker clears its custom dimensions after each request); an empty
    /// value is sent as an empty parameter.
    pub(crate) fn set_custom_dimension(&mut self, id: u32, value: &str) {
        match self.dimensions.iter_mut().find(|(slot, _)| *slot == id) {
            Some(slot) => slot.1 = value.to_owned(),
            None => self.dimensions.push((id, value.to_owned())),
        }
    }

    /// `setCountry`: the visit's country code, sent with every request.
    pub(crate) fn set_country(&mut self, code: &str) {
        self.extra.country = Some(code.to_owned());
    }

    /// `setLocalTime`: the visitor's local time, sent as `h`, `m`, `s`.
    pub(crate) fn set_local_time(&mut self, hour: u32, minute: u32, second: u32) {
        self.extra.local_time = Some((hour, minute, second));
    }

    /// `setForceNewVisit`: the next request starts a new visit.
    pub(crate) fn force_new_visit(&mut self) {
        self.force_new_visit = true;
    }

    /// `setResolution(width, height)`.
    pub(crate) fn set_resolution(&mut self, width: u32, height: u32) {
        self.resolution = Some(format!("{width}x{height}"));
    }

    /// `setUserAgent`: sent as the `User-Agent` header instead of the
    /// fixtures' default.
    pub(crate) fn set_user_agent(&mut self, user_agent: &str) {
        self.user_agent = Some(user_agent.to_owned());
    }

    /// Sets `_idts` as a fixture's `DEBUG_APPEND_URL = '&_idts=…'` does:
    /// the visitor's first visit at `at` rather than the tracker's creation.
    pub(crate) fn set_first_visit(&mut self, at: PrimitiveDateTime) {
        self.created = at.assume_utc().unix_timestamp();
    }

    pub(crate) fn set_visit_cvar(&mut self, index: u32, name: &'static str, value: Value) {
        set_cvar(&mut self.visit_cvars, index, name, value);
    }

    pub(crate) fn set_page_cvar(&mut self, index: u32, name: &'static str, value: Value) {
        set_cvar(&mut self.page_cvars, index, name, value);
    }

    pub(crate) fn set_event_cvar(&mut self, index: u32, name: &'static str, value: Value) {
        set_cvar(&mut self.event_cvars, index, name, value);
    }

    /// Takes the visit custom variables away (and back): the fixture does so
    /// to send an order as a shop's back office would.
    pub(crate) fn take_visit_cvars(&mut self) -> Vec<Cvar> {
        std::mem::take(&mut self.visit_cvars)
    }

    pub(crate) fn restore_visit_cvars(&mut self, cvars: Vec<Cvar>) {
        self.visit_cvars = cvars;
    }

    /// `setPerformanceTimings`: network, server, transfer, DOM processing,
    /// DOM completion, onload, in ms.
    pub(crate) fn set_timings(&mut self, timings: [u32; 6]) {
        self.timings = Some(timings);
    }

    /// `setEcommerceView`: `_pkc` always (an array of categories as JSON),
    /// `_pkp` when the price is not PHP-empty, `_pks` / `_pkn` on a product
    /// page (a SKU or a name given).
    pub(crate) fn set_ecommerce_view(
        &mut self,
        sku: &str,
        name: &str,
        category: &Value,
        price: f64,
    ) {
        self.ecommerce_view.clear();
        let category = match category {
            Value::String(text) => text.clone(),
            Value::Array(list) if list.is_empty() => String::new(),
            other => other.to_string(),
        };
        self.ecommerce_view.push(("_pkc", category));
        if price != 0.0 {
            self.ecommerce_view.push(("_pkp", php_float(price)));
        }
        if sku.is_empty() && name.is_empty() {
            return;
        }
        if !sku.is_empty() {
            self.ecommerce_view.push(("_pks", sku.to_owned()));
        }
        self.ecommerce_view.push(("_pkn", name.to_owned()));
    }

    /// `addEcommerceItem`: `[sku, name, category, price, quantity]`, the
    /// price as the string PHP makes of the number.
    pub(crate) fn add_item(
        &mut self,
        sku: &str,
        name: &str,
        category: Value,
        price: f64,
        quantity: u32,
    ) {
        self.items.push(Value::Array(vec![
            Value::String(sku.to_owned()),
            Value::String(name.to_owned()),
            category,
            Value::String(php_float(price)),
            Value::from(quantity),
        ]));
    }

    /// `getRequest`: the parameters every request carries, then the
    /// per-request state is forgotten as the PHP object forgets it.
    fn base(&mut self) -> String {
        let cdt = match self.at {
            At::Datetime(at) => at
                .format(format_description!(
                    "[year]-[month]-[day] [hour]:[minute]:[second]"
                ))
                .unwrap_or_default(),
            At::Timestamp(at) => at.assume_utc().unix_timestamp().to_string(),
        };
        let local = self.extra.local_time.unwrap_or((12, 34, 6));
        let mut query = format!(
            "?idsite={}&rec=1&apiv=1&r=123456&cip={}&cdt={}&_idts={}&fla={}&java={}&qt=0&realp=0\
             &pdf=0&wma=0&ag=0&cookie=1&h={}&m={}&s={}&res={}",
            self.idsite,
            self.ip,
            encode(&cdt),
            self.created,
            u8::from(self.plugins),
            u8::from(self.plugins),
            local.0,
            local.1,
            local.2,
            self.resolution.as_deref().unwrap_or("1024x768"),
        );
        if std::mem::take(&mut self.force_new_visit) {
            query.push_str("&new_visit=1");
        }
        if let Some(country) = &self.extra.country {
            query.push_str(&format!("&country={}", encode(country)));
        }
        if let Some((campaign, keyword, timestamp, url)) = &self.extra.attribution {
            let php_empty = |value: &str| value.is_empty() || value == "0";
            if !php_empty(campaign) {
                query.push_str(&format!("&_rcn={}", encode(campaign)));
            }
            if !php_empty(keyword) {
                query.push_str(&format!("&_rck={}", encode(keyword)));
            }
            if *timestamp != 0 {
                query.push_str(&format!("&_refts={timestamp}"));
            }
            if !php_empty(url) {
                query.push_str(&format!("&_ref={}", encode(url)));
            }
        }
        if !self.visit_cvars.is_empty() {
            query.push_str(&format!("&_cvar={}", encode(&cvar_json(&self.visit_cvars))));
        }
        if !self.page_cvars.is_empty() {
            query.push_str(&format!("&cvar={}", encode(&cvar_json(&self.page_cvars))));
        }
        if !self.event_cvars.is_empty() {
            query.push_str(&format!(
                "&e_cvar={}",
                encode(&cvar_json(&self.event_cvars))
            ));
        }
        if let Some(user_id) = &self.user_id {
            query.push_str(&format!("&uid={}", encode(user_id)));
        }
        match &self.forced_visitor_id {
            Some(id) => query.push_str(&format!("&cid={id}")),
            None => query.push_str(&format!("&_id={}", self.visitor_id)),
        }
        query.push_str(&format!(
            "&url={}&urlref={}",
            encode(&self.url),
            encode(&self.referrer)
        ));
        if let Some(id) = &self.page_view_id {
            query.push_str(&format!("&pv_id={id}"));
            if let Some(t) = self.timings.take() {
                query.push_str(&format!(
                    "&pf_net={}&pf_srv={}&pf_tfr={}&pf_dm1={}&pf_dm2={}&pf_onl={}",
                    t[0], t[1], t[2], t[3], t[4], t[5]
                ));
            }
        }
        if let Some(charset) = &self.charset {
            query.push_str(&format!("&cs={}", encode(charset)));
        }
        for (name, value) in self.ecommerce_view.drain(..) {
            query.push_str(&format!("&{name}={}", encode(&value)));
        }
        for (id, value) in self.dimensions.drain(..) {
            query.push_str(&format!("&dimension{id}={}", encode(&value)));
        }
        query.push_str(&self.debug_append);
        self.page_cvars.clear();
        self.event_cvars.clear();
        query
    }

    /// `doTrackPageView`: a new page view id, then the page's title.
    pub(crate) fn page_view(&mut self, title: &str) -> String {
        self.page_views += 1;
        self.page_view_id = Some(format!("pv{:04}", self.page_views));
        let mut query = self.base();
        if !title.is_empty() {
            query.push_str(&format!("&action_name={}", encode(title)));
        }
        query
    }

    /// `doTrackGoal`: `idgoal`, and `revenue` unless zero.
    pub(crate) fn goal(&mut self, idgoal: u32, revenue: f64) -> String {
        let mut query = self.base();
        query.push_str(&format!("&idgoal={idgoal}"));
        if revenue != 0.0 {
            query.push_str(&format!("&revenue={}", php_float(revenue)));
        }
        query
    }

    /// `doTrackSiteSearch`: the keyword, the category when not empty, the
    /// results count when given (0 included).
    pub(crate) fn site_search(
        &mut self,
        keyword: &str,
        category: &str,
        count: Option<i64>,
    ) -> String {
        let mut query = self.base();
        query.push_str(&format!("&search={}", encode(keyword)));
        if !category.is_empty() {
            query.push_str(&format!("&search_cat={}", encode(category)));
        }
        if let Some(count) = count {
            query.push_str(&format!("&search_count={count}"));
        }
        query
    }

    /// `doTrackAction`: an outlink (`kind` `link`) or a download
    /// (`download`) to `url`.
    pub(crate) fn action(&mut self, url: &str, kind: &str) -> String {
        let mut query = self.base();
        query.push_str(&format!("&{kind}={}", encode(url)));
        query
    }

    /// `doTrackEvent`: `e_c`, `e_a`, and `e_n` / `e_v` when given.
    pub(crate) fn event(
        &mut self,
        category: &str,
        action: &str,
        name: Option<&str>,
        value: Option<f64>,
    ) -> String {
        let mut query = self.base();
        query.push_str(&format!("&e_c={}&e_a={}", encode(category), encode(action)));
        if let Some(name) = name.filter(|name| !name.is_empty()) {
            query.push_str(&format!("&e_n={}", encode(name)));
        }
        if let Some(value) = value {
            query.push_str(&format!("&e_v={}", php_float(value)));
        }
        query
    }

    /// `doTrackContentImpression`: `c_n`, then `c_p` and `c_t` unless
    /// PHP-empty. `piece` `None` is the PHP default argument, `Unknown`.
    pub(crate) fn content_impression(
        &mut self,
        name: &str,
        piece: Option<&str>,
        target: Option<&str>,
    ) -> String {
        let mut query = self.base();
        query.push_str(&format!("&c_n={}", encode(name)));
        push_content_rest(&mut query, piece, target);
        query
    }

    /// `doTrackContentInteraction`: `c_i` and `c_n`, then `c_p` and `c_t`
    /// as for an impression.
    pub(crate) fn content_interaction(
        &mut self,
        interaction: &str,
        name: &str,
        piece: Option<&str>,
        target: Option<&str>,
    ) -> String {
        let mut query = self.base();
        query.push_str(&format!(
            "&c_i={}&c_n={}",
            encode(interaction),
            encode(name)
        ));
        push_content_rest(&mut query, piece, target);
        query
    }

    /// `doTrackEcommerceCartUpdate` (`order_id` `None`) or
    /// `doTrackEcommerceOrder`: `idgoal=0`, each amount that is not zero
    /// (grand total, sub total, tax, shipping, discount), the items added
    /// since the last one, and `ec_id` for an order.
    pub(crate) fn ecommerce(&mut self, order_id: Option<&str>, amounts: [f64; 5]) -> String {
        let mut query = self.base();
        query.push_str("&idgoal=0");
        for (name, amount) in ["revenue", "ec_st", "ec_tx", "ec_sh", "ec_dt"]
            .into_iter()
            .zip(amounts)
        {
            if amount != 0.0 {
                query.push_str(&format!("&{name}={}", php_float(amount)));
            }
        }
        if !self.items.is_empty() {
            let items = Value::Array(std::mem::take(&mut self.items)).to_string();
            query.push_str(&format!("&ec_items={}", encode(&items)));
        }
        if let Some(id) = order_id {
            query.push_str(&format!("&ec_id={}", encode(id)));
        }
        query
    }

    /// Sends a request as the PHP tracker does: a GET with the user agent
    /// and the browser language as headers.
    pub(crate) async fn send(&self, router: &Router, query: &str) -> anyhow::Result<Answer> {
        let request = Request::get(format!("/matomo.php{query}&token_auth={}", self.token))
            .header(
                "user-agent",
                self.user_agent.as_deref().unwrap_or(FIXTURE_UA),
            )
            .header("accept-language", &self.lang)
            .body(Body::empty())?;
        send(router, request).await
    }

    /// [`PhpTracker::send`], expecting the GIF (`Fixture::checkResponse`).
    pub(crate) async fn ok(&self, router: &Router, query: &str) -> anyhow::Result<()> {
        let answer = self.send(router, query).await?;
        anyhow::ensure!(
            answer.status == StatusCode::OK,
            "{query}: {} {}",
            answer.status,
            answer.text()
        );
        Ok(())
    }
}

/// The piece (default `Unknown`) and the target of a content request, each
/// left out when PHP-empty (`""` or `"0"`).
fn push_content_rest(query: &mut String, piece: Option<&str>, target: Option<&str>) {
    let php_empty = |value: &str| value.is_empty() || value == "0";
    let piece = piece.unwrap_or("Unknown");
    if !php_empty(piece) {
        query.push_str(&format!("&c_p={}", encode(piece)));
    }
    if let Some(target) = target.filter(|target| !php_empty(target)) {
        query.push_str(&format!("&c_t={}", encode(target)));
    }
}

/// A float as PHP writes it in a string (these values need no more than
/// PHP's 14 significant digits, so Rust's shortest form is the same).
pub(crate) fn php_float(value: f64) -> String {
    format!("{value}")
}
