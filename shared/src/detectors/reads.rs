//! Reading IoT Events detector state: `DescribeDetector` (one detector) and
//! `ListDetectors` (a model's detectors, a page at a time; the caller follows `nextToken`).
//!
//! Rules (IoT Events Data API reference): `ListDetectors` `maxResults` 1-250.

use crate::error::{from_sdk_error, ErrorClass, ItemError};
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use std::collections::BTreeMap;

/// `ListDetectors` `maxResults` range.
pub const MAX_RESULTS: i32 = 250;

/// A detector's state, as the HTTP function shows it.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct DetectorView {
    /// `detectorModelName`.
    pub detector_model: String,
    /// `keyValue`: which detector of the model.
    pub key: String,
    /// The state it is in (`stateName`).
    pub state: String,
    /// Variable name to value, as text (the API's `variables[]`).
    pub variables: BTreeMap<String, String>,
    /// Timers: name to expiry, epoch seconds.
    pub timers: BTreeMap<String, f64>,
    /// Created, epoch seconds.
    pub created: Option<f64>,
    /// Last updated, epoch seconds.
    pub updated: Option<f64>,
}

/// A detector in a listing.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct DetectorSummary {
    /// `detectorModelName`.
    pub detector_model: String,
    /// `keyValue`: which detector of the model.
    pub key: String,
    /// The state it is in, when the listing says.
    pub state: Option<String>,
    /// Last updated, epoch seconds.
    pub updated: Option<f64>,
}

/// `DescribeDetector`; `Ok(None)` when the model or key does not exist.
pub async fn describe_detector(client: &aws_sdk_ioteventsdata::Client, model: &str, key: &str) -> Result<Option<DetectorView>, ItemError> {
    match client.describe_detector().detector_model_name(model).key_value(key).send().await {
        Ok(out) => Ok(out.detector().map(|d| DetectorView {
            detector_model: d.detector_model_name().unwrap_or(model).to_owned(),
            key: d.key_value().unwrap_or(key).to_owned(),
            state: d.state().map(|s| s.state_name().to_owned()).unwrap_or_default(),
            variables: d.state().map(|s| s.variables().iter().map(|v| (v.name().to_owned(), v.value().to_owned())).collect()).unwrap_or_default(),
            timers: d.state().map(|s| s.timers().iter().map(|t| (t.name().to_owned(), t.timestamp().as_secs_f64())).collect()).unwrap_or_default(),
            created: d.creation_time().map(|t| t.as_secs_f64()),
            updated: d.last_update_time().map(|t| t.as_secs_f64()),
        })),
        Err(e) if e.code() == Some("ResourceNotFoundException") => Ok(None),
        Err(e) => Err(from_sdk_error(e)),
    }
}

/// One `ListDetectors` page: the summaries and the next page's token.
pub async fn list_detectors_page(
    client: &aws_sdk_ioteventsdata::Client,
    model: &str,
    state: Option<&str>,
    max_results: Option<i32>,
    next_token: Option<String>,
) -> Result<(Vec<DetectorSummary>, Option<String>), ItemError> {
    if let Some(m) = max_results {
        if !(1..=MAX_RESULTS).contains(&m) {
            return Err(ItemError {
                code: "InvalidRequestException".into(),
                message: format!("maxResults {m} is outside 1..={MAX_RESULTS}"),
                class: ErrorClass::Permanent,
            });
        }
    }
    let out = client
        .list_detectors()
        .detector_model_name(model)
        .set_state_name(state.map(str::to_owned))
        .set_max_results(max_results)
        .set_next_token(next_token)
        .send()
        .await
        .map_err(from_sdk_error)?;
    let summaries = out
        .detector_summaries()
        .iter()
        .map(|s| DetectorSummary {
            detector_model: s.detector_model_name().unwrap_or(model).to_owned(),
            key: s.key_value().unwrap_or_default().to_owned(),
            state: s.state().and_then(|st| st.state_name()).map(str::to_owned),
            updated: s.last_update_time().map(|t| t.as_secs_f64()),
        })
        .collect();
    Ok((summaries, out.next_token().map(str::to_owned)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorClass;
    use aws_sdk_ioteventsdata::operation::list_detectors::ListDetectorsOutput;
    use aws_sdk_ioteventsdata::types::{DetectorStateSummary, DetectorSummary as SdkSummary};
    use aws_smithy_mocks::{mock, mock_client, RuleMode};

    #[tokio::test]
    async fn list_detectors_pages_hand_on_the_next_token() {
        let summary = |k: &str| {
            SdkSummary::builder().detector_model_name("pump").key_value(k).state(DetectorStateSummary::builder().state_name("Idle").build()).build()
        };
        let rule = mock!(aws_sdk_ioteventsdata::Client::list_detectors).then_compute_output(move |input| match input.next_token() {
            None => ListDetectorsOutput::builder().detector_summaries(summary("a")).detector_summaries(summary("b")).next_token("t1").build(),
            Some("t1") => ListDetectorsOutput::builder().detector_summaries(summary("c")).build(),
            Some(other) => panic!("unexpected token {other}"),
        });
        let client = mock_client!(aws_sdk_ioteventsdata, RuleMode::MatchAny, &[&rule]);
        let (first, next) = list_detectors_page(&client, "pump", Some("Idle"), Some(2), None).await.expect("listed");
        assert_eq!((first.iter().map(|s| s.key.as_str()).collect::<Vec<_>>(), next.as_deref()), (vec!["a", "b"], Some("t1")));
        let (last, next) = list_detectors_page(&client, "pump", Some("Idle"), Some(2), Some("t1".into())).await.expect("listed");
        assert_eq!((last.iter().map(|s| s.key.as_str()).collect::<Vec<_>>(), next), (vec!["c"], None));
        assert_eq!(last[0].state.as_deref(), Some("Idle"));
        assert_eq!(rule.num_calls(), 2);
        let err = list_detectors_page(&client, "pump", None, Some(251), None).await.unwrap_err();
        assert_eq!(err.class, ErrorClass::Permanent);
        assert_eq!(rule.num_calls(), 2, "an out-of-range maxResults is refused before any call");
    }
}
