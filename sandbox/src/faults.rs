//! Fault injection: what the sandbox does wrong, on purpose.
//!
//! A spec is rules separated by `;`, each `API:key=value,key=value`, plus an
//! optional `seed=N` for repeatable runs:
//!
//! ```text
//! kinesis:rate=0.1                      10% of Kinesis records fail (transient code)
//! firehose:match=sensor-004             records containing "sensor-004" fail on every attempt
//! firehose:match=x,code=InvalidArgumentException   ...with a permanent code
//! sitewise:status=503,count=3           the next 3 SiteWise calls answer 503
//! all:latency=200                       every call waits 200 ms first
//! seed=42
//! ```
//!
//! APIs: `firehose`, `kinesis`, `iotanalytics`, `iotevents`, `sitewise`,
//! `sqs`, `sns`, `eventbridge`, `sts`, `dynamodb`, `all`.
//! Keys: `rate` (0-1), `code` (per-item error code; default the API's usual
//! transient code), `match` (repeatable; payload or id substring: fails every
//! time), `status` (429, 500 or 503 for whole calls), `count` (calls that get
//! `status`, default 1, or `all`), `latency` (ms, or with `ms`/`s`),
//! `target` (per-item faults only for this stream, channel, input, model or
//! property).

use std::fmt;

/// The APIs the sandbox serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Api {
    /// Amazon Data Firehose (PutRecordBatch; CreateDeliveryStream).
    Firehose,
    /// Kinesis Data Streams.
    Kinesis,
    /// IoT Analytics (BatchPutMessage; CreateChannel).
    IotAnalytics,
    /// IoT Events Data (BatchPutMessage, BatchUpdateDetector, Describe/ListDetectors).
    IotEvents,
    /// IoT SiteWise.
    Sitewise,
    /// SQS (SendMessageBatch; CreateQueue, GetQueueUrl).
    Sqs,
    /// SNS (PublishBatch; CreateTopic).
    Sns,
    /// EventBridge (PutEvents; CreateEventBus).
    EventBridge,
    /// STS (AssumeRole), for destinations with a `role_arn`.
    Sts,
    /// DynamoDB (the delivery ledger's items).
    DynamoDb,
}

impl Api {
    /// Every API.
    pub const ALL: [Api; 10] = [
        Api::Firehose,
        Api::Kinesis,
        Api::IotAnalytics,
        Api::IotEvents,
        Api::Sitewise,
        Api::Sqs,
        Api::Sns,
        Api::EventBridge,
        Api::Sts,
        Api::DynamoDb,
    ];

    /// The name used in specs, paths and files.
    pub fn name(self) -> &'static str {
        match self {
            Api::Firehose => "firehose",
            Api::Kinesis => "kinesis",
            Api::IotAnalytics => "iotanalytics",
            Api::IotEvents => "iotevents",
            Api::Sitewise => "sitewise",
            Api::Sqs => "sqs",
            Api::Sns => "sns",
            Api::EventBridge => "eventbridge",
            Api::Sts => "sts",
            Api::DynamoDb => "dynamodb",
        }
    }

    /// Parse a spec or path name.
    pub fn parse(name: &str) -> Option<Api> {
        Api::ALL.into_iter().find(|a| a.name() == name)
    }

    /// The per-item error code used when a rule names none.
    pub fn default_item_code(self) -> &'static str {
        match self {
            Api::Firehose => "ServiceUnavailableException",
            Api::Kinesis => "ProvisionedThroughputExceededException",
            Api::IotAnalytics => "InternalFailureException",
            Api::IotEvents => "ThrottlingException",
            Api::Sitewise => "ThrottlingException",
            Api::Sqs => "InternalError",
            Api::Sns => "InternalError",
            Api::EventBridge => "InternalFailure",
            Api::Sts => "Throttling",
            Api::DynamoDb => "ProvisionedThroughputExceededException",
        }
    }
}

impl fmt::Display for Api {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One rule for one API.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Rule {
    /// Fraction of items that fail at random.
    pub rate: f64,
    /// The per-item error code.
    pub code: Option<String>,
    /// Items whose payload or id contains one of these fail every time.
    pub matches: Vec<String>,
    /// Whole-call HTTP status.
    pub status: Option<u16>,
    /// Calls left that get `status` (`None`: all).
    pub count: Option<u32>,
    /// Added latency, ms.
    pub latency_ms: u64,
    /// Per-item faults apply only to this target.
    pub target: Option<String>,
}

/// A parsed spec.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FaultSpec {
    /// Rules per API (an `all:` rule is copied to every API).
    pub rules: Vec<(Api, Rule)>,
    /// Seed for the random draws.
    pub seed: Option<u64>,
}

/// A spec that could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("bad --fail spec `{part}`: {message}")]
pub struct SpecError {
    /// The offending part.
    pub part: String,
    /// What is wrong.
    pub message: String,
}

impl FaultSpec {
    /// Parse `API:key=value,...;...;seed=N`.
    pub fn parse(spec: &str) -> Result<Self, SpecError> {
        let mut out = FaultSpec::default();
        for part in spec.split(';').map(str::trim).filter(|p| !p.is_empty()) {
            let err = |message: String| SpecError { part: part.to_owned(), message };
            if let Some(seed) = part.strip_prefix("seed=") {
                out.seed = Some(seed.parse().map_err(|_| err("seed takes a whole number".into()))?);
                continue;
            }
            let (api, kvs) = part.split_once(':').ok_or_else(|| err("expected API:key=value".into()))?;
            let apis: Vec<Api> = match api {
                "all" => Api::ALL.to_vec(),
                name => vec![Api::parse(name)
                    .ok_or_else(|| err(format!("unknown API `{name}` (firehose, kinesis, iotanalytics, iotevents, sitewise, all)")))?],
            };
            let mut rule = Rule::default();
            let mut count_set = false;
            for kv in kvs.split(',').map(str::trim).filter(|k| !k.is_empty()) {
                let (k, v) = kv.split_once('=').ok_or_else(|| err(format!("`{kv}` is not key=value")))?;
                match k {
                    "rate" => {
                        rule.rate =
                            v.parse().ok().filter(|r: &f64| (0.0..=1.0).contains(r)).ok_or_else(|| err("rate is a number from 0 to 1".into()))?;
                    }
                    "code" => rule.code = Some(v.to_owned()),
                    "match" => rule.matches.push(v.to_owned()),
                    "status" => {
                        let s: u16 = v.parse().map_err(|_| err("status is an HTTP status".into()))?;
                        if !matches!(s, 400..=599) {
                            return Err(err("status must be a 4xx or 5xx (429, 500, 503, ...)".into()));
                        }
                        rule.status = Some(s);
                    }
                    "count" => {
                        count_set = true;
                        rule.count = if v == "all" { None } else { Some(v.parse().map_err(|_| err("count is a whole number or `all`".into()))?) };
                    }
                    "target" => rule.target = Some(v.to_owned()),
                    "latency" => rule.latency_ms = parse_ms(v).ok_or_else(|| err("latency is milliseconds, like 200, 200ms or 2s".into()))?,
                    other => return Err(err(format!("unknown key `{other}` (rate, code, match, status, count, latency, target)"))),
                }
            }
            if rule.status.is_some() && !count_set {
                rule.count = Some(1);
            }
            for api in apis {
                out.rules.push((api, rule.clone()));
            }
        }
        Ok(out)
    }
}

fn parse_ms(v: &str) -> Option<u64> {
    if let Some(ms) = v.strip_suffix("ms") {
        ms.parse().ok()
    } else if let Some(s) = v.strip_suffix('s') {
        s.parse::<f64>().ok().map(|s| (s * 1000.0) as u64)
    } else {
        v.parse().ok()
    }
}

/// The live fault state: rules plus a seeded random source.
#[derive(Debug)]
pub struct Faults {
    rules: Vec<(Api, Rule)>,
    rng: fastrand::Rng,
}

impl Faults {
    /// Faults from a spec.
    pub fn new(spec: &FaultSpec) -> Self {
        let rng = spec.seed.map_or_else(fastrand::Rng::new, fastrand::Rng::with_seed);
        Self { rules: spec.rules.clone(), rng }
    }

    /// Replace the rules (and the seed, when given).
    pub fn set(&mut self, spec: &FaultSpec) {
        self.rules = spec.rules.clone();
        if let Some(seed) = spec.seed {
            self.rng = fastrand::Rng::with_seed(seed);
        }
    }

    /// Added latency for a call to `api`.
    pub fn latency_ms(&self, api: Api) -> u64 {
        self.rules.iter().filter(|(a, _)| *a == api).map(|(_, r)| r.latency_ms).max().unwrap_or(0)
    }

    /// A whole-call status to answer instead of serving, consuming one count.
    pub fn take_status(&mut self, api: Api) -> Option<u16> {
        for (a, rule) in &mut self.rules {
            if *a != api {
                continue;
            }
            if let Some(status) = rule.status {
                match &mut rule.count {
                    None => return Some(status),
                    Some(0) => {}
                    Some(n) => {
                        *n -= 1;
                        return Some(status);
                    }
                }
            }
        }
        None
    }

    /// The error code an item fails with, if it does. `text` is the item's
    /// payload (or id) as text.
    ///
    /// `text` (the item's payload text, which `match=` rules search) is only
    /// built when a rule for this API has `match=`.
    pub fn item_error(&mut self, api: Api, target: &str, text: impl FnOnce() -> String) -> Option<String> {
        let rng = &mut self.rng;
        let mut make = Some(text);
        let mut made: Option<String> = None;
        for (a, rule) in &self.rules {
            if *a != api || rule.target.as_deref().is_some_and(|t| t != target) {
                continue;
            }
            let code = || rule.code.clone().unwrap_or_else(|| api.default_item_code().to_owned());
            if !rule.matches.is_empty() {
                if made.is_none() {
                    made = make.take().map(|f| f());
                }
                let text = made.as_deref().unwrap_or_default();
                if rule.matches.iter().any(|m| text.contains(m.as_str())) {
                    return Some(code());
                }
            }
            if rule.rate > 0.0 && rng.f64() < rule.rate {
                return Some(code());
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_key() {
        let spec =
            FaultSpec::parse("kinesis:rate=0.1,code=InternalFailure; firehose:match=a,match=b; sitewise:status=503,count=3; all:latency=2s; seed=7")
                .unwrap();
        assert_eq!(spec.seed, Some(7));
        assert_eq!(spec.rules[0], (Api::Kinesis, Rule { rate: 0.1, code: Some("InternalFailure".into()), ..Default::default() }));
        assert_eq!(spec.rules[1].1.matches, vec!["a", "b"]);
        assert_eq!((spec.rules[2].1.status, spec.rules[2].1.count), (Some(503), Some(3)));
        assert_eq!(spec.rules.len(), 3 + Api::ALL.len(), "all: expands to every API");
        assert!(spec.rules[3..].iter().all(|(_, r)| r.latency_ms == 2000));
    }

    #[test]
    fn rejects_bad_specs_with_the_part_named() {
        for bad in ["kinesis", "cloudwatch:rate=1", "kinesis:rate=2", "kinesis:status=200", "kinesis:colour=red", "seed=x"] {
            let e = FaultSpec::parse(bad).unwrap_err();
            assert_eq!(e.part, bad, "{e}");
        }
    }

    #[test]
    fn a_target_limits_item_faults_to_one_stream() {
        let mut f = Faults::new(&FaultSpec::parse("firehose:target=archive,match=x").unwrap());
        assert!(f.item_error(Api::Firehose, "archive", || "x".to_owned()).is_some());
        assert!(f.item_error(Api::Firehose, "dead-letters", || "x".to_owned()).is_none());
    }

    #[test]
    fn statuses_last_for_their_count() {
        let mut f = Faults::new(&FaultSpec::parse("kinesis:status=503,count=2").unwrap());
        assert_eq!(f.take_status(Api::Kinesis), Some(503));
        assert_eq!(f.take_status(Api::Firehose), None);
        assert_eq!(f.take_status(Api::Kinesis), Some(503));
        assert_eq!(f.take_status(Api::Kinesis), None);
    }

    #[test]
    fn matches_fail_every_time_and_rates_repeat_with_a_seed() {
        let mut f = Faults::new(&FaultSpec::parse("firehose:match=bad").unwrap());
        for _ in 0..10 {
            assert_eq!(f.item_error(Api::Firehose, "s", || "a bad one".to_owned()).as_deref(), Some("ServiceUnavailableException"));
            assert_eq!(f.item_error(Api::Firehose, "s", || "fine".to_owned()), None);
        }
        let draws = |seed| {
            let mut f = Faults::new(&FaultSpec::parse(&format!("kinesis:rate=0.5;seed={seed}")).unwrap());
            (0..64).map(|_| f.item_error(Api::Kinesis, "s", || "x".to_owned()).is_some()).collect::<Vec<_>>()
        };
        assert_eq!(draws(1), draws(1));
        assert_ne!(draws(1), draws(2));
        let failed = draws(3).iter().filter(|x| **x).count();
        assert!((16..=48).contains(&failed), "about half: {failed}");
    }
}
