//! `iot:` in the config file: where an IoT rule's result holds the topic and client id.

use serde::Deserialize;

/// `iot:` in the config file.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct IotSourceConfig {
    /// The field the rule selects `topic()` into (default `topic`).
    pub topic_field: Option<String>,
    /// The field the rule selects `clientid()` into (default `clientId`).
    pub client_id_field: Option<String>,
}
