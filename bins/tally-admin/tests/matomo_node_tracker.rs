//! Matomo's Node.js SDK (`matomo-tracker` on npm,
//! matomo-org/matomo-nodejs-tracker) pointed at `tally-admin serve`
//! unchanged: a page view by `track` (a GET) and a page view plus an event
//! by `trackBulk` (a JSON POST), and the script exits by itself.
//!
//! The exit is the point of the second half: `track` never reads its
//! response, and Node 20 keeps connections alive, so the process lives until
//! the server closes the idle connection (`keep_alive_timeout_secs`), as
//! Apache does after its `KeepAliveTimeout`.
//!
//! Opt-in: the SDK is Matomo's, not ours, so it is not in this repository.
//! `npm install matomo-tracker` somewhere, then run with
//! `MATOMO_NODE_TRACKER=<that>/node_modules/matomo-tracker cargo nextest run
//! -p tally-admin --run-ignored all -E 'binary(matomo_node_tracker)'`.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use diesel::prelude::*;
use tally_db::test_support::TestDb;

mod support;
use support::{serve, shop};

/// Our script for the SDK: prints the bulk answer. The tracker URL comes in
/// the environment, as the SDK's path does.
const SCRIPT: &str = r#"
const MatomoTracker = require(process.env.MATOMO_NODE_TRACKER);
const tracker = new MatomoTracker(1, process.env.TALLY_TRACKER_URL);
tracker.on('error', (e) => { console.log('error ' + e); process.exitCode = 1; });
tracker.track({
  url: 'https://shop.example/boots',
  action_name: 'Boots',
  _id: '1111111111111111',
  ua: 'Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0',
});
tracker.trackBulk([
  { url: 'https://shop.example/', action_name: 'Home', _id: '2222222222222222' },
  { url: 'https://shop.example/', _id: '2222222222222222',
    e_c: 'Video', e_a: 'Play', e_n: 'Intro', e_v: 3 },
], (answer) => console.log(answer));
"#;

#[derive(QueryableByName, Debug, PartialEq)]
struct ActionRow {
    #[diesel(sql_type = diesel::sql_types::Text)]
    idvisitor: String,
    #[diesel(sql_type = diesel::sql_types::Integer)]
    kind: i32,
    #[diesel(sql_type = diesel::sql_types::Text)]
    name: String,
}

#[test]
#[ignore = "needs Matomo's Node.js SDK (MATOMO_NODE_TRACKER) and node"]
fn matomos_node_sdk_tracks_and_exits() -> anyhow::Result<()> {
    let sdk = std::env::var("MATOMO_NODE_TRACKER").map_err(|_| {
        anyhow::anyhow!("set MATOMO_NODE_TRACKER to the matomo-tracker package directory")
    })?;
    let db = TestDb::new()?;
    shop(&db)?;
    let (_served, addr) = serve(&db, &[])?;
    let script = std::env::temp_dir().join(format!("tally-node-sdk-{}.js", std::process::id()));
    std::fs::write(&script, SCRIPT)?;
    let mut node = Command::new("node")
        .arg(&script)
        .env("MATOMO_NODE_TRACKER", &sdk)
        .env("TALLY_TRACKER_URL", format!("http://{addr}/matomo.php"))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    // Well beyond the 5 s idle timeout; a server that keeps idle
    // connections open forever fails here.
    let deadline = Instant::now() + Duration::from_secs(60);
    while node.try_wait()?.is_none() {
        if Instant::now() > deadline {
            node.kill()?;
            let _ = std::fs::remove_file(&script);
            anyhow::bail!("node did not exit: the server kept its idle connection open");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let _ = std::fs::remove_file(&script);
    let output = node.wait_with_output()?;
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    anyhow::ensure!(
        output.status.success(),
        "node: {stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(
        stdout.trim_end(),
        r#"{"status":"success","tracked":2,"invalid":0}"#,
        "the bulk answer without a token: no invalid_indices"
    );

    let rows: Vec<ActionRow> = diesel::sql_query(
        "SELECT HEX(l.idvisitor) AS idvisitor, a.type AS kind, a.name \
         FROM log_link_visit_action l \
         JOIN log_action a ON a.idaction = COALESCE(l.idaction_event_action, l.idaction_name) \
         ORDER BY l.idvisitor, l.idlink_va",
    )
    .load(&mut db.conn()?)?;
    let seen: Vec<_> = rows
        .iter()
        .map(|r| (r.idvisitor.as_str(), r.kind, r.name.as_str()))
        .collect();
    assert_eq!(
        seen,
        [
            // `track`: a page view with its title (type 4: a page title).
            ("1111111111111111", 4, "Boots"),
            // `trackBulk`: the page view, then the event's action (type 11).
            ("2222222222222222", 4, "Home"),
            ("2222222222222222", 11, "Play"),
        ]
    );
    let browsers: Vec<(String, Option<String>)> = diesel::sql_query(
        "SELECT HEX(idvisitor) AS idvisitor, config_browser_name AS browser \
         FROM log_visit ORDER BY idvisitor",
    )
    .load::<VisitRow>(&mut db.conn()?)?
    .into_iter()
    .map(|v| (v.idvisitor, v.browser))
    .collect();
    assert_eq!(
        browsers,
        [
            // `ua` read as the browser; the bulk sent none (Node sends no
            // User-Agent header by default): unknown.
            ("1111111111111111".to_owned(), Some("FF".to_owned())),
            ("2222222222222222".to_owned(), Some("UNK".to_owned())),
        ]
    );
    Ok(())
}

#[derive(QueryableByName)]
struct VisitRow {
    #[diesel(sql_type = diesel::sql_types::Text)]
    idvisitor: String,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
    browser: Option<String>,
}
