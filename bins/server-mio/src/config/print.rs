//! The effective configuration as a configuration file (`server-mio --check-config`):
//! `[server]` with every key, `[users]` with the passwords hidden, and each path with the
//! keys its source uses, then `[http]`.

use std::collections::BTreeMap;

use serde::Serialize;

use super::{HttpSection, PathConfig, ServerSection, Source};

/// What `--check-config` prints in place of a password.
pub const HIDDEN: &str = "(hidden)";

/// The document, in the file's order.
#[derive(Serialize)]
struct Effective<'a> {
    server: &'a ServerSection,
    users: BTreeMap<&'a str, &'static str>,
    paths: BTreeMap<&'a str, PathOut<'a>>,
    http: &'a HttpSection,
}

/// A path with the keys its source uses (toml leaves out the `None`s).
#[derive(Serialize)]
struct PathOut<'a> {
    source: String,
    on_demand: Option<bool>,
    on_demand_close_after: Option<f64>,
    rtsp_transport: Option<super::RtspTransport>,
    snapshot_interval: Option<f64>,
    replace: Option<bool>,
    publish_users: Option<&'a [String]>,
    read_users: Option<&'a [String]>,
    fps: Option<f64>,
    #[serde(rename = "loop")]
    looping: Option<bool>,
}

impl<'a> PathOut<'a> {
    fn new(p: &'a PathConfig) -> Self {
        let pull = p.source.is_pull();
        let publisher = p.source == Source::Publisher;
        Self {
            source: p.source.to_string(),
            on_demand: pull.then_some(p.on_demand),
            on_demand_close_after: (pull && p.on_demand)
                .then_some(p.on_demand_close_after.as_secs_f64()),
            rtsp_transport: matches!(p.source, Source::Rtsp(_)).then_some(p.rtsp_transport),
            snapshot_interval: matches!(p.source, Source::Http(_))
                .then_some(p.snapshot_interval.as_secs_f64()),
            replace: publisher.then_some(p.replace),
            publish_users: publisher.then_some(p.publish_users.as_slice()),
            read_users: p.read_users.as_deref(),
            fps: p.fps,
            looping: p.looping,
        }
    }
}

/// `server`, the names of `users` and `paths` as TOML that `--config` reads back (the
/// passwords are [`HIDDEN`], so are those in source URLs).
pub fn effective_toml<'a>(
    server: &ServerSection,
    users: impl IntoIterator<Item = &'a str>,
    paths: &BTreeMap<String, PathConfig>,
    http: &HttpSection,
) -> Result<String, String> {
    let doc = Effective {
        server,
        users: users.into_iter().map(|name| (name, HIDDEN)).collect(),
        paths: paths
            .iter()
            .map(|(name, p)| (name.as_str(), PathOut::new(p)))
            .collect(),
        http,
    };
    toml::to_string(&doc).map_err(|e| format!("cannot print the configuration: {e}"))
}
