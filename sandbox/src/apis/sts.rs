//! STS: `AssumeRole` (awsQuery, like SNS), so destinations with a
//! `role_arn` work against the sandbox.
//!
//! A role is named by the last segment of its ARN. With `auto_create` (the
//! default) every role may be assumed; without it, only the roles created as
//! resources (`sts:NAME` in the resource list), and any other answers STS's
//! 403 `AccessDenied`. Credentials last `DurationSeconds` (900-43,200,
//! default 3,600), or less when the sandbox is told to
//! (`SandboxOptions::session_seconds`, for refresh tests). Each call is
//! logged (API `sts`, target the role name, its one item the `ExternalId`
//! when one was given).

use crate::faults::Api;
use crate::store::Call;
use crate::wire::{form, rfc3339, ApiError, Protocol};
use crate::State;
use axum::body::Bytes;
use axum::response::Response;
use serde_json::{json, Value};
use std::collections::HashMap;

pub(crate) async fn handle(state: &State, body: &Bytes) -> Response {
    let parse = |b: &[u8]| Ok::<_, serde_json::Error>(form(b));
    state.serve_parsed(Api::Sts, "AssumeRole", Protocol::AwsQuery, body, parse, assume_role).await
}

fn assume_role(form: HashMap<String, String>, world: &mut super::World, _: &mut crate::faults::Faults) -> Result<Value, ApiError> {
    let arn = form.get("RoleArn").map(String::as_str).unwrap_or_default();
    let session = form.get("RoleSessionName").map(String::as_str).unwrap_or_default();
    if !arn.starts_with("arn:") || !arn.contains(":role/") {
        return Err(ApiError::bad("ValidationError", format!("{arn} is invalid")));
    }
    if !(2..=64).contains(&session.len()) {
        return Err(ApiError::bad("ValidationError", "1 validation error detected: Value at 'roleSessionName' failed to satisfy constraint"));
    }
    let name = arn.rsplit('/').next().unwrap_or_default().to_owned();
    if !world.exists(Api::Sts, &name) {
        world.store.log(Call { api: Api::Sts, operation: "AssumeRole", target: name, items: Vec::new(), status: 403 });
        return Err(ApiError {
            status: 403,
            code: "AccessDenied".into(),
            message: format!("User: arn:aws:iam::123456789012:user/sandbox is not authorized to perform: sts:AssumeRole on resource: {arn}"),
        });
    }
    let asked = form.get("DurationSeconds").and_then(|d| d.parse::<u64>().ok()).unwrap_or(3600);
    if !(900..=43_200).contains(&asked) && world.session_seconds.is_none() {
        return Err(ApiError::bad(
            "ValidationError",
            "1 validation error detected: Value at 'durationSeconds' failed to satisfy constraint: Member must have value between 900 and 43200",
        ));
    }
    let seconds = world.session_seconds.unwrap_or(asked);
    let call = world.store.calls_seen();
    let external_id = form.get("ExternalId").map(|id| vec![(id.clone(), None)]).unwrap_or_default();
    world.store.log(Call { api: Api::Sts, operation: "AssumeRole", target: name.clone(), items: external_id, status: 200 });
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
    Ok(json!({"AssumeRoleResponse": {"AssumeRoleResult": {
        "Credentials": {
            "AccessKeyId": format!("ASIASANDBOX{call:09}"),
            "SecretAccessKey": "sandbox-secret",
            "SessionToken": format!("sandbox-session-{call}"),
            "Expiration": rfc3339(now.saturating_add(seconds)),
        },
        "AssumedRoleUser": {"AssumedRoleId": format!("AROASANDBOX:{session}"), "Arn": format!("arn:aws:sts::123456789012:assumed-role/{name}/{session}")},
    }, "ResponseMetadata": {"RequestId": "sandbox"}}}))
}
