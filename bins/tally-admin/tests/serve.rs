//! `tally-admin serve` (API and tracker on one port) as a Matomo client
//! uses it: a goal added through the Reporting API applies to the very next
//! tracking request, as Matomo's tracker cache is cleared when goals change.

use diesel::prelude::*;
use tally_db::test_support::TestDb;

mod support;
use support::{get, serve, shop_with_writer};

#[test]
fn a_goal_added_through_the_api_converts_the_next_hit() -> anyhow::Result<()> {
    let db = TestDb::new()?;
    let token = shop_with_writer(&db)?;

    // Only the API's notification can make the tracker see the goal
    // before an hour has passed.
    let (_served, addr) = serve(&db, &[("TALLY_TRACKER_SETTINGS_CHECK_MS", "3600000")])?;

    let hit = |visitor: &str| {
        format!(
            "/matomo.php?idsite=1&rec=1&send_image=0&_id={visitor}&url=https%3A%2F%2Fshop.example%2Fjoined"
        )
    };
    assert_eq!(get(addr, &hit("1111111111111111"))?.0, 204);
    let (status, body) = get(
        addr,
        &format!(
            "/index.php?module=API&method=Goals.addGoal&idSite=1&name=Joined&matchAttribute=url\
             &pattern=joined&patternType=contains&format=json&token_auth={token}"
        ),
    )?;
    assert_eq!((status, body.trim()), (200, "{\"value\":1}"));
    assert_eq!(get(addr, &hit("2222222222222222"))?.0, 204);

    let mut conn = db.conn()?;
    let conversions: Vec<(u32, i32)> = diesel::sql_query(
        "SELECT v.idvisit, c.idgoal FROM log_conversion c JOIN log_visit v USING (idvisit) \
         WHERE HEX(v.idvisitor) = '2222222222222222'",
    )
    .load::<Conversion>(&mut conn)?
    .into_iter()
    .map(|c| (c.idvisit, c.idgoal))
    .collect();
    assert_eq!(conversions.len(), 1, "{conversions:?}");
    assert_eq!(conversions[0].1, 1);
    let before: i64 = diesel::sql_query("SELECT COUNT(*) AS n FROM log_conversion")
        .get_result::<Count>(&mut conn)?
        .n;
    assert_eq!(
        before, 1,
        "the hit before the goal existed converts nothing"
    );
    Ok(())
}

#[derive(QueryableByName)]
struct Conversion {
    #[diesel(sql_type = diesel::sql_types::Unsigned<diesel::sql_types::Integer>)]
    idvisit: u32,
    #[diesel(sql_type = diesel::sql_types::Integer)]
    idgoal: i32,
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    n: i64,
}
