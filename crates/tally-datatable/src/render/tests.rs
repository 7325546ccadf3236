//! Renderer tests with literal expected outputs.

use super::*;
use crate::format::format_percent_metrics;
use crate::value::{ColumnKey, GoalColumns, Goals};

fn report_table() -> DataTable {
    let goal: GoalColumns = [
        (ColumnKey::Id(1), Scalar::Int(2)),
        (ColumnKey::Id(2), Scalar::Float(12.5)),
    ]
    .into_iter()
    .collect();
    let keywords = DataTable::from_rows([Row::new("kw \"quoted\"").with(2u16, 3)]);
    let mut table = DataTable::from_rows([
        Row::new("Google")
            .with(2u16, 10)
            .with(1u16, 8)
            .with(9u16, 12.5)
            .with(10u16, Goals::new().with(1, goal))
            .with("bounce_rate", 0.5)
            .with_metadata("url", "http://google.com/?q=a&b")
            .with_subtable(keywords),
        Row::new("Bing, Inc.")
            .with(2u16, 3)
            .with(1u16, 3)
            .with(9u16, 0)
            .with("bounce_rate", 0.3333)
            .with_metadata("url", "http://bing.com/"),
    ]);
    table.set_summary_row(Row::new("").with(2u16, 2).with(1u16, 2));
    table.number_subtables();
    format_percent_metrics(&mut table);
    table
}

fn text_csv() -> CsvOptions {
    CsvOptions {
        convert_to_unicode: false,
        ..CsvOptions::default()
    }
}

#[test]
fn table_renders_as_json() {
    let report = Report::Table(report_table());
    assert_eq!(
        json(&report, &RenderOptions::default()),
        concat!(
            r#"[{"label":"Google","nb_visits":10,"nb_uniq_visitors":8,"revenue":12.5,"#,
            r#""goals":{"idgoal=1":{"nb_conversions":2,"revenue":12.5}},"bounce_rate":"50%","#,
            r#""url":"http:\/\/google.com\/?q=a&b","idsubdatatable":1},"#,
            r#"{"label":"Bing, Inc.","nb_visits":3,"nb_uniq_visitors":3,"revenue":0,"#,
            r#""bounce_rate":"33.33%","url":"http:\/\/bing.com\/"},"#,
            r#"{"label":"Others","nb_visits":2,"nb_uniq_visitors":2}]"#
        )
    );
}

#[test]
fn expanded_json_inlines_subtables_and_hide_id_drops_ids() {
    let report = Report::Table(report_table());
    let options = RenderOptions {
        expanded: true,
        hide_id_subtable: true,
        summary_label: None,
        raw_column_ids: false,
    };
    let rendered = json(&report, &options);
    assert!(rendered.starts_with(r#"[{"label":"Google","#));
    assert!(rendered.contains(
        r#""url":"http:\/\/google.com\/?q=a&b","subtable":[{"label":"kw \"quoted\"","nb_visits":3}]},"#
    ));
    assert!(rendered.ends_with(r#"{"label":-1,"nb_visits":2,"nb_uniq_visitors":2}]"#));
    assert!(!rendered.contains("idsubdatatable"));
}

#[test]
fn table_renders_as_xml() {
    let report = Report::Table(report_table());
    let expected = "<?xml version=\"1.0\" encoding=\"utf-8\" ?>
<result>
\t<row>
\t\t<label>Google</label>
\t\t<nb_visits>10</nb_visits>
\t\t<nb_uniq_visitors>8</nb_uniq_visitors>
\t\t<revenue>12.5</revenue>
\t\t<goals>
\t\t\t<row idgoal='1'>
\t\t\t\t<nb_conversions>2</nb_conversions>
\t\t\t\t<revenue>12.5</revenue>
\t\t\t</row>
\t\t</goals>
\t\t<bounce_rate>50%</bounce_rate>
\t\t<url>http://google.com/?q=a&amp;b</url>
\t\t<idsubdatatable>1</idsubdatatable>
\t</row>
\t<row>
\t\t<label>Bing, Inc.</label>
\t\t<nb_visits>3</nb_visits>
\t\t<nb_uniq_visitors>3</nb_uniq_visitors>
\t\t<revenue>0</revenue>
\t\t<bounce_rate>33.33%</bounce_rate>
\t\t<url>http://bing.com/</url>
\t</row>
\t<row>
\t\t<label>Others</label>
\t\t<nb_visits>2</nb_visits>
\t\t<nb_uniq_visitors>2</nb_uniq_visitors>
\t</row>
</result>";
    assert_eq!(xml(&report, &RenderOptions::default()), expected);
}

#[test]
fn expanded_xml_nests_subtable_rows() {
    let table = DataTable::from_rows([Row::new("a <b>")
        .with(2u16, 1)
        .with_metadata("url", "")
        .with_subtable(DataTable::from_rows([Row::new("c").with(2u16, 1)]))]);
    let options = RenderOptions {
        expanded: true,
        ..RenderOptions::default()
    };
    let expected = "<?xml version=\"1.0\" encoding=\"utf-8\" ?>
<result>
\t<row>
\t\t<label>a &lt;b&gt;</label>
\t\t<nb_visits>1</nb_visits>
\t\t<url />
\t\t<subtable>
\t\t\t<row>
\t\t\t\t<label>c</label>
\t\t\t\t<nb_visits>1</nb_visits>
\t\t\t</row>
\t\t</subtable>
\t</row>
</result>";
    assert_eq!(xml(&Report::Table(table), &options), expected);
}

#[test]
fn table_renders_as_csv() {
    let report = Report::Table(report_table());
    let expected = "label,nb_visits,nb_uniq_visitors,revenue,goals_idgoal=1_nb_conversions,\
goals_idgoal=1_revenue,bounce_rate,metadata_url
Google,10,8,12.5,2,12.5,50%,http://google.com/?q=a&b
\"Bing, Inc.\",3,3,0,,,33.33%,http://bing.com/
Others,2,2,,,,,";
    assert_eq!(csv(&report, &text_csv()), expected.as_bytes());
}

#[test]
fn table_renders_as_tsv() {
    let report = Report::Table(report_table());
    let expected = "label\tnb_visits\tnb_uniq_visitors\trevenue\tgoals_idgoal=1_nb_conversions\t\
goals_idgoal=1_revenue\tbounce_rate\tmetadata_url
Google\t10\t8\t12.5\t2\t12.5\t50%\thttp://google.com/?q=a&b
\"Bing, Inc.\"\t3\t3\t0\t\t\t33.33%\thttp://bing.com/
Others\t2\t2\t\t\t\t\t";
    assert_eq!(tsv(&report, &text_csv()), expected.as_bytes());
}

#[test]
fn csv_export_is_utf16le_with_bom_by_default() {
    let table = DataTable::from_rows([Row::new("Zürich").with(2u16, 1)]);
    let bytes = csv(&Report::Table(table), &CsvOptions::default());
    let mut expected = vec![0xFF, 0xFE];
    for unit in "label,nb_visits\nZürich,1".encode_utf16() {
        expected.extend_from_slice(&unit.to_le_bytes());
    }
    assert_eq!(bytes, expected);
    assert_eq!(&bytes[..6], &[0xFF, 0xFE, b'l', 0, b'a', 0]);
}

#[test]
fn csv_quotes_and_defuses_formulas() {
    let table = DataTable::from_rows([
        Row::new("=HYPERLINK(\"x\")").with(2u16, 1),
        Row::new("-5").with(2u16, 2),
        Row::new("@user").with(2u16, 1.5),
    ]);
    assert_eq!(
        csv_text(&Report::Table(table), &RenderOptions::default(), ','),
        "label,nb_visits\n\"'=HYPERLINK(\"\"x\"\")\",1\n-5,2\n'@user,1.5"
    );
    // Tabs become spaces, and a comma or semicolon is quoted in TSV too.
    let table = DataTable::from_rows([
        Row::new("a\tb").with(2u16, 1),
        Row::new("x;y").with(2u16, 2),
    ]);
    assert_eq!(
        csv_text(&Report::Table(table), &RenderOptions::default(), '\t'),
        "label\tnb_visits\na b\t1\n\"x;y\"\t2"
    );
}

#[test]
fn empty_reports_render_as_matomo_does() {
    let empty = Report::Table(DataTable::new());
    assert_eq!(json(&empty, &RenderOptions::default()), "[]");
    assert_eq!(
        xml(&empty, &RenderOptions::default()),
        "<?xml version=\"1.0\" encoding=\"utf-8\" ?>\n<result />"
    );
    assert_eq!(csv(&empty, &CsvOptions::default()), b"No data available");
}

fn visits_summary() -> Columns {
    [
        (ColumnKey::from("nb_uniq_visitors"), Value::Int(1)),
        (ColumnKey::from("nb_visits"), Value::Int(2)),
        (ColumnKey::from("bounce_rate"), Value::from("50%")),
        (ColumnKey::from("nb_actions_per_visit"), Value::Float(4.0)),
        (ColumnKey::from("avg_time_on_site"), Value::Float(811.0)),
    ]
    .into_iter()
    .collect()
}

#[test]
fn simple_reports_render_as_objects_and_single_values() {
    let report = Report::Simple(visits_summary());
    let options = RenderOptions::default();
    assert_eq!(
        json(&report, &options),
        r#"{"nb_uniq_visitors":1,"nb_visits":2,"bounce_rate":"50%","nb_actions_per_visit":4,"avg_time_on_site":811}"#
    );
    assert_eq!(
        xml(&report, &options),
        "<?xml version=\"1.0\" encoding=\"utf-8\" ?>
<result>
\t<nb_uniq_visitors>1</nb_uniq_visitors>
\t<nb_visits>2</nb_visits>
\t<bounce_rate>50%</bounce_rate>
\t<nb_actions_per_visit>4</nb_actions_per_visit>
\t<avg_time_on_site>811</avg_time_on_site>
</result>"
    );
    assert_eq!(
        csv_text(&report, &options, ','),
        "nb_uniq_visitors,nb_visits,bounce_rate,nb_actions_per_visit,avg_time_on_site\n1,2,50%,4,811"
    );
    let single = Report::Simple(
        [(ColumnKey::from("nb_visits"), Value::Int(5))]
            .into_iter()
            .collect(),
    );
    assert_eq!(json(&single, &options), r#"{"value":5}"#);
    assert_eq!(
        xml(&single, &options),
        "<?xml version=\"1.0\" encoding=\"utf-8\" ?>\n<result>5</result>"
    );
    assert_eq!(csv_text(&single, &options, ','), "value\n5");
}

#[test]
fn multi_period_maps_are_keyed_by_date() {
    let day1 = DataTable::from_rows([
        Row::new("a").with(2u16, 1),
        Row::new("b").with(2u16, 2).with("x", 1),
    ]);
    let report = Report::Map {
        key_name: "date".to_owned(),
        entries: vec![
            ("2024-01-01".to_owned(), Report::Table(day1)),
            ("2024-01-02".to_owned(), Report::Table(DataTable::new())),
            (
                "2024-01-03".to_owned(),
                Report::Table(DataTable::from_rows([Row::new("c").with(2u16, 3)])),
            ),
        ],
    };
    let options = RenderOptions::default();
    assert_eq!(
        json(&report, &options),
        r#"{"2024-01-01":[{"label":"a","nb_visits":1},{"label":"b","nb_visits":2,"x":1}],"2024-01-02":[],"2024-01-03":[{"label":"c","nb_visits":3}]}"#
    );
    assert_eq!(
        xml(&report, &options),
        "<?xml version=\"1.0\" encoding=\"utf-8\" ?>
<results>
\t<result date=\"2024-01-01\">
\t\t<row>
\t\t\t<label>a</label>
\t\t\t<nb_visits>1</nb_visits>
\t\t</row>
\t\t<row>
\t\t\t<label>b</label>
\t\t\t<nb_visits>2</nb_visits>
\t\t\t<x>1</x>
\t\t</row>
\t</result>
\t<result date=\"2024-01-02\" />
\t<result date=\"2024-01-03\">
\t\t<row>
\t\t\t<label>c</label>
\t\t\t<nb_visits>3</nb_visits>
\t\t</row>
\t</result>
</results>"
    );
    assert_eq!(
        csv_text(&report, &options, ','),
        "date,label,nb_visits,x\n2024-01-01,a,1,\n2024-01-01,b,2,1\n2024-01-03,c,3,"
    );
}

#[test]
fn maps_of_single_values_and_nested_maps() {
    let value = |visits: i64| {
        Report::Simple(
            [(ColumnKey::from("nb_visits"), Value::Int(visits))]
                .into_iter()
                .collect(),
        )
    };
    let periods = |first: i64| Report::Map {
        key_name: "date".to_owned(),
        entries: vec![
            ("2024-01-01".to_owned(), value(first)),
            ("2024-01-02".to_owned(), value(0)),
        ],
    };
    let options = RenderOptions::default();
    assert_eq!(
        json(&periods(5), &options),
        r#"{"2024-01-01":5,"2024-01-02":0}"#
    );
    assert_eq!(
        xml(&periods(5), &options),
        "<?xml version=\"1.0\" encoding=\"utf-8\" ?>
<results>
\t<result date=\"2024-01-01\">5</result>
\t<result date=\"2024-01-02\" />
</results>"
    );
    let sites = Report::Map {
        key_name: "idSite".to_owned(),
        entries: vec![("1".to_owned(), periods(5)), ("2".to_owned(), periods(7))],
    };
    assert_eq!(
        json(&sites, &options),
        r#"{"1":{"2024-01-01":5,"2024-01-02":0},"2":{"2024-01-01":7,"2024-01-02":0}}"#
    );
    assert_eq!(
        xml(&sites, &options),
        "<?xml version=\"1.0\" encoding=\"utf-8\" ?>
<results>
\t<result idSite=\"1\">
\t\t<result date=\"2024-01-01\">5</result>
\t\t<result date=\"2024-01-02\" />
\t</result>
\t<result idSite=\"2\">
\t\t<result date=\"2024-01-01\">7</result>
\t\t<result date=\"2024-01-02\" />
\t</result>
</results>"
    );
}

#[test]
fn json_escapes_like_php_json_encode() {
    let table = DataTable::from_rows([Row::new("é/\"\\\n😀\u{1}")]);
    assert_eq!(
        json(&Report::Table(table), &RenderOptions::default()),
        r#"[{"label":"\u00e9\/\"\\\n\ud83d\ude00\u0001"}]"#
    );
}

/// `Renderer\Xml::renderArray` wraps a top-level associative array of
/// several scalars in one `<row>`, but not an array of one scalar.
#[test]
fn a_top_level_array_of_scalars_is_one_xml_row() {
    use super::Tree;
    let options = RenderOptions::default();
    let mapping = Report::Tree(Tree::Assoc(vec![
        ("ad".to_owned(), Tree::Str("Andorra".to_owned())),
        ("ag".to_owned(), Tree::Str("Antigua & Barbuda".to_owned())),
    ]));
    assert_eq!(
        xml(&mapping, &options),
        "<?xml version=\"1.0\" encoding=\"utf-8\" ?>\n<result>\n\t<row>\n\t\t<ad>Andorra</ad>\n\t\t<ag>Antigua &amp; Barbuda</ag>\n\t</row>\n</result>"
    );
    assert_eq!(
        json(&mapping, &options),
        r#"{"ad":"Andorra","ag":"Antigua & Barbuda"}"#
    );
    let single = Report::Tree(Tree::Assoc(vec![("value".to_owned(), Tree::Int(3))]));
    assert_eq!(
        xml(&single, &options),
        "<?xml version=\"1.0\" encoding=\"utf-8\" ?>\n<result>\n\t<value>3</value>\n</result>"
    );
}

#[test]
fn trees_render_as_php_arrays() {
    use super::Tree;
    let tree = Report::Tree(Tree::List(vec![Tree::Assoc(vec![
        ("name".to_owned(), Tree::Str("Visits Summary".to_owned())),
        (
            "metrics".to_owned(),
            Tree::Assoc(vec![(
                "nb_visits".to_owned(),
                Tree::Str("Visits".to_owned()),
            )]),
        ),
        ("order".to_owned(), Tree::Int(1)),
    ])]));
    let options = RenderOptions::default();
    assert_eq!(
        json(&tree, &options),
        r#"[{"name":"Visits Summary","metrics":{"nb_visits":"Visits"},"order":1}]"#
    );
    assert_eq!(
        xml(&tree, &options),
        "<?xml version=\"1.0\" encoding=\"utf-8\" ?>\n<result>\n\t<row>\n\t\t<name>Visits Summary</name>\n\t\t<metrics>\n\t\t\t<nb_visits>Visits</nb_visits>\n\t\t</metrics>\n\t\t<order>1</order>\n\t</row>\n</result>"
    );
    assert_eq!(
        csv_text(&tree, &options, ','),
        "name,metrics_nb_visits,order\nVisits Summary,Visits,1"
    );
}

#[test]
fn goals_render_sorted_by_id_with_the_ecommerce_names() {
    let goal = |conversions: i64| -> GoalColumns {
        [(ColumnKey::Id(1), Scalar::Int(conversions))]
            .into_iter()
            .collect()
    };
    let goals = Goals::new()
        .with(2, goal(2))
        .with(0, goal(0))
        .with(-1, goal(-1))
        .with(1, goal(1));
    let report = Report::Table(DataTable::from_rows([Row::new("a").with(10u16, goals)]));
    assert_eq!(
        json(&report, &RenderOptions::default()),
        concat!(
            r#"[{"label":"a","goals":{"idgoal=ecommerceAbandonedCart":{"nb_conversions":-1},"#,
            r#""idgoal=ecommerceOrder":{"nb_conversions":0},"idgoal=1":{"nb_conversions":1},"#,
            r#""idgoal=2":{"nb_conversions":2}}}]"#
        )
    );
    assert!(
        xml(&report, &RenderOptions::default())
            .contains("<goals>\n\t\t\t<row idgoal='ecommerceAbandonedCart'>")
    );
    assert!(
        String::from_utf8_lossy(&csv(&report, &text_csv()))
            .starts_with("label,goals_idgoal=ecommerceAbandonedCart_nb_conversions,")
    );
}

#[test]
fn a_list_of_values_renders_as_a_php_list() {
    let options = RenderOptions::default();
    let ids = Report::Rows(
        [1, 2]
            .into_iter()
            .map(|id| {
                [(ColumnKey::from("value"), Value::Int(id))]
                    .into_iter()
                    .collect()
            })
            .collect(),
    );
    assert_eq!(json(&ids, &options), "[1,2]");
    // CSV and TSV name the one column by its PHP list index.
    assert_eq!(csv(&ids, &text_csv()), b"0\n1\n2");
    assert_eq!(tsv(&ids, &text_csv()), b"0\n1\n2");
    assert_eq!(
        xml(&ids, &options),
        "<?xml version=\"1.0\" encoding=\"utf-8\" ?>\n<result>\n\t<row>1</row>\n\t<row>2</row>\n</result>"
    );
    // Rows with other columns stay objects.
    let sites = Report::Rows(vec![
        [(ColumnKey::from("idsite"), Value::Int(1))]
            .into_iter()
            .collect(),
    ]);
    assert_eq!(json(&sites, &options), r#"[{"idsite":1}]"#);
}

#[test]
fn nested_arrays_in_rows_render_as_matomos_xml_and_json() {
    // A Live visit: a list of rows, an empty array, a list of values, a
    // null and an array keyed by slot (custom variables).
    let visit = Tree::Assoc(vec![
        ("idVisit".to_owned(), Tree::Int(2)),
        (
            "actionDetails".to_owned(),
            Tree::List(vec![Tree::Assoc(vec![
                ("type".to_owned(), Tree::Str("action".to_owned())),
                (
                    "productViewCategories".to_owned(),
                    Tree::List(vec![
                        Tree::Str("A & B".to_owned()),
                        Tree::Str("C".to_owned()),
                    ]),
                ),
            ])]),
        ),
        ("userId".to_owned(), Tree::Null),
        ("customVariables".to_owned(), Tree::Assoc(Vec::new())),
        (
            "slots".to_owned(),
            Tree::Assoc(vec![(
                "3".to_owned(),
                Tree::Assoc(vec![
                    ("customVariableName3".to_owned(), Tree::Str("n".to_owned())),
                    ("customVariableValue3".to_owned(), Tree::Str("v".to_owned())),
                ]),
            )]),
        ),
    ]);
    let report = Report::Tree(Tree::List(vec![visit]));
    let options = RenderOptions::default();
    assert_eq!(
        xml(&report, &options),
        "<?xml version=\"1.0\" encoding=\"utf-8\" ?>\n<result>\n\t<row>\n\
         \t\t<idVisit>2</idVisit>\n\
         \t\t<actionDetails>\n\t\t\t<row>\n\t\t\t\t<type>action</type>\n\
         \t\t\t\t<productViewCategories>\n\t\t\t\t<row>A &amp; B</row>\n\t\t\t\t<row>C</row>\n\t\t\t\t</productViewCategories>\n\
         \t\t\t</row>\n\t\t</actionDetails>\n\
         \t\t<userId />\n\
         \t\t<customVariables>\n\t\t</customVariables>\n\
         \t\t<slots>\n\t\t\t<row>\n\t\t\t\t<customVariableName3>n</customVariableName3>\n\t\t\t\t<customVariableValue3>v</customVariableValue3>\n\t\t\t</row>\n\t\t</slots>\n\
         \t</row>\n</result>"
    );
    assert_eq!(
        json(&report, &options),
        r#"[{"idVisit":2,"actionDetails":[{"type":"action","productViewCategories":["A & B","C"]}],"userId":null,"customVariables":[],"slots":{"3":{"customVariableName3":"n","customVariableValue3":"v"}}}]"#
    );
}

#[test]
fn custom_variable_slots_render_as_matomos_array() {
    let table = DataTable::from_rows([
        Row::new("VisitorType")
            .with(2u16, 3)
            .with_metadata(
                "slots",
                r#"[{"scope":"visit","index":1},{"scope":"page","index":4}]"#,
            )
            .with_metadata("segment", "customVariableName==VisitorType"),
        // Text that is not such a list stays the text it is.
        Row::new("Other")
            .with(2u16, 1)
            .with_metadata("slots", "[{\"scope\":")
            .with_metadata("segment", "customVariableName==Other"),
    ]);
    let report = Report::Table(table);
    let options = RenderOptions::default();
    assert_eq!(
        json(&report, &options),
        concat!(
            r#"[{"label":"VisitorType","nb_visits":3,"slots":[{"scope":"visit","index":1},"#,
            r#"{"scope":"page","index":4}],"segment":"customVariableName==VisitorType"},"#,
            r#"{"label":"Other","nb_visits":1,"slots":"[{\"scope\":","#,
            r#""segment":"customVariableName==Other"}]"#
        )
    );
    assert_eq!(
        xml(&report, &options),
        "<?xml version=\"1.0\" encoding=\"utf-8\" ?>\n<result>\n\t<row>\n\
         \t\t<label>VisitorType</label>\n\t\t<nb_visits>3</nb_visits>\n\
         \t\t<slots>\n\t\t\t<row>\n\t\t\t\t<scope>visit</scope>\n\t\t\t\t<index>1</index>\n\t\t\t</row>\n\
         \t\t\t<row>\n\t\t\t\t<scope>page</scope>\n\t\t\t\t<index>4</index>\n\t\t\t</row>\n\t\t</slots>\n\
         \t\t<segment>customVariableName==VisitorType</segment>\n\t</row>\n\t<row>\n\
         \t\t<label>Other</label>\n\t\t<nb_visits>1</nb_visits>\n\
         \t\t<slots>[{&quot;scope&quot;:</slots>\n\
         \t\t<segment>customVariableName==Other</segment>\n\t</row>\n</result>"
    );
    // CSV leaves the array out (the scalar of the second row stays).
    let only_arrays = Report::Table(DataTable::from_rows([Row::new("VisitorType")
        .with(2u16, 3)
        .with_metadata("slots", r#"[{"scope":"visit","index":1}]"#)]));
    assert_eq!(
        csv_text(&only_arrays, &options, ','),
        "label,nb_visits\nVisitorType,3"
    );
}

/// `compare=1`: a row's comparisons (no label, columns then metadata)
/// after its metadata and before `idsubdatatable`; a simple report with
/// one column keeps its array shape.
#[test]
fn comparisons_render_after_metadata_without_labels() {
    let compared = || {
        DataTable::from_rows([Row::new("")
            .with(2u16, 4)
            .with_metadata("compareSegment", "")
            .with_metadata("idsubdatatable", -1)])
    };
    let mut row = Row::new("Google")
        .with(2u16, 10)
        .with_metadata("segment", "referrerName==Google");
    row.subtable_id = Some(3);
    row.comparisons = Some(Box::new(compared()));
    let table = Report::Table(DataTable::from_rows([row]));
    let options = RenderOptions::default();
    assert_eq!(
        json(&table, &options),
        r#"[{"label":"Google","nb_visits":10,"segment":"referrerName==Google","comparisons":[{"nb_visits":4,"compareSegment":"","idsubdatatable":-1}],"idsubdatatable":3}]"#
    );
    let simple = Report::SimpleCompared(
        [(ColumnKey::from("nb_visits"), Value::Int(10))]
            .into_iter()
            .collect(),
        Box::new(compared()),
    );
    assert_eq!(
        json(&simple, &options),
        r#"{"nb_visits":10,"comparisons":[{"nb_visits":4,"compareSegment":"","idsubdatatable":-1}]}"#
    );
    assert_eq!(
        xml(&simple, &options),
        "<?xml version=\"1.0\" encoding=\"utf-8\" ?>
<result>
\t<nb_visits>10</nb_visits>
\t<comparisons>
\t\t<row>
\t\t\t<nb_visits>4</nb_visits>
\t\t\t<compareSegment />
\t\t\t<idsubdatatable>-1</idsubdatatable>
\t\t</row>
\t</comparisons>
</result>"
    );
}
