//! The config's validation vocabulary, shared by `config` and every
//! destination and source config: a [`Problem`] names a place in the file and
//! the rule it breaks, and the `check_*` helpers push one when a value breaks
//! a common rule. Validation reports every problem at once, so nothing here
//! stops at the first.

/// One thing wrong in a config file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// Where in the file (`routes[1].to[0]`, `destinations.archive.max_records`).
    pub place: String,
    /// What is wrong, naming the rule.
    pub message: String,
}

/// A problem at `place`.
pub fn problem(place: &str, message: &str) -> Problem {
    Problem { place: place.to_owned(), message: message.to_owned() }
}

/// Record a problem when `value` is outside `min..=max`.
pub fn check_range(problems: &mut Vec<Problem>, place: &str, value: usize, min: usize, max: usize) {
    if value < min || value > max {
        problems.push(problem(place, &format!("{value} is outside {min}..={max}")));
    }
}

/// Record a problem when an optional limit is outside `1..=max` (the API's maximum).
pub fn check_limit(problems: &mut Vec<Problem>, place: &str, value: Option<usize>, max: usize, api: &str) {
    match value {
        Some(0) => problems.push(problem(place, &format!("must be at least 1 (the {api} maximum is {max})"))),
        Some(v) if v > max => problems.push(problem(place, &format!("{v} is above the {api} maximum of {max}"))),
        _ => {}
    }
}

/// Record a problem when a name breaks an AWS name rule (length and character class).
pub fn check_name(problems: &mut Vec<Problem>, place: &str, value: &str, max_len: usize, allowed: fn(char) -> bool, rule: &str) {
    if value.is_empty() || value.len() > max_len || !value.chars().all(allowed) {
        problems.push(problem(place, &format!("`{value}` does not match {rule} (1-{max_len} characters)")));
    }
}

/// Record a problem when a required text is empty.
pub fn check_not_empty(problems: &mut Vec<Problem>, place: &str, value: &str) {
    if value.is_empty() {
        problems.push(problem(place, "cannot be empty"));
    }
}

/// Record a problem when a JSON Pointer is malformed.
pub fn check_pointer(problems: &mut Vec<Problem>, place: &str, pointer: &str) {
    if !pointer.starts_with('/') {
        problems.push(problem(place, &format!("`{pointer}` is not a JSON Pointer (it must start with `/`, like /deviceId)")));
    }
}

/// Record a problem when an endpoint override is not an http(s) URL with a host.
pub fn check_endpoint_url(problems: &mut Vec<Problem>, place: &str, url: &str) {
    let host = url.strip_prefix("https://").or_else(|| url.strip_prefix("http://"));
    if host.is_none_or(|h| h.is_empty() || h.starts_with('/') || h.contains(char::is_whitespace)) {
        problems.push(problem(place, &format!("`{url}` is not an http:// or https:// URL with a host")));
    }
}

/// Record a problem when a region override is not a region name.
pub fn check_region(problems: &mut Vec<Problem>, place: &str, region: &str) {
    if region.is_empty() || region.contains(char::is_whitespace) {
        problems.push(problem(place, &format!("`{region}` is not a region name (like eu-west-1)")));
    }
}

/// Record problems of a destination's `role_arn` and `external_id`: an IAM
/// role ARN (`arn:aws:iam::<account>:role/<path/name>`); an external id of
/// 2-1,224 characters of `[\w+=,.@:/-]` (STS AssumeRole), only with a role.
pub fn check_role(problems: &mut Vec<Problem>, place: &str, role_arn: Option<&str>, external_id: Option<&str>) {
    if let Some(arn) = role_arn {
        let parts: Vec<&str> = arn.splitn(6, ':').collect();
        let ok = matches!(parts.as_slice(), ["arn", partition, "iam", "", account, resource]
            if partition.starts_with("aws") && account.len() == 12 && account.bytes().all(|b| b.is_ascii_digit())
                && resource.strip_prefix("role/").is_some_and(|name| !name.is_empty()));
        if !ok {
            problems.push(problem(&format!("{place}.role_arn"), &format!("`{arn}` is not an IAM role ARN (arn:aws:iam::<account>:role/<name>)")));
        }
    }
    if let Some(id) = external_id {
        let allowed = |c: char| c.is_ascii_alphanumeric() || c == '_' || "+=,.@:/-".contains(c);
        if role_arn.is_none() {
            problems.push(problem(&format!("{place}.external_id"), "an external id is only used with a role_arn"));
        } else if !(2..=1224).contains(&id.chars().count()) || !id.chars().all(allowed) {
            problems.push(problem(&format!("{place}.external_id"), "an external id is 2 to 1,224 characters of letters, digits and +=,.@:/-"));
        }
    }
}

/// Record a problem when configured record and request limits leave a
/// record size no request can carry (`max_record_bytes` above
/// `max_request_bytes`), naming the field the user set.
pub fn check_record_fits_request(
    problems: &mut Vec<Problem>,
    place: &str,
    record: Option<usize>,
    request: Option<usize>,
    limits: &crate::pack::Limits,
) {
    if (record.is_some() || request.is_some()) && limits.max_item_bytes > limits.max_request_bytes {
        let field = if request.is_some() { "max_request_bytes" } else { "max_record_bytes" };
        problems.push(problem(
            &format!("{place}.{field}"),
            &format!(
                "max_record_bytes ({}) is above max_request_bytes ({}): a record that size fits no request; lower max_record_bytes or raise max_request_bytes",
                limits.max_item_bytes, limits.max_request_bytes
            ),
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_are_iam_role_arns_and_external_ids_need_one() {
        let places = |role: Option<&str>, id: Option<&str>| {
            let mut p = Vec::new();
            check_role(&mut p, "d", role, id);
            p.into_iter().map(|p| p.place).collect::<Vec<_>>()
        };
        assert!(places(Some("arn:aws:iam::210987654321:role/team/fanout-writer"), Some("tenant-42")).is_empty());
        assert!(places(Some("arn:aws-cn:iam::210987654321:role/w"), None).is_empty());
        assert_eq!(places(Some("arn:aws:iam::210987654321:user/bob"), None), ["d.role_arn"]);
        assert_eq!(places(Some("arn:aws:sts::210987654321:role/w"), None), ["d.role_arn"]);
        assert_eq!(places(Some("fanout-writer"), None), ["d.role_arn"]);
        assert_eq!(places(None, Some("tenant-42")), ["d.external_id"]);
        assert_eq!(places(Some("arn:aws:iam::210987654321:role/w"), Some("x")), ["d.external_id"], "at least 2 characters");
        assert_eq!(places(Some("arn:aws:iam::210987654321:role/w"), Some("has space")), ["d.external_id"]);
    }

    #[test]
    fn limits_outside_one_to_the_api_maximum_are_problems_naming_the_api() {
        let mut problems = Vec::new();
        check_limit(&mut problems, "a", Some(0), 500, "PutRecords");
        check_limit(&mut problems, "b", Some(501), 500, "PutRecords");
        check_limit(&mut problems, "c", Some(500), 500, "PutRecords");
        check_limit(&mut problems, "d", None, 500, "PutRecords");
        assert_eq!(
            problems,
            vec![problem("a", "must be at least 1 (the PutRecords maximum is 500)"), problem("b", "501 is above the PutRecords maximum of 500"),]
        );
    }

    #[test]
    fn endpoint_urls_need_a_scheme_and_a_host() {
        let mut problems = Vec::new();
        for url in ["http://127.0.0.1:4566", "https://yds.serverless.yandexcloud.net"] {
            check_endpoint_url(&mut problems, "ok", url);
        }
        assert!(problems.is_empty(), "{problems:?}");
        for url in ["localhost:4566", "http://", "https:///path", "http://a b"] {
            check_endpoint_url(&mut problems, url, url);
        }
        assert_eq!(problems.len(), 4, "{problems:?}");
    }
}
