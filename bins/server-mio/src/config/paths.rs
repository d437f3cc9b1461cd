//! `[paths.NAME]`: a stream named NAME and where its frames come from ([`Source`]), with the
//! keys that only make sense for some sources checked against it.

use std::collections::BTreeMap;
use std::fmt;
use std::ops::Range;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use toml::Spanned;

use super::error::{key_path, Problems};
use crate::checks;

/// How long an on-demand pull goes on after its last reader left, by default.
pub const DEFAULT_CLOSE_AFTER: Duration = Duration::from_secs(10);
/// How often a JPEG snapshot URL is fetched, by default.
pub const DEFAULT_SNAPSHOT_INTERVAL: Duration = Duration::from_secs(1);
/// Longest `on_demand_close_after`, seconds (a day).
const MAX_CLOSE_AFTER: f64 = 86_400.0;
/// Longest `snapshot_interval`, seconds (an hour).
const MAX_SNAPSHOT_INTERVAL: f64 = 3_600.0;

/// What the sources are, in the words of the error messages.
const EXPECTED: &str = "expected rtsp://, http://, exec:, publisher or file";
/// The sources a key is for, in the words of the error messages.
const PULL: &str = "pull sources (rtsp://, http://, exec:)";
const RTSP: &str = "rtsp:// sources";
const HTTP: &str = "http:// sources";
const PUBLISHER: &str = "publisher sources";
const FILE: &str = "file sources";

/// Where a path's frames come from (its `source` key).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// `file`: the file (or directory) of the path's own name below the media root;
    /// `file:NAME`: the one named NAME there.
    File(Option<String>),
    /// `publisher`: a client publishes with ANNOUNCE + RECORD.
    Publisher,
    /// `rtsp://…`: pulled from an RTSP server or camera (the URL as written, credentials
    /// included).
    Rtsp(String),
    /// `http://…`: MJPEG over HTTP (multipart/x-mixed-replace), or a JPEG snapshot polled.
    Http(String),
    /// `exec:COMMAND`: a command writing concatenated JPEG to its standard output.
    Exec(String),
}

impl Source {
    /// The `source` value `s`, or why it is refused.
    pub fn parse(s: &str) -> Result<Self, String> {
        match s {
            "publisher" => return Ok(Self::Publisher),
            "file" => return Ok(Self::File(None)),
            _ => {}
        }
        if let Some(name) = s.strip_prefix("file:") {
            return check_name(name)
                .map(|()| Self::File(Some(name.to_string())))
                .map_err(|why| format!("file:{name}: {why}"));
        }
        if let Some(command) = s.strip_prefix("exec:") {
            let command = command.trim();
            if command.is_empty() {
                return Err("exec: needs a command (exec:COMMAND ARGS...)".into());
            }
            return Ok(Self::Exec(command.to_string()));
        }
        let Some((scheme, rest)) = s.split_once(':') else {
            return Err(format!("unknown source {s:?} ({EXPECTED})"));
        };
        let scheme = scheme.to_ascii_lowercase();
        let url = rest.strip_prefix("//");
        match (scheme.as_str(), url) {
            ("rtsp", Some(_)) => rtsp_core::url::RtspUrl::parse(s)
                .map(|_| Self::Rtsp(s.to_string()))
                .map_err(|e| format!("{s:?}: {e}")),
            ("http", Some(rest)) => check_http(rest)
                .map(|()| Self::Http(s.to_string()))
                .map_err(|why| format!("{s:?}: {why}")),
            ("https", Some(_)) => Err(
                "https:// is not supported (no TLS): use http://, or a local proxy that ends TLS"
                    .into(),
            ),
            ("rtsps", Some(_)) => Err(
                "rtsps:// (RTSP over TLS) is not supported: use rtsp://, or a local proxy that \
                 ends TLS"
                    .into(),
            ),
            _ => Err(format!("unknown scheme {scheme:?} ({EXPECTED})")),
        }
    }

    /// `file`, `publisher`, `rtsp`, `http` or `exec`.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::File(_) => "file",
            Self::Publisher => "publisher",
            Self::Rtsp(_) => "rtsp",
            Self::Http(_) => "http",
            Self::Exec(_) => "exec",
        }
    }

    /// Whether the server pulls the frames itself (rtsp, http, exec): only those can run on
    /// demand.
    pub fn is_pull(&self) -> bool {
        matches!(self, Self::Rtsp(_) | Self::Http(_) | Self::Exec(_))
    }
}

/// The `source` value as written, with any password in a URL hidden (`rtsp://u:***@cam/`),
/// for logs and `--check-config`.
impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::File(None) => f.write_str("file"),
            Self::File(Some(name)) => write!(f, "file:{name}"),
            Self::Publisher => f.write_str("publisher"),
            Self::Rtsp(url) | Self::Http(url) => f.write_str(&hide_password(url)),
            Self::Exec(command) => write!(f, "exec:{command}"),
        }
    }
}

/// `scheme://user:***@host/…` for `scheme://user:password@host/…`; other URLs as they are.
fn hide_password(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let authority = &rest[..rest.find(['/', '?', '#']).unwrap_or(rest.len())];
    match authority.rsplit_once('@') {
        Some((userinfo, _)) => match userinfo.split_once(':') {
            Some((user, _)) => format!("{scheme}://{user}:***{}", &rest[userinfo.len()..]),
            None => url.to_string(),
        },
        None => url.to_string(),
    }
}

/// The part of an `http://` URL after `//`: a host, no blanks or control characters.
fn check_http(rest: &str) -> Result<(), String> {
    if let Some(c) = rest.chars().find(|c| c.is_whitespace() || c.is_control()) {
        return Err(format!("{c:?} may not appear in a URL"));
    }
    let authority = &rest[..rest.find(['/', '?', '#']).unwrap_or(rest.len())];
    let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    if host.is_empty() || host.starts_with(':') {
        return Err("no host".into());
    }
    Ok(())
}

/// A path name: non-empty, only `A-Z a-z 0-9 . _ / -`, `/`-separated segments none of which
/// is empty, `.` or `..` (so no leading or trailing `/`).
pub fn check_name(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("the name is empty".into());
    }
    if let Some(c) = name
        .chars()
        .find(|&c| !(c.is_ascii_alphanumeric() || "._/-".contains(c)))
    {
        return Err(format!(
            "{c:?} is not allowed in a name (only A-Z a-z 0-9 . _ / -)"
        ));
    }
    if name.starts_with('/') {
        return Err("a name does not start with /".into());
    }
    if name.split('/').any(|s| matches!(s, "" | "." | "..")) {
        return Err("a name has no empty, . or .. segment".into());
    }
    Ok(())
}

/// How an `rtsp://` source is pulled.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RtspTransport {
    /// UDP, falling back to TCP (interleaved) when UDP gets nothing.
    #[default]
    Auto,
    /// Interleaved in the RTSP connection.
    Tcp,
    /// RTP over UDP.
    Udp,
}

/// A configured path, checked: the keys its source does not use hold their defaults.
#[derive(Debug, Clone, PartialEq)]
pub struct PathConfig {
    /// Where the frames come from.
    pub source: Source,
    /// Pull only while someone watches (pull sources).
    pub on_demand: bool,
    /// How long an on-demand pull goes on after the last reader left
    /// ([`DEFAULT_CLOSE_AFTER`]).
    pub on_demand_close_after: Duration,
    /// How an rtsp source is pulled.
    pub rtsp_transport: RtspTransport,
    /// How often an http source that answers a single JPEG is fetched
    /// ([`DEFAULT_SNAPSHOT_INTERVAL`]).
    pub snapshot_interval: Duration,
    /// A second publisher replaces the first (publisher sources; default: it is refused).
    pub replace: bool,
    /// Who may publish, names from `[users]` (empty: anyone who may publish).
    pub publish_users: Vec<String>,
    /// Who may read, names from `[users]` (`None`: as the global authentication says).
    pub read_users: Option<Vec<String>>,
    /// Frame rate of a file source (`None`: its sidecar, else `--fps`).
    pub fps: Option<f64>,
    /// Whether a file source loops (`None`: `--loop`).
    pub looping: Option<bool>,
}

impl PathConfig {
    /// A path of `source` with every other key at its default.
    pub fn new(source: Source) -> Self {
        Self {
            source,
            on_demand: false,
            on_demand_close_after: DEFAULT_CLOSE_AFTER,
            rtsp_transport: RtspTransport::Auto,
            snapshot_interval: DEFAULT_SNAPSHOT_INTERVAL,
            replace: false,
            publish_users: Vec::new(),
            read_users: None,
            fps: None,
            looping: None,
        }
    }
}

/// A `[paths.NAME]` table as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawPath {
    source: Spanned<String>,
    on_demand: Option<Spanned<bool>>,
    on_demand_close_after: Option<Spanned<f64>>,
    rtsp_transport: Option<Spanned<RtspTransport>>,
    snapshot_interval: Option<Spanned<f64>>,
    replace: Option<Spanned<bool>>,
    publish_users: Option<Spanned<Vec<Spanned<String>>>>,
    read_users: Option<Spanned<Vec<Spanned<String>>>>,
    fps: Option<Spanned<f64>>,
    #[serde(rename = "loop")]
    looping: Option<Spanned<bool>>,
}

/// The path `name` as `raw` says, each problem pushed onto `problems` (`None` when its
/// source is unusable). `users` are the names of `[users]`.
pub(super) fn check(
    name: &Spanned<String>,
    raw: RawPath,
    users: &BTreeMap<String, String>,
    problems: &mut Problems<'_>,
) -> Option<PathConfig> {
    if let Err(why) = check_name(name.get_ref()) {
        let key = key_path(&["paths", name.get_ref()]);
        problems.push(Some(name.span()), format!("{key}: {why}"));
    }
    let source = match Source::parse(raw.source.get_ref()) {
        Ok(s) => s,
        Err(why) => {
            let key = key_path(&["paths", name.get_ref(), "source"]);
            problems.push(Some(raw.source.span()), format!("{key}: {why}"));
            return None;
        }
    };
    let mut c = PathCheck {
        name: name.get_ref(),
        kind: source.kind(),
        problems,
    };
    let pull = source.is_pull();
    let rtsp = matches!(source, Source::Rtsp(_));
    let http = matches!(source, Source::Http(_));
    let publisher = source == Source::Publisher;
    let file = matches!(source, Source::File(_));
    let on_demand = c.used(raw.on_demand, pull, "on_demand", PULL);
    let close_after = c.used(
        raw.on_demand_close_after,
        pull,
        "on_demand_close_after",
        PULL,
    );
    let transport = c.used(raw.rtsp_transport, rtsp, "rtsp_transport", RTSP);
    let interval = c.used(raw.snapshot_interval, http, "snapshot_interval", HTTP);
    let replace = c.used(raw.replace, publisher, "replace", PUBLISHER);
    let publish_users = c.used(raw.publish_users, publisher, "publish_users", PUBLISHER);
    let fps = c.used(raw.fps, file, "fps", FILE);
    let looping = c.used(raw.looping, file, "loop", FILE);

    let mut path = PathConfig::new(source);
    path.on_demand = on_demand.is_some_and(Spanned::into_inner);
    if let Some(v) = close_after {
        let k = "on_demand_close_after";
        if !path.on_demand {
            c.refuse(v.span(), k, "has no effect without on_demand = true");
        } else if let Some(d) = c.value(v, k, |s| seconds(s, 0.0, MAX_CLOSE_AFTER, true)) {
            path.on_demand_close_after = d;
        }
    }
    path.rtsp_transport = transport.map_or(RtspTransport::Auto, Spanned::into_inner);
    let interval = interval.and_then(|v| {
        c.value(v, "snapshot_interval", |s| {
            seconds(s, 0.0, MAX_SNAPSHOT_INTERVAL, false)
        })
    });
    path.snapshot_interval = interval.unwrap_or(DEFAULT_SNAPSHOT_INTERVAL);
    path.replace = replace.is_some_and(Spanned::into_inner);
    path.fps = fps.and_then(|v| c.value(v, "fps", checks::fps));
    path.looping = looping.map(Spanned::into_inner);
    if let Some(list) = publish_users {
        path.publish_users = c.known_users(list.into_inner(), "publish_users", users);
    }
    if let Some(list) = raw.read_users {
        let span = list.span();
        let names = c.known_users(list.into_inner(), "read_users", users);
        if names.is_empty() {
            let why = "is empty, so nobody could read (leave it out to follow the global \
                       authentication)";
            c.refuse(span, "read_users", why);
        }
        path.read_users = Some(names);
    }
    Some(path)
}

/// Checking the keys of the path `name`, whose source is of `kind`.
struct PathCheck<'c, 't> {
    name: &'c str,
    kind: &'static str,
    problems: &'c mut Problems<'t>,
}

impl PathCheck<'_, '_> {
    /// A problem with the key `k` of this path, at `span`.
    fn refuse(&mut self, span: Range<usize>, k: &str, why: impl fmt::Display) {
        let key = key_path(&["paths", self.name, k]);
        self.problems.push(Some(span), format!("{key}: {why}"));
    }

    /// `value` of the key `k` when the source uses the key (`fits`); else the key is
    /// refused and its value not looked at.
    fn used<T>(
        &mut self,
        value: Option<Spanned<T>>,
        fits: bool,
        k: &str,
        what: &str,
    ) -> Option<Spanned<T>> {
        match value {
            Some(v) if !fits => {
                let why = format!("only for {what}, not {}", self.kind);
                self.refuse(v.span(), k, why);
                None
            }
            v => v,
        }
    }

    /// `check`'s result for the value `v` of the key `k` (`None`: refused).
    fn value<T, U>(
        &mut self,
        v: Spanned<T>,
        k: &str,
        check: impl FnOnce(T) -> Result<U, String>,
    ) -> Option<U> {
        let span = v.span();
        check(v.into_inner())
            .map_err(|why| self.refuse(span, k, why))
            .ok()
    }

    /// The user names of the key `k`, each not in `users` refused.
    fn known_users(
        &mut self,
        names: Vec<Spanned<String>>,
        k: &str,
        users: &BTreeMap<String, String>,
    ) -> Vec<String> {
        for n in &names {
            if !users.contains_key(n.get_ref()) {
                let why = format!("unknown user {:?} (not in [users])", n.get_ref());
                self.refuse(n.span(), k, why);
            }
        }
        names.into_iter().map(Spanned::into_inner).collect()
    }
}

/// `v` seconds as a duration, within `[min, max]` (`min` itself only when `min_ok`).
fn seconds(v: f64, min: f64, max: f64, min_ok: bool) -> Result<Duration, String> {
    let above_min = if min_ok { v >= min } else { v > min };
    if v.is_finite() && above_min && v <= max {
        Ok(Duration::from_secs_f64(v))
    } else {
        let open = if min_ok { '[' } else { '(' };
        Err(format!("must be in {open}{min}, {max}] seconds"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sources_parse_by_scheme() {
        assert_eq!(Source::parse("publisher"), Ok(Source::Publisher));
        assert_eq!(Source::parse("file"), Ok(Source::File(None)));
        assert_eq!(
            Source::parse("file:clips/a.mjpeg"),
            Ok(Source::File(Some("clips/a.mjpeg".into())))
        );
        assert_eq!(
            Source::parse("RTSP://cam:8554/s"),
            Ok(Source::Rtsp("RTSP://cam:8554/s".into()))
        );
        assert_eq!(
            Source::parse("http://esp32/stream"),
            Ok(Source::Http("http://esp32/stream".into()))
        );
        assert_eq!(
            Source::parse("exec: ffmpeg -i x -f mjpeg - "),
            Ok(Source::Exec("ffmpeg -i x -f mjpeg -".into()))
        );
    }

    #[test]
    fn bad_sources_say_why() {
        let why = |s| Source::parse(s).unwrap_err();
        assert_eq!(
            why("ftp://x/y"),
            r#"unknown scheme "ftp" (expected rtsp://, http://, exec:, publisher or file)"#
        );
        assert_eq!(
            why("camera"),
            r#"unknown source "camera" (expected rtsp://, http://, exec:, publisher or file)"#
        );
        assert!(why("https://x/").starts_with("https:// is not supported"));
        assert!(why("RTSPS://x/").starts_with("rtsps:// (RTSP over TLS) is not supported"));
        assert_eq!(why("rtsp://"), r#""rtsp://": invalid host at byte 7"#);
        assert_eq!(why("http:///x"), r#""http:///x": no host"#);
        assert_eq!(
            why("http://a b/"),
            r#""http://a b/": ' ' may not appear in a URL"#
        );
        assert_eq!(
            why("exec:  "),
            "exec: needs a command (exec:COMMAND ARGS...)"
        );
        assert_eq!(
            why("file:../x"),
            "file:../x: a name has no empty, . or .. segment"
        );
    }

    #[test]
    fn names_are_confined() {
        for ok in ["cam1", "a/b.c-d_e", "x.mjpeg"] {
            assert_eq!(check_name(ok), Ok(()), "{ok}");
        }
        assert_eq!(check_name(""), Err("the name is empty".into()));
        assert_eq!(
            check_name("a b"),
            Err("' ' is not allowed in a name (only A-Z a-z 0-9 . _ / -)".into())
        );
        assert_eq!(check_name("/a"), Err("a name does not start with /".into()));
        for bad in ["a/../b", "..", "a//b", "a/", "./a"] {
            assert_eq!(
                check_name(bad),
                Err("a name has no empty, . or .. segment".into()),
                "{bad}"
            );
        }
    }

    #[test]
    fn passwords_are_hidden_when_shown() {
        let shown = |s| Source::parse(s).unwrap().to_string();
        assert_eq!(shown("rtsp://u:pw@cam/s"), "rtsp://u:***@cam/s");
        assert_eq!(shown("http://u:p@w@cam:80/s?x"), "http://u:***@cam:80/s?x");
        assert_eq!(shown("rtsp://u@cam/s"), "rtsp://u@cam/s");
        assert_eq!(shown("http://cam/a@b"), "http://cam/a@b");
        assert_eq!(shown("exec:cat x"), "exec:cat x");
    }
}
