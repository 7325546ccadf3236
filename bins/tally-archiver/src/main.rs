//! `tally-archiver`: turns raw logs into reports.

use std::path::PathBuf;
use std::process::ExitCode;

#[path = "../../common/cli.rs"]
mod cli;

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use serde::{Deserialize, Serialize};
use tally_db::DatabaseConfig;

/// Turn raw logs into reports (archives) and manage the archive tables.
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
    /// List the monthly archive tables (archive_numeric_YYYY_MM, archive_blob_YYYY_MM).
    Tables,
}

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct Config {
    database: DatabaseConfig,
    /// Read by tally-tracker; accepted here so that one tally.toml serves all binaries.
    tracker: toml::Table,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    cli::main_with("tally-archiver", || run(cli))
}

fn run(cli: Cli) -> anyhow::Result<()> {
    let config: Config = tally_db::config::load(cli.config.as_deref()).context("loading config")?;
    match cli.command {
        Command::Tables => {
            let mut conn = tally_db::connect(&config.database.url)?;
            let tables = tally_db::list_archive_tables(&mut conn)?;
            if tables.is_empty() {
                println!("no archive tables yet");
            }
            for table in tables {
                println!("{table}");
            }
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn verify_cli() {
        use clap::CommandFactory;
        super::Cli::command().debug_assert();
    }
}
