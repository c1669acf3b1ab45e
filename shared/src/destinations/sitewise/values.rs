//! SiteWise value mapping: what values a record yields. Templates
//! (`/plant/{/site}/temperature`) name the property, JSON Pointers pick the
//! value, timestamp and quality, and each value is checked against SiteWise's
//! rules before it is sent; passthrough reads the API's own `entries[]` shape.

use super::{PropertyMapping, SitewiseConfig, ValueType, MAX_ALIAS_CHARS, MAX_DOUBLE, MAX_FUTURE_SECS, MAX_PAST_SECS, MAX_STRING_CHARS};
use crate::error::ItemError;
use crate::json_source::JsonSource;
use crate::projection::DataFields;
use crate::record::Record;
use crate::transform::Program;
use aws_smithy_types::date_time::Format;
use aws_smithy_types::DateTime;
use serde_json::Value;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

/// A template: literal text and `{/pointer}` parts.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Part {
    Lit(String),
    Ptr(String),
}

/// A property name as written: a template, or `= <jq>` (its first output,
/// a string, number or boolean).
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Template {
    Parts(Vec<Part>),
    Jq(Arc<Program>),
}

/// Read a name field: `= <jq>`, or a template.
pub(super) fn parse_name(t: &str) -> Result<Template, String> {
    match t.strip_prefix('=') {
        Some(code) => Program::compile(code.trim()).map(|p| Template::Jq(Arc::new(p))),
        None => parse_template(t).map(Template::Parts),
    }
}

/// A quality: a constant, or read per record.
#[derive(Debug, Clone)]
enum Quality {
    Constant(&'static str),
    Read(JsonSource),
}

impl PropertyMapping {
    /// The payload fields this mapping reads: template pointers, value,
    /// timestamp and quality pointers.
    pub fn data_fields(&self) -> DataFields {
        let templates = [&self.alias, &self.asset_id, &self.property_id].into_iter().flatten().map(|t| match parse_name(t) {
            Ok(Template::Parts(parts)) => DataFields::all(parts.into_iter().filter_map(|p| match p {
                Part::Ptr(p) => Some(DataFields::pointer(&p)),
                Part::Lit(_) => None,
            })),
            // An expression reads the payload with its own parser.
            Ok(Template::Jq(_)) => DataFields::Unused,
            // An invalid template fails validation; read everything meanwhile.
            Err(_) => DataFields::Whole,
        });
        let sources = [Some(&self.value), self.timestamp.as_ref(), self.quality.as_ref().filter(|q| JsonSource::is_source(q))]
            .into_iter()
            .flatten()
            .map(|p| JsonSource::parse(p).map_or(DataFields::Whole, |s| s.data_fields()));
        DataFields::all(templates.chain(sources).collect::<Vec<_>>())
    }
}

pub(super) fn parse_template(t: &str) -> Result<Vec<Part>, String> {
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

    /// The length of its name (the alias, or `assetId/propertyId`, as it displays), without building it.
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

pub(super) fn now_secs() -> i64 {
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

/// A config's property mappings, compiled: the values each record yields.
#[derive(Debug, Clone)]
pub struct ValueMapping {
    properties: Vec<Compiled>,
    passthrough: bool,
}

/// One property mapping, its fields parsed (config validation reports the
/// ones that do not parse; they read as absent here).
#[derive(Debug, Clone)]
struct Compiled {
    /// Alias, asset id and property id.
    names: [Option<Template>; 3],
    value: Option<JsonSource>,
    value_type: Option<ValueType>,
    timestamp: Option<JsonSource>,
    quality: Quality,
}

impl ValueMapping {
    /// The mappings of `config`, with their templates and sources parsed.
    pub fn new(config: &SitewiseConfig) -> Self {
        let properties = config
            .properties
            .iter()
            .map(|p| Compiled {
                names: [&p.alias, &p.asset_id, &p.property_id].map(|t| t.as_deref().and_then(|t| parse_name(t).ok())),
                value: JsonSource::parse(&p.value).ok(),
                value_type: p.value_type,
                timestamp: p.timestamp.as_deref().and_then(|t| JsonSource::parse(t).ok()),
                quality: match p.quality.as_deref() {
                    None => Quality::Constant("GOOD"),
                    Some(q) if JsonSource::is_source(q) => JsonSource::parse(q).map_or(Quality::Constant("GOOD"), Quality::Read),
                    Some(constant) => Quality::Constant(quality(constant).unwrap_or("GOOD")),
                },
            })
            .collect();
        Self { properties, passthrough: config.passthrough }
    }

    /// The values a record yields, validated; all or nothing.
    pub fn values(&self, record: &Record, now: i64) -> Result<Vec<SitewiseValue>, ItemError> {
        if self.passthrough {
            return passthrough_values(record, now);
        }
        let default_time = record.arrival_ms.map_or((now, 0), |ms| (ms.div_euclid(1000), (ms.rem_euclid(1000) * 1_000_000) as i32));
        let mut out = Vec::with_capacity(self.properties.len());
        for mapping in &self.properties {
            let [alias, asset, prop] = &mapping.names;
            let property = match (alias, asset, prop) {
                (Some(a), _, _) => PropertyRef::Alias(render(a, record, "alias")?),
                (None, Some(a), Some(p)) => PropertyRef::Ids { asset: render(a, record, "asset_id")?, property: render(p, record, "property_id")? },
                _ => return Err(ItemError::permanent("InvalidProperty", "the property mapping has no alias or ids")),
            };
            let label = &property;
            let source = mapping.value.as_ref().ok_or_else(|| ItemError::permanent("MissingValue", "the property mapping's value does not parse"))?;
            let failed = |code: &str, why: String| ItemError::permanent(code, format!("property `{label}`: {why}"));
            let raw = source
                .get(record)
                .map_err(|why| failed("MissingValue", format!("value {why}")))?
                .filter(|v| !v.is_null())
                .ok_or_else(|| failed("MissingValue", format!("value {source} is missing from the record")))?;
            let value = variant_from(&raw, mapping.value_type, label)?;
            let (seconds, nanos) = match &mapping.timestamp {
                None => default_time,
                Some(p) => {
                    let v = p
                        .get(record)
                        .map_err(|why| failed("TimestampMissing", format!("timestamp {why}")))?
                        .ok_or_else(|| failed("TimestampMissing", format!("timestamp {p} is missing")))?;
                    parse_timestamp(&v).ok_or_else(|| failed("TimestampInvalid", format!("timestamp {p} is {v}, not epoch time or RFC 3339")))?
                }
            };
            let quality = match &mapping.quality {
                Quality::Constant(q) => q,
                Quality::Read(p) => {
                    let v = p.get(record).map_err(|why| failed("InvalidQuality", format!("quality {why}")))?;
                    let q = v.as_deref().and_then(Value::as_str).unwrap_or_default();
                    quality(q).ok_or_else(|| failed("InvalidQuality", format!("quality {p} is `{q}`, not GOOD, BAD or UNCERTAIN")))?
                }
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

/// A name's text for one record: a template's literals and each pointer's
/// value as text, or an expression's first output.
fn render(template: &Template, record: &Record, what: &str) -> Result<String, ItemError> {
    let parts = match template {
        Template::Parts(parts) => parts,
        Template::Jq(program) => {
            return program
                .text(record)
                .map_err(|e| ItemError::permanent("PropertyUnresolved", format!("{what}: `= {}` {}", program.code(), e.words())))
        }
    };
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
