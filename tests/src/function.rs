//! A built function binary run as Lambda runs it: under the Runtime API
//! stand-in, with the environment Lambda sets, AWS credentials for a local
//! endpoint, and the config file given.

use crate::runtime_api::{Answer, RuntimeApi};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// A running function process, killed when dropped.
pub struct Function(pub Child);

impl Drop for Function {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Start `binary` under `runtime`, sending to `endpoint`, with `config` as
/// `FANOUT_CONFIG_FILE` and `extra` environment on top. Its logs go to `stdout`.
pub fn start(binary: &Path, runtime: &RuntimeApi, endpoint: &str, config: &Path, stdout: Stdio, extra: &[(&str, &str)]) -> Function {
    let name = binary.file_name().and_then(|n| n.to_str()).unwrap_or("fanout");
    let child = Command::new(binary)
        .env_clear()
        .envs(extra.iter().copied())
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("AWS_LAMBDA_RUNTIME_API", &runtime.address)
        .env("AWS_LAMBDA_FUNCTION_NAME", name)
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env("AWS_LAMBDA_LOG_FORMAT", "JSON")
        .env("FANOUT_CONFIG_FILE", config)
        .env("AWS_ENDPOINT_URL", endpoint)
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .stdout(stdout)
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", binary.display()));
    Function(child)
}

/// Run every case of a corpus file (`fanout_tests::corpus`) through the
/// built `binary`, one process per config the cases name, against a fresh
/// sandbox; check each answer. Panics listing every case that differs, and
/// when a process died (a panic that escaped the runtime, an abort).
pub async fn run_corpus(binary: &Path, file: &str) {
    use crate::corpus::{config_text, load, mismatches, Outcome};
    let (sandbox, _clients) = crate::sandbox(fanout_sandbox::SandboxOptions::default()).await;
    let cases = load(file);
    assert!(!cases.is_empty());
    let mut configs: Vec<String> = cases.iter().map(|c| c.config.clone()).collect();
    configs.sort();
    configs.dedup();
    let mut failures = Vec::new();
    for config_name in configs {
        let runtime = RuntimeApi::start().await.expect("the runtime API stand-in starts");
        let config = crate::configs::write(&format!("corpus-{file}-{config_name}"), &config_text(&config_name));
        let mut function = start(binary, &runtime, &sandbox.endpoint, &config, Stdio::null(), &[]);
        for case in cases.iter().filter(|c| c.config == config_name) {
            let id = runtime.invoke_text(case.event.clone(), Duration::from_secs(30));
            let answer = runtime.answer(&id, Duration::from_secs(60)).await;
            let outcome = Outcome {
                answer: answer.map(|a| match a {
                    Answer::Response(v) => Ok(v),
                    Answer::Error(text) => Err(text),
                }),
                ..Outcome::default()
            };
            for m in mismatches(case, &outcome, false) {
                failures.push(format!("{}: {m}", case.name));
            }
            if let Ok(Some(status)) = function.0.try_wait() {
                failures.push(format!("{}: the function process exited ({status})", case.name));
                break;
            }
        }
    }
    assert!(failures.is_empty(), "{} of {} cases differ under {}:\n{}", failures.len(), cases.len(), binary.display(), failures.join("\n"));
}
