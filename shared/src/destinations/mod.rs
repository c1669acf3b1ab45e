//! Destinations: one module per batch API, all of the same shape, and the
//! registry that lists them.
//!
//! Each module holds the API's limits as named constants with the document
//! they come from; its config struct, which implements
//! [`registry::DestinationType`] (validation, what it reads, how to build its
//! sender); and its sender, which implements
//! [`crate::deliver::api::BatchApi`]: a pure `prepare` that turns a record
//! into sized entries (or a permanent error naming the rule), a thin `send`
//! over the SDK client, and a pure function from the response to one result
//! per sent entry. The router sees every sender as a [`sender::Sender`].

pub mod attributes;
pub mod dry_run;
pub mod entries;
pub mod eventbridge;
pub mod fifo;
pub mod firehose;
pub mod iot_analytics;
pub mod iot_events;
pub mod iot_events_detector;
pub mod kinesis;
pub mod ordering;
pub mod registry;
pub mod request_body;
pub mod response_body;
pub mod sender;
pub mod sitewise;
pub mod sns;
pub mod sqs;
pub mod transformed;

pub use dry_run::DryRun;
pub use registry::{DestinationSpec, DestinationType};
pub use sender::Sender;

// The registry: every destination type, one line each (module::Config as
// Variant = "type"), which generates `Kind` and `DestinationConfig`. (The
// modules are declared above, not by the macro: rustfmt does not look
// inside macro calls for files to format.)
registry::registry! {
    /// Firehose `PutRecordBatch`.
    firehose::FirehoseConfig as Firehose = "firehose",
    /// Kinesis `PutRecords` (and Kinesis-compatible services).
    kinesis::KinesisConfig as Kinesis = "kinesis",
    /// IoT Analytics `BatchPutMessage`.
    iot_analytics::IotAnalyticsConfig as IotAnalytics = "iot_analytics",
    /// IoT Events Data `BatchPutMessage`.
    iot_events::IotEventsConfig as IotEvents = "iot_events",
    /// IoT Events Data `BatchUpdateDetector`.
    iot_events_detector::DetectorConfig as IotEventsDetector = "iot_events_detector",
    /// IoT SiteWise `BatchPutAssetPropertyValue`.
    sitewise::SitewiseConfig as Sitewise = "sitewise",
    /// SQS `SendMessageBatch` (standard and FIFO queues).
    sqs::SqsConfig as Sqs = "sqs",
    /// SNS `PublishBatch` (standard and FIFO topics).
    sns::SnsConfig as Sns = "sns",
    /// EventBridge `PutEvents`.
    eventbridge::EventBridgeConfig as EventBridge = "eventbridge",
}
