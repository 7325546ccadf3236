//! Row limits and the summary ("Others") row against Matomo's system tests.
//!
//! - `OneVisitorLongUrlsTruncatedTest` (fixture `SomeVisitsWithLongUrls`):
//!   one visitor, seven visits on 2010-03-06, the first with thirteen page
//!   views from a Bing search, the others one page view each from Google,
//!   Yahoo and Bing searches; the API truncates with `filter_truncate=2`
//!   and `expanded=1`.
//! - `BlobReportLimitingTest` (fixture `ManyVisitsWithMockLocationProvider`):
//!   on 2010-01-03 and the two days before, 25 visitors a day with five
//!   one-action visits each (page views from websites and search engines
//!   with page custom variables, downloads and outlinks each followed by a
//!   site search, events, content impressions and interactions), every
//!   visitor with its own user id, user agent, resolution and one of four
//!   cities; 25 product page views on 2010-01-04. Archived with the test's
//!   low row limits (`datatable_archiving_maximum_rows_*`).
//!
//! Left out of the replay: the fixture's custom dimension values are sent
//! but not checked (Matomo's outputs there depend on its ranking query),
//! nor are its 2015 visits (Insights, the `-1` event labels).

use serde_json::{Value, json};
use tally_db::test_support::TestDb;
use tally_reporting::Api;
use time::macros::datetime;
use time::{Duration, PrimitiveDateTime};

use crate::common::{NOW, encode, matomo_site, reporting_api, send, tracker_routes};
use crate::php_tracker::{At, PhpTracker};

/// An API call answered at [`NOW`] with its body as text.
async fn text(api: &Api, token: &str, query: &str) -> anyhow::Result<String> {
    Ok(String::from_utf8(
        crate::common::api_body(api, token, query).await?,
    )?)
}

/// `$dateTime` of `SomeVisitsWithLongUrls`.
const LONG_URLS: PrimitiveDateTime = datetime!(2010-03-06 01:22:33);

/// The traffic of `SomeVisitsWithLongUrls`, as its PHP tracker sends it.
async fn long_urls() -> anyhow::Result<(TestDb, String)> {
    let (db, token) = matomo_site(LONG_URLS, |_| {}, &[])?;
    let router = tracker_routes(&db, &tally_tracking::http::TrackerConfig::default())?;
    let mut t = PhpTracker::new(1, &token, "a000000000000001", LONG_URLS);
    t.referrer = "http://bing.com/search?q=Hello world".to_owned();
    for page in [
        "category/Page1",
        "category/Page2",
        "category/Page3",
        "category/Page3",
        "category/Page4",
        "category/Page4",
        "category/Page4",
        "category.htm",
        "page.htm",
        "index.htm",
        "page.htm",
        "page.htm",
        "contact.htm",
    ] {
        t.url = format!("http://example.org/{page}");
        let query = t.page_view("Hello");
        t.ok(&router, &query).await?;
    }
    for (hours, referrer) in [
        (1, "http://www.google.com.vn/url?q=Salut"),
        (2, "http://www.google.com.vn/url?q=Kia Ora"),
        (3, "http://www.google.com.vn/url?q=Kia Ora"),
        (4, "http://nz.search.yahoo.com/search?p=Kia Ora"),
        (
            5,
            "http://images.search.yahoo.com/search/images;_ylt=A2KcWcNKJzF?p=Kia%20Ora%20",
        ),
        (6, "http://nz.bing.com/images/search?q=+++Kia+ora+++"),
    ] {
        t.at = At::Datetime(LONG_URLS + Duration::hours(hours));
        t.referrer = referrer.to_owned();
        let query = t.page_view("incredible title!");
        t.ok(&router, &query).await?;
    }
    Ok((db, token))
}

/// A report's rows as `label:nb_visits` (`label:a<nb_actions>` without
/// visits), each expanded subtable in
/// brackets after its row, rows separated by `, `.
fn shape(rows: &Value) -> String {
    rows.as_array()
        .map(|rows| {
            rows.iter()
                .map(|row| {
                    let label = row["label"]
                        .as_str()
                        .map_or_else(|| row["label"].to_string(), str::to_owned);
                    // Page-scope custom variable names count actions only.
                    let mut text = match row.get("nb_visits") {
                        Some(visits) => format!("{label}:{visits}"),
                        None => format!("{label}:a{}", row["nb_actions"]),
                    };
                    if row.get("subtable").is_some() {
                        text.push_str(&format!("[{}]", shape(&row["subtable"])));
                    }
                    text
                })
                .collect::<Vec<_>>()
                .join(", ")
        })
        .unwrap_or_else(|| rows.to_string())
}

/// `method` of site 1 as JSON (`date` and the rest in `extra`).
async fn json(api: &Api, token: &str, method: &str, extra: &str) -> anyhow::Result<Value> {
    let body = text(
        api,
        token,
        &format!("method={method}&idSite=1&format=json&expanded=1{extra}"),
    )
    .await?;
    Ok(serde_json::from_str(&body)?)
}

// test_OneVisitor_LongUrlsTruncated__*_day.xml: the same rows and values,
// `language=fr` apart (Matomo's "Autres" and "100 %"; we answer in English).
#[tokio::test]
async fn long_urls_truncated_give_matomos_reports() -> anyhow::Result<()> {
    let (db, token) = long_urls().await?;
    let api = reporting_api(&db)?;
    let day = "&period=day&date=2010-03-06&filter_truncate=2&language=fr";

    let pages = json(&api, &token, "Actions.getPageUrls", day).await?;
    assert_eq!(
        shape(&pages),
        "/contact.htm:7, category:4[/Page1:1, /Page2:1, Others:2], Others:3"
    );
    // The rows folded into "Others" are summed, entry columns included
    // only where a folded row had them (none did).
    let others = &pages[2];
    assert_eq!(
        (
            &others["nb_hits"],
            &others["nb_uniq_visitors"],
            &others["bounce_rate"]
        ),
        (&json!(5), &json!(3), &json!("0%"))
    );
    assert!(others.get("entry_nb_visits").is_none(), "{others}");
    assert!(others.get("segment").is_none(), "{others}");
    let folder_others = &pages[1]["subtable"][2];
    assert_eq!(
        (
            &folder_others["nb_hits"],
            &folder_others["nb_uniq_visitors"]
        ),
        (&json!(5), &json!(2))
    );
    assert_eq!(
        pages[1]["segment"],
        json!("pageUrl=^http%253A%252F%252Fpiwik.net%252Fcategory")
    );

    let keywords = json(&api, &token, "Referrers.getKeywords", day).await?;
    assert_eq!(
        shape(&keywords),
        "kia ora:5[Google:2, Bing Images:1, Others:2], hello world:1[Bing:1], salut:1[Google:1]"
    );
    assert_eq!(keywords[0]["subtable"][2]["nb_uniq_visitors"], json!(2));
    assert_eq!(keywords[1]["nb_actions"], json!(13));

    let plugins = json(&api, &token, "DevicePlugins.getPlugin", day).await?;
    assert_eq!(shape(&plugins), "Cookie:7, Flash:7, Others:7");
    assert_eq!(plugins[2]["nb_visits_percentage"], json!("100%"));
    assert!(plugins[2].get("logo").is_none(), "{plugins}");
    Ok(())
}

/// `ManyVisitsWithMockLocationProvider`'s user agents, resolutions and
/// page referrers, indexed as the fixture indexes them.
const MANY_UAS: [&str; 15] = [
    "Mozilla/5.0 (X11; Linux i686; rv:6.0) Gecko/20100101 Firefox/6.0",
    "Mozilla/5.0 (X11; Linux i686; rv:6.0) Gecko/20100101 Firefox/6.0",
    "Mozilla/5.0 (Windows; U; Windows NT 6.1; fr; rv:1.9.1.6) Gecko/20100101 Firefox/6.0",
    "Mozilla/5.0 (Windows; U; Windows NT 6.1; en-US) AppleWebKit/532.0 (KHTML, like Gecko) Chrome/3.0.195.38 Safari/532.0",
    "Mozilla/5.0 (X11; Linux i686; rv:6.0) AppleWebKit/532.0 (KHTML, like Gecko) Chrome/3.0.195.38 Safari/532.0",
    "Mozilla/5.0 (X11; U; Linux x86_64; en-us) AppleWebKit/531.2+ (KHTML, like Gecko) Version/5.0 Safari/531.2+",
    "Mozilla/5.0 (iPad; CPU OS 6_0 like Mac OS X) AppleWebKit/531.2+ (KHTML, like Gecko) Version/5.0 Safari/531.2+",
    "Mozilla/5.0 (iPad; CPU OS 6_0 like Mac OS X) Gecko/20100101 Firefox/14.0.1",
    "Mozilla/5.0 (Linux; U; Android 4.0.3; ko-kr; LG-L160L Build/IML74K) Gecko/20100101 Firefox/14.0.1",
    "Mozilla/5.0 (Linux; U; Android 4.0.3; ko-kr; LG-L160L Build/IML74K) AppleWebKit/537.1 (KHTML, like Gecko) Chrome/22.0.1207.1 Safari/537.1",
    "Mozilla/5.0 (compatible; MSIE 10.6; Linux; U; Android 4.0.3; ko-kr; LG-L160L Build/IML74K; Trident/5.0; InfoPath.2; SLCC1; .NET CLR 3.0.4506.2152; .NET CLR 3.5.30729; .NET CLR 2.0.50727) 3gpp-gba UNTRUSTED/1.0",
    "Opera/9.80 (iPod; U; CPU iPhone OS 4_3_3 like Mac OS X; ja-jp) Presto/2.9.181 Version/12.00",
    "Mozilla/5.0 (compatible; MSIE 10.0; Windows 8; Trident/5.0)",
    "Mozilla/5.0 (compatible; MSIE 10.0; Windows Vista; Trident/5.0)",
    "Opera/9.80 (Macintosh; Intel Mac OS X 10.6.8; U; fr) Presto/2.9.168 Version/11.52",
];
const MANY_RESOLUTIONS: [&str; 15] = [
    "1920x1080",
    "1920x1080",
    "1920x1080",
    "1920x1080",
    "1366x768",
    "1366x768",
    "1366x768",
    "1280x1024",
    "1280x1024",
    "1280x1024",
    "1680x1050",
    "1680x1050",
    "1024x768",
    "800x600",
    "320x480",
];
const MANY_REFERRERS: [&str; 20] = [
    "http://whatever0.com/0",
    "http://whatever0.com/0",
    "http://whatever0.com/1",
    "http://whatever0.com/2",
    "http://whatever1.com/0",
    "http://whatever.com1/1",
    "http://whatever1.com/2",
    "http://whatever3.com/3",
    "http://www.google.com/search?q=this+search+term",
    "http://www.google.com/search?q=that+search+term",
    "http://search.yahoo.com/search?p=this+search+term",
    "http://search.yahoo.com/search?p=that+search+term",
    "http://www.ask.com/web?q=this+search+term",
    "http://www.bing.com/search?q=search+term+1",
    "http://search.babylon.com/?q=search+term+2",
    "http://alexa.com/search?q=search+term+2",
    "http://www.google.com/search?q=search+term+3",
    "http://search.yahoo.com/search?p=search+term+4",
    "http://www.ask.com/web?q=search+term+3",
    "http://www.bing.com/search?q=search+term+4",
];
/// The mock location provider's cities, handed out in turn to each new IP
/// (`country`, `region`, `city` sent with the token instead).
const MANY_LOCATIONS: [(&str, &str, &str); 4] = [
    ("ca", "ON", "Toronto"),
    ("fr", "PAC", "Nice"),
    ("au", "VIC", "Melbourne"),
    ("jp", "14", "Yokohama"),
];

/// The state a `MatomoTracker` object of the fixture keeps between calls.
struct ManyTracker {
    requests: Vec<String>,
    visitor: usize,
    ip: String,
    location: usize,
    at: PrimitiveDateTime,
    url: String,
    referrer: String,
    dimensions: Vec<(u32, String)>,
    page_cvars: Option<Value>,
    page_views: usize,
}

impl ManyTracker {
    fn new(at: PrimitiveDateTime) -> Self {
        Self {
            requests: Vec::new(),
            visitor: 0,
            ip: "156.5.3.2".to_owned(),
            location: 0,
            at,
            url: String::new(),
            referrer: String::new(),
            dimensions: Vec::new(),
            page_cvars: None,
            page_views: 0,
        }
    }

    fn set_dimension(&mut self, id: u32, value: usize) {
        match self.dimensions.iter_mut().find(|(slot, _)| *slot == id) {
            Some(slot) => slot.1 = value.to_string(),
            None => self.dimensions.push((id, value.to_string())),
        }
    }

    /// `getRequest` with the fixture's settings, then `extra`.
    fn push(&mut self, extra: &str) {
        let cdt = self
            .at
            .format(time::macros::format_description!(
                "[year]-[month]-[day] [hour]:[minute]:[second]"
            ))
            .unwrap_or_default();
        let (country, region, city) = MANY_LOCATIONS[self.location % 4];
        let mut query = format!(
            "?idsite=1&rec=1&apiv=1&r=123456&cip={}&cdt={}&_idts=1700000000&fla=1&java=1&qt=0\
             &realp=0&pdf=0&wma=0&ag=0&cookie=1&h=12&m=34&s=6&res={}&uid=user{}\
             &ua={}&lang=fr&country={country}&region={region}&city={city}",
            self.ip,
            encode(&cdt),
            MANY_RESOLUTIONS[self.visitor % 15],
            self.visitor,
            encode(MANY_UAS[self.visitor % 15]),
        );
        if let Some(cvars) = self.page_cvars.take() {
            query.push_str(&format!("&cvar={}", encode(&cvars.to_string())));
        }
        query.push_str(&format!(
            "&_id={:016x}&url={}&urlref={}",
            self.visitor + 1,
            encode(&self.url),
            encode(&self.referrer)
        ));
        for (id, value) in &self.dimensions {
            query.push_str(&format!("&dimension{id}={value}"));
        }
        if self.page_views > 0 {
            query.push_str(&format!("&pv_id=pv{:04}", self.page_views));
        }
        query.push_str(extra);
        self.requests.push(query);
    }
}

/// `ManyVisitsWithMockLocationProvider::trackActions`.
fn many_actions(
    t: &mut ManyTracker,
    counter: &mut usize,
    random: usize,
    kind: &str,
    referrers: bool,
    cvars: &[(&'static str, &[Value])],
) {
    let day = t.at;
    for i in random..random + 5 {
        let vc = *counter;
        t.visitor = vc;
        t.ip = format!("156.5.3.{vc}");
        t.location = vc % 4;
        t.url = format!("http://piwik.net/{vc}/");
        t.referrer = String::new();
        t.at = day;
        t.set_dimension(1, i * 5);
        many_action(t, kind, vc, None);
        for j in 0..4 {
            let action = vc * 4 + j;
            let index = i * 4 + j;
            t.url = format!("http://piwik.net/{vc}/{action}");
            #[expect(clippy::cast_possible_wrap, reason = "small")]
            let hours = (j + 1) as i64;
            t.at = day + Duration::hours(hours);
            t.set_dimension(2, i * 5 + j);
            t.referrer = if referrers {
                MANY_REFERRERS[index % 20].to_owned()
            } else {
                String::new()
            };
            if !cvars.is_empty() {
                let mut object = serde_json::Map::new();
                for (k, (name, values)) in cvars.iter().enumerate() {
                    object.insert(
                        (k + 1).to_string(),
                        json!([name, values[index % values.len()]]),
                    );
                }
                t.page_cvars = Some(Value::Object(object));
            }
            many_action(t, kind, vc, Some(action));
        }
        *counter += 1;
    }
    t.at = day;
}

/// `ManyVisitsWithMockLocationProvider::trackAction`.
fn many_action(t: &mut ManyTracker, kind: &str, vc: usize, action: Option<usize>) {
    match kind {
        "pageview" => {
            t.page_views += 1;
            let title = match action {
                None => format!("title_{vc}"),
                Some(n) => format!("title_{vc} / title_{n}"),
            };
            t.push(&format!("&action_name={}", encode(&title)));
        }
        "download" => {
            let url = match action {
                None => format!("http://cloudsite{vc}.com/download"),
                Some(n) => format!("http://cloudsite{vc}.com/{n}/download"),
            };
            t.push(&format!("&download={}", encode(&url)));
        }
        "outlink" => {
            let url = match action {
                None => format!("http://othersite{vc}.com/"),
                Some(n) => format!("http://othersite{vc}.com/{n}/"),
            };
            t.push(&format!("&link={}", encode(&url)));
        }
        "event" => t.push(&format!(
            "&e_c={}&e_a={}&e_n={}",
            encode(&format!("event category {}", vc % 6)),
            encode(&format!("event action {}", vc % 7)),
            encode(&format!("event name{}", vc % 5)),
        )),
        _ => {
            let name = encode(&format!("content name {vc}"));
            let piece = encode(&format!("content piece {vc}"));
            t.push(&format!("&c_n={name}&c_p={piece}"));
            if vc.is_multiple_of(2) {
                t.push(&format!("&c_i=click&c_n={name}&c_p={piece}"));
            }
        }
    }
    if matches!(kind, "download" | "outlink") {
        let keyword = match action {
            None => "keyword".to_owned(),
            Some(n) => format!("keyword{n}"),
        };
        t.push(&format!("&search={keyword}"));
    }
}

/// `ManyVisitsWithMockLocationProvider::trackVisits($random)` on `day`.
fn many_visits(day: PrimitiveDateTime, random: usize) -> Vec<String> {
    let mut t = ManyTracker::new(day);
    let mut counter = random;
    let page_cvars: [(&str, &[Value]); 4] = [
        (
            "name",
            &[
                json!("thing0"),
                json!("thing1"),
                json!("thing2"),
                json!("thing3"),
                json!("thing4"),
                json!("thing5"),
                json!("thing6"),
                json!("thing7"),
                json!("thing8"),
                json!("thing9"),
                json!("thing10"),
                json!("thing11"),
                json!("thing12"),
                json!("thing13"),
                json!("thing14"),
                json!("thing15"),
                json!("thing16"),
                json!("thing17"),
                json!("thing18"),
                json!("thing19"),
            ],
        ),
        (
            "rating",
            &[
                json!(1),
                json!(2),
                json!(3),
                json!(4),
                json!(5),
                json!(6),
                json!(7),
                json!(8),
                json!(9),
                json!(10),
                json!(1),
                json!(2),
                json!(3),
                json!(4),
                json!(5),
                json!(6),
                json!(7),
                json!(8),
                json!(9),
                json!(20),
            ],
        ),
        (
            "tweeted",
            &[
                json!("y"),
                json!("n"),
                json!("m"),
                json!("n"),
                json!("y"),
                json!("n"),
                json!("y"),
                json!("n"),
                json!("y"),
                json!("n"),
                json!("y"),
                json!("n"),
                json!("y"),
                json!("n"),
                json!("y"),
                json!("n"),
                json!("m"),
                json!("n"),
                json!("m"),
                json!("n"),
            ],
        ),
        (
            "liked",
            &[
                json!("yes"),
                json!("y"),
                json!("y"),
                json!("no"),
                json!("y"),
                json!("y"),
                json!("y"),
                json!("y"),
                json!("y"),
                json!("y"),
                json!("y"),
                json!("y"),
                json!("y"),
                json!("y"),
                json!("y"),
                json!("y"),
                json!("y"),
                json!("y"),
                json!("no"),
                json!("n"),
            ],
        ),
    ];
    let sizes = [
        1024, 1024, 1024, 2048, 2048, 3072, 3072, 3072, 3072, 4096, 4096, 4096, 512, 512, 256, 128,
        64, 32, 48, 48,
    ]
    .map(|size| json!(size));
    let download_cvars: [(&str, &[Value]); 1] = [("size", &sizes)];
    many_actions(&mut t, &mut counter, random, "pageview", true, &page_cvars);
    many_actions(
        &mut t,
        &mut counter,
        random,
        "download",
        false,
        &download_cvars,
    );
    many_actions(&mut t, &mut counter, random, "outlink", false, &[]);
    many_actions(&mut t, &mut counter, random, "event", false, &[]);
    many_actions(&mut t, &mut counter, random, "content", false, &[]);
    t.requests
}

/// `ManyVisitsWithMockLocationProvider::trackOrders`: the next day, 25
/// visitors each view one book's product page. The tracker's URL is the
/// PHP process's own (`http://localhost/` in Matomo's test runs).
fn many_orders() -> Vec<String> {
    let mut t = ManyTracker::new(MANY + Duration::days(1));
    (0..25)
        .map(|i| {
            let (country, region, city) = MANY_LOCATIONS[(65 + i) % 4];
            t.page_views += 1;
            format!(
                "?idsite=1&rec=1&apiv=1&r=123456&cip=155.5.4.{i}&cdt={}&_idts=1700000000&fla=1\
                 &java=1&qt=0&realp=0&pdf=0&wma=0&ag=0&cookie=1&h=12&m=34&s=6&res=1024x768\
                 &uid=user{}&ua={}&lang=fr&country={country}&region={region}&city={city}\
                 &_id={:016x}&url={}&urlref=&pv_id=pv{:04}&_pkc={}&_pkp=7.5&_pks=id_book{i}\
                 &_pkn=Book{i}&action_name=bought%20book",
                encode("2010-01-04 01:22:33"),
                i + 10000,
                encode(crate::php_tracker::FIXTURE_UA),
                i + 10000,
                encode("http://localhost/"),
                t.page_views,
                encode(&format!("Books Cat #{}", i % 5)),
            )
        })
        .collect()
}

/// `$dateTime` of `ManyVisitsWithMockLocationProvider`.
const MANY: PrimitiveDateTime = datetime!(2010-01-03 01:22:33);

/// The fixture of `BlobReportLimitingTest`: its site, two custom
/// dimensions (visit `testdim`, action `testdim2`) and the visits of
/// 2010-01-03 and the two days before (its `trackVisitsForDaysInPast = 2`).
async fn many_visits_site() -> anyhow::Result<(TestDb, String)> {
    many_visits_days(2).await
}

/// `ManyVisitsWithMockLocationProvider` with `trackVisitsForDaysInPast`
/// days of visits before 2010-01-03 (0 by default, up to 2 here), then the
/// product orders of 2010-01-04.
pub(crate) async fn many_visits_days(days_in_past: i64) -> anyhow::Result<(TestDb, String)> {
    use diesel::RunQueryDsl as _;
    let (db, token) = matomo_site(MANY, |site| site.ecommerce = Some(true), &[])?;
    {
        let mut conn = db.conn()?;
        diesel::sql_query(
            "INSERT INTO custom_dimensions (idcustomdimension, idsite, name, `index`, scope, \
             active, extractions) VALUES (1, 1, 'testdim', 1, 'visit', 1, '[]'), \
             (2, 1, 'testdim2', 1, 'action', 1, '[]')",
        )
        .execute(&mut conn)?;
    }
    let router = tracker_routes(&db, &tally_tracking::http::TrackerConfig::default())?;
    for (days, random) in [(0, 0), (1, 20), (2, 40), (-1, 0)]
        .into_iter()
        .filter(|(days, _)| *days <= days_in_past)
    {
        let requests = if days < 0 {
            many_orders()
        } else {
            many_visits(MANY - Duration::days(days), random)
        };
        let count = requests.len();
        let bulk = json!({ "requests": requests, "token_auth": token });
        let answer = send(
            &router,
            axum::http::Request::post("/matomo.php")
                .body(axum::body::Body::from(bulk.to_string()))?,
        )
        .await?;
        anyhow::ensure!(answer.status == 200, "{}", answer.text());
        let body: Value = serde_json::from_slice(&answer.body)?;
        anyhow::ensure!(body["tracked"] == json!(count), "{body}");
    }
    Ok((db, token))
}

/// `BlobReportLimitingTest::setUpConfigOptions`.
fn limiting_config() -> tally_archiving::ArchivingConfig {
    tally_archiving::ArchivingConfig {
        datatable_archiving_maximum_rows_referrers: 3,
        datatable_archiving_maximum_rows_subtable_referrers: 2,
        datatable_archiving_maximum_rows_actions: 4,
        datatable_archiving_maximum_rows_custom_dimensions: 3,
        datatable_archiving_maximum_rows_subtable_custom_dimensions: 2,
        datatable_archiving_maximum_rows_subtable_actions: 2,
        datatable_archiving_maximum_rows_standard: 3,
        datatable_archiving_maximum_rows_userid_users: 3,
        datatable_archiving_maximum_rows_events: 3,
        datatable_archiving_maximum_rows_subtable_events: 2,
        datatable_archiving_maximum_rows_site_search: 5,
        ..tally_archiving::ArchivingConfig::default()
    }
}

fn limiting_api(db: &TestDb) -> anyhow::Result<Api> {
    let config = limiting_config();
    Ok(Api::new(
        db.pool()?,
        tally_archiving::Registry::core_with(&config),
        config,
        tally_reporting::ReportingConfig::default(),
    ))
}

// test_reportLimiting__*_{day,month}.xml: the row limits of
// `setUpConfigOptions` applied when archiving the day and the month (built
// from its days' truncated tables), with the rows "Others" takes.
#[tokio::test]
async fn blob_report_limiting_gives_matomos_reports() -> anyhow::Result<()> {
    let (db, token) = many_visits_site().await?;
    let api = limiting_api(&db)?;
    let day = "&period=day&date=2010-01-03";
    let month = "&period=month&date=2010-01-03";
    for (method, period, expected) in [
        (
            "Actions.getPageUrls",
            day,
            "0:5[/index:1, Others:4], 1:5[/index:1, Others:4], 2:5[/index:1, Others:4], Others:10",
        ),
        (
            "Actions.getPageUrls",
            month,
            "/index:25, 0:5[/index:1, Others:4], 1:5[/index:1, Others:4], Others:65",
        ),
        (
            "Actions.getDownloads",
            day,
            "cloudsite5.com:5[/20/download:1, Others:4], cloudsite6.com:5[/24/download:1, Others:4], \
             cloudsite7.com:5[/28/download:1, Others:4], Others:10",
        ),
        (
            "Actions.getSiteSearchKeywords",
            day,
            "keyword:10, keyword20:1, keyword21:1, keyword22:1, Others:37",
        ),
        (
            "Referrers.getWebsites",
            day,
            "whatever0.com:4[http://whatever0.com/0:2, Others:2], \
             whatever1.com:2[http://whatever1.com/0:1, http://whatever1.com/2:1], Others:2",
        ),
        (
            "Referrers.getKeywords",
            day,
            "this search term:3[Ask:1, Others:2], search term 2:2[Alexa:1, Babylon:1], Others:7",
        ),
        (
            "Referrers.getSearchEngines",
            day,
            "Google:3[search term 3:1, Others:2], Yahoo!:3[search term 4:1, Others:2], Others:6",
        ),
        (
            "Referrers.getReferrerType",
            day,
            "Direct Entry:105, Search Engines:12[search term 2:2, this search term:3, Others:7], \
             Websites:8[whatever0.com:4, whatever1.com:2, Others:2]",
        ),
        (
            "Referrers.getAll",
            day,
            "whatever0.com:4, this search term:3, search term 2:2, whatever1.com:2, Others:9",
        ),
        (
            "Resolution.getResolution",
            month,
            "1920x1080:80, 1280x1024:60, Others:260",
        ),
        (
            "DevicesDetection.getBrowserVersions",
            day,
            "Firefox 6.0:30, Chrome 3.0:20, Others:75",
        ),
        (
            "UserCountry.getCity",
            day,
            "Toronto, Unknown, Canada:35, Melbourne, Unknown, Australia:30, Others:60",
        ),
        ("UserId.getUsers", month, "user0:5, user1:5, Others:390"),
        (
            "Events.getCategory",
            day,
            "event category 0:5[event action 4:5], event category 1:5[event action 5:5], Others:15",
        ),
        (
            "Events.getName",
            month,
            "event name0:15[event action 0:5, Others:10], event name1:15[event action 0:5, Others:10], Others:45",
        ),
        (
            "CustomVariables.getCustomVariables",
            day,
            "liked:a20[y:16, Others:4], name:a20[thing0:1, Others:19], Others:a60",
        ),
    ] {
        let answer = json(&api, &token, method, period).await?;
        let expected = expected.split_whitespace().collect::<Vec<_>>().join(" ");
        assert_eq!(shape(&answer), expected, "{method}{period}");
    }

    // What Matomo's logo and URL callbacks give a summary row.
    let cities = json(&api, &token, "UserCountry.getCity", day).await?;
    assert_eq!(
        cities[2]["logo"],
        json!("plugins/Morpheus/icons/dist/flags/xx.png")
    );
    assert!(cities[2].get("country").is_none(), "{cities}");
    let engines = json(&api, &token, "Referrers.getSearchEngines", day).await?;
    assert_eq!(
        (&engines[2]["url"], &engines[2]["logo"]),
        (
            &json!("URL unknown!"),
            &json!("plugins/Morpheus/icons/dist/searchEngines/xx.png")
        )
    );
    let browsers = json(&api, &token, "DevicesDetection.getBrowserVersions", day).await?;
    assert_eq!(
        browsers[2]["logo"],
        json!("plugins/Morpheus/icons/dist/browsers/UNK.png")
    );
    // getAll sums the reports' "Others" rows, `max_actions` included.
    let all = json(&api, &token, "Referrers.getAll", day).await?;
    assert_eq!(
        (&all[4]["max_actions"], all[4].get("referer_type")),
        (&json!(2), None)
    );
    // Product views of the next day, under the products limit.
    let skus = json(
        &api,
        &token,
        "Goals.getItemsSku",
        "&period=day&date=2010-01-04",
    )
    .await?;
    assert_eq!(skus.as_array().map(Vec::len), Some(25));
    assert_eq!(skus[10]["label"], json!("id_book10"));
    Ok(())
}

/// `text` as Matomo's CSV with `convertToUnicode=1` (its default): UTF-16LE
/// behind a byte order mark.
fn utf16_with_bom(text: &str) -> Vec<u8> {
    let mut bytes = vec![0xFF, 0xFE];
    bytes.extend(text.encode_utf16().flat_map(u16::to_le_bytes));
    bytes
}

// CsvExportTest (fixture `TwoVisitsWithContents`, replayed by
// matomo_contents_fixture.rs): test_csvExport_xp0__*_day.csv and
// test_csvExport_multi__Contents.getContentNames_week.csv, byte for byte.
#[tokio::test]
async fn csv_export_gives_matomos_files() -> anyhow::Result<()> {
    let (_db, reports) = crate::matomo_contents_fixture::fixture().await?;
    let day = "period=day&date=2010-01-03&expanded=0&flat=0";
    let weeks = "period=week&date=2010-01-03,2010-01-24&expanded=1";
    for (query, expected) in [
        (
            format!("method=VisitsSummary.get&{day}"),
            "nb_uniq_visitors,nb_users,nb_visits,nb_actions,nb_visits_converted,bounce_count,\
             sum_visit_length,max_actions,bounce_rate,nb_actions_per_visit,avg_time_on_site\n\
             2,0,2,2,0,2,542,1,100%,1,271",
        ),
        (
            format!("method=Contents.getContentNames&{day}"),
            "label,nb_uniq_visitors,nb_visits,nb_impressions,nb_interactions,interaction_rate,\
             metadata_segment\n\
             ImageAd,8,8,8,2,25%,contentName==ImageAd\n\
             Text Ad,6,6,6,4,66.67%,contentName==Text+Ad\n\
             Video Ad,2,2,4,0,0%,contentName==Video+Ad",
        ),
        (
            format!("method=Contents.getContentNames&{weeks}"),
            "date,label,nb_visits,nb_impressions,nb_interactions,sum_daily_nb_uniq_visitors,\
             interaction_rate,metadata_segment\n\
             \"2009-12-28,2010-01-03\",ImageAd,8,8,2,8,25%,contentName==ImageAd\n\
             \"2009-12-28,2010-01-03\",Text Ad,6,6,4,6,66.67%,contentName==Text+Ad\n\
             \"2009-12-28,2010-01-03\",Video Ad,2,4,0,2,0%,contentName==Video+Ad",
        ),
    ] {
        let request = tally_reporting::ApiRequest::from_parts(
            &format!(
                "module=API&{query}&idSite=1&format=csv&token_auth={}",
                reports.token
            ),
            None,
        );
        let api = reports.api.clone();
        let answer = tokio::task::spawn_blocking(move || api.handle_at(&request, NOW)).await?;
        assert_eq!(answer.status, 200, "{query}");
        // The text first, for a readable failure; then every byte.
        let units: Vec<u16> = answer
            .body
            .chunks(2)
            .map(|pair| u16::from_le_bytes([pair[0], pair.get(1).copied().unwrap_or(0)]))
            .collect();
        assert_eq!(
            String::from_utf16_lossy(&units),
            format!("\u{feff}{expected}"),
            "{query}"
        );
        assert_eq!(answer.body, utf16_with_bom(expected), "{query}");
    }
    Ok(())
}
