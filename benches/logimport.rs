//! Log import throughput on a generated combined log (issue 8).
//!
//! ```text
//! cargo bench -p tally-benches --bench logimport -- [--lines N] [--e2e-lines M] [--batch B] [--recorders R]
//!     [--pages-per-visit P] [--load-data-min-rows L]
//! ```
//!
//! Defaults: 1,000,000 lines for both phases, batches of 5,000 lines, two
//! recorders. The log is generated deterministically: 20,000 visitors (IP
//! and one of eight real user agents each), 5,000 page paths with query
//! strings, 8% static resources, 2% downloads, 3% 404s, 2% bots, Google and
//! site-internal referrers, times spread over two days. Each line picks a
//! random visitor, who comes back hours later, so almost every line starts
//! a visit: the worst case for the importer. `--pages-per-visit P` instead
//! spreads the lines over visits in progress (about two minutes of log
//! time between a visit's pages), each ending after a page with a 1/P
//! chance (P pages a visit on average), as in a site's real traffic.
//! `--load-data-min-rows L` sets `ImportOptions::load_data_min_rows` (0:
//! never load from a file, insert every row), to compare the two paths.
//!
//! - parse only: the file's bytes already in memory, split into lines and
//!   parsed into `LogLine`s (one core), best of 3;
//! - parse + classify: the same plus the importer's filters, best of 3;
//! - end to end: `import_files` from the file on disk into a fresh
//!   migrated database (detection, day scan, hit building, recording,
//!   progress commits), once;
//! - three floors for the end-to-end figure, on the rows the import wrote:
//!   copied server-side (`INSERT ... SELECT`, no SQL text for the values),
//!   sent again by a plain client as multi-row text `INSERT`s (the tracker
//!   bench's baseline), and loaded by a plain client from tab-separated
//!   files (`LOAD DATA LOCAL INFILE`, as the import loads its big batches).

use std::process::ExitCode;
use std::time::Instant;

use anyhow::Context as _;
use diesel::prelude::*;
use tally_benches::bare::{Batching, bare_insert, bare_load};
use tally_db::test_support::TestDb;
use tally_logimport::input::LineReader;
use tally_logimport::{
    Classifier, FilterOptions, ImportOptions, LineParser, LogFormat, Parsed, SiteSelection,
};

/// As in `tally-tracker`, whose `import` command this measures.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const AGENTS: [&str; 8] = [
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Safari/605.1.15",
    "Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.6099.144 Mobile Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36 Edg/120.0.2210.91",
    "Mozilla/5.0 (iPad; CPU OS 16_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/16.6 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:120.0) Gecko/20100101 Firefox/120.0",
];
const BOT: &str = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)";
const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        // xorshift64*: deterministic and good enough for a synthetic log.
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn generate(lines: usize, pages_per_visit: u64) -> Vec<u8> {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut out = Vec::with_capacity(lines * 260);
    // With one page a visit (the default, as in earlier sessions) every
    // line picks a random visitor, who comes back hours later: almost
    // every line starts a visit. With more, each line continues one of
    // the active visits; one that ends (a page has a 1/P chance to be its
    // last) makes room for a random visitor's next visit.
    // Visits in progress: as many as keep a visit's pages about two
    // minutes of log time apart (the log spans 172,800 s).
    let active_visits = (lines / 1_440).max(1);
    // (visitor, whether the visit has had its landing page)
    let mut active: Vec<(u64, bool)> = Vec::new();
    let sections = [
        "blog",
        "shop/item",
        "docs/guide",
        "news",
        "category",
        "search",
    ];
    for i in 0..lines {
        // A landing page carries the campaign parameters and an outside
        // referrer; the next pages of a visit are internal clicks.
        let (visitor, landing) = if pages_per_visit <= 1 {
            (rng.below(20_000), true)
        } else {
            if active.len() < active_visits {
                active.push((rng.below(20_000), false));
            }
            let slot = usize::try_from(rng.below(active.len() as u64)).unwrap_or(0);
            let (visitor, landed) = active[slot];
            active[slot].1 = true;
            if rng.below(pages_per_visit) == 0 {
                active.swap_remove(slot);
            }
            (visitor, !landed)
        };
        // Never a crawler network's address (excluded as a bot whatever
        // the user agent), so that the lines' mix stays the intended one.
        let ip = (0..)
            .map(|shift| {
                format!(
                    "{}.{}.{}.{}",
                    10 + (visitor + shift) % 200,
                    (visitor / 200) % 250,
                    visitor % 97,
                    1 + visitor % 250
                )
            })
            .find(|ip| {
                !ip.parse()
                    .is_ok_and(|addr| tally_tracking::bots::is_bot_address(addr, false))
            })
            .unwrap_or_default();
        // Two days, in order, 2024-03-11 and 12.
        let secs = (i as u64) * 172_800 / (lines as u64).max(1);
        let (day, rest) = (11 + secs / 86_400, secs % 86_400);
        let time = format!(
            "{day:02}/{}/2024:{:02}:{:02}:{:02} +0000",
            MONTHS[2],
            rest / 3600,
            rest / 60 % 60,
            rest % 60
        );
        let roll = rng.below(100);
        let page = rng.below(5_000);
        let section = sections[(page % 6) as usize];
        let (path, status) = match roll {
            0..=7 => (
                format!(
                    "/static/{}/app.{}.{}",
                    page % 40,
                    page % 7,
                    ["css", "js", "png", "woff2"][(page % 4) as usize]
                ),
                200,
            ),
            8..=9 => (format!("/files/report-{}.pdf", page % 300), 200),
            10..=12 => (format!("/{section}/missing-{page}"), 404),
            _ if !landing => (format!("/{section}/{page}-some-article-title"), 200),
            _ => (
                format!(
                    "/{section}/{page}-some-article-title?utm_source=news&ref={}",
                    rng.below(50)
                ),
                200,
            ),
        };
        let ua = if roll >= 98 {
            BOT
        } else {
            AGENTS[(visitor % 8) as usize]
        };
        let referrer = match if landing { rng.below(4) } else { 2 } {
            0 => "-".to_owned(),
            1 => format!("https://www.google.com/search?q=article+{}", page % 100),
            _ => format!(
                "https://example.org/{section}/{}-some-article-title",
                rng.below(5_000)
            ),
        };
        let bytes = 500 + rng.below(50_000);
        out.extend_from_slice(
            format!("{ip} - - [{time}] \"GET {path} HTTP/1.1\" {status} {bytes} \"{referrer}\" \"{ua}\"\n").as_bytes(),
        );
    }
    out
}

fn arg(args: &[String], name: &str) -> Option<usize> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.replace('_', "").parse().ok())
}

fn best_of_3(mut f: impl FnMut() -> anyhow::Result<u64>) -> anyhow::Result<(f64, u64)> {
    let mut best = f64::MAX;
    let mut n = 0;
    for _ in 0..3 {
        let t = Instant::now();
        n = f()?;
        best = best.min(t.elapsed().as_secs_f64());
    }
    Ok((best, n))
}

fn run() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let lines = arg(&args, "--lines").unwrap_or(1_000_000);
    let e2e_lines = arg(&args, "--e2e-lines").unwrap_or(lines);
    let batch = arg(&args, "--batch").unwrap_or(tally_logimport::BATCH_LINES);
    let recorders = arg(&args, "--recorders").unwrap_or(2);
    let pages_per_visit = arg(&args, "--pages-per-visit").unwrap_or(1);
    let load_data_min_rows =
        arg(&args, "--load-data-min-rows").unwrap_or(tally_tracking::load::LOAD_MIN_ROWS);

    let t = Instant::now();
    let data = generate(lines, pages_per_visit as u64);
    eprintln!(
        "generated {lines} lines ({:.0} MB) in {:.1} s",
        data.len() as f64 / 1e6,
        t.elapsed().as_secs_f64()
    );

    let (secs, parsed) = best_of_3(|| {
        let mut parser = LineParser::new(&LogFormat::Combined, None)?;
        let mut reader = LineReader::new(std::hint::black_box(&data[..]));
        let mut ok = 0u64;
        while let Some(l) = reader.next_line()? {
            if let Some(b) = l.bytes
                && let Parsed::Line(line) = parser.parse(b)
            {
                ok += u64::from(std::hint::black_box(line).status > 0);
            }
        }
        Ok(ok)
    })?;
    anyhow::ensure!(parsed == lines as u64, "parsed {parsed} of {lines} lines");
    let parse_rate = lines as f64 / secs;

    let classifier = Classifier::new(FilterOptions::default())?;
    let (secs, kept) = best_of_3(|| {
        let mut parser = LineParser::new(&LogFormat::Combined, None)?;
        let mut reader = LineReader::new(&data[..]);
        let mut kept = 0u64;
        while let Some(l) = reader.next_line()? {
            if let Some(b) = l.bytes
                && let Parsed::Line(line) = parser.parse(b)
                && classifier.classify(&line).is_ok()
            {
                kept += 1;
            }
        }
        Ok(kept)
    })?;
    let classify_rate = lines as f64 / secs;

    let db = TestDb::new()?;
    let mut conn = db.conn()?;
    diesel::sql_query(
        "INSERT INTO site (idsite, name, main_url, ts_created, ecommerce, sitesearch, \
         sitesearch_keyword_parameters, sitesearch_category_parameters, timezone, currency, \
         excluded_ips, excluded_parameters, excluded_user_agents, excluded_referrers, `group`, `type`) \
         VALUES (1, 'Example', 'https://example.org', '2020-01-01 00:00:00', 0, 1, '', '', 'UTC', 'EUR', \
         '', '', '', '', '', 'website')",
    )
    .execute(&mut conn)?;
    let path =
        std::env::temp_dir().join(format!("tally-bench-logimport-{}.log", std::process::id()));
    let cut = if e2e_lines >= lines {
        data.len()
    } else {
        data.iter()
            .enumerate()
            .filter(|(_, b)| **b == b'\n')
            .nth(e2e_lines - 1)
            .map_or(data.len(), |(i, _)| i + 1)
    };
    std::fs::write(&path, &data[..cut]).context("writing the log")?;
    let opts = ImportOptions {
        site: SiteSelection::Id(1),
        batch_lines: batch,
        recorders,
        load_data_min_rows: (load_data_min_rows > 0).then_some(load_data_min_rows),
        ..ImportOptions::default()
    };
    let t = Instant::now();
    let report =
        tally_logimport::import_files(&db.pool()?, std::slice::from_ref(&path), &opts, &mut |p| {
            if p.lines % 100_000 < batch as u64 {
                eprintln!(
                    "  {} lines, {} imported, {:.0} lines/s",
                    p.lines,
                    p.imported,
                    p.lines as f64 / t.elapsed().as_secs_f64()
                );
            }
        });
    let _ = std::fs::remove_file(&path);
    let report = report?;
    let e2e_secs = t.elapsed().as_secs_f64();
    let c = report.files[0].counts;
    let e2e_rate = c.lines_parsed as f64 / e2e_secs;
    let (bare_rows, bare_secs) = bare_copy(&db, &mut conn, batch)?;
    let (insert_rows, insert_secs) = bare_inserts(&mut conn, batch)?;
    let (load_rows, load_secs) = bare_loads(&mut conn, batch)?;

    println!("| measure | lines | result |");
    println!("| --- | --- | --- |");
    println!(
        "| parse only (combined, one core, best of 3) | {lines} | **{parse_rate:.0} lines/s** |"
    );
    println!(
        "| parse + classify (best of 3) | {lines} | {classify_rate:.0} lines/s ({kept} kept) |"
    );
    let visits: i64 = tally_schema::schema::log_visit::table
        .count()
        .get_result(&mut conn)?;
    println!(
        "| end to end into MariaDB (batch {batch}, {recorders} recorders, {pages_per_visit} pages a visit generated, load data from {load_data_min_rows} rows) | {} | **{e2e_rate:.0} lines/s** ({:.1} s; {} imported = {:.0} hits/s in {visits} visits; static {}, bots {}, errors {}) |",
        c.lines_parsed,
        e2e_secs,
        c.imported,
        c.imported as f64 / e2e_secs,
        c.ignored_static,
        c.ignored_bots,
        c.ignored_http_errors,
    );
    println!(
        "| bare MariaDB: the same log rows copied server-side into a fresh migrated database, {batch} rows per statement | {} | {:.1} s for {bare_rows} rows = **{:.0} lines/s** equivalent (ours: {:.2}x) |",
        c.lines_parsed,
        bare_secs,
        c.lines_parsed as f64 / bare_secs,
        e2e_secs / bare_secs,
    );
    println!(
        "| bare MariaDB: the same rows sent by a plain client as multi-row text INSERTs (1000 rows per statement, {batch} per transaction; the tracker bench's baseline) | {} | {:.1} s for {insert_rows} rows = **{:.0} lines/s** equivalent (ours: {:.2}x) |",
        c.lines_parsed,
        insert_secs,
        c.lines_parsed as f64 / insert_secs,
        e2e_secs / insert_secs,
    );
    println!(
        "| bare MariaDB: the same rows loaded by a plain client from tab-separated files (LOAD DATA LOCAL INFILE, {batch} rows per file and transaction) | {} | {:.1} s for {load_rows} rows = **{:.0} lines/s** equivalent (ours: {:.2}x) |",
        c.lines_parsed,
        load_secs,
        c.lines_parsed as f64 / load_secs,
        e2e_secs / load_secs,
    );
    Ok(())
}

/// The third floor: the same rows loaded by a plain client from files
/// ([`tally_benches::bare::bare_load`]), as the import loads its own big
/// batches. Returns (rows, seconds).
fn bare_loads(conn: &mut MysqlConnection, batch: usize) -> anyhow::Result<(usize, f64)> {
    each_log_table("loads", |table, key| bare_load(conn, table, key, batch))
}

/// The tables the import writes, with their keys, in the order the floors
/// copy them.
const LOG_TABLES: [(&str, &str); 3] = [
    ("log_action", "idaction"),
    ("log_visit", "idvisit"),
    ("log_link_visit_action", "idlink_va"),
];

/// `floor` run on each of [`LOG_TABLES`], its (rows, seconds) shown as
/// `what` and summed.
fn each_log_table(
    what: &str,
    mut floor: impl FnMut(&str, &str) -> anyhow::Result<(usize, f64)>,
) -> anyhow::Result<(usize, f64)> {
    let (mut rows, mut secs) = (0, 0.0);
    for (table, key) in LOG_TABLES {
        let (r, s) = floor(table, key)?;
        eprintln!("  bare {what} into {table}: {r} rows in {s:.2} s");
        rows += r;
        secs += s;
    }
    Ok((rows, secs))
}

/// The second floor, the one issue 3 defines for the tracker: the rows the
/// import wrote sent again by a plain client as multi-row text `INSERT`s
/// ([`tally_benches::bare::bare_insert`]). Unlike [`bare_copy`] it includes
/// what every client pays and the server-side copy does not: the values as
/// SQL text, parsed by the server. Returns (rows, seconds).
fn bare_inserts(conn: &mut MysqlConnection, batch: usize) -> anyhow::Result<(usize, f64)> {
    let batching = Batching {
        rows_per_insert: 1_000,
        rows_per_transaction: batch.max(1_000),
    };
    each_log_table("INSERTs", |table, key| {
        bare_insert(conn, table, key, batching)
    })
}

/// The floor for the end-to-end figure: the rows the import wrote
/// (`log_action`, `log_visit`, `log_link_visit_action`) inserted again into
/// the same tables and indexes of a fresh database by the server itself,
/// `INSERT ... SELECT` of `chunk` rows at a time, each chunk committed. No
/// parsing, visit recognition or client round trip for the values: what
/// MariaDB alone needs to store these rows. Returns (rows, seconds).
fn bare_copy(db: &TestDb, conn: &mut MysqlConnection, chunk: usize) -> anyhow::Result<(u64, f64)> {
    #[derive(QueryableByName)]
    struct Max {
        #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Unsigned<diesel::sql_types::BigInt>>)]
        max: Option<u64>,
    }
    let bare = TestDb::new()?;
    let mut rows = 0u64;
    let t = Instant::now();
    for (table, key) in LOG_TABLES {
        let max = diesel::sql_query(format!(
            "SELECT CAST(MAX({key}) AS UNSIGNED) AS max FROM {table}"
        ))
        .get_result::<Max>(conn)?
        .max
        .unwrap_or(0);
        let (mut from, before, started) = (0u64, rows, Instant::now());
        while from <= max {
            let to = from + chunk as u64;
            rows += diesel::sql_query(format!(
                "INSERT INTO `{}`.{table} SELECT * FROM `{}`.{table} WHERE {key} >= {from} AND {key} < {to}",
                bare.name(),
                db.name()
            ))
            .execute(conn)? as u64;
            from = to;
        }
        eprintln!(
            "  bare copy of {table}: {} rows in {:.2} s",
            rows - before,
            started.elapsed().as_secs_f64()
        );
    }
    Ok((rows, t.elapsed().as_secs_f64()))
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("logimport bench: {err:#}");
            ExitCode::FAILURE
        }
    }
}
