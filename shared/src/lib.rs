//! fanout's routing crate.
//!
//! The flow of one invocation (see `docs/architecture.md`):
//! [`sources`] decode an event into [`record::Record`]s; the [`router`]
//! matches each against the config's [`pattern`]s; each destination's
//! `prepare` builds sized entries; the [`pack`]er groups them into the fewest
//! requests the API allows; the [`deliver`]y engine sends them all at once,
//! resends only failed items and stops at the deadline; refused records go
//! to the [`dead_letter`] destination; the source turns the
//! [`report::Report`] into its answer.

// What runs in Lambda never unwraps, expects or panics on what input can reach
// (tests and the fuzzing and workload fixtures opt out where they mean to).
#![cfg_attr(not(test), warn(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

pub mod clients;
pub mod config;
pub mod dead_letter;
pub mod deliver;
pub mod destinations;
pub mod detectors;
pub mod error;
pub mod fanout;
/// Entry points of the fuzz targets and their corpus replay (docs/fuzzing.md); not an API.
pub mod fuzzing;
pub mod json_source;
pub mod ledger;
pub mod live;
pub mod logging;
pub mod metrics;
pub mod pace;
pub mod pack;
pub mod pattern;
pub mod pointer;
pub mod projection;
pub mod record;
pub mod report;
pub mod router;
pub mod runtime;
pub mod sources;
pub mod transform;
pub mod validation;
pub mod value;
#[cfg(feature = "workloads")]
pub mod workloads;

pub use clients::Clients;
pub use config::Config;
pub use fanout::Fanout;
pub use report::Report;
