//! Sources: one module per event kind, each decoding its event into
//! [`crate::record::Record`]s and turning a [`crate::fanout::Report`] into the
//! answer that source expects.

pub mod http;
pub mod iot;
pub mod kinesis;
pub mod kpl;
pub mod sqs;
