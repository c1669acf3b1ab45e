//! Request bodies written straight from the payloads, for the batch APIs that
//! carry the most bytes (Firehose `PutRecordBatch`, Kinesis `PutRecords`).
//!
//! The SDK's serializer takes each payload as a `Blob` (an owned `Vec<u8>`,
//! so a copy), clones that `Blob` again while writing, and base64-encodes it
//! into a `String` of its own before appending it to the body: three
//! allocations and three copies of every payload per request, on the path
//! that carries all of an invocation's bytes. [`JsonBody`] writes the same
//! AWS JSON 1.1 body with one base64 encoding of each payload into one buffer
//! sized up front.
//!
//! The SDK still does everything else: it builds the request from an input
//! with the same stream name and no records (endpoint, headers), then
//! [`replace_body`] swaps this body in before signing (the SDK's own
//! `customize().mutate_request` hook), and the SDK signs it, sends it and
//! reads the answer. fanout's clients leave retries to fanout
//! ([`crate::clients::Clients`]): each resend is a new request with a body
//! of its own, holding only the entries that still failed. The destinations' tests
//! check each body against the one the SDK's serializer writes for the same
//! entries, so the two cannot drift apart unnoticed.

use crate::error::ItemError;
use aws_smithy_runtime_api::client::orchestrator::HttpRequest;
use aws_smithy_types::body::SdkBody;
use bytes::Bytes;

/// The base64 length of `n` bytes (padded).
pub const fn base64_len(n: usize) -> usize {
    n.div_ceil(3) * 4
}

/// A JSON request body being written: the caller writes the punctuation and
/// keys as literals, strings through [`JsonBody::string`] and payloads
/// through [`JsonBody::base64`].
#[derive(Debug, Default)]
pub struct JsonBody {
    buf: Vec<u8>,
}

impl JsonBody {
    /// An empty body with room for `capacity` bytes (the caller's exact
    /// estimate, so the buffer is allocated once).
    pub fn with_capacity(capacity: usize) -> Self {
        Self { buf: Vec::with_capacity(capacity) }
    }

    /// Append JSON text as it is (keys and punctuation the caller wrote).
    pub fn raw(&mut self, text: &str) {
        self.buf.extend_from_slice(text.as_bytes());
    }

    /// Append `value` as a JSON string, quoted and escaped.
    pub fn string(&mut self, value: &str) -> Result<(), ItemError> {
        serde_json::to_writer(&mut self.buf, value).map_err(ItemError::construction)
    }

    /// Append the base64 of `data` followed by `suffix` as a JSON string,
    /// without joining them first: the whole 3-byte groups of `data` are
    /// encoded in place, and its last one or two bytes with the suffix (at
    /// most [`MAX_SUFFIX`] bytes) through a small buffer on the stack.
    pub fn base64(&mut self, data: &[u8], suffix: &[u8]) -> Result<(), ItemError> {
        if suffix.len() > MAX_SUFFIX {
            return Err(ItemError::construction(format!("a suffix of {} bytes is longer than {MAX_SUFFIX}", suffix.len())));
        }
        self.buf.push(b'"');
        let whole = data.len() - data.len() % 3;
        base64_simd::STANDARD.encode_append(&data[..whole], &mut self.buf);
        if whole < data.len() || !suffix.is_empty() {
            let mut tail = [0u8; 2 + MAX_SUFFIX];
            let rest = &data[whole..];
            tail[..rest.len()].copy_from_slice(rest);
            tail[rest.len()..rest.len() + suffix.len()].copy_from_slice(suffix);
            base64_simd::STANDARD.encode_append(&tail[..rest.len() + suffix.len()], &mut self.buf);
        }
        self.buf.push(b'"');
        Ok(())
    }

    /// Bytes written so far.
    pub fn len(&self) -> usize {
        self.buf.len()
    }

    /// Whether nothing was written.
    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    /// The finished body (no copy).
    pub fn finish(self) -> Bytes {
        Bytes::from(self.buf)
    }
}

/// The longest suffix [`JsonBody::base64`] appends to a payload (a Firehose
/// delimiter: [`super::firehose::MAX_DELIMITER_BYTES`]).
pub const MAX_SUFFIX: usize = 16;

/// What `customize().mutate_request` runs before signing: put `body` in
/// place of the one the SDK serialized, and its length in `Content-Length`,
/// before the request is signed. (`Bytes` clones share the buffer.)
pub fn replace_body(body: Bytes) -> impl Fn(&mut HttpRequest) + Send + Sync + 'static {
    move |request: &mut HttpRequest| {
        request.headers_mut().insert("Content-Length", body.len().to_string());
        *request.body_mut() = SdkBody::from(body.clone());
    }
}

/// For tests: the body the SDK's own serializer writes for a request, caught
/// before signing by the same hook [`replace_body`] uses; the send itself is
/// made to fail at once (no retries, a closed port), so nothing leaves the
/// process.
#[cfg(test)]
pub(crate) mod sdk_written {
    use aws_smithy_runtime_api::client::orchestrator::HttpRequest;
    use std::sync::{Arc, Mutex};

    /// A hook that keeps the body it sees, and where to read it after the send.
    pub fn catcher() -> (impl Fn(&mut HttpRequest) + Send + Sync + 'static, Arc<Mutex<Vec<u8>>>) {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let keep = seen.clone();
        let hook = move |request: &mut HttpRequest| {
            if let (Some(bytes), Ok(mut seen)) = (request.body().bytes(), keep.lock()) {
                *seen = bytes.to_vec();
            }
        };
        (hook, seen)
    }

    /// The SDK config for a client whose sends fail at once after serializing.
    pub fn config() -> aws_types::SdkConfig {
        aws_types::SdkConfig::builder()
            .behavior_version(aws_smithy_runtime_api::client::behavior_version::BehaviorVersion::latest())
            .region(aws_types::region::Region::new("us-east-1"))
            .endpoint_url("http://127.0.0.1:1")
            .credentials_provider(aws_credential_types::provider::SharedCredentialsProvider::new(aws_credential_types::Credentials::new(
                "AKIDTEST", "secret", None, None, "test",
            )))
            .retry_config(aws_smithy_types::retry::RetryConfig::disabled())
            .build()
    }

    /// Each record's `Data` in a body, decoded.
    pub fn records_data(body: &[u8]) -> Vec<Vec<u8>> {
        use base64::Engine as _;
        let value: serde_json::Value = serde_json::from_slice(body).unwrap_or(serde_json::Value::Null);
        let records = value["Records"].as_array().cloned().unwrap_or_default();
        records
            .iter()
            .map(|r| base64::engine::general_purpose::STANDARD.decode(r["Data"].as_str().unwrap_or("!")).unwrap_or_else(|_| b"not base64".to_vec()))
            .collect()
    }

    /// The JSON value of what was caught.
    pub fn json(seen: &Mutex<Vec<u8>>) -> serde_json::Value {
        let bytes = seen.lock().map(|b| b.clone()).unwrap_or_default();
        serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine as _;

    fn encoded(data: &[u8], suffix: &[u8]) -> String {
        let mut body = JsonBody::default();
        body.base64(data, suffix).expect("short suffix");
        String::from_utf8(body.finish().to_vec()).expect("ASCII")
    }

    #[test]
    fn base64_of_data_and_suffix_is_that_of_the_two_joined() {
        for n in 0..10 {
            let data: Vec<u8> = (0..n as u8).map(|b| b.wrapping_mul(37)).collect();
            for suffix in [&b""[..], b"\n", b"\r\n", b"0123456789abcdef"] {
                let joined = [&data[..], suffix].concat();
                let expected = format!("\"{}\"", base64::engine::general_purpose::STANDARD.encode(&joined));
                assert_eq!(encoded(&data, suffix), expected, "{n} bytes and {suffix:?}");
                assert_eq!(expected.len() - 2, base64_len(joined.len()));
            }
        }
    }

    #[test]
    fn a_suffix_longer_than_the_stack_buffer_is_refused() {
        let mut body = JsonBody::default();
        let err = body.base64(b"abc", &[b'x'; MAX_SUFFIX + 1]).unwrap_err();
        assert_eq!(err.code, "ConstructionFailure");
        assert!(body.is_empty(), "nothing written");
    }

    #[test]
    fn strings_are_quoted_and_escaped() {
        let mut body = JsonBody::default();
        body.string("a\"b\\c\nd\u{1}é").expect("writes");
        let text = String::from_utf8(body.finish().to_vec()).expect("UTF-8");
        assert_eq!(serde_json::from_str::<String>(&text).expect("JSON string"), "a\"b\\c\nd\u{1}é");
    }

    #[test]
    fn the_replaced_body_carries_its_own_length() {
        let mut request = HttpRequest::new(SdkBody::from("{\"Records\":[]}"));
        request.headers_mut().insert("Content-Length", "14");
        replace_body(Bytes::from_static(b"{\"Records\":[{}]}"))(&mut request);
        assert_eq!(request.body().bytes(), Some(&b"{\"Records\":[{}]}"[..]));
        assert_eq!(request.headers().get("Content-Length"), Some("16"));
    }
}
