//! Archiving throughput: one day of logs archived with the builders of
//! VisitsSummary and Actions, then the month from 30 such days, then the
//! day with every core family (issue 6), each compared with a bare scan
//! of the same log rows in the same run.
//!
//! ```text
//! [TALLY_BENCH_VISITS=N] cargo bench -p tally-benches --bench archiving [-- --skip-families] [--no-page-goals] [--buffer-pool-mb N]
//! ```
//!
//! `TALLY_BENCH_VISITS` (default 1,000,000) sets the scale: 4 actions per
//! visit, 50,000 page URLs (at most one per visit for small runs), page
//! titles, downloads, outlinks and site search keywords in proportion. All
//! rows belong to one UTC site and to 2026-01-15; visits start spread over
//! the day, repeat visitors make unique visitors fewer than visits.
//!
//! So that every core family has work, the site has ecommerce on, two
//! goals and two custom dimensions (visit-scope "Plan", action-scope "Page
//! type"), and the logs carry what the families read, in proportions of a
//! shop: each visitor a device (OS and version, browser, engine, type,
//! brand, model), a place (country, and for most a region, city and
//! coordinates), browser plugins, a language, a local time; 30% returning
//! visits with visit counts and days since the last visit; 40% of visits
//! with a referrer (search engines with and without keyword, websites,
//! social networks, campaigns); visit custom variables (10% and 20% of
//! visits), the "Plan" dimension (25% of visitors), user ids (2%); page
//! views with timings (60%), product views on product pages (a third of
//! the pages), page custom variable 3 (20%) and "Page type" (30%); events
//! (1.3% of actions), content impressions and interactions (3%); goal
//! conversions (goal 1 on 2% of visits, goal 2 on 1%), orders (1%) and
//! abandoned carts (1.5%) with 1 to 4 items each, and the visit columns
//! that mirror them (`visit_goal_converted`, `visit_goal_buyer`).
//!
//! Phases:
//! 1. generation (not timed, its duration is printed): `log_action`,
//!    `log_visit`, `log_link_visit_action`, `log_conversion` and
//!    `log_conversion_item` rows as multi-row text `INSERT`s of 2,000 rows
//!    with literal values, built on one thread and sent by two
//!    connections, 10 statements per transaction;
//! 2. the bare scan, best of 3: `tally_archiving::logs::scan_visits` and
//!    `scan_actions` for the day, i.e. exactly the rows the archiver reads,
//!    streamed into Rust values through the same diesel query, with no
//!    aggregation;
//! 3. the day archive, 3 runs with `force`: seconds, (visits + actions)/s
//!    and the ratio to the bare scan (target: within 2x); before it, one
//!    run with VisitsSummary alone and the `log_action` name lookup the
//!    Actions builder does, to show where the day's time goes;
//! 4. the month: the day's archive rows are copied to the other 29 days of
//!    2026-01-01..30 (not timed; the 31st has no visits and is archived
//!    empty beforehand), then the month is archived 3 times with `force`
//!    after deleting the week and month archives, so every run builds the
//!    three whole weeks from days and the month from weeks and days
//!    (target: under 2 s), by the archiver that built the day, as one
//!    `tally-archiver run` builds days, weeks and months: the distinct
//!    visitors it kept from the day (and then the weeks) spare the unique
//!    recounts their log reads. Then 3 runs by a new archiver each, which
//!    has nothing kept and reads the visits from the logs. One more run in
//!    two steps splits the time into the weeks and the month, and the
//!    unique-visitor recount of those weeks and the month over the logs is
//!    timed on its own: it is the part that grows with real logs (here
//!    only one day of the month has any);
//! 5. all core families (`archiving/families.rs`): (a) a bare scan, best
//!    of 3, of every log column any core family reads for the day, one
//!    typed streaming SELECT per table (visits, actions, conversions,
//!    conversion items); (b) the day archived with `Registry::core()`, 3
//!    runs with `force`: seconds and the ratio to that bare scan (target:
//!    within 3x); (c) each family alone, its builder(s) in a registry of
//!    their own, one forced run each: seconds, queries, rows MariaDB read
//!    and sent, CPU seconds of this process and of the server. A family's
//!    own run includes the log scans and queries it would share in (b),
//!    so the sum of (c) exceeds (b). Every family must write at least one
//!    record with data (a non-zero number or a table row with a positive
//!    number), and the all-families archive must hold the same records as
//!    the families alone; goal, order, cart and timing counts are checked
//!    against the generator's. Runs last because it replaces the day's
//!    archive that phase 4 copied; `--skip-families` leaves it out.
//!
//! The report is printed as markdown, with one row per figure ready for
//! docs/PERFORMANCE.md.

#[path = "archiving/families.rs"]
mod families;

use std::fmt::Write as _;
use std::process::ExitCode;
use std::sync::{Mutex, mpsc};
use std::time::{Duration, Instant};

use anyhow::{Context, bail, ensure};
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::sql_types::{Date as SqlDate, Integer, Text, Unsigned};
use tally_archiving::builders::{Actions, VisitsSummary};
use tally_archiving::logs::{self, LogAggregator};
use tally_archiving::storage;
use tally_archiving::{
    Archiver, ArchivingConfig, Outcome, Period, Registry, SiteInfo, StoredArchive,
};
use tally_benches::count;
use tally_db::ArchiveKind;
use tally_db::test_support::TestDb;
use time::macros::{date, datetime};
use time::{Date, OffsetDateTime};

fn main() -> ExitCode {
    match Options::parse().and_then(run) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("archiving bench: {err:#}");
            ExitCode::FAILURE
        }
    }
}

/// The variable setting the number of visits.
const VISITS_ENV: &str = "TALLY_BENCH_VISITS";
const DEFAULT_VISITS: u64 = 1_000_000;

/// The generated day, and the month window around it.
const DAY: Date = date!(2026 - 01 - 15);
const DAY_SQL: &str = "2026-01-15";
/// Archives are built as of this instant: after the month, so every day,
/// week and month is finished and its archive final.
const NOW: OffsetDateTime = datetime!(2026-03-01 0:00 UTC);

const SEED: u64 = 0x7a11_a4c1;
const RUNS: usize = 3;
/// Rows per multi-row `INSERT` and statements per transaction.
const ROWS_PER_INSERT: usize = 2_000;
const STATEMENTS_PER_TRANSACTION: usize = 10;

/// How much to generate.
#[derive(Debug, Clone)]
struct Options {
    visits: u64,
    actions: u64,
    urls: u64,
    titles: u64,
    downloads: u64,
    outlinks: u64,
    keywords: u64,
    event_pages: u64,
    /// Products of the catalogue (product pages, order and cart items).
    products: u64,
    /// `--skip-families`: stop after the month (phase 4), for quicker runs
    /// while working on the day or the month.
    skip_families: bool,
    /// `--no-page-goals`: the Actions builder without the goal metrics of
    /// page rows (`Actions::archive_goals` off, Matomo's
    /// `disable_archive_actions_goals`), to measure what they cost.
    no_page_goals: bool,
    /// `--buffer-pool-mb N`: the server's `innodb_buffer_pool_size` for the
    /// run (set globally, put back at the end), to measure with a working
    /// set in memory as docs/DATABASE.md recommends for production.
    buffer_pool_mb: Option<u64>,
}

impl Options {
    fn parse() -> anyhow::Result<Self> {
        let mut skip_families = false;
        let mut no_page_goals = false;
        let mut buffer_pool_mb = None;
        let mut args = std::env::args().skip(1);
        while let Some(arg) = args.next() {
            match arg.as_str() {
                // `cargo bench` passes `--bench` to every bench target.
                "--bench" => {}
                "--skip-families" => skip_families = true,
                "--no-page-goals" => no_page_goals = true,
                "--buffer-pool-mb" => {
                    let value = args.next().context("--buffer-pool-mb needs a size in MB")?;
                    let mb: u64 = value
                        .parse()
                        .with_context(|| format!("--buffer-pool-mb {value}: not a number"))?;
                    ensure!(mb >= 128, "--buffer-pool-mb {mb}: at least 128");
                    buffer_pool_mb = Some(mb);
                }
                _ => bail!(
                    "unknown argument {arg} (the scale is set with {VISITS_ENV}=N; \
                     --skip-families stops after the month; --no-page-goals archives \
                     pages without goal metrics; --buffer-pool-mb N sets the server's \
                     buffer pool for the run)"
                ),
            }
        }
        let visits = match std::env::var(VISITS_ENV) {
            Ok(v) => v
                .replace('_', "")
                .parse::<u64>()
                .with_context(|| format!("{VISITS_ENV}={v}: not a number"))?,
            Err(std::env::VarError::NotPresent) => DEFAULT_VISITS,
            Err(e) => bail!("{VISITS_ENV}: {e}"),
        };
        ensure!(
            (1..=50_000_000).contains(&visits),
            "{VISITS_ENV} must be between 1 and 50,000,000"
        );
        let urls = visits.min(50_000);
        Ok(Self {
            visits,
            actions: visits * 4,
            urls,
            titles: (urls / 15).max(1),
            downloads: (urls / 100).clamp(1, 300),
            outlinks: (urls / 100).clamp(1, 500),
            keywords: (visits / 500).clamp(1, 2_000),
            event_pages: urls.min(200),
            products: (urls / 25).clamp(1, 2_000),
            skip_families,
            no_page_goals,
            buffer_pool_mb,
        })
    }

    fn command(&self) -> String {
        let mut command = if self.visits == DEFAULT_VISITS {
            "cargo bench -p tally-benches --bench archiving".to_owned()
        } else {
            format!(
                "{VISITS_ENV}={} cargo bench -p tally-benches --bench archiving",
                self.visits
            )
        };
        let mut args = Vec::new();
        if self.skip_families {
            args.push("--skip-families".to_owned());
        }
        if self.no_page_goals {
            args.push("--no-page-goals".to_owned());
        }
        if let Some(mb) = self.buffer_pool_mb {
            args.push(format!("--buffer-pool-mb {mb}"));
        }
        if !args.is_empty() {
            command.push_str(" -- ");
            command.push_str(&args.join(" "));
        }
        command
    }
}

// ---------------------------------------------------------------------------
// Generation.

/// A deterministic pseudo-random sequence (splitmix64), so runs compare.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        mix(self.0)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    /// `true` with probability `per_mille`/1000.
    fn chance(&mut self, per_mille: u64) -> bool {
        self.below(1000) < per_mille
    }

    /// A skewed index in `0..n`: low indexes are much more popular, as
    /// pages are.
    fn skewed(&mut self, n: u64) -> u64 {
        let a = self.below(n);
        let b = self.below(n);
        (a * b) / n.max(1)
    }
}

/// The splitmix64 finaliser: a well-mixed hash of `z`.
fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

fn pick<'a>(items: &[&'a str], n: u64) -> &'a str {
    items[usize::try_from(n % items.len() as u64).unwrap_or(0)]
}

const HOST: &str = "shop.example";
const SECTIONS: &[&str] = &[
    "shoes", "shirts", "jackets", "bags", "blog", "help", "kids", "sale",
];
const ADJECTIVES: &[&str] = &[
    "red",
    "blue",
    "leather",
    "wool",
    "rain",
    "summer",
    "winter",
    "kids",
    "cheap",
    "waterproof",
];
const NOUNS: &[&str] = &[
    "boots",
    "jacket",
    "bag",
    "socks",
    "shirt",
    "gift card",
    "hat",
    "scarf",
    "sneakers",
    "belt",
];
const EVENT_CATEGORIES: &[&str] = &["Video", "Newsletter", "Carousel", "Size guide"];
const EVENT_ACTIONS: &[&str] = &["Play", "Pause", "Subscribe", "Next", "Open"];
const EVENT_NAMES: u64 = 20;
/// Referrers of the 40% of visits that have one: (type, name, URL).
/// Search engines (2) carry a keyword on some visits, websites (3) a
/// page of their own, campaigns (6) a keyword on most visits.
const REFERRERS: &[(u8, &str, &str)] = &[
    (2, "Google", "https://www.google.com/"),
    (2, "Google", "https://www.google.de/"),
    (2, "Bing", "https://www.bing.com/"),
    (2, "DuckDuckGo", "https://duckduckgo.com/"),
    (
        3,
        "news.example.org",
        "https://news.example.org/best-shops-2026/",
    ),
    (
        3,
        "forum.example.net",
        "https://forum.example.net/t/where-to-buy/",
    ),
    (3, "blog.example.com", "https://blog.example.com/posts/"),
    (7, "Facebook", "https://www.facebook.com/"),
    (7, "Instagram", "https://www.instagram.com/"),
    (
        6,
        "winter-sale",
        "https://shop.example/?mtm_campaign=winter-sale",
    ),
    (
        6,
        "newsletter-2026-01",
        "https://shop.example/?mtm_campaign=newsletter-2026-01",
    ),
];
const CAMPAIGN_KEYWORDS: &[&str] = &["banner", "header", "footer", "sidebar"];

/// A device as DevicesDetection stores it (brand codes as Matomo's).
struct Device {
    os: &'static str,
    os_version: &'static str,
    browser: &'static str,
    browser_version: &'static str,
    engine: &'static str,
    /// `config_device_type`: 0 desktop, 1 smartphone, 2 tablet.
    kind: u8,
    brand: &'static str,
    model: &'static str,
}

const fn device(
    (os, os_version, browser, browser_version, engine): (
        &'static str,
        &'static str,
        &'static str,
        &'static str,
        &'static str,
    ),
    kind: u8,
    brand: &'static str,
    model: &'static str,
) -> Device {
    Device {
        os,
        os_version,
        browser,
        browser_version,
        engine,
        kind,
        brand,
        model,
    }
}

/// One device per visitor; desktops have no brand or model.
const DEVICES: &[Device] = &[
    device(("WIN", "10", "CH", "131.0", "Blink"), 0, "", ""),
    device(("WIN", "11", "CH", "131.0", "Blink"), 0, "", ""),
    device(("WIN", "11", "PS", "131.0", "Blink"), 0, "", ""),
    device(("WIN", "10", "FF", "133.0", "Gecko"), 0, "", ""),
    device(("MAC", "14.4", "SF", "17.4", "WebKit"), 0, "AP", ""),
    device(("MAC", "14.4", "CH", "131.0", "Blink"), 0, "AP", ""),
    device(("AND", "14", "CM", "131.0", "Blink"), 1, "SA", "Galaxy S23"),
    device(
        ("AND", "13", "CM", "130.0", "Blink"),
        1,
        "XI",
        "Redmi Note 12",
    ),
    device(("AND", "14", "CM", "131.0", "Blink"), 1, "GO", "Pixel 8"),
    device(
        ("AND", "14", "CM", "131.0", "Blink"),
        2,
        "SA",
        "Galaxy Tab S9",
    ),
    device(("IOS", "17.4", "MF", "17.4", "WebKit"), 1, "AP", "iPhone"),
    device(("IOS", "17.4", "MF", "17.4", "WebKit"), 2, "AP", "iPad"),
    device(("LIN", "", "FF", "133.0", "Gecko"), 0, "", ""),
];
const RESOLUTIONS: &[&str] = &["1920x1080", "1366x768", "1536x864", "390x844", "2560x1440"];
const LANGUAGES: &[&str] = &["en-us", "de-de", "fr-fr", "es-es", "en-gb", "nl-nl"];
const COUNTRIES: &[&str] = &["de", "us", "fr", "gb", "es", "nl", "it", "pl"];
/// Geolocated visits: (country, region, city, latitude, longitude). A
/// visitor is in one of these cities or, as many IPs resolve, only in a
/// country of [`COUNTRIES`].
const CITIES: &[(&str, &str, &str, &str, &str)] = &[
    ("de", "BE", "Berlin", "52.520008", "13.404954"),
    ("de", "BY", "Munich", "48.135125", "11.581981"),
    ("de", "HH", "Hamburg", "53.551086", "9.993682"),
    ("us", "CA", "San Francisco", "37.774929", "-122.419416"),
    ("us", "NY", "New York", "40.712776", "-74.005974"),
    ("us", "TX", "Austin", "30.267153", "-97.743061"),
    ("fr", "IDF", "Paris", "48.856613", "2.352222"),
    ("fr", "ARA", "Lyon", "45.764043", "4.835659"),
    ("gb", "ENG", "London", "51.507351", "-0.127758"),
    ("gb", "SCT", "Edinburgh", "55.953251", "-3.188267"),
    ("es", "MD", "Madrid", "40.416775", "-3.703790"),
    ("es", "CT", "Barcelona", "41.385064", "2.173403"),
    ("nl", "NH", "Amsterdam", "52.367573", "4.904139"),
    ("it", "62", "Rome", "41.902782", "12.496366"),
    ("pl", "14", "Warsaw", "52.229676", "21.012229"),
];
/// Visit-scope custom variable 1 (10% of visitors) and its values.
const MEMBERSHIPS: &[&str] = &["gold", "silver", "bronze"];
/// Values of the visit-scope custom dimension "Plan" (a quarter of the
/// visitors have one).
const PLANS: &[&str] = &["free", "basic", "pro", "team", "enterprise"];
/// Values of the action-scope custom dimension "Page type".
const PAGE_TYPES: &[&str] = &["home", "category", "product", "article", "checkout"];
/// The two goals of the site: (idgoal, name, URL pattern, revenue).
const GOALS: &[(u8, &str, &str, u32)] = &[
    (1, "Newsletter signup", "newsletter/thanks", 0),
    (2, "Contact form", "contact/sent", 10),
];
const CONTENT_NAMES: &[&str] = &[
    "Hero banner",
    "Newsletter box",
    "Related products",
    "Footer promo",
    "Size guide teaser",
    "Winter sale tile",
];
const CONTENT_PIECES: u64 = 20;
const CONTENT_TARGETS: u64 = 10;
/// Product subcategories (`idaction_category2`), shared by all sections.
const SUBCATEGORIES: u64 = 25;

/// The first `idaction` of each kind of `log_action` row; ids are dense.
#[derive(Debug, Clone, Copy)]
struct Ids {
    url: u32,
    title: u32,
    download: u32,
    outlink: u32,
    keyword: u32,
    event_url: u32,
    event_category: u32,
    event_action: u32,
    event_name: u32,
    /// Page URLs of content actions (stored with the content name type).
    content_url: u32,
    content_name: u32,
    content_piece: u32,
    content_target: u32,
    content_interaction: u32,
    sku: u32,
    product_name: u32,
    /// Top-level product categories (one per section), then
    /// [`SUBCATEGORIES`] second-level ones.
    category: u32,
    category2: u32,
    /// One past the last id.
    end: u32,
}

impl Ids {
    fn new(o: &Options) -> anyhow::Result<Self> {
        let mut next = 1u32;
        let mut take = |n: u64| -> anyhow::Result<u32> {
            let first = next;
            next = next
                .checked_add(u32::try_from(n)?)
                .context("too many log_action rows")?;
            Ok(first)
        };
        Ok(Self {
            url: take(o.urls)?,
            title: take(o.titles)?,
            download: take(o.downloads)?,
            outlink: take(o.outlinks)?,
            keyword: take(o.keywords)?,
            event_url: take(o.event_pages)?,
            event_category: take(EVENT_CATEGORIES.len() as u64)?,
            event_action: take(EVENT_ACTIONS.len() as u64)?,
            event_name: take(EVENT_NAMES)?,
            content_url: take(o.event_pages)?,
            content_name: take(CONTENT_NAMES.len() as u64)?,
            content_piece: take(CONTENT_PIECES)?,
            content_target: take(CONTENT_TARGETS)?,
            content_interaction: take(1)?,
            sku: take(o.products)?,
            product_name: take(o.products)?,
            category: take(SECTIONS.len() as u64)?,
            category2: take(SUBCATEGORIES)?,
            end: next,
        })
    }
}

fn id(first: u32, index: u64) -> u32 {
    first + u32::try_from(index).unwrap_or(0)
}

/// The path of page `p` below the host: 1 to 4 levels
/// (`/item-7`, `/shoes/item-7`, `/shoes/c3/item-7`, `/shoes/c3/s5/item-7`).
fn page_path(p: u64) -> String {
    let h = mix(p ^ SEED);
    let depth = match h % 20 {
        0..=1 => 1,
        2..=7 => 2,
        8..=14 => 3,
        _ => 4,
    };
    let folders = [
        pick(SECTIONS, h >> 8).to_owned(),
        format!("c{}", (h >> 16) % 25),
        format!("s{}", (h >> 24) % 12),
    ];
    let mut path = String::new();
    for folder in folders.iter().take(depth - 1) {
        path.push('/');
        path.push_str(folder);
    }
    let _ = write!(path, "/item-{p}");
    path
}

/// The title index of page `p` (titles are shared by several pages).
fn title_of(o: &Options, p: u64) -> u64 {
    p % o.titles
}

/// The product shown on page `p`, when it is a product page (a third of
/// the pages are).
fn product_of(o: &Options, p: u64) -> Option<u64> {
    (mix(p ^ SEED ^ 0x9e0d).is_multiple_of(3)).then_some(p % o.products)
}

/// The price of product `q` in cents: 4.99 to 199.99.
fn price_cents(q: u64) -> u64 {
    499 + (mix(q ^ 0x51ce) % 196) * 100
}

/// The top-level category (a section) and subcategory of product `q`.
fn category_of(q: u64) -> (u64, u64) {
    let h = mix(q ^ 0x0ca7);
    (h % SECTIONS.len() as u64, (h >> 16) % SUBCATEGORIES)
}

/// The product name of product `q`.
fn product_name(q: u64) -> String {
    format!(
        "{} {} {q}",
        pick(ADJECTIVES, q),
        pick(NOUNS, q / ADJECTIVES.len() as u64)
    )
}

/// The `log_action` rows: (idaction, name, type, url_prefix).
fn action_names(o: &Options, ids: &Ids) -> Vec<(u32, String, u8, Option<u8>)> {
    let mut rows = Vec::new();
    for p in 0..o.urls {
        // url_prefix 2 = `https://`, stripped from the name as the tracker does.
        rows.push((
            id(ids.url, p),
            format!("{HOST}{}", page_path(p)),
            1,
            Some(2),
        ));
    }
    for t in 0..o.titles {
        let section = pick(SECTIONS, t);
        rows.push((
            id(ids.title, t),
            format!("{section} – Product {t} | Shop"),
            4,
            None,
        ));
    }
    for d in 0..o.downloads {
        rows.push((
            id(ids.download, d),
            format!("https://{HOST}/files/manual-{d}.pdf"),
            3,
            None,
        ));
    }
    for l in 0..o.outlinks {
        rows.push((
            id(ids.outlink, l),
            format!("https://partner{}.example.com/offer/{l}", l % 50),
            2,
            None,
        ));
    }
    let combos = (ADJECTIVES.len() * NOUNS.len()) as u64;
    for k in 0..o.keywords {
        let base = format!(
            "{} {}",
            pick(ADJECTIVES, k),
            pick(NOUNS, k / ADJECTIVES.len() as u64)
        );
        let name = if k < combos {
            base
        } else {
            format!("{base} {}", k / combos)
        };
        rows.push((id(ids.keyword, k), name, 8, None));
    }
    for e in 0..o.event_pages {
        // Events store their page URL with the event category type.
        rows.push((
            id(ids.event_url, e),
            format!("{HOST}{}", page_path(e)),
            10,
            Some(2),
        ));
    }
    for (i, c) in EVENT_CATEGORIES.iter().enumerate() {
        rows.push((id(ids.event_category, i as u64), (*c).to_owned(), 10, None));
    }
    for (i, a) in EVENT_ACTIONS.iter().enumerate() {
        rows.push((id(ids.event_action, i as u64), (*a).to_owned(), 11, None));
    }
    for n in 0..EVENT_NAMES {
        rows.push((id(ids.event_name, n), format!("Teaser {n}"), 12, None));
    }
    for c in 0..o.event_pages {
        // Content actions keep the scheme of their page URL.
        rows.push((
            id(ids.content_url, c),
            format!("https://{HOST}{}", page_path(c)),
            13,
            None,
        ));
    }
    for (i, n) in CONTENT_NAMES.iter().enumerate() {
        rows.push((id(ids.content_name, i as u64), (*n).to_owned(), 13, None));
    }
    for n in 0..CONTENT_PIECES {
        rows.push((
            id(ids.content_piece, n),
            format!("/img/teaser-{n}.jpg"),
            14,
            None,
        ));
    }
    for n in 0..CONTENT_TARGETS {
        rows.push((
            id(ids.content_target, n),
            format!("https://{HOST}/sale/{n}"),
            15,
            None,
        ));
    }
    rows.push((ids.content_interaction, "click".to_owned(), 16, None));
    for q in 0..o.products {
        rows.push((id(ids.sku, q), format!("SKU-{q:05}"), 5, None));
    }
    for q in 0..o.products {
        rows.push((id(ids.product_name, q), product_name(q), 6, None));
    }
    for (i, section) in SECTIONS.iter().enumerate() {
        rows.push((id(ids.category, i as u64), (*section).to_owned(), 7, None));
    }
    for n in 0..SUBCATEGORIES {
        rows.push((id(ids.category2, n), format!("Line {n}"), 7, None));
    }
    rows
}

/// Appends `s` as a quoted SQL string literal.
fn push_str_literal(buf: &mut String, s: &str) {
    buf.push('\'');
    for c in s.chars() {
        match c {
            '\'' => buf.push_str("''"),
            '\\' => buf.push_str("\\\\"),
            c => buf.push(c),
        }
    }
    buf.push('\'');
}

fn push_hex(buf: &mut String, bytes: &[u8]) {
    buf.push_str("X'");
    for b in bytes {
        let _ = write!(buf, "{b:02x}");
    }
    buf.push('\'');
}

/// Appends an amount of cents as a decimal literal (`12.90`).
fn push_cents(buf: &mut String, cents: u64) {
    let _ = write!(buf, "{}.{:02}", cents / 100, cents % 100);
}

/// Appends `s` as a string literal, or NULL.
fn push_opt_str(buf: &mut String, s: Option<&str>) {
    match s {
        Some(s) => push_str_literal(buf, s),
        None => buf.push_str("NULL"),
    }
}

fn push_opt(buf: &mut String, v: Option<u64>) {
    match v {
        Some(v) => {
            let _ = write!(buf, "{v}");
        }
        None => buf.push_str("NULL"),
    }
}

/// `'2026-01-15 HH:MM:SS'` for a second of the day.
fn push_time(buf: &mut String, second: u64) {
    let _ = write!(
        buf,
        "'{DAY_SQL} {:02}:{:02}:{:02}'",
        second / 3600,
        (second / 60) % 60,
        second % 60
    );
}

/// Rows of one table collected into multi-row `INSERT` statements.
struct Batch {
    prefix: String,
    sql: String,
    rows: usize,
}

impl Batch {
    fn new(table: &str, columns: &[&str]) -> Self {
        let prefix = format!("INSERT INTO {table} ({}) VALUES ", columns.join(","));
        Self {
            sql: prefix.clone(),
            prefix,
            rows: 0,
        }
    }

    /// Starts a row and returns the buffer to write its values into
    /// (comma-separated, without the parentheses).
    fn row(&mut self) -> &mut String {
        self.sql.push_str(if self.rows == 0 { "(" } else { "),(" });
        self.rows += 1;
        &mut self.sql
    }

    /// The statement, if full (or if `all` and not empty).
    fn take(&mut self, all: bool) -> Option<String> {
        if self.rows == 0 || (!all && self.rows < ROWS_PER_INSERT) {
            return None;
        }
        self.rows = 0;
        let mut sql = std::mem::replace(&mut self.sql, self.prefix.clone());
        sql.push(')');
        Some(sql)
    }
}

const VISIT_COLUMNS: &[&str] = &[
    "idvisit",
    "idsite",
    "idvisitor",
    "visit_last_action_time",
    "config_id",
    "location_ip",
    "user_id",
    "visit_first_action_time",
    "visit_goal_buyer",
    "visit_goal_converted",
    "visit_total_time",
    "visitor_returning",
    "visitor_count_visits",
    "visitor_seconds_since_first",
    "visitor_seconds_since_order",
    "visitor_seconds_since_last",
    "profilable",
    "visit_entry_idaction_name",
    "visit_entry_idaction_url",
    "visit_exit_idaction_name",
    "visit_exit_idaction_url",
    "visit_total_actions",
    "visit_total_interactions",
    "visit_total_searches",
    "visit_total_events",
    "referer_type",
    "referer_name",
    "referer_keyword",
    "referer_url",
    "config_os",
    "config_os_version",
    "config_browser_name",
    "config_browser_version",
    "config_browser_engine",
    "config_client_type",
    "config_device_type",
    "config_device_brand",
    "config_device_model",
    "config_resolution",
    "config_cookie",
    "config_flash",
    "config_java",
    "config_pdf",
    "config_quicktime",
    "config_realplayer",
    "config_silverlight",
    "config_windowsmedia",
    "location_browser_lang",
    "location_country",
    "location_region",
    "location_city",
    "location_latitude",
    "location_longitude",
    "visitor_localtime",
    "last_idlink_va",
    "custom_dimension_1",
    "custom_var_k1",
    "custom_var_v1",
    "custom_var_k2",
    "custom_var_v2",
];

/// The columns of every action row.
const ACTION_COLUMNS: &[&str] = &[
    "idlink_va",
    "idsite",
    "idvisitor",
    "idvisit",
    "idaction_url_ref",
    "idaction_name_ref",
    "custom_float",
    "pageview_position",
    "server_time",
    "idaction_url",
    "idaction_name",
    "idpageview",
    "time_spent_ref_action",
    "search_cat",
    "search_count",
    "idaction_event_category",
    "idaction_event_action",
    "time_network",
    "time_server",
    "time_transfer",
    "time_dom_processing",
    "time_dom_completion",
    "time_on_load",
    "time_spent",
];

/// The columns that only some actions have (content actions, product
/// page views, page-scope custom variable 3, the action-scope custom
/// dimension), after [`ACTION_COLUMNS`] in the same statements: rows sent
/// in separate statements would reach the table out of `idlink_va` order
/// and leave its pages half full (2.4x the bytes to scan).
const ACTION_EXTRA_COLUMNS: &[&str] = &[
    "idaction_content_name",
    "idaction_content_piece",
    "idaction_content_target",
    "idaction_content_interaction",
    "idaction_product_sku",
    "idaction_product_name",
    "idaction_product_cat",
    "idaction_product_cat2",
    "product_price",
    "custom_var_k3",
    "custom_var_v3",
    "custom_dimension_1",
];

const CONVERSION_COLUMNS: &[&str] = &[
    "idvisit",
    "idsite",
    "idvisitor",
    "server_time",
    "idaction_url",
    "idlink_va",
    "idgoal",
    "buster",
    "idorder",
    "items",
    "url",
    "revenue",
    "revenue_subtotal",
    "revenue_tax",
    "revenue_shipping",
    "revenue_discount",
    "pageviews_before",
    "referer_type",
    "referer_name",
    "referer_keyword",
    "visitor_returning",
    "visitor_count_visits",
    "visitor_seconds_since_first",
    "visitor_seconds_since_order",
    "config_browser_name",
    "config_device_type",
    "config_device_brand",
    "config_device_model",
    "location_country",
    "location_region",
    "location_city",
    "location_latitude",
    "location_longitude",
    "custom_dimension_1",
];

const ITEM_COLUMNS: &[&str] = &[
    "idsite",
    "idvisitor",
    "server_time",
    "idvisit",
    "idorder",
    "idaction_sku",
    "idaction_name",
    "idaction_category",
    "idaction_category2",
    "idaction_category3",
    "idaction_category4",
    "idaction_category5",
    "price",
    "quantity",
    "deleted",
];

/// What the generator wrote.
#[derive(Debug, Default)]
struct Generated {
    visits: u64,
    actions: u64,
    pageviews: u64,
    downloads: u64,
    outlinks: u64,
    searches: u64,
    events: u64,
    bounces: u64,
    unique_visitors: u64,
    /// Page views with page-performance timings.
    timed_pageviews: u64,
    /// Page views of product pages (`idaction_product_*` set).
    product_views: u64,
    content_impressions: u64,
    content_interactions: u64,
    /// Conversions of the goals of [`GOALS`], in that order.
    goal_conversions: [u64; 2],
    /// Ecommerce orders (idgoal 0) and abandoned carts (idgoal -1).
    orders: u64,
    carts: u64,
    /// `log_conversion_item` rows of orders and carts.
    items: u64,
    /// Visits with a goal conversion or an order (`visit_goal_converted`).
    converted_visits: u64,
    sql_bytes: u64,
}

impl Generated {
    fn conversions(&self) -> u64 {
        self.goal_conversions.iter().sum::<u64>() + self.orders + self.carts
    }
}

/// Actions per visit: 30% bounces, a long tail up to 11, then adjusted so
/// that the total is exactly `o.actions`.
fn actions_per_visit(o: &Options, r: &mut Rng) -> Vec<u16> {
    let mut counts: Vec<u16> = (0..o.visits)
        .map(|_| match r.below(100) {
            0..=29 => 1,
            30..=47 => 2,
            48..=59 => 3,
            _ => 4 + u16::try_from(r.below(8)).unwrap_or(0),
        })
        .collect();
    let mut total: u64 = counts.iter().map(|&c| u64::from(c)).sum();
    let len = counts.len() as u64;
    while total != o.actions {
        let i = usize::try_from(r.below(len)).unwrap_or(0);
        if total < o.actions && counts[i] > 1 && counts[i] < 40 {
            counts[i] += 1;
            total += 1;
        } else if total > o.actions && counts[i] > 3 {
            counts[i] -= 1;
            total -= 1;
        }
    }
    counts
}

/// Kinds of generated actions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Pageview,
    Download,
    Outlink,
    Search,
    Event,
    /// A content impression, or an interaction with one.
    Content,
}

/// What a visit's conversions copy from the visit (Matomo stores them on
/// the conversion row for the conversion reports).
struct VisitFacts<'a> {
    idvisit: u64,
    idvisitor: [u8; 8],
    /// The second of the day of the last action, when conversions happen.
    time: u64,
    idaction_url: Option<u64>,
    idlink_va: u64,
    pageviews: u64,
    referrer: Option<&'a Referrer>,
    returning: u8,
    count_visits: u64,
    since_first: u64,
    since_order: Option<u64>,
    device: &'a Device,
    place: Place,
    plan: Option<&'static str>,
}

/// A visit's referrer.
struct Referrer {
    kind: u8,
    name: &'static str,
    keyword: Option<String>,
    url: String,
}

/// Where a visitor is: a country, and a city of [`CITIES`] for most.
#[derive(Clone, Copy)]
struct Place {
    country: &'static str,
    city: Option<(&'static str, &'static str, &'static str, &'static str)>,
}

/// One `log_conversion` row.
struct Conversion<'a> {
    idgoal: i8,
    buster: u64,
    idorder: Option<&'a str>,
    /// Items (the sum of the quantities) of an order or cart.
    items: Option<u64>,
    /// The conversion URL below the host.
    path: &'a str,
    revenue_cents: u64,
    /// Subtotal, tax, shipping and discount of an order, in cents.
    parts: Option<[u64; 4]>,
}

fn push_conversion(b: &mut String, v: &VisitFacts<'_>, c: &Conversion<'_>) {
    let _ = write!(b, "{},1,", v.idvisit);
    push_hex(b, &v.idvisitor);
    b.push(',');
    push_time(b, v.time);
    b.push(',');
    push_opt(b, v.idaction_url);
    let _ = write!(b, ",{},{},{},", v.idlink_va, c.idgoal, c.buster);
    push_opt_str(b, c.idorder);
    b.push(',');
    push_opt(b, c.items);
    let _ = write!(b, ",'https://{HOST}/{}',", c.path);
    push_cents(b, c.revenue_cents);
    match c.parts {
        Some(parts) => {
            for cents in parts {
                b.push(',');
                push_cents(b, cents);
            }
        }
        None => b.push_str(",NULL,NULL,NULL,NULL"),
    }
    let _ = write!(b, ",{},", v.pageviews);
    match v.referrer {
        Some(referrer) => {
            let _ = write!(b, "{},", referrer.kind);
            push_str_literal(b, referrer.name);
            b.push(',');
            push_opt_str(b, referrer.keyword.as_deref());
        }
        None => b.push_str("1,NULL,NULL"),
    }
    let _ = write!(b, ",{},{},{},", v.returning, v.count_visits, v.since_first);
    push_opt(b, v.since_order);
    let d = v.device;
    let _ = write!(
        b,
        ",'{}',{},'{}','{}',",
        d.browser, d.kind, d.brand, d.model
    );
    push_place(b, v.place);
    b.push(',');
    push_opt_str(b, v.plan);
}

/// `location_country` to `location_longitude`.
fn push_place(b: &mut String, place: Place) {
    match place.city {
        Some((region, city, lat, long)) => {
            let _ = write!(b, "'{}','{region}','{city}',{lat},{long}", place.country);
        }
        None => {
            let _ = write!(b, "'{}',NULL,NULL,NULL,NULL", place.country);
        }
    }
}

/// Generates the visits, actions, conversions and ecommerce items and
/// sends them as statements.
fn generate(o: &Options, ids: &Ids, tx: &mpsc::SyncSender<String>) -> anyhow::Result<Generated> {
    let mut r = Rng(SEED);
    let counts = actions_per_visit(o, &mut r);
    let mut seen = vec![false; usize::try_from(o.visits)?];
    let mut g = Generated::default();
    let mut visits = Batch::new("log_visit", VISIT_COLUMNS);
    let action_columns: Vec<&str> = ACTION_COLUMNS
        .iter()
        .chain(ACTION_EXTRA_COLUMNS)
        .copied()
        .collect();
    let mut actions = Batch::new("log_link_visit_action", &action_columns);
    let no_extras = ",NULL".repeat(ACTION_EXTRA_COLUMNS.len());
    let mut conversions = Batch::new("log_conversion", CONVERSION_COLUMNS);
    let mut items = Batch::new("log_conversion_item", ITEM_COLUMNS);
    let send = |sql: String, g: &mut Generated| -> anyhow::Result<()> {
        g.sql_bytes += sql.len() as u64;
        tx.send(sql)
            .map_err(|_| anyhow::anyhow!("the inserting thread stopped"))
    };
    let mut idlink_va = 0u64;
    let mut times = Vec::with_capacity(64);
    let mut basket: Vec<(u64, u64)> = Vec::with_capacity(4);
    for (i, &n) in counts.iter().enumerate() {
        let idvisit = i as u64 + 1;
        // Repeat visitors: visitor indexes drawn from as many as there are
        // visits leave about 63% of them distinct.
        let visitor = r.below(o.visits);
        let vslot = usize::try_from(visitor)?;
        if !seen[vslot] {
            seen[vslot] = true;
            g.unique_visitors += 1;
        }
        let vh = mix(visitor ^ SEED);
        let idvisitor = vh.to_be_bytes();

        // What belongs to the visitor (device, place, plugins, plan,
        // membership) comes from its hash, so that its visits agree.
        let device = &DEVICES[usize::try_from(vh % DEVICES.len() as u64)?];
        let spot = usize::try_from((vh >> 20) % (CITIES.len() + COUNTRIES.len() / 2) as u64)?;
        let place = match CITIES.get(spot) {
            Some(&(country, region, city, lat, long)) => Place {
                country,
                city: Some((region, city, lat, long)),
            },
            None => Place {
                country: pick(COUNTRIES, vh >> 24),
                city: None,
            },
        };
        let plan = (vh >> 40).is_multiple_of(4).then(|| pick(PLANS, vh >> 44));
        let membership = (vh >> 48)
            .is_multiple_of(10)
            .then(|| pick(MEMBERSHIPS, vh >> 52));
        // Returning visits (30%) come back after days to months; 1 in 100
        // of them is a returning customer.
        let returning = r.chance(300);
        let customer = returning && r.chance(10);
        let count_visits = if returning { 2 + r.skewed(150) } else { 1 };
        let since_last = if returning {
            r.skewed(400) * 86_400 + r.below(86_400)
        } else {
            0
        };
        let since_first = since_last + if returning { r.skewed(400) * 86_400 } else { 0 };
        let since_order = customer.then(|| since_last + r.below(30 * 86_400));
        let referrer = if r.chance(400) {
            let (kind, name, url) = REFERRERS[usize::try_from(r.below(REFERRERS.len() as u64))?];
            let keyword = match kind {
                2 if r.chance(250) => Some(format!(
                    "{} {}",
                    pick(ADJECTIVES, r.next()),
                    pick(NOUNS, r.next())
                )),
                6 if r.chance(700) => Some(pick(CAMPAIGN_KEYWORDS, r.next()).to_owned()),
                _ => None,
            };
            let url = if kind == 3 {
                format!("{url}{}", r.below(30))
            } else {
                url.to_owned()
            };
            Some(Referrer {
                kind,
                name,
                keyword,
                url,
            })
        } else {
            None
        };
        let login = r
            .chance(200)
            .then(|| if r.chance(400) { "yes" } else { "no" });

        // Times: visits start spread over the day; gaps of seconds to
        // minutes; a visit running past midnight is moved earlier.
        times.clear();
        let mut t = (i as u64 * 86_400) / o.visits + r.below(30);
        for k in 0..n {
            if k > 0 {
                t += 3 + r.below(120) + if r.chance(50) { r.below(900) } else { 0 };
            }
            times.push(t);
        }
        let first = times[0];
        let last = times[times.len() - 1];
        if last > 86_399 {
            let shift = last - 86_399;
            for t in &mut times {
                *t -= shift;
            }
        }

        // The actions, following the tracker's entry/exit/ref bookkeeping:
        // the first action is a page view; refs are the previous exit.
        let (mut exit_url, mut exit_name): (Option<u64>, Option<u64>) = (Some(0), Some(0));
        let (mut entry_url, mut entry_name) = (None, None);
        let (mut interactions, mut searches, mut events, mut pageviews) = (0u64, 0u64, 0u64, 0u64);
        for k in 0..usize::from(n) {
            idlink_va += 1;
            let kind = if k == 0 {
                Kind::Pageview
            } else {
                match r.below(1000) {
                    0..=24 => Kind::Download,
                    25..=49 => Kind::Outlink,
                    50..=84 => Kind::Search,
                    85..=97 => Kind::Event,
                    98..=127 => Kind::Content,
                    _ => Kind::Pageview,
                }
            };
            let (ref_url, ref_name) = (exit_url, exit_name);
            let spent = if k == 0 { 0 } else { times[k] - times[k - 1] };
            let time_spent = times.get(k + 1).map(|next| next - times[k]);
            let (mut url, mut name) = (None, None);
            let (mut search_cat, mut search_count) = (None, None);
            let (mut ev_cat, mut ev_act, mut value) = (None, None, None);
            let mut idpageview = None;
            let mut timings = None;
            // The columns of ACTION_EXTRA_COLUMNS.
            let mut content: Option<[Option<u64>; 4]> = None;
            let (mut product, mut section, mut page_type) = (None, None, None);
            match kind {
                Kind::Pageview => {
                    let p = r.skewed(o.urls);
                    url = Some(u64::from(id(ids.url, p)));
                    name = Some(u64::from(id(ids.title, title_of(o, p))));
                    interactions += 1;
                    pageviews += 1;
                    exit_url = url;
                    exit_name = name;
                    if entry_url.is_none() {
                        entry_url = url;
                        entry_name = name;
                    }
                    idpageview = Some(r.below(0xff_ffff));
                    if r.chance(600) {
                        timings = Some([
                            r.below(60),
                            20 + r.below(500),
                            r.below(120),
                            100 + r.below(1500),
                            10 + r.below(500),
                            r.below(60),
                        ]);
                        g.timed_pageviews += 1;
                    }
                    product = product_of(o, p);
                    g.product_views += u64::from(product.is_some());
                    if r.chance(200) {
                        section = Some(pick(SECTIONS, mix(p ^ SEED) >> 8));
                    }
                    if r.chance(300) {
                        page_type = Some(if product.is_some() {
                            "product"
                        } else {
                            pick(PAGE_TYPES, mix(p ^ 0x7e9e))
                        });
                    }
                    g.pageviews += 1;
                }
                Kind::Download => {
                    url = Some(u64::from(id(ids.download, r.skewed(o.downloads))));
                    g.downloads += 1;
                }
                Kind::Outlink => {
                    url = Some(u64::from(id(ids.outlink, r.skewed(o.outlinks))));
                    g.outlinks += 1;
                }
                Kind::Search => {
                    name = Some(u64::from(id(ids.keyword, r.skewed(o.keywords))));
                    if r.chance(300) {
                        search_cat = Some(pick(SECTIONS, r.next()));
                    }
                    search_count = Some(r.below(40));
                    interactions += 1;
                    searches += 1;
                    exit_url = None;
                    exit_name = name;
                    g.searches += 1;
                }
                Kind::Event => {
                    url = Some(u64::from(id(ids.event_url, r.below(o.event_pages))));
                    if r.chance(700) {
                        name = Some(u64::from(id(ids.event_name, r.below(EVENT_NAMES))));
                    }
                    ev_cat = Some(u64::from(id(
                        ids.event_category,
                        r.below(EVENT_CATEGORIES.len() as u64),
                    )));
                    ev_act = Some(u64::from(id(
                        ids.event_action,
                        r.below(EVENT_ACTIONS.len() as u64),
                    )));
                    if r.chance(300) {
                        value = Some(r.below(100));
                    }
                    events += 1;
                    g.events += 1;
                }
                Kind::Content => {
                    // Impressions, and interactions (15%) with them; the
                    // visit's exit does not change, as in the tracker.
                    url = Some(u64::from(id(ids.content_url, r.below(o.event_pages))));
                    let interaction = r.chance(150);
                    content = Some([
                        Some(u64::from(id(
                            ids.content_name,
                            r.skewed(CONTENT_NAMES.len() as u64),
                        ))),
                        r.chance(800)
                            .then(|| u64::from(id(ids.content_piece, r.below(CONTENT_PIECES)))),
                        r.chance(700)
                            .then(|| u64::from(id(ids.content_target, r.below(CONTENT_TARGETS)))),
                        interaction.then_some(u64::from(ids.content_interaction)),
                    ]);
                    if interaction {
                        g.content_interactions += 1;
                    } else {
                        g.content_impressions += 1;
                    }
                }
            }
            let rich =
                content.is_some() || product.is_some() || section.is_some() || page_type.is_some();
            let b = actions.row();
            let _ = write!(b, "{idlink_va},1,");
            push_hex(b, &idvisitor);
            let _ = write!(b, ",{idvisit},");
            push_opt(b, ref_url);
            b.push(',');
            push_opt(b, ref_name);
            b.push(',');
            push_opt(b, value);
            let _ = write!(b, ",{interactions},");
            push_time(b, times[k]);
            b.push(',');
            push_opt(b, url);
            b.push(',');
            push_opt(b, name);
            b.push(',');
            match idpageview {
                Some(v) => {
                    let _ = write!(b, "'{v:06x}'");
                }
                None => b.push_str("NULL"),
            }
            let _ = write!(b, ",{spent},");
            match search_cat {
                Some(c) => push_str_literal(b, c),
                None => b.push_str("NULL"),
            }
            b.push(',');
            push_opt(b, search_count);
            b.push(',');
            push_opt(b, ev_cat);
            b.push(',');
            push_opt(b, ev_act);
            match timings {
                Some(ts) => {
                    for v in ts {
                        let _ = write!(b, ",{v}");
                    }
                }
                None => b.push_str(",NULL,NULL,NULL,NULL,NULL,NULL"),
            }
            b.push(',');
            push_opt(b, time_spent);
            if rich {
                for v in content.unwrap_or_default() {
                    b.push(',');
                    push_opt(b, v);
                }
                match product {
                    Some(q) => {
                        let (cat, cat2) = category_of(q);
                        let _ = write!(
                            b,
                            ",{},{},{},{},",
                            id(ids.sku, q),
                            id(ids.product_name, q),
                            id(ids.category, cat),
                            id(ids.category2, cat2)
                        );
                        push_cents(b, price_cents(q));
                    }
                    None => b.push_str(",NULL,NULL,NULL,NULL,NULL"),
                }
                match section {
                    Some(s) => {
                        let _ = write!(b, ",'Section','{s}'");
                    }
                    None => b.push_str(",NULL,NULL"),
                }
                b.push(',');
                push_opt_str(b, page_type);
            } else {
                b.push_str(&no_extras);
            }
            if let Some(sql) = actions.take(false) {
                send(sql, &mut g)?;
            }
        }
        g.actions += u64::from(n);
        g.bounces += u64::from(n == 1);

        // Conversions at the visit's last action: goals 1 (2% of visits)
        // and 2 (1%), an order (1%) or else an abandoned cart (1.5%).
        let facts = VisitFacts {
            idvisit,
            idvisitor,
            time: times[times.len() - 1],
            idaction_url: exit_url.or(entry_url),
            idlink_va,
            pageviews,
            referrer: referrer.as_ref(),
            returning: if customer { 2 } else { u8::from(returning) },
            count_visits,
            since_first,
            since_order,
            device,
            place,
            plan,
        };
        let mut converted = false;
        for (index, (idgoal, _, pattern, revenue)) in GOALS.iter().enumerate() {
            if r.chance(if index == 0 { 20 } else { 10 }) {
                let conversion = Conversion {
                    idgoal: i8::try_from(*idgoal)?,
                    buster: 0,
                    idorder: None,
                    items: None,
                    path: pattern,
                    revenue_cents: u64::from(*revenue) * 100,
                    parts: None,
                };
                push_conversion(conversions.row(), &facts, &conversion);
                g.goal_conversions[index] += 1;
                converted = true;
            }
        }
        let order = r.chance(10);
        let cart = !order && r.chance(15);
        if order || cart {
            basket.clear();
            let wanted = 1 + r.below(4);
            for _ in 0..wanted {
                let q = r.skewed(o.products);
                if basket.iter().all(|(p, _)| *p != q) {
                    basket.push((q, 1 + u64::from(r.chance(200)) * r.below(3)));
                }
            }
            let subtotal: u64 = basket.iter().map(|(q, n)| price_cents(*q) * n).sum();
            let quantity: u64 = basket.iter().map(|(_, n)| n).sum();
            let order_id = format!("O{idvisit}");
            let conversion = if order {
                let tax = subtotal * 19 / 100;
                let shipping = if subtotal >= 5_000 { 0 } else { 490 };
                let discount = if r.chance(150) { subtotal.min(500) } else { 0 };
                g.orders += 1;
                converted = true;
                Conversion {
                    idgoal: 0,
                    buster: mix(idvisit) % (1 << 31),
                    idorder: Some(&order_id),
                    items: Some(quantity),
                    path: "checkout/done",
                    revenue_cents: subtotal + tax + shipping - discount,
                    parts: Some([subtotal, tax, shipping, discount]),
                }
            } else {
                g.carts += 1;
                Conversion {
                    idgoal: -1,
                    buster: 0,
                    idorder: None,
                    items: Some(quantity),
                    path: "cart",
                    revenue_cents: subtotal,
                    parts: None,
                }
            };
            push_conversion(conversions.row(), &facts, &conversion);
            // Cart items are stored under order id '0'.
            let item_order = if order { order_id.as_str() } else { "0" };
            for (q, n) in &basket {
                let (cat, cat2) = category_of(*q);
                let b = items.row();
                b.push_str("1,");
                push_hex(b, &idvisitor);
                b.push(',');
                push_time(b, facts.time);
                let _ = write!(
                    b,
                    ",{idvisit},'{item_order}',{},{},{},{},0,0,0,",
                    id(ids.sku, *q),
                    id(ids.product_name, *q),
                    id(ids.category, cat),
                    id(ids.category2, cat2)
                );
                push_cents(b, price_cents(*q));
                let _ = write!(b, ",{n},0");
                g.items += 1;
            }
        }
        g.converted_visits += u64::from(converted);
        for batch in [&mut conversions, &mut items] {
            if let Some(sql) = batch.take(false) {
                send(sql, &mut g)?;
            }
        }

        // The visit.
        let b = visits.row();
        let _ = write!(b, "{idvisit},1,");
        push_hex(b, &idvisitor);
        b.push(',');
        push_time(b, times[times.len() - 1]);
        b.push(',');
        push_hex(b, &mix(vh).to_be_bytes());
        b.push(',');
        push_hex(b, &[10, (vh >> 8) as u8, 0, 0]);
        b.push(',');
        if vh.is_multiple_of(50) {
            let _ = write!(b, "'user-{visitor}'");
        } else {
            b.push_str("NULL");
        }
        b.push(',');
        push_time(b, times[0]);
        let buyer = if order { 1 } else { 2 * u8::from(cart) };
        let _ = write!(
            b,
            ",{buyer},{},{},{},{count_visits},{since_first},",
            u8::from(converted),
            times[times.len() - 1] - times[0],
            facts.returning,
        );
        push_opt(b, since_order);
        let _ = write!(b, ",{since_last},1,");
        push_opt(b, entry_name);
        b.push(',');
        push_opt(b, entry_url);
        b.push(',');
        push_opt(b, exit_name);
        b.push(',');
        push_opt(b, exit_url);
        let _ = write!(b, ",{n},{interactions},{searches},{events},");
        match &referrer {
            Some(referrer) => {
                let _ = write!(b, "{},", referrer.kind);
                push_str_literal(b, referrer.name);
                b.push(',');
                push_opt_str(b, referrer.keyword.as_deref());
                b.push(',');
                push_str_literal(b, &referrer.url);
                b.push(',');
            }
            None => b.push_str("1,NULL,NULL,NULL,"),
        }
        let d = device;
        let _ = write!(
            b,
            "'{}','{}','{}','{}','{}',1,{},'{}','{}','{}'",
            d.os,
            d.os_version,
            d.browser,
            d.browser_version,
            d.engine,
            d.kind,
            d.brand,
            d.model,
            pick(RESOLUTIONS, vh >> 12),
        );
        // Browser plugins (cookie, flash, java, pdf, quicktime, realplayer,
        // silverlight, windowsmedia) in roughly today's proportions.
        let ph = mix(vh ^ 0x9106);
        for (shift, per_mille) in [(0, 970), (10, 20), (20, 40), (30, 700), (40, 60), (50, 5)] {
            let _ = write!(b, ",{}", u8::from((ph >> shift) % 1000 < per_mille));
        }
        let _ = write!(
            b,
            ",{},{},'{}',",
            u8::from((ph >> 13) % 1000 < 30),
            u8::from((ph >> 23) % 1000 < 50),
            pick(LANGUAGES, vh >> 16),
        );
        push_place(b, place);
        let _ = write!(
            b,
            ",'{:02}:{:02}:{:02}',{idlink_va},",
            (first / 3600 + 1) % 24,
            (first / 60) % 60,
            first % 60
        );
        push_opt_str(b, plan);
        match membership {
            Some(m) => {
                let _ = write!(b, ",'Membership','{m}'");
            }
            None => b.push_str(",NULL,NULL"),
        }
        match login {
            Some(l) => {
                let _ = write!(b, ",'Login','{l}'");
            }
            None => b.push_str(",NULL,NULL"),
        }
        if let Some(sql) = visits.take(false) {
            send(sql, &mut g)?;
        }
        g.visits += 1;
    }
    for batch in [&mut actions, &mut visits, &mut conversions, &mut items] {
        if let Some(sql) = batch.take(true) {
            send(sql, &mut g)?;
        }
    }
    Ok(g)
}

/// Sends statements, several per transaction.
fn execute_all(
    conn: &mut MysqlConnection,
    statements: impl IntoIterator<Item = String>,
) -> anyhow::Result<()> {
    fn flush(pending: &mut Vec<String>, conn: &mut MysqlConnection) -> QueryResult<()> {
        let result = conn.transaction(|c| {
            for s in pending.iter() {
                c.batch_execute(s)?;
            }
            Ok(())
        });
        pending.clear();
        result
    }
    let mut pending = Vec::with_capacity(STATEMENTS_PER_TRANSACTION);
    for sql in statements {
        pending.push(sql);
        if pending.len() == STATEMENTS_PER_TRANSACTION {
            flush(&mut pending, conn).context("inserting generated rows")?;
        }
    }
    if !pending.is_empty() {
        flush(&mut pending, conn).context("inserting generated rows")?;
    }
    Ok(())
}

/// One site (UTC, site search and ecommerce on, the goals of [`GOALS`], a
/// visit-scope and an action-scope custom dimension), then the logs of
/// the day.
fn seed(
    db: &TestDb,
    conn: &mut MysqlConnection,
    o: &Options,
    ids: &Ids,
) -> anyhow::Result<Generated> {
    conn.batch_execute(
        "INSERT INTO site (idsite, name, main_url, ts_created, ecommerce, sitesearch, \
         sitesearch_keyword_parameters, sitesearch_category_parameters, timezone, currency, \
         excluded_ips, excluded_parameters, excluded_user_agents, excluded_referrers, `group`, `type`) \
         VALUES (1, 'Shop', 'https://shop.example', '2020-01-01 00:00:00', 1, 1, '', '', 'UTC', \
         'EUR', '', '', '', '', '', 'website')",
    )
    .context("inserting the site")?;
    let mut goals = Batch::new(
        "goal",
        &[
            "idsite",
            "idgoal",
            "name",
            "match_attribute",
            "pattern",
            "pattern_type",
            "case_sensitive",
            "allow_multiple",
            "revenue",
        ],
    );
    for (idgoal, name, pattern, revenue) in GOALS {
        let _ = write!(
            goals.row(),
            "1,{idgoal},'{name}','url','{pattern}','contains',0,0,{revenue}"
        );
    }
    conn.batch_execute(&goals.take(true).context("no goals")?)
        .context("inserting the goals")?;
    // Index 1 of each scope: visit and action dimensions have columns of
    // their own (`log_visit.custom_dimension_1`, `log_link_visit_action.custom_dimension_1`).
    conn.batch_execute(
        "INSERT INTO custom_dimensions (idcustomdimension, idsite, name, `index`, scope, active, \
         extractions, case_sensitive) VALUES (1, 1, 'Plan', 1, 'visit', 1, '[]', 1), \
         (2, 1, 'Page type', 1, 'action', 1, '[]', 1)",
    )
    .context("inserting the custom dimensions")?;

    let names = action_names(o, ids);
    ensure!(
        names.len() as u64 == u64::from(ids.end - 1),
        "log_action ids and rows disagree"
    );
    let mut batch = Batch::new(
        "log_action",
        &["idaction", "name", "hash", "type", "url_prefix"],
    );
    let mut statements = Vec::new();
    for (idaction, name, ty, prefix) in &names {
        let b = batch.row();
        let _ = write!(b, "{idaction},");
        push_str_literal(b, name);
        let _ = write!(b, ",{},{ty},", crc32fast::hash(name.as_bytes()));
        push_opt(b, prefix.map(u64::from));
        if let Some(sql) = batch.take(false) {
            statements.push(sql);
        }
    }
    statements.extend(batch.take(true));
    execute_all(conn, statements)?;

    // Statements are built on one thread and sent by two connections
    // (this one and a second on its own thread), so that MariaDB can use
    // both cores; rows carry their ids, so the order does not matter.
    let (tx, rx) = mpsc::sync_channel::<String>(8);
    let rx = Mutex::new(rx);
    let shared = || std::iter::from_fn(|| rx.lock().ok()?.recv().ok());
    let mut second = db.conn().context("opening a second connection")?;
    let generated = std::thread::scope(|s| {
        let producer = s.spawn(move || generate(o, ids, &tx));
        let helper = s.spawn(|| execute_all(&mut second, shared()));
        let inserted = execute_all(conn, shared());
        let helped = helper
            .join()
            .map_err(|_| anyhow::anyhow!("the inserting thread panicked"))?;
        let generated = producer
            .join()
            .map_err(|_| anyhow::anyhow!("the generator panicked"))?;
        // An insert error stops the generator; report the insert error.
        inserted?;
        helped?;
        generated
    })?;
    conn.batch_execute(
        "ANALYZE TABLE log_action, log_visit, log_link_visit_action, log_conversion, \
         log_conversion_item",
    )
    .context("analyzing the log tables")?;
    Ok(generated)
}

// ---------------------------------------------------------------------------
// Measurements.

#[derive(QueryableByName)]
struct TextRow {
    #[diesel(sql_type = Text)]
    t: String,
}

/// The access path MariaDB picks for `sql` (from `EXPLAIN FORMAT=JSON`).
fn plan(conn: &mut MysqlConnection, sql: &str) -> String {
    #[derive(QueryableByName)]
    struct Explain {
        #[diesel(sql_type = Text, column_name = "EXPLAIN")]
        json: String,
    }
    let Ok(rows) = diesel::sql_query(format!("EXPLAIN FORMAT=JSON {sql}")).load::<Explain>(conn)
    else {
        return "?".into();
    };
    let json = rows.first().map_or("", |r| r.json.as_str());
    let field = |name: &str| {
        let key = format!("\"{name}\": ");
        json.find(&key).map_or("?".to_owned(), |at| {
            json[at + key.len()..]
                .split([',', '\n', '}'])
                .next()
                .unwrap_or("?")
                .trim()
                .trim_matches('"')
                .to_owned()
        })
    };
    format!(
        "{} on {}, ~{} rows",
        field("access_type"),
        field("key"),
        field("rows")
    )
}

/// A field of /proc/self/status in MB (`VmRSS`, `VmHWM`).
fn status_mb(field: &str) -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines().find_map(|l| {
                l.strip_prefix(field)?
                    .trim_start_matches(':')
                    .trim()
                    .trim_end_matches("kB")
                    .trim()
                    .parse::<f64>()
                    .ok()
            })
        })
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

/// Resets the peak RSS (`VmHWM`) to the current RSS; best effort.
fn reset_peak_rss() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

/// The server's buffer pool, resized for the run and put back when
/// dropped (a global setting: other clients of the server see it too).
struct BufferPool {
    conn: MysqlConnection,
    before: u64,
}

impl BufferPool {
    fn size(conn: &mut MysqlConnection) -> anyhow::Result<u64> {
        let bytes = count(conn, "SELECT @@innodb_buffer_pool_size AS n")?;
        Ok(u64::try_from(bytes)?)
    }

    /// Sets the size and waits for the server's online resize to finish.
    fn set(conn: &mut MysqlConnection, bytes: u64) -> anyhow::Result<()> {
        conn.batch_execute(&format!("SET GLOBAL innodb_buffer_pool_size = {bytes}"))
            .context("setting innodb_buffer_pool_size (needs SUPER)")?;
        let deadline = Instant::now() + Duration::from_secs(120);
        // The server rounds the size up to whole chunks.
        while Self::size(conn)? < bytes {
            ensure!(
                Instant::now() < deadline,
                "the buffer pool resize did not finish"
            );
            std::thread::sleep(Duration::from_millis(200));
        }
        Ok(())
    }

    fn resize(db: &TestDb, mb: u64) -> anyhow::Result<Self> {
        let mut conn = db.conn()?;
        let before = Self::size(&mut conn)?;
        Self::set(&mut conn, mb << 20)?;
        eprintln!(
            "innodb_buffer_pool_size {} MB for the run (was {} MB)",
            Self::size(&mut conn)? >> 20,
            before >> 20
        );
        Ok(Self { conn, before })
    }
}

impl Drop for BufferPool {
    fn drop(&mut self) {
        if let Err(e) = self.conn.batch_execute(&format!(
            "SET GLOBAL innodb_buffer_pool_size = {}",
            self.before
        )) {
            eprintln!("could not put innodb_buffer_pool_size back: {e}");
        }
    }
}

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "?".into())
}

fn secs(d: Duration) -> f64 {
    d.as_secs_f64()
}

fn best(runs: &[Duration]) -> Duration {
    runs.iter().copied().min().unwrap_or_default()
}

fn runs_text(runs: &[Duration]) -> String {
    runs.iter()
        .map(|d| format!("{:.2}", secs(*d)))
        .collect::<Vec<_>>()
        .join(" / ")
}

/// Rows of an archive in both tables: (numeric rows, blob rows, rows whose
/// name starts with `Actions`).
fn archive_rows(
    conn: &mut MysqlConnection,
    archive: &StoredArchive,
) -> anyhow::Result<(i64, i64, i64, i64)> {
    let numeric = archive.month.table(ArchiveKind::Numeric);
    let blob = archive.month.table(ArchiveKind::Blob);
    let id = archive.idarchive;
    Ok((
        count(
            conn,
            &format!("SELECT COUNT(*) AS n FROM {numeric} WHERE idarchive = {id}"),
        )?,
        count(
            conn,
            &format!("SELECT COUNT(*) AS n FROM {blob} WHERE idarchive = {id}"),
        )?,
        count(
            conn,
            &format!(
                "SELECT (SELECT COUNT(*) FROM {numeric} WHERE idarchive = {id} AND name LIKE 'Actions%') \
                 + (SELECT COUNT(*) FROM {blob} WHERE idarchive = {id} AND name LIKE 'Actions%') AS n"
            ),
        )?,
        count(
            conn,
            &format!(
                "SELECT CAST(COALESCE(SUM(LENGTH(value)), 0) AS SIGNED) AS n FROM {blob} WHERE idarchive = {id}"
            ),
        )?,
    ))
}

/// Copies the archive `from` (a day) to the day `to`, under a new id.
fn copy_day_archive(
    conn: &mut MysqlConnection,
    from: &StoredArchive,
    to: Date,
) -> anyhow::Result<()> {
    let idarchive = tally_db::next_archive_id(conn, from.month)?;
    for kind in [ArchiveKind::Numeric, ArchiveKind::Blob] {
        let table = from.month.table(kind);
        diesel::sql_query(format!(
            "INSERT INTO {table} (idarchive, name, idsite, date1, date2, period, ts_archived, value) \
             SELECT ?, name, idsite, ?, ?, period, ts_archived, value FROM {table} WHERE idarchive = ?"
        ))
        .bind::<Unsigned<Integer>, _>(idarchive)
        .bind::<SqlDate, _>(to)
        .bind::<SqlDate, _>(to)
        .bind::<Unsigned<Integer>, _>(from.idarchive)
        .execute(conn)
        .with_context(|| format!("copying the day archive to {to}"))?;
    }
    Ok(())
}

/// Deletes the week and month archives in the month of `archive`.
fn delete_weeks_and_months(
    conn: &mut MysqlConnection,
    archive: &StoredArchive,
) -> anyhow::Result<()> {
    for kind in [ArchiveKind::Numeric, ArchiveKind::Blob] {
        let table = archive.month.table(kind);
        conn.batch_execute(&format!(
            "DELETE FROM {table} WHERE period IN ({}, {})",
            Period::week(DAY).kind().code(),
            Period::month(DAY).kind().code()
        ))
        .context("deleting week and month archives")?;
    }
    Ok(())
}

fn built(outcome: Outcome, what: &str) -> anyhow::Result<StoredArchive> {
    match outcome {
        Outcome::Built(a) => Ok(a),
        other => bail!("{what}: expected a new archive, got {other:?}"),
    }
}

fn num(conn: &mut MysqlConnection, archive: &StoredArchive, name: &str) -> anyhow::Result<f64> {
    storage::read_numeric(conn, archive, name).with_context(|| format!("reading {name}"))
}

// ---------------------------------------------------------------------------
// The run.

fn run(o: Options) -> anyhow::Result<()> {
    let load_start = loadavg();
    let date = OffsetDateTime::now_utc();
    eprintln!("archiving bench: {}", o.command());
    let db = TestDb::new().context("creating the test database")?;
    let mut conn = db.conn().context("connecting to the test database")?;
    let _buffer_pool = match o.buffer_pool_mb {
        Some(mb) => Some(BufferPool::resize(&db, mb)?),
        None => None,
    };
    let ids = Ids::new(&o)?;

    // 1. Generation.
    let t = Instant::now();
    let g = seed(&db, &mut conn, &o, &ids)?;
    let gen_secs = secs(t.elapsed());
    let rows = g.visits + g.actions;
    eprintln!(
        "generated {} visits, {} actions, {} log_action rows in {gen_secs:.1} s ({:.0} rows/s, {:.0} MB of SQL)",
        g.visits,
        g.actions,
        ids.end - 1,
        rows as f64 / gen_secs,
        g.sql_bytes as f64 / 1e6
    );
    let stored_visits = count(&mut conn, "SELECT COUNT(*) AS n FROM log_visit")?;
    let stored_actions = count(&mut conn, "SELECT COUNT(*) AS n FROM log_link_visit_action")?;
    ensure!(
        u64::try_from(stored_visits)? == g.visits && u64::try_from(stored_actions)? == g.actions,
        "stored {stored_visits} visits and {stored_actions} actions, generated {} and {}",
        g.visits,
        g.actions
    );
    let stored_conversions = count(&mut conn, "SELECT COUNT(*) AS n FROM log_conversion")?;
    let stored_items = count(&mut conn, "SELECT COUNT(*) AS n FROM log_conversion_item")?;
    ensure!(
        u64::try_from(stored_conversions)? == g.conversions()
            && u64::try_from(stored_items)? == g.items,
        "stored {stored_conversions} conversions and {stored_items} items, generated {} and {}",
        g.conversions(),
        g.items
    );

    let site = SiteInfo::load(&mut conn, 1).context("loading the site")?;
    // The builders the issue's figure is about; `Registry::core()` holds
    // more report families.
    let mut registry = Registry::empty();
    registry.add(VisitsSummary);
    registry.add(Actions {
        archive_goals: !o.no_page_goals,
        ..Actions::default()
    });
    let builders: Vec<String> = registry
        .builders_for(&site)
        .iter()
        .map(|b| b.plugin().to_owned())
        .collect();
    let has_actions_builder = builders.iter().any(|b| b == "Actions");
    // As `tally-archiver run` builds (its `--concurrency`, default 2): a
    // period's builders, and its missing sub-periods, share two threads.
    let pool = db.pool().context("opening the pool")?;
    let archiver =
        Archiver::new(&registry, ArchivingConfig::default()).with_workers(pool.clone(), 2);
    let (start, end) = Period::day(DAY).utc_bounds(&site.timezone);
    let day_logs = LogAggregator::new(site.idsite, start, end)?;
    let visit_plan = plan(
        &mut conn,
        &format!(
            "SELECT idvisit, idvisitor, user_id, visit_total_actions, visit_total_time, \
             visit_goal_converted, visit_entry_idaction_url, visit_entry_idaction_name, \
             visit_exit_idaction_url, visit_exit_idaction_name FROM log_visit WHERE idsite = 1 \
             AND visit_last_action_time >= '{}' AND visit_last_action_time < '{}'",
            day_logs.start(),
            day_logs.end()
        ),
    );
    let action_plan = plan(
        &mut conn,
        &format!(
            "SELECT idvisit, idvisitor, idaction_url, idaction_name, idaction_url_ref, \
             idaction_name_ref, time_spent_ref_action, idaction_event_category, search_cat, \
             search_count, time_network, time_server, time_transfer, time_dom_processing, \
             time_dom_completion, time_on_load FROM log_link_visit_action WHERE idsite = 1 \
             AND server_time >= '{}' AND server_time < '{}'",
            day_logs.start(),
            day_logs.end()
        ),
    );

    // 2. The bare scan: the same rows through the same typed queries.
    let (mut scan_runs, mut visit_scan_runs, mut action_scan_runs) =
        (Vec::new(), Vec::new(), Vec::new());
    let mut name_ids: Vec<u32> = Vec::new();
    let _ = reset_peak_rss();
    for i in 0..RUNS {
        let t = Instant::now();
        let visits = logs::scan_visits(&mut conn, &day_logs)?;
        let tv = t.elapsed();
        let t2 = Instant::now();
        let actions = logs::scan_actions(&mut conn, &day_logs)?;
        let ta = t2.elapsed();
        scan_runs.push(tv + ta);
        visit_scan_runs.push(tv);
        action_scan_runs.push(ta);
        ensure!(
            visits.len() as u64 == g.visits && actions.len() as u64 == g.actions,
            "the scan read {} visits and {} actions",
            visits.len(),
            actions.len()
        );
        if i == 0 {
            // The ids the Actions builder looks up: URL, name and (with
            // site search) previous name of every non-event action.
            name_ids = actions
                .iter()
                .filter(|a| a.event_category.is_none())
                .flat_map(|a| [a.idaction_url, a.idaction_name, a.name_ref])
                .flatten()
                .filter(|id| *id > 0)
                .collect();
            name_ids.sort_unstable();
            name_ids.dedup();
        }
        eprintln!(
            "bare scan {}: {:.2} s (visits {:.2} s, actions {:.2} s)",
            i + 1,
            secs(tv + ta),
            secs(tv),
            secs(ta)
        );
    }
    let scan_peak_mb = status_mb("VmHWM");
    let scan = secs(best(&scan_runs));
    let scan_rps = rows as f64 / scan;

    // Where the day's time goes: the name lookup of the Actions builder,
    // and VisitsSummary alone.
    let t = Instant::now();
    let names = logs::load_action_names(&mut conn, &name_ids)?;
    let names_secs = secs(t.elapsed());
    ensure!(names.len() == name_ids.len(), "missing log_action rows");
    drop(names);
    let mut summary_only = Registry::empty();
    summary_only.add(VisitsSummary);
    let t = Instant::now();
    let outcome = Archiver::new(&summary_only, ArchivingConfig::default()).archive(
        &mut conn,
        &site,
        Period::day(DAY),
        NOW,
        true,
    )?;
    let summary_secs = secs(t.elapsed());
    built(outcome, "VisitsSummary-only day")?;
    eprintln!(
        "log_action names ({} ids): {names_secs:.2} s; day with VisitsSummary alone: {summary_secs:.2} s",
        name_ids.len()
    );

    // 3. The day archive.
    let rss_before_day = status_mb("VmRSS");
    let peak_reset = reset_peak_rss();
    let mut day_runs = Vec::new();
    let mut day_peak_mb = f64::NAN;
    let mut day_archive = None;
    for i in 0..RUNS {
        let t = Instant::now();
        let outcome = archiver.archive(&mut conn, &site, Period::day(DAY), NOW, true)?;
        let elapsed = t.elapsed();
        if i == 0 {
            day_peak_mb = status_mb("VmHWM");
        }
        day_runs.push(elapsed);
        day_archive = Some(built(outcome, "day")?);
        eprintln!("day archive {}: {:.2} s", i + 1, secs(elapsed));
    }
    let day_archive = day_archive.context("no day run")?;
    let day_best = secs(best(&day_runs));
    let day_first = secs(day_runs[0]);
    let day_rps = rows as f64 / day_best;
    let day_ratio = day_best / scan;
    let (day_numeric, day_blobs, day_actions_rows, day_blob_bytes) =
        archive_rows(&mut conn, &day_archive)?;
    let url_table = storage::read_table(&mut conn, &day_archive, "Actions_actions_url")?;
    let url_rows = url_table
        .as_ref()
        .map(|t| (t.rows_count(), t.rows_count_recursive()));
    drop(url_table);
    let day_visits = num(&mut conn, &day_archive, "nb_visits")?;
    let day_actions = num(&mut conn, &day_archive, "nb_actions")?;
    let day_uniques = num(&mut conn, &day_archive, "nb_uniq_visitors")?;
    let day_pageviews = num(&mut conn, &day_archive, "Actions_nb_pageviews")?;

    // 4. The month from days.
    let t = Instant::now();
    for d in 1..=30u8 {
        let to = DAY.replace_day(d)?;
        if to != DAY {
            copy_day_archive(&mut conn, &day_archive, to)?;
        }
    }
    let last_day = archiver.archive(
        &mut conn,
        &site,
        Period::day(date!(2026 - 01 - 31)),
        NOW,
        false,
    )?;
    eprintln!(
        "copied the day archive to 29 days and archived 2026-01-31 ({:?}) in {:.1} s",
        last_day.archive().map(|a| a.idarchive),
        secs(t.elapsed())
    );
    let month_period = Period::month(DAY);
    let subperiods: Vec<String> = month_period
        .subperiods()
        .iter()
        .map(ToString::to_string)
        .collect();
    let weeks: Vec<Period> = month_period
        .subperiods()
        .into_iter()
        .filter(|p| p.kind() == Period::week(DAY).kind())
        .collect();
    let mut month_runs = Vec::new();
    let mut month_cpu = Vec::new();
    let mut month_archive = None;
    let server = families::server_pid();
    let cpu = || {
        let ours = families::cpu_secs("/proc/self/stat").unwrap_or(f64::NAN);
        let theirs = server
            .and_then(|pid| families::cpu_secs(&format!("/proc/{pid}/stat")))
            .unwrap_or(f64::NAN);
        (ours, theirs)
    };
    for i in 0..RUNS {
        delete_weeks_and_months(&mut conn, &day_archive)?;
        let cpu_before = cpu();
        let t = Instant::now();
        let outcome = archiver.archive(&mut conn, &site, month_period, NOW, true)?;
        let elapsed = t.elapsed();
        let cpu_after = cpu();
        month_runs.push(elapsed);
        month_cpu.push((cpu_after.0 - cpu_before.0, cpu_after.1 - cpu_before.1));
        month_archive = Some(built(outcome, "month")?);
        eprintln!(
            "month archive {} (weeks from days, month from weeks and days): {:.2} s, CPU ours {:.2} s, MariaDB {:.2} s",
            i + 1,
            secs(elapsed),
            month_cpu[i].0,
            month_cpu[i].1
        );
    }
    let month_archive = month_archive.context("no month run")?;
    let month_best = secs(best(&month_runs));
    let best_run = month_runs
        .iter()
        .enumerate()
        .min_by_key(|(_, d)| **d)
        .map_or(0, |(i, _)| i);
    let (month_cpu_ours, month_cpu_server) = month_cpu[best_run];
    let month_first = secs(month_runs[0]);
    let month_visits = num(&mut conn, &month_archive, "nb_visits")?;
    let month_pageviews = num(&mut conn, &month_archive, "Actions_nb_pageviews")?;
    let month_uniques = num(&mut conn, &month_archive, "nb_uniq_visitors")?;
    let (month_numeric, month_blobs, _, month_blob_bytes) =
        archive_rows(&mut conn, &month_archive)?;
    // The same with a new archiver each run: nothing kept from the day
    // build, so every unique recount reads its visits from the logs (an
    // archiver started after the days were archived).
    let mut cold_runs = Vec::new();
    let mut cold_uniques = f64::NAN;
    for i in 0..RUNS {
        delete_weeks_and_months(&mut conn, &day_archive)?;
        let cold =
            Archiver::new(&registry, ArchivingConfig::default()).with_workers(pool.clone(), 2);
        let t = Instant::now();
        let archive = built(
            cold.archive(&mut conn, &site, month_period, NOW, true)?,
            "month",
        )?;
        cold_runs.push(t.elapsed());
        cold_uniques = num(&mut conn, &archive, "nb_uniq_visitors")?;
        eprintln!(
            "month archive {} by a new archiver (recounts from the logs): {:.2} s",
            i + 1,
            secs(t.elapsed())
        );
    }
    let cold_best = secs(best(&cold_runs));
    // Once more in two steps, to split the time: the weeks from days, then
    // the month from the weeks and the remaining days.
    delete_weeks_and_months(&mut conn, &day_archive)?;
    let t = Instant::now();
    for week in &weeks {
        built(
            archiver.archive(&mut conn, &site, *week, NOW, false)?,
            "week",
        )?;
    }
    let weeks_secs = secs(t.elapsed());
    let t = Instant::now();
    let month_archive_2 = built(
        archiver.archive(&mut conn, &site, month_period, NOW, true)?,
        "month",
    )?;
    let month_only_secs = secs(t.elapsed());
    eprintln!(
        "split: {} weeks from days {weeks_secs:.2} s, then the month {month_only_secs:.2} s",
        weeks.len()
    );
    let month_visits_2 = num(&mut conn, &month_archive_2, "nb_visits")?;
    // The unique-visitor recounts the month run made over the logs.
    let t = Instant::now();
    for p in weeks.iter().chain(std::iter::once(&month_period)) {
        let (start, end) = p.utc_bounds(&site.timezone);
        LogAggregator::new(site.idsite, start, end)?.count_unique_visitors_and_users(&mut conn)?;
    }
    let recount_secs = secs(t.elapsed());

    // 5. Every core family (last: it replaces the day's archive, which the
    // month phase copied).
    let all = if o.skip_families {
        families::Report {
            section: "(all core families skipped: --skip-families)".into(),
            rows: Vec::new(),
            checks: Vec::new(),
        }
    } else {
        families::run(
            &mut conn,
            &site,
            &families::Expected {
                visits: g.visits,
                actions: g.actions,
                converted_visits: g.converted_visits,
                goal_conversions: g.goal_conversions,
                orders: g.orders,
                carts: g.carts,
                timed_pageviews: g.timed_pageviews,
            },
        )?
    };

    // Checks.
    let mut checks: Vec<(String, f64, f64)> = vec![
        (
            "day nb_visits = generated visits".into(),
            day_visits,
            g.visits as f64,
        ),
        (
            "day nb_actions = generated actions".into(),
            day_actions,
            g.actions as f64,
        ),
        (
            "day nb_uniq_visitors = distinct generated visitors".into(),
            day_uniques,
            g.unique_visitors as f64,
        ),
        // Only the 15th has logs: the month's visitors are the day's,
        // whether recounted from kept visitors or from the logs.
        (
            "month nb_uniq_visitors (recounted) = distinct generated visitors".into(),
            month_uniques,
            g.unique_visitors as f64,
        ),
        (
            "same, by a new archiver (recounted from the logs)".into(),
            cold_uniques,
            g.unique_visitors as f64,
        ),
        (
            "month nb_visits = 30 x day visits".into(),
            month_visits,
            30.0 * g.visits as f64,
        ),
        (
            "month nb_visits, built in two steps".into(),
            month_visits_2,
            30.0 * g.visits as f64,
        ),
    ];
    checks.extend(all.checks);
    if has_actions_builder {
        checks.push((
            "day Actions_nb_pageviews = generated page views".into(),
            day_pageviews,
            g.pageviews as f64,
        ));
        checks.push((
            "month Actions_nb_pageviews = 30 x day page views".into(),
            month_pageviews,
            30.0 * g.pageviews as f64,
        ));
    }

    // The report.
    let load_end = loadavg();
    let mut variables = String::new();
    let vars: Vec<TextRow> = diesel::sql_query(
        "SELECT CONCAT(@@version, ', innodb_flush_log_at_trx_commit=', @@innodb_flush_log_at_trx_commit, \
         ', innodb_buffer_pool_size=', @@innodb_buffer_pool_size DIV 1048576, ' MB') AS t",
    )
    .load(&mut conn)?;
    if let Some(v) = vars.first() {
        variables.push_str(&v.t);
    }
    let data_mb: Vec<TextRow> = diesel::sql_query(
        "SELECT CAST(CONCAT(TABLE_NAME, ' ', ROUND((DATA_LENGTH + INDEX_LENGTH) / 1048576), ' MB') AS CHAR) AS t \
         FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() \
         AND TABLE_NAME IN ('log_visit', 'log_link_visit_action', 'log_conversion', \
         'log_conversion_item') ORDER BY TABLE_NAME",
    )
    .load(&mut conn)?;
    let data_mb: Vec<String> = data_mb.into_iter().map(|r| r.t).collect();
    let date_text = date
        .format(time::macros::format_description!(
            "[year]-[month]-[day] [hour]:[minute] UTC"
        ))
        .unwrap_or_else(|_| "?".into());
    let day_date = date
        .format(time::macros::format_description!("[year]-[month]-[day]"))
        .unwrap_or_else(|_| "?".into());
    let cpus = std::thread::available_parallelism().map_or(0, |n| n.get());
    let cmd = o.command();
    let scan_visits_best = secs(best(&visit_scan_runs));
    let scan_actions_best = secs(best(&action_scan_runs));
    let rest = day_best - scan - names_secs;
    let met = |ok: bool| {
        if ok {
            "target met"
        } else {
            "**target not met**"
        }
    };
    let url_text = match url_rows {
        Some((top, all)) => format!("{top} top-level rows, {all} rows with subtables"),
        None => "absent".into(),
    };

    let mut r = String::new();
    let mut line = |s: String| {
        r.push_str(&s);
        r.push('\n');
    };
    line("### Archiving one day and a month (`benches/archiving.rs`)".into());
    line(String::new());
    line("| | |".into());
    line("|---|---|".into());
    line(format!("| date | {date_text} |"));
    line(format!("| command | `{cmd}` |"));
    line(format!(
        "| machine | {cpus} CPUs, load average {load_start} at start, {load_end} at end |"
    ));
    line(format!("| MariaDB | {variables} |"));
    line(format!(
        "| logs | {} visits ({} unique visitors, {} bounces, {} converted), {} actions ({} page views of which {} with timings and {} of products, {} downloads, {} outlinks, {} site searches, {} events, {} content impressions, {} content interactions) on {DAY_SQL}; {} conversions (goal 1: {}, goal 2: {}, orders: {}, abandoned carts: {}) with {} items; {} page URLs, {} titles, {} products, {} log_action rows; {} |",
        g.visits,
        g.unique_visitors,
        g.bounces,
        g.converted_visits,
        g.actions,
        g.pageviews,
        g.timed_pageviews,
        g.product_views,
        g.downloads,
        g.outlinks,
        g.searches,
        g.events,
        g.content_impressions,
        g.content_interactions,
        g.conversions(),
        g.goal_conversions[0],
        g.goal_conversions[1],
        g.orders,
        g.carts,
        g.items,
        o.urls,
        o.titles,
        o.products,
        ids.end - 1,
        data_mb.join(", ")
    ));
    line(format!(
        "| generation (not timed) | {gen_secs:.1} s, {:.0} rows/s ({:.0} MB of SQL) |",
        (rows + g.conversions() + g.items) as f64 / gen_secs,
        g.sql_bytes as f64 / 1e6
    ));
    line(format!("| builders | {} |", builders.join(", ")));
    line(format!(
        "| query plans | visits: {visit_plan}; actions: {action_plan} |"
    ));
    line(format!(
        "| **bare scan** (`scan_visits` + `scan_actions`, best of {RUNS}) | **{scan:.2} s, {scan_rps:.0} rows/s** (visits {scan_visits_best:.2} s, actions {scan_actions_best:.2} s; runs {}) |",
        runs_text(&scan_runs)
    ));
    line(format!(
        "| **day archive** (best of {RUNS}, `force`) | **{day_best:.2} s, {day_rps:.0} rows/s**; first run {day_first:.2} s; runs {} |",
        runs_text(&day_runs)
    ));
    line(format!(
        "| **ratio day / bare scan**; target ≤ 2 | **{day_ratio:.2}** ({}) |",
        met(day_ratio <= 2.0)
    ));
    line(format!(
        "| where the day goes | scans {scan:.2} s ({:.0}%), `log_action` names of {} ids {names_secs:.2} s ({:.0}%), the rest (folding, encoding, writing) {rest:.2} s ({:.0}%); VisitsSummary alone: {summary_secs:.2} s |",
        100.0 * scan / day_best,
        name_ids.len(),
        100.0 * names_secs / day_best,
        100.0 * rest / day_best
    ));
    line(format!(
        "| memory | peak RSS during the bare scans {scan_peak_mb:.0} MB; during the first day archive {day_peak_mb:.0} MB (RSS before it {rss_before_day:.0} MB{}) |",
        if peak_reset {
            ""
        } else {
            "; peak not reset, so it includes earlier phases"
        }
    ));
    line(format!(
        "| day archive | {day_numeric} numeric + {day_blobs} blob rows ({day_actions_rows} named `Actions*`), blobs {:.1} MB; `Actions_actions_url`: {url_text} |",
        day_blob_bytes as f64 / 1e6
    ));
    line(format!(
        "| **month from days** (best of {RUNS}, `force`, week and month archives deleted before each run; by the archiver that built the day, which kept its distinct visitors, as one `tally-archiver run` does) | **{month_best:.2} s** ({}); first run {month_first:.2} s; runs {} |",
        met(month_best < 2.0),
        runs_text(&month_runs)
    ));
    line(format!(
        "| month from days by a new archiver each run (nothing kept: the unique recounts read the visits from the logs) | {cold_best:.2} s ({}); runs {} |",
        met(cold_best < 2.0),
        runs_text(&cold_runs)
    ));
    line(format!(
        "| month | sub-periods {}; {month_numeric} numeric + {month_blobs} blob rows ({:.1} MB); in two steps: {} weeks from days {weeks_secs:.2} s, then the month from weeks and days {month_only_secs:.2} s; the unique-visitor recounts of those weeks and the month read from the logs take {recount_secs:.2} s when run alone |",
        subperiods.join(", "),
        month_blob_bytes as f64 / 1e6,
        weeks.len()
    ));
    line(String::new());
    line(all.section.trim_end().to_owned());
    line(String::new());
    line("Checks:".into());
    line(String::new());
    line("| check | archived | expected | |".into());
    line("|---|---|---|---|".into());
    let mut all_ok = true;
    for (what, got, want) in &checks {
        let ok = got == want;
        all_ok &= ok;
        line(format!(
            "| {what} | {got} | {want} | {} |",
            if ok { "ok" } else { "**MISMATCH**" }
        ));
    }
    line(String::new());
    line("Rows for docs/PERFORMANCE.md:".into());
    line(String::new());
    line("| what | figure | command | date |".into());
    line("|---|---|---|---|".into());
    let scale = format!(
        "{} visits / {} actions over {} URLs, one UTC site",
        g.visits, g.actions, o.urls
    );
    let mut row = |what: String, figure: String| {
        line(format!("| {what} | {figure} | `{cmd}` | {day_date} |"));
    };
    row(
        format!("Bare scan of one day's log rows (`scan_visits` + `scan_actions`), {scale}"),
        format!("{scan:.2} s, {scan_rps:.0} rows/s"),
    );
    row(
        format!(
            "Day archive ({}), same rows; target within 2x of the bare scan",
            builders.join(" + ")
        ),
        format!(
            "**{day_best:.2} s**, {day_rps:.0} rows/s, ratio **{day_ratio:.2}** ({}); first run {day_first:.2} s",
            met(day_ratio <= 2.0)
        ),
    );
    row(
        "Day archive: where the time goes".into(),
        format!(
            "scans {:.0}%, `log_action` names {:.0}%, folding/encoding/writing {:.0}%",
            100.0 * scan / day_best,
            100.0 * names_secs / day_best,
            100.0 * rest / day_best
        ),
    );
    row(
        "Day archive: peak RSS".into(),
        format!("{day_peak_mb:.0} MB (bare scans: {scan_peak_mb:.0} MB)"),
    );
    row(
        "Month from 30 day archives (weeks from days, month from weeks + days); target < 2 s"
            .into(),
        format!(
            "**{month_best:.2} s** ({}): {} weeks from days {weeks_secs:.2} s + month {month_only_secs:.2} s; CPU of the best run: ours {month_cpu_ours:.2} s, MariaDB {month_cpu_server:.2} s; by a new archiver (recounts over the logs, {recount_secs:.2} s when run alone) {cold_best:.2} s",
            met(month_best < 2.0),
            weeks.len()
        ),
    );
    for (what, figure) in all.rows {
        row(format!("{what}, {scale}"), figure);
    }
    println!("{r}");
    ensure!(
        all_ok,
        "archived figures do not match the generated logs (see the table)"
    );
    drop(conn);
    drop(db);
    Ok(())
}
