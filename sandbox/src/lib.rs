//! fanout's sandbox: one HTTP server on 127.0.0.1 that speaks the wire
//! protocols of the batch APIs fanout sends to, so the real SDK clients
//! (SigV4-signed; the signature is not checked) talk to it unchanged.
//!
//! - awsJson1_1 by `X-Amz-Target`: Firehose `PutRecordBatch`,
//!   `DescribeDeliveryStream`; Kinesis `PutRecords`, `CreateStream`,
//!   `DescribeStreamSummary`, `ListShards`, `GetShardIterator`, `GetRecords`;
//!   EventBridge `PutEvents`, `CreateEventBus`; and awsJson1_0: SQS
//!   `SendMessageBatch`, `CreateQueue`, `GetQueueUrl`.
//! - awsQuery (form-encoded, XML answers) by `Action`: SNS `PublishBatch`,
//!   `CreateTopic`; STS `AssumeRole` (for destinations with a `role_arn`).
//! - restJson1 by method and path: IoT Analytics `BatchPutMessage`; IoT Events
//!   Data `BatchPutMessage`, `BatchUpdateDetector`, `DescribeDetector`,
//!   `ListDetectors`; SiteWise `BatchPutAssetPropertyValue`,
//!   `GetAssetPropertyValue`, `GetAssetPropertyValueHistory`.
//!
//! It validates what AWS validates (counts, sizes, names, ids, field names,
//! SiteWise values), with AWS's error codes; keeps what it accepted (in
//! memory, and as JSON Lines with a data dir); injects faults ([`faults`]);
//! and offers a read-back and control API under `/_sandbox/` ([`control`]).
//!
//! Beside it: a Lambda Runtime API stand-in ([`runtime_api`]) and an AWS
//! AppConfig Agent Lambda extension stand-in ([`appconfig_extension`]).

pub mod apis;
pub mod appconfig_extension;
pub mod control;
pub mod faults;
pub mod runtime_api;
pub mod store;
pub mod wire;

use apis::World;
use axum::body::Bytes;
use axum::extract::DefaultBodyLimit;
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use faults::{Api, FaultSpec, Faults};
use serde_json::Value;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};
use wire::{ApiError, Protocol};

/// How a sandbox starts.
#[derive(Debug, Clone)]
pub struct SandboxOptions {
    /// Create unknown streams, channels, inputs, models and aliases on first use.
    pub auto_create: bool,
    /// Faults to inject from the start.
    pub faults: FaultSpec,
    /// Where to write accepted items as JSON Lines.
    pub data_dir: Option<PathBuf>,
    /// The payload field (JSON Pointer) that keys the detector an IoT Events message updates.
    pub detector_key: String,
    /// Resources that exist from the start, for `auto_create: false`.
    pub resources: Vec<(Api, String)>,
    /// Keep accepted items, stream records, property values and the call
    /// log for read-back (the default). Off, the sandbox validates and
    /// answers exactly as before but only counts what it accepted: the
    /// benchmark's setting, so the process's memory is fanout's.
    pub retain_items: bool,
    /// How long STS credentials last, whatever `DurationSeconds` asks (for
    /// tests of credential refresh); `None`: as asked.
    pub session_seconds: Option<u64>,
}

impl Default for SandboxOptions {
    fn default() -> Self {
        Self {
            auto_create: true,
            faults: FaultSpec::default(),
            data_dir: None,
            detector_key: "/deviceId".into(),
            resources: Vec::new(),
            retain_items: true,
            session_seconds: None,
        }
    }
}

/// Shared state behind the server.
#[derive(Debug)]
pub struct State {
    world: Mutex<World>,
    faults: Mutex<Faults>,
}

impl State {
    /// The state for `options`.
    pub fn new(options: &SandboxOptions) -> Self {
        Self { world: Mutex::new(World::new(options)), faults: Mutex::new(Faults::new(&options.faults)) }
    }

    /// The world (resources and accepted items). A poisoned lock is recovered:
    /// the sandbox keeps serving after a panicking test thread.
    pub fn world(&self) -> MutexGuard<'_, World> {
        self.world.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The fault state.
    pub fn faults(&self) -> MutexGuard<'_, Faults> {
        self.faults.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Serve one call: added latency, then an injected status, else `f`
    /// on the body parsed as JSON.
    pub(crate) async fn serve<F>(&self, api: Api, operation: &'static str, protocol: Protocol, body: &Bytes, f: F) -> Response
    where
        F: FnOnce(&Value, &mut World, &mut Faults) -> Result<Value, ApiError>,
    {
        self.serve_parsed(api, operation, protocol, body, serde_json::from_slice::<Value>, |json: Value, world, faults| f(&json, world, faults)).await
    }

    /// [`State::serve`] with the body parsed by `parse` (outside the state's
    /// locks, so concurrent requests parse in parallel) into a type that may
    /// borrow from it; a parse error is AWS's `SerializationException`.
    pub(crate) async fn serve_parsed<'b, T, P, F>(
        &self,
        api: Api,
        operation: &'static str,
        protocol: Protocol,
        body: &'b Bytes,
        parse: P,
        f: F,
    ) -> Response
    where
        P: FnOnce(&'b [u8]) -> Result<T, serde_json::Error>,
        F: FnOnce(T, &mut World, &mut Faults) -> Result<Value, ApiError>,
    {
        let latency = self.faults().latency_ms(api);
        if latency > 0 {
            tokio::time::sleep(std::time::Duration::from_millis(latency)).await;
        }
        let injected = self.faults().take_status(api);
        let result = match injected {
            Some(status) => Err(ApiError::injected(status, protocol)),
            None => match parse(if body.is_empty() { b"{}" } else { body }) {
                Err(e) => Err(ApiError::bad("SerializationException", format!("the body is not valid for {operation}: {e}"))),
                Ok(input) => {
                    let mut world = self.world();
                    let mut faults = self.faults();
                    f(input, &mut world, &mut faults)
                }
            },
        };
        match result {
            Ok(v) => wire::ok(v, protocol),
            Err(e) => {
                self.world().store.log(store::Call { api, operation, target: String::new(), items: Vec::new(), status: e.status });
                e.into_response(protocol)
            }
        }
    }
}

/// A running sandbox; stops when dropped.
pub struct Sandbox {
    /// `http://127.0.0.1:PORT`: point `AWS_ENDPOINT_URL` here.
    pub endpoint: String,
    /// The address it listens on.
    pub address: SocketAddr,
    /// Its state, for in-process read-back.
    pub state: Arc<State>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The sandbox's routes.
pub fn router(state: Arc<State>) -> Router {
    Router::new()
        .route("/", post(apis::aws_json))
        .route("/messages/batch", post(apis::iot_analytics::batch_put_message))
        .route("/inputs/messages", post(apis::iot_events::batch_put_message))
        .route("/detectors", post(apis::iot_events::batch_update_detector))
        .route("/detectors/{model}", get(apis::iot_events::list_detectors))
        .route("/detectors/{model}/keyValues", get(apis::iot_events::describe_detector))
        .route("/detectors/{model}/keyValues/", get(apis::iot_events::describe_detector))
        .route("/properties", post(apis::sitewise::batch_put_asset_property_value))
        .route("/properties/latest", get(apis::sitewise::get_asset_property_value))
        .route("/properties/history", get(apis::sitewise::get_asset_property_value_history))
        .nest("/_sandbox", control::router())
        .layer(DefaultBodyLimit::max(32 * 1024 * 1024))
        .with_state(state)
}

impl Sandbox {
    /// Start on 127.0.0.1:`port` (0: any free port) in the current tokio runtime.
    pub async fn start(options: SandboxOptions, port: u16) -> std::io::Result<Sandbox> {
        let state = Arc::new(State::new(&options));
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
        let address = listener.local_addr()?;
        let app = router(Arc::clone(&state));
        let task = tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, app).await {
                tracing::error!(error = %e, "sandbox server stopped");
            }
        });
        Ok(Sandbox { endpoint: format!("http://{address}"), address, state, task })
    }

    /// Replace the fault rules at run time.
    pub fn set_faults(&self, spec: &FaultSpec) {
        self.state.faults().set(spec);
    }
}
