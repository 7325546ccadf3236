//! The tracker's answers as Matomo's tracker system tests check them
//! (`TrackerResponseTest`, `BulkTracking`'s `TrackerTest`,
//! `TrackerDisallowedIpTest` in matomo-org/matomo): status codes, bodies,
//! headers and the bulk JSON answer, through the HTTP routes with the rows
//! they leave in MariaDB.

use axum::Router;
use axum::body::Body;
use axum::http::Request;
use diesel::prelude::*;
use tally_db::test_support::TestDb;
use tally_tracking::http::{GIF, Tracker, TrackerConfig, router};
use tower::ServiceExt;

#[path = "support/seed.rs"]
mod seed;

/// A super user's token (the token of Matomo's test fixture user).
const TOKEN: &str = "c4ca4238a0b923820dcc509a6f75849b";
/// 2014-01-01 00:00:01 UTC, the time of Matomo's tests: old enough to need
/// the token.
const OLD: i64 = 1_388_534_401;
const UA: &str = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/70.0.3538.77 Safari/537.36";

struct Answer {
    status: u16,
    headers: axum::http::HeaderMap,
    body: Vec<u8>,
}

impl Answer {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

struct Setup {
    db: TestDb,
    router: Router,
}

/// Site 1 created 2014-01-01 (UTC) and a super user with [`TOKEN`].
fn setup(config: &TrackerConfig) -> anyhow::Result<Setup> {
    setup_sites(config, false)
}

/// [`setup`], with site 2 too when `second` (Matomo's tests that call
/// `createWebsite` twice). Sites are added before the tracker starts: one
/// added by hand in SQL later is seen only after the site cache's miss
/// interval.
fn setup_sites(config: &TrackerConfig, second: bool) -> anyhow::Result<Setup> {
    let db = TestDb::new()?;
    let mut conn = db.conn()?;
    seed::site(
        &mut conn,
        "Piwik test",
        "http://piwik.net",
        "2014-01-01 00:00:00",
        "USD",
    )?;
    seed::super_user(&mut conn, "superUserLogin", TOKEN)?;
    if second {
        add_site_2(&mut conn)?;
    }
    let router = router(Tracker::start(db.pool()?, config)?);
    Ok(Setup { db, router })
}

impl Setup {
    async fn send(
        &self,
        method: &str,
        target: &str,
        headers: &[(&str, &str)],
        body: &str,
    ) -> anyhow::Result<Answer> {
        self.send_bytes(method, target, headers, body.as_bytes().to_vec())
            .await
    }

    async fn send_bytes(
        &self,
        method: &str,
        target: &str,
        headers: &[(&str, &str)],
        body: Vec<u8>,
    ) -> anyhow::Result<Answer> {
        let mut request = Request::builder()
            .method(method)
            .uri(target)
            .header("user-agent", UA);
        for (k, v) in headers {
            request = request.header(*k, *v);
        }
        let response = self
            .router
            .clone()
            .oneshot(request.body(Body::from(body))?)
            .await?;
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let body = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await?
            .to_vec();
        Ok(Answer {
            status,
            headers,
            body,
        })
    }

    async fn get(&self, query: &str) -> anyhow::Result<Answer> {
        self.send("GET", &format!("/matomo.php?{query}"), &[], "")
            .await
    }

    /// The number of rows of `table`.
    fn count(&self, table: &str) -> anyhow::Result<i64> {
        #[derive(QueryableByName)]
        struct N {
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            n: i64,
        }
        let n: N = diesel::sql_query(format!("SELECT COUNT(*) AS n FROM {table}"))
            .get_result(&mut self.db.conn()?)?;
        Ok(n.n)
    }
}

/// The query of the PHP tracker's `doTrackPageView('Test')` at [`OLD`].
fn page_view(idsite: &str, visitor: &str) -> String {
    format!(
        "idsite={idsite}&rec=1&apiv=1&r=123456&cdt={OLD}&_id={visitor}&url=http%3A%2F%2Fexample.org%2Fsomepage&action_name=Test"
    )
}

const EMPTY_REQUEST: &str = "This resource is part of Matomo. Keep full control of your data with the leading free and open source <a href='https://matomo.org' target='_blank' rel='noopener noreferrer nofollow'>web analytics & conversion optimisation platform</a>.<br>\nThis file is the endpoint for the Matomo tracking API. If you want to access the Matomo UI or use the Reporting API, please use <a href='index.php'>index.php</a> instead.\n";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tracker_response_test_answers() -> anyhow::Result<()> {
    let s = setup(&TrackerConfig::default())?;
    let visitor = "0123456789abcdef";
    let ok = format!("{}&token_auth={TOKEN}", page_view("1", visitor));

    // testResponseShouldContainAnImage, ...Send200ResponseCodeIfImageIsEnabled
    let a = s.get(&ok).await?;
    assert_eq!(a.status, 200, "{}", a.text());
    assert_eq!(a.body, GIF);
    assert_eq!(a.header("content-type"), Some("image/gif"));
    assert_eq!(a.header("cache-control"), Some("no-store"));

    // testResponseShouldBeEmptyIfImageIsDisabled, ...Send204ResponseCode...
    let a = s.get(&format!("{ok}&send_image=0")).await?;
    assert_eq!(a.status, 204);
    assert!(a.body.is_empty());
    assert_eq!(a.header("cache-control"), Some("no-store"));
    // Only the value "0" turns the image off, as Matomo's `=== '0'`.
    let a = s.get(&format!("{ok}&send_image=00")).await?;
    assert_eq!((a.status, a.body.len()), (200, 43));
    assert_eq!(s.count("log_link_visit_action")?, 3);

    // Invalid site (unknown, negative, zero) and goal: 400, nothing stored.
    for bad in ["&idsite=100", "&idgoal=9999", "&idsite=-1", "&idsite=0"] {
        let a = s.get(&format!("{}{bad}", page_view("1", visitor))).await?;
        assert_eq!(a.status, 400, "{bad}: {}", a.text());
        assert_eq!(a.header("cache-control"), Some("no-store"));
    }
    assert_eq!(s.count("log_link_visit_action")?, 3);

    // testResponseShouldSend400ResponseCodeIfInvalidRequestParameterIsGiven:
    // `cid` of 16 characters is accepted, of 17 refused.
    let with_cid = format!("{ok}&ua={}&cid={}", urlencode(UA), "1".repeat(16));
    let a = s.get(&with_cid).await?;
    assert_eq!(a.status, 200, "{}", a.text());
    assert_eq!(a.header("cache-control"), Some("no-store"));
    let a = s.get(&format!("{with_cid}1")).await?;
    assert_eq!(a.status, 400);
    assert_eq!(s.count("log_link_visit_action")?, 4);

    // A GET without parameters is Matomo's page, with 200 (monitoring
    // tools check for it); `?rec=1` alone is 400.
    for target in ["/matomo.php", "/piwik.php", "/matomo.php?"] {
        let a = s.send("GET", target, &[], "").await?;
        assert_eq!((a.status, a.text().as_str()), (200, EMPTY_REQUEST));
    }
    let a = s.get("rec=1").await?;
    assert_eq!(a.status, 400);
    Ok(())
}

/// `forceEnableTrackerMaintenanceMode` of Matomo's test proxy is
/// `record_statistics = 0`: 503 and nothing stored.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn maintenance_mode_answers_503_and_stores_nothing() -> anyhow::Result<()> {
    let s = setup(&TrackerConfig {
        record_statistics: false,
        ..TrackerConfig::default()
    })?;
    let q = format!("{}&token_auth={TOKEN}", page_view("1", "0123456789abcdef"));
    let a = s.get(&q).await?;
    assert_eq!((a.status, a.body.as_slice()), (503, GIF));
    let a = s.get(&format!("{q}&send_image=0")).await?;
    assert_eq!((a.status, a.body.len()), (503, 0));
    let a = s.send("GET", "/matomo.php", &[], "").await?;
    assert_eq!(a.status, 503);
    let body = format!(r#"{{"requests":["?{q}"],"token_auth":"{TOKEN}"}}"#);
    let a = s.send("POST", "/matomo.php", &[], &body).await?;
    assert_eq!(a.status, 503);
    let answer: serde_json::Value = serde_json::from_slice(&a.body)?;
    assert_eq!(answer["status"], "error");
    assert_eq!(answer["tracked"], 0);
    assert_eq!(s.count("log_visit")?, 0);
    Ok(())
}

/// Compressed bodies: Matomo's Android SDK gzips its bulk JSON
/// (`Content-Encoding: gzip`; the OkHttp sender does by default), which
/// Matomo reads through its web server's decompression and we decode
/// ourselves. A coding we do not know or data that does not decode is a
/// 400 naming the problem, a body that expands past the limit a 413, and
/// neither stores anything.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compressed_bodies_are_decoded_and_bad_ones_refused() -> anyhow::Result<()> {
    use std::io::Write;
    fn gzip(data: &[u8]) -> anyhow::Result<Vec<u8>> {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(data)?;
        Ok(e.finish()?)
    }
    let s = setup(&TrackerConfig::default())?;
    let json = [("content-type", "application/json; charset=utf-8")];
    let gzip_json = [json[0], ("content-encoding", "gzip")];

    let bulk = format!(
        r#"{{"requests":["?{}","?{}"],"token_auth":"{TOKEN}"}}"#,
        page_view("1", "0123456789abcdef"),
        page_view("1", "fedcba9876543210")
    );
    let a = s
        .send_bytes("POST", "/matomo.php", &gzip_json, gzip(bulk.as_bytes())?)
        .await?;
    assert_eq!(a.status, 200, "{}", a.text());
    assert_eq!(
        a.text(),
        r#"{"status":"success","tracked":2,"invalid":0,"invalid_indices":[]}"#
    );
    assert_eq!(s.count("log_link_visit_action")?, 2);

    // A form POST, zlib-compressed ("deflate").
    let form = format!("{}&token_auth={TOKEN}", page_view("1", "00000000000000aa"));
    let mut e = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(form.as_bytes())?;
    let a = s
        .send_bytes(
            "POST",
            "/matomo.php",
            &[
                ("content-type", "application/x-www-form-urlencoded"),
                ("content-encoding", "deflate"),
            ],
            e.finish()?,
        )
        .await?;
    assert_eq!((a.status, a.body.as_slice()), (200, GIF), "{}", a.text());
    assert_eq!(s.count("log_link_visit_action")?, 3);

    let a = s
        .send_bytes(
            "POST",
            "/matomo.php",
            &[json[0], ("content-encoding", "br")],
            bulk.as_bytes().to_vec(),
        )
        .await?;
    assert_eq!(a.status, 400);
    assert!(
        a.text().contains("Content-Encoding `br` is not supported"),
        "{}",
        a.text()
    );
    // CORS headers on the refusal too, so a browser can read it.
    assert_eq!(a.header("access-control-allow-credentials"), Some("true"));

    let a = s
        .send_bytes("POST", "/matomo.php", &gzip_json, bulk.as_bytes().to_vec())
        .await?;
    assert_eq!(a.status, 400);
    assert!(a.text().contains("not valid gzip data"), "{}", a.text());

    let bomb = gzip(&vec![
        b' ';
        tally_tracking::content_encoding::BODY_LIMIT + 1
    ])?;
    let a = s
        .send_bytes("POST", "/matomo.php", &gzip_json, bomb)
        .await?;
    assert_eq!(a.status, 413, "{}", a.text());
    assert!(a.text().contains("once decompressed"), "{}", a.text());

    assert_eq!(s.count("log_link_visit_action")?, 3);
    Ok(())
}

/// `BulkTracking`'s system test: two good requests, an unknown site, a
/// good one, an invalid `cid`, another unknown site.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bulk_answer_counts_and_indices_as_matomo() -> anyhow::Result<()> {
    let s = setup(&TrackerConfig::default())?;
    let v = "0123456789abcdef";
    let requests = [
        page_view("1", v),
        page_view("1", v),
        page_view("5", v),
        page_view("1", v),
        format!("{}&cid=abc", page_view("1", v)),
        page_view("7", v),
    ];
    let list: Vec<String> = requests.iter().map(|q| format!(r#""?{q}""#)).collect();
    let body = format!(
        r#"{{"requests":[{}],"token_auth":"{TOKEN}"}}"#,
        list.join(",")
    );
    let a = s.send("POST", "/piwik.php", &[], &body).await?;
    assert_eq!(a.status, 200, "{}", a.text());
    assert_eq!(a.header("content-type"), Some("application/json"));
    assert_eq!(
        a.text(),
        r#"{"status":"success","tracked":3,"invalid":3,"invalid_indices":[2,4,5]}"#
    );
    assert_eq!(s.count("log_link_visit_action")?, 3);
    // Unknown sites are tracking failures (Matomo logs them too).
    assert_eq!(s.count("tracking_failure")?, 2);

    // BulkTracking's integration TrackerTest: without a super user token
    // the answer has no indices; with one, the invalid site is listed.
    let body = r#"{"requests":[{"idsite":1,"rec":"1"},{"idsite":-100,"rec":"1"}]}"#;
    let a = s.send("POST", "/matomo.php", &[], body).await?;
    assert_eq!(a.text(), r#"{"status":"success","tracked":1,"invalid":1}"#);
    let body = format!(
        r#"{{"requests":[{{"idsite":1,"rec":"1"}},{{"idsite":-100,"rec":"1"}}],"token_auth":"{TOKEN}"}}"#
    );
    let a = s.send("POST", "/matomo.php", &[], &body).await?;
    assert_eq!(
        a.text(),
        r#"{"status":"success","tracked":1,"invalid":1,"invalid_indices":[1]}"#
    );
    Ok(())
}

/// How Matomo's `BulkTracking` reads the elements of `requests`: a string
/// without a query is left out (the indices after it shift), an empty
/// object or a value of another type is an empty request, counted as
/// tracked, storing nothing; `send_image: 0` is a 204; a bulk token wins
/// over a request's own.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bulk_elements_empty_requests_and_tokens() -> anyhow::Result<()> {
    let s = setup(&TrackerConfig::default())?;
    let good = page_view("1", "00000000000000aa");
    let body = format!(
        r#"{{"requests":["no-query","http://example.org/matomo.php?",{{}},7,null,"?idsite=9&rec=1","?{good}"],"token_auth":"{TOKEN}"}}"#
    );
    let a = s.send("POST", "/matomo.php", &[], &body).await?;
    assert_eq!(
        a.text(),
        r#"{"status":"success","tracked":4,"invalid":1,"invalid_indices":[3]}"#
    );
    assert_eq!(s.count("log_visit")?, 1);

    // A wrong token of the request itself does not matter when the bulk
    // has a good one; a good one of the request does not help a wrong bulk
    // token (the old `cdt` needs one).
    let own_wrong = format!("{}&token_auth=wrong", page_view("1", "00000000000000bb"));
    let body = format!(r#"{{"requests":["?{own_wrong}"],"token_auth":"{TOKEN}"}}"#);
    let a = s.send("POST", "/matomo.php", &[], &body).await?;
    assert_eq!(
        a.text(),
        r#"{"status":"success","tracked":1,"invalid":0,"invalid_indices":[]}"#
    );
    let own_good = format!("{}&token_auth={TOKEN}", page_view("1", "00000000000000cc"));
    let body = format!(r#"{{"requests":["?{own_good}"],"token_auth":"wrong"}}"#);
    let a = s.send("POST", "/matomo.php", &[], &body).await?;
    assert_eq!(a.text(), r#"{"status":"success","tracked":0,"invalid":1}"#);
    // (The fingerprint continues the first visit.)
    assert_eq!(s.count("log_link_visit_action")?, 2);

    // send_image: 0 asks for no body; an empty list tracks nothing.
    let body = format!(r#"{{"requests":["?{good}"],"token_auth":"{TOKEN}","send_image":0}}"#);
    let a = s.send("POST", "/matomo.php", &[], &body).await?;
    assert_eq!((a.status, a.body.len()), (204, 0));
    let a = s
        .send("POST", "/matomo.php", &[], r#"{"requests":[]}"#)
        .await?;
    assert_eq!(a.text(), r#"{"status":"success","tracked":0,"invalid":0}"#);
    // POST answers carry the CORS headers of Matomo's Response.
    assert_eq!(a.header("access-control-allow-origin"), Some("*"));
    assert_eq!(a.header("access-control-allow-credentials"), Some("true"));
    Ok(())
}

/// `TrackerDisallowedIpTest`: a request with an old `cdt` from an address
/// that is no login allow list's is stored with the token and refused
/// (a tracking failure, nothing stored) without; a recent one needs none.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn old_requests_need_the_token_whatever_the_client_address() -> anyhow::Result<()> {
    let s = setup(&TrackerConfig {
        proxy_client_headers: vec!["X-Forwarded-For".into()],
        ..TrackerConfig::default()
    })?;
    let from = [("X-Forwarded-For", "3.3.3.3")];
    let q = page_view("1", "0123456789abcdef");
    let a = s
        .send("GET", &format!("/matomo.php?{q}"), &from, "")
        .await?;
    assert_eq!(a.status, 400);
    assert_eq!(s.count("log_visit")?, 0);
    assert_eq!(s.count("tracking_failure")?, 1);
    let a = s
        .send(
            "GET",
            &format!("/matomo.php?{q}&token_auth={TOKEN}"),
            &from,
            "",
        )
        .await?;
    assert_eq!((a.status, a.body.as_slice()), (200, GIF));
    assert_eq!(s.count("log_visit")?, 1);
    let recent = time::OffsetDateTime::now_utc().unix_timestamp() - 60;
    let a = s
        .send(
            "GET",
            &format!("/matomo.php?idsite=1&rec=1&cdt={recent}&url=http%3A%2F%2Fexample.org%2F"),
            &[("X-Forwarded-For", "3.3.3.4")],
            "",
        )
        .await?;
    assert_eq!(a.status, 200, "{}", a.text());
    assert_eq!(s.count("log_visit")?, 2);
    Ok(())
}

fn urlencode(text: &str) -> String {
    tally_tracking::php::rawurlencode(text)
}

/// `bulk_requests_require_authentication` (BulkTracking's `Requests` with
/// authentication on): no token, or a token that cannot write to one of
/// the sites, refuses the whole bulk; a good token tracks it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bulk_requests_can_require_a_token() -> anyhow::Result<()> {
    let s = setup(&TrackerConfig {
        bulk_requests_require_authentication: true,
        ..TrackerConfig::default()
    })?;
    let requests = r#""requests":[{"idsite":1,"rec":"1"},{"idsite":1,"rec":"1"}]"#;
    for (body, refusal) in [
        (format!("{{{requests}}}"), "token_auth must be specified"),
        (
            format!(r#"{{{requests},"token_auth":"wrong"}}"#),
            "does not have Admin permission for idsite=1",
        ),
        (
            format!(
                r#"{{"requests":[{{"idsite":1,"rec":"1"}},{{"idsite":2,"rec":"1"}}],"token_auth":"{TOKEN}"}}"#
            ),
            "idsite=2",
        ),
    ] {
        let a = s.send("POST", "/matomo.php", &[], &body).await?;
        assert_eq!(a.status, 400, "{body}");
        let answer: serde_json::Value = serde_json::from_slice(&a.body)?;
        assert_eq!(
            (answer["status"].as_str(), answer["tracked"].as_i64()),
            (Some("error"), Some(0))
        );
        assert!(
            answer["message"]
                .as_str()
                .is_some_and(|m| m.contains(refusal)),
            "{answer}"
        );
    }
    assert_eq!(s.count("log_visit")?, 0);
    let body = format!(r#"{{{requests},"token_auth":"{TOKEN}"}}"#);
    let a = s.send("POST", "/matomo.php", &[], &body).await?;
    assert_eq!(
        a.text(),
        r#"{"status":"success","tracked":2,"invalid":0,"invalid_indices":[]}"#
    );
    assert_eq!(s.count("log_visit")?, 1);
    Ok(())
}

impl Setup {
    /// The first column of `sql`'s rows, as text.
    fn strings(&self, sql: &str) -> anyhow::Result<Vec<String>> {
        #[derive(QueryableByName)]
        struct S {
            #[diesel(sql_type = diesel::sql_types::Text)]
            s: String,
        }
        let rows: Vec<S> = diesel::sql_query(sql).load(&mut self.db.conn()?)?;
        Ok(rows.into_iter().map(|r| r.s).collect())
    }

    /// `(sku, name, category)` of each stored ecommerce item, in the order
    /// of their SKU's action id (the order Matomo's test reads them in).
    fn item_names(&self) -> anyhow::Result<Vec<String>> {
        self.strings(
            "SELECT CONCAT_WS('|', sku.name, n.name, c.name) AS s FROM log_conversion_item i \
             JOIN log_action sku ON sku.idaction = i.idaction_sku \
             JOIN log_action n ON n.idaction = i.idaction_name \
             JOIN log_action c ON c.idaction = i.idaction_category ORDER BY i.idaction_sku",
        )
    }
}

/// Adds site 2 ("Piwik test 2"), as Matomo's second `createWebsite`.
fn add_site_2(conn: &mut MysqlConnection) -> anyhow::Result<()> {
    {
        diesel::sql_query(
            "INSERT INTO site (idsite, name, main_url, ts_created, ecommerce, sitesearch, \
             sitesearch_keyword_parameters, sitesearch_category_parameters, timezone, currency, \
             excluded_ips, excluded_parameters, excluded_user_agents, excluded_referrers, `group`, `type`) \
             SELECT 2, 'Piwik test 2', main_url, ts_created, 0, 1, '', '', 'UTC', 'USD', '', '', '', '', '', 'website' \
             FROM site WHERE idsite = 1",
        )
        .execute(conn)?;
    }
    Ok(())
}

/// Matomo's system `TrackerTest` bulk requests (sent by `curl` with raw
/// spaces in the queries): a wrong `token_auth` does not fail a bulk that
/// needs none; both answers are success and both page views are stored.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bulk_with_a_wrong_or_a_right_token_succeeds() -> anyhow::Result<()> {
    let s = setup(&TrackerConfig::default())?;
    let requests = r#""requests":["?idsite=1&url=http://example.org&action_name=Test bulk log Pageview&rec=1","?idsite=1&url=http://example.net/test.htm&action_name=Another bulk page view&rec=1"]"#;
    let wrong = format!(r#"{{{requests},"token_auth":"33dc3f2536d3025974cccb4b4d2d98f4"}}"#);
    // `curl -d` labels the JSON body as a form.
    let form = [("content-type", "application/x-www-form-urlencoded")];
    let a = s.send("POST", "/matomo.php", &form, &wrong).await?;
    assert_eq!(a.status, 200);
    assert_eq!(a.text(), r#"{"status":"success","tracked":2,"invalid":0}"#);
    let right = format!(r#"{{{requests},"token_auth":"{TOKEN}"}}"#);
    let a = s.send("POST", "/matomo.php", &form, &right).await?;
    assert_eq!(
        a.text(),
        r#"{"status":"success","tracked":2,"invalid":0,"invalid_indices":[]}"#
    );
    assert_eq!(s.count("log_link_visit_action")?, 4);
    assert_eq!(
        s.strings("SELECT name AS s FROM log_action WHERE type = 4 ORDER BY idaction")?,
        ["Test bulk log Pageview", "Another bulk page view"]
    );
    assert_eq!(s.count("tracking_failure")?, 0);
    Ok(())
}

/// The order request of Matomo's system `TrackerTest`
/// (`getEcommerceItemsUrl`), `ec_items` given as its JSON text.
fn order_query(items: &str) -> String {
    format!(
        "idsite=1&idgoal=0&rec=1&url={}&ec_items={}&ec_id=myspecial-id-1234&revenue=16.99&ec_st=12.99&ec_tx=0&ec_sh=3",
        urlencode("http://quellehorreur.com/movies"),
        urlencode(items)
    )
}

/// Matomo's system `TrackerTest` ecommerce cases: item texts are HTML-decoded
/// and trimmed, arrays of SKUs or names joined with commas, an empty
/// `ec_items` is an order without items, a JSON value that is not a list
/// no order at all; the same order id again stores nothing (there the
/// answer is Matomo's page with 400, here a message: MATOMO-DIFFERENCES).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ecommerce_items_as_matomos_tracker_test() -> anyhow::Result<()> {
    let cases: [(serde_json::Value, &[&str]); 3] = [
        (
            serde_json::json!([
                [
                    "&quot;scarysku",
                    "superscarymovie&quot;",
                    "scary &amp; movies",
                    12.99,
                    1
                ],
                ["&gt; scary", "but &lt; &quot;super", "scary&quot;", 14, 15],
                ["&#x27;Foo &#xA9;", " bar ", " baz &#x2603; qux", 16, 17],
            ]),
            &[
                "\"scarysku|superscarymovie\"|scary & movies",
                "> scary|but < \"super|scary\"",
                "'Foo ©|bar|baz ☃ qux",
            ],
        ),
        (
            serde_json::json!([[
                "\"scarysku&",
                "superscarymovie'",
                "scary <> movies",
                12.99,
                1
            ]]),
            &["\"scarysku&|superscarymovie'|scary <> movies"],
        ),
        (
            serde_json::json!([[["sku1", "sku2"], ["name1", "name2"], "category1", 12.99, 1]]),
            &["sku1,sku2|name1,name2|category1"],
        ),
    ];
    for (items, expected) in cases {
        let s = setup(&TrackerConfig::default())?;
        let a = s.get(&order_query(&items.to_string())).await?;
        assert_eq!((a.status, a.body.as_slice()), (200, GIF), "{}", a.text());
        assert_eq!(s.count("log_conversion")?, 1);
        assert_eq!(s.item_names()?, expected);
    }

    // testTrackingEcommerceOrderDoesNotFailWhenEmptyEcommerceItemsParamUsed
    let s = setup(&TrackerConfig::default())?;
    let a = s.get(&order_query("")).await?;
    assert_eq!((a.status, a.body.as_slice()), (200, GIF), "{}", a.text());
    assert_eq!(s.count("log_conversion")?, 1);
    assert_eq!(s.count("log_conversion_item")?, 0);
    // testTrackingEcommerceOrderFailsWhenNonUniqueOrderIsUsed (no items here)
    let a = s.get(&order_query("")).await?;
    assert_eq!(a.status, 400);
    assert!(a.text().contains("non-unique"), "{}", a.text());
    assert_eq!(s.count("log_conversion")?, 1);

    // Invalid JSON is `null` for PHP, "empty": an order without items.
    let s = setup(&TrackerConfig::default())?;
    let a = s.get(&order_query(r#"[["sku1","#)).await?;
    assert_eq!((a.status, a.body.as_slice()), (200, GIF), "{}", a.text());
    assert_eq!(s.count("log_conversion")?, 1);
    assert_eq!(s.count("log_conversion_item")?, 0);

    // ...DoesNotFailWhenNonArrayUsedWithEcommerceItemsParam: `45`.
    let s = setup(&TrackerConfig::default())?;
    let a = s.get(&order_query("45")).await?;
    assert_eq!((a.status, a.body.as_slice()), (200, GIF), "{}", a.text());
    assert_eq!(s.count("log_conversion")?, 0);
    assert_eq!(s.count("log_conversion_item")?, 0);
    Ok(())
}

/// testTrackingWithLangParameterForwardsLangParameterToDefaultLocationProvider:
/// without GeoIP the country comes from `lang`, which wins over the header.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lang_parameter_gives_the_country() -> anyhow::Result<()> {
    let s = setup(&TrackerConfig::default())?;
    let a = s
        .send(
            "GET",
            "/matomo.php?idsite=1&rec=1&action_name=test&lang=fr-be",
            &[("accept-language", "de-de")],
            "",
        )
        .await?;
    assert_eq!((a.status, a.body.as_slice()), (200, GIF));
    assert_eq!(
        s.strings("SELECT location_country AS s FROM log_visit")?,
        ["be"]
    );
    Ok(())
}

/// Matomo's integration `TrackerTest`: the action name is numbered before
/// the URL (stored without `http://www.`); outlink and download URLs keep
/// their fragment, and the download's `&` is stored HTML-escaped (`&amp;`,
/// as `getRequestVar` returns every parameter; `TrackerTest.php` asserts
/// `#fragment-here&amp;pk_campaign=...`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stored_actions_as_matomos_integration_tracker_test() -> anyhow::Result<()> {
    let s = setup(&TrackerConfig::default())?;
    let a = s
        .get(&format!(
            "idsite=1&url={}&action_name=test&rec=1",
            urlencode("http://www.example.com")
        ))
        .await?;
    assert_eq!(a.status, 200, "{}", a.text());
    assert_eq!(
        s.strings("SELECT CONCAT(idaction, ' ', name) AS s FROM log_action ORDER BY idaction")?,
        ["1 test", "2 example.com"]
    );

    let outlink = "http://example.com/outlink#fragment-here";
    let download =
        "http://example.com/file.zip#fragment-here&pk_campaign=Campaign param accepted here";
    for (kind, url) in [("link", outlink), ("download", download)] {
        let a = s
            .get(&format!("idsite=1&{kind}={}&rec=1", urlencode(url)))
            .await?;
        assert_eq!(a.status, 200, "{}", a.text());
    }
    assert_eq!(
        s.strings("SELECT name AS s FROM log_action WHERE type IN (2, 3) ORDER BY idaction")?,
        [
            "http://example.com/outlink#fragment-here",
            "http://example.com/file.zip#fragment-here&amp;pk_campaign=Campaign param accepted here",
        ]
    );

    // testMainShouldReadValuesFromGETandPOSTifNoRequestSet: the query and a
    // form body make one request.
    let a = s
        .send(
            "POST",
            "/matomo.php?idsite=1&rec=1",
            &[("content-type", "application/x-www-form-urlencoded")],
            "url=http%3A%2F%2Flocalhost%2Fpost",
        )
        .await?;
    assert_eq!((a.status, a.body.as_slice()), (200, GIF), "{}", a.text());
    assert_eq!(
        s.strings(
            "SELECT name AS s FROM log_action WHERE type = 1 ORDER BY idaction DESC LIMIT 1"
        )?,
        ["localhost/post"]
    );
    Ok(())
}

/// testTrackingNewVisitOfKnownVisitor: `new_visit=1` two seconds after a
/// page view starts a second visit of the same visitor, a returning one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn new_visit_of_a_known_visitor_is_returning() -> anyhow::Result<()> {
    let s = setup(&TrackerConfig::default())?;
    let first = 1_438_847_589; // 2015-08-06 07:53:09 UTC
    let base = format!(
        "idsite=1&rec=1&_id=1a2b3c4d5e6f7081&token_auth={TOKEN}&url=http%3A%2F%2Fexample.org%2F"
    );
    let a = s
        .get(&format!("{base}&cdt={first}&action_name=page%20view"))
        .await?;
    assert_eq!(a.status, 200, "{}", a.text());
    let a = s
        .get(&format!(
            "{base}&cdt={}&new_visit=1&action_name=page%20view%202",
            first + 2
        ))
        .await?;
    assert_eq!(a.status, 200, "{}", a.text());
    assert_eq!(s.count("log_visit")?, 2);
    assert_eq!(
        s.strings(
            "SELECT CAST(COUNT(DISTINCT idvisitor) AS CHAR) AS s FROM log_visit WHERE visitor_returning = 1"
        )?,
        ["1"]
    );
    Ok(())
}

/// `BulkTracking`'s integration `TrackerTest` (testMainShouldActuallyTrack,
/// ...ReturnBulkTrackingResponse): requests to two sites without a token
/// are two visits, the first of site 1, the second of site 2.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bulk_to_two_sites_tracks_a_visit_each() -> anyhow::Result<()> {
    let s = setup_sites(&TrackerConfig::default(), true)?;
    let body = r#"{"requests":[{"idsite":1,"rec":"1"},{"idsite":2,"rec":"1"}]}"#;
    let a = s.send("POST", "/matomo.php", &[], body).await?;
    assert_eq!(a.text(), r#"{"status":"success","tracked":2,"invalid":0}"#);
    assert_eq!(
        s.strings("SELECT CONCAT(idvisit, ':', idsite) AS s FROM log_visit ORDER BY idvisit")?,
        ["1:1", "2:2"]
    );
    Ok(())
}

/// testArchiveInvalidationDifferentServerAndWebsiteTimezones: a request
/// for "now" is today in the site's time zone, even where the UTC date is
/// another day, so no archive is invalidated; one of yesterday (local) is.
/// Pago Pago (UTC-11) is a day behind UTC until 11:00 UTC, when a "today"
/// taken in UTC would invalidate its requests; Kiritimati (UTC+14) a day
/// ahead from 10:00 UTC.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn today_in_the_site_time_zone_invalidates_nothing() -> anyhow::Result<()> {
    let s = setup_sites(&TrackerConfig::default(), true)?;
    diesel::sql_query(
        "UPDATE site SET timezone = IF(idsite = 1, 'Pacific/Pago_Pago', 'Pacific/Kiritimati')",
    )
    .execute(&mut s.db.conn()?)?;
    // The time zones are read with the sites: a tracker started now.
    let s = Setup {
        router: router(Tracker::start(s.db.pool()?, &TrackerConfig::default())?),
        db: s.db,
    };
    for idsite in [1, 2] {
        let a = s
            .get(&format!(
                "idsite={idsite}&rec=1&url=http%3A%2F%2Fexample.org%2F"
            ))
            .await?;
        assert_eq!(a.status, 200, "{}", a.text());
    }
    assert_eq!(s.count("archive_invalidations")?, 0);
    let yesterday = time::OffsetDateTime::now_utc().unix_timestamp() - 86_400 - 15 * 3600;
    let a = s
        .get(&format!(
            "idsite=1&rec=1&cdt={yesterday}&token_auth={TOKEN}&url=http%3A%2F%2Fexample.org%2F"
        ))
        .await?;
    assert_eq!(a.status, 200, "{}", a.text());
    assert_eq!(s.count("archive_invalidations")?, 1);
    Ok(())
}

/// `Visit::checkSiteExists` runs before any other check: a request naming
/// no site (`idsite` missing, 0 or not a number) is a failure of site 0,
/// which Matomo records on purpose ("a common issue"), and an unknown site
/// is recorded even when another parameter is invalid too; a negative id
/// is not recorded. Each is answered 400 and stores nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_naming_no_site_are_failures_of_site_0() -> anyhow::Result<()> {
    let s = setup(&TrackerConfig::default())?;
    for query in [
        "rec=1&url=http%3A%2F%2Fexample.org%2F",
        "idsite=abc&rec=1",
        "idsite=-1&rec=1",
        "idsite=77&rec=1&cid=xyz",
        "idsite=1&rec=1&cid=xyz",
    ] {
        let a = s.get(query).await?;
        assert_eq!(a.status, 400, "{query}: {}", a.text());
    }
    assert_eq!(
        s.strings(
            "SELECT CONCAT(idsite, ' ', idfailure, ' ', request_url) AS s FROM tracking_failure ORDER BY idsite"
        )?,
        [
            "0 1 rec=1&url=http%3A%2F%2Fexample.org%2F",
            "77 1 idsite=77&rec=1&cid=xyz",
        ]
    );
    assert_eq!(s.count("log_visit")?, 0);
    Ok(())
}
