//! End-to-end tracking throughput: the in-process tracker on a fresh,
//! migrated database, driven over keep-alive HTTP/1.1 connections with a
//! realistic request mix, then a bare MariaDB baseline for the same rows.
//!
//! ```text
//! cargo bench -p tally-benches --bench tracker -- [--requests N] [--concurrency C]
//!     [--warmup W] [--visitors V] [--urls U] [--seed S] [--batch-wait-ms M] [--recorders R]
//!     [--load-data-min-rows L]
//! ```
//!
//! Defaults: 200,000 requests after a 5,000-request warm-up, 64 connections,
//! 50,000 returning visitors, 10,000 distinct pages. The mix: 70% page
//! views (1% of them to the goal page), 5% events, 1% ecommerce orders of
//! 1–3 items, 8% each outlinks, downloads and site searches. Requests carry
//! no `cdt` (they happen now); each visitor has a stable `_id`, its own IP
//! (sent in `X-Forwarded-For`, which the tracker is configured to trust)
//! and a browser version of its own, so fingerprints differ.
//!
//! The run then checks that every answered request is stored, copies the
//! stored `log_link_visit_action` and `log_visit` rows into `bench_*`
//! tables with plain multi-row text `INSERT`s (1,000 rows per statement,
//! one transaction per 2,000 rows, one connection) and prints a markdown
//! report for docs/PERFORMANCE.md. The client shares the machine with the
//! server and MariaDB: it runs on one thread, the tracker on two.

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail, ensure};
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::sql_types::Text;
use tally_benches::bare::{Batching, bare_insert};
use tally_benches::count;
use tally_db::test_support::TestDb;
use tally_tracking::http::{Tracker, TrackerConfig, router};
use tally_tracking::php::rawurlencode as enc;
use tally_tracking::server::serve_router;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// As in `tally-tracker`, whose server this measures.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    // The recorder logs a failed batch (retried job by job) as a warning:
    // shown, so that a run's "failed transactions" come with their cause.
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    match Options::parse().and_then(run) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("tracker bench: {err:#}");
            ExitCode::FAILURE
        }
    }
}

/// Command-line settings.
#[derive(Debug, Clone)]
struct Options {
    requests: usize,
    concurrency: usize,
    warmup: usize,
    visitors: u64,
    urls: u64,
    seed: u64,
    /// The tracker's `batch_wait_ms` (default: the tracker's default).
    batch_wait_ms: Option<u64>,
    /// The tracker's `recorders` (default: the tracker's default).
    recorders: Option<u64>,
    /// The tracker's `load_data_min_rows` (default: the tracker's default).
    load_data_min_rows: Option<u64>,
}

impl Options {
    fn parse() -> anyhow::Result<Self> {
        let mut o = Self {
            requests: 200_000,
            concurrency: 64,
            warmup: 5_000,
            visitors: 50_000,
            urls: 10_000,
            seed: 0x7a11_5eed,
            batch_wait_ms: None,
            recorders: None,
            load_data_min_rows: None,
        };
        let mut args = std::env::args().skip(1);
        while let Some(arg) = args.next() {
            let mut value = |name: &str| -> anyhow::Result<u64> {
                let v = args
                    .next()
                    .with_context(|| format!("{name} needs a value"))?;
                v.replace('_', "")
                    .parse()
                    .with_context(|| format!("{name} {v}: not a number"))
            };
            match arg.as_str() {
                "--requests" => o.requests = usize::try_from(value("--requests")?)?,
                "--concurrency" => o.concurrency = usize::try_from(value("--concurrency")?)?,
                "--warmup" => o.warmup = usize::try_from(value("--warmup")?)?,
                "--visitors" => o.visitors = value("--visitors")?,
                "--urls" => o.urls = value("--urls")?,
                "--seed" => o.seed = value("--seed")?,
                "--batch-wait-ms" => o.batch_wait_ms = Some(value("--batch-wait-ms")?),
                "--recorders" => o.recorders = Some(value("--recorders")?),
                "--load-data-min-rows" => {
                    o.load_data_min_rows = Some(value("--load-data-min-rows")?);
                }
                // `cargo bench` passes `--bench` to every bench target.
                "--bench" => {}
                other => bail!(
                    "unknown argument {other} (expected --requests N, --concurrency C, \
                     --warmup W, --visitors V, --urls U, --seed S, --batch-wait-ms M, \
                     --recorders R, --load-data-min-rows L)"
                ),
            }
        }
        ensure!(o.requests > 0, "--requests must be positive");
        ensure!(o.concurrency > 0, "--concurrency must be positive");
        ensure!(o.recorders != Some(0), "--recorders must be positive");
        ensure!(
            o.visitors > 0 && o.urls > 0,
            "--visitors and --urls must be positive"
        );
        Ok(o)
    }

    fn command(&self) -> String {
        let wait = self
            .batch_wait_ms
            .map(|ms| format!(" --batch-wait-ms {ms}"))
            .unwrap_or_default()
            + &self
                .recorders
                .map(|n| format!(" --recorders {n}"))
                .unwrap_or_default()
            + &self
                .load_data_min_rows
                .map(|n| format!(" --load-data-min-rows {n}"))
                .unwrap_or_default();
        format!(
            "cargo bench -p tally-benches --bench tracker -- --requests {} --concurrency {} \
             --warmup {} --visitors {} --urls {}{wait}",
            self.requests, self.concurrency, self.warmup, self.visitors, self.urls
        )
    }
}

// ---------------------------------------------------------------------------
// Seeding and the server.

const SITE_URL: &str = "https://shop.example";
/// The goal page (goal 1 matches URLs containing `thank-you`).
const GOAL_PATH: &str = "/checkout/thank-you";

/// One site (UTC, ecommerce) and one URL goal.
fn seed(conn: &mut MysqlConnection) -> anyhow::Result<()> {
    conn.batch_execute(
        "INSERT INTO site (idsite, name, main_url, ts_created, ecommerce, sitesearch, \
         sitesearch_keyword_parameters, sitesearch_category_parameters, timezone, currency, \
         excluded_ips, excluded_parameters, excluded_user_agents, excluded_referrers, `group`, `type`) \
         VALUES (1, 'Shop', 'https://shop.example', '2020-01-01 00:00:00', 1, 1, '', '', 'UTC', \
         'EUR', '', '', '', '', '', 'website'); \
         INSERT INTO goal (idsite, idgoal, name, description, match_attribute, pattern, pattern_type, \
         case_sensitive, allow_multiple, revenue, deleted, event_value_as_revenue) VALUES \
         (1, 1, 'Thank you page', '', 'url', 'thank-you', 'contains', 0, 0, 5, 0, 0);",
    )
    .context("seeding the site and the goal")
}

/// The tracker on its own two-worker runtime, listening on 127.0.0.1:0.
fn start_server(
    db: &TestDb,
    opts: &Options,
) -> anyhow::Result<(tokio::runtime::Runtime, SocketAddr)> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("tally-http")
        .enable_all()
        .build()
        .context("building the server runtime")?;
    let config = TrackerConfig {
        // Each visitor's IP comes in X-Forwarded-For, as behind a proxy.
        proxy_client_headers: vec!["X-Forwarded-For".into()],
        batch_wait_ms: opts
            .batch_wait_ms
            .unwrap_or(TrackerConfig::default().batch_wait_ms),
        recorders: opts
            .recorders
            .map_or(TrackerConfig::default().recorders, |n| {
                usize::try_from(n).unwrap_or(1)
            }),
        load_data_min_rows: opts
            .load_data_min_rows
            .map_or(TrackerConfig::default().load_data_min_rows, |n| {
                usize::try_from(n).unwrap_or(usize::MAX)
            }),
        ..TrackerConfig::default()
    };
    let tracker = Tracker::start(db.pool().context("opening the pool")?, &config)
        .context("starting the tracker")?;
    let listener = rt
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .context("binding 127.0.0.1:0")?;
    let addr = listener.local_addr()?;
    // Served as `tally-tracker serve` serves it.
    rt.spawn(serve_router(
        listener,
        router(tracker),
        config.connection_timeouts(),
        std::future::pending(),
    ));
    Ok((rt, addr))
}

// ---------------------------------------------------------------------------
// The request mix.

/// A deterministic pseudo-random sequence (splitmix64), so runs compare.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    /// `true` with probability `per_mille`/1000.
    fn chance(&mut self, per_mille: u64) -> bool {
        self.below(1000) < per_mille
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        let i = usize::try_from(self.below(items.len() as u64)).unwrap_or(0);
        items[i]
    }

    /// A skewed index in `0..n`: low indexes are much more popular, as
    /// pages and products are.
    fn skewed(&mut self, n: u64) -> u64 {
        let a = self.below(n);
        let b = self.below(n);
        (a * b) / n.max(1)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
enum Kind {
    Pageview,
    GoalPageview,
    Event,
    Order,
    Outlink,
    Download,
    Search,
}

impl Kind {
    const ALL: [Kind; 7] = [
        Kind::Pageview,
        Kind::GoalPageview,
        Kind::Event,
        Kind::Order,
        Kind::Outlink,
        Kind::Download,
        Kind::Search,
    ];

    fn label(self) -> &'static str {
        match self {
            Kind::Pageview => "page views",
            Kind::GoalPageview => "page views of the goal page",
            Kind::Event => "events",
            Kind::Order => "ecommerce orders",
            Kind::Outlink => "outlinks",
            Kind::Download => "downloads",
            Kind::Search => "site searches",
        }
    }

    /// Whether an answered request of this kind writes a
    /// `log_link_visit_action` row.
    fn has_action(self) -> bool {
        self != Kind::Order
    }
}

/// A ready-to-send HTTP request.
struct Request {
    kind: Kind,
    /// Items of an order (0 otherwise).
    items: u8,
    bytes: Vec<u8>,
}

const USER_AGENTS: &[&str] = &[
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/{v}.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/{v}.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:{v}.0) Gecko/20100101 Firefox/{v}.0",
    "Mozilla/5.0 (X11; Linux x86_64; rv:{v}.0) Gecko/20100101 Firefox/{v}.0",
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/{v}.0.0.0 Mobile Safari/537.36",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.{v} Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.{v} Safari/605.1.15",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/{v}.0.0.0 Safari/537.36 Edg/{v}.0.0.0",
];
const LANGUAGES: &[&str] = &[
    "en-US,en;q=0.9",
    "de-DE,de;q=0.9,en;q=0.8",
    "fr-FR,fr;q=0.9",
    "es-ES,es;q=0.9",
    "en-GB,en;q=0.8",
    "nl-NL,nl;q=0.9,en;q=0.5",
];
const RESOLUTIONS: &[&str] = &["1920x1080", "1366x768", "1536x864", "390x844", "2560x1440"];
const SECTIONS: &[&str] = &[
    "shoes", "shirts", "jackets", "bags", "blog", "help", "kids", "sale",
];
const REFERRERS: &[&str] = &[
    "https://www.google.com/search?q=red+boots",
    "https://www.bing.com/search?q=rain+jacket",
    "https://duckduckgo.com/?q=leather+bag",
    "https://news.example.org/best-shops-2026",
    // Facebook's outbound link shim: a social network (Matomo reads the
    // bare www.facebook.com/ as its search engine "Facebook").
    "https://l.facebook.com/l.php?u=https%3A%2F%2Fshop.example%2F",
    "https://forum.example.net/t/where-to-buy/123",
];
const EVENT_CATEGORIES: &[&str] = &["Video", "Newsletter", "Carousel", "Size guide"];
const EVENT_ACTIONS: &[&str] = &["Play", "Pause", "Subscribe", "Next", "Open"];
const KEYWORDS: &[&str] = &[
    "red boots",
    "rain jacket",
    "leather bag",
    "gift card",
    "size chart",
    "returns",
    "wool socks",
    "summer sale",
];

/// Per-visitor attributes, stable for the whole run.
struct Visitor {
    id: String,
    ip: String,
    user_agent: String,
    lang: &'static str,
    res: &'static str,
}

fn visitor(n: u64, seed: u64) -> Visitor {
    let mut r = Rng(seed ^ n.wrapping_mul(0x2545_f491_4f6c_dd1d));
    let ua = r.pick(USER_AGENTS);
    // 40 browser versions × 8 templates; with the per-visitor IP (two
    // significant bytes survive anonymisation) fingerprints differ.
    let version = 100 + r.below(40);
    let id = format!("{:016x}", r.next());
    // Never a crawler network's address, which the tracker excludes as a
    // bot whatever the user agent: every request is to be stored.
    let mut shift = 0;
    let ip = loop {
        let ip = format!(
            "{}.{}.{}.{}",
            11 + (n + shift) % 200,
            (n / 200) % 250,
            r.below(256),
            1 + r.below(254)
        );
        shift += 1;
        if !ip
            .parse()
            .is_ok_and(|addr| tally_tracking::bots::is_bot_address(addr, false))
        {
            break ip;
        }
    };
    Visitor {
        id,
        ip,
        user_agent: ua.replace("{v}", &version.to_string()),
        lang: r.pick(LANGUAGES),
        res: r.pick(RESOLUTIONS),
    }
}

fn page(p: u64) -> (String, String) {
    let section = SECTIONS[usize::try_from(p % SECTIONS.len() as u64).unwrap_or(0)];
    (
        format!("{SITE_URL}/{section}/item-{p}"),
        format!("{section} – Item {p} | Shop"),
    )
}

/// Generates `count` requests; `orders` numbers the order ids.
fn generate(opts: &Options, count: usize) -> Vec<Request> {
    let mut r = Rng(opts.seed);
    let visitors: Vec<Visitor> = (0..opts.visitors).map(|n| visitor(n, opts.seed)).collect();
    let mut out = Vec::with_capacity(count);
    for i in 0..count {
        let v = &visitors[usize::try_from(r.below(opts.visitors)).unwrap_or(0)];
        let (url, title) = page(r.skewed(opts.urls));
        let mut q = format!(
            "idsite=1&rec=1&_id={}&res={}&h={}&m={}&s={}&cookie=1&pdf=1&r={:06}",
            v.id,
            v.res,
            r.below(24),
            r.below(60),
            r.below(60),
            r.below(1_000_000)
        );
        let roll = r.below(1000);
        let (mut kind, mut items) = (Kind::Pageview, 0u8);
        if roll < 700 {
            let (url, title) = if r.chance(10) {
                kind = Kind::GoalPageview;
                (format!("{SITE_URL}{GOAL_PATH}"), "Thank you!".to_owned())
            } else {
                (url, title)
            };
            q.push_str(&format!(
                "&url={}&action_name={}&pv_id={:06x}",
                enc(&url),
                enc(&title),
                r.below(0xff_ffff)
            ));
            if r.chance(150) {
                q.push_str(&format!("&urlref={}", enc(r.pick(REFERRERS))));
            }
            if r.chance(300) {
                q.push_str(&format!(
                    "&pf_net={}&pf_srv={}&pf_tfr={}&pf_dm1={}&pf_dm2={}&pf_onl={}",
                    r.below(100),
                    20 + r.below(300),
                    r.below(50),
                    100 + r.below(900),
                    r.below(400),
                    r.below(50)
                ));
            }
        } else if roll < 750 {
            kind = Kind::Event;
            q.push_str(&format!(
                "&url={}&e_c={}&e_a={}&e_n={}&e_v={}",
                enc(&url),
                enc(r.pick(EVENT_CATEGORIES)),
                enc(r.pick(EVENT_ACTIONS)),
                enc(&title),
                r.below(100)
            ));
        } else if roll < 760 {
            kind = Kind::Order;
            items = u8::try_from(1 + r.below(3)).unwrap_or(1);
            let mut skus: Vec<u64> = Vec::new();
            while skus.len() < usize::from(items) {
                let sku = r.skewed(500);
                if !skus.contains(&sku) {
                    skus.push(sku);
                }
            }
            let mut subtotal = 0u64;
            let list: Vec<String> = skus
                .iter()
                .map(|sku| {
                    let price = 5 + sku % 95;
                    let qty = 1 + r.below(2);
                    subtotal += price * qty;
                    let section = SECTIONS[usize::try_from(sku % 8).unwrap_or(0)];
                    format!(r#"["SKU-{sku}","Item {sku}","{section}",{price},{qty}]"#)
                })
                .collect();
            q.push_str(&format!(
                "&url={}&idgoal=0&ec_id=ORD-{}-{i}&revenue={}&ec_st={subtotal}&ec_tx={}&ec_sh=5&ec_items={}",
                enc(&format!("{SITE_URL}/checkout/confirm")),
                opts.seed,
                subtotal + subtotal / 5 + 5,
                subtotal / 5,
                enc(&format!("[{}]", list.join(",")))
            ));
        } else if roll < 840 {
            kind = Kind::Outlink;
            q.push_str(&format!(
                "&url={}&link={}",
                enc(&url),
                enc(&format!(
                    "https://partner{}.example.com/offer/{}",
                    r.below(50),
                    r.below(200)
                ))
            ));
        } else if roll < 920 {
            kind = Kind::Download;
            q.push_str(&format!(
                "&url={}&download={}",
                enc(&url),
                enc(&format!("{SITE_URL}/files/manual-{}.pdf", r.skewed(300)))
            ));
        } else {
            kind = Kind::Search;
            let kw = r.pick(KEYWORDS);
            q.push_str(&format!(
                "&url={}&search={}&search_cat={}&search_count={}",
                enc(&format!("{SITE_URL}/search?q={kw}")),
                enc(kw),
                r.pick(SECTIONS),
                r.below(40)
            ));
        }
        let head = format!(
            "GET /matomo.php?{q} HTTP/1.1\r\nHost: tracker.example\r\nUser-Agent: {}\r\n\
             Accept-Language: {}\r\nX-Forwarded-For: {}\r\nAccept: image/avif,image/webp,*/*\r\n\r\n",
            v.user_agent, v.lang, v.ip
        );
        out.push(Request {
            kind,
            items,
            bytes: head.into_bytes(),
        });
    }
    out
}

// ---------------------------------------------------------------------------
// The client.

/// What one phase of the load produced.
#[derive(Debug, Default)]
struct LoadResult {
    /// Latency of each answered request, microseconds.
    latencies: Vec<u32>,
    /// Requests answered with 2xx, by index.
    ok: Vec<usize>,
    /// Non-2xx answers: status → count.
    failures: BTreeMap<u16, usize>,
    /// The first few non-2xx bodies, for the report.
    samples: Vec<String>,
    elapsed: Duration,
}

/// Sends `reqs[range]` over `concurrency` keep-alive connections, one
/// request in flight per connection.
async fn drive(
    addr: SocketAddr,
    reqs: Arc<Vec<Request>>,
    range: std::ops::Range<usize>,
    concurrency: usize,
) -> anyhow::Result<LoadResult> {
    let next = Arc::new(AtomicUsize::new(range.start));
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..concurrency {
        let (reqs, next, end) = (reqs.clone(), next.clone(), range.end);
        tasks.spawn(async move { connection(addr, &reqs, &next, end).await });
    }
    let mut total = LoadResult::default();
    while let Some(joined) = tasks.join_next().await {
        let part = joined.context("client task panicked")??;
        total.latencies.extend(part.latencies);
        total.ok.extend(part.ok);
        for (s, n) in part.failures {
            *total.failures.entry(s).or_default() += n;
        }
        total.samples.extend(part.samples);
    }
    total.elapsed = started.elapsed();
    total.samples.truncate(5);
    Ok(total)
}

async fn connection(
    addr: SocketAddr,
    reqs: &[Request],
    next: &AtomicUsize,
    end: usize,
) -> anyhow::Result<LoadResult> {
    let mut out = LoadResult::default();
    let mut stream = TcpStream::connect(addr)
        .await
        .with_context(|| format!("connecting to {addr}"))?;
    stream.set_nodelay(true)?;
    let mut buf = Vec::with_capacity(4096);
    loop {
        let i = next.fetch_add(1, Ordering::Relaxed);
        if i >= end {
            return Ok(out);
        }
        let t = Instant::now();
        stream
            .write_all(&reqs[i].bytes)
            .await
            .context("sending a request")?;
        let (status, body) = read_response(&mut stream, &mut buf).await?;
        out.latencies
            .push(u32::try_from(t.elapsed().as_micros()).unwrap_or(u32::MAX));
        if (200..300).contains(&status) {
            out.ok.push(i);
        } else {
            *out.failures.entry(status).or_default() += 1;
            if out.samples.len() < 5 {
                out.samples.push(format!(
                    "{status}: {}",
                    String::from_utf8_lossy(&body).trim()
                ));
            }
        }
    }
}

/// Reads one response with a `Content-Length` body (what the tracker sends).
async fn read_response(
    stream: &mut TcpStream,
    buf: &mut Vec<u8>,
) -> anyhow::Result<(u16, Vec<u8>)> {
    let mut chunk = [0u8; 4096];
    loop {
        if let Some(head_end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head =
                std::str::from_utf8(&buf[..head_end]).context("response head is not UTF-8")?;
            let status: u16 = head
                .split_whitespace()
                .nth(1)
                .context("no status in the response")?
                .parse()
                .context("bad status")?;
            let mut length = 0usize;
            for line in head.split("\r\n").skip(1) {
                let Some((k, v)) = line.split_once(':') else {
                    continue;
                };
                if k.eq_ignore_ascii_case("content-length") {
                    length = v.trim().parse().context("bad content-length")?;
                } else if k.eq_ignore_ascii_case("transfer-encoding") {
                    bail!("chunked responses are not expected from the tracker");
                } else if k.eq_ignore_ascii_case("connection")
                    && v.trim().eq_ignore_ascii_case("close")
                {
                    bail!("the server closed a keep-alive connection (status {status})");
                }
            }
            let total = head_end + 4 + length;
            while buf.len() < total {
                let n = stream.read(&mut chunk).await.context("reading a body")?;
                ensure!(n > 0, "connection closed mid-body");
                buf.extend_from_slice(&chunk[..n]);
            }
            let body = buf[head_end + 4..total].to_vec();
            buf.drain(..total);
            return Ok((status, body));
        }
        let n = stream
            .read(&mut chunk)
            .await
            .context("reading a response")?;
        ensure!(n > 0, "connection closed before a response");
        buf.extend_from_slice(&chunk[..n]);
    }
}

/// A plain GET on its own connection (for `/metrics`).
async fn get_text(addr: SocketAddr, path: &str) -> anyhow::Result<String> {
    let mut s = TcpStream::connect(addr).await?;
    s.write_all(format!("GET {path} HTTP/1.1\r\nHost: tracker.example\r\n\r\n").as_bytes())
        .await?;
    let mut buf = Vec::new();
    let (status, body) = read_response(&mut s, &mut buf).await?;
    ensure!(status == 200, "GET {path}: status {status}");
    Ok(String::from_utf8_lossy(&body).into_owned())
}

fn metric(text: &str, name: &str) -> f64 {
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.trim().parse().ok())
        .unwrap_or(f64::NAN)
}

// ---------------------------------------------------------------------------
// Where the time goes: CPU per thread group and the server's statement counts.

/// CPU seconds of this process's threads by name, and of the MariaDB server.
fn cpu_snapshot() -> BTreeMap<String, f64> {
    // Linux's USER_HZ is 100 on every platform we run on.
    const TICKS: f64 = 100.0;
    fn stat_ticks(path: &str) -> Option<(String, u64)> {
        let s = std::fs::read_to_string(path).ok()?;
        let (left, right) = (s.find('(')?, s.rfind(')')?);
        let comm = s[left + 1..right].to_owned();
        let f: Vec<&str> = s[right + 2..].split_whitespace().collect();
        Some((
            comm,
            f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?,
        ))
    }
    let mut out = BTreeMap::new();
    if let Ok(tasks) = std::fs::read_dir("/proc/self/task") {
        for t in tasks.flatten() {
            if let Some((comm, ticks)) = stat_ticks(&format!("{}/stat", t.path().display())) {
                let group = if comm.starts_with("tally-http") {
                    "tracker HTTP workers (+ blocking pool)"
                } else if comm.starts_with("tally-recorder") {
                    "tracker recorder thread"
                } else {
                    "bench client + other threads"
                };
                *out.entry(group.to_owned()).or_default() += ticks as f64 / TICKS;
            }
        }
    }
    if let Ok(procs) = std::fs::read_dir("/proc") {
        for p in procs.flatten() {
            let path = p.path();
            let is_server = std::fs::read_to_string(path.join("comm"))
                .is_ok_and(|c| matches!(c.trim(), "mariadbd" | "mysqld"));
            if is_server && let Some((_, ticks)) = stat_ticks(&format!("{}/stat", path.display())) {
                *out.entry("MariaDB server (all clients)".to_owned())
                    .or_default() += ticks as f64 / TICKS;
            }
        }
    }
    out
}

fn cpu_delta(a: &BTreeMap<String, f64>, b: &BTreeMap<String, f64>) -> BTreeMap<String, f64> {
    b.iter()
        .map(|(k, v)| (k.clone(), v - a.get(k).copied().unwrap_or(0.0)))
        .collect()
}

const STATUS_VARS: &[&str] = &[
    "QUESTIONS",
    "COM_SELECT",
    "COM_INSERT",
    "COM_UPDATE",
    "COM_COMMIT",
    "COM_STMT_PREPARE",
    "COM_STMT_EXECUTE",
    "COM_SET_OPTION",
    "HANDLER_WRITE",
    "HANDLER_UPDATE",
    "HANDLER_READ_KEY",
    "HANDLER_READ_NEXT",
    "HANDLER_READ_RND_NEXT",
    "INNODB_DATA_FSYNCS",
];

#[derive(QueryableByName)]
struct StatusVar {
    #[diesel(sql_type = Text)]
    name: String,
    #[diesel(sql_type = Text)]
    value: String,
}

fn server_status(conn: &mut MysqlConnection) -> anyhow::Result<BTreeMap<String, i64>> {
    let list = STATUS_VARS
        .iter()
        .map(|v| format!("'{v}'"))
        .collect::<Vec<_>>()
        .join(",");
    let rows: Vec<StatusVar> = diesel::sql_query(format!(
        "SELECT VARIABLE_NAME AS name, VARIABLE_VALUE AS value \
         FROM information_schema.GLOBAL_STATUS WHERE VARIABLE_NAME IN ({list})"
    ))
    .load(conn)
    .context("reading the server status")?;
    Ok(rows
        .into_iter()
        .map(|r| (r.name, r.value.parse().unwrap_or(0)))
        .collect())
}

// ---------------------------------------------------------------------------
// Verification and the baseline.

/// The baseline's statements: 1,000 rows per multi-row `INSERT`, 2,000
/// per transaction.
const BATCHING: Batching = Batching {
    rows_per_insert: 1_000,
    rows_per_transaction: 2_000,
};

// ---------------------------------------------------------------------------
// The run.

fn percentile(sorted: &[u32], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((p / 100.0) * (sorted.len() - 1) as f64).round() as usize;
    f64::from(sorted[rank.min(sorted.len() - 1)]) / 1000.0
}

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "?".into())
}

fn command_output(cmd: &str, args: &[&str]) -> String {
    std::process::Command::new(cmd)
        .args(args)
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_else(|| "?".into())
}

fn run(opts: Options) -> anyhow::Result<()> {
    let load_start = loadavg();
    let date = time::OffsetDateTime::now_utc();
    eprintln!("tracker bench: {}", opts.command());

    let db = TestDb::new().context("creating the test database")?;
    let mut conn = db.conn().context("connecting to the test database")?;
    seed(&mut conn)?;
    let (server_rt, addr) = start_server(&db, &opts)?;

    let total = opts.warmup + opts.requests;
    let t = Instant::now();
    let reqs = Arc::new(generate(&opts, total));
    let bytes: usize = reqs.iter().map(|r| r.bytes.len()).sum();
    eprintln!(
        "generated {total} requests ({:.0} bytes on average) in {:.1} s",
        bytes as f64 / total as f64,
        t.elapsed().as_secs_f64()
    );

    let client = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("building the client runtime")?;
    let warm = client.block_on(drive(addr, reqs.clone(), 0..opts.warmup, opts.concurrency))?;
    eprintln!(
        "warm-up: {} requests in {:.1} s",
        opts.warmup,
        warm.elapsed.as_secs_f64()
    );

    let metrics_before = client.block_on(get_text(addr, "/metrics"))?;
    let status_before = server_status(&mut conn)?;
    let cpu_before = cpu_snapshot();
    let main = client.block_on(drive(
        addr,
        reqs.clone(),
        opts.warmup..total,
        opts.concurrency,
    ))?;
    let cpu = cpu_delta(&cpu_before, &cpu_snapshot());
    let status_after = server_status(&mut conn)?;
    let metrics_after = client.block_on(get_text(addr, "/metrics"))?;
    let load_end = loadavg();

    let secs = main.elapsed.as_secs_f64();
    let rps = opts.requests as f64 / secs;
    let mut lat = main.latencies.clone();
    lat.sort_unstable();
    let (p50, p99, max) = (
        percentile(&lat, 50.0),
        percentile(&lat, 99.0),
        f64::from(lat.last().copied().unwrap_or(0)) / 1000.0,
    );
    let non_2xx: usize =
        warm.failures.values().sum::<usize>() + main.failures.values().sum::<usize>();
    eprintln!(
        "measured: {} requests in {secs:.1} s = {rps:.0} req/s, p50 {p50:.1} ms, p99 {p99:.1} ms",
        opts.requests
    );

    let d_metric = |name: &str| metric(&metrics_after, name) - metric(&metrics_before, name);
    let batches = d_metric("tally_tracker_batches_total");
    let hits = d_metric("tally_tracker_hits_total");
    let busy = d_metric("tally_tracker_busy_seconds_total");
    let failures = metric(&metrics_after, "tally_tracker_failures_total");
    let d_status = |name: &str| {
        status_after.get(name).copied().unwrap_or(0) - status_before.get(name).copied().unwrap_or(0)
    };

    // Verification: every 2xx request is stored.
    server_rt.shutdown_timeout(Duration::from_secs(5));
    let mut answered: HashMap<Kind, i64> = HashMap::new();
    let mut items_answered = 0i64;
    for &i in warm.ok.iter().chain(&main.ok) {
        *answered.entry(reqs[i].kind).or_default() += 1;
        if reqs[i].kind == Kind::Order {
            items_answered += i64::from(reqs[i].items);
        }
    }
    let n = |k: Kind| answered.get(&k).copied().unwrap_or(0);
    let expected_actions: i64 = Kind::ALL
        .iter()
        .filter(|k| k.has_action())
        .map(|&k| n(k))
        .sum();
    let actions = count(&mut conn, "SELECT COUNT(*) AS n FROM log_link_visit_action")?;
    let visits = count(&mut conn, "SELECT COUNT(*) AS n FROM log_visit")?;
    let visit_actions = count(
        &mut conn,
        "SELECT CAST(COALESCE(SUM(visit_total_actions), 0) AS SIGNED) AS n FROM log_visit",
    )?;
    let conversions = count(&mut conn, "SELECT COUNT(*) AS n FROM log_conversion")?;
    let orders = count(
        &mut conn,
        "SELECT COUNT(*) AS n FROM log_conversion WHERE idgoal = 0",
    )?;
    let goal_conversions = count(
        &mut conn,
        "SELECT COUNT(*) AS n FROM log_conversion WHERE idgoal = 1",
    )?;
    let goal_visits = count(
        &mut conn,
        "SELECT COUNT(DISTINCT lva.idvisit) AS n FROM log_link_visit_action lva \
         JOIN log_action a ON a.idaction = lva.idaction_url WHERE a.name LIKE '%thank-you%'",
    )?;
    let order_items = count(&mut conn, "SELECT COUNT(*) AS n FROM log_conversion_item")?;
    let log_actions = count(&mut conn, "SELECT COUNT(*) AS n FROM log_action")?;
    let checks: Vec<(String, i64, i64)> = vec![
        ("log_link_visit_action rows = answered page views + events + outlinks + downloads + searches".into(), actions, expected_actions),
        ("SUM(log_visit.visit_total_actions) = action rows".into(), visit_actions, actions),
        ("log_conversion rows with idgoal 0 = answered orders".into(), orders, n(Kind::Order)),
        ("log_conversion rows with idgoal 1 = visits that saw the goal page".into(), goal_conversions, goal_visits),
        ("log_conversion rows = orders + goal conversions".into(), conversions, orders + goal_conversions),
        ("log_conversion_item rows = items of answered orders".into(), order_items, items_answered),
    ];

    // The bare MariaDB baseline on the same rows.
    eprintln!("baseline: copying log_link_visit_action and log_visit with multi-row INSERTs…");
    let (lva_rows, lva_secs) =
        bare_insert(&mut conn, "log_link_visit_action", "idlink_va", BATCHING)?;
    let (visit_rows, visit_secs) = bare_insert(&mut conn, "log_visit", "idvisit", BATCHING)?;
    // The other rows the requests left: the names they brought (this bench
    // starts from an empty `log_action`, so a cold site's new names are
    // part of the work), conversions and order items.
    let mut other_rows = 0usize;
    let mut other_secs = 0.0f64;
    for (table, order_by) in [
        ("log_action", "idaction"),
        ("log_conversion", "idvisit, idgoal, buster"),
        ("log_conversion_item", "idvisit, idorder, idaction_sku"),
    ] {
        let (rows, secs) = bare_insert(&mut conn, table, order_by, BATCHING)?;
        other_rows += rows;
        other_secs += secs;
    }
    let lva_rps = lva_rows as f64 / lva_secs;
    let visit_rps = visit_rows as f64 / visit_secs;
    let both_rps = (lva_rows + visit_rows) as f64 / (lva_secs + visit_secs);

    // The report.
    let date_text = date
        .format(time::macros::format_description!(
            "[year]-[month]-[day] [hour]:[minute] UTC"
        ))
        .unwrap_or_else(|_| "?".into());
    let commit = command_output("git", &["rev-parse", "--short", "HEAD"]);
    let dirty =
        if command_output("git", &["status", "--porcelain", "--untracked-files=no"]).is_empty() {
            ""
        } else {
            " (uncommitted changes)"
        };
    let mut variables = String::new();
    {
        #[derive(QueryableByName)]
        struct Var {
            #[diesel(sql_type = Text)]
            v: String,
        }
        let vars: Vec<Var> = diesel::sql_query(
            "SELECT CONCAT(@@version, ', innodb_flush_log_at_trx_commit=', @@innodb_flush_log_at_trx_commit, \
             ', innodb_buffer_pool_size=', @@innodb_buffer_pool_size DIV 1048576, ' MB') AS v",
        )
        .load(&mut conn)?;
        if let Some(v) = vars.first() {
            variables.push_str(&v.v);
        }
    }
    let cpus = std::thread::available_parallelism().map_or(0, |n| n.get());
    let mut r = String::new();
    let mut line = |s: String| {
        r.push_str(&s);
        r.push('\n');
    };
    line("### Tracker throughput, end to end (`benches/tracker.rs`)".into());
    line(String::new());
    line("| | |".into());
    line("|---|---|".into());
    line(format!("| date | {date_text} |"));
    line(format!("| command | `{}` |", opts.command()));
    line(format!("| commit | {commit}{dirty} |"));
    line(format!(
        "| machine | {cpus} CPUs, load average {load_start} at start, {load_end} at end |"
    ));
    line(format!("| MariaDB | {variables} |"));
    line(format!(
        "| setup | in-process tracker (2 tokio workers, recorder: max_batch 2000, batch_wait_ms {}), client on 1 thread of the same machine, {} keep-alive connections |",
        opts.batch_wait_ms
            .unwrap_or(TrackerConfig::default().batch_wait_ms),
        opts.concurrency
    ));
    line(format!(
        "| requests | {} measured after {} warm-up; {} visitors, {} pages |",
        opts.requests, opts.warmup, opts.visitors, opts.urls
    ));
    line(format!(
        "| **throughput** | **{rps:.0} requests/s** ({secs:.1} s) |"
    ));
    line(format!(
        "| latency | p50 {p50:.1} ms, p99 {p99:.1} ms, max {max:.1} ms |"
    ));
    line(format!(
        "| non-2xx answers | {non_2xx}{} |",
        if non_2xx == 0 {
            String::new()
        } else {
            format!(
                " {:?}",
                warm.failures
                    .iter()
                    .chain(&main.failures)
                    .collect::<Vec<_>>()
            )
        }
    ));
    line(format!(
        "| recorder | {batches:.0} transactions, {:.0} hits per transaction, busy {busy:.1} s of {secs:.1} s ({:.0}%), {failures:.0} failed transactions |",
        hits / batches,
        100.0 * busy / secs
    ));
    line(format!(
        "| statements per measured request | {:.2} (SELECT {:.2}, INSERT {:.2}, UPDATE {:.2}, COMMIT {:.4}); server-wide counters |",
        d_status("QUESTIONS") as f64 / opts.requests as f64,
        d_status("COM_SELECT") as f64 / opts.requests as f64,
        d_status("COM_INSERT") as f64 / opts.requests as f64,
        d_status("COM_UPDATE") as f64 / opts.requests as f64,
        d_status("COM_COMMIT") as f64 / opts.requests as f64,
    ));
    line(format!(
        "| protocol commands per measured request | {:.2} prepares, {:.2} prepared executes, {:.2} multi-statement switches (diesel's `batch_execute` turns them on and off around each query) |",
        d_status("COM_STMT_PREPARE") as f64 / opts.requests as f64,
        d_status("COM_STMT_EXECUTE") as f64 / opts.requests as f64,
        d_status("COM_SET_OPTION") as f64 / opts.requests as f64,
    ));
    line(format!(
        "| handler calls per measured request | {:.2} row writes, {:.2} row updates, {:.2} key reads, {:.1} index-next reads, {:.1} scan reads; {:.3} InnoDB fsyncs |",
        d_status("HANDLER_WRITE") as f64 / opts.requests as f64,
        d_status("HANDLER_UPDATE") as f64 / opts.requests as f64,
        d_status("HANDLER_READ_KEY") as f64 / opts.requests as f64,
        d_status("HANDLER_READ_NEXT") as f64 / opts.requests as f64,
        d_status("HANDLER_READ_RND_NEXT") as f64 / opts.requests as f64,
        d_status("INNODB_DATA_FSYNCS") as f64 / opts.requests as f64,
    ));
    let cpu_text: Vec<String> = cpu
        .iter()
        .map(|(k, v)| format!("{k} {v:.1} s ({:.0}% of one core)", 100.0 * v / secs))
        .collect();
    line(format!(
        "| CPU during the measured phase | {} |",
        cpu_text.join("; ")
    ));
    // The same CPU a request, and the rate the machine's cores would allow
    // at that cost if every core were busy: the tracker, MariaDB and the
    // client share this machine, so no change of batching or concurrency
    // can go past that figure; only less CPU a request can.
    let per_request_us = |s: f64| 1e6 * s / opts.requests as f64;
    let cpu_total: f64 = cpu.values().sum();
    let per_request_text: Vec<String> = cpu
        .iter()
        .map(|(k, v)| format!("{k} {:.0} µs", per_request_us(*v)))
        .collect();
    if cpu_total > 0.0 {
        line(format!(
            "| CPU a measured request | {:.0} µs in all ({}); at that cost {cpus} busy CPUs allow at most **{:.0} requests/s**; 30,000 requests/s would need at most {:.0} µs |",
            per_request_us(cpu_total),
            per_request_text.join(", "),
            cpus as f64 * opts.requests as f64 / cpu_total,
            cpus as f64 * 1e6 / 30_000.0,
        ));
    }
    line(format!(
        "| stored | {visits} visits, {actions} actions, {conversions} conversions, {order_items} order items, {log_actions} log_action names |"
    ));
    line(format!(
        "| bare MariaDB, `log_link_visit_action` | {lva_rows} rows in {lva_secs:.2} s = **{lva_rps:.0} rows/s** |"
    ));
    line(format!(
        "| bare MariaDB, `log_visit` | {visit_rows} rows in {visit_secs:.2} s = {visit_rps:.0} rows/s (both tables: {both_rps:.0} rows/s) |"
    ));
    line(format!(
        "| **ratio** (requests/s ÷ bare action rows/s) | **{:.2}** |",
        rps / lva_rps
    ));
    // The same comparison for everything a request leaves in the two big
    // tables: the answered requests (warm-up included) against the time the
    // bare client takes to write both tables' rows. Still flattering to the
    // bare side: it writes each visit once in its final state, where a
    // tracker must insert it and then update it hit by hit.
    let answered_total: i64 = answered.values().sum();
    let bare_requests = answered_total as f64 / (lva_secs + visit_secs);
    line(format!(
        "| ratio, both tables (requests/s ÷ the {answered_total} answered requests' action and visit rows written bare, {bare_requests:.0} requests/s) | **{:.2}** |",
        rps / bare_requests
    ));
    // Every row the requests left, names, conversions and items included:
    // the bare client writes the same rows, so this is the fairest of the
    // three (the bare side still writes each visit once, final).
    let bare_all = answered_total as f64 / (lva_secs + visit_secs + other_secs);
    line(format!(
        "| ratio, every row (requests/s ÷ the same requests' action, visit, `log_action` ({log_actions} names), conversion and item rows ({other_rows} rows besides actions and visits) written bare, {bare_all:.0} requests/s) | **{:.2}** |",
        rps / bare_all
    ));
    line(String::new());
    line("Mix of answered requests (warm-up included):".into());
    line(String::new());
    line("| kind | answered |".into());
    line("|---|---|".into());
    for k in Kind::ALL {
        line(format!("| {} | {} |", k.label(), n(k)));
    }
    line(String::new());
    line("Row-count verification:".into());
    line(String::new());
    line("| check | stored | expected | |".into());
    line("|---|---|---|---|".into());
    let mut all_ok = non_2xx == 0;
    for (what, got, want) in &checks {
        let ok = got == want;
        all_ok &= ok;
        line(format!(
            "| {what} | {got} | {want} | {} |",
            if ok { "ok" } else { "**MISMATCH**" }
        ));
    }
    println!("{r}");
    for s in warm.samples.iter().chain(&main.samples) {
        eprintln!("non-2xx sample: {s}");
    }
    ensure!(
        non_2xx == 0,
        "{non_2xx} requests were not answered with 2xx"
    );
    ensure!(
        all_ok,
        "stored rows do not match the answered requests (see the table)"
    );
    drop(conn);
    drop(db);
    Ok(())
}
