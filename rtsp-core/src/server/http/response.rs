//! HTTP responses on the wire: status line, the common headers (`Server`, `Date`,
//! `Cache-Control: no-cache`, `Connection: close`), and the head of a multipart stream with
//! its parts.

use bytes::Bytes;

/// The boundary between the parts of `multipart/x-mixed-replace` streams.
pub const BOUNDARY: &str = "rtspmjpegframe";

/// An HTTP response being built.
#[derive(Debug, Clone)]
pub(crate) struct HttpResponse {
    pub(crate) status: u16,
    pub(crate) headers: Vec<(&'static str, String)>,
    pub(crate) body: Bytes,
    /// Answer to HEAD: the head only (with the body's `Content-Length`).
    pub(crate) head_only: bool,
    /// Not an answer yet: the stream is loading and the request waits for it.
    pub(crate) wait: bool,
}

impl HttpResponse {
    /// A response with `body` of type `content_type`.
    pub(crate) fn new(status: u16, content_type: &str, body: impl Into<Bytes>) -> Self {
        Self {
            status,
            headers: vec![("Content-Type", content_type.to_string())],
            body: body.into(),
            head_only: false,
            wait: false,
        }
    }

    /// An error page: the status line's text as plain text.
    pub(crate) fn error(status: u16) -> Self {
        Self::new(
            status,
            "text/plain; charset=utf-8",
            format!("{status} {}\n", reason(status)),
        )
    }

    pub(crate) fn header(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.headers.push((name, value.into()));
        self
    }

    /// The bytes on the wire (the connection closes after them).
    pub(crate) fn to_bytes(&self, server: &str, date: &str) -> Vec<u8> {
        let mut out = head(self.status, server, date);
        for (name, value) in &self.headers {
            push_header(&mut out, name, value);
        }
        push_header(&mut out, "Content-Length", &self.body.len().to_string());
        out.extend_from_slice(b"\r\n");
        if !self.head_only {
            out.extend_from_slice(&self.body);
        }
        out
    }
}

/// The head of a multipart JPEG stream (no `Content-Length`: it ends when the connection does).
pub(crate) fn stream_head(server: &str, date: &str) -> Vec<u8> {
    let mut out = head(200, server, date);
    let ct = format!("multipart/x-mixed-replace;boundary={BOUNDARY}");
    push_header(&mut out, "Content-Type", &ct);
    out.extend_from_slice(b"\r\n");
    out
}

/// The header of one part: boundary line, type and length, empty line. The JPEG and a CRLF
/// follow it.
pub fn part_header(jpeg_len: usize) -> Bytes {
    Bytes::from(format!(
        "--{BOUNDARY}\r\nContent-Type: image/jpeg\r\nContent-Length: {jpeg_len}\r\n\r\n"
    ))
}

fn head(status: u16, server: &str, date: &str) -> Vec<u8> {
    let mut out = format!("HTTP/1.1 {status} {}\r\n", reason(status)).into_bytes();
    push_header(&mut out, "Server", server);
    push_header(&mut out, "Date", date);
    push_header(&mut out, "Cache-Control", "no-cache, no-store");
    push_header(&mut out, "Connection", "close");
    out
}

fn push_header(out: &mut Vec<u8>, name: &str, value: &str) {
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(b": ");
    out.extend_from_slice(value.as_bytes());
    out.extend_from_slice(b"\r\n");
}

/// The reason phrase of the statuses the server sends.
pub(crate) fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        202 => "Accepted",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        413 => "Content Too Large",
        414 => "URI Too Long",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        503 => "Service Unavailable",
        505 => "HTTP Version Not Supported",
        _ => "Unknown",
    }
}
