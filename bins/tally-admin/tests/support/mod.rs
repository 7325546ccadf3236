//! Running `tally-admin` against a test database, shared by its tests.

// Each test binary compiles this module and uses a part of it.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use tally_db::test_support::TestDb;

/// `tally-admin` on `db`, without any config file of the environment.
pub(crate) fn admin(db: &TestDb) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_tally-admin"));
    command
        .env("TALLY_DATABASE_URL", db.url())
        .env_remove("TALLY_CONFIG")
        // No tally.toml from the working directory.
        .current_dir(std::env::temp_dir());
    command
}

/// What `tally-admin args` printed and its status.
pub(crate) fn run(db: &TestDb, args: &[&str]) -> anyhow::Result<Output> {
    Ok(admin(db).args(args).output()?)
}

/// What `tally-admin args` printed, which must succeed.
pub(crate) fn ok(db: &TestDb, args: &[&str]) -> anyhow::Result<String> {
    let output = run(db, args)?;
    anyhow::ensure!(
        output.status.success(),
        "tally-admin {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    Ok(String::from_utf8(output.stdout)?)
}

/// Site 1, `Shop` at `https://shop.example`.
pub(crate) fn shop(db: &TestDb) -> anyhow::Result<()> {
    add_shop(db, "https://shop.example", &[])
}

/// Site 1, `Shop` at `url`, an ecommerce site.
pub(crate) fn ecommerce_shop(db: &TestDb, url: &str) -> anyhow::Result<()> {
    add_shop(db, url, &["--ecommerce", "true"])
}

/// `site add` of `Shop` at `url` with `extra` options.
fn add_shop(db: &TestDb, url: &str, extra: &[&str]) -> anyhow::Result<()> {
    let mut args = vec!["site", "add", "--name", "Shop", "--url", url];
    args.extend_from_slice(extra);
    ok(db, &args)?;
    Ok(())
}

/// Site 1 (`https://shop.example`) and a user `alice` with write access
/// to it; returns her token.
pub(crate) fn shop_with_writer(db: &TestDb) -> anyhow::Result<String> {
    shop(db)?;
    ok(
        db,
        &[
            "user",
            "add",
            "alice",
            "--email",
            "alice@example.org",
            "--password",
            "correct-horse",
            "--site",
            "1",
        ],
    )?;
    ok(
        db,
        &["user", "grant", "alice", "--access", "write", "--site", "1"],
    )?;
    Ok(ok(db, &["user", "token", "alice"])?.trim().to_owned())
}

/// A super user `root` (`root@example.org`) with `password`; returns a
/// token of hers.
pub(crate) fn superuser(db: &TestDb, password: &str) -> anyhow::Result<String> {
    ok(
        db,
        &[
            "user",
            "add",
            "root",
            "--email",
            "root@example.org",
            "--password",
            password,
            "--superuser",
        ],
    )?;
    Ok(ok(db, &["user", "token", "root"])?.trim().to_owned())
}

/// The server process, killed when the test ends however it ends.
pub(crate) struct Served(Child);

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A GET over plain HTTP/1.1: (status, body).
pub(crate) fn get(addr: SocketAddr, target: &str) -> anyhow::Result<(u16, String)> {
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

/// `tally-admin serve` on a free local port, with extra environment, once
/// it listens.
pub(crate) fn serve(db: &TestDb, env: &[(&str, &str)]) -> anyhow::Result<(Served, SocketAddr)> {
    let addr = TcpListener::bind("127.0.0.1:0")?.local_addr()?;
    let served = Served(
        admin(db)
            .args(["serve", "--listen", &addr.to_string()])
            .envs(env.iter().copied())
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
    Ok((served, addr))
}

/// A conversion's `(idgoal, revenue, items)`.
pub(crate) type ConversionRow = (i32, Option<f64>, Option<i32>);

/// Every conversion, by goal.
pub(crate) fn conversions(
    conn: &mut diesel::MysqlConnection,
) -> anyhow::Result<Vec<ConversionRow>> {
    use diesel::RunQueryDsl as _;

    #[derive(diesel::QueryableByName)]
    struct Conversion {
        #[diesel(sql_type = diesel::sql_types::Integer)]
        idgoal: i32,
        #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Double>)]
        revenue: Option<f64>,
        #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Integer>)]
        items: Option<i32>,
    }
    let rows: Vec<Conversion> =
        diesel::sql_query("SELECT idgoal, revenue, items FROM log_conversion ORDER BY idgoal")
            .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|c| (c.idgoal, c.revenue, c.items))
        .collect())
}
