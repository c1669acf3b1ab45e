#!/usr/bin/env python3
"""Deaggregate Kinesis records with the AWS library (PyPI `aws-kinesis-agg`),
an implementation of the KPL format independent of fanout's.

stdin: a JSON array of Kinesis records, each {"partitionKey": ..., "data": <base64>}.
stdout: a JSON array of the user records they hold, in order, each
{"partitionKey": ..., "data": <base64>, "aggregated": true|false}.
A record that is not an aggregate comes out as it went in (aggregated: false)."""
import base64
import json
import sys

from aws_kinesis_agg.deaggregator import deaggregate_records

records = [
    {
        "eventSource": "aws:kinesis",
        "kinesis": {
            "kinesisSchemaVersion": "1.0",
            "sequenceNumber": str(49590000000000000000000000000000000000000000000000000000 + i),
            "approximateArrivalTimestamp": 1767225600.0,
            "partitionKey": r["partitionKey"],
            "data": r["data"],
        },
    }
    for i, r in enumerate(json.load(sys.stdin))
]
out = []
for r in deaggregate_records(records):
    data = r["kinesis"]["data"]
    out.append({
        "partitionKey": r["kinesis"]["partitionKey"],
        "data": data.decode() if isinstance(data, bytes) else data,
        "aggregated": bool(r["kinesis"].get("aggregated", False)),
    })
json.dump(out, sys.stdout)
