//! Configs the end-to-end tests share.

/// The Kinesis and Firehose part of the example config, for moto (which
/// serves no IoT API).
pub const MOTO: &str = r#"
destinations:
  archive: { type: firehose, delivery_stream: telemetry-archive }
  hot-readings: { type: kinesis, stream: telemetry-hot, partition_key: /deviceId }
  errors: { type: firehose, delivery_stream: fanout-dead-letters }
routes:
  - { name: archive-everything, to: [archive] }
  - { name: hot, match: { data: { temperature: [ { numeric: [">", 50] } ] } }, to: [hot-readings] }
dead_letter: errors
"#;

/// Write a config to a fresh file under the temp dir; returns its path.
pub fn write(name: &str, text: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("fanout-tests-{}-{name}", std::process::id()));
    let _ = std::fs::create_dir_all(&dir);
    let path = dir.join("fanout.yaml");
    if let Err(e) = std::fs::write(&path, text) {
        panic!("cannot write {}: {e}", path.display());
    }
    path
}
