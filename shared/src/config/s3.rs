//! Reading the config from an S3 object (`FANOUT_CONFIG_S3`).
//!
//! One GetObject through a client built from the functions' `SdkConfig`
//! (credentials chain, region, `AWS_ENDPOINT_URL` / `AWS_ENDPOINT_URL_S3`),
//! with the SDK's standard retries and [`READ_TIMEOUT`] for the whole call.
//! With an endpoint URL set (moto, MinIO, LocalStack) addressing is
//! path-style, which those need. Objects above [`MAX_CONFIG_BYTES`] are
//! refused before their body is read (by `Content-Length`) and while it is
//! read (by count). Errors say what S3 answered: status, code and message.

use super::reading::{MAX_CONFIG_BYTES, READ_TIMEOUT};
use super::ConfigError;
use aws_config::SdkConfig;
use aws_sdk_s3::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_s3::operation::get_object::GetObjectError;
use aws_smithy_types::timeout::TimeoutConfig;

/// The object's bytes; `origin` names it in errors.
pub(crate) async fn get_object(sdk: &SdkConfig, bucket: &str, key: &str, version_id: Option<&str>, origin: &str) -> Result<Vec<u8>, ConfigError> {
    let fetch = |problem: String| ConfigError::Fetch { origin: origin.to_owned(), problem: format!("cannot read the config object: {problem}") };
    let too_large = |size: Option<u64>| ConfigError::TooLarge { origin: origin.to_owned(), size, limit: MAX_CONFIG_BYTES };
    let output = client(sdk)
        .get_object()
        .bucket(bucket)
        .key(key)
        .set_version_id(version_id.map(str::to_owned))
        .send()
        .await
        .map_err(|e| fetch(describe(e)))?;
    let size = output.content_length().and_then(|n| u64::try_from(n).ok());
    if size.is_some_and(|n| n > MAX_CONFIG_BYTES) {
        return Err(too_large(size));
    }
    let mut body = output.body;
    let mut bytes = Vec::with_capacity(size.unwrap_or(0) as usize);
    while let Some(chunk) = body.try_next().await.map_err(|e| fetch(format!("the body broke off: {}", DisplayErrorContext(&e))))? {
        if (bytes.len() + chunk.len()) as u64 > MAX_CONFIG_BYTES {
            return Err(too_large(size));
        }
        bytes.extend_from_slice(&chunk);
    }
    Ok(bytes)
}

/// An S3 client for `sdk`: path-style when an endpoint URL is set, and
/// [`READ_TIMEOUT`] per operation on top of the SDK's other timeouts.
fn client(sdk: &SdkConfig) -> aws_sdk_s3::Client {
    let timeouts = sdk.timeout_config().map(TimeoutConfig::to_builder).unwrap_or_default().operation_timeout(READ_TIMEOUT).build();
    let builder = aws_sdk_s3::config::Builder::from(sdk).timeout_config(timeouts).force_path_style(endpoint_url(sdk).is_some());
    aws_sdk_s3::Client::from_conf(builder.build())
}

/// The endpoint URL the S3 client will use, if any: `AWS_ENDPOINT_URL_S3`
/// (or `endpoint_url` in the profile's `s3` section), else the general one.
fn endpoint_url(sdk: &SdkConfig) -> Option<String> {
    let key = aws_types::service_config::ServiceConfigKey::builder().service_id("S3").env("AWS_ENDPOINT_URL").profile("endpoint_url").build().ok();
    let specific = sdk.service_config().zip(key).and_then(|(config, key)| config.load_config(key));
    specific.or_else(|| sdk.endpoint_url().map(str::to_owned))
}

/// What S3 answered (or why it did not), with what to check.
fn describe(err: SdkError<GetObjectError, aws_smithy_runtime_api::http::Response>) -> String {
    match &err {
        SdkError::ServiceError(context) => {
            let status = context.raw().status().as_u16();
            let e = context.err();
            let code = e.code().unwrap_or("an error without a code");
            let message = e.message().map(|m| format!(" ({m})")).unwrap_or_default();
            let hint = match code {
                "NoSuchKey" => ": no such object (check the key, and the version id if one is given)",
                "NoSuchBucket" => ": no such bucket",
                "NoSuchVersion" | "InvalidArgument" => ": check the versionId",
                "AccessDenied" => {
                    ": the function's role needs s3:GetObject on the object (s3:GetObjectVersion with a versionId); without s3:ListBucket on the bucket, S3 also answers AccessDenied for an object that does not exist"
                }
                _ => "",
            };
            format!("S3 answered {status} {code}{message}{hint}")
        }
        SdkError::TimeoutError(_) => format!("S3 did not answer within {} s", READ_TIMEOUT.as_secs()),
        SdkError::DispatchFailure(_) => format!("cannot reach S3: {}", DisplayErrorContext(&err)),
        _ => DisplayErrorContext(&err).to_string(),
    }
}
