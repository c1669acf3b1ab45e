//! Lambda's replay of a Kinesis batch, as the stream tests need it: the
//! handler answers with its failures, and the batch is delivered again from
//! the lowest reported sequence number until nothing fails.

use fanout::Fanout;
use std::time::{Duration, SystemTime};

/// Invoke the Kinesis handler with `records` (sequence number, payload; key
/// `pk`) and replay from the first reported failure until none is left;
/// `before(n)` runs before invocation `n` (from 1), to change faults. Returns
/// the number of invocations; panics after `max` of them.
pub async fn until_clean(fanout: &Fanout, records: &[(String, Vec<u8>)], max: usize, mut before: impl FnMut(usize)) -> usize {
    let mut from = 0;
    let mut invocations = 0;
    while from < records.len() {
        invocations += 1;
        assert!(invocations <= max, "the replays never ended");
        before(invocations);
        let event = crate::kinesis_event(records[from..].iter().map(|(seq, payload)| (seq.as_str(), "pk", payload.as_slice())));
        let response = fanout::sources::kinesis::handle(fanout, event, SystemTime::now() + Duration::from_secs(30)).await.expect("a response");
        from = match response.batch_item_failures.first().and_then(|f| f.item_identifier.clone()) {
            None => records.len(),
            Some(seq) => records.iter().position(|(s, _)| *s == seq).expect("a sequence number of the batch"),
        };
    }
    invocations
}
