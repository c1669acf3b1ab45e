//! The config read from each source the environment can name: the text, a
//! file, an S3 object (moto over HTTP) and the AppConfig Lambda extension
//! (the sandbox's stand-in over HTTP). A 50-destination config (~7 KB, past
//! Lambda's 4 KB of environment) loads through each; failures name the
//! source and what it answered; a refresh replaces the config, keeps it when
//! the new text is bad, and replaces it again once it is good.

use fanout::config::reading::{APPCONFIG_PORT_ENV, MAX_CONFIG_BYTES};
use fanout::config::source::{CONFIG_APPCONFIG_ENV, CONFIG_REFRESH_ENV, CONFIG_S3_ENV};
use fanout::config::{ConfigError, ConfigSource, CONFIG_FILE_ENV, CONFIG_TEXT_ENV};
use fanout::ledger::config::LedgerConfig;
use fanout::ledger::env::LEDGER_TABLE_ENV;
use fanout::live::{Clock, LiveFanout, ManualClock, Refreshed};
use fanout_sandbox::appconfig_extension::AppConfigExtension;
use fanout_tests::configs::{assert_many_firehose, many_firehose, write};
use fanout_tests::moto::{free_port, Moto};
use std::ffi::OsString;
use std::sync::Arc;
use std::time::Duration;

const N: usize = 50;
/// Valid YAML whose route names a destination that does not exist.
const INVALID: &str = "destinations:\n  a: { type: firehose, delivery_stream: a }\nroutes:\n  - { name: r, to: [b] }\n";
const REFRESH: Duration = Duration::from_secs(60);

/// The variables as the SAM template sets them: every one, blank unless given.
fn template_vars(set: &[(&str, String)]) -> impl Fn(&str) -> Option<OsString> {
    let mut vars: Vec<(String, String)> =
        [CONFIG_TEXT_ENV, CONFIG_FILE_ENV, CONFIG_S3_ENV, CONFIG_APPCONFIG_ENV, CONFIG_REFRESH_ENV, LEDGER_TABLE_ENV]
            .iter()
            .map(|v| (v.to_string(), String::new()))
            .collect();
    for (name, value) in set {
        vars.retain(|(n, _)| n != name);
        vars.push((name.to_string(), value.clone()));
    }
    move |name| vars.iter().find(|(n, _)| n == name).map(|(_, v)| OsString::from(v))
}

/// An `SdkConfig` for sources that need none (text, file, AppConfig).
fn offline_sdk() -> aws_config::SdkConfig {
    fanout_local::sdk::endpoint_sdk_config("http://127.0.0.1:9")
}

/// The error of loading through the template's variables.
async fn load_error(set: &[(&str, String)], sdk: aws_config::SdkConfig) -> ConfigError {
    match LiveFanout::from_vars(template_vars(set), sdk).await {
        Ok(_) => panic!("expected {set:?} to fail to load"),
        Err(e) => e,
    }
}

fn appconfig_source(extension: &AppConfigExtension, profile: &str) -> ConfigSource {
    ConfigSource::AppConfig { application: "fanout".into(), environment: "prod".into(), profile: profile.into(), port: extension.port }
}

#[tokio::test]
async fn fifty_destinations_load_from_the_text() {
    let text = many_firehose(N, "text");
    assert!(text.len() > 4096, "{} bytes: the config must not fit Lambda's environment", text.len());
    let live = LiveFanout::from_vars(template_vars(&[(CONFIG_TEXT_ENV, text)]), offline_sdk()).await.expect("loads");
    let fanout = live.current().await;
    assert_many_firehose(fanout.config(), N, "text");
    assert_eq!(fanout.config().file.to_str(), Some("$FANOUT_CONFIG"));
    assert_eq!(fanout.destinations().len(), N);
}

#[tokio::test]
async fn fifty_destinations_load_from_a_file() {
    let path = write("sources-file", &many_firehose(N, "file"));
    let live = LiveFanout::from_vars(template_vars(&[(CONFIG_FILE_ENV, path.display().to_string())]), offline_sdk()).await.expect("loads");
    let fanout = live.current().await;
    assert_many_firehose(fanout.config(), N, "file");
    assert_eq!(fanout.config().file, path);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_destinations_load_from_s3_at_the_latest_or_a_given_version() {
    let moto = Moto::start();
    moto.create_bucket("fanout-config", true).await;
    let first = moto.put_object("fanout-config", "prod/fanout.yaml", many_firehose(N, "v1")).await.expect("a version id");
    moto.put_object("fanout-config", "prod/fanout.yaml", many_firehose(N, "v2")).await;

    let uri = "s3://fanout-config/prod/fanout.yaml".to_owned();
    let live = LiveFanout::from_vars(template_vars(&[(CONFIG_S3_ENV, uri.clone())]), moto.sdk_config()).await.expect("loads the latest");
    let fanout = live.current().await;
    assert_many_firehose(fanout.config(), N, "v2");
    assert_eq!(fanout.config().file.to_str(), Some(uri.as_str()));

    let pinned = format!("{uri}?versionId={first}");
    let live = LiveFanout::from_vars(template_vars(&[(CONFIG_S3_ENV, pinned)]), moto.sdk_config()).await.expect("loads the version");
    assert_many_firehose(live.current().await.config(), N, "v1");
}

#[tokio::test]
async fn fifty_destinations_load_from_the_appconfig_extension() {
    let extension = AppConfigExtension::start().await.expect("the extension stand-in starts");
    extension.put("fanout", "prod", "routes", many_firehose(N, "appconfig"), "application/x-yaml");
    let set = [(CONFIG_APPCONFIG_ENV, "fanout/prod/routes".to_owned()), (APPCONFIG_PORT_ENV, extension.port.to_string())];
    let live = LiveFanout::from_vars(template_vars(&set), offline_sdk()).await.expect("loads");
    let fanout = live.current().await;
    assert_many_firehose(fanout.config(), N, "appconfig");
    assert_eq!(fanout.config().file.to_str(), Some("appconfig:fanout/prod/routes"));
    assert_eq!(extension.requests(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s3_failures_name_the_object_and_what_s3_answered() {
    let moto = Moto::start();
    moto.create_bucket("fanout-config", false).await;
    let load = |uri: &str| {
        let (set, sdk) = ([(CONFIG_S3_ENV, uri.to_owned())], moto.sdk_config());
        async move { load_error(&set, sdk).await }
    };

    let e = load("s3://fanout-config/missing.yaml").await;
    assert!(matches!(e, ConfigError::Fetch { .. }), "{e:?}");
    let e = e.to_string();
    assert!(e.starts_with("s3://fanout-config/missing.yaml: cannot read the config object: S3 answered 404 NoSuchKey"), "{e}");
    assert!(e.contains("no such object"), "{e}");

    let e = load("s3://no-such-bucket/fanout.yaml").await.to_string();
    assert!(e.starts_with("s3://no-such-bucket/fanout.yaml: cannot read the config object: S3 answered 404 NoSuchBucket"), "{e}");

    moto.put_object("fanout-config", "invalid.yaml", INVALID).await;
    let e = load("s3://fanout-config/invalid.yaml").await;
    assert!(matches!(e, ConfigError::Invalid { .. }), "{e:?}");
    let e = e.to_string();
    assert!(e.starts_with("s3://fanout-config/invalid.yaml: 1 problem(s):\n  routes[0].to[0]: unknown destination `b` (known: a)"), "{e}");

    moto.put_object("fanout-config", "broken.yaml", "destinations:\n  a:\n    type: firehose\n   delivery_stream: s\n").await;
    let e = load("s3://fanout-config/broken.yaml").await.to_string();
    assert!(e.starts_with("s3://fanout-config/broken.yaml: line 4 column 4:"), "{e}");

    moto.put_object("fanout-config", "binary.yaml", b"destinations: \xff\xfe".to_vec()).await;
    let e = load("s3://fanout-config/binary.yaml").await.to_string();
    assert_eq!(e, "s3://fanout-config/binary.yaml: the config is not UTF-8 text (byte 14 is not)");

    let mut big = many_firehose(1, "big").into_bytes();
    big.resize(MAX_CONFIG_BYTES as usize + 1, b'#');
    moto.put_object("fanout-config", "big.yaml", big).await;
    let e = load("s3://fanout-config/big.yaml").await;
    assert!(matches!(e, ConfigError::TooLarge { size: Some(4_194_305), .. }), "{e:?}");
    assert_eq!(e.to_string(), "s3://fanout-config/big.yaml: the config is 4194305 bytes, above fanout's limit of 4194304 bytes");
}

#[tokio::test]
async fn appconfig_failures_name_the_url_and_what_the_extension_answered() {
    // Nothing listens on this port: the extension is not running.
    let port = free_port();
    let set = [(CONFIG_APPCONFIG_ENV, "fanout/prod/routes".to_owned()), (APPCONFIG_PORT_ENV, port.to_string())];
    let e = load_error(&set, offline_sdk()).await.to_string();
    let url = format!("http://localhost:{port}/applications/fanout/environments/prod/configurations/routes");
    assert!(e.starts_with(&format!("appconfig:fanout/prod/routes: cannot reach the AppConfig extension at {url}: ")), "{e}");
    assert!(e.contains("refused") && e.contains("AppConfig Agent Lambda extension layer"), "{e}");

    let extension = AppConfigExtension::start().await.expect("the extension stand-in starts");
    let set = |profile: &str| [(CONFIG_APPCONFIG_ENV, format!("fanout/prod/{profile}")), (APPCONFIG_PORT_ENV, extension.port.to_string())];
    let e = load_error(&set("routes"), offline_sdk()).await.to_string();
    assert!(e.contains("answered 404 Not Found (ResourceNotFoundException: no configuration routes deployed to fanout/prod)"), "{e}");
    assert!(e.contains("that a deployment to this environment has completed"), "{e}");

    extension.put("fanout", "prod", "invalid", INVALID, "application/x-yaml");
    let e = load_error(&set("invalid"), offline_sdk()).await;
    assert!(matches!(e, ConfigError::Invalid { .. }), "{e:?}");
    assert!(e.to_string().starts_with("appconfig:fanout/prod/invalid: 1 problem(s):\n  routes[0].to[0]: unknown destination `b`"), "{e}");

    extension.put("fanout", "prod", "empty", "", "application/x-yaml");
    let e = load_error(&set("empty"), offline_sdk()).await.to_string();
    assert_eq!(e, "appconfig:fanout/prod/empty: the config is empty");

    // The stand-in answers other paths 400, like the extension.
    let (status, body) = fanout_tests::http_async(extension.port, "GET", "/applications/fanout/environments/prod", b"").await;
    assert_eq!((status, String::from_utf8_lossy(&body).starts_with("BadRequestException")), (400, true));
}

#[tokio::test]
async fn invalid_text_and_files_name_their_source_and_the_problem() {
    let e = load_error(&[(CONFIG_TEXT_ENV, INVALID.to_owned())], offline_sdk()).await.to_string();
    assert!(e.starts_with("$FANOUT_CONFIG: 1 problem(s):\n  routes[0].to[0]: unknown destination `b`"), "{e}");
    let path = write("sources-invalid", INVALID);
    let e = load_error(&[(CONFIG_FILE_ENV, path.display().to_string())], offline_sdk()).await.to_string();
    assert!(e.starts_with(&format!("{}: 1 problem(s):\n  routes[0].to[0]: unknown destination `b`", path.display())), "{e}");
    let e = load_error(&[(CONFIG_TEXT_ENV, INVALID.to_owned()), (CONFIG_S3_ENV, "s3://b/k".to_owned())], offline_sdk()).await;
    assert_eq!(
        e.to_string(),
        "FANOUT_CONFIG is set but so is FANOUT_CONFIG_S3: the config comes from exactly one source; leave the others unset or blank"
    );
}

#[tokio::test]
async fn the_refresh_interval_comes_from_the_environment_and_never_applies_to_the_text() {
    let path = write("sources-refresh-env", &many_firehose(2, "f"));
    let set = [(CONFIG_FILE_ENV, path.display().to_string()), (CONFIG_REFRESH_ENV, "300".to_owned())];
    let live = LiveFanout::from_vars(template_vars(&set), offline_sdk()).await.expect("loads");
    assert_eq!(live.refresh_interval(), Some(Duration::from_secs(300)));
    let set = [(CONFIG_TEXT_ENV, many_firehose(2, "t")), (CONFIG_REFRESH_ENV, "300".to_owned())];
    let live = LiveFanout::from_vars(template_vars(&set), offline_sdk()).await.expect("loads");
    assert_eq!(live.refresh_interval(), None, "FANOUT_CONFIG cannot change while the process runs");
    let e = load_error(&[(CONFIG_FILE_ENV, path.display().to_string()), (CONFIG_REFRESH_ENV, "5m".to_owned())], offline_sdk()).await;
    assert!(e.to_string().starts_with("FANOUT_CONFIG_REFRESH_SECONDS is set but `5m` is not a whole number of seconds"), "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_s3_config_is_replaced_when_it_changes_and_kept_when_the_change_is_invalid() {
    let moto = Moto::start();
    moto.create_bucket("fanout-config", false).await;
    moto.put_object("fanout-config", "fanout.yaml", many_firehose(N, "one")).await;
    let clock = Arc::new(ManualClock::default());
    let source = ConfigSource::S3 { bucket: "fanout-config".into(), key: "fanout.yaml".into(), version_id: None };
    let live = LiveFanout::load(source, moto.sdk_config(), Some(REFRESH), Arc::clone(&clock) as Arc<dyn Clock>).await.expect("loads");
    assert_many_firehose(live.current().await.config(), N, "one");

    // A new object is not read before the interval has passed...
    moto.put_object("fanout-config", "fanout.yaml", many_firehose(N + 1, "two")).await;
    clock.advance(REFRESH - Duration::from_secs(1));
    assert_many_firehose(live.current().await.config(), N, "one");
    // ...and serves from the first invocation after it.
    clock.advance(Duration::from_secs(1));
    assert_many_firehose(live.current().await.config(), N + 1, "two");

    // An invalid config (or a missing object) keeps the running one.
    let running = live.running();
    moto.put_object("fanout-config", "fanout.yaml", INVALID).await;
    clock.advance(REFRESH);
    let kept = live.current().await;
    assert!(Arc::ptr_eq(&kept, &running), "the running router stays");
    assert_many_firehose(kept.config(), N + 1, "two");
    moto.s3().delete_object().bucket("fanout-config").key("fanout.yaml").send().await.expect("delete");
    match live.refresh_now().await {
        Refreshed::Kept(e) => assert!(e.to_string().contains("NoSuchKey"), "{e}"),
        other => panic!("expected the running config to be kept, got {other:?}"),
    }
    assert_many_firehose(live.current().await.config(), N + 1, "two");

    // A valid one again replaces it.
    moto.put_object("fanout-config", "fanout.yaml", many_firehose(N + 2, "three")).await;
    clock.advance(REFRESH);
    assert_many_firehose(live.current().await.config(), N + 2, "three");
}

#[tokio::test]
async fn an_appconfig_config_is_replaced_kept_and_replaced_again_and_unchanged_text_does_nothing() {
    let extension = AppConfigExtension::start().await.expect("the extension stand-in starts");
    extension.put("fanout", "prod", "routes", many_firehose(N, "one"), "application/x-yaml");
    let clock = Arc::new(ManualClock::default());
    let (telemetry, _lines) = fanout::metrics::Telemetry::capture("refreshed");
    let live = LiveFanout::load(appconfig_source(&extension, "routes"), offline_sdk(), Some(REFRESH), Arc::clone(&clock) as Arc<dyn Clock>)
        .await
        .expect("loads")
        .with_telemetry(telemetry);
    let first = live.current().await;
    assert_eq!(extension.requests(), 1, "not due: no read");

    // Due, same text: one read, the same router (not rebuilt).
    clock.advance(REFRESH);
    let same = live.current().await;
    assert!(Arc::ptr_eq(&first, &same), "unchanged text keeps the running router");
    assert_eq!(extension.requests(), 2);
    assert!(matches!(live.refresh_now().await, Refreshed::Unchanged));

    // A new deployment.
    extension.put("fanout", "prod", "routes", many_firehose(N + 1, "two"), "application/x-yaml");
    clock.advance(REFRESH);
    let replaced = live.current().await;
    assert_many_firehose(replaced.config(), N + 1, "two");
    assert!(replaced.telemetry().is_on() && replaced.telemetry().function_name == "refreshed", "a re-read router keeps the metrics sink");

    // An invalid one is kept out, on every read while it stays.
    extension.put("fanout", "prod", "routes", INVALID, "application/x-yaml");
    for _ in 0..2 {
        clock.advance(REFRESH);
        assert_many_firehose(live.current().await.config(), N + 1, "two");
    }
    match live.refresh_now().await {
        Refreshed::Kept(e @ ConfigError::Invalid { .. }) => assert!(e.to_string().starts_with("appconfig:fanout/prod/routes: 1 problem(s)"), "{e}"),
        other => panic!("expected the invalid config to be kept out, got {other:?}"),
    }

    // A valid one again replaces it.
    extension.put("fanout", "prod", "routes", many_firehose(N + 2, "three"), "application/x-yaml");
    clock.advance(REFRESH);
    assert_many_firehose(live.current().await.config(), N + 2, "three");

    // The extension gone: the running config stays.
    drop(extension);
    clock.advance(REFRESH);
    assert_many_firehose(live.current().await.config(), N + 2, "three");
    match live.refresh_now().await {
        Refreshed::Kept(e @ ConfigError::Fetch { .. }) => assert!(e.to_string().contains("cannot reach the AppConfig extension"), "{e}"),
        other => panic!("expected the running config to be kept, got {other:?}"),
    }
}

/// The template turns the ledger on with `FANOUT_LEDGER_TABLE` (the table it
/// creates): over the config's table, in the first config and every re-read
/// one, keeping the config's `ttl_hours`; a bad name stops the cold start.
#[tokio::test]
async fn the_ledger_table_variable_turns_the_ledger_on_in_every_config_read() {
    let path = write("sources-ledger", &many_firehose(2, "one"));
    let set = [(CONFIG_FILE_ENV, path.display().to_string()), (CONFIG_REFRESH_ENV, "60".to_owned()), (LEDGER_TABLE_ENV, "stack-ledger".to_owned())];
    let live = LiveFanout::from_vars(template_vars(&set), offline_sdk()).await.expect("loads");
    assert_eq!(live.current().await.config().ledger, Some(LedgerConfig { table: "stack-ledger".into(), ttl_hours: None }));

    std::fs::write(&path, format!("{}ledger: {{ table: from-config, ttl_hours: 48 }}\n", many_firehose(3, "two"))).expect("rewrite");
    assert!(matches!(live.refresh_now().await, Refreshed::Replaced));
    let fanout = live.current().await;
    assert_many_firehose(fanout.config(), 3, "two");
    assert_eq!(fanout.config().ledger, Some(LedgerConfig { table: "stack-ledger".into(), ttl_hours: Some(48) }));

    let without = [(CONFIG_FILE_ENV, path.display().to_string())];
    let live = LiveFanout::from_vars(template_vars(&without), offline_sdk()).await.expect("loads");
    assert_eq!(live.current().await.config().ledger.as_ref().map(|l| l.table.as_str()), Some("from-config"), "blank: the config decides");

    let e = load_error(&[(CONFIG_FILE_ENV, path.display().to_string()), (LEDGER_TABLE_ENV, "a".to_owned())], offline_sdk()).await;
    assert!(e.to_string().starts_with("FANOUT_LEDGER_TABLE is set but `a` is not a DynamoDB table name"), "{e}");
}
