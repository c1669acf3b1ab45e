//! Where the summary line and the EMF documents go: stdout in Lambda (where
//! Lambda reads EMF from), captured in tests and `fanout-local invoke
//! --metrics`, nowhere in benchmarks.

use std::io::Write;
use std::sync::{Arc, Mutex};

/// The environment variable that overrides `metrics.namespace`.
pub const NAMESPACE_ENV: &str = "FANOUT_METRICS_NAMESPACE";

/// The sink and the labels that come from the process, not the config.
#[derive(Debug, Clone)]
pub struct Telemetry {
    sink: Sink,
    /// The `FunctionName` dimension's value.
    pub function_name: String,
    /// A namespace that overrides the config's.
    pub namespace_override: Option<String>,
}

#[derive(Debug, Clone)]
enum Sink {
    Discard,
    Stdout,
    Capture(Arc<Mutex<Vec<String>>>),
}

/// The lines a [`Telemetry::capture`] sink collected.
#[derive(Debug, Clone)]
pub struct Captured(Arc<Mutex<Vec<String>>>);

impl Captured {
    /// Take the lines written so far.
    pub fn take(&self) -> Vec<String> {
        self.0.lock().map(|mut l| std::mem::take(&mut *l)).unwrap_or_default()
    }
}

impl Default for Telemetry {
    fn default() -> Self {
        Self::discard()
    }
}

impl Telemetry {
    /// Write nothing (the default of [`crate::Fanout::new`]).
    pub fn discard() -> Self {
        Self { sink: Sink::Discard, function_name: String::new(), namespace_override: None }
    }

    /// What a Lambda function uses: stdout, `AWS_LAMBDA_FUNCTION_NAME` as the
    /// `FunctionName` dimension, and `FANOUT_METRICS_NAMESPACE` (when set and
    /// not blank) over the config's namespace.
    pub fn lambda_from_env() -> Self {
        let var = |name| std::env::var(name).ok().filter(|v: &String| !v.trim().is_empty());
        Self {
            sink: Sink::Stdout,
            function_name: var("AWS_LAMBDA_FUNCTION_NAME").unwrap_or_else(|| "fanout".into()),
            namespace_override: var(NAMESPACE_ENV),
        }
    }

    /// Collect the lines in memory, for tests and the local runner.
    pub fn capture(function_name: &str) -> (Self, Captured) {
        let lines = Arc::new(Mutex::new(Vec::new()));
        (Self { sink: Sink::Capture(Arc::clone(&lines)), function_name: function_name.into(), namespace_override: None }, Captured(lines))
    }

    /// Whether anything would be written.
    pub fn is_on(&self) -> bool {
        !matches!(self.sink, Sink::Discard)
    }

    /// Write `lines`, each a JSON object on one line, together.
    pub(crate) fn write(&self, lines: &[String]) {
        match &self.sink {
            Sink::Discard => {}
            Sink::Stdout => {
                let mut out = std::io::stdout().lock();
                for line in lines {
                    // Nothing to do if stdout is gone: the answer matters more than the log.
                    let _ = writeln!(out, "{line}");
                }
                let _ = out.flush();
            }
            Sink::Capture(into) => {
                if let Ok(mut into) = into.lock() {
                    into.extend(lines.iter().cloned());
                }
            }
        }
    }
}
