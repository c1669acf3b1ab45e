//! The user's configuration file: parsing, validation, and the validated form
//! the router and the destinations are built from.
//!
//! The config is YAML (JSON is accepted too, as a subset of YAML), read from
//! one [`source::ConfigSource`]: the text of `FANOUT_CONFIG`, the file named
//! by `FANOUT_CONFIG_FILE`, an S3 object (`FANOUT_CONFIG_S3`) or the AppConfig
//! Lambda extension (`FANOUT_CONFIG_APPCONFIG`), else the file `fanout.yaml`;
//! [`crate::live::LiveFanout`] re-reads it on an interval. YAML errors, duplicate
//! keys and fields of the wrong shape stop parsing with the line and column;
//! past that, every problem is reported at once, each naming the file (or the
//! source), the place in it and the rule it breaks.

mod appconfig;
pub mod reading;
mod s3;
pub mod source;

pub use source::ConfigSource;

use crate::destinations::DestinationConfig;
use crate::pattern::Pattern;
use crate::validation::Problem;
use crate::validation::{check_range, problem};
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
    pub sqs: crate::sources::sqs::config::SqsSourceConfig,
    /// Which fields of an IoT rule's result hold the topic and client id.
    #[serde(default)]
    pub iot: crate::sources::iot::config::IotSourceConfig,
    /// Limits of the HTTP function.
    #[serde(default)]
    pub http: crate::sources::http::config::HttpSourceConfig,
    /// The CloudWatch metrics each invocation emits.
    #[serde(default)]
    pub metrics: crate::metrics::config::MetricsConfig,
    /// The delivery ledger's table ([`crate::ledger`]); none: at-least-once.
    pub ledger: Option<crate::ledger::config::LedgerConfig>,
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

use crate::destinations::registry::MAX_IN_FLIGHT;

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
    pub sqs: crate::sources::sqs::config::SqsSourceConfig,
    /// Which fields of an IoT rule's result hold the topic and client id.
    pub iot: crate::sources::iot::config::IotSourceConfig,
    /// Limits of the HTTP function.
    pub http: crate::sources::http::config::HttpSourceConfig,
    /// The CloudWatch metrics each invocation emits.
    pub metrics: crate::metrics::config::MetricsConfig,
    /// The delivery ledger's table ([`crate::ledger`]); none: at-least-once.
    pub ledger: Option<crate::ledger::config::LedgerConfig>,
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
    /// The config is larger than fanout reads ([`reading::MAX_CONFIG_BYTES`]).
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
        let mappings = self.destinations.iter().map(|(_, d)| d.spec().data_fields());
        crate::projection::DataFields::all(patterns.chain(mappings).collect::<Vec<_>>())
    }

    /// Whether one destination reads the payload, for one top-level field,
    /// and no route reads it: then each record's read is best made from its
    /// text ([`crate::record::Record::read_pointers_from_text`]) rather than
    /// from a view built, read once and kept.
    pub fn reads_one_field_once(&self) -> bool {
        use crate::projection::DataFields;
        let routes = DataFields::all(self.routes.iter().filter_map(|r| r.pattern.as_ref()).map(|p| p.data_fields()).collect::<Vec<_>>());
        let readers: Vec<DataFields> = self.destinations.iter().map(|(_, d)| d.spec().data_fields()).filter(|f| *f != DataFields::Unused).collect();
        routes == DataFields::Unused && matches!(readers.as_slice(), [DataFields::Fields(fields)] if fields.len() == 1)
    }

    /// Load and validate a config file (at most [`reading::MAX_CONFIG_BYTES`]).
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
            dest.spec().validate(&format!("destinations.{name}"), &mut problems);
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
            if !dest.kind().takes_dead_letters() {
                problems.push(problem(
                    "dead_letter",
                    &format!("`{name}` is a {} destination; dead letters go to a {} destination", dest.kind(), dead_letter_kinds()),
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
        if let Some(ledger) = &raw.ledger {
            ledger.validate(&mut problems);
        }
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
            ledger: raw.ledger,
        })
    }
}

/// The types that take dead letters, for messages: `firehose or kinesis`.
fn dead_letter_kinds() -> String {
    let kinds: Vec<&str> = crate::destinations::Kind::ALL.iter().filter(|k| k.takes_dead_letters()).map(|k| k.as_str()).collect();
    match kinds.split_last() {
        Some((last, [])) => (*last).to_owned(),
        Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
        None => "no".to_owned(),
    }
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

#[cfg(test)]
mod tests;
