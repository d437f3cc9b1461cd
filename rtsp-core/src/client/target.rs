//! What the configured URL means to the client: the server to connect to and the request-URI.

use super::config::ClientConfig;
use super::event::ClientError;
use crate::url::RtspUrl;

/// The parsed target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Target {
    /// The URL as parsed (credentials included, for authentication later).
    pub(super) url: RtspUrl,
    /// Standard: the URL without credentials (DESCRIBE/SETUP/PLAY request-URI).
    /// Lab: the bare file name.
    pub(super) request_uri: String,
}

/// An [`ClientError::InvalidUrl`] for `url`.
pub(super) fn bad(url: &str, reason: impl ToString) -> ClientError {
    ClientError::InvalidUrl {
        url: url.to_string(),
        reason: reason.to_string(),
    }
}

/// Parse `url` with [`RtspUrl::parse`], refusing port 0; errors name `shown`.
pub(super) fn parse_url(url: &str, shown: &str) -> Result<RtspUrl, ClientError> {
    let parsed = RtspUrl::parse(url).map_err(|e| bad(shown, e))?;
    if parsed.port() == 0 {
        return Err(bad(shown, "port 0"));
    }
    Ok(parsed)
}

impl Target {
    /// What `config` names, in its dialect (the lab's form is read in `lab.rs`).
    pub(super) fn from_config(config: &ClientConfig) -> Result<Self, ClientError> {
        config.dialect.target(config)
    }

    /// A standard `rtsp://` URL: the request-URI is the URL without credentials.
    pub(super) fn standard(raw: &str) -> Result<Self, ClientError> {
        let url = parse_url(raw, raw)?;
        let request_uri = url.without_credentials().to_string();
        Ok(Self { url, request_uri })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn std_target(url: &str) -> Result<Target, ClientError> {
        Target::from_config(&ClientConfig::new(url))
    }

    fn host_port(t: &Target) -> (&str, u16) {
        (t.url.host(), t.url.port())
    }

    #[test]
    fn standard_urls() {
        let t = std_target("rtsp://127.0.0.1:8554/test").unwrap();
        assert_eq!(host_port(&t), ("127.0.0.1", 8554));
        assert_eq!(t.request_uri, "rtsp://127.0.0.1:8554/test");
        let t = std_target("rtsp://user:pw@cam.example/x/y").unwrap();
        assert_eq!(host_port(&t), ("cam.example", 554));
        assert_eq!(t.request_uri, "rtsp://cam.example/x/y");
        assert_eq!(t.url.credentials(), Some(("user", "pw")));
        let t = std_target("RTSP://[::1]:8554/s").unwrap();
        assert_eq!(host_port(&t), ("::1", 8554));
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
        assert_eq!(host_port(&t), ("127.0.0.1", 8554));
        assert_eq!(t.request_uri, "movie.Mjpeg");
        let mut c = ClientConfig::lab("rtsp://h:1234/movie.Mjpeg", "x");
        c.lab_file = None;
        let t = Target::from_config(&c).unwrap();
        assert_eq!(host_port(&t), ("h", 1234));
        assert_eq!(t.request_uri, "movie.Mjpeg");
        let mut c = ClientConfig::lab("h:1234/clip.Mjpeg", "x");
        c.lab_file = None;
        assert_eq!(Target::from_config(&c).unwrap().request_uri, "clip.Mjpeg");
        let mut c = ClientConfig::lab("h:1234", "x");
        c.lab_file = None;
        assert!(Target::from_config(&c).is_err());
        assert!(Target::from_config(&ClientConfig::lab("h:1234", "a b")).is_err());
        assert!(Target::from_config(&ClientConfig::lab("h:x", "a")).is_err());
    }
}
