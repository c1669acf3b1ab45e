//! Dead-letter envelopes: what a record that can never succeed becomes.
//!
//! The envelope is one JSON object with the reason, the destination that
//! refused the record, the record's identity and its original payload in
//! base64, so that nothing about the record is lost:
//!
//! ```json
//! {"reason":{"code":"PartitionKeyMissing","message":"...","class":"permanent"},
//!  "destination":"mirror","source":"kinesis","record_id":"4959...","sub_sequence":null,
//!  "key":"device-7","arrival_ms":1700000000000,"data_bytes":9,
//!  "data_sha256":"5d1c...","data_base64":"eyJ0Ijo..."}
//! ```
//!
//! An envelope always fits the dead-letter destination's record limit, so
//! every refused record can be dead-lettered: when the payload in base64
//! would not fit, `data_base64` holds only its first bytes and
//! `data_truncated` is `true`; `data_bytes` (the payload's full size) and
//! `data_sha256` (of the full payload, hex) are always there to identify it.
//! Text fields that a hostile event controls (the reason's message, the
//! record id, the key) are cut to [`MAX_TEXT_BYTES`] each (an eighth of the
//! limit, if that is less).

use crate::error::ItemError;
use crate::record::Record;
use base64::Engine as _;
use bytes::Bytes;
use sha2::Digest as _;

/// The most bytes of one text field (record id, key, reason message) an envelope keeps.
pub const MAX_TEXT_BYTES: usize = 4096;
/// Room kept in the record limit for what the destination adds to the
/// envelope (a Kinesis partition key, counted in the record's size).
const RESERVED_BYTES: usize = 256 + 64;

#[derive(serde::Serialize)]
struct Envelope<'a> {
    reason: ItemError,
    destination: &'a str,
    source: &'a str,
    record_id: &'a str,
    sub_sequence: Option<u32>,
    key: Option<&'a str>,
    arrival_ms: Option<i64>,
    data_bytes: usize,
    data_sha256: String,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    data_truncated: bool,
    data_base64: String,
}

/// `text` cut to at most `max` bytes on a character boundary.
fn cut(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

/// The envelope record for `record`, refused by `destination` with `reason`,
/// at most `max_bytes` long (the dead-letter destination's record limit). It
/// keeps the record's identity and key, so its source can still name it.
pub fn envelope(record: &Record, destination: &str, reason: &ItemError, max_bytes: usize) -> Record {
    let text = MAX_TEXT_BYTES.min(max_bytes / 8);
    let mut body = Envelope {
        reason: ItemError { code: cut(&reason.code, text).to_owned(), message: cut(&reason.message, text).to_owned(), class: reason.class },
        destination,
        source: record.source,
        record_id: cut(&record.id.source_id, text),
        sub_sequence: record.id.sub_sequence,
        key: record.key.as_deref().map(|k| cut(k, text)),
        arrival_ms: record.arrival_ms,
        data_bytes: record.data.len(),
        data_sha256: hex(&sha2::Sha256::digest(&record.data)),
        data_truncated: true,
        data_base64: String::new(),
    };
    // Serialising a struct of strings and numbers cannot fail; the fallback keeps the size arithmetic safe.
    let bare = serde_json::to_vec(&body).map_or(max_bytes, |v| v.len());
    let room = max_bytes.saturating_sub(bare + RESERVED_BYTES);
    let whole = record.data.len().div_ceil(3) * 4;
    let keep = if whole <= room { record.data.len() } else { room / 4 * 3 };
    body.data_truncated = keep < record.data.len();
    body.data_base64 = base64::engine::general_purpose::STANDARD.encode(&record.data[..keep]);
    if body.data_truncated {
        tracing::warn!(record = %record.id, bytes = record.data.len(), kept = keep, "dead-letter envelope keeps only the start of the payload (it would not fit the record limit)");
    }
    let bytes = serde_json::to_vec(&body).unwrap_or_else(|_| b"{}".to_vec());
    let mut out = Record::new(record.id.clone(), record.source, Bytes::from(bytes));
    out.key = record.key.clone();
    out.arrival_ms = record.arrival_ms;
    out
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes.iter().fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
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
        let dl = envelope(&record, "archive", &reason, 1_000 * 1024);
        let v: serde_json::Value = serde_json::from_slice(&dl.data).expect("json");
        assert_eq!(v["reason"]["code"], "RecordTooLarge");
        assert_eq!(v["reason"]["class"], "permanent");
        assert_eq!(v["destination"], "archive");
        assert_eq!(v["record_id"], "4959");
        assert_eq!(v["sub_sequence"], 3);
        let payload = base64::engine::general_purpose::STANDARD.decode(v["data_base64"].as_str().expect("string")).expect("base64");
        assert_eq!(payload, b"\x00raw");
        assert_eq!(v["data_bytes"], 4);
        assert_eq!(v["data_truncated"], serde_json::Value::Null, "only said when true");
        // sha256 of the four bytes 00 72 61 77, computed independently (`printf '\0raw' | sha256sum`).
        assert_eq!(v["data_sha256"], SHA256_OF_NUL_RAW);
        assert_eq!(dl.id, record.id);
        assert_eq!(dl.key.as_deref(), Some("k"));
    }

    const SHA256_OF_NUL_RAW: &str = "56e356e0cbfff92b48ba5f0794e2ef661222f7dbdad4b158888619fa07208fad";

    #[test]
    fn an_envelope_always_fits_the_limit_and_says_what_it_cut() {
        let limit = 1_000 * 1024;
        let payload: Vec<u8> = (0..900_000u32).map(|i| (i % 251) as u8).collect();
        let long_reason = ItemError::permanent("InvalidRecord", "x".repeat(100_000));
        let record = Record::new(RecordId::new("s".repeat(50_000)), "kinesis", Bytes::from(payload.clone())).with_key("k".repeat(300));
        let dl = envelope(&record, "archive", &long_reason, limit);
        assert!(dl.data.len() + 300 <= limit, "{} bytes with the key", dl.data.len());
        let v: serde_json::Value = serde_json::from_slice(&dl.data).expect("json");
        assert_eq!(v["data_truncated"], true);
        assert_eq!(v["data_bytes"], 900_000);
        assert_eq!(v["reason"]["message"].as_str().map(str::len), Some(MAX_TEXT_BYTES));
        assert_eq!(v["record_id"].as_str().map(str::len), Some(MAX_TEXT_BYTES));
        let kept = base64::engine::general_purpose::STANDARD.decode(v["data_base64"].as_str().expect("string")).expect("base64");
        assert!(kept.len() > 700_000, "keeps as much as fits: {}", kept.len());
        assert_eq!(&kept[..], &payload[..kept.len()], "the start of the payload");
        let small = envelope(&record, "archive", &long_reason, 2_000);
        assert!(small.data.len() <= 2_000, "{}", small.data.len());
    }

    #[test]
    fn cut_keeps_whole_characters() {
        assert_eq!(cut("aé", 2), "a");
        assert_eq!(cut("abc", 3), "abc");
    }
}
