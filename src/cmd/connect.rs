//! Turns the global flags into a checked connection: base URL, key, the API profile, and the
//! sandbox if asked.
//!
//! Everything here happens before any row is read or request sent, so a wrong flag fails fast
//! with exit code 2 and a message that says what to do.

use std::net::IpAddr;
use std::time::Duration;

use anyhow::Context;

use crate::api::{ApiKey, Client, ClientOptions};
use crate::apply::Writes;
use crate::cmd::Global;
use crate::error::usage;
use crate::{profile, sandbox};

/// The environment variable the vendor's examples take the key from.
pub const KEY_VAR: &str = "ICLOUDREADY_API_KEY";

/// A client and, with `--sandbox`, the sandbox it talks to (stopped when this is dropped).
pub struct Connection {
    pub client: Client,
    pub sandbox: Option<sandbox::Running>,
    /// The API profile made for this base URL, when there is one.
    pub profile: Option<profile::Loaded>,
}

impl Connection {
    /// What the API profile says about this API's writes (nothing without a profile made by
    /// `check --write`).
    pub fn writes(&self) -> Writes {
        Writes::from_profile(self.profile.as_ref().map(|loaded| &loaded.profile))
    }
}

/// Checks the flags, starts the sandbox when asked, reads the API profile, and builds the
/// client.
pub async fn connect(global: &Global, options: ClientOptions) -> anyhow::Result<Connection> {
    open(global, options, true).await
}

/// As [`connect`], but without the API profile: for `check`, which finds out afresh.
pub async fn connect_unprofiled(
    global: &Global,
    options: ClientOptions,
) -> anyhow::Result<Connection> {
    open(global, options, false).await
}

async fn open(
    global: &Global,
    mut options: ClientOptions,
    read_profile: bool,
) -> anyhow::Result<Connection> {
    options.timeout = Duration::from_secs(global.timeout.max(1));
    options.max_wait = Duration::from_secs(global.max_wait);
    options.max_response_bytes = global.max_response_mb.saturating_mul(1024 * 1024);
    if global.sandbox {
        let running = sandbox::start(sandbox::Options::default())
            .await
            .context("cannot start the sandbox")?;
        crate::info!(
            "Using the sandbox at {} (an in-memory emulator; nothing leaves this machine).",
            running.base_url
        );
        let key = read_key(global)?.unwrap_or_else(|| ApiKey::new("sandbox"));
        let profile = use_profile(global, read_profile, &running.base_url, &mut options)?;
        let client = Client::new(&running.base_url, key, options)?;
        return Ok(Connection {
            client,
            sandbox: Some(running),
            profile,
        });
    }
    check_base_url(&global.base_url, global.allow_http)?;
    let key = read_key(global)?.ok_or_else(|| {
        usage(format!(
            "no API key: set {KEY_VAR} (export {KEY_VAR}=your-key) or pass --api-key-file FILE; \
             to try custbulk without an account, add --sandbox"
        ))
    })?;
    let profile = use_profile(global, read_profile, &global.base_url, &mut options)?;
    let client = Client::new(&global.base_url, key, options)?;
    Ok(Connection {
        client,
        sandbox: None,
        profile,
    })
}

/// The profile for `base_url`, its findings put into `options` where no flag set them.
fn use_profile(
    global: &Global,
    read: bool,
    base_url: &str,
    options: &mut ClientOptions,
) -> anyhow::Result<Option<profile::Loaded>> {
    if !read {
        return Ok(None);
    }
    let loaded = profile::for_base_url(global.profile.as_deref(), base_url)?;
    if let Some(loaded) = &loaded {
        loaded.apply(options);
        if let Some(writes) = Writes::from_profile(Some(&loaded.profile)).describe() {
            crate::debug!("The profile says how this API writes: {writes}.");
        }
    }
    Ok(loaded)
}

/// The key from `--api-key-file` or the environment; `None` when neither gives one.
fn read_key(global: &Global) -> anyhow::Result<Option<ApiKey>> {
    if let Some(path) = &global.api_key_file {
        let text = std::fs::read_to_string(path).map_err(|e| {
            usage(format!(
                "cannot read the API key file {}: {e}",
                path.display()
            ))
        })?;
        let key = text.trim();
        if key.is_empty() {
            return Err(usage(format!(
                "the API key file {} is empty",
                path.display()
            )));
        }
        return Ok(Some(ApiKey::new(key)));
    }
    Ok(std::env::var(KEY_VAR)
        .ok()
        .map(|k| k.trim().to_string())
        .filter(|k| !k.is_empty())
        .map(ApiKey::new))
}

/// Refuses URLs that would send the key in clear text to another machine.
pub fn check_base_url(base_url: &str, allow_http: bool) -> anyhow::Result<()> {
    // First, and without quoting the URL: it would show the password.
    if crate::api::has_credentials(base_url) {
        return Err(usage(crate::api::CREDENTIALS_IN_URL));
    }
    let url = reqwest::Url::parse(base_url)
        .map_err(|e| usage(format!("--base-url {base_url:?} is not a URL: {e}")))?;
    match url.scheme() {
        "https" => Ok(()),
        "http" if allow_http || is_loopback(&url) => Ok(()),
        "http" => Err(usage(format!(
            "--base-url {base_url} is plain http: the API key would travel in clear text. \
             Use https, or pass --allow-http if you really mean it"
        ))),
        other => Err(usage(format!(
            "--base-url must be an https URL, not {other}:"
        ))),
    }
}

fn is_loopback(url: &reqwest::Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
        Some(url::Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_http_is_refused_unless_loopback_or_allowed() {
        assert!(check_base_url("https://api.icloud-ready.com/api/v2", false).is_ok());
        assert!(check_base_url("http://127.0.0.1:8080/api/v2", false).is_ok());
        assert!(check_base_url("http://localhost:8080/api/v2", false).is_ok());
        assert!(check_base_url("http://[::1]:8080/api/v2", false).is_ok());
        let err = check_base_url("http://api.example.com/api/v2", false).unwrap_err();
        assert_eq!(crate::error::exit_code(&err), crate::error::USAGE);
        assert!(err.to_string().contains("--allow-http"));
        assert!(check_base_url("http://api.example.com/api/v2", true).is_ok());
        assert!(check_base_url("ftp://x/", true).is_err());
        assert!(check_base_url("not a url", false).is_err());
        let err = check_base_url("https://me:hunter2@api.example.com/api/v2", false).unwrap_err();
        assert_eq!(crate::error::exit_code(&err), crate::error::USAGE);
        assert!(!err.to_string().contains("hunter2"), "{err}");
    }
}
