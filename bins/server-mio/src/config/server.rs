//! `[server]`: every flag of server-mio as a key of the same name in snake_case, with the
//! flag's meaning and limits ([`crate::checks`]).

use std::net::IpAddr;
use std::path::PathBuf;

use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize};

use crate::checks;

/// An authentication scheme (`--auth`, `server.auth`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum AuthScheme {
    /// HTTP Digest (RFC 7616): MD5 and SHA-256.
    Digest,
    /// HTTP Basic (RFC 7617).
    Basic,
}

/// The `[server]` table: `None` for a key the file does not set. Each field's name is its
/// flag's clap id (the flag `--loop` is the key `loop`), which is what
/// [`merge`](super::merge) relies on.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ServerSection {
    /// `--port`.
    pub port: Option<u16>,
    /// `--bind`.
    pub bind: Option<IpAddr>,
    /// `--media`; relative to the configuration file's directory once loaded.
    pub media: Option<PathBuf>,
    /// `--loop`.
    #[serde(rename = "loop")]
    pub loop_media: Option<bool>,
    /// `--session-timeout`, seconds.
    #[serde(default, deserialize_with = "seconds")]
    pub session_timeout: Option<u64>,
    /// `--mtu`, bytes.
    #[serde(default, deserialize_with = "mtu")]
    pub mtu: Option<usize>,
    /// `--fps`.
    #[serde(default, deserialize_with = "fps")]
    pub fps: Option<f64>,
    /// `--max-connections`.
    pub max_connections: Option<usize>,
    /// `--max-connections-per-ip`.
    pub max_connections_per_ip: Option<usize>,
    /// `--crowded-idle-timeout`, seconds.
    pub crowded_idle_timeout: Option<u64>,
    /// `--max-sessions`.
    pub max_sessions: Option<usize>,
    /// `--max-sessions-per-ip`.
    pub max_sessions_per_ip: Option<usize>,
    /// `--max-sessions-per-conn`.
    pub max_sessions_per_conn: Option<usize>,
    /// `--unplayed-timeout`, seconds.
    pub unplayed_timeout: Option<u64>,
    /// `--request-timeout`, seconds.
    #[serde(default, deserialize_with = "seconds")]
    pub request_timeout: Option<u64>,
    /// `--idle-timeout`, seconds.
    #[serde(default, deserialize_with = "seconds")]
    pub idle_timeout: Option<u64>,
    /// `--max-line`, bytes.
    pub max_line: Option<usize>,
    /// `--max-headers`.
    pub max_headers: Option<usize>,
    /// `--max-head`, bytes.
    pub max_head: Option<usize>,
    /// `--max-body`, bytes.
    pub max_body: Option<usize>,
    /// `--max-interleaved`, bytes.
    pub max_interleaved: Option<usize>,
    /// `--max-pending-output`, bytes.
    pub max_pending_output: Option<usize>,
    /// `--max-session-rate`, bytes per second (0: none).
    pub max_session_rate: Option<u64>,
    /// `--lab-max-packet`, bytes.
    pub lab_max_packet: Option<usize>,
    /// `--auth`: at least one scheme.
    #[serde(default, deserialize_with = "auth")]
    pub auth: Option<Vec<AuthScheme>>,
    /// `--realm`.
    pub realm: Option<String>,
    /// `--threads`.
    #[serde(default, deserialize_with = "threads")]
    pub threads: Option<usize>,
    /// `--no-transcode`.
    pub no_transcode: Option<bool>,
    /// `--preload`.
    pub preload: Option<bool>,
    /// `--media-cache-mb`.
    pub media_cache_mb: Option<usize>,
    /// `--max-file-mb`.
    #[serde(default, deserialize_with = "max_file_mb")]
    pub max_file_mb: Option<u64>,
    /// `--load-threads`.
    #[serde(default, deserialize_with = "load_threads")]
    pub load_threads: Option<usize>,
    /// `--no-gso`.
    pub no_gso: Option<bool>,
}

/// The value, refused with `check`'s reason (toml adds the key and the value's span).
fn checked<'de, D, T>(d: D, check: fn(T) -> Result<T, String>) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    check(T::deserialize(d)?)
        .map(Some)
        .map_err(D::Error::custom)
}

fn seconds<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    checked(d, checks::seconds)
}

fn mtu<'de, D: Deserializer<'de>>(d: D) -> Result<Option<usize>, D::Error> {
    checked(d, checks::mtu)
}

fn fps<'de, D: Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
    checked(d, checks::fps)
}

fn threads<'de, D: Deserializer<'de>>(d: D) -> Result<Option<usize>, D::Error> {
    checked(d, checks::threads)
}

fn load_threads<'de, D: Deserializer<'de>>(d: D) -> Result<Option<usize>, D::Error> {
    checked(d, checks::load_threads)
}

fn max_file_mb<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    checked(d, checks::max_file_mb)
}

fn auth<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<AuthScheme>>, D::Error> {
    checked(d, |schemes: Vec<AuthScheme>| {
        if schemes.is_empty() {
            Err("must name digest and/or basic".into())
        } else {
            Ok(schemes)
        }
    })
}
