//! A payload read for [`super::pick`]: one pass that keeps the picked
//! top-level fields as slices of the payload's text and checks and skips
//! everything else, by the rule every parse of a payload follows (a payload
//! is JSON exactly when serde_json reads it whole into a `Value`; see
//! [`crate::projection::try_parse_projected`]). Nothing is built: a picked
//! value is written out from its text.

use crate::projection::{beyond_a_full_parse, Key, Skipped};
use serde::de::{DeserializeSeed, Error as _, IgnoredAny, MapAccess, Visitor};
use serde_json::value::RawValue;
use std::fmt;

/// A payload that is JSON, read for picks.
#[derive(Debug)]
pub(super) enum Payload<'d> {
    /// An object: each wanted field's text, in the order asked (`None` when
    /// absent; the last of duplicate fields wins, as in jq).
    Object(Vec<Option<&'d RawValue>>),
    /// Any other JSON value, whole.
    Other(&'d RawValue),
}

/// Read `data`, keeping the `wanted` top-level fields of an object; `None`
/// when it is not JSON.
pub(super) fn read<'d>(data: &'d [u8], wanted: &[String]) -> Option<Payload<'d>> {
    let first = data.iter().find(|b| !b.is_ascii_whitespace());
    if first != Some(&b'{') {
        let raw: &RawValue = serde_json::from_slice(data).ok()?;
        return beyond_a_full_parse(raw.get().as_bytes(), 0).is_none().then_some(Payload::Other(raw));
    }
    let mut de = serde_json::Deserializer::from_slice(data);
    let position = |key: &str| wanted.iter().position(|w| w == key);
    let found = Fields { wanted: wanted.len(), position, check: true }.deserialize(&mut de).ok()?;
    de.end().ok()?;
    Some(Payload::Object(found))
}

/// The text of field `name` of `object`, a JSON object's text already
/// checked by [`read`]; `None` when it has no such field.
pub(super) fn field<'d>(object: &'d RawValue, name: &str) -> Option<&'d RawValue> {
    let mut de = serde_json::Deserializer::from_str(object.get());
    let position = |key: &str| (key == name).then_some(0);
    let found = Fields { wanted: 1, position, check: false }.deserialize(&mut de).ok()?;
    found.into_iter().next().flatten()
}

/// Collects the wanted fields of an object; `check` holds skipped and kept
/// values to the limits of a full parse (nesting, number range).
struct Fields<F> {
    wanted: usize,
    position: F,
    check: bool,
}

impl<'de, F: Fn(&str) -> Option<usize>> DeserializeSeed<'de> for Fields<F> {
    type Value = Vec<Option<&'de RawValue>>;

    fn deserialize<D: serde::Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de, F: Fn(&str) -> Option<usize>> Visitor<'de> for Fields<F> {
    type Value = Vec<Option<&'de RawValue>>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut found = vec![None; self.wanted];
        while let Some(Key(key)) = map.next_key::<Key<'de>>()? {
            match (self.position)(&key) {
                Some(i) => {
                    let raw: &'de RawValue = map.next_value()?;
                    if self.check {
                        if let Some(why) = beyond_a_full_parse(raw.get().as_bytes(), 1) {
                            return Err(A::Error::custom(why));
                        }
                    }
                    if let Some(slot) = found.get_mut(i) {
                        *slot = Some(raw);
                    }
                }
                None if self.check => {
                    map.next_value::<Skipped>()?;
                }
                None => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(found)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(payload: &str, wanted: &[&str]) -> Option<Vec<Option<String>>> {
        let wanted: Vec<String> = wanted.iter().map(|w| (*w).to_owned()).collect();
        match read(payload.as_bytes(), &wanted)? {
            Payload::Object(found) => Some(found.into_iter().map(|f| f.map(|raw| raw.get().to_owned())).collect()),
            Payload::Other(raw) => Some(vec![Some(format!("other {}", raw.get()))]),
        }
    }

    #[test]
    fn keeps_the_wanted_fields_as_their_text() {
        let found = texts(r#"{"a": 21.50, "skip": [1, {"x": 2}], "b": {"c" : "d"}, "a\u0062c": 1}"#, &["b", "a", "missing", "abc"]);
        let expected = [Some(r#"{"c" : "d"}"#), Some("21.50"), None, Some("1")].map(|t| t.map(str::to_owned));
        assert_eq!(found, Some(expected.to_vec()));
        assert_eq!(texts(r#"{"a":1,"a":2}"#, &["a"]), Some(vec![Some("2".to_owned())]), "the last duplicate wins, as in jq");
    }

    #[test]
    fn not_json_by_the_same_rule_as_every_other_parse() {
        let deep = format!(r#"{{"a":1,"skip":{}{}}}"#, "[".repeat(200), "]".repeat(200));
        for bad in [r#"{"a":1} trailing"#, r#"{"a":1,"b":tru}"#, r#"{"a":1e400}"#, r#"{"skip":1e400,"a":1}"#, deep.as_str(), "not json", ""] {
            assert!(texts(bad, &["a"]).is_none(), "{bad}");
            assert!(crate::projection::parse_projected(bad.as_bytes(), &["a".to_owned()]).is_none(), "the projected parse agrees on {bad}");
        }
        assert_eq!(texts(" [1, 2] ", &["a"]), Some(vec![Some("other [1, 2]".to_owned())]));
    }

    #[test]
    fn nested_fields_are_found_in_checked_text() {
        let Some(Payload::Object(found)) = read(br#"{"a":{"b":{"c":7},"b":{"c":8}}}"#, &["a".to_owned()]) else { panic!("an object") };
        let a = found[0].expect("a is there");
        assert_eq!(field(a, "b").map(RawValue::get), Some(r#"{"c":8}"#));
        assert_eq!(field(a, "z").map(RawValue::get), None);
    }
}
