//! The invariant every fault scenario checks: each input record is delivered
//! to each destination its routes named, dead-lettered, or reported failed;
//! nothing else. Duplicates are counted, and may only come from records that
//! were reported (their resend is the caller's, through Lambda's retry).

use base64::Engine as _;
use fanout_sandbox::faults::Api;
use fanout_sandbox::Sandbox;
use std::collections::{HashMap, HashSet};

/// One input record and where its routes send it.
#[derive(Debug, Clone)]
pub struct Input {
    /// The id the source reports failures by (Kinesis: sequence number).
    pub id: String,
    /// The payload.
    pub payload: Vec<u8>,
    /// The (API, target) pairs its routes name.
    pub routed_to: Vec<(Api, String)>,
}

/// What the check found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    /// Records delivered everywhere they were routed.
    pub delivered: usize,
    /// Records dead-lettered (and not reported).
    pub dead_lettered: usize,
    /// Records reported failed.
    pub reported: usize,
    /// Extra copies at destinations (from reported records only).
    pub duplicates: usize,
}

/// Payloads a Firehose or Kinesis target of the sandbox accepted, in order.
pub fn accepted_payloads(sandbox: &Sandbox, api: Api, target: &str) -> Vec<Vec<u8>> {
    sandbox
        .state
        .world()
        .store
        .items(api, target)
        .iter()
        .filter_map(|item| item["data"].as_str())
        .filter_map(|b64| base64::engine::general_purpose::STANDARD.decode(b64).ok())
        .collect()
}

/// Record ids in the dead-letter envelopes a Firehose target accepted.
pub fn dead_lettered_ids(sandbox: &Sandbox, target: &str) -> HashSet<String> {
    accepted_payloads(sandbox, Api::Firehose, target)
        .iter()
        .filter_map(|p| serde_json::from_slice::<serde_json::Value>(p).ok())
        .filter_map(|e| e["record_id"].as_str().map(str::to_owned))
        .collect()
}

/// Check the invariant; `Err` names the first record that broke it and how.
pub fn check(sandbox: &Sandbox, inputs: &[Input], reported: &HashSet<String>, dead_letter_target: Option<&str>) -> Result<Summary, String> {
    let dead = dead_letter_target.map(|t| dead_lettered_ids(sandbox, t)).unwrap_or_default();
    let mut copies: HashMap<(Api, String), HashMap<Vec<u8>, usize>> = HashMap::new();
    for input in inputs {
        for (api, target) in &input.routed_to {
            copies.entry((*api, target.clone())).or_insert_with(|| {
                let mut counts = HashMap::new();
                for p in accepted_payloads(sandbox, *api, target) {
                    *counts.entry(p).or_insert(0) += 1;
                }
                counts
            });
        }
    }
    let mut summary = Summary::default();
    for input in inputs {
        let counts: Vec<usize> =
            input.routed_to.iter().map(|(api, t)| copies[&(*api, t.clone())].get(&input.payload).copied().unwrap_or(0)).collect();
        if reported.contains(&input.id) {
            summary.reported += 1;
            summary.duplicates += counts.iter().map(|c| c.saturating_sub(1)).sum::<usize>();
        } else if dead.contains(&input.id) {
            summary.dead_lettered += 1;
            if counts.iter().any(|&c| c > 1) {
                return Err(format!("record {} was dead-lettered and also delivered {counts:?} times", input.id));
            }
        } else {
            for ((api, target), count) in input.routed_to.iter().zip(&counts) {
                if *count != 1 {
                    return Err(format!("record {} is neither reported nor dead-lettered, but {api}/{target} holds {count} copies of it", input.id));
                }
            }
            summary.delivered += 1;
        }
    }
    Ok(summary)
}
