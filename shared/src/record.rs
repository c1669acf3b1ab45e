//! The source-neutral record every source decodes into.

use bytes::Bytes;
use serde_json::{Map, Value};
use std::borrow::Cow;
use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};

/// Where a record came from and how to name it back to its source.
///
/// `source_id` is what the source's partial-batch response reports (a Kinesis
/// sequence number, an SQS message id, an HTTP item id); `sub_sequence` tells
/// apart the records a KPL aggregate unpacks into, which share their parent's
/// sequence number.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize)]
pub struct RecordId {
    /// The identifier the source's response uses for this record.
    pub source_id: String,
    /// Position inside an aggregated parent record, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sub_sequence: Option<u32>,
}

/// The prefix of ids fanout assigns to records that came without one (HTTP
/// items without an `id`): such an id names a record within one request
/// only, so it is not the record's identity across requests.
pub const ASSIGNED_ID_PREFIX: &str = "auto-";

impl RecordId {
    /// Whether fanout assigned this id ([`ASSIGNED_ID_PREFIX`]) rather than the source.
    pub fn is_assigned(&self) -> bool {
        self.source_id.starts_with(ASSIGNED_ID_PREFIX)
    }

    /// An identifier with no sub-sequence.
    pub fn new(source_id: impl Into<String>) -> Self {
        Self { source_id: source_id.into(), sub_sequence: None }
    }
}

impl fmt::Display for RecordId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.sub_sequence {
            Some(sub) => write!(f, "{}#{}", self.source_id, sub),
            None => f.write_str(&self.source_id),
        }
    }
}

/// One input record, as every destination and pattern sees it.
///
/// The payload is a [`Bytes`] handle: it is never copied inside fanout (the
/// SDK's `Blob` takes its own copy when a request is built). Its JSON view is
/// parsed at most once, and only when a pattern or a mapping asks for it.
#[derive(Debug)]
pub struct Record {
    /// Identity, kept from decoding to the response.
    pub id: RecordId,
    /// The source's kind as patterns see it (`"kinesis"`, `"sqs"`, ...).
    pub source: &'static str,
    /// Partition key, message group id, or the key a caller gave.
    pub key: Option<String>,
    /// When the source received the record, in milliseconds since the Unix epoch.
    pub arrival_ms: Option<i64>,
    /// Source metadata visible to patterns as `attributes` (often shared by a whole batch).
    pub attributes: Arc<Map<String, Value>>,
    /// The payload bytes.
    pub data: Bytes,
    json: OnceLock<Option<Value>>,
    /// The only top-level fields the JSON view needs (set by [`Record::project_json`]).
    fields: OnceLock<Arc<[String]>>,
    /// [`Record::pointer`] reads the payload's text, not a view (set by
    /// [`Record::read_pointers_from_text`]).
    pointers_from_text: AtomicBool,
}

/// The payload is not JSON (by the rule of [`Record::json`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NotJson;

impl Record {
    /// A record with no key, arrival time or attributes.
    pub fn new(id: RecordId, source: &'static str, data: Bytes) -> Self {
        Self {
            id,
            source,
            key: None,
            arrival_ms: None,
            attributes: Arc::default(),
            data,
            json: OnceLock::new(),
            fields: OnceLock::new(),
            pointers_from_text: AtomicBool::new(false),
        }
    }

    /// Set the key.
    pub fn with_key(mut self, key: impl Into<String>) -> Self {
        self.key = Some(key.into());
        self
    }

    /// Set the arrival time.
    pub fn with_arrival_ms(mut self, arrival_ms: i64) -> Self {
        self.arrival_ms = Some(arrival_ms);
        self
    }

    /// The same record (identity, source, key, arrival, attributes) with
    /// another payload: what a transform's output becomes for its destination.
    pub fn with_data(&self, data: Bytes) -> Self {
        Self {
            id: self.id.clone(),
            source: self.source,
            key: self.key.clone(),
            arrival_ms: self.arrival_ms,
            attributes: Arc::clone(&self.attributes),
            data,
            json: OnceLock::new(),
            fields: OnceLock::new(),
            pointers_from_text: AtomicBool::new(false),
        }
    }

    /// Set the attributes.
    pub fn with_attributes(mut self, attributes: Arc<Map<String, Value>>) -> Self {
        self.attributes = attributes;
        self
    }

    /// The payload parsed as JSON, or `None` when it is not JSON. Parsed on
    /// first call only; after [`Record::project_json`], an object keeps only
    /// the named fields.
    ///
    /// The rule is the same with or without a projection: a payload is JSON
    /// exactly when serde_json reads it whole into a `Value`. So a payload
    /// nesting [`crate::projection::MAX_JSON_DEPTH`] levels or deeper, or holding a number beyond
    /// `f64` (`1e400`), anywhere in it, is not-JSON: no content pattern
    /// matches it, whichever fields the config reads. Such a payload that
    /// starts like JSON (`{` or `[`) is logged at WARN with the parser's reason.
    pub fn json(&self) -> Option<&Value> {
        self.json
            .get_or_init(|| {
                let parsed = match self.fields.get() {
                    Some(fields) => crate::projection::try_parse_projected(&self.data, fields),
                    None => serde_json::from_slice(&self.data),
                };
                match parsed {
                    Ok(v) => Some(v),
                    Err(e) => {
                        self.not_json(&e);
                        None
                    }
                }
            })
            .as_ref()
    }

    /// Log a payload that starts like JSON (`{` or `[`) but is not read as JSON.
    fn not_json(&self, reason: &serde_json::Error) {
        if matches!(self.data.iter().find(|b| !b.is_ascii_whitespace()), Some(b'{' | b'[')) {
            tracing::warn!(record = %self.id, %reason, "payload looks like JSON but is not read as JSON: no content pattern matches it");
        }
    }

    /// The value at `pointer` (RFC 6901, as [`crate::pointer::get`] finds
    /// it) in the payload's JSON, by the rule of [`Record::json`]: `Ok(None)`
    /// when nothing is there, `Err(NotJson)` when the payload is not JSON.
    ///
    /// From the JSON view, unless [`Record::read_pointers_from_text`] was
    /// called and no view is parsed: then the payload's text is read for the
    /// pointer's first field alone ([`crate::projection::read_field`]), only
    /// the value found is built, and nothing is kept.
    pub fn pointer(&self, pointer: &str) -> Result<Option<Cow<'_, Value>>, NotJson> {
        if self.pointers_from_text.load(Ordering::Relaxed) && self.json.get().is_none() {
            if let Some(read) = self.pointer_from_text(pointer) {
                return read;
            }
        }
        let view = self.json().ok_or(NotJson)?;
        Ok(crate::pointer::get(view, pointer).map(Cow::Borrowed))
    }

    /// [`Record::pointer`] from the text; `None` when the view must answer
    /// (a pointer to the whole document, a payload that is not an object).
    fn pointer_from_text(&self, pointer: &str) -> Option<Result<Option<Cow<'_, Value>>, NotJson>> {
        let rest = pointer.strip_prefix('/')?;
        let (token, below) = rest.find('/').map_or((rest, ""), |at| rest.split_at(at));
        let field: Cow<'_, str> = if token.contains('~') { Cow::Owned(token.replace("~1", "/").replace("~0", "~")) } else { Cow::Borrowed(token) };
        match crate::projection::read_field(&self.data, &field) {
            Ok(crate::projection::Field::NotAnObject) => None,
            Ok(crate::projection::Field::Missing) => Some(Ok(None)),
            Ok(crate::projection::Field::Found(value)) if below.is_empty() => Some(Ok(Some(Cow::Owned(value)))),
            Ok(crate::projection::Field::Found(value)) => Some(Ok(crate::pointer::get(&value, below).cloned().map(Cow::Owned))),
            Err(e) => {
                self.not_json(&e);
                Some(Err(NotJson))
            }
        }
    }

    /// Let [`Record::pointer`] read the payload's text instead of parsing a
    /// view, while no view is parsed: for a config whose only reader of the
    /// payload reads one field once per record, where a view would be built,
    /// read once and kept until the invocation ends. Each call reads the text
    /// again: a reader that asks for the same field twice (two pointers into
    /// it) scans the payload twice, where a view would be parsed once.
    pub fn read_pointers_from_text(&self) {
        self.pointers_from_text.store(true, Ordering::Relaxed);
    }

    /// Let the JSON view keep only these top-level fields (sorted), because
    /// nothing reads the others ([`crate::projection`]). No effect once the
    /// view is parsed or a projection is set.
    pub fn project_json(&self, fields: &Arc<[String]>) {
        if self.json.get().is_none() {
            let _ = self.fields.set(Arc::clone(fields));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_view_is_parsed_for_json_and_absent_otherwise() {
        let json = Record::new(RecordId::new("1"), "kinesis", Bytes::from_static(br#"{"a":1}"#));
        assert_eq!(json.json().and_then(|v| v.pointer("/a")), Some(&Value::from(1)));
        let text = Record::new(RecordId::new("2"), "kinesis", Bytes::from_static(b"not json"));
        assert!(text.json().is_none());
    }

    #[test]
    fn too_deep_json_has_no_view_instead_of_failing() {
        let deep = "[".repeat(1000) + &"]".repeat(1000);
        let record = Record::new(RecordId::new("3"), "kinesis", Bytes::from(deep));
        assert!(record.json().is_none());
    }

    #[test]
    fn pointers_read_from_the_text_find_what_the_view_finds_and_build_no_view() {
        let payloads = [
            &br#"{"device":"d-1","n":4.5,"on":true,"meta":{"a/b":[1,{"c":"x"}]},"device":"d-2"}"#[..],
            br#" [ {"device": "d-3"} ]"#,
            br#"{"device":"d-1","bad":1e400}"#,
            b"not json",
            br#"{"device":"d-1"} trailing"#,
        ];
        let pointers = ["/device", "/n", "/on", "/meta", "/meta/a~1b/1/c", "/meta/a~1b/2", "/absent", "/0/device", ""];
        for data in payloads {
            for pointer in pointers {
                let text = Record::new(RecordId::new("1"), "kinesis", Bytes::copy_from_slice(data));
                text.read_pointers_from_text();
                let view = Record::new(RecordId::new("1"), "kinesis", Bytes::copy_from_slice(data));
                let from_view = view.pointer(pointer).map(|v| v.map(Cow::into_owned));
                assert_eq!(text.pointer(pointer).map(|v| v.map(Cow::into_owned)), from_view, "{pointer} in {}", String::from_utf8_lossy(data));
                let object = data.starts_with(b"{");
                assert_eq!(text.json.get().is_none(), object && !pointer.is_empty(), "a view only where the text cannot answer");
            }
        }
        let record = Record::new(RecordId::new("2"), "kinesis", Bytes::from_static(br#"{"device":"d-9"}"#));
        assert_eq!(record.pointer("/device"), Ok(Some(Cow::Owned(Value::from("d-9")))));
        assert!(record.json.get().is_some(), "without the call, pointers read the view");
    }

    #[test]
    fn ids_show_their_sub_sequence() {
        let id = RecordId { source_id: "49590".into(), sub_sequence: Some(2) };
        assert_eq!(id.to_string(), "49590#2");
        assert_eq!(RecordId::new("49590").to_string(), "49590");
    }
}
