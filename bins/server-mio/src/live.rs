//! The live paths of the configuration (and of `--publish`): declared in the servers'
//! [`LivePaths`], their users in the authentication, the pulled ones handed to a
//! [`LiveHub`](runtime_mio::live::LiveHub).

use std::collections::BTreeMap;

use rtsp_core::server::{AuthConfig, LivePaths, LiveSource, PathUsers};
use runtime_mio::live::PulledPath;
use runtime_mio::source::{SourceOptions, SourceSpec};

use crate::config::{PathConfig, RtspTransport, Source};

/// Declares every publisher path (`--publish` names, and `source = "publisher"`) in `live`
/// and returns the pulled paths, for the hub. File paths stay the catalog's.
pub fn declare(
    live: &LivePaths,
    paths: &BTreeMap<String, PathConfig>,
    publish: &[String],
    publish_replace: bool,
) -> Vec<PulledPath> {
    for name in publish {
        live.add(
            name,
            LiveSource::Publisher {
                replace: publish_replace,
            },
        );
        tracing::info!(path = %name, replace = publish_replace, "publishable path");
    }
    let mut pulled = Vec::new();
    for (name, p) in paths {
        let spec = match &p.source {
            Source::File(_) => {
                tracing::info!(path = %name, "configured file path");
                continue;
            }
            Source::Publisher => {
                live.add(name, LiveSource::Publisher { replace: p.replace });
                tracing::info!(path = %name, replace = p.replace, "publishable path");
                continue;
            }
            Source::Rtsp(url) => SourceSpec::Rtsp {
                url: url.clone(),
                tcp: p.rtsp_transport == RtspTransport::Tcp,
            },
            Source::Http(url) => SourceSpec::Http { url: url.clone() },
            Source::Exec(command) => SourceSpec::Exec {
                command: command.clone(),
            },
        };
        tracing::info!(path = %name, source = %p.source, on_demand = p.on_demand, "pulled path");
        let mut path = PulledPath::new(name, spec);
        path.on_demand = p.on_demand;
        path.linger = p.on_demand_close_after;
        path.options = SourceOptions {
            snapshot_interval: p.snapshot_interval,
            ..SourceOptions::default()
        };
        pulled.push(path);
    }
    pulled
}

/// Who reads and who publishes each path that names its users.
pub fn path_users(auth: &mut AuthConfig, paths: &BTreeMap<String, PathConfig>) {
    for (name, p) in paths {
        let publish = (!p.publish_users.is_empty()).then(|| p.publish_users.clone());
        if publish.is_some() || p.read_users.is_some() {
            auth.paths.insert(
                name.clone(),
                PathUsers {
                    read: p.read_users.clone(),
                    publish,
                },
            );
        }
    }
}

/// What feeds a live path, for `--list` (`None` for a file path).
pub fn describe(p: &PathConfig) -> Option<String> {
    let demand = if p.on_demand { ", on demand" } else { "" };
    match &p.source {
        Source::File(_) => None,
        Source::Publisher => Some("published (ANNOUNCE/RECORD)".into()),
        other => Some(format!("pulled from {other}{demand}")),
    }
}
