//! Request-URI to stream name: strip scheme/host/port, percent-decode, strip the track
//! control suffix, and refuse anything that could leave the media root.

/// What a request-URI names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Target {
    /// `*` (OPTIONS on the server as a whole).
    Server,
    /// A stream (presentation), optionally one of its tracks.
    Stream {
        /// Relative path of the stream under the media root (`dir/movie.mjpeg`).
        name: String,
        /// `stream=N` / `streamid=N` / `trackID=N` / `track=N` suffix, if any.
        track: Option<u32>,
        /// The URI was a bare name, not an `rtsp://` URL (the course-lab client).
        bare: bool,
    },
}

/// Why a request-URI was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PathError {
    /// Not a URI we can read (bad scheme, bad percent-escape, not UTF-8): 400.
    BadRequest,
    /// Escapes or may escape the media root (`..`, absolute, backslash, NUL): 403.
    Forbidden,
    /// Empty name: 404.
    NotFound,
}

/// Whether a request-URI is a bare name (no scheme), as the course-lab client sends.
pub(crate) fn is_bare(uri: &str) -> bool {
    crate::message::is_bare_uri(uri)
}

/// Parse a request-URI into a [`Target`].
pub(crate) fn parse_target(uri: &str) -> Result<Target, PathError> {
    if uri == "*" {
        return Ok(Target::Server);
    }
    let bare = is_bare(uri);
    let raw_path = if bare {
        if uri.starts_with('/') {
            return Err(PathError::Forbidden);
        }
        uri
    } else {
        let (scheme, rest) = uri.split_once("://").ok_or(PathError::BadRequest)?;
        if !["rtsp", "rtsps", "rtspu"]
            .iter()
            .any(|s| s.eq_ignore_ascii_case(scheme))
        {
            return Err(PathError::BadRequest);
        }
        let end_of_authority = rest.find(['/', '?', '#']).unwrap_or(rest.len());
        let path = &rest[end_of_authority..];
        path.strip_prefix('/').unwrap_or(path)
    };
    // Query and fragment are not part of the name.
    let raw_path = &raw_path[..raw_path.find(['?', '#']).unwrap_or(raw_path.len())];
    let decoded = percent_decode(raw_path)?;
    let mut name = decoded.as_str();
    if name.contains(['\0', '\\']) || name.starts_with('/') {
        return Err(PathError::Forbidden);
    }
    if name.chars().any(|c| c.is_control()) {
        return Err(PathError::Forbidden);
    }
    name = name.trim_end_matches('/');
    let mut track = None;
    let (head, last) = match name.rsplit_once('/') {
        Some((h, l)) => (h, l),
        None => ("", name),
    };
    if let Some(n) = track_control(last) {
        track = Some(n);
        name = head.trim_end_matches('/');
    }
    if name.is_empty() {
        return Err(PathError::NotFound);
    }
    for (i, comp) in name.split('/').enumerate() {
        let drive = i == 0 && comp.len() == 2 && comp.ends_with(':');
        if comp.is_empty() || comp == "." || comp == ".." || drive {
            return Err(PathError::Forbidden);
        }
    }
    Ok(Target::Stream {
        name: name.to_string(),
        track,
        bare,
    })
}

/// `stream=N`, `trackID=N`, `track=N` (case-insensitive names) -> `N`.
fn track_control(seg: &str) -> Option<u32> {
    let (key, value) = seg.split_once('=')?;
    let known = ["stream", "streamid", "trackid", "track"]
        .iter()
        .any(|k| k.eq_ignore_ascii_case(key));
    if !known || value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    value.parse().ok()
}

fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

fn percent_decode(s: &str) -> Result<String, PathError> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hi = bytes.get(i + 1).copied().and_then(hex);
            let lo = bytes.get(i + 2).copied().and_then(hex);
            match (hi, lo) {
                (Some(h), Some(l)) => out.push(h << 4 | l),
                _ => return Err(PathError::BadRequest),
            }
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| PathError::BadRequest)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stream(name: &str, track: Option<u32>, bare: bool) -> Result<Target, PathError> {
        Ok(Target::Stream {
            name: name.into(),
            track,
            bare,
        })
    }

    #[test]
    fn urls() {
        assert_eq!(parse_target("*"), Ok(Target::Server));
        let s = |n, t| stream(n, t, false);
        assert_eq!(parse_target("rtsp://127.0.0.1:8554/test"), s("test", None));
        assert_eq!(parse_target("rtsp://127.0.0.1:8554/test/"), s("test", None));
        assert_eq!(
            parse_target("rtsp://127.0.0.1:8554/test/stream=0"),
            s("test", Some(0))
        );
        assert_eq!(
            parse_target("RTSP://user:pw@[::1]:8554/a/b.mjpeg/trackID=1"),
            s("a/b.mjpeg", Some(1))
        );
        assert_eq!(
            parse_target("rtsp://h/my%20movie.mjpeg?token=1"),
            s("my movie.mjpeg", None)
        );
        assert_eq!(
            parse_target("rtsp://h/x/stream=abc"),
            s("x/stream=abc", None)
        );
        assert_eq!(
            parse_target("movie.Mjpeg"),
            stream("movie.Mjpeg", None, true)
        );
        assert_eq!(
            parse_target("movie.Mjpeg/stream=0"),
            stream("movie.Mjpeg", Some(0), true)
        );
    }

    #[test]
    fn refused() {
        use PathError::*;
        for (uri, err) in [
            ("rtsp://h/../etc/passwd", Forbidden),
            ("rtsp://h/a/../../etc/passwd", Forbidden),
            ("rtsp://h/%2e%2e/secret", Forbidden),
            ("rtsp://h/a/%2E%2E", Forbidden),
            ("rtsp://h//etc/passwd", Forbidden),
            ("rtsp://h/%2Fetc/passwd", Forbidden),
            ("/etc/passwd", Forbidden),
            ("../movie.Mjpeg", Forbidden),
            ("rtsp://h/a%5Cb", Forbidden),
            ("rtsp://h/a\\..\\b", Forbidden),
            ("rtsp://h/a%00b", Forbidden),
            ("rtsp://h/C:/windows", Forbidden),
            ("rtsp://h/a//b", Forbidden),
            ("rtsp://h/./a", Forbidden),
            ("rtsp://h/a%0Ab", Forbidden),
            ("rtsp://h/", NotFound),
            ("rtsp://h", NotFound),
            ("rtsp://h/stream=0", NotFound),
            ("rtsp://h/%zz", BadRequest),
            ("rtsp://h/%", BadRequest),
            ("rtsp://h/%ff", BadRequest),
            ("http://h/x", BadRequest),
        ] {
            assert_eq!(parse_target(uri), Err(err), "{uri}");
        }
    }
}
