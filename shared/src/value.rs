//! Value sources: where a per-record field that a destination sends (a
//! message group id, a deduplication id, a subject, an EventBridge source)
//! comes from. One syntax for every such field:
//!
//! | written          | means                                                   |
//! |------------------|---------------------------------------------------------|
//! | `/deviceId`      | a JSON Pointer into the payload (a string, number or boolean there) |
//! | `$key`           | the record's source key (Kinesis partition key, SQS message group id, ...) |
//! | `$id`            | the record's source identity (sequence number or message id, with a KPL sub-sequence) |
//! | `= <jq>`         | a jq expression on the record's view ([`crate::transform`]); its first output, a string, number or boolean |
//! | anything else    | the text itself, a constant                              |
//!
//! A constant cannot start with `/`, `$` or `=`; `$` followed by anything
//! other than `key` or `id` is a config error, and so is an expression that
//! does not compile.

use crate::error::ItemError;
use crate::projection::DataFields;
use crate::record::{NotJson, Record};
use crate::transform::Program;
use crate::validation::{problem, Problem};
use serde_json::Value;
use std::borrow::Cow;
use std::sync::Arc;

/// Where one per-record text value comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ValueSource {
    /// A JSON Pointer into the payload.
    Pointer(String),
    /// The record's source key.
    Key,
    /// The record's source identity.
    Id,
    /// The same text for every record.
    Constant(String),
    /// A jq expression, compiled.
    Jq(Arc<Program>),
}

impl ValueSource {
    /// Read the config syntax; `Err` says what is wrong with it.
    pub fn parse(text: &str) -> Result<Self, String> {
        match text {
            "$key" => Ok(ValueSource::Key),
            "$id" => Ok(ValueSource::Id),
            t if t.starts_with('/') => Ok(ValueSource::Pointer(t.to_owned())),
            t if t.starts_with('=') => Program::compile(t[1..].trim()).map(|p| ValueSource::Jq(Arc::new(p))),
            t if t.starts_with('$') => Err(format!(
                "`{t}` is not a value source: write $key, $id, a JSON Pointer like /deviceId, a jq expression like `= .data.id`, or a constant"
            )),
            t => Ok(ValueSource::Constant(t.to_owned())),
        }
    }

    /// Push a problem at `place` when `text` is not a value source.
    pub fn check(problems: &mut Vec<Problem>, place: &str, text: &str) {
        if let Err(message) = Self::parse(text) {
            problems.push(problem(place, &message));
        }
    }

    /// The payload fields it reads.
    pub fn data_fields(&self) -> DataFields {
        match self {
            ValueSource::Pointer(p) => DataFields::pointer(p),
            // An expression reads the payload with its own parser
            // ([`crate::transform`]), never the projected view.
            ValueSource::Jq(_) => DataFields::Unused,
            _ => DataFields::Unused,
        }
    }

    /// Its value for `record`, borrowed where it can be. `field` names the
    /// config field in errors; a missing value is a permanent error with
    /// code `code`.
    pub fn value<'r>(&'r self, record: &'r Record, field: &str, code: &str) -> Result<Cow<'r, str>, ItemError> {
        match self {
            ValueSource::Constant(text) => Ok(Cow::Borrowed(text)),
            ValueSource::Key => record
                .key
                .as_deref()
                .map(Cow::Borrowed)
                .ok_or_else(|| ItemError::permanent(code, format!("{field} is $key, and the record has no source key"))),
            ValueSource::Id => Ok(Cow::Owned(record.id.to_string())),
            ValueSource::Jq(program) => program
                .text(record)
                .map(Cow::Owned)
                .map_err(|error| ItemError::permanent(code, format!("{field} `= {}` {}", program.code(), error.words()))),
            ValueSource::Pointer(pointer) => {
                let value = pointer_value(record, pointer, field, code)?;
                scalar_text(value).map_err(|kind| ItemError::permanent(code, format!("{field} {pointer} is {kind}, not a string, number or boolean")))
            }
        }
    }
}

/// The value at `pointer` in `record`'s payload ([`Record::pointer`]); a
/// payload that is not JSON or has nothing there is a permanent error with
/// `code`, naming the config `field`.
pub fn pointer_value<'r>(record: &'r Record, pointer: &str, field: &str, code: &str) -> Result<Cow<'r, Value>, ItemError> {
    let cannot = |why: &str| ItemError::permanent(code, format!("{field} {pointer} cannot be read: {why}"));
    record.pointer(pointer).map_err(|NotJson| cannot("the payload is not JSON"))?.ok_or_else(|| cannot("the field is missing"))
}

/// A string, number or boolean as text (a string moved or borrowed, not
/// copied); anything else is `Err` with its kind ([`json_kind`]).
pub fn scalar_text(value: Cow<'_, Value>) -> Result<Cow<'_, str>, &'static str> {
    match value {
        Cow::Owned(Value::String(s)) => Ok(Cow::Owned(s)),
        Cow::Borrowed(Value::String(s)) => Ok(Cow::Borrowed(s)),
        other => match &*other {
            Value::Number(n) => Ok(Cow::Owned(n.to_string())),
            Value::Bool(b) => Ok(Cow::Borrowed(if *b { "true" } else { "false" })),
            v => Err(json_kind(v)),
        },
    }
}

/// "a string", "an object", ...: how errors name a JSON value's kind.
pub fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::RecordId;
    use bytes::Bytes;

    fn record(data: &str) -> Record {
        let mut id = RecordId::new("4959-1");
        id.sub_sequence = Some(3);
        Record::new(id, "kinesis", Bytes::copy_from_slice(data.as_bytes())).with_key("pk-9")
    }

    #[test]
    fn the_syntax_tells_pointers_keys_ids_and_constants_apart() {
        assert_eq!(ValueSource::parse("/a/b"), Ok(ValueSource::Pointer("/a/b".into())));
        assert_eq!(ValueSource::parse("$key"), Ok(ValueSource::Key));
        assert_eq!(ValueSource::parse("$id"), Ok(ValueSource::Id));
        assert_eq!(ValueSource::parse("orders"), Ok(ValueSource::Constant("orders".into())));
        assert!(ValueSource::parse("$keys").unwrap_err().contains("$key, $id"));
    }

    #[test]
    fn values_come_from_the_payload_the_key_the_identity_or_the_text() {
        let r = record(r#"{"device":"d-1","n":42,"on":true,"nested":{"x":1}}"#);
        let v = |s: &str| ValueSource::parse(s).expect("parses").value(&r, "f", "Missing").map(Cow::into_owned);
        assert_eq!(v("/device").as_deref(), Ok("d-1"));
        assert_eq!(v("/n").as_deref(), Ok("42"));
        assert_eq!(v("/on").as_deref(), Ok("true"));
        assert_eq!(v("$key").as_deref(), Ok("pk-9"));
        assert_eq!(v("$id").as_deref(), Ok("4959-1#3"));
        assert_eq!(v("all").as_deref(), Ok("all"));
        let err = v("/nested").unwrap_err();
        assert!(err.message.contains("an object"), "{err}");
        let err = v("/absent").unwrap_err();
        assert_eq!((err.code.as_str(), err.is_transient()), ("Missing", false));
    }

    #[test]
    fn jq_expressions_build_values_from_the_whole_view() {
        let r = record(r#"{"site":"plant-a","deviceId":"d-1","n":3,"tags":["x"]}"#);
        let v = |s: &str| ValueSource::parse(s).expect("parses").value(&r, "f", "Bad").map(Cow::into_owned);
        assert_eq!(v(r#"= .data.site + "/" + .data.deviceId"#).as_deref(), Ok("plant-a/d-1"));
        assert_eq!(v("= .data.n * 2").as_deref(), Ok("6"));
        assert_eq!(v("= .key").as_deref(), Ok("pk-9"));
        assert!(v("= .data.tags").unwrap_err().message.contains("an array"));
        assert!(v("= empty").unwrap_err().message.contains("produced nothing"));
        assert!(v("= .data.site + 1").unwrap_err().message.contains("failed"));
        assert!(ValueSource::parse("= .data |").unwrap_err().contains("does not parse"));
        assert_eq!(ValueSource::parse("= .data.x").map(|s| s.data_fields()), Ok(DataFields::Unused));
    }

    #[test]
    fn a_record_without_a_key_or_json_names_what_is_missing() {
        let r = Record::new(RecordId::new("1"), "http", Bytes::from_static(b"not json"));
        let key = ValueSource::Key.value(&r, "message_group_id", "M").unwrap_err();
        assert!(key.message.contains("no source key"), "{key}");
        let ptr = ValueSource::Pointer("/a".into()).value(&r, "message_group_id", "M").unwrap_err();
        assert!(ptr.message.contains("not JSON"), "{ptr}");
    }
}
