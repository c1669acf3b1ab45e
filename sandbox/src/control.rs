//! The sandbox's own API, under `/_sandbox/`, for tests and tools:
//!
//! | call | does |
//! |---|---|
//! | `GET /_sandbox/health` | `ok` |
//! | `GET /_sandbox/items` | every target with accepted items: `[{"api","target","count"}]` |
//! | `GET /_sandbox/items/{api}/{target}` | the accepted items of one target, in order |
//! | `GET /_sandbox/calls` | every call: operation, target, each item's key and error, status |
//! | `PUT /_sandbox/faults` | body: a fault spec (see [`crate::faults`]); replaces the rules |
//! | `DELETE /_sandbox/faults` | no more faults |
//! | `POST /_sandbox/resources/{api}/{name}` | create a stream, channel, input, model or alias |
//! | `POST /_sandbox/reset` | forget accepted items and calls |

use crate::faults::{Api, FaultSpec};
use crate::State;
use axum::extract::{Path, State as AxState};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Value};
use std::sync::Arc;

/// The control routes.
pub fn router() -> Router<Arc<State>> {
    Router::new()
        .route("/health", get(|| async { "ok" }))
        .route("/items", get(items))
        .route("/items/{api}/{*target}", get(target_items))
        .route("/calls", get(calls))
        .route("/faults", axum::routing::put(set_faults).delete(clear_faults))
        .route("/resources/{api}/{*name}", post(create))
        .route("/reset", post(reset))
}

fn unknown_api(name: &str) -> Response {
    (StatusCode::NOT_FOUND, format!("unknown API `{name}`")).into_response()
}

async fn items(AxState(state): AxState<Arc<State>>) -> Json<Value> {
    let targets: Vec<Value> = state.world().store.targets().into_iter().map(|(a, t, n)| json!({"api": a, "target": t, "count": n})).collect();
    Json(Value::Array(targets))
}

async fn target_items(AxState(state): AxState<Arc<State>>, Path((name, target)): Path<(String, String)>) -> Response {
    match Api::parse(&name) {
        Some(a) => Json(Value::Array(state.world().store.items(a, &target).to_vec())).into_response(),
        None => unknown_api(&name),
    }
}

async fn calls(AxState(state): AxState<Arc<State>>) -> Json<Value> {
    Json(serde_json::to_value(state.world().store.calls()).unwrap_or_default())
}

async fn set_faults(AxState(state): AxState<Arc<State>>, body: String) -> Response {
    match FaultSpec::parse(&body) {
        Ok(spec) => {
            state.faults().set(&spec);
            StatusCode::NO_CONTENT.into_response()
        }
        Err(e) => (StatusCode::BAD_REQUEST, e.to_string()).into_response(),
    }
}

async fn clear_faults(AxState(state): AxState<Arc<State>>) -> StatusCode {
    state.faults().set(&FaultSpec::default());
    StatusCode::NO_CONTENT
}

async fn create(AxState(state): AxState<Arc<State>>, Path((name, resource)): Path<(String, String)>) -> Response {
    match Api::parse(&name) {
        Some(a) => {
            state.world().create(a, &resource);
            StatusCode::CREATED.into_response()
        }
        None => unknown_api(&name),
    }
}

async fn reset(AxState(state): AxState<Arc<State>>) -> StatusCode {
    state.world().reset();
    StatusCode::NO_CONTENT
}
