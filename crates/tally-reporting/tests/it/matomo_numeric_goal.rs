//! Matomo's `NumericAttributeGoalTrackingTest` (plugins/Goals/tests/System
//! in matomo-org/matomo): a goal on a numeric visit attribute, the visit
//! duration (`visit_duration`, `greater_than` 2.5 minutes), converts on
//! the first request that makes the visit last more than 150 seconds,
//! whatever the request is (here an event), and only then.

use diesel::prelude::*;
use tally_management::GoalParams;
use time::macros::datetime;

use crate::common::{matomo_site, tracker_routes};
use crate::php_tracker::{At, PhpTracker};

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    n: i64,
}

/// Conversions of goal `idgoal` on site 1, read from `log_conversion` as
/// the Matomo test does.
fn conversions(conn: &mut MysqlConnection, idgoal: u32) -> QueryResult<i64> {
    Ok(diesel::sql_query(
        "SELECT COUNT(*) AS n FROM log_conversion WHERE idsite = 1 AND idgoal = ?",
    )
    .bind::<diesel::sql_types::Unsigned<diesel::sql_types::Integer>, _>(idgoal)
    .get_result::<Count>(conn)?
    .n)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_visit_duration_goal_converts_once_the_visit_is_long_enough() -> anyhow::Result<()> {
    let goal = GoalParams::new(
        "visit duration goal",
        "visit_duration",
        "2.5",
        "greater_than",
    );
    let (db, token) = matomo_site(datetime!(2012-02-03 04:05:56), |_| {}, &[goal])?;
    let router = tracker_routes(&db, &tally_tracking::http::TrackerConfig::default())?;
    let mut conn = db.conn()?;
    let mut t = PhpTracker::new(
        1,
        &token,
        "f000000000000001",
        datetime!(2013-02-03 04:00:00),
    );
    assert_eq!(conversions(&mut conn, 1)?, 0);

    let query = t.page_view("test page view");
    t.ok(&router, &query).await?;
    assert_eq!(conversions(&mut conn, 1)?, 0);

    // Two minutes: not yet.
    t.at = At::Datetime(datetime!(2013-02-03 04:02:00));
    let query = t.page_view("another page view");
    t.ok(&router, &query).await?;
    assert_eq!(conversions(&mut conn, 1)?, 0);

    // 149 seconds: still not more than 2.5 minutes.
    t.at = At::Datetime(datetime!(2013-02-03 04:02:29));
    let query = t.event("event category", "blah", Some("blah"), None);
    t.ok(&router, &query).await?;
    assert_eq!(conversions(&mut conn, 1)?, 0);

    // 151 seconds: the event converts the goal.
    t.at = At::Datetime(datetime!(2013-02-03 04:02:31));
    let query = t.event("event category", "blah 2", Some("blah 2"), None);
    t.ok(&router, &query).await?;
    assert_eq!(conversions(&mut conn, 1)?, 1);
    Ok(())
}
