#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| fanout::fuzzing::kinesis_response(data));
