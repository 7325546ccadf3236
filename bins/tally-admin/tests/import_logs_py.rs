//! Matomo's own log importer, `import_logs.py`, pointed at `tally-admin
//! serve` unchanged: it logs in with a login and password (an anonymous
//! `UsersManager.createAppSpecificTokenAuth`), resolves sites through
//! `SitesManager.getAllSites` when replaying tracking requests, and sends
//! bulk requests with `cip`/`cdt` and the super user's token.
//!
//! Opt-in: the script is Matomo's (matomo-org/matomo-log-analytics), not
//! ours, so it is not in this repository. Run with
//! `IMPORT_LOGS_PY=<path to import_logs.py> cargo nextest run -p tally-admin
//! --run-ignored all -E 'binary(import_logs_py)'` (needs `python3`).

use std::path::Path;
use std::process::Command;

use diesel::prelude::*;
use tally_db::test_support::TestDb;

mod support;
use support::{serve, shop, superuser};

const PASSWORD: &str = "correct-horse";
const FIREFOX: &str = "Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0";

/// Runs the importer with `args` and the log at `log`; it must succeed.
fn import_logs(script: &str, url: &str, args: &[&str], log: &Path) -> anyhow::Result<String> {
    let output = Command::new("python3")
        .arg(script)
        .args(["--url", url, "--login", "root", "--password", PASSWORD])
        .args(["--recorders", "1"])
        .args(args)
        .arg(log)
        .output()?;
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    anyhow::ensure!(
        output.status.success(),
        "import_logs.py {args:?}: {stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    Ok(stdout)
}

#[test]
#[ignore = "needs Matomo's import_logs.py: set IMPORT_LOGS_PY"]
fn matomos_import_logs_py_imports_and_replays_through_the_api() -> anyhow::Result<()> {
    let script = std::env::var("IMPORT_LOGS_PY")
        .map_err(|_| anyhow::anyhow!("set IMPORT_LOGS_PY to Matomo's import_logs.py"))?;
    let db = TestDb::new()?;
    shop(&db)?;
    superuser(&db, PASSWORD)?;
    let (_served, addr) = serve(&db, &[])?;
    let url = format!("http://{addr}");
    let dir = std::env::temp_dir().join(format!("tally-import-logs-py-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;

    // A search-engine visit, and a line whose IP inet_pton refuses (the
    // importer sends it as `cip` as it is).
    let access = dir.join("access.log");
    std::fs::write(
        &access,
        format!(
            "198.51.100.7 - - [10/Feb/2024:16:42:07 +0000] \"GET /pricing HTTP/1.1\" 200 5120 \
             \"https://www.google.com/search?q=tally+pricing\" \"{FIREFOX}\"\n\
             79.125.00.21 - - [10/Feb/2024:16:43:07 +0000] \"GET /about HTTP/1.1\" 200 2048 \
             \"-\" \"{FIREFOX}\"\n"
        ),
    )?;
    let out = import_logs(&script, &url, &["--idsite", "1"], &access)?;
    assert!(out.contains("2 requests imported successfully"), "{out}");

    // A JavaScript tracker's request as the web server logged it, replayed
    // with its own parameters into the site it names.
    let replay = dir.join("replay.log");
    std::fs::write(
        &replay,
        format!(
            "203.0.113.9 - - [10/Feb/2024:17:00:00 +0000] \"GET /matomo.php?idsite=1&rec=1\
             &action_name=Replayed&url=https%3A%2F%2Fshop.example%2Freplayed\
             &_id=abcdefabcdefabcd&res=1280x800 HTTP/1.1\" 200 43 \
             \"https://shop.example/replayed\" \"{FIREFOX}\"\n"
        ),
    )?;
    let out = import_logs(&script, &url, &["--replay-tracking"], &replay)?;
    assert!(out.contains("1 requests imported successfully"), "{out}");
    assert!(
        out.contains("0 requests did not match any known site"),
        "{out}"
    );

    let mut conn = db.conn()?;
    let visits: Vec<Visit> = diesel::sql_query(
        "SELECT HEX(location_ip) AS ip, referer_type, referer_name, referer_keyword, \
         config_resolution, a.name AS entry_name \
         FROM log_visit v LEFT JOIN log_action a ON a.idaction = v.visit_entry_idaction_name \
         WHERE idsite = 1 ORDER BY visit_first_action_time",
    )
    .load(&mut conn)?;
    let seen: Vec<_> = visits
        .iter()
        .map(|v| {
            (
                v.ip.as_str(),
                v.referer_type,
                v.referer_name.as_deref(),
                v.referer_keyword.as_deref(),
                v.config_resolution.as_deref(),
                v.entry_name.as_deref(),
            )
        })
        .collect();
    assert_eq!(
        seen,
        [
            (
                "C6330000",
                Some(2),
                Some("Google"),
                Some("tally pricing"),
                Some("unknown"),
                None
            ),
            ("00000000", Some(1), None, None, Some("unknown"), None),
            (
                "CB000000",
                Some(1),
                None,
                None,
                Some("1280x800"),
                Some("Replayed")
            ),
        ]
    );
    std::fs::remove_dir_all(&dir)?;
    Ok(())
}

#[derive(QueryableByName)]
struct Visit {
    #[diesel(sql_type = diesel::sql_types::Text)]
    ip: String,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Unsigned<diesel::sql_types::TinyInt>>)]
    referer_type: Option<u8>,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
    referer_name: Option<String>,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
    referer_keyword: Option<String>,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
    config_resolution: Option<String>,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
    entry_name: Option<String>,
}
