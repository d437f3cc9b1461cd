//! The two dialects a control connection may speak, and how the decoder tells them apart.

/// Which RTSP a peer speaks on a control connection.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum Dialect {
    /// RTSP/1.0 as RFC 2326 and real players and servers speak it.
    #[default]
    Standard,
    /// The course lab's dialect: a bare file name as request-URI, LF-only lines, requests
    /// without the final empty line, `Transport: RTP/UDP; client_port= N`.
    Lab,
}

impl Dialect {
    /// The dialect a request line (up to, not including, its `LF`) shows: [`Dialect::Lab`]
    /// for `METHOD name RTSP/x.y` ended by a bare `LF` (no `CR` anywhere) and naming a bare
    /// file; [`Dialect::Standard`] for anything else.
    pub(crate) fn of_request_line(line: &[u8]) -> Self {
        if line.contains(&b'\r') {
            return Self::Standard;
        }
        let Ok(line) = std::str::from_utf8(line) else {
            return Self::Standard;
        };
        let mut parts = line.split_ascii_whitespace();
        match (parts.next(), parts.next(), parts.next()) {
            (Some(_method), Some(uri), Some(version))
                if version.starts_with("RTSP/") && is_bare_uri(uri) =>
            {
                Self::Lab
            }
            _ => Self::Standard,
        }
    }
}

/// Whether a request-URI is a bare name (no scheme, not `*`), as the course-lab client sends.
pub(crate) fn is_bare_uri(uri: &str) -> bool {
    uri != "*" && !uri.contains("://")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lab_request_lines() {
        for (line, want) in [
            (&b"SETUP movie.Mjpeg RTSP/1.0"[..], Dialect::Lab),
            (b"PLAY dir/movie.Mjpeg RTSP/1.0", Dialect::Lab),
            (b"SETUP movie.Mjpeg RTSP/1.0\r", Dialect::Standard),
            (b"SETUP rtsp://h/movie.Mjpeg RTSP/1.0", Dialect::Standard),
            (b"OPTIONS * RTSP/1.0", Dialect::Standard),
            (b"GET movie.Mjpeg HTTP/1.1", Dialect::Standard),
            (b"RTSP/1.0 200 OK", Dialect::Standard),
            (b"SETUP movie.Mjpeg", Dialect::Standard),
            (b"SETUP \xff RTSP/1.0", Dialect::Standard),
            (b"", Dialect::Standard),
        ] {
            assert_eq!(
                Dialect::of_request_line(line),
                want,
                "{:?}",
                String::from_utf8_lossy(line)
            );
        }
    }
}
