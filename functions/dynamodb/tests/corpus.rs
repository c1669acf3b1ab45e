//! The bad-input corpus (`tests/corpus/dynamodb.json`) through the built
//! `dynamodb-fanout` binary under the Lambda Runtime API stand-in: every case
//! gets the answer written in it, and the process never dies.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_corpus_gets_its_answers_from_the_binary() {
    fanout_tests::function::run_corpus(std::path::Path::new(env!("CARGO_BIN_EXE_dynamodb-fanout")), "dynamodb.json").await;
}
