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

mod grouping;
mod values;
mod wire;

pub use grouping::{entries_lower_bound, group_entries};
pub use values::{check_value, parse_timestamp, PropertyRef, SitewiseValue, SitewiseVariant, ValueMapping};
pub use wire::{classify_item_code, map_response};

use super::registry::{common_fields, CommonFields, DestinationType};
use crate::clients::Clients;
use crate::deliver::api::{BatchApi, ItemResult, Prepared, Purpose};
use crate::error::{from_sdk_error, ItemError};
use crate::json_source::JsonSource;
use crate::pack::Limits;
use crate::projection::DataFields;
use crate::record::Record;
use crate::validation::Problem;
use aws_sdk_iotsitewise::types::PutAssetPropertyValueEntry;
use serde::Deserialize;
use values::parse_name;

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
    /// Property alias template, e.g. `/plant/{/site}/{/deviceId}/temperature`,
    /// or a jq expression (`= "/plant/\(.data.site)/temperature"`).
    pub alias: Option<String>,
    /// Asset id (template or expression), with `property_id`, instead of `alias`.
    pub asset_id: Option<String>,
    /// Property id (template or expression), with `asset_id`.
    pub property_id: Option<String>,
    /// JSON Pointer to the value, or a jq expression ([`crate::json_source`]).
    pub value: String,
    /// The value type; default inferred (numbers: double).
    #[serde(rename = "type")]
    pub value_type: Option<ValueType>,
    /// JSON Pointer to the timestamp (epoch s/ms/µs/ns or RFC 3339), or a jq
    /// expression; default: arrival time.
    pub timestamp: Option<String>,
    /// `GOOD`, `BAD`, `UNCERTAIN`, or a JSON Pointer or jq expression giving one; default `GOOD`.
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
    /// A role to assume for this destination (another account), with STS.
    pub role_arn: Option<String>,
    /// The external id the role's trust policy asks for.
    pub external_id: Option<String>,
    /// A jq program: what this destination sends for each record ([`crate::transform`]).
    pub transform: Option<String>,
    /// Requests in flight at once to this destination.
    pub max_in_flight: Option<usize>,
    /// Requests, records and bytes per second to this destination, per function instance.
    #[serde(default)]
    pub rate_limit: crate::pace::RateLimit,
}
common_fields!(SitewiseConfig);

impl DestinationType for SitewiseConfig {
    type Api = Sitewise;
    const SEND_ACTIONS: &'static [&'static str] = &["iotsitewise:BatchPutAssetPropertyValue"];

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
        Sitewise::new(clients.iotsitewise_for(&self.overrides()), self)
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
                if let Some(Err(m)) = t.as_deref().map(parse_name) {
                    bad(format!("{here}.{field}"), m);
                }
            }
            if let Err(m) = JsonSource::parse(&p.value) {
                bad(format!("{here}.value"), m);
            }
            if let Some(q) = &p.quality {
                if JsonSource::is_source(q) {
                    if let Err(m) = JsonSource::parse(q) {
                        bad(format!("{here}.quality"), m);
                    }
                } else if !matches!(q.as_str(), "GOOD" | "BAD" | "UNCERTAIN") {
                    bad(format!("{here}.quality"), format!("`{q}` is not GOOD, BAD, UNCERTAIN, a JSON Pointer or a jq expression"));
                }
            }
        }
        for (i, p) in self.properties.iter().enumerate() {
            if let Some(t) = &p.timestamp {
                JsonSource::check(problems, &format!("{place}.properties[{i}].timestamp"), t);
            }
        }
    }

    fn limits(&self) -> Limits {
        Limits { max_items: MAX_ENTRIES_PER_REQUEST * MAX_VALUES_PER_ENTRY, max_item_bytes: usize::MAX / 2, max_request_bytes: usize::MAX / 2 }
    }
}

/// A SiteWise destination.
#[derive(Debug, Clone)]
pub struct Sitewise {
    client: aws_sdk_iotsitewise::Client,
    /// `enablePartialEntryProcessing`.
    partial: bool,
    limits: Limits,
    mapping: ValueMapping,
}

impl Sitewise {
    /// A destination sending through `client` (which must carry the custom-endpoint host-prefix fix).
    pub fn new(client: aws_sdk_iotsitewise::Client, config: &SitewiseConfig) -> Self {
        Self { client, partial: config.enable_partial_entry_processing, limits: DestinationType::limits(config), mapping: ValueMapping::new(config) }
    }

    /// The values a record yields, validated; all or nothing.
    pub fn values(&self, record: &Record, now: i64) -> Result<Vec<SitewiseValue>, ItemError> {
        self.mapping.values(record, now)
    }
}

impl BatchApi for Sitewise {
    type Entry = SitewiseValue;
    type Request = (Vec<PutAssetPropertyValueEntry>, Vec<Vec<usize>>);

    fn limits(&self) -> Limits {
        self.limits
    }

    fn prepare(&self, record: &Record, _purpose: Purpose, out: &mut Vec<Prepared<SitewiseValue>>) -> Result<(), ItemError> {
        // Sizes only feed the byte counts (SiteWise limits are counts): the property name plus the TQV's JSON.
        out.extend(
            self.mapping.values(record, values::now_secs())?.into_iter().map(|entry| Prepared { size: entry.property.label_len() + 96, entry }),
        );
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
            entries.iter().enumerate().map(|(k, idx)| wire::to_sdk(format!("e{k}"), idx.iter().map(|&i| batch[i]))).collect::<Result<Vec<_>, _>>()?;
        Ok((sdk_entries, entries))
    }

    async fn send(&self, batch: &[&SitewiseValue]) -> Result<Vec<ItemResult>, ItemError> {
        let (sdk_entries, entries) = self.encode(batch)?;
        let output = self
            .client
            .batch_put_asset_property_value()
            .set_entries(Some(sdk_entries))
            .enable_partial_entry_processing(self.partial)
            .send()
            .await
            .map_err(from_sdk_error)?;
        map_response(&output, batch, &entries, self.partial)
    }
}
#[cfg(test)]
mod tests;
