//! Per-entry answers read for what fanout uses of them: [`LeanAnswers`].
//!
//! Of each entry of a `PutRecords` or `PutRecordBatch` answer fanout uses
//! only whether it failed, and why (`ErrorCode`, `ErrorMessage`). The SDK's
//! deserializer builds every string of every entry: a sequence number and a
//! shard id per Kinesis record, a record id per Firehose record. For a
//! 7,000-record batch to both, that is 21,000 strings and about a tenth of
//! the function's CPU (docs/performance.md).
//!
//! [`LeanAnswers`] is an interceptor that puts a deserializer of its own in
//! front of the SDK's for one request. A 200 answer it can read is read with
//! serde into the SDK's own output type, with the error fields of failed
//! entries set and nothing else per entry. Anything else (an error status,
//! a body it cannot read, a field twice) goes to the SDK's deserializer of
//! the operation, unchanged, so errors are what they always were. The SDK
//! still sends, signs, reads the body and classifies the answer.

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::context::{BeforeSerializationInterceptorContextRef, Error, Output};
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::orchestrator::{HttpResponse, OrchestratorError};
use aws_smithy_runtime_api::client::runtime_plugin::RuntimePlugin;
use aws_smithy_runtime_api::client::ser_de::{DeserializeResponse, SharedResponseDeserializer};
use aws_smithy_types::config_bag::{ConfigBag, FrozenLayer, Layer};

/// Reads a 200 answer's body into the operation's output; `None` when it
/// cannot (the SDK's deserializer then reads it).
pub type ReadAnswer = fn(&[u8]) -> Option<Output>;

/// One entry of a `PutRecords` or `PutRecordBatch` answer, as fanout reads
/// it: the error, if any (a success's ids are skipped, not built).
#[derive(Debug, serde::Deserialize)]
pub struct EntryError {
    /// `ErrorCode`.
    #[serde(rename = "ErrorCode")]
    pub code: Option<String>,
    /// `ErrorMessage`.
    #[serde(rename = "ErrorMessage")]
    pub message: Option<String>,
}

/// The interceptor (and the deserializer it installs) for one operation.
/// Build once per destination; each request takes a clone (two reference
/// counts and two small allocations).
#[derive(Debug, Clone)]
pub struct LeanAnswers {
    /// The operation's own config layer, which holds the SDK's deserializer.
    sdk: FrozenLayer,
    read: ReadAnswer,
}

impl LeanAnswers {
    /// For the operation whose SDK runtime plugin is `operation` (for
    /// example `aws_sdk_kinesis::operation::put_records::PutRecords::new()`),
    /// reading 200 answers with `read`.
    pub fn new(operation: &impl RuntimePlugin, read: ReadAnswer) -> Self {
        Self { sdk: operation.config().unwrap_or_else(|| Layer::new("no operation config").freeze()), read }
    }
}

impl Intercept for LeanAnswers {
    fn name(&self) -> &'static str {
        "LeanAnswers"
    }

    /// Before anything else of the request: this deserializer in place of
    /// the operation's (the interceptor layer comes before the operation's).
    fn read_before_execution(&self, _: &BeforeSerializationInterceptorContextRef<'_>, cfg: &mut ConfigBag) -> Result<(), BoxError> {
        cfg.interceptor_state().store_put(SharedResponseDeserializer::new(self.clone()));
        Ok(())
    }
}

impl DeserializeResponse for LeanAnswers {
    fn deserialize_nonstreaming_with_config(&self, response: &HttpResponse, cfg: &ConfigBag) -> Result<Output, OrchestratorError<Error>> {
        if response.status().as_u16() == 200 {
            if let Some(output) = response.body().bytes().and_then(self.read) {
                return Ok(output);
            }
        }
        match self.sdk.load::<SharedResponseDeserializer>() {
            Some(sdk) => sdk.deserialize_nonstreaming_with_config(response, cfg),
            None => Err(OrchestratorError::other("the SDK's deserializer for this operation is missing")),
        }
    }
}

/// For tests: a client whose every request is answered with one canned
/// response, and what each way of reading it makes of it.
#[cfg(test)]
pub(crate) mod canned {
    use crate::error::from_sdk_error;
    use aws_smithy_runtime_api::client::http::{HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpConnector};
    use aws_smithy_runtime_api::client::orchestrator::{HttpRequest, HttpResponse};
    use aws_smithy_runtime_api::client::result::SdkError;
    use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
    use aws_smithy_runtime_api::http::StatusCode;
    use aws_smithy_types::body::SdkBody;
    use aws_smithy_types::error::metadata::ProvideErrorMetadata;

    /// Answers every request with `status` and `body`.
    #[derive(Debug, Clone)]
    pub struct Canned {
        status: u16,
        body: bytes::Bytes,
    }

    impl HttpConnector for Canned {
        fn call(&self, _: HttpRequest) -> HttpConnectorFuture {
            let status = StatusCode::try_from(self.status).unwrap_or_else(|_| StatusCode::try_from(500).expect("500 is a status"));
            let mut response = HttpResponse::new(status, SdkBody::from(self.body.clone()));
            response.headers_mut().insert("Content-Type", "application/x-amz-json-1.1");
            HttpConnectorFuture::ready(Ok(response))
        }
    }

    impl HttpClient for Canned {
        fn http_connector(&self, _: &HttpConnectorSettings, _: &RuntimeComponents) -> SharedHttpConnector {
            SharedHttpConnector::new(self.clone())
        }
    }

    /// The SDK config of a client answered with `status` and `body`.
    pub fn config(status: u16, body: &str) -> aws_types::SdkConfig {
        aws_types::SdkConfig::builder()
            .behavior_version(aws_smithy_runtime_api::client::behavior_version::BehaviorVersion::latest())
            .region(aws_types::region::Region::new("us-east-1"))
            .credentials_provider(aws_credential_types::provider::SharedCredentialsProvider::new(aws_credential_types::Credentials::new(
                "AKIDTEST", "secret", None, None, "test",
            )))
            .http_client(Canned { status, body: bytes::Bytes::copy_from_slice(body.as_bytes()) })
            .retry_config(aws_smithy_types::retry::RetryConfig::disabled())
            .build()
    }

    /// Hold the lean reading of one answer to the SDK's: both errors the same
    /// (as fanout words them), or both outputs, which `same` compares.
    pub fn agree<O: std::fmt::Debug, E>(
        answer: &str,
        sdk: Result<O, SdkError<E, HttpResponse>>,
        lean: Result<O, SdkError<E, HttpResponse>>,
        same: impl FnOnce(O, O),
    ) where
        E: ProvideErrorMetadata + std::error::Error + 'static,
    {
        match (sdk, lean) {
            (Ok(sdk), Ok(lean)) => same(sdk, lean),
            (Err(sdk), Err(lean)) => assert_eq!(from_sdk_error(lean), from_sdk_error(sdk), "{answer}"),
            (sdk, lean) => panic!("{answer}: the SDK read {sdk:?}, the lean reading {:?}", lean.map_err(|e| from_sdk_error(e))),
        }
    }

    /// Answers both ways of reading them are held to: entries with and
    /// without errors, nulls, fields fanout does not read, an error status,
    /// bodies the lean reading refuses.
    pub fn answers(count: &str, list: &str, ok: &str) -> Vec<(u16, String)> {
        vec![
            (200, format!(r#"{{"{count}":0,"{list}":[{ok},{ok}]}}"#)),
            (
                200,
                format!(
                    r#"{{"{count}":1,"{list}":[{ok},{{"ErrorCode":"ProvisionedThroughputExceededException","ErrorMessage":"slow \"down\""}},{ok}],"EncryptionType":"KMS","Encrypted":true}}"#
                ),
            ),
            (200, format!(r#"{{"{count}":2,"{list}":[{{"ErrorCode":"InternalFailure"}},{{"ErrorCode":"X","ErrorMessage":null}},{{}}]}}"#)),
            (200, format!(r#"{{"{list}":[{ok}]}}"#)),
            (200, format!(r#"{{"{count}":0}}"#)),
            (200, format!(r#"{{"{count}":0,"{list}":[{ok}],"{list}":[]}}"#)),
            (200, "not json".to_owned()),
            (200, String::new()),
            (400, r#"{"__type":"ResourceNotFoundException","message":"no stream"}"#.to_owned()),
            (400, r#"{"__type":"com.amazonaws#ThrottlingException","message":"throttled"}"#.to_owned()),
            (500, String::new()),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A plugin with no config: an operation whose SDK deserializer cannot be found.
    #[derive(Debug)]
    struct NoConfig;
    impl RuntimePlugin for NoConfig {}

    #[tokio::test]
    async fn an_answer_it_cannot_read_without_the_sdks_deserializer_is_a_transient_failure_of_the_request() {
        let client = aws_sdk_kinesis::Client::new(&canned::config(400, r#"{"__type":"ResourceNotFoundException"}"#));
        let reads_nothing: ReadAnswer = |_| None;
        let sent = client
            .put_records()
            .stream_name("s")
            .set_records(Some(Vec::new()))
            .customize()
            .interceptor(LeanAnswers::new(&NoConfig, reads_nothing))
            .send()
            .await;
        let error = crate::error::from_sdk_error(sent.expect_err("no deserializer, no output"));
        assert!(error.is_transient(), "{error:?}");
        assert!(error.message.contains("deserializer for this operation is missing"), "{error:?}");
    }
}
