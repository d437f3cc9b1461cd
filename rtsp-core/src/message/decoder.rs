//! Bounded incremental decoder for the RTSP control stream: messages and `$`-interleaved frames.
//! (Skeleton: parsing is being implemented.)

use super::Message;
use bytes::{Bytes, BytesMut};

/// Size limits enforced while decoding. Exceeding one is an error, never unbounded buffering.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Longest request/status line, in bytes.
    pub max_line: usize,
    /// Most header lines in one message.
    pub max_headers: usize,
    /// Largest header block (start line + headers), in bytes.
    pub max_head: usize,
    /// Largest body (`Content-Length`) accepted.
    pub max_body: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_line: 4096,
            max_headers: 64,
            max_head: 16 * 1024,
            max_body: 64 * 1024,
        }
    }
}

/// One item decoded from the control stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decoded {
    /// A complete request or response.
    Message(Message),
    /// An interleaved binary frame (RFC 2326 §10.12).
    Interleaved {
        /// The channel id.
        channel: u8,
        /// The frame payload.
        payload: Bytes,
    },
}

/// Why the control stream could not be decoded. The connection cannot continue after one.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    /// The bytes do not follow the RTSP grammar.
    #[error("malformed {context} at byte {offset}")]
    Malformed {
        /// Stream offset of the problem.
        offset: u64,
        /// Which grammar rule failed.
        context: &'static str,
    },
    /// The version is not RTSP/1.x.
    #[error("unsupported version at byte {offset}")]
    Version {
        /// Stream offset of the start line.
        offset: u64,
    },
    /// A limit in [`Limits`] was exceeded.
    #[error("{what} exceeds limit of {limit} at byte {offset}")]
    TooLarge {
        /// What was too large (`"request line"`, `"headers"`, `"body"` …).
        what: &'static str,
        /// The limit in force.
        limit: usize,
        /// Stream offset of the message.
        offset: u64,
    },
}

/// Incremental decoder. Feed bytes into a `BytesMut`, call [`Decoder::decode`] until `Ok(None)`.
#[derive(Debug, Clone)]
pub struct Decoder {
    limits: Limits,
    lenient: bool,
    offset: u64,
}

impl Decoder {
    /// A decoder with these limits.
    pub fn new(limits: Limits) -> Self {
        Self {
            limits,
            lenient: false,
            offset: 0,
        }
    }

    /// Lenient mode (the lab dialect): LF-only lines, lines without `:` skipped.
    pub fn with_lenient(mut self, lenient: bool) -> Self {
        self.lenient = lenient;
        self
    }

    /// The limits in force.
    pub fn limits(&self) -> Limits {
        self.limits
    }

    /// Total bytes consumed so far.
    pub fn stream_offset(&self) -> u64 {
        self.offset
    }

    /// Decode the next item from the front of `buf`, removing its bytes.
    /// `Ok(None)`: need more bytes (not an error).
    pub fn decode(&mut self, buf: &mut BytesMut) -> Result<Option<Decoded>, ParseError> {
        let _ = buf;
        Err(ParseError::Malformed {
            offset: self.offset,
            context: "unimplemented",
        })
    }

    /// Treat whatever is buffered as one complete message whose header block was not
    /// terminated (the lab server's replies end without an empty line). `Ok(None)` if empty.
    pub fn flush(&mut self, buf: &mut BytesMut) -> Result<Option<Decoded>, ParseError> {
        let _ = buf;
        Ok(None)
    }
}
