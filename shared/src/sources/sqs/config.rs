//! `sqs:` in the config file: how the SQS function reads message bodies.

use serde::Deserialize;

/// `sqs:` in the config file.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct SqsSourceConfig {
    /// Unwrap SNS-to-SQS envelopes.
    #[serde(default)]
    pub unwrap_sns: bool,
    /// Bodies are base64.
    #[serde(default)]
    pub base64_body: bool,
}
