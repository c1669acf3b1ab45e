//! [`run`]: `lambda_runtime::run` with the event read by serde_json alone.
//!
//! `lambda_runtime` reads every event through `serde_path_to_error`, which
//! tracks the path of the field being read so that an event of the wrong
//! shape is reported with where it went wrong. To do so it copies every object
//! key it passes into a `String`: about ten per Kinesis record, 2.2 of the 7.5
//! ms it takes to read a 7,000-record batch (docs/performance.md).
//!
//! [`run`] adds one layer, [`Preparse`], in front of the runtime's own
//! reading. It reads the event with serde_json. When that succeeds, the
//! handler gets that value ([`Preparsed`]) and the runtime's reading sees
//! `null`; when it fails, the runtime reads the original body exactly as it
//! would have, so a malformed event is answered as before, path included. The
//! value passes from the layer to the runtime's reading through a
//! thread-local slot, within one synchronous `call`: the runtime reads the
//! event inside `Service::call` on the thread that called it, before the
//! handler's future exists.

use bytes::Bytes;
use futures_util::Stream;
use lambda_runtime::tower::{Layer, Service};
use lambda_runtime::{Diagnostic, IntoFunctionResponse, LambdaEvent, LambdaInvocation, Runtime};
use serde::de::{DeserializeOwned, IgnoredAny};
use serde::{Deserialize, Serialize};
use std::any::Any;
use std::cell::RefCell;
use std::fmt::Debug;
use std::future::Future;
use std::marker::PhantomData;
use std::task::{Context, Poll};

thread_local! {
    /// The event [`Preparse`] read, for the [`Preparsed`] the runtime reads next.
    static PARSED: RefCell<Option<Box<dyn Any>>> = const { RefCell::new(None) };
}

/// The event a handler of [`run`] receives: the `T` read from the event,
/// by serde_json alone when it could ([`Preparse`]), else by the runtime.
#[derive(Debug)]
pub struct Preparsed<T>(pub T);

impl<'de, T: DeserializeOwned + 'static> Deserialize<'de> for Preparsed<T> {
    /// The value [`Preparse`] left for this event (reading the `null` that
    /// stands for it), else `T` read from the deserializer.
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let left = PARSED.with_borrow_mut(Option::take).and_then(|value| value.downcast::<T>().ok());
        match left {
            Some(value) => {
                IgnoredAny::deserialize(deserializer)?;
                Ok(Preparsed(*value))
            }
            None => T::deserialize(deserializer).map(Preparsed),
        }
    }
}

/// The layer that reads each event as a `T` with serde_json before the
/// runtime does (see the [module](self)).
#[derive(Debug)]
pub struct Preparse<T>(PhantomData<fn() -> T>);

impl<T> Preparse<T> {
    /// The layer.
    pub fn new() -> Self {
        Self(PhantomData)
    }
}

impl<T> Default for Preparse<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<S, T> Layer<S> for Preparse<T> {
    type Service = PreparseService<S, T>;

    fn layer(&self, inner: S) -> Self::Service {
        PreparseService { inner, event: PhantomData }
    }
}

/// [`Preparse`] around the runtime's service.
#[derive(Debug)]
pub struct PreparseService<S, T> {
    inner: S,
    event: PhantomData<fn() -> T>,
}

impl<S: Clone, T> Clone for PreparseService<S, T> {
    fn clone(&self) -> Self {
        Self { inner: self.inner.clone(), event: PhantomData }
    }
}

impl<S, T> Service<LambdaInvocation> for PreparseService<S, T>
where
    S: Service<LambdaInvocation>,
    T: DeserializeOwned + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut invocation: LambdaInvocation) -> Self::Future {
        if let Ok(event) = serde_json::from_slice::<T>(&invocation.body) {
            PARSED.with_borrow_mut(|slot| *slot = Some(Box::new(event)));
            invocation.body = Bytes::from_static(b"null");
        }
        let future = self.inner.call(invocation);
        // Never left for another event, whatever the inner service did.
        PARSED.with_borrow_mut(|slot| *slot = None);
        future
    }
}

/// `lambda_runtime::run` (the runtime with its tracing layer) with
/// [`Preparse`] in front of the runtime's own reading of each event.
pub async fn run<T, F, R, B, S, D, E>(handler: F) -> Result<(), lambda_runtime::Error>
where
    T: DeserializeOwned + 'static,
    F: Service<LambdaEvent<Preparsed<T>>, Response = R>,
    F::Future: Future<Output = Result<R, F::Error>>,
    F::Error: Into<Diagnostic> + Debug,
    R: IntoFunctionResponse<B, S>,
    B: Serialize,
    S: Stream<Item = Result<D, E>> + Unpin + Send + 'static,
    D: Into<Bytes> + Send,
    E: Into<lambda_runtime::Error> + Send + Debug,
{
    Runtime::new(handler).layer(Preparse::<T>::new()).layer(lambda_runtime::layers::TracingLayer::new()).run().await
}

#[cfg(test)]
mod tests;
