//! A minimal stand-in for the Lambda Runtime API, enough to run a real
//! function binary: it hands out queued events on `invocation/next` and
//! collects what the function answers. Used by the end-to-end tests (the
//! built function binaries) and by `fanout-local bench --cold-start`, which
//! times a binary from its start to its first `invocation/next`.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::routing::{get, post};
use axum::Router;
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::sync::Notify;

/// What the function answered to one invocation.
#[derive(Debug, Clone, PartialEq)]
pub enum Answer {
    /// `POST /invocation/{id}/response`.
    Response(serde_json::Value),
    /// `POST /invocation/{id}/error` or `/init/error`.
    Error(String),
}

/// The `lambda-runtime-deadline-ms` an event is handed out with.
#[derive(Debug, Clone, Copy)]
enum Deadline {
    /// This long after it is handed out, as Lambda does.
    In(Duration),
    /// This header value as is, as `cargo lambda watch` 1.9 sends (`600000`: a 1970 deadline).
    Fixed(u64),
}

#[derive(Default)]
struct Inner {
    events: Mutex<VecDeque<(String, String, Deadline)>>,
    answers: Mutex<Vec<(String, Answer)>>,
    arrived: Notify,
    first_poll: std::sync::OnceLock<std::time::Instant>,
}

/// The stand-in, listening on 127.0.0.1.
pub struct RuntimeApi {
    /// `127.0.0.1:PORT`, for `AWS_LAMBDA_RUNTIME_API`.
    pub address: String,
    inner: Arc<Inner>,
}

impl RuntimeApi {
    /// Start serving on a free loopback port.
    ///
    /// # Errors
    /// When no loopback port can be bound.
    pub async fn start() -> std::io::Result<Self> {
        let inner = Arc::new(Inner::default());
        let app = Router::new()
            .route("/2018-06-01/runtime/invocation/next", get(next))
            .route("/2018-06-01/runtime/invocation/{id}/response", post(response))
            .route("/2018-06-01/runtime/invocation/{id}/error", post(error))
            .route("/2018-06-01/runtime/init/error", post(init_error))
            .with_state(Arc::clone(&inner));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let address = listener.local_addr()?.to_string();
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(Self { address, inner })
    }

    /// When the function first asked for an event (`GET invocation/next`),
    /// waiting at most `wait` for it to happen.
    pub async fn first_poll(&self, wait: Duration) -> Option<std::time::Instant> {
        let until = tokio::time::Instant::now() + wait;
        loop {
            let notified = self.inner.arrived.notified();
            if let Some(at) = self.inner.first_poll.get() {
                return Some(*at);
            }
            if tokio::time::timeout_at(until, notified).await.is_err() {
                return None;
            }
        }
    }

    /// Queue an event with `timeout` until its deadline; returns its request id.
    pub fn invoke(&self, event: serde_json::Value, timeout: Duration) -> String {
        self.invoke_text(event.to_string(), timeout)
    }

    /// Queue an event given as its JSON text (which need not fit a
    /// `serde_json::Value`: a hostile event may nest deeper than its limit).
    pub fn invoke_text(&self, event: String, timeout: Duration) -> String {
        self.queue(event, Deadline::In(timeout))
    }

    /// Queue an event whose `lambda-runtime-deadline-ms` header is
    /// `deadline_ms` as is, whatever the time: what `cargo lambda watch` 1.9.2
    /// sends (a fixed `600000`, i.e. ten minutes after the epoch).
    pub fn invoke_with_fixed_deadline(&self, event: serde_json::Value, deadline_ms: u64) -> String {
        self.queue(event.to_string(), Deadline::Fixed(deadline_ms))
    }

    fn queue(&self, event: String, deadline: Deadline) -> String {
        let id = format!("req-{}", self.inner.events.lock().map(|e| e.len()).unwrap_or(0) + self.inner.answers.lock().map(|a| a.len()).unwrap_or(0));
        if let Ok(mut events) = self.inner.events.lock() {
            events.push_back((id.clone(), event, deadline));
        }
        self.inner.arrived.notify_waiters();
        id
    }

    /// Wait for the answer to `id`, at most `wait`.
    pub async fn answer(&self, id: &str, wait: Duration) -> Option<Answer> {
        let until = tokio::time::Instant::now() + wait;
        loop {
            let notified = self.inner.arrived.notified();
            if let Some(a) = self.inner.answers.lock().ok()?.iter().find(|(i, _)| i == id || i == "init").map(|(_, a)| a.clone()) {
                return Some(a);
            }
            if tokio::time::timeout_at(until, notified).await.is_err() {
                return None;
            }
        }
    }
}

async fn next(State(inner): State<Arc<Inner>>) -> (HeaderMap, String) {
    if inner.first_poll.set(std::time::Instant::now()).is_ok() {
        inner.arrived.notify_waiters();
    }
    loop {
        let notified = inner.arrived.notified();
        let queued = inner.events.lock().ok().and_then(|mut e| e.pop_front());
        if let Some((id, event, deadline)) = queued {
            let deadline_ms = match deadline {
                Deadline::In(timeout) => (SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default() + timeout).as_millis(),
                Deadline::Fixed(ms) => u128::from(ms),
            };
            let mut headers = HeaderMap::new();
            let put = |h: &mut HeaderMap, k: &'static str, v: String| {
                if let Ok(v) = HeaderValue::from_str(&v) {
                    h.insert(k, v);
                }
            };
            put(&mut headers, "lambda-runtime-aws-request-id", id);
            put(&mut headers, "lambda-runtime-deadline-ms", deadline_ms.to_string());
            put(&mut headers, "lambda-runtime-invoked-function-arn", "arn:aws:lambda:us-east-1:123456789012:function:fanout".into());
            put(&mut headers, "lambda-runtime-trace-id", "Root=1-00000000-000000000000000000000000".into());
            return (headers, event);
        }
        notified.await;
    }
}

fn record(inner: &Inner, id: String, answer: Answer) -> StatusCode {
    if let Ok(mut answers) = inner.answers.lock() {
        answers.push((id, answer));
    }
    inner.arrived.notify_waiters();
    StatusCode::ACCEPTED
}

async fn response(State(inner): State<Arc<Inner>>, Path(id): Path<String>, body: String) -> StatusCode {
    let value = serde_json::from_str(&body).unwrap_or(serde_json::Value::String(body));
    record(&inner, id, Answer::Response(value))
}

async fn error(State(inner): State<Arc<Inner>>, Path(id): Path<String>, body: String) -> StatusCode {
    record(&inner, id, Answer::Error(body))
}

async fn init_error(State(inner): State<Arc<Inner>>, body: String) -> StatusCode {
    record(&inner, "init".into(), Answer::Error(body))
}
