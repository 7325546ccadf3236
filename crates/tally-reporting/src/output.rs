//! Rendering API results and errors in the requested format (§9.3).

use tally_datatable::filters::Filters;
use tally_datatable::render::{self, CsvOptions, RenderOptions, Report};

use crate::ReportingError;
use crate::request::ApiRequest;

/// The renderers we serve (`format=`, default `xml` as in Matomo).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// `application/json`.
    Json,
    /// Matomo's XML.
    Xml,
    /// Comma-separated values.
    Csv,
    /// Tab-separated values.
    Tsv,
}

impl Format {
    /// Parses `format=` (case-insensitive); absent means XML.
    ///
    /// # Errors
    /// [`ReportingError::InvalidFormat`] naming the value.
    pub fn from_request(request: &ApiRequest) -> Result<Self, ReportingError> {
        match request.non_empty("format") {
            None => Ok(Self::Xml),
            Some(name) => match name.to_ascii_lowercase().as_str() {
                "json" => Ok(Self::Json),
                "xml" => Ok(Self::Xml),
                "csv" => Ok(Self::Csv),
                "tsv" => Ok(Self::Tsv),
                _ => Err(ReportingError::InvalidFormat(name.to_owned())),
            },
        }
    }

    fn content_type(self) -> &'static str {
        match self {
            Self::Json => "application/json; charset=utf-8",
            Self::Xml => "text/xml; charset=utf-8",
            Self::Csv => "application/vnd.ms-excel",
            Self::Tsv => "text/tab-separated-values",
        }
    }
}

/// What a method returns, before rendering.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Output {
    /// A report (table, simple, list or map).
    Report(Report),
    /// A scalar, rendered `{"value": …}` in JSON.
    Value(tally_datatable::Scalar),
    /// A void method: `{"result":"success","message":"ok"}`.
    Success,
    /// Already rendered JSON (bulk requests).
    RawJson(String),
}

/// A rendered answer: status, content type and body.
pub(crate) struct Rendered {
    pub(crate) status: u16,
    pub(crate) content_type: &'static str,
    pub(crate) body: Vec<u8>,
}

fn json_string(text: &str) -> String {
    // serde_json escapes as json_encode does, except that PHP also escapes
    // `/`; Matomo's JSON shows `\/`.
    serde_json::to_string(text)
        .unwrap_or_else(|_| "\"\"".to_owned())
        .replace('/', "\\/")
}

fn xml_attr(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Renders an output in `format`; `jsonp` wraps JSON in a callback.
pub(crate) fn render(
    output: &Output,
    format: Format,
    options: &RenderOptions,
    request: &ApiRequest,
) -> Rendered {
    let csv = CsvOptions {
        render: options.clone(),
        // Matomo's default `convertToUnicode=1`: UTF-16LE with a BOM.
        convert_to_unicode: request.get("convertToUnicode") != Some("0"),
    };
    let text = |text: String| text.into_bytes();
    let body = match (output, format) {
        (Output::RawJson(json), _) => text(json.clone()),
        (Output::Report(report), Format::Json) => text(render::json(report, options)),
        (Output::Report(report), Format::Xml) => text(render::xml(report, options)),
        (Output::Report(report), Format::Csv) => render::csv(report, &csv),
        (Output::Report(report), Format::Tsv) => render::tsv(report, &csv),
        (Output::Value(value), format) => {
            let report = Report::Simple(
                [(
                    tally_datatable::ColumnKey::from("value"),
                    tally_datatable::Value::from(value.clone()),
                )]
                .into_iter()
                .collect(),
            );
            // A one-column simple table renders as Matomo's scalar answer
            // (`{"value":…}`, `<result>…</result>`, `value\n…`).
            match format {
                Format::Json => text(render::json(&report, options)),
                Format::Xml => text(render::xml(&report, options)),
                Format::Csv => render::csv(&report, &csv),
                Format::Tsv => render::tsv(&report, &csv),
            }
        }
        (Output::Success, Format::Json) => text(r#"{"result":"success","message":"ok"}"#.to_owned()),
        (Output::Success, Format::Xml) => text(
            "<?xml version=\"1.0\" encoding=\"utf-8\" ?>\n<result>\n\t<success message=\"ok\" />\n</result>"
                .to_owned(),
        ),
        (Output::Success, Format::Csv) => text("message\nok".to_owned()),
        (Output::Success, Format::Tsv) => text("message\tok".to_owned()),
    };
    let body = match (format, jsonp_callback(request)) {
        (Format::Json, Some(callback)) => {
            let mut wrapped = format!("{callback}(").into_bytes();
            wrapped.extend_from_slice(&body);
            wrapped.push(b')');
            wrapped
        }
        _ => body,
    };
    Rendered {
        status: 200,
        content_type: format.content_type(),
        body,
    }
}

/// Renders an error as Matomo does in each format.
pub(crate) fn render_error(
    error: &ReportingError,
    format: Format,
    request: &ApiRequest,
) -> Rendered {
    let callback = jsonp_callback(request);
    let message = error.to_string().replace("\r\n", " ").replace('\n', " ");
    let body = match format {
        Format::Json => {
            let json = format!("{{\"result\":\"error\",\"message\":{}}}", json_string(&message));
            match callback {
                Some(callback) => format!("{callback}({json})"),
                None => json,
            }
        }
        Format::Xml => format!(
            "<?xml version=\"1.0\" encoding=\"utf-8\" ?>\n<result>\n\t<error message=\"{}\" />\n</result>",
            xml_attr(&message)
        ),
        Format::Csv | Format::Tsv => format!("Error: {message}"),
    }
    .into_bytes();
    Rendered {
        status: error.http_status(),
        content_type: match format {
            Format::Csv | Format::Tsv => "text/html; charset=utf-8",
            other => other.content_type(),
        },
        body,
    }
}

/// `callback=` / `jsoncallback=` when made of `[A-Za-z0-9_.]` only.
pub(crate) fn jsonp_callback(request: &ApiRequest) -> Option<&str> {
    request
        .non_empty("callback")
        .or_else(|| request.non_empty("jsoncallback"))
        .filter(|name| {
            name.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'.')
        })
}

/// The filters of a request, ready to apply.
pub(crate) fn filters(request: &ApiRequest) -> Result<Filters, ReportingError> {
    Ok(Filters::from_params(request.pairs())?)
}
