//! Failure types shared by every destination, and the one place where error
//! codes common to all AWS APIs are classified as transient or permanent.
//!
//! A destination module classifies its own per-item codes first and falls back
//! to [`classify_code`] for the codes every AWS service shares.

use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use std::fmt;

/// Whether retrying can help.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorClass {
    /// Throttling, 5xx, timeouts, connection failures: the same request may succeed later.
    Transient,
    /// Validation, missing resources, access denied, oversize records: it never will.
    Permanent,
}

impl fmt::Display for ErrorClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ErrorClass::Transient => "transient",
            ErrorClass::Permanent => "permanent",
        })
    }
}

/// Why one record could not be delivered to one destination, or why a whole
/// request failed.
///
/// One type serves both: a request that fails as a whole (`Err` from
/// [`crate::deliver::api::BatchApi::send`]) fails each of its items with the same
/// error, so the engine hands each item a clone and the report never has to
/// tell the two apart.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, serde::Serialize)]
#[error("{code}: {message} ({class})")]
pub struct ItemError {
    /// The service's error code, or one of fanout's own (`RecordTooLarge`, `PartitionKeyMissing`, ...).
    pub code: String,
    /// A message that names the rule the record broke.
    pub message: String,
    /// Whether resending can help.
    pub class: ErrorClass,
}

impl ItemError {
    /// A failure that resending cannot fix.
    pub fn permanent(code: impl Into<String>, message: impl Into<String>) -> Self {
        Self { code: code.into(), message: message.into(), class: ErrorClass::Permanent }
    }

    /// A failure that a later attempt may not have.
    pub fn transient(code: impl Into<String>, message: impl Into<String>) -> Self {
        Self { code: code.into(), message: message.into(), class: ErrorClass::Transient }
    }

    /// Whether the item should be resent.
    pub fn is_transient(&self) -> bool {
        self.class == ErrorClass::Transient
    }

    /// The SDK refused to build a request from fanout's entries (a bug, not the
    /// data's fault: entries are validated before): permanent.
    pub fn construction(e: impl fmt::Display) -> Self {
        Self { code: "ConstructionFailure".into(), message: e.to_string(), class: ErrorClass::Permanent }
    }

    /// A malformed or mismatched response: the items' fate is unknown, so they are resent.
    pub fn bad_response(message: impl Into<String>) -> Self {
        Self { code: "InvalidResponse".into(), message: message.into(), class: ErrorClass::Transient }
    }

    /// The invocation's deadline came before the request was answered (or
    /// sent): transient, so the source retries the records.
    pub fn deadline(message: impl Into<String>) -> Self {
        Self { code: "DeadlineExceeded".into(), message: message.into(), class: ErrorClass::Transient }
    }
}

/// Error codes that every AWS service uses for "slow down" or "try again".
const TRANSIENT_CODES: &[&str] = &[
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "RequestThrottledException",
    "TooManyRequestsException",
    "ProvisionedThroughputExceededException",
    "LimitExceededException",
    "RequestLimitExceeded",
    "SlowDown",
    "ServiceUnavailable",
    "ServiceUnavailableException",
    "InternalFailure",
    "InternalFailureException",
    "InternalError",
    "InternalServerError",
    "InternalServerException",
    "RequestTimeout",
    "RequestTimeoutException",
    "KMSThrottlingException",
];

/// Whether `code` says the service is throttling (slowing the caller down),
/// as opposed to failing: counted as `Throttles` in the metrics.
pub fn is_throttle_code(code: &str) -> bool {
    code.contains("Throttl")
        || matches!(
            code,
            "ProvisionedThroughputExceededException" | "TooManyRequestsException" | "RequestLimitExceeded" | "SlowDown" | "LimitExceededException"
        )
}

/// Classify a service error code shared by all AWS APIs.
///
/// Returns `None` for codes this shared list does not know; the destination
/// decides those (see each destination's `classify_item_code`).
pub fn classify_code(code: &str) -> Option<ErrorClass> {
    TRANSIENT_CODES.contains(&code).then_some(ErrorClass::Transient)
}

/// Why a destination's role could not be assumed
/// ([`crate::clients::assume_role`]), classified like a send error.
#[derive(Debug, Clone, thiserror::Error)]
#[error("could not assume {role_arn}: {code}: {message}")]
pub struct RoleError {
    /// The role.
    pub role_arn: String,
    /// STS's error code (or `Timeout`, `DispatchFailure`, ...).
    pub code: String,
    /// STS's message.
    pub message: String,
    /// Whether resending may succeed.
    pub class: ErrorClass,
}

/// The [`RoleError`] somewhere in `err`'s source chain, if credentials for
/// the request could not be had.
fn role_error<'e>(err: &'e (dyn std::error::Error + 'static)) -> Option<&'e RoleError> {
    let mut next = Some(err);
    while let Some(e) = next {
        if let Some(role) = e.downcast_ref::<RoleError>() {
            return Some(role);
        }
        next = e.source();
    }
    None
}

/// Turn a failed SDK call into the [`ItemError`] every item of the request shares.
///
/// Timeouts, dispatch (connection) failures and unreadable responses are
/// transient; service errors are transient when their code is a shared
/// transient code or their HTTP status is 429 or 5xx, permanent otherwise;
/// requests the SDK could not even build are permanent.
pub fn from_sdk_error<E>(err: SdkError<E, HttpResponse>) -> ItemError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    if let Some(role) = role_error(&err) {
        return ItemError { code: format!("AssumeRole.{}", role.code), message: role.to_string(), class: role.class };
    }
    match &err {
        SdkError::TimeoutError(_) => ItemError { code: "Timeout".into(), message: "the request timed out".into(), class: ErrorClass::Transient },
        SdkError::DispatchFailure(f) => ItemError {
            code: "DispatchFailure".into(),
            message: format!("could not send the request: {:?}", f.as_connector_error()),
            class: ErrorClass::Transient,
        },
        SdkError::ResponseError(_) => ItemError {
            code: "ResponseError".into(),
            message: format!("could not read the response: {}", display_chain(&err)),
            class: ErrorClass::Transient,
        },
        SdkError::ServiceError(ctx) => {
            let status = ctx.raw().status().as_u16();
            let code = ctx.err().code().map(str::to_owned).unwrap_or_else(|| format!("Http{status}"));
            let message = ctx.err().message().unwrap_or("no message").to_owned();
            let class = match classify_code(&code) {
                Some(class) => class,
                None if status == 429 || status >= 500 => ErrorClass::Transient,
                None => ErrorClass::Permanent,
            };
            ItemError { code, message, class }
        }
        _ => ItemError { code: "ConstructionFailure".into(), message: display_chain(&err), class: ErrorClass::Permanent },
    }
}

fn display_chain(err: &dyn std::error::Error) -> String {
    let mut out = err.to_string();
    let mut source = err.source();
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shared_throttling_and_server_codes_are_transient() {
        for code in ["ThrottlingException", "ProvisionedThroughputExceededException", "InternalFailure", "ServiceUnavailableException"] {
            assert_eq!(classify_code(code), Some(ErrorClass::Transient), "{code}");
        }
    }

    #[test]
    fn validation_and_access_codes_are_left_to_the_destination() {
        for code in ["ValidationException", "ResourceNotFoundException", "AccessDeniedException", "InvalidArgumentException"] {
            assert_eq!(classify_code(code), None, "{code}");
        }
    }
}
