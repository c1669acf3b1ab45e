use super::*;
use crate::record::{Record, RecordId};
use bytes::Bytes;
use serde_json::json;
use std::sync::Arc;

fn record(data: &str) -> Record {
    let mut attrs = Map::new();
    attrs.insert("shard_id".into(), json!("shardId-000000000001"));
    Record::new(RecordId::new("1"), "kinesis", Bytes::from(data.to_owned())).with_key("device-7").with_attributes(Arc::new(attrs))
}

fn matches(pattern: Value, data: &str) -> bool {
    Pattern::compile(&pattern).expect("test pattern compiles").matches(&record(data))
}

#[test]
fn exact_values_of_every_json_type() {
    assert!(matches(json!({"data": {"s": ["a"]}}), r#"{"s":"a"}"#));
    assert!(!matches(json!({"data": {"s": ["a"]}}), r#"{"s":"b"}"#));
    assert!(matches(json!({"data": {"n": [300]}}), r#"{"n":3.0e2}"#), "numbers compare by value");
    assert!(matches(json!({"data": {"b": [true]}}), r#"{"b":true}"#));
    assert!(!matches(json!({"data": {"b": [true]}}), r#"{"b":"true"}"#), "no type coercion");
    assert!(matches(json!({"data": {"z": [null]}}), r#"{"z":null}"#));
    assert!(!matches(json!({"data": {"z": [null]}}), r#"{}"#), "null does not match a missing field");
}

#[test]
fn a_list_of_values_is_an_or() {
    let p = json!({"data": {"s": ["a", "b"]}});
    assert!(matches(p.clone(), r#"{"s":"b"}"#));
    assert!(!matches(p, r#"{"s":"c"}"#));
}

#[test]
fn fields_are_anded() {
    let p = json!({"data": {"a": [1], "b": [2]}});
    assert!(matches(p.clone(), r#"{"a":1,"b":2}"#));
    assert!(!matches(p, r#"{"a":1,"b":3}"#));
}

#[test]
fn prefix_and_suffix_with_and_without_case() {
    assert!(matches(json!({"data": {"s": [{"prefix": "tem"}]}}), r#"{"s":"temp"}"#));
    assert!(!matches(json!({"data": {"s": [{"prefix": "tem"}]}}), r#"{"s":"TEMP"}"#));
    assert!(matches(json!({"data": {"s": [{"prefix": {"equals-ignore-case": "tem"}}]}}), r#"{"s":"TEMP"}"#));
    assert!(matches(json!({"data": {"s": [{"suffix": ".png"}]}}), r#"{"s":"a.png"}"#));
    assert!(!matches(json!({"data": {"s": [{"suffix": ".png"}]}}), r#"{"s":"a.jpg"}"#));
    assert!(matches(json!({"data": {"s": [{"suffix": {"equals-ignore-case": ".PNG"}}]}}), r#"{"s":"a.png"}"#));
    assert!(!matches(json!({"data": {"n": [{"prefix": "1"}]}}), r#"{"n":12}"#), "prefix applies to strings only");
}

#[test]
fn equals_ignore_case_and_wildcard() {
    assert!(matches(json!({"data": {"s": [{"equals-ignore-case": "alarm"}]}}), r#"{"s":"ALARM"}"#));
    assert!(!matches(json!({"data": {"s": [{"equals-ignore-case": "alarm"}]}}), r#"{"s":"alarms"}"#));
    assert!(matches(json!({"data": {"s": [{"wildcard": "plant/*/temp"}]}}), r#"{"s":"plant/7/temp"}"#));
    assert!(!matches(json!({"data": {"s": [{"wildcard": "plant/*/temp"}]}}), r#"{"s":"plant/7/pressure"}"#));
}

#[test]
fn anything_but_values_prefix_suffix_and_case() {
    assert!(matches(json!({"data": {"s": [{"anything-but": ["a", "b"]}]}}), r#"{"s":"c"}"#));
    assert!(!matches(json!({"data": {"s": [{"anything-but": ["a", "b"]}]}}), r#"{"s":"a"}"#));
    assert!(!matches(json!({"data": {"n": [{"anything-but": 5}]}}), r#"{"n":5.0}"#));
    assert!(!matches(json!({"data": {"s": [{"anything-but": {"prefix": "int"}}]}}), r#"{"s":"internal"}"#));
    assert!(matches(json!({"data": {"s": [{"anything-but": {"suffix": ".tmp"}}]}}), r#"{"s":"a.txt"}"#));
    assert!(!matches(json!({"data": {"s": [{"anything-but": {"equals-ignore-case": ["X"]}}]}}), r#"{"s":"x"}"#));
    assert!(!matches(json!({"data": {"s": [{"anything-but": ["a"]}]}}), r#"{}"#), "anything-but needs the field");
}

#[test]
fn numeric_ranges() {
    let hot = json!({"data": {"t": [{"numeric": [">", 50]}]}});
    assert!(matches(hot.clone(), r#"{"t":50.5}"#));
    assert!(!matches(hot.clone(), r#"{"t":50}"#));
    assert!(!matches(hot, r#"{"t":"60"}"#), "numeric applies to numbers only");
    let band = json!({"data": {"t": [{"numeric": [">=", 0, "<", 10]}]}});
    assert!(matches(band.clone(), r#"{"t":0}"#));
    assert!(!matches(band, r#"{"t":10}"#));
    assert!(matches(json!({"data": {"t": [{"numeric": ["=", 3]}]}}), r#"{"t":3.0}"#));
}

#[test]
fn exists_true_and_false() {
    assert!(matches(json!({"data": {"a": [{"exists": true}]}}), r#"{"a":0}"#));
    assert!(!matches(json!({"data": {"a": [{"exists": true}]}}), r#"{"b":0}"#));
    assert!(matches(json!({"data": {"a": [{"exists": false}]}}), r#"{"b":0}"#));
    assert!(!matches(json!({"data": {"a": [{"exists": false}]}}), r#"{"a":0}"#));
}

#[test]
fn arrays_in_the_record_match_when_any_element_does() {
    assert!(matches(json!({"data": {"tags": ["hot"]}}), r#"{"tags":["cold","hot"]}"#));
    assert!(!matches(json!({"data": {"tags": ["hot"]}}), r#"{"tags":["cold"]}"#));
    assert!(matches(json!({"data": {"r": {"v": [{"numeric": [">", 5]}]}}}), r#"{"r":[{"v":1},{"v":9}]}"#));
}

#[test]
fn nested_objects_and_missing_parents() {
    let p = json!({"data": {"a": {"b": ["x"]}}});
    assert!(matches(p.clone(), r#"{"a":{"b":"x"}}"#));
    assert!(!matches(p.clone(), r#"{"a":"x"}"#));
    assert!(!matches(p, r#"{}"#));
}

#[test]
fn or_at_top_and_nested_levels() {
    let p = json!({"$or": [{"data": {"a": [1]}}, {"key": ["device-7"]}]});
    assert!(matches(p.clone(), r#"{"a":2}"#), "second alternative via key");
    let q = json!({"data": {"$or": [{"a": [1]}, {"b": [2]}]}});
    assert!(matches(q.clone(), r#"{"b":2}"#));
    assert!(!matches(q, r#"{"a":2,"b":3}"#));
}

#[test]
fn source_key_and_attributes_are_visible() {
    assert!(matches(json!({"source": ["kinesis"]}), "{}"));
    assert!(matches(json!({"key": [{"prefix": "device-"}]}), "{}"));
    assert!(matches(json!({"attributes": {"shard_id": [{"suffix": "01"}]}}), "{}"));
    assert!(!matches(json!({"source": ["sqs"]}), "{}"));
}

#[test]
fn non_json_payloads_have_no_data_fields() {
    assert!(!matches(json!({"data": {"a": [{"exists": true}]}}), "plain text"));
    assert!(matches(json!({"data": [{"exists": false}]}), "plain text"));
    assert!(matches(json!({"source": ["kinesis"]}), "plain text"));
}

#[test]
fn compile_errors_name_the_place_and_the_rule() {
    let e = Pattern::compile(&json!({"data": {"t": [{"numerik": [">", 1]}]}})).unwrap_err();
    assert_eq!(e.path, "data.t[0].numerik");
    assert!(e.message.contains("unknown operator `numerik`"), "{e}");
    let e = Pattern::compile(&json!({"data": {"t": 5}})).unwrap_err();
    assert_eq!(e.path, "data.t");
    assert!(e.message.contains("must be an array"), "{e}");
    let e = Pattern::compile(&json!({"data": {"t": [{"numeric": [">", "x"]}]}})).unwrap_err();
    assert!(e.message.contains("not a number"), "{e}");
    let e = Pattern::compile(&json!({"$or": [{"a": [1]}]})).unwrap_err();
    assert!(e.message.contains("at least two"), "{e}");
    assert!(Pattern::compile(&json!("text")).is_err());
    assert!(Pattern::compile(&json!({"data": {"t": []}})).is_err());
}

#[test]
fn reads_data_only_when_a_data_field_is_named() {
    use crate::projection::DataFields;
    let fields = |p: serde_json::Value| Pattern::compile(&p).unwrap().data_fields();
    assert_eq!(fields(json!({"data": {"a": [1]}})), DataFields::Fields(["a".to_owned()].into()));
    assert_eq!(fields(json!({"key": ["k"]})), DataFields::Unused);
    assert_eq!(
        fields(json!({"$or": [{"data": {"b": [1]}}, {"data": {"$or": [{"c": [2]}, {"d": {"e": [3]}}]}}]})),
        DataFields::Fields(["b".to_owned(), "c".to_owned(), "d".to_owned()].into())
    );
    assert_eq!(fields(json!({"data": [{"exists": true}]})), DataFields::Whole);
}

/// The compile error of `pattern`, which must not compile.
fn error(pattern: Value) -> PatternError {
    match Pattern::compile(&pattern) {
        Err(e) => e,
        Ok(_) => panic!("expected {pattern} to be refused"),
    }
}

#[test]
fn consecutive_wildcards_are_refused_as_eventbridge_does() {
    let e = error(json!({"data": {"s": [{"wildcard": "a**b"}]}}));
    assert_eq!(e.path, "data.s[0].wildcard");
    assert_eq!(e.message, "`a**b` has consecutive `*` at position 1: EventBridge refuses them (one `*` already matches any run of characters)");
    assert!(error(json!({"data": {"s": [{"wildcard": "é***"}]}})).message.contains("at position 1"), "positions count characters");
    assert!(matches(json!({"data": {"s": [{"wildcard": "*a*b*"}]}}), r#"{"s":"xaybz"}"#), "separate stars still work");
}

#[test]
fn empty_anything_but_lists_are_refused() {
    let e = error(json!({"data": {"s": [{"anything-but": []}]}}));
    assert_eq!(e.path, "data.s[0].anything-but");
    assert!(e.message.starts_with("an empty list excludes nothing"), "{e}");
    let e = error(json!({"data": {"s": [{"anything-but": {"equals-ignore-case": []}}]}}));
    assert_eq!(e.path, "data.s[0].anything-but");
    assert!(e.message.starts_with("an empty list excludes nothing"), "{e}");
}

#[test]
fn numeric_ranges_must_be_a_lower_then_a_higher_bound() {
    let e = error(json!({"data": {"t": [{"numeric": ["<", 5, ">", 0]}]}}));
    assert_eq!(e.path, "data.t[0].numeric");
    assert!(e.message.starts_with("a range is a lower bound (> or >=) then an upper bound (< or <=)"), "{e}");
    assert!(error(json!({"data": {"t": [{"numeric": [">", 0, ">", 5]}]}})).message.starts_with("a range is a lower bound"));
    assert!(error(json!({"data": {"t": [{"numeric": ["=", 0, "<", 5]}]}})).message.starts_with("a range is a lower bound"));
    let e = error(json!({"data": {"t": [{"numeric": [">", 10, "<", 5]}]}}));
    assert_eq!(e.message, "the lower bound 10 is above the upper bound 5: the range matches nothing");
    let e = error(json!({"data": {"t": [{"numeric": [">=", 5, "<=", 5]}]}}));
    assert_eq!(e.message, "the lower and upper bounds are both 5: for one value write [\"=\", 5]");
}

#[test]
fn top_level_fields_must_be_fields_of_the_record() {
    let e = error(json!({"dat": {"t": [1]}}));
    assert_eq!(e.path, "dat");
    assert!(e.message.starts_with("unknown record field `dat`: a record has source, key, attributes and data"), "{e}");
    let e = error(json!({"$or": [{"data": {"t": [1]}}, {"keys": ["k"]}]}));
    assert_eq!(e.path, "$or[1].keys", "alternatives of a top-level $or are records too");
    let e = error(json!({"source": {"name": ["kinesis"]}}));
    assert_eq!(e.path, "source");
    assert!(e.message.starts_with("`source` is a string"), "{e}");
    let e = error(json!({"attributes": ["shard"]}));
    assert_eq!(e.path, "attributes");
    assert!(e.message.starts_with("`attributes` is an object"), "{e}");
    assert!(Pattern::compile(&json!({"data": {"dat": [1], "$or": [{"x": [1]}, {"y": [2]}]}})).is_ok(), "payload fields are free");
}

#[test]
fn a_pattern_that_is_not_an_object_is_refused_at_its_root() {
    let e = error(json!(["a"]));
    assert_eq!(e.path, "");
    assert_eq!(e.to_string(), "(pattern): a pattern must be an object of field names, found [\"a\"]");
}
