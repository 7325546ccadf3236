//! Integration tests of the MySQL layer against a real MariaDB: one binary,
//! one fresh database per test (see `tally_db::test_support`).

mod archive_tables;
mod connection;
mod migrations;
mod roundtrip;

mod schema_details;
mod schema_rs;
mod support;
