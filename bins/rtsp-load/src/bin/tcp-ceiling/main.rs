//! tcp-ceiling: the raw loopback TCP write ceiling for MJPEG over HTTP (issue 16).
//!
//! ```text
//! tcp-ceiling --viewers N --duration SECS [--frame-bytes 20000] [--fps 25] [--port 0]
//!             [--serve] [--sources 1] [--parser lean|splitter] [--boundary frame]
//! ```
//!
//! A writer (the main thread, one mio loop) listens on 127.0.0.1:PORT and answers every
//! connection's request head (read up to its empty line, not parsed) with
//! `HTTP/1.1 200 OK`, `Content-Type: multipart/x-mixed-replace;boundary=frame`. Then, every
//! 1/fps s, it writes one part to every connection: the part header
//! (`--frame`, `Content-Type: image/jpeg`, `Content-Length: B`, empty line), B bytes of a
//! stand-in JPEG (SOI, filler, EOI) and CRLF, all connections at once, non-blocking, the same
//! prebuilt bytes for all. A connection whose previous part is not wholly written yet skips
//! the frame (`skipped`). So the bytes on the wire are those of issue 16's server, without
//! anything a server does besides writing.
//!
//! Readers: by default a thread of this process runs N viewers against the writer with the
//! same code as `http-load` (`rtsp_load::viewers`), so the line carries the same fields
//! (fps, late, …) as http-load's. `--serve`: no readers here; whoever connects is served
//! (e.g. a separate `http-load http://127.0.0.1:PORT/stream.mjpg --viewers N`), and N only
//! says when the window opens; the run ends at `--duration` or once N connections have
//! streamed and all of them have gone.
//!
//! The writer's CPU is its own thread's (`CLOCK_THREAD_CPUTIME_ID`), over the window (from
//! when N connections are streaming, or 5 s, to the end): on loopback it includes the
//! kernel's delivery to the receiving sockets, as a server's CPU does.
//! `writer_cpu_per_viewer_frame_us` = writer CPU / parts wholly written in the window.
//!
//! Listens on 127.0.0.1 only; bounded by `--duration`. Last line:
//! `mode=tcp-ceiling viewers=N … writer_cpu=…% writer_cpu_per_viewer_frame_us=… parts_sent=…
//! skipped=… frame_bytes=B part_bytes=… reader_cpu=…% machine_cpu=…% loadavg=…`.

use std::io::{self, Read, Write};
use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::{Parser, ValueEnum};
use mio::net::{TcpListener, TcpStream};
use mio::{Events, Interest, Poll, Token};
use rtsp_load::http::{fake_jpeg, part, response_head, Splitter, MAX_HEAD};
use rtsp_load::procfs::{self, MachineCpu};
use rtsp_load::sys;
use rtsp_load::viewers::{check_run, poll_until, Summary, Tick, ViewerConfig, Viewers};
use rtsp_load::{source_addrs, source_range};

/// Raw loopback TCP write ceiling: one multipart part to every connection every 1/fps s.
#[derive(Debug, Parser)]
#[command(name = "tcp-ceiling", version)]
struct Args {
    /// Connections (readers started here, or expected with --serve).
    #[arg(long, default_value_t = 1)]
    viewers: usize,
    /// Seconds to run.
    #[arg(long, default_value_t = 10.0)]
    duration: f64,
    /// JPEG bytes of a part (without the part header).
    #[arg(long, default_value_t = 20_000)]
    frame_bytes: usize,
    /// Parts per second per connection.
    #[arg(long, default_value_t = 25.0)]
    fps: f64,
    /// Port on 127.0.0.1 (0: any free one, printed).
    #[arg(long, default_value_t = 0)]
    port: u16,
    /// Serve external clients (no readers in this process).
    #[arg(long)]
    serve: bool,
    /// Readers' source addresses (127.0.0.2 up; 1: 127.0.0.1).
    #[arg(long, value_name = "N", default_value_t = 1)]
    sources: usize,
    /// How the readers split the body.
    #[arg(long, value_enum, default_value_t = ParserKind::Lean)]
    parser: ParserKind,
    /// Multipart boundary.
    #[arg(long, default_value = "frame")]
    boundary: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum ParserKind {
    /// Part ends from Content-Length.
    Lean,
    /// mjpeg::MultipartSplitter.
    Splitter,
}

const LISTENER: Token = Token(usize::MAX);

fn main() -> ExitCode {
    match run(Args::parse()) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("tcp-ceiling: {e}");
            ExitCode::from(2)
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Reading the request head.
    Request,
    /// Writing the response head: bytes written.
    Head(usize),
    /// Parts: `Some(offset)` while one is being written.
    Stream(Option<usize>),
}

struct Conn {
    tcp: TcpStream,
    phase: Phase,
    req: Vec<u8>,
}

/// The writer's counters.
#[derive(Debug, Clone, Copy, Default)]
struct Counts {
    streaming: usize,
    /// Most connections streaming at once.
    peak: usize,
    sent: u64,
    skipped: u64,
    /// Frame ticks that came more than one interval late (the writer fell behind).
    overruns: u64,
}

struct Writer {
    poll: Poll,
    listener: TcpListener,
    conns: Vec<Option<Conn>>,
    head: Vec<u8>,
    part: Vec<u8>,
    buf: Vec<u8>,
    c: Counts,
}

fn run(args: Args) -> Result<ExitCode, String> {
    check_run(args.viewers, args.duration, args.fps)?;
    sys::raise_nofile(2 * args.viewers as u64 + 64).map_err(|e| format!("setrlimit: {e}"))?;
    let addr = SocketAddr::from(([127, 0, 0, 1], args.port));
    let mut listener = TcpListener::bind(addr).map_err(|e| format!("bind {addr}: {e}"))?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    let poll = Poll::new().map_err(|e| format!("poll: {e}"))?;
    poll.registry()
        .register(&mut listener, LISTENER, Interest::READABLE)
        .map_err(|e| format!("register: {e}"))?;
    let interval = Duration::from_secs_f64(1.0 / args.fps);
    let t0 = Instant::now();
    let end = t0 + Duration::from_secs_f64(args.duration);
    let load0 = procfs::loadavg1();
    if args.serve {
        eprintln!("tcp-ceiling: serving http://{addr}/stream.mjpg until the end");
    }
    let sources = source_addrs(addr.ip(), args.viewers, Some(args.sources))?;
    let readers = (!args.serve)
        .then(|| {
            let cfg = ViewerConfig {
                server: addr,
                host: addr.to_string(),
                path: "/stream.mjpg".into(),
                viewers: args.viewers,
                sources: sources.clone(),
                interval,
                splitter: match args.parser {
                    ParserKind::Lean => Splitter::Lean,
                    ParserKind::Splitter => Splitter::Mjpeg,
                },
            };
            let v = Viewers::new(cfg)?;
            Ok::<_, String>(std::thread::spawn(move || read(v, end)))
        })
        .transpose()?;
    let jpeg = fake_jpeg(args.frame_bytes);
    let mut w = Writer {
        poll,
        listener,
        conns: Vec::new(),
        head: response_head(&args.boundary).into_bytes(),
        part: part(&args.boundary, &jpeg),
        buf: vec![0; 64 * 1024],
        c: Counts::default(),
    };
    // The window: once N connections stream (or 5 s after the start).
    let mut window: Option<(Instant, Duration, Counts, MachineCpu)> = None;
    let mut next_frame = t0 + interval;
    let mut events = Events::with_capacity(1024);
    loop {
        let now = Instant::now();
        // --serve: the end, or every client that came has gone.
        if now >= end || (args.serve && w.c.peak >= args.viewers && w.c.streaming == 0) {
            break;
        }
        if window.is_none() && (w.c.streaming >= args.viewers || now >= t0 + Duration::from_secs(5))
        {
            window = Some((now, sys::thread_cpu(), w.c, MachineCpu::read()));
        }
        if now >= next_frame {
            w.frame();
            next_frame += interval;
            if next_frame + interval < now {
                w.c.overruns += 1;
                next_frame = now + interval;
            }
        }
        let wake = end.min(next_frame);
        poll_until(&mut w.poll, &mut events, wake)?;
        for ev in events.iter() {
            if ev.token() == LISTENER {
                w.accept();
            } else {
                w.event(ev.token().0);
            }
        }
    }
    let w_end = Instant::now();
    let (w_at, cpu0, c0, m0) =
        window.unwrap_or((w_end, sys::thread_cpu(), w.c, MachineCpu::read()));
    let cpu = sys::thread_cpu().saturating_sub(cpu0);
    let secs = w_end
        .saturating_duration_since(w_at)
        .as_secs_f64()
        .max(1e-3);
    let sent = w.c.sent - c0.sent;
    let machine = MachineCpu::read().percent_since(&m0, procfs::ncpu());
    // The readers stop at `end` too: the connections stay open until they have (else a
    // reader may see its connection closed first and count as failed).
    let reader: Option<(Summary, Duration)> = match readers {
        Some(h) => Some(h.join().map_err(|_| "reader thread panicked")??),
        None => None,
    };
    drop(w.conns);
    let mut line = String::from("mode=tcp-ceiling ");
    match &reader {
        Some((s, _)) => line += &s.fields(),
        None => line += &format!("viewers={} serve=1", args.viewers),
    }
    line += &format!(
        " connected={} writer_cpu={:.1}% writer_cpu_per_viewer_frame_us={:.2} parts_sent={sent} skipped={} overruns={} frame_bytes={} part_bytes={} writer_window_s={secs:.1}",
        w.c.peak,
        100.0 * cpu.as_secs_f64() / secs,
        if sent > 0 { cpu.as_secs_f64() * 1e6 / sent as f64 } else { 0.0 },
        w.c.skipped - c0.skipped,
        w.c.overruns,
        jpeg.len(),
        w.part.len(),
    );
    if let Some((s, rcpu)) = &reader {
        line += &format!(" reader_cpu={:.1}%", 100.0 * rcpu.as_secs_f64() / s.secs);
    }
    line += &format!(
        " machine_cpu={machine:.1}% loadavg={load0:.2} sources={} source_range={}",
        sources.len(),
        source_range(&sources)
    );
    println!("{line}");
    let ok = match &reader {
        Some((s, _)) => s.established == args.viewers && s.failed == 0 && s.bad == 0,
        None => true,
    };
    Ok(if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// The reader thread: runs the viewers to `end`; their summary and the thread's CPU over the
/// window.
fn read(mut v: Viewers, end: Instant) -> Result<(Summary, Duration), String> {
    let mut cpu0 = None;
    v.run(end, |_, tick, _| {
        if tick == Tick::WindowOpen {
            cpu0 = Some(sys::thread_cpu());
        }
    })?;
    let cpu = sys::thread_cpu().saturating_sub(cpu0.unwrap_or_else(sys::thread_cpu));
    let s = v.summary(Instant::now());
    for r in v.failure_reasons(5) {
        eprintln!("tcp-ceiling: reader failure: {r}");
    }
    Ok((s, cpu))
}

impl Writer {
    fn accept(&mut self) {
        loop {
            match self.listener.accept() {
                Ok((mut tcp, _)) => {
                    let i = self.conns.len();
                    let r = self.poll.registry().register(
                        &mut tcp,
                        Token(i),
                        Interest::READABLE | Interest::WRITABLE,
                    );
                    if r.is_ok() {
                        let _ = tcp.set_nodelay(true);
                        self.conns.push(Some(Conn {
                            tcp,
                            phase: Phase::Request,
                            req: Vec::new(),
                        }));
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    eprintln!("tcp-ceiling: accept: {e}");
                    return;
                }
            }
        }
    }

    /// A frame tick: a part to every streaming connection that is not still writing one.
    fn frame(&mut self) {
        for i in 0..self.conns.len() {
            let Some(c) = self.conns[i].as_mut() else {
                continue;
            };
            match c.phase {
                Phase::Stream(Some(_)) => self.c.skipped += 1,
                Phase::Stream(None) => {
                    c.phase = Phase::Stream(Some(0));
                    self.write(i);
                }
                _ => {}
            }
        }
    }

    fn event(&mut self, i: usize) {
        let Some(c) = self.conns.get_mut(i).and_then(Option::as_mut) else {
            return;
        };
        // Read: the request head, later anything (discarded) and the end.
        loop {
            match c.tcp.read(&mut self.buf) {
                Ok(0) => return self.close(i),
                Ok(n) => {
                    if c.phase == Phase::Request {
                        c.req.extend_from_slice(&self.buf[..n]);
                        if c.req.windows(4).any(|w| w == b"\r\n\r\n") {
                            c.req = Vec::new();
                            c.phase = Phase::Head(0);
                        } else if c.req.len() > MAX_HEAD {
                            return self.close(i);
                        }
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => return self.close(i),
            }
        }
        self.write(i);
    }

    /// Writes what connection `i` has pending until done or the socket is full.
    fn write(&mut self, i: usize) {
        let Some(c) = self.conns[i].as_mut() else {
            return;
        };
        loop {
            let (bytes, off) = match c.phase {
                Phase::Head(off) => (&self.head, off),
                Phase::Stream(Some(off)) => (&self.part, off),
                _ => return,
            };
            match c.tcp.write(&bytes[off..]) {
                Ok(n) => {
                    let off = off + n;
                    c.phase = match c.phase {
                        Phase::Head(_) if off == bytes.len() => {
                            self.c.streaming += 1;
                            self.c.peak = self.c.peak.max(self.c.streaming);
                            Phase::Stream(None)
                        }
                        Phase::Head(_) => Phase::Head(off),
                        _ if off == bytes.len() => {
                            self.c.sent += 1;
                            Phase::Stream(None)
                        }
                        _ => Phase::Stream(Some(off)),
                    };
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => return self.close(i),
            }
        }
    }

    fn close(&mut self, i: usize) {
        if let Some(mut c) = self.conns[i].take() {
            let _ = self.poll.registry().deregister(&mut c.tcp);
            if matches!(c.phase, Phase::Stream(_)) {
                self.c.streaming -= 1;
            }
        }
    }
}
