//! MJPEG over HTTP, the pure parts of `http-load` and `tcp-ceiling`: the response head
//! (httparse), counting `multipart/x-mixed-replace` parts as they arrive, and frame gaps.
//!
//! Two ways to split the body ([`Parts`]):
//! * [`PartCounter`] (lean, the default): finds each part's end from its `Content-Length`,
//!   keeps no body bytes (only the first two and the last two, to check JPEG SOI `FF D8` and
//!   EOI `FF D9`). A part without `Content-Length` is an error.
//! * `mjpeg::MultipartSplitter` (the workspace's splitter, as `runtime-std`'s HTTP source
//!   uses it): copies every part into a buffer; takes parts without `Content-Length` too.

use std::time::{Duration, Instant};

/// Largest response head or part header block accepted.
pub const MAX_HEAD: usize = 8 * 1024;

/// Largest part body accepted (by both splitters).
pub const MAX_PART: usize = 16 * 1024 * 1024;

/// Host, port and path of an `http://HOST[:PORT]/PATH` URL (port 80 by default; an IPv6 host
/// in brackets).
pub fn parse_url(url: &str) -> Result<(String, u16, String), String> {
    let rest = url
        .strip_prefix("http://")
        .ok_or_else(|| format!("not an http:// URL: {url:?}"))?;
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let (host, port) = match authority.rsplit_once(':') {
        Some((h, p)) if !p.contains(']') => (
            h,
            p.parse::<u16>()
                .map_err(|_| format!("bad port in {url:?}"))?,
        ),
        _ => (authority, 80),
    };
    if host.is_empty() {
        return Err(format!("no host in {url:?}"));
    }
    Ok((host.to_string(), port, path.to_string()))
}

/// `multipart/x-mixed-replace` head of a response (what `tcp-ceiling` answers).
pub fn response_head(boundary: &str) -> String {
    format!(
        "HTTP/1.1 200 OK\r\nContent-Type: multipart/x-mixed-replace;boundary={boundary}\r\n\
         Cache-Control: no-cache\r\nConnection: close\r\n\r\n"
    )
}

/// One whole part on the wire, as issue 16's server writes it: boundary line, `Content-Type`
/// and `Content-Length` headers, empty line, `jpeg`, CRLF.
pub fn part(boundary: &str, jpeg: &[u8]) -> Vec<u8> {
    let mut p = format!(
        "--{boundary}\r\nContent-Type: image/jpeg\r\nContent-Length: {}\r\n\r\n",
        jpeg.len()
    )
    .into_bytes();
    p.extend_from_slice(jpeg);
    p.extend_from_slice(b"\r\n");
    p
}

/// A JPEG-looking body of `len` bytes (at least 4): SOI, filler, EOI. Enough for the counters,
/// which look at the first and last two bytes only.
pub fn fake_jpeg(len: usize) -> Vec<u8> {
    let len = len.max(4);
    let mut v = vec![0x55u8; len];
    v[..2].copy_from_slice(&[0xFF, 0xD8]);
    v[len - 2..].copy_from_slice(&[0xFF, 0xD9]);
    v
}

/// A complete response head: status code, `Content-Type`, and its length in bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Head {
    /// Status code.
    pub status: u16,
    /// The `Content-Type` header (empty when missing).
    pub content_type: String,
    /// Bytes of the head (the body starts there).
    pub len: usize,
    /// `Transfer-Encoding: chunked` (see [`Dechunk`]).
    pub chunked: bool,
}

/// Parses a response head from the start of `buf`: `Ok(None)` when more bytes are needed.
pub fn parse_head(buf: &[u8]) -> Result<Option<Head>, String> {
    let mut headers = [httparse::EMPTY_HEADER; 32];
    let mut r = httparse::Response::new(&mut headers);
    match r.parse(buf) {
        Ok(httparse::Status::Complete(len)) => {
            let content_type = r
                .headers
                .iter()
                .find(|h| h.name.eq_ignore_ascii_case("content-type"))
                .map(|h| String::from_utf8_lossy(h.value).into_owned())
                .unwrap_or_default();
            let chunked = r.headers.iter().any(|h| {
                h.name.eq_ignore_ascii_case("transfer-encoding")
                    && String::from_utf8_lossy(h.value)
                        .to_ascii_lowercase()
                        .contains("chunked")
            });
            Ok(Some(Head {
                status: r.code.unwrap_or(0),
                content_type,
                len,
                chunked,
            }))
        }
        Ok(httparse::Status::Partial) if buf.len() > MAX_HEAD => {
            Err(format!("response head longer than {MAX_HEAD} bytes"))
        }
        Ok(httparse::Status::Partial) => Ok(None),
        Err(e) => Err(format!("bad response head: {e}")),
    }
}

/// The boundary of a `multipart/...; boundary=X` content type (quotes and a leading `--`
/// taken off).
pub fn boundary_of(content_type: &str) -> Option<&str> {
    let mut params = content_type.split(';');
    let kind = params.next()?.trim();
    if !kind
        .get(..10)
        .is_some_and(|k| k.eq_ignore_ascii_case("multipart/"))
    {
        return None;
    }
    let b = params
        .filter_map(|p| p.split_once('='))
        .find(|(k, _)| k.trim().eq_ignore_ascii_case("boundary"))
        .map(|(_, v)| v.trim().trim_matches('"'))?;
    let b = b.strip_prefix("--").unwrap_or(b);
    (!b.is_empty()).then_some(b)
}

/// Where a [`Dechunk`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Chunk {
    /// The chunk-size line.
    Size,
    /// This many data bytes.
    Data(usize),
    /// The CRLF after a chunk's data: this many bytes of it left.
    End(usize),
    /// The last chunk (size 0) came.
    Done,
}

/// Decodes a `Transfer-Encoding: chunked` body (RFC 9112 §7.1) pushed in any split (as
/// `ffmpeg -listen 1` sends it). Chunk extensions are ignored, trailers are not read.
#[derive(Debug, Clone)]
pub struct Dechunk {
    state: Chunk,
    line: Vec<u8>,
}

impl Default for Dechunk {
    fn default() -> Self {
        Self {
            state: Chunk::Size,
            line: Vec::new(),
        }
    }
}

impl Dechunk {
    /// Hands the data bytes of `data` to `out`, in order.
    pub fn push(
        &mut self,
        mut data: &[u8],
        mut out: impl FnMut(&[u8]) -> Result<(), String>,
    ) -> Result<(), String> {
        while !data.is_empty() {
            match self.state {
                Chunk::Size => {
                    let nl = data.iter().position(|&b| b == b'\n');
                    let take = nl.map_or(data.len(), |p| p + 1);
                    self.line.extend_from_slice(&data[..take]);
                    data = &data[take..];
                    if self.line.len() > 1024 {
                        return Err("chunk-size line longer than 1024 bytes".into());
                    }
                    if nl.is_none() {
                        continue;
                    }
                    let line = std::str::from_utf8(&self.line).unwrap_or("");
                    let hex = line.split(';').next().unwrap_or("").trim();
                    let size = usize::from_str_radix(hex, 16)
                        .map_err(|_| format!("bad chunk size {hex:?}"))?;
                    self.line.clear();
                    self.state = if size == 0 {
                        Chunk::Done
                    } else {
                        Chunk::Data(size)
                    };
                }
                Chunk::Data(left) => {
                    let n = left.min(data.len());
                    out(&data[..n])?;
                    data = &data[n..];
                    self.state = if n == left {
                        Chunk::End(2)
                    } else {
                        Chunk::Data(left - n)
                    };
                }
                Chunk::End(left) => {
                    let want: &[u8] = &b"\r\n"[2 - left..];
                    let n = left.min(data.len());
                    if data[..n] != want[..n] {
                        return Err("chunk data not followed by CRLF".into());
                    }
                    data = &data[n..];
                    self.state = if n == left {
                        Chunk::Size
                    } else {
                        Chunk::End(left - n)
                    };
                }
                Chunk::Done => return Ok(()),
            }
        }
        Ok(())
    }
}

/// Parts counted by one [`Parts::push`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counted {
    /// Parts that are JPEG (start with SOI `FF D8`, end with EOI `FF D9`).
    pub good: u64,
    /// Parts that are not.
    pub bad: u64,
    /// Body bytes of all those parts.
    pub body_bytes: u64,
}

impl Counted {
    /// One part of `len` bytes starting with `first` and ending with `last`: JPEG if it has
    /// room for SOI and EOI and starts with SOI `FF D8` and ends with EOI `FF D9`.
    pub fn of_part(len: usize, first: [u8; 2], last: [u8; 2]) -> Self {
        let jpeg = len >= 4 && first == [0xFF, 0xD8] && last == [0xFF, 0xD9];
        Self {
            good: u64::from(jpeg),
            bad: u64::from(!jpeg),
            body_bytes: len as u64,
        }
    }

    /// One part whose body is `b`.
    pub fn of_body(b: &[u8]) -> Self {
        match b {
            [f0, f1, .., l0, l1] => Self::of_part(b.len(), [*f0, *f1], [*l0, *l1]),
            _ => Self::of_part(b.len(), [0; 2], [0; 2]),
        }
    }
}

impl std::ops::AddAssign for Counted {
    fn add_assign(&mut self, c: Self) {
        self.good += c.good;
        self.bad += c.bad;
        self.body_bytes += c.body_bytes;
    }
}

/// Where a [`PartCounter`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    /// A boundary line and a part's headers (after the CRLF that ended the previous body).
    Head,
    /// This many body bytes.
    Body(usize),
}

/// Counts the parts of a multipart body from their `Content-Length`, over bytes pushed in any
/// split, keeping none of the bodies.
#[derive(Debug, Clone)]
pub struct PartCounter {
    /// `--` and the boundary.
    delimiter: Vec<u8>,
    expect: Expect,
    /// The boundary line and header block being read.
    head: Vec<u8>,
    /// First two and (so far) last two bytes of the body being read; how many of the first
    /// two came.
    first: [u8; 2],
    last: [u8; 2],
    first_n: usize,
    body_len: usize,
}

impl PartCounter {
    /// A counter for parts delimited by `--boundary`.
    pub fn new(boundary: &str) -> Self {
        Self {
            delimiter: format!("--{boundary}").into_bytes(),
            expect: Expect::Head,
            head: Vec::with_capacity(256),
            first: [0; 2],
            last: [0; 2],
            first_n: 0,
            body_len: 0,
        }
    }

    /// Counts the parts completed by `data`; an error (bad part headers, a part without
    /// `Content-Length`, one larger than [`MAX_PART`]) leaves the counter unusable.
    pub fn push(&mut self, mut data: &[u8]) -> Result<Counted, String> {
        let mut c = Counted::default();
        while !data.is_empty() {
            match self.expect {
                Expect::Head => {
                    // Leading CRLFs (the end of the previous body, padding) are skipped.
                    if self.head.is_empty() {
                        let skip = data
                            .iter()
                            .position(|&b| b != b'\r' && b != b'\n')
                            .unwrap_or(data.len());
                        data = &data[skip..];
                        if data.is_empty() {
                            break;
                        }
                    }
                    let from = self.head.len().saturating_sub(3);
                    // Take bytes up to the end of the header block if it is in `data`.
                    let old = self.head.len();
                    let take = data.len().min(MAX_HEAD + 1 - old.min(MAX_HEAD));
                    self.head.extend_from_slice(&data[..take]);
                    let Some(end) = find(&self.head[from..], b"\r\n\r\n").map(|p| from + p + 4)
                    else {
                        if self.head.len() > MAX_HEAD {
                            return Err(format!("part headers longer than {MAX_HEAD} bytes"));
                        }
                        data = &data[take..];
                        continue;
                    };
                    let len = self.part_len(&self.head[..end])?;
                    data = &data[end - old..];
                    self.head.clear();
                    self.expect = Expect::Body(len);
                    self.first_n = 0;
                    self.body_len = len;
                    if len == 0 {
                        self.finish(&mut c);
                    }
                }
                Expect::Body(left) => {
                    let n = left.min(data.len());
                    let chunk = &data[..n];
                    for &b in chunk.iter().take(2 - self.first_n) {
                        self.first[self.first_n] = b;
                        self.first_n += 1;
                    }
                    match chunk {
                        [.., a, b] => self.last = [*a, *b],
                        [b] => self.last = [self.last[1], *b],
                        [] => {}
                    }
                    data = &data[n..];
                    if left == n {
                        self.finish(&mut c);
                    } else {
                        self.expect = Expect::Body(left - n);
                    }
                }
            }
        }
        Ok(c)
    }

    /// A body ended: count it.
    fn finish(&mut self, c: &mut Counted) {
        *c += Counted::of_part(self.body_len, self.first, self.last);
        self.expect = Expect::Head;
        self.first = [0; 2];
        self.last = [0; 2];
    }

    /// The body length declared by a boundary line and header block.
    fn part_len(&self, block: &[u8]) -> Result<usize, String> {
        let eol = find(block, b"\r\n").unwrap_or(block.len());
        let line = block[..eol].trim_ascii_end();
        if line != self.delimiter.as_slice() {
            return Err(format!(
                "expected boundary line {:?}, got {:?}",
                String::from_utf8_lossy(&self.delimiter),
                String::from_utf8_lossy(&line[..line.len().min(80)])
            ));
        }
        let mut headers = [httparse::EMPTY_HEADER; 16];
        let hs = match httparse::parse_headers(&block[eol + 2..], &mut headers) {
            Ok(httparse::Status::Complete((_, hs))) => hs,
            _ => return Err("malformed part headers".into()),
        };
        let len = hs
            .iter()
            .find(|h| h.name.eq_ignore_ascii_case("content-length"))
            .ok_or("part without Content-Length (use --parser splitter)")?;
        let len: usize = std::str::from_utf8(len.value)
            .ok()
            .and_then(|v| v.trim().parse().ok())
            .ok_or("bad part Content-Length")?;
        if len > MAX_PART {
            return Err(format!("part of {len} bytes (limit {MAX_PART})"));
        }
        Ok(len)
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// Which splitter a viewer uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Splitter {
    /// [`PartCounter`].
    Lean,
    /// `mjpeg::MultipartSplitter`.
    Mjpeg,
}

/// A multipart body splitter of either kind.
#[derive(Debug)]
pub enum Parts {
    /// Lean: [`PartCounter`].
    Lean(PartCounter),
    /// The workspace's `mjpeg::MultipartSplitter`.
    Mjpeg(mjpeg::MultipartSplitter),
}

impl Parts {
    /// A splitter of kind `kind` for parts delimited by `--boundary`.
    pub fn new(kind: Splitter, boundary: &str) -> Result<Self, String> {
        Ok(match kind {
            Splitter::Lean => Self::Lean(PartCounter::new(boundary)),
            Splitter::Mjpeg => Self::Mjpeg(
                mjpeg::MultipartSplitter::new(boundary, MAX_PART).map_err(|e| e.to_string())?,
            ),
        })
    }

    /// Counts the parts `data` completes.
    pub fn push(&mut self, data: &[u8]) -> Result<Counted, String> {
        match self {
            Self::Lean(p) => p.push(data),
            Self::Mjpeg(s) => {
                s.push(data);
                let mut c = Counted::default();
                while let Some(p) = s.next_part().map_err(|e| e.to_string())? {
                    c += Counted::of_body(&p.body);
                }
                Ok(c)
            }
        }
    }
}

/// Frame arrivals of one viewer: count, the gaps between them, late frames.
#[derive(Debug, Clone, Default)]
pub struct FrameGaps {
    /// Frames.
    pub frames: u64,
    /// Frames that came more than two nominal intervals after the previous one.
    pub late: u64,
    /// Largest gap between two frames.
    pub max_gap: Duration,
    /// Arrival of the first frame.
    pub first_at: Option<Instant>,
    /// Arrival of the latest frame.
    pub last_at: Option<Instant>,
}

impl FrameGaps {
    /// Counts a frame arriving at `now`, late if more than `2 × interval` after the previous.
    pub fn on_frame(&mut self, now: Instant, interval: Duration) {
        self.frames += 1;
        if let Some(last) = self.last_at {
            let gap = now.saturating_duration_since(last);
            if gap > 2 * interval {
                self.late += 1;
            }
            self.max_gap = self.max_gap.max(gap);
        } else {
            self.first_at = Some(now);
        }
        self.last_at = Some(now);
    }
}

/// Minimum, mean and maximum of per-viewer rates (zeros when there are none).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Spread {
    /// Smallest.
    pub min: f64,
    /// Mean.
    pub mean: f64,
    /// Largest.
    pub max: f64,
}

impl Spread {
    /// The spread of `v`.
    pub fn of(v: &[f64]) -> Self {
        if v.is_empty() {
            return Self::default();
        }
        Self {
            min: v.iter().copied().fold(f64::INFINITY, f64::min),
            mean: v.iter().sum::<f64>() / v.len() as f64,
            max: v.iter().copied().fold(f64::NEG_INFINITY, f64::max),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Three parts (two JPEG, one not, one empty) and a closing boundary-less tail.
    fn stream() -> (Vec<u8>, Counted) {
        let mut s = b"\r\n".to_vec();
        s.extend(part("frame", &fake_jpeg(1000)));
        s.extend(part("frame", b"\x00\x01not a jpeg\xFF\xD9"));
        s.extend(part("frame", &fake_jpeg(4)));
        // A header block with extra headers, the length in lowercase, body bytes that look
        // like a boundary and a header end (a length-delimited body is opaque).
        let body = b"\xFF\xD8\r\n--frame\r\n\r\n\xFF\xD9";
        s.extend(
            format!(
                "--frame\r\nX-Ts: 1\r\ncontent-length: {}\r\n\r\n",
                body.len()
            )
            .as_bytes(),
        );
        s.extend(body);
        s.extend(b"\r\n");
        let bytes = (1000 + 14 + 4 + body.len()) as u64;
        (
            s,
            Counted {
                good: 3,
                bad: 1,
                body_bytes: bytes,
            },
        )
    }

    fn count_split(kind: Splitter, s: &[u8], cuts: &[usize]) -> Counted {
        let mut p = Parts::new(kind, "frame").unwrap();
        let mut total = Counted::default();
        let mut at = 0;
        for &c in cuts.iter().chain(std::iter::once(&s.len())) {
            total += p.push(&s[at..c]).unwrap();
            at = c;
        }
        total
    }

    #[test]
    fn counts_parts_across_every_single_cut() {
        let (s, want) = stream();
        for cut in 0..=s.len() {
            assert_eq!(
                count_split(Splitter::Lean, &s, &[cut]),
                want,
                "cut at {cut}"
            );
        }
    }

    #[test]
    fn counts_parts_byte_by_byte_and_in_pseudo_random_chunks() {
        let (s, want) = stream();
        let every: Vec<usize> = (1..s.len()).collect();
        assert_eq!(count_split(Splitter::Lean, &s, &every), want);
        // Deterministic chunk sizes 1..=97 (an LCG).
        for seed in 0..20u64 {
            let mut x = seed;
            let mut cuts = Vec::new();
            let mut at = 0;
            loop {
                x = x
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                at += 1 + (x >> 33) as usize % 97;
                if at >= s.len() {
                    break;
                }
                cuts.push(at);
            }
            assert_eq!(count_split(Splitter::Lean, &s, &cuts), want, "seed {seed}");
        }
    }

    #[test]
    fn mjpeg_splitter_agrees_with_the_lean_counter() {
        let (s, want) = stream();
        // The splitter returns a part once the next bytes are there; a closing line ends it.
        let mut s = s;
        s.extend(b"--frame--\r\n");
        for cut in [0, 1, 50, 1000, s.len() - 3] {
            assert_eq!(count_split(Splitter::Mjpeg, &s, &[cut]), want, "cut {cut}");
        }
    }

    #[test]
    fn lean_counter_refuses_what_it_cannot_count() {
        let mut p = PartCounter::new("frame");
        let e = p.push(b"--other\r\nContent-Length: 4\r\n\r\n").unwrap_err();
        assert!(e.contains("boundary"), "{e}");
        let mut p = PartCounter::new("frame");
        let e = p
            .push(b"--frame\r\nContent-Type: image/jpeg\r\n\r\n")
            .unwrap_err();
        assert!(e.contains("Content-Length"), "{e}");
        let mut p = PartCounter::new("frame");
        assert!(p.push(b"--frame\r\nContent-Length: x\r\n\r\n").is_err());
        let mut p = PartCounter::new("frame");
        let big = format!("--frame\r\nContent-Length: {}\r\n\r\n", MAX_PART + 1);
        assert!(p.push(big.as_bytes()).is_err());
        // A header block that never ends is bounded.
        let mut p = PartCounter::new("frame");
        let mut r = Ok(Counted::default());
        for _ in 0..100 {
            r = p.push(&[b'a'; 100]);
            if r.is_err() {
                break;
            }
        }
        assert!(r.is_err());
    }

    #[test]
    fn response_head_and_boundary() {
        let h = response_head("xyz");
        let full = format!("{h}--xyz\r\n");
        let head = parse_head(full.as_bytes()).unwrap().unwrap();
        assert_eq!(head.status, 200);
        assert_eq!(head.len, h.len());
        assert_eq!(boundary_of(&head.content_type), Some("xyz"));
        assert_eq!(parse_head(&h.as_bytes()[..h.len() - 1]).unwrap(), None);
        assert!(parse_head(b"HTTP/1.1 abc\r\n\r\n").is_err());
        assert_eq!(
            boundary_of("multipart/x-mixed-replace; boundary=\"--ab\""),
            Some("ab")
        );
        assert_eq!(
            boundary_of("Multipart/x-mixed-replace;BOUNDARY=ab"),
            Some("ab")
        );
        assert_eq!(boundary_of("image/jpeg; boundary=ab"), None);
        assert_eq!(boundary_of("multipart/x-mixed-replace"), None);
    }

    #[test]
    fn chunked_bodies_are_counted_across_every_cut() {
        let (s, want) = stream();
        // Chunks of 1, 2, 3, ... bytes (hex sizes, one with an extension), then the last.
        let mut enc = Vec::new();
        let (mut at, mut k) = (0, 1);
        while at < s.len() {
            let n = k.min(s.len() - at);
            enc.extend(format!("{n:x}{}\r\n", if k == 3 { ";x=y" } else { "" }).as_bytes());
            enc.extend(&s[at..at + n]);
            enc.extend(b"\r\n");
            at += n;
            k += 1;
        }
        enc.extend(b"0\r\n\r\n");
        for cut in 0..=enc.len() {
            let mut d = Dechunk::default();
            let mut p = PartCounter::new("frame");
            let mut got = Counted::default();
            for piece in [&enc[..cut], &enc[cut..]] {
                d.push(piece, |b| {
                    got += p.push(b)?;
                    Ok(())
                })
                .unwrap();
            }
            assert_eq!(got, want, "cut at {cut}");
        }
        let mut d = Dechunk::default();
        assert!(d.push(b"zz\r\n", |_| Ok(())).is_err());
        let mut d = Dechunk::default();
        assert!(d.push(b"2\r\nabXY", |_| Ok(())).is_err());
    }

    #[test]
    fn urls() {
        let u = |s: &str| parse_url(s).unwrap();
        assert_eq!(
            u("http://127.0.0.1:8080/cam/stream.mjpg"),
            ("127.0.0.1".into(), 8080, "/cam/stream.mjpg".into())
        );
        assert_eq!(u("http://localhost"), ("localhost".into(), 80, "/".into()));
        assert_eq!(u("http://[::1]:81/x"), ("[::1]".into(), 81, "/x".into()));
        assert_eq!(u("http://[::1]/x"), ("[::1]".into(), 80, "/x".into()));
        assert!(parse_url("rtsp://127.0.0.1/x").is_err());
        assert!(parse_url("http://127.0.0.1:x/").is_err());
        assert!(parse_url("http://:80/").is_err());
    }

    #[test]
    fn gaps_and_late_frames() {
        let t0 = Instant::now();
        let ms = |m: u64| t0 + Duration::from_millis(m);
        let iv = Duration::from_millis(40);
        let mut g = FrameGaps::default();
        // 40 ms apart, then gaps of exactly 80 (not late), 81 (late), 200 (late), 0 (a burst).
        for t in [0, 40, 80, 160, 241, 441, 441] {
            g.on_frame(ms(t), iv);
        }
        assert_eq!(g.frames, 7);
        assert_eq!(g.late, 2);
        assert_eq!(g.max_gap, Duration::from_millis(200));
        assert_eq!((g.first_at, g.last_at), (Some(ms(0)), Some(ms(441))));
        let s = Spread::of(&[25.0, 24.0, 26.0]);
        assert_eq!((s.min, s.mean, s.max), (24.0, 25.0, 26.0));
        assert_eq!(Spread::of(&[]), Spread::default());
    }
}
