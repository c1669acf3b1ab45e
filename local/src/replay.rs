//! The event Lambda delivers again after an invocation reported failures,
//! for `fanout-local invoke --replay` and `--ledger`.
//!
//! - Kinesis and DynamoDB Streams: the batch again from the lowest failed
//!   sequence number on (Lambda's checkpoint semantics for
//!   `ReportBatchItemFailures`), every later record included;
//! - SQS: only the failed messages (the others were deleted);
//! - IoT rule events: the whole event (an asynchronous invocation that
//!   failed is retried whole);
//! - HTTP: the whole request, as a caller resending it would.

use crate::invoke::Source;
use serde_json::Value;

/// The event to deliver again, and how many records it carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Replay {
    /// The event's text.
    pub text: String,
    /// Records in it (1 for an IoT or HTTP event).
    pub records: usize,
}

/// What Lambda (or the caller) would deliver again after `event` got
/// `response`; `None` when nothing failed.
pub fn replay_event(source: Source, event: &str, response: &Value) -> Option<Replay> {
    match source {
        Source::Kinesis | Source::Dynamodb | Source::Sqs => {
            let failed: Vec<&str> = response["batchItemFailures"].as_array()?.iter().filter_map(|f| f["itemIdentifier"].as_str()).collect();
            if failed.is_empty() {
                return None;
            }
            let mut event: Value = serde_json::from_str(event).ok()?;
            let records = event.get_mut("Records")?.as_array_mut()?;
            let id = |r: &Value| -> Option<String> {
                let id = match source {
                    Source::Kinesis => &r["kinesis"]["sequenceNumber"],
                    Source::Dynamodb => &r["dynamodb"]["SequenceNumber"],
                    _ => &r["messageId"],
                };
                id.as_str().map(str::to_owned)
            };
            if source == Source::Sqs {
                records.retain(|r| id(r).is_some_and(|id| failed.contains(&id.as_str())));
            } else {
                let from = records.iter().position(|r| id(r).is_some_and(|id| failed.contains(&id.as_str())))?;
                records.drain(..from);
            }
            let n = records.len();
            Some(Replay { text: event.to_string(), records: n })
        }
        Source::Iot => response.get("errorType").map(|_| Replay { text: event.to_owned(), records: 1 }),
        Source::Http => {
            let status = response["statusCode"].as_u64().unwrap_or(200);
            (status == 207 || status >= 500).then(|| Replay { text: event.to_owned(), records: 1 })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn kinesis(seqs: &[&str]) -> String {
        json!({"Records": seqs.iter().map(|s| json!({"kinesis": {"sequenceNumber": s}})).collect::<Vec<_>>()}).to_string()
    }

    fn seqs(text: &str) -> Vec<String> {
        let v: Value = serde_json::from_str(text).expect("json");
        v["Records"].as_array().expect("records").iter().map(|r| r["kinesis"]["sequenceNumber"].as_str().unwrap_or("").to_owned()).collect()
    }

    #[test]
    fn a_stream_batch_comes_back_from_its_lowest_failure_on() {
        let event = kinesis(&["1", "2", "3", "4", "5"]);
        let response = json!({"batchItemFailures": [{"itemIdentifier": "4"}, {"itemIdentifier": "2"}]});
        let replay = replay_event(Source::Kinesis, &event, &response).expect("a replay");
        assert_eq!(seqs(&replay.text), ["2", "3", "4", "5"]);
        assert_eq!(replay.records, 4);
        assert_eq!(replay_event(Source::Kinesis, &event, &json!({"batchItemFailures": []})), None);
    }

    #[test]
    fn sqs_gets_back_only_the_failed_messages() {
        let event = json!({"Records": [{"messageId": "a"}, {"messageId": "b"}, {"messageId": "c"}]}).to_string();
        let replay =
            replay_event(Source::Sqs, &event, &json!({"batchItemFailures": [{"itemIdentifier": "c"}, {"itemIdentifier": "a"}]})).expect("a replay");
        let v: Value = serde_json::from_str(&replay.text).expect("json");
        assert_eq!(v["Records"], json!([{"messageId": "a"}, {"messageId": "c"}]));
    }

    #[test]
    fn iot_and_http_come_back_whole_after_an_error_or_a_207() {
        assert!(replay_event(Source::Iot, "{}", &json!({"errorType": "RecordsFailed"})).is_some());
        assert!(replay_event(Source::Iot, "{}", &json!({"accepted": 1})).is_none());
        assert!(replay_event(Source::Http, "{}", &json!({"statusCode": 207})).is_some());
        assert!(replay_event(Source::Http, "{}", &json!({"statusCode": 200})).is_none());
    }
}
