//! One invocation, end to end: route, deliver to every destination at once,
//! dead-letter what can never succeed, and say what happened to each record.

use crate::clients::Clients;
use crate::config::Config;
use crate::dead_letter::envelope;
use crate::deliver::api::Purpose;
use crate::deliver::{ItemOutcome, RetryPolicy, SendStats};
use crate::destinations::{DestinationSpec, Kind, Sender};
use crate::error::ItemError;
use crate::ledger::{Ledger, Prior};
use crate::metrics::output::Telemetry;
use crate::record::Record;
use crate::report::{DestinationOutcome, DestinationReport, LedgerUse, RecordStatus, Report, Tally, SOURCE_REJECTS};
use crate::router::route;
use futures_util::future::join_all;
use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::{Duration, SystemTime};
use tokio::time::Instant;

/// How far past Lambda's longest timeout a deadline may lie before it is
/// taken for a bogus one (clock skew between the Runtime API and the function).
const DEADLINE_SLACK_MS: u64 = 60_000;

/// A configured destination, ready to send.
#[derive(Debug, Clone)]
pub struct ConfiguredDestination {
    /// The name in the config.
    pub name: String,
    /// The config `type`.
    pub kind: Kind,
    /// The sender (a [`crate::destinations::DryRun`] in a dry-run router).
    pub sender: Arc<dyn Sender>,
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
    destinations: Vec<ConfiguredDestination>,
    clients: Clients,
    /// The payload fields routes and mappings read, when that is not the
    /// whole document ([`crate::projection`]).
    projection: Option<std::sync::Arc<[String]>>,
    /// Records read their one payload field from the text, not a view
    /// ([`Config::reads_one_field_once`]).
    pointers_from_text: bool,
    /// Where the summary line and the metrics go.
    telemetry: Telemetry,
    /// What destinations settled which records, across the source's
    /// deliveries ([`crate::ledger`]); `None`: at-least-once.
    ledger: Option<Arc<Ledger>>,
}

impl Fanout {
    /// Build every destination's sender from the config and the clients.
    pub fn new(config: Config, clients: &Clients) -> Self {
        let ledger = config.ledger.as_ref().map(|l| {
            let store = crate::ledger::dynamodb::DynamoDbStore::new(clients.dynamodb.clone(), &l.table, l.ttl_secs());
            Arc::new(Ledger::new(Arc::new(store)))
        });
        let fanout = Self::build(config, clients, |dest, clients| dest.sender(clients));
        match ledger {
            Some(ledger) => fanout.with_ledger(ledger),
            None => fanout,
        }
    }

    /// A router that routes, prepares, packs and encodes every request
    /// exactly as [`Fanout::new`]'s would, and sends nothing: each
    /// destination is wrapped in [`crate::destinations::DryRun`], which
    /// answers success for every entry, and no rate limit applies. The
    /// CPU-only path, for benchmarks and what-if runs; the report counts the
    /// requests that would have been sent.
    pub fn dry_run(config: Config, clients: &Clients) -> Self {
        let mut fanout = Self::build(config, clients, |dest, clients| dest.dry_run_sender(clients));
        for d in &mut fanout.destinations {
            d.pacer = None;
        }
        fanout
    }

    fn build(config: Config, clients: &Clients, sender: impl Fn(&dyn DestinationSpec, &Clients) -> Arc<dyn Sender>) -> Self {
        let d = &config.delivery;
        let destinations = config
            .destinations
            .iter()
            .map(|(name, dest)| ConfiguredDestination {
                name: name.clone(),
                kind: dest.kind(),
                sender: sender(dest.spec(), clients),
                policy: RetryPolicy {
                    max_attempts: d.max_attempts,
                    base_delay: Duration::from_millis(d.base_delay_ms),
                    max_delay: Duration::from_millis(d.max_delay_ms),
                    max_in_flight: dest.spec().max_in_flight().unwrap_or(d.max_in_flight),
                },
                pacer: crate::pace::Pacer::new(&dest.spec().rate_limit()).map(Arc::new),
            })
            .collect();
        let projection = match config.data_fields() {
            crate::projection::DataFields::Fields(fields) => Some(fields.into_iter().collect::<Vec<_>>().into()),
            crate::projection::DataFields::Unused | crate::projection::DataFields::Whole => None,
        };
        let pointers_from_text = projection.is_some() && config.reads_one_field_once();
        Self { config, destinations, clients: clients.clone(), projection, pointers_from_text, telemetry: Telemetry::discard(), ledger: None }
    }

    /// Write the summary line and metrics of each invocation through
    /// `telemetry` (the default discards them).
    pub fn with_telemetry(mut self, telemetry: Telemetry) -> Self {
        self.telemetry = telemetry;
        self
    }

    /// Where the summary line and the metrics go.
    pub fn telemetry(&self) -> &Telemetry {
        &self.telemetry
    }

    /// The top-level payload fields each record's JSON view keeps (`None`:
    /// the whole document, or nothing reads it).
    pub fn projection(&self) -> Option<&[String]> {
        self.projection.as_deref()
    }

    /// Turn the projected JSON view off, and reading fields from the text:
    /// every record is then parsed whole. For comparing the two; the result
    /// is the same.
    pub fn without_projection(mut self) -> Self {
        self.projection = None;
        self.pointers_from_text = false;
        self
    }

    /// Whether records read their one payload field from the text, with no
    /// view ([`Config::reads_one_field_once`]).
    pub fn reads_pointers_from_text(&self) -> bool {
        self.pointers_from_text
    }

    /// The SDK clients (for reads such as detector state).
    pub fn clients(&self) -> &Clients {
        &self.clients
    }

    /// The validated config.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The destinations, in config order.
    pub fn destinations(&self) -> &[ConfiguredDestination] {
        &self.destinations
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
        if let Some(fields) = &self.projection {
            for record in records {
                record.project_json(fields);
                if self.pointers_from_text {
                    record.read_pointers_from_text();
                }
            }
        }
        let mut routing = route(&self.config.routes, self.config.unmatched, self.destinations.len(), records);
        let prior = match &self.ledger {
            Some(ledger) => ledger.before(records).await,
            None => Prior::default(),
        };
        let mut ledger_use = if self.ledger.is_some() { LedgerUse::Used } else { LedgerUse::Off };
        if let Some(e) = &prior.unavailable {
            ledger_use = LedgerUse::Unavailable;
            tracing::warn!(reason = %e, "the delivery ledger is unavailable: this invocation delivers at least once (replayed records may be sent again)");
        }
        // Pairs the ledger says are settled: not sent again, reported delivered.
        let mut skipped: Vec<Vec<u32>> = vec![Vec::new(); self.destinations.len()];
        if !prior.settled.is_empty() {
            for ((dest, list), skip) in self.destinations.iter().zip(routing.per_destination.iter_mut()).zip(skipped.iter_mut()) {
                list.retain(|&i| {
                    let settled = prior.settled.get(&(i as usize)).is_some_and(|s| s.contains(&dest.name));
                    if settled {
                        skip.push(i);
                    }
                    !settled
                });
            }
        }
        if !rejects.is_empty() {
            let mut rejected = vec![false; records.len()];
            for (i, _) in &rejects {
                rejected[*i as usize] = true;
            }
            for list in routing.per_destination.iter_mut().chain(std::iter::once(&mut routing.unrouted)) {
                list.retain(|&i| !rejected[i as usize]);
            }
        }
        let deliveries = join_all(self.destinations.iter().zip(&routing.per_destination).map(|(dest, indices)| async move {
            if indices.is_empty() {
                return (Vec::new(), SendStats::default());
            }
            let batch: Vec<&Record> = indices.iter().map(|&i| &records[i as usize]).collect();
            dest.sender.deliver(&batch, Purpose::Route, &dest.policy, dest.pacer.as_deref(), stop_at).await
        }))
        .await;

        let mut destinations: Vec<DestinationReport> = Vec::with_capacity(self.destinations.len());
        let mut refused: Vec<(usize, usize, ItemError)> = Vec::new(); // (destination, position, error)
        for (d, ((dest, indices), (outcomes, stats))) in self.destinations.iter().zip(&routing.per_destination).zip(deliveries).enumerate() {
            let mut report = DestinationReport {
                name: dest.name.clone(),
                kind: Some(dest.kind),
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
            if let Some(skip) = skipped.get(d) {
                report.stats.already_settled = skip.len() as u64;
                report.outcomes.extend(skip.iter().map(|&i| (i, DestinationOutcome::Delivered)));
            }
            destinations.push(report);
        }
        if !rejects.is_empty() {
            let d = destinations.len();
            let mut report = DestinationReport {
                name: SOURCE_REJECTS.into(),
                kind: None,
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
            self.dead_letter(dl, records, &refused, &mut destinations, stop_at).await;
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
        let any_failed = status.contains(&RecordStatus::Failed);
        if let Some(ledger) = self.ledger.as_ref().filter(|_| Ledger::needs_after(&prior, any_failed)) {
            let mut settled_now: Vec<BTreeSet<String>> = vec![BTreeSet::new(); records.len()];
            for report in destinations.iter().filter(|r| r.kind.is_some()) {
                for (i, outcome) in &report.outcomes {
                    if matches!(outcome, DestinationOutcome::Delivered | DestinationOutcome::DeadLettered(_)) {
                        settled_now[*i as usize].insert(report.name.clone());
                    }
                }
            }
            let failed: Vec<bool> = status.iter().map(|s| *s == RecordStatus::Failed).collect();
            if let Err(e) = ledger.after(records, &prior, &settled_now, &failed).await {
                ledger_use = ledger_use.max(LedgerUse::NotUpdated);
                tracing::warn!(reason = %e, "the delivery ledger was not updated: records of this invocation may be sent again when replayed");
            }
        }
        Report { status, destinations, ledger: ledger_use }
    }

    /// This fanout with a delivery ledger ([`crate::ledger`]).
    pub fn with_ledger(mut self, ledger: Arc<Ledger>) -> Self {
        self.ledger = Some(ledger);
        self
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
    ) {
        if refused.is_empty() {
            return;
        }
        let max_bytes = self.config.destinations[dl].1.spec().limits().max_item_bytes;
        let envelopes: Vec<Record> = refused
            .iter()
            .map(|(d, pos, e)| envelope(&records[destinations[*d].outcomes[*pos].0 as usize], &destinations[*d].name, e, max_bytes))
            .collect();
        let batch: Vec<&Record> = envelopes.iter().collect();
        let dest = &self.destinations[dl];
        let (outcomes, stats) = dest.sender.deliver(&batch, Purpose::DeadLetter, &dest.policy, dest.pacer.as_deref(), stop_at).await;
        destinations[dl].dead_letter_stats = stats;
        for ((d, pos, reason), outcome) in refused.iter().zip(outcomes) {
            let slot = &mut destinations[*d].outcomes[*pos].1;
            *slot = match outcome {
                ItemOutcome::Delivered => DestinationOutcome::DeadLettered(reason.clone()),
                ItemOutcome::Failed(e) | ItemOutcome::Rejected(e) => DestinationOutcome::Failed(ItemError {
                    code: reason.code.clone(),
                    message: format!(
                        "{}; the dead-letter destination `{}` did not take it either: {}: {}",
                        reason.message, dest.name, e.code, e.message
                    ),
                    class: reason.class,
                }),
            };
        }
    }
}
