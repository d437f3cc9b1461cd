//! `rtsp://` URLs (RFC 2326 §3.2, RFC 3986 syntax), control-URL resolution (RFC 2326 §C.1.1)
//! and percent-decoding (RFC 3986 §2.1).
//!
//! ```text
//! rtsp_URL = "rtsp:" "//" [ userinfo "@" ] host [ ":" port ] [ abs_path ] [ "?" query ]
//! host     = IP-literal ("[" IPv6 "]") / IPv4address / reg-name
//! ```
//!
//! Only `rtsp` is accepted. `rtsps` (RTSP over TLS) and `rtspu` (RTSP over UDP) are rejected with
//! [`UrlError::UnsupportedScheme`]. Name resolution is left to the runtime: [`RtspUrl::ip`]
//! gives the address when the host is an IP literal.

use core::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::fmt;

/// Default RTSP port (RFC 2326 §3.2).
pub const DEFAULT_PORT: u16 = 554;

/// Why a URL or a percent-encoded string was rejected.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UrlError {
    /// There is no `scheme://` prefix.
    #[error("not an absolute URL (expected rtsp://…)")]
    NotAbsolute,
    /// The scheme is not `rtsp`.
    #[error("unsupported URL scheme `{scheme}` (only rtsp:// is supported{hint})")]
    UnsupportedScheme {
        /// The scheme as written.
        scheme: String,
        /// Extra explanation (for `rtsps`: TLS is not supported).
        hint: &'static str,
    },
    /// The host is empty or contains characters not allowed in a host.
    #[error("invalid host at byte {offset}")]
    Host {
        /// Byte offset in the URL.
        offset: usize,
    },
    /// The port is not a number in 0–65535.
    #[error("invalid port at byte {offset}")]
    Port {
        /// Byte offset in the URL.
        offset: usize,
    },
    /// A character that may not appear in a URL (blank, control character, …).
    #[error("invalid character at byte {offset}")]
    Character {
        /// Byte offset in the input.
        offset: usize,
    },
    /// A `%` not followed by two hex digits.
    #[error("invalid percent-escape at byte {offset}")]
    PercentEscape {
        /// Byte offset of the `%`.
        offset: usize,
    },
    /// Percent-decoding produced a NUL byte.
    #[error("percent-decoding produced NUL at byte {offset}")]
    Nul {
        /// Byte offset of the escape (or raw NUL) in the input.
        offset: usize,
    },
    /// Percent-decoding produced bytes that are not UTF-8.
    #[error("percent-decoded bytes are not UTF-8")]
    NotUtf8,
}

/// A parsed `rtsp://` URL.
///
/// `Display` writes the URL *without* credentials (so it can be used as a request-URI or logged)
/// and keeps an explicit port as written, even `:554`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RtspUrl {
    user: Option<String>,
    password: Option<String>,
    /// Host without brackets.
    host: String,
    ip: Option<IpAddr>,
    port: Option<u16>,
    /// Raw (still percent-encoded) path, `""` or starting with `/`.
    path: String,
    /// Raw query without the `?`.
    query: Option<String>,
}

impl RtspUrl {
    /// Parse `rtsp://[user[:pass]@]host[:port][/path][?query]`. The scheme is case-insensitive;
    /// a `#fragment` is dropped; userinfo is percent-decoded.
    pub fn parse(input: &str) -> Result<Self, UrlError> {
        let s = input.trim();
        let lead = input.len() - input.trim_start().len();
        // Blanks and control characters (Unicode ones included: `trim` strips Unicode
        // whitespace, so a URL holding any would not survive `Display` → `parse`).
        if let Some((offset, _)) = s
            .char_indices()
            .find(|&(_, c)| c.is_whitespace() || c.is_control())
        {
            return Err(UrlError::Character {
                offset: lead + offset,
            });
        }
        let (scheme, rest) = s.split_once("://").ok_or(UrlError::NotAbsolute)?;
        if scheme.is_empty()
            || !scheme
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"+-.".contains(&b))
        {
            return Err(UrlError::NotAbsolute);
        }
        if !scheme.eq_ignore_ascii_case("rtsp") {
            let hint = if scheme.eq_ignore_ascii_case("rtsps") {
                "; RTSP over TLS is not implemented"
            } else if scheme.eq_ignore_ascii_case("rtspu") {
                "; RTSP over UDP is not implemented"
            } else {
                ""
            };
            return Err(UrlError::UnsupportedScheme {
                scheme: scheme.to_string(),
                hint,
            });
        }
        let base = lead + scheme.len() + 3;
        let rest = rest.split_once('#').map_or(rest, |(r, _)| r);
        let auth_end = rest.find(['/', '?']).unwrap_or(rest.len());
        let (authority, tail) = rest.split_at(auth_end);
        let (path, query) = match tail.split_once('?') {
            Some((p, q)) => (p, Some(q.to_string())),
            None => (tail, None),
        };

        let (userinfo, hostport, hp_off) = match authority.rfind('@') {
            Some(at) => (Some(&authority[..at]), &authority[at + 1..], base + at + 1),
            None => (None, authority, base),
        };
        let (user, password) = match userinfo {
            Some(ui) => {
                let (u, p) = match ui.split_once(':') {
                    Some((u, p)) => (u, Some(p)),
                    None => (ui, None),
                };
                let shift = |e: UrlError| shift_error(e, base);
                (
                    Some(percent_decode(u).map_err(shift)?),
                    p.map(percent_decode).transpose().map_err(shift)?,
                )
            }
            None => (None, None),
        };

        let (host, ip, port_str, port_off) = if let Some(v6) = hostport.strip_prefix('[') {
            let close = v6.find(']').ok_or(UrlError::Host { offset: hp_off })?;
            let addr: Ipv6Addr = v6[..close]
                .parse()
                .map_err(|_| UrlError::Host { offset: hp_off + 1 })?;
            let after = &v6[close + 1..];
            let port = match after.strip_prefix(':') {
                Some(p) => Some(p),
                None if after.is_empty() => None,
                None => {
                    return Err(UrlError::Host {
                        offset: hp_off + close + 2,
                    })
                }
            };
            (
                v6[..close].to_string(),
                Some(IpAddr::V6(addr)),
                port,
                hp_off + close + 3,
            )
        } else {
            let (h, p) = match hostport.split_once(':') {
                Some((h, p)) => (h, Some(p)),
                None => (hostport, None),
            };
            if h.is_empty() {
                return Err(UrlError::Host { offset: hp_off });
            }
            if let Some(bad) = h
                .bytes()
                .position(|b| !(b.is_ascii_alphanumeric() || b"-._~".contains(&b)))
            {
                return Err(UrlError::Host {
                    offset: hp_off + bad,
                });
            }
            let ip = h.parse::<Ipv4Addr>().ok().map(IpAddr::V4);
            (h.to_string(), ip, p, hp_off + h.len() + 1)
        };
        let port = match port_str {
            None | Some("") => None,
            Some(p) => Some(
                p.bytes()
                    .all(|b| b.is_ascii_digit())
                    .then(|| p.parse::<u16>().ok())
                    .flatten()
                    .ok_or(UrlError::Port { offset: port_off })?,
            ),
        };
        Ok(Self {
            user,
            password,
            host,
            ip,
            port,
            path: path.to_string(),
            query,
        })
    }

    /// The host as written, without the brackets of an IPv6 literal.
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The host's address when it is an IP literal (`None` for a name to resolve).
    pub fn ip(&self) -> Option<IpAddr> {
        self.ip
    }

    /// The port (554 when not given).
    pub fn port(&self) -> u16 {
        self.port.unwrap_or(DEFAULT_PORT)
    }

    /// The port as written, if any.
    pub fn explicit_port(&self) -> Option<u16> {
        self.port
    }

    /// The raw (percent-encoded) path; `/` when the URL has none. Decode it with
    /// [`percent_decode`].
    pub fn path(&self) -> &str {
        if self.path.is_empty() {
            "/"
        } else {
            &self.path
        }
    }

    /// The raw query (after `?`), if any.
    pub fn query(&self) -> Option<&str> {
        self.query.as_deref()
    }

    /// The user name from the userinfo (percent-decoded), if any.
    pub fn user(&self) -> Option<&str> {
        self.user.as_deref()
    }

    /// The password from the userinfo (percent-decoded), if any.
    pub fn password(&self) -> Option<&str> {
        self.password.as_deref()
    }

    /// `(user, password)` when the URL carries credentials (the password may be empty).
    pub fn credentials(&self) -> Option<(&str, &str)> {
        self.user
            .as_deref()
            .map(|u| (u, self.password.as_deref().unwrap_or("")))
    }

    /// This URL without its credentials.
    pub fn without_credentials(&self) -> Self {
        Self {
            user: None,
            password: None,
            ..self.clone()
        }
    }

    /// Resolve an SDP `a=control:` value (or a `Content-Base`-relative URL) against this URL,
    /// as [`join`] does, and parse the result. Credentials are kept when the result is on the
    /// same host and port.
    pub fn join(&self, control: &str) -> Result<Self, UrlError> {
        let mut joined = Self::parse(&join(&self.to_string(), control))?;
        if joined.user.is_none() && joined.host == self.host && joined.port() == self.port() {
            joined.user.clone_from(&self.user);
            joined.password.clone_from(&self.password);
        }
        Ok(joined)
    }
}

fn shift_error(e: UrlError, by: usize) -> UrlError {
    match e {
        UrlError::PercentEscape { offset } => UrlError::PercentEscape {
            offset: offset + by,
        },
        UrlError::Nul { offset } => UrlError::Nul {
            offset: offset + by,
        },
        e => e,
    }
}

impl fmt::Display for RtspUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("rtsp://")?;
        if matches!(self.ip, Some(IpAddr::V6(_))) {
            write!(f, "[{}]", self.host)?;
        } else {
            f.write_str(&self.host)?;
        }
        if let Some(p) = self.port {
            write!(f, ":{p}")?;
        }
        f.write_str(&self.path)?;
        if let Some(q) = &self.query {
            write!(f, "?{q}")?;
        }
        Ok(())
    }
}

impl std::str::FromStr for RtspUrl {
    type Err = UrlError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

/// Whether `s` starts with `scheme:` (RFC 3986 §3.1), i.e. is an absolute URL.
fn has_scheme(s: &str) -> bool {
    match s.find(':') {
        Some(0) | None => false,
        Some(i) => {
            let scheme = &s[..i];
            scheme.as_bytes()[0].is_ascii_alphabetic()
                && scheme
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"+-.".contains(&b))
        }
    }
}

/// Resolve an SDP `a=control:` attribute against a base URL (the `Content-Base`, else
/// `Content-Location`, else the request URL; RFC 2326 §C.1.1), the way ffmpeg, GStreamer and
/// live555 clients do:
///
/// * empty or `*` → the base itself (aggregate control);
/// * an absolute URL (`rtsp://…/trackID=0`, as VLC sends) → the control as is;
/// * `/abs/path` → scheme and authority of the base + the path;
/// * otherwise (`stream=0`, `track1`) → base + control when the base ends with `/`, else
///   base + `/` + control. A query in the base is not treated specially (nor do those clients).
pub fn join(base: &str, control: &str) -> String {
    let control = control.trim();
    let base = base.trim();
    if control.is_empty() || control == "*" {
        return base.to_string();
    }
    if has_scheme(control) {
        return control.to_string();
    }
    if control.starts_with('/') {
        if let Some(scheme_end) = base.find("://") {
            let auth_start = scheme_end + 3;
            let auth_end = base[auth_start..]
                .find(['/', '?', '#'])
                .map_or(base.len(), |i| auth_start + i);
            return format!("{}{}", &base[..auth_end], control);
        }
    }
    if base.ends_with('/') {
        format!("{base}{control}")
    } else {
        format!("{base}/{control}")
    }
}

/// Percent-encode (RFC 3986 §2.1) a path for a URL: every byte but the unreserved
/// characters, the sub-delimiters, `:`, `@` and the `/` separators becomes `%XX`
/// (`with space.mjpeg` → `with%20space.mjpeg`). [`percent_decode`] undoes it.
pub fn percent_encode_path(s: &str) -> String {
    let keep = |b: u8| b.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=:@/".contains(&b);
    let mut out = String::with_capacity(s.len());
    for &b in s.as_bytes() {
        if keep(b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Percent-decode (RFC 3986 §2.1) a path or userinfo. Rejects a `%` not followed by two hex
/// digits, a NUL (escaped or raw), and results that are not UTF-8. `+` is left alone.
pub fn percent_decode(s: &str) -> Result<String, UrlError> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        match b {
            b'%' => {
                let hex = |c: u8| (c as char).to_digit(16);
                let hi = bytes.get(i + 1).copied().and_then(hex);
                let lo = bytes.get(i + 2).copied().and_then(hex);
                let (Some(hi), Some(lo)) = (hi, lo) else {
                    return Err(UrlError::PercentEscape { offset: i });
                };
                let v = (hi * 16 + lo) as u8;
                if v == 0 {
                    return Err(UrlError::Nul { offset: i });
                }
                out.push(v);
                i += 3;
            }
            0 => return Err(UrlError::Nul { offset: i }),
            _ => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out).map_err(|_| UrlError::NotUtf8)
}

#[cfg(test)]
mod tests {
    #[test]
    fn percent_encoding_round_trips() {
        for path in [
            "with space.mjpeg",
            "a/b c/%d.mjpeg",
            "ünï/çødé",
            "plain/a-b_c.d~e",
            "q?#x",
        ] {
            let enc = percent_encode_path(path);
            assert!(
                enc.bytes()
                    .all(|b| b.is_ascii_graphic() && b != b'?' && b != b'#'),
                "{enc}"
            );
            assert_eq!(percent_decode(&enc).unwrap(), path);
        }
        assert_eq!(
            percent_encode_path("with space.mjpeg"),
            "with%20space.mjpeg"
        );
        assert_eq!(percent_encode_path("clips/a.mjpeg"), "clips/a.mjpeg");
    }

    use super::*;
    use proptest::prelude::*;

    #[test]
    fn parses_common_urls() {
        let u = RtspUrl::parse("rtsp://127.0.0.1:8554/test").unwrap();
        assert_eq!(u.host(), "127.0.0.1");
        assert_eq!(u.ip(), Some(IpAddr::V4(Ipv4Addr::LOCALHOST)));
        assert_eq!(u.port(), 8554);
        assert_eq!(u.path(), "/test");
        assert_eq!(u.query(), None);
        assert_eq!(u.credentials(), None);
        assert_eq!(u.to_string(), "rtsp://127.0.0.1:8554/test");

        let u = RtspUrl::parse("RTSP://camera.local/live/ch0?token=a%20b#frag").unwrap();
        assert_eq!(u.host(), "camera.local");
        assert_eq!(u.ip(), None);
        assert_eq!(u.port(), 554);
        assert_eq!(u.explicit_port(), None);
        assert_eq!(u.path(), "/live/ch0");
        assert_eq!(u.query(), Some("token=a%20b"));
        assert_eq!(u.to_string(), "rtsp://camera.local/live/ch0?token=a%20b");

        let u = RtspUrl::parse("rtsp://h").unwrap();
        assert_eq!(u.path(), "/");
        assert_eq!(u.to_string(), "rtsp://h");
        let u = RtspUrl::parse("rtsp://h:/x").unwrap();
        assert_eq!(u.port(), 554);
        let u = RtspUrl::parse("rtsp://h:554/x").unwrap();
        assert_eq!(u.to_string(), "rtsp://h:554/x");
        let u = RtspUrl::parse("rtsp://h?x=1").unwrap();
        assert_eq!((u.path(), u.query()), ("/", Some("x=1")));
    }

    #[test]
    fn ipv6_and_credentials() {
        let u = RtspUrl::parse("rtsp://admin:p%40ss:w@[::1]:8554/a/b.mjpeg").unwrap();
        assert_eq!(u.host(), "::1");
        assert_eq!(u.ip(), Some(IpAddr::V6(Ipv6Addr::LOCALHOST)));
        assert_eq!(u.port(), 8554);
        assert_eq!(u.user(), Some("admin"));
        assert_eq!(u.password(), Some("p@ss:w"));
        assert_eq!(u.credentials(), Some(("admin", "p@ss:w")));
        assert_eq!(u.to_string(), "rtsp://[::1]:8554/a/b.mjpeg");
        assert_eq!(u.without_credentials().credentials(), None);
        let u = RtspUrl::parse("rtsp://user@[fe80::1]/x").unwrap();
        assert_eq!(u.credentials(), Some(("user", "")));
        assert_eq!(u.port(), 554);
        assert_eq!(u.to_string(), "rtsp://[fe80::1]/x");
    }

    #[test]
    fn rejects() {
        assert!(matches!(
            RtspUrl::parse("rtsps://h/x"),
            Err(UrlError::UnsupportedScheme { ref scheme, hint }) if scheme == "rtsps" && hint.contains("TLS")
        ));
        let msg = RtspUrl::parse("rtsps://h/x").unwrap_err().to_string();
        assert!(msg.contains("rtsps") && msg.contains("TLS"), "{msg}");
        assert!(matches!(
            RtspUrl::parse("http://h/x"),
            Err(UrlError::UnsupportedScheme { .. })
        ));
        assert_eq!(RtspUrl::parse("movie.Mjpeg"), Err(UrlError::NotAbsolute));
        assert_eq!(RtspUrl::parse("://h"), Err(UrlError::NotAbsolute));
        assert_eq!(
            RtspUrl::parse("rtsp:///x"),
            Err(UrlError::Host { offset: 7 })
        );
        assert_eq!(
            RtspUrl::parse("rtsp://h:99999/x"),
            Err(UrlError::Port { offset: 9 })
        );
        assert_eq!(
            RtspUrl::parse("rtsp://h:+1/x"),
            Err(UrlError::Port { offset: 9 })
        );
        assert!(matches!(
            RtspUrl::parse("rtsp://[::1/x"),
            Err(UrlError::Host { .. })
        ));
        assert!(matches!(
            RtspUrl::parse("rtsp://[zz]/x"),
            Err(UrlError::Host { .. })
        ));
        assert!(matches!(
            RtspUrl::parse("rtsp://[::1]x/x"),
            Err(UrlError::Host { .. })
        ));
        assert!(matches!(
            RtspUrl::parse("rtsp://h^/x"),
            Err(UrlError::Host { offset: 8 })
        ));
        assert_eq!(
            RtspUrl::parse("rtsp://h/a b"),
            Err(UrlError::Character { offset: 10 })
        );
        // Fuzz `url-ws`: Unicode whitespace and control characters anywhere (here before a
        // `#fragment`, which used to leave the query ending in U+2005) are rejected.
        assert_eq!(
            RtspUrl::parse("rtsp://h/a?\u{2005}#x"),
            Err(UrlError::Character { offset: 11 })
        );
        assert_eq!(
            RtspUrl::parse("rtsp://h/a\u{85}b"),
            Err(UrlError::Character { offset: 10 })
        );
        assert_eq!(
            RtspUrl::parse("rtsp://h/\u{a0}x"),
            Err(UrlError::Character { offset: 9 })
        );
        assert_eq!(
            RtspUrl::parse("rtsp://h/x#\u{3000}y"),
            Err(UrlError::Character { offset: 11 })
        );
        // Leading/trailing blanks are trimmed, as before.
        assert_eq!(
            RtspUrl::parse(" rtsp://h/x\u{2005}").unwrap().to_string(),
            "rtsp://h/x"
        );
        // fuzz/artifacts/url_parse/crash-61e02508…: a control with C1 controls and U+2004.
        let input = String::from_utf8_lossy(
            b"rtsp://j\ns\xc2\x8a\xc2\x82\x85\xe2\x80\x84#1\x80\x85*\xc2rt",
        );
        let (base, control) = input.split_once('\n').unwrap();
        let base = RtspUrl::parse(base).unwrap();
        assert!(matches!(
            base.join(control),
            Err(UrlError::Character { offset: 10 })
        ));
        assert!(matches!(
            RtspUrl::parse("rtsp://u%zz@h/"),
            Err(UrlError::PercentEscape { .. })
        ));
    }

    #[test]
    fn join_control() {
        // gst / live555: Content-Base with a trailing slash.
        assert_eq!(
            join("rtsp://127.0.0.1:8554/test/", "stream=0"),
            "rtsp://127.0.0.1:8554/test/stream=0"
        );
        assert_eq!(join("rtsp://h/test/", "track1"), "rtsp://h/test/track1");
        // No trailing slash: a slash is inserted.
        assert_eq!(join("rtsp://h/x", "stream=0"), "rtsp://h/x/stream=0");
        // Aggregate.
        assert_eq!(join("rtsp://h/test/", "*"), "rtsp://h/test/");
        assert_eq!(join("rtsp://h/test/", ""), "rtsp://h/test/");
        // VLC: absolute control.
        assert_eq!(
            join("rtsp://h/x", "rtsp://127.0.0.1:8554/x/trackID=0"),
            "rtsp://127.0.0.1:8554/x/trackID=0"
        );
        // Absolute path.
        assert_eq!(join("rtsp://h:8554/a/b/", "/c/d"), "rtsp://h:8554/c/d");
        assert_eq!(join("rtsp://h:8554", "/c"), "rtsp://h:8554/c");
    }

    #[test]
    fn url_join_keeps_credentials_on_same_host() {
        let base = RtspUrl::parse("rtsp://u:p@h:8554/test/").unwrap();
        let j = base.join("stream=0").unwrap();
        assert_eq!(j.to_string(), "rtsp://h:8554/test/stream=0");
        assert_eq!(j.credentials(), Some(("u", "p")));
        let j = base.join("rtsp://other/x").unwrap();
        assert_eq!(j.credentials(), None);
    }

    #[test]
    fn percent_decoding() {
        assert_eq!(
            percent_decode("/my%20movie.mjpeg").unwrap(),
            "/my movie.mjpeg"
        );
        assert_eq!(percent_decode("%c3%A9+").unwrap(), "é+");
        assert_eq!(percent_decode("/a%2Fb").unwrap(), "/a/b");
        assert_eq!(
            percent_decode("%"),
            Err(UrlError::PercentEscape { offset: 0 })
        );
        assert_eq!(
            percent_decode("ab%4"),
            Err(UrlError::PercentEscape { offset: 2 })
        );
        assert_eq!(
            percent_decode("%g0"),
            Err(UrlError::PercentEscape { offset: 0 })
        );
        assert_eq!(percent_decode("a%00"), Err(UrlError::Nul { offset: 1 }));
        assert_eq!(percent_decode("a\0"), Err(UrlError::Nul { offset: 1 }));
        assert_eq!(percent_decode("%ff"), Err(UrlError::NotUtf8));
    }

    proptest! {
        #[test]
        fn display_parse_roundtrip(
            host in prop_oneof!["[a-z][a-z0-9.-]{0,15}", any::<[u8; 4]>().prop_map(|o| Ipv4Addr::from(o).to_string())],
            v6 in proptest::option::of(any::<u128>()),
            port in proptest::option::of(any::<u16>()),
            path in "(/[A-Za-z0-9=._~%-]{0,10}){0,3}",
            query in proptest::option::of("[a-z0-9=&]{0,10}"),
        ) {
            let host = match v6 { Some(a) => format!("[{}]", Ipv6Addr::from(a)), None => host };
            let mut s = format!("rtsp://{host}");
            if let Some(p) = port { s.push_str(&format!(":{p}")); }
            s.push_str(&path);
            if let Some(q) = &query { s.push('?'); s.push_str(q); }
            let u = RtspUrl::parse(&s).unwrap();
            prop_assert_eq!(u.to_string(), s.clone());
            prop_assert_eq!(RtspUrl::parse(&u.to_string()).unwrap(), u);
        }

        #[test]
        fn never_panics(s in "\\PC{0,40}", c in "\\PC{0,10}") {
            let _ = RtspUrl::parse(&s);
            let _ = RtspUrl::parse(&format!("rtsp://{s}"));
            let _ = percent_decode(&s);
            let _ = join(&s, &c);
        }

        #[test]
        fn percent_decode_inverts_encoding(s in "[^\u{0}]{0,20}") {
            let enc: String = s.bytes().map(|b| format!("%{b:02X}")).collect();
            prop_assert_eq!(percent_decode(&enc).unwrap(), s);
        }
    }
}
