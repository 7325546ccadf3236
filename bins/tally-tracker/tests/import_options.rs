//! `tally-tracker import` options added for `import_logs.py` parity: usage
//! errors named after their option, and one import wiring several of them
//! through to the database.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use diesel::prelude::*;
use tally_db::test_support::TestDb;

const UA: &str = "Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0";

/// A scratch directory removed on drop.
struct Dir(PathBuf);

impl Dir {
    fn new(name: &str) -> anyhow::Result<Self> {
        let p = std::env::temp_dir().join(format!(
            "tally-import-options-{name}-{}",
            std::process::id()
        ));
        std::fs::create_dir_all(&p)?;
        Ok(Self(p))
    }

    fn file(&self, name: &str, content: &str) -> anyhow::Result<PathBuf> {
        let p = self.0.join(name);
        std::fs::write(&p, content)?;
        Ok(p)
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Runs `tally-tracker import ARGS` (with `db`'s URL when given).
fn import(db: Option<&TestDb>, args: &[&str], cwd: &Path) -> anyhow::Result<Output> {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_tally-tracker"));
    cmd.arg("import").args(args).current_dir(cwd);
    if let Some(db) = db {
        cmd.env("TALLY_DATABASE_URL", db.url());
    }
    Ok(cmd.output()?)
}

/// A usage error: failed, nothing imported, and stderr names the option
/// and says what was expected.
fn assert_usage_error(out: &Output, needles: &[&str]) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "succeeded: {stderr}");
    for n in needles {
        assert!(stderr.contains(n), "`{n}` not in: {stderr}");
    }
}

#[test]
fn malformed_exclude_older_than_is_a_usage_error() -> anyhow::Result<()> {
    let dir = Dir::new("baddate")?;
    let log = dir.file("a.log", "")?;
    let log = log.to_string_lossy();
    for bad in [
        "2024-02-10",
        "2024-02-10 10:00:00",
        "2024-13-01 10:00:00 +0000",
    ] {
        let out = import(
            None,
            &["--idsite", "1", "--exclude-older-than", bad, &log],
            &dir.0,
        )?;
        assert_usage_error(&out, &["--exclude-older-than", "YYYY-MM-DD hh:mm:ss +hhmm"]);
    }
    let out = import(
        None,
        &["--idsite", "1", "--exclude-newer-than", "tomorrow", &log],
        &dir.0,
    )?;
    assert_usage_error(&out, &["--exclude-newer-than"]);
    Ok(())
}

#[test]
fn w3c_map_field_without_equals_is_a_usage_error() -> anyhow::Result<()> {
    let dir = Dir::new("badmap")?;
    let log = dir.file("a.log", "")?;
    let log = log.to_string_lossy();
    let out = import(None, &["--w3c-map-field", "my-date", &log], &dir.0)?;
    assert_usage_error(&out, &["--w3c-map-field", "CUSTOM=KNOWN", "my-date"]);
    // A known field name is required on the right.
    let out = import(None, &["--w3c-map-field", "my-date=datum", &log], &dir.0)?;
    assert_usage_error(&out, &["--w3c-map-field", "datum", "cs-uri-stem"]);
    Ok(())
}

#[test]
fn other_bad_values_are_usage_errors() -> anyhow::Result<()> {
    let dir = Dir::new("badother")?;
    let log = dir.file("a.log", "")?;
    let log = log.to_string_lossy();
    let missing = dir.0.join("no-such-globs.txt");
    let missing = missing.to_string_lossy();
    let cases: [(&[&str], &[&str]); 5] = [
        (
            &["--exclude-path-from", &missing],
            &["--exclude-path-from", "no-such-globs.txt"],
        ),
        (
            &["--include-path-from", &missing],
            &["--include-path-from", "no-such-globs.txt"],
        ),
        (
            &["--w3c-field-regex", "x-win32=\\d+"],
            &["--w3c-field-regex", "named group"],
        ),
        (
            &["--ignore-groups", "userid,date"],
            &["--ignore-groups", "date"],
        ),
        (&["--encoding", "klingon"], &["--encoding", "klingon"]),
    ];
    for (args, needles) in cases {
        let mut all = args.to_vec();
        all.push(&log);
        let out = import(None, &all, &dir.0)?;
        assert_usage_error(&out, needles);
    }
    Ok(())
}

#[test]
fn options_reach_the_import() -> anyhow::Result<()> {
    let db = TestDb::new()?;
    diesel::sql_query(
        "INSERT INTO site (idsite, name, main_url, ts_created, sitesearch_keyword_parameters, \
         sitesearch_category_parameters, timezone, currency, excluded_ips, excluded_parameters, \
         excluded_user_agents, excluded_referrers, `group`, `type`) VALUES \
         (1, 'Options', 'https://options.example', '2020-01-01', '', '', 'UTC', 'EUR', '', '', '', '', '', 'website')",
    )
    .execute(&mut db.conn()?)?;
    let dir = Dir::new("e2e")?;
    let line = |time: &str, path: &str| {
        format!("1.2.3.4 - - [{time} +0000] \"GET {path} HTTP/1.1\" 200 1 \"-\" \"{UA}\"\n")
    };
    let mut log = String::new();
    log += &line("10/Feb/2024:09:00:00", "/skipped-by-skip");
    log += &line("10/Feb/2024:09:00:00", "/too-old");
    log += &line("10/Feb/2024:11:00:00", "/admin/x");
    log += &line("10/Feb/2024:11:00:00", "/kept");
    let log = dir.file("access.log", &log)?;
    let globs = dir.file("exclude.txt", "\n/admin/*\n")?;
    let out = import(
        Some(&db),
        &[
            "--idsite",
            "1",
            "--skip",
            "1",
            "--exclude-path-from",
            &globs.to_string_lossy(),
            // A negative value given as its own argument.
            "--add-to-date",
            "-3600",
            "--exclude-older-than",
            "2024-02-10 09:00:00 +0000",
            &log.to_string_lossy(),
        ],
        &dir.0,
    )?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Line 1 skipped; /too-old is 08:00 after the shift; /admin/x excluded.
    assert!(
        stdout.contains("3 lines parsed, 1 imported") && stdout.contains("2 excluded"),
        "{stdout}"
    );
    #[derive(QueryableByName)]
    struct T {
        #[diesel(sql_type = diesel::sql_types::Text)]
        t: String,
    }
    let rows: Vec<T> = diesel::sql_query(
        "SELECT CONCAT(CAST(a.server_time AS CHAR), ' ', u.name) AS t FROM log_link_visit_action a \
         JOIN log_action u ON u.idaction = a.idaction_url",
    )
    .load(&mut db.conn()?)?;
    let rows: Vec<String> = rows.into_iter().map(|r| r.t).collect();
    assert_eq!(rows.len(), 1);
    assert!(
        rows[0].starts_with("2024-02-10 10:00:00 ") && rows[0].ends_with("/kept"),
        "{rows:?}"
    );
    Ok(())
}

#[test]
fn bad_host_tracker_file_and_suffix_values_are_usage_errors() -> anyhow::Result<()> {
    let dir = Dir::new("badhost")?;
    let log = dir.file("a.log", "")?;
    let log = log.to_string_lossy();
    let cases: [(&[&str], &[&str]); 7] = [
        (
            &["--include-host", "example.org:8080"],
            &["--include-host", "without a port"],
        ),
        (
            &["--exclude-host", "https://example.org/"],
            &["--exclude-host", "not a URL"],
        ),
        (
            &["--replay-tracking-expected-tracker-file", "tracker.php"],
            &[
                "--replay-tracking-expected-tracker-file",
                "--replay-tracking",
            ],
        ),
        (
            &[
                "--replay-tracking",
                "--replay-tracking-expected-tracker-file",
                "t.php?x=1",
            ],
            &["--replay-tracking-expected-tracker-file", "matomo.php"],
        ),
        (
            &["--request-suffix", "idsite=2"],
            &["--request-suffix", "idsite"],
        ),
        (
            &["--request-suffix", "=1"],
            &["--request-suffix", "NAME=VALUE"],
        ),
        (
            &["--track-http-method=maybe"],
            &["--track-http-method", "maybe"],
        ),
    ];
    for (args, needles) in cases {
        let mut all = args.to_vec();
        all.push(&log);
        let out = import(None, &all, &dir.0)?;
        assert_usage_error(&out, needles);
    }
    Ok(())
}

#[test]
fn host_method_and_suffix_options_reach_the_import() -> anyhow::Result<()> {
    let db = TestDb::new()?;
    diesel::sql_query(
        "INSERT INTO site (idsite, name, main_url, ts_created, sitesearch_keyword_parameters, \
         sitesearch_category_parameters, timezone, currency, excluded_ips, excluded_parameters, \
         excluded_user_agents, excluded_referrers, `group`, `type`) VALUES \
         (1, 'Hosts', 'https://hosts.example', '2020-01-01', '', '', 'UTC', 'EUR', '', '', '', '', '', 'website')",
    )
    .execute(&mut db.conn()?)?;
    let dir = Dir::new("e2e-hosts")?;
    let line = |host: &str, method: &str, path: &str| {
        format!(
            "{host} 1.2.3.4 - - [10/Feb/2024:10:00:00 +0000] \"{method} {path} HTTP/1.1\" 200 1 \"-\" \"{UA}\"\n"
        )
    };
    let mut log = String::new();
    log += &line("hosts.example", "POST", "/kept");
    log += &line("admin.hosts.example", "GET", "/excluded");
    log += &line("other.example", "GET", "/not-included");
    let log = dir.file("vhost.log", &log)?;
    let out = import(
        Some(&db),
        &[
            "--idsite",
            "1",
            "--include-host",
            "HOSTS.example",
            "--include-host",
            "admin.hosts.example",
            "--exclude-host",
            "admin.hosts.example",
            // As written for import_logs.py, which wants a value.
            "--track-http-method=1",
            "--request-suffix",
            "&lang=pt-br",
            &log.to_string_lossy(),
        ],
        &dir.0,
    )?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("3 lines parsed, 1 imported") && stdout.contains("2 excluded"),
        "{stdout}"
    );
    #[derive(QueryableByName)]
    struct T {
        #[diesel(sql_type = diesel::sql_types::Text)]
        t: String,
    }
    let rows: Vec<T> = diesel::sql_query(
        "SELECT CONCAT_WS('|', a.custom_var_k1, a.custom_var_v1, a.custom_var_k2, \
         a.custom_var_v2, v.location_browser_lang) AS t FROM log_link_visit_action a \
         JOIN log_visit v ON v.idvisit = a.idvisit",
    )
    .load(&mut db.conn()?)?;
    let rows: Vec<String> = rows.into_iter().map(|r| r.t).collect();
    assert_eq!(rows, ["HTTP-method|POST|HTTP-code|200|pt-br"]);
    Ok(())
}
