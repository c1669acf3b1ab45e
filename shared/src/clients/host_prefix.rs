//! SiteWise against custom endpoints.
//!
//! The SDK prepends a host prefix to SiteWise operations (`data.` for
//! `BatchPutAssetPropertyValue` and the value reads, `api.` for the control
//! plane). Against AWS that is right (`data.iotsitewise.<region>.amazonaws.com`);
//! against a custom endpoint it is not: `AWS_ENDPOINT_URL=http://127.0.0.1:4566`
//! becomes `data.127.0.0.1`, which does not resolve. aws-sdk-iotsitewise has
//! no switch for this, so this interceptor removes the prefix again, before
//! the request is signed, whenever the host without it is not an AWS domain.

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::context::BeforeTransmitInterceptorContextMut;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;

/// The host prefixes the SiteWise SDK adds.
const PREFIXES: [&str; 2] = ["data.", "api."];

/// Removes SiteWise's host prefix from requests to custom endpoints.
#[derive(Debug, Clone, Copy, Default)]
pub struct CustomEndpointHostPrefix;

impl Intercept for CustomEndpointHostPrefix {
    fn name(&self) -> &'static str {
        "CustomEndpointHostPrefix"
    }

    fn modify_before_signing(
        &self,
        context: &mut BeforeTransmitInterceptorContextMut<'_>,
        _: &RuntimeComponents,
        _: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let request = context.request_mut();
        if let Some(uri) = strip_host_prefix(request.uri()) {
            request.set_uri(uri)?;
        }
        Ok(())
    }
}

fn is_aws_host(host: &str) -> bool {
    let host = host.split(':').next().unwrap_or(host);
    host.ends_with(".amazonaws.com")
        || host.ends_with(".amazonaws.com.cn")
        || host.ends_with(".api.aws")
        || host.ends_with(".c2s.ic.gov")
        || host.ends_with(".sc2s.sgov.gov")
}

/// The URI without the SDK's host prefix, when it points at a custom endpoint.
pub fn strip_host_prefix(uri: &str) -> Option<String> {
    let (scheme, rest) = uri.split_once("://")?;
    let (host, path) = rest.find('/').map_or((rest, ""), |i| rest.split_at(i));
    let bare = PREFIXES.iter().find_map(|p| host.strip_prefix(p))?;
    if bare.is_empty() || is_aws_host(bare) {
        return None;
    }
    Some(format!("{scheme}://{bare}{path}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strips_the_prefix_from_custom_endpoints_only() {
        assert_eq!(strip_host_prefix("http://data.127.0.0.1:4566/properties").as_deref(), Some("http://127.0.0.1:4566/properties"));
        assert_eq!(
            strip_host_prefix("http://data.localhost:9000/properties/latest?propertyAlias=%2Fa").as_deref(),
            Some("http://localhost:9000/properties/latest?propertyAlias=%2Fa")
        );
        assert_eq!(strip_host_prefix("https://api.sitewise.example.com").as_deref(), Some("https://sitewise.example.com"));
        assert_eq!(strip_host_prefix("https://data.iotsitewise.eu-west-1.amazonaws.com/properties"), None);
        assert_eq!(strip_host_prefix("https://data.iotsitewise.cn-north-1.amazonaws.com.cn/properties"), None);
        assert_eq!(strip_host_prefix("http://127.0.0.1:4566/properties"), None, "no prefix, nothing to do");
    }
}
