//! `http-fanout`: API Gateway (REST v1 and HTTP API v2) in front of fanout.
//! Wiring only: the config (from the source the environment names, re-read when
//! `FANOUT_CONFIG_REFRESH_SECONDS` says so) and SDK clients are built once here, and every
//! proxy event goes to `http_fanout::serve` as its JSON text.

// Nothing input can reach may unwrap, expect or panic here.
#![warn(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
// The handler future nests deeply (routing, delivery, dead letters) for the compiler's layout queries.
#![recursion_limit = "256"]

use fanout::live::LiveFanout;
use lambda_runtime::{service_fn, Error, LambdaEvent};
use serde_json::value::RawValue;

// One thread: below 1,769 MB Lambda gives a function less than one vCPU, and
// a second worker only adds wake-ups and memory (docs/performance.md).
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    fanout::logging::init();
    let live = LiveFanout::from_env().await.unwrap_or_else(|e| {
        lambda_runtime::tracing::error!("{e}");
        std::process::exit(1)
    });
    let live = &live;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Box<RawValue>>| async move {
        let fanout = live.current().await;
        let handler = http_fanout::serve(&fanout, &event.payload, event.context.deadline());
        Ok::<_, Error>(fanout::metrics::with_request_id(event.context.request_id.clone(), handler).await)
    }))
    .await
}
