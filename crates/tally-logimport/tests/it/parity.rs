//! Regressions of the `import_logs.py` parity audit (its discrepancy
//! numbers, D1...): each line tracked, or not, and stored as Matomo's
//! importer and tracker would; rows checked in the database.

use diesel::prelude::*;
use diesel::sql_types::{Nullable, Text};
use tally_logimport::{ImportOptions, LogFormat};

use crate::import::{Fixture, UA, site1};

/// One text column of a query, in its order (`NULL` as `NULL`).
fn texts(f: &Fixture, sql: &str) -> anyhow::Result<Vec<String>> {
    #[derive(QueryableByName)]
    struct S {
        #[diesel(sql_type = Nullable<Text>)]
        s: Option<String>,
    }
    let rows: Vec<S> = diesel::sql_query(sql).load(&mut f.db.conn()?)?;
    Ok(rows
        .into_iter()
        .map(|r| r.s.unwrap_or_else(|| "NULL".to_owned()))
        .collect())
}

#[test]
fn d3_a_client_ip_that_is_no_address_is_tracked_as_0_0_0_0() -> anyhow::Result<()> {
    let f = Fixture::new("d3")?;
    let clf = format!(
        "www.example.org - - - [10/Feb/2024:10:00:00 +0000] \"GET /dash HTTP/1.1\" 200 1 \"-\" \"{UA}\"\n\
         www.example.org 1.2.3.4 - - [10/Feb/2024:10:00:01 +0000] \"GET /real HTTP/1.1\" 200 1 \"-\" \"{UA}\"\n"
    );
    let path = f.file("d3.log", clf.as_bytes())?;
    let report = f.import(
        &[path],
        &ImportOptions {
            format: Some(LogFormat::CommonComplete),
            ..site1()
        },
    )?;
    let c = report.files[0].counts;
    assert_eq!((c.imported, c.ignored_invalid), (2, 0));
    let w3c = "#Fields: date time c-ip cs-method cs-uri-stem sc-status cs(User-Agent)\n\
               2024-02-11 10:00:00 - GET /w3c-dash 200 Mozilla/5.0+(X11;+Linux+x86_64)\n";
    let path = f.file("d3.w3c.log", w3c.as_bytes())?;
    let report = f.import(&[path], &site1())?;
    assert_eq!(report.files[0].counts.imported, 1);
    assert_eq!(
        texts(
            &f,
            "SELECT CONCAT(INET6_NTOA(v.location_ip), ' ', REPLACE(u.name, 'example.org', '')) AS s \
             FROM log_link_visit_action a JOIN log_visit v ON v.idvisit = a.idvisit \
             JOIN log_action u ON u.idaction = a.idaction_url ORDER BY a.server_time"
        )?,
        // (The tracker anonymises two bytes of a real address.)
        ["0.0.0.0 /dash", "1.2.0.0 /real", "0.0.0.0 /w3c-dash"]
    );
    Ok(())
}
