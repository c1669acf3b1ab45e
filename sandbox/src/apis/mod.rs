//! The batch APIs. Each module validates a request as AWS does, applies
//! per-item faults, keeps what it accepts and answers in the API's shape.

pub mod dynamodb;
pub mod eventbridge;
pub mod firehose;
pub mod iot_analytics;
pub mod iot_events;
pub mod kinesis;
pub mod sitewise;
pub mod sns;
pub mod sqs;
pub mod sts;

use crate::faults::Api;
use crate::store::Store;
use crate::wire::{ApiError, Protocol};
use crate::{SandboxOptions, State};
use axum::body::Bytes;
use axum::extract::State as AxState;
use axum::http::HeaderMap;
use axum::response::Response;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

/// Everything the sandbox holds.
#[derive(Debug)]
pub struct World {
    /// Accepted items and the call log.
    pub store: Store,
    /// Create unknown resources on first use.
    pub auto_create: bool,
    /// Known resources per API (delivery streams, channels, inputs, detector models, SiteWise aliases).
    pub resources: BTreeSet<(Api, String)>,
    /// Kinesis streams.
    pub streams: BTreeMap<String, kinesis::Stream>,
    /// IoT Events detectors by (model, key).
    pub detectors: BTreeMap<(String, String), iot_events::Detector>,
    /// The payload pointer that keys detectors updated by BatchPutMessage.
    pub detector_key: String,
    /// SiteWise values per property (alias, or `assetId/propertyId`), in arrival order.
    pub properties: BTreeMap<String, Vec<serde_json::Value>>,
    /// FIFO deduplication ids seen per (API, queue or topic), until a reset
    /// (the services forget them after 5 minutes).
    pub dedup_ids: BTreeSet<(Api, String, String)>,
    /// How long STS credentials last, if not as asked.
    pub session_seconds: Option<u64>,
    /// DynamoDB tables (the ledger's), with their items; kept across resets.
    pub tables: BTreeMap<String, dynamodb::Table>,
}

impl World {
    /// Forget accepted items, stream records, detectors, property values and
    /// the call log; resources and faults stay.
    pub fn reset(&mut self) {
        self.store.clear();
        for stream in self.streams.values_mut() {
            stream.records.clear();
        }
        self.detectors.clear();
        self.properties.clear();
        self.dedup_ids.clear();
    }

    /// An empty world with the options' resources.
    pub fn new(options: &SandboxOptions) -> Self {
        let mut world = World {
            store: Store::new(options.data_dir.clone(), options.retain_items),
            auto_create: options.auto_create,
            resources: BTreeSet::new(),
            streams: BTreeMap::new(),
            detectors: BTreeMap::new(),
            detector_key: options.detector_key.clone(),
            properties: BTreeMap::new(),
            dedup_ids: BTreeSet::new(),
            session_seconds: options.session_seconds,
            tables: BTreeMap::new(),
        };
        for (api, name) in &options.resources {
            world.create(*api, name);
        }
        world
    }

    /// Create a resource (a Kinesis stream gets its one shard).
    pub fn create(&mut self, api: Api, name: &str) {
        if api == Api::Kinesis {
            self.streams.entry(name.to_owned()).or_insert_with(|| kinesis::Stream::new(name));
        }
        self.resources.insert((api, name.to_owned()));
    }

    /// Whether a resource exists, creating it first when `auto_create` is on.
    pub fn exists(&mut self, api: Api, name: &str) -> bool {
        if self.resources.contains(&(api, name.to_owned())) {
            return true;
        }
        if self.auto_create {
            self.create(api, name);
            return true;
        }
        false
    }
}

/// awsJson1_1 and awsJson1_0 (SQS): dispatch on `X-Amz-Target`; a request
/// without one is awsQuery (SNS), dispatched on its form's `Action`.
pub async fn aws_json(AxState(state): AxState<Arc<State>>, headers: HeaderMap, body: Bytes) -> Response {
    let target = headers.get("x-amz-target").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    let (service, operation) = target.split_once('.').unwrap_or(("", ""));
    match service {
        "Firehose_20150804" => firehose::handle(&state, operation, &body).await,
        "Kinesis_20131202" => kinesis::handle(&state, operation, &body).await,
        "AmazonSQS" => sqs::handle(&state, operation, &body).await,
        "AWSEvents" => eventbridge::handle(&state, operation, &body).await,
        "DynamoDB_20120810" => dynamodb::handle(&state, operation, &body).await,
        "" if target.is_empty() => query(&state, &body).await,
        _ => {
            ApiError::bad("UnknownOperationException", format!("the sandbox does not serve X-Amz-Target `{target}`")).into_response(Protocol::AwsJson)
        }
    }
}

/// awsQuery: STS's `AssumeRole`, or an SNS action.
async fn query(state: &State, body: &Bytes) -> Response {
    if crate::wire::form(body).get("Action").is_some_and(|a| a == "AssumeRole") {
        sts::handle(state, body).await
    } else {
        sns::handle(state, body).await
    }
}

/// An unknown operation of a known service.
pub(crate) fn unknown_operation(operation: &str) -> Response {
    ApiError::bad("UnknownOperationException", format!("the sandbox does not serve `{operation}`")).into_response(Protocol::AwsJson)
}

/// The text a fault `match` is checked against: the payload as UTF-8 (lossy) and the id.
pub(crate) fn fault_text(payload: &[u8], id: &str) -> String {
    let mut text = String::from_utf8_lossy(payload).into_owned();
    if !id.is_empty() {
        text.push('\n');
        text.push_str(id);
    }
    text
}
