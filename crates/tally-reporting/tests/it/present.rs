//! Table reports presented as Matomo shows them: display labels, row
//! metadata in Matomo's order, processed metrics.
//!
//! Traffic of 2026-11-12 on site 1 (the common fixture has none that
//! day), durations are last hit − first hit + 1 s as in `reports.rs`:
//!
//! | visit | device | lang | country | hour | referrer | hits (s) | time |
//! |---|---|---|---|---|---|---|---|
//! | V1 | Windows 10 / Firefox 128, 1024x768 | fr | fr | 9 | google.fr "chaussures" | 0, 40 | 41 |
//! | V2 | Android 14 / Chrome Mobile, phone | en-us | us | 9 | google.com (hidden keyword) | 0 | 0 |
//! | V3 | Linux / Firefox 128 (default UA) | fr | fr | 22 | direct | 0 | 0 |
//! | V4 | Windows 10 / Firefox 128, 1024x768 | fr-ch | fr | 9 | bing "hats" | 0, 70, 130 | 131 |

use time::macros::datetime;

use crate::common::{Fixture, Visit, encode};

const DAY: &str = "idSite=1&period=day&date=2026-11-12&format=json";
const WINDOWS_FIREFOX: &str =
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0";
const ANDROID_CHROME: &str = "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Mobile Safari/537.36";

async fn fixture() -> anyhow::Result<Fixture> {
    let f = Fixture::new().await?;
    let visit = |visitor, hour, referrer, hits| Visit {
        idsite: 1,
        visitor,
        start: datetime!(2026-11-12 00:00 UTC) + time::Duration::hours(hour),
        referrer,
        hits,
    };
    f.track_with(
        &[visit(
            "1111111111111111",
            9,
            "https://www.google.fr/search?q=chaussures",
            &[(0, "/", "Home"), (40, "/a", "A")],
        )],
        &format!(
            "&ua={}&lang=fr&country=fr&res=1024x768&h=9",
            encode(WINDOWS_FIREFOX)
        ),
    )
    .await?;
    f.track_with(
        &[visit(
            "2222222222222222",
            9,
            "https://www.google.com/",
            &[(0, "/", "Home")],
        )],
        &format!(
            "&ua={}&lang=en-us&country=us&res=390x844&h=9",
            encode(ANDROID_CHROME)
        ),
    )
    .await?;
    f.track_with(
        &[visit("3333333333333333", 22, "", &[(0, "/", "Home")])],
        "&lang=fr&country=fr&h=22",
    )
    .await?;
    f.track_with(
        &[visit(
            "4444444444444444",
            9,
            "https://www.bing.com/search?q=hats",
            &[(0, "/", "Home"), (70, "/b", "B"), (130, "/c", "C")],
        )],
        &format!(
            "&ua={}&lang=fr-ch&country=fr&res=1024x768&h=9",
            encode(WINDOWS_FIREFOX)
        ),
    )
    .await?;
    Ok(f)
}

#[tokio::test(flavor = "multi_thread")]
async fn countries_types_browsers_and_os_versions() -> anyhow::Result<()> {
    let f = fixture().await?;
    // France: V1, V3, V4 (2 + 1 + 3 actions, 41 + 0 + 131 s, V3 bounces).
    let countries = f
        .get(&format!("method=UserCountry.getCountry&{DAY}"))
        .await?;
    assert_eq!(
        countries.text(),
        concat!(
            r#"[{"label":"France","nb_uniq_visitors":3,"nb_visits":3,"nb_actions":6,"nb_users":0,"max_actions":3,"sum_visit_length":172,"bounce_count":1,"nb_visits_converted":0,"#,
            r#""code":"fr","logo":"plugins\/Morpheus\/icons\/dist\/flags\/fr.png","segment":"countryCode==fr","logoHeight":16},"#,
            r#"{"label":"United States","nb_uniq_visitors":1,"nb_visits":1,"nb_actions":1,"nb_users":0,"max_actions":1,"sum_visit_length":0,"bounce_count":1,"nb_visits_converted":0,"#,
            r#""code":"us","logo":"plugins\/Morpheus\/icons\/dist\/flags\/us.png","segment":"countryCode==us","logoHeight":16}]"#
        )
    );
    let continents = f
        .get(&format!(
            "method=UserCountry.getContinent&{DAY}&showColumns=nb_visits"
        ))
        .await?;
    assert_eq!(
        continents.text(),
        r#"[{"label":"Europe","nb_visits":3,"code":"Europe"},{"label":"North America","nb_visits":1,"code":"North America"}]"#
    );
    // Three desktops, one smartphone, then the types without visits in
    // label order.
    let types = f
        .get(&format!(
            "method=DevicesDetection.getType&{DAY}&showColumns=nb_visits&filter_limit=3"
        ))
        .await?;
    assert_eq!(
        types.text(),
        concat!(
            r#"[{"label":"Desktop","nb_visits":3,"segment":"deviceType==desktop","logo":"plugins\/Morpheus\/icons\/dist\/devices\/desktop.png"},"#,
            r#"{"label":"Smartphone","nb_visits":1,"segment":"deviceType==smartphone","logo":"plugins\/Morpheus\/icons\/dist\/devices\/smartphone.png"},"#,
            r#"{"label":"Camera","nb_visits":0,"segment":"deviceType==camera","logo":"plugins\/Morpheus\/icons\/dist\/devices\/camera.png"}]"#
        )
    );
    let browsers = f
        .get("method=DevicesDetection.getBrowsers&idSite=1&period=day&date=2026-11-12&format=xml&showColumns=nb_visits")
        .await?;
    assert_eq!(
        browsers.text(),
        "<?xml version=\"1.0\" encoding=\"utf-8\" ?>\n<result>\n\
         \t<row>\n\t\t<label>Firefox</label>\n\t\t<nb_visits>3</nb_visits>\n\
         \t\t<logo>plugins/Morpheus/icons/dist/browsers/FF.png</logo>\n\t\t<segment>browserCode==FF</segment>\n\t</row>\n\
         \t<row>\n\t\t<label>Chrome Mobile</label>\n\t\t<nb_visits>1</nb_visits>\n\
         \t\t<logo>plugins/Morpheus/icons/dist/browsers/CM.png</logo>\n\t\t<segment>browserCode==CM</segment>\n\t</row>\n\
         </result>"
    );
    // Windows 10: V1 and V4 (5 actions, 172 s, no bounce).
    let windows = f
        .get(&format!(
            "method=DevicesDetection.getOsVersions&{DAY}&filter_limit=1"
        ))
        .await?;
    assert_eq!(
        windows.text(),
        concat!(
            r#"[{"label":"Windows 10","nb_uniq_visitors":2,"nb_visits":2,"nb_actions":5,"nb_users":0,"max_actions":3,"sum_visit_length":172,"bounce_count":0,"nb_visits_converted":0,"#,
            r#""segment":"operatingSystemCode==WIN;operatingSystemVersion==10","logo":"plugins\/Morpheus\/icons\/dist\/os\/WIN.png"}]"#
        )
    );
    let linux = f
        .get(&format!(
            "method=DevicesDetection.getOsVersions&{DAY}&label=GNU%2FLinux&showColumns=nb_visits"
        ))
        .await?;
    assert_eq!(
        linux.text(),
        r#"[{"label":"GNU\/Linux","nb_visits":1,"segment":"operatingSystemCode==LIN;operatingSystemVersion==","logo":"plugins\/Morpheus\/icons\/dist\/os\/LIN.png"}]"#
    );
    let configuration = f
        .get(&format!(
            "method=Resolution.getConfiguration&{DAY}&filter_limit=1&showColumns=nb_visits"
        ))
        .await?;
    assert_eq!(
        configuration.text(),
        r#"[{"label":"Windows \/ Firefox \/ 1024x768","nb_visits":2}]"#
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn languages_hours_and_durations() -> anyhow::Result<()> {
    let f = fixture().await?;
    // fr, fr and fr-ch are French; en-us is English.
    let languages = f
        .get(&format!(
            "method=UserLanguage.getLanguage&{DAY}&showColumns=nb_visits,nb_actions"
        ))
        .await?;
    assert_eq!(
        languages.text(),
        concat!(
            r#"[{"label":"French","nb_visits":3,"nb_actions":6,"segment":"languageCode==fr,languageCode=@fr-"},"#,
            r#"{"label":"English","nb_visits":1,"nb_actions":1,"segment":"languageCode==en,languageCode=@en-"}]"#
        )
    );
    let code = f
        .get(&format!(
            "method=UserLanguage.getLanguageCode&{DAY}&filter_limit=1&showColumns=nb_visits"
        ))
        .await?;
    assert_eq!(
        code.text(),
        r#"[{"label":"French (fr)","nb_visits":2,"segment":"languageCode==fr"}]"#
    );
    // Hour 9: V1, V2, V4 (2 + 1 + 3 actions, 41 + 0 + 131 s, V2 bounces).
    let nine = f
        .get(&format!(
            "method=VisitTime.getVisitInformationPerLocalTime&{DAY}&filter_offset=9&filter_limit=1"
        ))
        .await?;
    assert_eq!(
        nine.text(),
        r#"[{"label":"09","nb_uniq_visitors":3,"nb_visits":3,"nb_actions":6,"nb_users":0,"max_actions":3,"sum_visit_length":172,"bounce_count":1,"nb_visits_converted":0,"segment":"visitLocalHour==9"}]"#
    );
    let hours = f
        .get("method=VisitTime.getVisitInformationPerLocalTime&idSite=1&period=day&date=2026-11-12&format=xml&filter_limit=2&showColumns=nb_visits")
        .await?;
    assert_eq!(
        hours.text(),
        "<?xml version=\"1.0\" encoding=\"utf-8\" ?>\n<result>\n\
         \t<row>\n\t\t<label>00</label>\n\t\t<nb_visits>0</nb_visits>\n\t\t<segment>visitLocalHour==0</segment>\n\t</row>\n\
         \t<row>\n\t\t<label>01</label>\n\t\t<nb_visits>0</nb_visits>\n\t\t<segment>visitLocalHour==1</segment>\n\t</row>\n\
         </result>"
    );
    let server = f
        .get(&format!(
            "method=VisitTime.getVisitInformationPerServerTime&{DAY}&label=22&showColumns=nb_visits"
        ))
        .await?;
    assert_eq!(
        server.text(),
        r#"[{"label":"22","nb_visits":1,"segment":"visitStartServerHour==22"}]"#
    );
    // 0 s: V2, V3; 41 s: V1; 131 s: V4.
    let durations = f
        .get(&format!(
            "method=VisitorInterest.getNumberOfVisitsPerVisitDuration&{DAY}"
        ))
        .await?;
    assert_eq!(
        durations.text(),
        concat!(
            r#"[{"label":"0\u201310s","nb_visits":2,"segment":"visitDuration>=0;visitDuration<=10"},"#,
            r#"{"label":"11\u201330s","nb_visits":0,"segment":"visitDuration>=11;visitDuration<=30"},"#,
            r#"{"label":"31\u201360s","nb_visits":1,"segment":"visitDuration>=31;visitDuration<=60"},"#,
            r#"{"label":"1-2 min","nb_visits":0,"segment":"visitDuration>=60;visitDuration<=120"},"#,
            r#"{"label":"2-4 min","nb_visits":1,"segment":"visitDuration>=120;visitDuration<=240"},"#,
            r#"{"label":"4-7 min","nb_visits":0,"segment":"visitDuration>=240;visitDuration<=420"},"#,
            r#"{"label":"7-10 min","nb_visits":0,"segment":"visitDuration>=420;visitDuration<=600"},"#,
            r#"{"label":"10-15 min","nb_visits":0,"segment":"visitDuration>=600;visitDuration<=900"},"#,
            r#"{"label":"15-30 min","nb_visits":0,"segment":"visitDuration>=900;visitDuration<=1800"},"#,
            r#"{"label":"30+ min","nb_visits":0,"segment":"visitDuration>=1801"}]"#
        )
    );
    // One page: V2, V3; two: V1; three: V4.
    let pages = f
        .get(&format!(
            "method=VisitorInterest.getNumberOfVisitsPerPage&{DAY}&filter_limit=3"
        ))
        .await?;
    assert_eq!(
        pages.text(),
        concat!(
            r#"[{"label":"1 page","nb_visits":2,"segment":"actions==1"},"#,
            r#"{"label":"2 pages","nb_visits":1,"segment":"actions==2"},"#,
            r#"{"label":"3 pages","nb_visits":1,"segment":"actions==3"}]"#
        )
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn search_engines_with_keyword_subtables() -> anyhow::Result<()> {
    let f = fixture().await?;
    // Google: V1 (2 actions, 41 s) and V2 (a bounce); Bing: V4.
    let engines = f
        .get(&format!("method=Referrers.getSearchEngines&{DAY}"))
        .await?;
    let text = engines.text();
    let google_sub = subtable_id(&text, 0)?;
    let bing_sub = subtable_id(&text, 1)?;
    assert_eq!(
        text,
        format!(
            concat!(
                r#"[{{"label":"Google","nb_uniq_visitors":2,"nb_visits":2,"nb_actions":3,"nb_users":0,"max_actions":2,"sum_visit_length":41,"bounce_count":1,"nb_visits_converted":0,"#,
                r#""segment":"referrerType==search;referrerName==Google","url":"http:\/\/google.com","logo":"plugins\/Morpheus\/icons\/dist\/searchEngines\/google.com.png","idsubdatatable":{}}},"#,
                r#"{{"label":"Bing","nb_uniq_visitors":1,"nb_visits":1,"nb_actions":3,"nb_users":0,"max_actions":3,"sum_visit_length":131,"bounce_count":0,"nb_visits_converted":0,"#,
                r#""segment":"referrerType==search;referrerName==Bing","url":"http:\/\/bing.com","logo":"plugins\/Morpheus\/icons\/dist\/searchEngines\/bing.com.png","idsubdatatable":{}}}]"#
            ),
            google_sub, bing_sub
        )
    );
    // Google's keywords: "chaussures" (V1) and the hidden one (V2), with
    // Google's results page for each (Matomo's FAQ for the undefined
    // keyword) and segments naming the engine.
    let keywords = f
        .get(&format!(
            "method=Referrers.getKeywordsFromSearchEngineId&{DAY}&idSubtable={google_sub}&showColumns=nb_visits,nb_actions&filter_sort_column=label&filter_sort_order=asc"
        ))
        .await?;
    assert_eq!(
        keywords.text(),
        concat!(
            r#"[{"label":"chaussures","nb_visits":1,"nb_actions":2,"#,
            r#""segment":"referrerName==Google;referrerType==search;referrerKeyword==chaussures","#,
            r#""url":"http:\/\/google.com\/search?q=chaussures"},"#,
            r#"{"label":"Keyword not defined","nb_visits":1,"nb_actions":1,"#,
            r#""url":"https:\/\/matomo.org\/faq\/general\/faq_144"}]"#
        )
    );
    let by_keyword = f
        .get(&format!(
            "method=Referrers.getKeywords&{DAY}&showColumns=nb_visits&filter_sort_column=label&filter_sort_order=asc"
        ))
        .await?;
    let text = by_keyword.text();
    assert!(
        text.contains(r#"{"label":"Keyword not defined","nb_visits":1,"segment":"referrerType==search;referrerKeyword==","#),
        "{text}"
    );
    assert!(
        text.contains(r#"{"label":"hats","nb_visits":1,"segment":"referrerType==search;referrerKeyword==hats","#),
        "{text}"
    );
    // The engines of "hats": Bing, with its logo and results page for the
    // keyword, segments naming the keyword (as stored).
    let hats_sub = text
        .split(r#""label":"hats""#)
        .nth(1)
        .map(|row| subtable_id(row, 0))
        .ok_or_else(|| anyhow::anyhow!("no hats row in {text}"))??;
    let engines = f
        .get(&format!(
            "method=Referrers.getSearchEnginesFromKeywordId&{DAY}&idSubtable={hats_sub}&showColumns=nb_visits"
        ))
        .await?;
    assert_eq!(
        engines.text(),
        concat!(
            r#"[{"label":"Bing","nb_visits":1,"#,
            r#""segment":"referrerKeyword==hats;referrerType==search;referrerName==Bing","#,
            r#""url":"http:\/\/bing.com\/search?q=hats","#,
            r#""logo":"plugins\/Morpheus\/icons\/dist\/searchEngines\/bing.com.png"}]"#
        )
    );
    Ok(())
}

/// The `n`th `"idsubdatatable":N` of a JSON answer.
fn subtable_id(text: &str, n: usize) -> anyhow::Result<u32> {
    let id = text
        .split("\"idsubdatatable\":")
        .nth(n + 1)
        .and_then(|rest| rest.split(|c: char| !c.is_ascii_digit()).next())
        .ok_or_else(|| anyhow::anyhow!("no subtable {n} in {text}"))?;
    Ok(id.parse()?)
}
