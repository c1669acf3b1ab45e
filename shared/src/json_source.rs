//! JSON sources: where a per-record JSON value that a mapping reads comes
//! from (a SiteWise value, timestamp or quality; an IoT Events timestamp; a
//! detector's key, state, variables and timers). Two forms:
//!
//! | written      | means                                                             |
//! |--------------|-------------------------------------------------------------------|
//! | `/deviceId`  | a JSON Pointer into the payload (as before)                       |
//! | `= <jq>`     | a jq expression on the record's view ([`crate::transform`]): its first output |
//!
//! A pointer that finds nothing and an expression with no output are both
//! "missing", which each mapping reports with its own error code; a jq
//! runtime error is a permanent failure of the record with jq's words.

use crate::projection::DataFields;
use crate::record::Record;
use crate::transform::{ExprError, Program};
use crate::validation::{problem, Problem};
use serde_json::Value;
use std::borrow::Cow;
use std::sync::Arc;

/// Where one per-record JSON value comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JsonSource {
    /// A JSON Pointer into the payload.
    Pointer(String),
    /// A jq expression, compiled.
    Jq(Arc<Program>),
}

impl JsonSource {
    /// Read the config syntax; `Err` says what is wrong with it.
    pub fn parse(text: &str) -> Result<Self, String> {
        match text {
            t if t.starts_with('/') => Ok(JsonSource::Pointer(t.to_owned())),
            t if t.starts_with('=') => Program::compile(t[1..].trim()).map(|p| JsonSource::Jq(Arc::new(p))),
            t => Err(format!("`{t}` is neither a JSON Pointer (like /deviceId) nor a jq expression (like `= .data.deviceId`)")),
        }
    }

    /// Push a problem at `place` when `text` is not a JSON source.
    pub fn check(problems: &mut Vec<Problem>, place: &str, text: &str) {
        if let Err(message) = Self::parse(text) {
            problems.push(problem(place, &message));
        }
    }

    /// Whether `text` is written as a JSON source (a pointer or an
    /// expression) rather than a constant, for fields that take either.
    pub fn is_source(text: &str) -> bool {
        text.starts_with('/') || text.starts_with('=')
    }

    /// The payload fields it reads from the record's JSON view (an
    /// expression reads the payload with its own parser: none).
    pub fn data_fields(&self) -> DataFields {
        match self {
            JsonSource::Pointer(p) => DataFields::pointer(p),
            JsonSource::Jq(_) => DataFields::Unused,
        }
    }

    /// Its value for `record`: `Ok(None)` when missing (the pointer finds
    /// nothing or the payload is not JSON; the expression has no output),
    /// `Err` with jq's words when the expression fails.
    pub fn get<'r>(&self, record: &'r Record) -> Result<Option<Cow<'r, Value>>, String> {
        match self {
            JsonSource::Pointer(p) => Ok(record.json().and_then(|v| crate::pointer::get(v, p)).map(Cow::Borrowed)),
            JsonSource::Jq(program) => match program.json(record) {
                Ok(v) => Ok(Some(Cow::Owned(v))),
                Err(ExprError::Nothing) => Ok(None),
                Err(ExprError::Failed(why)) => Err(format!("`= {}` failed: {why}", program.code())),
                Err(ExprError::NotScalar(kind)) => Err(format!("`= {}` produced {kind}", program.code())),
            },
        }
    }
}

/// How a JSON source is named in errors: the pointer, or `= <jq>`.
impl std::fmt::Display for JsonSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            JsonSource::Pointer(p) => f.write_str(p),
            JsonSource::Jq(program) => write!(f, "`= {}`", program.code()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::RecordId;
    use bytes::Bytes;

    fn record(data: &str) -> Record {
        Record::new(RecordId::new("1"), "kinesis", Bytes::copy_from_slice(data.as_bytes())).with_key("pk").with_arrival_ms(1_700_000_000_123)
    }

    #[test]
    fn pointers_and_expressions_read_json_values() {
        let r = record(r#"{"t":21.5,"site":"a","tags":["x"]}"#);
        let get = |s: &str| JsonSource::parse(s).expect("parses").get(&r).map(|v| v.map(Cow::into_owned));
        assert_eq!(get("/t"), Ok(Some(serde_json::json!(21.5))));
        assert_eq!(get("/absent"), Ok(None));
        assert_eq!(get("= .data.t * 2"), Ok(Some(serde_json::json!(43.0))));
        assert_eq!(get("= .data.tags"), Ok(Some(serde_json::json!(["x"]))));
        assert_eq!(get("= .arrival"), Ok(Some(serde_json::json!(1_700_000_000_123_i64))));
        assert_eq!(get("= .data.site + \"-\" + .key"), Ok(Some(serde_json::json!("a-pk"))));
        assert_eq!(get("= empty"), Ok(None), "no output is missing, as a pointer that finds nothing");
        let err = get("= .data.site + 1").unwrap_err();
        assert!(err.contains("failed") && err.contains(".data.site + 1"), "{err}");
    }

    #[test]
    fn anything_else_is_a_config_error() {
        assert!(JsonSource::parse("deviceId").unwrap_err().contains("neither a JSON Pointer"));
        assert!(JsonSource::parse("= .data |").unwrap_err().contains("does not parse"));
        assert_eq!(JsonSource::parse("/a/b").map(|s| s.data_fields()), Ok(DataFields::pointer("/a/b")));
        assert_eq!(JsonSource::parse("= .data.a").map(|s| s.data_fields()), Ok(DataFields::Unused));
    }
}
