//! Which top-level payload fields a config reads, and a JSON parse that keeps
//! only those.
//!
//! Parsing each payload into a `serde_json::Value` is the largest CPU cost of
//! routing small records (a map, a string per key, a string per text value).
//! Most configs read a handful of top-level fields (`temperature` in a route,
//! `/deviceId` as a partition key, SiteWise alias parts and values); the rest
//! of the payload is sent as the original bytes and never looked at. So the
//! config's patterns and mappings are asked which fields they read
//! ([`DataFields`]), and each record's JSON view keeps only those
//! ([`parse_projected`]): every other value is still checked, with the
//! same limits as a full parse (nesting depth, numbers within `f64`), but
//! not built. A mapping that needs the whole document (IoT Analytics field
//! names, passthrough modes, a pattern on `data` itself) turns this off.

use serde::de::{DeserializeSeed, MapAccess, Visitor};
use serde_json::{Map, Value};
use std::borrow::Cow;
use std::collections::BTreeSet;
use std::fmt;

/// One level more than the deepest nesting of a payload that fanout reads as
/// JSON: serde_json's recursion limit (128), which refuses the 128th open
/// bracket, so 127 levels are JSON and 128 are not. Both the full and the
/// projected parse enforce it; a deeper payload is not-JSON everywhere (it
/// matches no content pattern).
pub const MAX_JSON_DEPTH: usize = 128;

/// The part of the payload a pattern or mapping reads.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum DataFields {
    /// Nothing (it does not look at the payload).
    #[default]
    Unused,
    /// These top-level fields (and everything below them).
    Fields(BTreeSet<String>),
    /// The whole document.
    Whole,
}

impl DataFields {
    /// The top-level field a JSON Pointer starts with (`/a/b` reads `a`).
    pub fn pointer(pointer: &str) -> DataFields {
        match pointer.strip_prefix('/') {
            Some(rest) => {
                let first = rest.split('/').next().unwrap_or_default();
                DataFields::Fields(BTreeSet::from([first.replace("~1", "/").replace("~0", "~")]))
            }
            // "" (the whole document) or not a pointer at all (config validation reports it).
            None => DataFields::Whole,
        }
    }

    /// What both read.
    pub fn merge(self, other: DataFields) -> DataFields {
        match (self, other) {
            (DataFields::Whole, _) | (_, DataFields::Whole) => DataFields::Whole,
            (DataFields::Unused, x) | (x, DataFields::Unused) => x,
            (DataFields::Fields(mut a), DataFields::Fields(b)) => {
                a.extend(b);
                DataFields::Fields(a)
            }
        }
    }

    /// Merge everything in `parts`.
    pub fn all(parts: impl IntoIterator<Item = DataFields>) -> DataFields {
        parts.into_iter().fold(DataFields::Unused, DataFields::merge)
    }
}

/// The payload parsed as JSON, keeping only `fields` when it is an object
/// (sorted, as [`DataFields::Fields`] holds them). `None` exactly when a full
/// parse (`serde_json::from_slice::<Value>`) fails: see [`try_parse_projected`].
pub fn parse_projected(data: &[u8], fields: &[String]) -> Option<Value> {
    try_parse_projected(data, fields).ok()
}

/// [`parse_projected`] with the parser's error.
///
/// One rule for both parses, so routing never depends on which ran: a
/// payload is JSON exactly when serde_json reads it whole into a `Value`.
/// Skipped values are therefore not merely checked for syntax: they are
/// held to the same limits (nesting at most
/// [`MAX_JSON_DEPTH`] levels, every number within `f64`), so a
/// `1e400` or a 10,000-deep array in a field no route reads makes the payload
/// not-JSON here exactly as it does in a full parse.
pub fn try_parse_projected(data: &[u8], fields: &[String]) -> Result<Value, serde_json::Error> {
    let first = data.iter().find(|b| !b.is_ascii_whitespace());
    if first != Some(&b'{') {
        return serde_json::from_slice(data);
    }
    let mut de = serde_json::Deserializer::from_slice(data);
    let value = Projected(fields).deserialize(&mut de)?;
    de.end()?;
    Ok(value)
}

/// What [`read_field`] found.
#[derive(Debug, Clone, PartialEq)]
pub enum Field {
    /// The payload does not start as an object (it may still be JSON: an
    /// array, a number): ask the view.
    NotAnObject,
    /// The payload is a JSON object without the field.
    Missing,
    /// The field's value (its last, when the object repeats it, as in a view).
    Found(Value),
}

/// One top-level field of an object payload, read by the rule of
/// [`try_parse_projected`] (`Err` exactly when a full parse fails), building
/// only that field's value: what a view projected on that one field would
/// hold, without the map around it.
pub fn read_field(data: &[u8], field: &str) -> Result<Field, serde_json::Error> {
    let first = data.iter().find(|b| !b.is_ascii_whitespace());
    if first != Some(&b'{') {
        return Ok(Field::NotAnObject);
    }
    let mut de = serde_json::Deserializer::from_slice(data);
    let found = OneField(field).deserialize(&mut de)?;
    de.end()?;
    Ok(found.map_or(Field::Missing, Field::Found))
}

struct OneField<'f>(&'f str);

impl<'de> DeserializeSeed<'de> for OneField<'_> {
    type Value = Option<Value>;

    fn deserialize<D: serde::Deserializer<'de>>(self, deserializer: D) -> Result<Option<Value>, D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for OneField<'_> {
    type Value = Option<Value>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Option<Value>, A::Error> {
        let mut found = None;
        while let Some(Key(key)) = map.next_key::<Key<'de>>()? {
            if key == self.0 {
                found = Some(map.next_value::<Value>()?);
            } else {
                map.next_value::<Skipped>()?;
            }
        }
        Ok(found)
    }
}

/// A skipped value: skipped by serde_json's fast path (which checks syntax
/// only), then its text scanned for what a full parse would refuse beyond
/// syntax: nesting past [`MAX_JSON_DEPTH`] (counting the
/// enclosing object) and numbers beyond `f64`.
pub(crate) struct Skipped;

impl<'de> serde::Deserialize<'de> for Skipped {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = <&'de serde_json::value::RawValue>::deserialize(deserializer)?;
        match beyond_a_full_parse(raw.get().as_bytes(), 1) {
            None => Ok(Skipped),
            Some(why) => Err(serde::de::Error::custom(why)),
        }
    }
}

/// What a full parse would refuse in `text` (valid JSON syntax) opened at
/// `depth` levels of nesting: `None` when nothing. Numbers are judged by
/// serde_json itself, and only those that could overflow (an exponent, or
/// more than 300 characters), so the scan stays a byte loop.
pub(crate) fn beyond_a_full_parse(text: &[u8], depth: usize) -> Option<&'static str> {
    let mut level = depth;
    let mut i = 0;
    while i < text.len() {
        match text[i] {
            b'"' => {
                // To the closing quote, searching (SIMD) for it or an escape.
                i += 1;
                loop {
                    match text.get(i..).and_then(|rest| memchr::memchr2(b'"', b'\\', rest)) {
                        Some(k) if text[i + k] == b'\\' => i += k + 2,
                        Some(k) => {
                            i += k;
                            break;
                        }
                        None => {
                            i = text.len();
                            break;
                        }
                    }
                }
            }
            b'[' | b'{' => {
                level += 1;
                if level >= MAX_JSON_DEPTH {
                    return Some("recursion limit exceeded");
                }
            }
            b']' | b'}' => level = level.saturating_sub(1),
            b'-' | b'0'..=b'9' => {
                let start = i;
                while i + 1 < text.len() && matches!(text[i + 1], b'0'..=b'9' | b'-' | b'+' | b'.' | b'e' | b'E') {
                    i += 1;
                }
                let number = &text[start..=i];
                if (number.len() > 300 || number.iter().any(|b| matches!(b, b'e' | b'E'))) && serde_json::from_slice::<f64>(number).is_err() {
                    return Some("number out of range");
                }
            }
            _ => {}
        }
        i += 1;
    }
    None
}

struct Projected<'f>(&'f [String]);

impl<'de> DeserializeSeed<'de> for Projected<'_> {
    type Value = Value;

    fn deserialize<D: serde::Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for Projected<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut out = Map::new();
        while let Some(Key(key)) = map.next_key::<Key<'de>>()? {
            if self.0.binary_search_by(|f| f.as_str().cmp(&key)).is_ok() {
                out.insert(key.into_owned(), map.next_value::<Value>()?);
            } else {
                map.next_value::<Skipped>()?;
            }
        }
        Ok(Value::Object(out))
    }
}

/// A map key, borrowed from the payload unless it holds escapes (serde's own
/// `Cow<str>` always copies).
pub(crate) struct Key<'de>(pub(crate) Cow<'de, str>);

impl<'de> serde::Deserialize<'de> for Key<'de> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl<'de> Visitor<'de> for KeyVisitor {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a field name")
            }
            fn visit_borrowed_str<E: serde::de::Error>(self, s: &'de str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Borrowed(s)))
            }
            fn visit_str<E: serde::de::Error>(self, s: &str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(s.to_owned())))
            }
            fn visit_string<E: serde::de::Error>(self, s: String) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(s)))
            }
        }
        deserializer.deserialize_str(KeyVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    fn fields(names: &[&str]) -> Vec<String> {
        let set: BTreeSet<String> = names.iter().map(|s| (*s).to_owned()).collect();
        set.into_iter().collect()
    }

    #[test]
    fn keeps_only_the_named_fields_with_everything_below_them() {
        let data = br#"{"deviceId":"s-1","note":"long text","nested":{"a":[1,2]},"temperature":61.5,"esc\"aped":1}"#;
        let v = parse_projected(data, &fields(&["nested", "temperature", "missing"])).expect("json");
        assert_eq!(v, json!({"nested": {"a": [1, 2]}, "temperature": 61.5}));
        let escaped = parse_projected(data, &fields(&["esc\"aped"])).expect("json");
        assert_eq!(escaped, json!({"esc\"aped": 1}));
    }

    #[test]
    fn not_json_stays_not_json_even_in_skipped_fields() {
        for bad in [&br#"{"a":1,"note":tru}"#[..], br#"{"a":1} trailing"#, b"not json", br#"{"a":1"#, b""] {
            assert_eq!(parse_projected(bad, &fields(&["a"])), None, "{}", String::from_utf8_lossy(bad));
        }
    }

    #[test]
    fn payloads_that_are_not_objects_are_parsed_whole() {
        assert_eq!(parse_projected(b" [1, {\"a\": 2}]", &fields(&["a"])), Some(json!([1, {"a": 2}])));
        assert_eq!(parse_projected(b"42", &fields(&["a"])), Some(json!(42)));
    }

    #[test]
    fn pointers_read_their_first_field_and_fields_merge() {
        assert_eq!(DataFields::pointer("/a~1b/c"), DataFields::Fields(BTreeSet::from(["a/b".to_owned()])));
        assert_eq!(DataFields::pointer(""), DataFields::Whole);
        let merged = DataFields::all([DataFields::pointer("/x"), DataFields::Unused, DataFields::pointer("/y/0")]);
        assert_eq!(merged, DataFields::Fields(BTreeSet::from(["x".to_owned(), "y".to_owned()])));
        assert_eq!(DataFields::all([DataFields::pointer("/x"), DataFields::Whole]), DataFields::Whole);
    }

    fn json_value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::from),
            any::<i32>().prop_map(Value::from),
            "[a-z\"\\\\ ]{0,6}".prop_map(Value::from),
        ];
        leaf.prop_recursive(3, 24, 4, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
                prop::collection::btree_map("[a-d]{1,2}", inner, 0..4).prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest! {
        #[test]
        fn agrees_with_a_full_parse_on_every_kept_field(
            doc in prop::collection::btree_map("[a-d]{1,2}", json_value(), 0..6),
            keep in prop::collection::btree_set("[a-d]{1,2}", 0..4),
        ) {
            let doc = Value::Object(doc.into_iter().collect());
            let bytes = serde_json::to_vec(&doc).expect("serializes");
            let keep: Vec<String> = keep.into_iter().collect();
            let projected = parse_projected(&bytes, &keep).expect("valid JSON stays valid");
            let full = doc.as_object().expect("object");
            let kept: Map<String, Value> = full.iter().filter(|(k, _)| keep.contains(k)).map(|(k, v)| (k.clone(), v.clone())).collect();
            prop_assert_eq!(projected, Value::Object(kept));
        }
    }

    /// JSON text of a value with hostile parts: numbers beyond `f64`
    /// (`1e400`, `-1e999`), tiny ones (`1e-400`), integers beyond `u64`,
    /// nesting from 1 to 300 levels (the limit is 128), escapes, and
    /// repeated keys.
    fn hostile_text() -> impl Strategy<Value = String> {
        let leaf = prop_oneof![
            Just("1e400".to_owned()),
            Just("-1e999".to_owned()),
            Just("1e-400".to_owned()),
            Just("123456789012345678901234567890".to_owned()),
            Just("-0".to_owned()),
            Just("\"a\\u00e9\\n\\\"\"".to_owned()),
            // Strings holding what the scan must not read as structure: an
            // escaped quote before brackets and a number beyond `f64`, and a
            // string ending in an escaped backslash.
            Just("\"\\\\\\\"[[1e400{\"".to_owned()),
            Just("\"ab\\\\\"".to_owned()),
            Just("null".to_owned()),
            any::<i32>().prop_map(|n| n.to_string()),
            (1usize..300).prop_map(|n| "[".repeat(n) + &"]".repeat(n)),
            (1usize..200).prop_map(|n| "{\"d\":".repeat(n) + "1" + &"}".repeat(n)),
        ];
        leaf.prop_recursive(3, 16, 4, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(|items| format!("[{}]", items.join(","))),
                prop::collection::vec(("[a-c]", inner), 0..4)
                    .prop_map(|fields| format!("{{{}}}", fields.iter().map(|(k, v)| format!("\"{k}\":{v}")).collect::<Vec<_>>().join(","))),
            ]
        })
    }

    proptest! {
        /// One parse, one answer: whatever fields a config reads, the
        /// projected parse calls a payload JSON exactly when a full parse
        /// does, and then keeps exactly the full parse's values of those fields.
        #[test]
        fn the_projected_parse_agrees_with_the_full_parse_on_hostile_payloads(
            fields in prop::collection::vec(("[a-c]", hostile_text()), 0..5),
            keep in prop::collection::btree_set("[a-c]", 0..3),
        ) {
            let text = format!("{{{}}}", fields.iter().map(|(k, v)| format!("\"{k}\":{v}")).collect::<Vec<_>>().join(","));
            let keep: Vec<String> = keep.into_iter().collect();
            let full = serde_json::from_slice::<Value>(text.as_bytes());
            let projected = parse_projected(text.as_bytes(), &keep);
            prop_assert_eq!(projected.is_some(), full.is_ok(), "{}", text);
            if let (Some(p), Ok(f)) = (projected, full) {
                let kept: Map<String, Value> = f.as_object().into_iter().flatten().filter(|(k, _)| keep.contains(k)).map(|(k, v)| (k.clone(), v.clone())).collect();
                prop_assert_eq!(p, Value::Object(kept));
            }
        }
    }

    proptest! {
        /// Reading one field finds what a view projected on that field holds,
        /// and calls a payload not-JSON exactly when a full parse does.
        #[test]
        fn reading_one_field_agrees_with_the_projected_parse(
            fields in prop::collection::vec(("[a-c]", hostile_text()), 0..5),
            field in "[a-c]",
        ) {
            let text = format!("{{{}}}", fields.iter().map(|(k, v)| format!("\"{k}\":{v}")).collect::<Vec<_>>().join(","));
            let read = read_field(text.as_bytes(), &field);
            let projected = parse_projected(text.as_bytes(), std::slice::from_ref(&field));
            prop_assert_eq!(read.is_ok(), projected.is_some(), "{}", text);
            if let (Ok(read), Some(view)) = (read, projected) {
                let expected = view.get(&field).cloned().map_or(Field::Missing, Field::Found);
                prop_assert_eq!(read, expected);
            }
        }
    }

    #[test]
    fn reading_one_field_leaves_payloads_that_are_not_objects_to_the_view() {
        assert_eq!(read_field(b" [1]", "a").ok(), Some(Field::NotAnObject));
        assert_eq!(read_field(b"not json", "a").ok(), Some(Field::NotAnObject));
        assert_eq!(read_field(br#"{"a":1,"a":{"b":2}}"#, "a").ok(), Some(Field::Found(json!({"b": 2}))), "the last of a repeated field");
        assert!(read_field(br#"{"a":1} trailing"#, "a").is_err());
    }

    #[test]
    fn numbers_beyond_f64_and_deep_nesting_are_not_json_in_either_parse() {
        let keep = fields(&["t"]);
        for text in [r#"{"t":1,"x":1e400}"#.to_owned(), format!(r#"{{"t":1,"x":{}}}"#, "[".repeat(200) + &"]".repeat(200))] {
            assert!(serde_json::from_slice::<Value>(text.as_bytes()).is_err());
            assert_eq!(parse_projected(text.as_bytes(), &keep), None, "{text}");
        }
        let within = format!(r#"{{"t":1,"x":{}}}"#, "[".repeat(100) + &"]".repeat(100));
        assert_eq!(parse_projected(within.as_bytes(), &keep), Some(json!({"t": 1})));
    }

    #[test]
    fn the_depth_limit_is_the_full_parse_limit_to_the_level() {
        let keep = fields(&["t"]);
        let max = MAX_JSON_DEPTH;
        for (inner, json) in [(max - 2, true), (max - 1, false)] {
            // The enclosing object is one level; `inner` more below it: 127 in all is JSON, 128 is not.
            let text = format!(r#"{{"t":1,"x":{}}}"#, "[".repeat(inner) + &"]".repeat(inner));
            assert_eq!(serde_json::from_slice::<Value>(text.as_bytes()).is_ok(), json, "full parse at {inner}");
            assert_eq!(parse_projected(text.as_bytes(), &keep).is_some(), json, "projected parse at {inner}");
        }
        let top = "[".repeat(max) + &"]".repeat(max);
        assert!(serde_json::from_slice::<Value>(top.as_bytes()).is_err(), "{max} levels are one too many");
        let top = "[".repeat(max - 1) + &"]".repeat(max - 1);
        assert!(serde_json::from_slice::<Value>(top.as_bytes()).is_ok());
    }

    #[test]
    fn numbers_are_judged_by_serde_json_at_the_edge_of_f64() {
        let keep = fields(&["t"]);
        for n in ["1.7976931348623157e308", "1.7976931348623159e308", "1e308", "2e308", "-1e309", "1e-400", "0e99999", &"9".repeat(400), "1E400"] {
            let text = format!(r#"{{"t":1,"x":[{n}, "1e400 \\" ]}}"#);
            assert_eq!(parse_projected(text.as_bytes(), &keep).is_some(), serde_json::from_slice::<Value>(text.as_bytes()).is_ok(), "{n}");
        }
    }
}
