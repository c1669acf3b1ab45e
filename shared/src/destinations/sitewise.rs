//! AWS IoT SiteWise `BatchPutAssetPropertyValue`: records become property
//! values (timestamp, quality, value).
//!
//! Limits and rules (SiteWise API reference and user guide): at most 10
//! entries per request and 10 values per entry; `entryId` 1-64 of
//! `[a-zA-Z0-9_-]`, unique in the request; a property named by its alias
//! (1-2,048 characters, no control characters) or by asset id + property id;
//! timestamps within [now - 7 days, now + 10 minutes]; doubles within ±1e10;
//! integers 32-bit; strings at most 1,024 characters with no control
//! characters; quality GOOD, BAD or UNCERTAIN. Per-value failures come back in
//! `errorEntries`: by `entryId`, then by the failed values' `timestamps`.
//!
//! Packing: values of one property are grouped into entries (at most 10, with
//! distinct timestamps so errors map back to exactly one value), and entries
//! into requests of at most 10: `ceil(entries / 10)` requests.

use super::registry::{common_fields, DestinationType};
use crate::clients::Clients;
use crate::deliver::api::{BatchApi, ItemResult, Prepared, Purpose};
use crate::error::{from_sdk_error, ErrorClass, ItemError};
use crate::pack::Limits;
use crate::projection::DataFields;
use crate::record::Record;
use crate::validation::{check_pointer, Problem};
use aws_sdk_iotsitewise::types::{AssetPropertyValue, PutAssetPropertyValueEntry, Quality, TimeInNanos, Variant};
use aws_smithy_types::date_time::Format;
use aws_smithy_types::DateTime;
use serde::Deserialize;
use serde_json::Value;
use std::collections::HashMap;
use std::time::{SystemTime, UNIX_EPOCH};

/// Most entries per request.
pub const MAX_ENTRIES_PER_REQUEST: usize = 10;
/// Most values per entry.
pub const MAX_VALUES_PER_ENTRY: usize = 10;
/// Oldest accepted timestamp, seconds before now (7 days).
pub const MAX_PAST_SECS: i64 = 7 * 24 * 3600;
/// Newest accepted timestamp, seconds after now (10 minutes).
pub const MAX_FUTURE_SECS: i64 = 600;
/// Largest |double|.
pub const MAX_DOUBLE: f64 = 1e10;
/// Longest string value, characters.
pub const MAX_STRING_CHARS: usize = 1024;
/// Longest property alias, characters.
pub const MAX_ALIAS_CHARS: usize = 2048;

/// The value type a mapping produces.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum ValueType {
    /// `doubleValue`.
    Double,
    /// `integerValue` (32-bit).
    Integer,
    /// `stringValue`.
    String,
    /// `booleanValue`.
    Boolean,
}

/// One property a record yields a value for.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PropertyMapping {
    /// Property alias template, e.g. `/plant/{/site}/{/deviceId}/temperature`.
    pub alias: Option<String>,
    /// Asset id (template), with `property_id`, instead of `alias`.
    pub asset_id: Option<String>,
    /// Property id (template), with `asset_id`.
    pub property_id: Option<String>,
    /// JSON Pointer to the value.
    pub value: String,
    /// The value type; default inferred (numbers: double).
    #[serde(rename = "type")]
    pub value_type: Option<ValueType>,
    /// JSON Pointer to the timestamp (epoch s/ms/µs/ns or RFC 3339); default: arrival time.
    pub timestamp: Option<String>,
    /// `GOOD`, `BAD`, `UNCERTAIN`, or a JSON Pointer to one; default `GOOD`.
    pub quality: Option<String>,
}

fn default_true() -> bool {
    true
}

/// `type: sitewise` in the config file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SitewiseConfig {
    /// The values each record yields.
    #[serde(default)]
    pub properties: Vec<PropertyMapping>,
    /// The payload already is the API's `entries[]` shape (or `{"entries": [...]}`).
    #[serde(default)]
    pub passthrough: bool,
    /// `enablePartialEntryProcessing` (default true: one bad value does not fail its entry).
    #[serde(default = "default_true")]
    pub enable_partial_entry_processing: bool,
    /// Per-destination endpoint.
    pub endpoint_url: Option<String>,
    /// Per-destination region.
    pub region: Option<String>,
    /// Requests in flight at once to this destination.
    pub max_in_flight: Option<usize>,
    /// Requests, records and bytes per second to this destination, per function instance.
    #[serde(default)]
    pub rate_limit: crate::pace::RateLimit,
}

/// A template: literal text and `{/pointer}` parts.
#[derive(Debug, Clone, PartialEq)]
enum Part {
    Lit(String),
    Ptr(String),
}

impl PropertyMapping {
    /// The payload fields this mapping reads: template pointers, value,
    /// timestamp and quality pointers.
    pub fn data_fields(&self) -> crate::projection::DataFields {
        use crate::projection::DataFields;
        let templates = [&self.alias, &self.asset_id, &self.property_id].into_iter().flatten().map(|t| match parse_template(t) {
            Ok(parts) => DataFields::all(parts.into_iter().filter_map(|p| match p {
                Part::Ptr(p) => Some(DataFields::pointer(&p)),
                Part::Lit(_) => None,
            })),
            // An invalid template fails validation; read everything meanwhile.
            Err(_) => DataFields::Whole,
        });
        let pointers = [Some(&self.value), self.timestamp.as_ref(), self.quality.as_ref().filter(|q| q.starts_with('/'))]
            .into_iter()
            .flatten()
            .map(|p| DataFields::pointer(p));
        DataFields::all(templates.chain(pointers).collect::<Vec<_>>())
    }
}

fn parse_template(t: &str) -> Result<Vec<Part>, String> {
    let mut parts = Vec::new();
    let mut rest = t;
    while let Some(open) = rest.find('{') {
        if open > 0 {
            parts.push(Part::Lit(rest[..open].to_owned()));
        }
        let close = rest[open..].find('}').ok_or_else(|| format!("`{t}` has a `{{` without `}}`"))? + open;
        let pointer = &rest[open + 1..close];
        if !pointer.starts_with('/') {
            return Err(format!("`{{{pointer}}}` in `{t}` is not a JSON Pointer (write {{/field}})"));
        }
        parts.push(Part::Ptr(pointer.to_owned()));
        rest = &rest[close + 1..];
    }
    if rest.contains('}') {
        return Err(format!("`{t}` has a `}}` without `{{`"));
    }
    if !rest.is_empty() {
        parts.push(Part::Lit(rest.to_owned()));
    }
    Ok(parts)
}

common_fields!(SitewiseConfig);

impl DestinationType for SitewiseConfig {
    type Api = Sitewise;

    fn sends_to(&self) -> String {
        format!("{} propert{}", self.properties.len(), if self.properties.len() == 1 { "y" } else { "ies" })
    }

    fn data_fields(&self) -> DataFields {
        if self.passthrough {
            return DataFields::Whole;
        }
        DataFields::all(self.properties.iter().map(|p| p.data_fields()).collect::<Vec<_>>())
    }

    fn api(&self, clients: &Clients) -> Sitewise {
        Sitewise::new(clients.iotsitewise_for(self.endpoint_url.as_deref(), self.region.as_deref()), self)
    }

    fn validate(&self, place: &str, problems: &mut Vec<Problem>) {
        let mut bad = |field: String, message: String| problems.push(Problem { place: format!("{place}.{field}"), message });
        if !self.passthrough && self.properties.is_empty() {
            bad("properties".into(), "list at least one property (or set passthrough: true)".into());
        }
        for (i, p) in self.properties.iter().enumerate() {
            let here = format!("properties[{i}]");
            match (&p.alias, &p.asset_id, &p.property_id) {
                (Some(_), None, None) | (None, Some(_), Some(_)) => {}
                _ => bad(here.clone(), "name the property by `alias`, or by `asset_id` and `property_id`".into()),
            }
            for (field, t) in [("alias", &p.alias), ("asset_id", &p.asset_id), ("property_id", &p.property_id)] {
                if let Some(Err(m)) = t.as_deref().map(parse_template) {
                    bad(format!("{here}.{field}"), m);
                }
            }
            if !p.value.starts_with('/') {
                bad(format!("{here}.value"), format!("`{}` is not a JSON Pointer (like /temperature)", p.value));
            }
            if let Some(q) = &p.quality {
                if !q.starts_with('/') && !matches!(q.as_str(), "GOOD" | "BAD" | "UNCERTAIN") {
                    bad(format!("{here}.quality"), format!("`{q}` is not GOOD, BAD, UNCERTAIN or a JSON Pointer"));
                }
            }
        }
        for (i, p) in self.properties.iter().enumerate() {
            if let Some(t) = &p.timestamp {
                check_pointer(problems, &format!("{place}.properties[{i}].timestamp"), t);
            }
        }
    }

    fn limits(&self) -> Limits {
        Limits { max_items: MAX_ENTRIES_PER_REQUEST * MAX_VALUES_PER_ENTRY, max_item_bytes: usize::MAX / 2, max_request_bytes: usize::MAX / 2 }
    }
}

/// A value.
#[derive(Debug, Clone, PartialEq)]
pub enum SitewiseVariant {
    /// `doubleValue`.
    Double(f64),
    /// `integerValue`.
    Integer(i32),
    /// `stringValue`.
    String(String),
    /// `booleanValue`.
    Boolean(bool),
}

/// Which property a value is for.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PropertyRef {
    /// By alias.
    Alias(String),
    /// By asset and property id.
    Ids {
        /// `assetId`.
        asset: String,
        /// `propertyId`.
        property: String,
    },
}

impl std::fmt::Display for PropertyRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PropertyRef::Alias(a) => f.write_str(a),
            PropertyRef::Ids { asset, property } => write!(f, "{asset}/{property}"),
        }
    }
}

impl PropertyRef {
    /// A name for messages: the alias, or `assetId/propertyId`.
    pub fn label(&self) -> String {
        self.to_string()
    }

    /// Whether the name is 1-2,048 characters with no control characters.
    fn is_valid_name(&self) -> bool {
        let (chars, control) = match self {
            PropertyRef::Alias(a) => (a.chars().count(), a.chars().any(char::is_control)),
            PropertyRef::Ids { asset, property } => {
                (asset.chars().count() + 1 + property.chars().count(), asset.chars().chain(property.chars()).any(char::is_control))
            }
        };
        (1..=MAX_ALIAS_CHARS).contains(&chars) && !control
    }

    /// The length of [`PropertyRef::label`], without building it.
    pub fn label_len(&self) -> usize {
        match self {
            PropertyRef::Alias(a) => a.len(),
            PropertyRef::Ids { asset, property } => asset.len() + 1 + property.len(),
        }
    }
}

/// One property value (TQV) before it becomes an SDK type.
#[derive(Debug, Clone, PartialEq)]
pub struct SitewiseValue {
    /// The property.
    pub property: PropertyRef,
    /// The value.
    pub value: SitewiseVariant,
    /// `timeInSeconds`.
    pub seconds: i64,
    /// `offsetInNanos`.
    pub nanos: i32,
    /// `GOOD`, `BAD` or `UNCERTAIN`.
    pub quality: &'static str,
}

fn now_secs() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0)
}

/// (seconds, nanos) from a JSON timestamp: numbers by magnitude (seconds,
/// milliseconds, microseconds or nanoseconds since the epoch), or RFC 3339.
pub fn parse_timestamp(v: &Value) -> Option<(i64, i32)> {
    match v {
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                let (div, scale) = match i.unsigned_abs() {
                    0..100_000_000_000 => (1, 1_000_000_000),
                    100_000_000_000..100_000_000_000_000 => (1_000, 1_000_000),
                    100_000_000_000_000..100_000_000_000_000_000 => (1_000_000, 1_000),
                    _ => (1_000_000_000, 1),
                };
                Some((i.div_euclid(div), (i.rem_euclid(div) * scale) as i32))
            } else {
                let f = n.as_f64()?;
                Some((f.floor() as i64, ((f - f.floor()) * 1e9).round().min(999_999_999.0) as i32))
            }
        }
        Value::String(s) => DateTime::from_str(s, Format::DateTime).ok().map(|d| (d.secs(), d.subsec_nanos() as i32)),
        _ => None,
    }
}

fn quality(q: &str) -> Option<&'static str> {
    match q {
        "GOOD" => Some("GOOD"),
        "BAD" => Some("BAD"),
        "UNCERTAIN" => Some("UNCERTAIN"),
        _ => None,
    }
}

/// Check one value against SiteWise's rules; the error names the property and the rule.
pub fn check_value(v: &SitewiseValue, now: i64) -> Result<(), ItemError> {
    let label = &v.property;
    if !label.is_valid_name() {
        return Err(ItemError::permanent(
            "InvalidProperty",
            format!("property `{label}`: aliases are 1-{MAX_ALIAS_CHARS} characters with no control characters"),
        ));
    }
    match &v.value {
        SitewiseVariant::Double(d) if !d.is_nan() && d.abs() > MAX_DOUBLE => {
            return Err(ItemError::permanent("ValueOutOfRange", format!("property `{label}`: double {d} is outside ±1e10")));
        }
        SitewiseVariant::String(s) if s.chars().count() > MAX_STRING_CHARS || s.chars().any(|c| c.is_control()) => {
            return Err(ItemError::permanent(
                "InvalidValue",
                format!("property `{label}`: strings are at most {MAX_STRING_CHARS} characters with no control characters"),
            ));
        }
        _ => {}
    }
    if !(0..=999_999_999).contains(&v.nanos) {
        return Err(ItemError::permanent("InvalidTimestamp", format!("property `{label}`: offsetInNanos {} is outside 0-999999999", v.nanos)));
    }
    if v.seconds < now - MAX_PAST_SECS || v.seconds > now + MAX_FUTURE_SECS {
        let when = DateTime::from_secs(v.seconds).fmt(Format::DateTime).unwrap_or_else(|_| v.seconds.to_string());
        return Err(ItemError::permanent(
            "TimestampOutOfRange",
            format!("property `{label}`: timestamp {when} is outside [now - 7 days, now + 10 minutes]"),
        ));
    }
    Ok(())
}

fn variant_from(value: &Value, ty: Option<ValueType>, label: &PropertyRef) -> Result<SitewiseVariant, ItemError> {
    let wrong = |want: &str| ItemError::permanent("InvalidValue", format!("property `{label}`: {value} is not {want}"));
    Ok(match (ty, value) {
        (Some(ValueType::Double) | None, Value::Number(n)) => SitewiseVariant::Double(n.as_f64().ok_or_else(|| wrong("a double"))?),
        (Some(ValueType::Integer), Value::Number(n)) => {
            let i = n.as_i64().ok_or_else(|| wrong("an integer"))?;
            SitewiseVariant::Integer(
                i32::try_from(i)
                    .map_err(|_| ItemError::permanent("ValueOutOfRange", format!("property `{label}`: integer {i} is outside 32 bits")))?,
            )
        }
        (Some(ValueType::String) | None, Value::String(s)) => SitewiseVariant::String(s.clone()),
        (Some(ValueType::String), other) => SitewiseVariant::String(other.to_string()),
        (Some(ValueType::Boolean) | None, Value::Bool(b)) => SitewiseVariant::Boolean(*b),
        (Some(ValueType::Double), _) => return Err(wrong("a double")),
        (Some(ValueType::Integer), _) => return Err(wrong("an integer")),
        (Some(ValueType::Boolean), _) => return Err(wrong("a boolean")),
        (None, _) => return Err(wrong("a number, string or boolean")),
    })
}

/// A SiteWise destination.
#[derive(Debug, Clone)]
pub struct Sitewise {
    client: aws_sdk_iotsitewise::Client,
    config: SitewiseConfig,
    templates: Vec<[Option<Vec<Part>>; 3]>,
}

impl Sitewise {
    /// A destination sending through `client` (which must carry the custom-endpoint host-prefix fix).
    pub fn new(client: aws_sdk_iotsitewise::Client, config: &SitewiseConfig) -> Self {
        let templates = config
            .properties
            .iter()
            .map(|p| [&p.alias, &p.asset_id, &p.property_id].map(|t| t.as_deref().and_then(|t| parse_template(t).ok())))
            .collect();
        Self { client, config: config.clone(), templates }
    }

    fn render(parts: &[Part], record: &Record, what: &str) -> Result<String, ItemError> {
        use std::fmt::Write as _;
        // One allocation for the usual alias: the literal text plus room for the values.
        let literal: usize = parts.iter().map(|p| if let Part::Lit(s) = p { s.len() } else { 24 }).sum();
        let mut out = String::with_capacity(literal);
        for part in parts {
            match part {
                Part::Lit(s) => out.push_str(s),
                Part::Ptr(p) => match record.json().and_then(|v| crate::pointer::get(v, p)) {
                    Some(Value::String(s)) => out.push_str(s),
                    Some(v @ (Value::Number(_) | Value::Bool(_))) => {
                        let _ = write!(out, "{v}");
                    }
                    _ => return Err(ItemError::permanent("PropertyUnresolved", format!("{what}: {p} cannot be read from the record as text"))),
                },
            }
        }
        Ok(out)
    }

    /// The values a record yields, validated; all or nothing.
    pub fn values(&self, record: &Record, now: i64) -> Result<Vec<SitewiseValue>, ItemError> {
        if self.config.passthrough {
            return passthrough_values(record, now);
        }
        let default_time = record.arrival_ms.map_or((now, 0), |ms| (ms.div_euclid(1000), (ms.rem_euclid(1000) * 1_000_000) as i32));
        let mut out = Vec::with_capacity(self.config.properties.len());
        for (mapping, [alias, asset, prop]) in self.config.properties.iter().zip(&self.templates) {
            let property = match (alias, asset, prop) {
                (Some(a), _, _) => PropertyRef::Alias(Self::render(a, record, "alias")?),
                (None, Some(a), Some(p)) => {
                    PropertyRef::Ids { asset: Self::render(a, record, "asset_id")?, property: Self::render(p, record, "property_id")? }
                }
                _ => return Err(ItemError::permanent("InvalidProperty", "the property mapping has no alias or ids")),
            };
            let label = &property;
            let raw = record.json().and_then(|v| crate::pointer::get(v, &mapping.value)).filter(|v| !v.is_null()).ok_or_else(|| {
                ItemError::permanent("MissingValue", format!("property `{label}`: value {} is missing from the record", mapping.value))
            })?;
            let value = variant_from(raw, mapping.value_type, label)?;
            let (seconds, nanos) = match &mapping.timestamp {
                None => default_time,
                Some(p) => {
                    let v = record
                        .json()
                        .and_then(|v| crate::pointer::get(v, p))
                        .ok_or_else(|| ItemError::permanent("TimestampMissing", format!("property `{label}`: timestamp {p} is missing")))?;
                    parse_timestamp(v).ok_or_else(|| {
                        ItemError::permanent("TimestampInvalid", format!("property `{label}`: timestamp {p} is {v}, not epoch time or RFC 3339"))
                    })?
                }
            };
            let quality = match mapping.quality.as_deref() {
                None => "GOOD",
                Some(p) if p.starts_with('/') => {
                    let q = record.json().and_then(|v| crate::pointer::get(v, p)).and_then(Value::as_str).unwrap_or_default();
                    quality(q).ok_or_else(|| {
                        ItemError::permanent("InvalidQuality", format!("property `{label}`: quality {p} is `{q}`, not GOOD, BAD or UNCERTAIN"))
                    })?
                }
                Some(constant) => quality(constant).unwrap_or("GOOD"),
            };
            let v = SitewiseValue { property, value, seconds, nanos, quality };
            check_value(&v, now)?;
            out.push(v);
        }
        Ok(out)
    }
}

fn passthrough_values(record: &Record, now: i64) -> Result<Vec<SitewiseValue>, ItemError> {
    let invalid = |m: String| ItemError::permanent("InvalidEntry", m);
    let json = record.json().ok_or_else(|| invalid("passthrough needs JSON entries; the payload is not JSON".into()))?;
    let entries = json
        .get("entries")
        .unwrap_or(json)
        .as_array()
        .ok_or_else(|| invalid("passthrough needs an array of entries, or {\"entries\": [...]}".into()))?;
    let mut out = Vec::new();
    for (i, e) in entries.iter().enumerate() {
        let property = match (
            e.get("propertyAlias").and_then(Value::as_str),
            e.get("assetId").and_then(Value::as_str),
            e.get("propertyId").and_then(Value::as_str),
        ) {
            (Some(a), _, _) => PropertyRef::Alias(a.to_owned()),
            (None, Some(a), Some(p)) => PropertyRef::Ids { asset: a.to_owned(), property: p.to_owned() },
            _ => return Err(invalid(format!("entries[{i}] has no propertyAlias, or assetId and propertyId"))),
        };
        let label = &property;
        for (j, pv) in e.get("propertyValues").and_then(Value::as_array).map_or(&[][..], Vec::as_slice).iter().enumerate() {
            let variant =
                pv.get("value").and_then(Value::as_object).ok_or_else(|| invalid(format!("entries[{i}].propertyValues[{j}] has no value")))?;
            let value = match variant.iter().next() {
                Some((k, v)) if k == "doubleValue" => variant_from(v, Some(ValueType::Double), label)?,
                Some((k, v)) if k == "integerValue" => variant_from(v, Some(ValueType::Integer), label)?,
                Some((k, Value::String(s))) if k == "stringValue" => SitewiseVariant::String(s.clone()),
                Some((k, Value::Bool(b))) if k == "booleanValue" => SitewiseVariant::Boolean(*b),
                _ => {
                    return Err(invalid(format!(
                        "entries[{i}].propertyValues[{j}].value must hold one of doubleValue, integerValue, stringValue, booleanValue"
                    )))
                }
            };
            let seconds = crate::pointer::get(pv, "/timestamp/timeInSeconds")
                .and_then(Value::as_i64)
                .ok_or_else(|| invalid(format!("entries[{i}].propertyValues[{j}] has no timestamp.timeInSeconds")))?;
            let nanos = crate::pointer::get(pv, "/timestamp/offsetInNanos").and_then(Value::as_i64).unwrap_or(0) as i32;
            let q = pv.get("quality").and_then(Value::as_str).unwrap_or("GOOD");
            let quality =
                quality(q).ok_or_else(|| invalid(format!("entries[{i}].propertyValues[{j}].quality `{q}` is not GOOD, BAD or UNCERTAIN")))?;
            let v = SitewiseValue { property: property.clone(), value, seconds, nanos, quality };
            check_value(&v, now)?;
            out.push(v);
        }
    }
    if out.is_empty() {
        return Err(invalid("passthrough entries hold no values".into()));
    }
    Ok(out)
}

/// Group values into entries: one property each, at most 10 values, distinct
/// (seconds, nanos) within an entry. Returns value indices per entry, in
/// order of first appearance. Deterministic, so `send` rebuilds the same
/// entries that `pack` planned.
pub fn group_entries<'a>(values: impl Iterator<Item = &'a SitewiseValue>) -> Vec<Vec<usize>> {
    let mut entries: Vec<Vec<usize>> = Vec::new();
    let mut stamps: Vec<Vec<(i64, i32)>> = Vec::new();
    let mut open: HashMap<&PropertyRef, Vec<usize>> = HashMap::new();
    for (i, v) in values.enumerate() {
        let stamp = (v.seconds, v.nanos);
        let candidates = open.entry(&v.property).or_default();
        match candidates.iter().copied().find(|&e| entries[e].len() < MAX_VALUES_PER_ENTRY && !stamps[e].contains(&stamp)) {
            Some(e) => {
                entries[e].push(i);
                stamps[e].push(stamp);
            }
            None => {
                candidates.push(entries.len());
                entries.push(vec![i]);
                stamps.push(vec![stamp]);
            }
        }
    }
    entries
}

/// The fewest entries any grouping can use: per property, at least
/// `ceil(values / 10)`, and at least as many as the values sharing one
/// timestamp (they cannot share an entry).
pub fn entries_lower_bound<'a>(values: impl Iterator<Item = &'a SitewiseValue>) -> usize {
    let mut keys: Vec<(&PropertyRef, i64, i32)> = values.map(|v| (&v.property, v.seconds, v.nanos)).collect();
    keys.sort_unstable();
    let mut entries = 0;
    for property in keys.chunk_by(|a, b| a.0 == b.0) {
        let most_at_one_stamp = property.chunk_by(|a, b| (a.1, a.2) == (b.1, b.2)).map(<[_]>::len).max().unwrap_or(0);
        entries += property.len().div_ceil(MAX_VALUES_PER_ENTRY).max(most_at_one_stamp);
    }
    entries
}

/// Classify an `errorEntries[].errors[].errorCode`: conflicting operations,
/// throttling, limits, internal failures and unavailability are transient;
/// the rest (invalid request, not found, timestamp out of range, access
/// denied) permanent.
pub fn classify_item_code(code: &str) -> ErrorClass {
    match code {
        "ConflictingOperationException"
        | "ThrottlingException"
        | "LimitExceededException"
        | "InternalFailureException"
        | "ServiceUnavailableException" => ErrorClass::Transient,
        _ => ErrorClass::Permanent,
    }
}

/// Map a response to one result per sent value. `entries` are the value
/// indices per entry as sent (entry `k` had id `e{k}`). A value named in an
/// error's timestamps gets that error; with partial processing off, the other
/// values of an entry that had errors were not ingested and are transient
/// failures (they succeed when resent without the bad value).
pub fn map_response(
    output: &aws_sdk_iotsitewise::operation::batch_put_asset_property_value::BatchPutAssetPropertyValueOutput,
    batch: &[&SitewiseValue],
    entries: &[Vec<usize>],
    partial: bool,
) -> Result<Vec<ItemResult>, ItemError> {
    let mut results: Vec<ItemResult> = vec![Ok(()); batch.len()];
    // Per value: named by an error. Per entry: had an error entry. Both are
    // judged over the whole answer, so an entry named by two error entries
    // keeps every value's own error.
    let mut named = vec![false; batch.len()];
    let mut failed_entries: Vec<&Vec<usize>> = Vec::new();
    for error_entry in output.error_entries() {
        let id = error_entry.entry_id();
        let entry = id
            .strip_prefix('e')
            .and_then(|n| n.parse::<usize>().ok())
            .and_then(|k| entries.get(k))
            .ok_or_else(|| ItemError::bad_response(format!("errorEntries names entry `{id}`, which was not sent")))?;
        failed_entries.push(entry);
        for error in error_entry.errors() {
            let code = error.error_code().as_str();
            for ts in error.timestamps() {
                let stamp = (ts.time_in_seconds(), ts.offset_in_nanos().unwrap_or(0));
                if let Some(&i) = entry.iter().find(|&&i| (batch[i].seconds, batch[i].nanos) == stamp) {
                    named[i] = true;
                    results[i] = Err(ItemError { code: code.to_owned(), message: error.error_message().to_owned(), class: classify_item_code(code) });
                }
            }
        }
    }
    if !partial {
        for &i in failed_entries.into_iter().flatten() {
            if !named[i] {
                results[i] =
                    Err(ItemError::transient("EntryNotIngested", "another value of the same entry failed and enablePartialEntryProcessing is false"));
            }
        }
    }
    Ok(results)
}

fn to_sdk<'a>(entry_id: String, values: impl Iterator<Item = &'a SitewiseValue>) -> Result<PutAssetPropertyValueEntry, ItemError> {
    let mut entry = PutAssetPropertyValueEntry::builder().entry_id(entry_id);
    let mut values = values.peekable();
    entry = match values.peek().map(|v| &v.property) {
        Some(PropertyRef::Alias(a)) => entry.property_alias(a),
        Some(PropertyRef::Ids { asset, property }) => entry.asset_id(asset).property_id(property),
        None => entry,
    };
    for v in values {
        let variant = match &v.value {
            SitewiseVariant::Double(d) => Variant::builder().double_value(*d),
            SitewiseVariant::Integer(i) => Variant::builder().integer_value(*i),
            SitewiseVariant::String(s) => Variant::builder().string_value(s),
            SitewiseVariant::Boolean(b) => Variant::builder().boolean_value(*b),
        }
        .build();
        let ts = TimeInNanos::builder().time_in_seconds(v.seconds).offset_in_nanos(v.nanos).build().map_err(ItemError::construction)?;
        entry = entry.property_values(AssetPropertyValue::builder().value(variant).timestamp(ts).quality(Quality::from(v.quality)).build());
    }
    entry.build().map_err(ItemError::construction)
}

impl BatchApi for Sitewise {
    type Entry = SitewiseValue;
    type Request = (Vec<PutAssetPropertyValueEntry>, Vec<Vec<usize>>);

    fn limits(&self) -> Limits {
        DestinationType::limits(&self.config)
    }

    fn prepare(&self, record: &Record, _purpose: Purpose, out: &mut Vec<Prepared<SitewiseValue>>) -> Result<(), ItemError> {
        // Sizes only feed the byte counts (SiteWise limits are counts): the property name plus the TQV's JSON.
        out.extend(self.values(record, now_secs())?.into_iter().map(|entry| Prepared { size: entry.property.label_len() + 96, entry }));
        Ok(())
    }

    fn lower_bound(&self, items: &[&Prepared<SitewiseValue>]) -> usize {
        entries_lower_bound(items.iter().map(|p| &p.entry)).div_ceil(MAX_ENTRIES_PER_REQUEST)
    }

    fn pack(&self, items: &[&Prepared<SitewiseValue>]) -> Vec<Vec<usize>> {
        group_entries(items.iter().map(|p| &p.entry)).chunks(MAX_ENTRIES_PER_REQUEST).map(|c| c.concat()).collect()
    }

    /// The SDK entries (`entryId` `e{k}`) and, per entry, the indices of its values in `batch`.
    fn encode(&self, batch: &[&SitewiseValue]) -> Result<(Vec<PutAssetPropertyValueEntry>, Vec<Vec<usize>>), ItemError> {
        let entries = group_entries(batch.iter().copied());
        let sdk_entries =
            entries.iter().enumerate().map(|(k, idx)| to_sdk(format!("e{k}"), idx.iter().map(|&i| batch[i]))).collect::<Result<Vec<_>, _>>()?;
        Ok((sdk_entries, entries))
    }

    async fn send(&self, batch: &[&SitewiseValue]) -> Result<Vec<ItemResult>, ItemError> {
        let (sdk_entries, entries) = self.encode(batch)?;
        let output = self
            .client
            .batch_put_asset_property_value()
            .set_entries(Some(sdk_entries))
            .enable_partial_entry_processing(self.config.enable_partial_entry_processing)
            .send()
            .await
            .map_err(from_sdk_error)?;
        map_response(&output, batch, &entries, self.config.enable_partial_entry_processing)
    }
}

#[cfg(test)]
mod tests;
