//! SDK configuration for local runs.

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::provider::SharedCredentialsProvider;
use aws_credential_types::Credentials;

/// Credentials for endpoints that do not check them (the sandbox, moto, LocalStack).
pub fn dummy_credentials() -> SharedCredentialsProvider {
    SharedCredentialsProvider::new(Credentials::new("fanout-local", "fanout-local", None, None, "fanout-local"))
}

/// An `SdkConfig` for a local endpoint: dummy credentials, `AWS_REGION` or us-east-1.
/// Nothing from the environment's AWS profile is read, so no real account is touched.
pub fn endpoint_sdk_config(endpoint: &str) -> SdkConfig {
    let region = std::env::var("AWS_REGION").unwrap_or_else(|_| "us-east-1".into());
    SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(region))
        .endpoint_url(endpoint)
        .credentials_provider(dummy_credentials())
        .build()
}

/// The standard AWS configuration (credential chain, `AWS_REGION`, `AWS_ENDPOINT_URL`...).
pub async fn aws_sdk_config() -> SdkConfig {
    aws_config::load_defaults(BehaviorVersion::latest()).await
}
