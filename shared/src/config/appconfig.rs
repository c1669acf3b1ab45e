//! Reading the config from the AWS AppConfig Agent Lambda extension
//! (`FANOUT_CONFIG_APPCONFIG`).
//!
//! The extension runs beside the function (a layer) and serves each
//! deployed configuration over plain HTTP on localhost:
//! `GET http://localhost:{port}/applications/{app}/environments/{env}/configurations/{profile}`
//! answers 200 with the configuration's bytes (and a `Configuration-Version`
//! header), 400 for a bad request and 404 when there is no such
//! configuration (or it was never deployed), 500/502/504 when AppConfig
//! failed behind it. The extension calls AppConfig, caches and polls; this
//! side is one HTTP/1.1 GET through hyper's client connection (already in
//! the SDK's dependency tree), with [`READ_TIMEOUT`] for the whole exchange
//! and the body capped at [`MAX_CONFIG_BYTES`].

use super::reading::{APPCONFIG_PORT_ENV, MAX_CONFIG_BYTES, READ_TIMEOUT};
use super::ConfigError;
use bytes::Bytes;
use http_body_util::{BodyExt, Empty, Limited};
use hyper::header::{CONTENT_LENGTH, HOST};
use hyper::{Request, StatusCode};

/// The path the extension serves a configuration at, names percent-encoded.
pub fn path(application: &str, environment: &str, profile: &str) -> String {
    format!("/applications/{}/environments/{}/configurations/{}", encode(application), encode(environment), encode(profile))
}

/// The configuration's bytes from the extension on `localhost:port`; `origin` names it in errors.
pub(crate) async fn get(port: u16, application: &str, environment: &str, profile: &str, origin: &str) -> Result<Vec<u8>, ConfigError> {
    let path = path(application, environment, profile);
    let url = format!("http://localhost:{port}{path}");
    match tokio::time::timeout(READ_TIMEOUT, fetch(port, &path, &url, origin)).await {
        Ok(result) => result,
        Err(_) => Err(ConfigError::Fetch {
            origin: origin.to_owned(),
            problem: format!("the AppConfig extension at {url} did not answer within {} s", READ_TIMEOUT.as_secs()),
        }),
    }
}

async fn fetch(port: u16, path: &str, url: &str, origin: &str) -> Result<Vec<u8>, ConfigError> {
    let error = |problem: String| ConfigError::Fetch { origin: origin.to_owned(), problem };
    let stream = tokio::net::TcpStream::connect(("localhost", port)).await.map_err(|e| {
        error(format!(
            "cannot reach the AppConfig extension at {url}: {e} (is the AWS AppConfig Agent Lambda extension layer added to the function, and is {APPCONFIG_PORT_ENV} its port?)"
        ))
    })?;
    let broken = |e: hyper::Error| error(format!("the exchange with the AppConfig extension at {url} failed: {e}"));
    let (mut sender, connection) = hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream)).await.map_err(broken)?;
    let driver = tokio::spawn(connection);
    let request = Request::get(path)
        .header(HOST, format!("localhost:{port}"))
        .body(Empty::<Bytes>::new())
        .map_err(|e| error(format!("cannot build the request for {url}: {e}")))?;
    let response = sender.send_request(request).await.map_err(broken)?;
    let status = response.status();
    let size = response.headers().get(CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok());
    if status == StatusCode::OK && size.is_some_and(|n| n > MAX_CONFIG_BYTES) {
        driver.abort();
        return Err(ConfigError::TooLarge { origin: origin.to_owned(), size, limit: MAX_CONFIG_BYTES });
    }
    let body = Limited::new(response.into_body(), MAX_CONFIG_BYTES as usize).collect().await;
    driver.abort();
    let body = match body {
        Ok(collected) => collected.to_bytes(),
        Err(e) if e.is::<http_body_util::LengthLimitError>() => {
            return Err(ConfigError::TooLarge { origin: origin.to_owned(), size, limit: MAX_CONFIG_BYTES });
        }
        Err(e) => return Err(error(format!("the answer of the AppConfig extension at {url} broke off: {e}"))),
    };
    if status == StatusCode::OK {
        return Ok(body.to_vec());
    }
    let said = String::from_utf8_lossy(&body);
    let said: String = said.trim().chars().take(300).collect();
    let hint = match status {
        StatusCode::NOT_FOUND => {
            ": check the application, environment and profile names (or IDs), and that a deployment to this environment has completed"
        }
        StatusCode::BAD_REQUEST => ": check the application, environment and profile names (or IDs)",
        _ => {
            ": AppConfig or the extension failed; the function's role needs appconfig:StartConfigurationSession and appconfig:GetLatestConfiguration"
        }
    };
    Err(error(format!(
        "the AppConfig extension at {url} answered {status}{}{hint}",
        if said.is_empty() { String::new() } else { format!(" ({said})") }
    )))
}

/// Percent-encode one path segment: everything but RFC 3986's unreserved characters.
fn encode(segment: &str) -> String {
    let mut out = String::with_capacity(segment.len());
    for b in segment.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_percent_encoded_in_the_path() {
        assert_eq!(path("fanout", "prod", "routes"), "/applications/fanout/environments/prod/configurations/routes");
        assert_eq!(path("my app", "é", "a/b?c"), "/applications/my%20app/environments/%C3%A9/configurations/a%2Fb%3Fc");
    }
}
