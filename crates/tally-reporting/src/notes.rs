//! `SegmentEditor.*` and `Annotations.*` over `tally-management`:
//! Matomo's parameters in, Matomo's PHP arrays out.
//!
//! Both plugins answer plain PHP arrays. A single associative array (one
//! segment, one note) is rendered by Matomo's XML as a table of one row
//! (`<result><row>…</row></result>`) but by its JSON as a bare object
//! (`Renderer\Json::renderArray` strips the list around it): [`single`]
//! picks the shape by format.

use diesel::MysqlConnection;
use tally_archiving::SiteInfo;
use tally_archiving::period::{DateSelection, parse_date_param, parse_period_kind};
use tally_datatable::render::{Report, Tree};
use tally_management::{
    self as management, Access, AnnotationView, ManagementError, Principal, SegmentParams,
    SegmentView,
};
use tally_schema::PeriodKind;
use time::{Date, OffsetDateTime};

use crate::ReportingError;
use crate::manage::{id_param, invalid, opt_bool, required};
use crate::output::{Format, Output};
use crate::request::ApiRequest;

type Answer = Result<Output, ReportingError>;

// --- SegmentEditor ------------------------------------------------------------

/// A segment as Matomo's `SegmentEditor` answers it: the table row.
fn segment_tree(s: &SegmentView) -> Vec<(String, Tree)> {
    let opt = |value: &Option<String>| value.clone().map_or(Tree::Null, Tree::Str);
    vec![
        ("idsegment".into(), Tree::Int(i64::from(s.idsegment))),
        ("name".into(), Tree::Str(s.name.clone())),
        ("definition".into(), Tree::Str(s.definition.clone())),
        ("hash".into(), opt(&s.hash)),
        ("login".into(), Tree::Str(s.login.clone())),
        (
            "enable_all_users".into(),
            Tree::Int(i64::from(s.enable_all_users)),
        ),
        (
            "enable_only_idsite".into(),
            Tree::Int(i64::from(s.enable_only_idsite)),
        ),
        ("auto_archive".into(), Tree::Int(i64::from(s.auto_archive))),
        ("ts_created".into(), opt(&s.ts_created)),
        ("ts_last_edit".into(), opt(&s.ts_last_edit)),
        ("deleted".into(), Tree::Int(i64::from(s.deleted))),
    ]
}

/// One associative array: a one-row table in XML (and CSV, TSV, HTML), a
/// bare object in JSON and `format=original`.
fn single(request: &ApiRequest, entries: Vec<(String, Tree)>) -> Answer {
    let assoc = Tree::Assoc(entries);
    let tree = match Format::from_request(request)? {
        Format::Json | Format::Original { .. } => assoc,
        Format::Xml | Format::Csv | Format::Tsv | Format::Html | Format::Rss => {
            Tree::List(vec![assoc])
        }
    };
    Ok(Output::Report(Report::Tree(tree)))
}

fn boolean(value: bool) -> Output {
    Output::Report(Report::Tree(Tree::Bool(value)))
}

/// `idSite` of SegmentEditor: empty, `0` or `false` mean all sites.
fn segment_site(request: &ApiRequest) -> Result<Option<u32>, ReportingError> {
    match request.non_empty("idSite").map(str::trim) {
        None | Some("0" | "false") => Ok(None),
        Some(raw) => raw
            .parse::<u32>()
            .map(Some)
            .map_err(|_| invalid("idSite", "idSite should be a numeric value")),
    }
}

fn segment_params(request: &ApiRequest) -> Result<SegmentParams, ReportingError> {
    // Both are required, but may be empty: Matomo then answers its own
    // messages (an empty name) or, for us, the parser's (an empty definition).
    let present = |name: &str| {
        request
            .get(name)
            .ok_or_else(|| ReportingError::MissingParameter(name.to_owned()))
    };
    Ok(SegmentParams {
        name: present("name")?.to_owned(),
        definition: present("definition")?.to_owned(),
        idsite: segment_site(request)?,
        auto_archive: opt_bool(request, "autoArchive").unwrap_or(false),
        enabled_all_users: opt_bool(request, "enabledAllUsers").unwrap_or(false),
    })
}

fn segment_id(request: &ApiRequest) -> Result<u32, ReportingError> {
    let raw = required(request, "idSegment")?;
    raw.trim()
        .parse::<u32>()
        .map_err(|_| invalid("idSegment", "idSegment should be numeric."))
}

/// `SegmentEditor.add`: the new segment's id.
pub(crate) fn add_segment(
    conn: &mut MysqlConnection,
    actor: &Principal,
    request: &ApiRequest,
    now: OffsetDateTime,
) -> Answer {
    let id = management::add_segment(conn, actor, &segment_params(request)?, now)?;
    Ok(Output::Value(i64::from(id).into()))
}

/// `SegmentEditor.update`: `true`.
pub(crate) fn update_segment(
    conn: &mut MysqlConnection,
    actor: &Principal,
    request: &ApiRequest,
    now: OffsetDateTime,
) -> Answer {
    let id = segment_id(request)?;
    management::update_segment(conn, actor, id, &segment_params(request)?, now)?;
    Ok(boolean(true))
}

/// `SegmentEditor.delete`: `true`.
pub(crate) fn delete_segment(
    conn: &mut MysqlConnection,
    actor: &Principal,
    request: &ApiRequest,
    now: OffsetDateTime,
) -> Answer {
    management::delete_segment(conn, actor, segment_id(request)?, now)?;
    Ok(boolean(true))
}

/// `SegmentEditor.get`: the segment, or `false` when there is none.
pub(crate) fn get_segment(
    conn: &mut MysqlConnection,
    actor: &Principal,
    request: &ApiRequest,
    _: OffsetDateTime,
) -> Answer {
    match management::get_segment(conn, actor, segment_id(request)?)? {
        Some(segment) => single(request, segment_tree(&segment)),
        None => Ok(boolean(false)),
    }
}

/// `SegmentEditor.getAll`: a list of segments.
pub(crate) fn get_all_segments(
    conn: &mut MysqlConnection,
    actor: &Principal,
    request: &ApiRequest,
    _: OffsetDateTime,
) -> Answer {
    let segments = management::get_all_segments(conn, actor, segment_site(request)?)?;
    let rows = segments
        .iter()
        .map(|segment| Tree::Assoc(segment_tree(segment)))
        .collect();
    Ok(Output::Report(Report::Tree(Tree::List(rows))))
}

/// `SegmentEditor.isUserCanAddNewSegment`.
pub(crate) fn can_add_segment(
    _: &mut MysqlConnection,
    actor: &Principal,
    request: &ApiRequest,
    _: OffsetDateTime,
) -> Answer {
    Ok(boolean(management::can_add_segment(
        actor,
        segment_site(request)?,
    )))
}

// --- Annotations --------------------------------------------------------------

fn annotation_tree(note: &AnnotationView) -> Vec<(String, Tree)> {
    let mut entries = vec![
        ("date".into(), Tree::Str(ymd(note.date))),
        ("note".into(), Tree::Str(note.note.clone())),
        ("starred".into(), Tree::Int(i64::from(note.starred))),
    ];
    if let Some(user) = &note.user {
        entries.push(("user".into(), Tree::Str(user.clone())));
    }
    entries.push(("idNote".into(), Tree::Int(i64::from(note.idnote))));
    entries.push((
        "canEditOrDelete".into(),
        Tree::Bool(note.can_edit_or_delete),
    ));
    entries
}

fn ymd(date: Date) -> String {
    format!(
        "{:04}-{:02}-{:02}",
        date.year(),
        u8::from(date.month()),
        date.day()
    )
}

/// The site's current date, for `today`, `yesterday` and `lastN`.
fn site_today(
    conn: &mut MysqlConnection,
    idsite: u32,
    now: OffsetDateTime,
) -> Result<Date, ReportingError> {
    let site = SiteInfo::load(conn, idsite).map_err(|error| match error {
        tally_archiving::ArchiveError::UnknownSite(_) => {
            ReportingError::Management(ManagementError::UnknownSite { idsite })
        }
        other => other.into(),
    })?;
    Ok(site.timezone.local_date(now.unix_timestamp()))
}

/// A note's `date` parameter: one day, in any form the API accepts.
fn note_date(raw: &str, today: Date) -> Result<Date, ReportingError> {
    match parse_date_param(PeriodKind::Day, raw, today)? {
        DateSelection::One(period) => Ok(period.start()),
        DateSelection::Many(_) => Err(invalid("date", format!("'{raw}' is not one day"))),
    }
}

/// `idNote`: Matomo takes any integer; one that is no note's id is the
/// unknown-note error.
fn note_id(request: &ApiRequest, idsite: u32) -> Result<u32, ReportingError> {
    let raw = required(request, "idNote")?;
    let number = raw
        .trim()
        .parse::<i64>()
        .map_err(|_| invalid("idNote", format!("'{raw}' is not an id")))?;
    u32::try_from(number).map_err(|_| {
        ReportingError::Management(ManagementError::UnknownNote {
            idsite,
            idnote: number,
        })
    })
}

/// `Annotations.add`: the new note.
pub(crate) fn add_annotation(
    conn: &mut MysqlConnection,
    actor: &Principal,
    request: &ApiRequest,
    now: OffsetDateTime,
) -> Answer {
    let idsite = id_param(request, "idSite")?;
    let raw_date = required(request, "date")?;
    let note = request
        .get("note")
        .ok_or_else(|| ReportingError::MissingParameter("note".into()))?;
    let starred = opt_bool(request, "starred").unwrap_or(false);
    if actor.is_anonymous() || !actor.can(idsite, Access::View) {
        // Matomo checks the right to add before the site and the date.
        return Err(ManagementError::CannotAddNote { idsite }.into());
    }
    let date = note_date(raw_date, site_today(conn, idsite, now)?)?;
    let added = management::add_annotation(conn, actor, idsite, date, note, starred, now)?;
    single(request, annotation_tree(&added))
}

/// `Annotations.save`: the changed note.
pub(crate) fn save_annotation(
    conn: &mut MysqlConnection,
    actor: &Principal,
    request: &ApiRequest,
    now: OffsetDateTime,
) -> Answer {
    let idsite = id_param(request, "idSite")?;
    let idnote = note_id(request, idsite)?;
    actor.check(idsite, Access::View)?;
    let date = match request.non_empty("date") {
        Some(raw) => Some(note_date(raw, site_today(conn, idsite, now)?)?),
        None => None,
    };
    let saved = management::save_annotation(
        conn,
        actor,
        idsite,
        idnote,
        date,
        request.get("note"),
        opt_bool(request, "starred"),
    )?;
    single(request, annotation_tree(&saved))
}

/// `Annotations.delete`.
pub(crate) fn delete_annotation(
    conn: &mut MysqlConnection,
    actor: &Principal,
    request: &ApiRequest,
    _: OffsetDateTime,
) -> Answer {
    let idsite = id_param(request, "idSite")?;
    let idnote = note_id(request, idsite)?;
    management::delete_annotation(conn, actor, idsite, idnote)?;
    Ok(Output::Success)
}

/// `Annotations.deleteAll`.
pub(crate) fn delete_all_annotations(
    conn: &mut MysqlConnection,
    actor: &Principal,
    request: &ApiRequest,
    _: OffsetDateTime,
) -> Answer {
    management::delete_all_annotations(conn, actor, id_param(request, "idSite")?)?;
    Ok(Output::Success)
}

/// `Annotations.get`: one note.
pub(crate) fn get_annotation(
    conn: &mut MysqlConnection,
    actor: &Principal,
    request: &ApiRequest,
    _: OffsetDateTime,
) -> Answer {
    let idsite = id_param(request, "idSite")?;
    let idnote = note_id(request, idsite)?;
    let note = management::get_annotation(conn, actor, idsite, idnote)?;
    single(request, annotation_tree(&note))
}

/// `idSite` of `getAll` / `getAnnotationCountForDates`: one id, a list,
/// or `all` (the sites the caller views); view access to each.
fn annotation_sites(
    conn: &mut MysqlConnection,
    actor: &Principal,
    request: &ApiRequest,
) -> Result<Vec<u32>, ReportingError> {
    let raw = required(request, "idSite")?.trim();
    let sites = if raw == "all" {
        management::sites_with_access(conn, actor, Access::View)?
    } else {
        raw.split(',')
            .map(str::trim)
            .filter(|part| !part.is_empty())
            .map(|part| {
                part.parse::<u32>()
                    .map_err(|_| invalid("idSite", format!("'{part}' is not an id")))
            })
            .collect::<Result<Vec<_>, _>>()?
    };
    for idsite in &sites {
        actor.check(*idsite, Access::View)?;
    }
    if sites.is_empty() {
        actor.check_somewhere(Access::View)?;
    }
    Ok(sites)
}

/// The dates `date`, `period` and `lastN` cover (Matomo's
/// `Annotations::getDateRangeForPeriod`), and the period kind to count by;
/// `None` without a `date`.
fn date_range(
    request: &ApiRequest,
    today: Date,
) -> Result<Option<(Date, Date, PeriodKind)>, ReportingError> {
    let Some(raw) = request.non_empty("date") else {
        return Ok(None);
    };
    let kind = parse_period_kind(request.non_empty("period").unwrap_or("day"))?;
    let last_n = match request.non_empty("lastN") {
        Some(n) => Some(
            n.trim()
                .parse::<u32>()
                .map_err(|_| invalid("lastN", format!("'{n}' is not a number")))?,
        ),
        None => None,
    };
    // A range, or two dates with another period: from the first day to
    // the last (Matomo splits the string; lastN is ignored).
    if kind == PeriodKind::Range || raw.contains(',') {
        let period = match parse_date_param(PeriodKind::Range, raw, today)? {
            DateSelection::One(period) => period,
            DateSelection::Many(periods) => periods
                .first()
                .copied()
                .ok_or_else(|| invalid("date", format!("'{raw}' selects no period")))?,
        };
        return Ok(Some((period.start(), period.end(), PeriodKind::Day)));
    }
    let selection = parse_date_param(kind, raw, today)?;
    let periods = selection.periods();
    let (Some(first), Some(last)) = (periods.first(), periods.last()) else {
        return Ok(None);
    };
    let mut start = *first;
    if let (DateSelection::One(_), Some(n)) = (&selection, last_n) {
        // The lastN periods ending with the one of `date`.
        for _ in 1..n.max(1) {
            match start.previous() {
                Some(previous) => start = previous,
                None => break,
            }
        }
    }
    Ok(Some((start.start(), last.end(), kind)))
}

/// `Annotations.getAll`: `{idSite: [note, …]}` for the sites with notes
/// in the dates, notes by date.
pub(crate) fn get_all_annotations(
    conn: &mut MysqlConnection,
    actor: &Principal,
    request: &ApiRequest,
    now: OffsetDateTime,
) -> Answer {
    let sites = annotation_sites(conn, actor, request)?;
    let mut entries = Vec::new();
    for idsite in sites {
        let range = date_range(request, site_today(conn, idsite, now)?)?;
        let notes = management::annotations_between(
            conn,
            actor,
            idsite,
            range.map(|(start, end, _)| (start, end)),
        )?;
        if !notes.is_empty() {
            let list = notes
                .iter()
                .map(|note| Tree::Assoc(annotation_tree(note)))
                .collect();
            entries.push((idsite.to_string(), Tree::List(list)));
        }
    }
    Ok(Output::Report(Report::Tree(Tree::Assoc(entries))))
}

/// The date one `kind` after `date` (Matomo's `Date::addPeriod(1, …)`; a
/// month or year from the 29th to 31st lands on the last day that exists).
fn step(date: Date, kind: PeriodKind) -> Option<Date> {
    let add_months = |months: i32| {
        let total = date.year() * 12 + i32::from(u8::from(date.month())) - 1 + months;
        let (year, month) = (total.div_euclid(12), total.rem_euclid(12) + 1);
        let month = time::Month::try_from(u8::try_from(month).ok()?).ok()?;
        let day = date.day().min(month.length(year));
        Date::from_calendar_date(year, month, day).ok()
    };
    match kind {
        PeriodKind::Week => date.checked_add(time::Duration::days(7)),
        PeriodKind::Month => add_months(1),
        PeriodKind::Year => add_months(12),
        _ => date.next_day(),
    }
}

/// `Annotations.getAnnotationCountForDates`: for each site, a list of
/// `[date, {count, starred}]` pairs, one per period from the range's
/// start; `getAnnotationText=1` adds the `note` where a period has exactly
/// one.
pub(crate) fn annotation_counts(
    conn: &mut MysqlConnection,
    actor: &Principal,
    request: &ApiRequest,
    now: OffsetDateTime,
) -> Answer {
    required(request, "date")?;
    required(request, "period")?;
    let with_text = opt_bool(request, "getAnnotationText").unwrap_or(false);
    let sites = annotation_sites(conn, actor, request)?;
    let mut entries = Vec::new();
    for idsite in sites {
        let Some((start, end, kind)) = date_range(request, site_today(conn, idsite, now)?)? else {
            continue;
        };
        // Each period counts the notes up to the next one's start, so the
        // last period runs to its own end even past the range's end.
        let mut bounds = Vec::new();
        let mut cursor = Some(start);
        while let Some(date) = cursor.filter(|date| *date <= end) {
            bounds.push(date);
            cursor = step(date, kind);
        }
        let Some(after) = cursor else {
            return Err(invalid("date", "reaches past the dates we can represent"));
        };
        let last_day = after.previous_day().unwrap_or(after);
        let notes = management::annotations_between(conn, actor, idsite, Some((start, last_day)))?;
        let mut pairs = Vec::with_capacity(bounds.len());
        for (index, from) in bounds.iter().enumerate() {
            let until = bounds.get(index + 1).copied().unwrap_or(after);
            let inside: Vec<&AnnotationView> = notes
                .iter()
                .filter(|note| note.date >= *from && note.date < until)
                .collect();
            let starred = inside.iter().filter(|note| note.starred != 0).count();
            let mut counts = vec![
                (
                    "count".to_owned(),
                    Tree::Int(i64::try_from(inside.len()).unwrap_or(0)),
                ),
                (
                    "starred".to_owned(),
                    Tree::Int(i64::try_from(starred).unwrap_or(0)),
                ),
            ];
            if with_text && let [only] = inside.as_slice() {
                counts.push(("note".to_owned(), Tree::Str(only.note.clone())));
            }
            pairs.push(Tree::List(vec![Tree::Str(ymd(*from)), Tree::Assoc(counts)]));
        }
        entries.push((idsite.to_string(), Tree::List(pairs)));
    }
    Ok(Output::Report(Report::Tree(Tree::Assoc(entries))))
}
