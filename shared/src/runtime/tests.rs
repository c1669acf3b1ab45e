use super::*;
use crate::sources::kinesis::KinesisBatch;
use lambda_runtime::Context as LambdaContext;
use std::convert::Infallible;
use std::future::{ready, Ready};

/// What the runtime's own service did with one invocation: the body it saw,
/// and the event it read from it the way `lambda_runtime` reads events
/// (`serde_path_to_error` over serde_json), or the error it would report.
type Seen<T> = (Bytes, Result<Preparsed<T>, String>);

/// Stands in for the runtime's service behind the layer: reads the event in
/// `call`, as `RuntimeApiResponseService` does.
struct RuntimeReads<T>(Vec<Seen<T>>);

impl<T: DeserializeOwned + 'static> Service<LambdaInvocation> for RuntimeReads<T> {
    type Response = ();
    type Error = Infallible;
    type Future = Ready<Result<(), Infallible>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, invocation: LambdaInvocation) -> Self::Future {
        let read = serde_path_to_error::deserialize(&mut serde_json::Deserializer::from_slice(&invocation.body)).map_err(|e| e.to_string());
        self.0.push((invocation.body, read));
        ready(Ok(()))
    }
}

fn invocation(body: &[u8]) -> LambdaInvocation {
    let (parts, ()) = http::Response::new(()).into_parts();
    LambdaInvocation { parts, body: Bytes::copy_from_slice(body), context: LambdaContext::default() }
}

/// One invocation through the layer (`with_layer`) or straight to the runtime's reading.
fn through<T: DeserializeOwned + 'static>(body: &[u8], with_layer: bool) -> Seen<T> {
    let mut runtime = RuntimeReads::<T>(Vec::new());
    let _answered = if with_layer { Preparse::<T>::new().layer(&mut runtime).call(invocation(body)) } else { runtime.call(invocation(body)) };
    runtime.0.pop().expect("the runtime's service was called")
}

fn sequence_numbers(batch: &KinesisBatch) -> Vec<String> {
    batch.records.iter().flatten().map(|r| r.kinesis.sequence_number.clone()).collect()
}

#[test]
fn a_good_event_reaches_the_handler_read_by_serde_json_and_the_runtime_reads_null() {
    let event = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/../events/kinesis.json")).expect("the sample event");
    let (body, read) = through::<KinesisBatch>(&event, true);
    assert_eq!(&body[..], b"null", "the runtime's reading does not walk the event again");
    let Preparsed(batch) = read.expect("the event reaches the handler");
    let (_, direct) = through::<KinesisBatch>(&event, false);
    let Preparsed(direct) = direct.expect("the runtime reads it too");
    assert!(!sequence_numbers(&batch).is_empty());
    assert_eq!(sequence_numbers(&batch), sequence_numbers(&direct));
    let data = |b: &KinesisBatch| b.records.iter().flatten().map(|r| r.kinesis.data.clone()).collect::<Vec<_>>();
    assert_eq!(data(&batch), data(&direct));
}

#[test]
fn a_malformed_event_is_read_and_reported_by_the_runtime_as_without_the_layer() {
    for bad in [&br#"{"Records": {"not": "an array"}}"#[..], br#"{"Records": [1, 2"#, b"not json"] {
        let (body, read) = through::<KinesisBatch>(bad, true);
        assert_eq!(&body[..], bad, "the runtime sees the original event");
        let (_, without) = through::<KinesisBatch>(bad, false);
        let error = read.expect_err("the runtime refuses it");
        assert_eq!(Some(error.clone()), without.err(), "the same error as without the layer");
        if bad.starts_with(br#"{"Records": {"#) {
            assert!(error.starts_with("Records"), "the error keeps its path: {error}");
        }
    }
}

#[test]
fn a_value_left_by_one_invocation_never_reaches_another() {
    // The runtime's service below the layer fails before reading the event
    // (as it does on a server error): nothing may stay in the slot.
    struct Refuses;
    impl Service<LambdaInvocation> for Refuses {
        type Response = ();
        type Error = Infallible;
        type Future = Ready<Result<(), Infallible>>;
        fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
            Poll::Ready(Ok(()))
        }
        fn call(&mut self, _: LambdaInvocation) -> Self::Future {
            ready(Ok(()))
        }
    }
    let _answered = Preparse::<serde_json::Value>::new().layer(Refuses).call(invocation(br#"{"left": true}"#));
    let read: Preparsed<serde_json::Value> = serde_json::from_slice(br#"{"own": 1}"#).expect("reads");
    assert_eq!(read.0, serde_json::json!({"own": 1}));
}

#[test]
fn a_value_of_another_type_is_not_taken_for_the_event() {
    PARSED.with_borrow_mut(|slot| *slot = Some(Box::new(7_u32)));
    let read: Preparsed<serde_json::Value> = serde_json::from_slice(br#"[1]"#).expect("reads");
    assert_eq!(read.0, serde_json::json!([1]));
}
