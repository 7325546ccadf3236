//! What every Tally binary's `main` does around its one library call:
//! logging to stderr (filtered by `RUST_LOG`, default `info`) and a one-line
//! error with its full cause chain and exit code 1 on failure.
//!
//! Included by each binary with `#[path]`: three bins share it, and it is too
//! small and too binary-specific to be a library crate.

use std::process::ExitCode;

/// Sets up logging, runs `run`, and maps its result to the exit code.
pub(crate) fn main_with(name: &str, run: impl FnOnce() -> anyhow::Result<()>) -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            // {:#}: the whole chain on one line, "context: cause: cause".
            eprintln!("{name}: {err:#}");
            ExitCode::FAILURE
        }
    }
}
