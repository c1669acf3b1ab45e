//! `fanout-local transform`: what each record of an event becomes for one
//! destination, without sending anything, so a transform can be developed at
//! the prompt. Prints, per record, each output as the destination would
//! receive it, `(nothing: filtered)`, the error that would dead-letter it,
//! or that the config's routes do not send the record there.

use fanout::config::Config;
use fanout::record::Record;
use fanout::transform::{AttributesCache, Program};
use std::fmt::Write as _;
use std::path::Path;

/// The records of an event file of `source` (`kinesis`, `dynamodb` or `sqs`), decoded as the function decodes them.
pub fn records(source: &str, path: &Path, config: &Config) -> Result<Vec<Record>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let bad = |what: &str, e: serde_json::Error| format!("{}: not {what} event: {e}", path.display());
    Ok(match source {
        "kinesis" => fanout::sources::kinesis::decode_batch(serde_json::from_str(&text).map_err(|e| bad("a Kinesis", e))?).records,
        "dynamodb" => fanout::sources::dynamodb::decode_batch(serde_json::from_str(&text).map_err(|e| bad("a DynamoDB Streams", e))?).records,
        "sqs" => {
            let batch: fanout::sources::sqs::SqsBatch = serde_json::from_str(&text).map_err(|e| bad("an SQS", e))?;
            fanout::sources::sqs::decode(batch, &config.sqs).records
        }
        other => return Err(format!("`{other}`: transform reads kinesis, dynamodb or sqs events")),
    })
}

/// What each record becomes for `destination`, as text.
pub fn render(config: &Config, destination: &str, records: &[Record]) -> Result<String, String> {
    let (index, (_, dest)) = config.destinations.iter().enumerate().find(|(_, (name, _))| name == destination).ok_or_else(|| {
        let names: Vec<&str> = config.destinations.iter().map(|(n, _)| n.as_str()).collect();
        format!("no destination `{destination}` (the config has: {})", names.join(", "))
    })?;
    let Some(code) = dest.spec().transform() else {
        return Ok(format!("`{destination}` has no transform: each record is sent as it is.\n"));
    };
    let program = Program::compile(code)?;
    let routing = fanout::router::route(&config.routes, config.unmatched, config.destinations.len(), records);
    let routed: std::collections::HashSet<u32> = routing.per_destination.get(index).map(|v| v.iter().copied().collect()).unwrap_or_default();
    let attributes = AttributesCache::default();
    let path = if program.is_pick() { "picks values only: the fast path" } else { "run by jaq" };
    let mut out = format!("transform of `{destination}` ({path}): {code}\n");
    for (i, record) in records.iter().enumerate() {
        let _ = writeln!(out, "\n{}", record.id);
        if !routed.contains(&(i as u32)) {
            let _ = writeln!(out, "  (not routed to `{destination}`)");
            continue;
        }
        match program.outputs(record, &attributes) {
            Err(why) => {
                let _ = writeln!(out, "  error (dead-lettered as TransformFailed): {why}");
            }
            Ok(outputs) if outputs.is_empty() => {
                let _ = writeln!(out, "  (nothing: filtered)");
            }
            Ok(outputs) => {
                for o in &outputs {
                    let _ = writeln!(out, "  {}", String::from_utf8_lossy(o));
                }
            }
        }
    }
    Ok(out)
}
