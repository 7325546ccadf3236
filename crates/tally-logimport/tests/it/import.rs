//! End-to-end imports into a fresh database: rows, summaries, file and day
//! statuses, resume after an interruption, malformed input, the day export.

use std::io::Write as _;
use std::path::PathBuf;

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};
use tally_db::test_support::TestDb;
use tally_logimport::{
    Counts, DayStatus, ExportFormat, FileOutcome, ImportOptions, LogFormat, SiteSelection,
    export_day, import_files, mark_day, status,
};

pub(crate) const UA: &str = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36";
const UA2: &str =
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10.15; rv:121.0) Gecko/20100101 Firefox/121.0";

fn seed(conn: &mut MysqlConnection) -> anyhow::Result<()> {
    diesel::sql_query(
        "INSERT INTO site (idsite, name, main_url, ts_created, ecommerce, sitesearch, \
         sitesearch_keyword_parameters, sitesearch_category_parameters, timezone, currency, \
         excluded_ips, excluded_parameters, excluded_user_agents, excluded_referrers, `group`, `type`) \
         VALUES (1, 'Example', 'https://example.org', '2020-01-01 00:00:00', 0, 1, '', '', 'UTC', 'EUR', \
         '', '', '', '', '', 'website'), \
         (2, 'Blog', 'https://blog.example', '2020-01-01 00:00:00', 0, 1, '', '', 'UTC', 'EUR', \
         '', '', '', '', '', 'website')",
    )
    .execute(conn)?;
    Ok(())
}

pub(crate) struct Fixture {
    pub(crate) db: TestDb,
    pub(crate) dir: PathBuf,
}

impl Fixture {
    pub(crate) fn new(name: &str) -> anyhow::Result<Self> {
        let db = TestDb::new()?;
        seed(&mut db.conn()?)?;
        let dir =
            std::env::temp_dir().join(format!("tally-logimport-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&dir)?;
        Ok(Self { db, dir })
    }

    pub(crate) fn file(&self, name: &str, content: &[u8]) -> anyhow::Result<PathBuf> {
        let p = self.dir.join(name);
        std::fs::write(&p, content)?;
        Ok(p)
    }

    pub(crate) fn import(
        &self,
        paths: &[PathBuf],
        opts: &ImportOptions,
    ) -> anyhow::Result<tally_logimport::ImportReport> {
        Ok(import_files(&self.db.pool()?, paths, opts, &mut |_| {})?)
    }

    pub(crate) fn count(&self, sql: &str) -> anyhow::Result<i64> {
        #[derive(QueryableByName)]
        struct N {
            #[diesel(sql_type = BigInt)]
            n: i64,
        }
        let rows: Vec<N> = diesel::sql_query(sql).load(&mut self.db.conn()?)?;
        Ok(rows.first().map_or(0, |r| r.n))
    }

    /// The imported rows without ids (which come from sequences), random
    /// visitor ids or fingerprints (salted per database): what a clean
    /// import and a resumed one must agree on.
    fn checksum(&self) -> anyhow::Result<String> {
        #[derive(QueryableByName)]
        struct S {
            #[diesel(sql_type = Text)]
            s: String,
        }
        let q = "SELECT CONCAT(\
              (SELECT COUNT(*) FROM log_visit), '/', (SELECT COUNT(*) FROM log_link_visit_action), '/', \
              (SELECT COALESCE(MD5(GROUP_CONCAT(CONCAT_WS(',', idsite, INET6_NTOA(location_ip), \
                 visit_first_action_time, visit_last_action_time, visit_total_actions, visit_total_time, \
                 referer_type, referer_url, config_browser_name) ORDER BY visit_first_action_time, visit_last_action_time, config_browser_name SEPARATOR '|')), '') FROM log_visit), '/', \
              (SELECT COALESCE(MD5(GROUP_CONCAT(CONCAT_WS(',', a.idsite, a.server_time, u.name, a.pageview_position, \
                 a.time_spent_ref_action, a.custom_var_v1, v.visit_first_action_time) ORDER BY a.server_time, u.name, v.visit_first_action_time SEPARATOR '|')), '') \
               FROM log_link_visit_action a JOIN log_visit v ON v.idvisit = a.idvisit \
               LEFT JOIN log_action u ON u.idaction = a.idaction_url)) AS s";
        let mut conn = self.db.conn()?;
        diesel::sql_query("SET SESSION group_concat_max_len = 1000000000").execute(&mut conn)?;
        let rows: Vec<S> = diesel::sql_query(q).load(&mut conn)?;
        Ok(rows.into_iter().next().map(|r| r.s).unwrap_or_default())
    }
}

impl Drop for Fixture {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

pub(crate) fn combined(
    ip: &str,
    time: &str,
    path: &str,
    status: u16,
    referrer: &str,
    ua: &str,
) -> String {
    format!(
        "{ip} - - [{time} +0000] \"GET {path} HTTP/1.1\" {status} 512 \"{referrer}\" \"{ua}\"\n"
    )
}

pub(crate) fn site1() -> ImportOptions {
    ImportOptions {
        site: SiteSelection::Id(1),
        ..ImportOptions::default()
    }
}

#[test]
fn combined_log_end_to_end() -> anyhow::Result<()> {
    let f = Fixture::new("e2e")?;
    let mut log = String::new();
    // Visitor A: three page views and a download within minutes: one visit.
    log += &combined(
        "1.2.3.4",
        "10/Feb/2024:10:00:00",
        "/",
        200,
        "https://www.google.com/search?q=x",
        UA,
    );
    log += &combined(
        "1.2.3.4",
        "10/Feb/2024:10:01:00",
        "/about?lang=en",
        200,
        "https://example.org/",
        UA,
    );
    log += &combined(
        "1.2.3.4",
        "10/Feb/2024:10:02:00",
        "/style.css",
        200,
        "-",
        UA,
    );
    log += &combined(
        "1.2.3.4",
        "10/Feb/2024:10:03:00",
        "/files/report.pdf",
        200,
        "-",
        UA,
    );
    log += &combined("1.2.3.4", "10/Feb/2024:10:04:00", "/contact", 200, "-", UA);
    // Visitor B: one page view, then ignored lines.
    log += &combined("5.6.7.8", "10/Feb/2024:11:00:00", "/", 200, "-", UA2);
    log += &combined("5.6.7.8", "10/Feb/2024:11:00:01", "/missing", 404, "-", UA2);
    log += &combined("5.6.7.8", "10/Feb/2024:11:00:02", "/old", 301, "-", UA2);
    log += &combined(
        "66.249.66.1",
        "10/Feb/2024:11:00:03",
        "/",
        200,
        "-",
        "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
    );
    log += "this is not a log line\n";
    log += &combined("5.6.7.8", "31/Feb/2024:11:00:00", "/", 200, "-", UA2);
    log += "\n";
    let path = f.file("access.log", log.as_bytes())?;
    let report = f.import(std::slice::from_ref(&path), &site1())?;
    let r = &report.files[0];
    assert_eq!(r.outcome, FileOutcome::Completed);
    assert_eq!(r.format, "ncsa_extended");
    assert_eq!(
        r.counts,
        // The blank last line is read and invalid, as import_logs.py
        // counts it (unlisted).
        Counts {
            lines_parsed: 12,
            imported: 5,
            ignored_static: 1,
            ignored_bots: 1,
            ignored_http_errors: 1,
            ignored_redirects: 1,
            ignored_excluded: 0,
            ignored_invalid: 3,
            errors: 0,
            downloads: 1,
        }
    );
    assert_eq!(
        r.errors
            .iter()
            .map(|e| (e.line, e.reason.as_str()))
            .collect::<Vec<_>>(),
        vec![
            (10, "line does not match the log format"),
            (11, "invalid date or time")
        ]
    );
    assert_eq!(f.count("SELECT COUNT(*) AS n FROM log_visit")?, 2);
    assert_eq!(
        f.count("SELECT COUNT(*) AS n FROM log_link_visit_action")?,
        5
    );
    assert_eq!(
        f.count("SELECT CAST(visit_total_actions AS SIGNED) AS n FROM log_visit WHERE INET6_NTOA(location_ip) = '1.2.0.0'")?,
        4
    );
    // The search engine referrer, the download and the HTTP-code variable.
    assert_eq!(f.count("SELECT COUNT(*) AS n FROM log_visit WHERE referer_type = 2 AND referer_url LIKE 'https://www.google.com/%'")?, 1);
    assert_eq!(
        f.count("SELECT COUNT(*) AS n FROM log_link_visit_action a JOIN log_action u ON u.idaction = a.idaction_url WHERE u.type = 3 AND u.name LIKE '%example.org/files/report.pdf'")?,
        1
    );
    assert_eq!(f.count("SELECT COUNT(*) AS n FROM log_link_visit_action WHERE custom_var_k1 = 'HTTP-code' AND custom_var_v1 = '200'")?, 5);
    // The old day is invalidated for the archiver.
    assert_eq!(f.count("SELECT COUNT(*) AS n FROM archive_invalidations WHERE idsite = 1 AND date1 = '2024-02-10'")?, 1);

    // Bookkeeping: file completed, one summary, day loaded.
    let mut conn = f.db.conn()?;
    let st = status(&mut conn)?;
    assert_eq!(st.files.len(), 1);
    assert_eq!(st.files[0].file.status, "completed");
    assert_eq!(st.files[0].file.lines_done, 12);
    assert_eq!(st.files[0].file.offset_bytes, log.len() as u64);
    assert_eq!(st.files[0].summaries.len(), 1);
    let s = &st.files[0].summaries[0];
    assert_eq!(
        (
            s.lines_parsed,
            s.lines_imported,
            s.ignored_static,
            s.ignored_invalid
        ),
        (12, 5, 1, 3)
    );
    assert!(s.ts_finished.is_some());
    assert_eq!(st.days.len(), 1);
    assert_eq!(
        (
            st.days[0].status.as_str(),
            st.days[0].files_total,
            st.days[0].files_completed
        ),
        ("loaded", 1, 1)
    );

    // Importing the same content again (even renamed) does nothing.
    let renamed = f.file("access.log.1", log.as_bytes())?;
    let again = f.import(&[renamed], &site1())?;
    assert_eq!(again.files[0].outcome, FileOutcome::AlreadyCompleted);
    assert_eq!(
        f.count("SELECT COUNT(*) AS n FROM log_link_visit_action")?,
        5
    );

    // The day pipeline.
    let date = time::macros::date!(2024 - 02 - 10);
    assert!(mark_day(&mut conn, 1, date, DayStatus::Calculated).is_err());
    let mut out = Vec::new();
    let rows = export_day(&mut conn, 1, date, &mut out, ExportFormat::Tsv)?;
    assert_eq!(rows, 5);
    let text = String::from_utf8(out)?;
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines[0].starts_with("idvisit\tidvisitor\tidlink_va\tserver_time"));
    assert!(lines[1].contains("2024-02-10 10:00:00\t1\thttps://example.org/\t"));
    // The tracker anonymises IPs (2 bytes by default).
    assert!(lines[1].contains("\t1.2.0.0\t"));
    assert!(lines[1].ends_with("\t200\t"));
    assert_eq!(status(&mut conn)?.days[0].status, "pretable");
    mark_day(&mut conn, 1, date, DayStatus::Calculated)?;
    mark_day(&mut conn, 1, date, DayStatus::Done)?;
    assert_eq!(status(&mut conn)?.days[0].status, "done");
    assert!(mark_day(&mut conn, 1, date, DayStatus::Loaded).is_err());
    let mut csv = Vec::new();
    assert_eq!(
        export_day(&mut conn, 1, date, &mut csv, ExportFormat::Csv)?,
        5
    );
    Ok(())
}

/// An IPv4-mapped IPv6 client address (the one in Matomo's
/// `fake_logs_enable_all.log`) is stored as Matomo stores it: the 16 bytes
/// `inet_pton` gives, anonymized on its IPv4 tail; Matomo's Live API shows
/// it as `::ffff:123.45.67.89`.
#[test]
fn ipv4_mapped_client_addresses_keep_sixteen_bytes() -> anyhow::Result<()> {
    let f = Fixture::new("mapped")?;
    let mut log = combined(
        "0:0:0:0:0:ffff:7b2d:4359",
        "10/Feb/2024:10:00:00",
        "/",
        200,
        "-",
        UA,
    );
    log += &combined("123.45.67.90", "10/Feb/2024:10:00:00", "/", 200, "-", UA2);
    let path = f.file("mapped.log", log.as_bytes())?;
    f.import(std::slice::from_ref(&path), &site1())?;
    let ips = |sql: &str| f.count(sql);
    // Matomo anonymizes two bytes by default.
    assert_eq!(
        ips(
            "SELECT COUNT(*) AS n FROM log_visit WHERE INET6_NTOA(location_ip) = '::ffff:123.45.0.0' AND LENGTH(location_ip) = 16"
        )?,
        1
    );
    assert_eq!(
        ips(
            "SELECT COUNT(*) AS n FROM log_visit WHERE INET6_NTOA(location_ip) = '123.45.0.0' AND LENGTH(location_ip) = 4"
        )?,
        1
    );
    Ok(())
}

#[test]
fn days_wait_for_all_their_files() -> anyhow::Result<()> {
    let f = Fixture::new("days")?;
    let a = f.file(
        "a.log",
        combined("1.2.3.4", "10/Feb/2024:10:00:00", "/", 200, "-", UA).as_bytes(),
    )?;
    let mut b_log = combined("1.2.3.5", "10/Feb/2024:23:00:00", "/", 200, "-", UA);
    for i in 0..20 {
        b_log += &combined(
            "1.2.3.5",
            &format!("11/Feb/2024:00:{i:02}:00"),
            &format!("/p{i}"),
            200,
            "-",
            UA,
        );
    }
    let b = f.file("b.log", b_log.as_bytes())?;
    // b stops after one batch of 5 lines: the 10th stays partial.
    let stopped = f.import(
        std::slice::from_ref(&b),
        &ImportOptions {
            batch_lines: 5,
            max_batches: Some(1),
            ..site1()
        },
    )?;
    assert_eq!(stopped.files[0].outcome, FileOutcome::Stopped);
    f.import(std::slice::from_ref(&a), &site1())?;
    let mut conn = f.db.conn()?;
    let days: Vec<(String, u32, u32)> = status(&mut conn)?
        .days
        .into_iter()
        .map(|d| (d.status, d.files_total, d.files_completed))
        .collect();
    assert_eq!(
        days,
        vec![("partial".into(), 2, 1), ("partial".into(), 1, 0)]
    );
    let date = time::macros::date!(2024 - 02 - 10);
    let err = export_day(&mut conn, 1, date, Vec::new(), ExportFormat::Tsv);
    assert!(matches!(
        err,
        Err(tally_logimport::LogImportError::DayNotLoaded { .. })
    ));
    // Without resume a partial file is an error; with it, it completes.
    assert!(f.import(std::slice::from_ref(&b), &site1()).is_err());
    let resumed = f.import(
        &[b],
        &ImportOptions {
            resume: true,
            ..site1()
        },
    )?;
    assert_eq!(resumed.files[0].resumed_at_line, 5);
    assert_eq!(resumed.files[0].counts.imported, 16);
    let days: Vec<String> = status(&mut conn)?
        .days
        .into_iter()
        .map(|d| d.status)
        .collect();
    assert_eq!(days, vec!["loaded", "loaded"]);
    Ok(())
}

fn generated_log(lines: usize) -> String {
    let mut log = String::new();
    let paths = [
        "/",
        "/blog/post-1",
        "/blog/post-2?utm_source=news",
        "/shop/item/42",
        "/img/a.png",
        "/doc.pdf",
        "/about",
    ];
    for i in 0..lines {
        let visitor = (i * 7) % 23;
        let secs = i * 13;
        let time = format!(
            "12/Mar/2024:{:02}:{:02}:{:02}",
            8 + secs / 3600,
            (secs / 60) % 60,
            secs % 60
        );
        let status = if i % 17 == 0 { 404 } else { 200 };
        let ua = if visitor % 2 == 0 { UA } else { UA2 };
        let line = combined(
            &format!("10.0.{}.{}", visitor / 10, visitor % 10 + 1),
            &time,
            paths[i % paths.len()],
            status,
            "-",
            ua,
        );
        log += &line;
        if i % 50 == 25 {
            log += "corrupt \u{1}\u{2} line\n";
        }
    }
    log
}

#[test]
fn resume_after_interruption_equals_clean_import() -> anyhow::Result<()> {
    let log = generated_log(400);
    let clean = Fixture::new("clean")?;
    let path = clean.file("gen.log", log.as_bytes())?;
    let opts = ImportOptions {
        batch_lines: 37,
        ..site1()
    };
    let full = clean.import(std::slice::from_ref(&path), &opts)?;
    assert_eq!(full.files[0].outcome, FileOutcome::Completed);

    let resumed = Fixture::new("resumed")?;
    let path2 = resumed.file("gen.log", log.as_bytes())?;
    let first = resumed.import(
        std::slice::from_ref(&path2),
        &ImportOptions {
            max_batches: Some(3),
            ..opts.clone()
        },
    )?;
    assert_eq!(first.files[0].outcome, FileOutcome::Stopped);
    let second = resumed.import(
        &[path2],
        &ImportOptions {
            resume: true,
            max_batches: Some(4),
            ..opts.clone()
        },
    )?;
    assert_eq!(second.files[0].resumed_at_line, 3 * 37);
    let third = resumed.import(
        &[resumed.dir.join("gen.log")],
        &ImportOptions {
            resume: true,
            ..opts.clone()
        },
    )?;
    assert_eq!(third.files[0].outcome, FileOutcome::Completed);
    // No line counted twice: the runs add up to the clean import.
    let sum = |f: fn(&Counts) -> u64| {
        f(&first.files[0].counts) + f(&second.files[0].counts) + f(&third.files[0].counts)
    };
    assert_eq!(sum(|c| c.lines_parsed), full.files[0].counts.lines_parsed);
    assert_eq!(sum(|c| c.imported), full.files[0].counts.imported);
    assert_eq!(
        sum(|c| c.ignored_invalid),
        full.files[0].counts.ignored_invalid
    );
    assert_eq!(resumed.checksum()?, clean.checksum()?);
    let mut conn = resumed.db.conn()?;
    assert_eq!(status(&mut conn)?.files[0].summaries.len(), 3);
    Ok(())
}

#[test]
fn batches_computed_ahead_of_their_commits_equal_one_batch() -> anyhow::Result<()> {
    // 400 lines over 23 visitors: in batches of 7 lines nearly every visit
    // spans several batches, each computed while the one before it is
    // being committed (two recorders), so it continues visits that are
    // not yet in the database.
    let log = generated_log(400);
    let whole = Fixture::new("whole")?;
    let path = whole.file("gen.log", log.as_bytes())?;
    let one = whole.import(
        std::slice::from_ref(&path),
        &ImportOptions {
            batch_lines: 10_000,
            recorders: 1,
            ..site1()
        },
    )?;
    let piped = Fixture::new("piped")?;
    let path2 = piped.file("gen.log", log.as_bytes())?;
    let many = piped.import(
        std::slice::from_ref(&path2),
        &ImportOptions {
            batch_lines: 7,
            recorders: 2,
            ..site1()
        },
    )?;
    assert_eq!(many.files[0].outcome, FileOutcome::Completed);
    assert_eq!(many.files[0].counts.imported, one.files[0].counts.imported);
    assert!(one.files[0].counts.imported > 300);
    assert_eq!(piped.checksum()?, whole.checksum()?);
    let visits = |f: &Fixture| -> anyhow::Result<i64> {
        Ok(tally_schema::schema::log_visit::table
            .count()
            .get_result(&mut f.db.conn()?)?)
    };
    let n = visits(&piped)?;
    assert!((23..100).contains(&n), "{n} visits");
    assert_eq!(n, visits(&whole)?);
    Ok(())
}

#[test]
fn a_failure_computing_a_batch_is_the_error_reported() -> anyhow::Result<()> {
    // The 6th line's URL cannot be stored (a trigger refuses its name), so
    // computing its batch fails, possibly while the batch before it is
    // being committed. The import reports that failure, names the line,
    // and keeps every batch before it.
    let f = Fixture::new("stage-failure")?;
    diesel::sql_query(
        "CREATE TRIGGER refuse_boom BEFORE INSERT ON log_action FOR EACH ROW \
         IF NEW.name LIKE '%boom%' THEN \
         SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'boom refused by the test'; END IF",
    )
    .execute(&mut f.db.conn()?)?;
    let mut log = String::new();
    for i in 0..8 {
        let path = if i == 5 {
            "/boom".to_owned()
        } else {
            format!("/p{i}")
        };
        log += &combined(
            "10.1.2.3",
            &format!("12/Mar/2024:08:00:{i:02}"),
            &path,
            200,
            "-",
            UA,
        );
    }
    let path = f.file("boom.log", log.as_bytes())?;
    let err = f
        .import(
            std::slice::from_ref(&path),
            &ImportOptions {
                batch_lines: 1,
                recorders: 2,
                ..site1()
            },
        )
        .err()
        .ok_or_else(|| anyhow::anyhow!("the import should fail"))?;
    let message = format!("{err:#}");
    assert!(message.contains("boom refused by the test"), "{message}");
    assert!(message.contains("boom.log"), "{message}");
    assert!(message.contains('6'), "{message}");
    let actions = f.count("SELECT COUNT(*) AS n FROM log_link_visit_action")?;
    assert!((3..=5).contains(&actions), "{actions} actions kept");
    Ok(())
}

#[test]
fn malformed_input_is_counted_with_line_numbers() -> anyhow::Result<()> {
    let f = Fixture::new("malformed")?;
    let mut data: Vec<u8> = Vec::new();
    data.extend(combined("1.2.3.4", "10/Feb/2024:10:00:00", "/", 200, "-", UA).as_bytes());
    data.extend(b"\x00\x01\x02\xff\xfe binary garbage \x80\x81\n");
    data.extend(
        b"1.2.3.4 - - [10/Feb/2024:10:00:01 +0000] \"GET /caf\xe9 HTTP/1.1\" 200 1 \"-\" \"UA\"\n",
    );
    data.extend(std::iter::repeat_n(b'a', 10 * 1024 * 1024));
    data.push(b'\n');
    data.extend(combined("1.2.3.4", "10/Feb/2024:25:61:00", "/", 200, "-", UA).as_bytes());
    data.extend(combined("1.2.3.4", "10/Feb/2024:10:00:02", "/last", 200, "-", UA).as_bytes());
    let path = f.file("bad.log", &data)?;
    let report = f.import(
        &[path],
        &ImportOptions {
            format: Some(LogFormat::Combined),
            ..site1()
        },
    )?;
    let r = &report.files[0];
    assert_eq!(r.outcome, FileOutcome::Completed);
    assert_eq!(r.counts.imported, 2);
    assert_eq!(r.counts.ignored_invalid, 4);
    let listed: Vec<(u64, &str)> = r
        .errors
        .iter()
        .map(|e| (e.line, e.reason.as_str()))
        .collect();
    assert_eq!(
        listed,
        vec![
            (2, "invalid utf-8"),
            (3, "invalid utf-8"),
            (4, "line too long"),
            (5, "invalid date or time"),
        ]
    );

    // A truncated gzip file: the lines before the cut are imported, the cut
    // is an error with its line number.
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    for i in 0..2000 {
        gz.write_all(
            combined(
                "1.2.3.9",
                &format!("11/Feb/2024:10:{:02}:{:02}", i / 60 % 60, i % 60),
                &format!("/g{i}"),
                200,
                "-",
                UA,
            )
            .as_bytes(),
        )?;
    }
    let full = gz.finish()?;
    let cut = f.file("cut.log.gz", &full[..full.len() * 2 / 3])?;
    let report = f.import(&[cut], &site1())?;
    let r = &report.files[0];
    assert_eq!(r.outcome, FileOutcome::Completed);
    assert!(
        r.counts.imported > 100 && r.counts.imported < 2000,
        "{:?}",
        r.counts
    );
    assert_eq!(r.counts.errors, 1);
    let last = r
        .errors
        .last()
        .map(|e| (e.line, e.reason.starts_with("read error")));
    assert_eq!(last, Some((r.counts.lines_parsed + 1, true)));
    Ok(())
}

#[test]
fn compressed_and_by_host() -> anyhow::Result<()> {
    let f = Fixture::new("hosts")?;
    let mut log = String::new();
    log += &format!(
        "example.org 1.2.3.4 - - [10/Feb/2024:10:00:00 +0000] \"GET /a HTTP/1.1\" 200 1 \"-\" \"{UA}\"\n"
    );
    log += &format!(
        "www.blog.example 1.2.3.4 - - [10/Feb/2024:10:00:00 +0000] \"GET /b HTTP/1.1\" 200 1 \"-\" \"{UA}\"\n"
    );
    log += &format!(
        "unknown.example 1.2.3.4 - - [10/Feb/2024:10:00:00 +0000] \"GET /c HTTP/1.1\" 200 1 \"-\" \"{UA}\"\n"
    );
    let mut bz = bzip2::write::BzEncoder::new(Vec::new(), bzip2::Compression::default());
    bz.write_all(log.as_bytes())?;
    let path = f.file("hosts.log.bz2", &bz.finish()?)?;
    let report = f.import(std::slice::from_ref(&path), &ImportOptions::default())?;
    let c = report.files[0].counts;
    assert_eq!((c.imported, c.ignored_excluded), (2, 1));
    assert_eq!(
        f.count("SELECT COUNT(*) AS n FROM log_link_visit_action WHERE idsite = 2")?,
        1
    );

    // With site creation, the unknown host gets a site.
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(log.replace("/a", "/a2").as_bytes())?;
    let path = f.file("hosts.log.gz", &gz.finish()?)?;
    let report = f.import(
        &[path],
        &ImportOptions {
            site: SiteSelection::ByHost {
                add_new_hosts: true,
                fallback: None,
            },
            ..ImportOptions::default()
        },
    )?;
    assert_eq!(report.files[0].counts.imported, 3);
    assert_eq!(
        f.count("SELECT COUNT(*) AS n FROM site WHERE main_url = 'http://unknown.example'")?,
        1
    );

    // A format without hosts needs an idsite.
    let common = f.file(
        "common.log",
        b"1.2.3.4 - - [10/Feb/2024:10:00:00 +0000] \"GET / HTTP/1.1\" 200 1\n",
    )?;
    assert!(matches!(
        import_files(
            &f.db.pool()?,
            &[common],
            &ImportOptions::default(),
            &mut |_| {}
        ),
        Err(tally_logimport::LogImportError::NoHost { .. })
    ));
    Ok(())
}

#[test]
fn replay_tracking_and_dry_run() -> anyhow::Result<()> {
    let f = Fixture::new("replay")?;
    let mut log = String::new();
    log += &combined(
        "1.2.3.4",
        "10/Feb/2024:10:00:00",
        "/matomo.php?idsite=2&rec=1&url=https%3A%2F%2Fblog.example%2Fpost&action_name=Post&_id=0123456789abcdef",
        200,
        "-",
        UA,
    );
    log += &combined(
        "1.2.3.4",
        "10/Feb/2024:10:00:05",
        "/matomo.php?idsite=2&rec=1&e_c=Video&e_a=Play&url=https%3A%2F%2Fblog.example%2Fpost&_id=0123456789abcdef",
        200,
        "-",
        UA,
    );
    log += &combined(
        "1.2.3.4",
        "10/Feb/2024:10:00:06",
        "/page.html",
        200,
        "-",
        UA,
    );
    let path = f.file("tracker.log", log.as_bytes())?;
    let dry = f.import(
        std::slice::from_ref(&path),
        &ImportOptions {
            replay_tracking: true,
            dry_run: true,
            ..ImportOptions::default()
        },
    )?;
    assert_eq!(dry.files[0].outcome, FileOutcome::DryRun);
    assert_eq!(dry.files[0].counts.imported, 2);
    assert_eq!(
        f.count("SELECT COUNT(*) AS n FROM log_link_visit_action")?,
        0
    );
    assert_eq!(f.count("SELECT COUNT(*) AS n FROM logimport_file")?, 0);
    let report = f.import(
        &[path],
        &ImportOptions {
            replay_tracking: true,
            ..ImportOptions::default()
        },
    )?;
    let c = report.files[0].counts;
    assert_eq!((c.imported, c.ignored_invalid), (2, 1));
    assert_eq!(
        f.count("SELECT COUNT(*) AS n FROM log_visit WHERE idsite = 2")?,
        1
    );
    assert_eq!(
        f.count("SELECT CAST(visit_total_events AS SIGNED) AS n FROM log_visit WHERE idsite = 2")?,
        1
    );
    Ok(())
}

#[test]
fn response_length_is_stored_as_bandwidth() -> anyhow::Result<()> {
    let f = Fixture::new("bandwidth")?;
    let line = |time: &str, path: &str, length: &str| {
        format!(
            "1.2.3.4 - - [10/Feb/2024:{time} +0000] \"GET {path} HTTP/1.1\" 200 {length} \"-\" \"{UA}\"\n"
        )
    };
    let mut log = String::new();
    log += &line("10:00:00", "/", "2048");
    log += &line("10:01:00", "/about", "-");
    // import_logs.py sends no `bw_bytes` for a length of 0 (`if hit.length`).
    log += &line("10:02:00", "/contact", "0");
    log += &line("10:03:00", "/files/report.pdf", "1048576");
    let path = f.file("access.log", log.as_bytes())?;
    f.import(std::slice::from_ref(&path), &site1())?;
    let bandwidth = |url: &str| {
        f.count(&format!(
            "SELECT COALESCE(CAST(a.bandwidth AS SIGNED), -1) AS n FROM log_link_visit_action a \
             JOIN log_action u ON u.idaction = a.idaction_url WHERE u.name LIKE '%{url}'"
        ))
    };
    assert_eq!(bandwidth("example.org/")?, 2048);
    assert_eq!(bandwidth("/about")?, -1);
    assert_eq!(bandwidth("/contact")?, -1);
    assert_eq!(bandwidth("/files/report.pdf")?, 1_048_576);

    // A replayed request's own `bw_bytes` gives way to the logged length.
    let replayed = line(
        "10:05:00",
        "/matomo.php?idsite=1&rec=1&url=https%3A%2F%2Fexample.org%2Freplayed&bw_bytes=7",
        "43",
    );
    let replay = f.file("tracker.log", replayed.as_bytes())?;
    f.import(
        &[replay],
        &ImportOptions {
            replay_tracking: true,
            ..ImportOptions::default()
        },
    )?;
    assert_eq!(bandwidth("/replayed")?, 43);
    Ok(())
}
