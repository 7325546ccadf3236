//! Durability: a request answered with success is on disk, even when the
//! tracker process is killed with SIGKILL in the middle of a load.

use std::collections::HashSet;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use diesel::prelude::*;
use tally_db::test_support::TestDb;

fn free_port() -> std::io::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// One GET; `Some(status)` when an answer arrived.
fn get(port: u16, query: &str) -> Option<u16> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
    write!(
        s,
        "GET /matomo.php?{query} HTTP/1.1\r\nHost: t\r\nUser-Agent: crash-test-browser/1.0\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut buf = Vec::new();
    s.read_to_end(&mut buf).ok()?;
    let head = String::from_utf8_lossy(&buf);
    head.split_whitespace().nth(1)?.parse().ok()
}

#[test]
fn answered_requests_survive_sigkill() -> anyhow::Result<()> {
    let db = TestDb::new()?;
    diesel::sql_query(
        "INSERT INTO site (idsite, name, main_url, ts_created, sitesearch_keyword_parameters, \
         sitesearch_category_parameters, timezone, currency, excluded_ips, excluded_parameters, \
         excluded_user_agents, excluded_referrers, `group`, `type`) VALUES \
         (1, 'Crash', 'https://crash.example', NOW(), '', '', 'UTC', 'EUR', '', '', '', '', '', 'website')",
    )
    .execute(&mut db.conn()?)?;
    let port = free_port()?;
    let mut child = Command::new(env!("CARGO_BIN_EXE_tally-tracker"))
        .arg("serve")
        // No tally.toml in the test directory: defaults plus these overrides.
        .current_dir(std::env::temp_dir())
        .env("TALLY_DATABASE_URL", db.url())
        .env("TALLY_TRACKER_LISTEN", format!("127.0.0.1:{port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()?;
    let started = Instant::now();
    while get(port, "").is_none() {
        anyhow::ensure!(
            started.elapsed() < Duration::from_secs(30),
            "tracker did not start"
        );
        std::thread::sleep(Duration::from_millis(50));
    }

    let answered = Arc::new(Mutex::new(Vec::<u32>::new()));
    let stop = Arc::new(AtomicBool::new(false));
    let mut workers = Vec::new();
    for w in 0..8u32 {
        let answered = answered.clone();
        let stop = stop.clone();
        workers.push(std::thread::spawn(move || {
            let mut i = 0u32;
            while !stop.load(Ordering::Relaxed) {
                let n = w * 1_000_000 + i;
                i += 1;
                let q = format!(
                    "idsite=1&rec=1&_id={:016x}&url=https%3A%2F%2Fcrash.example%2Fp{n}",
                    u64::from(n) % 500 + 1
                );
                if get(port, &q) == Some(200)
                    && let Ok(mut a) = answered.lock()
                {
                    a.push(n);
                }
            }
        }));
    }
    // Let the load build up, then kill without warning.
    std::thread::sleep(Duration::from_millis(1500));
    child.kill()?; // SIGKILL on Unix
    child.wait()?;
    stop.store(true, Ordering::Relaxed);
    for w in workers {
        let _ = w.join();
    }
    let answered = answered
        .lock()
        .map_err(|_| anyhow::anyhow!("poisoned"))?
        .clone();
    assert!(
        answered.len() > 100,
        "the load was too light to mean anything: {}",
        answered.len()
    );

    #[derive(QueryableByName)]
    struct N {
        #[diesel(sql_type = diesel::sql_types::Text)]
        name: String,
    }
    let stored: HashSet<String> = diesel::sql_query(
        "SELECT a.name FROM log_link_visit_action l JOIN log_action a ON a.idaction = l.idaction_url",
    )
    .load::<N>(&mut db.conn()?)?
    .into_iter()
    .map(|r| r.name)
    .collect();
    let lost: Vec<&u32> = answered
        .iter()
        .filter(|n| !stored.contains(&format!("crash.example/p{n}")))
        .collect();
    assert!(
        lost.is_empty(),
        "{} answered requests were lost, e.g. {:?}",
        lost.len(),
        &lost[..lost.len().min(5)]
    );
    Ok(())
}
