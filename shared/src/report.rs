//! The result of one invocation: what happened to each record, overall and
//! at each destination, with the counts logs, metrics and the local runner
//! show. Built by [`crate::Fanout::process`]; each source turns it into its
//! answer.

use crate::deliver::SendStats;
use crate::destinations::Kind;
use crate::error::ItemError;

/// The pseudo-destination under which records a source could not decode appear.
pub const SOURCE_REJECTS: &str = "(source)";

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
    /// The destination's name ([`SOURCE_REJECTS`] for the source's rejects).
    pub name: String,
    /// Its `type`; `None` for a pseudo-destination of the source (its rejects, SQS FIFO records held back).
    pub kind: Option<Kind>,
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
    /// Outcomes `Delivered`.
    pub delivered: usize,
    /// Outcomes `Failed` (reported to the source).
    pub failed: usize,
    /// Outcomes `DeadLettered` (refused, and the envelope accepted).
    pub dead_lettered: usize,
}

impl Tally {
    pub(crate) fn add(&mut self, outcome: &DestinationOutcome) {
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
    /// Records a transform turned into nothing (counted in `delivered` too).
    pub filtered: u64,
    /// Records the delivery ledger said this destination had already
    /// settled in an earlier delivery: not sent again (counted in `delivered` too).
    pub already_settled: u64,
    /// Entries sent, resends and envelopes included: records, or the KPL
    /// aggregates and packed records they were combined into.
    pub entries_sent: u64,
    /// What the service bills for those entries, in its own unit (Kinesis:
    /// 25 KiB PUT payload units; Firehose: 5 KiB of ingestion); 0 where not counted.
    pub billed_units: u64,
}

impl DestinationReport {
    /// Its `type` as written, or `source` for a pseudo-destination of the source (its rejects, SQS FIFO records held back).
    pub fn kind_name(&self) -> &'static str {
        self.kind.map_or("source", Kind::as_str)
    }

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
            filtered: self.stats.filtered,
            already_settled: self.stats.already_settled,
            entries_sent: self.stats.items_sent + self.dead_letter_stats.items_sent,
            billed_units: self.stats.billed_units + self.dead_letter_stats.billed_units,
            delivered: tally.delivered,
            failed: tally.failed,
            dead_lettered: tally.dead_lettered,
        }
    }
}

/// What the delivery ledger ([`crate::ledger`]) did in one invocation,
/// from the best case to the worst (a merged report keeps the worst).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LedgerUse {
    /// No ledger configured: at-least-once delivery.
    #[default]
    Off,
    /// Read (or known clear) before sending, and written after failures.
    Used,
    /// Written after delivery failed: the records this invocation delivered
    /// may be sent again when the source replays them (never lost).
    NotUpdated,
    /// Could not be read: this invocation delivered at least once.
    Unavailable,
}

impl LedgerUse {
    /// Whether the invocation fell back to at-least-once delivery (the
    /// `LedgerUnavailable` metric).
    pub fn fell_back(self) -> bool {
        matches!(self, LedgerUse::NotUpdated | LedgerUse::Unavailable)
    }

    /// As the summary line writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            LedgerUse::Off => "off",
            LedgerUse::Used => "used",
            LedgerUse::NotUpdated => "not_updated",
            LedgerUse::Unavailable => "unavailable",
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
    /// What the delivery ledger did.
    pub ledger: LedgerUse,
}

impl Report {
    /// A report for `n` records that nothing has happened to yet.
    pub fn empty(n: usize) -> Self {
        Report { status: vec![RecordStatus::Delivered; n], destinations: Vec::new(), ledger: LedgerUse::Off }
    }

    /// Fold in the report of a sub-batch whose record `i` is record `map[i]` here.
    pub fn merge(&mut self, part: Report, map: &[usize]) {
        for (i, s) in part.status.into_iter().enumerate() {
            self.status[map[i]] = s;
        }
        self.ledger = self.ledger.max(part.ledger);
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
            mine.stats += &d.stats;
            mine.dead_letter_stats += &d.dead_letter_stats;
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

#[cfg(test)]
mod tests {
    use super::*;

    /// An invocation made of parts (SQS FIFO groups, HTTP items) reports the
    /// worst the ledger did in any of them.
    #[test]
    fn a_merged_report_keeps_the_worst_of_what_the_ledger_did() {
        for (parts, want) in [
            (vec![LedgerUse::Used, LedgerUse::Used], LedgerUse::Used),
            (vec![LedgerUse::Used, LedgerUse::Unavailable, LedgerUse::NotUpdated], LedgerUse::Unavailable),
            (vec![LedgerUse::NotUpdated, LedgerUse::Used], LedgerUse::NotUpdated),
        ] {
            let mut whole = Report::empty(parts.len());
            whole.ledger = LedgerUse::Used;
            for (i, ledger) in parts.into_iter().enumerate() {
                whole.merge(Report { ledger, ..Report::empty(1) }, &[i]);
            }
            assert_eq!(whole.ledger, want);
            assert_eq!(whole.ledger.fell_back(), want != LedgerUse::Used);
        }
    }
}
