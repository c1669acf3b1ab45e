//! `kinesis-fanout`: a Kinesis-triggered Lambda function. Wiring only: the
//! config and SDK clients are built once here, and every invocation goes to
//! `fanout::sources::kinesis::handle`.

use aws_lambda_events::event::kinesis::KinesisEvent;
use fanout::{Clients, Config, Fanout};
use lambda_runtime::{service_fn, Error, LambdaEvent};

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let config = Config::load_from_env().unwrap_or_else(|e| {
        lambda_runtime::tracing::error!("{e}");
        std::process::exit(1)
    });
    let sdk = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let fanout = Fanout::new(config, &Clients::from_sdk_config(&sdk));
    let fanout = &fanout;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<KinesisEvent>| async move {
        fanout::sources::kinesis::handle(fanout, event.payload, event.context.deadline()).await.map_err(Error::from)
    }))
    .await
}
