//! One invocation, end to end: route, deliver to every destination at once,
//! dead-letter what can never succeed, and say what happened to each record.

use crate::clients::Clients;
use crate::config::{Config, DestinationConfig};
use crate::dead_letter::envelope;
use crate::deliver::{ItemOutcome, RetryPolicy, SendStats};
use crate::destinations::iot_analytics::IotAnalytics;
use crate::destinations::iot_events::IotEvents;
use crate::destinations::iot_events_detector::IotEventsDetector;
use crate::destinations::sitewise::Sitewise;
use crate::destinations::{firehose::Firehose, kinesis::Kinesis, AnyDestination, Purpose, SendMode};
use crate::error::ItemError;
use crate::record::Record;
use crate::router::route;
use futures_util::future::join_all;
use std::time::{Duration, SystemTime};
use tokio::time::Instant;

/// How far past Lambda's longest timeout a deadline may lie before it is
/// taken for a bogus one (clock skew between the Runtime API and the function).
const DEADLINE_SLACK_MS: u64 = 60_000;

/// The pseudo-destination under which records a source could not decode appear.
pub const SOURCE_REJECTS: &str = "(source)";

/// A configured destination, ready to send.
#[derive(Debug, Clone)]
pub struct Target {
    /// The name in the config.
    pub name: String,
    /// The config `type`.
    pub kind: &'static str,
    /// The sender.
    pub destination: AnyDestination,
    /// Its retry policy.
    pub policy: RetryPolicy,
    /// Its rate limit, shared by every invocation of this instance (`None`: unlimited).
    pub pacer: Option<std::sync::Arc<crate::pace::Pacer>>,
}

/// The router: a validated config with its destinations built. Build once
/// per process (cold start) and share across invocations.
#[derive(Debug, Clone)]
pub struct Fanout {
    config: Config,
    targets: Vec<Target>,
    clients: Clients,
    /// The payload fields routes and mappings read, when that is not the
    /// whole document ([`crate::projection`]).
    projection: Option<std::sync::Arc<[String]>>,
    /// Where the summary line and the metrics go.
    telemetry: crate::metrics::Telemetry,
}

/// What happened to one record at one destination.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DestinationOutcome {
    /// Accepted.
    Delivered,
    /// Refused for good, and the envelope was accepted by the dead-letter destination.
    DeadLettered(ItemError),
    /// Not delivered: reported failed to the source.
    Failed(ItemError),
}

/// What happened to one record overall.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RecordStatus {
    /// Every destination it was routed to accepted it.
    Delivered,
    /// No route took it and there is no `unmatched` destination.
    Unrouted,
    /// At least one destination refused it and its envelope was dead-lettered; no failures.
    DeadLettered,
    /// At least one destination did not accept it: report it to the source.
    Failed,
}

/// Per-destination results of one invocation.
#[derive(Debug, Clone)]
pub struct DestinationReport {
    /// The destination's name.
    pub name: String,
    /// Its `type`.
    pub kind: &'static str,
    /// `(record index, outcome)` for every record routed here, ascending.
    pub outcomes: Vec<(u32, DestinationOutcome)>,
    /// Requests, items, bytes and resends of the routed records.
    pub stats: SendStats,
    /// Requests, items and bytes this destination took as the dead-letter destination.
    pub dead_letter_stats: SendStats,
    /// How many `outcomes` are of each kind, when whoever built the report
    /// counted them on the way (`None`: [`DestinationReport::counts`] counts).
    pub tally: Option<Tally>,
}

/// How many outcomes of one destination are of each kind.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tally {
    /// Delivered.
    pub delivered: usize,
    /// Failed.
    pub failed: usize,
    /// Dead-lettered.
    pub dead_lettered: usize,
}

impl Tally {
    fn add(&mut self, outcome: &DestinationOutcome) {
        match outcome {
            DestinationOutcome::Delivered => self.delivered += 1,
            DestinationOutcome::DeadLettered(_) => self.dead_lettered += 1,
            DestinationOutcome::Failed(_) => self.failed += 1,
        }
    }
}

/// Counts for one destination, as logs and the local runner show them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct DestinationCounts {
    /// Records routed here.
    pub routed: usize,
    /// Records accepted.
    pub delivered: usize,
    /// Records not delivered, reported failed.
    pub failed: usize,
    /// Records refused and dead-lettered.
    pub dead_lettered: usize,
    /// Requests sent (dead-letter envelopes included).
    pub requests: u64,
    /// Bytes sent, resends and envelopes included.
    pub bytes: u64,
    /// Item resends.
    pub retried: u64,
    /// The fewest requests the API limits allow for one send of each item
    /// (dead-letter envelopes included); `requests` above it means resends.
    pub requests_lower_bound: u64,
    /// Item sends refused with a throttling code.
    pub throttles: u64,
}

impl DestinationReport {
    /// The counts for this destination (without a scan of the outcomes when
    /// the report was built with its [`Tally`]).
    pub fn counts(&self) -> DestinationCounts {
        let tally = self.tally.unwrap_or_else(|| {
            let mut t = Tally::default();
            for (_, o) in &self.outcomes {
                t.add(o);
            }
            t
        });
        DestinationCounts {
            routed: self.outcomes.len(),
            requests: self.stats.requests + self.dead_letter_stats.requests,
            bytes: self.stats.bytes + self.dead_letter_stats.bytes,
            retried: self.stats.retried + self.dead_letter_stats.retried,
            requests_lower_bound: self.stats.requests_lower_bound + self.dead_letter_stats.requests_lower_bound,
            throttles: self.stats.throttled + self.dead_letter_stats.throttled,
            delivered: tally.delivered,
            failed: tally.failed,
            dead_lettered: tally.dead_lettered,
        }
    }
}

/// The result of one invocation.
#[derive(Debug, Clone)]
pub struct Report {
    /// Per input record, in input order.
    pub status: Vec<RecordStatus>,
    /// Per destination, in config order.
    pub destinations: Vec<DestinationReport>,
}

impl Report {
    /// A report for `n` records that nothing has happened to yet.
    pub fn empty(n: usize) -> Self {
        Report { status: vec![RecordStatus::Delivered; n], destinations: Vec::new() }
    }

    /// Fold in the report of a sub-batch whose record `i` is record `map[i]` here.
    pub fn merge(&mut self, part: Report, map: &[usize]) {
        for (i, s) in part.status.into_iter().enumerate() {
            self.status[map[i]] = s;
        }
        for d in part.destinations {
            let at = match self.destinations.iter().position(|x| x.name == d.name) {
                Some(at) => at,
                None => {
                    self.destinations.push(DestinationReport {
                        name: d.name.clone(),
                        kind: d.kind,
                        outcomes: Vec::new(),
                        stats: SendStats::default(),
                        dead_letter_stats: SendStats::default(),
                        tally: Some(Tally::default()),
                    });
                    self.destinations.len() - 1
                }
            };
            let mine = &mut self.destinations[at];
            mine.outcomes.extend(d.outcomes.into_iter().map(|(i, o)| (map[i as usize] as u32, o)));
            mine.outcomes.sort_by_key(|(i, _)| *i);
            mine.tally = match (mine.tally, d.tally) {
                (Some(a), Some(b)) => Some(Tally {
                    delivered: a.delivered + b.delivered,
                    failed: a.failed + b.failed,
                    dead_lettered: a.dead_lettered + b.dead_lettered,
                }),
                _ => None,
            };
            mine.stats.add(&d.stats);
            mine.dead_letter_stats.add(&d.dead_letter_stats);
        }
    }

    /// Indices of the records to report failed to the source, ascending.
    pub fn failed(&self) -> impl Iterator<Item = usize> + '_ {
        self.status.iter().enumerate().filter(|(_, s)| **s == RecordStatus::Failed).map(|(i, _)| i)
    }

    /// `destination: code: message` of the first failure of one record, for error messages.
    pub fn first_error(&self, record: usize) -> String {
        self.outcomes_of(record)
            .find_map(|(dest, o)| match o {
                DestinationOutcome::Failed(e) => Some(format!("{dest}: {}: {}", e.code, e.message)),
                _ => None,
            })
            .unwrap_or_else(|| "no reason recorded".to_owned())
    }

    /// Every destination outcome of one record (a scan: for reports, not hot paths).
    pub fn outcomes_of(&self, record: usize) -> impl Iterator<Item = (&str, &DestinationOutcome)> + '_ {
        self.destinations
            .iter()
            .filter_map(move |d| d.outcomes.binary_search_by_key(&(record as u32), |(i, _)| *i).ok().map(|k| (d.name.as_str(), &d.outcomes[k].1)))
    }

    /// How many records ended in each status, in one pass: delivered,
    /// unrouted, dead-lettered, failed.
    pub fn totals(&self) -> [usize; 4] {
        let (mut delivered, mut unrouted, mut dead_lettered, mut failed) = (0, 0, 0, 0);
        for s in &self.status {
            match s {
                RecordStatus::Delivered => delivered += 1,
                RecordStatus::Unrouted => unrouted += 1,
                RecordStatus::DeadLettered => dead_lettered += 1,
                RecordStatus::Failed => failed += 1,
            }
        }
        [delivered, unrouted, dead_lettered, failed]
    }

    /// How many records ended in `status`.
    pub fn count(&self, status: RecordStatus) -> usize {
        self.totals()[status as usize]
    }
}

impl Fanout {
    /// Build every destination's sender from the config and the clients.
    pub fn new(config: Config, clients: &Clients) -> Self {
        let targets = config
            .destinations
            .iter()
            .map(|(name, dest)| {
                let (url, region) = (dest.endpoint_url(), dest.region());
                let destination = match dest {
                    DestinationConfig::Firehose(c) => AnyDestination::Firehose(Firehose::new(clients.firehose_for(url, region), c)),
                    DestinationConfig::Kinesis(c) => AnyDestination::Kinesis(Kinesis::new(clients.kinesis_for(url, region), c)),
                    DestinationConfig::IotAnalytics(c) => AnyDestination::IotAnalytics(IotAnalytics::new(clients.iotanalytics_for(url, region), c)),
                    DestinationConfig::IotEvents(c) => AnyDestination::IotEvents(IotEvents::new(clients.ioteventsdata_for(url, region), c)),
                    DestinationConfig::IotEventsDetector(c) => {
                        AnyDestination::IotEventsDetector(IotEventsDetector::new(clients.ioteventsdata_for(url, region), c))
                    }
                    DestinationConfig::Sitewise(c) => AnyDestination::Sitewise(Sitewise::new(clients.iotsitewise_for(url, region), c)),
                };
                let d = &config.delivery;
                let policy = RetryPolicy {
                    max_attempts: d.max_attempts,
                    base_delay: Duration::from_millis(d.base_delay_ms),
                    max_delay: Duration::from_millis(d.max_delay_ms),
                    max_in_flight: dest.max_in_flight().unwrap_or(d.max_in_flight),
                };
                let pacer = crate::pace::Pacer::new(&dest.rate_limit()).map(std::sync::Arc::new);
                Target { name: name.clone(), kind: dest.kind(), destination, policy, pacer }
            })
            .collect();
        let projection = match config.data_fields() {
            crate::projection::DataFields::Fields(fields) => Some(fields.into_iter().collect::<Vec<_>>().into()),
            crate::projection::DataFields::Unused | crate::projection::DataFields::Whole => None,
        };
        Self { config, targets, clients: clients.clone(), projection, telemetry: crate::metrics::Telemetry::discard() }
    }

    /// Write the summary line and metrics of each invocation through
    /// `telemetry` (the default discards them).
    pub fn with_telemetry(mut self, telemetry: crate::metrics::Telemetry) -> Self {
        self.telemetry = telemetry;
        self
    }

    /// Where the summary line and the metrics go.
    pub fn telemetry(&self) -> &crate::metrics::Telemetry {
        &self.telemetry
    }

    /// The top-level payload fields each record's JSON view keeps (`None`:
    /// the whole document, or nothing reads it).
    pub fn projection(&self) -> Option<&[String]> {
        self.projection.as_deref()
    }

    /// Turn the projected JSON view off: every record is then parsed whole.
    /// For comparing the two; the result is the same.
    pub fn without_projection(mut self) -> Self {
        self.projection = None;
        self
    }

    /// The SDK clients (for reads such as detector state).
    pub fn clients(&self) -> &Clients {
        &self.clients
    }

    /// The validated config.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The destinations.
    pub fn targets(&self) -> &[Target] {
        &self.targets
    }

    /// The instant to stop sending: the Lambda deadline less `deadline_margin_ms`.
    ///
    /// A deadline that is already past when the invocation starts, or further
    /// away than Lambda's longest timeout, is not a real one (`cargo lambda
    /// watch` 1.9 sends `lambda-runtime-deadline-ms: 600000`, a deadline in
    /// 1970): it is treated as unknown, `delivery.unknown_deadline_budget_ms`
    /// from now is used instead, and a warning is logged once per process.
    pub fn stop_at(&self, lambda_deadline: SystemTime) -> Instant {
        let delivery = &self.config.delivery;
        let remaining = match lambda_deadline.duration_since(SystemTime::now()) {
            Ok(left) if !left.is_zero() && left <= Duration::from_millis(crate::config::MAX_LAMBDA_TIMEOUT_MS + DEADLINE_SLACK_MS) => left,
            _ => {
                static WARNED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
                if !WARNED.swap(true, std::sync::atomic::Ordering::Relaxed) {
                    let deadline_ms =
                        lambda_deadline.duration_since(std::time::UNIX_EPOCH).map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
                    tracing::warn!(
                        deadline_ms,
                        budget_ms = delivery.unknown_deadline_budget_ms,
                        "the invocation deadline is not a real one (already past, or beyond Lambda's 15-minute limit); using delivery.unknown_deadline_budget_ms instead (warned once)"
                    );
                }
                Duration::from_millis(delivery.unknown_deadline_budget_ms)
            }
        };
        Instant::now() + remaining.saturating_sub(Duration::from_millis(delivery.deadline_margin_ms))
    }

    /// Route and deliver `records`, stopping at `stop_at`. Never fails: every
    /// record ends `Delivered`, `Unrouted`, `DeadLettered` or `Failed`.
    pub async fn process(&self, records: &[Record], stop_at: Instant) -> Report {
        self.process_with_rejects(records, Vec::new(), stop_at).await
    }

    /// Like [`Fanout::process`], for sources that could not decode some
    /// records: `rejects` (record index, permanent error) are not routed;
    /// they appear under the pseudo-destination `(source)` and go to the
    /// dead-letter destination like any refused record, else are reported.
    pub async fn process_with_rejects(&self, records: &[Record], rejects: Vec<(u32, ItemError)>, stop_at: Instant) -> Report {
        self.run(records, rejects, stop_at, SendMode::Live).await
    }

    /// Route `records` and plan and encode every request exactly as
    /// [`Fanout::process`] would, but send nothing: every entry is answered
    /// success ([`crate::destinations::DryRun`]). The CPU-only path, for
    /// benchmarks; the report counts the requests that would have been sent.
    pub async fn process_dry_run(&self, records: &[Record]) -> Report {
        self.run(records, Vec::new(), Instant::now() + Duration::from_secs(3600), SendMode::DryRun).await
    }

    async fn run(&self, records: &[Record], rejects: Vec<(u32, ItemError)>, stop_at: Instant, mode: SendMode) -> Report {
        if let Some(fields) = &self.projection {
            for record in records {
                record.project_json(fields);
            }
        }
        let mut routing = route(&self.config.routes, self.config.unmatched, self.targets.len(), records);
        if !rejects.is_empty() {
            let mut rejected = vec![false; records.len()];
            for (i, _) in &rejects {
                rejected[*i as usize] = true;
            }
            for list in routing.per_destination.iter_mut().chain(std::iter::once(&mut routing.unrouted)) {
                list.retain(|&i| !rejected[i as usize]);
            }
        }
        let deliveries = join_all(self.targets.iter().zip(&routing.per_destination).map(|(target, indices)| async move {
            if indices.is_empty() {
                return (Vec::new(), SendStats::default());
            }
            let batch: Vec<&Record> = indices.iter().map(|&i| &records[i as usize]).collect();
            target.destination.deliver(&batch, Purpose::Route, &target.policy, target.pacer.as_deref(), stop_at, mode).await
        }))
        .await;

        let mut destinations: Vec<DestinationReport> = Vec::with_capacity(self.targets.len());
        let mut refused: Vec<(usize, usize, ItemError)> = Vec::new(); // (destination, position, error)
        for (d, ((target, indices), (outcomes, stats))) in self.targets.iter().zip(&routing.per_destination).zip(deliveries).enumerate() {
            let mut report = DestinationReport {
                name: target.name.clone(),
                kind: target.kind,
                outcomes: Vec::with_capacity(indices.len()),
                stats,
                dead_letter_stats: SendStats::default(),
                tally: None,
            };
            for (pos, (&record, outcome)) in indices.iter().zip(outcomes).enumerate() {
                let outcome = match outcome {
                    ItemOutcome::Delivered => DestinationOutcome::Delivered,
                    ItemOutcome::Failed(e) => DestinationOutcome::Failed(e),
                    ItemOutcome::Rejected(e) => {
                        refused.push((d, pos, e.clone()));
                        DestinationOutcome::Failed(e)
                    }
                };
                report.outcomes.push((record, outcome));
            }
            destinations.push(report);
        }
        if !rejects.is_empty() {
            let d = destinations.len();
            let mut report = DestinationReport {
                name: SOURCE_REJECTS.into(),
                kind: "source",
                outcomes: Vec::with_capacity(rejects.len()),
                stats: SendStats::default(),
                dead_letter_stats: SendStats::default(),
                tally: None,
            };
            let mut rejects = rejects;
            rejects.sort_by_key(|(i, _)| *i);
            for (pos, (i, e)) in rejects.into_iter().enumerate() {
                refused.push((d, pos, e.clone()));
                report.outcomes.push((i, DestinationOutcome::Failed(e)));
            }
            destinations.push(report);
        }
        if let Some(dl) = self.config.dead_letter {
            self.dead_letter(dl, records, &refused, &mut destinations, stop_at, mode).await;
        }

        let mut status: Vec<RecordStatus> = vec![RecordStatus::Delivered; records.len()];
        for &i in &routing.unrouted {
            status[i as usize] = RecordStatus::Unrouted;
        }
        for report in &mut destinations {
            let mut tally = Tally::default();
            for (i, outcome) in &report.outcomes {
                tally.add(outcome);
                let s = &mut status[*i as usize];
                match outcome {
                    DestinationOutcome::Failed(e) => {
                        *s = RecordStatus::Failed;
                        tracing::warn!(record = %records[*i as usize].id, destination = %report.name, code = %e.code, class = %e.class, reason = %e.message, "record not delivered");
                    }
                    DestinationOutcome::DeadLettered(e) => {
                        if *s != RecordStatus::Failed {
                            *s = RecordStatus::DeadLettered;
                        }
                        tracing::info!(record = %records[*i as usize].id, destination = %report.name, code = %e.code, "record dead-lettered");
                    }
                    DestinationOutcome::Delivered => {}
                }
            }
            report.tally = Some(tally);
        }
        Report { status, destinations }
    }

    /// Send envelopes of refused records to the dead-letter destination and
    /// turn their outcomes into `DeadLettered` (accepted) or leave `Failed`.
    async fn dead_letter(
        &self,
        dl: usize,
        records: &[Record],
        refused: &[(usize, usize, ItemError)],
        destinations: &mut [DestinationReport],
        stop_at: Instant,
        mode: SendMode,
    ) {
        if refused.is_empty() {
            return;
        }
        let max_bytes = self.config.destinations[dl].1.limits().max_item_bytes;
        let envelopes: Vec<Record> = refused
            .iter()
            .map(|(d, pos, e)| envelope(&records[destinations[*d].outcomes[*pos].0 as usize], &destinations[*d].name, e, max_bytes))
            .collect();
        let batch: Vec<&Record> = envelopes.iter().collect();
        let target = &self.targets[dl];
        let (outcomes, stats) = target.destination.deliver(&batch, Purpose::DeadLetter, &target.policy, target.pacer.as_deref(), stop_at, mode).await;
        destinations[dl].dead_letter_stats = stats;
        for ((d, pos, reason), outcome) in refused.iter().zip(outcomes) {
            let slot = &mut destinations[*d].outcomes[*pos].1;
            *slot = match outcome {
                ItemOutcome::Delivered => DestinationOutcome::DeadLettered(reason.clone()),
                ItemOutcome::Failed(e) | ItemOutcome::Rejected(e) => DestinationOutcome::Failed(ItemError {
                    code: reason.code.clone(),
                    message: format!(
                        "{}; the dead-letter destination `{}` did not take it either: {}: {}",
                        reason.message, target.name, e.code, e.message
                    ),
                    class: reason.class,
                }),
            };
        }
    }
}
