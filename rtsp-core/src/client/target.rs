//! What the configured URL means to the client: the server to connect to, the request-URI,
//! and control-URL resolution.

use super::config::{ClientConfig, Dialect};
use super::event::ClientError;

/// The parsed target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Target {
    /// Host (IPv6 without brackets).
    pub(super) host: String,
    /// Port (554 when the URL names none).
    pub(super) port: u16,
    /// Standard: the URL without credentials (DESCRIBE/SETUP/PLAY request-URI).
    /// Lab: the bare file name.
    pub(super) request_uri: String,
}

fn bad(url: &str, reason: &str) -> ClientError {
    ClientError::InvalidUrl {
        url: url.to_string(),
        reason: reason.to_string(),
    }
}

/// Whether `s` can go into a request line unchanged.
fn is_uri_safe(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_graphic())
}

/// Split `host[:port]` (`[v6]:port` too).
fn split_host_port(url: &str, authority: &str, default_port: u16) -> Result<(String, u16), ClientError> {
    let (host, port) = if let Some(rest) = authority.strip_prefix('[') {
        let end = rest.find(']').ok_or_else(|| bad(url, "unclosed '[' in host"))?;
        let host = &rest[..end];
        let after = &rest[end + 1..];
        let port = match after.strip_prefix(':') {
            Some(p) => Some(p),
            None if after.is_empty() => None,
            None => return Err(bad(url, "junk after IPv6 host")),
        };
        (host, port)
    } else {
        match authority.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (authority, None),
        }
    };
    if host.is_empty() {
        return Err(bad(url, "empty host"));
    }
    let port = match port {
        Some(p) => p.parse::<u16>().ok().filter(|&p| p != 0).ok_or_else(|| bad(url, "bad port"))?,
        None => default_port,
    };
    Ok((host.to_string(), port))
}

/// Parse `rtsp://[user[:pass]@]host[:port][/path]`: (host, port, URL without credentials).
fn parse_rtsp_url(url: &str) -> Result<(String, u16, String), ClientError> {
    let lower = url.get(..7).map(str::to_ascii_lowercase);
    if lower.as_deref() != Some("rtsp://") {
        return Err(bad(url, "expected rtsp://host[:port]/path"));
    }
    if !is_uri_safe(url) {
        return Err(bad(url, "spaces or control characters"));
    }
    let rest = &url[7..];
    let (authority, path) = match rest.find(['/', '?', '#']) {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, ""),
    };
    let hostport = match authority.rfind('@') {
        Some(i) => &authority[i + 1..],
        None => authority,
    };
    let (host, port) = split_host_port(url, hostport, 554)?;
    let clean = format!("rtsp://{hostport}{path}");
    Ok((host, port, clean))
}

impl Target {
    pub(super) fn from_config(config: &ClientConfig) -> Result<Self, ClientError> {
        let url = config.url.trim();
        match config.dialect {
            Dialect::Standard => {
                let (host, port, request_uri) = parse_rtsp_url(url)?;
                Ok(Self {
                    host,
                    port,
                    request_uri,
                })
            }
            Dialect::Lab => {
                let (host, port, path) = if url.len() >= 7 && url[..7].eq_ignore_ascii_case("rtsp://") {
                    let (h, p, clean) = parse_rtsp_url(url)?;
                    let path = clean[7..].find('/').map(|i| clean[7 + i + 1..].to_string());
                    (h, p, path.unwrap_or_default())
                } else {
                    let (hp, path) = match url.find('/') {
                        Some(i) => (&url[..i], url[i + 1..].to_string()),
                        None => (url, String::new()),
                    };
                    let (h, p) = split_host_port(url, hp, 554)?;
                    (h, p, path)
                };
                let file = config.lab_file.clone().unwrap_or(path);
                if !is_uri_safe(&file) {
                    return Err(bad(url, "lab dialect needs a file name without spaces"));
                }
                Ok(Self {
                    host,
                    port,
                    request_uri: file,
                })
            }
        }
    }
}

/// Resolve an SDP `a=control` value against `base`, the way real clients do: `*` or empty is
/// the base itself, an absolute `rtsp://` URL stands alone, `/path` replaces the path, anything
/// else is appended to the base with a `/` between (VLC's base has no trailing slash).
pub(super) fn join_control(base: &str, control: &str) -> String {
    let control = control.trim();
    if control.is_empty() || control == "*" {
        return base.to_string();
    }
    if control.len() >= 7 && control[..7].eq_ignore_ascii_case("rtsp://") {
        return control.to_string();
    }
    if let Some(abs) = control.strip_prefix('/') {
        // Keep scheme and authority of the base.
        let after_scheme = base.find("://").map_or(0, |i| i + 3);
        let root_end = base[after_scheme..]
            .find('/')
            .map_or(base.len(), |i| after_scheme + i);
        return format!("{}/{}", &base[..root_end], abs);
    }
    // Drop a query or fragment of the base before appending.
    let base = base.split(['?', '#']).next().unwrap_or(base);
    if base.ends_with('/') {
        format!("{base}{control}")
    } else {
        format!("{base}/{control}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn std_target(url: &str) -> Result<Target, ClientError> {
        Target::from_config(&ClientConfig::new(url))
    }

    #[test]
    fn standard_urls() {
        let t = std_target("rtsp://127.0.0.1:8554/test").unwrap();
        assert_eq!((t.host.as_str(), t.port), ("127.0.0.1", 8554));
        assert_eq!(t.request_uri, "rtsp://127.0.0.1:8554/test");
        let t = std_target("rtsp://user:pw@cam.example/x/y").unwrap();
        assert_eq!((t.host.as_str(), t.port), ("cam.example", 554));
        assert_eq!(t.request_uri, "rtsp://cam.example/x/y");
        let t = std_target("RTSP://[::1]:8554/s").unwrap();
        assert_eq!((t.host.as_str(), t.port), ("::1", 8554));
        for bad in [
            "http://x/y",
            "rtsp://",
            "rtsp://h:0/x",
            "rtsp://h:99999/",
            "rtsp://h/a b",
            "rtsp://h/a\r\nX: y",
            "rtsp://[::1/x",
            "",
        ] {
            assert!(std_target(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn lab_targets() {
        let t = Target::from_config(&ClientConfig::lab("127.0.0.1:8554", "movie.Mjpeg")).unwrap();
        assert_eq!((t.host.as_str(), t.port), ("127.0.0.1", 8554));
        assert_eq!(t.request_uri, "movie.Mjpeg");
        let mut c = ClientConfig::lab("rtsp://h:1234/movie.Mjpeg", "x");
        c.lab_file = None;
        let t = Target::from_config(&c).unwrap();
        assert_eq!((t.host.as_str(), t.port, t.request_uri.as_str()), ("h", 1234, "movie.Mjpeg"));
        let mut c = ClientConfig::lab("h:1234", "x");
        c.lab_file = None;
        assert!(Target::from_config(&c).is_err());
        assert!(Target::from_config(&ClientConfig::lab("h:1234", "a b")).is_err());
    }

    #[test]
    fn control_resolution() {
        let gst = "rtsp://127.0.0.1:8554/test/";
        assert_eq!(join_control(gst, "stream=0"), "rtsp://127.0.0.1:8554/test/stream=0");
        assert_eq!(join_control(gst, "*"), gst);
        let vlc = "rtsp://127.0.0.1:8554/x";
        assert_eq!(join_control(vlc, "trackID=0"), "rtsp://127.0.0.1:8554/x/trackID=0");
        assert_eq!(
            join_control(vlc, "rtsp://127.0.0.1:8554/x/trackID=0"),
            "rtsp://127.0.0.1:8554/x/trackID=0"
        );
        assert_eq!(join_control("rtsp://h:1/a/b/", "/c/track1"), "rtsp://h:1/c/track1");
        assert_eq!(join_control("rtsp://h:1/a/b/?q=1", "track1"), "rtsp://h:1/a/b/track1");
    }
}
