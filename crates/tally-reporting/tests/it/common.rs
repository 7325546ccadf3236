//! A database with two sites, users with tokens of every access level, and
//! known traffic tracked through the tracker's HTTP routes.

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use tally_db::test_support::TestDb;
use tally_management::{self as management, GoalParams, NewSiteParams, Principal};
use tally_reporting::{Api, ReportingConfig};
use time::macros::datetime;
use time::{OffsetDateTime, PrimitiveDateTime};
use tower::ServiceExt as _;

/// The clock of every API call: reports up to 2026-11-16 are final.
pub(crate) const NOW: OffsetDateTime = datetime!(2026-11-16 12:00 UTC);

/// The rows of `Goals.getDaysToConversion`, in Matomo's order.
pub(crate) const DAYS_TO_CONVERSION: [&str; 14] = [
    "0 days",
    "1 day",
    "2 days",
    "3 days",
    "4 days",
    "5 days",
    "6 days",
    "7 days",
    "8-14 days",
    "15-30 days",
    "31-60 days",
    "61-120 days",
    "121-364 days",
    "365+ days",
];

/// The rows of `Goals.getVisitsUntilConversion`, in Matomo's order.
pub(crate) const VISITS_UNTIL_CONVERSION: [&str; 13] = [
    "1 visit",
    "2 visits",
    "3 visits",
    "4 visits",
    "5 visits",
    "6 visits",
    "7 visits",
    "8 visits",
    "9-14 visits",
    "15-25 visits",
    "26-50 visits",
    "51-100 visits",
    "101+ visits",
];

/// `module=API&<query>&token_auth=<token>` answered at [`NOW`], its body as
/// text (give `format=` in `query`); an answer other than 200 is an error.
pub(crate) async fn api_text(api: &Api, token: &str, query: &str) -> anyhow::Result<String> {
    Ok(String::from_utf8(api_body(api, token, query).await?)?)
}

/// Tokens by role.
pub(crate) struct Tokens {
    pub(crate) superuser: String,
    pub(crate) view: String,
    pub(crate) write: String,
    pub(crate) admin: String,
    /// A user with admin access to site 2 only.
    pub(crate) other_site: String,
}

pub(crate) struct Fixture {
    pub(crate) db: TestDb,
    pub(crate) api: Api,
    pub(crate) tokens: Tokens,
}

pub(crate) struct Answer {
    pub(crate) status: StatusCode,
    pub(crate) content_type: String,
    pub(crate) body: Vec<u8>,
}

impl Answer {
    pub(crate) fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

pub(crate) fn user_with_token(
    conn: &mut diesel::MysqlConnection,
    login: &str,
    access: Option<(&str, u32)>,
) -> anyhow::Result<String> {
    let root = Principal::super_user("test");
    let now = OffsetDateTime::now_utc();
    match access {
        None => management::create_superuser(
            conn,
            login,
            "secret-pw",
            &format!("{login}@example.org"),
            now,
        )?,
        Some((level, idsite)) => {
            management::add_user(
                conn,
                &root,
                login,
                "secret-pw",
                &format!("{login}@example.org"),
                Some(idsite),
                now,
            )?;
            management::set_user_access(conn, &root, login, level, &[idsite])?;
        }
    }
    Ok(management::create_app_specific_token(
        conn, &root, login, "", "test", None, now,
    )?)
}

/// A visit's hits: `(seconds after the visit start, URL path, title)`.
pub(crate) type Hits<'a> = &'a [(i64, &'a str, &'a str)];

/// One tracked visit.
pub(crate) struct Visit<'a> {
    pub(crate) idsite: u32,
    pub(crate) visitor: &'a str,
    pub(crate) start: OffsetDateTime,
    pub(crate) referrer: &'a str,
    pub(crate) hits: Hits<'a>,
}

/// A database with the site of Matomo's system-test fixtures
/// (`Fixture::createWebsite`: "Piwik test" at `http://piwik.net/`), in UTC
/// with data from `start`, the fixture's other settings set by `edit`,
/// and `goals`; with a super user's token.
pub(crate) fn matomo_site(
    start: PrimitiveDateTime,
    edit: impl FnOnce(&mut NewSiteParams),
    goals: &[GoalParams],
) -> anyhow::Result<(TestDb, String)> {
    let db = TestDb::new()?;
    let token = {
        let mut conn = db.conn()?;
        let root = Principal::super_user("test");
        let mut params = NewSiteParams {
            timezone: Some("UTC".to_owned()),
            start_date: Some(start),
            ..NewSiteParams::new("Piwik test", ["http://piwik.net/"])
        };
        edit(&mut params);
        management::add_site(&mut conn, &root, &params)?;
        for goal in goals {
            management::add_goal(&mut conn, &root, 1, goal)?;
        }
        user_with_token(&mut conn, "root", None)?
    };
    Ok((db, token))
}

/// The tracker's HTTP routes on `db`'s database, with `config`.
pub(crate) fn tracker_routes(
    db: &TestDb,
    config: &tally_tracking::http::TrackerConfig,
) -> anyhow::Result<Router> {
    let tracker = tally_tracking::http::Tracker::start(db.pool()?, config)?;
    Ok(tally_tracking::http::router(tracker))
}

/// The `<reportTotal>` of an `API.getProcessedReport` XML answer, its
/// lines trimmed and joined (the whole answer when it has none), for
/// comparing with the totals of Matomo's expected files.
pub(crate) fn report_total_xml(xml: &str) -> String {
    let start = xml.find("<reportTotal>").unwrap_or(0);
    let end = xml.find("</reportTotal>").unwrap_or(xml.len());
    xml[start..end]
        .lines()
        .skip(1)
        .map(str::trim)
        .collect::<Vec<_>>()
        .concat()
}

/// The Reporting API on `db`'s database with the core reports.
pub(crate) fn reporting_api(db: &TestDb) -> anyhow::Result<Api> {
    Ok(Api::new(
        db.pool()?,
        tally_archiving::Registry::core(),
        tally_archiving::ArchivingConfig::default(),
        ReportingConfig::default(),
    ))
}

/// The body of `module=API&<query>&token_auth=<token>` answered at
/// [`NOW`]; an answer other than 200 is an error.
pub(crate) async fn api_body(api: &Api, token: &str, query: &str) -> anyhow::Result<Vec<u8>> {
    let request = tally_reporting::ApiRequest::from_parts(
        &format!("module=API&{query}&token_auth={token}"),
        None,
    );
    let api = api.clone();
    let answer = tokio::task::spawn_blocking(move || api.handle_at(&request, NOW)).await?;
    anyhow::ensure!(answer.status == 200, "{query}: {}", answer.status);
    Ok(answer.body)
}

/// `module=API&<query>&format=json&token_auth=<token>` answered at
/// [`NOW`], as JSON; an answer other than 200 is an error with its body.
pub(crate) async fn api_json(
    api: &Api,
    token: &str,
    query: &str,
) -> anyhow::Result<serde_json::Value> {
    let request = tally_reporting::ApiRequest::from_parts(
        &format!("module=API&{query}&format=json&token_auth={token}"),
        None,
    );
    let api = api.clone();
    let answer = tokio::task::spawn_blocking(move || api.handle_at(&request, NOW)).await?;
    anyhow::ensure!(
        answer.status == 200,
        "{query}: {} {}",
        answer.status,
        String::from_utf8_lossy(&answer.body)
    );
    Ok(serde_json::from_slice(&answer.body)?)
}

pub(crate) fn encode(text: &str) -> String {
    let mut out = String::new();
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// The traffic every test sees (all times UTC; both sites are in UTC):
///
/// - 2026-11-10, site 1: visitor A from Google ("shoes") views `/`,
///   `/products/shoes` (+100 s) and `/thank-you` (+200 s: goal 1, revenue
///   5); visitor B comes directly and views `/` only.
/// - 2026-11-11, site 1: visitor C from blog.example views
///   `/products/hats` and `/` (+30 s).
/// - 2026-11-10, site 2: visitor D views `/` directly.
pub(crate) fn traffic() -> Vec<Visit<'static>> {
    vec![
        Visit {
            idsite: 1,
            visitor: "aaaaaaaaaaaaaaaa",
            start: datetime!(2026-11-10 10:00 UTC),
            referrer: "https://www.google.com/search?q=shoes",
            hits: &[
                (0, "/", "Home"),
                (100, "/products/shoes", "Shoes"),
                (200, "/thank-you", "Thanks"),
            ],
        },
        Visit {
            idsite: 1,
            visitor: "bbbbbbbbbbbbbbbb",
            start: datetime!(2026-11-10 12:00 UTC),
            referrer: "",
            hits: &[(0, "/", "Home")],
        },
        Visit {
            idsite: 1,
            visitor: "cccccccccccccccc",
            start: datetime!(2026-11-11 09:00 UTC),
            referrer: "https://blog.example/post",
            hits: &[(0, "/products/hats", "Hats"), (30, "/", "Home")],
        },
        Visit {
            idsite: 2,
            visitor: "dddddddddddddddd",
            start: datetime!(2026-11-10 08:00 UTC),
            referrer: "",
            hits: &[(0, "/", "Blog home")],
        },
    ]
}

pub(crate) async fn send(router: &Router, request: Request<Body>) -> anyhow::Result<Answer> {
    let response = router.clone().oneshot(request).await?;
    let status = response.status();
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|value| value.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let body = axum::body::to_bytes(response.into_body(), 64 << 20).await?;
    Ok(Answer {
        status,
        content_type,
        body: body.to_vec(),
    })
}

impl Fixture {
    /// Sites, users, tokens and the traffic of [`traffic`].
    pub(crate) async fn new() -> anyhow::Result<Self> {
        Self::with_config(ReportingConfig::default()).await
    }

    /// Applies `changes` to site 1 as the super user (an ecommerce switch,
    /// a currency...).
    pub(crate) fn change_site_1(
        &self,
        changes: &tally_management::SiteChanges,
    ) -> anyhow::Result<()> {
        let mut conn = self.db.conn()?;
        tally_management::update_site(&mut conn, &Principal::super_user("test"), 1, changes)?;
        Ok(())
    }

    /// [`Fixture::new`] plus a Chrome on Windows visitor on 2026-11-11
    /// (direct, one page), so browser and OS segments split the visits.
    pub(crate) async fn with_chrome_visitor() -> anyhow::Result<Self> {
        let fixture = Self::new().await?;
        let chrome = encode(
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36",
        );
        fixture
            .track_with(
                &[Visit {
                    idsite: 1,
                    visitor: "eeeeeeeeeeeeeeee",
                    start: time::macros::datetime!(2026-11-11 15:00 UTC),
                    referrer: "",
                    hits: &[(0, "/", "Home")],
                }],
                &format!("&ua={chrome}"),
            )
            .await?;
        Ok(fixture)
    }

    pub(crate) async fn with_config(config: ReportingConfig) -> anyhow::Result<Self> {
        let db = TestDb::new()?;
        let tokens = {
            let mut conn = db.conn()?;
            let root = Principal::super_user("test");
            for (name, url) in [
                ("Shop", "https://shop.example"),
                ("Blog", "https://blog.example"),
            ] {
                let params = NewSiteParams {
                    timezone: Some("UTC".to_owned()),
                    currency: Some("EUR".to_owned()),
                    start_date: Some(datetime!(2026-01-01 00:00)),
                    ..NewSiteParams::new(name, [url])
                };
                management::add_site(&mut conn, &root, &params)?;
            }
            let goal = GoalParams {
                revenue: 5.0,
                ..GoalParams::new("Thanks", "url", "thank-you", "contains")
            };
            management::add_goal(&mut conn, &root, 1, &goal)?;
            Tokens {
                superuser: user_with_token(&mut conn, "root", None)?,
                view: user_with_token(&mut conn, "viewer", Some(("view", 1)))?,
                write: user_with_token(&mut conn, "writer", Some(("write", 1)))?,
                admin: user_with_token(&mut conn, "manager", Some(("admin", 1)))?,
                other_site: user_with_token(&mut conn, "other", Some(("admin", 2)))?,
            }
        };
        let api = Api::new(
            db.pool()?,
            tally_archiving::Registry::core(),
            tally_archiving::ArchivingConfig::default(),
            config,
        );
        let fixture = Self { db, api, tokens };
        fixture.track(&traffic()).await?;
        Ok(fixture)
    }

    /// Tracks visits through the tracker's routes in one bulk request.
    pub(crate) async fn track(&self, visits: &[Visit<'_>]) -> anyhow::Result<()> {
        self.track_with(visits, "").await
    }

    /// An ecommerce order `ec_id` of `revenue` with `items` (the JSON of
    /// `ec_items`) by `visitor` on site 1, tracked at `start` on a
    /// one-page visit to `/checkout`.
    pub(crate) async fn track_order(
        &self,
        visitor: &str,
        start: OffsetDateTime,
        (ec_id, revenue, items): (&str, &str, &str),
    ) -> anyhow::Result<()> {
        self.track_with(
            &[Visit {
                idsite: 1,
                visitor,
                start,
                referrer: "",
                hits: &[(0, "/checkout", "Checkout")],
            }],
            &format!(
                "&idgoal=0&ec_id={ec_id}&revenue={revenue}&ec_items={}",
                encode(items)
            ),
        )
        .await
    }

    /// Like [`Fixture::track`], with `params` (`&lang=fr&res=1024x768…`)
    /// added to every hit; a `ua=` there replaces the default Firefox on
    /// Linux user agent.
    pub(crate) async fn track_with(
        &self,
        visits: &[Visit<'_>],
        params: &str,
    ) -> anyhow::Result<()> {
        let tracker = tally_tracking::http::Tracker::start(
            self.db.pool()?,
            &tally_tracking::http::TrackerConfig::default(),
        )?;
        let router = tally_tracking::http::router(tracker);
        let mut requests = Vec::new();
        for visit in visits {
            for (index, (offset, path, title)) in visit.hits.iter().enumerate() {
                let at = visit.start + time::Duration::seconds(*offset);
                let mut query = format!(
                    "?idsite={}&rec=1&_id={}&cip=203.0.113.{}&cdt={}&url={}&action_name={}{}",
                    visit.idsite,
                    visit.visitor,
                    10 + index,
                    at.unix_timestamp(),
                    encode(&format!(
                        "{}{path}",
                        if visit.idsite == 1 {
                            "https://shop.example"
                        } else {
                            "https://blog.example"
                        }
                    )),
                    encode(title),
                    if params.contains("ua=") {
                        params.to_owned()
                    } else {
                        format!(
                            "&ua={}{params}",
                            encode(
                                "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
                            )
                        )
                    },
                );
                if index == 0 && !visit.referrer.is_empty() {
                    query.push_str(&format!("&urlref={}", encode(visit.referrer)));
                }
                requests.push(format!("\"{query}\""));
            }
        }
        let body = format!(
            "{{\"requests\":[{}],\"token_auth\":\"{}\"}}",
            requests.join(","),
            self.tokens.superuser
        );
        let answer = send(
            &router,
            Request::post("/matomo.php")
                .header("content-type", "application/json")
                .body(Body::from(body))?,
        )
        .await?;
        anyhow::ensure!(
            answer.status == StatusCode::OK,
            "tracking failed: {}",
            answer.text()
        );
        Ok(())
    }

    /// A GET API call with the super user's token, at [`NOW`].
    pub(crate) async fn get(&self, query: &str) -> anyhow::Result<Answer> {
        let token = self.tokens.superuser.clone();
        self.call(&format!("{query}&token_auth={token}")).await
    }

    /// A GET API call as given (no token added), at [`NOW`].
    pub(crate) async fn call(&self, query: &str) -> anyhow::Result<Answer> {
        let request = tally_reporting::ApiRequest::from_parts(&format!("module=API&{query}"), None);
        let api = self.api.clone();
        let answer = tokio::task::spawn_blocking(move || api.handle_at(&request, NOW)).await?;
        Ok(Answer {
            status: StatusCode::from_u16(answer.status)?,
            content_type: answer.content_type.to_owned(),
            body: answer.body,
        })
    }

    /// A call through the HTTP routes (GET with a query, or POST with a
    /// form body), answered at the real clock.
    pub(crate) async fn http(&self, query: &str, form: Option<&str>) -> anyhow::Result<Answer> {
        let router = tally_reporting::http::router(self.api.clone());
        let request = match form {
            None => Request::get(format!("/index.php?{query}")).body(Body::empty())?,
            Some(form) => Request::post(format!("/index.php?{query}"))
                .header("content-type", "application/x-www-form-urlencoded")
                .body(Body::from(form.to_owned()))?,
        };
        send(&router, request).await
    }
}

/// The Reporting API of a replayed Matomo fixture, called with a super
/// user's token at the fixture's clock.
pub(crate) struct FixtureApi {
    pub(crate) api: Api,
    pub(crate) token: String,
    /// The mocked "now" of the fixture's reports.
    pub(crate) now: OffsetDateTime,
}

impl FixtureApi {
    /// Any query with the token: the status and the body.
    pub(crate) async fn raw(&self, query: &str) -> anyhow::Result<(u16, String)> {
        let request = tally_reporting::ApiRequest::from_parts(
            &format!("module=API&{query}&token_auth={}", self.token),
            None,
        );
        let (api, now) = (self.api.clone(), self.now);
        let answer = tokio::task::spawn_blocking(move || api.handle_at(&request, now)).await?;
        Ok((answer.status, String::from_utf8(answer.body)?))
    }

    /// Any query answered in XML (which must succeed).
    pub(crate) async fn xml(&self, query: &str) -> anyhow::Result<String> {
        let (status, body) = self.raw(&format!("{query}&format=xml")).await?;
        anyhow::ensure!(status == 200, "{query}: {status} {body}");
        Ok(body)
    }

    /// Any query answered in JSON (which must succeed).
    pub(crate) async fn json(&self, query: &str) -> anyhow::Result<serde_json::Value> {
        let (status, body) = self.raw(&format!("{query}&format=json")).await?;
        anyhow::ensure!(status == 200, "{query}: {status} {body}");
        Ok(serde_json::from_str(&body)?)
    }
}

/// Turns IP anonymization off: Matomo's system tests keep full IPs (its
/// expected outputs show `156.5.3.2`), our tracker anonymizes by default.
pub(crate) fn keep_full_ips(conn: &mut diesel::MysqlConnection) -> anyhow::Result<()> {
    diesel::RunQueryDsl::execute(
        diesel::sql_query(
            "INSERT INTO `option` (option_name, option_value, autoload) \
             VALUES ('PrivacyManager.ipAnonymizerEnabled', '0', 1)",
        ),
        conn,
    )?;
    Ok(())
}
