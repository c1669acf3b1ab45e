//! fanout-local: run fanout on a developer's machine.
//!
//! - [`invoke`]: the same handler the Lambda runs, in-process, on an event
//!   file, against the embedded sandbox (default), another endpoint, or AWS;
//! - the sandbox alone (`serve`), for `cargo lambda watch` or `sam local`;
//! - [`restamp`]: sample events with fresh arrival times;
//! - [`validate`]: check a config and show what it would route where;
//! - [`bench`](mod@bench): the benchmark workloads and the cold-start measurement.

pub mod bench;
pub mod invoke;
pub mod measure;
pub mod render;
pub mod replay;
pub mod restamp;
pub mod sdk;
pub mod transform;
pub mod validate;
