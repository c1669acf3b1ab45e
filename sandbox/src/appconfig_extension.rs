//! A stand-in for the AWS AppConfig Agent Lambda extension's local HTTP API,
//! enough to test reading a config from it over real HTTP.
//!
//! `GET /applications/{application}/environments/{environment}/configurations/{profile}`
//! answers like the extension: 200 with the configuration's bytes, its
//! `Content-Type` and a `Configuration-Version` header; 404
//! (`ResourceNotFoundException`) for a configuration it does not hold; 400
//! (`BadRequestException`) for any other path. Configurations live in memory
//! and are put, replaced and removed at run time ([`AppConfigExtension::put`]);
//! every request is counted ([`AppConfigExtension::requests`]).

use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

/// One configuration as deployed.
#[derive(Debug, Clone)]
struct Deployed {
    content: axum::body::Bytes,
    content_type: String,
    version: u64,
}

type Key = (String, String, String);

#[derive(Debug, Default)]
struct Inner {
    configurations: Mutex<HashMap<Key, Deployed>>,
    requests: AtomicUsize,
}

impl Inner {
    fn configurations(&self) -> MutexGuard<'_, HashMap<Key, Deployed>> {
        self.configurations.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// The stand-in, listening on 127.0.0.1; stops when dropped.
pub struct AppConfigExtension {
    /// The port (what `AWS_APPCONFIG_EXTENSION_HTTP_PORT` would say).
    pub port: u16,
    /// The address it listens on.
    pub address: SocketAddr,
    inner: Arc<Inner>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for AppConfigExtension {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl AppConfigExtension {
    /// Start on a free loopback port in the current tokio runtime.
    ///
    /// # Errors
    /// When no loopback port can be bound.
    pub async fn start() -> std::io::Result<Self> {
        let inner = Arc::new(Inner::default());
        let app = Router::new()
            .route("/applications/{application}/environments/{environment}/configurations/{profile}", get(configuration))
            .fallback(bad_request)
            .with_state(Arc::clone(&inner));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let address = listener.local_addr()?;
        let task = tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, app).await {
                tracing::error!(error = %e, "AppConfig extension stand-in stopped");
            }
        });
        Ok(Self { port: address.port(), address, inner, task })
    }

    /// Deploy `content` as the configuration `application/environment/profile`
    /// (a new version when it replaces one).
    pub fn put(&self, application: &str, environment: &str, profile: &str, content: impl Into<axum::body::Bytes>, content_type: &str) {
        let key = (application.to_owned(), environment.to_owned(), profile.to_owned());
        let mut configurations = self.inner.configurations();
        let version = configurations.get(&key).map_or(1, |d| d.version + 1);
        configurations.insert(key, Deployed { content: content.into(), content_type: content_type.to_owned(), version });
    }

    /// Remove a configuration: it answers 404 from then on.
    pub fn remove(&self, application: &str, environment: &str, profile: &str) {
        self.inner.configurations().remove(&(application.to_owned(), environment.to_owned(), profile.to_owned()));
    }

    /// Requests served so far, whatever their answer.
    pub fn requests(&self) -> usize {
        self.inner.requests.load(Ordering::SeqCst)
    }
}

async fn configuration(State(inner): State<Arc<Inner>>, Path((application, environment, profile)): Path<Key>) -> Response {
    inner.requests.fetch_add(1, Ordering::SeqCst);
    if [&application, &environment, &profile].iter().any(|p| p.is_empty()) {
        return error(StatusCode::BAD_REQUEST, "BadRequestException", "application, environment and configuration must not be empty");
    }
    let deployed = inner.configurations().get(&(application.clone(), environment.clone(), profile.clone())).cloned();
    match deployed {
        Some(d) => {
            let headers = [(header::CONTENT_TYPE, d.content_type), (header::HeaderName::from_static("configuration-version"), d.version.to_string())];
            (StatusCode::OK, headers, d.content).into_response()
        }
        None => {
            error(StatusCode::NOT_FOUND, "ResourceNotFoundException", &format!("no configuration {profile} deployed to {application}/{environment}"))
        }
    }
}

async fn bad_request(State(inner): State<Arc<Inner>>) -> Response {
    inner.requests.fetch_add(1, Ordering::SeqCst);
    error(
        StatusCode::BAD_REQUEST,
        "BadRequestException",
        "expected GET /applications/{application}/environments/{environment}/configurations/{configuration}",
    )
}

fn error(status: StatusCode, kind: &str, message: &str) -> Response {
    (status, [(header::CONTENT_TYPE, "application/text")], format!("{kind}: {message}")).into_response()
}
