//! `format=original` (with and without `serialize=1`) and `format=html`,
//! the bodies written by hand from Matomo's rules:
//!
//! - a report is a `DataTable`: `format=original` echoes it, which is its
//!   `Renderer\Html` table without an id, under PHP's default
//!   `text/html; charset=UTF-8`; `format=html` draws the same table with
//!   `id="Module_method"` under `text/html; charset=utf-8`;
//! - an array (management and metadata methods) is `var_export`ed, sent as
//!   `text/plain` when the parameter is exactly `original`;
//! - `serialize=1` answers `serialize()` as `text/plain`, a void method
//!   `1` (`true`, never serialized); serialized reports (PHP objects) are
//!   refused with a 400;
//! - errors: the bare message with status 500 without `serialize`, a
//!   serialized `result`/`message` array with it, `nl2br` of the escaped
//!   message as `text/plain` for HTML.

use axum::http::StatusCode;

use crate::common::Fixture;

const DAY: &str = "idSite=1&period=day&date=2026-11-10";
const PHP_DEFAULT: &str = "text/html; charset=UTF-8";
const PLAIN: &str = "text/plain; charset=utf-8";
const HTML: &str = "text/html; charset=utf-8";

/// Three page rows: two with `url` metadata, a folder with its subtable id.
const PAGE_ROWS: &str = "<thead>\n\t<tr>\n\t\t<th>label</th>\n\t\t<th>nb_visits</th>\n\
    \t\t<th>_metadata</th>\n\t\t<th>_idSubtable</th>\n\t</tr>\n</thead>\n<tbody>\n\
    \t<tr>\n\t\t<td>/index</td>\n\t\t<td>2</td>\n\
    \t\t<td>'url' =&gt; 'https://shop.example/'&lt;br /&gt;'segment' =&gt; 'pageUrl==https%253A%252F%252Fshop.example%252F'</td>\n\t\t<td>-</td>\n\t</tr>\n\
    \t<tr>\n\t\t<td>/thank-you</td>\n\t\t<td>1</td>\n\
    \t\t<td>'url' =&gt; 'https://shop.example/thank-you'&lt;br /&gt;'segment' =&gt; 'pageUrl==https%253A%252F%252Fshop.example%252Fthank-you'</td>\n\t\t<td>-</td>\n\t</tr>\n\
    \t<tr>\n\t\t<td>products</td>\n\t\t<td>1</td>\n\
    \t\t<td>'segment' =&gt; 'pageUrl=^https%253A%252F%252Fshop.example%252Fproducts'</td>\n\t\t<td>1</td>\n\t</tr>\n\
    </tbody>\n</table>\n";

const OBJECT_MESSAGE: &str = "format=original cannot send this result: Matomo would send the internals of PHP DataTable objects. Use format=original without serialize=1 (an HTML table), or format=json, xml, csv or tsv.";

#[tokio::test(flavor = "multi_thread")]
async fn a_report_is_an_html_table_in_both_formats() -> anyhow::Result<()> {
    let f = Fixture::new().await?;
    let pages = format!("method=Actions.getPageUrls&{DAY}&filter_limit=3&showColumns=nb_visits");
    let html = f.get(&format!("{pages}&format=html")).await?;
    assert_eq!(html.status, StatusCode::OK);
    assert_eq!(html.content_type, HTML);
    assert_eq!(
        html.text(),
        format!("<table id=\"Actions_getPageUrls\" border=\"1\">\n{PAGE_ROWS}")
    );
    // `expanded` and `hideIdSubDatable` do not change the HTML renderer.
    let expanded = f
        .get(&format!(
            "{pages}&format=HTML&expanded=1&hideIdSubDatable=1"
        ))
        .await?;
    assert_eq!(expanded.text(), html.text());
    for format in ["original", "Original"] {
        let original = f.get(&format!("{pages}&format={format}")).await?;
        assert_eq!(original.status, StatusCode::OK);
        assert_eq!(original.content_type, PHP_DEFAULT);
        assert_eq!(
            original.text(),
            format!("<table border=\"1\">\n{PAGE_ROWS}")
        );
    }
    // Serialized, a report would be PHP object internals: refused.
    let serialized = f
        .get(&format!("{pages}&format=original&serialize=1"))
        .await?;
    assert_eq!(serialized.status, StatusCode::BAD_REQUEST);
    assert_eq!(serialized.content_type, PLAIN);
    assert_eq!(
        serialized.text(),
        format!("a:2:{{s:6:\"result\";s:5:\"error\";s:7:\"message\";s:188:\"{OBJECT_MESSAGE}\";}}")
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_map_of_periods_gets_a_date_column_and_a_map_of_maps_is_refused() -> anyhow::Result<()> {
    let f = Fixture::new().await?;
    let days = "method=VisitsSummary.get&idSite=1&period=day&date=2026-11-10,2026-11-11&columns=nb_visits,nb_actions";
    let rows = "<thead>\n\t<tr>\n\t\t<th>_date</th>\n\t\t<th>nb_visits</th>\n\t\t<th>nb_actions</th>\n\
        \t</tr>\n</thead>\n<tbody>\n\
        \t<tr>\n\t\t<td>2026-11-10</td>\n\t\t<td>2</td>\n\t\t<td>4</td>\n\t</tr>\n\
        \t<tr>\n\t\t<td>2026-11-11</td>\n\t\t<td>1</td>\n\t\t<td>2</td>\n\t</tr>\n\
        </tbody>\n</table>\n";
    let html = f.get(&format!("{days}&format=html")).await?;
    assert_eq!(
        html.text(),
        format!("<table id=\"VisitsSummary_get\" border=\"1\">\n{rows}")
    );
    let original = f.get(&format!("{days}&format=original")).await?;
    assert_eq!(original.content_type, PHP_DEFAULT);
    assert_eq!(original.text(), format!("<table border=\"1\">\n{rows}"));
    // Sites × periods: Matomo's HTML renderer throws. `format=html`
    // renders the exception; `format=original` lets it reach the error page.
    let sites_by_days = "method=VisitsSummary.get&idSite=1,2&period=day&date=2026-11-10,2026-11-11&columns=nb_visits";
    let refused = "HTML Renderer does not work with this combination of parameters";
    let html = f.get(&format!("{sites_by_days}&format=html")).await?;
    assert_eq!(
        (
            html.status,
            html.content_type.as_str(),
            html.text().as_str()
        ),
        (StatusCode::OK, PLAIN, refused)
    );
    let original = f.get(&format!("{sites_by_days}&format=original")).await?;
    assert_eq!(
        (
            original.status,
            original.content_type.as_str(),
            original.text().as_str()
        ),
        (StatusCode::INTERNAL_SERVER_ERROR, HTML, refused)
    );
    Ok(())
}

/// `Goals.getGoals` is a plain PHP array keyed by idgoal, not a
/// `DataTable\Map`: XML writes `<result>` with a `<row key="1">` per goal
/// (as test_OneVisitorTwoVisits__Goals.getGoals.xml shows), JSON an
/// object keyed by idgoal, CSV one line per goal without the key.
#[tokio::test(flavor = "multi_thread")]
async fn goals_are_an_array_keyed_by_idgoal_in_every_format() -> anyhow::Result<()> {
    let f = Fixture::new().await?;
    let goals = "method=Goals.getGoals&idSite=1";
    let xml = f.get(&format!("{goals}&format=xml")).await?;
    assert_eq!(
        xml.text(),
        "<?xml version=\"1.0\" encoding=\"utf-8\" ?>\n<result>\n\t<row key=\"1\">\n\
         \t\t<idsite>1</idsite>\n\t\t<idgoal>1</idgoal>\n\t\t<name>Thanks</name>\n\
         \t\t<description />\n\t\t<match_attribute>url</match_attribute>\n\
         \t\t<pattern>thank-you</pattern>\n\t\t<pattern_type>contains</pattern_type>\n\
         \t\t<case_sensitive>0</case_sensitive>\n\t\t<allow_multiple>0</allow_multiple>\n\
         \t\t<revenue>5</revenue>\n\t\t<deleted>0</deleted>\n\
         \t\t<event_value_as_revenue>0</event_value_as_revenue>\n\t</row>\n</result>"
    );
    let json = f.get(&format!("{goals}&format=json")).await?;
    assert_eq!(
        json.text(),
        "{\"1\":{\"idsite\":1,\"idgoal\":1,\"name\":\"Thanks\",\"description\":\"\",\
         \"match_attribute\":\"url\",\"pattern\":\"thank-you\",\"pattern_type\":\"contains\",\
         \"case_sensitive\":0,\"allow_multiple\":0,\"revenue\":5,\"deleted\":0,\
         \"event_value_as_revenue\":0}}"
    );
    let csv = f
        .get(&format!("{goals}&format=csv&convertToUnicode=0"))
        .await?;
    assert_eq!(
        csv.text(),
        "idsite,idgoal,name,description,match_attribute,pattern,pattern_type,case_sensitive,\
         allow_multiple,revenue,deleted,event_value_as_revenue\n\
         1,1,Thanks,,url,thank-you,contains,0,0,5,0,0"
    );
    // A site without goals: PHP's empty array.
    let none = f.get("method=Goals.getGoals&idSite=2&format=xml").await?;
    assert_eq!(
        none.text(),
        "<?xml version=\"1.0\" encoding=\"utf-8\" ?>\n<result />"
    );
    let none = f.get("method=Goals.getGoals&idSite=2&format=json").await?;
    assert_eq!(none.text(), "[]");
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn all_sites_are_keyed_by_idsite() -> anyhow::Result<()> {
    // `import_logs.py --replay-tracking` reads `SitesManager.getAllSites`
    // as a dict and looks the replayed `idsite` ("1") up among its keys.
    let f = Fixture::new().await?;
    let json = f.get("method=SitesManager.getAllSites&format=json").await?;
    let sites: serde_json::Value = serde_json::from_str(&json.text())?;
    let sites = sites.as_object().expect("an object keyed by idsite");
    let keys: Vec<&str> = sites.keys().map(String::as_str).collect();
    assert_eq!(keys, ["1", "2"]);
    for (key, site) in sites {
        assert_eq!(site["idsite"].to_string(), *key);
    }
    assert_eq!(sites["1"]["main_url"], "https://shop.example");
    let xml = f.get("method=SitesManager.getAllSites&format=xml").await?;
    let text = xml.text();
    assert!(
        text.starts_with("<?xml version=\"1.0\" encoding=\"utf-8\" ?>\n<result>\n\t<row key=\"1\">\n\t\t<idsite>1</idsite>\n"),
        "{text}"
    );
    assert_eq!(text.matches("<row key=").count(), 2);
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn management_arrays_are_exported_serialized_or_tabulated() -> anyhow::Result<()> {
    let f = Fixture::new().await?;
    // Goals are keyed by their integer id (PHP turns the key "1" into 1).
    let goals = "method=Goals.getGoals&idSite=1";
    let export = "array (\n  1 => \n  array (\n    'idsite' => 1,\n    'idgoal' => 1,\n\
        \x20   'name' => 'Thanks',\n    'description' => '',\n    'match_attribute' => 'url',\n\
        \x20   'pattern' => 'thank-you',\n    'pattern_type' => 'contains',\n\
        \x20   'case_sensitive' => 0,\n    'allow_multiple' => 0,\n    'revenue' => 5,\n\
        \x20   'deleted' => 0,\n    'event_value_as_revenue' => 0,\n  ),\n)";
    let original = f.get(&format!("{goals}&format=original")).await?;
    assert_eq!(
        (
            original.status,
            original.content_type.as_str(),
            original.text().as_str()
        ),
        (StatusCode::OK, PLAIN, export)
    );
    // The controller compares the raw parameter with `original`.
    let capitalised = f.get(&format!("{goals}&format=Original")).await?;
    assert_eq!(capitalised.content_type, PHP_DEFAULT);
    assert_eq!(capitalised.text(), export);
    let serialized = f
        .get(&format!("{goals}&format=original&serialize=1"))
        .await?;
    assert_eq!(serialized.content_type, PLAIN);
    assert_eq!(
        serialized.text(),
        "a:1:{i:1;a:12:{s:6:\"idsite\";i:1;s:6:\"idgoal\";i:1;s:4:\"name\";s:6:\"Thanks\";\
         s:11:\"description\";s:0:\"\";s:15:\"match_attribute\";s:3:\"url\";\
         s:7:\"pattern\";s:9:\"thank-you\";s:12:\"pattern_type\";s:8:\"contains\";\
         s:14:\"case_sensitive\";i:0;s:14:\"allow_multiple\";i:0;s:7:\"revenue\";i:5;\
         s:7:\"deleted\";i:0;s:22:\"event_value_as_revenue\";i:0;}}"
    );
    let html = f.get(&format!("{goals}&format=html")).await?;
    assert_eq!(html.content_type, HTML);
    assert_eq!(
        html.text(),
        "<table id=\"Goals_getGoals\" border=\"1\">\n<thead>\n\t<tr>\n\
         \t\t<th>idsite</th>\n\t\t<th>idgoal</th>\n\t\t<th>name</th>\n\t\t<th>description</th>\n\
         \t\t<th>match_attribute</th>\n\t\t<th>pattern</th>\n\t\t<th>pattern_type</th>\n\
         \t\t<th>case_sensitive</th>\n\t\t<th>allow_multiple</th>\n\t\t<th>revenue</th>\n\
         \t\t<th>deleted</th>\n\t\t<th>event_value_as_revenue</th>\n\t</tr>\n</thead>\n<tbody>\n\
         \t<tr>\n\t\t<td>1</td>\n\t\t<td>1</td>\n\t\t<td>Thanks</td>\n\t\t<td></td>\n\
         \t\t<td>url</td>\n\t\t<td>thank-you</td>\n\t\t<td>contains</td>\n\t\t<td>0</td>\n\
         \t\t<td>0</td>\n\t\t<td>5</td>\n\t\t<td>0</td>\n\t\t<td>0</td>\n\t</tr>\n\
         </tbody>\n</table>\n"
    );
    // A list of ids is a PHP list of integers.
    let ids = f
        .get("method=SitesManager.getAllSitesId&format=original")
        .await?;
    assert_eq!(ids.text(), "array (\n  0 => 1,\n  1 => 2,\n)");
    let ids = f
        .get("method=SitesManager.getAllSitesId&format=original&serialize=1")
        .await?;
    assert_eq!(ids.text(), "a:2:{i:0;i:1;i:1;i:2;}");
    // A list of strings is one `value` row per item in HTML.
    let urls = f
        .get("method=SitesManager.getSiteUrlsFromId&idSite=1&format=html")
        .await?;
    assert_eq!(
        urls.text(),
        "<table id=\"SitesManager_getSiteUrlsFromId\" border=\"1\">\n<thead>\n\t<tr>\n\
         \t\t<th>value</th>\n\t</tr>\n</thead>\n<tbody>\n\
         \t<tr>\n\t\t<td>https://shop.example</td>\n\t</tr>\n</tbody>\n</table>\n"
    );
    // Nested arrays cannot become a table: Matomo's exception, escaped,
    // its line breaks marked by `nl2br`.
    let metadata = f
        .get("method=API.getReportMetadata&idSite=1&format=html")
        .await?;
    assert_eq!(
        (metadata.status, metadata.content_type.as_str()),
        (StatusCode::OK, PLAIN)
    );
    let text = metadata.text();
    assert!(
        text.starts_with(
            "Data structure returned is not convertible in the requested format: \
             Multidimensional column values not supported. Found unexpected array value \
             for column 'metrics' in row '0': 'array (<br />\n  'nb_uniq_visitors' =&gt; 'Unique visitors',<br />\n"
        ),
        "{text}"
    );
    assert!(
        text.ends_with(
            ")'. Try to call this method with the parameters '&amp;format=original&amp;serialize=1'; \
             you will get the original php data structure serialized."
        ),
        "{text}"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn scalars_and_void_methods() -> anyhow::Result<()> {
    let f = Fixture::new().await?;
    let version = "method=API.getMatomoVersion";
    let echoed = f.get(&format!("{version}&format=original")).await?;
    assert_eq!(
        (echoed.content_type.as_str(), echoed.text().as_str()),
        (PHP_DEFAULT, "5.2.0")
    );
    let serialized = f
        .get(&format!("{version}&format=original&serialize=1"))
        .await?;
    assert_eq!(
        (serialized.content_type.as_str(), serialized.text().as_str()),
        (PLAIN, "s:5:\"5.2.0\";")
    );
    let html = f.get(&format!("{version}&format=html")).await?;
    assert_eq!(
        html.text(),
        "<table id=\"API_getMatomoVersion\" border=\"1\">\n<thead>\n\t<tr>\n\
         \t\t<th>value</th>\n\t</tr>\n</thead>\n<tbody>\n\
         \t<tr>\n\t\t<td>5.2.0</td>\n\t</tr>\n</tbody>\n</table>\n"
    );
    // A void method answers `true`: echoed as 1, even with serialize=1.
    let void = "method=CoreAdminHome.deleteAllTrackingFailures";
    let original = f.get(&format!("{void}&format=original")).await?;
    assert_eq!(
        (original.content_type.as_str(), original.text().as_str()),
        (PHP_DEFAULT, "1")
    );
    let serialized = f
        .get(&format!("{void}&format=original&serialize=1"))
        .await?;
    assert_eq!(
        (serialized.content_type.as_str(), serialized.text().as_str()),
        (PLAIN, "1")
    );
    let html = f.get(&format!("{void}&format=html")).await?;
    assert_eq!(
        (html.content_type.as_str(), html.text().as_str()),
        (HTML, "<!-- Success: ok -->")
    );
    // Through the HTTP routes, headers included.
    let token = &f.tokens.superuser;
    let answer = f
        .http(
            &format!("module=API&{version}&format=original&serialize=1&token_auth={token}"),
            None,
        )
        .await?;
    assert_eq!(
        (
            answer.status,
            answer.content_type.as_str(),
            answer.text().as_str()
        ),
        (StatusCode::OK, PLAIN, "s:5:\"5.2.0\";")
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn errors_in_each_php_format() -> anyhow::Result<()> {
    let f = Fixture::new().await?;
    let missing = "method=VisitsSummary.get&idSite=1&date=today";
    let message = "Please specify a value for 'period'.";
    let original = f.get(&format!("{missing}&format=original")).await?;
    assert_eq!(
        (
            original.status,
            original.content_type.as_str(),
            original.text().as_str()
        ),
        (StatusCode::INTERNAL_SERVER_ERROR, HTML, message)
    );
    let serialized = f
        .get(&format!("{missing}&format=original&serialize=1"))
        .await?;
    assert_eq!(
        (
            serialized.status,
            serialized.content_type.as_str(),
            serialized.text().as_str()
        ),
        (
            StatusCode::OK,
            PLAIN,
            "a:2:{s:6:\"result\";s:5:\"error\";s:7:\"message\";s:36:\"Please specify a value for 'period'.\";}"
        )
    );
    let html = f.get(&format!("{missing}&format=html")).await?;
    assert_eq!(
        (
            html.status,
            html.content_type.as_str(),
            html.text().as_str()
        ),
        (StatusCode::OK, PLAIN, message)
    );
    // An error with its own HTTP code keeps it.
    let bad_token = f
        .call("method=VisitsSummary.get&idSite=1&period=day&date=today&format=original&token_auth=0123456789abcdef0123456789abcdef")
        .await?;
    assert_eq!(bad_token.status, StatusCode::UNAUTHORIZED);
    assert_eq!(bad_token.content_type, HTML);
    // `API.getProcessedReport` returns an array holding a DataTable object.
    let processed = format!(
        "method=API.getProcessedReport&{DAY}&apiModule=VisitsSummary&apiAction=get&format=original"
    );
    let refused = f.get(&processed).await?;
    assert_eq!(
        (
            refused.status,
            refused.content_type.as_str(),
            refused.text().as_str()
        ),
        (StatusCode::BAD_REQUEST, HTML, OBJECT_MESSAGE)
    );
    Ok(())
}
