//! API Gateway proxy events (REST API v1 and HTTP API v2 payload formats),
//! read straight from the event JSON into an [`HttpRequest`], and the
//! proxy response written back.
//!
//! fanout reads the event itself rather than through `lambda_http`, whose
//! conversion panics on input a caller controls (a base64 body that is not
//! base64, a `Host` header that is not a host). Every problem is an answer
//! instead: 400 with a JSON body that names the field and the rule.
//!
//! What is read: the method (`requestContext.http.method` in v2, `httpMethod`
//! in v1), the path (`rawPath` in v2, `path` in v1), the first value of each
//! query parameter (`queryStringParameters`), the `Content-Type` header (any
//! case), and the body (`isBase64Encoded` decoded).

use super::{problem, HttpRequest, HttpResponse};
use base64::Engine as _;
use bytes::Bytes;
use serde::Deserialize;
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;

#[derive(Deserialize)]
struct Event {
    #[serde(rename = "httpMethod")]
    http_method: Option<String>,
    path: Option<String>,
    #[serde(rename = "rawPath")]
    raw_path: Option<String>,
    headers: Option<BTreeMap<String, Option<String>>>,
    #[serde(rename = "queryStringParameters")]
    query: Option<BTreeMap<String, Option<String>>>,
    #[serde(rename = "requestContext")]
    request_context: Option<RequestContext>,
    body: Option<String>,
    #[serde(rename = "isBase64Encoded")]
    is_base64_encoded: Option<bool>,
}

#[derive(Deserialize)]
struct RequestContext {
    http: Option<HttpContext>,
}

#[derive(Deserialize)]
struct HttpContext {
    method: Option<String>,
    path: Option<String>,
}

/// The request an API Gateway proxy event carries, or the 400 answer that
/// names what is wrong with the event.
pub fn request_from_event(event: &[u8]) -> Result<HttpRequest, HttpResponse> {
    let de = &mut serde_json::Deserializer::from_slice(event);
    let e: Event = serde_path_to_error::deserialize(de).map_err(|err| {
        let path = err.path().to_string();
        let place = if path == "." { String::new() } else { format!("{path}: ") };
        problem(400, format!("not an API Gateway proxy event: {place}{}", err.inner()))
    })?;
    let http = e.request_context.as_ref().and_then(|c| c.http.as_ref());
    let method =
        match (http.and_then(|h| h.method.clone()), e.http_method) {
            (Some(m), _) | (None, Some(m)) if !m.is_empty() => m,
            _ => return Err(problem(
                400,
                "not an API Gateway proxy event: no method (expected `requestContext.http.method` for an HTTP API or `httpMethod` for a REST API)",
            )),
        };
    let Some(path) = e.raw_path.or(e.path).or_else(|| http.and_then(|h| h.path.clone())) else {
        return Err(problem(400, "not an API Gateway proxy event: no path (expected `rawPath` for an HTTP API or `path` for a REST API)"));
    };
    let content_type = e.headers.as_ref().and_then(|h| h.iter().find(|(k, _)| k.eq_ignore_ascii_case("content-type"))).and_then(|(_, v)| v.clone());
    let query = e.query.unwrap_or_default().into_iter().filter_map(|(k, v)| v.map(|v| (k, v))).collect();
    let body = match (e.body, e.is_base64_encoded.unwrap_or(false)) {
        (None, _) => Bytes::new(),
        (Some(text), false) => Bytes::from(text.into_bytes()),
        (Some(text), true) => match base64::engine::general_purpose::STANDARD.decode(text.trim()) {
            Ok(bytes) => Bytes::from(bytes),
            Err(err) => return Err(problem(400, format!("body: isBase64Encoded is true but the body is not base64 ({err})"))),
        },
    };
    Ok(HttpRequest { method, path, query, content_type, body })
}

/// The proxy response API Gateway expects (the same shape serves v1 and v2):
/// status, headers (`Content-Type: application/json` and the answer's own),
/// and the JSON body as text.
pub fn response_to_event(answer: &HttpResponse) -> Value {
    let mut headers = Map::new();
    headers.insert("content-type".into(), json!("application/json"));
    for (name, value) in &answer.headers {
        headers.insert((*name).to_ascii_lowercase(), json!(value));
    }
    json!({"statusCode": answer.status, "headers": headers, "body": answer.body.to_string(), "isBase64Encoded": false})
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(name: &str) -> Vec<u8> {
        std::fs::read(format!("{}/../events/{name}", env!("CARGO_MANIFEST_DIR"))).expect("sample event")
    }

    #[test]
    fn both_payload_formats_read_method_path_type_and_body() {
        let v1 = request_from_event(&sample("apigw-v1-records.json")).expect("v1");
        assert_eq!((v1.method.as_str(), v1.path.as_str(), v1.content_type.as_deref()), ("POST", "/records", Some("application/json")));
        assert!(v1.body.starts_with(br#"{"records": [{"id": "r-1""#));
        let v2 = request_from_event(&sample("apigw-v2-records.json")).expect("v2");
        assert_eq!(v2.method, "POST");
        assert!(v2.path.ends_with("/records"), "{}", v2.path);
        let list = request_from_event(&sample("apigw-v2-list-detectors.json")).expect("v2 GET");
        assert_eq!(list.method, "GET");
        assert!(!list.query.is_empty(), "query parameters are read");
    }

    #[test]
    fn a_base64_body_is_decoded_and_a_bad_one_is_a_400_naming_it() {
        let event = |body: &str| json!({"httpMethod": "POST", "path": "/records", "isBase64Encoded": true, "body": body}).to_string();
        let ok = request_from_event(event("eyJyZWNvcmRzIjpbXX0=").as_bytes()).expect("decoded");
        assert_eq!(&ok.body[..], br#"{"records":[]}"#);
        let bad = request_from_event(event("%%%").as_bytes()).expect_err("not base64");
        assert_eq!(bad.status, 400);
        assert!(
            bad.body["error"].as_str().is_some_and(|m| m.starts_with("body: isBase64Encoded is true but the body is not base64")),
            "{}",
            bad.body
        );
    }

    #[test]
    fn events_without_method_or_with_wrong_types_are_400s_naming_the_field() {
        let none = request_from_event(br#"{"path": "/records", "body": "{}"}"#).expect_err("no method");
        assert!(none.body["error"].as_str().is_some_and(|m| m.contains("httpMethod") && m.contains("requestContext.http.method")), "{}", none.body);
        let typed = request_from_event(br#"{"requestContext": {"http": {"method": 5}}, "rawPath": "/records"}"#).expect_err("method is a number");
        assert!(typed.body["error"].as_str().is_some_and(|m| m.contains("requestContext.http.method")), "{}", typed.body);
        let bad_host = request_from_event(br#"{"httpMethod": "POST", "path": "/records", "headers": {"Host": "not a host\u0000"}, "body": "{}"}"#);
        assert!(bad_host.is_ok(), "headers fanout does not use are not judged");
    }

    #[test]
    fn responses_carry_status_headers_and_the_body_as_text() {
        let mut answer = problem(429, "slow down");
        answer.headers.push(("Retry-After", "1".into()));
        let event = response_to_event(&answer);
        assert_eq!(event["statusCode"], 429);
        assert_eq!(event["headers"]["retry-after"], "1");
        assert_eq!(event["headers"]["content-type"], "application/json");
        let body: Value = serde_json::from_str(event["body"].as_str().expect("text")).expect("json");
        assert_eq!(body["error"], "slow down");
    }
}
