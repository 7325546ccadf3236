//! Regressions of the `import_logs.py` parity audit (named after its
//! discrepancy numbers, D1...): each line read, tracked or not, and stored
//! as Matomo's importer and tracker would; rows checked in the database, or
//! the parsed line where the difference was in reading it.

use tally_logimport::{ImportOptions, LineParser, LogFormat, Parsed};

use crate::import::{Fixture, UA, site1};
use crate::options::texts;

/// The actions in time order: `type|url|time_server`.
fn actions(f: &Fixture) -> anyhow::Result<Vec<String>> {
    texts(
        f,
        "SELECT CONCAT_WS('|', u.type, u.name, COALESCE(CAST(a.time_server AS CHAR), 'NULL')) AS s \
         FROM log_link_visit_action a JOIN log_action u ON u.idaction = a.idaction_url \
         ORDER BY a.server_time, a.idlink_va",
    )
}

#[test]
fn d3_a_client_ip_that_is_no_address_is_tracked_as_0_0_0_0() -> anyhow::Result<()> {
    let f = Fixture::new("d3")?;
    let clf = format!(
        "www.example.org - - - [10/Feb/2024:10:00:00 +0000] \"GET /dash HTTP/1.1\" 200 1 \"-\" \"{UA}\"\n\
         www.example.org 1.2.3.4 - - [10/Feb/2024:10:00:01 +0000] \"GET /real HTTP/1.1\" 200 1 \"-\" \"{UA}\"\n"
    );
    let path = f.file("d3.log", clf.as_bytes())?;
    let report = f.import(
        &[path],
        &ImportOptions {
            format: Some(LogFormat::CommonComplete),
            ..site1()
        },
    )?;
    let c = report.files[0].counts;
    assert_eq!((c.imported, c.ignored_invalid), (2, 0));
    let w3c = "#Fields: date time c-ip cs-method cs-uri-stem sc-status cs(User-Agent)\n\
               2024-02-11 10:00:00 - GET /w3c-dash 200 Mozilla/5.0+(X11;+Linux+x86_64)\n";
    let path = f.file("d3.w3c.log", w3c.as_bytes())?;
    let report = f.import(&[path], &site1())?;
    assert_eq!(report.files[0].counts.imported, 1);
    assert_eq!(
        texts(
            &f,
            "SELECT CONCAT(INET6_NTOA(v.location_ip), ' ', REPLACE(u.name, 'example.org', '')) AS s \
             FROM log_link_visit_action a JOIN log_visit v ON v.idvisit = a.idvisit \
             JOIN log_action u ON u.idaction = a.idaction_url ORDER BY a.server_time"
        )?,
        // (The tracker anonymises two bytes of a real address.)
        ["0.0.0.0 /dash", "1.2.0.0 /real", "0.0.0.0 /w3c-dash"]
    );
    Ok(())
}

/// A Caddy access-log line (2024-02-10 10:00:00 UTC plus `second`).
fn caddy(second: u32, uri: &str, duration_secs: f64) -> String {
    format!(
        "{{\"level\":\"info\",\"ts\":{}.25,\"msg\":\"handled request\",\"request\":{{\"client_ip\":\"1.2.3.4\",\
         \"method\":\"GET\",\"host\":\"example.com\",\"uri\":\"{uri}\",\"headers\":{{\"User-Agent\":[\"{UA}\"]}}}},\
         \"user_id\":\"\",\"duration\":{duration_secs},\"size\":10,\"status\":200,\"resp_headers\":{{}}}}\n",
        1_707_559_200 + second
    )
}

/// A Traefik access-log line (2024-02-10 10:00:00 UTC plus `second`).
fn traefik(second: u32, path: &str) -> String {
    format!(
        "{{\"ClientHost\":\"1.2.3.4\",\"ClientUsername\":\"-\",\"request_User-Agent\":\"{UA}\",\
         \"DownstreamContentSize\":15,\"DownstreamStatus\":\"200\",\"Duration\":2000000,\
         \"RequestHost\":\"example.com\",\"RequestMethod\":\"GET\",\"RequestPath\":\"{path}\",\
         \"level\":\"info\",\"msg\":\"\",\"time\":\"2024-02-10T10:00:{second:02}Z\"}}\n"
    )
}

#[test]
fn d4_caddy_and_traefik_classify_the_whole_uri() -> anyhow::Result<()> {
    let f = Fixture::new("d4")?;
    // import_logs.py never splits their URI at `?`: the extension is what
    // follows the last `.` of the whole URI.
    let uris = ["/a.css?v=1", "/doc.pdf?x=1", "/page?x=1.css", "/plain.css"];
    let caddy_log: String = (0..).zip(uris).map(|(i, u)| caddy(i, u, 0.002)).collect();
    let traefik_log: String = (10..).zip(uris).map(|(i, u)| traefik(i, u)).collect();
    let opts = ImportOptions {
        filters: tally_logimport::FilterOptions {
            // Seen whole too: the query stays.
            strip_query_string: true,
            ..tally_logimport::FilterOptions::default()
        },
        ..site1()
    };
    for (name, log) in [("caddy.log", caddy_log), ("traefik.log", traefik_log)] {
        let path = f.file(name, log.as_bytes())?;
        let c = f.import(&[path], &opts)?.files[0].counts;
        assert_eq!(
            (c.imported, c.downloads, c.ignored_static),
            (2, 0, 2),
            "{name}"
        );
    }
    let names: Vec<String> = actions(&f)?
        .into_iter()
        .map(|a| a.rsplit_once('|').map_or(a.clone(), |(t, _)| t.to_owned()))
        .collect();
    assert_eq!(
        names,
        [
            "1|example.com/a.css?v=1",
            "1|example.com/doc.pdf?x=1",
            "1|example.com/a.css?v=1",
            "1|example.com/doc.pdf?x=1",
        ]
    );
    Ok(())
}

#[test]
fn d7_d8_server_times_as_import_logs_sends_them() -> anyhow::Result<()> {
    let f = Fixture::new("d7")?;
    // D7: under a millisecond is `pf_srv=0`, a server time of 0.
    let log = caddy(0, "/fast", 0.0004) + &caddy(1, "/slow", 0.0123);
    let path = f.file("caddy.log", log.as_bytes())?;
    f.import(&[path], &site1())?;
    let w3c = "#Fields: date time c-ip cs-method cs-uri-stem sc-status time-taken cs(User-Agent)\n\
               2024-02-10 10:00:02 1.2.3.4 GET /w3c-fast 200 0.0004 Mozilla/5.0+(X11;+Linux+x86_64)\n";
    let path = f.file("subms.w3c.log", w3c.as_bytes())?;
    f.import(&[path], &site1())?;
    // D8: HAProxy's `Tt` and Gandi's `(2 s)` are no server time to
    // import_logs.py.
    let haproxy = "Feb 10 10:00:03 lb haproxy[6801]: 1.2.3.4:55008 [10/Feb/2024:10:00:03.584] ft bk/abc 0/0/0/72/72 200 7456 - - ---- 5/4/0/1/0 0/0 \"GET /haproxy HTTP/1.1\"\n";
    let path = f.file("haproxy.log", haproxy.as_bytes())?;
    f.import(
        &[path],
        &ImportOptions {
            format: Some(LogFormat::HaProxy),
            ..site1()
        },
    )?;
    let gandi = format!(
        "example.org 1.2.3.4 - - [10/Feb/2024:10:00:04 +0000] (2 s) \"GET /gandi HTTP/1.1\" 200 1 \"-\" \"{UA}\"\n"
    );
    let path = f.file("gandi.log", gandi.as_bytes())?;
    f.import(&[path], &site1())?;
    assert_eq!(
        actions(&f)?,
        [
            "1|example.com/fast|0",
            "1|example.com/slow|12",
            "1|example.org/w3c-fast|0",
            "1|example.org/haproxy|NULL",
            "1|example.org/gandi|NULL",
        ]
    );
    Ok(())
}

/// The events in time order: `category|action|name|url` (`NULL` for none).
fn events(f: &Fixture) -> anyhow::Result<Vec<String>> {
    texts(
        f,
        "SELECT CONCAT_WS('|', COALESCE(c.name, 'NULL'), COALESCE(e.name, 'NULL'), \
         COALESCE(n.name, 'NULL'), COALESCE(u.name, 'NULL')) AS s FROM log_link_visit_action a \
         LEFT JOIN log_action c ON c.idaction = a.idaction_event_category \
         LEFT JOIN log_action e ON e.idaction = a.idaction_event_action \
         LEFT JOIN log_action n ON n.idaction = a.idaction_name \
         LEFT JOIN log_action u ON u.idaction = a.idaction_url ORDER BY a.server_time, a.idlink_va",
    )
}

#[test]
fn d1_cloudfront_rtmp_lines_are_events() -> anyhow::Result<()> {
    let f = Fixture::new("d1")?;
    // Matomo's amazon_cloudfront_rtmp.log, in 2024 (fields apart by three
    // blanks, a zero-width space ending the stream's URI as there).
    let log = "#Version: 1.0\n\
        #Fields: date time x-edge-location c-ip x-event sc-bytes x-cf-status x-cf-client-id cs-uri-stem cs-uri-query c-referrer x-page-url c-user-agent x-sname x-sname-query x-file-ext x-sid\n\
        2024-02-10   10:00:00   SEA4   192.0.2.147   connect   2014   OK   bfd8a98bee0840d9b871b7f6ade9908f   rtmp://s5c39gqb8ow64r.cloudfront.net/cfx/st\u{200b}   key=value   http://player.example/player.swf   http://www.example.net/page?example=204   LNX%2010,0,32,18   -   -   -   -\n\
        2024-02-10   10:00:01   SEA4   192.0.2.147   play   3914   OK   bfd8a98bee0840d9b871b7f6ade9908f   rtmp://s5c39gqb8ow64r.cloudfront.net/cfx/st\u{200b}   key=value   http://player.example/player.swf   http://www.example.net/page?example=204   LNX%2010,0,32,18   myvideo   p=2&q=4   flv   1\n";
    let path = f.file("rtmp.log", log.as_bytes())?;
    let report = f.import(&[path], &site1())?;
    assert_eq!(report.files[0].format, "amazon_cloudfront");
    assert_eq!(report.files[0].counts.imported, 2);
    // No page view: events, on the site's address plus the stream's path.
    assert_eq!(
        texts(
            &f,
            "SELECT CAST(visit_total_actions AS CHAR) AS s FROM log_visit"
        )?,
        ["2"]
    );
    assert_eq!(
        f.count("SELECT COUNT(*) AS n FROM log_action WHERE type = 1 AND name LIKE '%rtmp%'")?,
        0
    );
    let url = "example.org/s5c39gqb8ow64r.cloudfront.net/cfx/st\u{200b}?key=value";
    assert_eq!(
        events(&f)?,
        [
            format!("cloudfront_rtmp|connect|NULL|{url}"),
            format!("cloudfront_rtmp|play|myvideo|{url}"),
        ]
    );
    Ok(())
}

#[test]
fn d2_log_format_regex_event_groups_are_events() -> anyhow::Result<()> {
    let f = Fixture::new("d2")?;
    let regex = tally_logimport::UserRegex::new(
        r"^(?P<ip>\S+) \[(?P<date>[^\]]+)\] (?P<path>\S+) (?P<status>\d+) (?P<event_category>\S*) (?P<event_action>\S*) (?P<event_name>\S+)$",
        Some("%d/%b/%Y:%H:%M:%S %z"),
    )?;
    let log = "1.2.3.4 [10/Feb/2024:10:00:00 +0000] /video 200 Media play intro\n\
               1.2.3.4 [10/Feb/2024:10:00:01 +0000] /video 200 Media pause -\n\
               1.2.3.4 [10/Feb/2024:10:00:02 +0000] /page 200  play intro\n";
    let path = f.file("events.log", log.as_bytes())?;
    let report = f.import(
        &[path],
        &ImportOptions {
            format: Some(LogFormat::Regex(regex)),
            ..site1()
        },
    )?;
    assert_eq!(report.files[0].counts.imported, 3);
    // Without a category the line is a page view, as in import_logs.py.
    let last = events(&f)?.pop().unwrap_or_default();
    assert!(last.starts_with("NULL|NULL|"), "{last}");
    assert_eq!(
        events(&f)?[..2],
        [
            "Media|play|intro|example.org/video",
            "Media|pause|NULL|example.org/video",
        ]
    );
    Ok(())
}

#[test]
fn d9_w3c_fields_read_only_in_their_flavour() -> anyhow::Result<()> {
    // Incapsula logs `cs(Referrer)`, which import_logs.py does not know
    // (it reads `cs(Referer)`): the visit is direct.
    let inc = "#Software: Incapsula LOGS API\n\
        #Fields: date time cs-vid c-ip cs(User-Agent) cs-uri cs(Referrer) cs-method cs-uri-query sc-status cs-bytes\n\
        \"2024-02-10\" \"10:00:00\" \"a1\" \"1.2.3.4\" \"Mozilla/5.0 (Windows NT 6.1)\" \"www.example.com/page.php\" \"https://www.google.com/search?q=x\" \"GET\" \"-\" \"200\" \"10117\"\n";
    let mut p = LineParser::new(&LogFormat::IncapsulaW3c, None)?;
    let lines: Vec<Parsed<'_>> = inc.lines().map(|l| p.parse(l.as_bytes())).collect();
    match &lines[2] {
        Parsed::Line(l) => {
            assert_eq!(l.referrer, None);
            assert_eq!(
                (l.path.as_ref(), l.host.as_deref()),
                ("/page.php", Some("www.example.com"))
            );
        }
        other => anyhow::bail!("incapsula line not parsed: {other:?}"),
    }
    // SHOUTcast's `c-status` and `x-duration`, CloudFront's `c-user-agent`
    // and `x-host-header`, Incapsula's `cs-uri`: not read in plain W3C.
    let mut p = LineParser::new(&LogFormat::W3cExtended, None)?;
    let _ = p.parse(b"#Fields: date time c-ip cs-uri-stem sc-status c-status x-duration c-user-agent x-host-header cs-uri");
    match p.parse(b"2024-02-10 10:00:00 1.2.3.4 /a 200 404 5 Agent h.example /b") {
        Parsed::Line(l) => assert_eq!(
            (
                l.status,
                l.duration_ms,
                l.user_agent,
                l.host,
                l.path.as_ref()
            ),
            (200, None, None, None, "/a")
        ),
        other => anyhow::bail!("w3c line not parsed: {other:?}"),
    }
    Ok(())
}

fn complete(host: &str, second: u32, path: &str) -> String {
    format!(
        "{host} 1.2.3.4 - - [10/Feb/2024:10:00:{second:02} +0000] \"GET {path} HTTP/1.1\" 200 1 \"-\" \"{UA}\"\n"
    )
}

#[test]
fn d10_hostname_globs_match_the_hit_host() -> anyhow::Result<()> {
    let f = Fixture::new("d10")?;
    let log = complete("WWW.EXAMPLE.COM.", 0, "/upper") + &complete("other.org", 1, "/other");
    let path = f.file("hosts.log", log.as_bytes())?;
    let filters = tally_logimport::FilterOptions {
        hostnames: vec!["*.example.com".into()],
        ..tally_logimport::FilterOptions::default()
    };
    let opts = ImportOptions {
        filters,
        dry_run: true,
        ..site1()
    };
    // The logged host lower-cased, without its trailing dot, matches.
    let c = f.import(std::slice::from_ref(&path), &opts)?.files[0].counts;
    assert_eq!((c.imported, c.ignored_excluded), (1, 1));
    // With --log-hostname that host is what the globs see, for every line.
    let with = |host: &str| -> anyhow::Result<(u64, u64)> {
        let c = f.import(
            std::slice::from_ref(&path),
            &ImportOptions {
                log_hostname: Some(host.into()),
                ..opts.clone()
            },
        )?;
        let c = c.files[0].counts;
        Ok((c.imported, c.ignored_excluded))
    };
    assert_eq!(with("foo")?, (0, 2));
    assert_eq!(with("shop.example.com")?, (2, 0));
    Ok(())
}

#[test]
fn d11_force_lowercase_path_before_the_filters() -> anyhow::Result<()> {
    let f = Fixture::new("d11")?;
    let log = complete("example.org", 0, "/Admin/X")
        + &complete("example.org", 1, "/ROBOTS.TXT")
        + &complete("example.org", 2, "/Page?Id=A");
    let path = f.file("lower.log", log.as_bytes())?;
    let filters = tally_logimport::FilterOptions {
        force_lowercase_path: true,
        exclude_paths: vec!["/admin/*".into()],
        ..tally_logimport::FilterOptions::default()
    };
    let opts = ImportOptions { filters, ..site1() };
    let c = f.import(&[path], &opts)?.files[0].counts;
    assert_eq!(
        (
            c.imported,
            c.ignored_excluded,
            c.ignored_static,
            c.downloads
        ),
        (1, 1, 1, 0)
    );
    // A query logged apart (W3C) keeps its case.
    let w3c = "#Fields: date time c-ip cs-method cs-uri-stem cs-uri-query sc-status cs(User-Agent)\n\
               2024-02-10 10:00:03 1.2.3.4 GET /Foo/Bar topCat1=divinity&submit=Search 200 Mozilla/5.0+(X11;+Linux+x86_64)\n";
    let path = f.file("lower.w3c.log", w3c.as_bytes())?;
    f.import(&[path], &opts)?;
    let urls: Vec<String> = actions(&f)?
        .into_iter()
        .map(|a| a.split('|').nth(1).unwrap_or_default().to_owned())
        .collect();
    assert_eq!(
        urls,
        [
            "example.org/page?id=a",
            "example.org/foo/bar?topCat1=divinity&submit=Search"
        ]
    );
    Ok(())
}

#[test]
fn d16_log_format_regex_matches_from_the_line_start() -> anyhow::Result<()> {
    // import_logs.py's test_custom_log_date_format_option regex.
    let regex = tally_logimport::UserRegex::new(
        r#"(?P<ip>\S+)\s+\S+\s+\S+\s+\[(?P<date>.*?)\]\s+"\S+\s+(?P<path>.*?)\s+\S+"\s+(?P<status>\S+)\s+(?P<length>\S+)"#,
        Some("%B - %d, %Y:%H:%M:%S"),
    )?;
    let mut p = LineParser::new(&LogFormat::Regex(regex), None)?;
    let line = r#"1.2.3.4 - - [February - 10, 2012:16:42:07] "GET / HTTP/1.0" 200 368"#;
    assert!(matches!(p.parse(line.as_bytes()), Parsed::Line(_)));
    let junk = format!("junk {line}");
    assert!(matches!(p.parse(junk.as_bytes()), Parsed::Invalid(_)));
    Ok(())
}

#[test]
fn d21_blank_and_header_lines_count_as_invalid() -> anyhow::Result<()> {
    let f = Fixture::new("d21")?;
    let w3c = "#Software: Microsoft Internet Information Services 7.5\n\
               #Version: 1.0\n\
               #Date: 2024-02-10 10:00:00\n\
               #Fields: date time c-ip cs-method cs-uri-stem sc-status cs(User-Agent)\n\
               2024-02-10 10:00:00 1.2.3.4 GET /a 200 Mozilla/5.0+(X11;+Linux+x86_64)\n\
               \n\
               #Fields: date time c-ip cs-method cs-uri-stem sc-status cs(User-Agent)\n\
               2024-02-10 10:00:01 1.2.3.4 GET /b 200 Mozilla/5.0+(X11;+Linux+x86_64)\n";
    let counts = |name: &str, format: Option<LogFormat>| -> anyhow::Result<(u64, u64, u64)> {
        let path = f.file(name, w3c.as_bytes())?;
        let opts = ImportOptions {
            format,
            dry_run: true,
            ..site1()
        };
        let r = f.import(&[path], &opts)?;
        let c = r.files[0].counts;
        anyhow::ensure!(r.files[0].errors.is_empty(), "{:?}", r.files[0].errors);
        Ok((c.lines_parsed, c.imported, c.ignored_invalid))
    };
    // Detected: every header and the blank line are read and invalid.
    assert_eq!(counts("detected.log", None)?, (8, 2, 6));
    // Given: import_logs.py reads the header up to the first #Fields:
    // apart, uncounted.
    assert_eq!(counts("given.log", Some(LogFormat::Iis))?, (4, 2, 2));
    Ok(())
}

/// test_main.py's add_multiple_spaces_to_file: every blank outside `"`
/// quotes doubled.
fn multiple_spaces(line: &str) -> String {
    line.split('"')
        .enumerate()
        .map(|(i, part)| {
            if i % 2 == 0 {
                part.replace(' ', "  ")
            } else {
                part.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join("\"")
}

#[test]
fn d15_multiple_blanks_inside_the_date_brackets() -> anyhow::Result<()> {
    let req = "[10/Feb/2012:16:42:07 -0500] \"GET / HTTP/1.0\" 301 368";
    let combined = format!("{req} \"-\" \"{UA}\"");
    let samples = [
        ("common", format!("1.2.3.4 - theuser {req}")),
        (
            "common_vhost",
            format!("www.example.com 1.2.3.4 - theuser {req}"),
        ),
        ("ncsa_extended", format!("1.2.3.4 - theuser {combined}")),
        (
            "common_complete",
            format!("www.example.com 1.2.3.4 - theuser {combined}"),
        ),
        ("icecast2", format!("1.2.3.4 - theuser {combined} 1807")),
    ];
    for (name, line) in samples {
        let spaced = multiple_spaces(&line);
        assert!(spaced.contains(":07  -0500]"), "{spaced}");
        let detected = tally_logimport::detect(&[spaced.as_bytes()]);
        assert_eq!(
            detected.as_ref().map(LogFormat::name),
            Some(name),
            "{spaced}"
        );
        let mut p = LineParser::new(&LogFormat::from_name(name)?, None)?;
        match p.parse(spaced.as_bytes()) {
            Parsed::Line(l) => assert_eq!(l.time.offset, Some(-5 * 3600), "{name}"),
            other => anyhow::bail!("{name}: {other:?}"),
        }
    }
    Ok(())
}

#[test]
fn d14_a_user_agent_ends_at_its_first_quote() -> anyhow::Result<()> {
    let ua = r#"Mozilla/5.0 \"quoted\" Googlebot/2.1"#;
    let line =
        format!("1.2.3.4 - - [10/Feb/2024:10:00:00 +0000] \"GET / HTTP/1.1\" 200 1 \"-\" \"{ua}\"");
    let mut p = LineParser::new(&LogFormat::Combined, None)?;
    let Parsed::Line(l) = p.parse(line.as_bytes()) else {
        anyhow::bail!("not parsed: {line}");
    };
    // Not the bot the whole user agent would be: import_logs.py tracks it.
    assert_eq!(l.user_agent.as_deref(), Some(r"Mozilla/5.0 \"));
    let c = tally_logimport::Classifier::new(tally_logimport::FilterOptions::default())?;
    assert!(c.classify(&l).is_ok());
    // icecast2 reads on to the quote before the session time.
    let ice = format!("{line} 1807");
    let mut p = LineParser::new(&LogFormat::Icecast2, None)?;
    let Parsed::Line(l) = p.parse(ice.as_bytes()) else {
        anyhow::bail!("not parsed: {ice}");
    };
    assert_eq!(l.user_agent.as_deref(), Some(ua));
    Ok(())
}

#[test]
fn d19_a_w3c_host_keeps_its_port_in_the_url() -> anyhow::Result<()> {
    let f = Fixture::new("d19")?;
    let w3c = "#Fields: date time c-ip cs-method cs-host cs-uri-stem sc-status cs(User-Agent)\n\
               2024-02-10 10:00:00 1.2.3.4 GET example.com:8080 /fast 200 Mozilla/5.0+(X11;+Linux+x86_64)\n";
    let path = f.file("port.w3c.log", w3c.as_bytes())?;
    assert_eq!(f.import(&[path], &site1())?.files[0].counts.imported, 1);
    assert_eq!(actions(&f)?, ["1|example.com:8080/fast|NULL"]);
    Ok(())
}

#[test]
fn d17_detection_reads_on_past_unreadable_first_lines() -> anyhow::Result<()> {
    let f = Fixture::new("d17")?;
    let mut log: String = (0..60).map(|i| format!("garbage line {i}\n")).collect();
    for i in 0..3 {
        log += &format!(
            "1.2.3.4 - - [10/Feb/2024:10:00:0{i} +0000] \"GET /p{i} HTTP/1.1\" 200 1 \"-\" \"{UA}\"\n"
        );
    }
    let path = f.file("late.log", log.as_bytes())?;
    let r = f.import(&[path], &site1())?;
    assert_eq!(r.files[0].format, "ncsa_extended");
    let c = r.files[0].counts;
    assert_eq!((c.imported, c.ignored_invalid), (3, 60));
    // A file of no known format at all still fails.
    let path = f.file("garbage.log", b"garbage\nmore garbage\n")?;
    assert!(matches!(
        tally_logimport::import_files(&f.db.pool()?, &[path], &site1(), &mut |_| {}),
        Err(tally_logimport::LogImportError::Detect { .. })
    ));
    Ok(())
}

#[test]
fn d20_http_method_as_import_logs_reads_it() -> anyhow::Result<()> {
    let method = |format: &LogFormat, log: &str| -> anyhow::Result<Option<String>> {
        let mut p = LineParser::new(format, None)?;
        let mut found = None;
        for line in log.lines() {
            if let Parsed::Line(l) = p.parse(line.as_bytes()) {
                found = Some(l.method.map(|m| m.into_owned()));
            }
        }
        found.ok_or_else(|| anyhow::anyhow!("no line parsed in {log}"))
    };
    // Incapsula: quotes and all (test_incapsulaw3c_parsing's `"GET"`).
    let inc = "#Fields: date time c-ip cs(User-Agent) cs-uri cs-method sc-status\n\
               \"2024-02-10\" \"10:00:00\" \"1.2.3.4\" \"Mozilla/5.0\" \"www.example.com/a\" \"GET\" \"200\"\n";
    assert_eq!(
        method(&LogFormat::IncapsulaW3c, inc)?.as_deref(),
        Some("\"GET\"")
    );
    // ELB/ALB and OVH: import_logs.py's regexes read no method.
    let elb = format!(
        "2024-02-10T10:00:00.945958Z my-lb 1.2.3.4:2817 10.0.0.1:80 0.000086 0.001048 0.001337 200 200 0 57 \"GET https://www.example.com:443/a HTTP/1.1\" \"{UA}\" DHE-RSA-AES128-SHA TLSv1.2\n"
    );
    assert_eq!(method(&LogFormat::Elb, &elb)?, None);
    let ovh = format!(
        "1.2.3.4 www.example.com - [10/Feb/2024:10:00:00 +0000] \"GET / HTTP/1.1\" 200 1 \"-\" \"{UA}\"\n"
    );
    assert_eq!(method(&LogFormat::Ovh, &ovh)?, None);
    // Combined keeps it.
    let clf = ovh.replacen(" www.example.com -", " - -", 1);
    assert_eq!(method(&LogFormat::Combined, &clf)?.as_deref(), Some("GET"));
    Ok(())
}

#[test]
fn d12_date_groups_as_custom_variables() -> anyhow::Result<()> {
    let groups = |format: &LogFormat, log: &str| -> anyhow::Result<Vec<Option<String>>> {
        let opts = tally_logimport::ParseOptions {
            groups: vec!["date".into(), "timezone".into(), "time".into()],
            ..tally_logimport::ParseOptions::default()
        };
        let mut p = LineParser::with_options(format, &opts)?;
        let mut found = None;
        for line in log.lines() {
            if let Parsed::Line(l) = p.parse(line.as_bytes()) {
                found = Some(
                    l.groups
                        .into_iter()
                        .map(|g| g.map(|v| v.into_owned()))
                        .collect(),
                );
            }
        }
        found.ok_or_else(|| anyhow::anyhow!("no line parsed in {log}"))
    };
    // test_regex_group_to_custom_var_options: ['The Date', '2012-04-01 00:00:13'].
    let iis = "#Software: Microsoft Internet Information Services 7.5\n\
               #Fields: date time c-ip cs-method cs-uri-stem sc-status time-taken\n\
               2012-04-01 00:00:13 1.2.3.4 GET /foo 200 1687\n";
    assert_eq!(
        groups(&LogFormat::Iis, iis)?,
        [Some("2012-04-01 00:00:13".to_owned()), None, None]
    );
    let clf = "1.2.3.4 - - [10/Feb/2012:16:42:07 -0500] \"GET / HTTP/1.1\" 200 1\n";
    assert_eq!(
        groups(&LogFormat::Common, clf)?,
        [
            Some("10/Feb/2012:16:42:07".to_owned()),
            Some("-0500".to_owned()),
            None
        ]
    );
    Ok(())
}

#[test]
fn d13_lines_import_logs_refuses() -> anyhow::Result<()> {
    // Whether each line that is no `#` header is invalid.
    let invalid = |format: &LogFormat, lines: &[&str]| -> anyhow::Result<Vec<bool>> {
        let mut p = LineParser::new(format, None)?;
        let mut out = Vec::new();
        for l in lines {
            let parsed = p.parse(l.as_bytes());
            if !l.starts_with('#') {
                out.push(matches!(parsed, Parsed::Invalid(_)));
            }
        }
        Ok(out)
    };
    let clf = [
        "1.2.3.4 - - [10/Feb/2012:16:42:07 -0500] \"GET /one HTTP/1.1\" 200 1",
        // No protocol.
        "1.2.3.4 - - [10/Feb/2012:16:42:07 -0500] \"GET /two\" 200 1",
        // No offset.
        "1.2.3.4 - - [10/Feb/2012:16:42:07] \"GET /notz HTTP/1.1\" 200 1",
    ];
    assert_eq!(invalid(&LogFormat::Common, &clf)?, [false, true, true]);
    let w3c = [
        "#Fields: date time c-ip cs-uri-stem sc-status",
        "2012-02-10 16:42:07 1.2.3.4 /a 200",
        // A stem is a path.
        "2012-02-10 16:42:07 1.2.3.4 rtmp://x/y 200",
        "2012-02-10 16:42:07 1.2.3.4 - 200",
    ];
    assert_eq!(invalid(&LogFormat::W3cExtended, &w3c)?, [false, true, true]);
    Ok(())
}
