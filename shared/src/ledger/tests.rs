use super::memory::MemoryStore;
use super::*;
use crate::record::RecordId;
use bytes::Bytes;
use std::sync::atomic::Ordering;

fn records(from: usize, to: usize) -> Vec<Record> {
    let attributes: serde_json::Map<String, serde_json::Value> =
        serde_json::from_str(r#"{"event_source_arn":"arn:aws:kinesis:us-east-1:1:stream/s","shard_id":"shardId-0"}"#).expect("json");
    let attributes = Arc::new(attributes);
    (from..to)
        .map(|i| Record::new(RecordId::new(format!("{:05}", i)), "kinesis", Bytes::from_static(b"{}")).with_attributes(Arc::clone(&attributes)))
        .collect()
}

fn set(names: &[&str]) -> BTreeSet<String> {
    names.iter().map(|n| (*n).to_owned()).collect()
}

#[tokio::test]
async fn a_clean_invocation_reads_one_marker_and_writes_nothing_then_reads_nothing() {
    let store = Arc::new(MemoryStore::default());
    let ledger = Ledger::new(store.clone());
    let batch = records(0, 5);
    let prior = ledger.before(&batch).await;
    assert!(prior.settled.is_empty() && prior.unavailable.is_none());
    ledger.after(&batch, &prior, &vec![set(&["a", "b"]); 5], &[false; 5]).await.expect("after");
    assert_eq!((store.reads.load(Ordering::SeqCst), store.writes.load(Ordering::SeqCst)), (1, 0));
    let prior = ledger.before(&records(5, 10)).await;
    assert!(prior.settled.is_empty());
    assert_eq!(store.reads.load(Ordering::SeqCst), 1, "this instance knows the shard is clear");
}

#[tokio::test]
async fn a_replay_knows_what_each_record_settled_and_the_marker_clears_after() {
    let store = Arc::new(MemoryStore::default());
    let ledger = Ledger::new(store.clone());
    let batch = records(0, 5);
    let prior = ledger.before(&batch).await;
    // Record 2 failed at b; everything else settled everywhere.
    let now: Vec<BTreeSet<String>> = (0..5).map(|i| if i == 2 { set(&["a"]) } else { set(&["a", "b"]) }).collect();
    let failed = [false, false, true, false, false];
    ledger.after(&batch, &prior, &now, &failed).await.expect("after");
    assert!(store.is_pending("arn:aws:kinesis:us-east-1:1:stream/s|shardId-0"));

    // Lambda replays from record 2.
    let replay = records(2, 5);
    let prior = ledger.before(&replay).await;
    assert_eq!(prior.settled.get(&0), Some(&set(&["a"])), "record 2 only needs b");
    assert_eq!(prior.settled.get(&1), Some(&set(&["a", "b"])));
    assert_eq!(prior.settled.get(&2), Some(&set(&["a", "b"])));
    let done = vec![set(&["b"]), BTreeSet::new(), BTreeSet::new()];
    ledger.after(&replay, &prior, &done, &[false; 3]).await.expect("after");
    assert!(!store.is_pending("arn:aws:kinesis:us-east-1:1:stream/s|shardId-0"), "nothing failed: the marker is cleared");
    let reads = store.reads.load(Ordering::SeqCst);
    ledger.before(&records(5, 8)).await;
    assert_eq!(store.reads.load(Ordering::SeqCst), reads, "and this instance knows it");
}

#[tokio::test]
async fn records_before_the_first_failure_are_not_remembered_they_do_not_come_back() {
    let store = Arc::new(MemoryStore::default());
    let ledger = Ledger::new(store.clone());
    let batch = records(0, 4);
    let prior = ledger.before(&batch).await;
    ledger.after(&batch, &prior, &vec![set(&["a"]); 4], &[false, false, true, false]).await.expect("after");
    let prior = ledger.before(&batch).await;
    assert_eq!(prior.settled.keys().copied().collect::<BTreeSet<_>>(), BTreeSet::from([2, 3]));
}

#[tokio::test]
async fn a_store_that_is_down_leaves_the_invocation_at_least_once() {
    let store = Arc::new(MemoryStore::default());
    let ledger = Ledger::new(store.clone());
    store.down.store(true, Ordering::SeqCst);
    let batch = records(0, 3);
    let prior = ledger.before(&batch).await;
    assert!(prior.unavailable.is_some() && prior.settled.is_empty(), "nothing is skipped");
    ledger.after(&batch, &prior, &vec![set(&["a"]); 3], &[true, false, false]).await.expect("after is a no-op");
    assert_eq!(store.writes.load(Ordering::SeqCst), 0);
}

#[test]
fn identities_are_the_sources_own() {
    let r = &records(7, 8)[0];
    assert_eq!(identity(r).as_deref(), Some("arn:aws:kinesis:us-east-1:1:stream/s|shardId-0|00007"));
    let iot = Record::new(RecordId::new("x"), "iot", Bytes::new());
    assert_eq!(identity(&iot), None, "IoT rule events carry no identity across retries");
    let http = Record::new(RecordId::new("auto-3"), "http", Bytes::new());
    assert_eq!(identity(&http), None, "assigned ids name an item within one request only");
}

#[tokio::test]
async fn a_write_that_fails_after_delivery_is_an_error_the_caller_logs_and_nothing_is_marked() {
    let store = Arc::new(MemoryStore::default());
    let ledger = Ledger::new(store.clone());
    let batch = records(0, 3);
    let prior = ledger.before(&batch).await;
    assert!(!Ledger::needs_after(&prior, false), "a clean invocation of a clear shard has nothing to write");
    assert!(Ledger::needs_after(&prior, true));
    store.down.store(true, Ordering::SeqCst);
    let err = ledger.after(&batch, &prior, &vec![set(&["a"]); 3], &[true, false, false]).await.unwrap_err();
    assert!(err.0.contains("down"), "{err}");
    store.down.store(false, Ordering::SeqCst);
    assert!(!store.is_pending("arn:aws:kinesis:us-east-1:1:stream/s|shardId-0"), "the replay will send again: a duplicate, not a loss");
    let prior = ledger.before(&batch).await;
    assert!(prior.settled.is_empty());
}

/// A forged batch with two records of one identity: read and written once
/// (the store refuses a key twice, as DynamoDB does), remembered as settled
/// only where both settled, so neither is skipped where it was not delivered.
#[tokio::test]
async fn two_records_claiming_one_identity_are_settled_only_where_both_are() {
    let store = Arc::new(MemoryStore::default());
    let ledger = Ledger::new(store.clone());
    let mut batch = records(0, 3);
    batch[1] = records(0, 1).remove(0); // record 1 claims record 0's identity
    let prior = ledger.before(&batch).await;
    let now = vec![set(&["a", "b"]), set(&["a"]), set(&["a", "b"])];
    ledger.after(&batch, &prior, &now, &[true, true, false]).await.expect("one key per call");
    let prior = ledger.before(&batch).await;
    assert!(prior.unavailable.is_none(), "{:?}", prior.unavailable);
    assert_eq!(prior.settled.get(&0), Some(&set(&["a"])), "b took only one of them");
    assert_eq!(prior.settled.get(&1), Some(&set(&["a"])));
    assert_eq!(prior.settled.get(&2), Some(&set(&["a", "b"])));
}
