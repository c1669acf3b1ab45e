//! A moto server (Kinesis, Firehose, S3, SQS, DynamoDB and its streams), started on 127.0.0.1 for one test.
//!
//! moto is installed by `scripts/test` (`pip install 'moto[server]'`); the
//! binary is `moto_server` on the PATH, or `FANOUT_MOTO_SERVER`.

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::Credentials;
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running moto server; killed on drop.
pub struct Moto {
    /// `http://127.0.0.1:PORT`.
    pub endpoint: String,
    port: u16,
    child: Child,
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A free port on 127.0.0.1 (bound, then released for the server to take).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("a free loopback port")
}

impl Moto {
    /// Start moto on a free loopback port and wait until it answers.
    ///
    /// Panics with a clear message when moto is not installed: the end-to-end
    /// tests are part of the suite, and `scripts/test` installs it.
    pub fn start() -> Self {
        let port = free_port();
        let args = ["-H".to_owned(), "127.0.0.1".to_owned(), "-p".to_owned(), port.to_string()];
        let spawn =
            |program: &str, prefix: &[&str]| Command::new(program).args(prefix).args(&args).stdout(Stdio::null()).stderr(Stdio::null()).spawn();
        let child = match std::env::var("FANOUT_MOTO_SERVER") {
            Ok(program) => spawn(&program, &[]),
            Err(_) => spawn("moto_server", &[]).or_else(|_| spawn("python3", &["-m", "moto.server"])),
        }
        .unwrap_or_else(|e| panic!("cannot start moto ({e}): install it with `pip install 'moto[server]'`, or run scripts/test"));
        let moto = Moto { endpoint: format!("http://127.0.0.1:{port}"), port, child };
        let start = Instant::now();
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(start.elapsed() < Duration::from_secs(30), "moto did not start listening within 30 s");
            std::thread::sleep(Duration::from_millis(100));
        }
        moto
    }

    /// An `SdkConfig` for moto: dummy credentials, us-east-1, moto's endpoint.
    pub fn sdk_config(&self) -> SdkConfig {
        SdkConfig::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new("us-east-1"))
            .endpoint_url(&self.endpoint)
            .credentials_provider(aws_credential_types::provider::SharedCredentialsProvider::new(Credentials::for_tests()))
            .build()
    }

    /// A plain HTTP/1.0 request to moto (for its S3, which fanout has no client for).
    pub fn http(&self, method: &str, path: &str) -> (u16, Vec<u8>) {
        // moto refuses anonymous GetObject but does not check signatures: a dummy SigV4 header will do.
        let auth = "AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=0";
        crate::http(self.port, method, path, &[("Authorization", auth)], b"")
    }

    /// An AWS JSON 1.0 call (`X-Amz-Target: TARGET`, e.g.
    /// `DynamoDB_20120810.PutItem` or `DynamoDBStreams_20120810.GetRecords`)
    /// signed for `service` with dummy credentials (moto routes by the
    /// credential scope and the target, and checks no signature): the status
    /// and the answer as JSON (`null` when it is not JSON).
    pub fn aws_json(&self, service: &str, target: &str, body: &serde_json::Value) -> (u16, serde_json::Value) {
        let auth = format!("AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/{service}/aws4_request, SignedHeaders=host, Signature=0");
        let headers = [("Authorization", auth.as_str()), ("X-Amz-Target", target), ("Content-Type", "application/x-amz-json-1.0")];
        let (status, answer) = crate::http(self.port, "POST", "/", &headers, body.to_string().as_bytes());
        (status, serde_json::from_slice(&answer).unwrap_or(serde_json::Value::Null))
    }

    /// An S3 client for moto (path-style addressing, which moto needs).
    pub fn s3(&self) -> aws_sdk_s3::Client {
        aws_sdk_s3::Client::from_conf(aws_sdk_s3::config::Builder::from(&self.sdk_config()).force_path_style(true).build())
    }

    /// Create an S3 bucket, with versioning when `versioned`.
    pub async fn create_bucket(&self, bucket: &str, versioned: bool) {
        let s3 = self.s3();
        s3.create_bucket().bucket(bucket).send().await.unwrap_or_else(|e| panic!("create bucket {bucket}: {e:?}"));
        if versioned {
            let on = aws_sdk_s3::types::VersioningConfiguration::builder().status(aws_sdk_s3::types::BucketVersioningStatus::Enabled).build();
            s3.put_bucket_versioning().bucket(bucket).versioning_configuration(on).send().await.expect("enable versioning");
        }
    }

    /// Put an object; returns its version id (versioned buckets).
    pub async fn put_object(&self, bucket: &str, key: &str, body: impl Into<Vec<u8>>) -> Option<String> {
        let put = self.s3().put_object().bucket(bucket).key(key).body(body.into().into()).send().await;
        put.unwrap_or_else(|e| panic!("put s3://{bucket}/{key}: {e:?}")).version_id
    }

    /// Create a Kinesis stream with one shard.
    pub async fn create_stream(&self, name: &str) {
        let kinesis = aws_sdk_kinesis::Client::new(&self.sdk_config());
        kinesis.create_stream().stream_name(name).shard_count(1).send().await.expect("create stream");
    }

    /// Create an S3 bucket and a Firehose delivery stream writing to it.
    pub async fn create_delivery_stream(&self, name: &str, bucket: &str) {
        let (status, body) = self.http("PUT", &format!("/{bucket}"));
        assert!(status == 200, "create bucket {bucket}: {status} {}", String::from_utf8_lossy(&body));
        let firehose = aws_sdk_firehose::Client::new(&self.sdk_config());
        let s3 = aws_sdk_firehose::types::ExtendedS3DestinationConfiguration::builder()
            .role_arn("arn:aws:iam::123456789012:role/firehose")
            .bucket_arn(format!("arn:aws:s3:::{bucket}"))
            .build()
            .expect("s3 destination");
        firehose
            .create_delivery_stream()
            .delivery_stream_name(name)
            .extended_s3_destination_configuration(s3)
            .send()
            .await
            .expect("create delivery stream");
    }

    /// Everything a delivery stream wrote to its bucket, object by object.
    pub fn bucket_objects(&self, bucket: &str) -> Vec<Vec<u8>> {
        let (status, listing) = self.http("GET", &format!("/{bucket}?list-type=2"));
        assert_eq!(status, 200, "list {bucket}");
        let listing = String::from_utf8_lossy(&listing);
        listing
            .split("<Key>")
            .skip(1)
            .filter_map(|s| s.split("</Key>").next())
            .map(|key| {
                let (status, body) = self.http("GET", &format!("/{bucket}/{key}"));
                assert_eq!(status, 200, "get {bucket}/{key}");
                body
            })
            .collect()
    }

    /// Every record in a one-shard stream, as (partition key, data).
    pub async fn stream_records(&self, stream: &str) -> Vec<(String, Vec<u8>)> {
        let kinesis = aws_sdk_kinesis::Client::new(&self.sdk_config());
        let shards = kinesis.list_shards().stream_name(stream).send().await.expect("list shards");
        let mut out = Vec::new();
        for shard in shards.shards() {
            let iterator = kinesis
                .get_shard_iterator()
                .stream_name(stream)
                .shard_id(shard.shard_id())
                .shard_iterator_type(aws_sdk_kinesis::types::ShardIteratorType::TrimHorizon)
                .send()
                .await
                .expect("shard iterator");
            let records = kinesis.get_records().set_shard_iterator(iterator.shard_iterator).limit(10_000).send().await.expect("get records");
            out.extend(records.records().iter().map(|r| (r.partition_key().unwrap_or_default().to_owned(), r.data().as_ref().to_vec())));
        }
        out
    }

    /// Create the streams and buckets the example `fanout.yaml` sends to.
    pub async fn provision_example(&self) {
        self.create_stream("telemetry-hot").await;
        self.create_delivery_stream("telemetry-archive", "archive-bucket").await;
        self.create_delivery_stream("fanout-dead-letters", "dead-letter-bucket").await;
    }
}

/// Whether `haystack` contains `needle` (payload read-back from concatenated S3 objects).
pub fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && haystack.windows(needle.len()).any(|w| w == needle)
}
