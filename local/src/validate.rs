//! `fanout-local validate`: check a config and show what it routes where.

use fanout::config::Config;
use fanout::destinations::Kind;
use fanout::record::Record;
use fanout::router::route;
use std::fmt::Write;

/// The config summary: destinations with their limits, routes, dead letter, unmatched.
pub fn summary(config: &Config) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{}: valid", config.file.display());
    let _ = writeln!(out, "\nDestinations:");
    let kind_width = Kind::ALL.iter().map(|k| k.as_str().len()).max().unwrap_or(0);
    for (name, dest) in &config.destinations {
        let l = dest.spec().limits();
        let combining = dest.spec().combining().map(|c| format!("; {c}")).unwrap_or_default();
        let _ = writeln!(out, "  {name:<20} {:<kind_width$} {:<28} ({}{combining})", dest.kind(), dest.spec().sends_to(), limits(&l));
    }
    let _ = writeln!(out, "\nRoutes (every matching route fires):");
    for r in &config.routes {
        let to: Vec<&str> = r.to.iter().map(|&d| config.destinations[d].0.as_str()).collect();
        let pattern = r.pattern_source.as_ref().map_or_else(|| "every record".to_owned(), |p| p.to_string());
        let _ = writeln!(out, "  {:<20} {pattern} -> {}", r.name, to.join(", "));
    }
    let name = |i: Option<usize>| i.map(|d| config.destinations[d].0.clone());
    let _ = writeln!(out, "\ndead_letter: {}", name(config.dead_letter).unwrap_or_else(|| "(none: permanent failures are reported failed)".into()));
    let _ = writeln!(out, "unmatched:   {}", name(config.unmatched).unwrap_or_else(|| "(none: records no route takes are counted unrouted)".into()));
    out
}

/// A destination's limits per call: `500 records, 1024000 B/record, 4194304
/// B/request per call`, or `10 records per call, no byte limit` for APIs
/// limited by count only (their byte limits are set out of reach).
fn limits(l: &fanout::pack::Limits) -> String {
    if l.max_item_bytes >= usize::MAX / 4 && l.max_request_bytes >= usize::MAX / 4 {
        format!("{} records per call, no byte limit", l.max_items)
    } else {
        format!("{} records, {} B/record, {} B/request per call", l.max_items, l.max_item_bytes, l.max_request_bytes)
    }
}

/// Where each record of an event would go (matching only; nothing is sent).
pub fn routes_for(config: &Config, records: &[Record]) -> String {
    let routing = route(&config.routes, config.unmatched, config.destinations.len(), records);
    let mut per_record: Vec<Vec<&str>> = vec![Vec::new(); records.len()];
    for (d, indices) in routing.per_destination.iter().enumerate() {
        for &i in indices {
            per_record[i as usize].push(&config.destinations[d].0);
        }
    }
    let mut out = String::from("\nRecords:\n");
    for (r, to) in records.iter().zip(per_record) {
        let where_ = if to.is_empty() { "(unrouted)".to_owned() } else { to.join(", ") };
        let _ = writeln!(out, "  {:<60} -> {where_}", r.id.to_string());
    }
    out
}
