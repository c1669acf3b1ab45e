//! Where the config comes from, chosen by environment variables, and reading
//! it from there.
//!
//! Contract (the SAM template and `docs/configuration.md` rely on these names):
//!
//! | variable | value | source |
//! |---|---|---|
//! | `FANOUT_CONFIG` | the config text | [`ConfigSource::Text`] |
//! | `FANOUT_CONFIG_FILE` | a path | [`ConfigSource::File`] |
//! | `FANOUT_CONFIG_S3` | `s3://bucket/key`, optionally `?versionId=...` | [`ConfigSource::S3`] (GetObject) |
//! | `FANOUT_CONFIG_APPCONFIG` | `application/environment/profile` | [`ConfigSource::AppConfig`] (the AppConfig Lambda extension on `localhost:${AWS_APPCONFIG_EXTENSION_HTTP_PORT:-2772}`) |
//!
//! A variable set but blank (empty or only whitespace) counts as unset: the
//! template sets every one and leaves the unused ones blank. More than one
//! set is an error naming them; none set reads the file `fanout.yaml`.
//! Whatever the source, the text is at most [`MAX_CONFIG_BYTES`], UTF-8, and
//! goes through [`Config::parse`] with [`ConfigSource::describe`] as its
//! name, so every error names the source.

use super::reading::{APPCONFIG_PORT_ENV, DEFAULT_APPCONFIG_PORT, MAX_CONFIG_BYTES};
use super::{appconfig, s3, Config, ConfigError, CONFIG_FILE_ENV, CONFIG_TEXT_ENV, DEFAULT_CONFIG_FILE};
use aws_config::SdkConfig;
use std::ffi::OsString;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The variable that names an S3 object holding the config.
pub const CONFIG_S3_ENV: &str = "FANOUT_CONFIG_S3";
/// The variable that names an AppConfig configuration (`application/environment/profile`).
pub const CONFIG_APPCONFIG_ENV: &str = "FANOUT_CONFIG_APPCONFIG";
/// The variable that turns on re-reading the config: seconds between reads (blank or 0: never).
pub const CONFIG_REFRESH_ENV: &str = "FANOUT_CONFIG_REFRESH_SECONDS";
/// Every variable that names a source, in the order they are reported.
const SOURCE_VARS: [&str; 4] = [CONFIG_TEXT_ENV, CONFIG_FILE_ENV, CONFIG_S3_ENV, CONFIG_APPCONFIG_ENV];

/// Where the config comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigSource {
    /// The text itself (`FANOUT_CONFIG`).
    Text(String),
    /// A file (`FANOUT_CONFIG_FILE`, default `fanout.yaml`).
    File(PathBuf),
    /// An S3 object (`FANOUT_CONFIG_S3`), read with GetObject.
    S3 {
        /// The bucket.
        bucket: String,
        /// The key, as is (not percent-encoded).
        key: String,
        /// A version of the object; `None` reads the latest.
        version_id: Option<String>,
    },
    /// A configuration served by the AWS AppConfig Agent Lambda extension
    /// (`FANOUT_CONFIG_APPCONFIG`); names or IDs, as the extension takes them.
    AppConfig {
        /// The application.
        application: String,
        /// The environment.
        environment: String,
        /// The configuration profile.
        profile: String,
        /// The extension's port on localhost (`AWS_APPCONFIG_EXTENSION_HTTP_PORT`, default 2772).
        port: u16,
    },
}

impl ConfigSource {
    /// The source the process environment names (see the module doc).
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_vars(|name| std::env::var_os(name))
    }

    /// [`ConfigSource::from_env`] with the variables read through `lookup`
    /// (for tests, and for callers that hold the environment elsewhere).
    pub fn from_vars(lookup: impl Fn(&str) -> Option<OsString>) -> Result<Self, ConfigError> {
        let mut set: Vec<(&'static str, OsString)> = Vec::new();
        for var in SOURCE_VARS {
            if let Some(value) = lookup(var).filter(|v| !is_blank(v)) {
                set.push((var, value));
            }
        }
        let Some((var, value)) = set.first().cloned() else {
            return Ok(ConfigSource::File(PathBuf::from(DEFAULT_CONFIG_FILE)));
        };
        if set.len() > 1 {
            let others: Vec<&str> = set[1..].iter().map(|(v, _)| *v).collect();
            return Err(ConfigError::Env {
                var,
                problem: format!(
                    "so {} {}: the config comes from exactly one source; leave the others unset or blank",
                    if others.len() == 1 { "is" } else { "are" },
                    others.join(" and ")
                ),
            });
        }
        if var == CONFIG_FILE_ENV {
            return Ok(ConfigSource::File(PathBuf::from(value)));
        }
        let text = value.into_string().map_err(|_| ConfigError::Env { var, problem: "is not valid UTF-8".into() })?;
        match var {
            CONFIG_TEXT_ENV => Ok(ConfigSource::Text(text)),
            CONFIG_S3_ENV => parse_s3(text.trim()).map_err(|problem| ConfigError::Env { var, problem }),
            _ => {
                let port = appconfig_port(&lookup)?;
                parse_appconfig(text.trim(), port).map_err(|problem| ConfigError::Env { var, problem })
            }
        }
    }

    /// The source's name in messages and in [`Config::file`]: `$FANOUT_CONFIG`,
    /// the path, `s3://bucket/key[?versionId=...]`, `appconfig:app/env/profile`.
    pub fn describe(&self) -> String {
        match self {
            ConfigSource::Text(_) => format!("${CONFIG_TEXT_ENV}"),
            ConfigSource::File(path) => path.display().to_string(),
            ConfigSource::S3 { bucket, key, version_id: None } => format!("s3://{bucket}/{key}"),
            ConfigSource::S3 { bucket, key, version_id: Some(v) } => format!("s3://{bucket}/{key}?versionId={v}"),
            ConfigSource::AppConfig { application, environment, profile, .. } => format!("appconfig:{application}/{environment}/{profile}"),
        }
    }

    /// Whether the text can change while the process runs (everything but
    /// `FANOUT_CONFIG`, which is fixed for the process's life).
    pub fn can_change(&self) -> bool {
        !matches!(self, ConfigSource::Text(_))
    }

    /// The config text, fetched from the source (`sdk` is used for S3 only).
    pub async fn read(&self, sdk: &SdkConfig) -> Result<String, ConfigError> {
        let bytes = match self {
            ConfigSource::Text(text) => return Ok(text.clone()),
            ConfigSource::File(path) => read_file(path)?,
            ConfigSource::S3 { bucket, key, version_id } => s3::get_object(sdk, bucket, key, version_id.as_deref(), &self.describe()).await?,
            ConfigSource::AppConfig { application, environment, profile, port } => {
                appconfig::get(*port, application, environment, profile, &self.describe()).await?
            }
        };
        utf8(bytes, &self.describe())
    }

    /// Read and validate a text or file source without the AWS SDK (what
    /// [`Config::load`] does for a file); the S3 and AppConfig sources are an
    /// error naming their variable.
    pub fn load_local(&self) -> Result<Config, ConfigError> {
        let text = match self {
            ConfigSource::Text(text) => text.clone(),
            ConfigSource::File(path) => utf8(read_file(path)?, &self.describe())?,
            ConfigSource::S3 { .. } | ConfigSource::AppConfig { .. } => {
                let var = if matches!(self, ConfigSource::S3 { .. }) { CONFIG_S3_ENV } else { CONFIG_APPCONFIG_ENV };
                return Err(ConfigError::Env {
                    var,
                    problem: "this entry point reads only FANOUT_CONFIG and files: load the config with fanout::live::LiveFanout::from_env".into(),
                });
            }
        };
        self.parse(&text)
    }

    /// Validate `text` read from this source: [`Config::parse`] named by
    /// [`ConfigSource::describe`], after refusing an empty config by name.
    pub fn parse(&self, text: &str) -> Result<Config, ConfigError> {
        let name = self.describe();
        if text.trim().is_empty() {
            return Err(ConfigError::Parse { file: PathBuf::from(&name), message: "the config is empty".into() });
        }
        Config::parse(text, Path::new(&name))
    }
}

/// The refresh interval `FANOUT_CONFIG_REFRESH_SECONDS` asks for: `None`
/// when unset, blank or 0; whole seconds otherwise.
pub fn refresh_interval_from_vars(lookup: impl Fn(&str) -> Option<OsString>) -> Result<Option<Duration>, ConfigError> {
    let Some(value) = lookup(CONFIG_REFRESH_ENV).filter(|v| !is_blank(v)) else { return Ok(None) };
    let bad = || ConfigError::Env {
        var: CONFIG_REFRESH_ENV,
        problem: format!("`{}` is not a whole number of seconds (0 or blank: never re-read)", value.to_string_lossy()),
    };
    let seconds: u64 = value.to_str().ok_or_else(bad)?.trim().parse().map_err(|_| bad())?;
    Ok((seconds > 0).then(|| Duration::from_secs(seconds)))
}

fn is_blank(value: &OsString) -> bool {
    value.to_string_lossy().trim().is_empty()
}

/// The extension's port: `AWS_APPCONFIG_EXTENSION_HTTP_PORT`, else 2772.
fn appconfig_port(lookup: &impl Fn(&str) -> Option<OsString>) -> Result<u16, ConfigError> {
    let Some(value) = lookup(APPCONFIG_PORT_ENV).filter(|v| !is_blank(v)) else { return Ok(DEFAULT_APPCONFIG_PORT) };
    value
        .to_str()
        .and_then(|v| v.trim().parse::<u16>().ok())
        .filter(|p| *p > 0)
        .ok_or_else(|| ConfigError::Env { var: APPCONFIG_PORT_ENV, problem: format!("`{}` is not a port number (1-65535)", value.to_string_lossy()) })
}

/// `s3://bucket/key` with an optional `?versionId=...` at the end; any
/// other `?` belongs to the key.
fn parse_s3(uri: &str) -> Result<ConfigSource, String> {
    let form = "write s3://bucket/key, optionally ending in ?versionId=VERSION";
    let rest = uri.strip_prefix("s3://").ok_or_else(|| format!("`{uri}` is not an S3 URI: {form}"))?;
    let (path, version_id) = match rest.rsplit_once("?versionId=") {
        Some((path, version)) if !version.is_empty() && !version.contains(['&', '=', '?']) => (path, Some(version.to_owned())),
        Some(_) => return Err(format!("`{uri}` has an empty or malformed versionId: {form}")),
        None => (rest, None),
    };
    let (bucket, key) = path.split_once('/').unwrap_or((path, ""));
    if bucket.is_empty() || bucket.contains(char::is_whitespace) {
        return Err(format!("`{uri}` names no bucket: {form}"));
    }
    if key.is_empty() {
        return Err(format!("`{uri}` names no object key: {form}"));
    }
    Ok(ConfigSource::S3 { bucket: bucket.to_owned(), key: key.to_owned(), version_id })
}

/// `application/environment/profile`: three non-empty names or IDs.
fn parse_appconfig(value: &str, port: u16) -> Result<ConfigSource, String> {
    let parts: Vec<&str> = value.split('/').map(str::trim).collect();
    match parts[..] {
        [application, environment, profile] if parts.iter().all(|p| !p.is_empty()) => Ok(ConfigSource::AppConfig {
            application: application.to_owned(),
            environment: environment.to_owned(),
            profile: profile.to_owned(),
            port,
        }),
        _ => Err(format!(
            "`{value}` is not application/environment/profile (three names or IDs separated by `/`, as the AppConfig extension takes them)"
        )),
    }
}

/// A file's bytes, at most [`MAX_CONFIG_BYTES`].
fn read_file(path: &Path) -> Result<Vec<u8>, ConfigError> {
    let read_error = |source| ConfigError::Read { file: path.to_owned(), source };
    let file = std::fs::File::open(path).map_err(read_error)?;
    let size = file.metadata().ok().map(|m| m.len());
    let mut bytes = Vec::new();
    file.take(MAX_CONFIG_BYTES + 1).read_to_end(&mut bytes).map_err(read_error)?;
    if bytes.len() as u64 > MAX_CONFIG_BYTES {
        return Err(ConfigError::TooLarge { origin: path.display().to_string(), size, limit: MAX_CONFIG_BYTES });
    }
    Ok(bytes)
}

/// The bytes as text, or a parse error naming the first byte that is not UTF-8.
fn utf8(bytes: Vec<u8>, origin: &str) -> Result<String, ConfigError> {
    String::from_utf8(bytes).map_err(|e| ConfigError::Parse {
        file: PathBuf::from(origin),
        message: format!("the config is not UTF-8 text (byte {} is not)", e.utf8_error().valid_up_to()),
    })
}

#[cfg(test)]
mod tests;
