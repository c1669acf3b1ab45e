//! DynamoDB's typed JSON (`{"S": "x"}`, `{"N": "1.5"}`, `{"M": {...}}`), as
//! `serde_dynamo` reads it into [`AttributeValue`]s, converted to the plain
//! JSON that patterns see.
//!
//! | DynamoDB | plain JSON |
//! |---|---|
//! | `S` | string |
//! | `N` | number when exact, else the digits as a string (see [`number`]) |
//! | `B` | base64 string (standard alphabet, padded), as DynamoDB writes it |
//! | `BOOL` | `true` / `false` |
//! | `NULL` | `null` |
//! | `M` | object (names in sorted order) |
//! | `L` | array |
//! | `SS` / `NS` / `BS` | array of strings / numbers / base64 strings, in the order given |
//!
//! fanout does this walk itself: `serde_dynamo`'s own conversion to
//! `serde_json::Value` refuses binary attributes and reads every number as
//! `f64`, which rounds integers past 2^53 and most of DynamoDB's 38 digits.

use base64::Engine as _;
use serde_dynamo::AttributeValue;
use serde_json::{Map, Value};
use std::collections::HashMap;

/// A value that cannot be converted: where in the item, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path}: {rule}")]
pub struct NotConvertible {
    /// The attribute's path inside the item (`status`, `history[2].code`).
    pub path: String,
    /// What is wrong.
    pub rule: String,
}

impl NotConvertible {
    /// The same problem, one level further out (`name` holds the place the error was found).
    fn inside(mut self, name: &str, index: Option<usize>) -> Self {
        let outer = match index {
            Some(i) => format!("{name}[{i}]"),
            None => name.to_owned(),
        };
        self.path = if self.path.is_empty() {
            outer
        } else if self.path.starts_with('[') {
            format!("{outer}{}", self.path)
        } else {
            format!("{outer}.{}", self.path)
        };
        self
    }
}

/// An item (`Keys`, `NewImage`, `OldImage`) as a plain JSON object, its
/// attribute names in sorted order (so the same item always reads the same).
pub fn item(attributes: &HashMap<String, AttributeValue>) -> Result<Map<String, Value>, NotConvertible> {
    let mut names: Vec<&String> = attributes.keys().collect();
    names.sort_unstable();
    let mut out = Map::with_capacity(names.len());
    for name in names {
        if let Some(v) = attributes.get(name) {
            out.insert(name.clone(), value(v).map_err(|e| e.inside(name, None))?);
        }
    }
    Ok(out)
}

/// One attribute value as plain JSON. Fails only on a number that is not a
/// number (`{"N": "abc"}`), which DynamoDB never writes.
pub fn value(v: &AttributeValue) -> Result<Value, NotConvertible> {
    let b64 = |bytes: &[u8]| Value::String(base64::engine::general_purpose::STANDARD.encode(bytes));
    Ok(match v {
        AttributeValue::S(s) => Value::String(s.clone()),
        AttributeValue::N(n) => checked_number(n).map_err(|rule| NotConvertible { path: "N".into(), rule })?,
        AttributeValue::Bool(b) => Value::Bool(*b),
        AttributeValue::Null(_) => Value::Null,
        AttributeValue::B(bytes) => b64(bytes),
        AttributeValue::M(m) => Value::Object(item(m).map_err(|e| e.inside("M", None))?),
        AttributeValue::L(list) => {
            let mut out = Vec::with_capacity(list.len());
            for (i, element) in list.iter().enumerate() {
                out.push(value(element).map_err(|e| e.inside("L", Some(i)))?);
            }
            Value::Array(out)
        }
        AttributeValue::Ss(set) => Value::Array(set.iter().cloned().map(Value::String).collect()),
        AttributeValue::Ns(set) => {
            let mut out = Vec::with_capacity(set.len());
            for (i, n) in set.iter().enumerate() {
                out.push(checked_number(n).map_err(|rule| NotConvertible { path: format!("NS[{i}]"), rule })?);
            }
            Value::Array(out)
        }
        AttributeValue::Bs(set) => Value::Array(set.iter().map(|b| b64(b)).collect()),
    })
}

fn checked_number(text: &str) -> Result<Value, String> {
    number(text).ok_or_else(|| format!("`{}` is not a number", cut(text)))
}

/// At most 64 characters of a hostile text, for messages.
fn cut(text: &str) -> &str {
    match text.char_indices().nth(64) {
        Some((at, _)) => &text[..at],
        None => text,
    }
}

/// A DynamoDB number (`N`, up to 38 significant digits) as plain JSON, or
/// `None` when the text is not a decimal number.
///
/// It becomes a JSON number exactly when that loses nothing: an integer
/// that fits `i64` or `u64`, or a number whose nearest `f64` has the same
/// decimal value (its shortest representation, compared digit for digit
/// after normalising: `1.50`, `15E-1` and `1.5` are one value). Anything
/// else (`12345678901234567890123` beyond `u64`, `0.1000000000000000000001`)
/// stays a string holding the digits as DynamoDB wrote them, so no value is
/// ever silently rounded; a `numeric` pattern does not match such a string.
pub fn number(text: &str) -> Option<Value> {
    let canonical = Decimal::parse(text)?;
    if let Ok(i) = text.parse::<i64>() {
        return Some(Value::from(i));
    }
    if let Ok(u) = text.parse::<u64>() {
        return Some(Value::from(u));
    }
    let exact = text
        .parse::<f64>()
        .ok()
        .filter(|f| f.is_finite())
        .filter(|f| Decimal::parse(&format!("{f:e}")).is_some_and(|shortest| shortest == canonical))
        .and_then(serde_json::Number::from_f64);
    Some(match exact {
        Some(n) => Value::Number(n),
        None => Value::String(text.to_owned()),
    })
}

/// A decimal number reduced to sign, significant digits and exponent:
/// the value is `0.DIGITS x 10^exponent`; zero has no digits and no sign.
#[derive(Debug, PartialEq, Eq)]
struct Decimal {
    negative: bool,
    digits: String,
    exponent: i64,
}

impl Decimal {
    /// `[+-]digits[.digits][(e|E)[+-]digits]`, at least one digit before the
    /// exponent; `None` for anything else.
    fn parse(text: &str) -> Option<Decimal> {
        let (negative, rest) = match text.as_bytes().first()? {
            b'-' => (true, &text[1..]),
            b'+' => (false, &text[1..]),
            _ => (false, text),
        };
        let (mantissa, exponent) = match rest.find(['e', 'E']) {
            Some(at) => (&rest[..at], Some(&rest[at + 1..])),
            None => (rest, None),
        };
        let (whole, fraction) = mantissa.split_once('.').unwrap_or((mantissa, ""));
        let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
        if whole.len() + fraction.len() == 0 || !all_digits(whole) || !all_digits(fraction) {
            return None;
        }
        let exponent: i64 = match exponent {
            Some(e) => {
                let digits = e.strip_prefix(['+', '-']).unwrap_or(e);
                if digits.is_empty() || !all_digits(digits) {
                    return None;
                }
                e.parse().ok()?
            }
            None => 0,
        };
        let joined = format!("{whole}{fraction}");
        let leading = joined.bytes().take_while(|&b| b == b'0').count();
        let significant = joined[leading..].trim_end_matches('0');
        if significant.is_empty() {
            return Some(Decimal { negative: false, digits: String::new(), exponent: 0 });
        }
        let exponent = exponent.checked_add(whole.len() as i64)?.checked_sub(leading as i64)?;
        Some(Decimal { negative, digits: significant.to_owned(), exponent })
    }
}
