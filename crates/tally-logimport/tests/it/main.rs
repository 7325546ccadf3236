//! Integration tests of the log importer (issue 8), one binary.

mod formats;
mod import;
mod options;
mod parity;
mod reports;
