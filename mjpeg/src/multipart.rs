//! MJPEG over HTTP: the parts of a `multipart/x-mixed-replace` body, as IP cameras, ESP32-CAM,
//! mjpg-streamer, ustreamer and `ffmpeg -f mpjpeg` send it — one JPEG a part.
//!
//! [`MultipartSplitter`] is incremental and bounded: push the bytes as they arrive, pull whole
//! parts. A part's body is delimited by its `Content-Length` when it has one (most servers send
//! it), else by the next boundary line. What comes before a boundary line (a preamble, blank
//! lines between parts), a part's header block and a part's body each have a limit; passing
//! one is an error naming the stream offset, and the splitter stops.

use bytes::{Buf, Bytes, BytesMut};
use thiserror::Error;

/// Most bytes skipped while looking for a boundary line (preamble, padding between parts).
pub const MAX_SKIP: usize = 64 * 1024;
/// Largest header block of one part.
pub const MAX_PART_HEADERS: usize = 8 * 1024;
/// Longest boundary (RFC 2046 §5.1.1 allows 70 characters).
const MAX_BOUNDARY: usize = 70;

/// Why a multipart stream cannot be split.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum MultipartError {
    /// The `Content-Type` is not `multipart/...` with a usable `boundary` parameter.
    #[error("not a multipart content type with a boundary: {0:?}")]
    ContentType(String),
    /// No boundary line within [`MAX_SKIP`] bytes.
    #[error("no boundary line within {MAX_SKIP} bytes of byte {offset}")]
    NoBoundary {
        /// Stream offset where the search started.
        offset: u64,
    },
    /// A part's header block is longer than [`MAX_PART_HEADERS`], or malformed.
    #[error("malformed part headers at byte {offset}")]
    Headers {
        /// Stream offset of the header block.
        offset: u64,
    },
    /// A part's body is larger than the limit.
    #[error("part at byte {offset} is larger than {max} bytes")]
    TooLarge {
        /// Stream offset of the body.
        offset: u64,
        /// The limit.
        max: usize,
    },
}

/// One part: its body and its declared type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Part {
    /// The `Content-Type` header of the part, if any (e.g. `image/jpeg`).
    pub content_type: Option<String>,
    /// The body.
    pub body: Bytes,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Looking for a boundary line.
    Seek,
    /// After a boundary line: a header block comes.
    Headers,
    /// In a body of a known length.
    Sized(usize),
    /// In a body that ends at the next boundary line.
    Open,
    /// The closing boundary (`--boundary--`) was seen, or an error stopped the splitter.
    Done,
}

/// Splits a `multipart/x-mixed-replace` (or any `multipart/*`) body into parts, incrementally.
///
/// ```
/// use mjpeg::MultipartSplitter;
/// let mut s = MultipartSplitter::from_content_type(
///     "multipart/x-mixed-replace; boundary=frame", 1 << 20).unwrap();
/// s.push(b"--frame\r\nContent-Type: image/jpeg\r\nContent-Length: 4\r\n\r\n\xFF\xD8\xFF\xD9\r\n");
/// s.push(b"--frame\r\nContent-Type: image/jpeg\r\n\r\n\xFF\xD8\xFF\xD9\r\n--frame");
/// let a = s.next_part().unwrap().unwrap();
/// assert_eq!(&a.body[..], b"\xFF\xD8\xFF\xD9");
/// assert_eq!(a.content_type.as_deref(), Some("image/jpeg"));
/// let b = s.next_part().unwrap().unwrap(); // no length: it ends at the next boundary line
/// assert_eq!(&b.body[..], b"\xFF\xD8\xFF\xD9");
/// assert_eq!(s.next_part().unwrap(), None); // more bytes needed
/// ```
#[derive(Debug)]
pub struct MultipartSplitter {
    /// `--` and the boundary.
    delimiter: Vec<u8>,
    max_part: usize,
    buf: BytesMut,
    /// Stream offset of `buf[0]`.
    consumed: u64,
    state: State,
    content_type: Option<String>,
    /// In an open body: how much of `buf` holds no boundary line start already.
    scanned: usize,
    error: Option<MultipartError>,
}

impl MultipartSplitter {
    /// A splitter for parts separated by `boundary` (without the leading `--`), each body at
    /// most `max_part` bytes.
    pub fn new(boundary: &str, max_part: usize) -> Result<Self, MultipartError> {
        let b = boundary.trim();
        if b.is_empty() || b.len() > MAX_BOUNDARY || b.bytes().any(|c| c.is_ascii_control()) {
            return Err(MultipartError::ContentType(
                boundary.chars().take(80).collect(),
            ));
        }
        let mut delimiter = b"--".to_vec();
        delimiter.extend_from_slice(b.as_bytes());
        Ok(Self {
            delimiter,
            max_part,
            buf: BytesMut::new(),
            consumed: 0,
            state: State::Seek,
            content_type: None,
            scanned: 0,
            error: None,
        })
    }

    /// A splitter for a response whose `Content-Type` is `content_type`
    /// (`multipart/x-mixed-replace; boundary=frame`, the boundary quoted or not; a `--` some
    /// servers put in front of it is taken off).
    pub fn from_content_type(content_type: &str, max_part: usize) -> Result<Self, MultipartError> {
        let bad = || MultipartError::ContentType(content_type.chars().take(200).collect());
        let mut params = content_type.split(';');
        let kind = params.next().unwrap_or("").trim().to_ascii_lowercase();
        if !kind.starts_with("multipart/") {
            return Err(bad());
        }
        let boundary = params
            .filter_map(|p| p.split_once('='))
            .find(|(k, _)| k.trim().eq_ignore_ascii_case("boundary"))
            .map(|(_, v)| v.trim().trim_matches('"'))
            .ok_or_else(bad)?;
        let boundary = boundary.strip_prefix("--").unwrap_or(boundary);
        Self::new(boundary, max_part).map_err(|_| bad())
    }

    /// Appends received bytes; then call [`next_part`](Self::next_part) until `Ok(None)`.
    pub fn push(&mut self, data: &[u8]) {
        if self.state != State::Done {
            self.buf.extend_from_slice(data);
        }
    }

    /// Whether the closing boundary came (no part will follow).
    pub fn is_closed(&self) -> bool {
        self.state == State::Done && self.error.is_none()
    }

    /// Bytes received and not yet returned as parts.
    pub fn buffered(&self) -> usize {
        self.buf.len()
    }

    /// The next whole part; `Ok(None)` when more bytes are needed or after the closing
    /// boundary. After an error, every call returns it again.
    pub fn next_part(&mut self) -> Result<Option<Part>, MultipartError> {
        if let Some(e) = &self.error {
            return Err(e.clone());
        }
        loop {
            let step = match self.state {
                State::Done => return Ok(None),
                State::Seek => self.seek(),
                State::Headers => self.headers(),
                State::Sized(len) => Ok(self.sized(len)),
                State::Open => self.open(),
            };
            match step {
                Ok(Step::More) => return Ok(None),
                Ok(Step::Again) => {}
                Ok(Step::Part(p)) => return Ok(Some(p)),
                Err(e) => {
                    self.state = State::Done;
                    self.buf.clear();
                    self.error = Some(e.clone());
                    return Err(e);
                }
            }
        }
    }

    fn advance(&mut self, n: usize) {
        self.buf.advance(n);
        self.consumed += n as u64;
    }

    /// Skips to the next boundary line and past it (the closing one ends the stream).
    fn seek(&mut self) -> Result<Step, MultipartError> {
        let d = self.delimiter.len();
        let Some((start, _)) = find_delimiter_line(&self.buf, &self.delimiter, 0) else {
            if self.buf.len() > MAX_SKIP {
                return Err(MultipartError::NoBoundary {
                    offset: self.consumed,
                });
            }
            return Ok(Step::More);
        };
        if start > MAX_SKIP {
            return Err(MultipartError::NoBoundary {
                offset: self.consumed,
            });
        }
        self.advance(start);
        if self.buf[d..].starts_with(b"--") {
            self.state = State::Done;
            self.buf.clear();
            return Ok(Step::More);
        }
        // The rest of the boundary line (transport padding) up to its end.
        let Some(eol) = self.buf[d..].iter().position(|&b| b == b'\n') else {
            if self.buf.len() > d + MAX_PART_HEADERS {
                return Err(MultipartError::Headers {
                    offset: self.consumed,
                });
            }
            return Ok(Step::More);
        };
        self.advance(d + eol + 1);
        self.state = State::Headers;
        Ok(Step::Again)
    }

    /// A part's header block, up to its empty line.
    fn headers(&mut self) -> Result<Step, MultipartError> {
        let offset = self.consumed;
        let Some((text_end, block_end)) = header_end(&self.buf) else {
            if self.buf.len() > MAX_PART_HEADERS {
                return Err(MultipartError::Headers { offset });
            }
            return Ok(Step::More);
        };
        if block_end > MAX_PART_HEADERS {
            return Err(MultipartError::Headers { offset });
        }
        let block = std::str::from_utf8(&self.buf[..text_end])
            .map_err(|_| MultipartError::Headers { offset })?;
        let mut length = None;
        let mut content_type = None;
        for line in block.lines() {
            let Some((name, value)) = line.split_once(':') else {
                continue;
            };
            let (name, value) = (name.trim(), value.trim());
            if name.eq_ignore_ascii_case("content-length") {
                let n = value
                    .parse::<usize>()
                    .map_err(|_| MultipartError::Headers { offset })?;
                length = Some(n);
            } else if name.eq_ignore_ascii_case("content-type") {
                content_type = Some(value.chars().take(200).collect());
            }
        }
        self.advance(block_end);
        self.content_type = content_type;
        self.scanned = 0;
        self.state = match length {
            Some(n) if n > self.max_part => {
                return Err(MultipartError::TooLarge {
                    offset: self.consumed,
                    max: self.max_part,
                })
            }
            Some(n) => State::Sized(n),
            None => State::Open,
        };
        Ok(Step::Again)
    }

    /// A body of `len` bytes; the boundary line after it is found by [`Self::seek`].
    fn sized(&mut self, len: usize) -> Step {
        if self.buf.len() < len {
            return Step::More;
        }
        let body = self.buf.split_to(len).freeze();
        self.consumed += len as u64;
        self.state = State::Seek;
        Step::Part(Part {
            content_type: self.content_type.take(),
            body,
        })
    }

    /// A body that ends at the line break before the next boundary line.
    fn open(&mut self) -> Result<Step, MultipartError> {
        let from = self.scanned;
        match find_delimiter_line(&self.buf, &self.delimiter, from) {
            Some((start, body_end)) => {
                if body_end > self.max_part {
                    return Err(MultipartError::TooLarge {
                        offset: self.consumed,
                        max: self.max_part,
                    });
                }
                let body = self.buf.split_to(body_end).freeze();
                self.consumed += body_end as u64;
                self.advance(start - body_end);
                self.state = State::Seek;
                Ok(Step::Part(Part {
                    content_type: self.content_type.take(),
                    body,
                }))
            }
            None if self.buf.len() > self.max_part + self.delimiter.len() + 2 => {
                Err(MultipartError::TooLarge {
                    offset: self.consumed,
                    max: self.max_part,
                })
            }
            None => {
                // Lines already searched need no second look; the last one may still grow.
                self.scanned = self
                    .buf
                    .iter()
                    .rposition(|&b| b == b'\n')
                    .map_or(0, |p| p + 1);
                Ok(Step::More)
            }
        }
    }
}

enum Step {
    /// More bytes are needed.
    More,
    /// The state changed: go on.
    Again,
    /// A whole part.
    Part(Part),
}

/// The first delimiter at the start of a line (at `buf[from]` when `from` starts a line, or
/// after a `\n`), searching from `from`, which must be 0 or just after a `\n`: where the
/// delimiter starts, and where the content before it ends (its line break taken off).
fn find_delimiter_line(buf: &[u8], delimiter: &[u8], from: usize) -> Option<(usize, usize)> {
    let mut i = from;
    loop {
        if buf.len() < i + delimiter.len() {
            return None;
        }
        if buf[i..].starts_with(delimiter) {
            let mut end = i;
            if end > 0 && buf[end - 1] == b'\n' {
                end -= 1;
                if end > 0 && buf[end - 1] == b'\r' {
                    end -= 1;
                }
            }
            return Some((i, end));
        }
        let next = buf[i..].iter().position(|&b| b == b'\n')?;
        i += next + 1;
    }
}

/// The end of a header block at the front of `buf` (its empty line: `\r\n\r\n` or `\n\n`):
/// (end of the header text, end of the block). A part without headers starts with the empty
/// line.
fn header_end(buf: &[u8]) -> Option<(usize, usize)> {
    let mut line_start = 0;
    loop {
        let rest = &buf[line_start..];
        if rest.starts_with(b"\r\n") {
            return Some((line_start, line_start + 2));
        }
        if rest.starts_with(b"\n") {
            return Some((line_start, line_start + 1));
        }
        let nl = rest.iter().position(|&b| b == b'\n')?;
        line_start += nl + 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const JPEG_A: &[u8] = b"\xFF\xD8aaaa\r\n--notquite\r\nxx\xFF\xD9";
    const JPEG_B: &[u8] = b"\xFF\xD8\xFF\xD9";

    fn all_parts(s: &mut MultipartSplitter) -> Result<Vec<Part>, MultipartError> {
        let mut out = Vec::new();
        while let Some(p) = s.next_part()? {
            out.push(p);
        }
        Ok(out)
    }

    /// `ffmpeg -f mpjpeg` (boundary `ffmpeg`, Content-Length), mjpg-streamer (boundary with a
    /// `--` in the header, no length, CRLF before the boundary) and ESP32-CAM style streams.
    fn streams() -> Vec<(&'static str, Vec<u8>)> {
        let mut ffmpeg = Vec::new();
        for j in [JPEG_A, JPEG_B] {
            ffmpeg.extend_from_slice(
                format!(
                    "--ffmpeg\r\nContent-type: image/jpeg\r\nContent-length: {}\r\n\r\n",
                    j.len()
                )
                .as_bytes(),
            );
            ffmpeg.extend_from_slice(j);
            ffmpeg.extend_from_slice(b"\r\n");
        }
        let mut open = b"preamble to skip\r\n".to_vec();
        for j in [JPEG_A, JPEG_B] {
            open.extend_from_slice(
                b"--boundarydonotcross\r\nContent-Type: image/jpeg\r\nX-Timestamp: 1.0\r\n\r\n",
            );
            open.extend_from_slice(j);
            open.extend_from_slice(b"\r\n");
        }
        open.extend_from_slice(b"--boundarydonotcross--\r\n");
        let mut lf = Vec::new();
        for j in [JPEG_A, JPEG_B] {
            lf.extend_from_slice(b"--123456789000000000000987654321\nContent-Type: image/jpeg\n\n");
            lf.extend_from_slice(j);
            lf.extend_from_slice(b"\n");
        }
        lf.extend_from_slice(b"--123456789000000000000987654321\n");
        vec![
            ("multipart/x-mixed-replace;boundary=ffmpeg", ffmpeg),
            (
                "multipart/x-mixed-replace; boundary=--boundarydonotcross",
                open,
            ),
            (
                "multipart/x-mixed-replace; boundary=\"123456789000000000000987654321\"",
                lf,
            ),
        ]
    }

    #[test]
    fn real_world_layouts_split_whole_and_byte_by_byte() {
        for (ct, data) in streams() {
            let mut whole = MultipartSplitter::from_content_type(ct, 1 << 20).unwrap();
            whole.push(&data);
            let parts = all_parts(&mut whole).unwrap();
            let bodies: Vec<&[u8]> = parts.iter().map(|p| &p.body[..]).collect();
            assert_eq!(bodies, vec![JPEG_A, JPEG_B], "{ct}");
            assert!(parts
                .iter()
                .all(|p| p.content_type.as_deref() == Some("image/jpeg")));
            let mut bytewise = MultipartSplitter::from_content_type(ct, 1 << 20).unwrap();
            let mut got = Vec::new();
            for b in &data {
                bytewise.push(std::slice::from_ref(b));
                got.extend(all_parts(&mut bytewise).unwrap());
            }
            assert_eq!(got, parts, "{ct} byte by byte");
        }
    }

    #[test]
    fn the_closing_boundary_ends_the_stream() {
        let mut s = MultipartSplitter::new("b", 100).unwrap();
        s.push(b"--b\r\n\r\nxyz\r\n--b--\r\nignored --b\r\n\r\nmore");
        assert_eq!(&all_parts(&mut s).unwrap()[0].body[..], b"xyz");
        assert!(s.is_closed());
        s.push(b"--b\r\n\r\nlater\r\n--b\r\n");
        assert_eq!(s.next_part(), Ok(None));
    }

    #[test]
    fn limits_and_bad_input_are_errors_not_growth() {
        // No boundary anywhere: refused once the skip limit passes.
        let mut s = MultipartSplitter::new("frame", 1000).unwrap();
        s.push(&vec![b'x'; MAX_SKIP + 1]);
        assert!(matches!(
            s.next_part(),
            Err(MultipartError::NoBoundary { .. })
        ));
        assert!(s.next_part().is_err(), "errors stick");
        // A declared length over the limit.
        let mut s = MultipartSplitter::new("frame", 10).unwrap();
        s.push(b"--frame\r\nContent-Length: 11\r\n\r\n");
        assert!(matches!(
            s.next_part(),
            Err(MultipartError::TooLarge {
                offset: 31,
                max: 10
            })
        ));
        // An open body over the limit, with no boundary yet.
        let mut s = MultipartSplitter::new("frame", 10).unwrap();
        s.push(b"--frame\r\n\r\n");
        s.push(&[b'j'; 40]);
        assert!(matches!(
            s.next_part(),
            Err(MultipartError::TooLarge { .. })
        ));
        // Endless headers, and a bad length.
        let mut s = MultipartSplitter::new("frame", 10).unwrap();
        s.push(b"--frame\r\n");
        s.push(&vec![b'h'; MAX_PART_HEADERS + 1]);
        assert!(matches!(s.next_part(), Err(MultipartError::Headers { .. })));
        let mut s = MultipartSplitter::new("frame", 10).unwrap();
        s.push(b"--frame\r\nContent-Length: many\r\n\r\n");
        assert!(matches!(
            s.next_part(),
            Err(MultipartError::Headers { offset: 9 })
        ));
        // Content types without a boundary.
        for ct in [
            "image/jpeg",
            "multipart/x-mixed-replace",
            "multipart/mixed; boundary=\"\"",
        ] {
            assert!(
                MultipartSplitter::from_content_type(ct, 10).is_err(),
                "{ct}"
            );
        }
    }

    proptest::proptest! {
        /// Any bodies, written with `Content-Length` (bodies may contain anything) or
        /// without (bodies that contain no boundary line), in any chunking, come back whole.
        #[test]
        fn written_parts_come_back(
            bodies in proptest::collection::vec(proptest::collection::vec(proptest::num::u8::ANY, 0..300), 0..6),
            sized in proptest::bool::ANY,
            cut in 1usize..64,
        ) {
            let bodies: Vec<Vec<u8>> = if sized {
                bodies
            } else {
                // Without a length a body ends at the line break before a boundary line: bodies
                // without line-break bytes come back exactly.
                bodies
                    .into_iter()
                    .map(|b| b.into_iter().filter(|&c| c != b'\n' && c != b'\r').collect())
                    .collect()
            };
            let mut data = Vec::new();
            for b in &bodies {
                data.extend_from_slice(b"--xyz\r\n");
                if sized {
                    data.extend_from_slice(format!("Content-Length: {}\r\n", b.len()).as_bytes());
                }
                data.extend_from_slice(b"\r\n");
                data.extend_from_slice(b);
                data.extend_from_slice(b"\r\n");
            }
            data.extend_from_slice(b"--xyz--\r\n");
            let mut s = MultipartSplitter::new("xyz", 1000).unwrap();
            let mut got = Vec::new();
            for piece in data.chunks(cut) {
                s.push(piece);
                while let Some(p) = s.next_part().unwrap() {
                    got.push(p.body.to_vec());
                }
            }
            proptest::prop_assert_eq!(got, bodies);
            proptest::prop_assert!(s.is_closed());
        }
    }
}
