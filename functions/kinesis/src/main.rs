//! `kinesis-fanout`: a Kinesis-triggered Lambda function. Wiring only: the
//! config and SDK clients are built once here, and every invocation goes to
//! `fanout::sources::kinesis::handle_batch` (the Kinesis event read into
//! `KinesisBatch`, which skips the fields fanout does not use).

// Nothing input can reach may unwrap, expect or panic here.
#![warn(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use fanout::live::LiveFanout;
use fanout::runtime::Preparsed;
use fanout::sources::kinesis::KinesisBatch;
use lambda_runtime::{service_fn, Diagnostic, Error, LambdaEvent};

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
    fanout::runtime::run(service_fn(move |event: LambdaEvent<Preparsed<KinesisBatch>>| async move {
        let fanout = live.current().await;
        let handler = fanout::sources::kinesis::handle_batch(&fanout, event.payload.0, event.context.deadline());
        fanout::metrics::with_request_id(event.context.request_id, handler).await.map_err(Diagnostic::from)
    }))
    .await
}
