//! The `metrics:` section of the config.

use crate::validation::Problem;
use serde::Deserialize;
use std::collections::BTreeMap;

/// The namespace used when neither the config nor `FANOUT_METRICS_NAMESPACE` names one.
pub const DEFAULT_NAMESPACE: &str = "fanout";

/// The dimension every document carries: the Lambda function's name.
pub const FUNCTION_DIMENSION: &str = "FunctionName";

/// The dimension of the per-destination documents: the destination's name in the config.
pub const DESTINATION_DIMENSION: &str = "Destination";

/// CloudWatch allows 30 dimensions in one set; fanout's own use two.
pub const MAX_EXTRA_DIMENSIONS: usize = 28;

/// What fanout emits as CloudWatch Embedded Metric Format, as written.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct MetricsConfig {
    /// Emit the metrics (`false`: the summary line carries no `_aws` block
    /// and no per-destination documents are written).
    pub enabled: bool,
    /// The CloudWatch namespace (`FANOUT_METRICS_NAMESPACE` overrides it,
    /// which is how the SAM template keeps its alarms on the same namespace).
    pub namespace: String,
    /// Constant dimensions added to every dimension set (`stage: prod`).
    pub dimensions: BTreeMap<String, String>,
    /// Write one document per destination (the `Destination` dimension).
    pub per_destination: bool,
}

impl Default for MetricsConfig {
    fn default() -> Self {
        Self { enabled: true, namespace: DEFAULT_NAMESPACE.into(), dimensions: BTreeMap::new(), per_destination: true }
    }
}

/// Names a document already uses for its own members: a constant dimension
/// with one of these names would overwrite them.
const RESERVED: &[&str] = &[
    "_aws",
    FUNCTION_DIMENSION,
    DESTINATION_DIMENSION,
    "level",
    "message",
    "requestId",
    "source",
    "timestamp",
    "records",
    "delivered",
    "failed",
    "dead_lettered",
    "unrouted",
    "destinations",
];

impl MetricsConfig {
    /// Check the namespace and dimensions against CloudWatch's rules.
    pub fn validate(&self, problems: &mut Vec<Problem>) {
        let ns = &self.namespace;
        if ns.is_empty() || ns.len() > 255 || !ns.chars().all(|c| c.is_ascii_alphanumeric() || ".-_/#: ".contains(c)) {
            problems.push(Problem {
                place: "metrics.namespace".into(),
                message: format!("`{ns}` is not a CloudWatch namespace (1-255 characters: letters, digits, spaces and . - _ / # :)"),
            });
        } else if ns.starts_with("AWS/") {
            problems
                .push(Problem { place: "metrics.namespace".into(), message: format!("`{ns}`: namespaces starting with AWS/ are reserved for AWS") });
        }
        if self.dimensions.len() > MAX_EXTRA_DIMENSIONS {
            problems.push(Problem {
                place: "metrics.dimensions".into(),
                message: format!(
                    "{} dimensions; at most {MAX_EXTRA_DIMENSIONS} (CloudWatch allows 30 per metric, fanout uses 2)",
                    self.dimensions.len()
                ),
            });
        }
        for (name, value) in &self.dimensions {
            let place = format!("metrics.dimensions.{name}");
            if name.is_empty() || name.len() > 255 || name.starts_with(':') || !name.chars().all(|c| c.is_ascii_graphic()) {
                problems.push(Problem {
                    place: place.clone(),
                    message: "a dimension name has 1-255 printable ASCII characters without spaces, not starting with `:`".into(),
                });
            } else if RESERVED.contains(&name.as_str()) || super::names::METRIC_NAMES.contains(&name.as_str()) {
                problems.push(Problem { place: place.clone(), message: format!("`{name}` is a name fanout's documents already use") });
            }
            if value.is_empty() || value.len() > 1024 || value.chars().any(char::is_control) {
                problems.push(Problem { place, message: "a dimension value has 1-1024 characters and no control characters".into() });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::config::{Config, ConfigError};
    use std::path::Path;

    fn problems(metrics: &str) -> Vec<(String, String)> {
        let text = format!("destinations: {{ a: {{ type: firehose, delivery_stream: s }} }}\n{metrics}");
        match Config::parse(&text, Path::new("m.yaml")) {
            Ok(_) => Vec::new(),
            Err(ConfigError::Invalid { problems, .. }) => problems.into_iter().map(|p| (p.place, p.message)).collect(),
            Err(e) => vec![("parse".into(), e.to_string())],
        }
    }

    #[test]
    fn defaults_are_on_under_the_fanout_namespace() {
        let c = Config::parse("destinations: { a: { type: firehose, delivery_stream: s } }\n", Path::new("m.yaml")).expect("valid");
        assert!(c.metrics.enabled && c.metrics.per_destination);
        assert_eq!(c.metrics.namespace, "fanout");
        assert!(c.metrics.dimensions.is_empty());
    }

    #[test]
    fn namespaces_and_dimensions_break_cloudwatchs_rules_by_place() {
        let p = problems("metrics: { namespace: 'AWS/Lambda' }");
        assert_eq!(p.len(), 1);
        assert_eq!(p[0].0, "metrics.namespace");
        assert!(p[0].1.contains("reserved"), "{p:?}");
        assert_eq!(problems("metrics: { namespace: '' }")[0].0, "metrics.namespace");
        assert_eq!(problems("metrics: { namespace: 'a|b' }")[0].0, "metrics.namespace");

        let p = problems("metrics: { dimensions: { FunctionName: x, Failed: y, 'has space': z, ok: '' } }");
        let places: Vec<&str> = p.iter().map(|(place, _)| place.as_str()).collect();
        assert_eq!(places, ["metrics.dimensions.Failed", "metrics.dimensions.FunctionName", "metrics.dimensions.has space", "metrics.dimensions.ok"]);

        let many: Vec<String> = (0..29).map(|i| format!("d{i}: v")).collect();
        let p = problems(&format!("metrics: {{ dimensions: {{ {} }} }}", many.join(", ")));
        assert_eq!(p.len(), 1, "{p:?}");
        assert!(p[0].1.contains("at most 28"), "{p:?}");

        assert!(problems("metrics: { namespace: plant/line-1, dimensions: { stage: prod }, per_destination: false }").is_empty());
        assert!(problems("metrics: { enabled: false }").is_empty());
        let p = problems("metrics: { namespace: x, dimension: { a: b } }");
        assert!(p[0].1.contains("unknown field `dimension`"), "{p:?}");
    }
}
