//! The deadline fanout works to: Lambda's, unless it is not a real one.

use fanout::{Clients, Config, Fanout};
use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::time::Instant;

fn fanout(delivery: &str) -> Fanout {
    let text = format!("destinations: {{ a: {{ type: firehose, delivery_stream: s }} }}\ndelivery: {{ {delivery} }}\n");
    Fanout::new(Config::parse(&text, Path::new("d.yaml")).expect("valid"), &Clients::offline())
}

/// How long from now `stop_at` leaves to send, to the nearest 100 ms.
fn budget(f: &Fanout, deadline: SystemTime) -> u64 {
    let left = f.stop_at(deadline).saturating_duration_since(Instant::now());
    ((left.as_millis() + 50) / 100 * 100) as u64
}

#[test]
fn a_real_deadline_less_the_margin_is_the_stop() {
    let f = fanout("deadline_margin_ms: 1000");
    assert_eq!(budget(&f, SystemTime::now() + Duration::from_secs(30)), 29_000);
    assert_eq!(budget(&f, SystemTime::now() + Duration::from_millis(500)), 0, "less time than the margin: stop at once");
}

#[test]
fn cargo_lambdas_1970_deadline_a_past_one_and_one_beyond_15_minutes_use_the_configured_budget() {
    let f = fanout("deadline_margin_ms: 1000, unknown_deadline_budget_ms: 20000");
    for (what, deadline) in [
        ("cargo lambda watch's 600000", UNIX_EPOCH + Duration::from_millis(600_000)),
        ("a second ago", SystemTime::now() - Duration::from_secs(1)),
        ("in 17 minutes", SystemTime::now() + Duration::from_secs(17 * 60)),
    ] {
        assert_eq!(budget(&f, deadline), 19_000, "{what}");
    }
    assert_eq!(budget(&fanout(""), UNIX_EPOCH), 59_000, "the default budget is 60 s");
    assert_eq!(budget(&f, SystemTime::now() + Duration::from_secs(14 * 60)), 839_000, "14 minutes is a real deadline");
}

#[test]
fn a_budget_that_leaves_no_time_or_exceeds_lambdas_limit_is_refused() {
    for (delivery, message) in [
        ("deadline_margin_ms: 1000, unknown_deadline_budget_ms: 1000", "not above delivery.deadline_margin_ms"),
        ("unknown_deadline_budget_ms: 900001", "above Lambda's longest timeout"),
    ] {
        let text = format!("destinations: {{ a: {{ type: firehose, delivery_stream: s }} }}\ndelivery: {{ {delivery} }}\n");
        let e = Config::parse(&text, Path::new("d.yaml")).expect_err("refused").to_string();
        assert!(e.contains("delivery.unknown_deadline_budget_ms") && e.contains(message), "{e}");
    }
}
