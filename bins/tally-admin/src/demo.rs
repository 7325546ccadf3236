//! `tally-admin demo`: a demo site, a super user with a token, a week of
//! generated traffic sent through the tracking endpoint we serve, archived,
//! and the curl line that shows the result.

use anyhow::Context as _;
use diesel::MysqlConnection;
use tally_db::DbPool;
use tally_management::{self as management, GoalParams, NewSiteParams, Principal};
use time::{Duration, OffsetDateTime};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const SITE_NAME: &str = "Demo";
const LOGIN: &str = "demo";

/// Command line choices.
pub(crate) struct Options {
    pub(crate) listen: String,
    pub(crate) visits_per_day: u32,
}

/// What `prepare` created or found.
pub(crate) struct Setup {
    idsite: u32,
    /// The site was created by this run: its traffic is generated now (a
    /// second run must not track the same week again).
    fresh: bool,
    token: String,
    password: Option<String>,
}

fn random_hex(bytes: usize) -> anyhow::Result<String> {
    let mut buf = vec![0u8; bytes];
    getrandom::fill(&mut buf).map_err(|error| anyhow::anyhow!("no OS randomness: {error}"))?;
    Ok(buf.iter().map(|b| format!("{b:02x}")).collect())
}

/// The demo site (with a goal) and super user, created once; a new token
/// on every run (tokens are stored hashed, so an old one cannot be shown).
pub(crate) fn prepare(conn: &mut MysqlConnection) -> anyhow::Result<Setup> {
    let actor = Principal::super_user("tally-admin");
    let now = OffsetDateTime::now_utc();
    let existing = management::get_all_sites(conn, &actor)?
        .into_iter()
        .find(|site| site.name == SITE_NAME);
    let (idsite, fresh) = match existing {
        Some(site) => (site.idsite, false),
        None => {
            let params = NewSiteParams {
                timezone: Some("UTC".to_owned()),
                currency: Some("EUR".to_owned()),
                ..NewSiteParams::new(SITE_NAME, ["https://demo.example"])
            };
            let idsite = management::add_site(conn, &actor, &params)?;
            let goal = GoalParams {
                name: "Contact".to_owned(),
                match_attribute: "url".to_owned(),
                pattern: "/contact".to_owned(),
                pattern_type: "contains".to_owned(),
                case_sensitive: false,
                revenue: 10.0,
                allow_multiple: false,
                description: "Reached the contact page".to_owned(),
                event_value_as_revenue: false,
            };
            management::add_goal(conn, &actor, idsite, &goal)?;
            (idsite, true)
        }
    };
    let password = match management::get_user(conn, &actor, LOGIN) {
        Ok(_) => None,
        Err(management::ManagementError::UnknownUser { .. }) => {
            let password = random_hex(8)?;
            management::create_superuser(conn, LOGIN, &password, "demo@demo.example", now)?;
            Some(password)
        }
        Err(error) => return Err(error.into()),
    };
    let token = management::create_app_specific_token(conn, &actor, LOGIN, "", "demo", None, now)?;
    Ok(Setup {
        idsite,
        fresh,
        token,
        password,
    })
}

/// A small deterministic generator (xorshift): the demo's traffic is the
/// same on every run.
struct Dice(u64);

impl Dice {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        let len = u64::try_from(items.len()).unwrap_or(1).max(1);
        let index = usize::try_from(self.next() % len).unwrap_or(0);
        items.get(index).copied().unwrap_or("")
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

fn encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

const PAGES: [&str; 8] = [
    "/",
    "/pricing",
    "/blog/",
    "/blog/rust-analytics",
    "/blog/matomo-compatible",
    "/docs/getting-started",
    "/docs/api",
    "/contact",
];
const REFERRERS: [&str; 5] = [
    "",
    "https://www.google.com/search?q=web+analytics",
    "https://news.ycombinator.com/item?id=1",
    "https://duckduckgo.com/?q=matomo+rust",
    "https://twitter.com/tally",
];
const AGENTS: [&str; 3] = [
    "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15",
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Mobile Safari/537.36",
];

/// Tracking requests for `days` days ending yesterday.
fn traffic(idsite: u32, visits_per_day: u32, now: OffsetDateTime) -> Vec<String> {
    let mut dice = Dice(0x5eed_cafe_f00d_0001);
    let mut requests = Vec::new();
    let today = now.date().midnight().assume_utc();
    for day_back in 1..=7i64 {
        let day = today - Duration::days(day_back);
        for visit in 0..visits_per_day {
            let visitor = format!("{:016x}", dice.next());
            let ip = format!("198.51.{}.{}", dice.below(200), 1 + dice.below(250));
            let agent = dice.pick(&AGENTS);
            let referrer = dice.pick(&REFERRERS);
            let pages = 1 + dice.below(5);
            let mut at = day
                + Duration::seconds(
                    i64::try_from(dice.below(80_000)).unwrap_or(0) + i64::from(visit),
                );
            for page in 0..pages {
                let path = dice.pick(&PAGES);
                let title = if path == "/" {
                    "Home"
                } else {
                    path.trim_matches('/')
                };
                let mut request = format!(
                    "?idsite={idsite}&rec=1&_id={visitor}&cip={ip}&ua={}&url={}&action_name={}&cdt={}&lang=en-US&res=1920x1080",
                    encode(agent),
                    encode(&format!("https://demo.example{path}")),
                    encode(title),
                    at.unix_timestamp(),
                );
                if page == 0 && !referrer.is_empty() {
                    request.push_str(&format!("&urlref={}", encode(referrer)));
                }
                requests.push(request);
                at += Duration::seconds(i64::try_from(10 + dice.below(240)).unwrap_or(10));
            }
        }
    }
    requests
}

/// Sends one bulk tracking request to our own endpoint.
async fn post_bulk(listen: &str, token: &str, requests: &[String]) -> anyhow::Result<()> {
    let quoted: Vec<String> = requests
        .iter()
        .map(|request| format!("\"{request}\""))
        .collect();
    let body = format!(
        "{{\"requests\":[{}],\"token_auth\":\"{token}\"}}",
        quoted.join(",")
    );
    let mut stream = tokio::net::TcpStream::connect(listen)
        .await
        .with_context(|| format!("connecting to {listen}"))?;
    let head = format!(
        "POST /matomo.php HTTP/1.1\r\nHost: {listen}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await?;
    stream.write_all(body.as_bytes()).await?;
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).await?;
    let text = String::from_utf8_lossy(&answer);
    if !text.starts_with("HTTP/1.1 200") {
        anyhow::bail!(
            "the tracker refused the demo traffic: {}",
            text.lines().next().unwrap_or("")
        );
    }
    Ok(())
}

/// Tracks the demo traffic, archives it and prints how to look at it.
pub(crate) async fn run(
    pool: &DbPool,
    options: &Options,
    setup: &Setup,
    archiving: &tally_archiving::ArchivingConfig,
) -> anyhow::Result<()> {
    let now = OffsetDateTime::now_utc();
    if setup.fresh {
        let requests = traffic(setup.idsite, options.visits_per_day, now);
        eprintln!("==> tracking {} demo requests", requests.len());
        for chunk in requests.chunks(500) {
            post_bulk(&options.listen, &setup.token, chunk).await?;
        }
    } else {
        eprintln!("==> the demo site exists: its traffic was tracked by an earlier run");
    }
    let pool = pool.clone();
    let idsite = setup.idsite;
    let archiving = archiving.clone();
    eprintln!("==> archiving the last 7 days");
    tokio::task::spawn_blocking(move || -> anyhow::Result<()> {
        let mut conn = pool.get()?;
        let registry = tally_archiving::Registry::core_with(&archiving);
        let archiver = tally_archiving::Archiver::new(&registry, archiving);
        let site = tally_archiving::SiteInfo::load(&mut conn, idsite)?;
        for day_back in 1..=7i64 {
            let day = (now - Duration::days(day_back)).date();
            archiver.archive(
                &mut conn,
                &site,
                tally_archiving::Period::day(day),
                now,
                true,
            )?;
        }
        Ok(())
    })
    .await
    .context("archiving task")??;
    if let Some(password) = &setup.password {
        println!("super user: {LOGIN} / {password}");
    }
    println!("token_auth: {}", setup.token);
    println!(
        "curl 'http://{}/index.php?module=API&method=VisitsSummary.get&idSite={}&period=day&date=yesterday&format=json&token_auth={}'",
        options.listen, setup.idsite, setup.token
    );
    Ok(())
}
