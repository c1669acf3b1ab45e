#!/usr/bin/env python3
"""Write the seed inputs of every fuzz target into fuzz/corpus/<target>/.

Seeds come from the repo's sample events (events/), the bad-input corpus
(tests/corpus/*.json, expanded as tests/src/corpus.rs does), the example
config and the config corpus (tests/corpus/configs/), and hand-written
inputs in each target's format (see shared/src/fuzzing.rs). Files are named
seed-<sha1 prefix>, so rerunning adds nothing twice; inputs above 64 KiB
(the runs' -max_len) are skipped. Run from anywhere: python3 fuzz/seed_corpus.py
"""

import base64
import hashlib
import json
import struct
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "fuzz" / "corpus"
SEP = b"\xff"
MAX_LEN = 64 * 1024


def write(target, data):
    if isinstance(data, str):
        data = data.encode()
    if len(data) > MAX_LEN:
        return
    out = CORPUS / target
    out.mkdir(parents=True, exist_ok=True)
    (out / ("seed-" + hashlib.sha1(data).hexdigest()[:16])).write_bytes(data)


def expand(text):
    """«nest N», «repeat N TEXT», «b64 TEXT», innermost first (tests/src/corpus.rs)."""
    while "«" in text:
        start = text.rfind("«")
        end = text.find("»", start)
        if end < 0:
            break
        inner = text[start + 1 : end]
        op, _, arg = inner.partition(" ")
        if op == "nest":
            n = int(arg.strip() or 0)
            rep = "[" * n + "]" * n
        elif op == "repeat":
            n, _, what = arg.partition(" ")
            rep = what * int(n.strip() or 0)
        elif op == "b64":
            rep = base64.b64encode(arg.encode()).decode()
        else:
            raise ValueError(inner)
        text = text[:start] + rep + text[end + 1 :]
    return text


def event_text(spec):
    if isinstance(spec, dict) and "text" in spec:
        return expand(spec["text"])
    if not (isinstance(spec, dict) and "base" in spec):
        return json.dumps(spec)
    event = json.loads((ROOT / "events" / spec["base"]).read_text())
    for edit in spec.get("edits", []):
        if "set" in edit:
            parent, field = edit["set"].rsplit("/", 1)
            to = edit["to"]
            if isinstance(to, str) and "«" in to:
                to = expand(to)
            node = event
            for part in [p for p in parent.split("/") if p]:
                node = node[int(part)] if isinstance(node, list) else node[part]
            if isinstance(node, list):
                node[int(field)] = to
            else:
                node[field] = to
        if "remove" in edit:
            parent, field = edit["remove"].rsplit("/", 1)
            node = event
            for part in [p for p in parent.split("/") if p]:
                node = node[int(part)] if isinstance(node, list) else node[part]
            if isinstance(node, dict):
                node.pop(field, None)
    return json.dumps(event)


def corpus_events(name):
    return [event_text(case["event"]) for case in json.loads((ROOT / "tests" / "corpus" / name).read_text())]


def sample(name):
    return (ROOT / "events" / name).read_text()


def kinesis_payloads():
    out = []
    for name in ["kinesis.json", "kinesis-kpl.json"]:
        for r in json.loads(sample(name))["Records"]:
            out.append(base64.b64decode(r["kinesis"]["data"]))
    return out


def main():
    payloads = kinesis_payloads()

    # Sources.
    for name in ["kinesis.json", "kinesis-kpl.json"]:
        write("kinesis_decode", sample(name))
    for text in corpus_events("kinesis.json"):
        write("kinesis_decode", text)

    sns = json.dumps({"Records": [{"messageId": "m-1", "body": json.dumps({"Type": "Notification", "TopicArn": "arn:aws:sns:eu-west-1:123456789012:t", "Subject": "s", "Message": "{\"a\":1}", "MessageAttributes": {"k": {"Type": "String", "Value": "v"}}}), "eventSourceARN": "arn:aws:sqs:eu-west-1:123456789012:q"}]})
    b64 = json.dumps({"Records": [{"messageId": "m-1", "body": base64.b64encode(b"{\"a\":1}").decode()}, {"messageId": "m-2", "body": "%%%"}]})
    for flags in range(4):
        for name in ["sqs.json", "sqs-fifo.json"]:
            write("sqs_decode", bytes([flags]) + sample(name).encode())
        write("sqs_decode", bytes([flags]) + sns.encode())
        write("sqs_decode", bytes([flags]) + b64.encode())
    for text in corpus_events("sqs.json"):
        write("sqs_decode", b"\x00" + text.encode())

    for flags in range(2):
        write("iot_decode", bytes([flags]) + sample("iot-rule.json").encode())
        write("iot_decode", bytes([flags]) + b'{"t": "plant/a", "c": "dev-1", "topic": "x", "clientId": "y"}')
    for text in corpus_events("iot.json"):
        write("iot_decode", b"\x00" + text.encode())

    for name in ["apigw-v1-records.json", "apigw-v2-records.json", "apigw-v2-list-detectors.json"]:
        write("http_event", sample(name))
    for text in corpus_events("http.json"):
        write("http_event", text)
    detectors = {"detectors": [{"detectorModelName": "m", "keyValue": "k-1", "state": {"stateName": "Idle", "variables": [{"name": "t", "value": "1"}], "timers": [{"name": "x", "seconds": 5}]}}, {"keyValue": "k-2"}]}
    write("http_event", json.dumps({"httpMethod": "POST", "path": "/detectors", "body": json.dumps(detectors)}))
    write("http_event", json.dumps({"httpMethod": "POST", "path": "/detectors", "body": json.dumps({"detectors": [{"keyValue": "k", "state": {"stateName": "S"}}]})}))
    ndjson = '{"id": "a", "data": {"t": 1}}\n\n{"id": "a", "data_base64": "e30="}\nnot json\n{"key": "k", "data": 5, "extra": 1}\n'
    write("http_event", json.dumps({"requestContext": {"http": {"method": "post", "path": "/prod/records"}}, "rawPath": "/prod/records", "headers": {"Content-Type": "application/x-ndjson; charset=utf-8"}, "body": ndjson}))
    write("http_event", json.dumps({"httpMethod": "PUT", "path": "/records", "body": "[]", "isBase64Encoded": False}))
    write("http_event", json.dumps({"httpMethod": "POST", "path": "/records", "headers": {"content-type": "text/plain"}, "body": "x"}))
    write("http_event", json.dumps({"httpMethod": "POST", "path": "/records", "isBase64Encoded": True, "body": base64.b64encode(b'[{"data": 1}, {"id": "", "data": 2}]').decode()}))

    # KPL: raw aggregates (mode 0) and protobuf bodies the harness frames (mode 1).
    for p in payloads:
        write("kpl_deaggregate", b"\x00" + p)
        if p.startswith(b"\xf3\x89\x9a\xc2"):
            write("kpl_deaggregate", b"\x01" + p[4:-16])
    write("kpl_deaggregate", b"\x01" + bytes([0x0A, 0x01, 0x6B, 0x12, 0x01, 0x68, 0x1A, 0x07, 0x08, 0x00, 0x10, 0x00, 0x1A, 0x01, 0x78, 0x22, 0x00]))

    # Patterns: mode byte (source), pattern, SEP, payload [SEP attributes [SEP key]].
    patterns = [
        {"data": {"temperature": [{"numeric": [">", 50]}]}},
        {"data": {"temperature": [{"numeric": [">=", 0, "<", 60]}], "site": ["plant-a", "plant-b"]}},
        {"data": {"alarm": [True]}},
        {"data": {"deviceId": [{"prefix": "sensor-00"}], "ts": [{"suffix": {"equals-ignore-case": "Z"}}]}},
        {"data": {"site": [{"anything-but": {"prefix": "plant-c"}}], "x": [{"exists": False}]}},
        {"data": {"site": [{"anything-but": {"equals-ignore-case": ["PLANT-A"]}}]}},
        {"data": {"deviceId": [{"wildcard": "sensor-*1"}]}, "source": ["kinesis"]},
        {"data": {"$or": [{"temperature": [{"numeric": ["<", 0]}]}, {"alarm": [True]}]}},
        {"$or": [{"key": [{"equals-ignore-case": "DEVICE-7"}]}, {"attributes": {"shard_id": [{"prefix": "shardId"}]}}]},
        {"data": {"nested": {"a": [1, None, "x"]}}},
        {"data": [{"exists": True}]},
        {"attributes": {"topic": [{"wildcard": "plant/*/t"}]}},
        {"data": {"n": [300, {"anything-but": [1, "a", None]}]}},
        {"data": {"a": []}},
        {"data": {"a": [{"wildcard": "a**b"}]}},
        {"data": {"a": [{"numeric": [">", 5, "<", 1]}]}},
        {"other": ["x"]},
    ]
    extra = [b'{"nested": {"a": [0, 1]}, "n": 3.0e2}', b'[{"alarm": true}, {"alarm": false}]', b"42", b'{"a": 1e400}', b""]
    for i, pattern in enumerate(patterns):
        for p in payloads[:6] + extra:
            write("pattern_match", bytes([i % 4]) + json.dumps(pattern).encode() + SEP + p)
    write("pattern_match", b"\x00" + json.dumps(patterns[8]).encode() + SEP + b"{}" + SEP + b'{"shard_id": "shardId-1"}' + SEP + b"device-7")
    for w, t in [("plant/*/temp", "plant/7/temp"), ("*a*b*", "xaybz"), ("a*", "b"), ("", ""), ("*", "anything")]:
        write("pattern_match", b"\x01" + w.encode() + SEP + t.encode())

    # Pointers and the projection.
    doc = json.dumps({"a": {"b/c": [10, {"d~e": True}], "": 1, "0": "zero"}, "list": [1, 2, 3], "deviceId": "s-1"}).encode()
    for pointer in ["", "/a", "/a/b~1c/1/d~0e", "/a/", "/list/02", "/list/+1", "/list/-", "/x", "a", "/deviceId", "/a/b~1c/0"]:
        write("pointer_get", pointer.encode() + SEP + doc)
    for p in payloads[:6]:
        write("pointer_get", b"/temperature" + SEP + p)
        write("projection_parse", b"temperature\ndeviceId" + SEP + p)
    for fields, p in [(b"a", b'{"a": 1, "b": 1e400}'), (b"a\nb", b'{"a": [[[1]]], "a": 2, "c": {"d": null}}'), (b"", b" [1, {\"a\": 2}]"), (b"x", b'{"x":"\\u00e9\\"","y":tru}')]:
        write("projection_parse", fields + SEP + p)

    # Configs.
    write("config_parse", (ROOT / "fanout.yaml").read_text())
    configs = ROOT / "tests" / "corpus" / "configs"
    if configs.is_dir():
        for f in sorted(configs.iterdir()):
            if f.is_file():
                write("config_parse", f.read_bytes())
    fuzzing_rs = (ROOT / "shared" / "src" / "fuzzing.rs").read_text()
    start = fuzzing_rs.index("const DRY_RUN_CONFIGS")
    for chunk in fuzzing_rs[start:].split('r#"')[1:3]:
        write("config_parse", chunk.split('"#')[0])
    write("config_parse", """destinations:
  a: { type: firehose, delivery_stream: s, endpoint_url: 'http://localhost:4566', region: eu-west-1, max_records: 10, max_record_bytes: 100, max_request_bytes: 1000, max_in_flight: 2, rate_limit: { requests_per_second: 5, records_per_second: 100, bytes_per_second: 1e6 } }
  k: { type: kinesis, stream_arn: 'arn:aws:kinesis:eu-west-1:123456789012:stream/s', partition_key: /a~1b }
  e: { type: iot_events, input: in, timestamp: /ts, payload: /p, max_messages: 5, max_request_bytes: 512 }
  d: { type: iot_events_detector, detector_model: m, key: /k, state: /s, timers: { t: 60, u: /u }, max_detectors: 20 }
  w: { type: sitewise, properties: [ { asset_id: '{/a}', property_id: 'p{/b}x', value: /v, type: string, quality: UNCERTAIN } ], enable_partial_entry_processing: false }
routes:
  - { name: r, match: { data: { a: [ 1 ] } }, to: [e, d, w] }
unmatched: k
dead_letter: a
delivery: { max_attempts: 3, base_delay_ms: 10, max_delay_ms: 100, deadline_margin_ms: 500, max_in_flight: 4 }
sqs: { unwrap_sns: true, base64_body: true }
iot: { topic_field: t, client_id_field: c }
http: { max_body_bytes: 1000 }
""")
    write("config_parse", '{"destinations": {"a": {"type": "firehose", "delivery_stream": "s"}}, "routes": [{"name": "r", "match": {"data": {"t": [{"numeric": [">", 1.5]}]}}, "to": ["a"]}]}')
    write("config_parse", "destinations:\n  a: &x { type: firehose, delivery_stream: s }\n  b: *x\nroutes:\n  - { name: r, to: [a, b, c] }\n  - { name: r, match: , to: [] }\n")

    # Dry runs: config bit, then records (shape byte, payload) separated by SEP.
    entries = json.dumps({"entries": [{"propertyAlias": "/a", "propertyValues": [{"value": {"doubleValue": 1.5}, "timestamp": {"timeInSeconds": 1800000000, "offsetInNanos": 5}, "quality": "GOOD"}]}, {"assetId": "x", "propertyId": "y", "propertyValues": [{"value": {"integerValue": 3}, "timestamp": {"timeInSeconds": 1}}]}]}).encode()
    item = b'{"keyValue": "k-1", "state": {"stateName": "Idle", "variables": [{"name": "t", "value": 1}], "timers": [{"name": "x", "seconds": 5}]}}'
    reading = b'{"deviceId":"sensor-9","site":"a","temperature":99,"pressure":7,"q":"BAD","ts":1800000000123,"reading":{"t":1},"wait":30,"state":"Hot","asset":"as","n":2,"v":"on","b":true,"k/ey":["p"],"nested":{"level":3},"a-b":1}'
    records = [bytes([i % 16]) + p for i, p in enumerate(payloads[:6] + [entries, item, reading, b'{"alarm": true, "deviceId": "bad key!"}'])]
    for which in range(2):
        write("route_dry_run", bytes([which]) + SEP.join(records))
        for r in records:
            write("route_dry_run", bytes([which]) + r)

    # Response mappings read structure from bytes (see Reader in fuzzing.rs).
    for target in ["firehose_response", "kinesis_response", "iot_analytics_response", "iot_events_response", "iot_events_detector_response", "sitewise_response"]:
        write(target, b"")
        write(target, bytes(range(0, 64)))
        write(target, bytes([3, 1, 3, 1, 5, 0, 1, 2, 1, 0, 3, 7, 1, 1, 2, 1, 9, 1, 4]))
        write(target, bytes([5, 0, 5, 5, 1, 6, 0, 1, 2, 2, 4, 3, 1, 5, 1, 6, 1, 0, 1, 1, 1, 3, 0]) * 3)
    write("sitewise_response", bytes([0, 12]) + bytes(range(12)) + bytes([3, 0, 0, 1, 2, 2, 0, 1, 1, 1, 2, 1, 0, 0, 1]))


if __name__ == "__main__":
    main()
