//! The ledger's items in DynamoDB: one table, key `pk` (a string), TTL on
//! `ttl` (epoch seconds).
//!
//! | item | `pk` | other attributes |
//! |---|---|---|
//! | a partition's marker | `p#<partition>` | `ttl` |
//! | a record's settled destinations | `r#<identity>` | `d` (a string set), `ttl` |
//!
//! Reads are `BatchGetItem` (at most 100 keys each, strongly consistent, all
//! in flight), writes `BatchWriteItem` (at most 25 each, all in flight);
//! unprocessed keys and items are tried again, a few times.

use super::{LedgerStore, StoreError, StoreFuture};
use aws_sdk_dynamodb::types::{AttributeValue, DeleteRequest, KeysAndAttributes, PutRequest, WriteRequest};
use futures_util::future::join_all;
use std::collections::{BTreeSet, HashMap, HashSet};
use std::time::{SystemTime, UNIX_EPOCH};

/// The table's partition key (a string).
pub const KEY_ATTRIBUTE: &str = "pk";
/// The attribute DynamoDB's TTL reads (epoch seconds).
pub const TTL_ATTRIBUTE: &str = "ttl";
/// The IAM actions the store calls, and the only ones it needs on its table.
pub const ACTIONS: &[&str] = &["dynamodb:BatchGetItem", "dynamodb:BatchWriteItem"];

/// Most keys per `BatchGetItem`.
pub const MAX_GET_KEYS: usize = 100;
/// Most writes per `BatchWriteItem`.
pub const MAX_WRITES: usize = 25;
/// Tries of unprocessed keys or items before giving up on them.
const TRIES: usize = 4;

/// The ledger's table.
#[derive(Debug, Clone)]
pub struct DynamoDbStore {
    client: aws_sdk_dynamodb::Client,
    table: String,
    ttl_secs: u64,
}

type Item = HashMap<String, AttributeValue>;

fn key(pk: String) -> Item {
    HashMap::from([(KEY_ATTRIBUTE.to_owned(), AttributeValue::S(pk))])
}

fn failed(e: impl std::fmt::Display) -> StoreError {
    StoreError(e.to_string())
}

impl DynamoDbStore {
    /// The table `table` through `client`; items live `ttl_secs`.
    pub fn new(client: aws_sdk_dynamodb::Client, table: &str, ttl_secs: u64) -> Self {
        Self { client, table: table.to_owned(), ttl_secs }
    }

    fn ttl(&self) -> AttributeValue {
        let now = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
        AttributeValue::N((now + self.ttl_secs).to_string())
    }

    /// The items of `keys` (absent ones left out).
    async fn get(&self, keys: Vec<Item>) -> Result<Vec<Item>, StoreError> {
        let chunks = keys.chunks(MAX_GET_KEYS).map(|chunk| async move {
            let mut found = Vec::new();
            let mut left: Vec<Item> = chunk.to_vec();
            for _ in 0..TRIES {
                if left.is_empty() {
                    break;
                }
                let request = KeysAndAttributes::builder().set_keys(Some(std::mem::take(&mut left))).consistent_read(true).build().map_err(failed)?;
                let out = self.client.batch_get_item().request_items(&self.table, request).send().await.map_err(failed)?;
                found.extend(out.responses().and_then(|r| r.get(&self.table)).cloned().unwrap_or_default());
                left = out.unprocessed_keys().and_then(|u| u.get(&self.table)).map(|k| k.keys().to_vec()).unwrap_or_default();
            }
            if left.is_empty() {
                Ok(found)
            } else {
                Err(StoreError(format!("{} keys stayed unprocessed", left.len())))
            }
        });
        let mut all = Vec::new();
        for chunk in join_all(chunks).await {
            all.extend(chunk?);
        }
        Ok(all)
    }

    /// Apply `writes`.
    async fn write(&self, writes: Vec<WriteRequest>) -> Result<(), StoreError> {
        let chunks = writes.chunks(MAX_WRITES).map(|chunk| async move {
            let mut left: Vec<WriteRequest> = chunk.to_vec();
            for _ in 0..TRIES {
                if left.is_empty() {
                    break;
                }
                let out = self.client.batch_write_item().request_items(&self.table, std::mem::take(&mut left)).send().await.map_err(failed)?;
                left = out.unprocessed_items().and_then(|u| u.get(&self.table)).cloned().unwrap_or_default();
            }
            if left.is_empty() {
                Ok(())
            } else {
                Err(StoreError(format!("{} writes stayed unprocessed", left.len())))
            }
        });
        join_all(chunks).await.into_iter().collect()
    }

    fn put(&self, mut item: Item) -> Result<WriteRequest, StoreError> {
        item.insert(TTL_ATTRIBUTE.to_owned(), self.ttl());
        Ok(WriteRequest::builder().put_request(PutRequest::builder().set_item(Some(item)).build().map_err(failed)?).build())
    }
}

impl LedgerStore for DynamoDbStore {
    fn pending<'a>(&'a self, partitions: &'a [String]) -> StoreFuture<'a, HashSet<String>> {
        Box::pin(async move {
            let items = self.get(partitions.iter().map(|p| key(format!("p#{p}"))).collect()).await?;
            Ok(items.iter().filter_map(|i| i.get(KEY_ATTRIBUTE)?.as_s().ok()?.strip_prefix("p#").map(str::to_owned)).collect())
        })
    }

    fn settled<'a>(&'a self, identities: &'a [String]) -> StoreFuture<'a, HashMap<String, BTreeSet<String>>> {
        Box::pin(async move {
            let items = self.get(identities.iter().map(|id| key(format!("r#{id}"))).collect()).await?;
            Ok(items
                .iter()
                .filter_map(|i| {
                    let id = i.get(KEY_ATTRIBUTE)?.as_s().ok()?.strip_prefix("r#")?.to_owned();
                    let destinations = i.get("d")?.as_ss().ok()?.iter().cloned().collect();
                    Some((id, destinations))
                })
                .collect())
        })
    }

    fn remember<'a>(&'a self, settled: &'a [(String, BTreeSet<String>)], partitions: &'a [String]) -> StoreFuture<'a, ()> {
        Box::pin(async move {
            let records = settled
                .iter()
                .filter(|(_, d)| !d.is_empty())
                .map(|(id, destinations)| {
                    let mut item = key(format!("r#{id}"));
                    item.insert("d".to_owned(), AttributeValue::Ss(destinations.iter().cloned().collect()));
                    self.put(item)
                })
                .collect::<Result<Vec<_>, _>>()?;
            // Records first: a marker never names records that are not stored yet.
            self.write(records).await?;
            let markers = partitions.iter().map(|p| self.put(key(format!("p#{p}")))).collect::<Result<Vec<_>, _>>()?;
            self.write(markers).await
        })
    }

    fn clear<'a>(&'a self, partitions: &'a [String]) -> StoreFuture<'a, ()> {
        Box::pin(async move {
            let deletes = partitions
                .iter()
                .map(|p| {
                    Ok(WriteRequest::builder()
                        .delete_request(DeleteRequest::builder().set_key(Some(key(format!("p#{p}")))).build().map_err(failed)?)
                        .build())
                })
                .collect::<Result<Vec<_>, StoreError>>()?;
            self.write(deletes).await
        })
    }
}
