//! A strict reader of `multipart/x-mixed-replace` JPEG streams, for the HTTP tests: every
//! part must be `--BOUNDARY\r\n`, `Content-Type: image/jpeg` and `Content-Length: N`
//! headers, an empty line, `N` bytes and a CRLF.

use bytes::{Buf, Bytes, BytesMut};

/// Parts out of a byte stream, fed in any split.
#[derive(Debug)]
pub struct PartReader {
    boundary: String,
    buf: BytesMut,
    /// The response head was read.
    started: bool,
}

impl PartReader {
    /// A reader of a stream with `boundary`, starting at the HTTP response head.
    pub fn new(boundary: &str) -> Self {
        Self {
            boundary: boundary.to_string(),
            buf: BytesMut::new(),
            started: false,
        }
    }

    /// Bytes from the connection.
    pub fn push(&mut self, data: &[u8]) {
        self.buf.extend_from_slice(data);
    }

    /// Bytes buffered and not yet a complete part.
    pub fn pending(&self) -> usize {
        self.buf.len()
    }

    /// The next whole JPEG (`Ok(None)`: need more bytes); an error on any framing fault.
    pub fn next_part(&mut self) -> Result<Option<Bytes>, String> {
        let Some(head_end) = find(&self.buf, b"\r\n\r\n") else {
            return Ok(None);
        };
        let head = String::from_utf8_lossy(&self.buf[..head_end]).into_owned();
        if !self.started {
            if !head.starts_with("HTTP/1.1 200 ") {
                return Err(format!("not a 200: {head}"));
            }
            let want = format!(
                "content-type: multipart/x-mixed-replace;boundary={}",
                self.boundary
            );
            if !head
                .to_ascii_lowercase()
                .contains(&want.to_ascii_lowercase())
            {
                return Err(format!("not a multipart stream: {head}"));
            }
            self.started = true;
            self.buf.advance(head_end + 4);
            return self.next_part();
        }
        let mut lines = head.split("\r\n");
        if lines.next() != Some(format!("--{}", self.boundary).as_str()) {
            return Err(format!("no boundary at a part's start: {head:?}"));
        }
        let mut len = None;
        let mut jpeg = false;
        for line in lines {
            let (name, value) = line
                .split_once(": ")
                .ok_or(format!("bad part header {line:?}"))?;
            match name.to_ascii_lowercase().as_str() {
                "content-type" => jpeg = value == "image/jpeg",
                "content-length" => len = value.parse::<usize>().ok(),
                _ => {}
            }
        }
        let len = len.ok_or("a part without Content-Length")?;
        if !jpeg {
            return Err("a part that is not image/jpeg".into());
        }
        let start = head_end + 4;
        if self.buf.len() < start + len + 2 {
            return Ok(None);
        }
        if &self.buf[start + len..start + len + 2] != b"\r\n" {
            return Err("no CRLF after a part's body".into());
        }
        self.buf.advance(start);
        let body = self.buf.split_to(len).freeze();
        self.buf.advance(2);
        Ok(Some(body))
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}
