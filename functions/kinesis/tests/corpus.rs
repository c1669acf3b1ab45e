//! The bad-input corpus (`tests/corpus/kinesis.json`) through the built
//! `kinesis-fanout` binary under the Lambda Runtime API stand-in: every case gets
//! the answer written in it, and the process never dies.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_corpus_gets_its_answers_from_the_binary() {
    fanout_tests::function::run_corpus(std::path::Path::new(env!("CARGO_BIN_EXE_kinesis-fanout")), "kinesis.json").await;
}

/// Every hostile config (`tests/corpus/configs/`) stops the built binary at
/// cold start with the place and the rule in its log (the valid one starts).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_configs_stop_the_binary_at_cold_start_naming_the_problem() {
    use fanout_tests::runtime_api::RuntimeApi;
    let binary = std::path::Path::new(env!("CARGO_BIN_EXE_kinesis-fanout"));
    let mut failures = Vec::new();
    for case in fanout_tests::corpus::config_cases() {
        let name = case.path.file_name().and_then(|n| n.to_str()).unwrap_or("?").to_owned();
        let runtime = RuntimeApi::start().await.expect("the runtime API stand-in starts");
        let mut function = fanout_tests::function::start(binary, &runtime, "http://127.0.0.1:9", &case.path, std::process::Stdio::piped(), &[]);
        if case.expect.iter().any(|e| e == "(valid)") {
            if runtime.first_poll(std::time::Duration::from_secs(30)).await.is_none() {
                failures.push(format!("{name}: a valid config, but the function never asked for an event"));
            }
            continue;
        }
        let (ok, logs) = tokio::task::spawn_blocking(move || {
            let stdout = function.0.stdout.take();
            let status = function.0.wait();
            let mut text = String::new();
            if let Some(mut out) = stdout {
                let _ = std::io::Read::read_to_string(&mut out, &mut text);
            }
            (status.map(|s| s.success()).unwrap_or(false), text)
        })
        .await
        .expect("join");
        if ok {
            failures.push(format!("{name}: the function started"));
        }
        for want in &case.expect {
            if !logs.contains(want.as_str()) {
                failures.push(format!("{name}: `{want}` not in the log: {logs}"));
            }
        }
        if logs.contains("panicked") {
            failures.push(format!("{name}: panicked: {logs}"));
        }
    }
    assert!(failures.is_empty(), "{} problems:\n{}", failures.len(), failures.join("\n"));
}
