//! `http:` in the config file: the HTTP function's limits.

use serde::Deserialize;

/// Default body limit: Lambda's 6 MB synchronous payload.
pub const DEFAULT_MAX_BODY_BYTES: usize = 6 * 1024 * 1024;

/// `http:` in the config file.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct HttpSourceConfig {
    /// Largest accepted body (default 6 MiB).
    pub max_body_bytes: Option<usize>,
}

impl HttpSourceConfig {
    /// The body limit in force: `max_body_bytes`, else [`DEFAULT_MAX_BODY_BYTES`].
    pub fn body_limit(&self) -> usize {
        self.max_body_bytes.unwrap_or(DEFAULT_MAX_BODY_BYTES)
    }
}
