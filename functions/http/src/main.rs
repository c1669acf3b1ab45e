//! `http-fanout`: API Gateway (REST v1 and HTTP API v2) in front of fanout.
//! Wiring only: the config and SDK clients are built once here, and every
//! request goes to `http_fanout::serve`.

use fanout::Fanout;
use lambda_http::{service_fn, Error, Request};

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_http::tracing::init_default_subscriber();
    let fanout = Fanout::from_env().await.unwrap_or_else(|e| {
        lambda_http::tracing::error!("{e}");
        std::process::exit(1)
    });
    let fanout = &fanout;
    lambda_http::run(service_fn(move |request: Request| async move { Ok::<_, Error>(http_fanout::serve(fanout, request).await) })).await
}
