//! The destination registry: every destination `type`, its config, and the
//! one trait ([`DestinationType`]) through which the rest of the crate asks a
//! destination what it is, what it reads, whether it is valid and how to
//! build its sender. A new destination is its module plus one line in the
//! registry (`destinations/mod.rs`).
//!
//! The settings every destination shares (`endpoint_url`, `region`,
//! `role_arn`, `external_id`, `transform`, `max_in_flight`, `rate_limit`) are written out
//! in each config struct and
//! read through [`CommonFields`] (`common_fields!`) rather than gathered in
//! a struct of their own with `#[serde(flatten)]` as Vector's sinks do:
//! serde's `flatten` cannot be combined with `deny_unknown_fields`, and the
//! precise "unknown field `strem`, expected one of ..." errors of the config
//! need the latter.

use super::dry_run::DryRun;
use super::sender::Sender;
use super::transformed::Transformed;
pub use super::{DestinationConfig, Kind};
use crate::clients::{Clients, Overrides};
use crate::deliver::api::BatchApi;
use crate::pace::RateLimit;
use crate::pack::Limits;
use crate::projection::DataFields;
use crate::transform::Program;
use crate::validation::{check_endpoint_url, check_range, check_record_fits_request, check_region, check_role, Problem};
use std::sync::Arc;

/// Highest allowed in-flight request bound per destination.
pub const MAX_IN_FLIGHT: usize = 64;

/// The settings every destination config has, whatever its type.
pub trait CommonFields {
    /// The per-destination endpoint override (a compatible service or an emulator).
    fn endpoint_url(&self) -> Option<&str>;
    /// The endpoint override, for the local runner to redirect.
    fn endpoint_url_mut(&mut self) -> &mut Option<String>;
    /// The per-destination region override.
    fn region(&self) -> Option<&str>;
    /// The per-destination in-flight request bound, if set.
    fn max_in_flight(&self) -> Option<usize>;
    /// The per-destination rate limit (unlimited unless set).
    fn rate_limit(&self) -> RateLimit;
    /// The role to assume for this destination, if any.
    fn role_arn(&self) -> Option<&str>;
    /// The external id to assume it with, if any.
    fn external_id(&self) -> Option<&str>;
    /// The jq program that shapes what this destination sends, if any.
    fn transform(&self) -> Option<&str>;

    /// What the destination changes about its SDK client.
    fn overrides(&self) -> Overrides<'_> {
        Overrides { endpoint_url: self.endpoint_url(), region: self.region(), role: self.role_arn().map(|r| (r, self.external_id())) }
    }
}

/// Implement [`CommonFields`] for a config struct with the fields
/// `endpoint_url`, `region`, `role_arn`, `external_id`, `transform`,
/// `max_in_flight` and `rate_limit`.
macro_rules! common_fields {
    ($config:ty) => {
        impl $crate::destinations::registry::CommonFields for $config {
            fn endpoint_url(&self) -> Option<&str> {
                self.endpoint_url.as_deref()
            }
            fn endpoint_url_mut(&mut self) -> &mut Option<String> {
                &mut self.endpoint_url
            }
            fn region(&self) -> Option<&str> {
                self.region.as_deref()
            }
            fn max_in_flight(&self) -> Option<usize> {
                self.max_in_flight
            }
            fn rate_limit(&self) -> $crate::pace::RateLimit {
                self.rate_limit
            }
            fn role_arn(&self) -> Option<&str> {
                self.role_arn.as_deref()
            }
            fn external_id(&self) -> Option<&str> {
                self.external_id.as_deref()
            }
            fn transform(&self) -> Option<&str> {
                self.transform.as_deref()
            }
        }
    };
}
pub(crate) use common_fields;

/// Everything the crate asks of one destination type, implemented by its
/// config struct in its own module.
pub trait DestinationType: CommonFields + std::fmt::Debug + Send + Sync {
    /// The sender this config builds.
    type Api: BatchApi + std::fmt::Debug + 'static;

    /// Whether this type can take dead-letter envelopes (raw JSON records).
    const TAKES_DEAD_LETTERS: bool = false;

    /// The IAM actions its sender calls on the destination's resource (the
    /// template's `DestinationSendPolicy` grants every type's on `DestinationArns`).
    const SEND_ACTIONS: &'static [&'static str];

    /// What it sends to, for logs and the local runner: the stream, delivery
    /// stream, channel, input, model, or a count of properties.
    fn sends_to(&self) -> String;

    /// The payload fields its mapping reads (for routed records; dead-letter
    /// envelopes are records of their own).
    fn data_fields(&self) -> DataFields;

    /// The packing limits after the config's changes.
    fn limits(&self) -> Limits;

    /// Push every problem of its own fields (the common ones are checked by
    /// the registry), each placed under `place`.
    fn validate(&self, place: &str, problems: &mut Vec<Problem>);

    /// The `max_record_bytes` and `max_request_bytes` the config set, for
    /// types that take them: the registry checks, last, that a record of the
    /// largest size fits a request.
    fn byte_limit_overrides(&self) -> (Option<usize>, Option<usize>) {
        (None, None)
    }

    /// Its sender, on the client for its endpoint and region.
    fn api(&self, clients: &Clients) -> Self::Api;

    /// How it combines records before sending, in words, when it does
    /// (KPL aggregation, Firehose packing); for the local runner.
    fn combining(&self) -> Option<String> {
        None
    }
}

/// [`DestinationType`] as a trait object, for the code that holds a config
/// without knowing its type. Implemented for every `DestinationType`.
pub trait DestinationSpec: CommonFields + std::fmt::Debug + Send + Sync {
    /// See [`DestinationType::sends_to`].
    fn sends_to(&self) -> String;
    /// See [`DestinationType::data_fields`].
    fn data_fields(&self) -> DataFields;
    /// See [`DestinationType::limits`].
    fn limits(&self) -> Limits;
    /// Every problem of this destination: its own fields and the common ones.
    fn validate(&self, place: &str, problems: &mut Vec<Problem>);
    /// The sender that sends.
    fn sender(&self, clients: &Clients) -> Arc<dyn Sender>;
    /// The sender that plans and encodes every request and sends nothing ([`DryRun`]).
    fn dry_run_sender(&self, clients: &Clients) -> Arc<dyn Sender>;
    /// See [`DestinationType::combining`].
    fn combining(&self) -> Option<String>;
}

impl<T: DestinationType> DestinationSpec for T {
    fn sends_to(&self) -> String {
        DestinationType::sends_to(self)
    }

    fn data_fields(&self) -> DataFields {
        // A transform reads the payload with its own parser
        // ([`crate::transform`]), never the projected view, and the
        // destination's own fields then read the transform's output, a
        // record of its own ([`Transformed`] projects that one).
        if self.transform().is_some() {
            return DataFields::Unused;
        }
        DestinationType::data_fields(self)
    }

    fn limits(&self) -> Limits {
        DestinationType::limits(self)
    }

    fn combining(&self) -> Option<String> {
        DestinationType::combining(self)
    }

    fn validate(&self, place: &str, problems: &mut Vec<Problem>) {
        DestinationType::validate(self, place, problems);
        if let Some(n) = self.max_in_flight() {
            check_range(problems, &format!("{place}.max_in_flight"), n, 1, MAX_IN_FLIGHT);
        }
        self.rate_limit().validate(place, problems);
        if let Some(url) = self.endpoint_url() {
            check_endpoint_url(problems, &format!("{place}.endpoint_url"), url);
        }
        if let Some(region) = self.region() {
            check_region(problems, &format!("{place}.region"), region);
        }
        check_role(problems, place, self.role_arn(), self.external_id());
        if let Some(code) = self.transform() {
            if let Err(message) = Program::compile(code) {
                problems.push(crate::validation::problem(&format!("{place}.transform"), &message));
            }
        }
        let (record, request) = self.byte_limit_overrides();
        check_record_fits_request(problems, place, record, request, &DestinationType::limits(self));
    }

    fn sender(&self, clients: &Clients) -> Arc<dyn Sender> {
        match self.transform() {
            Some(code) => Arc::new(Transformed::new(self.api(clients), code, DestinationType::data_fields(self))),
            None => Arc::new(self.api(clients)),
        }
    }

    fn dry_run_sender(&self, clients: &Clients) -> Arc<dyn Sender> {
        match self.transform() {
            Some(code) => Arc::new(DryRun(Transformed::new(self.api(clients), code, DestinationType::data_fields(self)))),
            None => Arc::new(DryRun(self.api(clients))),
        }
    }
}

/// The registry: one line per destination type, with its module, its config
/// struct (which implements [`DestinationType`]), its variant and its `type`
/// in the config. Invoked once, in `destinations/mod.rs`; generates [`Kind`]
/// and [`DestinationConfig`].
macro_rules! registry {
    ($($(#[$doc:meta])* $module:ident::$config:ident as $variant:ident = $name:literal,)+) => {
        /// A destination `type`.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
        pub enum Kind {
            $($(#[$doc])* #[serde(rename = $name)] $variant,)+
        }

        impl Kind {
            /// Every type, in registry order.
            pub const ALL: &[Kind] = &[$(Kind::$variant),+];

            /// The `type` as written in the config.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Kind::$variant => $name,)+
                }
            }

            /// The type written `name` in the config, if there is one.
            pub fn from_name(name: &str) -> Option<Kind> {
                Kind::ALL.iter().copied().find(|k| k.as_str() == name)
            }

            /// The IAM actions destinations of this type call to send.
            pub fn send_actions(self) -> &'static [&'static str] {
                match self {
                    $(Kind::$variant => <$module::$config as $crate::destinations::registry::DestinationType>::SEND_ACTIONS,)+
                }
            }

            /// Whether destinations of this type take dead-letter envelopes.
            pub fn takes_dead_letters(self) -> bool {
                match self {
                    $(Kind::$variant => <$module::$config as $crate::destinations::registry::DestinationType>::TAKES_DEAD_LETTERS,)+
                }
            }
        }

        /// One destination as written, by its `type`.
        #[derive(Debug, Clone, serde::Deserialize)]
        #[serde(tag = "type")]
        pub enum DestinationConfig {
            $($(#[$doc])* #[serde(rename = $name)] $variant($module::$config),)+
        }

        impl DestinationConfig {
            /// Its `type`.
            pub fn kind(&self) -> Kind {
                match self {
                    $(DestinationConfig::$variant(_) => Kind::$variant,)+
                }
            }

            /// The config behind the registry's trait.
            pub fn spec(&self) -> &(dyn $crate::destinations::registry::DestinationSpec + 'static) {
                match self {
                    $(DestinationConfig::$variant(c) => c,)+
                }
            }

            /// The config behind the registry's trait, to change it (the local
            /// runner redirects endpoints).
            pub fn spec_mut(&mut self) -> &mut (dyn $crate::destinations::registry::DestinationSpec + 'static) {
                match self {
                    $(DestinationConfig::$variant(c) => c,)+
                }
            }
        }
    };
}

pub(crate) use registry;

impl std::fmt::Display for Kind {
    /// The `type` as written; honours width and alignment (`{:<9}`).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.pad(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_type_reads_back_from_its_name() {
        for kind in Kind::ALL {
            let json = serde_json::to_value(kind).expect("serializes");
            assert_eq!(json, serde_json::Value::String(kind.as_str().to_owned()));
            assert_eq!(kind.to_string(), kind.as_str());
            assert_eq!(format!("{kind:<24}|"), format!("{:<24}|", kind.as_str()), "padded like the text in tables");
            assert_eq!(Kind::from_name(kind.as_str()), Some(*kind));
        }
        let names: std::collections::BTreeSet<&str> = Kind::ALL.iter().map(|k| k.as_str()).collect();
        assert_eq!(names.len(), Kind::ALL.len(), "type names are unique");
        assert_eq!(Kind::from_name("s3"), None);
    }
}
