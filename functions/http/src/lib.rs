//! `http-fanout`'s wiring: API Gateway proxy events (REST v1 and HTTP API
//! v2) are read by fanout itself (`fanout::sources::http::apigw`), not by
//! `lambda_http`, whose request conversion panics on input a caller controls.
//! The local runner uses the same entry point, so a sample API Gateway event
//! goes through the same code.

use fanout::Fanout;
use serde_json::value::RawValue;
use serde_json::Value;
use std::time::SystemTime;

/// Serve one proxy event through fanout: the proxy response, never an error.
pub async fn serve(fanout: &Fanout, event: &RawValue, lambda_deadline: SystemTime) -> Value {
    fanout::sources::http::handle_event(fanout, event.get().as_bytes(), lambda_deadline).await
}
