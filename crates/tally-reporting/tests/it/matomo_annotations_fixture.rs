//! Matomo's `AnnotationsTest` (plugins/Annotations/tests/System in
//! matomo-org/matomo) on its fixture `TwoSitesWithAnnotations`: two sites
//! (created 2011-01-01, ecommerce), and from 2011-12-01 until 2012-03-01
//! two notes a week on each site, on the Thursday and the Friday, numbered
//! 0 to 25 in order and starred every third (0, 3, 6, ...), their text
//! `"<n>: Site <site> annotation for <date>"`; the API answered at Matomo's
//! mocked clock, 2012-03-03 12:00 UTC.

use serde_json::{Value, json};
use tally_db::test_support::TestDb;
use tally_management::{self as management, NewSiteParams, Principal};
use time::macros::datetime;
use time::{Date, Duration};

use crate::common::{FixtureApi, reporting_api, user_with_token};

/// Tokens of the users of the permission checks.
struct Users {
    /// View access to site 1.
    view: String,
    /// Admin access to site 1.
    admin: String,
    /// View access to site 2 only.
    none: String,
}

/// The notes' dates: a Thursday and the Friday after, weekly from
/// 2011-12-01 while before 2012-03-01.
fn note_dates() -> Vec<Date> {
    let mut dates = Vec::new();
    let mut day = time::macros::date!(2011 - 12 - 01);
    while day < time::macros::date!(2012 - 03 - 01) {
        dates.push(day);
        dates.push(day + Duration::days(1));
        day += Duration::weeks(1);
    }
    dates
}

/// The two sites, the super user `superUserLogin` (the login of Matomo's
/// test super user, so that `user` reads as in Matomo's files), the notes
/// added through the API, and the users of the permission checks.
async fn fixture() -> anyhow::Result<(TestDb, FixtureApi, Users)> {
    let db = TestDb::new()?;
    let (token, users) = {
        let mut conn = db.conn()?;
        let root = Principal::super_user("test");
        for _ in 0..2 {
            let params = NewSiteParams {
                timezone: Some("UTC".to_owned()),
                start_date: Some(datetime!(2011-01-01 00:11:42)),
                ecommerce: Some(true),
                ..NewSiteParams::new("Piwik test", ["http://piwik.net/"])
            };
            management::add_site(&mut conn, &root, &params)?;
        }
        let token = user_with_token(&mut conn, "superUserLogin", None)?;
        let users = Users {
            view: user_with_token(&mut conn, "user01", Some(("view", 1)))?,
            admin: user_with_token(&mut conn, "user11", Some(("admin", 1)))?,
            none: user_with_token(&mut conn, "user00", Some(("view", 2)))?,
        };
        (token, users)
    };
    let api = FixtureApi {
        api: reporting_api(&db)?,
        token,
        now: datetime!(2012-03-03 12:00 UTC),
    };
    for (count, date) in note_dates().into_iter().enumerate() {
        let starred = u8::from(count.is_multiple_of(3));
        for site in 1..=2 {
            let note = format!("{count}: Site {site} annotation for {date}");
            let added = api
                .json(&format!(
                    "method=Annotations.add&idSite={site}&date={date}&note={}&starred={starred}",
                    crate::common::encode(&note)
                ))
                .await?;
            assert_eq!(added["idNote"], count, "{note}");
        }
    }
    Ok((db, api, users))
}

/// A note of site `site` as `getAll` and `get` list it.
fn note(site: u32, id: usize) -> Value {
    let date = note_dates()[id];
    json!({
        "date": date.to_string(),
        "note": format!("{id}: Site {site} annotation for {date}"),
        "starred": u8::from(id.is_multiple_of(3)),
        "user": "superUserLogin",
        "idNote": id,
        "canEditOrDelete": true,
    })
}

/// Notes `ids` of site `site`, in order.
fn notes(site: u32, ids: std::ops::RangeInclusive<usize>) -> Value {
    Value::Array(ids.map(|id| note(site, id)).collect())
}

/// `getAnnotationCountForDates` rows: `[date, {count, starred}]`.
fn counts(rows: &[(&str, u32, u32)]) -> Value {
    Value::Array(
        rows.iter()
            .map(|(date, count, starred)| json!([date, {"count": count, "starred": starred}]))
            .collect(),
    )
}

/// The days of `from..=to` with no note, counted as 0, and the given
/// days with theirs.
fn daily(from: Date, to: Date, notes: &[(&str, u32, u32)]) -> Value {
    let mut rows = Vec::new();
    let mut day = from;
    while day <= to {
        let text = day.to_string();
        let (count, starred) = notes
            .iter()
            .find(|(date, _, _)| *date == text)
            .map_or((0, 0), |(_, count, starred)| (*count, *starred));
        rows.push(json!([text, {"count": count, "starred": starred}]));
        day += Duration::days(1);
    }
    Value::Array(rows)
}

#[tokio::test(flavor = "multi_thread")]
async fn annotations_get_and_get_all_match_matomo() -> anyhow::Result<()> {
    let (_db, api, _) = fixture().await?;
    // test_annotations__Annotations.get: note 1 of site 1.
    assert_eq!(
        api.json("method=Annotations.get&idSite=1&date=2012-01-01&period=day&idNote=1")
            .await?,
        note(1, 1)
    );
    assert_eq!(
        api.xml("method=Annotations.get&idSite=1&date=2012-01-01&period=day&idNote=1")
            .await?,
        "<?xml version=\"1.0\" encoding=\"utf-8\" ?>\n<result>\n\t<row>\n\t\t<date>2011-12-02</date>\n\t\t<note>1: Site 1 annotation for 2011-12-02</note>\n\t\t<starred>0</starred>\n\t\t<user>superUserLogin</user>\n\t\t<idNote>1</idNote>\n\t\t<canEditOrDelete>1</canEditOrDelete>\n\t</row>\n</result>"
    );
    let all = |query: &'static str| {
        let api = &api;
        async move {
            api.json(&format!("method=Annotations.getAll&{query}"))
                .await
        }
    };
    // getAll_day / _week / _month from 2011-12-01, _year of 2012.
    assert_eq!(
        all("idSite=1&date=2011-12-01&period=day").await?,
        json!({"1": notes(1, 0..=0)})
    );
    assert_eq!(
        all("idSite=1&date=2011-12-01&period=week").await?,
        json!({"1": notes(1, 0..=1)})
    );
    assert_eq!(
        all("idSite=1&date=2011-12-01&period=month").await?,
        json!({"1": notes(1, 0..=9)})
    );
    assert_eq!(
        all("idSite=1&date=2012-01-01&period=year").await?,
        json!({"1": notes(1, 10..=25)})
    );
    // _lastN: the six weeks ending with the week of 2012-03-01.
    assert_eq!(
        all("idSite=1&date=2012-03-01&period=week&lastN=6").await?,
        json!({"1": notes(1, 16..=25)})
    );
    // _multiplePeriod: the weeks from that of 01-26 to that of 03-01.
    assert_eq!(
        all("idSite=1&date=2012-01-26,2012-03-01&period=week").await?,
        json!({"1": notes(1, 16..=25)})
    );
    // _range (lastN ignored): 2012-01-15 to 02-15.
    assert_eq!(
        all("idSite=1&date=2012-01-15,2012-02-15&period=range&lastN=6").await?,
        json!({"1": notes(1, 14..=21)})
    );
    // _last30: 2012-02-03 to 2012-03-03.
    assert_eq!(
        all("idSite=1&date=last30&period=range&lastN=6").await?,
        json!({"1": notes(1, 19..=25)})
    );
    // _multipleSites: January 2012 of both sites.
    assert_eq!(
        all("idSite=all&date=2012-01-01&period=month").await?,
        json!({"1": notes(1, 10..=17), "2": notes(2, 10..=17)})
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn annotation_counts_match_matomo() -> anyhow::Result<()> {
    let (_db, api, _) = fixture().await?;
    let count = |query: &'static str| {
        let api = &api;
        async move {
            api.json(&format!(
                "method=Annotations.getAnnotationCountForDates&{query}"
            ))
            .await
        }
    };
    assert_eq!(
        count("idSite=1&date=2011-12-01&period=day").await?,
        json!({"1": counts(&[("2011-12-01", 1, 1)])})
    );
    assert_eq!(
        count("idSite=1&date=2011-12-01&period=week").await?,
        json!({"1": counts(&[("2011-11-28", 2, 1)])})
    );
    assert_eq!(
        count("idSite=1&date=2011-12-01&period=month").await?,
        json!({"1": counts(&[("2011-12-01", 10, 4)])})
    );
    assert_eq!(
        count("idSite=1&date=2012-01-01&period=year").await?,
        json!({"1": counts(&[("2012-01-01", 16, 5)])})
    );
    assert_eq!(
        count("idSite=1&date=2012-03-01&period=week&lastN=6").await?,
        json!({"1": counts(&[
            ("2012-01-23", 2, 0),
            ("2012-01-30", 2, 1),
            ("2012-02-06", 2, 1),
            ("2012-02-13", 2, 0),
            ("2012-02-20", 2, 1),
            ("2012-02-27", 0, 0),
        ])})
    );
    // A range is counted by day.
    assert_eq!(
        count("idSite=1&date=2012-01-15,2012-02-15&period=range&lastN=6").await?,
        json!({"1": daily(
            time::macros::date!(2012 - 01 - 15),
            time::macros::date!(2012 - 02 - 15),
            &[
                ("2012-01-19", 1, 0),
                ("2012-01-20", 1, 1),
                ("2012-01-26", 1, 0),
                ("2012-01-27", 1, 0),
                ("2012-02-02", 1, 1),
                ("2012-02-03", 1, 0),
                ("2012-02-09", 1, 0),
                ("2012-02-10", 1, 1),
            ],
        )})
    );
    assert_eq!(
        count("idSite=1&date=last30&period=range&lastN=6").await?,
        json!({"1": daily(
            time::macros::date!(2012 - 02 - 03),
            time::macros::date!(2012 - 03 - 03),
            &[
                ("2012-02-03", 1, 0),
                ("2012-02-09", 1, 0),
                ("2012-02-10", 1, 1),
                ("2012-02-16", 1, 0),
                ("2012-02-17", 1, 0),
                ("2012-02-23", 1, 1),
                ("2012-02-24", 1, 0),
            ],
        )})
    );
    assert_eq!(
        count("idSite=all&date=2012-01-01&period=month").await?,
        json!({"1": counts(&[("2012-01-01", 8, 2)]), "2": counts(&[("2012-01-01", 8, 2)])})
    );
    Ok(())
}

impl FixtureApi {
    /// The error message of a call with `token` that must fail.
    async fn error_as(&self, token: &str, query: &str) -> anyhow::Result<String> {
        let as_user = FixtureApi {
            api: self.api.clone(),
            token: token.to_owned(),
            now: self.now,
        };
        let (_, body) = as_user.raw(&format!("{query}&format=json")).await?;
        let value: Value = serde_json::from_str(&body)?;
        assert_eq!(value["result"], "error", "{query}: {value}");
        Ok(value["message"].as_str().unwrap_or_default().to_owned())
    }

    /// A call with `token` that must succeed, as JSON.
    async fn json_as(&self, token: &str, query: &str) -> anyhow::Result<Value> {
        let as_user = FixtureApi {
            api: self.api.clone(),
            token: token.to_owned(),
            now: self.now,
        };
        as_user.json(query).await
    }
}

const CANNOT_MODIFY: &str = "You cannot modify this annotation, because you did not create it, nor do you have admin access for this site.";

#[tokio::test(flavor = "multi_thread")]
async fn annotation_errors_and_permissions_match_matomo() -> anyhow::Result<()> {
    let (_db, api, users) = fixture().await?;
    let root = api.token.clone();
    // Several sites, an invalid date or an unknown note are errors.
    for query in [
        "method=Annotations.add&idSite=1,2,3&date=2012-01-01&note=whatever",
        "method=Annotations.add&idSite=1&date=invaliddate&note=whatever",
        "method=Annotations.save&idSite=1,2,3&idNote=0",
        "method=Annotations.save&idSite=1&idNote=0&date=invaliddate",
        "method=Annotations.save&idSite=1&idNote=-1",
        "method=Annotations.delete&idSite=1,2,3&idNote=0",
        "method=Annotations.delete&idSite=1&idNote=-1",
        "method=Annotations.get&idSite=1,2,3&idNote=0",
        "method=Annotations.get&idSite=1&idNote=-1",
    ] {
        api.error_as(&root, query).await?;
    }
    assert_eq!(
        api.error_as(&root, "method=Annotations.get&idSite=1&idNote=-1")
            .await?,
        "There is no note with id '-1' for site with id '1'."
    );

    // Without view access nothing is allowed.
    for query in [
        "method=Annotations.getAll&idSite=1&date=2012-01-01&period=year",
        "method=Annotations.get&idSite=1&idNote=0",
        "method=Annotations.getAnnotationCountForDates&idSite=1&date=2012-01-01&period=year",
    ] {
        assert_eq!(
            api.error_as(&users.none, query).await?,
            "You can't access this resource as it requires 'view' access for the website id = 1.",
            "{query}"
        );
    }
    assert_eq!(
        api.error_as(
            &users.none,
            "method=Annotations.add&idSite=1&date=2011-02-01&note=whatever"
        )
        .await?,
        "The current user is not allowed to add notes for site #1."
    );
    for query in [
        "method=Annotations.save&idSite=1&idNote=0&date=2011-03-01&note=newnote",
        "method=Annotations.delete&idSite=1&idNote=0",
    ] {
        api.error_as(&users.none, query).await?;
        // A viewer adds notes but changes only their own.
        assert_eq!(api.error_as(&users.view, query).await?, CANNOT_MODIFY);
    }
    let added = api
        .json_as(
            &users.view,
            "method=Annotations.add&idSite=1&date=2011-02-01&note=whatever2",
        )
        .await?;
    assert_eq!(added["idNote"], 26);
    assert_eq!(added["user"], "user01");
    api.json_as(
        &users.admin,
        "method=Annotations.add&idSite=1&date=2011-02-01&note=whatever3",
    )
    .await?;
    // An admin changes and deletes anyone's notes.
    let saved = api
        .json_as(
            &users.admin,
            "method=Annotations.save&idSite=1&idNote=0&date=2011-03-01&note=newnote",
        )
        .await?;
    assert_eq!(
        saved,
        json!({"date": "2011-03-01", "note": "newnote", "starred": 1, "user": "superUserLogin", "idNote": 0, "canEditOrDelete": true})
    );
    assert_eq!(
        api.json_as(&users.admin, "method=Annotations.delete&idSite=1&idNote=0")
            .await?,
        json!({"result": "success", "message": "ok"})
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn annotations_save_and_delete_as_matomo() -> anyhow::Result<()> {
    let (_db, api, _) = fixture().await?;
    // testSaveSuccess: every field changed.
    api.json("method=Annotations.save&idSite=1&idNote=0&date=2011-04-01&note=new%20note%20text&starred=1")
        .await?;
    assert_eq!(
        api.json("method=Annotations.get&idSite=1&idNote=0").await?,
        json!({"date": "2011-04-01", "note": "new note text", "starred": 1, "user": "superUserLogin", "idNote": 0, "canEditOrDelete": true})
    );
    // testSaveNoChangesSuccess: nothing given, nothing changed.
    api.json("method=Annotations.save&idSite=1&idNote=1")
        .await?;
    assert_eq!(
        api.json("method=Annotations.get&idSite=1&idNote=1").await?,
        note(1, 1)
    );
    // testDeleteSuccess: the deleted note is gone, the others stay.
    api.json("method=Annotations.delete&idSite=1&idNote=1")
        .await?;
    assert_eq!(
        api.error_as(&api.token, "method=Annotations.get&idSite=1&idNote=1")
            .await?,
        "There is no note with id '1' for site with id '1'."
    );
    assert_eq!(
        api.json("method=Annotations.get&idSite=2&idNote=1").await?,
        note(2, 1)
    );
    Ok(())
}
