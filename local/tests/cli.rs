//! The `fanout-local` binary as a user runs it, from the repository root.

use fanout_tests::{event_payloads, repo_root};
use std::io::{BufRead, BufReader};
use std::process::{Command, Output, Stdio};

fn fanout_local(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_fanout-local"))
        .args(args)
        .current_dir(repo_root())
        .env_remove("AWS_ENDPOINT_URL")
        .output()
        .expect("fanout-local runs")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn example_event() -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(repo_root().join("events/kinesis.json")).expect("event")).expect("json")
}

fn sequence_numbers(event: &serde_json::Value) -> Vec<String> {
    event["Records"].as_array().expect("records").iter().map(|r| r["kinesis"]["sequenceNumber"].as_str().unwrap_or_default().to_owned()).collect()
}

/// Where the example config sends a payload, worked out from the payload itself.
fn expected_destinations(payload: &[u8]) -> Vec<&'static str> {
    let v: serde_json::Value = serde_json::from_slice(payload).unwrap_or_default();
    let mut to = vec!["archive"];
    if let Some(t) = v["temperature"].as_f64() {
        to.extend(["analytics", "detector-input", "plant-metrics", "reading-events"]);
        if t > 50.0 {
            to.extend(["hot-readings", "hot-alerts"]);
        }
    }
    if v["alarm"] == serde_json::json!(true) {
        to.extend(["alarms", "alarm-queue"]);
    }
    to.sort();
    to
}

#[test]
fn the_main_job_prints_where_every_record_went() {
    let out = fanout_local(&["invoke", "kinesis", "events/kinesis.json"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = stdout(&out);
    let event = example_event();
    let mut all = std::collections::BTreeSet::new();
    for (seq, payload) in sequence_numbers(&event).iter().zip(event_payloads(&event)) {
        let line = text.lines().find(|l| l.starts_with(seq.as_str())).unwrap_or_else(|| panic!("no line for {seq}:\n{text}"));
        let mut cols = line.split_whitespace();
        assert_eq!((cols.next(), cols.next()), (Some(seq.as_str()), Some("delivered")), "{line}");
        let mut got: Vec<String> = cols.collect::<Vec<_>>().join(" ").split(", ").map(str::to_owned).collect();
        got.sort();
        let want = expected_destinations(&payload);
        assert_eq!(got, want, "{line}");
        all.extend(want);
    }
    assert_eq!(all.len(), 9, "the sample reaches every routed destination: {all:?}");
    let types: std::collections::BTreeSet<&str> =
        text.lines().filter_map(|l| l.split_whitespace().nth(1)).filter(|t| fanout::destinations::Kind::from_name(t).is_some()).collect();
    assert_eq!(types.len(), fanout::destinations::Kind::ALL.len(), "the summary shows every destination type: {types:?}");
    assert!(text.contains("firehose/telemetry-archive: 6 item(s)"), "{text}");
    assert!(text.trim_end().ends_with(r#"{"batchItemFailures":[]}"#), "{text}");
}

#[test]
fn injected_failures_are_reported_exactly_in_json() {
    let out = fanout_local(&[
        "invoke",
        "kinesis",
        "events/kinesis.json",
        "--fail",
        r#"firehose:target=telemetry-archive,match="sensor-004""#,
        "--json",
        "--deadline-ms",
        "20000",
    ]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("one JSON object");
    let event = example_event();
    let expected: Vec<serde_json::Value> = sequence_numbers(&event)
        .into_iter()
        .zip(event_payloads(&event))
        .filter(|(_, p)| String::from_utf8_lossy(p).contains("\"sensor-004\""))
        .map(|(s, _)| serde_json::json!({"itemIdentifier": s}))
        .collect();
    assert_eq!(expected.len(), 1);
    assert_eq!(json["response"], serde_json::json!({ "batchItemFailures": expected }));
    let archive = &json["destinations"]["archive"];
    assert_eq!((archive["records"].as_u64(), archive["failed"].as_u64(), archive["retries"].as_u64()), (Some(6), Some(1), Some(7)), "{archive}");
    assert_eq!(json["destinations"]["hot-readings"]["failed"].as_u64(), Some(0));
}

#[test]
fn transient_failures_that_retries_fix_are_not_reported() {
    let out = fanout_local(&["invoke", "kinesis", "events/kinesis.json", "--fail", "firehose:rate=0.5;kinesis:rate=0.5;seed=5", "--json"]);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(json["response"], serde_json::json!({"batchItemFailures": []}));
    let retries: u64 = ["archive", "hot-readings"].iter().filter_map(|d| json["destinations"][*d]["retries"].as_u64()).sum();
    assert!(retries > 0, "the faults fired: {json}");
}

#[test]
fn wrong_events_and_bad_flags_are_refused() {
    let out = fanout_local(&["invoke", "sqs", "events/iot-rule.json"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("events/iot-rule.json: not an SQS event"), "{}", String::from_utf8_lossy(&out.stderr));
    let out = fanout_local(&["invoke", "kinesis", "events/kinesis.json", "--endpoint", "http://127.0.0.1:9", "--fail", "kinesis:rate=1"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--fail injects faults into the embedded sandbox"));
}

/// The runner prints a handler error as the function returns it to Lambda
/// (functions/kinesis/tests/runtime_api.rs checks the binary's answer).
#[test]
fn a_handler_error_is_printed_as_lambda_shows_it() {
    let event = std::env::temp_dir().join(format!("fanout-cli-not-kinesis-{}.json", std::process::id()));
    std::fs::write(&event, r#"{"not": "a Kinesis event"}"#).expect("event written");
    let out = fanout_local(&["invoke", "kinesis", event.to_str().expect("utf-8 path"), "--json"]);
    let _ = std::fs::remove_file(&event);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("one JSON object");
    assert_eq!(
        json["response"],
        serde_json::json!({"errorType": "NotKinesisEvent", "errorMessage": "not a Kinesis event: it has no `Records` array"})
    );
}

#[test]
fn every_sample_event_runs_through_its_source() {
    for (source, event, expect) in [
        ("sqs", "events/sqs.json", r#""batchItemFailures":[]"#),
        ("sqs", "events/sqs-fifo.json", r#""batchItemFailures":[]"#),
        ("iot", "events/iot-rule.json", r#""delivered":2"#),
        ("kinesis", "events/kinesis-kpl.json", r#""batchItemFailures":[]"#),
        ("dynamodb", "events/dynamodb.json", r#""batchItemFailures":[]"#),
        ("http", "events/apigw-v1-records.json", r#""statusCode":200"#),
        ("http", "events/apigw-v2-records.json", r#""statusCode":200"#),
        ("http", "events/apigw-v2-list-detectors.json", r#""statusCode":404"#),
    ] {
        let out = fanout_local(&["invoke", source, event, "--json"]);
        assert!(out.status.success(), "{event}: {}", String::from_utf8_lossy(&out.stderr));
        assert!(stdout(&out).contains(expect), "{event}: {}", stdout(&out));
    }
}

#[test]
fn validate_shows_routes_and_where_each_record_would_go() {
    let out = fanout_local(&["validate", "fanout.yaml", "--event", "events/kinesis.json"]);
    assert!(out.status.success());
    let text = stdout(&out);
    assert!(text.contains("fanout.yaml: valid"));
    let line = |name: &str| text.lines().find(|l| l.trim_start().starts_with(name)).unwrap_or_default().to_owned();
    assert!(line("archive ").contains("(500 records, 1024000 B/record, 4194304 B/request per call)"), "{text}");
    assert!(line("plant-metrics").contains("sitewise") && line("plant-metrics").contains("no byte limit"), "SiteWise is limited by count: {text}");
    let column = |name: &str, kind: &str| line(name).find(kind);
    assert_eq!(column("alarms", "iot_events_detector"), column("archive ", "firehose"), "types line up in one column: {text}");
    assert!(text.contains(r#"hot                  {"data":{"temperature":[{"numeric":[">",50]}]}} -> hot-readings"#), "{text}");
    let event = example_event();
    for (seq, payload) in sequence_numbers(&event).iter().zip(event_payloads(&event)) {
        let line = text.lines().find(|l| l.trim_start().starts_with(seq.as_str())).unwrap_or_else(|| panic!("no line for {seq}"));
        let mut got: Vec<&str> = line.rsplit("-> ").next().unwrap_or_default().split(", ").collect();
        got.sort();
        assert_eq!(got, expected_destinations(&payload), "{line}");
    }
    let dir = std::env::temp_dir().join(format!("fanout-local-validate-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let bad = dir.join("bad.yaml");
    std::fs::write(&bad, "destinations: { a: { type: kinesis, stream: s, partition_key: $deviceId } }\n").expect("write");
    let out = fanout_local(&["validate", bad.to_str().expect("utf8")]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("destinations.a.partition_key"), "{}", String::from_utf8_lossy(&out.stderr));

    let combined = dir.join("combined.yaml");
    std::fs::write(
        &combined,
        "destinations:\n  r: { type: kinesis, stream: s, aggregate: kpl, aggregate_shards: 4, aggregate_max_bytes: 51200 }\n  \
         a: { type: firehose, delivery_stream: a, delimiter: \"\\n\", pack: true }\nroutes:\n  - { name: all, to: [r, a] }\n",
    )
    .expect("write");
    let text = stdout(&fanout_local(&["validate", combined.to_str().expect("utf8")]));
    assert!(text.contains("; KPL aggregates of one of 4 even shards, up to 51200 B)"), "{text}");
    assert!(text.contains("; packed: delimited records concatenated, up to 1024000 B)"), "{text}");
}

#[test]
fn serve_runs_the_sandbox_for_other_tools() {
    let mut child =
        Command::new(env!("CARGO_BIN_EXE_fanout-local")).args(["serve", "--port", "0"]).stdout(Stdio::piped()).spawn().expect("serve starts");
    let mut first = String::new();
    BufReader::new(child.stdout.take().expect("stdout")).read_line(&mut first).expect("a line");
    let endpoint = first.trim().rsplit(' ').next().unwrap_or_default().to_owned();
    let port: u16 = endpoint.rsplit(':').next().and_then(|p| p.parse().ok()).unwrap_or_else(|| panic!("an endpoint in {first:?}"));
    let (status, body) = fanout_tests::http(port, "GET", "/_sandbox/health", &[], b"");
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!((status, body), (200, b"ok".to_vec()));
}

#[test]
fn bench_runs_every_workload_in_the_fewest_requests_and_reports_each_figure() {
    let out = fanout_local(&["bench", "--runs", "1", "--json"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let lines: Vec<serde_json::Value> = stdout(&out).lines().map(|l| serde_json::from_str(l).expect("one JSON object per line")).collect();
    let names: Vec<&str> = lines.iter().filter_map(|l| l["workload"].as_str()).collect();
    assert_eq!(names, ["small", "large", "fanout5", "messaging", "keyed", "ordered", "packed", "big"]);
    for (line, (records, destinations)) in
        lines.iter().zip([(10_000, 3), (1_500, 2), (2_000, 6), (2_000, 4), (10_000, 1), (10_000, 1), (10_000, 3), (7_000, 2)])
    {
        assert_eq!(line["records"], records, "{line}");
        let requests = line["requests"].as_object().expect("requests");
        assert_eq!(requests.len(), destinations, "{line}");
        for (name, n) in requests {
            assert!(n.as_u64().unwrap_or(0) > 0, "{name}: {line}");
            assert_eq!(Some(n), line["requests_lower_bound"].get(name), "{name} used more requests than the API limits need: {line}");
        }
        for key in ["payload_bytes", "wall_ms", "cpu_ms", "peak_rss_mb"] {
            assert!(line[key].as_f64().unwrap_or(0.0) > 0.0, "{key}: {line}");
        }
    }
    // The bill, side by side in one run: the same records, aggregated and packed.
    let (small, packed) = (&lines[0], &lines[6]);
    for name in ["stream", "archive"] {
        let units = |l: &serde_json::Value| l["billed_units"][name].as_u64().unwrap_or(0);
        let entries = |l: &serde_json::Value| l["entries_sent"][name].as_u64().unwrap_or(0);
        assert_eq!((entries(small), units(small)), (10_000, 10_000), "{name}: one record, one unit each: {small}");
        assert!(units(packed) > 0 && units(packed) * 20 <= units(small), "{name}: {packed}");
        assert!(entries(packed) * 20 <= entries(small), "{name}: {packed}");
    }
}

/// The function binary as Lambda runs it, beside the Python reference: each
/// subject's own CPU, faults and memory per warm invocation, read from /proc.
#[test]
fn bench_process_measures_the_function_binary_and_the_reference_side_by_side() {
    let path = std::path::Path::new(env!("CARGO_BIN_EXE_fanout-local")).parent().expect("a directory").to_path_buf();
    let dir = path.to_str().expect("utf-8");
    let out =
        fanout_local(&["bench", "--process", "--workload", "large", "--runs", "2", "--reference", "--quota", "1769", "--json", "--bin-dir", dir]);
    // kinesis-fanout is built for its own Runtime API tests (a workspace test run).
    if !path.join("kinesis-fanout").is_file() {
        assert!(String::from_utf8_lossy(&out.stderr).contains("cargo build --release --workspace --bins"));
        return;
    }
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("one JSON object");
    assert_eq!((v["workload"].as_str(), v["records"].as_u64()), (Some("large"), Some(1_500)));
    let subjects = v["subjects"].as_array().expect("subjects");
    let names: Vec<&str> = subjects.iter().filter_map(|s| s["subject"].as_str()).collect();
    assert_eq!(names, ["kinesis-fanout", "python boto3 reference"]);
    for s in subjects {
        assert_eq!(s["cpu_ms_runs"].as_array().map(Vec::len), Some(2), "{s}");
        for key in ["cpu_ms", "wall_ms", "peak_rss_mb"] {
            assert!(s[key].as_f64().unwrap_or(0.0) > 0.0, "{key}: {s}");
        }
        // The quota needs a writable cgroup: where there is one, it was applied and priced.
        if let Some(wall) = s["quota_wall_ms"]["1769"].as_f64() {
            assert!(wall > 0.0 && s["cost_per_million_records"]["1769"].as_f64().unwrap_or(0.0) > 0.0, "{s}");
        }
    }
    let ratio = v["reference_over_fanout_cpu"].as_f64().expect("a ratio");
    let cpu = |i: usize| subjects[i]["cpu_ms"].as_f64().unwrap_or(0.0);
    assert!((ratio - cpu(1) / cpu(0)).abs() < 0.02 * ratio.max(1.0), "{v}");

    let out = fanout_local(&["bench", "--process", "--workload", "small", "--reference", "--bin-dir", dir]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("the reference router does the job of `big` and `large` only"));
    let out = fanout_local(&["bench", "--process", "--workload", "large", "--records", "100", "--runs", "1", "--json", "--bin-dir", dir]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("one JSON object");
    assert_eq!(v["records"], 100, "per batch size: {v}");
    assert!(v["event_bytes"].as_u64().unwrap_or(0) < 1_500_000, "{v}");
    let out = fanout_local(&["bench", "--process", "--bin-dir", "/nonexistent"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("kinesis-fanout not found in /nonexistent"));
}

#[test]
fn bench_cold_start_times_each_function_binary_or_says_how_to_build_them() {
    let dir = std::path::Path::new(env!("CARGO_BIN_EXE_fanout-local")).parent().expect("a directory").to_path_buf();
    let out = fanout_local(&["bench", "--cold-start", "--runs", "1", "--json", "--bin-dir", dir.to_str().expect("utf8")]);
    // kinesis-fanout is built for its own Runtime API tests; the others only in a workspace build.
    let built: Vec<&str> =
        ["kinesis-fanout", "dynamodb-fanout", "sqs-fanout", "iot-fanout", "http-fanout"].into_iter().filter(|f| dir.join(f).is_file()).collect();
    if !built.is_empty() {
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let lines: Vec<serde_json::Value> = stdout(&out).lines().map(|l| serde_json::from_str(l).expect("JSON")).collect();
        let timed: Vec<&str> = lines.iter().filter_map(|l| l["function"].as_str()).collect();
        assert_eq!(timed, built);
        for l in &lines {
            assert!(l["init_ms"].as_f64().unwrap_or(0.0) > 0.0 && l["binary_mb"].as_f64().unwrap_or(0.0) > 0.0, "{l}");
        }
    } else {
        assert_eq!(out.status.code(), Some(2));
        assert!(String::from_utf8_lossy(&out.stderr).contains("cargo build --release --workspace --bins"));
    }
}

#[test]
fn invoke_metrics_shows_the_emf_documents_the_function_would_write() {
    let out = fanout_local(&["invoke", "kinesis", "events/kinesis.json", "--json", "--metrics"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_str(&stdout(&out)).expect("one JSON object");
    let docs = v["metrics"].as_array().expect("a metrics array");
    let event = example_event();
    let total = &docs[0];
    assert_eq!(total["Records"].as_u64(), Some(event_payloads(&event).len() as u64));
    assert_eq!(total["Failed"], 0);
    assert_eq!(total["FunctionName"], "fanout-local");
    assert!(total["BatchAge"].as_u64().is_some_and(|a| a < 60_000), "records are restamped as arriving now: {}", total["BatchAge"]);
    // One document per destination that had traffic, with its routed count worked out from the payloads.
    let mut expected: std::collections::BTreeMap<&str, u64> = std::collections::BTreeMap::new();
    for p in event_payloads(&event) {
        for d in expected_destinations(&p) {
            *expected.entry(d).or_default() += 1;
        }
    }
    let got: std::collections::BTreeMap<&str, u64> =
        docs[1..].iter().map(|d| (d["Destination"].as_str().unwrap_or_default(), d["Routed"].as_u64().unwrap_or_default())).collect();
    assert_eq!(got, expected);

    let text = fanout_local(&["invoke", "kinesis", "events/kinesis.json", "--metrics"]);
    assert!(stdout(&text).contains("metrics (CloudWatch EMF"), "{}", stdout(&text));
    let plain = fanout_local(&["invoke", "kinesis", "events/kinesis.json"]);
    assert!(!stdout(&plain).contains("CloudWatch EMF"), "only with --metrics");
}

#[test]
fn restamp_prints_the_event_with_every_record_arriving_now_for_other_tools() {
    let now_ms = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64);
    let out = fanout_local(&["restamp", "events/sqs.json"]);
    assert!(out.status.success());
    let event: serde_json::Value = serde_json::from_str(&stdout(&out)).expect("JSON");
    let records = event["Records"].as_array().expect("records");
    assert!(!records.is_empty());
    for r in records {
        let sent: i64 = r["attributes"]["SentTimestamp"].as_str().and_then(|s| s.parse().ok()).unwrap_or(0);
        assert!((sent - now_ms).abs() < 60_000, "{sent} vs {now_ms}");
        assert!(r["body"].is_string(), "the rest of the event is kept");
    }
    // And the SQS sample through invoke is restamped too (its batch age is fresh).
    let out = fanout_local(&["invoke", "sqs", "events/sqs.json", "--json", "--metrics"]);
    let v: serde_json::Value = serde_json::from_str(&stdout(&out)).expect("JSON");
    assert!(v["metrics"][0]["BatchAge"].as_u64().is_some_and(|a| a < 60_000), "{}", v["metrics"][0]);
}

/// The DynamoDB Streams sample through the example config: every change is
/// archived, and only the status that changed to FAILED reaches IoT Events.
#[test]
fn invoke_dynamodb_prints_where_each_change_went() {
    let out = fanout_local(&["invoke", "dynamodb", "events/dynamodb.json", "--json"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let json: serde_json::Value = serde_json::from_str(&stdout(&out)).expect("one JSON object");
    assert_eq!(json["response"], serde_json::json!({"batchItemFailures": []}));
    assert_eq!(json["destinations"]["archive"]["records"], 5);
    assert_eq!(json["destinations"]["detector-input"]["records"], 1);
    assert_eq!(json["destinations"]["hot-readings"]["records"], 0);

    let text = stdout(&fanout_local(&["invoke", "dynamodb", "events/dynamodb.json"]));
    let line = text.lines().find(|l| l.starts_with("1405400000000002063282803")).unwrap_or_default().to_owned();
    assert!(line.contains("delivered") && line.contains("archive, detector-input"), "{text}");
}

/// `--ledger` shows Lambda's replay after a failure sending each record only
/// where it is missing; `--replay` without it shows the duplicates it saves.
#[test]
fn invoke_ledger_shows_a_replay_skipping_destinations_that_already_accepted() {
    let fail = r#"firehose:target=telemetry-archive,match="sensor-004""#;
    let run = |flag: &str| {
        let out = fanout_local(&["invoke", "kinesis", "events/kinesis.json", "--fail", fail, flag, "--json", "--deadline-ms", "20000"]);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        serde_json::from_slice::<serde_json::Value>(&out.stdout).expect("one JSON object")
    };
    let event = example_event();
    let seqs = sequence_numbers(&event);
    let failing =
        event_payloads(&event).iter().position(|p| String::from_utf8_lossy(p).contains("\"sensor-004\"")).expect("sensor-004 in the sample");
    let replayed = seqs.len() - failing;

    let with = run("--ledger");
    assert_eq!(with["ledger"], "used");
    assert_eq!(with["response"]["batchItemFailures"], serde_json::json!([{"itemIdentifier": seqs[failing]}]));
    let replay = &with["replay"];
    assert_eq!(replay["records"], replayed, "Lambda replays from the failed record on: {replay}");
    assert_eq!(replay["response"], serde_json::json!({"batchItemFailures": []}));
    let destinations = replay["destinations"].as_object().expect("destinations");
    for (name, d) in destinations {
        if name == "archive" {
            // Only the record the archive refused is sent again, to the archive alone.
            assert_eq!(
                (d["records"].as_u64(), d["already_settled"].as_u64(), d["requests"].as_u64()),
                (Some(replayed as u64), Some(replayed as u64 - 1), Some(1)),
                "{d}"
            );
        } else {
            assert_eq!(d["already_settled"], d["records"], "{name} accepted all of these before: {d}");
            assert_eq!(d["requests"], 0, "{name} is not sent anything again: {d}");
        }
    }

    let without = run("--replay");
    assert!(without.get("ledger").is_none());
    let again: u64 = without["replay"]["destinations"].as_object().expect("destinations").values().filter_map(|d| d["requests"].as_u64()).sum();
    assert!(again > 1, "without the ledger the replay sends everything again: {without}");

    let text = stdout(&fanout_local(&["invoke", "kinesis", "events/kinesis.json", "--fail", fail, "--ledger", "--deadline-ms", "20000"]));
    assert!(text.contains(&format!("=== Replay: the source delivers {replayed} record(s) again")), "{text}");
    let replay_text = text.split("=== Replay").nth(1).expect("a replay section");
    let archive: Vec<&str> = replay_text.lines().find(|l| l.starts_with("archive ")).expect("the archive's row").split_whitespace().collect();
    let (records, skipped) = (replayed.to_string(), (replayed - 1).to_string());
    assert_eq!(
        (archive[2], archive[3], archive.last().copied()),
        (records.as_str(), "1", Some(skipped.as_str())),
        "RECORDS, REQUESTS, SKIPPED: {text}"
    );
    assert!(
        replay_text.contains("delivery ledger: used (SKIPPED: records the destination accepted in an earlier delivery, not sent again)"),
        "{text}"
    );
    assert!(text.contains("delivery ledger: table fanout-local-ledger in the embedded sandbox"), "{text}");
}
