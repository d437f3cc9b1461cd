//! The HTTP source: a minimal HTTP/1.1 GET client over a blocking [`TcpStream`] for MJPEG
//! streams (`multipart/x-mixed-replace`) and JPEG snapshots (`image/jpeg`, polled).
//!
//! One request per connection (`Connection: close`): a stream lasts as long as its
//! connection, a snapshot poll opens a new one each time.

use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::time::{Duration, Instant};

use bytes::Bytes;
use mjpeg::{MultipartError, MultipartSplitter};

use super::emit::{Emitter, Ended};
use super::http_head::{self, BodyDecoder, Framing, Head, MAX_HEAD};
use super::http_url::HttpUrl;
use super::net;
use super::stop::{HookGuard, StopSignal};
use super::SourceOptions;

/// Bytes read at a time.
const READ_BUF: usize = 64 * 1024;

/// Runs one HTTP source attempt: a stream until it ends, or snapshots until one fails.
pub(super) fn run(
    url: &str,
    opts: &SourceOptions,
    em: &mut Emitter<'_>,
    stop: &StopSignal,
) -> Ended {
    let url = match HttpUrl::parse(url) {
        Ok(u) => u,
        Err(e) => return Ended::lost(e.to_string()),
    };
    loop {
        let started = Instant::now();
        if let Err(ended) = get(&url, opts, em, stop) {
            return ended;
        }
        // A snapshot came: the next one an interval after this request began.
        let next = started + opts.snapshot_interval;
        if stop.wait(next.saturating_duration_since(Instant::now())) {
            return Ended::Stopped;
        }
    }
}

/// One GET. A stream never ends in `Ok`; a snapshot does once its frame was handed on.
fn get(
    url: &HttpUrl,
    opts: &SourceOptions,
    em: &mut Emitter<'_>,
    stop: &StopSignal,
) -> Result<(), Ended> {
    let mut conn = Conn::open(url, opts, stop)?;
    conn.send(&request(url))?;
    let (head, rest) = conn.read_head()?;
    check_status(&head, url)?;
    let content_type = head.content_type.as_deref().unwrap_or("");
    let mut body = Body::new(head.framing);
    let mut start = Vec::new();
    body.append(&rest, &mut start)?;
    match head.media_type().as_deref() {
        Some(t) if t.starts_with("multipart/") => {
            let splitter = MultipartSplitter::from_content_type(content_type, em.max_frame_size())
                .map_err(|e| Ended::lost(e.to_string()))?;
            stream(&mut conn, body, splitter, &start, em)
        }
        Some("image/jpeg" | "image/jpg") => snapshot(&mut conn, body, start, em),
        // What `ffmpeg -f mpjpeg -listen 1` says without `-content_type`, and servers that
        // say nothing: the body tells.
        None | Some("application/octet-stream") => {
            match sniff(&mut conn, &mut body, &mut start)? {
                Some(boundary) => {
                    let splitter = MultipartSplitter::new(&boundary, em.max_frame_size())
                        .map_err(|e| Ended::lost(e.to_string()))?;
                    stream(&mut conn, body, splitter, &start, em)
                }
                None if start.starts_with(&[0xFF, 0xD8]) => snapshot(&mut conn, body, start, em),
                None => Err(Ended::lost(format!(
                    "{} is neither a multipart stream nor a JPEG",
                    if content_type.is_empty() {
                        format!("{head} without a Content-Type")
                    } else {
                        format!("content type {content_type:?}")
                    }
                ))),
            }
        }
        Some(_) => Err(Ended::lost(format!(
            "unsupported content type {content_type:?} (expected multipart/x-mixed-replace or image/jpeg)"
        ))),
    }
}

/// Longest first line of an unlabelled body looked at for a multipart boundary.
const SNIFF: usize = 256;

/// Reads the start of an unlabelled body until it shows what it is: the boundary of a
/// multipart stream (its first line, `--boundary`), or `None` (a JPEG starts with SOI).
fn sniff(
    conn: &mut Conn<'_>,
    body: &mut Body,
    start: &mut Vec<u8>,
) -> Result<Option<String>, Ended> {
    loop {
        if start.starts_with(&[0xFF, 0xD8]) {
            return Ok(None);
        }
        if let Some(end) = start.iter().position(|&c| c == b'\n') {
            let line = String::from_utf8_lossy(&start[..end]);
            return Ok(line
                .trim_end()
                .strip_prefix("--")
                .map(|b| b.trim().to_string()));
        }
        if start.len() > SNIFF || body.0.is_complete() {
            return Ok(None);
        }
        let raw = conn.read()?;
        if raw.is_empty() {
            return Ok(None);
        }
        body.append(raw, start)?;
    }
}

/// A response body's decoder whose errors are losses.
struct Body(BodyDecoder);

impl Body {
    fn new(framing: Framing) -> Self {
        Self(BodyDecoder::new(framing))
    }

    /// Hands the body bytes in `raw` to `out`.
    fn decode<'a>(&mut self, raw: &'a [u8], out: impl FnMut(&'a [u8])) -> Result<(), Ended> {
        self.0
            .decode(raw, out)
            .map_err(|e| Ended::lost(format!("bad chunked body: {e}")))
    }

    /// Appends the body bytes in `raw` to `out`.
    fn append(&mut self, raw: &[u8], out: &mut Vec<u8>) -> Result<(), Ended> {
        self.decode(raw, |data| out.extend_from_slice(data))
    }
}

/// The GET request for `url`.
fn request(url: &HttpUrl) -> String {
    let mut req = format!(
        "GET {} HTTP/1.1\r\nHost: {}\r\nUser-Agent: runtime-std/{}\r\nAccept: multipart/x-mixed-replace, image/jpeg, */*\r\n",
        url.target(),
        url.host_header(),
        env!("CARGO_PKG_VERSION"),
    );
    if let Some(auth) = url.authorization() {
        req.push_str(&format!("Authorization: {auth}\r\n"));
    }
    req.push_str("Connection: close\r\n\r\n");
    req
}

/// Anything but 2xx is a loss, said as people read it.
fn check_status(head: &Head, url: &HttpUrl) -> Result<(), Ended> {
    match head.status {
        200..=299 => Ok(()),
        401 => Err(Ended::lost(format!(
            "authentication failed ({head}): {}",
            if url.has_credentials() {
                "the server refused the credentials in the URL"
            } else {
                "the URL carries no credentials (http://user:pass@host/...)"
            }
        ))),
        300..=399 => Err(Ended::lost(format!(
            "{head}: redirected to {} (redirects are not followed)",
            head.location.as_deref().unwrap_or("(no Location)")
        ))),
        _ => Err(Ended::lost(head.to_string())),
    }
}

/// A multipart stream: every image part is a frame, until the stream or connection ends.
/// `start` is the body so far.
fn stream(
    conn: &mut Conn<'_>,
    mut body: Body,
    mut splitter: MultipartSplitter,
    start: &[u8],
    em: &mut Emitter<'_>,
) -> Result<(), Ended> {
    splitter.push(start);
    loop {
        loop {
            match splitter.next_part() {
                Ok(Some(part)) => {
                    let is_jpeg = part.content_type.as_deref().is_none_or(|t| {
                        let t = t.to_ascii_lowercase();
                        t.starts_with("image/jpeg") || t.starts_with("image/jpg")
                    });
                    if is_jpeg {
                        em.frame(part.body, None);
                    } else {
                        tracing::debug!(source = %em.name(), content_type = ?part.content_type,
                            "part is not a JPEG; skipped");
                    }
                }
                Ok(None) => break,
                Err(MultipartError::TooLarge { .. }) => return Err(em.too_large("a part")),
                Err(e) => return Err(Ended::lost(format!("bad multipart stream: {e}"))),
            }
        }
        if splitter.is_closed() || body.0.is_complete() {
            return Err(Ended::Finished("the server ended the stream".into()));
        }
        let raw = conn.read()?;
        if raw.is_empty() {
            return Err(Ended::Finished("the server closed the connection".into()));
        }
        body.decode(raw, |data| splitter.push(data))?;
    }
}

/// A single image: the whole body is one frame. `jpeg` is the body so far.
fn snapshot(
    conn: &mut Conn<'_>,
    mut body: Body,
    mut jpeg: Vec<u8>,
    em: &mut Emitter<'_>,
) -> Result<(), Ended> {
    let max = em.max_frame_size();
    if let BodyDecoder::Length(n) = body.0 {
        if n.saturating_add(jpeg.len() as u64) > max as u64 {
            return Err(em.too_large(format!("the image ({} bytes)", n + jpeg.len() as u64)));
        }
    }
    loop {
        if jpeg.len() > max {
            return Err(em.too_large("the image"));
        }
        if body.0.is_complete() {
            break;
        }
        let raw = conn.read()?;
        if raw.is_empty() {
            if body.0.may_end_at_close() {
                break;
            }
            return Err(Ended::lost(
                "the connection closed in the middle of the image",
            ));
        }
        body.append(raw, &mut jpeg)?;
    }
    if !jpeg.starts_with(&[0xFF, 0xD8]) {
        em.dropped(1);
        return Err(Ended::lost(
            "the image/jpeg response is not a JPEG (no SOI)",
        ));
    }
    em.frame(Bytes::from(jpeg), None);
    Ok(())
}

/// An open connection whose reads a stop interrupts (it shuts the socket down).
struct Conn<'s> {
    stream: TcpStream,
    stop: &'s StopSignal,
    read_timeout: Duration,
    buf: Vec<u8>,
    _hook: HookGuard<'s>,
}

impl<'s> Conn<'s> {
    fn open(url: &HttpUrl, opts: &SourceOptions, stop: &'s StopSignal) -> Result<Self, Ended> {
        let stream = net::connect(url.host(), url.port(), opts.connect_timeout, stop)?;
        let failed = |e: io::Error| Ended::lost(format!("socket: {e}"));
        // A zero timeout would mean "none" to the socket.
        let read_timeout = opts.read_timeout.max(Duration::from_millis(1));
        stream
            .set_read_timeout(Some(read_timeout))
            .map_err(failed)?;
        stream
            .set_write_timeout(Some(opts.connect_timeout.max(Duration::from_secs(1))))
            .map_err(failed)?;
        let waker = stream.try_clone().map_err(failed)?;
        let hook = stop
            .on_stop(Box::new(move || {
                let _ = waker.shutdown(Shutdown::Both);
            }))
            .ok_or(Ended::Stopped)?;
        Ok(Self {
            stream,
            stop,
            read_timeout,
            buf: vec![0; READ_BUF],
            _hook: hook,
        })
    }

    fn send(&mut self, request: &str) -> Result<(), Ended> {
        let r = self.stream.write_all(request.as_bytes());
        if self.stop.is_stopped() {
            return Err(Ended::Stopped);
        }
        r.map_err(|e| Ended::lost(format!("cannot send the request: {e}")))
    }

    /// The next bytes; empty at the end of the stream.
    fn read(&mut self) -> Result<&[u8], Ended> {
        loop {
            let r = self.stream.read(&mut self.buf);
            if self.stop.is_stopped() {
                return Err(Ended::Stopped);
            }
            match r {
                Ok(n) => return Ok(&self.buf[..n]),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                    ) =>
                {
                    return Err(Ended::lost(format!(
                        "no data for {:.1} s",
                        self.read_timeout.as_secs_f64()
                    )))
                }
                Err(e) => return Err(Ended::lost(format!("read failed: {e}"))),
            }
        }
    }

    /// Reads the final response head (informational ones are skipped). Returns it and the
    /// bytes after it.
    fn read_head(&mut self) -> Result<(Head, Vec<u8>), Ended> {
        let mut buf = Vec::new();
        loop {
            match http_head::parse(&buf) {
                Ok(Some((head, len))) if head.is_informational() => {
                    buf.drain(..len);
                }
                Ok(Some((head, len))) => return Ok((head, buf.split_off(len))),
                Ok(None) if buf.len() > MAX_HEAD => {
                    return Err(Ended::lost(format!(
                        "response head larger than {MAX_HEAD} bytes"
                    )))
                }
                Ok(None) => {
                    let data = self.read()?;
                    if data.is_empty() {
                        return Err(Ended::lost(if buf.is_empty() {
                            "the server closed the connection without a response".to_string()
                        } else {
                            format!("the server closed the connection after {} bytes of a response head", buf.len())
                        }));
                    }
                    buf.extend_from_slice(data);
                }
                Err(e) => return Err(Ended::lost(e.to_string())),
            }
        }
    }
}
