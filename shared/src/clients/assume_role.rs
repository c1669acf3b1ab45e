//! Credentials for a destination in another account: STS `AssumeRole`.
//!
//! [`RoleCredentials`] is a credentials provider that assumes one role (with
//! its external id) on each call. It does not cache: the destination's SDK
//! client does, in its lazy identity cache ([`role_identity_cache`]), which
//! keeps the credentials until [`REFRESH_BEFORE_EXPIRY`] before they expire
//! and then fetches new ones on the next request, while requests already
//! signed go on with the old ones. So a refresh never fails a record in
//! flight, and one `AssumeRole` call serves every request of the session.
//!
//! When `AssumeRole` fails, the request that needed the credentials fails
//! with a [`RoleError`] in its error chain; [`crate::error::from_sdk_error`]
//! finds it and classifies it like any send error: `AccessDenied` and other
//! client errors permanent (every record of the request is dead-lettered or
//! reported with the reason), throttling, server errors and connection
//! failures transient (resent by the engine).
//!
//! Limits (STS API reference, AssumeRole): `RoleSessionName` 2-64 of
//! `[\w+=,.@-]`; `ExternalId` 2-1,224 of `[\w+=,.@:/-]`; a session lasts
//! 900-43,200 s (default 3,600; at most 1 h when the base credentials are
//! themselves a role session).

use crate::error::{from_sdk_error, ErrorClass, RoleError};
use aws_credential_types::provider::{self, error::CredentialsError, future, ProvideCredentials};
use aws_credential_types::Credentials;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

/// How long before they expire assumed credentials are refreshed.
pub const REFRESH_BEFORE_EXPIRY: Duration = Duration::from_secs(300);

/// The session name fanout assumes roles with (CloudTrail shows it).
pub const SESSION_NAME: &str = "fanout";

/// Assumes one role on every call; see the module documentation.
#[derive(Debug)]
pub struct RoleCredentials {
    sts: aws_sdk_sts::Client,
    role_arn: String,
    external_id: Option<String>,
    duration: Option<Duration>,
    calls: Arc<AtomicU64>,
}

impl RoleCredentials {
    /// A provider for `role_arn` (and `external_id`), calling STS through
    /// `sts`, for sessions of `duration` (STS's default, 1 h, when `None`).
    pub fn new(sts: aws_sdk_sts::Client, role_arn: &str, external_id: Option<&str>, duration: Option<Duration>) -> Self {
        Self { sts, role_arn: role_arn.to_owned(), external_id: external_id.map(str::to_owned), duration, calls: Arc::default() }
    }

    /// A counter of the `AssumeRole` calls made, shared with the provider.
    pub fn calls(&self) -> Arc<AtomicU64> {
        Arc::clone(&self.calls)
    }

    async fn assume(&self) -> provider::Result {
        self.calls.fetch_add(1, Ordering::Relaxed);
        let answer = self
            .sts
            .assume_role()
            .role_arn(&self.role_arn)
            .role_session_name(SESSION_NAME)
            .set_external_id(self.external_id.clone())
            .set_duration_seconds(self.duration.and_then(|d| i32::try_from(d.as_secs()).ok()))
            .send()
            .await;
        let fail = |code: String, message: String, class: ErrorClass| {
            CredentialsError::provider_error(RoleError { role_arn: self.role_arn.clone(), code, message, class })
        };
        let output = answer.map_err(|e| {
            let e = from_sdk_error(e);
            fail(e.code, e.message, e.class)
        })?;
        let Some(c) = output.credentials() else {
            return Err(fail("InvalidResponse".into(), "AssumeRole answered without credentials".into(), ErrorClass::Transient));
        };
        let expiry = SystemTime::try_from(*c.expiration()).ok();
        Ok(Credentials::new(c.access_key_id(), c.secret_access_key(), Some(c.session_token().to_owned()), expiry, "fanout-assume-role"))
    }
}

impl ProvideCredentials for RoleCredentials {
    fn provide_credentials<'a>(&'a self) -> future::ProvideCredentials<'a>
    where
        Self: 'a,
    {
        future::ProvideCredentials::new(self.assume())
    }
}

/// The identity cache of a client with assumed credentials: keeps them
/// until [`REFRESH_BEFORE_EXPIRY`] before they expire.
pub fn role_identity_cache() -> aws_smithy_runtime_api::client::identity::SharedIdentityCache {
    aws_config::identity::IdentityCache::lazy().buffer_time(REFRESH_BEFORE_EXPIRY).build()
}
