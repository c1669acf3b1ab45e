use super::*;

fn parse(text: &str) -> Result<Config, ConfigError> {
    Config::parse(text, Path::new("fanout.yaml"))
}

fn problems(text: &str) -> Vec<Problem> {
    match parse(text) {
        Err(ConfigError::Invalid { problems, .. }) => problems,
        other => panic!("expected validation problems, got {other:?}"),
    }
}

const GOOD: &str = r#"
destinations:
  archive: { type: firehose, delivery_stream: telemetry-archive }
  mirror: { type: kinesis, stream: telemetry-mirror, partition_key: /deviceId }
  errors: { type: firehose, delivery_stream: dead-letters }
routes:
  - name: everything
    to: [archive]
  - name: hot
    match: { data: { temperature: [ { numeric: [">", 50] } ] } }
    to: [mirror, archive]
dead_letter: errors
"#;

/// The one problem of `text`, which must have exactly one.
fn only_problem(text: &str) -> Problem {
    let mut p = problems(text);
    assert_eq!(p.len(), 1, "{p:?}");
    p.remove(0)
}

/// The parse error's message (file, place and rule).
fn parse_error(text: &str) -> String {
    match parse(text) {
        Err(e @ ConfigError::Parse { .. }) => e.to_string(),
        other => panic!("expected a parse error, got {other:?}"),
    }
}

const ONE: &str = "destinations:\n  a: { type: firehose, delivery_stream: s }\n";

#[test]
fn a_good_file_validates_with_indices_resolved() {
    let c = parse(GOOD).expect("valid");
    assert_eq!(c.destinations.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>(), ["archive", "errors", "mirror"]);
    assert_eq!(c.routes[1].to, vec![2, 0]);
    assert!(c.routes[0].pattern.is_none());
    assert_eq!(c.dead_letter, Some(1));
    assert_eq!(c.delivery, DeliveryConfig::default());
}

#[test]
fn json_is_accepted() {
    let c = parse(
        r#"{"destinations": {"a": {"type": "firehose", "delivery_stream": "s"}},
            "routes": [{"name": "r", "match": {"data": {"t": [{"numeric": [">", 1.5]}]}}, "to": ["a"]}]}"#,
    )
    .expect("valid JSON config");
    assert_eq!(c.routes[0].pattern_source, Some(serde_json::json!({"data": {"t": [{"numeric": [">", 1.5]}]}})));
    let e =
        parse_error(r#"{"destinations": {"a": {"type": "firehose", "delivery_stream": "s"}, "a": {"type": "firehose", "delivery_stream": "t"}}}"#);
    assert!(e.contains("line 1 column 70: duplicate mapping key `a` is not allowed here"), "{e}");
}

#[test]
fn a_destination_defined_twice_is_refused_at_its_second_definition() {
    let e = parse_error(
        "destinations:\n  a: { type: firehose, delivery_stream: s }\n  b: { type: firehose, delivery_stream: t }\n  a: { type: firehose, delivery_stream: u }\nroutes:\n  - { name: r, to: [a] }\n",
    );
    assert!(e.starts_with("fanout.yaml: line 4 column 3: duplicate mapping key `a` is not allowed here\n"), "{e}");
    assert!(e.contains("--> fanout.yaml:4:3"), "the snippet names the file: {e}");
}

#[test]
fn a_key_given_twice_inside_a_match_is_refused() {
    let e = parse_error(&format!("{ONE}routes:\n  - name: r\n    match:\n      data: {{ t: [1] }}\n      data: {{ u: [2] }}\n    to: [a]\n"));
    assert!(e.starts_with("fanout.yaml: line 7 column 7: duplicate mapping key `data` is not allowed here"), "{e}");
}

#[test]
fn yaml_errors_are_reported_where_they_are_not_by_their_symptom() {
    // Under-indented: the typed pass alone would say `missing field delivery_stream`.
    let e = parse_error("destinations:\n  a:\n    type: firehose\n   delivery_stream: s\n");
    assert!(e.starts_with("fanout.yaml: line 4 column 4: while parsing a block mapping, did not find expected key"), "{e}");
    let e = parse_error("destinations:\n  a:\n    type: firehose\n     delivery_stream: s\n");
    assert!(e.starts_with("fanout.yaml: line 4 column 21: mapping values are not allowed in this context"), "{e}");
    let e = parse_error(&format!("{ONE}---\n{ONE}"));
    assert!(e.contains("only single YAML document expected but multiple found"), "{e}");
}

#[test]
fn fields_of_the_wrong_type_name_the_line_and_the_types() {
    let e = parse_error(&format!("{ONE}delivery:\n  max_attempts: many\n"));
    assert!(e.starts_with("fanout.yaml: line 4 column 17: invalid u32"), "{e}");
    // Inside a destination the place is the destination's (serde buffers tagged enums).
    let e = parse_error("destinations:\n  a:\n    type: firehose\n    delivery_stream: s\n    max_records: many\n");
    assert!(e.starts_with("fanout.yaml: line 2 column 3: invalid type: string \"many\", expected usize"), "{e}");
}

#[test]
fn scalars_in_patterns_read_as_yaml_1_2() {
    let c = parse(&format!("{ONE}routes:\n  - {{ name: r, match: {{ data: {{ s: [on, no, y, '1', 007, 1_000, true, 12] }} }}, to: [a] }}\n"))
        .expect("valid");
    let expected = serde_json::json!({"data": {"s": ["on", "no", "y", "1", "007", "1_000", true, 12]}});
    assert_eq!(c.routes[0].pattern_source, Some(expected), "only true/false are booleans; 007 and 1_000 stay strings");
}

#[test]
fn unknown_destination_in_a_route_is_named_with_its_place() {
    let p = problems("destinations: { a: { type: firehose, delivery_stream: s } }\nroutes: [ { name: r, to: [a, b] } ]\nunmatched: c\n");
    assert_eq!(p[0].place, "routes[0].to[1]");
    assert!(p[0].message.contains("unknown destination `b` (known: a)"), "{p:?}");
    assert_eq!(p[1].place, "unmatched");
}

#[test]
fn bad_patterns_name_the_place_inside_the_pattern() {
    let p = problems("destinations: { a: { type: firehose, delivery_stream: s } }\nroutes: [ { name: r, match: { data: { t: [ { numerc: [1] } ] } }, to: [a] } ]\n");
    assert_eq!(p[0].place, "routes[0].match.data.t[0].numerc");
}

#[test]
fn limits_above_the_api_maximum_are_rejected() {
    let p = problems("destinations:\n  a: { type: firehose, delivery_stream: s, max_record_bytes: 2000000, max_records: 501 }\n  k: { type: kinesis, stream: s, max_request_bytes: 20000000 }\n");
    let places: Vec<_> = p.iter().map(|p| p.place.as_str()).collect();
    assert!(places.contains(&"destinations.a.max_record_bytes"), "{p:?}");
    assert!(places.contains(&"destinations.a.max_records"), "{p:?}");
    assert!(places.contains(&"destinations.k.max_request_bytes"), "{p:?}");
    assert!(p.iter().any(|p| p.message.contains("maximum of 1024000")), "{p:?}");
}

#[test]
fn missing_and_unknown_fields_fail_to_parse_with_a_location() {
    let e = parse_error("destinations:\n  a: { type: firehose }\n");
    assert!(e.starts_with("fanout.yaml: line 2 column 3: missing field `delivery_stream`"), "{e}");
    let e = parse_error("destinations:\n  a:\n    type: firehose\n    delivery_stream: s\n    delivery_strem: t\n");
    assert!(e.starts_with("fanout.yaml: line 2 column 3: unknown field `delivery_strem`, expected one of"), "{e}");
    let e = parse_error(&format!("{ONE}delivry: {{ max_attempts: 3 }}\n"));
    assert!(e.starts_with("fanout.yaml: line 3 column 1: unknown field `delivry`, expected one of"), "{e}");
    let e = parse_error("destinations:\n  a: { type: s3, bucket: t }\n");
    assert!(e.starts_with("fanout.yaml: line 2 column 8: unknown variant `s3`"), "{e}");
}

#[test]
fn aws_name_patterns_apply_unless_an_endpoint_is_set() {
    let p = problems("destinations:\n  y: { type: kinesis, stream: /ru-central1/b1g/etn/telemetry }\n");
    assert_eq!(p[0].place, "destinations.y.stream");
    let yandex = "destinations:\n  y: { type: kinesis, stream: /ru-central1/b1g/etn/telemetry, endpoint_url: 'https://yds.serverless.yandexcloud.net', region: ru-central1 }\n";
    assert!(parse(yandex).is_ok());
}

#[test]
fn kinesis_needs_exactly_one_of_stream_and_stream_arn() {
    let p = problems("destinations:\n  k: { type: kinesis }\n");
    assert_eq!(p[0].place, "destinations.k");
    let p = problems("destinations:\n  k: { type: kinesis, stream: a, stream_arn: 'arn:aws:kinesis:eu-west-1:123456789012:stream/a' }\n");
    assert_eq!(p[0].place, "destinations.k");
    let p = problems("destinations:\n  k: { type: kinesis, stream_arn: 'arn:aws:sqs:eu-west-1:123456789012:q' }\n");
    assert_eq!(p[0].place, "destinations.k.stream_arn");
}

#[test]
fn partition_key_must_be_a_value_source() {
    let p = problems("destinations:\n  k: { type: kinesis, stream: s, partition_key: $deviceId }\n");
    assert_eq!(p[0].place, "destinations.k.partition_key");
    assert!(p[0].message.contains("/deviceId"), "the message shows how to write a pointer: {}", p[0].message);
    let p = problems("destinations:\n  k: { type: kinesis, stream: s, partition_key: '= .data |' }\n");
    assert_eq!(p[0].place, "destinations.k.partition_key");
    assert!(p[0].message.contains("does not parse"), "{}", p[0].message);
}

#[test]
fn route_rules_and_delivery_ranges() {
    let p = problems("destinations: { a: { type: firehose, delivery_stream: s } }\nroutes: [ { name: r, to: [] }, { name: r, to: [a] } ]\ndelivery: { max_attempts: 0 }\n");
    let places: Vec<_> = p.iter().map(|p| p.place.as_str()).collect();
    assert_eq!(places, ["routes[0].to", "routes[1].name", "delivery.max_attempts"]);
}

#[test]
fn every_problem_is_reported_at_once_in_the_message() {
    let e =
        parse("destinations: { a: { type: firehose, delivery_stream: 'bad name' } }\nroutes: [ { name: r, to: [x] } ]\n").unwrap_err().to_string();
    assert!(e.starts_with("fanout.yaml: 2 problem(s):"), "{e}");
    assert!(e.contains("destinations.a.delivery_stream") && e.contains("routes[0].to[0]"), "{e}");
}

#[test]
fn rate_limits_are_read_per_destination_and_bad_rates_are_named() {
    let c = parse(
        "destinations:\n  k: { type: kinesis, stream: s, rate_limit: { records_per_second: 2000, bytes_per_second: 2097152 } }\nroutes:\n  - { name: all, to: [k] }\n",
    )
    .expect("valid");
    let limit = c.destinations[0].1.spec().rate_limit();
    assert_eq!((limit.requests_per_second, limit.records_per_second, limit.bytes_per_second), (None, Some(2000.0), Some(2_097_152.0)));
    assert!(crate::Fanout::new(c, &crate::Clients::offline()).destinations()[0].pacer.is_some());

    let p = problems(
        "destinations:\n  f: { type: firehose, delivery_stream: s, rate_limit: { requests_per_second: -1 } }\nroutes:\n  - { name: all, to: [f] }\n",
    );
    assert_eq!(p.iter().map(|p| p.place.as_str()).collect::<Vec<_>>(), ["destinations.f.rate_limit.requests_per_second"]);
    let unknown = parse("destinations:\n  f: { type: firehose, delivery_stream: s, rate_limit: { rps: 5 } }\nroutes:\n  - { name: all, to: [f] }\n");
    assert!(unknown.is_err_and(|e| e.to_string().contains("rps")));
}

#[test]
fn the_dead_letter_destination_cannot_be_a_route_target() {
    let p = problems(
        "destinations:\n  a: { type: firehose, delivery_stream: a }\n  dead: { type: firehose, delivery_stream: dead }\n\
         routes:\n  - { name: all, to: [a] }\n  - { name: hot, to: [a, dead] }\ndead_letter: dead\n",
    );
    assert_eq!(p.len(), 1, "{p:?}");
    assert_eq!(p[0].place, "routes[1].to[1]");
    assert!(p[0].message.starts_with("`dead` is the dead_letter destination: routed records would be mixed with dead-letter envelopes"), "{p:?}");
}

#[test]
fn the_dead_letter_destination_cannot_take_unmatched_records() {
    let p = only_problem(
        "destinations:\n  a: { type: firehose, delivery_stream: a }\n  dead: { type: firehose, delivery_stream: dead }\n\
         routes:\n  - { name: r, match: { key: [k] }, to: [a] }\ndead_letter: dead\nunmatched: dead\n",
    );
    assert_eq!(p.place, "unmatched");
    assert!(p.message.starts_with("`dead` is the dead_letter destination"), "{p:?}");
}

#[test]
fn a_route_naming_a_destination_twice_is_refused() {
    let p = only_problem(&format!("{ONE}  b: {{ type: firehose, delivery_stream: b }}\nroutes:\n  - {{ name: r, to: [a, b, a] }}\n"));
    assert_eq!(p.place, "routes[0].to[2]");
    assert_eq!(p.message, "`a` is already named at routes[0].to[0] (a route sends a record to a destination once)");
}

#[test]
fn an_empty_match_is_refused_rather_than_taking_every_record() {
    for written in ["match:", "match: null", "match: ~"] {
        let p = only_problem(&format!("{ONE}routes:\n  - name: r\n    {written}\n    to: [a]\n"));
        assert_eq!(p.place, "routes[0].match", "{written}");
        assert!(p.message.contains("leave `match` out to take every record"), "{written}: {p:?}");
    }
    let c = parse(&format!("{ONE}routes:\n  - {{ name: r, to: [a] }}\n")).expect("valid");
    assert!(c.routes[0].pattern.is_none() && c.routes[0].pattern_source.is_none(), "no `match` still takes every record");
}

#[test]
fn a_match_that_is_not_an_object_is_refused_at_the_match() {
    let p = only_problem(&format!("{ONE}routes:\n  - {{ name: r, match: [ {{ data: {{ t: [1] }} }} ], to: [a] }}\n"));
    assert_eq!(p.place, "routes[0].match");
    assert!(p.message.starts_with("a pattern must be an object of field names, found ["), "{p:?}");
}

#[test]
fn pattern_rules_are_reported_inside_the_match() {
    let p = only_problem(&format!("{ONE}routes:\n  - {{ name: r, match: {{ data: {{ path: [ {{ wildcard: 'plant/**/temp' }} ] }} }}, to: [a] }}\n"));
    assert_eq!(p.place, "routes[0].match.data.path[0].wildcard");
    assert!(p.message.contains("consecutive `*` at position 6: EventBridge refuses them"), "{p:?}");
    let p = only_problem(&format!("{ONE}routes:\n  - {{ name: r, match: {{ dat: {{ t: [1] }} }}, to: [a] }}\n"));
    assert_eq!(p.place, "routes[0].match.dat");
    assert!(p.message.starts_with("unknown record field `dat`"), "{p:?}");
}

#[test]
fn a_zero_limit_says_it_must_be_at_least_one() {
    let p = only_problem("destinations:\n  a: { type: firehose, delivery_stream: s, max_records: 0 }\n");
    assert_eq!(p.place, "destinations.a.max_records");
    assert_eq!(p.message, "must be at least 1 (the PutRecordBatch maximum is 500)");
    let p = only_problem("destinations:\n  e: { type: iot_events, input: i, max_request_bytes: 0 }\n");
    assert_eq!(p.place, "destinations.e.max_request_bytes");
    assert_eq!(p.message, "must be at least 1 (the BatchPutMessage payload-per-batch maximum is 1024)");
}

#[test]
fn a_record_limit_above_the_request_limit_is_refused() {
    let p = only_problem("destinations:\n  k: { type: kinesis, stream: s, max_record_bytes: 10485760 }\n");
    assert_eq!(p.place, "destinations.k.max_record_bytes");
    assert!(p.message.starts_with("max_record_bytes (10485760) is above max_request_bytes (5242880)"), "{p:?}");
    let p = only_problem("destinations:\n  f: { type: firehose, delivery_stream: s, max_request_bytes: 500000 }\n");
    assert_eq!(p.place, "destinations.f.max_request_bytes");
    assert!(p.message.contains("lower max_record_bytes or raise max_request_bytes"), "{p:?}");
    assert!(parse("destinations:\n  k: { type: kinesis, stream: s, max_record_bytes: 10485760, max_request_bytes: 10485760 }\n").is_ok());
}

/// Problems come in the order of the fields: the type's own, the common ones,
/// and last the record limit against the request limit.
#[test]
fn a_destinations_problems_are_listed_in_one_order() {
    let p = problems(
        "destinations:\n  k: { type: kinesis, stream: '', max_records: 0, max_in_flight: 0, endpoint_url: 'x', region: '', max_record_bytes: 2000, max_request_bytes: 1000 }\n",
    );
    assert_eq!(
        p.iter().map(|p| p.place.as_str()).collect::<Vec<_>>(),
        [
            "destinations.k.stream",
            "destinations.k.max_records",
            "destinations.k.max_in_flight",
            "destinations.k.endpoint_url",
            "destinations.k.region",
            "destinations.k.max_request_bytes"
        ]
    );
}

#[test]
fn endpoint_urls_and_regions_must_be_usable() {
    let p = problems("destinations:\n  k: { type: kinesis, stream: s, endpoint_url: 'localhost:4566', region: '' }\n");
    assert_eq!(p.iter().map(|p| p.place.as_str()).collect::<Vec<_>>(), ["destinations.k.endpoint_url", "destinations.k.region"]);
    assert_eq!(p[0].message, "`localhost:4566` is not an http:// or https:// URL with a host");
    assert_eq!(p[1].message, "`` is not a region name (like eu-west-1)");
    assert!(parse("destinations:\n  k: { type: kinesis, stream: s, endpoint_url: 'http://127.0.0.1:4566', region: us-east-1 }\n").is_ok());
}

#[test]
fn delivery_values_must_be_usable() {
    let p = problems(&format!("{ONE}delivery: {{ base_delay_ms: 0, max_delay_ms: 0, deadline_margin_ms: 0 }}\n"));
    let got: Vec<_> = p.iter().map(|p| (p.place.as_str(), p.message.as_str())).collect();
    assert_eq!(
        got,
        [
            ("delivery.base_delay_ms", "must be at least 1"),
            ("delivery.max_delay_ms", "must be at least 1"),
            ("delivery.deadline_margin_ms", "must be at least 1: fanout needs time to answer before the Lambda deadline"),
        ]
    );
    let p = problems(&format!("{ONE}delivery: {{ base_delay_ms: 500, max_delay_ms: 100, deadline_margin_ms: 900000 }}\n"));
    let got: Vec<_> = p.iter().map(|p| (p.place.as_str(), p.message.as_str())).collect();
    assert_eq!(
        got,
        [
            ("delivery.base_delay_ms", "500 is above delivery.max_delay_ms (100); the base must be at most the cap"),
            ("delivery.deadline_margin_ms", "900000 is not below Lambda's longest timeout (900000 ms): no time would be left to send"),
        ]
    );
    let e = parse_error(&format!("{ONE}delivery: {{ max_attempts: -1 }}\n"));
    assert!(e.starts_with("fanout.yaml: line 3 column 27: invalid u32"), "negative values do not parse: {e}");
}

/// Load as the functions would with only `FANOUT_CONFIG` (`text`) and
/// `FANOUT_CONFIG_FILE` (`file`) set.
fn load_from(text: Option<&str>, file: Option<&Path>) -> Result<Config, ConfigError> {
    let lookup = |name: &str| match name {
        CONFIG_TEXT_ENV => text.map(std::ffi::OsString::from),
        CONFIG_FILE_ENV => file.map(|f| f.as_os_str().to_owned()),
        _ => None,
    };
    ConfigSource::from_vars(lookup)?.load_local()
}

#[test]
fn a_blank_fanout_config_counts_as_unset() {
    // Changed with the config sources: the SAM template sets every variable,
    // blank when unused, so blank is unset and falls back to fanout.yaml
    // (which the tests' working directory, shared/, does not have).
    for text in ["", " \n\t"] {
        match load_from(Some(text), None) {
            Err(ConfigError::Read { file, .. }) => assert_eq!(file, Path::new(DEFAULT_CONFIG_FILE), "{text:?}"),
            other => panic!("{text:?}: expected fanout.yaml to be read, got {other:?}"),
        }
    }
}

#[test]
fn the_text_or_the_named_file_is_read_and_both_is_an_error() {
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fanout.yaml");
    let c = load_from(Some(ONE), None).expect("the text");
    assert_eq!((c.file.as_path(), c.destinations.len()), (Path::new("$FANOUT_CONFIG"), 1));
    // Changed with the config sources: the text and a file both set is
    // ambiguous, so it is an error naming both (the text used to win).
    match load_from(Some(ONE), Some(&example)) {
        Err(e @ ConfigError::Env { var: CONFIG_TEXT_ENV, .. }) => {
            assert!(e.to_string().starts_with("FANOUT_CONFIG is set but so is FANOUT_CONFIG_FILE"), "{e}")
        }
        other => panic!("expected both variables to be named, got {other:?}"),
    }
    // The SAM template always sets FANOUT_CONFIG: blank, it defers to FANOUT_CONFIG_FILE.
    let c = load_from(Some(""), Some(&example)).expect("the named file");
    assert_eq!(c.file, example);
    // Changed with the config sources: FANOUT_CONFIG_FILE blank is unset too.
    match load_from(None, Some(Path::new(""))) {
        Err(ConfigError::Read { file, .. }) => assert_eq!(file, Path::new(DEFAULT_CONFIG_FILE)),
        other => panic!("expected fanout.yaml to be read, got {other:?}"),
    }
    match load_from(None, Some(Path::new("no/such/fanout.yaml"))) {
        Err(ConfigError::Read { file, .. }) => assert_eq!(file, Path::new("no/such/fanout.yaml")),
        other => panic!("expected a read error, got {other:?}"),
    }
}
