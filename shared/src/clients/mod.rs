//! SDK clients, built once per process from the shared `SdkConfig`.
//!
//! Every client is built with SDK retries disabled: fanout's delivery engine
//! ([`crate::deliver`]) owns all retries, so whole-request errors and per-item
//! errors share one attempt budget, one backoff and the invocation deadline,
//! and the two layers never multiply. Destinations with their own
//! `endpoint_url` or `region` get a client derived from the shared one.
//! SiteWise clients carry [`host_prefix::CustomEndpointHostPrefix`] so that
//! custom endpoints work despite the SDK's `data.` host prefix. A destination
//! with a `role_arn` gets a client whose credentials come from STS
//! ([`assume_role`]), cached by the client until shortly before they expire.

pub mod assume_role;
pub mod host_prefix;

use aws_config::{Region, SdkConfig};
use aws_smithy_types::retry::RetryConfig;
use aws_smithy_types::timeout::TimeoutConfig;

/// How long one call to the delivery ledger's table may take before the
/// invocation goes on without the ledger (at least once).
pub const LEDGER_CALL_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(1);
use host_prefix::CustomEndpointHostPrefix;

/// What a destination changes about its client.
#[derive(Debug, Clone, Copy, Default)]
pub struct Overrides<'a> {
    /// Another endpoint (a compatible service or an emulator).
    pub endpoint_url: Option<&'a str>,
    /// Another region.
    pub region: Option<&'a str>,
    /// A role to assume, and its external id.
    pub role: Option<(&'a str, Option<&'a str>)>,
}

/// Derive a client with a destination's overrides (or share the default one).
macro_rules! client_for {
    ($name:ident, $field:ident, $sdk:ident) => {
        #[doc = concat!("The `", stringify!($field), "` client for a destination, with its overrides.")]
        pub fn $name(&self, overrides: &Overrides<'_>) -> $sdk::Client {
            if overrides.endpoint_url.is_none() && overrides.region.is_none() && overrides.role.is_none() {
                return self.$field.clone();
            }
            let mut b = self.$field.config().to_builder();
            if let Some(url) = overrides.endpoint_url {
                b = b.endpoint_url(url);
            }
            if let Some(r) = overrides.region {
                b = b.region(Region::new(r.to_owned()));
            }
            if let Some(provider) = self.role_credentials(overrides) {
                b = b.credentials_provider(provider).identity_cache(assume_role::role_identity_cache());
            }
            $sdk::Client::from_conf(b.build())
        }
    };
}

/// The default client of each service.
#[derive(Debug, Clone)]
pub struct Clients {
    /// Firehose `PutRecordBatch`, for `firehose` destinations.
    pub firehose: aws_sdk_firehose::Client,
    /// Kinesis `PutRecords`, for `kinesis` destinations.
    pub kinesis: aws_sdk_kinesis::Client,
    /// IoT Analytics `BatchPutMessage`, for `iot_analytics` destinations.
    pub iotanalytics: aws_sdk_iotanalytics::Client,
    /// IoT Events Data, for `iot_events` and `iot_events_detector` destinations and the detector reads.
    pub ioteventsdata: aws_sdk_ioteventsdata::Client,
    /// IoT SiteWise (with the custom-endpoint host prefix fix).
    pub iotsitewise: aws_sdk_iotsitewise::Client,
    /// SQS `SendMessageBatch`, for `sqs` destinations.
    pub sqs: aws_sdk_sqs::Client,
    /// SNS `PublishBatch`, for `sns` destinations.
    pub sns: aws_sdk_sns::Client,
    /// EventBridge `PutEvents`, for `eventbridge` destinations.
    pub eventbridge: aws_sdk_eventbridge::Client,
    /// STS `AssumeRole`, for destinations with a `role_arn`.
    pub sts: aws_sdk_sts::Client,
    /// DynamoDB, for the delivery ledger ([`crate::ledger`]).
    pub dynamodb: aws_sdk_dynamodb::Client,
}

impl Clients {
    /// Clients for every service from one loaded `SdkConfig` (credentials
    /// chain, `AWS_REGION`, `AWS_ENDPOINT_URL[_<SERVICE>]`), retries disabled.
    pub fn from_sdk_config(sdk: &SdkConfig) -> Self {
        let no_retries = RetryConfig::disabled;
        Self {
            firehose: aws_sdk_firehose::Client::from_conf(aws_sdk_firehose::config::Builder::from(sdk).retry_config(no_retries()).build()),
            kinesis: aws_sdk_kinesis::Client::from_conf(aws_sdk_kinesis::config::Builder::from(sdk).retry_config(no_retries()).build()),
            iotanalytics: aws_sdk_iotanalytics::Client::from_conf(
                aws_sdk_iotanalytics::config::Builder::from(sdk).retry_config(no_retries()).build(),
            ),
            ioteventsdata: aws_sdk_ioteventsdata::Client::from_conf(
                aws_sdk_ioteventsdata::config::Builder::from(sdk).retry_config(no_retries()).build(),
            ),
            iotsitewise: aws_sdk_iotsitewise::Client::from_conf(
                aws_sdk_iotsitewise::config::Builder::from(sdk).retry_config(no_retries()).interceptor(CustomEndpointHostPrefix).build(),
            ),
            sqs: aws_sdk_sqs::Client::from_conf(aws_sdk_sqs::config::Builder::from(sdk).retry_config(no_retries()).build()),
            sns: aws_sdk_sns::Client::from_conf(aws_sdk_sns::config::Builder::from(sdk).retry_config(no_retries()).build()),
            eventbridge: aws_sdk_eventbridge::Client::from_conf(aws_sdk_eventbridge::config::Builder::from(sdk).retry_config(no_retries()).build()),
            sts: aws_sdk_sts::Client::from_conf(aws_sdk_sts::config::Builder::from(sdk).retry_config(no_retries()).build()),
            dynamodb: aws_sdk_dynamodb::Client::from_conf(
                aws_sdk_dynamodb::config::Builder::from(sdk)
                    .retry_config(no_retries())
                    .timeout_config(TimeoutConfig::builder().operation_timeout(LEDGER_CALL_TIMEOUT).build())
                    .build(),
            ),
        }
    }

    /// Clients that cannot send: no credentials and an endpoint nothing
    /// listens on (127.0.0.1:9). For dry runs, benches and tests, where a
    /// request that went out would fail instead of reaching anything.
    pub fn offline() -> Self {
        let sdk = SdkConfig::builder()
            .behavior_version(aws_config::BehaviorVersion::latest())
            .region(Region::new("us-east-1"))
            .endpoint_url("http://127.0.0.1:9")
            .build();
        Self::from_sdk_config(&sdk)
    }

    /// Credentials from assuming the overrides' role, through STS in the
    /// overrides' region (STS's endpoint is the process's, never a
    /// destination's `endpoint_url`).
    fn role_credentials(&self, overrides: &Overrides<'_>) -> Option<aws_credential_types::provider::SharedCredentialsProvider> {
        let (role_arn, external_id) = overrides.role?;
        let mut sts = self.sts.config().to_builder();
        if let Some(r) = overrides.region {
            sts = sts.region(Region::new(r.to_owned()));
        }
        let provider = assume_role::RoleCredentials::new(aws_sdk_sts::Client::from_conf(sts.build()), role_arn, external_id, None);
        Some(aws_credential_types::provider::SharedCredentialsProvider::new(provider))
    }

    client_for!(firehose_for, firehose, aws_sdk_firehose);
    client_for!(kinesis_for, kinesis, aws_sdk_kinesis);
    client_for!(iotanalytics_for, iotanalytics, aws_sdk_iotanalytics);
    client_for!(ioteventsdata_for, ioteventsdata, aws_sdk_ioteventsdata);
    client_for!(iotsitewise_for, iotsitewise, aws_sdk_iotsitewise);
    client_for!(sqs_for, sqs, aws_sdk_sqs);
    client_for!(sns_for, sns, aws_sdk_sns);
    client_for!(eventbridge_for, eventbridge, aws_sdk_eventbridge);
}
