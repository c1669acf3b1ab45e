//! The user's configuration file: parsing, validation, and the validated form
//! the router and the destinations are built from.
//!
//! The config is YAML (JSON is accepted too, as a subset of YAML), read from
//! one [`source::ConfigSource`]: the text of `FANOUT_CONFIG`, the file named
//! by `FANOUT_CONFIG_FILE`, an S3 object (`FANOUT_CONFIG_S3`) or the AppConfig
//! Lambda extension (`FANOUT_CONFIG_APPCONFIG`), else the file `fanout.yaml`;
//! [`live::LiveFanout`] re-reads it on an interval. YAML errors, duplicate
//! keys and fields of the wrong shape stop parsing with the line and column;
//! past that, every problem is reported at once, each naming the file (or the
//! source), the place in it and the rule it breaks.

mod appconfig;
pub mod live;
mod s3;
pub mod source;

pub use live::LiveFanout;
pub use source::ConfigSource;

use crate::destinations::{firehose, iot_analytics, iot_events, iot_events_detector, kinesis, sitewise};
use crate::pattern::Pattern;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

/// The environment variable that holds the config text itself (takes precedence).
pub const CONFIG_TEXT_ENV: &str = "FANOUT_CONFIG";
/// The environment variable that names the config file.
pub const CONFIG_FILE_ENV: &str = "FANOUT_CONFIG_FILE";
/// The config file used when [`CONFIG_FILE_ENV`] is unset.
pub const DEFAULT_CONFIG_FILE: &str = "fanout.yaml";

/// The file as written.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigFile {
    /// Named destinations.
    pub destinations: BTreeMap<String, DestinationConfig>,
    /// Routes, evaluated in order; every matching route fires.
    #[serde(default)]
    pub routes: Vec<RouteConfig>,
    /// Where records that can never succeed go, with their reason.
    pub dead_letter: Option<String>,
    /// Where records that no route takes go.
    pub unmatched: Option<String>,
    /// Retry and concurrency settings.
    #[serde(default)]
    pub delivery: DeliveryConfig,
    /// How the SQS function reads message bodies.
    #[serde(default)]
    pub sqs: crate::sources::sqs::SqsSourceConfig,
    /// Which fields of an IoT rule's result hold the topic and client id.
    #[serde(default)]
    pub iot: crate::sources::iot::IotSourceConfig,
    /// Limits of the HTTP function.
    #[serde(default)]
    pub http: crate::sources::http::HttpSourceConfig,
    /// The CloudWatch metrics each invocation emits.
    #[serde(default)]
    pub metrics: crate::metrics::MetricsConfig,
}

/// One route as written.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RouteConfig {
    /// A name for logs and `fanout-local validate`.
    pub name: String,
    /// An EventBridge-style content pattern; absent takes every record.
    /// Written but empty (`match:`, `match: null`) is `Some(Value::Null)`,
    /// which validation refuses, rather than absent.
    #[serde(rename = "match", default, deserialize_with = "written")]
    pub pattern: Option<serde_json::Value>,
    /// Destination names.
    pub to: Vec<String>,
}

/// `Some` whenever the field is written, even as `null` (which `Option` alone
/// would read as absent).
fn written<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<serde_json::Value>, D::Error> {
    serde_json::Value::deserialize(d).map(Some)
}

/// One destination as written, by its `type`.
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum DestinationConfig {
    /// Firehose `PutRecordBatch`.
    Firehose(firehose::FirehoseConfig),
    /// Kinesis `PutRecords` (and Kinesis-compatible services).
    Kinesis(kinesis::KinesisConfig),
    /// IoT Analytics `BatchPutMessage`.
    IotAnalytics(iot_analytics::IotAnalyticsConfig),
    /// IoT Events Data `BatchPutMessage`.
    IotEvents(iot_events::IotEventsConfig),
    /// IoT Events Data `BatchUpdateDetector`.
    IotEventsDetector(iot_events_detector::DetectorConfig),
    /// IoT SiteWise `BatchPutAssetPropertyValue`.
    Sitewise(sitewise::SitewiseConfig),
}

/// Evaluate `$e` with `$c` bound to whichever destination config this is.
macro_rules! each {
    ($self:expr, $c:ident => $e:expr) => {
        match $self {
            DestinationConfig::Firehose($c) => $e,
            DestinationConfig::Kinesis($c) => $e,
            DestinationConfig::IotAnalytics($c) => $e,
            DestinationConfig::IotEvents($c) => $e,
            DestinationConfig::IotEventsDetector($c) => $e,
            DestinationConfig::Sitewise($c) => $e,
        }
    };
}

impl DestinationConfig {
    /// The `type` as written.
    pub fn kind(&self) -> &'static str {
        match self {
            DestinationConfig::Firehose(_) => "firehose",
            DestinationConfig::Kinesis(_) => "kinesis",
            DestinationConfig::IotAnalytics(_) => "iot_analytics",
            DestinationConfig::IotEvents(_) => "iot_events",
            DestinationConfig::IotEventsDetector(_) => "iot_events_detector",
            DestinationConfig::Sitewise(_) => "sitewise",
        }
    }

    /// The per-destination endpoint override, for the local runner to redirect.
    pub fn endpoint_url_mut(&mut self) -> &mut Option<String> {
        each!(self, c => &mut c.endpoint_url)
    }

    /// The per-destination endpoint override.
    pub fn endpoint_url(&self) -> Option<&str> {
        each!(self, c => c.endpoint_url.as_deref())
    }

    /// The per-destination region override.
    pub fn region(&self) -> Option<&str> {
        each!(self, c => c.region.as_deref())
    }

    /// The packing limits after the config's changes.
    pub fn limits(&self) -> crate::pack::Limits {
        each!(self, c => c.limits())
    }

    /// The stream, delivery stream, channel, input, model or property this destination names.
    pub fn target(&self) -> String {
        match self {
            DestinationConfig::Firehose(c) => c.delivery_stream.clone(),
            DestinationConfig::Kinesis(c) => c.stream.clone().or_else(|| c.stream_arn.clone()).unwrap_or_default(),
            DestinationConfig::IotAnalytics(c) => c.channel.clone(),
            DestinationConfig::IotEvents(c) => c.input.clone(),
            DestinationConfig::IotEventsDetector(c) => c.detector_model.clone(),
            DestinationConfig::Sitewise(c) => format!("{} propert{}", c.properties.len(), if c.properties.len() == 1 { "y" } else { "ies" }),
        }
    }

    /// The per-destination in-flight request bound, if set.
    pub fn max_in_flight(&self) -> Option<usize> {
        each!(self, c => c.max_in_flight)
    }

    /// The payload fields this destination's mapping reads (for routed
    /// records; dead-letter envelopes are records of their own).
    pub fn data_fields(&self) -> crate::projection::DataFields {
        use crate::projection::DataFields;
        let pointers = |ps: &mut dyn Iterator<Item = &String>| DataFields::all(ps.map(|p| DataFields::pointer(p)).collect::<Vec<_>>());
        match self {
            DestinationConfig::Firehose(_) => DataFields::Unused,
            DestinationConfig::Kinesis(c) => pointers(&mut c.partition_key.iter()),
            DestinationConfig::IotAnalytics(_) => DataFields::Whole,
            DestinationConfig::IotEvents(c) => pointers(&mut c.payload.iter().chain(&c.timestamp)),
            DestinationConfig::IotEventsDetector(c) if c.passthrough => DataFields::Whole,
            DestinationConfig::IotEventsDetector(c) => {
                let timers = c.timers.values().filter_map(|t| match t {
                    crate::destinations::iot_events_detector::TimerSource::Pointer(p) => Some(p),
                    crate::destinations::iot_events_detector::TimerSource::Seconds(_) => None,
                });
                let state = c.state.iter().filter(|s| s.starts_with('/'));
                pointers(&mut c.key.iter().chain(state).chain(c.variables.values()).chain(timers))
            }
            DestinationConfig::Sitewise(c) if c.passthrough => DataFields::Whole,
            DestinationConfig::Sitewise(c) => DataFields::all(c.properties.iter().map(|p| p.data_fields()).collect::<Vec<_>>()),
        }
    }

    /// The per-destination rate limit (unlimited unless set).
    pub fn rate_limit(&self) -> crate::pace::RateLimit {
        each!(self, c => c.rate_limit)
    }

    /// Whether this type can take dead-letter envelopes (raw JSON records).
    pub fn takes_dead_letters(&self) -> bool {
        matches!(self, DestinationConfig::Firehose(_) | DestinationConfig::Kinesis(_))
    }

    fn validate(&self, place: &str, problems: &mut Vec<Problem>) {
        each!(self, c => c.validate(place, problems));
        if let Some(n) = self.max_in_flight() {
            check_range(problems, &format!("{place}.max_in_flight"), n, 1, MAX_IN_FLIGHT);
        }
        self.rate_limit().validate(place, problems);
        if let Some(url) = self.endpoint_url() {
            let host = url.strip_prefix("https://").or_else(|| url.strip_prefix("http://"));
            if host.is_none_or(|h| h.is_empty() || h.starts_with('/') || h.contains(char::is_whitespace)) {
                problems.push(problem(&format!("{place}.endpoint_url"), &format!("`{url}` is not an http:// or https:// URL with a host")));
            }
        }
        if let Some(region) = self.region() {
            if region.is_empty() || region.contains(char::is_whitespace) {
                problems.push(problem(&format!("{place}.region"), &format!("`{region}` is not a region name (like eu-west-1)")));
            }
        }
        // A record limit above the request limit admits records no request can carry.
        let (record, request) = match self {
            DestinationConfig::Firehose(c) => (c.max_record_bytes, c.max_request_bytes),
            DestinationConfig::Kinesis(c) => (c.max_record_bytes, c.max_request_bytes),
            _ => (None, None),
        };
        let limits = self.limits();
        if (record.is_some() || request.is_some()) && limits.max_item_bytes > limits.max_request_bytes {
            let field = if request.is_some() { "max_request_bytes" } else { "max_record_bytes" };
            problems.push(problem(
                &format!("{place}.{field}"),
                &format!(
                    "max_record_bytes ({}) is above max_request_bytes ({}): a record that size fits no request; lower max_record_bytes or raise max_request_bytes",
                    limits.max_item_bytes, limits.max_request_bytes
                ),
            ));
        }
    }
}

/// Highest allowed in-flight request bound per destination.
pub const MAX_IN_FLIGHT: usize = 64;

/// Lambda's longest timeout, in ms: a deadline margin this long leaves no time to send.
pub const MAX_LAMBDA_TIMEOUT_MS: u64 = 900_000;

/// Retry and concurrency settings shared by all destinations.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct DeliveryConfig {
    /// Attempts per item, the first send included (1 = never resend).
    pub max_attempts: u32,
    /// Base of the exponential backoff between resend rounds, in ms.
    pub base_delay_ms: u64,
    /// Cap of one backoff wait, in ms (full jitter draws from 0 to the capped value).
    pub max_delay_ms: u64,
    /// How long before the Lambda deadline fanout stops sending and answers, in ms.
    pub deadline_margin_ms: u64,
    /// Requests in flight at once per destination, unless the destination sets its own.
    pub max_in_flight: usize,
    /// The time an invocation takes as its budget when the deadline Lambda
    /// gives is not a real one (already past or beyond 15 minutes, as under
    /// `cargo lambda watch`), in ms.
    pub unknown_deadline_budget_ms: u64,
}

impl Default for DeliveryConfig {
    fn default() -> Self {
        Self {
            max_attempts: 8,
            base_delay_ms: 50,
            max_delay_ms: 2_000,
            deadline_margin_ms: 1_000,
            max_in_flight: 8,
            unknown_deadline_budget_ms: 60_000,
        }
    }
}

/// A validated route.
#[derive(Debug, Clone)]
pub struct Route {
    /// The route's name.
    pub name: String,
    /// The compiled pattern; `None` takes every record.
    pub pattern: Option<Pattern>,
    /// The pattern as written, for display.
    pub pattern_source: Option<serde_json::Value>,
    /// Indices into [`Config::destinations`], without duplicates.
    pub to: Vec<usize>,
}

/// A validated configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// The file it came from (for messages).
    pub file: PathBuf,
    /// Destinations by name, sorted by name.
    pub destinations: Vec<(String, DestinationConfig)>,
    /// Routes in file order.
    pub routes: Vec<Route>,
    /// Index of the dead-letter destination.
    pub dead_letter: Option<usize>,
    /// Index of the destination for records no route takes.
    pub unmatched: Option<usize>,
    /// Retry and concurrency settings.
    pub delivery: DeliveryConfig,
    /// How the SQS function reads message bodies.
    pub sqs: crate::sources::sqs::SqsSourceConfig,
    /// Which fields of an IoT rule's result hold the topic and client id.
    pub iot: crate::sources::iot::IotSourceConfig,
    /// Limits of the HTTP function.
    pub http: crate::sources::http::HttpSourceConfig,
    /// The CloudWatch metrics each invocation emits.
    pub metrics: crate::metrics::MetricsConfig,
}

/// One thing wrong in a config file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// Where in the file (`routes[1].to[0]`).
    pub place: String,
    /// What is wrong.
    pub message: String,
}

/// Why a config file could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("{}: cannot read the config file: {source}", file.display())]
    Read {
        /// The file.
        file: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file is not valid YAML/JSON, or has fields of the wrong shape.
    #[error("{}: {message}", file.display())]
    Parse {
        /// The file.
        file: PathBuf,
        /// The parser's message, with the place (path, line and column).
        message: String,
    },
    /// The file parsed but breaks rules.
    #[error("{}: {} problem(s):{}", file.display(), problems.len(), ProblemList(problems))]
    Invalid {
        /// The file.
        file: PathBuf,
        /// Every problem found.
        problems: Vec<Problem>,
    },
    /// An environment variable that says where the config is, or how to
    /// read it, is set but unusable (not UTF-8, not of its form, or set
    /// together with another source's variable).
    #[error("{var} is set but {problem}")]
    Env {
        /// The variable (one of the `*_ENV` constants of this module and of [`source`]).
        var: &'static str,
        /// What is wrong with it, and what to do.
        problem: String,
    },
    /// The config could not be fetched from where it lives (S3, the
    /// AppConfig extension): `origin` is [`ConfigSource::describe`].
    #[error("{origin}: {problem}")]
    Fetch {
        /// The source (`s3://bucket/key`, `appconfig:app/env/profile`).
        origin: String,
        /// What was answered, or why nothing was, and what to check.
        problem: String,
    },
    /// The config is larger than fanout reads ([`source::MAX_CONFIG_BYTES`]).
    #[error("{origin}: the config is {} bytes, above fanout's limit of {limit} bytes", size.map_or_else(|| format!("more than {limit}"), |s| s.to_string()))]
    TooLarge {
        /// The source.
        origin: String,
        /// Its size when the source said it (file length, `Content-Length`).
        size: Option<u64>,
        /// The limit.
        limit: u64,
    },
}

struct ProblemList<'a>(&'a [Problem]);

impl fmt::Display for ProblemList<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for p in self.0 {
            write!(f, "\n  {}: {}", p.place, p.message)?;
        }
        Ok(())
    }
}

impl Config {
    /// The payload fields the routes' patterns and the destinations' mappings read.
    pub fn data_fields(&self) -> crate::projection::DataFields {
        let patterns = self.routes.iter().filter_map(|r| r.pattern.as_ref()).map(|p| p.data_fields());
        let mappings = self.destinations.iter().map(|(_, d)| d.data_fields());
        crate::projection::DataFields::all(patterns.chain(mappings).collect::<Vec<_>>())
    }

    /// Load and validate a config file (at most [`source::MAX_CONFIG_BYTES`]).
    pub fn load(file: &Path) -> Result<Self, ConfigError> {
        ConfigSource::File(file.to_owned()).load_local()
    }

    /// Parse and validate config text; `file` is only used in messages.
    pub fn parse(text: &str, file: &Path) -> Result<Self, ConfigError> {
        let parse_error = |e: serde_saphyr::Error| ConfigError::Parse { file: file.to_owned(), message: parse_message(&e, file) };
        // The typed pass reads lazily and stops at the first field it cannot
        // use, so a mis-indented line would show as its symptom (`missing field
        // delivery_stream`). A first pass over the whole document reports YAML
        // errors, duplicate keys and extra documents where they are.
        serde_saphyr::from_str_with_options::<serde::de::IgnoredAny>(text, yaml_options()).map_err(parse_error)?;
        let raw: ConfigFile = serde_saphyr::from_str_with_options(text, yaml_options()).map_err(parse_error)?;
        Self::validate(raw, file)
    }

    /// Check every rule; report every problem.
    pub fn validate(raw: ConfigFile, file: &Path) -> Result<Self, ConfigError> {
        let mut problems = Vec::new();
        let names: Vec<&String> = raw.destinations.keys().collect();
        if raw.destinations.is_empty() {
            problems.push(problem("destinations", "at least one destination is required"));
        }
        for (name, dest) in &raw.destinations {
            if name.is_empty() {
                problems.push(problem("destinations", "a destination name cannot be empty"));
            }
            dest.validate(&format!("destinations.{name}"), &mut problems);
        }
        let lookup = |place: String, name: &str, problems: &mut Vec<Problem>| -> Option<usize> {
            let found = names.iter().position(|n| n.as_str() == name);
            if found.is_none() {
                let known = names.iter().map(|n| n.as_str()).collect::<Vec<_>>().join(", ");
                problems.push(Problem { place, message: format!("unknown destination `{name}` (known: {known})") });
            }
            found
        };
        let mut routes = Vec::with_capacity(raw.routes.len());
        let mut route_names = std::collections::HashSet::new();
        for (i, route) in raw.routes.iter().enumerate() {
            let place = format!("routes[{i}]");
            if route.name.is_empty() {
                problems.push(problem(&format!("{place}.name"), "a route needs a name"));
            } else if !route_names.insert(route.name.as_str()) {
                problems.push(problem(&format!("{place}.name"), &format!("route name `{}` is used twice", route.name)));
            }
            if route.to.is_empty() {
                problems.push(problem(&format!("{place}.to"), "a route needs at least one destination"));
            }
            let mut to = Vec::with_capacity(route.to.len());
            for (j, name) in route.to.iter().enumerate() {
                if let Some(first) = route.to[..j].iter().position(|n| n == name) {
                    problems.push(problem(
                        &format!("{place}.to[{j}]"),
                        &format!("`{name}` is already named at {place}.to[{first}] (a route sends a record to a destination once)"),
                    ));
                } else if let Some(d) = lookup(format!("{place}.to[{j}]"), name, &mut problems) {
                    to.push(d);
                }
            }
            let pattern = match &route.pattern {
                None => None,
                Some(serde_json::Value::Null) => {
                    problems.push(problem(&format!("{place}.match"), "is empty: write a pattern, or leave `match` out to take every record"));
                    None
                }
                Some(p) => match Pattern::compile(p) {
                    Ok(p) => Some(p),
                    Err(e) => {
                        let place = if e.path.is_empty() { format!("{place}.match") } else { format!("{place}.match.{}", e.path) };
                        problems.push(Problem { place, message: e.message });
                        None
                    }
                },
            };
            routes.push(Route { name: route.name.clone(), pattern, pattern_source: route.pattern.clone(), to });
        }
        let dead_letter = raw.dead_letter.as_deref().and_then(|n| lookup("dead_letter".into(), n, &mut problems));
        if let Some((name, dest)) = dead_letter.and_then(|d| raw.destinations.iter().nth(d)) {
            if !dest.takes_dead_letters() {
                problems.push(problem(
                    "dead_letter",
                    &format!("`{name}` is a {} destination; dead letters go to a firehose or kinesis destination", dest.kind()),
                ));
            }
        }
        let unmatched = raw.unmatched.as_deref().and_then(|n| lookup("unmatched".into(), n, &mut problems));
        // Dead letters go to a stream of their own: routed records there would
        // be mixed with envelopes, and a record the destination refuses would
        // be dead-lettered back to the destination that refused it.
        if let Some(dl) = raw.dead_letter.as_deref().filter(|_| dead_letter.is_some()) {
            let why = "routed records would be mixed with dead-letter envelopes, and a record it refuses would be dead-lettered back to it";
            for (i, route) in raw.routes.iter().enumerate() {
                for (j, name) in route.to.iter().enumerate() {
                    if name == dl && !route.to[..j].contains(name) {
                        problems.push(problem(&format!("routes[{i}].to[{j}]"), &format!("`{dl}` is the dead_letter destination: {why}")));
                    }
                }
            }
            if raw.unmatched.as_deref() == Some(dl) {
                problems.push(problem("unmatched", &format!("`{dl}` is the dead_letter destination: {why}")));
            }
        }
        let d = &raw.delivery;
        check_range(&mut problems, "delivery.max_attempts", d.max_attempts as usize, 1, 100);
        check_range(&mut problems, "delivery.max_in_flight", d.max_in_flight, 1, MAX_IN_FLIGHT);
        if d.base_delay_ms == 0 {
            problems.push(problem("delivery.base_delay_ms", "must be at least 1"));
        }
        if d.max_delay_ms == 0 {
            problems.push(problem("delivery.max_delay_ms", "must be at least 1"));
        } else if d.base_delay_ms > d.max_delay_ms {
            problems.push(problem(
                "delivery.base_delay_ms",
                &format!("{} is above delivery.max_delay_ms ({}); the base must be at most the cap", d.base_delay_ms, d.max_delay_ms),
            ));
        }
        if d.deadline_margin_ms == 0 {
            problems.push(problem("delivery.deadline_margin_ms", "must be at least 1: fanout needs time to answer before the Lambda deadline"));
        } else if d.deadline_margin_ms >= MAX_LAMBDA_TIMEOUT_MS {
            problems.push(problem(
                "delivery.deadline_margin_ms",
                &format!(
                    "{} is not below Lambda's longest timeout ({MAX_LAMBDA_TIMEOUT_MS} ms): no time would be left to send",
                    d.deadline_margin_ms
                ),
            ));
        }
        if d.unknown_deadline_budget_ms > MAX_LAMBDA_TIMEOUT_MS {
            problems.push(problem(
                "delivery.unknown_deadline_budget_ms",
                &format!("{} is above Lambda's longest timeout ({MAX_LAMBDA_TIMEOUT_MS} ms)", d.unknown_deadline_budget_ms),
            ));
        } else if d.unknown_deadline_budget_ms <= d.deadline_margin_ms && d.deadline_margin_ms < MAX_LAMBDA_TIMEOUT_MS {
            // (A margin that is itself unusable is reported on its own.)
            problems.push(problem(
                "delivery.unknown_deadline_budget_ms",
                &format!(
                    "{} is not above delivery.deadline_margin_ms ({}): no time would be left to send",
                    d.unknown_deadline_budget_ms, d.deadline_margin_ms
                ),
            ));
        }
        raw.metrics.validate(&mut problems);
        if !problems.is_empty() {
            return Err(ConfigError::Invalid { file: file.to_owned(), problems });
        }
        Ok(Config {
            file: file.to_owned(),
            destinations: raw.destinations.into_iter().collect(),
            routes,
            dead_letter,
            unmatched,
            delivery: raw.delivery,
            sqs: raw.sqs,
            iot: raw.iot,
            http: raw.http,
            metrics: raw.metrics,
        })
    }

    /// The index of a destination by name.
    pub fn destination_index(&self, name: &str) -> Option<usize> {
        self.destinations.iter().position(|(n, _)| n == name)
    }
}

fn problem(place: &str, message: &str) -> Problem {
    Problem { place: place.to_owned(), message: message.to_owned() }
}

/// How config text is read: duplicate keys are errors, and scalars mean what
/// they meant with serde_yaml (YAML 1.2): only `true`/`false` are booleans
/// (`on`, `no`, `y` are strings), and `007` and `1_000` are strings too.
fn yaml_options() -> serde_saphyr::Options {
    serde_saphyr::options! {
        duplicate_keys: serde_saphyr::DuplicateKeyPolicy::Error,
        strict_booleans: true,
        leading_zero_numbers_as_strings: true,
        underscored_numbers_as_strings: true,
    }
}

/// The parser's message, with its line and column and a snippet of the text
/// that names `file`: `line 4 column 3: duplicate mapping key `a` is not allowed here`.
fn parse_message(e: &serde_saphyr::Error, file: &Path) -> String {
    let name = file.display().to_string();
    let text = e.render_with_options(serde_saphyr::render_options! {
        formatter: &serde_saphyr::UserMessageFormatter,
        source_name: Some(name.as_str()),
    });
    match text.strip_prefix("error: ") {
        Some(rest) => rest.to_owned(),
        None => text,
    }
}

/// Record a problem when `value` is outside `min..=max`.
pub(crate) fn check_range(problems: &mut Vec<Problem>, place: &str, value: usize, min: usize, max: usize) {
    if value < min || value > max {
        problems.push(problem(place, &format!("{value} is outside {min}..={max}")));
    }
}

/// Record a problem when an optional limit is outside `1..=max` (the API's maximum).
pub(crate) fn check_limit(problems: &mut Vec<Problem>, place: &str, value: Option<usize>, max: usize, api: &str) {
    match value {
        Some(0) => problems.push(problem(place, &format!("must be at least 1 (the {api} maximum is {max})"))),
        Some(v) if v > max => problems.push(problem(place, &format!("{v} is above the {api} maximum of {max}"))),
        _ => {}
    }
}

/// Record a problem when a name breaks an AWS name rule (length and character class).
pub(crate) fn check_name(problems: &mut Vec<Problem>, place: &str, value: &str, max_len: usize, allowed: fn(char) -> bool, rule: &str) {
    if value.is_empty() || value.len() > max_len || !value.chars().all(allowed) {
        problems.push(problem(place, &format!("`{value}` does not match {rule} (1-{max_len} characters)")));
    }
}

/// Record a problem when a JSON Pointer is malformed.
pub(crate) fn check_pointer(problems: &mut Vec<Problem>, place: &str, pointer: &str) {
    if !pointer.starts_with('/') {
        problems.push(problem(place, &format!("`{pointer}` is not a JSON Pointer (it must start with `/`, like /deviceId)")));
    }
}

#[cfg(test)]
mod tests;
