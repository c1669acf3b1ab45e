//! How any config source is read, whatever it is: the size cap, the time
//! one read may take, and the AppConfig extension's port. Shared by the
//! source selection (`source.rs`) and the readers (`s3.rs`, `appconfig.rs`).

use std::time::Duration;

/// The AppConfig extension's own variable for its HTTP port.
pub const APPCONFIG_PORT_ENV: &str = "AWS_APPCONFIG_EXTENSION_HTTP_PORT";
/// The AppConfig extension's port when [`APPCONFIG_PORT_ENV`] is unset.
pub const DEFAULT_APPCONFIG_PORT: u16 = 2772;
/// The largest config fanout reads from a file, S3 or AppConfig (4 MiB):
/// far above any sensible config (50 destinations and routes are ~7 KB),
/// low enough that a wrong object cannot exhaust a small function's memory.
pub const MAX_CONFIG_BYTES: u64 = 4 * 1024 * 1024;
/// How long one read from S3 or the AppConfig extension may take, retries included.
pub const READ_TIMEOUT: Duration = Duration::from_secs(10);
