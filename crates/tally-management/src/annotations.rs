//! Annotations: dated notes on a site's graphs (Matomo's `Annotations`
//! API), one row each in `annotation`.
//!
//! Matomo keeps a site's notes as one serialized PHP array in its `option`
//! table; a note's id is its index in that array. We keep a row per note
//! with the same ids (per site, the highest id + 1, from 0), so the API
//! answers are Matomo's.
//!
//! Access, as Matomo: a signed-in user with view access may add notes and
//! read them; a note may be changed or deleted by its author or by a user
//! with write access to the site (`canEditOrDelete`); deleting all of a
//! site's notes needs a super user. The anonymous user never sees who
//! wrote a note.

use diesel::prelude::*;
use tally_schema::models::{Annotation, AnnotationChanges, NewAnnotation};
use tally_schema::schema::annotation;
use time::{Date, OffsetDateTime};

use crate::access::{Access, Principal};
use crate::sites::find_site;
use crate::support::db_time;
use crate::{ManagementError, Result};

/// Longest note kept, in characters; a longer one is cut to one less and
/// ends with `…` (Matomo's `filterNote`).
const NOTE_MAX_CHARS: usize = 255;

/// A note as the API answers it, fields in Matomo's order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnnotationView {
    /// `date`, `YYYY-MM-DD`.
    pub date: Date,
    /// `note`, HTML-escaped as Matomo stores it.
    pub note: String,
    /// `starred` (0/1).
    pub starred: u8,
    /// `user`: the author's login; `None` for the anonymous user, who is
    /// not told.
    pub user: Option<String>,
    /// `idNote`.
    pub idnote: u32,
    /// `canEditOrDelete`: whether the caller may change or delete it.
    pub can_edit_or_delete: bool,
}

impl AnnotationView {
    fn new(row: Annotation, actor: &Principal) -> Self {
        let can_edit_or_delete = can_edit(actor, row.idsite, &row.login);
        Self {
            date: row.date,
            note: row.note,
            starred: row.starred,
            user: (!actor.is_anonymous()).then_some(row.login),
            idnote: row.idnote,
            can_edit_or_delete,
        }
    }
}

/// Matomo's `AnnotationList::canUserModifyOrDelete`.
fn can_edit(actor: &Principal, idsite: u32, author: &str) -> bool {
    actor.can(idsite, Access::Write) || (!actor.is_anonymous() && actor.login == author)
}

/// Adds a note by `actor` and returns it.
///
/// # Errors
/// [`ManagementError::CannotAddNote`] for the anonymous user or one without
/// view access; [`ManagementError::UnknownSite`]; [`ManagementError::Db`].
pub fn add_annotation(
    conn: &mut MysqlConnection,
    actor: &Principal,
    idsite: u32,
    date: Date,
    note: &str,
    starred: bool,
    now: OffsetDateTime,
) -> Result<AnnotationView> {
    if actor.is_anonymous() || !actor.can(idsite, Access::View) {
        return Err(ManagementError::CannotAddNote { idsite });
    }
    find_site(conn, idsite)?;
    let note = filter_note(note);
    let idnote = conn.transaction(|conn| {
        // FOR UPDATE locks the site's rows and the gap after them, so two
        // concurrent adds cannot pick the same id.
        let highest: Option<u32> = annotation::table
            .filter(annotation::idsite.eq(idsite))
            .select(diesel::dsl::max(annotation::idnote))
            .for_update()
            .first(conn)?;
        let idnote = highest.map_or(0, |id| id + 1);
        diesel::insert_into(annotation::table)
            .values(NewAnnotation {
                idsite,
                idnote,
                date,
                note: &note,
                starred: u8::from(starred),
                login: &actor.login,
                ts_created: db_time(now),
            })
            .execute(conn)?;
        Ok::<_, ManagementError>(idnote)
    })?;
    Ok(AnnotationView::new(find_note(conn, idsite, idnote)?, actor))
}

/// Changes a note's date, text or star (each `None` is left alone), as its
/// author or a user with write access, and returns it.
///
/// # Errors
/// [`ManagementError::NoAccess`] without view access;
/// [`ManagementError::UnknownSite`]; [`ManagementError::UnknownNote`];
/// [`ManagementError::NoteNotEditable`]; [`ManagementError::Db`].
pub fn save_annotation(
    conn: &mut MysqlConnection,
    actor: &Principal,
    idsite: u32,
    idnote: u32,
    date: Option<Date>,
    note: Option<&str>,
    starred: Option<bool>,
) -> Result<AnnotationView> {
    editable(conn, actor, idsite, idnote)?;
    let note = note.map(filter_note);
    diesel::update(annotation::table.find((idsite, idnote)))
        .set(AnnotationChanges {
            date,
            note: note.as_deref(),
            starred: starred.map(u8::from),
        })
        .execute(conn)?;
    Ok(AnnotationView::new(find_note(conn, idsite, idnote)?, actor))
}

/// Deletes a note, as its author or a user with write access.
///
/// # Errors
/// As [`save_annotation`].
pub fn delete_annotation(
    conn: &mut MysqlConnection,
    actor: &Principal,
    idsite: u32,
    idnote: u32,
) -> Result<()> {
    editable(conn, actor, idsite, idnote)?;
    diesel::delete(annotation::table.find((idsite, idnote))).execute(conn)?;
    Ok(())
}

/// Deletes every note of a site (super user).
///
/// # Errors
/// [`ManagementError::SuperUserRequired`]; [`ManagementError::UnknownSite`];
/// [`ManagementError::Db`].
pub fn delete_all_annotations(
    conn: &mut MysqlConnection,
    actor: &Principal,
    idsite: u32,
) -> Result<()> {
    actor.check_superuser()?;
    find_site(conn, idsite)?;
    diesel::delete(annotation::table.filter(annotation::idsite.eq(idsite))).execute(conn)?;
    Ok(())
}

/// One note (view access).
///
/// # Errors
/// [`ManagementError::NoAccess`]; [`ManagementError::UnknownSite`];
/// [`ManagementError::UnknownNote`]; [`ManagementError::Db`].
pub fn get_annotation(
    conn: &mut MysqlConnection,
    actor: &Principal,
    idsite: u32,
    idnote: u32,
) -> Result<AnnotationView> {
    actor.check(idsite, Access::View)?;
    find_site(conn, idsite)?;
    Ok(AnnotationView::new(find_note(conn, idsite, idnote)?, actor))
}

/// The site's notes dated within `range` (both ends included; `None`: all),
/// by date then id (view access).
///
/// # Errors
/// [`ManagementError::NoAccess`]; [`ManagementError::Db`].
pub fn annotations_between(
    conn: &mut MysqlConnection,
    actor: &Principal,
    idsite: u32,
    range: Option<(Date, Date)>,
) -> Result<Vec<AnnotationView>> {
    actor.check(idsite, Access::View)?;
    let mut query = annotation::table
        .filter(annotation::idsite.eq(idsite))
        .select(Annotation::as_select())
        .order((annotation::date.asc(), annotation::idnote.asc()))
        .into_boxed();
    if let Some((start, end)) = range {
        query = query.filter(annotation::date.between(start, end));
    }
    let rows: Vec<Annotation> = query.load(conn)?;
    Ok(rows
        .into_iter()
        .map(|row| AnnotationView::new(row, actor))
        .collect())
}

fn find_note(conn: &mut MysqlConnection, idsite: u32, idnote: u32) -> Result<Annotation> {
    annotation::table
        .find((idsite, idnote))
        .select(Annotation::as_select())
        .first(conn)
        .optional()?
        .ok_or(ManagementError::UnknownNote {
            idsite,
            idnote: i64::from(idnote),
        })
}

/// The checks of `save` and `delete`: the site, the note, then the right
/// to change it. View access is checked first (Matomo only checks
/// `canEditOrDelete`, which lets an author who lost access to the site
/// learn which notes exist).
fn editable(conn: &mut MysqlConnection, actor: &Principal, idsite: u32, idnote: u32) -> Result<()> {
    actor.check(idsite, Access::View)?;
    find_site(conn, idsite)?;
    let row = find_note(conn, idsite, idnote)?;
    if !can_edit(actor, idsite, &row.login) {
        return Err(ManagementError::NoteNotEditable);
    }
    Ok(())
}

/// Matomo's `filterNote`: cut to 255 characters (254 and `…`), then
/// `Common::sanitizeInputValue`: line breaks removed, entities decoded and
/// `& < > " '` escaped again, NUL bytes dropped. Only the five escapes are
/// decoded (PHP's `html_entity_decode` knows every named entity).
fn filter_note(note: &str) -> String {
    let cut: String = if note.chars().count() > NOTE_MAX_CHARS {
        let mut cut: String = note.chars().take(NOTE_MAX_CHARS - 1).collect();
        cut.push('…');
        cut
    } else {
        note.to_owned()
    };
    let decoded = cut
        .replace(['\n', '\r', '\0'], "")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#039;", "'")
        .replace("&#39;", "'")
        .replace("&apos;", "'")
        .replace("&amp;", "&");
    let mut out = String::with_capacity(decoded.len());
    for c in decoded.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#039;"),
            other => out.push(other),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notes_are_cut_and_escaped_as_matomo_stores_them() {
        assert_eq!(
            filter_note("a <b> & \"c\" 'd'"),
            "a &lt;b&gt; &amp; &quot;c&quot; &#039;d&#039;"
        );
        // Already escaped text is not escaped twice.
        assert_eq!(filter_note("x &amp; y"), "x &amp; y");
        assert_eq!(filter_note("line\r\nbreak"), "linebreak");
        let long = "é".repeat(300);
        let cut = filter_note(&long);
        assert_eq!(cut.chars().count(), 255);
        assert!(cut.ends_with("é…"));
        assert_eq!(filter_note(&"x".repeat(255)), "x".repeat(255));
    }

    #[test]
    fn authors_and_writers_may_edit() {
        let viewer = Principal {
            login: "ann".into(),
            superuser: false,
            sites: [(1, Access::View)].into_iter().collect(),
        };
        assert!(can_edit(&viewer, 1, "ann"));
        assert!(!can_edit(&viewer, 1, "bob"));
        let writer = Principal {
            login: "wes".into(),
            superuser: false,
            sites: [(1, Access::Write)].into_iter().collect(),
        };
        assert!(can_edit(&writer, 1, "bob"));
        assert!(!can_edit(&Principal::anonymous(), 1, "anonymous"));
    }
}
