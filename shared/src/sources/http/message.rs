//! The HTTP function's requests and answers, framework-free: what
//! [`super::apigw`] reads from and writes to API Gateway, and the checks every
//! body goes through.

use bytes::Bytes;
use serde_json::{json, Value};

/// A request, as API Gateway handed it over.
#[derive(Debug, Clone, Default)]
pub struct HttpRequest {
    /// `GET`, `POST`, ...
    pub method: String,
    /// The path without the stage.
    pub path: String,
    /// Query parameters (first value of each).
    pub query: Vec<(String, String)>,
    /// The `Content-Type` header.
    pub content_type: Option<String>,
    /// The body.
    pub body: Bytes,
}

/// A response.
#[derive(Debug, Clone, PartialEq)]
pub struct HttpResponse {
    /// Status code.
    pub status: u16,
    /// Extra headers (`Content-Type: application/json` is implied).
    pub headers: Vec<(&'static str, String)>,
    /// The JSON body.
    pub body: Value,
}

/// An answer with `status` and a JSON body.
pub fn answer(status: u16, body: Value) -> HttpResponse {
    HttpResponse { status, headers: Vec::new(), body }
}

/// An error answer: `{"error": message}`.
pub fn problem(status: u16, message: impl Into<String>) -> HttpResponse {
    answer(status, json!({"error": message.into()}))
}

/// Check a request's body against `limit` (413) and its content type (415):
/// JSON (also when no type is given) or NDJSON.
pub fn body_kind(request: &HttpRequest, limit: usize) -> Result<BodyKind, HttpResponse> {
    if request.body.len() > limit {
        return Err(problem(413, format!("the body is {} bytes; the limit is {limit}", request.body.len())));
    }
    let ct = request.content_type.as_deref().unwrap_or("").split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    match ct.as_str() {
        "application/json" | "" => Ok(BodyKind::Json),
        "application/x-ndjson" => Ok(BodyKind::Ndjson),
        other => Err(problem(415, format!("content type `{other}` is not accepted; send application/json or application/x-ndjson"))),
    }
}

/// How a body is framed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyKind {
    /// `application/json`: one document.
    Json,
    /// `application/x-ndjson`: one document per line.
    Ndjson,
}
