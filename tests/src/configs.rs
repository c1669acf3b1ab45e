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

/// A config of `n` Firehose destinations (`{prefix}-00`, `{prefix}-01`, ...,
/// delivery streams of the same names) and one route to each, taking the
/// records whose `data.site` is the destination's number. About 140 bytes
/// each: 50 make ~7 KB, past the 4 KB Lambda allows for all environment
/// variables.
pub fn many_firehose(n: usize, prefix: &str) -> String {
    let mut text = String::from("destinations:\n");
    for i in 0..n {
        text.push_str(&format!("  {prefix}-{i:02}:\n    type: firehose\n    delivery_stream: {prefix}-{i:02}\n"));
    }
    text.push_str("routes:\n");
    for i in 0..n {
        text.push_str(&format!("  - name: to-{prefix}-{i:02}\n    match: {{ data: {{ site: [\"site-{i:02}\"] }} }}\n    to: [{prefix}-{i:02}]\n"));
    }
    text
}

/// Panic unless `config` is [`many_firehose`]`(n, prefix)`: `n` destinations
/// of that prefix, each the target of its own route.
pub fn assert_many_firehose(config: &fanout::Config, n: usize, prefix: &str) {
    let names: Vec<&str> = config.destinations.iter().map(|(name, _)| name.as_str()).collect();
    let expected: Vec<String> = (0..n).map(|i| format!("{prefix}-{i:02}")).collect();
    assert_eq!(names, expected, "the destinations of {}", config.file.display());
    assert!(
        config.destinations.iter().all(|(name, d)| d.kind() == fanout::destinations::Kind::Firehose && d.spec().sends_to() == *name),
        "every destination is its own delivery stream"
    );
    assert_eq!(config.routes.len(), n, "one route per destination");
    for (i, route) in config.routes.iter().enumerate() {
        assert_eq!((route.name.as_str(), route.to.as_slice()), (format!("to-{prefix}-{i:02}").as_str(), &[i][..]), "route {i}");
        assert!(route.pattern.is_some(), "route {i} has its pattern");
    }
}
