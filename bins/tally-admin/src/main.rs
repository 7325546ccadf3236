//! `tally-admin`: database migrations and administration of a Tally install.

use std::path::PathBuf;
use std::process::ExitCode;

#[path = "../../common/cli.rs"]
mod cli;

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use serde::{Deserialize, Serialize};
use tally_db::DatabaseConfig;
use tally_tracking::http::TrackerConfig;

/// Administer a Tally installation: database schema, sites, users and the Reporting API.
#[derive(Debug, Parser)]
#[command(version, propagate_version = true)]
struct Cli {
    /// Config file (TOML). Default: ./tally.toml if present. Every key can be
    /// overridden by TALLY_SECTION_KEY, e.g. TALLY_DATABASE_URL.
    #[arg(long, global = true, env = "TALLY_CONFIG")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Create the database if it does not exist and apply pending migrations.
    Migrate {
        /// Only list the pending migrations.
        #[arg(long)]
        dry_run: bool,
    },
}

/// Every section of tally.toml, so that one file serves every binary.
#[derive(Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct Config {
    database: DatabaseConfig,
    tracker: TrackerConfig,
    /// Read by tally-archiver; here so that the example config is checked against it.
    archiver: tally_archiving::ArchivingConfig,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    cli::main_with("tally-admin", || run(cli))
}

fn run(cli: Cli) -> anyhow::Result<()> {
    let config: Config = tally_db::config::load(cli.config.as_deref()).context("loading config")?;
    match cli.command {
        Command::Migrate { dry_run } => migrate(&config.database, dry_run),
    }
}

fn migrate(database: &DatabaseConfig, dry_run: bool) -> anyhow::Result<()> {
    let url = tally_db::redact(&database.url);
    if !dry_run && tally_db::create_database_if_missing(&database.url)? {
        println!("created database {url}");
    }
    let mut conn = tally_db::connect(&database.url)?;
    if dry_run {
        let pending = tally_db::pending_migrations(&mut conn)?;
        println!("{} pending migration(s) for {url}", pending.len());
        for name in pending {
            println!("  {name}");
        }
        return Ok(());
    }
    let applied = tally_db::run_migrations(&mut conn)?;
    if applied.is_empty() {
        println!("database {url} is up to date");
    } else {
        println!("applied {} migration(s) to {url}", applied.len());
        for name in applied {
            println!("  {name}");
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verify_cli() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }

    /// tally.example.toml documents every key with its default value.
    #[test]
    fn example_config_matches_the_defaults() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tally.example.toml");
        let text = std::fs::read_to_string(path).expect("tally.example.toml");
        let parsed: Config =
            toml::from_str(&text).expect("example parses with deny_unknown_fields");
        assert_eq!(parsed, Config::default());
        let example: toml::Table = toml::from_str(&text).expect("toml");
        let defaults = toml::Table::try_from(Config::default()).expect("serializes");
        assert_eq!(
            example, defaults,
            "every default key appears in the example"
        );
    }
}
