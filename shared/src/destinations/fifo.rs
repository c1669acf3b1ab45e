//! The FIFO fields SQS and SNS share: `MessageGroupId` and
//! `MessageDeduplicationId`, each from a [`ValueSource`], with their rules
//! (SQS `SendMessageBatchRequestEntry`, SNS `PublishBatchRequestEntry`: 1 to
//! 128 characters, alphanumeric or punctuation `!"#$%&'()*+,-./:;<=>?@[\]^_`{|}~`,
//! that is ASCII `!` to `~`).
//!
//! On a FIFO queue or topic the group defaults to the source's key (records
//! of one Kinesis partition key, SQS message group or DynamoDB item stay one
//! group), or the record's identity for a record without a key (each its own
//! group: there is no order to keep); a key that breaks the rules (longer
//! than 128, or not ASCII `!`-`~`) is replaced by a stable hash of it, which
//! keeps the grouping. The deduplication id defaults to `$id`, the record's
//! source identity, so a record Lambda replays within the 5-minute
//! deduplication interval is accepted and not delivered twice; a record
//! whose id fanout assigned (an HTTP item without an `id`: unique within its
//! request only) gets a random one instead, so two records are never taken
//! for one. `deduplication_id: content` leaves it out for a queue or topic
//! with content-based deduplication (which also drops a second record with
//! the same body within 5 minutes). On a standard queue or topic a
//! `message_group_id`, if given, is sent (SQS fair queues) and a
//! `deduplication_id` is a config error.

use crate::error::ItemError;
use crate::projection::DataFields;
use crate::record::Record;
use crate::validation::{problem, Problem};
use crate::value::ValueSource;

/// Longest group or deduplication id.
pub const MAX_FIFO_ID_LEN: usize = 128;

/// What `deduplication_id: content` means: let the service hash the body.
pub const CONTENT_BASED: &str = "content";

/// How each record's group and deduplication ids are found.
#[derive(Debug, Clone, Default)]
pub struct FifoIds {
    group: Option<ValueSource>,
    /// The group is the default: the key, else the identity, hashed when it breaks the rules.
    default_group: bool,
    dedup: Option<ValueSource>,
}

impl FifoIds {
    /// The ids for a queue or topic (`fifo` when its name ends in `.fifo`)
    /// from the config's `message_group_id` and `deduplication_id`, with the
    /// defaults above. Unparseable values (reported by [`FifoIds::validate`]) are dropped.
    pub fn new(fifo: bool, group: Option<&str>, dedup: Option<&str>) -> Self {
        let parse = |t: &str| ValueSource::parse(t).ok();
        let default_group = fifo && group.is_none();
        let group = match group {
            Some(t) => parse(t),
            None if fifo => Some(ValueSource::Key),
            None => None,
        };
        let dedup = match dedup {
            Some(CONTENT_BASED) => None,
            Some(t) => parse(t),
            None if fifo => Some(ValueSource::Id),
            None => None,
        };
        Self { group, default_group, dedup }
    }

    /// Whether records carry a group id (and so an order to keep, on FIFO).
    pub fn has_group(&self) -> bool {
        self.group.is_some()
    }

    /// The config problems of the two fields, placed under `place`.
    pub fn validate(fifo: bool, group: Option<&str>, dedup: Option<&str>, place: &str, problems: &mut Vec<Problem>) {
        if let Some(g) = group {
            ValueSource::check(problems, &format!("{place}.message_group_id"), g);
        }
        match dedup {
            Some(_) if !fifo => problems
                .push(problem(&format!("{place}.deduplication_id"), "only FIFO queues and topics (names ending in .fifo) take a deduplication id")),
            Some(CONTENT_BASED) | None => {}
            Some(d) => ValueSource::check(problems, &format!("{place}.deduplication_id"), d),
        }
    }

    /// The payload fields the two read.
    pub fn data_fields(&self) -> DataFields {
        DataFields::all([&self.group, &self.dedup].into_iter().flatten().map(ValueSource::data_fields))
    }

    /// The group and deduplication ids of `record`. A group id that breaks
    /// the rules is a permanent error of the record; a source identity that
    /// does (too long) is hashed, as it only has to be stable and unique.
    pub fn ids(&self, record: &Record) -> Result<(Option<String>, Option<String>), ItemError> {
        let group = match &self.group {
            None => None,
            Some(_) if self.default_group => Some(stable_id(record.key.as_deref().map_or_else(|| record.id.to_string(), str::to_owned).as_str())),
            Some(source) => {
                let g = source.value(record, "message_group_id", "InvalidMessageGroupId")?;
                check_fifo_id(&g, "message_group_id", "InvalidMessageGroupId")?;
                Some(g.into_owned())
            }
        };
        let dedup = match &self.dedup {
            None => None,
            Some(ValueSource::Id) if record.id.is_assigned() => Some(format!("fanout-{:016x}{:016x}", fastrand::u64(..), fastrand::u64(..))),
            Some(ValueSource::Id) => Some(stable_id(&record.id.to_string())),
            Some(source) => {
                let d = source.value(record, "deduplication_id", "InvalidDeduplicationId")?;
                check_fifo_id(&d, "deduplication_id", "InvalidDeduplicationId")?;
                Some(d.into_owned())
            }
        };
        Ok((group, dedup))
    }
}

fn is_fifo_id(text: &str) -> bool {
    !text.is_empty() && text.len() <= MAX_FIFO_ID_LEN && text.bytes().all(|b| (b'!'..=b'~').contains(&b))
}

fn check_fifo_id(text: &str, field: &str, code: &str) -> Result<(), ItemError> {
    if is_fifo_id(text) {
        return Ok(());
    }
    Err(ItemError::permanent(
        code,
        format!(
            "{field} `{}` is not 1 to {MAX_FIFO_ID_LEN} characters of letters, digits and punctuation",
            text.chars().take(140).collect::<String>()
        ),
    ))
}

/// The text itself when it is a valid id, else its hash ([`super::entries::hashed_id`]).
fn stable_id(text: &str) -> String {
    if is_fifo_id(text) {
        return text.to_owned();
    }
    super::entries::hashed_id(text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::RecordId;
    use bytes::Bytes;

    fn record(key: Option<&str>, data: &str) -> Record {
        let r = Record::new(
            RecordId::new("49590338271490256608559692538361571095921575989136588898"),
            "kinesis",
            Bytes::copy_from_slice(data.as_bytes()),
        );
        match key {
            Some(k) => r.with_key(k),
            None => r,
        }
    }

    #[test]
    fn fifo_defaults_to_the_source_key_and_identity() {
        let ids = FifoIds::new(true, None, None);
        let (g, d) = ids.ids(&record(Some("dev-1"), "{}")).expect("ids");
        assert_eq!(g.as_deref(), Some("dev-1"));
        assert_eq!(d.as_deref(), Some("49590338271490256608559692538361571095921575989136588898"));
        assert!(ids.has_group());
    }

    #[test]
    fn standard_targets_send_no_ids_unless_a_group_is_named() {
        assert_eq!(FifoIds::new(false, None, None).ids(&record(Some("k"), "{}")).expect("ids"), (None, None));
        let fair = FifoIds::new(false, Some("/tenant"), None);
        assert_eq!(fair.ids(&record(None, r#"{"tenant":"t-7"}"#)).expect("ids"), (Some("t-7".into()), None));
    }

    #[test]
    fn records_whose_id_fanout_assigned_get_distinct_deduplication_ids() {
        let http = |id: &str| Record::new(RecordId::new(id), "http", Bytes::from_static(b"{}")).with_key("k");
        let ids = FifoIds::new(true, None, None);
        let (_, a) = ids.ids(&http("auto-0")).expect("ids");
        let (_, b) = ids.ids(&http("auto-0")).expect("ids");
        assert_ne!(a, b, "auto-0 of two requests are two records");
        let (_, given) = ids.ids(&http("order-17")).expect("ids");
        assert_eq!(given.as_deref(), Some("order-17"), "a caller's own id is its identity");
    }

    #[test]
    fn content_based_deduplication_leaves_the_id_out() {
        let ids = FifoIds::new(true, Some("all"), Some("content"));
        assert_eq!(ids.ids(&record(None, "x")).expect("ids"), (Some("all".into()), None));
    }

    #[test]
    fn a_group_id_outside_the_rules_fails_the_record_and_a_long_identity_is_hashed() {
        let ids = FifoIds::new(true, Some("/g"), None);
        let err = ids.ids(&record(None, r#"{"g":"has space"}"#)).unwrap_err();
        assert_eq!((err.code.as_str(), err.is_transient()), ("InvalidMessageGroupId", false));
        let long = Record::new(RecordId::new("x".repeat(200)), "sqs", Bytes::from_static(b"{}")).with_key("k");
        let (_, dedup) = FifoIds::new(true, None, None).ids(&long).expect("ids");
        let dedup = dedup.expect("a dedup id");
        assert!(dedup.starts_with('h') && dedup.len() == 17, "{dedup}");
        let (group, _) = FifoIds::new(true, None, None).ids(&record(None, "{}")).expect("ids");
        assert_eq!(group.as_deref(), Some("49590338271490256608559692538361571095921575989136588898"), "no key: the record is its own group");
        let missing = FifoIds::new(true, Some("$key"), None).ids(&record(None, "{}")).unwrap_err();
        assert!(missing.message.contains("no source key"), "an explicit $key stays strict: {missing}");
        let long_key = "k".repeat(200);
        let (g1, _) = FifoIds::new(true, None, None).ids(&record(Some(&long_key), "{}")).expect("ids");
        let (g2, _) = FifoIds::new(true, None, None).ids(&record(Some(&long_key), "{}")).expect("ids");
        assert_eq!(g1, g2, "a key too long for a group id is hashed, stably");
        assert!(g1.is_some_and(|g| g.len() == 17));
    }

    #[test]
    fn a_deduplication_id_on_a_standard_target_is_a_config_error() {
        let mut p = Vec::new();
        FifoIds::validate(false, Some("/g"), Some("$id"), "destinations.q", &mut p);
        FifoIds::validate(true, Some("$nope"), Some("content"), "destinations.f", &mut p);
        let places: Vec<_> = p.iter().map(|p| p.place.as_str()).collect();
        assert_eq!(places, ["destinations.q.deduplication_id", "destinations.f.message_group_id"]);
    }
}
