//! `pivotBy`, `pivotByColumn`, `pivotByColumnLimit` (Matomo's
//! `PivotByDimension` filter) against hand-computed pivot tables.
//!
//! On 2026-11-12 site 1 gets seven search visits, one visitor each:
//!
//! | keyword | Google | Bing | DuckDuckGo | Yahoo! |
//! |---------|--------|------|------------|--------|
//! | shoes   | 2 (3 actions) | 1 | | |
//! | hats    | 1      |      |            | 1      |
//! | socks   |        | 1    | 1          |        |
//!
//! Engine totals: Google 3, Bing 2, DuckDuckGo 1, Yahoo! 1, so the columns
//! come in that order (ties by name). No row has `nb_visits` any more, so
//! the default sort leaves the rows ordered by label.

use time::macros::datetime;

use crate::common::{Fixture, Visit};

const DAY: &str = "idSite=1&period=day&date=2026-11-12";

async fn searches() -> anyhow::Result<Fixture> {
    let f = Fixture::new().await?;
    let visit = |visitor, hour, referrer, hits| Visit {
        idsite: 1,
        visitor,
        start: datetime!(2026-11-12 00:00 UTC) + time::Duration::hours(hour),
        referrer,
        hits,
    };
    let one: &[(i64, &str, &str)] = &[(0, "/", "Home")];
    f.track(&[
        visit(
            "1000000000000001",
            1,
            "https://www.google.com/search?q=shoes",
            &[(0, "/", "Home"), (60, "/products/shoes", "Shoes")],
        ),
        visit(
            "1000000000000002",
            2,
            "https://www.google.com/search?q=shoes",
            one,
        ),
        visit(
            "1000000000000003",
            3,
            "https://www.bing.com/search?q=shoes",
            one,
        ),
        visit(
            "1000000000000004",
            4,
            "https://www.google.com/search?q=hats",
            one,
        ),
        visit(
            "1000000000000005",
            5,
            "https://search.yahoo.com/search?p=hats",
            one,
        ),
        visit(
            "1000000000000006",
            6,
            "https://www.bing.com/search?q=socks",
            one,
        ),
        visit(
            "1000000000000007",
            7,
            "https://duckduckgo.com/?q=socks",
            one,
        ),
    ])
    .await?;
    Ok(f)
}

async fn text(f: &Fixture, query: &str) -> anyhow::Result<String> {
    Ok(f.get(query).await?.text())
}

#[tokio::test(flavor = "multi_thread")]
async fn keywords_pivoted_by_search_engine() -> anyhow::Result<()> {
    let f = searches().await?;
    let keywords = format!("method=Referrers.getKeywords&{DAY}&pivotBy=Referrers.SearchEngine");
    // The default column is the first of the first row (unique visitors,
    // here equal to visits); a missing cell is PHP `false`; the names are
    // numbered with a no-break space.
    assert_eq!(
        text(&f, &format!("{keywords}&format=json")).await?,
        concat!(
            r#"[{"label":"hats","1.\u00a0Google":1,"2.\u00a0Bing":false,"3.\u00a0DuckDuckGo":false,"4.\u00a0Yahoo!":1},"#,
            r#"{"label":"shoes","1.\u00a0Google":2,"2.\u00a0Bing":1,"3.\u00a0DuckDuckGo":false,"4.\u00a0Yahoo!":false},"#,
            r#"{"label":"socks","1.\u00a0Google":false,"2.\u00a0Bing":1,"3.\u00a0DuckDuckGo":1,"4.\u00a0Yahoo!":false}]"#
        )
    );
    // Another column; XML and CSV write `false` as 0.
    assert_eq!(
        text(
            &f,
            &format!("{keywords}&pivotByColumn=nb_actions&format=xml")
        )
        .await?,
        "<?xml version=\"1.0\" encoding=\"utf-8\" ?>\n<result>\n\
         \t<row>\n\t\t<col name=\"label\">hats</col>\n\t\t<col name=\"1.\u{a0}Google\">1</col>\n\
         \t\t<col name=\"2.\u{a0}Bing\">0</col>\n\t\t<col name=\"3.\u{a0}DuckDuckGo\">0</col>\n\
         \t\t<col name=\"4.\u{a0}Yahoo!\">1</col>\n\t</row>\n\
         \t<row>\n\t\t<col name=\"label\">shoes</col>\n\t\t<col name=\"1.\u{a0}Google\">3</col>\n\
         \t\t<col name=\"2.\u{a0}Bing\">1</col>\n\t\t<col name=\"3.\u{a0}DuckDuckGo\">0</col>\n\
         \t\t<col name=\"4.\u{a0}Yahoo!\">0</col>\n\t</row>\n\
         \t<row>\n\t\t<col name=\"label\">socks</col>\n\t\t<col name=\"1.\u{a0}Google\">0</col>\n\
         \t\t<col name=\"2.\u{a0}Bing\">1</col>\n\t\t<col name=\"3.\u{a0}DuckDuckGo\">1</col>\n\
         \t\t<col name=\"4.\u{a0}Yahoo!\">0</col>\n\t</row>\n</result>"
    );
    // CSV is UTF-16LE behind a byte-order mark, as Matomo sends it.
    let csv = f
        .get(&format!("{keywords}&pivotByColumn=nb_visits&format=csv"))
        .await?
        .body;
    let (bom, units) = csv.split_at(2);
    assert_eq!(bom, [0xFF, 0xFE]);
    let units: Vec<u16> = units
        .chunks(2)
        .map(|pair| u16::from_le_bytes([pair[0], pair[1]]))
        .collect();
    assert_eq!(
        String::from_utf16(&units)?,
        "label,1.\u{a0}Google,2.\u{a0}Bing,3.\u{a0}DuckDuckGo,4.\u{a0}Yahoo!\n\
         hats,1,0,0,1\nshoes,2,1,0,0\nsocks,0,1,1,0"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn column_limit_keeps_an_others_column() -> anyhow::Result<()> {
    let f = searches().await?;
    let keywords = format!(
        "method=Referrers.getKeywords&{DAY}&pivotBy=Referrers.SearchEngine&pivotByColumn=nb_visits&format=json"
    );
    // Three places: the two largest columns and `Others`, the sum of the
    // columns cut off (`false` where the row had none of them).
    assert_eq!(
        text(&f, &format!("{keywords}&pivotByColumnLimit=3")).await?,
        concat!(
            r#"[{"label":"hats","1.\u00a0Google":1,"2.\u00a0Bing":false,"Others":1},"#,
            r#"{"label":"shoes","1.\u00a0Google":2,"2.\u00a0Bing":1,"Others":false},"#,
            r#"{"label":"socks","1.\u00a0Google":false,"2.\u00a0Bing":1,"Others":1}]"#
        )
    );
    // A limit of 1 leaves only `Others`, summing every engine.
    assert_eq!(
        text(&f, &format!("{keywords}&pivotByColumnLimit=1")).await?,
        r#"[{"label":"hats","Others":2},{"label":"shoes","Others":3},{"label":"socks","Others":2}]"#
    );
    // 0 and non-numbers are the default limit (10); -1 is no limit.
    let all = text(&f, &format!("{keywords}&pivotByColumnLimit=-1")).await?;
    assert!(all.contains(r#""4.\u00a0Yahoo!":1"#), "{all}");
    assert_eq!(
        text(&f, &format!("{keywords}&pivotByColumnLimit=0")).await?,
        all
    );
    assert_eq!(
        text(&f, &format!("{keywords}&pivotByColumnLimit=abc")).await?,
        all
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn numbering_is_a_queued_filter() -> anyhow::Result<()> {
    let f = searches().await?;
    let keywords = format!(
        "method=Referrers.getKeywords&{DAY}&pivotBy=Referrers.SearchEngine&pivotByColumn=nb_visits&format=json"
    );
    // Without queued filters the columns keep the engines' names.
    assert_eq!(
        text(&f, &format!("{keywords}&disable_queued_filters=1")).await?,
        concat!(
            r#"[{"label":"hats","Google":1,"Bing":false,"DuckDuckGo":false,"Yahoo!":1},"#,
            r#"{"label":"shoes","Google":2,"Bing":1,"DuckDuckGo":false,"Yahoo!":false},"#,
            r#"{"label":"socks","Google":false,"Bing":1,"DuckDuckGo":1,"Yahoo!":false}]"#
        )
    );
    // The sort runs before the numbering, so it names the engine; a row
    // without the value comes last; ties go by label, the other way round
    // (Z to A when ascending). Column deletion runs after it, so it
    // names the numbered column.
    assert_eq!(
        text(
            &f,
            &format!("{keywords}&filter_sort_column=Google&showColumns=1.%C2%A0Google")
        )
        .await?,
        r#"[{"label":"shoes","1.\u00a0Google":2},{"label":"hats","1.\u00a0Google":1},{"label":"socks","1.\u00a0Google":false}]"#
    );
    assert_eq!(
        text(
            &f,
            &format!("{keywords}&disable_queued_filters=1&filter_sort_column=Bing&filter_sort_order=asc&showColumns=Bing")
        )
        .await?,
        r#"[{"label":"socks","Bing":1},{"label":"shoes","Bing":1},{"label":"hats","Bing":false}]"#
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn search_engines_pivoted_by_keyword_and_pages_by_themselves() -> anyhow::Result<()> {
    let f = searches().await?;
    // Engines × keywords: shoes 3, hats 2, socks 2.
    assert_eq!(
        text(
            &f,
            &format!("method=Referrers.getSearchEngines&{DAY}&pivotBy=Referrers.Keyword&pivotByColumn=nb_visits&format=json")
        )
        .await?,
        concat!(
            r#"[{"label":"Bing","1.\u00a0shoes":1,"2.\u00a0hats":false,"3.\u00a0socks":1},"#,
            r#"{"label":"DuckDuckGo","1.\u00a0shoes":false,"2.\u00a0hats":false,"3.\u00a0socks":1},"#,
            r#"{"label":"Google","1.\u00a0shoes":2,"2.\u00a0hats":1,"3.\u00a0socks":false},"#,
            r#"{"label":"Yahoo!","1.\u00a0shoes":false,"2.\u00a0hats":1,"3.\u00a0socks":false}]"#
        )
    );
    // Page URLs of 2026-11-10: only the `products` folder has a subtable
    // (`/shoes`, one hit); pages without one get `false`. The pivot deletes
    // the segments, the Actions filter `folder_url_start`: `url` stays.
    assert_eq!(
        text(
            &f,
            "method=Actions.getPageUrls&idSite=1&period=day&date=2026-11-10&pivotBy=Actions.PageUrl&pivotByColumn=nb_hits&format=json"
        )
        .await?,
        concat!(
            r#"[{"label":"\/index","1.\u00a0\/shoes":false,"url":"https:\/\/shop.example\/"},"#,
            r#"{"label":"\/thank-you","1.\u00a0\/shoes":false,"url":"https:\/\/shop.example\/thank-you"},"#,
            r#"{"label":"products","1.\u00a0\/shoes":1}]"#
        )
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn unsupported_pivots_are_refused_with_matomos_messages() -> anyhow::Result<()> {
    let f = Fixture::new().await?;
    let error = |message: &str| format!(r#"{{"result":"error","message":"{message}"}}"#);
    let day = "idSite=1&period=day&date=2026-11-10&format=json";
    assert_eq!(
        text(
            &f,
            &format!("method=Referrers.getKeywords&{day}&pivotBy=Referrers.Nope")
        )
        .await?,
        error("Invalid dimension 'Referrers.Nope'.")
    );
    // A dimension Matomo knows but that is not the subtable's: fetching by
    // segment is off by default in Matomo.
    assert_eq!(
        text(
            &f,
            &format!("method=Referrers.getKeywords&{day}&pivotBy=UserCountry.City")
        )
        .await?,
        error(
            "Unsupported pivot: the subtable dimension for 'Referrers.getKeywords' does not match the requested pivotBy dimension. [subtable dimension = Referrers.SearchEngine, pivot by dimension = UserCountry.City]"
        )
    );
    assert_eq!(
        text(
            &f,
            &format!("method=UserCountry.getCountry&{day}&pivotBy=Referrers.Keyword")
        )
        .await?,
        error("Unsupported pivot: report 'UserCountry.getCountry' has no subtable dimension.")
    );
    assert_eq!(
        text(
            &f,
            &format!("method=VisitsSummary.get&{day}&pivotBy=Referrers.Keyword")
        )
        .await?,
        error("Unsupported pivot: report 'VisitsSummary.get' has no subtable dimension.")
    );
    assert_eq!(
        text(
            &f,
            &format!("method=VisitsSummary.getVisits&{day}&pivotBy=Referrers.Keyword")
        )
        .await?,
        error("This report does not support pivot.")
    );
    // An empty `pivotBy` (or PHP-empty "0") is no pivot.
    let plain = text(&f, &format!("method=Referrers.getKeywords&{day}")).await?;
    assert_eq!(
        text(&f, &format!("method=Referrers.getKeywords&{day}&pivotBy=0")).await?,
        plain
    );
    assert!(plain.contains(r#""label":"shoes""#), "{plain}");
    Ok(())
}
