//! Shared fixtures for Tally's benchmarks.
//!
//! Each bench target in this package measures one area; its figures and the
//! command that produced them go to `docs/PERFORMANCE.md`.
#![deny(missing_docs)]

pub mod bare;
