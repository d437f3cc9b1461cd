//! An HTTP/1.1 response head ([`Head`], parsed with `httparse`) and what it says about the
//! body that follows ([`Framing`], decoded by [`BodyDecoder`]).

use std::fmt;

use super::chunked::{ChunkError, ChunkedDecoder};

/// Largest response head accepted.
pub(super) const MAX_HEAD: usize = 16 * 1024;
/// Most header lines in a response head.
const MAX_HEADERS: usize = 64;

/// How the body's end is known (RFC 9112 §6.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Framing {
    /// `Content-Length`.
    Length(u64),
    /// `Transfer-Encoding: chunked`.
    Chunked,
    /// Neither: the body ends when the connection closes.
    UntilClose,
}

/// The parts of a response head a source looks at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Head {
    /// The status code.
    pub(super) status: u16,
    /// The reason phrase (may be empty).
    pub(super) reason: String,
    /// `Content-Type`, if any.
    pub(super) content_type: Option<String>,
    /// `Location`, if any (redirects).
    pub(super) location: Option<String>,
    /// How the body ends.
    pub(super) framing: Framing,
}

/// Why a response head cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(super) enum HeadError {
    /// Not an HTTP/1.x response head.
    #[error("malformed response head: {0}")]
    Malformed(httparse::Error),
    /// A `Content-Length` that is not one number.
    #[error("invalid Content-Length")]
    Length,
}

/// What [`parse`] returns: the head and its length in bytes, or `None` when more bytes are
/// needed.
pub(super) type Parsed = Option<(Head, usize)>;

/// Parses the response head at the front of `buf`.
pub(super) fn parse(buf: &[u8]) -> Result<Parsed, HeadError> {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut response = httparse::Response::new(&mut headers);
    let len = match response.parse(buf).map_err(HeadError::Malformed)? {
        httparse::Status::Complete(len) => len,
        httparse::Status::Partial => return Ok(None),
    };
    let text = |v: &[u8]| {
        String::from_utf8_lossy(v)
            .trim()
            .chars()
            .take(200)
            .collect()
    };
    let mut content_type = None;
    let mut location = None;
    let mut length = None;
    let mut chunked = None;
    for h in response.headers.iter() {
        if h.name.eq_ignore_ascii_case("content-type") {
            content_type = Some(text(h.value));
        } else if h.name.eq_ignore_ascii_case("location") {
            location = Some(text(h.value));
        } else if h.name.eq_ignore_ascii_case("content-length") {
            let n = std::str::from_utf8(h.value)
                .ok()
                .and_then(|v| v.trim().parse::<u64>().ok())
                .ok_or(HeadError::Length)?;
            if length.is_some_and(|l| l != n) {
                return Err(HeadError::Length);
            }
            length = Some(n);
        } else if h.name.eq_ignore_ascii_case("transfer-encoding") {
            // The last coding decides: chunked must be last when present (RFC 9112 §6.1).
            let value = String::from_utf8_lossy(h.value);
            let last = value.rsplit(',').next().unwrap_or("").trim();
            chunked = Some(last.eq_ignore_ascii_case("chunked"));
        }
    }
    let framing = match (chunked, length) {
        (Some(true), _) => Framing::Chunked,
        (Some(false), _) => Framing::UntilClose,
        (None, Some(n)) => Framing::Length(n),
        (None, None) => Framing::UntilClose,
    };
    let head = Head {
        status: response.code.unwrap_or(0),
        reason: response.reason.unwrap_or("").chars().take(200).collect(),
        content_type,
        location,
        framing,
    };
    Ok(Some((head, len)))
}

impl Head {
    /// A 1xx response (not 101): another head follows.
    pub(super) fn is_informational(&self) -> bool {
        (100..200).contains(&self.status) && self.status != 101
    }

    /// The content type without its parameters, lowercase.
    pub(super) fn media_type(&self) -> Option<String> {
        self.content_type.as_deref().map(|ct| {
            ct.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase()
        })
    }
}

impl fmt::Display for Head {
    /// The status line as people read it: `HTTP 404 Not Found`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "HTTP {}", self.status)?;
        if !self.reason.is_empty() {
            write!(f, " {}", self.reason)?;
        }
        Ok(())
    }
}

/// Takes the body's bytes out of what the connection delivers.
#[derive(Debug)]
pub(super) enum BodyDecoder {
    /// This many bytes of body left.
    Length(u64),
    /// A chunked body.
    Chunked(ChunkedDecoder),
    /// Everything until the connection closes.
    UntilClose,
}

impl BodyDecoder {
    /// A decoder for a body framed as `framing`.
    pub(super) fn new(framing: Framing) -> Self {
        match framing {
            Framing::Length(n) => Self::Length(n),
            Framing::Chunked => Self::Chunked(ChunkedDecoder::default()),
            Framing::UntilClose => Self::UntilClose,
        }
    }

    /// Hands the body bytes in `raw` to `out`; bytes after the body's end are ignored.
    pub(super) fn decode<'a>(
        &mut self,
        raw: &'a [u8],
        mut out: impl FnMut(&'a [u8]),
    ) -> Result<(), ChunkError> {
        match self {
            Self::Length(left) => {
                let n = usize::try_from(*left).unwrap_or(usize::MAX).min(raw.len());
                if n > 0 {
                    out(&raw[..n]);
                }
                *left -= n as u64;
                Ok(())
            }
            Self::Chunked(d) => d.decode(raw, out),
            Self::UntilClose => {
                if !raw.is_empty() {
                    out(raw);
                }
                Ok(())
            }
        }
    }

    /// Whether the whole body came (never for [`Framing::UntilClose`]: the close ends it).
    pub(super) fn is_complete(&self) -> bool {
        match self {
            Self::Length(left) => *left == 0,
            Self::Chunked(d) => d.is_done(),
            Self::UntilClose => false,
        }
    }

    /// Whether the connection closing now ends the body properly.
    pub(super) fn may_end_at_close(&self) -> bool {
        matches!(self, Self::UntilClose) || self.is_complete()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn head(text: &str) -> Head {
        let (h, len) = parse(text.as_bytes()).unwrap().unwrap();
        assert_eq!(len, text.len());
        h
    }

    #[test]
    fn a_multipart_head() {
        let h = head("HTTP/1.1 200 OK\r\nContent-Type: multipart/x-mixed-replace;boundary=ffmpeg\r\nCache-Control: no-cache\r\n\r\n");
        assert_eq!(h.status, 200);
        assert_eq!(h.to_string(), "HTTP 200 OK");
        assert_eq!(h.media_type().as_deref(), Some("multipart/x-mixed-replace"));
        assert_eq!(
            h.content_type.as_deref(),
            Some("multipart/x-mixed-replace;boundary=ffmpeg")
        );
        assert_eq!(h.framing, Framing::UntilClose);
    }

    #[test]
    fn framing_from_length_and_transfer_encoding() {
        let h = head("HTTP/1.0 200 OK\r\ncontent-length: 42\r\nContent-Type: IMAGE/JPEG\r\n\r\n");
        assert_eq!(h.framing, Framing::Length(42));
        assert_eq!(h.media_type().as_deref(), Some("image/jpeg"));
        let h = head(
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, Chunked\r\nContent-Length: 9\r\n\r\n",
        );
        assert_eq!(h.framing, Framing::Chunked);
        let h = head("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n");
        assert_eq!(h.framing, Framing::UntilClose);
        let h = head("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\n");
        assert_eq!(h.framing, Framing::Length(5));
        for bad in ["x", "5, 6", "-1"] {
            let text = format!("HTTP/1.1 200 OK\r\nContent-Length: {bad}\r\n\r\n");
            assert_eq!(parse(text.as_bytes()), Err(HeadError::Length), "{bad}");
        }
    }

    #[test]
    fn partial_heads_need_more_and_garbage_is_refused() {
        let full = b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\nBODY";
        for end in 0..full.len() - 4 {
            assert_eq!(parse(&full[..end]), Ok(None), "{end}");
        }
        let (h, len) = parse(full).unwrap().unwrap();
        assert_eq!(
            (h.to_string().as_str(), len),
            ("HTTP 404 Not Found", full.len() - 4)
        );
        assert!(matches!(
            parse(b"SSH-2.0-OpenSSH\r\n\r\n"),
            Err(HeadError::Malformed(_))
        ));
    }

    #[test]
    fn informational_and_redirect_heads() {
        assert!(head("HTTP/1.1 100 Continue\r\n\r\n").is_informational());
        assert!(!head("HTTP/1.1 101 Switching Protocols\r\n\r\n").is_informational());
        let h = head("HTTP/1.1 302 Found\r\nLocation: http://other/x\r\n\r\n");
        assert_eq!(h.location.as_deref(), Some("http://other/x"));
        assert!(!h.is_informational());
    }

    #[test]
    fn body_decoders_stop_at_the_end_of_the_body() {
        let mut out = Vec::new();
        let mut d = BodyDecoder::new(Framing::Length(5));
        d.decode(b"abc", |s| out.extend_from_slice(s)).unwrap();
        assert!(!d.is_complete() && !d.may_end_at_close());
        d.decode(b"defgh", |s| out.extend_from_slice(s)).unwrap();
        assert!(d.is_complete() && d.may_end_at_close());
        assert_eq!(out, b"abcde");
        let mut d = BodyDecoder::new(Framing::UntilClose);
        d.decode(b"xyz", |s| out.extend_from_slice(s)).unwrap();
        assert!(!d.is_complete() && d.may_end_at_close());
        assert_eq!(out, b"abcdexyz");
        let mut d = BodyDecoder::new(Framing::Chunked);
        out.clear();
        d.decode(b"2\r\nhi\r\n0\r\n\r\n", |s| out.extend_from_slice(s))
            .unwrap();
        assert!(d.is_complete());
        assert_eq!(out, b"hi");
    }
}
