//! SNS: `PublishBatch`, plus `CreateTopic` (awsQuery: a form-encoded POST
//! with `Action=...`, answered in XML).
//!
//! Limits (SNS API reference, PublishBatch): 1-10 entries; a message and all
//! messages of a request together at most 256 KiB (262,144 bytes, the
//! default `MaximumMessageSize` of the sandbox's topics); entry ids 1-80 of
//! `[A-Za-z0-9_-]`, unique in the request; a subject is under 100
//! characters, without line breaks or control characters. FIFO topics (`.fifo`) need a `MessageGroupId` and a
//! `MessageDeduplicationId` (1-128 of ASCII `!`-`~`) on every message; a
//! message whose deduplication id the topic has seen is answered as
//! published and not stored again. A topic is named by the last segment of
//! its ARN. Stored items: `{"message_id", "id", "subject", "group",
//! "attributes", "data"}`; attributes count toward the size.

use super::fault_text;
use super::sqs::is_fifo_id;
use crate::faults::Api;
use crate::store::Call;
use crate::wire::{b64, form, ApiError, Protocol};
use crate::State;
use axum::body::Bytes;
use axum::response::Response;
use serde_json::{json, Value};
use std::collections::{HashMap, HashSet};

/// Most entries per request.
pub const MAX_ENTRIES: usize = 10;
/// Largest message, and largest sum of messages in a request, bytes (the default topic limit).
pub const MAX_BYTES: usize = 256 * 1024;

type Form = HashMap<String, String>;

pub(crate) async fn handle(state: &State, body: &Bytes) -> Response {
    let action = form(body).remove("Action").unwrap_or_default();
    let parse = |b: &[u8]| Ok::<_, serde_json::Error>(form(b));
    match action.as_str() {
        "PublishBatch" => state.serve_parsed(Api::Sns, "PublishBatch", Protocol::AwsQuery, body, parse, publish_batch).await,
        "CreateTopic" => state.serve_parsed(Api::Sns, "CreateTopic", Protocol::AwsQuery, body, parse, create_topic).await,
        other => ApiError::bad("InvalidAction", format!("the sandbox does not serve the SNS action `{other}`")).into_response(Protocol::AwsQuery),
    }
}

fn topic_arn(name: &str) -> String {
    format!("arn:aws:sns:us-east-1:123456789012:{name}")
}

fn is_topic_name(name: &str) -> bool {
    let base = name.strip_suffix(".fifo").unwrap_or(name);
    !base.is_empty() && name.len() <= 256 && base.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

fn create_topic(form: Form, world: &mut super::World, _: &mut crate::faults::Faults) -> Result<Value, ApiError> {
    let name = form.get("Name").map(String::as_str).unwrap_or_default();
    if !is_topic_name(name) {
        return Err(ApiError::bad("InvalidParameter", "Invalid parameter: Topic Name"));
    }
    world.create(Api::Sns, name);
    Ok(json!({"CreateTopicResponse": {"CreateTopicResult": {"TopicArn": topic_arn(name)}, "ResponseMetadata": {"RequestId": "sandbox"}}}))
}

/// The entries' fields by member number, in member order.
fn entries(form: &Form) -> Vec<HashMap<&str, &str>> {
    let mut by_index: std::collections::BTreeMap<usize, HashMap<&str, &str>> = std::collections::BTreeMap::new();
    for (name, value) in form {
        let Some(rest) = name.strip_prefix("PublishBatchRequestEntries.member.") else { continue };
        let Some((index, field)) = rest.split_once('.') else { continue };
        let Ok(index) = index.parse::<usize>() else { continue };
        by_index.entry(index).or_default().insert(field, value.as_str());
    }
    by_index.into_values().collect()
}

/// An entry's attributes, (name, string value), from its
/// `MessageAttributes.entry.N.Name` / `.Value.StringValue` fields.
fn attributes<'a>(e: &HashMap<&'a str, &'a str>) -> Vec<(&'a str, &'a str)> {
    let mut by_index: std::collections::BTreeMap<usize, (Option<&str>, Option<&str>)> = std::collections::BTreeMap::new();
    for (field, value) in e {
        let Some(rest) = field.strip_prefix("MessageAttributes.entry.") else { continue };
        let Some((index, part)) = rest.split_once('.') else { continue };
        let Ok(index) = index.parse::<usize>() else { continue };
        let slot = by_index.entry(index).or_default();
        match part {
            "Name" => slot.0 = Some(value),
            "Value.StringValue" => slot.1 = Some(value),
            _ => {}
        }
    }
    by_index.into_values().filter_map(|(n, v)| Some((n?, v?))).collect()
}

/// What SNS refuses in one entry, as it words it.
fn entry_problem(e: &HashMap<&str, &str>, fifo: bool) -> Option<&'static str> {
    let message = e.get("Message").copied().unwrap_or_default();
    let subject_ok = |s: &str| !s.is_empty() && s.chars().count() < 100 && !s.chars().any(char::is_control);
    if message.is_empty() {
        return Some("Invalid parameter: Empty message");
    }
    if message.len() + attributes(e).iter().map(|(n, v)| n.len() + "String".len() + v.len()).sum::<usize>() > MAX_BYTES {
        return Some("Invalid parameter: Message too long");
    }
    if e.get("Subject").is_some_and(|s| !subject_ok(s)) {
        return Some("Invalid parameter: Subject");
    }
    if fifo {
        match (e.get("MessageGroupId"), e.get("MessageDeduplicationId")) {
            (None, _) => return Some("Invalid parameter: The MessageGroupId parameter is required for FIFO topics"),
            (_, None) => {
                return Some(
                    "Invalid parameter: The topic should either have ContentBasedDeduplication enabled or MessageDeduplicationId provided explicitly",
                )
            }
            (Some(g), Some(d)) if !is_fifo_id(g) || !is_fifo_id(d) => return Some("Invalid parameter: MessageGroupId or MessageDeduplicationId"),
            _ => {}
        }
    } else if e.contains_key("MessageDeduplicationId") {
        return Some("Invalid parameter: The request includes MessageDeduplicationId parameter that is not valid for this topic type");
    }
    None
}

fn publish_batch(form: Form, world: &mut super::World, faults: &mut crate::faults::Faults) -> Result<Value, ApiError> {
    let arn = form.get("TopicArn").map(String::as_str).unwrap_or_default();
    let name = arn.rsplit(':').next().unwrap_or_default().to_owned();
    if !arn.starts_with("arn:") || !is_topic_name(&name) || !world.exists(Api::Sns, &name) {
        return Err(ApiError { status: 404, code: "NotFound".into(), message: "Topic does not exist".into() });
    }
    let entries = entries(&form);
    if entries.is_empty() {
        return Err(ApiError::bad("EmptyBatchRequest", "The batch request doesn't contain any entries"));
    }
    if entries.len() > MAX_ENTRIES {
        return Err(ApiError::bad(
            "TooManyEntriesInBatchRequest",
            format!("The batch request contains more entries than permissible ({MAX_ENTRIES})."),
        ));
    }
    let mut ids = HashSet::new();
    let mut total = 0;
    for e in &entries {
        let id = e.get("Id").copied().unwrap_or_default();
        if id.is_empty() || id.len() > 80 || !id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-') {
            return Err(ApiError::bad(
                "InvalidBatchEntryId",
                format!("The Id of a batch entry in a batch request doesn't abide by the specification. (`{id}`)"),
            ));
        }
        if !ids.insert(id) {
            return Err(ApiError::bad("BatchEntryIdsNotDistinct", format!("Two or more batch entries in the request have the same Id ({id}).")));
        }
        total += e.get("Message").map_or(0, |m| m.len()) + attributes(e).iter().map(|(n, v)| n.len() + "String".len() + v.len()).sum::<usize>();
    }
    if total > MAX_BYTES {
        return Err(ApiError::bad(
            "BatchRequestTooLong",
            format!("The length of all the messages put together is more than the limit ({total} > {MAX_BYTES})."),
        ));
    }
    let fifo = name.ends_with(".fifo");
    let (mut successful, mut failed) = (Vec::new(), Vec::new());
    let mut logged = Vec::with_capacity(entries.len());
    let retains = world.store.retains();
    let call = world.store.calls_seen();
    for (i, e) in entries.iter().enumerate() {
        let id = e.get("Id").copied().unwrap_or_default();
        let text = e.get("Message").copied().unwrap_or_default();
        let logged_text = || if retains { fault_text(text.as_bytes(), id) } else { String::new() };
        if let Some(message) = entry_problem(e, fifo) {
            failed.push(json!({"Id": id, "Code": "InvalidParameter", "Message": message, "SenderFault": true}));
            logged.push((logged_text(), Some("InvalidParameter".to_owned())));
            continue;
        }
        match faults.item_error(Api::Sns, &name, || fault_text(text.as_bytes(), id)) {
            Some(code) => {
                failed.push(json!({"Id": id, "Code": code, "Message": "injected by the sandbox", "SenderFault": false}));
                logged.push((logged_text(), Some(code)));
            }
            None => {
                let message_id = format!("{call:020}-{i:04}");
                let dedup = e.get("MessageDeduplicationId").copied().unwrap_or_default();
                let duplicate = fifo && !world.dedup_ids.insert((Api::Sns, name.clone(), dedup.to_owned()));
                if !duplicate {
                    let (subject, group) = (e.get("Subject").copied(), e.get("MessageGroupId").copied());
                    let attributes: serde_json::Map<String, Value> = attributes(e).into_iter().map(|(n, v)| (n.to_owned(), Value::from(v))).collect();
                    world.store.accept(Api::Sns, &name, || {
                        json!({"message_id": message_id, "id": id, "subject": subject, "group": group, "attributes": attributes, "data": b64(text.as_bytes())})
                    });
                }
                successful.push(json!({"Id": id, "MessageId": message_id}));
                logged.push((logged_text(), None));
            }
        }
    }
    world.store.log(Call { api: Api::Sns, operation: "PublishBatch", target: name, items: logged, status: 200 });
    Ok(
        json!({"PublishBatchResponse": {"PublishBatchResult": {"Successful": successful, "Failed": failed}, "ResponseMetadata": {"RequestId": "sandbox"}}}),
    )
}
