//! The functions' log setup: Lambda's advanced logging controls
//! (`AWS_LAMBDA_LOG_LEVEL`, `AWS_LAMBDA_LOG_FORMAT`), with JSON lines that
//! CloudWatch Logs Insights can query.
//!
//! In JSON format each event is one object with unique keys: `timestamp`
//! (RFC 3339), `level`, `target`, `message`, the Lambda `requestId` (and
//! `xrayTraceId`) of the invocation it belongs to, then the event's own
//! fields, flattened. A field whose name is taken (an event field called
//! `message`, or a span field repeated by an event) is kept as
//! `fields.<name>` instead of being written twice. In text format the lines
//! are `tracing`'s default, as `lambda_runtime` writes them.
//!
//! Payloads are never logged above `debug`.

use serde_json::{Map, Value};
use std::fmt;
use tracing::field::{Field, Visit};
use tracing::{Event, Subscriber};
use tracing_subscriber::fmt::format::{JsonFields, Writer};
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormattedFields};
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::EnvFilter;

/// The level when neither `AWS_LAMBDA_LOG_LEVEL` nor `RUST_LOG` is set.
pub const DEFAULT_LEVEL: &str = "info";

/// The level directive from Lambda's log level (`TRACE`, `DEBUG`, `INFO`,
/// `WARN`, `ERROR`, `FATAL`; FATAL is `error`), else `RUST_LOG`, else `info`.
pub fn level_directive(lambda_level: Option<&str>, rust_log: Option<&str>) -> String {
    match lambda_level.map(str::trim).filter(|l| !l.is_empty()) {
        Some(l) if l.eq_ignore_ascii_case("fatal") => "error".into(),
        Some(l) => l.to_ascii_lowercase(),
        None => rust_log.map(str::trim).filter(|l| !l.is_empty()).unwrap_or(DEFAULT_LEVEL).to_owned(),
    }
}

/// Install the global subscriber for a function process, writing to stdout.
/// Call once, first thing in `main`.
pub fn init() {
    let var = |name| std::env::var(name).ok();
    let directive = level_directive(var("AWS_LAMBDA_LOG_LEVEL").as_deref(), var("RUST_LOG").as_deref());
    let filter = EnvFilter::builder().parse_lossy(directive);
    let json = var("AWS_LAMBDA_LOG_FORMAT").is_some_and(|f| f.eq_ignore_ascii_case("json"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stdout);
    if json {
        builder.fmt_fields(JsonFields::new()).event_format(JsonLines).init();
    } else {
        builder.with_target(false).without_time().with_ansi(false).init();
    }
}

/// The JSON line format (see the module doc).
#[derive(Debug, Clone, Copy, Default)]
pub struct JsonLines;

impl<S> FormatEvent<S, JsonFields> for JsonLines
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn format_event(&self, ctx: &FmtContext<'_, S, JsonFields>, mut writer: Writer<'_>, event: &Event<'_>) -> fmt::Result {
        let meta = event.metadata();
        let mut line = Map::new();
        let now = aws_smithy_types::DateTime::from(std::time::SystemTime::now());
        line.insert("timestamp".into(), now.fmt(aws_smithy_types::date_time::Format::DateTime).unwrap_or_default().into());
        line.insert("level".into(), meta.level().as_str().into());
        line.insert("target".into(), meta.target().into());
        // The event's message first, so a field called `message` cannot take its place.
        let mut fields = EventFields::default();
        event.record(&mut fields);
        if let Some(message) = fields.message.take() {
            line.insert("message".into(), message);
        }
        if let Some(scope) = ctx.event_scope() {
            for span in scope.from_root() {
                let extensions = span.extensions();
                let Some(stored) = extensions.get::<FormattedFields<JsonFields>>() else { continue };
                if let Ok(Value::Object(span_fields)) = serde_json::from_str::<Value>(stored) {
                    for (k, v) in span_fields {
                        insert_unique(&mut line, k, v);
                    }
                }
            }
        }
        for (k, v) in fields.fields {
            insert_unique(&mut line, k, v);
        }
        let text = serde_json::to_string(&Value::Object(line)).map_err(|_| fmt::Error)?;
        writeln!(writer, "{text}")
    }
}

/// Insert `key`, or `fields.<key>` when `key` is taken.
fn insert_unique(line: &mut Map<String, Value>, key: String, value: Value) {
    if line.contains_key(&key) {
        let mut renamed = format!("fields.{key}");
        while line.contains_key(&renamed) {
            renamed.insert_str(0, "fields.");
        }
        line.insert(renamed, value);
    } else {
        line.insert(key, value);
    }
}

/// An event's fields as JSON values, its message apart.
#[derive(Default)]
struct EventFields {
    message: Option<Value>,
    fields: Vec<(String, Value)>,
}

impl EventFields {
    fn put(&mut self, field: &Field, value: Value) {
        if field.name() == "message" && self.message.is_none() {
            self.message = Some(value);
        } else {
            self.fields.push((field.name().to_owned(), value));
        }
    }
}

impl Visit for EventFields {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.put(field, value.into());
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.put(field, value.into());
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.put(field, value.into());
    }
    fn record_u128(&mut self, field: &Field, value: u128) {
        self.put(field, u64::try_from(value).map_or_else(|_| value.to_string().into(), Value::from));
    }
    fn record_i128(&mut self, field: &Field, value: i128) {
        self.put(field, i64::try_from(value).map_or_else(|_| value.to_string().into(), Value::from));
    }
    fn record_f64(&mut self, field: &Field, value: f64) {
        self.put(field, value.into());
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.put(field, value.into());
    }
    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        self.put(field, value.to_string().into());
    }
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.put(field, format!("{value:?}").into());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    #[derive(Clone, Default)]
    struct Buffer(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Buffer {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().map_err(|_| std::io::Error::other("poisoned"))?.extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    fn capture(run: impl FnOnce()) -> Vec<Value> {
        let buffer = Buffer::default();
        let writer = buffer.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(move || writer.clone())
            .with_max_level(tracing::Level::DEBUG)
            .fmt_fields(JsonFields::new())
            .event_format(JsonLines)
            .finish();
        tracing::subscriber::with_default(subscriber, run);
        let bytes = buffer.0.lock().map(|b| b.clone()).unwrap_or_default();
        String::from_utf8_lossy(&bytes).lines().map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}"))).collect()
    }

    /// Every key of a JSON object text, in order, duplicates kept (serde_json's
    /// `Value` would silently keep one of them).
    fn raw_keys(line: &str) -> Vec<String> {
        struct Keys(Vec<String>);
        impl<'de> serde::de::Visitor<'de> for Keys {
            type Value = Vec<String>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(mut self, mut map: A) -> Result<Self::Value, A::Error> {
                while let Some(k) = map.next_key::<String>()? {
                    map.next_value::<serde::de::IgnoredAny>()?;
                    self.0.push(k);
                }
                Ok(self.0)
            }
        }
        let mut de = serde_json::Deserializer::from_str(line);
        serde::Deserializer::deserialize_map(&mut de, Keys(Vec::new())).unwrap_or_default()
    }

    #[test]
    fn a_field_called_message_does_not_make_a_second_message_key() {
        let lines = capture(|| {
            let span = tracing::info_span!("Lambda runtime invoke", requestId = "req-1", xrayTraceId = "Root=1-2");
            let _g = span.enter();
            tracing::warn!(
                record = "49590338271490256608559692538361571095921575989136588898",
                code = "Throttling",
                message = "Rate exceeded",
                attempts = 3u64,
                "record not delivered"
            );
        });
        assert_eq!(lines.len(), 1);
        let line = &lines[0];
        assert_eq!(line["message"], "record not delivered");
        assert_eq!(line["fields.message"], "Rate exceeded");
        assert_eq!(line["level"], "WARN");
        assert_eq!(line["requestId"], "req-1");
        assert_eq!(line["xrayTraceId"], "Root=1-2");
        assert_eq!(line["attempts"], 3, "numbers stay numbers");
        let text = serde_json::to_string(line).unwrap_or_default();
        let keys = raw_keys(&text);
        let mut unique = keys.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(keys.len(), unique.len(), "{keys:?}");
    }

    #[test]
    fn an_event_outside_an_invocation_has_no_request_id_and_a_timestamp() {
        let lines = capture(|| tracing::info!(answer = true, "cold start"));
        assert_eq!(lines[0]["message"], "cold start");
        assert_eq!(lines[0]["answer"], true);
        assert!(lines[0].get("requestId").is_none());
        let ts = lines[0]["timestamp"].as_str().unwrap_or_default();
        assert!(ts.len() >= 20 && ts.ends_with('Z') && ts.as_bytes()[10] == b'T', "{ts}");
    }

    #[test]
    fn lambda_log_level_wins_over_rust_log_and_fatal_is_error() {
        assert_eq!(level_directive(Some("WARN"), Some("debug")), "warn");
        assert_eq!(level_directive(Some("FATAL"), None), "error");
        assert_eq!(level_directive(None, Some("fanout=debug")), "fanout=debug");
        assert_eq!(level_directive(Some(" "), None), "info");
    }
}
