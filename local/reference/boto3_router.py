#!/usr/bin/env python3
"""The reference router of `fanout-local bench --process`: the job of the
`big` and `large` workloads done the straightforward way, in Python on boto3,
without fanout's design. Every record of a Kinesis event goes to one
Firehose delivery stream (PutRecordBatch) and one Kinesis stream
(PutRecords, keyed by a field of the JSON payload), 500 records a request,
one request at a time; failed entries are resent up to twice; the records
still failed are reported in batchItemFailures. It runs the Lambda Runtime
API loop itself, as the Lambda Python runtime does, so it is measured
exactly as a function binary is.

Environment: AWS_LAMBDA_RUNTIME_API; AWS_ENDPOINT_URL, AWS_REGION and
credentials (boto3 reads them); REFERENCE_DELIVERY_STREAM, REFERENCE_STREAM,
REFERENCE_PARTITION_KEY."""
import base64
import json
import os
import urllib.request

import boto3
from botocore.config import Config

API = "http://%s/2018-06-01/runtime" % os.environ["AWS_LAMBDA_RUNTIME_API"]
DELIVERY_STREAM = os.environ["REFERENCE_DELIVERY_STREAM"]
STREAM = os.environ["REFERENCE_STREAM"]
PARTITION_KEY = os.environ["REFERENCE_PARTITION_KEY"]
ATTEMPTS = 3

config = Config(retries={"max_attempts": 1, "mode": "standard"})
firehose = boto3.client("firehose", config=config)
kinesis = boto3.client("kinesis", config=config)


def batches(indices, max_count, max_bytes, size):
    batch, total = [], 0
    for i in indices:
        s = size(i)
        if batch and (len(batch) == max_count or total + s > max_bytes):
            yield batch
            batch, total = [], 0
        batch.append(i)
        total += s
    if batch:
        yield batch


def send_all(indices, max_count, max_bytes, size, put):
    """Send, resend the failed entries; return the indices still failed."""
    pending = list(indices)
    for _ in range(ATTEMPTS):
        retry = []
        for batch in batches(pending, max_count, max_bytes, size):
            try:
                results = put(batch)
            except Exception:
                retry.extend(batch)
                continue
            retry.extend(i for i, r in zip(batch, results) if "ErrorCode" in r)
        pending = retry
        if not pending:
            break
    return pending


def handle(event):
    records = event["Records"]
    payloads = [base64.b64decode(r["kinesis"]["data"]) for r in records]
    keys = [str(json.loads(p)[PARTITION_KEY]) for p in payloads]
    everyone = range(len(payloads))
    failed = set(send_all(
        everyone, 500, 4 * 1024 * 1024, lambda i: len(payloads[i]),
        lambda batch: firehose.put_record_batch(
            DeliveryStreamName=DELIVERY_STREAM, Records=[{"Data": payloads[i]} for i in batch])["RequestResponses"]))
    failed.update(send_all(
        everyone, 500, 5 * 1024 * 1024, lambda i: len(payloads[i]) + len(keys[i]),
        lambda batch: kinesis.put_records(
            StreamName=STREAM, Records=[{"Data": payloads[i], "PartitionKey": keys[i]} for i in batch])["Records"]))
    return {"batchItemFailures": [{"itemIdentifier": records[i]["kinesis"]["sequenceNumber"]} for i in sorted(failed)]}


while True:
    with urllib.request.urlopen(API + "/invocation/next") as answer:
        request_id = answer.headers["Lambda-Runtime-Aws-Request-Id"]
        event = json.loads(answer.read())
    body = json.dumps(handle(event)).encode()
    urllib.request.urlopen(urllib.request.Request(API + "/invocation/%s/response" % request_id, data=body, method="POST")).read()
