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
routes:
  - name: everything
    to: [archive]
  - name: hot
    match: { data: { temperature: [ { numeric: [">", 50] } ] } }
    to: [mirror, archive, mirror]
dead_letter: archive
"#;

#[test]
fn a_good_file_validates_with_indices_resolved() {
    let c = parse(GOOD).expect("valid");
    assert_eq!(c.destinations.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>(), ["archive", "mirror"]);
    assert_eq!(c.routes[1].to, vec![1, 0], "duplicates in `to` collapse");
    assert!(c.routes[0].pattern.is_none());
    assert_eq!(c.dead_letter, Some(0));
    assert_eq!(c.delivery, DeliveryConfig::default());
}

#[test]
fn json_is_accepted() {
    let c = parse(r#"{"destinations": {"a": {"type": "firehose", "delivery_stream": "s"}}, "routes": [{"name": "r", "to": ["a"]}]}"#);
    assert!(c.is_ok(), "{c:?}");
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
    let e = parse("destinations:\n  a: { type: kinesis }\n").unwrap_err().to_string();
    assert!(e.contains("fanout.yaml") && e.contains("stream"), "{e}");
    let e = parse("destinations:\n  a:\n    type: firehose\n    delivery_stream: s\n    delivery_strem: t\n").unwrap_err().to_string();
    assert!(e.contains("unknown field `delivery_strem`") && e.contains("line"), "{e}");
    let e = parse("destinations:\n  a: { type: sns, topic: t }\n").unwrap_err().to_string();
    assert!(e.contains("unknown variant `sns`"), "{e}");
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
fn partition_key_must_be_a_json_pointer() {
    let p = problems("destinations:\n  k: { type: kinesis, stream: s, partition_key: deviceId }\n");
    assert_eq!(p[0].place, "destinations.k.partition_key");
    assert!(p[0].message.contains("/deviceId"));
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
    let limit = c.destinations[0].1.rate_limit();
    assert_eq!((limit.requests_per_second, limit.records_per_second, limit.bytes_per_second), (None, Some(2000.0), Some(2_097_152.0)));
    assert!(crate::Fanout::new(c, &crate::Clients::offline()).targets()[0].pacer.is_some());

    let p = problems(
        "destinations:\n  f: { type: firehose, delivery_stream: s, rate_limit: { requests_per_second: -1 } }\nroutes:\n  - { name: all, to: [f] }\n",
    );
    assert_eq!(p.iter().map(|p| p.place.as_str()).collect::<Vec<_>>(), ["destinations.f.rate_limit.requests_per_second"]);
    let unknown = parse("destinations:\n  f: { type: firehose, delivery_stream: s, rate_limit: { rps: 5 } }\nroutes:\n  - { name: all, to: [f] }\n");
    assert!(unknown.is_err_and(|e| e.to_string().contains("rps")));
}
