//! Stored segments: SegmentEditor's rules on the `segment` table.

use diesel::prelude::*;
use tally_management::{
    ManagementError, Principal, SegmentParams, add_segment, delete_segment, get_all_segments,
    get_segment, update_segment,
};
use tally_schema::schema::{archive_invalidations, segment};

use crate::support::{World, now};

fn names(segments: &[tally_management::SegmentView]) -> Vec<&str> {
    segments.iter().map(|s| s.name.as_str()).collect()
}

#[test]
fn segments_round_trip_with_matomos_stored_form() -> anyhow::Result<()> {
    let mut w = World::new()?;
    let viewer = w.principal("viewer")?;
    let params = SegmentParams::new("Quotes", "pageTitle=@it's & more#", Some(1));
    let id = add_segment(&mut w.conn, &viewer, &params, now())?;
    assert_eq!(id, 1);
    let got = get_segment(&mut w.conn, &viewer, id)?.expect("stored");
    // Matomo's checkSegmentValue encodes these three characters.
    assert_eq!(got.definition, "pageTitle=@it%27s %26 more%23");
    // md5 of the decoded definition, i.e. of what was typed.
    assert_eq!(
        got.hash.as_deref(),
        Some(
            tally_archiving::segment::Segment::parse("pageTitle=@it's & more#")?
                .hash()
                .as_str()
        )
    );
    assert_eq!(
        (got.login.as_str(), got.enable_only_idsite, got.auto_archive),
        ("viewer", 1, 0)
    );
    assert_eq!(got.ts_created.as_deref(), Some("2026-06-15 12:00:00"));
    assert_eq!(got.ts_last_edit, None);

    let later = now() + time::Duration::hours(1);
    let mut renamed = SegmentParams::new("Firefox", "browserCode==FF", Some(1));
    renamed.auto_archive = true;
    update_segment(&mut w.conn, &viewer, id, &renamed, later)?;
    let got = get_segment(&mut w.conn, &viewer, id)?.expect("stored");
    assert_eq!(
        (got.name.as_str(), got.definition.as_str(), got.auto_archive),
        ("Firefox", "browserCode==FF", 1)
    );
    assert_eq!(got.ts_last_edit.as_deref(), Some("2026-06-15 13:00:00"));
    // No visits on the site: nothing to re-archive.
    let queued: i64 = archive_invalidations::table
        .count()
        .get_result(&mut w.conn)?;
    assert_eq!(queued, 0);

    delete_segment(&mut w.conn, &viewer, id, later)?;
    let deleted: i8 = segment::table
        .find(1)
        .select(segment::deleted)
        .first(&mut w.conn)?;
    assert_eq!(deleted, 1);
    assert!(matches!(
        get_segment(&mut w.conn, &viewer, id),
        Err(ManagementError::SegmentDeleted)
    ));
    assert_eq!(get_segment(&mut w.conn, &viewer, 42)?, None);
    assert!(get_all_segments(&mut w.conn, &viewer, Some(1))?.is_empty());
    Ok(())
}

#[test]
fn segment_rights_follow_segment_editor() -> anyhow::Result<()> {
    let mut w = World::new()?;
    let viewer = w.principal("viewer")?;
    let writer = w.principal("writer")?;
    let admin2 = w.principal("admin2")?;
    let root = w.root.clone();

    let mut shared = SegmentParams::new("shared", "visitCount<2", Some(1));
    shared.enabled_all_users = true;
    assert!(matches!(
        add_segment(&mut w.conn, &viewer, &shared, now()),
        Err(ManagementError::SharingRequiresSuperUser)
    ));
    assert!(matches!(
        add_segment(
            &mut w.conn,
            &viewer,
            &SegmentParams::new("all", "visitCount<2", None),
            now()
        ),
        Err(ManagementError::SegmentAccess)
    ));
    assert!(matches!(
        add_segment(
            &mut w.conn,
            &admin2,
            &SegmentParams::new("x", "visitCount<2", Some(1)),
            now()
        ),
        Err(ManagementError::SegmentAccess)
    ));
    assert!(matches!(
        add_segment(
            &mut w.conn,
            &Principal::anonymous(),
            &SegmentParams::new("x", "visitCount<2", Some(1)),
            now()
        ),
        Err(ManagementError::SegmentAccess)
    ));
    assert!(matches!(
        add_segment(
            &mut w.conn,
            &viewer,
            &SegmentParams::new("x", "nope==1", Some(1)),
            now()
        ),
        Err(ManagementError::InvalidSegment { .. })
    ));
    assert!(matches!(
        add_segment(
            &mut w.conn,
            &viewer,
            &SegmentParams::new("", "visitCount<2", Some(1)),
            now()
        ),
        Err(ManagementError::InvalidParameter { name: "name", .. })
    ));

    let own = add_segment(
        &mut w.conn,
        &viewer,
        &SegmentParams::new("own", "visitCount<2", Some(1)),
        now(),
    )?;
    let by_root = add_segment(&mut w.conn, &root, &shared, now())?;
    let all_sites = add_segment(
        &mut w.conn,
        &root,
        &SegmentParams::new("root's", "visitCount>1", None),
        now(),
    )?;
    let blog = add_segment(
        &mut w.conn,
        &admin2,
        &SegmentParams::new("blog", "visitCount>1", Some(2)),
        now(),
    )?;

    // Writers do not edit others' segments; owners and super users do.
    let params = SegmentParams::new("renamed", "visitCount<3", Some(1));
    assert!(matches!(
        update_segment(&mut w.conn, &writer, own, &params, now()),
        Err(ManagementError::SegmentNotEditable)
    ));
    assert!(matches!(
        update_segment(&mut w.conn, &viewer, by_root, &params, now()),
        Err(ManagementError::SegmentNotEditable)
    ));
    assert!(matches!(
        delete_segment(&mut w.conn, &writer, all_sites, now()),
        Err(ManagementError::SegmentNotEditable)
    ));
    // A viewer moving their segment to all sites needs a super user.
    assert!(matches!(
        update_segment(
            &mut w.conn,
            &viewer,
            own,
            &SegmentParams::new("own", "visitCount<2", None),
            now()
        ),
        Err(ManagementError::SegmentNotEditable)
    ));
    update_segment(&mut w.conn, &root, own, &params, now())?;

    assert_eq!(
        names(&get_all_segments(&mut w.conn, &viewer, None)?),
        ["renamed", "shared"]
    );
    assert_eq!(
        names(&get_all_segments(&mut w.conn, &writer, Some(1))?),
        ["shared"]
    );
    assert_eq!(
        names(&get_all_segments(&mut w.conn, &admin2, None)?),
        ["blog"]
    );
    // A super user: their own first, then everyone else's, by name.
    assert_eq!(
        names(&get_all_segments(&mut w.conn, &root, Some(1))?),
        ["root's", "shared", "renamed"]
    );
    assert_eq!(
        names(&get_all_segments(&mut w.conn, &root, None)?),
        ["root's", "shared", "blog", "renamed"]
    );
    assert!(matches!(
        get_all_segments(&mut w.conn, &admin2, Some(1)),
        Err(ManagementError::NoAccess { idsite: 1, .. })
    ));
    delete_segment(&mut w.conn, &admin2, blog, now())?;
    assert!(get_all_segments(&mut w.conn, &admin2, None)?.is_empty());
    Ok(())
}
