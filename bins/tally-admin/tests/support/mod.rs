//! Running `tally-admin` against a test database, shared by its tests.

// Each test binary compiles this module and uses a part of it.
#![allow(dead_code)]

use std::process::{Command, Output};

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

/// Site 1 (`https://shop.example`) and a user `alice` with write access
/// to it; returns her token.
pub(crate) fn shop_with_writer(db: &TestDb) -> anyhow::Result<String> {
    ok(
        db,
        &[
            "site",
            "add",
            "--name",
            "Shop",
            "--url",
            "https://shop.example",
        ],
    )?;
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
