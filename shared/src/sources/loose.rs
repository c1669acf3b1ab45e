//! Lenient reading of event fields, so that one malformed record is a
//! problem of that record and never an error of the whole event.
//!
//! Sources deserialize each record with hand-written visitors that read every
//! field as a [`Loose`] value (any JSON value, borrowed from the event text
//! where it can be) and then check its type themselves, noting the first
//! problem with the field's path. Only a syntax error in the event text (which
//! Lambda never sends) fails the whole event.

use serde::de::{IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use std::borrow::Cow;
use std::fmt;

/// One JSON value, read without failing on its type. Objects and arrays are
/// skipped (checked for syntax only): a source that wants them reads them
/// with its own visitor.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Loose<'de> {
    /// `null`.
    Null,
    /// `true` or `false`.
    Bool(bool),
    /// Any number (as `f64`; integers beyond 2^53 lose precision, which no field read this way cares about).
    Number(f64),
    /// A string, borrowed from the event text unless it holds escapes.
    Str(Cow<'de, str>),
    /// An object (skipped).
    Object,
    /// An array (skipped).
    Array,
}

impl<'de> Loose<'de> {
    /// What it is, for messages: "a string", "null", ...
    pub(crate) fn kind(&self) -> &'static str {
        match self {
            Loose::Null => "null",
            Loose::Bool(_) => "a boolean",
            Loose::Number(_) => "a number",
            Loose::Str(_) => "a string",
            Loose::Object => "an object",
            Loose::Array => "an array",
        }
    }

    /// The string, or the message for a value of another type.
    pub(crate) fn string(self, what: &str) -> Result<Cow<'de, str>, String> {
        match self {
            Loose::Str(s) => Ok(s),
            other => Err(format!("expected {what}, found {}", other.kind())),
        }
    }

    /// The string, `None` for `null`, or the message for a value of another type.
    pub(crate) fn optional_string(self, what: &str) -> Result<Option<Cow<'de, str>>, String> {
        match self {
            Loose::Null => Ok(None),
            other => other.string(what).map(Some),
        }
    }
}

impl<'de> Deserialize<'de> for Loose<'de> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(LooseVisitor)
    }
}

struct LooseVisitor;

impl<'de> Visitor<'de> for LooseVisitor {
    type Value = Loose<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_unit<E>(self) -> Result<Loose<'de>, E> {
        Ok(Loose::Null)
    }
    fn visit_none<E>(self) -> Result<Loose<'de>, E> {
        Ok(Loose::Null)
    }
    fn visit_some<D: serde::Deserializer<'de>>(self, d: D) -> Result<Loose<'de>, D::Error> {
        d.deserialize_any(self)
    }
    fn visit_bool<E>(self, v: bool) -> Result<Loose<'de>, E> {
        Ok(Loose::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Loose<'de>, E> {
        Ok(Loose::Number(v as f64))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Loose<'de>, E> {
        Ok(Loose::Number(v as f64))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Loose<'de>, E> {
        Ok(Loose::Number(v))
    }
    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Loose<'de>, E> {
        Ok(Loose::Str(Cow::Borrowed(v)))
    }
    fn visit_str<E>(self, v: &str) -> Result<Loose<'de>, E> {
        Ok(Loose::Str(Cow::Owned(v.to_owned())))
    }
    fn visit_string<E>(self, v: String) -> Result<Loose<'de>, E> {
        Ok(Loose::Str(Cow::Owned(v)))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Loose<'de>, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(Loose::Object)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Loose<'de>, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Loose::Array)
    }
}

/// A map key, borrowed from the event text unless it holds escapes.
pub(crate) struct Key<'de>(pub(crate) Cow<'de, str>);

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl<'de> Visitor<'de> for KeyVisitor {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a field name")
            }
            fn visit_borrowed_str<E>(self, s: &'de str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Borrowed(s)))
            }
            fn visit_str<E>(self, s: &str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(s.to_owned())))
            }
            fn visit_string<E>(self, s: String) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(s)))
            }
        }
        deserializer.deserialize_str(KeyVisitor)
    }
}

/// Seconds since the epoch as a finite number or a numeric string, read as
/// one `f64` (aws_lambda_events 1.2 reads `1795323606.5` as 5 ms past the
/// second, not 500; this reads it as written).
pub(crate) fn epoch_seconds(value: Loose<'_>) -> Result<f64, String> {
    let seconds = match value {
        Loose::Number(n) => n,
        Loose::Str(s) => s.trim().parse::<f64>().map_err(|_| format!("expected seconds since the epoch, found the string `{s}`"))?,
        other => return Err(format!("expected seconds since the epoch (a number), found {}", other.kind())),
    };
    if seconds.is_finite() && (0.0..=MAX_EPOCH_SECONDS).contains(&seconds) {
        Ok(seconds)
    } else {
        Err(format!("{seconds} is not a time (seconds since the epoch, 0 to {MAX_EPOCH_SECONDS})"))
    }
}

/// The latest arrival time accepted: the year 9999.
pub(crate) const MAX_EPOCH_SECONDS: f64 = 253_402_300_799.0;

/// The first problem found in one record: `path: message`.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Problem(Option<String>);

impl Problem {
    /// Keep `path: message` unless a problem is noted already.
    pub(crate) fn note(&mut self, path: &str, message: impl fmt::Display) {
        if self.0.is_none() {
            self.0 = Some(format!("{path}: {message}"));
        }
    }

    /// Keep the first problem of `inner` under `prefix` (`kinesis` + `data: ...` = `kinesis.data: ...`).
    pub(crate) fn absorb(&mut self, prefix: &str, inner: Problem) {
        if let (None, Some(text)) = (&self.0, inner.0) {
            self.0 = Some(format!("{prefix}.{text}"));
        }
    }

    /// The problem, if any.
    pub fn get(&self) -> Option<&str> {
        self.0.as_deref()
    }
}

/// What a source reads an object of its event with: the fields of an object,
/// or a value of another type (`not_object` gets its kind).
pub(crate) trait ObjectReader<'de>: Sized {
    /// What is read.
    type Out;
    /// Read the fields of an object.
    fn fields<A: MapAccess<'de>>(self, map: A) -> Result<Self::Out, A::Error>;
    /// The value was not an object: `kind` says what it was.
    fn not_object(self, kind: &'static str) -> Self::Out;
}

/// Deserialize with an [`ObjectReader`], never failing on the value's type.
pub(crate) fn read_object<'de, D: serde::Deserializer<'de>, R: ObjectReader<'de>>(deserializer: D, reader: R) -> Result<R::Out, D::Error> {
    deserializer.deserialize_any(ObjectOr(reader))
}

struct ObjectOr<R>(R);

impl<'de, R: ObjectReader<'de>> Visitor<'de> for ObjectOr<R> {
    type Value = R::Out;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<R::Out, A::Error> {
        self.0.fields(map)
    }
    fn visit_unit<E>(self) -> Result<R::Out, E> {
        Ok(self.0.not_object("null"))
    }
    fn visit_none<E>(self) -> Result<R::Out, E> {
        Ok(self.0.not_object("null"))
    }
    fn visit_bool<E>(self, _: bool) -> Result<R::Out, E> {
        Ok(self.0.not_object("a boolean"))
    }
    fn visit_i64<E>(self, _: i64) -> Result<R::Out, E> {
        Ok(self.0.not_object("a number"))
    }
    fn visit_u64<E>(self, _: u64) -> Result<R::Out, E> {
        Ok(self.0.not_object("a number"))
    }
    fn visit_f64<E>(self, _: f64) -> Result<R::Out, E> {
        Ok(self.0.not_object("a number"))
    }
    fn visit_str<E>(self, _: &str) -> Result<R::Out, E> {
        Ok(self.0.not_object("a string"))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<R::Out, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(self.0.not_object("an array"))
    }
}
