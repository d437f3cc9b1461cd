//! N HTTP viewers of one MJPEG stream on one mio loop: `http-load`'s load, and the reader
//! side of `tcp-ceiling`.
//!
//! Each viewer is a TCP connection (from one of the source addresses, see
//! [`crate::source_addrs`]) that sends `GET PATH HTTP/1.1`, reads the response head
//! ([`crate::http::parse_head`]: status 200, a `multipart/...; boundary=` content type) and
//! then counts the body's parts ([`crate::http::Parts`]) and the gaps between them
//! ([`crate::http::FrameGaps`]), stamping every part with the time its last byte was read.

use std::io::{self, Read, Write};
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use mio::net::TcpStream;
use mio::{Events, Interest, Poll, Token};

use crate::count::rate_in_window;
use crate::http::{boundary_of, parse_head, Counted, Dechunk, FrameGaps, Parts, Splitter, Spread};
use crate::{connect_from, sys};

/// Viewers started per event-loop turn at most (replies to the first ones are read while
/// later ones are being opened).
const START_BATCH: usize = 32;

/// Checks the bounds both HTTP tools put on a run: 1..=20000 viewers, (0, 3600] seconds,
/// (0, 1000] frames per second.
pub fn check_run(viewers: usize, duration: f64, fps: f64) -> Result<(), String> {
    if viewers == 0 || viewers > 20_000 {
        return Err("--viewers must be 1..=20000".into());
    }
    if !(duration > 0.0 && duration <= 3600.0) {
        return Err("--duration must be in (0, 3600] seconds".into());
    }
    if !(fps > 0.0 && fps <= 1000.0) {
        return Err("--fps must be in (0, 1000]".into());
    }
    Ok(())
}

/// One `poll` of `poll` until `wake` at the latest (an interrupted call returns no events).
pub fn poll_until(poll: &mut Poll, events: &mut Events, wake: Instant) -> Result<(), String> {
    match poll.poll(events, Some(wake.saturating_duration_since(Instant::now()))) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::Interrupted => {
            events.clear();
            Ok(())
        }
        Err(e) => Err(format!("poll: {e}")),
    }
}

/// What to load.
#[derive(Debug, Clone)]
pub struct ViewerConfig {
    /// The server (loopback: checked by the caller).
    pub server: SocketAddr,
    /// `Host` header value.
    pub host: String,
    /// Request path (`/NAME/stream.mjpg`).
    pub path: String,
    /// Viewers to open.
    pub viewers: usize,
    /// Source addresses (viewer `i` uses `sources[i % len]`; one: the kernel's choice).
    pub sources: Vec<IpAddr>,
    /// Nominal frame interval: a gap above twice this is a late frame.
    pub interval: Duration,
    /// How bodies are split.
    pub splitter: Splitter,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    NotStarted,
    /// Connecting, then sending the request.
    Requesting,
    /// Reading the response head.
    Head,
    Streaming,
    Failed,
}

struct Viewer {
    tcp: Option<TcpStream>,
    phase: Phase,
    /// Request bytes sent.
    sent: usize,
    head: Vec<u8>,
    parts: Option<Parts>,
    /// The body is chunked.
    dechunk: Option<Dechunk>,
    gaps: FrameGaps,
    /// Body bytes read (part headers included, response head not).
    bytes: u64,
    /// JPEG bytes of the counted parts.
    body_bytes: u64,
    /// Parts that were not JPEG.
    bad: u64,
}

/// The counters when the measurement window opened.
#[derive(Debug, Clone)]
struct Window {
    at: Instant,
    frames: Vec<u64>,
    late: u64,
    bytes: u64,
    body_bytes: u64,
}

/// What [`Viewers::run`] tells its caller about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tick {
    /// The measurement window opens (every viewer is streaming or failed, or 5 s passed):
    /// take the CPU readings of the window's start now.
    WindowOpen,
    /// A second passed (for progress lines).
    Second,
}

/// Running totals over every viewer.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Totals {
    /// JPEG parts.
    pub frames: u64,
    /// Body bytes.
    pub bytes: u64,
    /// Late frames.
    pub late: u64,
    /// Parts that were not JPEG.
    pub bad: u64,
}

/// N viewers on one mio loop.
pub struct Viewers {
    cfg: ViewerConfig,
    poll: Poll,
    viewers: Vec<Viewer>,
    request: Vec<u8>,
    buf: Vec<u8>,
    /// Viewers that got a multipart response head.
    pub established: usize,
    /// Viewers that failed (connect, bad head, bad body, closed by the server).
    pub failed: usize,
    reasons: Vec<String>,
    window: Option<Window>,
}

impl Viewers {
    /// Viewers for `cfg`, none started (raises `RLIMIT_NOFILE` as needed).
    pub fn new(cfg: ViewerConfig) -> Result<Self, String> {
        let want = (cfg.viewers + 64) as u64;
        let got = sys::raise_nofile(want).map_err(|e| format!("setrlimit: {e}"))?;
        if got < want {
            return Err(format!(
                "RLIMIT_NOFILE hard limit {got} is below the {want} descriptors needed"
            ));
        }
        let request = format!(
            "GET {} HTTP/1.1\r\nHost: {}\r\nUser-Agent: http-load\r\nAccept: */*\r\n\r\n",
            cfg.path, cfg.host
        )
        .into_bytes();
        Ok(Self {
            poll: Poll::new().map_err(|e| format!("poll: {e}"))?,
            viewers: (0..cfg.viewers)
                .map(|_| Viewer {
                    tcp: None,
                    phase: Phase::NotStarted,
                    sent: 0,
                    head: Vec::new(),
                    parts: None,
                    dechunk: None,
                    gaps: FrameGaps::default(),
                    bytes: 0,
                    body_bytes: 0,
                    bad: 0,
                })
                .collect(),
            request,
            buf: vec![0; 256 * 1024],
            established: 0,
            failed: 0,
            reasons: Vec::new(),
            window: None,
            cfg,
        })
    }

    /// Runs until `end`: starts every viewer, reads, calls `on` when the window opens and once
    /// a second. Closes every connection at `end`.
    pub fn run(
        &mut self,
        end: Instant,
        mut on: impl FnMut(&Self, Tick, Instant),
    ) -> Result<(), String> {
        let n = self.viewers.len();
        let t0 = Instant::now();
        let mut next_start = 0;
        let mut next_tick = t0 + Duration::from_secs(1);
        let mut events = Events::with_capacity(1024);
        loop {
            let now = Instant::now();
            if now >= end {
                break;
            }
            let batch_end = (next_start + START_BATCH).min(n);
            while next_start < batch_end {
                self.start(next_start);
                next_start += 1;
            }
            if self.window.is_none()
                && next_start == n
                && (self.established + self.failed >= n
                    || now >= t0 + Duration::from_secs(5)
                    || now + Duration::from_secs(1) >= end)
            {
                self.window = Some(Window {
                    at: now,
                    frames: self.viewers.iter().map(|v| v.gaps.frames).collect(),
                    late: self.totals().late,
                    bytes: self.totals().bytes,
                    body_bytes: self.viewers.iter().map(|v| v.body_bytes).sum(),
                });
                on(self, Tick::WindowOpen, now);
            }
            if now >= next_tick {
                on(self, Tick::Second, now);
                next_tick += Duration::from_secs(1);
            }
            let mut wake = end.min(next_tick);
            if next_start < n || self.window.is_none() {
                wake = wake.min(now + Duration::from_millis(if next_start < n { 0 } else { 50 }));
            }
            poll_until(&mut self.poll, &mut events, wake)?;
            for ev in events.iter() {
                let i = ev.token().0;
                if ev.is_writable() && self.viewers[i].phase == Phase::Requesting {
                    self.send_request(i);
                }
                if ev.is_readable() || ev.is_read_closed() || ev.is_error() {
                    self.readable(i);
                }
            }
        }
        for v in &mut self.viewers {
            v.tcp = None;
        }
        Ok(())
    }

    fn start(&mut self, i: usize) {
        let source =
            (self.cfg.sources.len() > 1).then(|| self.cfg.sources[i % self.cfg.sources.len()]);
        match connect_from(source, self.cfg.server) {
            Ok(mut tcp) => {
                let r = self.poll.registry().register(
                    &mut tcp,
                    Token(i),
                    Interest::READABLE | Interest::WRITABLE,
                );
                if let Err(e) = r {
                    return self.fail(i, format!("register: {e}"));
                }
                self.viewers[i].tcp = Some(tcp);
                self.viewers[i].phase = Phase::Requesting;
            }
            Err(e) => self.fail(i, format!("connect: {e}")),
        }
    }

    fn fail(&mut self, i: usize, why: String) {
        let v = &mut self.viewers[i];
        if v.phase == Phase::Failed {
            return;
        }
        v.phase = Phase::Failed;
        if let Some(mut tcp) = v.tcp.take() {
            let _ = self.poll.registry().deregister(&mut tcp);
        }
        self.failed += 1;
        if self.reasons.len() < 1000 {
            self.reasons.push(why);
        }
    }

    fn send_request(&mut self, i: usize) {
        let v = &mut self.viewers[i];
        let Some(tcp) = v.tcp.as_mut() else { return };
        if let Ok(Some(e)) | Err(e) = tcp.take_error() {
            return self.fail(i, format!("connect: {e}"));
        }
        while v.sent < self.request.len() {
            match tcp.write(&self.request[v.sent..]) {
                Ok(k) => v.sent += k,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == io::ErrorKind::NotConnected => return,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return self.fail(i, format!("send request: {e}")),
            }
        }
        v.phase = Phase::Head;
        // Only reads from now on.
        let r = self
            .poll
            .registry()
            .reregister(tcp, Token(i), Interest::READABLE);
        if let Err(e) = r {
            self.fail(i, format!("reregister: {e}"));
        }
    }

    fn readable(&mut self, i: usize) {
        loop {
            let v = &mut self.viewers[i];
            let Some(tcp) = v.tcp.as_mut() else { return };
            let n = match tcp.read(&mut self.buf) {
                Ok(0) => return self.fail(i, "closed by the server".into()),
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) if e.kind() == io::ErrorKind::NotConnected => return,
                Err(e) => return self.fail(i, format!("read: {e}")),
            };
            let now = Instant::now();
            let r = match v.phase {
                Phase::Head | Phase::Requesting => {
                    v.head.extend_from_slice(&self.buf[..n]);
                    self.on_head(i, now)
                }
                Phase::Streaming => {
                    v.bytes += n as u64;
                    count(v, &self.buf[..n], now, self.cfg.interval)
                }
                Phase::NotStarted | Phase::Failed => return,
            };
            if let Err(e) = r {
                return self.fail(i, e);
            }
        }
    }

    /// Bytes of the response head came: once it is whole, start counting parts.
    fn on_head(&mut self, i: usize, now: Instant) -> Result<(), String> {
        let v = &mut self.viewers[i];
        let Some(head) = parse_head(&v.head)? else {
            return Ok(());
        };
        if head.status != 200 {
            return Err(format!("HTTP status {}", head.status));
        }
        let boundary = boundary_of(&head.content_type)
            .ok_or_else(|| format!("not a multipart response: {:?}", head.content_type))?;
        v.parts = Some(Parts::new(self.cfg.splitter, boundary)?);
        v.dechunk = head.chunked.then(Dechunk::default);
        v.phase = Phase::Streaming;
        self.established += 1;
        let rest = v.head.split_off(head.len);
        v.head = Vec::new();
        v.bytes += rest.len() as u64;
        count(v, &rest, now, self.cfg.interval)
    }

    /// Running totals.
    pub fn totals(&self) -> Totals {
        let mut t = Totals::default();
        for v in &self.viewers {
            t.frames += v.gaps.frames;
            t.bytes += v.bytes;
            t.late += v.gaps.late;
            t.bad += v.bad;
        }
        t
    }

    /// Distinct failure reasons (at most `n`).
    pub fn failure_reasons(&self, n: usize) -> Vec<String> {
        let mut r = self.reasons.clone();
        r.sort();
        r.dedup();
        r.truncate(n);
        r
    }

    /// The window's figures at `end` (the window opens at `end` if it never did).
    pub fn summary(&self, end: Instant) -> Summary {
        let t = self.totals();
        let body_bytes: u64 = self.viewers.iter().map(|v| v.body_bytes).sum();
        let w = self.window.clone().unwrap_or_else(|| Window {
            at: end,
            frames: self.viewers.iter().map(|v| v.gaps.frames).collect(),
            late: t.late,
            bytes: t.bytes,
            body_bytes,
        });
        let fps: Vec<f64> = self
            .viewers
            .iter()
            .zip(&w.frames)
            .filter(|(v, _)| v.phase == Phase::Streaming)
            .filter_map(|(v, &f0)| rate_in_window(v.gaps.frames, v.gaps.first_at, f0, w.at, end))
            .collect();
        let frames = t.frames - w.frames.iter().sum::<u64>();
        Summary {
            viewers: self.viewers.len(),
            established: self.established,
            failed: self.failed,
            frames,
            bytes: t.bytes - w.bytes,
            late: t.late - w.late,
            bad: t.bad,
            fps: Spread::of(&fps),
            max_gap: self
                .viewers
                .iter()
                .map(|v| v.gaps.max_gap)
                .max()
                .unwrap_or_default(),
            jpeg_bytes_mean: if frames > 0 {
                (body_bytes - w.body_bytes) as f64 / frames as f64
            } else {
                0.0
            },
            window_at: w.at,
            secs: end.saturating_duration_since(w.at).as_secs_f64().max(1e-3),
        }
    }
}

/// Counts the parts `data` completes for viewer `v`, read at `now`.
fn count(v: &mut Viewer, data: &[u8], now: Instant, interval: Duration) -> Result<(), String> {
    let Some(parts) = v.parts.as_mut() else {
        return Ok(());
    };
    let c = match v.dechunk.as_mut() {
        None => parts.push(data)?,
        Some(d) => {
            let mut sum = Counted::default();
            d.push(data, |b| {
                sum += parts.push(b)?;
                Ok(())
            })?;
            sum
        }
    };
    for _ in 0..c.good {
        v.gaps.on_frame(now, interval);
    }
    v.bad += c.bad;
    v.body_bytes += c.body_bytes;
    Ok(())
}

/// The figures of a run over its measurement window.
#[derive(Debug, Clone)]
pub struct Summary {
    /// Viewers asked for.
    pub viewers: usize,
    /// Viewers that got a multipart response.
    pub established: usize,
    /// Viewers that failed.
    pub failed: usize,
    /// JPEG parts received by all viewers in the window.
    pub frames: u64,
    /// Body bytes received in the window.
    pub bytes: u64,
    /// Late frames in the window (gap above two nominal intervals).
    pub late: u64,
    /// Parts that were not JPEG (whole run).
    pub bad: u64,
    /// Per-viewer frames per second over the window.
    pub fps: Spread,
    /// Largest gap between two frames of one viewer (whole run).
    pub max_gap: Duration,
    /// Mean JPEG size of the window's parts.
    pub jpeg_bytes_mean: f64,
    /// When the window opened.
    pub window_at: Instant,
    /// Window length in seconds.
    pub secs: f64,
}

impl Summary {
    /// The shared fields of the machine-readable line, `viewers=N established=E fps_min=…`.
    pub fn fields(&self) -> String {
        format!(
            "viewers={} established={} failed={} fps_min={:.2} fps_mean={:.2} fps_max={:.2} frames={} bytes={} mbps={:.2} late={} max_gap_ms={:.1} bad_parts={} jpeg_bytes={:.0} window_s={:.1}",
            self.viewers,
            self.established,
            self.failed,
            self.fps.min,
            self.fps.mean,
            self.fps.max,
            self.frames,
            self.bytes,
            self.bytes as f64 * 8.0 / self.secs / 1e6,
            self.late,
            self.max_gap.as_secs_f64() * 1000.0,
            self.bad,
            self.jpeg_bytes_mean,
            self.secs,
        )
    }

    /// Microseconds of `cpu` per frame delivered to a viewer in the window (0 without frames).
    pub fn us_per_viewer_frame(&self, cpu: Duration) -> f64 {
        if self.frames == 0 {
            0.0
        } else {
            cpu.as_secs_f64() * 1e6 / self.frames as f64
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_bounds() {
        assert!(check_run(500, 10.0, 25.0).is_ok());
        assert!(check_run(0, 10.0, 25.0).is_err());
        assert!(check_run(20_001, 10.0, 25.0).is_err());
        assert!(check_run(1, 0.0, 25.0).is_err());
        assert!(check_run(1, f64::NAN, 25.0).is_err());
        assert!(check_run(1, 1.0, 0.0).is_err());
    }
}
