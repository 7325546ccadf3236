//! `tally-admin serve` (API and tracker on one port) as a Matomo client
//! uses it: a goal added through the Reporting API applies to the very next
//! tracking request, as Matomo's tracker cache is cleared when goals change.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use diesel::prelude::*;
use tally_db::test_support::TestDb;

mod support;
use support::{admin, shop_with_writer};

/// The server process, killed when the test ends however it ends.
struct Served(Child);

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A GET over plain HTTP/1.1: (status, body).
fn get(addr: SocketAddr, target: &str) -> anyhow::Result<(u16, String)> {
    let mut stream = TcpStream::connect(addr)?;
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    write!(
        stream,
        "GET {target} HTTP/1.1\r\nHost: tally\r\nUser-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0\r\nConnection: close\r\n\r\n"
    )?;
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer)?;
    let answer = String::from_utf8_lossy(&answer).into_owned();
    let status = answer
        .split_whitespace()
        .nth(1)
        .ok_or_else(|| anyhow::anyhow!("no status line in {answer:?}"))?
        .parse()?;
    let body = answer
        .split_once("\r\n\r\n")
        .map_or(String::new(), |(_, b)| b.to_owned());
    Ok((status, body))
}

#[test]
fn a_goal_added_through_the_api_converts_the_next_hit() -> anyhow::Result<()> {
    let db = TestDb::new()?;
    let token = shop_with_writer(&db)?;

    let addr = TcpListener::bind("127.0.0.1:0")?.local_addr()?;
    let _served = Served(
        admin(&db)
            .args(["serve", "--listen", &addr.to_string()])
            // Only the API's notification can make the tracker see the goal
            // before an hour has passed.
            .env("TALLY_TRACKER_SETTINGS_CHECK_MS", "3600000")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()?,
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    while TcpStream::connect(addr).is_err() {
        anyhow::ensure!(
            Instant::now() < deadline,
            "tally-admin serve did not listen on {addr}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }

    let hit = |visitor: &str| {
        format!(
            "/matomo.php?idsite=1&rec=1&send_image=0&_id={visitor}&url=https%3A%2F%2Fshop.example%2Fjoined"
        )
    };
    assert_eq!(get(addr, &hit("1111111111111111"))?.0, 204);
    let (status, body) = get(
        addr,
        &format!(
            "/index.php?module=API&method=Goals.addGoal&idSite=1&name=Joined&matchAttribute=url\
             &pattern=joined&patternType=contains&format=json&token_auth={token}"
        ),
    )?;
    assert_eq!((status, body.trim()), (200, "{\"value\":1}"));
    assert_eq!(get(addr, &hit("2222222222222222"))?.0, 204);

    let mut conn = db.conn()?;
    let conversions: Vec<(u32, i32)> = diesel::sql_query(
        "SELECT v.idvisit, c.idgoal FROM log_conversion c JOIN log_visit v USING (idvisit) \
         WHERE HEX(v.idvisitor) = '2222222222222222'",
    )
    .load::<Conversion>(&mut conn)?
    .into_iter()
    .map(|c| (c.idvisit, c.idgoal))
    .collect();
    assert_eq!(conversions.len(), 1, "{conversions:?}");
    assert_eq!(conversions[0].1, 1);
    let before: i64 = diesel::sql_query("SELECT COUNT(*) AS n FROM log_conversion")
        .get_result::<Count>(&mut conn)?
        .n;
    assert_eq!(
        before, 1,
        "the hit before the goal existed converts nothing"
    );
    Ok(())
}

#[derive(QueryableByName)]
struct Conversion {
    #[diesel(sql_type = diesel::sql_types::Unsigned<diesel::sql_types::Integer>)]
    idvisit: u32,
    #[diesel(sql_type = diesel::sql_types::Integer)]
    idgoal: i32,
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    n: i64,
}
