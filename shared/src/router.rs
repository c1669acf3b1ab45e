//! Route matching: which destinations each record goes to. Pure.
//!
//! Every route whose pattern matches fires; a destination named by several
//! matching routes gets the record once. Records no route takes go to the
//! `unmatched` destination when one is configured, and are otherwise counted
//! as unrouted (they succeed: nothing was asked of them).

use crate::config::Route;
use crate::record::Record;

/// The records each destination receives.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Routing {
    /// Per destination (by config index), the indices of its records, ascending.
    pub per_destination: Vec<Vec<u32>>,
    /// Records no route took (and that had no `unmatched` destination).
    pub unrouted: Vec<u32>,
}

/// Route `records` over `destinations` destinations.
pub fn route(routes: &[Route], unmatched: Option<usize>, destinations: usize, records: &[Record]) -> Routing {
    let mut per_destination: Vec<Vec<u32>> = vec![Vec::new(); destinations];
    // For each destination, the last record added: dedups routes without a per-record set.
    let mut last_added: Vec<Option<u32>> = vec![None; destinations];
    let mut unrouted = Vec::new();
    for (index, record) in records.iter().enumerate() {
        let index = index as u32;
        let mut taken = false;
        for route in routes {
            if route.pattern.as_ref().is_none_or(|p| p.matches(record)) {
                taken = true;
                for &d in &route.to {
                    if last_added[d] != Some(index) {
                        last_added[d] = Some(index);
                        per_destination[d].push(index);
                    }
                }
            }
        }
        if !taken {
            match unmatched {
                Some(d) => per_destination[d].push(index),
                None => unrouted.push(index),
            }
        }
    }
    Routing { per_destination, unrouted }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use crate::record::RecordId;
    use bytes::Bytes;
    use std::path::Path;

    fn config(unmatched: bool) -> Config {
        let text = format!(
            "destinations:\n  a: {{ type: firehose, delivery_stream: a }}\n  b: {{ type: firehose, delivery_stream: b }}\n  c: {{ type: firehose, delivery_stream: c }}\n\
             routes:\n  - {{ name: hot, match: {{ data: {{ t: [{{ numeric: ['>', 50] }}] }} }}, to: [a, b] }}\n  - {{ name: alarm, match: {{ data: {{ alarm: [true] }} }}, to: [b] }}\n{}",
            if unmatched { "unmatched: c\n" } else { "" }
        );
        Config::parse(&text, Path::new("t.yaml")).expect("valid")
    }

    fn records(payloads: &[&str]) -> Vec<Record> {
        payloads.iter().enumerate().map(|(i, p)| Record::new(RecordId::new(i.to_string()), "kinesis", Bytes::from(p.to_string()))).collect()
    }

    #[test]
    fn every_matching_route_fires_and_destinations_receive_a_record_once() {
        let c = config(false);
        let r = route(&c.routes, c.unmatched, 3, &records(&[r#"{"t":60,"alarm":true}"#, r#"{"t":10,"alarm":true}"#, r#"{"t":10}"#]));
        assert_eq!(r.per_destination[0], vec![0]);
        assert_eq!(r.per_destination[1], vec![0, 1], "record 0 matched both routes to b but is sent once");
        assert!(r.per_destination[2].is_empty());
        assert_eq!(r.unrouted, vec![2]);
    }

    #[test]
    fn unmatched_records_go_to_the_unmatched_destination() {
        let c = config(true);
        let r = route(&c.routes, c.unmatched, 3, &records(&[r#"{"t":10}"#, "not json"]));
        assert_eq!(r.per_destination[2], vec![0, 1]);
        assert!(r.unrouted.is_empty());
    }
}
