//! Writing messages to bytes.

use super::{HeaderName, Message, Request, Response};

/// Bytes the headers, the blank line and the body take (plus room for a `Content-Length`).
fn wire_len(headers: &super::Headers, body: &[u8]) -> usize {
    let fields: usize = headers
        .iter()
        .map(|(name, value)| name.as_str().len() + value.len() + 4)
        .sum();
    fields + 2 + body.len() + if body.is_empty() { 0 } else { 24 }
}

fn write_headers_and_body(headers: &super::Headers, body: &[u8], out: &mut Vec<u8>) {
    use std::io::Write as _;
    for (name, value) in headers.iter() {
        out.extend_from_slice(name.as_str().as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(value.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    if !body.is_empty() && !headers.contains(&HeaderName::CONTENT_LENGTH) {
        // Writing to a Vec cannot fail.
        let _ = write!(out, "Content-Length: {}\r\n", body.len());
    }
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(body);
}

impl Request {
    /// Append the wire form to `out`. Adds `Content-Length` when there is a body and none is set.
    pub fn write(&self, out: &mut Vec<u8>) {
        use std::io::Write as _;
        out.reserve(self.uri.len() + 32 + wire_len(&self.headers, &self.body));
        // Writing to a Vec cannot fail.
        let _ = write!(out, "{} {} {}\r\n", self.method, self.uri, self.version);
        write_headers_and_body(&self.headers, &self.body, out);
    }

    /// The wire form as a new vector.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut v = Vec::new();
        self.write(&mut v);
        v
    }
}

impl Response {
    /// Append the wire form to `out`. Adds `Content-Length` when there is a body and none is set.
    pub fn write(&self, out: &mut Vec<u8>) {
        use std::io::Write as _;
        out.reserve(self.reason.len() + 16 + wire_len(&self.headers, &self.body));
        // Writing to a Vec cannot fail.
        let _ = write!(
            out,
            "{} {:03} {}\r\n",
            self.version, self.status.0, self.reason
        );
        write_headers_and_body(&self.headers, &self.body, out);
    }

    /// The wire form as a new vector.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut v = Vec::new();
        self.write(&mut v);
        v
    }
}

impl Message {
    /// Append the wire form to `out`.
    pub fn write(&self, out: &mut Vec<u8>) {
        match self {
            Self::Request(r) => r.write(out),
            Self::Response(r) => r.write(out),
        }
    }

    /// The wire form as a new vector.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut v = Vec::new();
        self.write(&mut v);
        v
    }
}

/// Append one interleaved frame (`$`, channel, 16-bit length, payload; RFC 2326 §10.12).
///
/// Payloads longer than 65535 bytes cannot be framed; the caller must not pass them
/// (they are truncated to 65535 bytes here rather than corrupting the stream).
pub fn write_interleaved(channel: u8, payload: &[u8], out: &mut Vec<u8>) {
    let len = payload.len().min(u16::MAX as usize);
    out.push(b'$');
    out.push(channel);
    out.extend_from_slice(&(len as u16).to_be_bytes());
    out.extend_from_slice(&payload[..len]);
}
