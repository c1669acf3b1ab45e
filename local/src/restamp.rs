//! Fresh arrival times for sample events: the files in `events/` were
//! captured on a past day, and SiteWise takes only values of the last 7 days
//! (fanout stamps a SiteWise value with its record's arrival time unless the
//! mapping reads one from the payload). `fanout-local invoke` restamps by
//! default; `fanout-local restamp` prints a restamped event for other tools
//! (`cargo lambda invoke --data-ascii`, `sam local invoke -e`).

use serde_json::Value;
use std::time::{SystemTime, UNIX_EPOCH};

/// Set every record's arrival time to `now`: Kinesis
/// `kinesis.approximateArrivalTimestamp` (seconds), DynamoDB Streams
/// `dynamodb.ApproximateCreationDateTime` (seconds), SQS `attributes.SentTimestamp`
/// and `attributes.ApproximateFirstReceiveTimestamp` (ms, as strings).
/// Records without those objects are left alone; returns how many were
/// restamped. API Gateway and IoT rule events carry no arrival time
/// (fanout takes the time they are received).
pub fn restamp(event: &mut Value, now: SystemTime) -> usize {
    let ms = now.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64);
    let mut count = 0;
    let Some(records) = event.get_mut("Records").and_then(Value::as_array_mut) else { return 0 };
    for record in records {
        if let Some(kinesis) = record.get_mut("kinesis").and_then(Value::as_object_mut) {
            kinesis.insert("approximateArrivalTimestamp".into(), Value::from(ms as f64 / 1000.0));
            count += 1;
        } else if let Some(change) = record.get_mut("dynamodb").and_then(Value::as_object_mut) {
            change.insert("ApproximateCreationDateTime".into(), Value::from(ms as f64 / 1000.0));
            count += 1;
        } else if let Some(attributes) = record.get_mut("attributes").and_then(Value::as_object_mut) {
            attributes.insert("SentTimestamp".into(), Value::from(ms.to_string()));
            attributes.insert("ApproximateFirstReceiveTimestamp".into(), Value::from(ms.to_string()));
            count += 1;
        }
    }
    count
}

/// [`restamp`] on an event's text; text that is not a JSON object comes back unchanged.
pub fn restamp_text(text: &str, now: SystemTime) -> String {
    let Ok(mut event) = serde_json::from_str::<Value>(text) else { return text.to_owned() };
    if restamp(&mut event, now) > 0 {
        event.to_string()
    } else {
        text.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn sample(name: &str) -> Value {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../events").join(name);
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap_or_default()).unwrap_or(Value::Null)
    }

    #[test]
    fn every_record_of_the_kinesis_and_sqs_samples_arrives_now() {
        let now = UNIX_EPOCH + Duration::from_millis(1_800_000_000_123);
        for name in ["kinesis.json", "kinesis-kpl.json", "dynamodb.json", "sqs.json", "sqs-fifo.json"] {
            let mut event = sample(name);
            let n = event["Records"].as_array().map_or(0, Vec::len);
            assert!(n > 0, "{name}");
            assert_eq!(restamp(&mut event, now), n, "{name}");
            for r in event["Records"].as_array().into_iter().flatten() {
                if r.get("kinesis").is_some() {
                    assert_eq!(r["kinesis"]["approximateArrivalTimestamp"], 1_800_000_000.123, "{name}");
                } else if r.get("dynamodb").is_some() {
                    assert_eq!(r["dynamodb"]["ApproximateCreationDateTime"], 1_800_000_000.123, "{name}");
                } else {
                    assert_eq!(r["attributes"]["SentTimestamp"], "1800000000123", "{name}");
                }
            }
        }
    }

    #[test]
    fn events_without_records_and_non_json_are_unchanged() {
        let now = SystemTime::now();
        let mut iot = sample("iot-rule.json");
        let before = iot.clone();
        assert_eq!(restamp(&mut iot, now), 0);
        assert_eq!(iot, before);
        assert_eq!(restamp_text("not json", now), "not json");
    }
}
