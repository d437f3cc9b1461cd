//! [`HttpUrl`]: an `http://` URL, parsed with the RFC 3986 parser of `rtsp://` URLs
//! ([`RtspUrl`]), which has the same syntax.

use std::fmt;

use rtsp_core::auth::{basic_authorization, Credentials};
use rtsp_core::url::{RtspUrl, UrlError};

/// Default HTTP port.
const DEFAULT_PORT: u16 = 80;

/// Why an HTTP source's URL cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HttpUrlError {
    /// The scheme is not `http`.
    #[error("unsupported URL scheme `{scheme}` (only http:// is supported{hint})")]
    Scheme {
        /// The scheme as written.
        scheme: String,
        /// More about it (`https`: no TLS).
        hint: &'static str,
    },
    /// The URL does not parse.
    #[error("invalid URL: {0}")]
    Syntax(UrlError),
}

/// `http://[user[:pass]@]host[:port][/path][?query]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpUrl {
    /// Parsed as `rtsp://` + the rest: the same RFC 3986 syntax.
    inner: RtspUrl,
}

impl HttpUrl {
    /// Parses an `http://` URL (the scheme in any case); userinfo is percent-decoded, a
    /// `#fragment` dropped.
    pub fn parse(input: &str) -> Result<Self, HttpUrlError> {
        let s = input.trim();
        let Some((scheme, rest)) = s.split_once("://") else {
            return Err(HttpUrlError::Syntax(UrlError::NotAbsolute));
        };
        if !scheme.eq_ignore_ascii_case("http") {
            let hint = if scheme.eq_ignore_ascii_case("https") {
                "; there is no TLS"
            } else {
                ""
            };
            return Err(HttpUrlError::Scheme {
                scheme: scheme.chars().take(20).collect(),
                hint,
            });
        }
        let inner = RtspUrl::parse(&format!("rtsp://{rest}")).map_err(HttpUrlError::Syntax)?;
        Ok(Self { inner })
    }

    /// The host, without the brackets of an IPv6 literal.
    pub fn host(&self) -> &str {
        self.inner.host()
    }

    /// The port (80 when not given).
    pub fn port(&self) -> u16 {
        self.inner.explicit_port().unwrap_or(DEFAULT_PORT)
    }

    /// The request target: the path (`/` when empty) and the query.
    pub fn target(&self) -> String {
        match self.inner.query() {
            Some(q) => format!("{}?{q}", self.inner.path()),
            None => self.inner.path().to_string(),
        }
    }

    /// The `Host` header's value: the host (IPv6 in brackets) and a port other than 80.
    pub fn host_header(&self) -> String {
        let host = match self.inner.ip() {
            Some(std::net::IpAddr::V6(_)) => format!("[{}]", self.host()),
            _ => self.host().to_string(),
        };
        match self.port() {
            DEFAULT_PORT => host,
            port => format!("{host}:{port}"),
        }
    }

    /// Whether the URL carries credentials.
    pub fn has_credentials(&self) -> bool {
        self.inner.credentials().is_some()
    }

    /// `Basic ...` for the credentials in the URL, if any.
    pub fn authorization(&self) -> Option<String> {
        self.inner
            .credentials()
            .map(|(user, pass)| basic_authorization(&Credentials::new(user, pass)))
    }
}

impl fmt::Display for HttpUrl {
    /// The URL without its credentials.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "http://{}{}", self.host_header(), self.target())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_port_path_and_query() {
        let u = HttpUrl::parse("http://cam.local:8080/video.cgi?res=hi&fps=5").unwrap();
        assert_eq!(u.host(), "cam.local");
        assert_eq!(u.port(), 8080);
        assert_eq!(u.target(), "/video.cgi?res=hi&fps=5");
        assert_eq!(u.host_header(), "cam.local:8080");
        assert!(!u.has_credentials());
        assert_eq!(u.authorization(), None);
        assert_eq!(
            u.to_string(),
            "http://cam.local:8080/video.cgi?res=hi&fps=5"
        );
    }

    #[test]
    fn defaults_port_80_and_path_slash() {
        let u = HttpUrl::parse("HTTP://10.0.0.7").unwrap();
        assert_eq!((u.host(), u.port()), ("10.0.0.7", 80));
        assert_eq!(u.target(), "/");
        assert_eq!(u.host_header(), "10.0.0.7");
        let u = HttpUrl::parse("http://10.0.0.7:80/x#frag").unwrap();
        assert_eq!(
            (u.host_header(), u.target()),
            ("10.0.0.7".into(), "/x".into())
        );
    }

    #[test]
    fn ipv6_host_is_bracketed_in_the_host_header() {
        let u = HttpUrl::parse("http://[::1]:8081/s").unwrap();
        assert_eq!(u.host(), "::1");
        assert_eq!(u.host_header(), "[::1]:8081");
    }

    #[test]
    fn credentials_become_basic_authorization_and_stay_out_of_display() {
        // RFC 7617 §2's example: Aladdin / open sesame.
        let u = HttpUrl::parse("http://Aladdin:open%20sesame@cam/x").unwrap();
        assert!(u.has_credentials());
        assert_eq!(
            u.authorization().as_deref(),
            Some("Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==")
        );
        assert_eq!(u.to_string(), "http://cam/x");
    }

    #[test]
    fn https_and_other_schemes_are_refused() {
        let e = HttpUrl::parse("https://cam/x").unwrap_err();
        assert!(e.to_string().contains("no TLS"), "{e}");
        assert!(matches!(
            HttpUrl::parse("rtsp://cam/x"),
            Err(HttpUrlError::Scheme { .. })
        ));
        assert!(matches!(
            HttpUrl::parse("cam/x"),
            Err(HttpUrlError::Syntax(UrlError::NotAbsolute))
        ));
        assert!(matches!(
            HttpUrl::parse("http://cam:99999/"),
            Err(HttpUrlError::Syntax(UrlError::Port { .. }))
        ));
        assert!(matches!(
            HttpUrl::parse("http:///x"),
            Err(HttpUrlError::Syntax(UrlError::Host { .. }))
        ));
    }
}
