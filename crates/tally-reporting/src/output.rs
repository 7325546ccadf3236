//! Rendering API results and errors in the requested format (§9.3).

use tally_datatable::filters::Filters;
use tally_datatable::render::{self, CsvOptions, Php, RenderOptions, Report, Tree};
use tally_datatable::{Scalar, format::php_float_string};

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
    /// Matomo's HTML table (`Renderer\Html`).
    Html,
    /// Matomo's RSS feed of a report over several periods (`rss.rs`).
    Rss,
    /// The PHP value as Matomo's HTTP front answers it (`Renderer\Original`
    /// and `API\Controller::index()`), `serialize=1` for `serialize()`.
    Original {
        /// `serialize=1` (any non-zero integer).
        serialize: bool,
        /// `format=original` spelled in lower case: only then does the
        /// controller send `text/plain` for an array (it compares the raw
        /// parameter, while the renderer is chosen case-insensitively).
        exact_name: bool,
    },
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
                "html" => Ok(Self::Html),
                "rss" => Ok(Self::Rss),
                "original" => Ok(Self::Original {
                    serialize: request.get("serialize").is_some_and(php_int_is_set),
                    exact_name: name == "original",
                }),
                _ => Err(ReportingError::InvalidFormat(name.to_owned())),
            },
        }
    }

    fn content_type(self) -> &'static str {
        match self {
            Self::Json => "application/json; charset=utf-8",
            Self::Xml | Self::Rss => "text/xml; charset=utf-8",
            Self::Csv => "application/vnd.ms-excel",
            Self::Tsv => "text/tab-separated-values",
            Self::Html => "text/html; charset=utf-8",
            Self::Original {
                serialize: true, ..
            } => PLAIN_TEXT,
            // Nothing sets a type: PHP's default header.
            Self::Original {
                serialize: false, ..
            } => PHP_DEFAULT_TYPE,
        }
    }
}

/// `Original::sendPlainTextHeader()`.
const PLAIN_TEXT: &str = "text/plain; charset=utf-8";
/// PHP's `Content-Type` when a script sets none (`default_charset` UTF-8).
const PHP_DEFAULT_TYPE: &str = "text/html; charset=UTF-8";

/// `Common::getRequestVar($name, 0, 'int')` then `!empty()`: a numeric
/// value other than zero.
fn php_int_is_set(value: &str) -> bool {
    let value = value.trim();
    value.parse::<i64>().map(|n| n != 0).unwrap_or(false)
        || value.parse::<f64>().is_ok_and(|n| n.trunc() != 0.0)
}

/// What PHP type a method returns in Matomo: `format=original` echoes a
/// `DataTable` through its HTML renderer but `var_export`s an array, and
/// `format=html` converts an array with `makeFromSimpleArray`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PhpShape {
    /// Reports: `DataTable`, `DataTable\Simple`, `DataTable\Map`.
    DataTable,
    /// Management and metadata methods: plain arrays.
    Array,
    /// `API.getProcessedReport`: an array holding a `DataTable` object.
    ArrayWithTable,
}

/// What a method returns, before rendering.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Output {
    /// A report (table, simple, list or map).
    Report(Report),
    /// A scalar, rendered `{"value": …}` in JSON.
    Value(Scalar),
    /// A void method: `{"result":"success","message":"ok"}`.
    Success,
    /// A boolean: `{"value":true}` in JSON; XML, CSV and TSV write PHP's
    /// `1` / `0` (`Renderer::formatValueXml` turns `false` into 0).
    Bool(bool),
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

/// Renders an output in `format`; `jsonp` wraps JSON in a callback.
pub(crate) fn render(
    output: &Output,
    format: Format,
    shape: PhpShape,
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
        (_, Format::Html) => {
            return render_html(output, shape, options, request)
                .unwrap_or_else(|error| render_error(&error, format, request));
        }
        (
            _,
            Format::Original {
                serialize,
                exact_name,
            },
        ) => {
            return render_original(output, shape, serialize, exact_name, options)
                .unwrap_or_else(|error| render_error(&error, format, request));
        }
        // `API\Renderer\Rss`: a feed is rendered by `rss.rs` from a map of
        // periods; success is `ApiRenderer::renderSuccess`, and anything
        // else (a scalar becomes a one-row table) is refused.
        (Output::Success, Format::Rss) => text("Success:ok".to_owned()),
        (_, Format::Rss) => {
            return render_error(&ReportingError::RssNeedsPeriods, format, request);
        }
        (Output::Bool(value), Format::Json) => text(format!(r#"{{"value":{value}}}"#)),
        (Output::Bool(value), _) => {
            let as_int = Output::Value(Scalar::Int(i64::from(*value)));
            return render(&as_int, format, shape, options, request);
        }
        (Output::Report(report), Format::Json) => text(render::json(report, options)),
        // A method returning a PHP array: `renderArray`'s nesting.
        (Output::Report(report @ Report::Tree(_)), Format::Xml) if shape == PhpShape::Array => {
            text(render::xml_array(report, options))
        }
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
                _ => render::tsv(&report, &csv),
            }
        }
        (Output::Success, Format::Json) => text(r#"{"result":"success","message":"ok"}"#.to_owned()),
        (Output::Success, Format::Xml) => text(
            "<?xml version=\"1.0\" encoding=\"utf-8\" ?>\n<result>\n\t<success message=\"ok\" />\n</result>"
                .to_owned(),
        ),
        (Output::Success, Format::Csv) => text("message\nok".to_owned()),
        (Output::Success, _) => text("message\tok".to_owned()),
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

fn scalar_php(value: &Scalar) -> Php {
    match value {
        Scalar::Int(number) => Php::Int(*number),
        Scalar::Float(number) => Php::Float(*number),
        Scalar::Str(text) => Php::Str(text.clone()),
    }
}

/// `json_decode($json, true)` of a bulk sub-answer, as a tree to render.
pub(crate) fn json_tree(value: &serde_json::Value) -> Tree {
    match value {
        serde_json::Value::Null => Tree::Null,
        serde_json::Value::Bool(flag) => Tree::Bool(*flag),
        serde_json::Value::Number(number) => match number.as_i64() {
            Some(int) => Tree::Int(int),
            None => Tree::Float(number.as_f64().unwrap_or(0.0)),
        },
        serde_json::Value::String(text) => Tree::Str(text.clone()),
        serde_json::Value::Array(items) => Tree::List(items.iter().map(json_tree).collect()),
        serde_json::Value::Object(entries) => Tree::Assoc(
            entries
                .iter()
                .map(|(key, value)| (key.clone(), json_tree(value)))
                .collect(),
        ),
    }
}

/// The PHP value of an array-shaped answer.
fn array_php(output: &Output, options: &RenderOptions) -> Php {
    match output {
        Output::Report(report) => render::report_php(report, options),
        Output::Value(value) => scalar_php(value),
        Output::Success => Php::Bool(true),
        Output::Bool(value) => Php::Bool(*value),
    }
}

fn plain(content_type: &'static str, body: String) -> Rendered {
    Rendered {
        status: 200,
        content_type,
        body: body.into_bytes(),
    }
}

/// Whether Matomo's method returns this report as a `DataTable` object
/// (methods that build plain lists return arrays).
fn is_table(report: &Report, shape: PhpShape) -> bool {
    shape == PhpShape::DataTable && !matches!(report, Report::Rows(_) | Report::Tree(_))
}

/// `format=html` (§9.3): `API\Renderer\Html` over Matomo's
/// `DataTable\Renderer\Html`, the table id being the method.
fn render_html(
    output: &Output,
    shape: PhpShape,
    options: &RenderOptions,
    request: &ApiRequest,
) -> Result<Rendered, ReportingError> {
    let table_id = request.get("method");
    let body = match output {
        // `Html::renderSuccess`.
        Output::Success => "<!-- Success: ok -->".to_owned(),
        Output::Report(report) if is_table(report, shape) => {
            render::html(report, options, table_id)?
        }
        // `renderScalar`: a `DataTable\Simple` made of `array($scalar)`.
        Output::Value(value) => {
            render::html_array(&Php::list([Php::list([scalar_php(value)])]), table_id)?
        }
        Output::Bool(value) => {
            render::html_array(&Php::list([Php::list([Php::Bool(*value)])]), table_id)?
        }
        other => render::html_array(&array_php(other, options), table_id)?,
    };
    Ok(plain(Format::Html.content_type(), body))
}

/// `format=original` (§9.3) as the HTTP front sends it: `Renderer\Original`
/// returns the value (`serialize()`d with `serialize=1`), then
/// `API\Controller::index()` `var_export`s an array and the front
/// controller echoes the rest (a `DataTable` through `__toString()`, which
/// is its HTML; `true` as `1`).
///
/// Serialized `DataTable` objects (PHP class internals) are refused with
/// [`ReportingError::PhpObject`], as is `API.getProcessedReport`, whose
/// array holds one.
fn render_original(
    output: &Output,
    shape: PhpShape,
    serialize: bool,
    exact_name: bool,
    options: &RenderOptions,
) -> Result<Rendered, ReportingError> {
    let format = Format::Original {
        serialize,
        exact_name,
    };
    let content_type = format.content_type();
    if shape == PhpShape::ArrayWithTable
        || (serialize && matches!(output, Output::Report(report) if is_table(report, shape)))
    {
        return Err(ReportingError::PhpObject);
    }
    let body = match output {
        // `renderSuccess` returns `true`, never serialized; PHP echoes 1.
        Output::Success => "1".to_owned(),
        // PHP echoes `true` as 1 and `false` as nothing.
        Output::Bool(value) if !serialize => if *value { "1" } else { "" }.to_owned(),
        Output::Report(report) if is_table(report, shape) => render::html(report, options, None)?,
        Output::Value(value) if !serialize => match value {
            Scalar::Int(number) => number.to_string(),
            Scalar::Float(number) => php_float_string(*number),
            Scalar::Str(text) => text.clone(),
        },
        other if serialize => render::serialize(&array_php(other, options)),
        // An array: `var_export`, sent as plain text when the parameter
        // is exactly `original`.
        other => {
            let body = render::var_export(&array_php(other, options));
            return Ok(plain(
                if exact_name { PLAIN_TEXT } else { content_type },
                body,
            ));
        }
    };
    Ok(plain(content_type, body))
}

/// Matomo's `Renderer::formatValueXml` of a string: entities decoded
/// (`html_entity_decode`), then `htmlspecialchars` with `ENT_COMPAT`.
fn format_value_xml(text: &str) -> String {
    use tally_datatable::format::{Quotes, html_entity_decode, htmlspecialchars};
    htmlspecialchars(&html_entity_decode(text), Quotes::Double)
}

/// Renders an error as Matomo does in each format.
pub(crate) fn render_error(
    error: &ReportingError,
    format: Format,
    request: &ApiRequest,
) -> Rendered {
    let callback = jsonp_callback(request);
    // `ResponseBuilder::formatExceptionMessage` passes every message through
    // `formatValueXml` (entities decoded, then `&<>"` escaped) before any
    // renderer sees it; only JSON then folds its line breaks.
    let message = format_value_xml(&error.to_string());
    let body = match format {
        Format::Json => {
            let one_line = message.replace("\r\n", " ").replace('\n', " ");
            let json = format!("{{\"result\":\"error\",\"message\":{}}}", json_string(&one_line));
            match callback {
                Some(callback) => format!("{callback}({json})"),
                None => json,
            }
        }
        Format::Xml => format!(
            "<?xml version=\"1.0\" encoding=\"utf-8\" ?>\n<result>\n\t<error message=\"{message}\" />\n</result>"
        ),
        Format::Csv | Format::Tsv | Format::Rss => format!("Error: {message}"),
        // `Html::renderException`: `nl2br` of the escaped message.
        Format::Html => {
            return Rendered {
                status: error.http_status(),
                content_type: PLAIN_TEXT,
                body: nl2br(&message).into_bytes(),
            };
        }
        Format::Original {
            serialize: true, ..
        } => {
            let data = Php::assoc([
                ("result", Php::Str("error".to_owned())),
                ("message", Php::Str(message)),
            ]);
            render::serialize(&data)
        }
        // Without `serialize`, `Original::renderException` rethrows: the
        // front controller's error page prints the bare message with
        // status 500 unless the exception carries its own code.
        Format::Original {
            serialize: false, ..
        } => {
            let status = match error.http_status() {
                200 => 500,
                other => other,
            };
            return Rendered {
                status,
                content_type: "text/html; charset=utf-8",
                body: error.to_string().into_bytes(),
            };
        }
    }
    .into_bytes();
    Rendered {
        status: error.http_status(),
        content_type: match format {
            Format::Csv | Format::Tsv => "text/html; charset=utf-8",
            // `Rss::renderException` sends plain text.
            Format::Rss => PLAIN_TEXT,
            other => other.content_type(),
        },
        body,
    }
}

/// PHP's `nl2br`: `<br />` before each line break (`\r\n`, `\n`, `\r`).
fn nl2br(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(character) = chars.next() {
        match character {
            '\r' if chars.peek() == Some(&'\n') => {
                chars.next();
                out.push_str("<br />\r\n");
            }
            '\r' | '\n' => {
                out.push_str("<br />");
                out.push(character);
            }
            other => out.push(other),
        }
    }
    out
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serialize_is_any_non_zero_integer() {
        for (value, set) in [
            ("1", true),
            ("2", true),
            (" 1", true),
            ("0", false),
            ("", false),
        ] {
            assert_eq!(php_int_is_set(value), set, "{value:?}");
        }
        assert!(!php_int_is_set("yes"));
    }

    #[test]
    fn nl2br_marks_each_line_break() {
        assert_eq!(nl2br("a\nb\r\nc\rd"), "a<br />\nb<br />\r\nc<br />\rd");
    }
}
