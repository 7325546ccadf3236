//! Annotations: ids, author rights and date ranges on `annotation`.

use tally_management::{
    ManagementError, Principal, add_annotation, annotations_between, delete_all_annotations,
    delete_annotation, get_annotation, save_annotation,
};
use time::macros::date;

use crate::support::{World, now};

#[test]
fn notes_keep_matomos_ids_and_rights() -> anyhow::Result<()> {
    let mut w = World::new()?;
    let viewer = w.principal("viewer")?;
    let writer = w.principal("writer")?;
    let admin2 = w.principal("admin2")?;
    let root = w.root.clone();

    let first = add_annotation(
        &mut w.conn,
        &viewer,
        1,
        date!(2026 - 06 - 10),
        "Launch",
        true,
        now(),
    )?;
    assert_eq!(
        (first.idnote, first.starred, first.user.as_deref()),
        (0, 1, Some("viewer"))
    );
    assert!(first.can_edit_or_delete);
    let second = add_annotation(
        &mut w.conn,
        &root,
        1,
        date!(2026 - 06 - 01),
        "Sale",
        false,
        now(),
    )?;
    assert_eq!(second.idnote, 1);
    // Ids are per site.
    assert_eq!(
        add_annotation(
            &mut w.conn,
            &root,
            2,
            date!(2026 - 06 - 01),
            "Blog",
            false,
            now()
        )?
        .idnote,
        0
    );
    assert!(matches!(
        add_annotation(
            &mut w.conn,
            &admin2,
            1,
            date!(2026 - 06 - 01),
            "x",
            false,
            now()
        ),
        Err(ManagementError::CannotAddNote { idsite: 1 })
    ));
    assert!(matches!(
        add_annotation(
            &mut w.conn,
            &Principal::anonymous(),
            1,
            date!(2026 - 06 - 01),
            "x",
            false,
            now()
        ),
        Err(ManagementError::CannotAddNote { idsite: 1 })
    ));

    // By date; the viewer may edit their own note only, the writer both.
    let listed = annotations_between(&mut w.conn, &viewer, 1, None)?;
    let summary: Vec<(u32, bool)> = listed
        .iter()
        .map(|n| (n.idnote, n.can_edit_or_delete))
        .collect();
    assert_eq!(summary, [(1, false), (0, true)]);
    assert!(matches!(
        save_annotation(&mut w.conn, &viewer, 1, 1, None, Some("mine"), None),
        Err(ManagementError::NoteNotEditable)
    ));
    let saved = save_annotation(
        &mut w.conn,
        &writer,
        1,
        1,
        Some(date!(2026 - 06 - 20)),
        None,
        Some(true),
    )?;
    assert_eq!(
        (saved.note.as_str(), saved.date, saved.starred),
        ("Sale", date!(2026 - 06 - 20), 1)
    );
    let june_tenth = annotations_between(
        &mut w.conn,
        &viewer,
        1,
        Some((date!(2026 - 06 - 10), date!(2026 - 06 - 10))),
    )?;
    assert_eq!(june_tenth.len(), 1);
    assert_eq!(june_tenth[0].note, "Launch");

    // Deleting frees no id: the next note takes the highest + 1.
    delete_annotation(&mut w.conn, &viewer, 1, 0)?;
    assert!(matches!(
        get_annotation(&mut w.conn, &viewer, 1, 0),
        Err(ManagementError::UnknownNote {
            idsite: 1,
            idnote: 0
        })
    ));
    assert_eq!(
        add_annotation(
            &mut w.conn,
            &viewer,
            1,
            date!(2026 - 06 - 11),
            "again",
            false,
            now()
        )?
        .idnote,
        2
    );
    assert!(matches!(
        delete_all_annotations(&mut w.conn, &writer, 1),
        Err(ManagementError::SuperUserRequired)
    ));
    delete_all_annotations(&mut w.conn, &root, 1)?;
    assert!(annotations_between(&mut w.conn, &root, 1, None)?.is_empty());
    assert_eq!(annotations_between(&mut w.conn, &root, 2, None)?.len(), 1);
    // After deleting them all, ids start again at 0, as Matomo's empty array.
    assert_eq!(
        add_annotation(
            &mut w.conn,
            &root,
            1,
            date!(2026 - 06 - 11),
            "fresh",
            false,
            now()
        )?
        .idnote,
        0
    );

    // The anonymous user is not told who wrote a note.
    let anonymous = Principal {
        sites: [(1, tally_management::Access::View)].into_iter().collect(),
        ..Principal::anonymous()
    };
    let seen = get_annotation(&mut w.conn, &anonymous, 1, 0)?;
    assert_eq!((seen.user, seen.can_edit_or_delete), (None, false));
    Ok(())
}
