//! Wire helpers: AWS error shapes for both protocols, and the name and id
//! rules several APIs share.

use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use serde_json::{json, Value};

/// How an API encodes errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    /// awsJson1_1 (Firehose, Kinesis): the code in the body's `__type`.
    AwsJson,
    /// restJson1 (the IoT APIs): the code in `x-amzn-ErrorType`.
    RestJson,
    /// awsQuery (SNS): form-encoded requests, XML answers; the code in
    /// `ErrorResponse/Error/Code`. A success body is the JSON tree of the
    /// answer, one root element ([`xml`] writes it).
    AwsQuery,
}

/// An error answered for a whole call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// HTTP status.
    pub status: u16,
    /// AWS error code.
    pub code: String,
    /// The error message, as the service words it.
    pub message: String,
}

impl ApiError {
    /// A 400 with `code`.
    pub fn bad(code: &str, message: impl Into<String>) -> Self {
        Self { status: 400, code: code.to_owned(), message: message.into() }
    }

    /// A 404 `ResourceNotFoundException`.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self { status: 404, code: "ResourceNotFoundException".into(), message: message.into() }
    }

    /// The error AWS sends with an injected status.
    pub fn injected(status: u16, protocol: Protocol) -> Self {
        let code = match (status, protocol) {
            (429, _) => "ThrottlingException",
            (500, Protocol::AwsJson) => "InternalFailure",
            (500, Protocol::RestJson) => "InternalFailureException",
            (500, Protocol::AwsQuery) => "InternalError",
            (503, _) => "ServiceUnavailableException",
            (s, _) if s >= 500 => "InternalFailure",
            _ => "InvalidRequestException",
        };
        Self { status, code: code.into(), message: format!("injected by the sandbox (status {status})") }
    }

    /// The HTTP response in `protocol`'s shape.
    pub fn into_response(self, protocol: Protocol) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        match protocol {
            Protocol::AwsJson => {
                let mut r = (status, json!({"__type": self.code, "message": self.message}).to_string()).into_response();
                r.headers_mut().insert("content-type", HeaderValue::from_static("application/x-amz-json-1.1"));
                r
            }
            Protocol::AwsQuery => {
                let body = format!(
                    "<ErrorResponse><Error><Type>{}</Type><Code>{}</Code><Message>{}</Message></Error><RequestId>sandbox</RequestId></ErrorResponse>",
                    if self.status < 500 { "Sender" } else { "Receiver" },
                    escape(&self.code),
                    escape(&self.message)
                );
                let mut r = (status, body).into_response();
                r.headers_mut().insert("content-type", HeaderValue::from_static("text/xml"));
                r
            }
            Protocol::RestJson => {
                let mut r = (status, json!({"message": self.message}).to_string()).into_response();
                r.headers_mut().insert("content-type", HeaderValue::from_static("application/json"));
                if let Ok(v) = HeaderValue::from_str(&self.code) {
                    r.headers_mut().insert("x-amzn-errortype", v);
                }
                r
            }
        }
    }
}

/// A validation error in the shape AWS uses for model constraints.
pub fn constraint(code: &str, field: &str, rule: &str) -> ApiError {
    ApiError::bad(code, format!("1 validation error detected: Value at '{field}' failed to satisfy constraint: {rule}"))
}

/// A JSON success response for `protocol`.
pub fn ok(body: Value, protocol: Protocol) -> Response {
    let text = match protocol {
        Protocol::AwsQuery => xml(&body),
        _ => body.to_string(),
    };
    let mut r = (StatusCode::OK, text).into_response();
    let ct = match protocol {
        Protocol::AwsJson => "application/x-amz-json-1.1",
        Protocol::RestJson => "application/json",
        Protocol::AwsQuery => "text/xml",
    };
    r.headers_mut().insert("content-type", HeaderValue::from_static(ct));
    r
}

/// A JSON tree as awsQuery XML: an object's members are elements, an
/// array's items are `<member>` elements, scalars are escaped text.
pub fn xml(value: &Value) -> String {
    let mut out = String::new();
    write_xml(value, &mut out);
    out
}

fn write_xml(value: &Value, out: &mut String) {
    match value {
        Value::Object(map) => {
            for (name, v) in map {
                out.push('<');
                out.push_str(name);
                out.push('>');
                write_xml(v, out);
                out.push_str("</");
                out.push_str(name);
                out.push('>');
            }
        }
        Value::Array(items) => {
            for v in items {
                out.push_str("<member>");
                write_xml(v, out);
                out.push_str("</member>");
            }
        }
        Value::String(s) => out.push_str(&escape(s)),
        Value::Null => {}
        other => out.push_str(&other.to_string()),
    }
}

/// XML text with `&`, `<`, `>` and quotes escaped.
pub fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;").replace('\'', "&apos;")
}

/// A form-encoded awsQuery body as its name-value pairs (`Action`,
/// `TopicArn`, `PublishBatchRequestEntries.member.1.Id`, ...).
pub fn form(body: &[u8]) -> std::collections::HashMap<String, String> {
    form_urlencoded::parse(body).into_owned().collect()
}

/// A required string field.
pub fn string<'a>(body: &'a Value, field: &str, code: &str) -> Result<&'a str, ApiError> {
    body.get(field).and_then(Value::as_str).ok_or_else(|| constraint(code, field, "Member must not be null"))
}

/// A required array field.
pub fn array<'a>(body: &'a Value, field: &str, code: &str) -> Result<&'a [Value], ApiError> {
    body.get(field).and_then(Value::as_array).map(Vec::as_slice).ok_or_else(|| constraint(code, field, "Member must not be null"))
}

/// Check an array's length.
pub fn check_len<T>(items: &[T], field: &str, min: usize, max: usize, code: &str) -> Result<(), ApiError> {
    if items.len() < min {
        return Err(constraint(code, field, &format!("Member must have length greater than or equal to {min}")));
    }
    if items.len() > max {
        return Err(constraint(code, field, &format!("Member must have length less than or equal to {max}")));
    }
    Ok(())
}

/// Decode a base64 blob field.
pub fn blob(value: Option<&Value>, field: &str, code: &str) -> Result<Vec<u8>, ApiError> {
    blob_str(value.and_then(Value::as_str), field, code)
}

/// A required base64 blob given as text.
pub fn blob_str(text: Option<&str>, field: &str, code: &str) -> Result<Vec<u8>, ApiError> {
    let text = text.ok_or_else(|| constraint(code, field, "Member must not be null"))?;
    base64::engine::general_purpose::STANDARD
        .decode(text)
        .map_err(|_| ApiError::bad("SerializationException", format!("{field} is not valid base64")))
}

/// Base64 of bytes.
pub fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// `[a-zA-Z0-9_.-]+` within `min..=max` characters.
pub fn is_stream_name(s: &str, max: usize) -> bool {
    !s.is_empty() && s.len() <= max && s.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
}

/// `^[a-zA-Z0-9_-]+$` within `1..=max` characters.
pub fn is_id(s: &str, max: usize) -> bool {
    !s.is_empty() && s.len() <= max && s.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-'))
}

/// Seconds since the Unix epoch, as a float (restJson / awsJson timestamps).
pub fn now_secs() -> f64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs_f64()).unwrap_or(0.0)
}

/// Seconds since the Unix epoch as an RFC 3339 UTC time (`2026-12-03T16:00:00Z`).
pub fn rfc3339(secs: u64) -> String {
    let (days, rest) = (secs / 86_400, secs % 86_400);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z", rest / 3600, rest % 3600 / 60, rest % 60)
}

/// One entry of a `Records` list (Firehose `PutRecordBatch`, Kinesis
/// `PutRecords`), borrowed from the request body: base64 data and keys have
/// no escapes, so nothing is copied.
#[derive(serde::Deserialize)]
pub(crate) struct RecordInput<'a> {
    /// `Data`, base64.
    #[serde(rename = "Data", borrow, default)]
    pub data: Option<std::borrow::Cow<'a, str>>,
    /// `PartitionKey` (Kinesis).
    #[serde(rename = "PartitionKey", borrow, default)]
    pub partition_key: Option<std::borrow::Cow<'a, str>>,
    /// `ExplicitHashKey` (Kinesis): a decimal hash key, over the partition key's.
    #[serde(rename = "ExplicitHashKey", borrow, default)]
    pub explicit_hash_key: Option<std::borrow::Cow<'a, str>>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_times_match_known_dates() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z", "a leap day");
        assert_eq!(rfc3339(1_796_256_000 + 3_661), "2026-12-03T01:01:01Z");
    }

    #[test]
    fn xml_nests_objects_lists_as_members_and_escapes_text() {
        let tree = serde_json::json!({"R": {"L": [{"Id": "a&b"}, {"Id": "<c>"}], "N": 3}});
        assert_eq!(xml(&tree), "<R><L><member><Id>a&amp;b</Id></member><member><Id>&lt;c&gt;</Id></member></L><N>3</N></R>");
    }
}
