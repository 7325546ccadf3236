//! Stored segments (Matomo's `SegmentEditor` API, table `segment`).
//!
//! A stored segment has a name, a definition, an owner (`login`), a scope
//! (one site, or all sites when `enable_only_idsite` is 0), whether it is
//! shared with every user, and whether it is pre-processed
//! (`auto_archive`: the archiver builds its reports with every period).
//! Deleting only marks the row `deleted = 1`, as Matomo does.
//!
//! Access follows Matomo 5 with its default settings
//! (`adding_segment_requires_access = view`,
//! `allow_adding_segments_for_all_websites = 1`,
//! `enable_create_realtime_segments = 1`):
//! - a signed-in user with view access to a site may add segments for it;
//!   only a super user may add or move one to all sites, or share one
//!   with all users (`enabledAllUsers`);
//! - only the owner or a super user may update or delete a segment;
//! - a user sees their own segments and the shared ones; a super user
//!   sees every segment.
//!
//! Unlike Matomo, adding a pre-processed segment is not refused while
//! browser-triggered archiving is on: `tally-archiver run` archives stored
//! segments whatever the API's setting (docs/MATOMO-DIFFERENCES.md).

use diesel::prelude::*;
use tally_archiving::invalidation;
use tally_archiving::segment::Segment as ParsedSegment;
use tally_archiving::site::SiteInfo;
use tally_schema::models::{NewSegment, Segment, SegmentChanges};
use tally_schema::schema::segment;
use time::{OffsetDateTime, PrimitiveDateTime};

use crate::access::{Access, Principal, sites_with_access};
use crate::sites::find_site;
use crate::support::{db_time, format_db_time};
use crate::{ManagementError, Result};

/// The parameters of `SegmentEditor.add` / `update`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SegmentParams {
    /// `name`: must not be empty.
    pub name: String,
    /// `definition`: a segment definition such as `browserCode==FF`.
    pub definition: String,
    /// `idSite`: the one site the segment is for; `None` (Matomo's
    /// `false`, or 0) for all sites.
    pub idsite: Option<u32>,
    /// `autoArchive`: pre-process the segment's reports.
    pub auto_archive: bool,
    /// `enabledAllUsers`: visible to every user (super user only).
    pub enabled_all_users: bool,
}

impl SegmentParams {
    /// A segment for one site (or all sites), neither pre-processed nor shared.
    pub fn new(
        name: impl Into<String>,
        definition: impl Into<String>,
        idsite: Option<u32>,
    ) -> Self {
        Self {
            name: name.into(),
            definition: definition.into(),
            idsite,
            ..Self::default()
        }
    }
}

/// A stored segment as `SegmentEditor.get`/`getAll` answer it: the row,
/// fields in the table's order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SegmentView {
    /// `idsegment`.
    pub idsegment: u32,
    /// `name`.
    pub name: String,
    /// `definition`, as stored.
    pub definition: String,
    /// `hash`: md5 of the URL-decoded definition (the `done<hash>` of its archives).
    pub hash: Option<String>,
    /// `login`: the owner.
    pub login: String,
    /// `enable_all_users` (0/1).
    pub enable_all_users: i8,
    /// `enable_only_idsite`: the site, 0 for all sites.
    pub enable_only_idsite: i32,
    /// `auto_archive` (0/1).
    pub auto_archive: i8,
    /// `ts_created`, `YYYY-MM-DD HH:MM:SS` UTC.
    pub ts_created: Option<String>,
    /// `ts_last_edit`, `YYYY-MM-DD HH:MM:SS` UTC; `None` until edited.
    pub ts_last_edit: Option<String>,
    /// `deleted` (0/1).
    pub deleted: i8,
}

impl SegmentView {
    fn new(row: Segment) -> Self {
        Self {
            idsegment: u32::try_from(row.idsegment).unwrap_or(0),
            name: row.name,
            definition: row.definition,
            hash: row.hash,
            login: row.login,
            enable_all_users: row.enable_all_users,
            enable_only_idsite: row.enable_only_idsite.unwrap_or(0),
            auto_archive: row.auto_archive,
            ts_created: row.ts_created.map(format_db_time),
            ts_last_edit: row.ts_last_edit.map(format_db_time),
            deleted: row.deleted,
        }
    }

    /// The site the segment is limited to, `None` for all sites.
    pub fn idsite(&self) -> Option<u32> {
        u32::try_from(self.enable_only_idsite)
            .ok()
            .filter(|id| *id > 0)
    }
}

/// Whether `actor` may add segments for `idsite` (`None`: all sites):
/// Matomo's `SegmentEditor.isUserCanAddNewSegment` with its default
/// `adding_segment_requires_access = view`. Anonymous never may.
pub fn can_add_segment(actor: &Principal, idsite: Option<u32>) -> bool {
    if actor.is_anonymous() {
        return false;
    }
    match idsite {
        Some(idsite) => actor.can(idsite, Access::View),
        // Matomo checks view access on "no site", which only a super user has.
        None => actor.superuser,
    }
}

/// Adds a segment owned by `actor` and returns its id. A pre-processed
/// segment also queues its past archives (see
/// [`tally_archiving::invalidation::queue_segment`]).
///
/// # Errors
/// [`ManagementError::SegmentAccess`] for an anonymous user or one without
/// view access to the site; [`ManagementError::SegmentNotEditable`] for
/// an all-sites segment by a non super user;
/// [`ManagementError::SuperUserRequired`] for `enabled_all_users`;
/// [`ManagementError::UnknownSite`]; [`ManagementError::InvalidParameter`]
/// for an empty name; [`ManagementError::InvalidSegment`];
/// [`ManagementError::Archiving`]; [`ManagementError::Db`].
pub fn add_segment(
    conn: &mut MysqlConnection,
    actor: &Principal,
    params: &SegmentParams,
    now: OffsetDateTime,
) -> Result<u32> {
    if !can_add_segment(actor, params.idsite) {
        return Err(ManagementError::SegmentAccess);
    }
    let checked = check(conn, actor, params)?;
    let now = db_time(now);
    conn.transaction(|conn| {
        diesel::insert_into(segment::table)
            .values(NewSegment {
                name: &params.name,
                definition: &checked.definition,
                hash: Some(&checked.hash),
                login: &actor.login,
                enable_all_users: i8::from(params.enabled_all_users),
                enable_only_idsite: Some(checked.site_column),
                auto_archive: i8::from(params.auto_archive),
                ts_created: Some(now),
                ts_last_edit: None,
                deleted: 0,
            })
            .execute(conn)?;
        let id: u64 = diesel::select(last_insert_id()).get_result(conn)?;
        if params.auto_archive {
            queue_archives(conn, params.idsite, &checked.parsed, now)?;
        }
        Ok(u32::try_from(id).unwrap_or(0))
    })
}

diesel::define_sql_function! {
    /// MySQL's `LAST_INSERT_ID()`.
    #[sql_name = "LAST_INSERT_ID"]
    fn last_insert_id() -> diesel::sql_types::Unsigned<diesel::sql_types::BigInt>;
}

/// Replaces a segment's name, definition, site and flags (its owner or a
/// super user). When a pre-processed segment's definition changes, its
/// archives are queued as for a new one: the new definition has a new hash,
/// so none of the old archives apply.
///
/// # Errors
/// As [`get_segment`] and [`add_segment`];
/// [`ManagementError::SegmentNotEditable`] when `actor` is not the owner.
pub fn update_segment(
    conn: &mut MysqlConnection,
    actor: &Principal,
    idsegment: u32,
    params: &SegmentParams,
    now: OffsetDateTime,
) -> Result<()> {
    let current = editable(conn, actor, idsegment)?;
    let checked = check(conn, actor, params)?;
    let now = db_time(now);
    conn.transaction(|conn| {
        diesel::update(segment::table.find(signed(idsegment)?))
            .set(SegmentChanges {
                name: Some(&params.name),
                definition: Some(&checked.definition),
                hash: Some(Some(&checked.hash)),
                enable_all_users: Some(i8::from(params.enabled_all_users)),
                enable_only_idsite: Some(Some(checked.site_column)),
                auto_archive: Some(i8::from(params.auto_archive)),
                ts_last_edit: Some(Some(now)),
                ..SegmentChanges::default()
            })
            .execute(conn)?;
        if params.auto_archive && current.definition != checked.definition {
            queue_archives(conn, params.idsite, &checked.parsed, now)?;
        }
        Ok(())
    })
}

/// Marks a segment deleted (its owner or a super user). Its archives stay
/// until `tally-archiver purge` removes what no segment uses.
///
/// # Errors
/// As [`update_segment`].
pub fn delete_segment(
    conn: &mut MysqlConnection,
    actor: &Principal,
    idsegment: u32,
    now: OffsetDateTime,
) -> Result<()> {
    editable(conn, actor, idsegment)?;
    diesel::update(segment::table.find(signed(idsegment)?))
        .set(SegmentChanges {
            deleted: Some(1),
            ts_last_edit: Some(Some(db_time(now))),
            ..SegmentChanges::default()
        })
        .execute(conn)?;
    Ok(())
}

/// One segment: `None` when no row has this id (Matomo answers `false`).
/// Needs view access to some site; a segment neither shared nor owned by
/// `actor` is only shown to a super user.
///
/// # Errors
/// [`ManagementError::NoAccessToAnySite`];
/// [`ManagementError::SegmentNotEditable`] for another user's unshared
/// segment (Matomo's message); [`ManagementError::SegmentDeleted`];
/// [`ManagementError::Db`].
pub fn get_segment(
    conn: &mut MysqlConnection,
    actor: &Principal,
    idsegment: u32,
) -> Result<Option<SegmentView>> {
    actor.check_somewhere(Access::View)?;
    let Ok(id) = i32::try_from(idsegment) else {
        return Ok(None);
    };
    let row: Option<Segment> = segment::table
        .find(id)
        .select(Segment::as_select())
        .first(conn)
        .optional()?;
    let Some(row) = row else {
        return Ok(None);
    };
    if row.enable_all_users == 0
        && !actor.superuser
        && (actor.is_anonymous() || actor.login != row.login)
    {
        return Err(ManagementError::SegmentNotEditable);
    }
    if row.deleted != 0 {
        return Err(ManagementError::SegmentDeleted);
    }
    Ok(Some(SegmentView::new(row)))
}

/// The name of the first stored segment (by name) with this exact
/// definition, not deleted, whoever owns it and whatever its site
/// (Matomo's `SegmentEditor\Model::getSegmentByDefinition`, which the
/// unprocessed-segment error names the segment by).
///
/// # Errors
/// [`ManagementError::Db`].
pub fn find_segment_name_by_definition(
    conn: &mut MysqlConnection,
    definition: &str,
) -> Result<Option<String>> {
    Ok(segment::table
        .filter(segment::definition.eq(definition))
        .filter(segment::deleted.eq(0))
        .order((segment::name.asc(), segment::idsegment.asc()))
        .select(segment::name)
        .first(conn)
        .optional()?)
}

/// The segments `actor` may use, for `idsite` (its own and the all-sites
/// ones) or for every site (`None`), in Matomo's order: `actor`'s own,
/// then those shared with all users, then (for a super user) everyone
/// else's; by name within each group. A user who is not a super user sees
/// only segments of sites they can view. Segments whose definition no
/// longer parses (a custom dimension removed since) are left out.
///
/// # Errors
/// [`ManagementError::NoAccess`] / [`ManagementError::NoAccessToAnySite`];
/// [`ManagementError::Db`].
pub fn get_all_segments(
    conn: &mut MysqlConnection,
    actor: &Principal,
    idsite: Option<u32>,
) -> Result<Vec<SegmentView>> {
    match idsite {
        Some(idsite) => actor.check(idsite, Access::View)?,
        None => actor.check_somewhere(Access::View)?,
    }
    let mut query = segment::table
        .filter(segment::deleted.eq(0))
        .select(Segment::as_select())
        .order((segment::name.asc(), segment::idsegment.asc()))
        .into_boxed();
    if let Some(idsite) = idsite {
        let site = i32::try_from(idsite).map_err(|_| ManagementError::UnknownSite { idsite })?;
        query = query.filter(
            segment::enable_only_idsite
                .eq(site)
                .or(segment::enable_only_idsite.eq(0))
                .or(segment::enable_only_idsite.is_null()),
        );
    }
    if !actor.superuser {
        query = query.filter(
            segment::enable_all_users
                .eq(1)
                .or(segment::login.eq(actor.login.clone())),
        );
    }
    let rows: Vec<Segment> = query.load(conn)?;
    let visible: Vec<u32> = if actor.superuser {
        Vec::new()
    } else {
        sites_with_access(conn, actor, Access::View)?
    };
    let mut contexts: std::collections::BTreeMap<u32, Option<SiteInfo>> = Default::default();
    let mut segments = Vec::with_capacity(rows.len());
    for row in rows {
        let view = SegmentView::new(row);
        if let Some(site) = view.idsite()
            && !actor.superuser
            && !visible.contains(&site)
        {
            continue;
        }
        // Parsed with the site's names (custom dimensions) where there is one.
        let parsed = match idsite.or(view.idsite()) {
            Some(site) => {
                let info = contexts
                    .entry(site)
                    .or_insert_with(|| SiteInfo::load(conn, site).ok());
                match info {
                    Some(info) => info.parse_segment(&view.definition).is_ok(),
                    None => false,
                }
            }
            None => ParsedSegment::parse(&view.definition).is_ok(),
        };
        if parsed {
            segments.push(view);
        }
    }
    // Stable sorts keep the name order inside each group.
    let group = |s: &SegmentView| {
        if !actor.is_anonymous() && s.login == actor.login {
            0
        } else if s.enable_all_users == 1 {
            1
        } else {
            2
        }
    };
    segments.sort_by_key(group);
    Ok(segments)
}

/// A segment's checked values, ready for the table.
struct Checked {
    definition: String,
    hash: String,
    parsed: ParsedSegment,
    /// `enable_only_idsite`: the site or 0.
    site_column: i32,
}

/// Matomo's checks of `add`/`update`, in its order: site, name,
/// definition, sharing, pre-processing.
fn check(conn: &mut MysqlConnection, actor: &Principal, params: &SegmentParams) -> Result<Checked> {
    let site_column = match params.idsite {
        None => {
            if !actor.superuser {
                return Err(ManagementError::SegmentNotEditable);
            }
            0
        }
        Some(idsite) => {
            actor.check(idsite, Access::View)?;
            find_site(conn, idsite)?;
            i32::try_from(idsite).map_err(|_| ManagementError::UnknownSite { idsite })?
        }
    };
    if params.name.is_empty() {
        return Err(ManagementError::invalid(
            "name",
            "Invalid name for this custom segment.",
        ));
    }
    let definition = normalize_definition(&params.definition);
    let parsed = match params.idsite {
        Some(idsite) => SiteInfo::load(conn, idsite)
            .map_err(|error| ManagementError::InvalidSegment {
                reason: error.to_string(),
            })?
            .parse_segment(&definition),
        None => ParsedSegment::parse(&definition),
    }
    .map_err(|error| ManagementError::InvalidSegment {
        reason: error.to_string(),
    })?;
    if parsed.is_empty() {
        // Matomo stores an empty definition, which then selects every
        // visit under a segment's name; we refuse it.
        return Err(ManagementError::InvalidSegment {
            reason: "the definition is empty".to_owned(),
        });
    }
    if params.enabled_all_users && !actor.superuser {
        return Err(ManagementError::SharingRequiresSuperUser);
    }
    if params.auto_archive && params.idsite.is_none() && !actor.superuser {
        return Err(ManagementError::AllSitesPreProcessingRequiresSuperUser);
    }
    Ok(Checked {
        hash: parsed.hash(),
        definition,
        parsed,
        site_column,
    })
}

/// The definition as Matomo stores it (`checkSegmentValue`): `#`, `'` and
/// `&`, which a URL would cut or a browser not encode, percent-encoded.
/// The parser decodes them back, and the hash (md5 of the decoded text) is
/// the one of the definition as typed.
fn normalize_definition(definition: &str) -> String {
    definition
        .replace('#', "%23")
        .replace('\'', "%27")
        .replace('&', "%26")
}

/// The segment, if `actor` may change it: Matomo's `getSegmentOrFail` then
/// `checkUserCanEditOrDeleteSegment`.
fn editable(conn: &mut MysqlConnection, actor: &Principal, idsegment: u32) -> Result<SegmentView> {
    let found = get_segment(conn, actor, idsegment)?
        .ok_or(ManagementError::UnknownSegment { idsegment })?;
    if actor.superuser {
        return Ok(found);
    }
    if actor.is_anonymous() {
        return Err(ManagementError::SignInRequired);
    }
    if found.login != actor.login {
        return Err(ManagementError::SegmentNotEditable);
    }
    Ok(found)
}

fn signed(idsegment: u32) -> Result<i32> {
    i32::try_from(idsegment).map_err(|_| ManagementError::UnknownSegment { idsegment })
}

/// Queues a pre-processed segment's past archives on its site, or on every
/// site for an all-sites segment.
fn queue_archives(
    conn: &mut MysqlConnection,
    idsite: Option<u32>,
    segment: &ParsedSegment,
    now: PrimitiveDateTime,
) -> Result<()> {
    let sites = match idsite {
        Some(idsite) => vec![idsite],
        None => SiteInfo::all_ids(conn).map_err(ManagementError::Archiving)?,
    };
    for idsite in sites {
        let site = SiteInfo::load(conn, idsite).map_err(ManagementError::Archiving)?;
        // An all-sites definition may use names one site lacks.
        let Ok(parsed) = site.parse_segment(segment.definition()) else {
            continue;
        };
        invalidation::queue_segment(conn, &site, &parsed, now)
            .map_err(ManagementError::Archiving)?;
    }
    Ok(())
}
