//! `tally-tracker`: serves Matomo's Tracking API and imports web-server logs.

use std::path::PathBuf;
use std::process::ExitCode;

#[path = "../../common/cli.rs"]
mod cli;
mod import;
#[path = "../../common/shutdown.rs"]
mod shutdown;

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use serde::{Deserialize, Serialize};
use tally_db::DatabaseConfig;
use tally_tracking::http::TrackerConfig;

/// mimalloc instead of glibc's malloc, whose malloc/free were 29% of the
/// log import's CPU: the import ran 9.7% faster with it (three alternated
/// runs each, docs/PERFORMANCE.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Serve Matomo's Tracking API (/matomo.php, /piwik.php) into MySQL/MariaDB,
/// and import web-server access logs.
#[derive(Debug, Parser)]
#[command(version, propagate_version = true)]
struct Cli {
    /// Config file (TOML). Default: ./tally.toml if present. Every key can be
    /// overridden by TALLY_SECTION_KEY, e.g. TALLY_TRACKER_LISTEN=0.0.0.0:8080.
    #[arg(long, global = true, env = "TALLY_CONFIG")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve the tracking endpoints until Ctrl-C or SIGTERM.
    Serve {
        /// Address to listen on (overrides the tracker.listen setting).
        #[arg(long)]
        listen: Option<String>,
    },
    /// Import access logs (`import [OPTIONS] FILES...`, options named as in
    /// Matomo's import_logs.py), or: `import status`, `import export-day`,
    /// `import mark-day`.
    Import(Box<import::ImportCli>),
}

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct Config {
    database: DatabaseConfig,
    tracker: TrackerConfig,
    /// Read by tally-archiver; accepted here so that one tally.toml serves all binaries.
    archiver: toml::Table,
    /// Read by tally-admin serve; accepted here for the same reason.
    reporting: toml::Table,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    cli::main_with("tally-tracker", || run(cli))
}

fn run(cli: Cli) -> anyhow::Result<()> {
    let mut config: Config =
        tally_db::config::load(cli.config.as_deref()).context("loading config")?;
    config.tracker.title_category_delimiter = title_delimiter(&config.archiver)?;
    match cli.command {
        Command::Serve { listen } => {
            if let Some(listen) = listen {
                config.tracker.listen = listen;
            }
            // Fail at start, with the server's reason, rather than on the first hit.
            let pool = tally_db::pool(&config.database)?;
            let tracker = tally_tracking::http::Tracker::start(pool, &config.tracker)
                .context("starting the tracker")?;
            let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
            runtime.block_on(tally_tracking::http::serve(
                tracker,
                &config.tracker,
                shutdown::signal(),
            ))?;
            Ok(())
        }
        Command::Import(args) => {
            let pool = tally_db::pool(&config.database)?;
            import::run(*args, &pool, &config.tracker)
        }
    }
}

/// `[archiver] action_title_category_delimiter`, Matomo's one key for
/// splitting titles in reports and trimming them when tracked: the tracker
/// reads it from the archiver's section rather than having a second key.
fn title_delimiter(archiver: &toml::Table) -> anyhow::Result<String> {
    const KEY: &str = "action_title_category_delimiter";
    match archiver.get(KEY) {
        None => Ok(String::new()),
        Some(toml::Value::String(s)) => Ok(s.clone()),
        Some(other) => anyhow::bail!(
            "[archiver] {KEY} must be a string (e.g. \"/\"), not {}",
            other.type_str()
        ),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn verify_cli() {
        use clap::CommandFactory;
        super::Cli::command().debug_assert();
    }

    #[test]
    fn the_title_delimiter_comes_from_the_archiver_section() -> anyhow::Result<()> {
        let table = |text: &str| -> anyhow::Result<toml::Table> { Ok(toml::from_str(text)?) };
        assert_eq!(super::title_delimiter(&table("")?)?, "");
        assert_eq!(
            super::title_delimiter(&table("action_title_category_delimiter = \"/\"")?)?,
            "/"
        );
        let wrong = super::title_delimiter(&table("action_title_category_delimiter = 1")?);
        assert_eq!(
            wrong.map_err(|e| e.to_string()).err().as_deref(),
            Some(
                "[archiver] action_title_category_delimiter must be a string (e.g. \"/\"), not integer"
            )
        );
        Ok(())
    }
}
