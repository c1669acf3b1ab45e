//! AWS IoT Events Data `BatchUpdateDetector`: records become detector updates.
//! (Reading detector state is [`crate::detectors`].)
//!
//! Rules (IoT Events Data API reference): `messageId` 1-64 of
//! `[a-zA-Z0-9_-]`, unique in the batch; `detectorModelName` 1-128 of
//! `[a-zA-Z0-9_-]`; `keyValue` 1-128 of `[a-zA-Z0-9_:-]`; `stateName` 1-128;
//! variable and timer names `^[a-zA-Z][a-zA-Z0-9_]*$` (1-128); variable values
//! 1-1,024 characters. AWS documents no
//! maximum number of detectors per request; fanout sends at most 10 by
//! default (`max_detectors`). Failures come back in
//! `batchUpdateDetectorErrorEntries`, matched by `messageId`.

use super::entries::{map_by_id, message_id};
use super::registry::{common_fields, CommonFields, DestinationType};
use crate::clients::Clients;
use crate::deliver::api::{BatchApi, ItemResult, Prepared, Purpose};
use crate::error::{from_sdk_error, ErrorClass, ItemError};
use crate::json_source::JsonSource;
use crate::pack::Limits;
use crate::projection::DataFields;
use crate::record::Record;
use crate::validation::{check_range, Problem};
use aws_sdk_ioteventsdata::types::{DetectorStateDefinition, TimerDefinition, UpdateDetectorRequest, VariableDefinition};
use serde::Deserialize;
use serde_json::Value;
use std::borrow::Cow;
use std::collections::BTreeMap;

/// Detectors per request unless `max_detectors` says otherwise.
pub const DEFAULT_DETECTORS_PER_REQUEST: usize = 10;
/// The most `max_detectors` may be.
pub const MAX_DETECTORS_PER_REQUEST: usize = 100;
/// Longest variable value.
pub const MAX_VARIABLE_VALUE_CHARS: usize = 1024;
/// Longest message id.
pub const MAX_MESSAGE_ID_LEN: usize = 64;

/// A timer's seconds: a constant, or a JSON Pointer into the payload or a jq
/// expression ([`crate::json_source`]).
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(untagged)]
pub enum TimerSource {
    /// Constant seconds.
    Seconds(i64),
    /// A JSON Pointer to the seconds.
    Pointer(String),
}

/// `type: iot_events_detector` in the config file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DetectorConfig {
    /// `detectorModelName`.
    pub detector_model: String,
    /// JSON Pointer to the detector's key value, or a jq expression ([`crate::json_source`]).
    pub key: Option<String>,
    /// The state to set: a constant name, a JSON Pointer (starting with `/`)
    /// or a jq expression (starting with `=`).
    pub state: Option<String>,
    /// Variable name to JSON Pointer or jq expression; values are sent as text.
    #[serde(default)]
    pub variables: BTreeMap<String, String>,
    /// Timer name to seconds (constant) or a JSON Pointer to them.
    #[serde(default)]
    pub timers: BTreeMap<String, TimerSource>,
    /// The payload already is a `detectors[]` item (`keyValue`, `state`, ...).
    #[serde(default)]
    pub passthrough: bool,
    /// Per-destination endpoint.
    pub endpoint_url: Option<String>,
    /// Per-destination region.
    pub region: Option<String>,
    /// A role to assume for this destination (another account), with STS.
    pub role_arn: Option<String>,
    /// The external id the role's trust policy asks for.
    pub external_id: Option<String>,
    /// A jq program: what this destination sends for each record ([`crate::transform`]).
    pub transform: Option<String>,
    /// Detectors per request (default 10).
    pub max_detectors: Option<usize>,
    /// `per_key`: updates of one detector key reach IoT Events in source
    /// order ([`super::ordering`]).
    pub ordering: Option<super::ordering::Ordering>,
    /// Requests in flight at once to this destination.
    pub max_in_flight: Option<usize>,
    /// Requests, records and bytes per second to this destination, per function instance.
    #[serde(default)]
    pub rate_limit: crate::pace::RateLimit,
}

fn is_name(s: &str) -> bool {
    let mut c = s.chars();
    s.len() <= 128 && c.next().is_some_and(|f| f.is_ascii_alphabetic()) && c.all(|x| x.is_ascii_alphanumeric() || x == '_')
}

fn is_model_name(s: &str) -> bool {
    !s.is_empty() && s.len() <= 128 && s.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-'))
}

fn is_key_value(s: &str) -> bool {
    !s.is_empty() && s.len() <= 128 && s.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | ':'))
}

common_fields!(DetectorConfig);

impl DestinationType for DetectorConfig {
    type Api = IotEventsDetector;
    const SEND_ACTIONS: &'static [&'static str] = &["iotevents:BatchUpdateDetector"];

    fn sends_to(&self) -> String {
        self.detector_model.clone()
    }

    fn data_fields(&self) -> DataFields {
        if self.passthrough {
            return DataFields::Whole;
        }
        let timers = self.timers.values().filter_map(|t| match t {
            TimerSource::Pointer(p) => Some(p),
            TimerSource::Seconds(_) => None,
        });
        let state = self.state.iter().filter(|s| JsonSource::is_source(s));
        let sources = self.key.iter().chain(state).chain(self.variables.values()).chain(timers);
        DataFields::all(sources.map(|p| JsonSource::parse(p).map_or(DataFields::Whole, |s| s.data_fields())).collect::<Vec<_>>())
    }

    fn api(&self, clients: &Clients) -> IotEventsDetector {
        IotEventsDetector::new(clients.ioteventsdata_for(&self.overrides()), self)
    }

    fn validate(&self, place: &str, problems: &mut Vec<Problem>) {
        let mut bad = |field: &str, message: String| problems.push(Problem { place: format!("{place}.{field}"), message });
        if !is_model_name(&self.detector_model) {
            bad("detector_model", format!("`{}` does not match ^[a-zA-Z0-9_-]+$ (1-128 characters)", self.detector_model));
        }
        if !self.passthrough {
            if self.key.is_none() {
                bad("key", "a JSON Pointer or jq expression giving the detector key is required (or passthrough: true)".into());
            }
            if self.state.is_none() {
                bad("state", "a state name, or a JSON Pointer or jq expression giving it, is required (or passthrough: true)".into());
            }
        }
        for name in self.variables.keys() {
            if !is_name(name) {
                bad(&format!("variables.{name}"), "variable names match ^[a-zA-Z][a-zA-Z0-9_]*$ (1-128 characters)".into());
            }
        }
        for (name, source) in &self.timers {
            if !is_name(name) {
                bad(&format!("timers.{name}"), "timer names match ^[a-zA-Z][a-zA-Z0-9_]*$ (1-128 characters)".into());
            }
            if let TimerSource::Seconds(s) = source {
                if *s < 0 || *s > i64::from(i32::MAX) {
                    bad(&format!("timers.{name}"), format!("{s} seconds is outside 0..={}", i32::MAX));
                }
            }
        }
        if let Some(k) = &self.key {
            JsonSource::check(problems, &format!("{place}.key"), k);
        }
        if let Some(s) = self.state.as_deref().filter(|s| JsonSource::is_source(s)) {
            JsonSource::check(problems, &format!("{place}.state"), s);
        }
        for (name, source) in &self.variables {
            JsonSource::check(problems, &format!("{place}.variables.{name}"), source);
        }
        for (name, source) in &self.timers {
            if let TimerSource::Pointer(p) = source {
                JsonSource::check(problems, &format!("{place}.timers.{name}"), p);
            }
        }
        if let Some(n) = self.max_detectors {
            check_range(problems, &format!("{place}.max_detectors"), n, 1, MAX_DETECTORS_PER_REQUEST);
        }
    }

    fn limits(&self) -> Limits {
        Limits {
            max_items: self.max_detectors.unwrap_or(DEFAULT_DETECTORS_PER_REQUEST),
            max_item_bytes: usize::MAX / 2,
            max_request_bytes: usize::MAX / 2,
        }
    }
}

/// One detector update before it becomes an SDK type.
#[derive(Debug, Clone, PartialEq)]
pub struct DetectorUpdate {
    /// Deterministic id.
    pub message_id: String,
    /// `detectorModelName`.
    pub model: String,
    /// `keyValue`.
    pub key: String,
    /// `stateName`.
    pub state: String,
    /// Variables, as text.
    pub variables: Vec<(String, String)>,
    /// Timers, in seconds.
    pub timers: Vec<(String, i32)>,
}

/// An IoT Events detector model.
#[derive(Debug, Clone)]
pub struct IotEventsDetector {
    client: aws_sdk_ioteventsdata::Client,
    config: DetectorConfig,
    sources: Sources,
    limits: Limits,
}

/// The config's key, state, variable and timer sources, parsed (config
/// validation reports those that do not parse; they read as absent here).
#[derive(Debug, Clone)]
struct Sources {
    key: Option<JsonSource>,
    /// `None` for a constant state.
    state: Option<JsonSource>,
    variables: Vec<(String, Option<JsonSource>)>,
    /// A source, or constant seconds.
    timers: Vec<(String, Result<Option<JsonSource>, i64>)>,
}

impl Sources {
    fn new(c: &DetectorConfig) -> Self {
        let parse = |s: &str| JsonSource::parse(s).ok();
        Sources {
            key: c.key.as_deref().and_then(parse),
            state: c.state.as_deref().filter(|s| JsonSource::is_source(s)).and_then(parse),
            variables: c.variables.iter().map(|(name, s)| (name.clone(), parse(s))).collect(),
            timers: c
                .timers
                .iter()
                .map(|(name, t)| {
                    (
                        name.clone(),
                        match t {
                            TimerSource::Seconds(s) => Err(*s),
                            TimerSource::Pointer(p) => Ok(parse(p)),
                        },
                    )
                })
                .collect(),
        }
    }
}

fn text_of(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn read<'a>(record: &'a Record, source: Option<&JsonSource>, what: &str) -> Result<Cow<'a, Value>, ItemError> {
    let source = source.ok_or_else(|| ItemError::permanent("FieldMissing", format!("{what} is not a JSON Pointer or jq expression")))?;
    source
        .get(record)
        .map_err(|why| ItemError::permanent("FieldMissing", format!("{what} {why}")))?
        .ok_or_else(|| ItemError::permanent("FieldMissing", format!("{what} {source} cannot be read from the record")))
}

/// Check an update against the API's rules; the error names the field.
fn check_update(u: &DetectorUpdate) -> Result<(), ItemError> {
    let invalid = |m: String| Err(ItemError::permanent("InvalidDetectorUpdate", m));
    if !is_model_name(&u.model) {
        return invalid(format!("detectorModelName `{}` does not match ^[a-zA-Z0-9_-]+$ (1-128)", u.model));
    }
    if !is_key_value(&u.key) {
        return invalid(format!("keyValue `{}` does not match ^[a-zA-Z0-9\\-_:]+$ (1-128)", u.key));
    }
    if u.state.is_empty() || u.state.chars().count() > 128 {
        return invalid(format!("stateName must be 1-128 characters, it has {}", u.state.chars().count()));
    }
    for (name, value) in &u.variables {
        if !is_name(name) {
            return invalid(format!("variable name `{name}` does not match ^[a-zA-Z][a-zA-Z0-9_]*$"));
        }
        let n = value.chars().count();
        if n == 0 || n > MAX_VARIABLE_VALUE_CHARS {
            return invalid(format!("variable `{name}` is {n} characters; values are 1-{MAX_VARIABLE_VALUE_CHARS}"));
        }
    }
    for (name, _) in &u.timers {
        if !is_name(name) {
            return invalid(format!("timer name `{name}` does not match ^[a-zA-Z][a-zA-Z0-9_]*$"));
        }
    }
    Ok(())
}

fn seconds(v: &Value, name: &str) -> Result<i32, ItemError> {
    v.as_i64().and_then(|s| i32::try_from(s).ok()).filter(|s| *s >= 0).ok_or_else(|| {
        ItemError::permanent("InvalidDetectorUpdate", format!("timer `{name}` seconds must be a whole number 0..={}, found {v}", i32::MAX))
    })
}

impl IotEventsDetector {
    /// A destination updating detectors of `config.detector_model` through `client`.
    pub fn new(client: aws_sdk_ioteventsdata::Client, config: &DetectorConfig) -> Self {
        Self { client, limits: DestinationType::limits(config), sources: Sources::new(config), config: config.clone() }
    }

    /// The update a record becomes, validated.
    pub fn prepare_one(&self, record: &Record) -> Result<Prepared<DetectorUpdate>, ItemError> {
        let c = &self.config;
        let message_id = message_id(&record.id, MAX_MESSAGE_ID_LEN);
        let update = if c.passthrough {
            let v = record
                .json()
                .ok_or_else(|| ItemError::permanent("InvalidDetectorUpdate", "passthrough needs a JSON detectors[] item; the payload is not JSON"))?;
            update_from_item(v, &c.detector_model, message_id)?
        } else {
            let s = &self.sources;
            let key = text_of(&*read(record, s.key.as_ref(), "key")?);
            let state = match (&s.state, c.state.as_deref()) {
                (Some(source), _) => text_of(&*read(record, Some(source), "state")?),
                (None, constant) => constant.unwrap_or_default().to_owned(),
            };
            let variables = s
                .variables
                .iter()
                .map(|(name, source)| Ok((name.clone(), text_of(&*read(record, source.as_ref(), &format!("variable `{name}`"))?))))
                .collect::<Result<_, ItemError>>()?;
            let timers = s
                .timers
                .iter()
                .map(|(name, source)| match source {
                    Err(seconds) => Ok((name.clone(), *seconds as i32)),
                    Ok(source) => Ok((name.clone(), seconds(&*read(record, source.as_ref(), &format!("timer `{name}`"))?, name)?)),
                })
                .collect::<Result<_, ItemError>>()?;
            let mapped = DetectorUpdate { message_id, model: c.detector_model.clone(), key, state, variables, timers };
            check_update(&mapped)?;
            mapped
        };
        // Sizes only feed the byte counts (detectors are limited by count): roughly the update's JSON.
        let size = 96 + update.key.len() + update.state.len() + update.variables.iter().map(|(n, v)| n.len() + v.len() + 24).sum::<usize>();
        Ok(Prepared { entry: update, size })
    }
}

/// A `detectors[]` item in the API's shape (`detectorModelName` optional,
/// `keyValue`, `state{stateName, variables[], timers[]}`) as an update, validated.
pub fn update_from_item(v: &Value, default_model: &str, message_id: String) -> Result<DetectorUpdate, ItemError> {
    let field = |p: &str| crate::pointer::get(v, p).map(text_of);
    let update = DetectorUpdate {
        message_id,
        model: field("/detectorModelName").unwrap_or_else(|| default_model.to_owned()),
        key: field("/keyValue").ok_or_else(|| ItemError::permanent("InvalidDetectorUpdate", "the item has no keyValue"))?,
        state: field("/state/stateName").ok_or_else(|| ItemError::permanent("InvalidDetectorUpdate", "the item has no state.stateName"))?,
        variables: crate::pointer::get(v, "/state/variables")
            .and_then(Value::as_array)
            .map(|vars| {
                vars.iter().map(|x| (x.get("name").map(text_of).unwrap_or_default(), x.get("value").map(text_of).unwrap_or_default())).collect()
            })
            .unwrap_or_default(),
        timers: crate::pointer::get(v, "/state/timers").and_then(Value::as_array).map_or(Ok(Vec::new()), |ts| {
            ts.iter()
                .map(|t| {
                    let name = t.get("name").map(text_of).unwrap_or_default();
                    let s = seconds(t.get("seconds").unwrap_or(&Value::Null), &name)?;
                    Ok((name, s))
                })
                .collect::<Result<Vec<_>, ItemError>>()
        })?,
    };
    check_update(&update)?;
    Ok(update)
}

/// Send updates with `BatchUpdateDetector` (one request): one result per update.
pub async fn send_updates(client: &aws_sdk_ioteventsdata::Client, updates: &[&DetectorUpdate]) -> Result<Vec<ItemResult>, ItemError> {
    let detectors = updates.iter().map(|u| to_sdk(u)).collect::<Result<Vec<_>, _>>()?;
    let output = client.batch_update_detector().set_detectors(Some(detectors)).send().await.map_err(from_sdk_error)?;
    Ok(map_response(&output, updates))
}

/// Classify `batchUpdateDetectorErrorEntries[].errorCode`.
pub fn classify_item_code(code: &str) -> ErrorClass {
    super::iot_events::classify_item_code(code)
}

/// Map a `BatchUpdateDetector` response to one result per sent update.
pub fn map_response(
    output: &aws_sdk_ioteventsdata::operation::batch_update_detector::BatchUpdateDetectorOutput,
    sent: &[&DetectorUpdate],
) -> Vec<ItemResult> {
    let errors = output.batch_update_detector_error_entries().iter().map(|e| (e.message_id(), e.error_code().map(|c| c.as_str()), e.error_message()));
    map_by_id(sent.iter().map(|u| u.message_id.as_str()), errors, classify_item_code)
}

fn to_sdk(u: &DetectorUpdate) -> Result<UpdateDetectorRequest, ItemError> {
    let mut state = DetectorStateDefinition::builder().state_name(&u.state).set_variables(Some(Vec::new())).set_timers(Some(Vec::new()));
    for (name, value) in &u.variables {
        state = state.variables(VariableDefinition::builder().name(name).value(value).build().map_err(ItemError::construction)?);
    }
    for (name, seconds) in &u.timers {
        state = state.timers(TimerDefinition::builder().name(name).seconds(*seconds).build().map_err(ItemError::construction)?);
    }
    UpdateDetectorRequest::builder()
        .message_id(&u.message_id)
        .detector_model_name(&u.model)
        .key_value(&u.key)
        .state(state.build().map_err(ItemError::construction)?)
        .build()
        .map_err(ItemError::construction)
}

impl BatchApi for IotEventsDetector {
    type Entry = DetectorUpdate;
    type Request = Vec<UpdateDetectorRequest>;

    fn limits(&self) -> Limits {
        self.limits
    }

    fn prepare(&self, record: &Record, _purpose: Purpose, out: &mut Vec<Prepared<DetectorUpdate>>) -> Result<(), ItemError> {
        out.push(self.prepare_one(record)?);
        Ok(())
    }

    /// With `ordering: per_key`, the detector key: a detector's updates go
    /// one per request, each after the one before it was answered.
    fn order_key<'e>(&self, entry: &'e DetectorUpdate) -> Option<&'e str> {
        super::ordering::per_key(self.config.ordering).then_some(entry.key.as_str())
    }

    fn encode(&self, batch: &[&DetectorUpdate]) -> Result<Vec<UpdateDetectorRequest>, ItemError> {
        batch.iter().map(|u| to_sdk(u)).collect()
    }

    async fn send(&self, batch: &[&DetectorUpdate]) -> Result<Vec<ItemResult>, ItemError> {
        send_updates(&self.client, batch).await
    }
}

#[cfg(test)]
mod tests;
