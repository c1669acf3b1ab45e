//! Destinations: one module per batch API, all of the same shape.
//!
//! Each module holds the API's limits as named constants, a pure `prepare`
//! that turns a record into a sized entry (or a permanent error naming the
//! rule), a thin `send` over the SDK client, and a pure function from the
//! response to one result per sent entry. The delivery engine
//! ([`crate::deliver`]) is generic over [`Destination`] and knows nothing of
//! any one API.

pub mod firehose;
pub mod iot_analytics;
pub mod iot_events;
pub mod iot_events_detector;
pub mod kinesis;
pub mod sitewise;

use crate::error::{ErrorClass, ItemError, RequestError};
use crate::pack::Limits;
use crate::record::Record;
use std::future::Future;

/// An entry ready for a destination, with its size in the API's own measure.
#[derive(Debug, Clone)]
pub struct Prepared<E> {
    /// The entry.
    pub entry: E,
    /// The bytes it counts against the item and request limits.
    pub size: usize,
}

/// Why a record is being prepared: routed records follow the destination's
/// mapping; dead-letter envelopes are sent as they are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// A record a route sent here.
    Route,
    /// A dead-letter envelope (its payload is the envelope, not the record's).
    DeadLetter,
}

/// The result of one entry in a request that the service answered.
pub type ItemResult = Result<(), ItemError>;

/// A batch API.
pub trait Destination: Send + Sync {
    /// What one request entry holds before it becomes an SDK type.
    type Entry: Send + Sync;
    /// What [`Destination::encode`] builds for one request.
    type Request: Send;

    /// The limits the packer must respect.
    fn limits(&self) -> Limits;

    /// Build the entries for one record (most APIs: one; SiteWise: one per
    /// value) and push them to `out`. Pure. An `Err` is permanent: the record
    /// breaks a rule of this API and none of its entries is sent (the caller
    /// discards anything pushed before the error).
    fn prepare(&self, record: &Record, purpose: Purpose, out: &mut Vec<Prepared<Self::Entry>>) -> Result<(), ItemError>;

    /// Group items into requests. The default packs by count and bytes with
    /// [`crate::pack::pack`]; destinations whose requests have more structure
    /// (SiteWise: values grouped into entries) override it. Returns indices
    /// into `items`; every index must appear in exactly one batch.
    fn pack(&self, items: &[&Prepared<Self::Entry>]) -> Vec<Vec<usize>> {
        let sizes: Vec<usize> = items.iter().map(|i| i.size).collect();
        crate::pack::pack(&sizes, &self.limits())
    }

    /// The fewest requests the API's limits allow for `items`, the figure
    /// [`Destination::pack`] is measured against. The default bounds by count
    /// and bytes ([`Limits::lower_bound`]).
    fn lower_bound(&self, items: &[&Prepared<Self::Entry>]) -> usize {
        self.limits().lower_bound(items.iter().map(|i| i.size))
    }

    /// The request's entries as SDK types: what [`Destination::send`] sends
    /// for this batch, built without sending. Pure; an `Err` is a whole-request
    /// failure (an SDK builder refused a value).
    fn encode(&self, batch: &[&Self::Entry]) -> Result<Self::Request, RequestError>;

    /// Send one request. `Ok` holds exactly one result per entry, in order;
    /// `Err` means the whole request failed and every entry shares the error.
    fn send(&self, batch: &[&Self::Entry]) -> impl Future<Output = Result<Vec<ItemResult>, RequestError>> + Send;
}

/// How requests leave: over the network, or not at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SendMode {
    /// Send each request with the SDK client.
    #[default]
    Live,
    /// Encode each request as it would be sent, send nothing, and answer
    /// success for every entry ([`DryRun`]).
    DryRun,
}

/// A destination that sends nothing: each request is planned and encoded
/// exactly as `D` would, then every entry is answered success. The CPU-only
/// path of an invocation, for benchmarks and what-if runs.
#[derive(Debug)]
pub struct DryRun<'a, D>(pub &'a D);

impl<D: Destination> Destination for DryRun<'_, D> {
    type Entry = D::Entry;
    type Request = D::Request;

    fn limits(&self) -> Limits {
        self.0.limits()
    }

    fn prepare(&self, record: &Record, purpose: Purpose, out: &mut Vec<Prepared<Self::Entry>>) -> Result<(), ItemError> {
        self.0.prepare(record, purpose, out)
    }

    fn pack(&self, items: &[&Prepared<Self::Entry>]) -> Vec<Vec<usize>> {
        self.0.pack(items)
    }

    fn lower_bound(&self, items: &[&Prepared<Self::Entry>]) -> usize {
        self.0.lower_bound(items)
    }

    fn encode(&self, batch: &[&Self::Entry]) -> Result<Self::Request, RequestError> {
        self.0.encode(batch)
    }

    async fn send(&self, batch: &[&Self::Entry]) -> Result<Vec<ItemResult>, RequestError> {
        std::hint::black_box(self.0.encode(batch)?);
        Ok(vec![Ok(()); batch.len()])
    }
}

/// Map a positional per-entry response (`RequestResponses[i]`, `Records[i]`)
/// back to the sent entries. A response of another length than the request
/// is treated as a transient whole-request failure, never guessed at.
pub(crate) fn map_positional<'a>(
    api: &str,
    sent: usize,
    entries: impl ExactSizeIterator<Item = (Option<&'a str>, Option<&'a str>)>,
    classify: fn(&str) -> ErrorClass,
) -> Result<Vec<ItemResult>, RequestError> {
    if entries.len() != sent {
        return Err(RequestError::bad_response(format!("{api} answered {} entries for {sent} sent", entries.len())));
    }
    Ok(entries
        .map(|(code, message)| match code {
            None => Ok(()),
            Some(code) => Err(ItemError { code: code.to_owned(), message: message.unwrap_or_default().to_owned(), class: classify(code) }),
        })
        .collect())
}

/// A message id derived from the record's identity, so a record keeps its id
/// on every resend: the id itself when it fits `[a-zA-Z0-9_-]{1,max_len}`
/// (a KPL sub-sequence's `#` becomes `-`), else `h` and a 64-bit FNV-1a hash
/// of it in hex. Ids are unique within an invocation, so within each request.
pub(crate) fn message_id(id: &crate::record::RecordId, max_len: usize) -> String {
    let text = match id.sub_sequence {
        Some(sub) => format!("{}-{sub}", id.source_id),
        None => id.source_id.clone(),
    };
    if !text.is_empty() && text.len() <= max_len && text.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-') {
        return text;
    }
    let hash = text.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3));
    format!("h{hash:016x}")
}

/// Map per-entry errors keyed by id (IoT Analytics, IoT Events) back to the
/// sent entries; an entry not named in the errors succeeded.
pub(crate) fn map_by_id<'a>(
    sent_ids: impl Iterator<Item = &'a str>,
    errors: impl Iterator<Item = (Option<&'a str>, Option<&'a str>, Option<&'a str>)>,
    classify: fn(&str) -> ErrorClass,
) -> Vec<ItemResult> {
    let errors: std::collections::HashMap<&str, (&str, &str)> =
        errors.filter_map(|(id, code, message)| Some((id?, (code.unwrap_or("UnknownError"), message.unwrap_or_default())))).collect();
    sent_ids
        .map(|id| match errors.get(id) {
            None => Ok(()),
            Some((code, message)) => Err(ItemError { code: (*code).to_owned(), message: (*message).to_owned(), class: classify(code) }),
        })
        .collect()
}

/// Reject a record whose prepared size exceeds the destination's item limit.
pub(crate) fn check_size(size: usize, limits: &Limits, api: &str, what: &str) -> Result<(), ItemError> {
    if size > limits.max_item_bytes {
        return Err(ItemError::permanent(
            "RecordTooLarge",
            format!("{what} is {size} bytes, above the {api} limit of {} bytes", limits.max_item_bytes),
        ));
    }
    Ok(())
}

/// Every destination type, for the registry built from the config.
#[derive(Debug, Clone)]
pub enum AnyDestination {
    /// `type: firehose`.
    Firehose(firehose::Firehose),
    /// `type: kinesis`.
    Kinesis(kinesis::Kinesis),
    /// `type: iot_analytics`.
    IotAnalytics(iot_analytics::IotAnalytics),
    /// `type: iot_events`.
    IotEvents(iot_events::IotEvents),
    /// `type: iot_events_detector`.
    IotEventsDetector(iot_events_detector::IotEventsDetector),
    /// `type: sitewise`.
    Sitewise(sitewise::Sitewise),
}

/// The final state of one record at one destination, from its items.
pub use crate::deliver::ItemOutcome;

impl AnyDestination {
    /// Prepare `records` and deliver them; one outcome per record, in order.
    ///
    /// A record whose `prepare` fails is `Rejected` without being sent. A
    /// record that becomes several items is `Rejected` if any item was,
    /// else `Failed` if any item failed, else `Delivered`.
    pub async fn deliver(
        &self,
        records: &[&crate::record::Record],
        purpose: Purpose,
        policy: &crate::deliver::RetryPolicy,
        pacer: Option<&crate::pace::Pacer>,
        deadline: tokio::time::Instant,
        mode: SendMode,
    ) -> (Vec<ItemOutcome>, crate::deliver::SendStats) {
        match self {
            AnyDestination::Firehose(d) => deliver_in(mode, d, records, purpose, policy, pacer, deadline).await,
            AnyDestination::Kinesis(d) => deliver_in(mode, d, records, purpose, policy, pacer, deadline).await,
            AnyDestination::IotAnalytics(d) => deliver_in(mode, d, records, purpose, policy, pacer, deadline).await,
            AnyDestination::IotEvents(d) => deliver_in(mode, d, records, purpose, policy, pacer, deadline).await,
            AnyDestination::IotEventsDetector(d) => deliver_in(mode, d, records, purpose, policy, pacer, deadline).await,
            AnyDestination::Sitewise(d) => deliver_in(mode, d, records, purpose, policy, pacer, deadline).await,
        }
    }

    /// The packing limits.
    pub fn limits(&self) -> Limits {
        match self {
            AnyDestination::Firehose(d) => d.limits(),
            AnyDestination::Kinesis(d) => d.limits(),
            AnyDestination::IotAnalytics(d) => d.limits(),
            AnyDestination::IotEvents(d) => d.limits(),
            AnyDestination::IotEventsDetector(d) => d.limits(),
            AnyDestination::Sitewise(d) => d.limits(),
        }
    }
}

async fn deliver_in<D: Destination>(
    mode: SendMode,
    dest: &D,
    records: &[&crate::record::Record],
    purpose: Purpose,
    policy: &crate::deliver::RetryPolicy,
    pacer: Option<&crate::pace::Pacer>,
    deadline: tokio::time::Instant,
) -> (Vec<ItemOutcome>, crate::deliver::SendStats) {
    match mode {
        SendMode::Live => prepare_and_deliver(dest, records, purpose, policy, pacer, deadline).await,
        // A dry run sends nothing, so it is not paced.
        SendMode::DryRun => prepare_and_deliver(&DryRun(dest), records, purpose, policy, None, deadline).await,
    }
}

async fn prepare_and_deliver<D: Destination>(
    dest: &D,
    records: &[&crate::record::Record],
    purpose: Purpose,
    policy: &crate::deliver::RetryPolicy,
    pacer: Option<&crate::pace::Pacer>,
    deadline: tokio::time::Instant,
) -> (Vec<ItemOutcome>, crate::deliver::SendStats) {
    let mut outcomes = vec![ItemOutcome::Delivered; records.len()];
    let mut items = Vec::with_capacity(records.len());
    let mut owner: Vec<u32> = Vec::with_capacity(records.len());
    for (index, record) in records.iter().enumerate() {
        let before = items.len();
        match dest.prepare(record, purpose, &mut items) {
            Ok(()) => owner.resize(items.len(), index as u32),
            Err(e) => {
                items.truncate(before);
                outcomes[index] = ItemOutcome::Rejected(e);
            }
        }
    }
    let (item_outcomes, stats) = crate::deliver::deliver(dest, &items, policy, pacer, deadline).await;
    for (item, outcome) in item_outcomes.into_iter().enumerate() {
        let slot = &mut outcomes[owner[item] as usize];
        *slot = match (&*slot, outcome) {
            (ItemOutcome::Rejected(_), _) => continue,
            (_, rejected @ ItemOutcome::Rejected(_)) => rejected,
            (ItemOutcome::Failed(_), _) => continue,
            (_, other) => other,
        };
    }
    (outcomes, stats)
}
