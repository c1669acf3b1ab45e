//! Engine tests with a scripted in-memory destination (no SDK, no network).

use super::*;
use crate::deliver::api::Purpose;
use crate::error::ErrorClass;
use crate::pack::Limits;
use crate::record::Record;
use std::collections::HashMap;
use std::sync::Mutex;

/// Answers each item by a script keyed on (item, attempt of that item).
struct Scripted {
    limits: Limits,
    /// item -> results for its 1st, 2nd, ... send; past the end: Ok.
    item_script: HashMap<u32, Vec<Option<ItemError>>>,
    /// Whole-request answers for the 1st, 2nd, ... request; past the end: per item.
    request_script: Mutex<Vec<Option<ItemError>>>,
    /// Every request: the items it carried.
    sent: Mutex<Vec<Vec<u32>>>,
    delay: Duration,
    /// item -> its order key (none: unordered).
    keys: HashMap<u32, &'static str>,
}

impl Scripted {
    fn new(max_items: usize) -> Self {
        Self {
            limits: Limits { max_items, max_item_bytes: 100, max_request_bytes: 1000 },
            item_script: HashMap::new(),
            request_script: Mutex::new(Vec::new()),
            sent: Mutex::new(Vec::new()),
            delay: Duration::ZERO,
            keys: HashMap::new(),
        }
    }

    fn sends_of(&self, item: u32) -> usize {
        self.sent.lock().unwrap().iter().flatten().filter(|&&i| i == item).count()
    }
}

impl BatchApi for Scripted {
    type Entry = u32;
    type Request = Vec<u32>;

    fn limits(&self) -> Limits {
        self.limits
    }

    fn prepare(&self, _record: &Record, _purpose: Purpose, _out: &mut Vec<Prepared<u32>>) -> Result<(), ItemError> {
        unreachable!("the engine never prepares")
    }

    fn order_key<'e>(&self, entry: &'e u32) -> Option<&'e str> {
        self.keys.get(entry).copied()
    }

    fn encode(&self, batch: &[&u32]) -> Result<Vec<u32>, ItemError> {
        Ok(batch.iter().map(|&&i| i).collect())
    }

    async fn send(&self, batch: &[&u32]) -> Result<Vec<ItemResult>, ItemError> {
        let items = self.encode(batch)?;
        let attempts: Vec<usize> = items.iter().map(|&i| self.sends_of(i)).collect();
        self.sent.lock().unwrap().push(items.clone());
        if !self.delay.is_zero() {
            tokio::time::sleep(self.delay).await;
        }
        {
            let mut script = self.request_script.lock().unwrap();
            if !script.is_empty() {
                if let Some(e) = script.remove(0) {
                    return Err(e);
                }
            }
        }
        Ok(items
            .iter()
            .zip(attempts)
            .map(|(i, n)| match self.item_script.get(i).and_then(|s| s.get(n)).cloned().flatten() {
                Some(e) => Err(e),
                None => Ok(()),
            })
            .collect())
    }
}

fn items(n: u32) -> Vec<Prepared<u32>> {
    (0..n).map(|i| Prepared { entry: i, size: 10 }).collect()
}

fn policy(max_attempts: u32) -> RetryPolicy {
    RetryPolicy { max_attempts, base_delay: Duration::from_millis(1), max_delay: Duration::from_millis(4), max_in_flight: 4 }
}

fn far() -> Instant {
    Instant::now() + Duration::from_secs(30)
}

fn throttled() -> ItemError {
    ItemError::transient("ProvisionedThroughputExceededException", "slow down")
}

#[tokio::test]
async fn all_delivered_in_the_fewest_requests() {
    let dest = Scripted::new(4);
    let (outcomes, stats) = deliver(&dest, &items(10), &policy(3), None, far()).await;
    assert!(outcomes.iter().all(|o| *o == ItemOutcome::Delivered));
    assert_eq!(stats.requests, 3, "ceil(10 / 4)");
    assert_eq!(stats.retried, 0);
}

#[tokio::test]
async fn only_failed_items_are_resent_and_repacked_together() {
    let mut dest = Scripted::new(4);
    dest.item_script.insert(1, vec![Some(throttled())]);
    dest.item_script.insert(6, vec![Some(throttled()), Some(throttled())]);
    let (outcomes, stats) = deliver(&dest, &items(8), &policy(5), None, far()).await;
    assert!(outcomes.iter().all(|o| *o == ItemOutcome::Delivered), "{outcomes:?}");
    let sent = dest.sent.lock().unwrap().clone();
    assert_eq!(sent.len(), 2 + 1 + 1, "two first-round requests, then one per resend round");
    let mut second_round = sent[2].clone();
    second_round.sort();
    assert_eq!(second_round, vec![1, 6], "the resend round carries only the failed items, in one request");
    assert_eq!(sent[3], vec![6]);
    assert_eq!(stats.retried, 3);
}

#[tokio::test]
async fn items_that_keep_failing_are_reported_failed_and_the_rest_delivered() {
    let mut dest = Scripted::new(10);
    dest.item_script.insert(2, vec![Some(throttled()); 10]);
    let (outcomes, _) = deliver(&dest, &items(5), &policy(3), None, far()).await;
    assert_eq!(outcomes[2], ItemOutcome::Failed(throttled()));
    assert_eq!(dest.sends_of(2), 3, "max_attempts bounds the sends");
    assert!(outcomes.iter().enumerate().all(|(i, o)| i == 2 || *o == ItemOutcome::Delivered));
}

#[tokio::test]
async fn permanent_item_errors_are_not_resent() {
    let mut dest = Scripted::new(10);
    let invalid = ItemError::permanent("InvalidArgumentException", "bad");
    dest.item_script.insert(0, vec![Some(invalid.clone())]);
    let (outcomes, stats) = deliver(&dest, &items(3), &policy(5), None, far()).await;
    assert_eq!(outcomes[0], ItemOutcome::Rejected(invalid));
    assert_eq!(dest.sends_of(0), 1);
    assert_eq!(stats.requests, 1);
}

#[tokio::test]
async fn whole_request_errors_retry_transient_and_reject_permanent() {
    let dest = Scripted::new(10);
    *dest.request_script.lock().unwrap() = vec![Some(ItemError { code: "Http500".into(), message: "oops".into(), class: ErrorClass::Transient })];
    let (outcomes, stats) = deliver(&dest, &items(3), &policy(3), None, far()).await;
    assert!(outcomes.iter().all(|o| *o == ItemOutcome::Delivered));
    assert_eq!(stats.requests, 2);

    let dest = Scripted::new(10);
    *dest.request_script.lock().unwrap() =
        vec![Some(ItemError { code: "ResourceNotFoundException".into(), message: "no stream".into(), class: ErrorClass::Permanent })];
    let (outcomes, stats) = deliver(&dest, &items(3), &policy(3), None, far()).await;
    assert!(outcomes.iter().all(|o| matches!(o, ItemOutcome::Rejected(e) if e.code == "ResourceNotFoundException")));
    assert_eq!(stats.requests, 1);
}

#[tokio::test]
async fn stops_before_the_deadline_and_reports_what_did_not_finish() {
    let mut dest = Scripted::new(10);
    dest.item_script.insert(0, vec![Some(throttled()); 1000]);
    let policy = RetryPolicy { max_attempts: 1000, base_delay: Duration::from_millis(20), max_delay: Duration::from_millis(40), max_in_flight: 4 };
    let start = Instant::now();
    let deadline = start + Duration::from_millis(300);
    let (outcomes, _) = deliver(&dest, &items(2), &policy, None, deadline).await;
    assert!(Instant::now() <= deadline + Duration::from_millis(50), "returned {:?} after start", start.elapsed());
    assert_eq!(outcomes[0], ItemOutcome::Failed(throttled()));
    assert_eq!(outcomes[1], ItemOutcome::Delivered);
}

#[tokio::test]
async fn requests_in_flight_at_the_deadline_are_abandoned_as_failed() {
    let mut dest = Scripted::new(10);
    dest.delay = Duration::from_secs(5);
    let deadline = Instant::now() + Duration::from_millis(100);
    let (outcomes, _) = deliver(&dest, &items(2), &policy(3), None, deadline).await;
    assert!(outcomes.iter().all(|o| matches!(o, ItemOutcome::Failed(e) if e.code == "DeadlineExceeded")));
}

#[test]
fn backoff_is_full_jitter_under_the_cap() {
    let p = RetryPolicy { max_attempts: 5, base_delay: Duration::from_millis(100), max_delay: Duration::from_millis(1000), max_in_flight: 1 };
    for _ in 0..200 {
        assert!(p.backoff(1) <= Duration::from_millis(100));
        assert!(p.backoff(3) <= Duration::from_millis(400));
        assert!(p.backoff(40) <= Duration::from_millis(1000));
    }
    assert!((0..200).any(|_| p.backoff(3) > Duration::from_millis(200)), "draws spread over the whole range");
}

fn paced(requests_per_second: f64) -> crate::pace::Pacer {
    crate::pace::Pacer::new(&crate::pace::RateLimit { requests_per_second: Some(requests_per_second), ..Default::default() }).expect("limited")
}

#[tokio::test(start_paused = true)]
async fn a_rate_limit_spaces_requests() {
    let dest = Scripted::new(1);
    let pacer = paced(10.0);
    let start = Instant::now();
    let (outcomes, stats) = deliver(&dest, &items(30), &policy(3), Some(&pacer), start + Duration::from_secs(60)).await;
    assert!(outcomes.iter().all(|o| *o == ItemOutcome::Delivered));
    assert_eq!(stats.requests, 30);
    // One every 100 ms: the 30th goes at 2.9 s.
    let took = start.elapsed();
    assert!(took >= Duration::from_millis(2_900) && took < Duration::from_millis(3_100), "{took:?}");
}

#[tokio::test(start_paused = true)]
async fn requests_whose_slot_is_past_the_deadline_are_not_sent_and_reported_failed() {
    let dest = Scripted::new(1);
    let pacer = paced(10.0);
    let deadline = Instant::now() + Duration::from_millis(1_500);
    let (outcomes, _) = deliver(&dest, &items(30), &policy(3), Some(&pacer), deadline).await;
    let sent = dest.sent.lock().unwrap().len();
    assert!(sent < 30, "{sent} requests sent");
    let failed = outcomes.iter().filter(|o| matches!(o, ItemOutcome::Failed(e) if e.code == "DeadlineExceeded")).count();
    assert_eq!(failed, 30 - sent, "every item not sent is reported failed, transient");
}

/// Items 0..n with keys: `groups[i]` is item i's key.
fn keyed(groups: &[&'static str]) -> (Scripted, Vec<Prepared<u32>>) {
    let mut dest = Scripted::new(10);
    dest.keys = groups.iter().enumerate().map(|(i, k)| (i as u32, *k)).collect();
    (dest, items(groups.len() as u32))
}

#[tokio::test]
async fn ordered_keys_go_one_item_per_request_each_after_the_one_before() {
    let (dest, items) = keyed(&["a", "a", "a", "b", "c"]);
    let (outcomes, stats) = deliver(&dest, &items, &policy(3), None, far()).await;
    assert!(outcomes.iter().all(|o| *o == ItemOutcome::Delivered), "{outcomes:?}");
    let sent = dest.sent.lock().unwrap().clone();
    let sorted = |mut v: Vec<u32>| {
        v.sort();
        v
    };
    assert_eq!(sent.into_iter().map(sorted).collect::<Vec<_>>(), vec![vec![0, 3, 4], vec![1], vec![2]]);
    assert_eq!((stats.requests, stats.requests_lower_bound), (3, 3), "a key of three items needs three requests");
}

#[tokio::test]
async fn a_failed_item_is_resent_before_the_rest_of_its_key() {
    let (mut dest, items) = keyed(&["a", "a", "b", "b"]);
    dest.item_script.insert(0, vec![Some(throttled())]);
    let (outcomes, stats) = deliver(&dest, &items, &policy(3), None, far()).await;
    assert!(outcomes.iter().all(|o| *o == ItemOutcome::Delivered), "{outcomes:?}");
    let sent = dest.sent.lock().unwrap().clone();
    let order_of_a: Vec<u32> = sent.iter().flatten().copied().filter(|i| *i < 2).collect();
    assert_eq!(order_of_a, vec![0, 0, 1], "item 1 waits for item 0's resend");
    assert_eq!(stats.retried, 1);
}

#[tokio::test]
async fn when_an_item_gives_up_the_rest_of_its_key_is_held_back_and_other_keys_go_on() {
    let (mut dest, items) = keyed(&["a", "a", "a", "b", "b"]);
    dest.item_script.insert(1, vec![Some(throttled()); 5]);
    let (outcomes, _) = deliver(&dest, &items, &policy(2), None, far()).await;
    assert_eq!(outcomes[0], ItemOutcome::Delivered);
    assert_eq!(outcomes[1], ItemOutcome::Failed(throttled()));
    match &outcomes[2] {
        ItemOutcome::Failed(e) => assert_eq!((e.code.as_str(), e.is_transient()), ("HeldBack", true), "{e}"),
        other => panic!("item 2 must be held back, not {other:?}"),
    }
    assert_eq!(dest.sends_of(2), 0, "a held-back item is never sent");
    assert_eq!(dest.sends_of(1), 2);
    assert_eq!(&outcomes[3..], &[ItemOutcome::Delivered, ItemOutcome::Delivered]);
}

#[tokio::test]
async fn a_refused_item_is_dead_lettered_and_its_key_goes_on() {
    let (mut dest, items) = keyed(&["a", "a"]);
    let invalid = ItemError::permanent("InvalidMessageContents", "bad");
    dest.item_script.insert(0, vec![Some(invalid.clone())]);
    let (outcomes, _) = deliver(&dest, &items, &policy(3), None, far()).await;
    assert_eq!(outcomes, vec![ItemOutcome::Rejected(invalid), ItemOutcome::Delivered]);
}

#[tokio::test]
async fn at_the_deadline_unsent_items_of_a_failing_key_are_held_back() {
    let (mut dest, items) = keyed(&["a", "a", "b"]);
    dest.delay = Duration::from_millis(30);
    dest.item_script.insert(0, vec![Some(throttled()); 5]);
    let long_backoff = RetryPolicy { max_attempts: 5, base_delay: Duration::from_secs(5), max_delay: Duration::from_secs(5), max_in_flight: 4 };
    let deadline = Instant::now() + Duration::from_millis(200);
    let (outcomes, _) = deliver(&dest, &items, &long_backoff, None, deadline).await;
    assert_eq!(outcomes[0], ItemOutcome::Failed(throttled()));
    assert!(matches!(&outcomes[1], ItemOutcome::Failed(e) if e.code == "HeldBack"), "{:?}", outcomes[1]);
    assert_eq!(outcomes[2], ItemOutcome::Delivered);
}

#[tokio::test]
async fn one_keys_backoff_does_not_hold_the_other_keys_back() {
    let (mut dest, items) = keyed(&["a", "b", "b", "b"]);
    dest.item_script.insert(0, vec![Some(throttled()); 10]);
    let slow = RetryPolicy { max_attempts: 5, base_delay: Duration::from_secs(5), max_delay: Duration::from_secs(5), max_in_flight: 4 };
    // A backoff of up to 5 s against a deadline 1 s away: `a` gives up, `b` is not delayed by it.
    let deadline = Instant::now() + Duration::from_secs(1);
    let (outcomes, _) = deliver(&dest, &items, &slow, None, deadline).await;
    assert_eq!(&outcomes[1..], &[ItemOutcome::Delivered, ItemOutcome::Delivered, ItemOutcome::Delivered], "{outcomes:?}");
    assert!(matches!(&outcomes[0], ItemOutcome::Failed(e) if e.code == throttled().code));
}
