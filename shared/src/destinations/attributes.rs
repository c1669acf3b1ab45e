//! Message attributes for SQS and SNS: `attributes: { name: value source }`,
//! each sent as a `String` attribute with its value read per record
//! ([`crate::value`]).
//!
//! Rules (SQS Developer Guide, "Amazon SQS message attributes"; SNS
//! Developer Guide, "Amazon SNS message attributes"): at most 10 attributes
//! per message; a name is 1-256 of `[A-Za-z0-9_.-]`, does not start with
//! `AWS.` or `Amazon.` (any case), and has no leading, trailing or doubled
//! `.`; a value is not empty. Both services count each attribute's name,
//! data type (`String`) and value toward the message's size.

use crate::error::ItemError;
use crate::projection::DataFields;
use crate::record::Record;
use crate::validation::{problem, Problem};
use crate::value::ValueSource;
use std::collections::BTreeMap;

/// Most attributes per message.
pub const MAX_ATTRIBUTES: usize = 10;
/// Longest attribute name.
pub const MAX_NAME_LEN: usize = 256;
/// The data type every attribute is sent with.
pub const DATA_TYPE: &str = "String";

/// The configured attributes, in name order.
#[derive(Debug, Clone, Default)]
pub struct MessageAttributes(Vec<(String, ValueSource)>);

/// One record's attributes: (name, value) pairs.
pub type AttributeValues = Vec<(String, String)>;

impl MessageAttributes {
    /// The attributes of `config` (unparseable sources, reported by
    /// [`MessageAttributes::validate`], are dropped).
    pub fn new(config: &BTreeMap<String, String>) -> Self {
        Self(config.iter().filter_map(|(name, text)| Some((name.clone(), ValueSource::parse(text).ok()?))).collect())
    }

    /// Push the problems of `config` (names, count, value sources) under `place.attributes`.
    pub fn validate(config: &BTreeMap<String, String>, place: &str, problems: &mut Vec<Problem>) {
        if config.len() > MAX_ATTRIBUTES {
            problems.push(problem(&format!("{place}.attributes"), &format!("{} attributes: a message takes at most {MAX_ATTRIBUTES}", config.len())));
        }
        for (name, text) in config {
            let field = format!("{place}.attributes.{name}");
            if let Err(why) = check_name(name) {
                problems.push(problem(&field, &why));
            }
            ValueSource::check(problems, &field, text);
        }
    }

    /// The payload fields the values read.
    pub fn data_fields(&self) -> DataFields {
        DataFields::all(self.0.iter().map(|(_, s)| s.data_fields()))
    }

    /// The values for `record`, and the bytes they add to the message; an
    /// empty or unreadable value is a permanent error naming the attribute.
    pub fn values(&self, record: &Record) -> Result<(AttributeValues, usize), ItemError> {
        let mut size = 0;
        let mut values = Vec::with_capacity(self.0.len());
        for (name, source) in &self.0 {
            let value = source.value(record, &format!("attribute {name}"), "InvalidAttributeValue")?;
            if value.is_empty() {
                return Err(ItemError::permanent("InvalidAttributeValue", format!("attribute {name} is empty: attribute values may not be")));
            }
            size += name.len() + DATA_TYPE.len() + value.len();
            values.push((name.clone(), value.into_owned()));
        }
        Ok((values, size))
    }
}

/// The attributes as an SDK's map, each value built by `build` (SQS and SNS
/// each have their own `MessageAttributeValue`); `None` when there are none.
pub fn sdk_map<V>(
    values: &AttributeValues,
    build: impl Fn(&str) -> Result<V, ItemError>,
) -> Result<Option<std::collections::HashMap<String, V>>, ItemError> {
    if values.is_empty() {
        return Ok(None);
    }
    values.iter().map(|(name, value)| Ok((name.clone(), build(value)?))).collect::<Result<_, _>>().map(Some)
}

fn check_name(name: &str) -> Result<(), String> {
    let lower = name.to_ascii_lowercase();
    let ok = !name.is_empty()
        && name.len() <= MAX_NAME_LEN
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
        && !name.starts_with('.')
        && !name.ends_with('.')
        && !name.contains("..")
        && !lower.starts_with("aws.")
        && !lower.starts_with("amazon.");
    if ok {
        Ok(())
    } else {
        Err(format!(
            "`{name}` is not an attribute name: 1-{MAX_NAME_LEN} of [A-Za-z0-9_.-], no leading, trailing or doubled `.`, not starting with AWS. or Amazon."
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::RecordId;
    use bytes::Bytes;

    fn config(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
    }

    #[test]
    fn values_come_from_their_sources_and_count_name_type_and_value() {
        let attrs = MessageAttributes::new(&config(&[("device", "/deviceId"), ("origin", "fanout"), ("key", "$key")]));
        let record = Record::new(RecordId::new("1"), "kinesis", Bytes::from_static(br#"{"deviceId":"d-7"}"#)).with_key("pk");
        let (values, size) = attrs.values(&record).expect("values");
        assert_eq!(values, [("device".to_owned(), "d-7".to_owned()), ("key".into(), "pk".into()), ("origin".into(), "fanout".into())]);
        assert_eq!(size, ("device".len() + 6 + 3) + ("key".len() + 6 + 2) + ("origin".len() + 6 + 6));
    }

    #[test]
    fn an_empty_or_missing_value_fails_the_record_naming_the_attribute() {
        let attrs = MessageAttributes::new(&config(&[("device", "/deviceId")]));
        for payload in [&br#"{"deviceId":""}"#[..], br#"{"other":1}"#] {
            let record = Record::new(RecordId::new("1"), "kinesis", Bytes::copy_from_slice(payload));
            let err = attrs.values(&record).unwrap_err();
            assert!(!err.is_transient() && err.message.contains("attribute device"), "{err}");
        }
    }

    #[test]
    fn names_follow_the_services_rules_and_at_most_ten_are_allowed() {
        let mut p = Vec::new();
        MessageAttributes::validate(
            &config(&[("ok_name-1.x", "a"), ("AWS.trace", "a"), ("a..b", "a"), ("bad name", "a"), ("v", "$bad")]),
            "d",
            &mut p,
        );
        let places: Vec<&str> = p.iter().map(|p| p.place.as_str()).collect();
        assert_eq!(places, ["d.attributes.AWS.trace", "d.attributes.a..b", "d.attributes.bad name", "d.attributes.v"]);
        let eleven: Vec<(String, String)> = (0..11).map(|i| (format!("a{i}"), "x".to_owned())).collect();
        let mut p = Vec::new();
        MessageAttributes::validate(&eleven.into_iter().collect(), "d", &mut p);
        assert_eq!(p.iter().map(|p| p.place.as_str()).collect::<Vec<_>>(), ["d.attributes"]);
    }
}
