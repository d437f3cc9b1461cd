//! Bounded incremental decoder for the RTSP control stream: messages and `$`-interleaved frames.
//!
//! The stream is a sequence of items (RFC 2326 §4, §10.12):
//!
//! ```text
//! stream   = *( *(CR / LF) ( message / interleaved ) )
//! message  = start-line *( header-line / obs-fold ) CRLF [ body ]   ; body = Content-Length bytes
//! interleaved = "$" channel:u8 length:u16be payload:length bytes
//! ```
//!
//! Line endings may be `CRLF` or a bare `LF`. The decoder never buffers on its own: the caller
//! owns a [`BytesMut`], appends what it reads, and calls [`Decoder::decode`] until `Ok(None)`.
//! Every bound in [`Limits`] is checked as soon as the bytes that break it are seen, so a peer
//! cannot make the caller's buffer grow beyond `max_head + max_body` (plus one read).

use super::dialect::Dialect;
use super::headers::HeaderName;
use super::parse::{self, Proto, StartLine};
use super::{Headers, Message, Request, Response, StatusCode};
use bytes::{Buf, Bytes, BytesMut};
use std::fmt;

/// Size limits enforced while decoding. Exceeding one is an error, never unbounded buffering.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Longest request/status line or header line, in bytes (without the line ending).
    pub max_line: usize,
    /// Most header lines in one message.
    pub max_headers: usize,
    /// Largest header block (start line + headers + the empty line), in bytes.
    pub max_head: usize,
    /// Largest body (`Content-Length`, RFC 2326 §12.14) accepted.
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

/// Why the control stream could not be decoded. The connection cannot continue after one
/// (the decoder keeps returning the same error).
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    /// The bytes do not follow the RTSP grammar (RFC 2326 §15).
    #[error("malformed {context} at byte {offset}")]
    Malformed {
        /// Stream offset of the problem.
        offset: u64,
        /// Which grammar rule failed (`"request line"`, `"header field"`, `"Content-Length"` …).
        context: &'static str,
    },
    /// The start line names another protocol (e.g. `HTTP/1.1`). Any `RTSP/d.d` version is
    /// *not* an error: it is returned in the message for the caller to check (RFC 2326 §7.1.1,
    /// 505 RTSP Version Not Supported).
    #[error("not an RTSP version at byte {offset}")]
    Version {
        /// Stream offset of the start line.
        offset: u64,
    },
    /// A limit in [`Limits`] was exceeded.
    #[error("{what} exceeds limit of {limit} at byte {offset}")]
    TooLarge {
        /// What was too large.
        what: TooLargeKind,
        /// The limit in force.
        limit: usize,
        /// Stream offset of the offending line (for [`TooLargeKind::Head`] and
        /// [`TooLargeKind::Body`]: of the message).
        offset: u64,
    },
}

/// What exceeded a limit ([`ParseError::TooLarge`]). Its `Display` names it in words.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TooLargeKind {
    /// The request or status line ([`Limits::max_line`]).
    StartLine,
    /// A header line ([`Limits::max_line`]).
    HeaderLine,
    /// The number of header lines ([`Limits::max_headers`]).
    Headers,
    /// The header block as a whole ([`Limits::max_head`]).
    Head,
    /// The body `Content-Length` announces ([`Limits::max_body`]).
    Body,
    /// Control data a reader buffered beyond its own cap (not raised by the [`Decoder`]).
    Buffered,
}

impl fmt::Display for TooLargeKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::StartLine => "start line",
            Self::HeaderLine => "header line",
            Self::Headers => "headers",
            Self::Head => "head",
            Self::Body => "body",
            Self::Buffered => "buffered control data",
        })
    }
}

/// Progress through the head of the message at the front of the buffer.
#[derive(Debug, Clone, Default)]
struct HeadState {
    /// Bytes at the front of the buffer already scanned (always whole lines).
    scanned: usize,
    /// The start line, once seen, as a message with no headers and no body yet.
    msg: Option<Message>,
    /// Header lines counted so far (including skipped lenient lines).
    lines: usize,
}

#[derive(Debug, Clone)]
enum State {
    /// Expecting the next item, or inside a message head.
    Head(HeadState),
    /// Head complete: waiting for `body_len` bytes after `head_len`.
    Body {
        head_len: usize,
        body_len: usize,
        msg: Message,
    },
}

impl Default for State {
    fn default() -> Self {
        Self::Head(HeadState::default())
    }
}

/// Bounded incremental decoder (sans-IO). Append received bytes to a `BytesMut`, then call
/// [`Decoder::decode`] until it returns `Ok(None)`.
///
/// Contract: between calls the caller only *appends* to the buffer; the decoder removes the
/// bytes of each item it returns (and leading empty lines). `Ok(None)` is never an error:
/// any prefix of a valid stream yields `Ok(None)`.
///
/// Accepted beyond RFC 2326: bare `LF` line endings, empty lines between messages (keepalive
/// `CRLF`s), blanks around `:` in headers, obs-fold continuation lines, any `RTSP/d.d` version,
/// and request-URIs that are bare names (`SETUP movie.Mjpeg RTSP/1.0`, the course lab).
///
/// Besides the items, it reports what a server answering the stream needs without scanning
/// the bytes again: the [`Dialect`] the peer speaks ([`Decoder::detect_dialect`]) and the
/// `CSeq` of the message it is in the middle of or failed on ([`Decoder::pending_cseq`]).
#[derive(Debug, Clone)]
pub struct Decoder {
    limits: Limits,
    lenient: bool,
    /// Turn lenient mode on at the first course-lab request line.
    detect: bool,
    offset: u64,
    state: State,
    failed: Option<ParseError>,
    /// After a failure: the `CSeq` of the message that failed, as far as it could be read.
    failed_cseq: Option<u32>,
}

impl Default for Decoder {
    fn default() -> Self {
        Self::new(Limits::default())
    }
}

impl Decoder {
    /// A decoder with these limits.
    pub fn new(limits: Limits) -> Self {
        Self {
            limits,
            lenient: false,
            detect: false,
            offset: 0,
            state: State::default(),
            failed: None,
            failed_cseq: None,
        }
    }

    /// Lenient mode (the course lab dialect): header lines without a `:` (the lab server's
    /// list of files) and lines that are not a start line where one is expected are skipped
    /// instead of being errors. Bare `LF` line endings are accepted in both modes.
    pub fn with_lenient(mut self, lenient: bool) -> Self {
        self.lenient = lenient;
        self
    }

    /// Whether lenient mode is on.
    pub fn is_lenient(&self) -> bool {
        self.lenient
    }

    /// Dialect detection (for a server): the first request line in the course-lab form —
    /// ended by a bare `LF` and naming a bare file, `SETUP movie.Mjpeg RTSP/1.0` — turns
    /// lenient mode on for it and the rest of the stream. Off by default.
    pub fn detect_dialect(mut self, detect: bool) -> Self {
        self.detect = detect;
        self
    }

    /// The dialect the stream is decoded in: [`Dialect::Lab`] once lenient mode is on (set
    /// with [`Decoder::with_lenient`] or detected), [`Dialect::Standard`] before.
    pub fn dialect(&self) -> Dialect {
        if self.lenient {
            Dialect::Lab
        } else {
            Dialect::Standard
        }
    }

    /// The `CSeq` of the message at the front of the stream that is not complete yet, from
    /// its header lines received whole so far; after an error, of the message that failed,
    /// read as far as the buffered bytes allow (best effort: also lines after the fault).
    /// `None` between messages, or when no valid `CSeq` line was seen.
    pub fn pending_cseq(&self) -> Option<u32> {
        if self.failed.is_some() {
            return self.failed_cseq;
        }
        match &self.state {
            State::Head(HeadState { msg, .. }) => msg.as_ref().and_then(Message::cseq),
            State::Body { msg, .. } => msg.cseq(),
        }
    }

    /// The limits in force.
    pub fn limits(&self) -> Limits {
        self.limits
    }

    /// Total bytes consumed so far (the stream offset of the front of the caller's buffer).
    pub fn stream_offset(&self) -> u64 {
        self.offset
    }

    /// Decode the next item from the front of `buf`, removing its bytes.
    ///
    /// `Ok(None)`: need more bytes (not an error). After an `Err` the stream is unusable and
    /// every further call returns the same error.
    pub fn decode(&mut self, buf: &mut BytesMut) -> Result<Option<Decoded>, ParseError> {
        self.run(buf, false)
    }

    /// Treat the end of `buf` as the end of the current message (the peer has gone quiet):
    /// a complete item at the front is returned as by [`Decoder::decode`]; otherwise the
    /// buffered bytes become one message even if the last line is unterminated and the
    /// empty line is missing (the lab server's replies). A declared `Content-Length` whose body
    /// is not all there is still an error. An incomplete interleaved frame is left alone
    /// (`Ok(None)`). Call repeatedly until `Ok(None)`; `Ok(None)` when nothing is buffered.
    pub fn flush(&mut self, buf: &mut BytesMut) -> Result<Option<Decoded>, ParseError> {
        self.run(buf, true)
    }

    fn run(&mut self, buf: &mut BytesMut, eof: bool) -> Result<Option<Decoded>, ParseError> {
        if let Some(e) = &self.failed {
            return Err(e.clone());
        }
        let r = self.step(buf, eof);
        if let Err(e) = &r {
            self.failed = Some(e.clone());
            self.failed_cseq = sniff_cseq(buf);
        }
        r
    }

    fn malformed(&self, at: usize, context: &'static str) -> ParseError {
        ParseError::Malformed {
            offset: self.offset + at as u64,
            context,
        }
    }

    fn too_large(&self, what: TooLargeKind, limit: usize, at: usize) -> ParseError {
        ParseError::TooLarge {
            what,
            limit,
            offset: self.offset + at as u64,
        }
    }

    fn consume(&mut self, buf: &mut BytesMut, n: usize) {
        buf.advance(n);
        self.offset += n as u64;
    }

    fn step(&mut self, buf: &mut BytesMut, eof: bool) -> Result<Option<Decoded>, ParseError> {
        loop {
            let head = match &mut self.state {
                State::Body { .. } => return self.finish_body(buf, eof),
                State::Head(h) => h,
            };
            if head.msg.is_none() && head.scanned == 0 {
                // Between items: skip empty lines (keepalive CRLFs).
                let blank = buf
                    .iter()
                    .take_while(|&&c| c == b'\r' || c == b'\n')
                    .count();
                self.consume(buf, blank);
                match buf.first() {
                    None => return Ok(None),
                    Some(b'$') => return self.interleaved(buf),
                    Some(_) => {}
                }
            }
            match self.scan_head(buf, eof)? {
                Scan::NeedMore => return Ok(None),
                Scan::Skip(n) => self.consume(buf, n),
                Scan::Done(head_len) => self.end_head(head_len)?,
            }
        }
    }

    /// `$ channel len payload` at the front of `buf` (which starts with `$`).
    fn interleaved(&mut self, buf: &mut BytesMut) -> Result<Option<Decoded>, ParseError> {
        if buf.len() < 4 {
            return Ok(None);
        }
        let (channel, len) = parse::interleaved_header(&buf[..4])
            .map_err(|f| self.malformed(f.column, f.context))?;
        let total = 4 + usize::from(len);
        if buf.len() < total {
            return Ok(None);
        }
        let frame = buf.split_to(total).freeze();
        self.offset += total as u64;
        Ok(Some(Decoded::Interleaved {
            channel,
            payload: frame.slice(4..),
        }))
    }

    /// Scan complete lines of the head, from where the last call stopped.
    fn scan_head(&mut self, buf: &BytesMut, eof: bool) -> Result<Scan, ParseError> {
        let limits = self.limits;
        let offset = self.offset;
        let malformed = |at: usize, context: &'static str| ParseError::Malformed {
            offset: offset + at as u64,
            context,
        };
        let too_large = |what: TooLargeKind, limit: usize, at: usize| ParseError::TooLarge {
            what,
            limit,
            offset: offset + at as u64,
        };
        let State::Head(head) = &mut self.state else {
            return Ok(Scan::NeedMore);
        };
        let mut pos = head.scanned.min(buf.len());
        loop {
            let rest = &buf[pos..];
            let line_kind = if head.msg.is_none() {
                TooLargeKind::StartLine
            } else {
                TooLargeKind::HeaderLine
            };
            let (line, next) = match rest.iter().position(|&c| c == b'\n') {
                Some(i) => {
                    let raw = &rest[..i];
                    if head.msg.is_none()
                        && self.detect
                        && !self.lenient
                        && Dialect::of_request_line(raw) == Dialect::Lab
                    {
                        // The course lab's client: lenient from its first request line on.
                        self.lenient = true;
                    }
                    (strip_cr(raw), pos + i + 1)
                }
                None => {
                    if rest.len() > limits.max_line.saturating_add(1) {
                        return Err(too_large(line_kind, limits.max_line, pos));
                    }
                    if buf.len() > limits.max_head {
                        return Err(too_large(TooLargeKind::Head, limits.max_head, 0));
                    }
                    if !eof {
                        head.scanned = pos;
                        return Ok(Scan::NeedMore);
                    }
                    if rest.is_empty() {
                        // End of input right after a complete line: the head ends here.
                        return Ok(Scan::Done(pos));
                    }
                    (strip_cr(rest), buf.len())
                }
            };
            if line.len() > limits.max_line {
                return Err(too_large(line_kind, limits.max_line, pos));
            }
            if next > limits.max_head {
                return Err(too_large(TooLargeKind::Head, limits.max_head, 0));
            }
            match &mut head.msg {
                None => match parse::start_line(line) {
                    Ok(start) => match start_message(start) {
                        Some(m) => head.msg = Some(m),
                        None => return Err(ParseError::Version { offset }),
                    },
                    Err(_) if self.lenient => {
                        // Not a start line: skip it and look again.
                        *head = HeadState::default();
                        return Ok(Scan::Skip(next));
                    }
                    Err(f) => return Err(malformed(pos + f.column, f.context)),
                },
                Some(msg) => {
                    if line.is_empty() {
                        return Ok(Scan::Done(next));
                    }
                    let headers = msg.headers_mut();
                    if let Some(cont) = parse::continuation(line) {
                        match headers.last_value_mut() {
                            Some(v) => {
                                if !cont.is_empty() {
                                    if !v.is_empty() {
                                        v.push(' ');
                                    }
                                    v.push_str(&String::from_utf8_lossy(cont));
                                }
                            }
                            None if self.lenient => {}
                            None => return Err(malformed(pos, "continuation line")),
                        }
                    } else {
                        head.lines += 1;
                        if head.lines > limits.max_headers {
                            return Err(too_large(TooLargeKind::Headers, limits.max_headers, pos));
                        }
                        match parse::header_field(line) {
                            Ok((name, value)) => headers.append(
                                HeaderName::new(String::from_utf8_lossy(name)),
                                String::from_utf8_lossy(value),
                            ),
                            Err(_) if self.lenient => {}
                            Err(f) => return Err(malformed(pos + f.column, f.context)),
                        }
                    }
                }
            }
            pos = next;
        }
    }

    /// The head (of `head_len` bytes) is complete: work out the body length.
    fn end_head(&mut self, head_len: usize) -> Result<(), ParseError> {
        let State::Head(head) = std::mem::take(&mut self.state) else {
            return Ok(());
        };
        let Some(msg) = head.msg else {
            // Only empty lines (flush at a line boundary): nothing to emit.
            return Ok(());
        };
        let mut body_len: Option<usize> = None;
        for value in msg.headers().get_all(&HeaderName::CONTENT_LENGTH) {
            let n = match parse::content_length(value.as_bytes()) {
                Ok(Some(n)) => n,
                Ok(None) => {
                    return Err(self.too_large(TooLargeKind::Body, self.limits.max_body, 0));
                }
                Err(f) => return Err(self.malformed(0, f.context)),
            };
            if body_len.is_some_and(|b| b != n) {
                return Err(self.malformed(0, "Content-Length (conflicting values)"));
            }
            body_len = Some(n);
        }
        let body_len = body_len.unwrap_or(0);
        if body_len > self.limits.max_body {
            return Err(self.too_large(TooLargeKind::Body, self.limits.max_body, 0));
        }
        self.state = State::Body {
            head_len,
            body_len,
            msg,
        };
        Ok(())
    }

    fn finish_body(
        &mut self,
        buf: &mut BytesMut,
        eof: bool,
    ) -> Result<Option<Decoded>, ParseError> {
        let State::Body {
            head_len, body_len, ..
        } = self.state
        else {
            return Ok(None);
        };
        let total = head_len + body_len;
        if buf.len() < total {
            return if eof {
                Err(self.malformed(buf.len(), "body (truncated)"))
            } else {
                Ok(None)
            };
        }
        let State::Body { mut msg, .. } = std::mem::take(&mut self.state) else {
            return Ok(None);
        };
        let mut item = buf.split_to(total);
        self.offset += total as u64;
        let body = item.split_off(head_len).freeze();
        match &mut msg {
            Message::Request(r) => r.body = body,
            Message::Response(r) => r.body = body,
        }
        Ok(Some(Decoded::Message(msg)))
    }
}

enum Scan {
    /// More bytes are needed.
    NeedMore,
    /// Lenient mode: skip this many bytes (a line that is not a start line), then start over.
    Skip(usize),
    /// The head is complete and spans this many bytes.
    Done(usize),
}

fn strip_cr(line: &[u8]) -> &[u8] {
    line.strip_suffix(b"\r").unwrap_or(line)
}

/// Best effort after a failure: the `CSeq` of the message at the front of `buf`, from its
/// header lines (after the first line, up to the first empty one, within 16 KiB), whether
/// or not they come after the fault.
fn sniff_cseq(buf: &[u8]) -> Option<u32> {
    let head = &buf[..buf.len().min(16 * 1024)];
    let text = String::from_utf8_lossy(head);
    for line in text.lines().skip(1) {
        let line = line.trim_end_matches('\r');
        if line.is_empty() {
            break;
        }
        if let Some((name, value)) = line.split_once(':') {
            if name.trim().eq_ignore_ascii_case("cseq") {
                return value.trim().parse().ok();
            }
        }
    }
    None
}

/// The message a start line begins, or `None` for a non-RTSP protocol.
fn start_message(start: StartLine<'_>) -> Option<Message> {
    let version = |p: Proto| match p {
        Proto::Rtsp(v) => Some(v),
        Proto::Other => None,
    };
    Some(match start {
        StartLine::Request {
            method,
            uri,
            version: v,
        } => Message::Request(Request {
            method,
            uri: String::from_utf8_lossy(uri).into_owned(),
            version: version(v)?,
            headers: Headers::new(),
            body: Bytes::new(),
        }),
        StartLine::Status {
            version: v,
            code,
            reason,
        } => Message::Response(Response {
            version: version(v)?,
            status: StatusCode(code),
            reason: String::from_utf8_lossy(reason).into_owned(),
            headers: Headers::new(),
            body: Bytes::new(),
        }),
    })
}
