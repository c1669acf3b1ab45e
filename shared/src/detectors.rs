//! IoT Events detectors as the HTTP function serves them: reading their state
//! ([`reads`]: DescribeDetector, ListDetectors) and the `/detectors`
//! endpoints ([`endpoints`]), which also apply API-shaped updates through the
//! `iot_events_detector` destination's update model. Sources route requests
//! here; they know nothing of destinations.

pub mod endpoints;
pub mod reads;
