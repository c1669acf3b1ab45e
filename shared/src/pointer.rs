//! JSON Pointer (RFC 6901) lookups that do not allocate.
//!
//! `serde_json::Value::pointer` builds two new strings per token (to undo
//! `~1` and `~0`); fanout looks up several pointers per record (partition
//! keys, SiteWise aliases, values and timestamps), so on the hot path it uses
//! [`get`], which borrows tokens and only unescapes a token that holds `~`.

use serde_json::Value;
use std::borrow::Cow;

/// The value at `pointer` in `value`, exactly as `Value::pointer` finds it:
/// `""` is the whole value, anything else must start with `/`; array indices
/// are decimal without a sign or leading zeros.
pub fn get<'a>(value: &'a Value, pointer: &str) -> Option<&'a Value> {
    if pointer.is_empty() {
        return Some(value);
    }
    let rest = pointer.strip_prefix('/')?;
    rest.split('/').try_fold(value, |target, token| {
        let token: Cow<'_, str> = if token.contains('~') { Cow::Owned(token.replace("~1", "/").replace("~0", "~")) } else { Cow::Borrowed(token) };
        match target {
            Value::Object(map) => map.get(token.as_ref()),
            Value::Array(list) => index(&token).and_then(|i| list.get(i)),
            _ => None,
        }
    })
}

fn index(token: &str) -> Option<usize> {
    if token.starts_with('+') || (token.starts_with('0') && token.len() != 1) {
        return None;
    }
    token.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    #[test]
    fn finds_what_value_pointer_finds() {
        let v = json!({"a": {"b/c": [10, {"d~e": true}], "": 1, "0": "zero"}, "list": [1, 2, 3]});
        for p in
            ["", "/a", "/a/b~1c", "/a/b~1c/0", "/a/b~1c/1/d~0e", "/a/", "/a/0", "/list/2", "/list/02", "/list/+1", "/list/3", "/x", "a", "/list/-"]
        {
            assert_eq!(get(&v, p), v.pointer(p), "{p}");
        }
    }

    proptest! {
        #[test]
        fn agrees_with_serde_json_on_any_pointer(tokens in prop::collection::vec("[a-c0-2~/+]{0,3}", 0..4)) {
            let v = json!({"a": [{"b": 1}, {"~": 2, "/": 3}], "0": {"1": [4, 5, 6]}, "~1": "t", "": {"": 7}, "+1": 8});
            let pointer: String = tokens.iter().map(|t| format!("/{t}")).collect();
            prop_assert_eq!(get(&v, &pointer), v.pointer(&pointer));
        }
    }
}
