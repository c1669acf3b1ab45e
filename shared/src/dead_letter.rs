//! Dead-letter envelopes: what a record that can never succeed becomes.
//!
//! The envelope is one JSON object with the reason, the destination that
//! refused the record, the record's identity and its original payload in
//! base64, so that nothing about the record is lost:
//!
//! ```json
//! {"reason":{"code":"PartitionKeyMissing","message":"...","class":"permanent"},
//!  "destination":"mirror","source":"kinesis","record_id":"4959...","sub_sequence":null,
//!  "key":"device-7","arrival_ms":1700000000000,"data_base64":"eyJ0Ijo..."}
//! ```

use crate::error::ItemError;
use crate::record::Record;
use base64::Engine as _;
use bytes::Bytes;

#[derive(serde::Serialize)]
struct Envelope<'a> {
    reason: &'a ItemError,
    destination: &'a str,
    source: &'a str,
    record_id: &'a str,
    sub_sequence: Option<u32>,
    key: Option<&'a str>,
    arrival_ms: Option<i64>,
    data_base64: String,
}

/// The envelope record for `record`, refused by `destination` with `reason`.
/// It keeps the record's identity and key, so its source can still name it.
pub fn envelope(record: &Record, destination: &str, reason: &ItemError) -> Record {
    let body = Envelope {
        reason,
        destination,
        source: record.source,
        record_id: &record.id.source_id,
        sub_sequence: record.id.sub_sequence,
        key: record.key.as_deref(),
        arrival_ms: record.arrival_ms,
        data_base64: base64::engine::general_purpose::STANDARD.encode(&record.data),
    };
    // Serialising a struct of strings and numbers cannot fail; an empty object is the fallback.
    let bytes = serde_json::to_vec(&body).unwrap_or_else(|_| b"{}".to_vec());
    let mut out = Record::new(record.id.clone(), record.source, Bytes::from(bytes));
    out.key = record.key.clone();
    out.arrival_ms = record.arrival_ms;
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::RecordId;

    #[test]
    fn the_envelope_carries_reason_identity_and_the_original_payload() {
        let record = Record::new(RecordId { source_id: "4959".into(), sub_sequence: Some(3) }, "kinesis", Bytes::from_static(b"\x00raw"))
            .with_key("k")
            .with_arrival_ms(1_700_000_000_000);
        let reason = ItemError::permanent("RecordTooLarge", "too big");
        let dl = envelope(&record, "archive", &reason);
        let v: serde_json::Value = serde_json::from_slice(&dl.data).expect("json");
        assert_eq!(v["reason"]["code"], "RecordTooLarge");
        assert_eq!(v["reason"]["class"], "permanent");
        assert_eq!(v["destination"], "archive");
        assert_eq!(v["record_id"], "4959");
        assert_eq!(v["sub_sequence"], 3);
        let payload = base64::engine::general_purpose::STANDARD.decode(v["data_base64"].as_str().expect("string")).expect("base64");
        assert_eq!(payload, b"\x00raw");
        assert_eq!(dl.id, record.id);
        assert_eq!(dl.key.as_deref(), Some("k"));
    }
}
