//! `server-mio --config FILE`: the TOML configuration file.
//!
//! ```toml
//! [server]                 # every flag, as a key of the same name in snake_case
//! port = 8554
//! media = "media"          # relative to this file's directory
//! auth = ["digest"]
//!
//! [users]                  # name = "password" (the same as --user NAME:PASSWORD)
//! alice = "secret"
//!
//! [http]                   # the browser side (the same as --http PORT, --admin NAME)
//! port = 8080
//! admins = ["alice"]
//!
//! [paths.cam1]             # a stream and where its frames come from
//! source = "rtsp://camera.example/stream"
//! on_demand = true
//! ```
//!
//! Everything is optional. A flag given on the command line wins over the file, the file
//! over the defaults ([`merge`]); `--user` adds to `[users]` (for a name in both, the flag's
//! password). Unknown keys, values out of their flag's limits ([`crate::checks`]), keys a
//! path's source does not use and unknown user names are refused, each at its line and
//! column ([`ConfigError`]: `server.toml:7:10: paths.cam1.source: unknown scheme "ftp" …`).
//! A path with the name of a file below the media root is the path: the configuration wins.
//! `bins/server-mio/server.example.toml` shows every key.

mod error;
pub(crate) mod merge;
mod paths;
mod print;
mod server;

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;
use toml::Spanned;

pub use error::ConfigError;
pub use paths::{PathConfig, RtspTransport, Source};
pub use print::effective_toml;
pub use server::{AuthScheme, ServerSection};

use error::{key_path, Problems};

/// A configuration file, checked.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Config {
    /// `[server]`: the flags it sets.
    pub server: ServerSection,
    /// `[users]`: name → password, the global users (as `--user`).
    pub users: BTreeMap<String, String>,
    /// `[paths.NAME]`: the configured streams, by name.
    pub paths: BTreeMap<String, PathConfig>,
    /// `[http]`: the HTTP port and the admins.
    pub http: HttpSection,
}

/// The `[http]` table (`--http PORT`, `--admin NAME`).
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct HttpSection {
    /// `--http`: the HTTP port.
    pub port: Option<u16>,
    /// `--admin`: users who may kick sessions over HTTP.
    pub admins: Option<Vec<String>>,
}

/// `[http]` as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawHttp {
    port: Option<u16>,
    admins: Option<Vec<Spanned<String>>>,
}

/// The file as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    #[serde(default)]
    server: ServerSection,
    #[serde(default)]
    users: BTreeMap<Spanned<String>, Spanned<String>>,
    #[serde(default)]
    paths: BTreeMap<Spanned<String>, paths::RawPath>,
    #[serde(default)]
    http: RawHttp,
}

impl Config {
    /// Reads and checks the file `file`.
    pub fn load(file: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(file).map_err(|e| ConfigError::unreadable(file, &e))?;
        Self::parse(&text, file)
    }

    /// Checks the configuration `text` of the file `file` (named in errors; a relative
    /// `server.media` is made relative to its directory).
    pub fn parse(text: &str, file: &Path) -> Result<Self, ConfigError> {
        let raw: RawConfig =
            toml::from_str(text).map_err(|e| ConfigError::from_toml(file, text, &e))?;
        let mut problems = Problems::new(text);
        let mut users = BTreeMap::new();
        for (name, password) in raw.users {
            if name.get_ref().is_empty() || name.get_ref().contains(':') {
                let key = key_path(&["users", name.get_ref()]);
                let why = "a user name is non-empty, without ':'";
                problems.push(Some(name.span()), format!("{key}: {why}"));
            } else if password.get_ref().is_empty() {
                let key = key_path(&["users", name.get_ref()]);
                problems.push(
                    Some(password.span()),
                    format!("{key}: the password is empty"),
                );
            }
            users.insert(name.into_inner(), password.into_inner());
        }
        let mut paths = BTreeMap::new();
        for (name, raw) in raw.paths {
            if let Some(path) = paths::check(&name, raw, &users, &mut problems) {
                paths.insert(name.into_inner(), path);
            }
        }
        for name in raw.http.admins.iter().flatten() {
            if !users.contains_key(name.get_ref()) {
                let key = key_path(&["http", "admins"]);
                let why = format!("unknown user {:?} (not in [users])", name.get_ref());
                problems.push(Some(name.span()), format!("{key}: {why}"));
            }
        }
        let http = HttpSection {
            port: raw.http.port,
            admins: raw
                .http
                .admins
                .map(|a| a.into_iter().map(Spanned::into_inner).collect()),
        };
        problems.finish(file)?;
        let mut server = raw.server;
        if let Some(media) = &mut server.media {
            if media.is_relative() {
                *media = file.parent().unwrap_or(Path::new("")).join(&*media);
            }
        }
        Ok(Self {
            server,
            users,
            paths,
            http,
        })
    }
}

#[cfg(test)]
mod tests;
