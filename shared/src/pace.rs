//! Per-destination rate limits: requests, records and bytes per second.
//!
//! A [`Pacer`] belongs to one destination of one [`crate::Fanout`], so to one
//! function instance: it spaces that instance's requests so that, by itself,
//! the instance never sends a destination more than its configured rates
//! (a Kinesis stream's 1,000 records/s and 1 MiB/s per shard, a Firehose
//! stream's requests, records and bytes per second, SiteWise's data points
//! per second). Each dimension is a GCRA ("virtual scheduling") limiter
//! without burst: a request that carries `n` units keeps the dimension busy
//! for `n / rate` seconds, so over any one-second window an instance sends at
//! most the configured amount plus one request's worth. The first request
//! after an idle spell goes at once. Requests reserve their slot in order, so
//! concurrent requests queue fairly.
//!
//! Limits are opt-in (`rate_limit:` on a destination): quotas differ per
//! region, account and shard count, which a function cannot know; see
//! docs/performance.md for the values to set.

use serde::Deserialize;
use std::sync::Mutex;
use std::time::Duration;
use tokio::time::Instant;

/// `rate_limit:` on a destination: any of the three, per function instance.
#[derive(Debug, Clone, Copy, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateLimit {
    /// Requests per second (each request counts once, whatever it carries).
    pub requests_per_second: Option<f64>,
    /// Items per second (records; SiteWise: values; the API's own unit).
    pub records_per_second: Option<f64>,
    /// Bytes per second, in the API's own measure.
    pub bytes_per_second: Option<f64>,
}

impl RateLimit {
    /// Whether no dimension is limited.
    pub fn is_unlimited(&self) -> bool {
        self.requests_per_second.is_none() && self.records_per_second.is_none() && self.bytes_per_second.is_none()
    }

    /// Config problems: every given rate must be a positive, finite number.
    pub fn validate(&self, place: &str, problems: &mut Vec<crate::validation::Problem>) {
        for (name, value) in [
            ("requests_per_second", self.requests_per_second),
            ("records_per_second", self.records_per_second),
            ("bytes_per_second", self.bytes_per_second),
        ] {
            if let Some(v) = value {
                if !(v.is_finite() && v > 0.0) {
                    problems.push(crate::validation::Problem {
                        place: format!("{place}.rate_limit.{name}"),
                        message: format!("must be a positive number, not {v}"),
                    });
                }
            }
        }
    }
}

/// The longest one request may hold a dimension of the limiter.
const MAX_COST: Duration = Duration::from_secs(3600);

/// Spaces one destination's requests to its [`RateLimit`].
#[derive(Debug)]
pub struct Pacer {
    rates: [Option<f64>; 3],
    /// Per dimension, the theoretical arrival time of the next unit.
    tat: Mutex<[Option<Instant>; 3]>,
}

impl Pacer {
    /// A pacer for `limit`; `None` when nothing is limited.
    pub fn new(limit: &RateLimit) -> Option<Pacer> {
        (!limit.is_unlimited())
            .then(|| Pacer { rates: [limit.requests_per_second, limit.records_per_second, limit.bytes_per_second], tat: Mutex::new([None; 3]) })
    }

    /// Reserve the earliest slot for a request of `items` items and `bytes`
    /// bytes at or after `now`, and return it. Pure bookkeeping: the caller waits.
    pub fn reserve(&self, now: Instant, items: usize, bytes: usize) -> Instant {
        self.reserve_before(now, items, bytes, None).unwrap_or(now)
    }

    /// Like [`Pacer::reserve`], but when the slot would come at or after
    /// `deadline`, reserve nothing and return `None`: a request that will not
    /// be sent must not delay the ones after it.
    pub fn reserve_before(&self, now: Instant, items: usize, bytes: usize, deadline: Option<Instant>) -> Option<Instant> {
        let amounts = [1.0, items as f64, bytes as f64];
        let mut tat = self.tat.lock().unwrap_or_else(|p| p.into_inner());
        // A request never holds a dimension for longer than MAX_COST (absurdly low rates included).
        let costs: [Option<Duration>; 3] =
            std::array::from_fn(|d| self.rates[d].map(|rate| Duration::try_from_secs_f64(amounts[d] / rate).map_or(MAX_COST, |c| c.min(MAX_COST))));
        // The request may go when every limited dimension has room for it.
        let mut at = now;
        for d in 0..3 {
            if let (Some(_), Some(t)) = (costs[d], tat[d]) {
                at = at.max(t);
            }
        }
        if deadline.is_some_and(|d| at >= d) {
            return None;
        }
        for d in 0..3 {
            if let Some(cost) = costs[d] {
                let from = tat[d].map_or(at, |t| t.max(at));
                tat[d] = Some(from.checked_add(cost).unwrap_or(from));
            }
        }
        Some(at)
    }

    /// Wait for a slot before `deadline` for a request of `items` items and
    /// `bytes` bytes; `false` (at once, nothing reserved) when there is none.
    pub async fn wait_before(&self, items: usize, bytes: usize, deadline: Instant) -> bool {
        match self.reserve_before(Instant::now(), items, bytes, Some(deadline)) {
            Some(at) => {
                tokio::time::sleep_until(at).await;
                true
            }
            None => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sent_within(pacer: &Pacer, start: Instant, requests: &[(usize, usize)]) -> Vec<Duration> {
        requests.iter().map(|&(items, bytes)| pacer.reserve(start, items, bytes) - start).collect()
    }

    #[test]
    fn unlimited_needs_no_pacer() {
        assert!(Pacer::new(&RateLimit::default()).is_none());
    }

    #[test]
    fn requests_per_second_spaces_requests_evenly() {
        let pacer = Pacer::new(&RateLimit { requests_per_second: Some(10.0), ..Default::default() }).expect("limited");
        let start = Instant::now();
        let slots = sent_within(&pacer, start, &[(1, 1); 25]);
        assert_eq!(slots[0], Duration::ZERO, "the first request goes at once");
        for (w, from) in slots.iter().enumerate() {
            let in_window = slots.iter().filter(|s| **s >= *from && **s < *from + Duration::from_secs(1)).count();
            assert!(in_window <= 10, "{in_window} requests in the second from slot {w}: {slots:?}");
        }
        let gaps: Vec<Duration> = slots.windows(2).map(|w| w[1] - w[0]).collect();
        assert!(gaps.iter().all(|g| g.abs_diff(Duration::from_millis(100)) < Duration::from_millis(1)), "{gaps:?}");
    }

    #[test]
    fn an_idle_pacer_lets_the_next_request_go_at_once() {
        let pacer = Pacer::new(&RateLimit { requests_per_second: Some(10.0), ..Default::default() }).expect("limited");
        let start = Instant::now();
        let _ = sent_within(&pacer, start, &[(1, 1); 3]);
        let later = start + Duration::from_secs(5);
        assert_eq!(pacer.reserve(later, 1, 1), later);
    }

    #[test]
    fn records_and_bytes_bind_by_what_each_request_carries() {
        // 1,000 records/s and 1 MiB/s (one Kinesis shard): 500-record requests of 100 KiB.
        let limit = RateLimit { records_per_second: Some(1_000.0), bytes_per_second: Some(1_048_576.0), ..Default::default() };
        let pacer = Pacer::new(&limit).expect("limited");
        let start = Instant::now();
        let slots = sent_within(&pacer, start, &[(500, 100 * 1024); 10]);
        // Records bind: 5,000 records take at least 4 seconds beyond the burst.
        assert!(slots[9] >= Duration::from_millis(3_500), "{slots:?}");
        for w in 0..slots.len() {
            let window_end = slots[w] + Duration::from_secs(1);
            let records: usize = slots.iter().filter(|s| **s >= slots[w] && **s < window_end).count() * 500;
            assert!(records <= 1_000 + 500, "{records} records in one second from slot {w}: {slots:?}");
        }
    }

    #[test]
    fn a_slot_past_the_deadline_is_not_reserved() {
        let pacer = Pacer::new(&RateLimit { requests_per_second: Some(10.0), ..Default::default() }).expect("limited");
        let start = Instant::now();
        let deadline = start + Duration::from_millis(250);
        let slots: Vec<Option<Instant>> = (0..5).map(|_| pacer.reserve_before(start, 1, 1, Some(deadline))).collect();
        assert_eq!(slots.iter().filter(|s| s.is_some()).count(), 3, "0, 100 and 200 ms fit; 300 ms does not");
        // The refused requests left no trace: the next slot is still 300 ms.
        assert_eq!(pacer.reserve(start, 1, 1), start + Duration::from_millis(300));
    }

    #[test]
    fn absurdly_low_rates_do_not_overflow() {
        let pacer = Pacer::new(&RateLimit { bytes_per_second: Some(f64::MIN_POSITIVE), ..Default::default() }).expect("limited");
        let start = Instant::now();
        assert_eq!(pacer.reserve(start, 1, 1_000_000), start);
        assert_eq!(pacer.reserve(start, 1, 1_000_000), start + MAX_COST);
    }

    #[test]
    fn bad_rates_are_config_problems() {
        let mut problems = Vec::new();
        RateLimit { requests_per_second: Some(0.0), bytes_per_second: Some(f64::NAN), ..Default::default() }
            .validate("destinations.a", &mut problems);
        let places: Vec<&str> = problems.iter().map(|p| p.place.as_str()).collect();
        assert_eq!(places, ["destinations.a.rate_limit.requests_per_second", "destinations.a.rate_limit.bytes_per_second"]);
    }
}
