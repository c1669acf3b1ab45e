use super::*;
use crate::config::CONFIG_FILE_ENV;

/// A lookup over `vars` only (never the process environment).
fn vars<'a>(vars: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<OsString> + 'a {
    move |name| vars.iter().find(|(n, _)| *n == name).map(|(_, v)| OsString::from(v))
}

fn env_error(result: Result<ConfigSource, ConfigError>) -> (&'static str, String) {
    match result {
        Err(e @ ConfigError::Env { var, .. }) => (var, e.to_string()),
        other => panic!("expected an error naming a variable, got {other:?}"),
    }
}

#[test]
fn nothing_set_reads_fanout_yaml() {
    assert_eq!(ConfigSource::from_vars(vars(&[])).expect("default"), ConfigSource::File(PathBuf::from("fanout.yaml")));
}

#[test]
fn blank_variables_count_as_unset() {
    // The SAM template sets every variable, blank when unused.
    let all_blank = [(CONFIG_TEXT_ENV, ""), (CONFIG_FILE_ENV, " "), (CONFIG_S3_ENV, "\t"), (CONFIG_APPCONFIG_ENV, "\n"), (CONFIG_REFRESH_ENV, "")];
    assert_eq!(ConfigSource::from_vars(vars(&all_blank)).expect("default"), ConfigSource::File(PathBuf::from("fanout.yaml")));
    assert_eq!(refresh_interval_from_vars(vars(&all_blank)).expect("blank refresh"), None);
    let file_only = [(CONFIG_TEXT_ENV, " \n"), (CONFIG_FILE_ENV, "/opt/fanout.yaml"), (CONFIG_S3_ENV, ""), (CONFIG_APPCONFIG_ENV, "")];
    assert_eq!(ConfigSource::from_vars(vars(&file_only)).expect("the file"), ConfigSource::File(PathBuf::from("/opt/fanout.yaml")));
    let blank_port = [(CONFIG_APPCONFIG_ENV, "a/e/p"), (APPCONFIG_PORT_ENV, " ")];
    assert!(matches!(ConfigSource::from_vars(vars(&blank_port)), Ok(ConfigSource::AppConfig { port: 2772, .. })));
}

#[test]
fn each_variable_names_its_source() {
    let text = "destinations: {}\n";
    assert_eq!(ConfigSource::from_vars(vars(&[(CONFIG_TEXT_ENV, text)])).expect("text"), ConfigSource::Text(text.to_owned()));
    assert_eq!(
        ConfigSource::from_vars(vars(&[(CONFIG_S3_ENV, " s3://my-bucket/fanout/prod.yaml \n")])).expect("s3"),
        ConfigSource::S3 { bucket: "my-bucket".into(), key: "fanout/prod.yaml".into(), version_id: None }
    );
    assert_eq!(
        ConfigSource::from_vars(vars(&[(CONFIG_S3_ENV, "s3://b/what?.yaml?versionId=3HL4kqtJlcpXroDTDmJ.rmSpXd3dIbrHY")])).expect("versioned"),
        ConfigSource::S3 { bucket: "b".into(), key: "what?.yaml".into(), version_id: Some("3HL4kqtJlcpXroDTDmJ.rmSpXd3dIbrHY".into()) }
    );
    assert_eq!(
        ConfigSource::from_vars(vars(&[(CONFIG_APPCONFIG_ENV, "fanout/prod/routes")])).expect("appconfig"),
        ConfigSource::AppConfig { application: "fanout".into(), environment: "prod".into(), profile: "routes".into(), port: 2772 }
    );
    let custom_port = [(CONFIG_APPCONFIG_ENV, "abc1234/def5678/ghi9012"), (APPCONFIG_PORT_ENV, "2773")];
    assert!(matches!(ConfigSource::from_vars(vars(&custom_port)), Ok(ConfigSource::AppConfig { port: 2773, .. })));
}

#[test]
fn two_sources_set_is_an_error_naming_them() {
    let (var, e) = env_error(ConfigSource::from_vars(vars(&[(CONFIG_TEXT_ENV, "destinations: {}"), (CONFIG_S3_ENV, "s3://b/k")])));
    assert_eq!(var, CONFIG_TEXT_ENV);
    assert_eq!(e, "FANOUT_CONFIG is set but so is FANOUT_CONFIG_S3: the config comes from exactly one source; leave the others unset or blank");
    let three = [(CONFIG_FILE_ENV, "f.yaml"), (CONFIG_S3_ENV, "s3://b/k"), (CONFIG_APPCONFIG_ENV, "a/e/p")];
    let (var, e) = env_error(ConfigSource::from_vars(vars(&three)));
    assert_eq!(var, CONFIG_FILE_ENV);
    assert!(e.starts_with("FANOUT_CONFIG_FILE is set but so are FANOUT_CONFIG_S3 and FANOUT_CONFIG_APPCONFIG:"), "{e}");
}

#[test]
fn malformed_s3_uris_are_refused_with_the_form() {
    for (uri, says) in [
        ("my-bucket/key", "is not an S3 URI"),
        ("https://my-bucket.s3.amazonaws.com/key", "is not an S3 URI"),
        ("s3://my-bucket", "names no object key"),
        ("s3://my-bucket/", "names no object key"),
        ("s3:///key", "names no bucket"),
        ("s3://b/k?versionId=", "empty or malformed versionId"),
        ("s3://b/k?versionId=a&b=c", "empty or malformed versionId"),
    ] {
        let (var, e) = env_error(ConfigSource::from_vars(vars(&[(CONFIG_S3_ENV, uri)])));
        assert_eq!(var, CONFIG_S3_ENV, "{uri}");
        assert!(e.contains(says) && e.ends_with("write s3://bucket/key, optionally ending in ?versionId=VERSION"), "{uri}: {e}");
    }
}

#[test]
fn malformed_appconfig_names_and_ports_are_refused() {
    for value in ["fanout/prod", "fanout//routes", "fanout/prod/routes/extra", "/prod/routes"] {
        let (var, e) = env_error(ConfigSource::from_vars(vars(&[(CONFIG_APPCONFIG_ENV, value)])));
        assert_eq!(var, CONFIG_APPCONFIG_ENV);
        assert!(e.contains("is not application/environment/profile"), "{value}: {e}");
    }
    for port in ["http", "0", "70000"] {
        let (var, e) = env_error(ConfigSource::from_vars(vars(&[(CONFIG_APPCONFIG_ENV, "a/e/p"), (APPCONFIG_PORT_ENV, port)])));
        assert_eq!(var, APPCONFIG_PORT_ENV);
        assert!(e.ends_with("is not a port number (1-65535)"), "{port}: {e}");
    }
}

#[cfg(unix)]
#[test]
fn text_that_is_not_utf8_is_refused_by_name() {
    use std::os::unix::ffi::OsStringExt;
    let lookup = |name: &str| (name == CONFIG_TEXT_ENV).then(|| OsString::from_vec(b"destinations: \xff".to_vec()));
    let (var, e) = env_error(ConfigSource::from_vars(lookup));
    assert_eq!((var, e.as_str()), (CONFIG_TEXT_ENV, "FANOUT_CONFIG is set but is not valid UTF-8"));
}

#[test]
fn the_refresh_interval_is_whole_seconds_and_zero_is_off() {
    let interval = |v: &str| refresh_interval_from_vars(vars(&[(CONFIG_REFRESH_ENV, v)]));
    assert_eq!(interval("30").expect("30"), Some(Duration::from_secs(30)));
    assert_eq!(interval(" 300\n").expect("padded"), Some(Duration::from_secs(300)));
    assert_eq!(interval("0").expect("0"), None);
    assert_eq!(refresh_interval_from_vars(vars(&[])).expect("unset"), None);
    for bad in ["-5", "1.5", "5m"] {
        match interval(bad) {
            Err(e @ ConfigError::Env { var: CONFIG_REFRESH_ENV, .. }) => assert!(e.to_string().contains("is not a whole number of seconds"), "{e}"),
            other => panic!("{bad}: expected an error naming FANOUT_CONFIG_REFRESH_SECONDS, got {other:?}"),
        }
    }
}

#[test]
fn sources_describe_themselves_as_errors_name_them() {
    let s3 = ConfigSource::S3 { bucket: "b".into(), key: "k/fanout.yaml".into(), version_id: None };
    assert_eq!(s3.describe(), "s3://b/k/fanout.yaml");
    let versioned = ConfigSource::S3 { bucket: "b".into(), key: "k".into(), version_id: Some("v1".into()) };
    assert_eq!(versioned.describe(), "s3://b/k?versionId=v1");
    let appconfig = ConfigSource::AppConfig { application: "a".into(), environment: "e".into(), profile: "p".into(), port: 2772 };
    assert_eq!(appconfig.describe(), "appconfig:a/e/p");
    assert_eq!(ConfigSource::Text(String::new()).describe(), "$FANOUT_CONFIG");
    assert_eq!(ConfigSource::File(PathBuf::from("/opt/fanout.yaml")).describe(), "/opt/fanout.yaml");
    let e = s3.parse("destinations:\n  a: { type: firehose }\n").expect_err("invalid");
    assert!(e.to_string().starts_with("s3://b/k/fanout.yaml: line 2 column 3: missing field `delivery_stream`"), "{e}");
    let e = appconfig.parse(" \n").expect_err("empty");
    assert_eq!(e.to_string(), "appconfig:a/e/p: the config is empty");
}

#[test]
fn the_sync_loader_refuses_remote_sources_by_name() {
    let s3 = ConfigSource::S3 { bucket: "b".into(), key: "k".into(), version_id: None };
    match s3.load_local() {
        Err(e @ ConfigError::Env { var: CONFIG_S3_ENV, .. }) => assert!(e.to_string().contains("LiveFanout::from_env"), "{e}"),
        other => panic!("expected FANOUT_CONFIG_S3 to be named, got {other:?}"),
    }
}

#[test]
fn files_above_the_limit_are_refused_by_name() {
    let dir = std::env::temp_dir().join(format!("fanout-source-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let big = dir.join("big.yaml");
    let mut text = String::from("destinations:\n  a: { type: firehose, delivery_stream: s }\n");
    text.push_str(&"#".repeat(MAX_CONFIG_BYTES as usize + 1 - text.len()));
    std::fs::write(&big, &text).expect("write");
    match ConfigSource::File(big.clone()).load_local() {
        Err(e @ ConfigError::TooLarge { size: Some(4_194_305), .. }) => {
            assert_eq!(e.to_string(), format!("{}: the config is 4194305 bytes, above fanout's limit of 4194304 bytes", big.display()))
        }
        other => panic!("expected TooLarge, got {other:?}"),
    }
    text.pop();
    std::fs::write(&big, &text).expect("write");
    assert!(ConfigSource::File(big.clone()).load_local().is_ok(), "exactly the limit is read");
    let _ = std::fs::remove_dir_all(&dir);
}
