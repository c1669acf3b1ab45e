//! SDK clients, built once per process from the shared `SdkConfig`.
//!
//! Every client is built with SDK retries disabled: fanout's delivery engine
//! ([`crate::deliver`]) owns all retries, so whole-request errors and per-item
//! errors share one attempt budget, one backoff and the invocation deadline,
//! and the two layers never multiply. Destinations with their own
//! `endpoint_url` or `region` get a client derived from the shared one.

use aws_config::{Region, SdkConfig};
use aws_smithy_types::retry::RetryConfig;

/// The default client of each service.
#[derive(Debug, Clone)]
pub struct Clients {
    /// Firehose.
    pub firehose: aws_sdk_firehose::Client,
    /// Kinesis.
    pub kinesis: aws_sdk_kinesis::Client,
}

impl Clients {
    /// Clients for every service from one loaded `SdkConfig` (credentials
    /// chain, `AWS_REGION`, `AWS_ENDPOINT_URL[_<SERVICE>]`), retries disabled.
    pub fn from_sdk_config(sdk: &SdkConfig) -> Self {
        Self {
            firehose: aws_sdk_firehose::Client::from_conf(
                aws_sdk_firehose::config::Builder::from(sdk)
                    .retry_config(RetryConfig::disabled())
                    .build(),
            ),
            kinesis: aws_sdk_kinesis::Client::from_conf(
                aws_sdk_kinesis::config::Builder::from(sdk)
                    .retry_config(RetryConfig::disabled())
                    .build(),
            ),
        }
    }

    /// The Firehose client for a destination, with its overrides.
    pub fn firehose_for(
        &self,
        endpoint_url: Option<&str>,
        region: Option<&str>,
    ) -> aws_sdk_firehose::Client {
        if endpoint_url.is_none() && region.is_none() {
            return self.firehose.clone();
        }
        let mut b = self.firehose.config().to_builder();
        if let Some(url) = endpoint_url {
            b = b.endpoint_url(url);
        }
        if let Some(r) = region {
            b = b.region(Region::new(r.to_owned()));
        }
        aws_sdk_firehose::Client::from_conf(b.build())
    }

    /// The Kinesis client for a destination, with its overrides.
    pub fn kinesis_for(
        &self,
        endpoint_url: Option<&str>,
        region: Option<&str>,
    ) -> aws_sdk_kinesis::Client {
        if endpoint_url.is_none() && region.is_none() {
            return self.kinesis.clone();
        }
        let mut b = self.kinesis.config().to_builder();
        if let Some(url) = endpoint_url {
            b = b.endpoint_url(url);
        }
        if let Some(r) = region {
            b = b.region(Region::new(r.to_owned()));
        }
        aws_sdk_kinesis::Client::from_conf(b.build())
    }
}
