//! Regressions of the `import_logs.py` parity audit (its discrepancy
//! numbers, D1...): each line tracked, or not, and stored as Matomo's
//! importer and tracker would; rows checked in the database.

use diesel::prelude::*;
use diesel::sql_types::{Nullable, Text};
use tally_logimport::{ImportOptions, LogFormat};

use crate::import::{Fixture, UA, site1};

/// One text column of a query, in its order (`NULL` as `NULL`).
fn texts(f: &Fixture, sql: &str) -> anyhow::Result<Vec<String>> {
    #[derive(QueryableByName)]
    struct S {
        #[diesel(sql_type = Nullable<Text>)]
        s: Option<String>,
    }
    let rows: Vec<S> = diesel::sql_query(sql).load(&mut f.db.conn()?)?;
    Ok(rows
        .into_iter()
        .map(|r| r.s.unwrap_or_else(|| "NULL".to_owned()))
        .collect())
}

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
