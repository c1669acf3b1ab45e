//! `dynamodb-fanout`: a Lambda function triggered by a DynamoDB table's
//! stream. Wiring only: the config and SDK clients are built once here, and
//! every invocation goes to `fanout::sources::dynamodb::handle_batch` (the
//! event read into `DynamoDbBatch`, which keeps a malformed record to that
//! record and converts the images to plain JSON).

// Nothing input can reach may unwrap, expect or panic here.
#![warn(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use fanout::live::LiveFanout;
use fanout::runtime::Preparsed;
use fanout::sources::dynamodb::DynamoDbBatch;
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
    fanout::runtime::run(service_fn(move |event: LambdaEvent<Preparsed<DynamoDbBatch>>| async move {
        let fanout = live.current().await;
        let handler = fanout::sources::dynamodb::handle_batch(&fanout, event.payload.0, event.context.deadline());
        fanout::metrics::with_request_id(event.context.request_id, handler).await.map_err(Diagnostic::from)
    }))
    .await
}
