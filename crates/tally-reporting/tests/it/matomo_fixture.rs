//! Matomo's own system test traffic "one visitor, two visits"
//! (`tests/PHPUnit/Fixtures/OneVisitorTwoVisits.php` in matomo-org/matomo,
//! without its site-search and third-party-cookie variants), sent as the
//! PHP tracker sends it, and the day's reports checked against the numbers
//! of Matomo's expected outputs for that fixture.
//!
//! The visitor (cookies off, one `_id`, IP 156.5.3.2, Firefox 3.6 on
//! Windows XP, French) arrives from referrer.com on 2010-03-06 11:22:33 UTC,
//! views `/index.htm?...` and `/`, clicks three outlinks and a download,
//! converts the manual goal 1 twice (counted once), views the home page
//! again with a fragment (27 minutes in), and returns an hour after the
//! first view from a Yahoo search for "purchase" on `/store/purchase.htm`
//! (goal 2, URL regex, revenue 1).

use axum::body::Body;
use axum::http::{Request, StatusCode};
use serde_json::{Value, json};
use tally_db::test_support::TestDb;
use tally_management::{self as management, GoalParams, NewSiteParams, Principal};
use tally_reporting::{Api, ReportingConfig};
use time::macros::{datetime, format_description};
use time::{Duration, PrimitiveDateTime};

use crate::common::{NOW, encode, send, user_with_token};

const START: PrimitiveDateTime = datetime!(2010-03-06 11:22:33);
const UA: &str = "Mozilla/5.0 (Windows; U; Windows NT 5.1; en-GB; rv:1.9.2.6) Gecko/20100625 Firefox/3.6.6 (.NET CLR 3.5.30729)";

/// One request of the PHP tracker: `hours` after the start, with the
/// tracker's defaults and `params`.
fn request(token: &str, hours: f64, lang: &str, params: &str) -> String {
    #[expect(clippy::cast_possible_truncation, reason = "hours of the fixture")]
    let at = START + Duration::seconds((hours * 3600.0).round() as i64);
    let cdt = at
        .format(format_description!(
            "[year]-[month]-[day] [hour]:[minute]:[second]"
        ))
        .unwrap_or_default();
    format!(
        "?idsite=1&rec=1&apiv=1&_id=5b3f2c1e9a7d4e60&cdt={}&token_auth={token}&cip=156.5.3.2\
         &ua={}&lang={lang}&h=12&m=34&s=6&res=1024x768&cookie=1&fla=1&java=1{params}",
        encode(&cdt),
        encode(UA),
    )
}

fn page(url: &str, referrer: &str, title: &str, timings: [u32; 6]) -> String {
    format!(
        "&url={}&urlref={}&action_name={}&pf_net={}&pf_srv={}&pf_tfr={}&pf_dm1={}&pf_dm2={}&pf_onl={}",
        encode(url),
        encode(referrer),
        encode(title),
        timings[0],
        timings[1],
        timings[2],
        timings[3],
        timings[4],
        timings[5]
    )
}

const REFERRER: &str = "http://referrer.com/page.htm?param=valuewith some spaces";
const PAGE1: &str =
    "http://example.org/index.htm?excluded_Parameter=SHOULD_NOT_DISPLAY&parameter=Should display";

async fn day_text(api: &Api, token: &str, method: &str, extra: &str) -> anyhow::Result<String> {
    let request = tally_reporting::ApiRequest::from_parts(
        &format!(
            "module=API&method={method}&idSite=1&period=day&date=2010-03-06{extra}&token_auth={token}"
        ),
        None,
    );
    let api = api.clone();
    let answer = tokio::task::spawn_blocking(move || api.handle_at(&request, NOW)).await?;
    anyhow::ensure!(answer.status == 200, "{method}: {}", answer.status);
    Ok(String::from_utf8(answer.body)?)
}

async fn day_report(api: &Api, token: &str, method: &str, extra: &str) -> anyhow::Result<Value> {
    let text = day_text(api, token, method, &format!("&format=json{extra}")).await?;
    Ok(serde_json::from_str(&text)?)
}

/// `(label, column)` of each row.
fn column(rows: &Value, name: &str) -> Vec<(String, Value)> {
    rows.as_array()
        .map(|rows| {
            rows.iter()
                .map(|row| {
                    (
                        row["label"].as_str().unwrap_or("").to_owned(),
                        row[name].clone(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn one_visitor_two_visits_gives_matomos_day_reports() -> anyhow::Result<()> {
    let db = TestDb::new()?;
    let token = {
        let mut conn = db.conn()?;
        let root = Principal::super_user("test");
        let params = NewSiteParams {
            timezone: Some("UTC".to_owned()),
            excluded_parameters: Some("excluded_parameter,anotherParameter".to_owned()),
            start_date: Some(START),
            ..NewSiteParams::new("new name", ["http://site.com"])
        };
        management::add_site(&mut conn, &root, &params)?;
        management::add_goal(
            &mut conn,
            &root,
            1,
            &GoalParams::new("triggered js", "manually", "", ""),
        )?;
        let purchase = GoalParams {
            revenue: 1.0,
            ..GoalParams::new(
                "matching purchase.htm",
                "url",
                r"(.*)store\/purchase\.(.*)",
                "regex",
            )
        };
        management::add_goal(&mut conn, &root, 1, &purchase)?;
        user_with_token(&mut conn, "root", None)?
    };

    let t = token.as_str();
    let link = |url: &str, kind: &str| {
        format!(
            "&url={}&urlref={}&{kind}={}",
            encode("http://example.org/"),
            encode(REFERRER),
            encode(url)
        )
    };
    let goal = |revenue: u32| {
        format!(
            "&url={}&urlref={}&idgoal=1&revenue={revenue}",
            encode("http://example.org/"),
            encode(REFERRER)
        )
    };
    let requests = [
        request(
            t,
            0.0,
            "fr",
            &page(
                PAGE1,
                REFERRER,
                "incredible title!",
                [33, 105, 205, 1325, 390, 222],
            ),
        ),
        request(
            t,
            0.05,
            "fr",
            &page(
                "http://example.org/",
                REFERRER,
                "Second page view - should be registered as URL /",
                [62, 198, 253, 1559, 222, 152],
            ),
        ),
        request(
            t,
            0.1,
            "fr",
            &link(
                "https://outlinks.org/#!outlink-with-fragment-<script>",
                "link",
            ),
        ),
        request(
            t,
            0.2,
            "fr",
            &link("http://piwik.org/path/again/latest.zip", "download"),
        ),
        request(
            t,
            0.22,
            "fr",
            &link(
                "http://outlinks.org/other_outlink#fragment&pk_campaign=Open%20partnership",
                "link",
            ),
        ),
        request(t, 0.25, "fr", &link("http://dev.piwik.org/svn", "link")),
        request(t, 0.3, "th", &goal(42)),
        request(t, 0.4, "th", &goal(42)),
        request(
            t,
            0.45,
            "fr",
            &page(
                "http://example.org/index.htm#ignoredFragment#",
                REFERRER,
                "Looking at homepage (again)...",
                [0, 222, 333, 1111, 666, 333],
            ),
        ),
        request(
            t,
            1.0,
            "fr",
            &page(
                "http://example.org/store/purchase.htm",
                "http://search.yahoo.com/search?p=purchase",
                "Checkout/Purchasing...",
                [22, 157, 266, 2000, 1002, 666],
            ),
        ),
    ];
    let tracker = tally_tracking::http::Tracker::start(
        db.pool()?,
        &tally_tracking::http::TrackerConfig::default(),
    )?;
    let router = tally_tracking::http::router(tracker);
    // One request at a time, in order, as the PHP tracker sends them.
    for query in requests {
        let answer = send(
            &router,
            Request::get(format!("/matomo.php{query}")).body(Body::empty())?,
        )
        .await?;
        assert_eq!(answer.status, StatusCode::OK, "{query}: {}", answer.text());
    }

    let api = Api::new(
        db.pool()?,
        tally_archiving::Registry::core(),
        tally_archiving::ArchivingConfig::default(),
        ReportingConfig::default(),
    );
    let summary = day_report(&api, t, "VisitsSummary.get", "").await?;
    assert_eq!(
        summary,
        json!({
            "nb_uniq_visitors": 1,
            "nb_users": 0,
            "nb_visits": 2,
            "nb_actions": 8,
            "nb_visits_converted": 2,
            "bounce_count": 1,
            "sum_visit_length": 1622,
            "max_actions": 7,
            "bounce_rate": "50%",
            "nb_actions_per_visit": 4,
            "avg_time_on_site": 811
        })
    );
    // test_OneVisitorTwoVisits__VisitsSummary.getSumVisitsLengthPretty_day.xml
    let pretty = day_text(&api, t, "VisitsSummary.getSumVisitsLengthPretty", "").await?;
    assert!(pretty.contains("<result>27 min 2s</result>"), "{pretty}");
    let actions = day_report(&api, t, "Actions.get", "").await?;
    for (name, value) in [
        ("nb_pageviews", 4),
        ("nb_uniq_pageviews", 4),
        ("nb_downloads", 1),
        ("nb_uniq_downloads", 1),
        ("nb_outlinks", 3),
        ("nb_uniq_outlinks", 3),
        ("nb_searches", 0),
        ("nb_keywords", 0),
    ] {
        assert_eq!(actions[name], json!(value), "Actions.get {name}");
    }
    let goals = day_report(&api, t, "Goals.get", "").await?;
    for (name, value) in [
        ("nb_conversions", json!(2)),
        ("nb_visits_converted", json!(2)),
        ("revenue", json!(43)),
        ("conversion_rate", json!("100%")),
    ] {
        assert_eq!(goals[name], value, "Goals.get {name}");
    }
    let types = day_report(&api, t, "Referrers.getReferrerType", "").await?;
    // test_OneVisitorTwoVisits__Referrers.getReferrerType_day.xml
    // (`expanded=1`): each type's report inline, its rows without ids.
    let expanded_types = day_report(&api, t, "Referrers.getReferrerType", "&expanded=1").await?;
    assert_eq!(
        column(&expanded_types[0]["subtable"], "segment"),
        vec![(
            "purchase".to_owned(),
            json!("referrerType==search;referrerKeyword==purchase")
        )]
    );
    assert_eq!(
        column(&expanded_types[1]["subtable"], "segment"),
        vec![(
            "referrer.com".to_owned(),
            json!("referrerName==referrer.com")
        )]
    );
    let website = &expanded_types[1]["subtable"][0];
    assert_eq!(
        (
            &website["nb_visits"],
            &website["nb_actions"],
            &website["sum_visit_length"],
            website.get("idsubdatatable")
        ),
        (&json!(1), &json!(7), &json!(1621), None),
        "{website}"
    );
    // hideColumns reaches the inlined reports (Matomo's test hides nb_users).
    let hidden = day_report(
        &api,
        t,
        "Referrers.getReferrerType",
        "&expanded=1&hideColumns=nb_users",
    )
    .await?;
    assert!(
        hidden[1]["subtable"][0].get("nb_users").is_none(),
        "{hidden}"
    );
    assert_eq!(hidden[1]["subtable"][0]["nb_visits"], json!(1));
    assert_eq!(
        column(&types, "nb_visits"),
        vec![
            ("Search Engines".to_owned(), json!(1)),
            ("Websites".to_owned(), json!(1))
        ]
    );
    assert_eq!(
        column(&types, "sum_visit_length"),
        vec![
            ("Search Engines".to_owned(), json!(1)),
            ("Websites".to_owned(), json!(1621))
        ]
    );
    // Labels as Matomo's API gives them in every format: URL-decoded and
    // HTML-escaped (SafeDecodeLabel); hosts ordered by visits.
    let outlinks = day_report(&api, t, "Actions.getOutlinks", "&flat=1").await?;
    let mut flat = column(&outlinks, "nb_hits");
    // Equal rows: their order is the sort's tie-break, not checked here.
    flat.sort_by(|a, b| b.0.cmp(&a.0));
    assert_eq!(
        flat,
        vec![
            (
                "outlinks.org/other_outlink#fragment&pk_campaign=Open partnership".to_owned(),
                json!(1)
            ),
            (
                "outlinks.org/#!outlink-with-fragment-<script>".to_owned(),
                json!(1)
            ),
            ("dev.piwik.org/svn".to_owned(), json!(1)),
        ]
    );
    let hosts = day_report(&api, t, "Actions.getOutlinks", "").await?;
    assert_eq!(
        column(&hosts, "nb_visits"),
        vec![
            ("outlinks.org".to_owned(), json!(2)),
            ("dev.piwik.org".to_owned(), json!(1))
        ]
    );
    // XML writes the escaped label once (formatValueXml decodes first), as
    // Matomo's expected output shows it; CSV decodes it.
    let xml = day_text(&api, t, "Actions.getOutlinks", "&format=xml&expanded=1").await?;
    assert!(
        xml.contains("<label>/#!outlink-with-fragment-&lt;script&gt;</label>")
            && xml.contains(
                "<label>/other_outlink#fragment&amp;pk_campaign=Open partnership</label>"
            ),
        "{xml}"
    );
    let csv = day_text(
        &api,
        t,
        "Actions.getOutlinks",
        "&format=csv&convertToUnicode=0&flat=1&showColumns=nb_hits",
    )
    .await?;
    assert!(
        csv.contains("outlinks.org/#!outlink-with-fragment-<script>,1"),
        "{csv}"
    );
    let downloads = day_report(&api, t, "Actions.getDownloads", "&flat=1").await?;
    assert_eq!(
        column(&downloads, "nb_hits"),
        vec![("piwik.org/path/again/latest.zip".to_owned(), json!(1))]
    );
    // `/` is `/index`; the excluded parameter is gone; time spent on a page
    // runs to the next action, goal requests included (900 s on `/index`).
    let pages = day_report(&api, t, "Actions.getPageUrls", "").await?;
    let cells = |name: &str| -> Vec<(String, Value)> {
        column(&pages, name)
            .into_iter()
            .map(|(label, value)| (label, if value.is_null() { json!(0) } else { value }))
            .collect()
    };
    let labels = [
        "/index",
        "/index.htm",
        "/index.htm?parameter=Should display",
        "store",
    ];
    let with = |values: [i64; 4]| -> Vec<(String, Value)> {
        labels
            .iter()
            .zip(values)
            .map(|(label, value)| ((*label).to_owned(), json!(value)))
            .collect()
    };
    assert_eq!(cells("nb_hits"), with([1, 1, 1, 1]));
    assert_eq!(cells("sum_time_spent"), with([900, 0, 180, 0]));
    assert_eq!(cells("entry_nb_visits"), with([0, 0, 1, 1]));
    assert_eq!(cells("entry_sum_visit_length"), with([0, 0, 1621, 1]));
    assert_eq!(cells("exit_nb_visits"), with([0, 1, 0, 1]));

    // Every Actions row names the segment selecting it (Matomo's Actions
    // filter): URLs encoded twice, folders by the site's main URL, entry
    // pages by `entryPageUrl` but folders always by `pageUrl`
    // (test_OneVisitorTwoVisits__Actions.getPageUrls_day.xml and
    // getEntryPageUrls; their `hideColumns` keeps the raw timing columns).
    let segments = |rows: &Value, expected: &[(&str, &str)]| {
        let expected: Vec<(String, Value)> = expected
            .iter()
            .map(|(label, segment)| ((*label).to_owned(), json!(segment)))
            .collect();
        assert_eq!(column(rows, "segment"), expected);
    };
    let expanded = day_report(
        &api,
        t,
        "Actions.getPageUrls",
        "&expanded=1&hideColumns=nb_users",
    )
    .await?;
    segments(
        &expanded,
        &[
            ("/index", "pageUrl==http%253A%252F%252Fexample.org%252F"),
            (
                "/index.htm",
                "pageUrl==http%253A%252F%252Fexample.org%252Findex.htm",
            ),
            (
                "/index.htm?parameter=Should display",
                "pageUrl==http%253A%252F%252Fexample.org%252Findex.htm%253Fparameter%253DShould%2Bdisplay",
            ),
            ("store", "pageUrl=^http%253A%252F%252Fsite.com%252Fstore"),
        ],
    );
    let store = &expanded[3];
    assert!(store.get("folder_url_start").is_none(), "{store}");
    assert_eq!(store["avg_page_load_time"], json!(4.113));
    assert_eq!(store["avg_time_network"], json!(0.022));
    // The expanded subtable's row keeps the raw timings and gets only the
    // report's own processed metrics, not PagePerformance's averages.
    let purchase = &store["subtable"][0];
    segments(
        &store["subtable"],
        &[(
            "/purchase.htm",
            "pageUrl==http%253A%252F%252Fexample.org%252Fstore%252Fpurchase.htm",
        )],
    );
    assert_eq!(purchase["sum_time_network"], json!("0.0220"));
    assert_eq!(purchase["nb_hits_with_time_on_load"], json!(1));
    assert!(
        purchase.get("avg_time_network").is_none() && purchase.get("avg_page_load_time").is_none(),
        "{purchase}"
    );
    assert_eq!(
        (
            &purchase["avg_time_on_page"],
            &purchase["bounce_rate"],
            &purchase["exit_rate"]
        ),
        (&json!(0), &json!("100%"), &json!("100%"))
    );
    let entry = day_report(&api, t, "Actions.getEntryPageUrls", "&expanded=1").await?;
    segments(
        &entry,
        &[
            (
                "/index.htm?parameter=Should display",
                "entryPageUrl==http%253A%252F%252Fexample.org%252Findex.htm%253Fparameter%253DShould%2Bdisplay",
            ),
            ("store", "pageUrl=^http%253A%252F%252Fsite.com%252Fstore"),
        ],
    );
    segments(
        &entry[1]["subtable"],
        &[(
            "/purchase.htm",
            "entryPageUrl==http%253A%252F%252Fexample.org%252Fstore%252Fpurchase.htm",
        )],
    );
    // Goal metrics per page (Matomo's archiveDayActionsGoals; values of
    // test_OneVisitorTwoVisits__Actions.getPageUrls_day.xml,
    // getEntryPageUrls_day.xml and getPageTitles_day.xml). Goal 1 (42)
    // converted in the first visit after its two pages, each of which gets
    // half of it; goal 2 (1) converted on the second visit's only page,
    // which it entered on. `nb_conversions_page_rate` is computed for the
    // top-level rows only: the expanded subtable keeps its stored 0.
    let half_of_goal_1 = json!({"idgoal=1": {
        "nb_conversions": 1, "revenue": 42, "nb_conv_pages_before": 2,
        "nb_conversions_attrib": 0.5, "nb_conversions_page_rate": 1,
        "nb_conversions_page_uniq": 1, "revenue_attrib": 21,
    }});
    let entered_goal_1 = json!({"idgoal=1": {
        "nb_conversions": 1, "revenue": 42, "nb_conv_pages_before": 2,
        "nb_conversions_attrib": 0.5, "nb_conversions_page_rate": 1,
        "nb_conversions_page_uniq": 1, "revenue_attrib": 21,
        "revenue_entry": 42, "nb_conversions_entry_rate": 1,
        "revenue_per_entry": 42, "nb_conversions_entry": 1,
    }});
    let goal_2 = |page_rate: i64| {
        json!({"idgoal=2": {
            "nb_conversions": 1, "revenue": 1, "nb_conv_pages_before": 1,
            "nb_conversions_attrib": 1, "nb_conversions_page_rate": page_rate,
            "nb_conversions_page_uniq": 1, "revenue_attrib": 1,
            "revenue_entry": 1, "nb_conversions_entry_rate": 1,
            "revenue_per_entry": 1, "nb_conversions_entry": 1,
        }})
    };
    let goals = |rows: &Value| -> Vec<(String, Value)> {
        column(rows, "goals")
            .into_iter()
            .filter(|(_, goals)| !goals.is_null())
            .collect()
    };
    assert_eq!(
        goals(&expanded),
        vec![
            ("/index".to_owned(), half_of_goal_1.clone()),
            (
                "/index.htm?parameter=Should display".to_owned(),
                entered_goal_1.clone()
            ),
            ("store".to_owned(), goal_2(1)),
        ]
    );
    assert_eq!(
        goals(&store["subtable"]),
        vec![("/purchase.htm".to_owned(), goal_2(0))]
    );
    // In Matomo's order: the page metrics, then the entry metrics.
    let names: Vec<&str> = expanded[2]["goals"]["idgoal=1"]
        .as_object()
        .map(|goal| goal.keys().map(String::as_str).collect())
        .unwrap_or_default();
    assert_eq!(
        names,
        [
            "nb_conversions",
            "revenue",
            "nb_conv_pages_before",
            "nb_conversions_attrib",
            "nb_conversions_page_rate",
            "nb_conversions_page_uniq",
            "revenue_attrib",
            "revenue_entry",
            "nb_conversions_entry_rate",
            "revenue_per_entry",
            "nb_conversions_entry",
        ]
    );
    assert_eq!(
        goals(&entry),
        vec![
            (
                "/index.htm?parameter=Should display".to_owned(),
                entered_goal_1.clone()
            ),
            ("store".to_owned(), goal_2(1)),
        ]
    );
    assert_eq!(
        goals(&entry[1]["subtable"]),
        vec![("/purchase.htm".to_owned(), goal_2(0))]
    );
    // A subtable asked for by id is the top level: its rate is computed.
    let id_subtable = pages[3]["idsubdatatable"].clone();
    assert!(id_subtable.is_number(), "{pages}");
    let purchase_alone = day_report(
        &api,
        t,
        "Actions.getPageUrls",
        &format!("&idSubtable={id_subtable}"),
    )
    .await?;
    assert_eq!(
        goals(&purchase_alone),
        vec![("/purchase.htm".to_owned(), goal_2(1))]
    );
    // Page titles are not split here (Matomo's test splits them on `/`),
    // so the checkout title is a top-level row with its rate computed.
    let mut title_goals = goals(&day_report(&api, t, "Actions.getPageTitles", "").await?);
    title_goals.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(
        title_goals,
        vec![
            (" Checkout/Purchasing...".to_owned(), goal_2(1)),
            (
                " Second page view - should be registered as URL /".to_owned(),
                half_of_goal_1.clone()
            ),
            (" incredible title!".to_owned(), entered_goal_1.clone()),
        ]
    );
    // XML names the goals as Matomo's renderer does.
    let xml = day_text(&api, t, "Actions.getEntryPageUrls", "&format=xml").await?;
    assert!(
        xml.contains("<goals>\n\t\t\t<row idgoal='2'>\n\t\t\t\t<nb_conversions>1</nb_conversions>"),
        "{xml}"
    );

    // Titles by their text, encoded twice too (the titles without a `/`:
    // Matomo's test splits titles on it, we do not).
    let titles = day_report(&api, t, "Actions.getPageTitles", "").await?;
    let title = |label: &str| {
        column(&titles, "segment")
            .into_iter()
            .find(|(row, _)| row == label)
            .map(|(_, segment)| segment)
    };
    assert_eq!(
        title(" incredible title!"),
        Some(json!("pageTitle==incredible%2Btitle%2521"))
    );
    assert_eq!(
        title(" Looking at homepage (again)..."),
        Some(json!(
            "pageTitle==Looking%2Bat%2Bhomepage%2B%2528again%2529..."
        ))
    );
    let exit_titles = day_report(&api, t, "Actions.getExitPageTitles", "").await?;
    assert!(
        column(&exit_titles, "segment").contains(&(
            " Looking at homepage (again)...".to_owned(),
            json!("exitPageTitle==Looking%2Bat%2Bhomepage%2B%2528again%2529...")
        )),
        "{exit_titles}"
    );
    assert!(titles[0].get("page_title_path").is_none(), "{titles}");
    // Flattened titles are trimmed, as Matomo's Flattener trims every
    // label (test_reportLimiting_flattened__Actions.getPageTitles_day.xml).
    let flat_titles = day_report(&api, t, "Actions.getPageTitles", "&flat=1").await?;
    assert!(
        column(&flat_titles, "segment").contains(&(
            "incredible title!".to_owned(),
            json!("pageTitle==incredible%2Btitle%2521")
        )),
        "{flat_titles}"
    );
    // Downloads and outlinks: hosts without a segment, URLs by theirs.
    let downloads = day_report(&api, t, "Actions.getDownloads", "&expanded=1").await?;
    assert!(downloads[0].get("segment").is_none(), "{downloads}");
    segments(
        &downloads[0]["subtable"],
        &[(
            "/path/again/latest.zip",
            "downloadUrl==http%253A%252F%252Fpiwik.org%252Fpath%252Fagain%252Flatest.zip",
        )],
    );
    let outlinks = day_report(&api, t, "Actions.getOutlinks", "&expanded=1").await?;
    segments(
        &outlinks[1]["subtable"],
        &[(
            "/svn",
            "outlinkUrl==http%253A%252F%252Fdev.piwik.org%252Fsvn",
        )],
    );
    // Link URLs are encoded HTML-escaped, as Matomo stores them.
    assert_eq!(
        outlinks[0]["subtable"][0]["segment"],
        json!(
            "outlinkUrl==https%253A%252F%252Foutlinks.org%252F%2523%2521outlink-with-fragment-%2526lt%253Bscript%2526gt%253B"
        ),
        "{outlinks}"
    );
    // Flattened, page URLs read as paths: a `/` before each top-level
    // label, none doubled after a folder, and `index` dropped after the
    // last `/` (Matomo's getPageUrls and Actions filter with `flat=1`).
    let flat = day_report(&api, t, "Actions.getPageUrls", "&flat=1").await?;
    segments(
        &flat,
        &[
            ("/", "pageUrl==http%253A%252F%252Fexample.org%252F"),
            (
                "/index.htm",
                "pageUrl==http%253A%252F%252Fexample.org%252Findex.htm",
            ),
            (
                "/index.htm?parameter=Should display",
                "pageUrl==http%253A%252F%252Fexample.org%252Findex.htm%253Fparameter%253DShould%2Bdisplay",
            ),
            (
                "/store/purchase.htm",
                "pageUrl==http%253A%252F%252Fexample.org%252Fstore%252Fpurchase.htm",
            ),
        ],
    );

    for (method, label) in [
        ("DevicesDetection.getBrowsers", "Firefox"),
        ("UserLanguage.getLanguage", "French"),
        ("UserCountry.getCountry", "France"),
    ] {
        let report = day_report(&api, t, method, "").await?;
        assert_eq!(
            column(&report, "nb_visits"),
            vec![(label.to_owned(), json!(2))],
            "{method}"
        );
    }
    let websites = day_report(&api, t, "Referrers.getWebsites", "&expanded=1").await?;
    assert_eq!(
        column(&websites, "nb_visits"),
        vec![("referrer.com".to_owned(), json!(1))]
    );
    assert_eq!(
        column(&websites[0]["subtable"], "nb_visits"),
        vec![(
            "http://referrer.com/page.htm?param=valuewith some spaces".to_owned(),
            json!(1)
        )]
    );

    // One row by its URL or title (the parameters of Matomo's system
    // tests; session parameters are excluded before searching).
    let one = |method: &'static str, parameter: &'static str, value: &'static str| {
        let api = api.clone();
        async move { day_report(&api, t, method, &format!("&{parameter}={}", encode(value))).await }
    };
    let page = one(
        "Actions.getPageUrl",
        "pageUrl",
        "http://example.org/index.htm?sessionid=this is also ignored by default",
    )
    .await?;
    assert_eq!(
        column(&page, "nb_hits"),
        vec![("/index.htm".to_owned(), json!(1))]
    );
    assert_eq!(
        (&page[0]["exit_rate"], &page[0]["url"]),
        (&json!("100%"), &json!("http://example.org/index.htm"))
    );
    let download = one(
        "Actions.getDownload",
        "downloadUrl",
        "http://piwik.org/path/again/latest.zip?phpsessid=this is ignored when searching",
    )
    .await?;
    assert_eq!(
        column(&download, "url"),
        vec![(
            "/path/again/latest.zip".to_owned(),
            json!("http://piwik.org/path/again/latest.zip")
        )]
    );
    let outlink = one(
        "Actions.getOutlink",
        "outlinkUrl",
        "http://dev.piwik.org/svn",
    )
    .await?;
    assert_eq!(
        column(&outlink, "nb_hits"),
        vec![("/svn".to_owned(), json!(1))]
    );
    // Titles are not split (the default empty title delimiter; Matomo's
    // test sets "/", which files this page as " Purchasing..." under
    // "Checkout").
    let title = one(
        "Actions.getPageTitle",
        "pageName",
        " Checkout/Purchasing... ",
    )
    .await?;
    assert_eq!(
        column(&title, "bounce_rate"),
        vec![(" Checkout/Purchasing...".to_owned(), json!("100%"))]
    );
    let missing = one(
        "Actions.getPageUrl",
        "pageUrl",
        "http://example.org/nowhere",
    )
    .await?;
    assert_eq!(missing, json!([]));

    // Goals' single values, as bare XML values.
    for (method, value) in [
        ("Goals.getConversions", "2"),
        ("Goals.getNbVisitsConverted", "2"),
        ("Goals.getRevenue", "43"),
    ] {
        let xml = day_text(&api, t, method, "&format=xml").await?;
        assert!(
            xml.ends_with(&format!("<result>{value}</result>")),
            "{method}: {xml}"
        );
    }
    assert_eq!(
        day_report(&api, t, "Goals.getConversionRate", "").await?,
        json!({
            "conversion_rate": "100%", "conversion_rate_new_visit": "100%",
            "conversion_rate_returning_visit": "100%"
        })
    );

    // API.get: every plugin's figures merged, in Matomo's column order
    // (its expected output for `apiGetReportMetadata`).
    let all = day_report(&api, t, "API.get", "").await?;
    let keys: Vec<&str> = all
        .as_object()
        .map(|o| o.keys().map(String::as_str).collect())
        .unwrap_or_default();
    let mut expected_keys = vec![
        "nb_uniq_visitors",
        "nb_visits",
        "nb_users",
        "nb_actions",
        "max_actions",
        "bounce_count",
        "sum_visit_length",
    ];
    for kind in ["new", "returning"] {
        for metric in [
            "nb_visits",
            "nb_actions",
            "nb_uniq_visitors",
            "nb_users",
            "max_actions",
            "bounce_rate",
            "nb_actions_per_visit",
            "avg_time_on_site",
        ] {
            expected_keys.push(Box::leak(format!("{metric}_{kind}").into_boxed_str()));
        }
    }
    expected_keys.extend([
        "Referrers_visitorsFromSearchEngines",
        "Referrers_visitorsFromSocialNetworks",
        "Referrers_visitorsFromDirectEntry",
        "Referrers_visitorsFromWebsites",
        "Referrers_visitorsFromCampaigns",
        "Referrers_distinctSearchEngines",
        "Referrers_distinctSocialNetworks",
        "Referrers_distinctKeywords",
        "Referrers_distinctWebsites",
        "Referrers_distinctWebsitesUrls",
        "Referrers_distinctCampaigns",
        "PagePerformance_network_time",
        "PagePerformance_network_hits",
        "PagePerformance_servery_time",
        "PagePerformance_server_hits",
        "PagePerformance_transfer_time",
        "PagePerformance_transfer_hits",
        "PagePerformance_domprocessing_time",
        "PagePerformance_domprocessing_hits",
        "PagePerformance_domcompletion_time",
        "PagePerformance_domcompletion_hits",
        "PagePerformance_onload_time",
        "PagePerformance_onload_hits",
        "PagePerformance_pageload_time",
        "PagePerformance_pageload_hits",
        "avg_time_network",
        "avg_time_server",
        "avg_time_transfer",
        "avg_time_dom_processing",
        "avg_time_dom_completion",
        "avg_time_on_load",
        "avg_page_load_time",
        "nb_conversions",
        "nb_visits_converted",
        "revenue",
        "conversion_rate",
        "nb_conversions_new_visit",
        "nb_visits_converted_new_visit",
        "revenue_new_visit",
        "conversion_rate_new_visit",
        "nb_conversions_returning_visit",
        "nb_visits_converted_returning_visit",
        "revenue_returning_visit",
        "conversion_rate_returning_visit",
        "nb_total_overall_bandwidth",
        "nb_total_pageview_bandwidth",
        "nb_total_download_bandwidth",
        "nb_pageviews",
        "nb_uniq_pageviews",
        "nb_downloads",
        "nb_uniq_downloads",
        "nb_outlinks",
        "nb_uniq_outlinks",
        "nb_searches",
        "nb_keywords",
        "Referrers_visitorsFromDirectEntry_percent",
        "Referrers_visitorsFromSearchEngines_percent",
        "Referrers_visitorsFromCampaigns_percent",
        "Referrers_visitorsFromSocialNetworks_percent",
        "Referrers_visitorsFromWebsites_percent",
        "bounce_rate",
        "nb_actions_per_visit",
        "avg_time_on_site",
    ]);
    assert_eq!(keys, expected_keys, "{all}");
    assert_eq!(
        (
            &all["nb_visits"],
            &all["nb_pageviews"],
            &all["revenue"],
            &all["bounce_rate"]
        ),
        (&json!(2), &json!(4), &json!(43), &json!("50%"))
    );
    // No `bw_bytes` tracked: Matomo's zeros.
    assert_eq!(
        (
            &all["nb_total_overall_bandwidth"],
            &all["nb_total_pageview_bandwidth"],
            &all["nb_total_download_bandwidth"]
        ),
        (&json!(0), &json!(0), &json!(0))
    );
    // showColumns (Matomo's `OneVisitorTwoVisits_showColumns` output).
    assert_eq!(
        day_report(
            &api,
            t,
            "API.get",
            "&showColumns=nb_uniq_visitors,nb_pageviews,bounce_rate"
        )
        .await?,
        json!({"nb_uniq_visitors": 1, "nb_pageviews": 4, "bounce_rate": "50%"})
    );
    // PagePerformance.get alone: the averages only (Matomo's queued filter
    // deletes the sums that API.get keeps).
    assert_eq!(
        day_report(&api, t, "PagePerformance.get", "").await?,
        json!({
            "avg_time_network": 0.03, "avg_time_server": 0.17, "avg_time_transfer": 0.26,
            "avg_time_dom_processing": 1.5, "avg_time_dom_completion": 0.57,
            "avg_time_on_load": 0.34, "avg_page_load_time": 2.88
        })
    );
    // One page's row has no page timings, and `avg_bandwidth` last
    // (Matomo's getPageUrl output, whose harness removes the four stored
    // Bandwidth columns).
    let page = day_report(
        &api,
        t,
        "Actions.getPageUrl",
        &format!("&pageUrl={}", encode("http://example.org/index.htm")),
    )
    .await?;
    let keys: Vec<&str> = page[0]
        .as_object()
        .map(|o| o.keys().map(String::as_str).collect())
        .unwrap_or_default();
    assert_eq!(
        keys,
        [
            "label",
            "nb_visits",
            "nb_uniq_visitors",
            "nb_hits",
            "sum_time_spent",
            "sum_bandwidth",
            "nb_hits_with_bandwidth",
            "min_bandwidth",
            "max_bandwidth",
            "exit_nb_uniq_visitors",
            "exit_nb_visits",
            "avg_time_on_page",
            "bounce_rate",
            "exit_rate",
            "avg_bandwidth",
            "url"
        ]
    );
    // VisitsPercent of the visit-count report.
    assert_eq!(
        column(
            &day_report(&api, t, "VisitorInterest.getNumberOfVisitsByVisitCount", "").await?,
            "nb_visits_percentage"
        )[..2],
        [
            ("1 visit".to_owned(), json!("50%")),
            ("2 visits".to_owned(), json!("50%"))
        ]
    );
    // hideColumns reaches VisitFrequency.get's visitor-type columns.
    let frequency = day_report(&api, t, "VisitFrequency.get", "&hideColumns=nb_users").await?;
    assert!(frequency.get("nb_users_new").is_none(), "{frequency}");
    assert!(frequency.get("nb_users_returning").is_none(), "{frequency}");
    assert_eq!(frequency["nb_visits_new"], json!(1));

    // columns: only the parts that have them, only those.
    assert_eq!(
        day_report(&api, t, "API.get", "&columns=nb_visits,nb_conversions").await?,
        json!({"nb_visits": 2, "nb_conversions": 2})
    );
    // `test_OneVisitorTwoVisits_bulk_{xml,json}__API.getBulkRequest`: each
    // sub-answer decoded and rendered in the outer format (Matomo's
    // `renderArray`: in XML, nested `<row>`s, a date key as `key="…"`).
    let bulk = |format: &str| {
        let urls = [
            "idSite=1&date=2010-03-06,2010-03-07&expanded=1&period=day&method=VisitsSummary.get",
            "idSite=1&date=2010-03-06&expanded=1&period=day&method=VisitorInterest.getNumberOfVisitsPerVisitDuration",
            "idSite=1&date=2010-03-06&expanded=1&period=day&method=UsersManager.getUserPreference&preferenceName=defaultReportDate&userLogin=root",
        ];
        let mut query =
            format!("module=API&method=API.getBulkRequest&format={format}&token_auth={t}");
        for (i, url) in urls.iter().enumerate() {
            query.push_str(&format!("&urls%5B{i}%5D={}", encode(url)));
        }
        let request = tally_reporting::ApiRequest::from_parts(&query, None);
        let api = api.clone();
        async move {
            let answer = tokio::task::spawn_blocking(move || api.handle_at(&request, NOW)).await?;
            anyhow::Ok(String::from_utf8(answer.body)?)
        }
    };
    let json: Value = serde_json::from_str(&bulk("json").await?)?;
    assert_eq!(json[0]["2010-03-06"]["nb_visits"], json!(2), "{json}");
    assert_eq!(json[0]["2010-03-07"], json!([]), "{json}");
    assert_eq!(json[1][0]["label"], json!("0\u{2013}10s"), "{json}");
    assert_eq!(
        json[1][0]["segment"],
        json!("visitDuration>=0;visitDuration<=10")
    );
    assert_eq!(json[2], json!({"value": "yesterday"}), "{json}");
    let xml = bulk("xml").await?;
    for part in [
        "<result>\n\t<row>\n\t\t<row key=\"2010-03-06\">\n\t\t\t<nb_uniq_visitors>1</nb_uniq_visitors>",
        "\t\t<row key=\"2010-03-07\">\n\t\t</row>\n\t</row>\n\t<row>\n\t\t<row>\n\t\t\t<label>0\u{2013}10s</label>",
        "<segment>visitDuration&gt;=0;visitDuration&lt;=10</segment>",
        "\t\t</row>\n\t</row>\n\t<row>\n\t\t<value>yesterday</value>\n\t</row>\n</result>",
    ] {
        assert!(xml.contains(part), "{part}\n{xml}");
    }
    Ok(())
}
