//! Matomo's system test traffic "some visits, custom variables, campaigns,
//! not heuristics" (`SomeVisitsCustomVariablesCampaignsNotHeuristics` in
//! matomo-org/matomo, with `create_new_visit_when_website_referrer_changes
//! = 1`), sent as the PHP tracker sends it, and the day's campaign,
//! website and visit reports checked against the numbers of Matomo's
//! expected outputs for it
//! (`test_PiwikTracker_trackForceUsingVisitId_insteadOfHeuristics_
//! alsoTestsCampaignTracking__*`).
//!
//! - A lands on a campaign URL (`utm_campaign`, `piwik_kwd` before
//!   `utm_term`; the fragment's campaign is not read because the query had
//!   a keyword) and converts goal 1 eighteen minutes later from another
//!   client that only knows A's visitor id (`cid`).
//! - C converts goal 1 twice without a page view, from two campaigns named
//!   in the landing URL's fragment: the second campaign starts a visit.
//! - D comes back every hour: campaigns with a search engine keyword, the
//!   referrer host as keyword, Google ads referrers (AdWords campaigns,
//!   named after the ad type when the landing URL names none), a direct
//!   visit turned into a campaign by its second page, and website referrers
//!   that start visits when they change.
//! - E, on the same device as the others, orders three times with
//!   conversions attributed to campaigns named in `_rcn`/`_rck`; its page
//!   views are recognised by fingerprint as earlier visitors' and keep
//!   their visitor ids when their changed website referrers start visits.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use serde_json::{Value, json};
use tally_management::GoalParams;
use tally_reporting::Api;
use time::macros::{datetime, format_description};
use time::{Duration, PrimitiveDateTime};

use crate::common::{api_json, encode, matomo_site, reporting_api, send, tracker_routes};

const START: PrimitiveDateTime = datetime!(2009-01-04 00:11:42);
const UA: &str = "Mozilla/5.0 (Windows; U; Windows NT 5.1; en-GB; rv:1.9.2.6) Gecko/20100625 Firefox/3.6.6 (.NET CLR 3.5.30729)";
const ADS_PUBLISHER: &str = "http://googleads.g.doubleclick.net/pagead/ads?client=ca-pub-12345&output=html&h=280&slotname=123&w=336&lmt=1359388321&202&url=http%3A%2F%2Fwww.adwords-publisher-website.org%2F&dt=123&bpp=13&shv=r22&jsv=1565606614&correlator=ss&ga_vid=aaa&ga_sid=1359435122&ga_hid=1801871121&ga_fc=0&u_tz=780&u_his=4&u_java=1&u_h=900&u_w=1600&u_ah=876&u_aw=1551&u_cd=24&u_nplug=4&u_nmime=5&dff=georgia&dfs=16&adx=33&ady=201&biw=1551&bih=792&oid=3&fu=0&ifi=1&dtd=608&p=http%3A//www.adwords-publisher-website.com";
const GOOGLE_AD_CLICK: &str = "http://www.google.co.nz/aclk?sa=L&ai=uYmFyiZgAf0oO0J&num=3&sig=EpOCR4xQ&ved=ENEM&adurl=http://pixel.everesttech.net/3163/cq%3Fev_sid%3D3%26ev_cmpid%3D33%26ev_ln%3Dused%2520wii%2520consoles%26ev_crx%528386%26ev_mt%3Db%26ev_n%3Dg%26ev_ltx%3D%26ev_pl%3D%26ev_pos%3D1s2%26url%3Dhttp%253A//au.shopping.com/used%2520wii%2520consoles/products%253Flinkin_id%253D8077872&rct=j&q=nintendo+consoles+second+hand";
const ADS_TEXT_IMAGE: &str = "http://googleads.g.doubleclick.net/pagead/ads?client=ca-pub-x&output=html&h=15&slotname=2973049897&adk=3777420323&w=728&url=http%3A%2F%2Fexample.com%2F&dt=1381755030169&ref=http%3A%2F%2Fwww.google.com.au%2Furl%3Fsa%3Dt%26rct%3Dj%26q%3D%26esrc%3Ds&p=http%3A//example.com&rl_rc=true&adsense_enabled=true&ad_type=text_image&oe=utf8&kw0=Animated+Text&okw=Animated+Text";
const ADS_TEXT: &str = "http://googleads.g.doubleclick.net/pagead/ads?lient=ca-pub-x&output=html&h=15&slotname=4299800108&url=http%3A%2F%2Fwww.example.com%2Fphotofilters%2F%26section_id%3D%26p%3D4&dt=1381746604865&ref=http%3A%2F%2Fwww.example.com%2Fphotofilters%2F%26section_id%3D%26p%3D3&p=http%3A//www.example.com&rl_rc=false&adsense_enabled=true&ad_type=text&ui=rc:0&oe=utf8&kw0=Photo+Shop+Image&okw=Photo+Background";

/// C's client appends a website attribution cookie to every request: the
/// campaigns get the conversions all the same.
const C_REF: &str =
    "&_ref=http%3A%2F%2Freferrer.example.com%2Fpage%2Fsub%3Fquery%3Dtest%26test2%3Dtest3";

/// One request of the PHP tracker `hours` after the start: with the
/// fixture's default client (IP, user agent, language, resolution) unless
/// `bare`, the visitor as `_id` (or `cid` when `bare`).
fn request(
    token: &str,
    visitor: &str,
    bare: bool,
    hours: f64,
    url: &str,
    urlref: &str,
    extra: &str,
) -> String {
    #[expect(clippy::cast_possible_truncation, reason = "hours of the fixture")]
    let at = START + Duration::seconds((hours * 3600.0).round() as i64);
    let cdt = at
        .format(format_description!(
            "[year]-[month]-[day] [hour]:[minute]:[second]"
        ))
        .unwrap_or_default();
    let client = if bare {
        format!("&cid={visitor}")
    } else {
        format!(
            "&_id={visitor}&cip=156.5.3.2&ua={}&lang=fr&h=12&m=34&s=6&res=1024x768&cookie=1&fla=1&java=1",
            encode(UA)
        )
    };
    format!(
        "?idsite=1&rec=1&apiv=1&cdt={}&token_auth={token}{client}&url={}&urlref={}{extra}",
        encode(&cdt),
        encode(url),
        encode(urlref),
    )
}

fn title(text: &str) -> String {
    format!("&action_name={}", encode(text))
}

async fn day(api: &Api, token: &str, method: &str, extra: &str) -> anyhow::Result<Value> {
    api_json(
        api,
        token,
        &format!("method={method}&idSite=1&period=day&date=2009-01-04{extra}"),
    )
    .await
}

/// `(label, [nb_visits, nb_actions, sum_visit_length, bounce_count,
/// nb_visits_converted])` of each row.
fn rows(table: &Value) -> Vec<(String, [i64; 5])> {
    table
        .as_array()
        .map(|rows| {
            rows.iter()
                .map(|row| {
                    let n = |name: &str| row[name].as_i64().unwrap_or(-1);
                    (
                        row["label"].as_str().unwrap_or_default().to_owned(),
                        [
                            n("nb_visits"),
                            n("nb_actions"),
                            n("sum_visit_length"),
                            n("bounce_count"),
                            n("nb_visits_converted"),
                        ],
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

fn expected(rows: &[(&str, [i64; 5])]) -> Vec<(String, [i64; 5])> {
    rows.iter()
        .map(|(label, values)| ((*label).to_owned(), *values))
        .collect()
}

#[tokio::test]
async fn campaigns_and_website_changes_give_matomos_reports() -> anyhow::Result<()> {
    let (db, token) = matomo_site(
        datetime!(2009-01-03 00:00),
        |_| {},
        &[
            GoalParams::new("triggered js", "manually", "", ""),
            GoalParams::new(
                "view act",
                "url",
                "http://mutantregistration.com/act.html",
                "exact",
            ),
        ],
    )?;
    let t = token.as_str();
    let (a, c, d) = ("a1b2c3d4e5f60001", "a1b2c3d4e5f60003", "a1b2c3d4e5f60004");
    let index = "http://example.org/index.html";
    let campaign_url = |name: &str| format!("{index}?utm_campaign={name}");
    let requests = [
        request(
            t,
            a,
            false,
            0.0,
            "http://example.org/index.htm?utm_campaign=GA Campaign&piwik_kwd=Piwik kwd\
             &utm_term=GA keyword SHOULD NOT DISPLAY#pk_campaign=NOT TRACKED!!&pk_kwd=NOT TRACKED!!",
            "",
            &title("incredible title!"),
        ),
        request(
            t,
            a,
            true,
            0.3,
            "http://unknown/",
            "",
            "&idgoal=1&revenue=42.256",
        ),
        request(
            t,
            c,
            false,
            1.3,
            "http://example.org/index.htm#pk_campaign=CREDITED TO GOAL PLEASE",
            "http://example.org/referrer",
            &format!("&idgoal=1&revenue=42{C_REF}"),
        ),
        request(
            t,
            c,
            false,
            1.4,
            "http://example.org/index.html#pk_campaign=CREDITED TO ANOTHER GOAL",
            "http://example.org/referrer",
            &format!("&idgoal=1&revenue=24{C_REF}"),
        ),
        request(
            t,
            d,
            false,
            3.0,
            &campaign_url("GA+Campaign"),
            "http://bing.com/search?q=whatever",
            &title("first page"),
        ),
        request(
            t,
            d,
            false,
            4.0,
            &campaign_url("GA+Campaign"),
            "http://thing1.com/a/b/c.html?a=b&d=c",
            &title("second page"),
        ),
        request(
            t,
            d,
            false,
            5.0,
            &campaign_url("Adwords campaign"),
            ADS_PUBLISHER,
            &title("second page"),
        ),
        request(
            t,
            d,
            false,
            6.0,
            &campaign_url("AdWords campaign"),
            GOOGLE_AD_CLICK,
            &title("second page"),
        ),
        request(
            t,
            d,
            false,
            7.0,
            index,
            ADS_TEXT_IMAGE,
            &title("Hello world"),
        ),
        request(
            t,
            d,
            false,
            8.0,
            index,
            ADS_TEXT,
            &title("Bonjour le monde"),
        ),
        request(t, d, false, 10.0, index, "", &title("Hallo welt")),
        request(
            t,
            d,
            false,
            10.1,
            &format!("{index}?utm_campaign=GA Campaign&piwik_kwd=Piwik kwd"),
            "",
            &title("¡hola mundo"),
        ),
        request(
            t,
            d,
            false,
            10.2,
            index,
            "http://myreferrerwebsite.com",
            &title("Dia duit ar domhan"),
        ),
        request(t, d, false, 11.0, index, "", &title("привет мир")),
        request(
            t,
            d,
            false,
            11.1,
            index,
            "http://myotherreferrerwebsite.com",
            &title("hallå världen"),
        ),
        request(
            t,
            d,
            false,
            11.2,
            index,
            "http://myotherreferrerwebsite.com",
            &title("halló heimur"),
        ),
        request(
            t,
            d,
            false,
            11.3,
            index,
            "http://mutantregistration.com",
            &title("העלא וועלט"),
        ),
    ];
    let e = "a1b2c3d4e5f60005";
    let order = |id: &str, revenue: &str, attribution: &str| {
        format!("&idgoal=0&revenue={revenue}&ec_id={id}{attribution}")
    };
    let gifted = "&_rcn=Gifted+Search";
    let recruiting = "&_rcn=Recruiting+Drive&_rck=am+i+a+mutant%3F\
                      &_refts=2009-01-04%2B01%253A11%253A42&_ref=http%3A%2F%2Fsentinelwatch.org";
    let ga = "&_rcn=GA+Campaign&_rck=some+keyword&_refts=2009-01-04%2B02%253A11%253A42";
    let registration = "http://mutantregistration.com/act.html";
    let fifth = [
        request(
            t,
            e,
            false,
            0.0,
            registration,
            "http://xavierinstitute.org",
            &format!("{}{gifted}", title("Mutant Registration")),
        ),
        request(
            t,
            e,
            false,
            0.0,
            registration,
            "http://xavierinstitute.org",
            &order("vg25gedefg", "17.4", gifted),
        ),
        request(
            t,
            e,
            false,
            1.0,
            "http://asteroidm.com",
            "http://mutantrights.org",
            &format!("{}{recruiting}", title("Fighting Back")),
        ),
        request(
            t,
            e,
            false,
            1.0,
            "http://asteroidm.com",
            "http://mutantrights.org",
            &order("32452435zdfg", "22.9", recruiting),
        ),
        request(
            t,
            e,
            false,
            2.0,
            "http://mutantrights.org",
            "http://apocalypsenow.org",
            &format!("{}{ga}", title("Mutant Registration")),
        ),
        request(
            t,
            e,
            false,
            2.0,
            "http://mutantrights.org",
            "http://apocalypsenow.org",
            &order("fsg5her35h", "5.33", ga),
        ),
    ];
    let config = tally_tracking::http::TrackerConfig {
        create_new_visit_when_website_referrer_changes: true,
        ..tally_tracking::http::TrackerConfig::default()
    };
    let router = tracker_routes(&db, &config)?;
    for query in requests.into_iter().chain(fifth) {
        let answer = send(
            &router,
            Request::get(format!("/matomo.php{query}")).body(Body::empty())?,
        )
        .await?;
        assert_eq!(answer.status, StatusCode::OK, "{query}: {}", answer.text());
    }

    let api = reporting_api(&db)?;
    let campaigns = day(&api, t, "Referrers.getCampaigns", "&expanded=1").await?;
    assert_eq!(
        rows(&campaigns),
        expected(&[
            ("ga campaign", [4, 5, 1445, 3, 1]),
            ("adwords campaign", [2, 2, 0, 2, 0]),
            ("adwords (text)", [1, 1, 0, 1, 0]),
            ("adwords (text_image)", [1, 1, 0, 1, 0]),
            ("credited to another goal", [1, 0, 3, 1, 1]),
            ("credited to goal please", [1, 0, 0, 1, 1]),
            // Conversions attributed through `_rcn` only: no visit.
            ("gifted search", [0, -1, -1, -1, -1]),
            ("recruiting drive", [0, -1, -1, -1, -1]),
        ]),
        "{campaigns}"
    );
    let keywords = |i: usize| rows(&campaigns[i]["subtable"]);
    assert_eq!(
        keywords(0),
        expected(&[
            ("piwik kwd", [2, 3, 1445, 1, 1]),
            ("thing1.com", [1, 1, 0, 1, 0]),
            ("whatever", [1, 1, 0, 1, 0]),
            ("some keyword", [0, -1, -1, -1, -1]),
        ])
    );
    assert_eq!(
        keywords(1),
        expected(&[
            (
                "(adwords) www.adwords-publisher-website.org",
                [1, 1, 0, 1, 0]
            ),
            ("nintendo consoles second hand", [1, 1, 0, 1, 0]),
        ])
    );
    assert_eq!(
        keywords(2),
        expected(&[("(adwords) www.example.com", [1, 1, 0, 1, 0])])
    );
    assert_eq!(
        keywords(3),
        expected(&[("(adwords) example.com", [1, 1, 0, 1, 0])])
    );
    assert_eq!(keywords(4), expected(&[("example.org", [1, 0, 3, 1, 1])]));
    assert_eq!(
        campaigns[2]["segment"],
        json!("referrerType==campaign;referrerName==adwords+%28text%29")
    );
    assert_eq!(campaigns[0]["goals"]["idgoal=1"]["revenue"], json!(42.26));
    assert_eq!(
        campaigns[0]["goals"]["idgoal=ecommerceOrder"]["revenue"],
        json!(5.33)
    );
    assert_eq!(
        (&campaigns[0]["nb_conversions"], &campaigns[0]["revenue"]),
        (&json!(2), &json!(47.59))
    );
    assert_eq!(
        campaigns[6]["goals"]["idgoal=2"]["nb_conversions"],
        json!(1)
    );
    assert_eq!(
        rows(&campaigns[7]["subtable"]),
        expected(&[("am i a mutant?", [0, -1, -1, -1, -1])])
    );

    // The fifth visitor's orders start visits of their own: its page views
    // were recognised by fingerprint as earlier visitors', whose ids their
    // visits took, and the website referrer changed. Each of those visits
    // has no action, so it bounces, as in Matomo's expected report.
    let websites = day(&api, t, "Referrers.getWebsites", "").await?;
    assert_eq!(
        rows(&websites),
        expected(&[
            ("mutantrights.org", [2, 1, 2, 2, 1]),
            ("xavierinstitute.org", [2, 1, 3, 2, 2]),
            ("apocalypsenow.org", [1, 1, 3, 1, 1]),
            ("mutantregistration.com", [1, 1, 0, 1, 0]),
            ("myotherreferrerwebsite.com", [1, 2, 361, 0, 0]),
            ("myreferrerwebsite.com", [1, 1, 0, 1, 0]),
        ]),
        "{websites}"
    );

    let summary = day(&api, t, "VisitsSummary.get", "").await?;
    for (name, value) in [
        ("nb_visits", 19),
        ("nb_actions", 17),
        ("nb_visits_converted", 7),
        ("bounce_count", 17),
        ("sum_visit_length", 1817),
    ] {
        assert_eq!(summary[name], json!(value), "{name}: {summary}");
    }

    // `..._Live.getLastVisitsDetails_day`: the ten latest visits, newest
    // first, with the referrer each kept (a campaign or website change
    // starts a visit, a campaign on a direct visit's second page replaces
    // its referrer).
    let visits = day(&api, t, "Live.getLastVisitsDetails", "").await?;
    let referrers: Vec<[String; 4]> = visits
        .as_array()
        .map(|visits| {
            visits
                .iter()
                .map(|v| {
                    let text = |name: &str| match &v[name] {
                        Value::String(s) => s.clone(),
                        Value::Null => String::new(),
                        other => other.to_string(),
                    };
                    [
                        text("referrerType"),
                        text("referrerName"),
                        text("referrerKeyword"),
                        text("actions"),
                    ]
                })
                .collect()
        })
        .unwrap_or_default();
    let expected_referrers = [
        ["website", "mutantregistration.com", "", "1"],
        ["website", "myotherreferrerwebsite.com", "", "2"],
        ["direct", "", "", "1"],
        ["website", "myreferrerwebsite.com", "", "1"],
        ["campaign", "ga campaign", "piwik kwd", "2"],
        [
            "campaign",
            "adwords (text)",
            "(adwords) www.example.com",
            "1",
        ],
        [
            "campaign",
            "adwords (text_image)",
            "(adwords) example.com",
            "1",
        ],
        [
            "campaign",
            "adwords campaign",
            "nintendo consoles second hand",
            "1",
        ],
        [
            "campaign",
            "adwords campaign",
            "(adwords) www.adwords-publisher-website.org",
            "1",
        ],
        ["campaign", "ga campaign", "thing1.com", "1"],
    ]
    .map(|row| row.map(str::to_owned));
    assert_eq!(referrers, expected_referrers);
    Ok(())
}
