//! Integration tests of the management layer against a real MariaDB: one
//! binary, one fresh database per test (see `tally_db::test_support`).

mod access;
mod annotations;
mod goals;
mod privacy;
mod secrets;
mod segments;
mod sites;
mod support;
mod tracker_settings;
mod users;
