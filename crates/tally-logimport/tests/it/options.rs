//! The `import_logs.py` options added for parity: date bounds, date shift,
//! `--skip`, glob files, W3C field options, regex-group custom variables,
//! ignored groups, `--encoding`, `--track-http-method`, `--include-host` /
//! `--exclude-host`, `--replay-tracking-expected-tracker-file` and
//! `--request-suffix`; rows checked in the database.

use diesel::prelude::*;
use diesel::sql_types::Text;
use tally_logimport::{
    Counts, FileOutcome, ImportOptions, LineParser, LogFormat, ParseOptions, Parsed, UserRegex,
    classify::read_globs, parse_date_with_offset, status,
};

use crate::import::{Fixture, UA, combined, site1};

/// One text column of a query, in its order (`NULL` as `NULL`).
pub(crate) fn texts(f: &Fixture, sql: &str) -> anyhow::Result<Vec<String>> {
    #[derive(QueryableByName)]
    struct S {
        #[diesel(sql_type = diesel::sql_types::Nullable<Text>)]
        s: Option<String>,
    }
    let rows: Vec<S> = diesel::sql_query(sql).load(&mut f.db.conn()?)?;
    Ok(rows
        .into_iter()
        .map(|r| r.s.unwrap_or_else(|| "NULL".to_owned()))
        .collect())
}

/// The tracked URLs in time order, without the site's address.
fn urls(f: &Fixture) -> anyhow::Result<Vec<String>> {
    let all = texts(
        f,
        "SELECT REPLACE(u.name, 'example.org', '') AS s FROM log_link_visit_action a \
         JOIN log_action u ON u.idaction = a.idaction_url ORDER BY a.server_time, a.idlink_va",
    )?;
    Ok(all)
}

fn days(f: &Fixture) -> anyhow::Result<Vec<String>> {
    Ok(status(&mut f.db.conn()?)?
        .days
        .into_iter()
        .map(|d| format!("{} {}", d.date, d.status))
        .collect())
}

#[test]
fn exclude_older_and_newer_than() -> anyhow::Result<()> {
    let f = Fixture::new("dates")?;
    let mut log = String::new();
    log += &combined(
        "1.2.3.4",
        "09/Feb/2024:12:00:00",
        "/day-before",
        200,
        "-",
        UA,
    );
    // A static file stays counted as static, whatever its date (the
    // importer's rules come first, as in import_logs.py).
    log += &combined("1.2.3.4", "10/Feb/2024:08:00:00", "/logo.png", 200, "-", UA);
    log += &combined(
        "1.2.3.4",
        "10/Feb/2024:09:59:59",
        "/too-early",
        200,
        "-",
        UA,
    );
    log += &combined("1.2.3.4", "10/Feb/2024:10:00:00", "/first", 200, "-", UA);
    log += &combined("1.2.3.4", "10/Feb/2024:11:00:00", "/last", 200, "-", UA);
    log += &combined("1.2.3.4", "10/Feb/2024:11:00:01", "/too-late", 200, "-", UA);
    let path = f.file("dates.log", log.as_bytes())?;
    let report = f.import(
        &[path],
        &ImportOptions {
            // 10:00 UTC, written in another zone; both bounds are kept.
            exclude_older_than: Some(parse_date_with_offset("2024-02-10 11:00:00 +0100")?),
            exclude_newer_than: Some(parse_date_with_offset("2024-02-10 11:00:00 +0000")?),
            ..site1()
        },
    )?;
    assert_eq!(
        report.files[0].counts,
        Counts {
            lines_parsed: 6,
            imported: 2,
            ignored_static: 1,
            ignored_excluded: 3,
            ..Counts::default()
        }
    );
    assert_eq!(urls(&f)?, ["/first", "/last"]);
    // The excluded line's day was never registered.
    assert_eq!(days(&f)?, ["2024-02-10 loaded"]);
    // The summary row holds the same counts.
    let s = &status(&mut f.db.conn()?)?.files[0].summaries[0];
    assert_eq!((s.lines_imported, s.ignored_excluded), (2, 3));

    for bad in [
        "2024-02-10 11:00:00",
        "2024-02-30 11:00:00 +0000",
        "2024-02-10 11:00 +0000",
        "yesterday +0000",
        "2024-02-10 11:00:00 CET",
    ] {
        assert!(parse_date_with_offset(bad).is_err(), "{bad} accepted");
    }
    Ok(())
}

#[test]
fn seconds_added_to_every_date() -> anyhow::Result<()> {
    let f = Fixture::new("addtodate")?;
    let mut log = String::new();
    log += &combined("1.2.3.4", "11/Feb/2024:00:29:59", "/before", 200, "-", UA);
    log += &combined("1.2.3.4", "11/Feb/2024:00:30:00", "/shifted", 200, "-", UA);
    let path = f.file("shift.log", log.as_bytes())?;
    let report = f.import(
        &[path],
        &ImportOptions {
            seconds_to_add_to_date: -5400,
            // Applies to the shifted time: 00:29:59 became 22:59:59.
            exclude_older_than: Some(parse_date_with_offset("2024-02-10 23:00:00 +0000")?),
            ..site1()
        },
    )?;
    let c = report.files[0].counts;
    assert_eq!((c.imported, c.ignored_excluded), (1, 1));
    assert_eq!(
        texts(
            &f,
            "SELECT CAST(server_time AS CHAR) AS s FROM log_link_visit_action"
        )?,
        ["2024-02-10 23:00:00"]
    );
    assert_eq!(
        texts(
            &f,
            "SELECT CAST(visit_first_action_time AS CHAR) AS s FROM log_visit"
        )?,
        ["2024-02-10 23:00:00"]
    );
    // The day is the shifted one.
    assert_eq!(days(&f)?, ["2024-02-10 loaded"]);
    Ok(())
}

#[test]
fn skip_first_lines_and_resume() -> anyhow::Result<()> {
    let f = Fixture::new("skip")?;
    let mut log = String::new();
    for i in 1..=8 {
        log += &combined(
            "1.2.3.4",
            &format!("10/Feb/2024:10:0{i}:00"),
            &format!("/p{i}"),
            200,
            "-",
            UA,
        );
    }
    let path = f.file("skip.log", log.as_bytes())?;
    let opts = ImportOptions {
        skip: 3,
        batch_lines: 2,
        ..site1()
    };
    // One batch of two lines after the three skipped, then stop.
    let first = f.import(
        std::slice::from_ref(&path),
        &ImportOptions {
            max_batches: Some(1),
            ..opts.clone()
        },
    )?;
    assert_eq!(first.files[0].outcome, FileOutcome::Stopped);
    let c = first.files[0].counts;
    assert_eq!((c.lines_parsed, c.imported, c.ignored_invalid), (2, 2, 0));
    assert_eq!(status(&mut f.db.conn()?)?.files[0].file.lines_done, 5);
    // Resumed with the same --skip: continues after line 5, nothing twice.
    let second = f.import(
        std::slice::from_ref(&path),
        &ImportOptions {
            resume: true,
            ..opts.clone()
        },
    )?;
    assert_eq!(second.files[0].resumed_at_line, 5);
    assert_eq!(second.files[0].counts.lines_parsed, 3);
    assert_eq!(second.files[0].counts.imported, 3);
    assert_eq!(urls(&f)?, ["/p4", "/p5", "/p6", "/p7", "/p8"]);
    let st = status(&mut f.db.conn()?)?;
    assert_eq!(
        (
            st.files[0].file.status.as_str(),
            st.files[0].file.lines_done
        ),
        ("completed", 8)
    );

    // A W3C header among the skipped lines still gives the field list.
    let w3c = "#Fields: date time c-ip cs-method cs-uri-stem sc-status cs(User-Agent)\n\
               2024-02-11 10:00:00 1.2.3.4 GET /w1 200 Mozilla/5.0+(X11;+Linux+x86_64)\n\
               2024-02-11 10:00:01 1.2.3.4 GET /w2 200 Mozilla/5.0+(X11;+Linux+x86_64)\n";
    let path = f.file("skip.w3c.log", w3c.as_bytes())?;
    let report = f.import(&[path], &ImportOptions { skip: 2, ..site1() })?;
    let c = report.files[0].counts;
    assert_eq!((c.lines_parsed, c.imported, c.ignored_invalid), (1, 1, 0));
    assert_eq!(urls(&f)?.last().map(String::as_str), Some("/w2"));
    Ok(())
}

#[test]
fn exclude_and_include_path_from_files() -> anyhow::Result<()> {
    let f = Fixture::new("pathfrom")?;
    let exclude = f.file("exclude.txt", b"\n/admin/*\n\n   *.php  \n")?;
    let include = f.file("include.txt", b"/blog/*\r\n/admin/*\n")?;
    assert_eq!(read_globs(&exclude)?, ["/admin/*", "*.php"]);
    assert_eq!(read_globs(&include)?, ["/blog/*", "/admin/*"]);
    let missing = f.dir.join("no-such-file.txt");
    assert!(matches!(
        read_globs(&missing),
        Err(tally_logimport::LogImportError::Read { path, .. }) if path == missing
    ));

    let mut log = String::new();
    for p in ["/admin/users", "/blog/a", "/blog/b.php", "/shop"] {
        log += &combined("1.2.3.4", "10/Feb/2024:10:00:00", p, 200, "-", UA);
    }
    let path = f.file("paths.log", log.as_bytes())?;
    let mut opts = site1();
    opts.filters.exclude_paths = read_globs(&exclude)?;
    opts.filters.include_paths = read_globs(&include)?;
    let report = f.import(&[path], &opts)?;
    let c = report.files[0].counts;
    assert_eq!((c.imported, c.ignored_excluded), (1, 3));
    assert_eq!(urls(&f)?, ["/blog/a"]);
    Ok(())
}

#[test]
fn w3c_mapped_fields_time_taken_and_field_regex() -> anyhow::Result<()> {
    let f = Fixture::new("w3copts")?;
    let log = "#Software: Custom Advanced Logging\n\
        #Fields: my-date time c-ip cs-method cs-uri-stem sc-status time-taken x-win32 cs(User-Agent)\n\
        2024-02-10 10:00:00 1.2.3.4 GET /a 200 250 0 Mozilla/5.0+(X11;+Linux+x86_64)\n\
        2024-02-10 10:00:05 1.2.3.4 GET /b 200 1500 64 Mozilla/5.0+(X11;+Linux+x86_64)\n\
        2024-02-10 10:00:09 1.2.3.4 GET /c 200 10 n/a Mozilla/5.0+(X11;+Linux+x86_64)\n";
    let path = f.file("custom.w3c.log", log.as_bytes())?;
    let base = ImportOptions {
        format: Some(LogFormat::W3cExtended),
        ..site1()
    };
    // Without the mapping there is no date field: every line is invalid.
    let dry = f.import(
        std::slice::from_ref(&path),
        &ImportOptions {
            dry_run: true,
            ..base.clone()
        },
    )?;
    assert_eq!(dry.files[0].counts.ignored_invalid, 3);

    let opts = ImportOptions {
        w3c_map_fields: vec![("my-date".into(), "date".into())],
        w3c_time_taken_millisecs: true,
        w3c_field_regexes: vec![("x-win32".into(), r"(?P<win32>\d+)".into())],
        regex_group_to_page_cvars: vec![("win32".into(), "Win32 status".into())],
        ..base.clone()
    };
    let report = f.import(std::slice::from_ref(&path), &opts)?;
    let r = &report.files[0];
    assert_eq!((r.counts.imported, r.counts.ignored_invalid), (2, 1));
    // The third line's x-win32 does not match its regex.
    assert_eq!(r.errors.first().map(|e| e.line), Some(5));
    assert_eq!(
        texts(
            &f,
            "SELECT CONCAT_WS('|', CAST(time_server AS CHAR), custom_var_k1, custom_var_v1, \
             custom_var_k2, custom_var_v2) AS s FROM log_link_visit_action ORDER BY server_time"
        )?,
        [
            "250|Win32 status|0|HTTP-code|200",
            "1500|Win32 status|64|HTTP-code|200"
        ]
    );

    // Seconds unless told otherwise (IIS aside).
    let taken = |millis: bool| -> anyhow::Result<Vec<Option<f64>>> {
        let mut parser = LineParser::with_options(
            &LogFormat::W3cExtended,
            &ImportOptions {
                w3c_time_taken_millisecs: millis,
                ..opts.clone()
            }
            .parse_options(),
        )?;
        Ok(log
            .lines()
            .filter_map(|l| match parser.parse(l.as_bytes()) {
                Parsed::Line(l) => Some(l.duration_ms),
                _ => None,
            })
            .collect())
    };
    assert_eq!(taken(false)?, [Some(250_000.0), Some(1_500_000.0)]);
    assert_eq!(taken(true)?, [Some(250.0), Some(1500.0)]);

    // Options that cannot work are refused up front.
    for bad in [
        ParseOptions {
            w3c_map_fields: vec![("my-date".into(), "no-such-field".into())],
            ..ParseOptions::default()
        },
        ParseOptions {
            w3c_field_regexes: vec![("x-win32".into(), r"\d+".into())],
            ..ParseOptions::default()
        },
        ParseOptions {
            w3c_field_regexes: vec![("x-win32".into(), r"(?P<path>\S+)".into())],
            ..ParseOptions::default()
        },
    ] {
        assert!(bad.validate().is_err(), "{bad:?} accepted");
    }
    Ok(())
}

#[test]
fn regex_groups_as_custom_variables_and_ignored_groups() -> anyhow::Result<()> {
    let f = Fixture::new("cvars")?;
    let regex = UserRegex::new(
        r#"^(?P<ip>\S+) (?P<userid>\S+) (?P<session>\S+) \[(?P<date>[^\]]+)\] "(?P<path>[^"]*)" (?P<status>\d+) "(?P<user_agent>[^"]*)"$"#,
        Some("%d/%b/%Y:%H:%M:%S %z"),
    )?;
    let line = |ip: &str, user: &str, session: &str, time: &str, path: &str| {
        format!("{ip} {user} {session} [{time} +0000] \"{path}\" 200 \"{UA}\"\n")
    };
    let mut log = String::new();
    log += &line("1.2.3.4", "alice", "s-42", "10/Feb/2024:10:00:00", "/a");
    log += &line("1.2.3.4", "alice", "-", "10/Feb/2024:10:01:00", "/b");
    let path = f.file("cvars.log", log.as_bytes())?;
    let opts = ImportOptions {
        format: Some(LogFormat::Regex(regex)),
        regex_group_to_visit_cvars: vec![("session".into(), "Session".into())],
        regex_group_to_page_cvars: vec![("userid".into(), "User".into())],
        ignore_groups: vec!["userid".into()],
        ..site1()
    };
    let report = f.import(&[path], &opts)?;
    assert_eq!(report.files[0].counts.imported, 2);
    // userid ignored: no user id, but still read into its custom variable.
    assert_eq!(
        texts(
            &f,
            "SELECT CONCAT_WS('|', COALESCE(user_id, 'no uid'), custom_var_k1, custom_var_v1, \
             COALESCE(custom_var_k2, 'none')) AS s FROM log_visit"
        )?,
        ["no uid|Session|s-42|none"]
    );
    assert_eq!(
        texts(
            &f,
            "SELECT CONCAT_WS('|', custom_var_k1, custom_var_v1, custom_var_k2, custom_var_v2) AS s \
             FROM log_link_visit_action ORDER BY server_time"
        )?,
        ["User|alice|HTTP-code|200", "User|alice|HTTP-code|200"]
    );

    // Without --ignore-groups the user id is tracked.
    let other = line("5.6.7.8", "bob", "s-7", "10/Feb/2024:11:00:00", "/c");
    let path = f.file("cvars2.log", other.as_bytes())?;
    f.import(
        &[path],
        &ImportOptions {
            ignore_groups: Vec::new(),
            ..opts.clone()
        },
    )?;
    assert_eq!(
        f.count("SELECT COUNT(*) AS n FROM log_visit WHERE user_id = 'bob'")?,
        1
    );

    // --ignore-groups works on formats without a regex too, and refuses
    // the fields a request cannot lack.
    let mut parser = LineParser::with_options(
        &LogFormat::Combined,
        &ParseOptions {
            groups: vec!["userid".into(), "nope".into()],
            ignore_groups: vec!["userid".into(), "user_agent".into()],
            ..ParseOptions::default()
        },
    )?;
    let clf = format!(
        "1.2.3.4 - carol [10/Feb/2024:10:00:00 +0000] \"GET / HTTP/1.1\" 200 1 \"-\" \"{UA}\""
    );
    match parser.parse(clf.as_bytes()) {
        Parsed::Line(l) => {
            assert_eq!((l.userid, l.user_agent), (None, None));
            assert_eq!(l.groups, [Some("carol".into()), None]);
        }
        other => anyhow::bail!("not parsed: {other:?}"),
    }
    for required in ["ip", "date", "path", "no-such-group"] {
        let o = ParseOptions {
            ignore_groups: vec![required.into()],
            ..ParseOptions::default()
        };
        assert!(o.validate().is_err(), "--ignore-groups {required} accepted");
    }
    Ok(())
}

#[test]
fn latin1_encoding() -> anyhow::Result<()> {
    let f = Fixture::new("encoding")?;
    let mut data =
        b"1.2.3.4 - - [10/Feb/2024:10:00:00 +0000] \"GET /caf\xe9 HTTP/1.1\" 200 1 \"-\" \""
            .to_vec();
    data.extend(UA.as_bytes());
    data.extend(b"\"\n");
    let path = f.file("latin1.log", &data)?;
    // As UTF-8 (the default) the line is invalid...
    let dry = f.import(
        std::slice::from_ref(&path),
        &ImportOptions {
            format: Some(LogFormat::Combined),
            dry_run: true,
            ..site1()
        },
    )?;
    assert_eq!(dry.files[0].counts.ignored_invalid, 1);
    // ...and as Latin-1 it is read.
    let report = f.import(
        &[path],
        &ImportOptions {
            encoding: tally_logimport::input::charset("latin1")?,
            ..site1()
        },
    )?;
    assert_eq!(report.files[0].counts.imported, 1);
    assert_eq!(
        f.count("SELECT COUNT(*) AS n FROM log_action WHERE name LIKE '%/caf\u{e9}'")?,
        1
    );
    // Multi-byte charsets too (decoded by encoding_rs); unknown names are
    // refused.
    let sjis = tally_logimport::input::charset("shift_jis")?;
    assert_eq!(sjis.decode(b"/\x93\xfa\x96\x7b").as_deref(), Some("/日本"));
    assert!(tally_logimport::input::charset("klingon").is_err());
    Ok(())
}

/// A combined line with its own method and user.
fn request(method: &str, user: &str, time: &str, path: &str) -> String {
    format!("1.2.3.4 - {user} [{time} +0000] \"{method} {path} HTTP/1.1\" 200 512 \"-\" \"{UA}\"\n")
}

/// The page custom variables of each action, `k=v` joined by `|`, in time
/// order.
fn page_cvars(f: &Fixture) -> anyhow::Result<Vec<String>> {
    texts(
        f,
        "SELECT CONCAT_WS('|', CONCAT(custom_var_k1, '=', custom_var_v1), \
         CONCAT(custom_var_k2, '=', custom_var_v2), CONCAT(custom_var_k3, '=', custom_var_v3)) AS s \
         FROM log_link_visit_action ORDER BY server_time, idlink_va",
    )
}

#[test]
fn track_http_method() -> anyhow::Result<()> {
    let f = Fixture::new("httpmethod")?;
    let mut log = String::new();
    log += &request("GET", "alice", "10/Feb/2024:10:00:00", "/a");
    log += &request("POST", "-", "10/Feb/2024:10:00:10", "/form");
    let path = f.file("methods.log", log.as_bytes())?;
    let opts = ImportOptions {
        track_http_method: true,
        ..site1()
    };
    // Off by default: only HTTP-code.
    let dry = f.import(
        std::slice::from_ref(&path),
        &ImportOptions {
            dry_run: true,
            ..site1()
        },
    )?;
    assert_eq!(dry.files[0].counts.imported, 2);
    let report = f.import(
        &[path],
        &ImportOptions {
            // A regex-group variable takes slot 1, the method slot 2.
            regex_group_to_page_cvars: vec![("userid".into(), "User".into())],
            ..opts.clone()
        },
    )?;
    assert_eq!(report.files[0].counts.imported, 2);
    assert_eq!(
        page_cvars(&f)?,
        [
            "User=alice|HTTP-method=GET|HTTP-code=200",
            "HTTP-method=POST|HTTP-code=200"
        ]
    );

    // A format without a method field, and `method` ignored: no variable.
    let w3c = "#Fields: date time c-ip cs-uri-stem sc-status cs(User-Agent)\n\
               2024-02-10 11:00:00 5.6.7.8 /w 200 Mozilla/5.0+(X11;+Linux+x86_64)\n";
    let path = f.file("nomethod.w3c.log", w3c.as_bytes())?;
    f.import(&[path], &opts)?;
    let ignored = request("DELETE", "-", "10/Feb/2024:12:00:00", "/gone");
    let path = f.file("ignored.log", ignored.as_bytes())?;
    f.import(
        &[path],
        &ImportOptions {
            ignore_groups: vec!["method".into()],
            ..opts.clone()
        },
    )?;
    let all = page_cvars(&f)?;
    assert_eq!(all[2..], ["HTTP-code=200", "HTTP-code=200"]);
    Ok(())
}

/// `import_logs.py` adds its own custom variables (`HTTP-code`, and
/// `Bot`/`Not-Bot` with `--enable-bots`) to replayed tracking requests
/// too, where the request carries no `cvar` (`_cvar`) of its own: Matomo's
/// `ImportLogsTest` counts its replayed page views under `HTTP-code`. The
/// logged referrer is sent as `urlref` where the request has none.
#[test]
fn replayed_requests_get_the_importer_custom_variables() -> anyhow::Result<()> {
    let f = Fixture::new("replaycvars")?;
    let own = "&cvar=%7B%221%22%3A%5B%22Own%22%2C%22x%22%5D%7D\
               &_cvar=%7B%221%22%3A%5B%22Kind%22%2C%22y%22%5D%7D";
    let mut log = String::new();
    log += &combined(
        "1.2.3.4",
        "10/Feb/2024:10:00:00",
        "/matomo.php?idsite=1&rec=1&url=http%3A%2F%2Fexample.org%2Fa&urlref=&_id=0123456789abcdef",
        200,
        "http://ref.example/from",
        UA,
    );
    // A status Matomo's tracker answered with an error is replayed as is.
    log += &combined(
        "5.6.7.8",
        "10/Feb/2024:10:00:05",
        &format!(
            "/piwik.php?idsite=1&rec=1&url=http%3A%2F%2Fexample.org%2Fb&_id=fedcba9876543210{own}"
        ),
        404,
        "-",
        UA,
    );
    let path = f.file("replay-cvars.log", log.as_bytes())?;
    let mut opts = ImportOptions {
        replay_tracking: true,
        ..ImportOptions::default()
    };
    opts.filters.enable_bots = true;
    let report = f.import(&[path], &opts)?;
    assert_eq!(report.files[0].counts.imported, 2);
    assert_eq!(page_cvars(&f)?, ["HTTP-code=200", "Own=x"]);
    assert_eq!(
        texts(
            &f,
            "SELECT CONCAT(custom_var_k1, '=', custom_var_v1) AS s FROM log_visit \
             ORDER BY visit_first_action_time"
        )?,
        [format!("Not-Bot={UA}"), "Kind=y".to_owned()]
    );
    // The logged referrer is the request's `urlref` when it has none (a
    // blank one is none, as Python's `parse_qs` reads it).
    assert_eq!(
        texts(
            &f,
            "SELECT COALESCE(referer_url, '') AS s FROM log_visit ORDER BY visit_first_action_time"
        )?,
        ["http://ref.example/from", ""]
    );
    Ok(())
}

#[test]
fn include_and_exclude_hosts() -> anyhow::Result<()> {
    let f = Fixture::new("hosts")?;
    let vhost = |host: &str, time: &str, path: &str| {
        format!(
            "{host} 1.2.3.4 - - [{time} +0000] \"GET {path} HTTP/1.1\" 200 512 \"-\" \"{UA}\"\n"
        )
    };
    let mut log = String::new();
    log += &vhost("example.org", "10/Feb/2024:10:00:00", "/kept");
    // Case, port and a trailing dot do not count.
    log += &vhost("EXAMPLE.org.:8080", "10/Feb/2024:10:00:01", "/kept-too");
    // Excluded although included.
    log += &vhost("blog.example", "10/Feb/2024:10:00:02", "/excluded");
    // Not included (a subdomain is another host); its day is never registered.
    log += &vhost("www.example.org", "11/Feb/2024:10:00:00", "/not-included");
    // The importer's rules come first: counted as static.
    log += &vhost("other.test", "10/Feb/2024:10:00:03", "/logo.png");
    let path = f.file("vhosts.log", log.as_bytes())?;
    let opts = ImportOptions {
        format: Some(LogFormat::CommonComplete),
        include_hosts: vec!["Example.ORG".into(), "blog.example".into()],
        exclude_hosts: vec!["blog.example".into()],
        ..site1()
    };
    let report = f.import(&[path], &opts)?;
    assert_eq!(
        report.files[0].counts,
        Counts {
            lines_parsed: 5,
            imported: 2,
            ignored_static: 1,
            ignored_excluded: 2,
            ..Counts::default()
        }
    );
    assert_eq!(urls(&f)?, ["/kept", "/kept-too"]);
    assert_eq!(days(&f)?, ["2024-02-10 loaded"]);
    let s = &status(&mut f.db.conn()?)?.files[0].summaries[0];
    assert_eq!((s.lines_imported, s.ignored_excluded), (2, 2));

    // A format without hosts: a line is kept, unless its request is an
    // absolute URL naming another host.
    let mut log = String::new();
    log += &combined("1.2.3.4", "10/Feb/2024:11:00:00", "/no-host", 200, "-", UA);
    log += &combined(
        "1.2.3.4",
        "10/Feb/2024:11:00:01",
        "http://proxy.test:3128/elsewhere",
        200,
        "-",
        UA,
    );
    let path = f.file("nohost.log", log.as_bytes())?;
    let report = f.import(
        &[path],
        &ImportOptions {
            format: None,
            ..opts.clone()
        },
    )?;
    let c = report.files[0].counts;
    assert_eq!((c.imported, c.ignored_excluded), (1, 1));

    // Values that cannot be a host are refused before any file is read.
    for bad in ["example.org:8080", "https://example.org/", ""] {
        let err = f
            .import(
                &[f.dir.join("never-read.log")],
                &ImportOptions {
                    exclude_hosts: vec![bad.into()],
                    ..site1()
                },
            )
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.contains("--exclude-host"), "{bad:?}: {err}");
    }
    Ok(())
}

#[test]
fn replay_tracking_expected_tracker_file_and_request_suffix() -> anyhow::Result<()> {
    let f = Fixture::new("trackerfile")?;
    let q = "idsite=2&rec=1&url=https%3A%2F%2Fblog.example%2Fpost&action_name=Post&_id=0123456789abcdef";
    let mut log = String::new();
    for (i, tracker) in [
        "/matomo.php",
        "/piwik.php",
        "/js/tracker.php",
        "/JS/Tracker.PHP",
    ]
    .iter()
    .enumerate()
    {
        log += &combined(
            "1.2.3.4",
            &format!("10/Feb/2024:10:00:0{i}"),
            &format!("{tracker}?{q}"),
            200,
            "-",
            UA,
        );
    }
    let path = f.file("tracker.log", log.as_bytes())?;
    let replay = ImportOptions {
        replay_tracking: true,
        ..ImportOptions::default()
    };
    // By default both of Matomo's tracker names are replayed.
    let dry = f.import(
        std::slice::from_ref(&path),
        &ImportOptions {
            dry_run: true,
            ..replay.clone()
        },
    )?;
    let c = dry.files[0].counts;
    assert_eq!((c.imported, c.ignored_invalid), (2, 2));
    // A renamed tracker instead (case does not count); the suffix reaches
    // replayed requests too, and replaces their own parameters.
    let report = f.import(
        &[path],
        &ImportOptions {
            replay_tracking_expected_tracker_file: Some("JS/tracker.php".into()),
            request_suffix: Some("&lang=fr-ch&action_name=Renamed".into()),
            ..replay.clone()
        },
    )?;
    let r = &report.files[0];
    assert_eq!((r.counts.imported, r.counts.ignored_invalid), (2, 2));
    assert!(
        r.errors[0].reason.contains("js/tracker.php"),
        "{:?}",
        r.errors
    );
    assert_eq!(
        texts(
            &f,
            "SELECT CONCAT(v.location_browser_lang, ' ', n.name) AS s FROM log_link_visit_action a \
             JOIN log_visit v ON v.idvisit = a.idvisit \
             JOIN log_action n ON n.idaction = a.idaction_name ORDER BY a.server_time"
        )?,
        ["fr-ch Renamed", "fr-ch Renamed"]
    );
    Ok(())
}

#[test]
fn request_suffix_on_every_request() -> anyhow::Result<()> {
    let f = Fixture::new("suffix")?;
    let mut log = String::new();
    log += &combined("1.2.3.4", "10/Feb/2024:10:00:00", "/a", 200, "-", UA);
    log += &combined("5.6.7.8", "10/Feb/2024:10:00:05", "/b", 200, "-", UA);
    let path = f.file("suffix.log", log.as_bytes())?;
    // URL-encoded as in a query string: a visit variable, and a page
    // variable replacing the importer's HTTP-code one.
    let suffix = "lang=de-at\
        &_cvar=%7B%221%22%3A%5B%22Source%22%2C%22log+import%22%5D%7D\
        &cvar=%7B%221%22%3A%5B%22Batch%22%2C%227%22%5D%7D";
    let report = f.import(
        &[path],
        &ImportOptions {
            request_suffix: Some(suffix.into()),
            track_http_method: true,
            ..site1()
        },
    )?;
    assert_eq!(report.files[0].counts.imported, 2);
    assert_eq!(
        texts(
            &f,
            "SELECT CONCAT_WS('|', location_browser_lang, custom_var_k1, custom_var_v1) AS s \
             FROM log_visit ORDER BY visit_first_action_time"
        )?,
        ["de-at|Source|log import", "de-at|Source|log import"]
    );
    assert_eq!(page_cvars(&f)?, ["Batch=7", "Batch=7"]);

    // What cannot be added is refused up front, naming the option.
    for bad in ["", "=1", "idsite=2", "cdt=2024-01-01", "ids[]=1"] {
        let err = tally_logimport::parse_request_suffix(bad)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.starts_with("--request-suffix: "), "{bad:?}: {err}");
    }
    Ok(())
}

/// `[tracker] exclude_requests` applies to imported lines as it applies to
/// tracking requests: a matching line is counted as excluded and stores
/// nothing.
#[test]
fn the_trackers_exclude_requests_apply_to_imported_lines() -> anyhow::Result<()> {
    let f = Fixture::new("exclude-requests")?;
    let mut log = String::new();
    for path in [
        "/shop",
        "/internal/health",
        "/shop/cart",
        "/INTERNAL/metrics",
    ] {
        log += &combined("1.2.3.4", "10/Feb/2024:10:00:00", path, 200, "-", UA);
    }
    let path = f.file("requests.log", log.as_bytes())?;
    let tracker = tally_tracking::http::TrackerConfig {
        exclude_requests: "url=@/internal/".to_owned(),
        ..Default::default()
    };
    let report = f.import(
        &[path],
        &ImportOptions {
            lists: Some(tally_tracking::site::ConfiguredLists::from_config(
                &tracker,
            )?),
            ..site1()
        },
    )?;
    assert_eq!(
        report.files[0].counts,
        Counts {
            lines_parsed: 4,
            imported: 2,
            ignored_excluded: 2,
            ..Counts::default()
        }
    );
    // Matomo compares both sides lower-cased: `/INTERNAL/` matches too.
    assert_eq!(urls(&f)?, ["/shop", "/shop/cart"]);
    Ok(())
}
