#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| fanout::fuzzing::pattern_match(data));
