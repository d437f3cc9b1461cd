//! The HTTP/1.x request head, parsed with `httparse` under the connection's [`Limits`]:
//! request line and header lines no longer than [`Limits::max_line`], at most
//! [`Limits::max_headers`] headers, a head of at most [`Limits::max_head`] bytes, and no body
//! (none of the routes takes one).

use crate::message::Limits;

/// A complete HTTP/1.x request head.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpRequest {
    /// The method token (`GET`, `HEAD`, `POST`, ...).
    pub method: String,
    /// The request target as sent (origin form: `/path?query`).
    pub target: String,
    /// The minor version: 0 or 1.
    pub minor: u8,
    /// Header names and values, in order.
    pub headers: Vec<(String, String)>,
}

impl HttpRequest {
    /// The values of the header `name` (case-insensitive).
    pub fn header_values<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.headers
            .iter()
            .filter(move |(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The path of the target (without query or fragment).
    pub fn path(&self) -> &str {
        let end = self.target.find(['?', '#']).unwrap_or(self.target.len());
        &self.target[..end]
    }
}

/// Why a request head was refused; each maps to a status code ([`HttpParseError::status`]).
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum HttpParseError {
    /// Not a valid HTTP/1.x request head.
    #[error("malformed HTTP request")]
    Malformed,
    /// The request line is longer than [`Limits::max_line`].
    #[error("request line too long")]
    UriTooLong,
    /// The head is larger than [`Limits::max_head`], a header line longer than
    /// [`Limits::max_line`], or there are more than [`Limits::max_headers`] headers.
    #[error("request header fields too large")]
    HeadersTooLarge,
    /// The request has a body (`Content-Length` above 0, or `Transfer-Encoding`).
    #[error("request body not accepted")]
    Body,
}

impl HttpParseError {
    /// The status code of the answer: 400, 414, 431 or 413.
    pub fn status(self) -> u16 {
        match self {
            Self::Malformed => 400,
            Self::UriTooLong => 414,
            Self::HeadersTooLarge => 431,
            Self::Body => 413,
        }
    }
}

/// Whether `buf` starts with a complete request line of HTTP/1.0 or HTTP/1.1 (what decides
/// that a connection speaks HTTP, not RTSP).
pub fn is_http_request_line(buf: &[u8]) -> bool {
    let Some(end) = buf.iter().position(|&b| b == b'\n') else {
        return false;
    };
    let line = buf[..end].strip_suffix(b"\r").unwrap_or(&buf[..end]);
    line.ends_with(b" HTTP/1.1") || line.ends_with(b" HTTP/1.0")
}

/// Where the first head in `buf` ends (after its blank line: `\r\n\r\n` or a bare
/// `\n\n`), if it does.
pub fn head_end(buf: &[u8]) -> Option<usize> {
    let mut i = 0;
    while let Some(n) = buf[i..].iter().position(|&b| b == b'\n') {
        let at = i + n;
        let rest = &buf[at + 1..];
        if rest.starts_with(b"\n") {
            return Some(at + 2);
        }
        if rest.starts_with(b"\r\n") {
            return Some(at + 3);
        }
        i = at + 1;
    }
    None
}

/// Parses the request head at the front of `buf`: `Ok(None)` while it is incomplete (and
/// within the limits), otherwise the request and the length of its head.
pub fn parse_request(
    buf: &[u8],
    limits: &Limits,
) -> Result<Option<(HttpRequest, usize)>, HttpParseError> {
    let first_line = buf.iter().position(|&b| b == b'\n').unwrap_or(buf.len());
    if first_line > limits.max_line {
        return Err(HttpParseError::UriTooLong);
    }
    let window = &buf[..buf.len().min(limits.max_head)];
    let mut headers = vec![httparse::EMPTY_HEADER; limits.max_headers.clamp(1, 256)];
    let mut req = httparse::Request::new(&mut headers);
    let len = match req.parse(window) {
        Ok(httparse::Status::Complete(len)) => len,
        Ok(httparse::Status::Partial) if buf.len() >= limits.max_head => {
            return Err(HttpParseError::HeadersTooLarge)
        }
        Ok(httparse::Status::Partial) => {
            check_lines(window, limits)?;
            return Ok(None);
        }
        Err(httparse::Error::TooManyHeaders) => return Err(HttpParseError::HeadersTooLarge),
        Err(_) => return Err(HttpParseError::Malformed),
    };
    check_lines(&window[..len], limits)?;
    let (Some(method), Some(target), Some(minor)) = (req.method, req.path, req.version) else {
        return Err(HttpParseError::Malformed);
    };
    if !target.starts_with('/') {
        return Err(HttpParseError::Malformed);
    }
    let mut out = Vec::with_capacity(req.headers.len());
    for h in req.headers.iter() {
        let value = std::str::from_utf8(h.value).map_err(|_| HttpParseError::Malformed)?;
        let name = h.name;
        if name.eq_ignore_ascii_case("transfer-encoding") {
            return Err(HttpParseError::Body);
        }
        if name.eq_ignore_ascii_case("content-length") {
            match value.trim().parse::<u64>() {
                Ok(0) => {}
                Ok(_) => return Err(HttpParseError::Body),
                Err(_) => return Err(HttpParseError::Malformed),
            }
        }
        out.push((name.to_string(), value.trim().to_string()));
    }
    let request = HttpRequest {
        method: method.to_string(),
        target: target.to_string(),
        minor,
        headers: out,
    };
    Ok(Some((request, len)))
}

/// Every line of `head` (complete lines only) within [`Limits::max_line`].
fn check_lines(head: &[u8], limits: &Limits) -> Result<(), HttpParseError> {
    let too_long = head
        .split(|&b| b == b'\n')
        .skip(1)
        .any(|line| line.len() > limits.max_line + 1);
    if too_long {
        Err(HttpParseError::HeadersTooLarge)
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_end_of_a_head_is_found_in_either_line_ending() {
        assert_eq!(head_end(b"GET / HTTP/1.1\r\nA: b\r\n\r\nbody"), Some(24));
        assert_eq!(head_end(b"GET / HTTP/1.0\n\n"), Some(16));
        assert_eq!(head_end(b"GET / HTTP/1.1\r\nA: b\r\n"), None);
        assert_eq!(head_end(b"\r\n"), None);
        assert_eq!(head_end(b""), None);
    }

    fn parse(s: &str) -> Result<Option<(HttpRequest, usize)>, HttpParseError> {
        parse_request(s.as_bytes(), &Limits::default())
    }

    #[test]
    fn a_complete_head_parses_with_its_length() {
        let text = "GET /cam/stream.mjpg?x=1 HTTP/1.1\r\nHost: a\r\nAccept: */*\r\n\r\nrest";
        let (req, len) = parse(text).unwrap().unwrap();
        assert_eq!(len, text.len() - 4);
        assert_eq!(
            (req.method.as_str(), req.path(), req.minor),
            ("GET", "/cam/stream.mjpg", 1)
        );
        assert_eq!(req.header_values("host").collect::<Vec<_>>(), ["a"]);
    }

    #[test]
    fn incomplete_heads_wait_and_oversized_ones_are_refused() {
        assert_eq!(parse("GET / HTTP/1.1\r\nHost: a\r\n"), Ok(None));
        let limits = Limits {
            max_line: 64,
            max_headers: 4,
            max_head: 256,
            ..Limits::default()
        };
        let long_line = format!("GET /{} HTTP/1.1\r\n", "a".repeat(100));
        assert_eq!(
            parse_request(long_line.as_bytes(), &limits),
            Err(HttpParseError::UriTooLong)
        );
        let many = format!("GET / HTTP/1.1\r\n{}\r\n", "X: y\r\n".repeat(5));
        assert_eq!(
            parse_request(many.as_bytes(), &limits),
            Err(HttpParseError::HeadersTooLarge)
        );
        let big = format!("GET / HTTP/1.1\r\n{}", "X: y\r\n".repeat(3).repeat(20));
        assert_eq!(
            parse_request(big.as_bytes(), &limits),
            Err(HttpParseError::HeadersTooLarge)
        );
        let long_header = format!("GET / HTTP/1.1\r\nX: {}\r\n", "b".repeat(100));
        assert_eq!(
            parse_request(long_header.as_bytes(), &limits),
            Err(HttpParseError::HeadersTooLarge)
        );
    }

    #[test]
    fn bodies_and_garbage_are_refused() {
        let post = "POST /api/sessions/1/kick HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello";
        assert_eq!(parse(post), Err(HttpParseError::Body));
        let chunked = "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n";
        assert_eq!(parse(chunked), Err(HttpParseError::Body));
        assert_eq!(
            parse("GET http://x/ HTTP/1.1\r\n\r\n"),
            Err(HttpParseError::Malformed)
        );
        assert_eq!(
            parse("G\0T / HTTP/1.1\r\n\r\n"),
            Err(HttpParseError::Malformed)
        );
        let zero = "POST /a HTTP/1.1\r\nContent-Length: 0\r\n\r\n";
        assert!(parse(zero).unwrap().is_some());
    }

    #[test]
    fn http_request_lines_are_told_from_rtsp_ones() {
        assert!(is_http_request_line(b"GET / HTTP/1.1\r\n"));
        assert!(is_http_request_line(b"GET / HTTP/1.0\n"));
        assert!(!is_http_request_line(b"OPTIONS * RTSP/1.0\r\n"));
        assert!(!is_http_request_line(b"GET / HTTP/1.1"));
    }
}
