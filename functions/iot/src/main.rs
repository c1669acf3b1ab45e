//! `iot-fanout`: a Lambda function invoked asynchronously by an IoT rule with
//! the rule's SELECT result. Wiring only: the config (from the source the environment
//! names, re-read when `FANOUT_CONFIG_REFRESH_SECONDS` says so) and SDK clients are built
//! once here, and every invocation goes to `fanout::sources::iot::handle` as
//! the event's JSON text (so one element nested too deep for a JSON tree is a
//! record fanout cannot read, not an event the runtime refuses).

// Nothing input can reach may unwrap, expect or panic here.
#![warn(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use bytes::Bytes;
use fanout::live::LiveFanout;
use lambda_runtime::{service_fn, Diagnostic, Error, LambdaEvent};
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
        let text: Box<str> = event.payload.into();
        let handler = fanout::sources::iot::handle(&fanout, Bytes::from(String::from(text)), &event.context.request_id, event.context.deadline());
        fanout::metrics::with_request_id(event.context.request_id.clone(), handler).await.map_err(Diagnostic::from)
    }))
    .await
}
