//! DynamoDB: the small part fanout's delivery ledger uses (awsJson1_0,
//! `X-Amz-Target: DynamoDB_20120810.<operation>`): `CreateTable`,
//! `GetItem`, `PutItem`, `DeleteItem`, `BatchGetItem`, `BatchWriteItem`.
//!
//! Items are kept as the API's typed JSON (`{"pk": {"S": "..."}}`), keyed
//! by the table's key attributes: those `CreateTable` names, or `pk` for a
//! table created on first use. Limits (DynamoDB API reference): at most 100
//! keys per `BatchGetItem` and 25 requests per `BatchWriteItem`, no key
//! twice in one request; a key must hold exactly the table's key
//! attributes. Not served: conditions, expressions, projections, TTL
//! expiry (items stay until deleted), capacity figures. Injected per-item
//! faults come back as `UnprocessedKeys` / `UnprocessedItems`, as
//! throttling does on the real service.

use super::unknown_operation;
use crate::faults::{Api, Faults};
use crate::store::Call;
use crate::wire::{ApiError, Protocol};
use crate::State;
use axum::body::Bytes;
use axum::response::Response;
use serde_json::{json, Map, Value};
use std::collections::{BTreeMap, BTreeSet};

/// Most keys per `BatchGetItem`.
pub const MAX_BATCH_GET_KEYS: usize = 100;
/// Most requests per `BatchWriteItem`.
pub const MAX_BATCH_WRITES: usize = 25;
/// The key attribute of a table created on first use.
pub const DEFAULT_KEY: &str = "pk";

/// One table: its key attribute names and its items by key.
#[derive(Debug, Clone)]
pub struct Table {
    /// The key attributes (hash, then range if any).
    pub key: Vec<String>,
    /// Items by their key's JSON text.
    pub items: BTreeMap<String, Value>,
}

impl Table {
    fn new(key: Vec<String>) -> Self {
        Table { key, items: BTreeMap::new() }
    }

    /// The key of `attributes` (an item or a key) as text, or why it is not one.
    fn key_of(&self, attributes: &Value, exact: bool) -> Result<String, ApiError> {
        let map = attributes.as_object().ok_or_else(|| invalid("The provided key element does not match the schema"))?;
        if exact && map.len() != self.key.len() {
            return Err(invalid("The provided key element does not match the schema"));
        }
        let mut parts = Map::new();
        for name in &self.key {
            let value = map.get(name).filter(|v| v.get("S").or_else(|| v.get("N")).or_else(|| v.get("B")).is_some());
            parts.insert(name.clone(), value.cloned().ok_or_else(|| invalid("The provided key element does not match the schema"))?);
        }
        Ok(Value::Object(parts).to_string())
    }
}

fn invalid(message: &str) -> ApiError {
    ApiError::bad("ValidationException", message)
}

fn not_found() -> ApiError {
    ApiError::bad("ResourceNotFoundException", "Requested resource not found")
}

/// A DynamoDB operation on the world.
type Operation = fn(&Value, &mut super::World, &mut Faults) -> Result<Value, ApiError>;

pub(crate) async fn handle(state: &State, operation: &str, body: &Bytes) -> Response {
    let (name, op): (&'static str, Operation) = match operation {
        "CreateTable" => ("CreateTable", create_table),
        "GetItem" => ("GetItem", get_item),
        "PutItem" => ("PutItem", put_item),
        "DeleteItem" => ("DeleteItem", delete_item),
        "BatchGetItem" => ("BatchGetItem", batch_get_item),
        "BatchWriteItem" => ("BatchWriteItem", batch_write_item),
        other => return unknown_operation(other),
    };
    state.serve(Api::DynamoDb, name, Protocol::AwsJson, body, op).await
}

/// The table `name`, created with the default key on first use when the world allows.
fn table<'w>(world: &'w mut super::World, name: &str) -> Result<&'w mut Table, ApiError> {
    if !world.tables.contains_key(name) {
        if !world.exists(Api::DynamoDb, name) {
            return Err(not_found());
        }
        world.tables.insert(name.to_owned(), Table::new(vec![DEFAULT_KEY.to_owned()]));
    }
    world.tables.get_mut(name).ok_or_else(not_found)
}

fn table_name(body: &Value) -> Result<&str, ApiError> {
    body.get("TableName")
        .and_then(Value::as_str)
        .filter(|n| (3..=255).contains(&n.len()))
        .ok_or_else(|| invalid("TableName must be 3-255 characters"))
}

fn create_table(body: &Value, world: &mut super::World, _: &mut Faults) -> Result<Value, ApiError> {
    let name = table_name(body)?.to_owned();
    let key: Vec<String> = body
        .get("KeySchema")
        .and_then(Value::as_array)
        .map(|schema| schema.iter().filter_map(|k| k.get("AttributeName").and_then(Value::as_str)).map(str::to_owned).collect())
        .unwrap_or_default();
    if key.is_empty() || key.len() > 2 {
        return Err(invalid("KeySchema must name one or two attributes"));
    }
    if world.tables.contains_key(&name) {
        return Err(ApiError::bad("ResourceInUseException", format!("Table already exists: {name}")));
    }
    world.create(Api::DynamoDb, &name);
    world.tables.insert(name.clone(), Table::new(key));
    Ok(json!({"TableDescription": {"TableName": name, "TableStatus": "ACTIVE"}}))
}

fn get_item(body: &Value, world: &mut super::World, _: &mut Faults) -> Result<Value, ApiError> {
    let name = table_name(body)?.to_owned();
    let t = table(world, &name)?;
    let key = t.key_of(body.get("Key").unwrap_or(&Value::Null), true)?;
    let item = t.items.get(&key).cloned();
    world.store.log(Call { api: Api::DynamoDb, operation: "GetItem", target: name, items: vec![(key, None)], status: 200 });
    Ok(item.map_or_else(|| json!({}), |item| json!({"Item": item})))
}

fn put_item(body: &Value, world: &mut super::World, _: &mut Faults) -> Result<Value, ApiError> {
    let name = table_name(body)?.to_owned();
    let item = body.get("Item").filter(|i| i.is_object()).ok_or_else(|| invalid("Item is required"))?.clone();
    let t = table(world, &name)?;
    let key = t.key_of(&item, false)?;
    t.items.insert(key.clone(), item);
    world.store.log(Call { api: Api::DynamoDb, operation: "PutItem", target: name, items: vec![(key, None)], status: 200 });
    Ok(json!({}))
}

fn delete_item(body: &Value, world: &mut super::World, _: &mut Faults) -> Result<Value, ApiError> {
    let name = table_name(body)?.to_owned();
    let t = table(world, &name)?;
    let key = t.key_of(body.get("Key").unwrap_or(&Value::Null), true)?;
    t.items.remove(&key);
    world.store.log(Call { api: Api::DynamoDb, operation: "DeleteItem", target: name, items: vec![(key, None)], status: 200 });
    Ok(json!({}))
}

fn request_items(body: &Value) -> Result<&Map<String, Value>, ApiError> {
    body.get("RequestItems").and_then(Value::as_object).filter(|m| !m.is_empty()).ok_or_else(|| invalid("RequestItems must name at least one table"))
}

fn batch_get_item(body: &Value, world: &mut super::World, faults: &mut Faults) -> Result<Value, ApiError> {
    let requests = request_items(body)?;
    let total: usize = requests.values().map(|r| r.get("Keys").and_then(Value::as_array).map_or(0, Vec::len)).sum();
    if total == 0 || total > MAX_BATCH_GET_KEYS {
        return Err(invalid("Too many items requested for the BatchGetItem call"));
    }
    let mut responses = Map::new();
    let mut unprocessed = Map::new();
    for (name, request) in requests {
        let keys = request.get("Keys").and_then(Value::as_array).map_or(&[][..], Vec::as_slice);
        let t = table(world, name)?;
        let mut seen = BTreeSet::new();
        let mut found = Vec::new();
        let mut left = Vec::new();
        let mut logged = Vec::new();
        for k in keys {
            let key = t.key_of(k, true)?;
            if !seen.insert(key.clone()) {
                return Err(invalid("Provided list of item keys contains duplicates"));
            }
            match faults.item_error(Api::DynamoDb, name, || key.clone()) {
                Some(code) => {
                    left.push(k.clone());
                    logged.push((key, Some(code)));
                }
                None => {
                    found.extend(t.items.get(&key).cloned());
                    logged.push((key, None));
                }
            }
        }
        responses.insert(name.clone(), Value::Array(found));
        if !left.is_empty() {
            unprocessed.insert(name.clone(), json!({"Keys": left}));
        }
        world.store.log(Call { api: Api::DynamoDb, operation: "BatchGetItem", target: name.clone(), items: logged, status: 200 });
    }
    Ok(json!({"Responses": responses, "UnprocessedKeys": unprocessed}))
}

fn batch_write_item(body: &Value, world: &mut super::World, faults: &mut Faults) -> Result<Value, ApiError> {
    let requests = request_items(body)?;
    let total: usize = requests.values().map(|r| r.as_array().map_or(0, Vec::len)).sum();
    if total == 0 || total > MAX_BATCH_WRITES {
        return Err(invalid("Too many items requested for the BatchWriteItem call"));
    }
    // Check everything before writing anything: a bad request writes nothing.
    let mut planned: Vec<(String, String, Option<Value>, Value)> = Vec::new();
    for (name, writes) in requests {
        let t = table(world, name)?;
        let mut seen = BTreeSet::new();
        for w in writes.as_array().map_or(&[][..], Vec::as_slice) {
            let (key, item) = match (w.pointer("/PutRequest/Item"), w.pointer("/DeleteRequest/Key")) {
                (Some(item), None) => (t.key_of(item, false)?, Some(item.clone())),
                (None, Some(key)) => (t.key_of(key, true)?, None),
                _ => return Err(invalid("Each write names exactly one of PutRequest or DeleteRequest")),
            };
            if !seen.insert(key.clone()) {
                return Err(invalid("Provided list of item keys contains duplicates"));
            }
            planned.push((name.clone(), key, item, w.clone()));
        }
    }
    let mut unprocessed: Map<String, Value> = Map::new();
    let mut logged: BTreeMap<String, Vec<(String, Option<String>)>> = BTreeMap::new();
    for (name, key, item, request) in planned {
        if let Some(code) = faults.item_error(Api::DynamoDb, &name, || key.clone()) {
            if let Some(list) = unprocessed.entry(name.clone()).or_insert_with(|| json!([])).as_array_mut() {
                list.push(request);
            }
            logged.entry(name).or_default().push((key, Some(code)));
            continue;
        }
        let t = table(world, &name)?;
        match item {
            Some(item) => t.items.insert(key.clone(), item),
            None => t.items.remove(&key),
        };
        logged.entry(name).or_default().push((key, None));
    }
    for (name, items) in logged {
        world.store.log(Call { api: Api::DynamoDb, operation: "BatchWriteItem", target: name, items, status: 200 });
    }
    Ok(json!({"UnprocessedItems": unprocessed}))
}
