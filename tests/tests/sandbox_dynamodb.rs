//! The sandbox's DynamoDB subset (what the delivery ledger uses) as the SDK
//! sees it, over real HTTP: tables made by CreateTable or on first use,
//! items read back as written, the batch limits, and injected faults as
//! unprocessed keys and items or whole-call errors.

use aws_sdk_dynamodb::types::{AttributeValue, DeleteRequest, KeysAndAttributes, PutRequest, WriteRequest};
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use fanout_sandbox::faults::{Api, FaultSpec};
use fanout_sandbox::{Sandbox, SandboxOptions};
use std::collections::HashMap;

async fn client(options: SandboxOptions) -> (Sandbox, aws_sdk_dynamodb::Client) {
    let sandbox = Sandbox::start(options, 0).await.expect("the sandbox starts");
    let client = aws_sdk_dynamodb::Client::new(&fanout_local::sdk::endpoint_sdk_config(&sandbox.endpoint));
    (sandbox, client)
}

fn key(pk: &str) -> HashMap<String, AttributeValue> {
    HashMap::from([("pk".to_owned(), AttributeValue::S(pk.to_owned()))])
}

fn item(pk: &str, accepted: &[&str]) -> HashMap<String, AttributeValue> {
    let mut item = key(pk);
    item.insert("accepted".into(), AttributeValue::Ss(accepted.iter().map(|s| (*s).to_owned()).collect()));
    item.insert("ttl".into(), AttributeValue::N("1800000000".into()));
    item
}

#[tokio::test]
async fn items_are_written_read_back_and_deleted() {
    let (_sandbox, db) = client(SandboxOptions::default()).await;
    db.put_item().table_name("ledger").set_item(Some(item("a", &["archive"]))).send().await.expect("put");
    let got = db.get_item().table_name("ledger").set_key(Some(key("a"))).send().await.expect("get");
    assert_eq!(got.item().and_then(|i| i.get("accepted")).and_then(|v| v.as_ss().ok()).cloned(), Some(vec!["archive".to_owned()]));
    assert!(db.get_item().table_name("ledger").set_key(Some(key("missing"))).send().await.expect("get").item().is_none());

    let writes: Vec<WriteRequest> = ["b", "c"]
        .iter()
        .map(|pk| WriteRequest::builder().put_request(PutRequest::builder().set_item(Some(item(pk, &["relay"]))).build().expect("put")).build())
        .chain(std::iter::once(
            WriteRequest::builder().delete_request(DeleteRequest::builder().set_key(Some(key("a"))).build().expect("delete")).build(),
        ))
        .collect();
    let out = db.batch_write_item().request_items("ledger", writes).send().await.expect("batch write");
    assert!(out.unprocessed_items().is_none_or(HashMap::is_empty));

    let keys = KeysAndAttributes::builder().set_keys(Some(vec![key("a"), key("b"), key("c")])).build().expect("keys");
    let out = db.batch_get_item().request_items("ledger", keys).send().await.expect("batch get");
    let mut found: Vec<String> = out
        .responses()
        .and_then(|r| r.get("ledger"))
        .map_or_else(Vec::new, |items| items.iter().filter_map(|i| i.get("pk")?.as_s().ok().cloned()).collect());
    found.sort();
    assert_eq!(found, ["b", "c"], "a was deleted in the same batch");
    db.delete_item().table_name("ledger").set_key(Some(key("b"))).send().await.expect("delete");
    assert!(db.get_item().table_name("ledger").set_key(Some(key("b"))).send().await.expect("get").item().is_none());
}

#[tokio::test]
async fn the_batch_limits_and_the_key_schema_are_enforced() {
    let (_sandbox, db) = client(SandboxOptions::default()).await;
    let too_many: Vec<_> = (0..101).map(|i| key(&format!("k{i}"))).collect();
    let keys = KeysAndAttributes::builder().set_keys(Some(too_many)).build().expect("keys");
    let err = db.batch_get_item().request_items("ledger", keys).send().await.expect_err("over 100 keys");
    assert_eq!(err.code(), Some("ValidationException"));
    let writes: Vec<WriteRequest> = (0..26)
        .map(|i| {
            WriteRequest::builder().put_request(PutRequest::builder().set_item(Some(item(&format!("k{i}"), &["x"]))).build().expect("put")).build()
        })
        .collect();
    let err = db.batch_write_item().request_items("ledger", writes).send().await.expect_err("over 25 writes");
    assert_eq!(err.code(), Some("ValidationException"));
    let wrong = HashMap::from([("id".to_owned(), AttributeValue::S("x".into()))]);
    let err = db.get_item().table_name("ledger").set_key(Some(wrong)).send().await.expect_err("not the table's key");
    assert_eq!(err.code(), Some("ValidationException"));
}

#[tokio::test]
async fn unknown_tables_are_not_found_without_auto_create() {
    let (_sandbox, db) = client(SandboxOptions { auto_create: false, ..SandboxOptions::default() }).await;
    let err = db.get_item().table_name("ledger").set_key(Some(key("a"))).send().await.expect_err("no table");
    assert_eq!(err.code(), Some("ResourceNotFoundException"));
    db.create_table()
        .table_name("ledger")
        .key_schema(
            aws_sdk_dynamodb::types::KeySchemaElement::builder()
                .attribute_name("pk")
                .key_type(aws_sdk_dynamodb::types::KeyType::Hash)
                .build()
                .expect("schema"),
        )
        .attribute_definitions(
            aws_sdk_dynamodb::types::AttributeDefinition::builder()
                .attribute_name("pk")
                .attribute_type(aws_sdk_dynamodb::types::ScalarAttributeType::S)
                .build()
                .expect("definition"),
        )
        .billing_mode(aws_sdk_dynamodb::types::BillingMode::PayPerRequest)
        .send()
        .await
        .expect("create");
    db.put_item().table_name("ledger").set_item(Some(item("a", &["archive"]))).send().await.expect("put after create");
}

#[tokio::test]
async fn injected_faults_come_back_unprocessed_or_as_whole_call_errors() {
    let spec = FaultSpec::parse("dynamodb:match=slow").expect("spec");
    let (sandbox, db) = client(SandboxOptions { faults: spec, ..SandboxOptions::default() }).await;
    let writes: Vec<WriteRequest> = ["fast-1", "slow-2"]
        .iter()
        .map(|pk| WriteRequest::builder().put_request(PutRequest::builder().set_item(Some(item(pk, &["x"]))).build().expect("put")).build())
        .collect();
    let out = db.batch_write_item().request_items("ledger", writes).send().await.expect("batch write");
    let left = out.unprocessed_items().and_then(|u| u.get("ledger")).map_or(0, Vec::len);
    assert_eq!(left, 1, "the matching item is unprocessed, the other written");
    let keys = KeysAndAttributes::builder().set_keys(Some(vec![key("fast-1"), key("slow-2")])).build().expect("keys");
    let out = db.batch_get_item().request_items("ledger", keys).send().await.expect("batch get");
    assert_eq!(out.unprocessed_keys().and_then(|u| u.get("ledger")).map_or(0, |k| k.keys().len()), 1);
    assert_eq!(out.responses().and_then(|r| r.get("ledger")).map_or(0, Vec::len), 1);

    sandbox.state.faults().set(&FaultSpec::parse("dynamodb:status=503,count=1").expect("spec"));
    let err = db.get_item().table_name("ledger").set_key(Some(key("fast-1"))).send().await;
    // The SDK retries a 503 on its own: one injected failure is absorbed.
    assert!(err.is_ok(), "{err:?}");
    let calls = sandbox.state.world().store.calls().iter().filter(|c| c.api == Api::DynamoDb && c.status == 503).count();
    assert_eq!(calls, 1, "the sandbox answered 503 once");
}
