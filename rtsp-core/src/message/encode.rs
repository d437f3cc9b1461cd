//! Writing messages to bytes.

use super::{HeaderName, Message, Request, Response};

fn write_headers_and_body(headers: &super::Headers, body: &[u8], out: &mut Vec<u8>) {
    for (name, value) in headers.iter() {
        out.extend_from_slice(name.as_str().as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(value.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    if !body.is_empty() && !headers.contains(&HeaderName::CONTENT_LENGTH) {
        out.extend_from_slice(format!("Content-Length: {}\r\n", body.len()).as_bytes());
    }
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(body);
}

impl Request {
    /// Append the wire form to `out`. Adds `Content-Length` when there is a body and none is set.
    pub fn write(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(
            format!("{} {} {}\r\n", self.method, self.uri, self.version).as_bytes(),
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

impl Response {
    /// Append the wire form to `out`. Adds `Content-Length` when there is a body and none is set.
    pub fn write(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(
            format!("{} {:03} {}\r\n", self.version, self.status.0, self.reason).as_bytes(),
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
