//! Goals: validation, ids, soft delete (MATOMO.md §6.1, §10.3).

use diesel::prelude::*;
use tally_management::{
    GoalParams, ManagementError, add_goal, delete_goal, get_goal, get_goals, update_goal,
};
use tally_schema::schema::{goal, log_conversion};

use crate::support::World;

fn conversions(w: &mut World, idgoal: i32) -> anyhow::Result<i64> {
    Ok(log_conversion::table
        .filter(log_conversion::idgoal.eq(idgoal))
        .count()
        .get_result(&mut w.conn)?)
}

#[test]
fn goals_are_added_updated_and_soft_deleted() -> anyhow::Result<()> {
    let mut w = World::new()?;
    let writer = w.principal("writer")?;
    let mut thanks = GoalParams::new("Thanks", "url", "thank-?you", "regex");
    thanks.revenue = 5.0;
    thanks.description = "Order confirmation".into();
    assert_eq!(add_goal(&mut w.conn, &writer, 1, &thanks)?, 1);
    assert_eq!(
        add_goal(
            &mut w.conn,
            &writer,
            1,
            &GoalParams::new("Newsletter", "manually", "", "")
        )?,
        2
    );
    let mut video = GoalParams::new("Video", "event_category", "video", "contains");
    video.event_value_as_revenue = true;
    video.allow_multiple = true;
    assert_eq!(add_goal(&mut w.conn, &writer, 1, &video)?, 3);
    // Ids are per site.
    let root = w.root.clone();
    assert_eq!(
        add_goal(
            &mut w.conn,
            &root,
            2,
            &GoalParams::new("Other", "title", "Hi", "exact")
        )?,
        1
    );

    let goals = get_goals(&mut w.conn, &writer, 1)?;
    assert_eq!(
        goals.iter().map(|g| g.idgoal).collect::<Vec<_>>(),
        [1, 2, 3]
    );
    let json = serde_json::to_string(&goals[0])?;
    assert_eq!(
        json,
        r#"{"idsite":1,"idgoal":1,"name":"Thanks","description":"Order confirmation","match_attribute":"url","pattern":"thank-?you","pattern_type":"regex","case_sensitive":0,"allow_multiple":0,"revenue":5,"deleted":0,"event_value_as_revenue":0}"#
    );
    assert!(
        goals[1].pattern.is_none(),
        "manual goals hide their pattern"
    );

    // Conversions of goal 1 go with it; others stay.
    diesel::sql_query(
        "INSERT INTO log_conversion (idvisit, idsite, idvisitor, server_time, idgoal, buster, url) VALUES \
         (1, 1, x'0102030405060708', '2026-01-01 00:00:00', 1, 0, 'https://shop.example/thank-you'), \
         (2, 1, x'0102030405060708', '2026-01-01 00:00:00', 1, 0, 'https://shop.example/thankyou'), \
         (2, 1, x'0102030405060708', '2026-01-01 00:00:00', 3, 0, 'https://shop.example/v'), \
         (3, 2, x'0102030405060708', '2026-01-01 00:00:00', 1, 0, 'https://blog.example/')",
    )
    .execute(&mut w.conn)?;
    delete_goal(&mut w.conn, &writer, 1, 1)?;
    assert_eq!(conversions(&mut w, 3)?, 1);
    let left: Vec<(u32, i32)> = log_conversion::table
        .select((log_conversion::idsite, log_conversion::idgoal))
        .order((log_conversion::idsite, log_conversion::idgoal))
        .load(&mut w.conn)?;
    assert_eq!(
        left,
        [(1, 3), (2, 1)],
        "only site 1's goal 1 conversions are gone"
    );
    let deleted: i8 = goal::table
        .find((1, 1))
        .select(goal::deleted)
        .first(&mut w.conn)?;
    assert_eq!(deleted, 1, "the definition is kept");
    assert_eq!(
        get_goals(&mut w.conn, &writer, 1)?
            .iter()
            .map(|g| g.idgoal)
            .collect::<Vec<_>>(),
        [2, 3]
    );
    let err = get_goal(&mut w.conn, &writer, 1, 1).unwrap_err();
    assert!(
        matches!(
            err,
            ManagementError::UnknownGoal {
                idsite: 1,
                idgoal: 1
            }
        ),
        "{err}"
    );
    let err = delete_goal(&mut w.conn, &writer, 1, 1).unwrap_err();
    assert!(matches!(err, ManagementError::UnknownGoal { .. }), "{err}");
    // A deleted id is never reused.
    assert_eq!(
        add_goal(
            &mut w.conn,
            &writer,
            1,
            &GoalParams::new("Again", "url", "again", "contains")
        )?,
        4
    );

    let mut changed = GoalParams::new("Video plays", "event_action", "play", "exact");
    changed.case_sensitive = true;
    changed.revenue = 2.5;
    update_goal(&mut w.conn, &writer, 1, 3, &changed)?;
    let g = get_goal(&mut w.conn, &writer, 1, 3)?;
    assert_eq!(
        (
            g.name.as_str(),
            g.match_attribute.as_str(),
            g.pattern.as_deref(),
            g.case_sensitive,
            g.revenue
        ),
        ("Video plays", "event_action", Some("play"), Some(1), 2.5)
    );
    assert_eq!(g.allow_multiple, 0, "update replaces every setting");
    let err = update_goal(&mut w.conn, &writer, 1, 42, &changed).unwrap_err();
    assert!(
        matches!(err, ManagementError::UnknownGoal { idgoal: 42, .. }),
        "{err}"
    );
    Ok(())
}

#[test]
fn goal_access_and_validation() -> anyhow::Result<()> {
    let mut w = World::new()?;
    let ok = GoalParams::new("G", "url", "x", "contains");
    let viewer = w.principal("viewer")?;
    assert_eq!(
        add_goal(&mut w.conn, &viewer, 1, &ok)
            .unwrap_err()
            .to_string(),
        "You can't access this resource as it requires 'write' access for the website id = 1."
    );
    let writer = w.principal("writer")?;
    assert!(matches!(
        add_goal(&mut w.conn, &writer, 2, &ok).unwrap_err(),
        ManagementError::NoAccess { idsite: 2, .. }
    ));
    assert!(get_goals(&mut w.conn, &viewer, 1)?.is_empty());
    let root = w.root.clone();
    assert!(matches!(
        add_goal(&mut w.conn, &root, 9, &ok).unwrap_err(),
        ManagementError::UnknownSite { idsite: 9 }
    ));

    let mut long_name = ok.clone();
    long_name.name = "n".repeat(51);
    let mut negative = ok.clone();
    negative.revenue = -0.01;
    let cases = [
        (long_name, "name"),
        (GoalParams::new("G", "url", "(", "regex"), "pattern"),
        (GoalParams::new("G", "url", "/thanks", "exact"), "pattern"),
        (
            GoalParams::new("G", "color", "x", "contains"),
            "matchAttribute",
        ),
        (GoalParams::new("G", "url", "x", "similar"), "patternType"),
        (
            GoalParams::new("G", "visit_duration", "five", "greater_than"),
            "pattern",
        ),
        (negative, "revenue"),
    ];
    for (params, field) in cases {
        match add_goal(&mut w.conn, &writer, 1, &params).unwrap_err() {
            ManagementError::InvalidParameter { name, .. } => assert_eq!(name, field, "{params:?}"),
            other => panic!("{other}"),
        }
    }
    assert_eq!(goal::table.count().get_result::<i64>(&mut w.conn)?, 0);
    Ok(())
}
