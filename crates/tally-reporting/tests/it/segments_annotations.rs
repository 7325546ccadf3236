//! SegmentEditor and Annotations through the API: round trips, Matomo's
//! access rules and answer shapes, and a pre-processed segment added by
//! the API that the archiver then builds.

use diesel::prelude::*;
use serde_json::{Value, json};

use crate::common::{Fixture, encode};

impl Fixture {
    /// A JSON call with `token`.
    async fn json_as(&self, token: &str, query: &str) -> anyhow::Result<Value> {
        let answer = self
            .call(&format!("{query}&format=json&token_auth={token}"))
            .await?;
        assert_eq!(answer.status, 200, "{query}: {}", answer.text());
        Ok(serde_json::from_slice(&answer.body)?)
    }

    /// The error message of a call with `token` that must fail (answered
    /// 200, or 401 for missing access).
    async fn error_as(&self, token: &str, query: &str) -> anyhow::Result<String> {
        let answer = self
            .call(&format!("{query}&format=json&token_auth={token}"))
            .await?;
        let value: Value = serde_json::from_slice(&answer.body)?;
        assert_eq!(value["result"], "error", "{query}: {value}");
        Ok(value["message"].as_str().unwrap_or_default().to_owned())
    }
}

const CANNOT_EDIT: &str = "You can only edit and delete custom segments that you have created yourself. This segment was created and 'shared with you' by the Super User. To modify this segment, you can first create a new one by clicking on 'Add new segment'. Then you can customize the segment's definition.";

#[tokio::test(flavor = "multi_thread")]
async fn a_segment_is_added_read_updated_and_deleted() -> anyhow::Result<()> {
    let f = Fixture::new().await?;
    let view = f.tokens.view.clone();
    let definition = encode("browserCode==FF;pageUrl=@/products#x");
    let id = f
        .json_as(
            &view,
            &format!("method=SegmentEditor.add&name=Firefox&definition={definition}&idSite=1"),
        )
        .await?;
    assert_eq!(id, json!({"value": 1}));

    let got = f
        .json_as(&view, "method=SegmentEditor.get&idSegment=1")
        .await?;
    // `#` is stored encoded, as Matomo's checkSegmentValue does; the hash
    // is md5 of the decoded definition.
    assert_eq!(got["definition"], "browserCode==FF;pageUrl=@/products%23x");
    let parsed = tally_archiving::segment::Segment::parse("browserCode==FF;pageUrl=@/products#x")?;
    assert_eq!(got["hash"], json!(parsed.hash()));
    assert_eq!(got["idsegment"], 1);
    assert_eq!(got["name"], "Firefox");
    assert_eq!(got["login"], "viewer");
    assert_eq!(got["enable_all_users"], 0);
    assert_eq!(got["enable_only_idsite"], 1);
    assert_eq!(got["auto_archive"], 0);
    assert_eq!(got["ts_last_edit"], Value::Null);
    assert_eq!(got["deleted"], 0);
    assert_eq!(got["ts_created"].as_str().map(str::len), Some(19));

    // XML shows the one segment as a table of one row.
    let xml = f
        .get("method=SegmentEditor.get&idSegment=1&format=xml")
        .await?
        .text();
    assert!(xml.starts_with("<?xml version=\"1.0\" encoding=\"utf-8\" ?>\n<result>\n\t<row>\n\t\t<idsegment>1</idsegment>\n\t\t<name>Firefox</name>"), "{xml}");
    assert!(
        xml.contains("<ts_last_edit />") || xml.contains("<ts_last_edit/>"),
        "{xml}"
    );

    let updated = f
        .json_as(
            &view,
            &format!(
                "method=SegmentEditor.update&idSegment=1&name=Chrome&definition={}&idSite=1",
                encode("browserCode==CH")
            ),
        )
        .await?;
    assert_eq!(updated, json!({"value": true}));
    let all = f
        .json_as(&view, "method=SegmentEditor.getAll&idSite=1")
        .await?;
    assert_eq!(all.as_array().map(Vec::len), Some(1));
    assert_eq!(all[0]["name"], "Chrome");
    assert_eq!(all[0]["definition"], "browserCode==CH");
    assert_eq!(all[0]["ts_last_edit"].as_str().map(str::len), Some(19));

    assert_eq!(
        f.json_as(&view, "method=SegmentEditor.delete&idSegment=1")
            .await?,
        json!({"value": true})
    );
    assert_eq!(
        f.error_as(&view, "method=SegmentEditor.get&idSegment=1")
            .await?,
        "This segment is marked as deleted. "
    );
    assert_eq!(
        f.json_as(&view, "method=SegmentEditor.getAll").await?,
        json!([])
    );
    assert_eq!(
        f.json_as(&view, "method=SegmentEditor.get&idSegment=99")
            .await?,
        json!({"value": false})
    );
    assert_eq!(
        f.error_as(&view, "method=SegmentEditor.delete&idSegment=99")
            .await?,
        "Requested segment not found"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn segment_access_follows_matomo() -> anyhow::Result<()> {
    let f = Fixture::new().await?;
    let t = &f.tokens;
    let def = encode("visitCount<2");
    // A viewer may not share a segment, nor add one for every site.
    assert_eq!(
        f.error_as(
            &t.view,
            &format!("method=SegmentEditor.add&name=a&definition={def}&idSite=1&enabledAllUsers=1")
        )
        .await?,
        "enabledAllUsers=1 requires Super User access"
    );
    assert_eq!(
        f.error_as(
            &t.view,
            &format!("method=SegmentEditor.add&name=a&definition={def}")
        )
        .await?,
        "You don't have the required access level to create and edit segments."
    );
    // Nor can a user add one for a site they cannot view, or anonymously.
    assert_eq!(
        f.error_as(
            &t.other_site,
            &format!("method=SegmentEditor.add&name=a&definition={def}&idSite=1")
        )
        .await?,
        "You don't have the required access level to create and edit segments."
    );
    assert_eq!(
        f.error_as(
            "anonymous",
            &format!("method=SegmentEditor.add&name=a&definition={def}&idSite=1")
        )
        .await?,
        "You don't have the required access level to create and edit segments."
    );
    assert_eq!(
        f.json_as(
            &t.view,
            "method=SegmentEditor.isUserCanAddNewSegment&idSite=1"
        )
        .await?,
        json!({"value": true})
    );
    assert_eq!(
        f.json_as(
            &t.other_site,
            "method=SegmentEditor.isUserCanAddNewSegment&idSite=1"
        )
        .await?,
        json!({"value": false})
    );

    // The viewer's own segment: hidden from others, editable only by them
    // and the super user.
    f.json_as(
        &t.view,
        &format!("method=SegmentEditor.add&name=mine&definition={def}&idSite=1"),
    )
    .await?;
    assert_eq!(
        f.error_as(&t.write, "method=SegmentEditor.get&idSegment=1")
            .await?,
        CANNOT_EDIT
    );
    assert_eq!(
        f.error_as(&t.admin, "method=SegmentEditor.delete&idSegment=1")
            .await?,
        CANNOT_EDIT
    );
    assert_eq!(
        f.json_as(&t.write, "method=SegmentEditor.getAll&idSite=1")
            .await?,
        json!([])
    );
    // A super user's shared segment is visible to the viewer, not editable.
    f.json_as(
        &t.superuser,
        &format!(
            "method=SegmentEditor.add&name=shared&definition={}&idSite=1&enabledAllUsers=1",
            encode("countryCode!=fr")
        ),
    )
    .await?;
    assert_eq!(
        f.error_as(
            &t.view,
            &format!("method=SegmentEditor.update&idSegment=2&name=x&definition={def}&idSite=1")
        )
        .await?,
        CANNOT_EDIT
    );
    let names = |value: &Value| -> Vec<String> {
        value
            .as_array()
            .map(|rows| {
                rows.iter()
                    .map(|r| r["name"].as_str().unwrap_or("").to_owned())
                    .collect()
            })
            .unwrap_or_default()
    };
    assert_eq!(
        names(&f.json_as(&t.view, "method=SegmentEditor.getAll").await?),
        ["mine", "shared"]
    );
    assert_eq!(
        names(&f.json_as(&t.write, "method=SegmentEditor.getAll").await?),
        ["shared"]
    );
    // The other site's admin sees neither: both are site 1's.
    assert_eq!(
        names(
            &f.json_as(&t.other_site, "method=SegmentEditor.getAll")
                .await?
        ),
        Vec::<String>::new()
    );
    assert_eq!(
        f.json_as(&t.superuser, "method=SegmentEditor.delete&idSegment=1")
            .await?,
        json!({"value": true})
    );
    Ok(())
}

/// Matomo's ApiTest ordering: own segments, then shared ones, then (for a
/// super user) the others', by name within each group.
#[tokio::test(flavor = "multi_thread")]
async fn get_all_sorts_own_then_shared_then_others() -> anyhow::Result<()> {
    let f = Fixture::new().await?;
    let t = &f.tokens;
    let add = |name: &str, site: &str, shared: bool| {
        format!(
            "method=SegmentEditor.add&name={name}&definition={}&idSite={site}&enabledAllUsers={}",
            encode("visitCount<2"),
            u8::from(shared)
        )
    };
    f.json_as(&t.admin, &add("m-zeta", "1", false)).await?;
    f.json_as(&t.superuser, &add("s-all", "0", true)).await?;
    f.json_as(&t.admin, &add("m-alpha", "1", false)).await?;
    f.json_as(&t.view, &add("v-own", "1", false)).await?;
    f.json_as(&t.superuser, &add("s-hidden", "0", false))
        .await?;
    let names = |value: Value| -> Vec<String> {
        value
            .as_array()
            .map(|rows| {
                rows.iter()
                    .map(|r| r["name"].as_str().unwrap_or("").to_owned())
                    .collect()
            })
            .unwrap_or_default()
    };
    assert_eq!(
        names(
            f.json_as(&t.admin, "method=SegmentEditor.getAll&idSite=1")
                .await?
        ),
        ["m-alpha", "m-zeta", "s-all"]
    );
    assert_eq!(
        names(
            f.json_as(&t.superuser, "method=SegmentEditor.getAll")
                .await?
        ),
        ["s-all", "s-hidden", "m-alpha", "m-zeta", "v-own"]
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn an_invalid_definition_is_an_error_answer() -> anyhow::Result<()> {
    let f = Fixture::new().await?;
    for (definition, message) in [
        (
            "nosuchsegment==1",
            "The specified segment is invalid: segment &quot;nosuchsegment&quot; is not a supported segment",
        ),
        (
            "visitCount",
            "The specified segment is invalid: segment condition &quot;visitCount&quot; is not valid: it has no operator (==, !=, &lt;=, &gt;=, &lt;, &gt;, =@, !@, =^, =$)",
        ),
        (
            "",
            "The specified segment is invalid: the definition is empty",
        ),
    ] {
        let answer = f
            .get(&format!(
                "method=SegmentEditor.add&name=x&idSite=1&format=json&definition={}",
                encode(definition)
            ))
            .await?;
        assert_eq!(answer.status, 200, "{definition}");
        let value: Value = serde_json::from_slice(&answer.body)?;
        assert_eq!(value["result"], "error", "{definition}: {value}");
        assert_eq!(value["message"], message, "{definition}");
    }
    let answer = f
        .get("method=SegmentEditor.add&name=&idSite=1&format=json&definition=visitCount%3D%3D1")
        .await?;
    assert_eq!(
        answer.text(),
        r#"{"result":"error","message":"Invalid name for this custom segment."}"#
    );
    let answer = f
        .get("method=SegmentEditor.add&idSite=1&format=json&definition=visitCount%3D%3D1")
        .await?;
    assert_eq!(
        answer.text(),
        r#"{"result":"error","message":"Please specify a value for 'name'."}"#
    );
    Ok(())
}

/// A pre-processed segment added through the API queues its past months
/// and years; the archiver builds them (and the days under them), and the
/// API serves the report of that segment from those archives.
#[tokio::test(flavor = "multi_thread")]
async fn an_auto_archive_segment_is_archived_by_the_archiver() -> anyhow::Result<()> {
    let f = Fixture::new().await?;
    let raw = "referrerType==search";
    let segment = tally_archiving::segment::Segment::parse(raw)?;
    let mut conn = f.db.conn()?;
    // The tracker queued the fixture's days as late data (they are before
    // the real today); this test is about the segment's own rows.
    diesel::sql_query("DELETE FROM archive_invalidations").execute(&mut conn)?;
    f.json_as(
        &f.tokens.superuser,
        &format!(
            "method=SegmentEditor.add&name=Search&definition={}&idSite=1&autoArchive=1",
            encode(raw)
        ),
    )
    .await?;

    #[derive(QueryableByName, Debug, PartialEq)]
    struct Queued {
        #[diesel(sql_type = diesel::sql_types::Text)]
        name: String,
        #[diesel(sql_type = diesel::sql_types::Unsigned<diesel::sql_types::TinyInt>)]
        period: u8,
        #[diesel(sql_type = diesel::sql_types::Date)]
        date1: time::Date,
    }
    let queued: Vec<Queued> = diesel::sql_query(
        "SELECT name, period, date1 FROM archive_invalidations WHERE idsite = 1 ORDER BY period, date1",
    )
    .load(&mut conn)?;
    // The site's first visit is on 2026-11-10, the API's clock in 2026-11.
    assert_eq!(
        queued,
        [
            Queued {
                name: segment.done_flag(),
                period: 3,
                date1: time::macros::date!(2026 - 11 - 01)
            },
            Queued {
                name: segment.done_flag(),
                period: 4,
                date1: time::macros::date!(2026 - 01 - 01)
            },
        ]
    );

    let plan = tally_archiving::scheduler::RunPlan {
        sites: vec![1],
        periods: Vec::new(),
        concurrency: 1,
        ..Default::default()
    };
    let report = tally_archiving::scheduler::run(
        &f.db.pool()?,
        &tally_archiving::Registry::core(),
        &tally_archiving::ArchivingConfig::default(),
        &plan,
        &tally_archiving::scheduler::Silent,
    )?;
    let built: Vec<String> = report
        .jobs
        .iter()
        .map(|job| format!("{} {:?}", job.describe(), job.result))
        .collect();
    assert_eq!(
        built,
        [
            "site 1 month 2026-11-01,2026-11-30 segment referrerType==search Ok(true)".to_owned(),
            "site 1 year 2026-01-01,2026-12-31 segment referrerType==search Ok(true)".to_owned(),
        ],
        "{built:?}"
    );

    #[derive(QueryableByName)]
    struct Count {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let done = |period: u8| {
        diesel::sql_query(
            "SELECT COUNT(*) AS n FROM archive_numeric_2026_11 WHERE idsite = 1 AND name = ? AND period = ? AND value = 1",
        )
        .bind::<diesel::sql_types::Text, _>(segment.done_flag())
        .bind::<diesel::sql_types::Unsigned<diesel::sql_types::TinyInt>, _>(period)
    };
    // The month and each of its days up to today.
    assert_eq!(done(3).get_result::<Count>(&mut conn)?.n, 1);
    assert!(done(1).get_result::<Count>(&mut conn)?.n >= 16);
    let left: Count = diesel::sql_query("SELECT COUNT(*) AS n FROM archive_invalidations")
        .get_result(&mut conn)?;
    assert_eq!(left.n, 0);

    // Visitor A came from Google on 2026-11-10: one visit, three actions.
    let summary = f
        .json_as(
            &f.tokens.view,
            &format!(
                "method=VisitsSummary.get&idSite=1&period=month&date=2026-11-10&segment={}",
                encode(raw)
            ),
        )
        .await?;
    assert_eq!(summary["nb_visits"], 1);
    assert_eq!(summary["nb_actions"], 3);
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn annotations_round_trip_in_matomos_shapes() -> anyhow::Result<()> {
    let f = Fixture::new().await?;
    let t = &f.tokens;
    let added = f
        .json_as(
            &t.view,
            "method=Annotations.add&idSite=1&date=2026-11-10&note=Launch%20%3Cb%3E&starred=1",
        )
        .await?;
    assert_eq!(
        added,
        json!({"date": "2026-11-10", "note": "Launch <b>", "starred": 1, "user": "viewer", "idNote": 0, "canEditOrDelete": true})
    );
    for (date, note) in [
        ("2026-11-02", "early"),
        ("2026-11-11", "later"),
        ("2026-10-30", "october"),
    ] {
        f.json_as(
            &t.superuser,
            &format!("method=Annotations.add&idSite=1&date={date}&note={note}"),
        )
        .await?;
    }
    // Ids in order of adding; the list in order of date.
    let all = f
        .json_as(
            &t.view,
            "method=Annotations.getAll&idSite=1&date=2026-11-10&period=month",
        )
        .await?;
    let ids: Vec<i64> = all["1"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|n| n["idNote"].as_i64().unwrap_or(-1))
        .collect();
    assert_eq!(ids, [1, 0, 2]);
    assert_eq!(all["1"][0]["canEditOrDelete"], false);
    assert_eq!(all["1"][1]["canEditOrDelete"], true);

    let xml = f
        .get("method=Annotations.get&idSite=1&idNote=2&format=xml")
        .await?
        .text();
    assert_eq!(
        xml,
        "<?xml version=\"1.0\" encoding=\"utf-8\" ?>\n<result>\n\t<row>\n\t\t<date>2026-11-11</date>\n\t\t<note>later</note>\n\t\t<starred>0</starred>\n\t\t<user>root</user>\n\t\t<idNote>2</idNote>\n\t\t<canEditOrDelete>1</canEditOrDelete>\n\t</row>\n</result>"
    );
    let xml = f
        .get("method=Annotations.getAnnotationCountForDates&idSite=1&date=2026-11-01&period=month&format=xml")
        .await?
        .text();
    assert_eq!(
        xml,
        "<?xml version=\"1.0\" encoding=\"utf-8\" ?>\n<result>\n\t<row key=\"1\">\n\t\t<row>\n\t\t\t<row>2026-11-01</row>\n\t\t\t<row>\n\t\t\t\t<count>3</count>\n\t\t\t\t<starred>1</starred>\n\t\t\t</row>\n\t\t</row>\n\t</row>\n</result>"
    );
    // Weeks: three weeks back from the week of 2026-11-11 (a Wednesday).
    let counts = f
        .json_as(
            &t.view,
            "method=Annotations.getAnnotationCountForDates&idSite=1&date=2026-11-11&period=week&lastN=3&getAnnotationText=1",
        )
        .await?;
    assert_eq!(
        counts,
        json!({"1": [
            ["2026-10-26", {"count": 1, "starred": 0, "note": "october"}],
            ["2026-11-02", {"count": 1, "starred": 0, "note": "early"}],
            ["2026-11-09", {"count": 2, "starred": 1}],
        ]})
    );
    let counts = f
        .json_as(&t.view, "method=Annotations.getAnnotationCountForDates&idSite=1&date=2026-11-02&period=day&getAnnotationText=1")
        .await?;
    assert_eq!(
        counts,
        json!({"1": [["2026-11-02", {"count": 1, "starred": 0, "note": "early"}]]})
    );

    // Only the author or a writer changes a note.
    assert_eq!(
        f.error_as(
            &t.view,
            "method=Annotations.save&idSite=1&idNote=1&note=mine"
        )
        .await?,
        "You cannot modify this annotation, because you did not create it, nor do you have admin access for this site."
    );
    let saved = f
        .json_as(
            &t.write,
            "method=Annotations.save&idSite=1&idNote=1&note=edited&starred=1",
        )
        .await?;
    assert_eq!(saved["note"], "edited");
    assert_eq!(saved["date"], "2026-11-02");
    assert_eq!(saved["starred"], 1);
    assert_eq!(saved["user"], "root");
    let saved = f
        .json_as(
            &t.view,
            "method=Annotations.save&idSite=1&idNote=0&date=2026-11-12",
        )
        .await?;
    assert_eq!(saved["note"], "Launch <b>");
    assert_eq!(saved["date"], "2026-11-12");
    assert_eq!(
        f.error_as(&t.view, "method=Annotations.delete&idSite=1&idNote=3")
            .await?,
        "You cannot modify this annotation, because you did not create it, nor do you have admin access for this site."
    );
    assert_eq!(
        f.json_as(&t.view, "method=Annotations.delete&idSite=1&idNote=0")
            .await?,
        json!({"result": "success", "message": "ok"})
    );
    assert_eq!(
        f.error_as(&t.view, "method=Annotations.get&idSite=1&idNote=0")
            .await?,
        "There is no note with id '0' for site with id '1'."
    );
    assert_eq!(
        f.error_as(&t.view, "method=Annotations.get&idSite=1&idNote=-1")
            .await?,
        "There is no note with id '-1' for site with id '1'."
    );
    // A new note takes the highest id + 1.
    let again = f
        .json_as(
            &t.write,
            "method=Annotations.add&idSite=1&date=today&note=n",
        )
        .await?;
    assert_eq!(again["idNote"], 4);
    assert_eq!(again["date"], "2026-11-16");

    // Others: no view access, anonymous, deleteAll without super user.
    assert_eq!(
        f.error_as(
            &t.other_site,
            "method=Annotations.add&idSite=1&date=2026-11-10&note=x"
        )
        .await?,
        "The current user is not allowed to add notes for site #1."
    );
    assert_eq!(
        f.error_as(&t.other_site, "method=Annotations.getAll&idSite=1")
            .await?,
        "You can't access this resource as it requires 'view' access for the website id = 1."
    );
    assert_eq!(
        f.error_as(&t.admin, "method=Annotations.deleteAll&idSite=1")
            .await?,
        "You can't access this resource as it requires a 'superuser' access."
    );
    f.json_as(
        &t.superuser,
        "method=Annotations.add&idSite=2&date=2026-11-10&note=blog",
    )
    .await?;
    let both = f
        .json_as(&t.superuser, "method=Annotations.getAll&idSite=all")
        .await?;
    assert_eq!(both["1"].as_array().map(Vec::len), Some(4));
    assert_eq!(both["2"][0]["note"], "blog");
    f.json_as(&t.superuser, "method=Annotations.deleteAll&idSite=1")
        .await?;
    assert_eq!(
        f.json_as(&t.superuser, "method=Annotations.getAll&idSite=1,2")
            .await?,
        json!({"2": [{"date": "2026-11-10", "note": "blog", "starred": 0, "user": "root", "idNote": 0, "canEditOrDelete": true}]})
    );
    Ok(())
}
