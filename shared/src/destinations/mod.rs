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

pub mod dry_run;
pub mod entries;
pub mod firehose;
pub mod iot_analytics;
pub mod iot_events;
pub mod iot_events_detector;
pub mod kinesis;
pub mod registry;
pub mod sender;
pub mod sitewise;

pub use dry_run::DryRun;
pub use registry::{DestinationConfig, DestinationSpec, DestinationType, Kind};
pub use sender::Sender;
