//! The fuzz corpora, replayed on stable: every input under
//! `fuzz/corpus/<target>/` (the inputs the fuzzer kept, seeds included) and
//! `fuzz/artifacts/<target>/` (crashes found and fixed) goes once through
//! `fanout::fuzzing::<target>`, the function the cargo-fuzz target calls, so
//! each input's invariants are checked by the normal test suite without
//! nightly or libFuzzer. Reproducers of bugs not fixed yet live in
//! `fuzz/artifacts-open/` and are not replayed. See docs/fuzzing.md.

use std::path::{Path, PathBuf};

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz")
}

/// The files of one directory, sorted (none when it does not exist).
fn inputs(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else { return Vec::new() };
    let mut files: Vec<PathBuf> = entries.filter_map(Result::ok).map(|e| e.path()).filter(|p| p.is_file()).collect();
    files.sort();
    files
}

/// Run `target` on every corpus and artifact input of `name`; the corpus must not be empty.
fn replay(name: &str, target: fn(&[u8])) {
    let corpus = inputs(&fuzz_dir().join("corpus").join(name));
    assert!(!corpus.is_empty(), "fuzz/corpus/{name}/ holds no inputs: the corpus is missing");
    let artifacts = inputs(&fuzz_dir().join("artifacts").join(name));
    for path in corpus.iter().chain(&artifacts) {
        let data = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        // Name the input when its invariant fails (the panic itself says which).
        let outcome = std::panic::catch_unwind(|| target(&data));
        if let Err(panic) = outcome {
            eprintln!("fuzz input {} fails; reproduce with `cargo +nightly fuzz run {name} {}`", path.display(), path.display());
            std::panic::resume_unwind(panic);
        }
    }
}

macro_rules! targets {
    ($($name:ident),* $(,)?) => {
        $(
            #[test]
            fn $name() {
                replay(stringify!($name), fanout::fuzzing::$name);
            }
        )*
    };
}

targets!(
    kinesis_decode,
    sqs_decode,
    iot_decode,
    http_event,
    kpl_deaggregate,
    pattern_match,
    config_parse,
    pointer_get,
    projection_parse,
    route_dry_run,
    firehose_response,
    kinesis_response,
    iot_analytics_response,
    iot_events_response,
    iot_events_detector_response,
    sitewise_response,
);

/// Every target in `fuzz/fuzz_targets/` is replayed here (a new target without a test fails).
#[test]
fn every_fuzz_target_is_replayed() {
    let replayed = [
        "kinesis_decode",
        "sqs_decode",
        "iot_decode",
        "http_event",
        "kpl_deaggregate",
        "pattern_match",
        "config_parse",
        "pointer_get",
        "projection_parse",
        "route_dry_run",
        "firehose_response",
        "kinesis_response",
        "iot_analytics_response",
        "iot_events_response",
        "iot_events_detector_response",
        "sitewise_response",
    ];
    let mut targets: Vec<String> =
        inputs(&fuzz_dir().join("fuzz_targets")).iter().filter_map(|p| p.file_stem().and_then(|s| s.to_str()).map(str::to_owned)).collect();
    targets.sort();
    let mut replayed: Vec<String> = replayed.iter().map(|s| (*s).to_owned()).collect();
    replayed.sort();
    assert_eq!(targets, replayed);
}
