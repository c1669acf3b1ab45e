//! The adapter between `lambda_http` and fanout's framework-free HTTP source:
//! API Gateway REST (v1) and HTTP API (v2) requests alike. The local runner
//! uses it too, so a sample API Gateway event goes through the same code.

use bytes::Bytes;
use fanout::sources::http::{HttpRequest, HttpResponse};
use fanout::Fanout;
use lambda_http::{Body, Request, RequestExt, Response};
use std::time::{Duration, SystemTime};

/// API Gateway's integration timeout, used when the request carries no Lambda context.
pub const INTEGRATION_TIMEOUT: Duration = Duration::from_secs(29);

/// The framework-free request: method, path without the stage, first value of each query parameter, body.
pub fn to_request(request: &Request) -> HttpRequest {
    let query = request.query_string_parameters_ref().map(|q| q.iter().map(|(k, v)| (k.to_owned(), v.to_owned())).collect()).unwrap_or_default();
    let body = match request.body() {
        Body::Empty => Bytes::new(),
        Body::Text(t) => Bytes::copy_from_slice(t.as_bytes()),
        Body::Binary(b) => Bytes::copy_from_slice(b),
        _ => Bytes::new(),
    };
    HttpRequest {
        method: request.method().as_str().to_owned(),
        path: request.raw_http_path().to_owned(),
        query,
        content_type: request.headers().get("content-type").and_then(|v| v.to_str().ok()).map(str::to_owned),
        body,
    }
}

/// The `lambda_http` response for a fanout answer.
pub fn to_response(answer: HttpResponse) -> Response<Body> {
    let mut builder = Response::builder().status(answer.status).header("content-type", "application/json");
    for (name, value) in answer.headers {
        builder = builder.header(name, value);
    }
    let body = Body::Text(answer.body.to_string());
    builder.body(body.clone()).unwrap_or_else(|_| Response::new(body))
}

/// Serve one request through fanout.
pub async fn serve(fanout: &Fanout, request: Request) -> Response<Body> {
    let deadline = request.lambda_context_ref().map(|c| c.deadline()).unwrap_or_else(|| SystemTime::now() + INTEGRATION_TIMEOUT);
    to_response(fanout::sources::http::handle(fanout, to_request(&request), deadline).await)
}

/// A sample API Gateway event (REST v1 or HTTP API v2) as a request.
pub fn request_from_event(event: &str) -> Result<Request, serde_json::Error> {
    let lambda_request: lambda_http::request::LambdaRequest = serde_json::from_str(event)?;
    Ok(Request::from(lambda_request))
}
