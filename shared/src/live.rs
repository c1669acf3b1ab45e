//! The running router, re-read from its source on an interval.
//!
//! Lambda freezes the process between invocations, so there is no
//! background timer: [`LiveFanout::current`], called as each invocation
//! starts, re-reads the config first when `FANOUT_CONFIG_REFRESH_SECONDS`
//! have passed since the last read (successful or not). Then:
//!
//! - the same text as the running config (by SHA-256): nothing changes;
//! - text that fails to load or to validate: the running config stays, and
//!   a `WARN` log says why (so does every later read while it stays bad);
//! - a valid new config: a new [`Fanout`] with the same SDK clients serves
//!   this invocation and the next ones (invocations already running keep
//!   theirs). Its rate limiters start afresh.
//!
//! A refresh never fails an invocation, and one invocation does not wait for
//! another's refresh (the one that finds a refresh under way uses the
//! running config). The clock is injectable ([`Clock`]), so tests step time
//! instead of sleeping.

use crate::config::source::{refresh_interval_from_vars, ConfigSource};
use crate::config::ConfigError;
use crate::{Clients, Fanout};
use aws_config::SdkConfig;
use sha2::{Digest, Sha256};
use std::ffi::OsString;
use std::fmt;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

/// Where [`LiveFanout`] reads the time from.
pub trait Clock: Send + Sync + fmt::Debug {
    /// Now, monotonic.
    fn now(&self) -> Instant;
}

/// The process's monotonic clock (it runs on while Lambda freezes the process).
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Instant {
        Instant::now()
    }
}

/// A clock that moves only when told to (tests).
#[derive(Debug)]
pub struct ManualClock(Mutex<Instant>);

impl Default for ManualClock {
    fn default() -> Self {
        Self(Mutex::new(Instant::now()))
    }
}

impl ManualClock {
    /// Move the clock forward by `by`.
    pub fn advance(&self, by: Duration) {
        let mut now = self.0.lock().unwrap_or_else(|p| p.into_inner());
        *now += by;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Instant {
        *self.0.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// What one re-read did.
#[derive(Debug)]
pub enum Refreshed {
    /// The text is the running config's: nothing changed.
    Unchanged,
    /// A new config replaced the running one.
    Replaced,
    /// The read or the validation failed: the running config stays.
    Kept(ConfigError),
}

/// The running router, re-read on an interval: [`LiveFanout::current`] is
/// what each invocation uses.
#[derive(Debug)]
pub struct LiveFanout {
    current: RwLock<Arc<Fanout>>,
    refresh: Option<Refresher>,
    /// Given to every router built, the re-read ones included.
    telemetry: crate::metrics::Telemetry,
}

#[derive(Debug)]
struct Refresher {
    source: ConfigSource,
    sdk: SdkConfig,
    clients: Clients,
    interval: Duration,
    clock: Arc<dyn Clock>,
    /// The ledger table the environment names, over every config read.
    ledger_table: Option<String>,
    /// When the source was last read and the digest of the running text;
    /// held (without waiting) by the one invocation refreshing.
    last: tokio::sync::Mutex<LastRead>,
}

#[derive(Debug)]
struct LastRead {
    at: Instant,
    digest: [u8; 32],
}

impl LiveFanout {
    /// What a function's `main` calls at cold start (metrics to stdout,
    /// [`crate::metrics::Telemetry::lambda_from_env`]): the standard AWS
    /// configuration (credential chain, `AWS_REGION`,
    /// `AWS_ENDPOINT_URL[_<SERVICE>]`), the config from the source the
    /// environment names ([`ConfigSource::from_env`]), validated, every SDK
    /// client, and `FANOUT_CONFIG_REFRESH_SECONDS`.
    pub async fn from_env() -> Result<Self, ConfigError> {
        let sdk = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
        Ok(Self::from_vars(|name| std::env::var_os(name), sdk).await?.with_telemetry(crate::metrics::Telemetry::lambda_from_env()))
    }

    /// [`LiveFanout::from_env`] with the variables read through `lookup` and a given `sdk`.
    /// `FANOUT_LEDGER_TABLE` ([`crate::ledger::env::LEDGER_TABLE_ENV`]),
    /// when set, turns the delivery ledger on at that table in every config
    /// read.
    pub async fn from_vars(lookup: impl Fn(&str) -> Option<OsString>, sdk: SdkConfig) -> Result<Self, ConfigError> {
        let source = ConfigSource::from_vars(&lookup)?;
        let refresh = refresh_interval_from_vars(&lookup)?;
        let ledger_table = crate::ledger::env::table_from_vars(&lookup)?;
        Self::load_with(source, sdk, refresh, Arc::new(SystemClock), ledger_table).await
    }

    /// Read and validate the config from `source`, build the router, and
    /// re-read every `refresh` (`None`: never; also never for
    /// [`ConfigSource::Text`], which cannot change) by `clock`.
    pub async fn load(source: ConfigSource, sdk: SdkConfig, refresh: Option<Duration>, clock: Arc<dyn Clock>) -> Result<Self, ConfigError> {
        Self::load_with(source, sdk, refresh, clock, None).await
    }

    /// [`LiveFanout::load`], with the delivery ledger on at `ledger_table`
    /// (when given) in this config and every one re-read.
    async fn load_with(
        source: ConfigSource,
        sdk: SdkConfig,
        refresh: Option<Duration>,
        clock: Arc<dyn Clock>,
        ledger_table: Option<String>,
    ) -> Result<Self, ConfigError> {
        let text = source.read(&sdk).await?;
        let config = overridden(source.parse(&text)?, ledger_table.as_deref());
        let clients = Clients::from_sdk_config(&sdk);
        let fanout = Fanout::new(config, &clients);
        let refresh = refresh.filter(|_| source.can_change()).map(|interval| Refresher {
            last: tokio::sync::Mutex::new(LastRead { at: clock.now(), digest: digest(&text) }),
            source,
            sdk,
            clients,
            interval,
            clock,
            ledger_table,
        });
        Ok(Self { current: RwLock::new(Arc::new(fanout)), refresh, telemetry: crate::metrics::Telemetry::discard() })
    }

    /// A router that is never re-read.
    pub fn fixed(fanout: Fanout) -> Self {
        let telemetry = fanout.telemetry().clone();
        Self { current: RwLock::new(Arc::new(fanout)), refresh: None, telemetry }
    }

    /// Write each invocation's summary line and metrics through `telemetry`
    /// (for the running router and every one a re-read builds).
    pub fn with_telemetry(mut self, telemetry: crate::metrics::Telemetry) -> Self {
        let running = self.running().as_ref().clone().with_telemetry(telemetry.clone());
        self.current = RwLock::new(Arc::new(running));
        self.telemetry = telemetry;
        self
    }

    /// The interval between reads, when the config is re-read.
    pub fn refresh_interval(&self) -> Option<Duration> {
        self.refresh.as_ref().map(|r| r.interval)
    }

    /// The router for the invocation that is starting: re-read first when
    /// due (see the module doc). Never fails.
    pub async fn current(&self) -> Arc<Fanout> {
        if let Some(refresher) = &self.refresh {
            if let Ok(mut last) = refresher.last.try_lock() {
                let now = refresher.clock.now();
                if now.saturating_duration_since(last.at) >= refresher.interval {
                    last.at = now;
                    self.reread(refresher, &mut last).await;
                }
            }
        }
        self.running()
    }

    /// Re-read now, whether due or not (what [`LiveFanout::current`] does
    /// when due); logs like it. Without refresh, [`Refreshed::Unchanged`].
    pub async fn refresh_now(&self) -> Refreshed {
        let Some(refresher) = &self.refresh else { return Refreshed::Unchanged };
        let mut last = refresher.last.lock().await;
        last.at = refresher.clock.now();
        self.reread(refresher, &mut last).await
    }

    /// The running router, without refreshing.
    pub fn running(&self) -> Arc<Fanout> {
        Arc::clone(&self.current.read().unwrap_or_else(|p| p.into_inner()))
    }

    async fn reread(&self, refresher: &Refresher, last: &mut LastRead) -> Refreshed {
        let origin = refresher.source.describe();
        let outcome = match refresher.source.read(&refresher.sdk).await {
            Err(e) => Refreshed::Kept(e),
            Ok(text) if digest(&text) == last.digest => Refreshed::Unchanged,
            Ok(text) => match refresher.source.parse(&text) {
                Err(e) => Refreshed::Kept(e),
                Ok(config) => {
                    let config = overridden(config, refresher.ledger_table.as_deref());
                    let destinations = config.destinations.len();
                    let fanout = Arc::new(Fanout::new(config, &refresher.clients).with_telemetry(self.telemetry.clone()));
                    *self.current.write().unwrap_or_else(|p| p.into_inner()) = fanout;
                    last.digest = digest(&text);
                    tracing::info!(config = %origin, destinations, "config re-read: the new config serves from this invocation on");
                    Refreshed::Replaced
                }
            },
        };
        if let Refreshed::Kept(e) = &outcome {
            tracing::warn!(config = %origin, error = %e, "config re-read failed: keeping the running config");
        }
        outcome
    }
}

/// `config` with what the environment sets over it.
fn overridden(mut config: crate::config::Config, ledger_table: Option<&str>) -> crate::config::Config {
    if let Some(table) = ledger_table {
        crate::ledger::env::use_table(&mut config, table);
    }
    config
}

fn digest(text: &str) -> [u8; 32] {
    Sha256::digest(text.as_bytes()).into()
}
