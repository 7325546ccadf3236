//! The Actions reports as Matomo's Actions API presents them
//! (`Actions\DataTable\Filter\Actions`, run by every Actions table method,
//! and `getPageUrls`' own `flat` step).
//!
//! Each row gets the segment that selects it, from the metadata the
//! archive stored with it, which is then removed (`folder_url_start`,
//! `page_title_path` never reach the answer):
//! - a row with a `url` (page, download, outlink): `segmentValue` =
//!   `urlencode(url)`, which becomes `<report segment>==urlencode(value)`
//!   after the generic filters ([`convert_segment_values`], Matomo's
//!   `AddSegmentBySegmentValue`): the URL is encoded twice, as in Matomo's
//!   outputs (`pageUrl==http%253A%252F%252F…`);
//! - a page URL folder: `pageUrl=^` and its URL (from the site's main URL)
//!   encoded twice, whatever the report (entry and exit pages too);
//! - a page title: the title, encoded once as `segmentValue`; a title
//!   folder (only with a title delimiter, which we do not split on) would
//!   get `pageTitle=^`;
//! - `Page URL not defined` and `Page Name not defined`: an empty value
//!   (`pageUrl==`).
//!
//! With `flat=1`, a label ending with the default action name after the
//! delimiter loses it (`/dir/index` → `/dir/`, `/index` → `/`), and
//! `getPageUrls` (so entry and exit pages too) puts a `/` before each
//! top-level label, so that the flattened labels read as paths
//! (`/dir/page.html`); the `/` separator's flattening drops the leaf's own
//! `/` after a folder. A subtable's summary row then takes its folder's
//! segment, as Matomo's flattener copies a parent's metadata to the rows
//! that lack it (a page row has its `segmentValue` instead).

use tally_datatable::{DataTable, Row, Scalar};

use super::{add_segment_by_label, meta_str, set_meta, urlencode};

/// What the rows of an Actions report are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ActionRows {
    /// Page URLs, folders by path.
    PageUrls,
    /// Page titles.
    PageTitles,
    /// Downloads and outlinks: hosts, then URLs.
    Links,
    /// Site search keywords: `AddSegmentByLabel` with the report's segment
    /// (`siteSearchKeyword`), after the same filter.
    SiteSearch,
}

/// `General_NotDefined` of `Actions_ColumnPageURL`.
const PAGE_URL_NOT_DEFINED: &str = "Page URL not defined";
/// `General_NotDefined` of `Actions_ColumnPageName`.
const PAGE_NAME_NOT_DEFINED: &str = "Page Name not defined";
/// `action_default_name`, Matomo's (and our archiver's) default.
const DEFAULT_ACTION_NAME: &str = "index";
/// The metadata a row's segment value waits in until the generic filters
/// ran (Matomo's `segmentValue`).
const SEGMENT_VALUE: &str = "segmentValue";

/// Presents an Actions table; `segment` is the report's dimension segment
/// (`pageUrl`, `entryPageTitle`, `downloadUrl`…), `flat` whether the answer
/// is flattened.
pub(super) fn present(
    table: &mut DataTable,
    rows: ActionRows,
    segment: &str,
    flat: bool,
    site_urls: &[String],
) {
    filter(table, rows, flat, site_urls);
    match rows {
        ActionRows::SiteSearch => add_segment_by_label(table, segment),
        ActionRows::PageUrls if flat => {
            for row in table.rows_mut() {
                if !row.label.starts_with('/') && row.label != PAGE_URL_NOT_DEFINED {
                    row.label.insert(0, '/');
                }
            }
        }
        _ => {}
    }
}

/// PHP `trim()`'s default characters.
const PHP_TRIM: &[char] = &[' ', '\t', '\n', '\r', '\0', '\x0B'];

/// A metadata value as PHP's `if ($value)` sees it: set, not `""`, not `"0"`.
fn truthy(row: &Row, name: &str) -> Option<String> {
    meta_str(row, name).filter(|value| !value.is_empty() && value != "0")
}

/// `Actions\DataTable\Filter\Actions` on `table` and its loaded subtables.
fn filter(table: &mut DataTable, rows: ActionRows, flat: bool, site_urls: &[String]) {
    for row in table.rows_mut() {
        match value(row, rows) {
            Some(Segment::Value(value)) => {
                set_meta(row, SEGMENT_VALUE, value);
                if let Some(https) = meta_str(row, "url").and_then(|url| https_url(&url, site_urls))
                {
                    set_meta(row, "url", https);
                }
            }
            Some(Segment::Folder(segment)) => set_meta(row, "segment", segment),
            None => {}
        }
        if flat {
            remove_default_action_name(row, rows);
        }
        row.metadata.remove("folder_url_start");
        row.metadata.remove("page_title_path");
        let segment = meta_str(row, "segment");
        if let Some(subtable) = row.subtable.as_deref_mut() {
            filter(subtable, rows, flat, site_urls);
            if flat
                && let (Some(segment), Some(summary)) = (segment, subtable.summary_row_mut())
                && summary.metadata.get("segment").is_none()
            {
                set_meta(summary, "segment", segment);
            }
        }
    }
}

/// `PageUrl::shouldUseHttpsHost`: an `http://` URL whose host starts one
/// of the site's URLs as `https://<host>` (compared without case) is
/// shown with `https://`; its segment keeps the URL as stored.
fn https_url(url: &str, site_urls: &[String]) -> Option<String> {
    let rest = url.strip_prefix("http://")?;
    let host = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host = host.rsplit_once('@').map_or(host, |(_, host)| host);
    let host = host.split(':').next().unwrap_or(host);
    if host.is_empty() {
        return None;
    }
    let wanted = format!("https://{}", host.to_lowercase());
    site_urls
        .iter()
        .any(|site| site.to_lowercase().starts_with(&wanted))
        .then(|| format!("https://{rest}"))
}

enum Segment {
    /// A `segmentValue`, already encoded once.
    Value(String),
    /// A whole segment (folders).
    Folder(String),
}

fn value(row: &Row, rows: ActionRows) -> Option<Segment> {
    if let Some(url) = truthy(row, "url") {
        // The URL as stored: download and outlink URLs HTML-escaped, as the
        // tracker's `getRequestVar` left them (page URLs it unescapes), so
        // their segments encode `&amp;`, `&lt;` as Matomo's do.
        return Some(Segment::Value(urlencode(&url)));
    }
    if let Some(start) = truthy(row, "folder_url_start") {
        return Some(Segment::Folder(format!(
            "pageUrl=^{}",
            urlencode(&urlencode(&start))
        )));
    }
    let folder = row.subtable_id.is_some() || row.subtable.is_some();
    let title = |title: &str, not_defined: bool| {
        let title = title.trim_matches(PHP_TRIM);
        if folder {
            Segment::Folder(format!("pageTitle=^{}", urlencode(&urlencode(title))))
        } else if not_defined && title == PAGE_NAME_NOT_DEFINED {
            Segment::Value(String::new())
        } else {
            Segment::Value(urlencode(title))
        }
    };
    if let Some(path) = truthy(row, "page_title_path") {
        return Some(title(&path, false));
    }
    if rows == ActionRows::PageTitles {
        // Titles without a path: `Page Name not defined` (and archives
        // older than the path metadata).
        return Some(title(&row.label, true));
    }
    // A page URL folder of older archives (without `folder_url_start`)
    // would be named from the site's main URL; ours always have it.
    (rows == ActionRows::PageUrls && row.label == PAGE_URL_NOT_DEFINED)
        .then(|| Segment::Value(String::new()))
}

/// `flat=1`: `…<delimiter>index` loses the action name (`rtrim` of the
/// delimiter, then one delimiter). Page titles have Matomo's default empty
/// title delimiter: a title ending with `index` loses just that.
fn remove_default_action_name(row: &mut Row, rows: ActionRows) {
    let delimiter = if rows == ActionRows::PageTitles {
        ""
    } else {
        "/"
    };
    let needle = format!("{delimiter}{DEFAULT_ACTION_NAME}");
    if let Some(head) = row.label.strip_suffix(&needle) {
        let head = format!("{head}{delimiter}");
        row.label = if delimiter.is_empty() {
            head
        } else {
            format!("{}{delimiter}", head.trim_end_matches('/'))
        };
    }
}

/// Matomo's `AddSegmentBySegmentValue`: rows (summary rows and loaded
/// subtables included) with a `segmentValue` and no `segment` get
/// `<name>==urlencode(value)`; the value is removed from every row. Run
/// after the generic filters, where Matomo converts it.
pub(crate) fn convert_segment_values(table: &mut DataTable, name: &str) {
    fn convert(row: &mut Row, name: &str) {
        if let Some(Scalar::Str(value)) = row.metadata.remove(SEGMENT_VALUE)
            && row.metadata.get("segment").is_none()
        {
            set_meta(row, "segment", format!("{name}=={}", urlencode(&value)));
        }
        if let Some(subtable) = row.subtable.as_deref_mut() {
            convert_segment_values(subtable, name);
        }
    }
    for row in table.rows_mut() {
        convert(row, name);
    }
    if let Some(summary) = table.summary_row_mut() {
        convert(summary, name);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page(label: &str, url: &str) -> Row {
        Row::new(label).with_metadata("url", url)
    }

    fn segment(row: &Row) -> Option<String> {
        meta_str(row, "segment")
    }

    #[test]
    fn page_urls_get_twice_encoded_segments() {
        let folder = Row::new("store")
            .with_metadata("folder_url_start", "http://site.com/store")
            .with_subtable(DataTable::from_rows([page(
                "/purchase.htm",
                "http://example.org/store/purchase.htm",
            )]));
        let mut table = DataTable::from_rows([
            page("/index", "http://example.org/"),
            page(PAGE_URL_NOT_DEFINED, ""),
            folder,
        ]);
        present(&mut table, ActionRows::PageUrls, "entryPageUrl", false, &[]);
        convert_segment_values(&mut table, "entryPageUrl");
        let rows = table.rows();
        assert_eq!(
            segment(&rows[0]).as_deref(),
            Some("entryPageUrl==http%253A%252F%252Fexample.org%252F")
        );
        assert_eq!(segment(&rows[1]).as_deref(), Some("entryPageUrl=="));
        assert_eq!(
            segment(&rows[2]).as_deref(),
            Some("pageUrl=^http%253A%252F%252Fsite.com%252Fstore")
        );
        assert_eq!(rows[2].metadata.get("folder_url_start"), None);
        let leaf = &rows[2].subtable.as_deref().expect("subtable").rows()[0];
        assert_eq!(
            segment(leaf).as_deref(),
            Some("entryPageUrl==http%253A%252F%252Fexample.org%252Fstore%252Fpurchase.htm")
        );
        assert!(
            rows.iter()
                .all(|row| row.metadata.get(SEGMENT_VALUE).is_none())
        );
    }

    #[test]
    fn titles_are_encoded_from_their_path() {
        let mut table = DataTable::from_rows([
            Row::new(" a b").with_metadata("page_title_path", "a b"),
            Row::new(" Page Name not defined"),
        ]);
        present(&mut table, ActionRows::PageTitles, "pageTitle", false, &[]);
        convert_segment_values(&mut table, "pageTitle");
        let rows = table.rows();
        assert_eq!(segment(&rows[0]).as_deref(), Some("pageTitle==a%2Bb"));
        assert_eq!(rows[0].metadata.get("page_title_path"), None);
        assert_eq!(segment(&rows[1]).as_deref(), Some("pageTitle=="));
    }

    #[test]
    fn flat_labels_lose_the_default_action_name() {
        let mut row = Row::new("/index");
        remove_default_action_name(&mut row, ActionRows::PageUrls);
        assert_eq!(row.label, "/");
        let mut row = Row::new("/dir/index");
        remove_default_action_name(&mut row, ActionRows::PageUrls);
        assert_eq!(row.label, "/dir/");
        let mut row = Row::new("/reindex");
        remove_default_action_name(&mut row, ActionRows::PageUrls);
        assert_eq!(row.label, "/reindex");
        let mut row = Row::new(" Site index");
        remove_default_action_name(&mut row, ActionRows::PageTitles);
        assert_eq!(row.label, " Site ");
    }

    #[test]
    fn http_urls_of_an_https_host_are_shown_with_https() {
        let urls = [
            "http://piwik.net".to_owned(),
            "https://Example2.com".to_owned(),
        ];
        let mut table = DataTable::from_rows([
            page("/home", "http://example2.com/home#x"),
            page("/other", "http://piwik.net/other"),
        ]);
        present(&mut table, ActionRows::PageUrls, "pageUrl", false, &urls);
        let shown: Vec<_> = table
            .rows()
            .iter()
            .map(|row| (meta_str(row, "url"), meta_str(row, SEGMENT_VALUE)))
            .collect();
        assert_eq!(
            shown,
            [
                (
                    Some("https://example2.com/home#x".to_owned()),
                    Some(urlencode("http://example2.com/home#x"))
                ),
                (
                    Some("http://piwik.net/other".to_owned()),
                    Some(urlencode("http://piwik.net/other"))
                ),
            ]
        );
        assert_eq!(https_url("http://example2.com.evil/x", &urls), None);
    }
}
