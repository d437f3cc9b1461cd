//! rtsp-load: opens K RTSP sessions against one RTSP URL on this machine and measures what
//! arrives.
//!
//! ```text
//! rtsp-load URL --sessions K --duration SECS [--transport udp|tcp] [--ramp N/s]
//!           [--server-pid PID] [--batch 64] [--rcvbuf BYTES] [--quiet] [--setup-trace CSV]
//!           [--no-play] [--gro] [--sources N]
//! ```
//!
//! One `rtsp_core::client::Client` machine per session, all driven by one mio loop in this
//! binary (a deadline heap over the clients' timeouts). Over UDP the RTP sockets are read with
//! `recvmmsg` and counted from RTP headers only (sequence numbers → loss; timestamp against
//! arrival → per-session fps, late and early frames); RTCP goes to the client machine. Over TCP
//! the client machine depacketizes the interleaved stream and its frames are counted.
//!
//! Targets must be loopback (127.0.0.0/8 or ::1); anything else is refused. The run is bounded:
//! it stops after `--duration` (plus at most 3 s of TEARDOWN).
//!
//! A server limits what one IP address may open (server-mio: 32 connections per address by
//! default). Against an IPv4 loopback target the sessions therefore come from several source
//! addresses, 127.0.0.2, 127.0.0.3, ... (all of 127.0.0.0/8 is local on Linux): session `i`'s
//! control connection and RTP/RTCP pair are bound to address `i mod N`, with N by default
//! enough that no address carries more than 8 sessions (`--sources N` to choose; `--sources 1`
//! binds nothing, the kernel picks the source).
//!
//! Prints one line per second and, last, one machine-readable line:
//! `sessions=K established=E pps=… mbps=… loss=…% late=… early=… fps_min=… fps_mean=…
//! setup_p50_ms=… setup_p99_ms=… client_cpu=…% server_cpu=…% server_cpu_per_viewer_frame_us=… …
//! sources=N source_range=127.0.0.2-127.0.0.14`

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::io::{self, Read, Write};
use std::net::{IpAddr, SocketAddr, UdpSocket as StdUdp};
use std::os::fd::AsRawFd;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::{Parser, ValueEnum};
use mio::net::{TcpStream, UdpSocket};
use mio::{Events, Interest, Poll, Token};
use rtsp_core::client::{Client, ClientConfig, ClientEvent, TransportChoice};
use rtsp_core::io::{drain, ConnId, Dest, Input, Machine, Output};
use rtsp_core::url::RtspUrl;
use rtsp_load::count::{window_fps, StreamCounter};
use rtsp_load::procfs::{self, CpuMeter, ListenCounters, MachineCpu, UdpCounters};
use rtsp_load::sys::{self, RecvBatch, StampClock};
use rtsp_load::{connect_from, percentile, resolve_loopback, source_addrs, source_range};

mod report;
use report::pct;
mod session;

/// RTSP load generator: K sessions on one event loop, counting RTP from headers.
#[derive(Debug, Parser)]
#[command(name = "rtsp-load", version)]
struct Args {
    /// RTSP URL on this machine (127.0.0.0/8, ::1 or a name resolving only there).
    url: String,
    /// Sessions to open.
    #[arg(long, default_value_t = 1)]
    sessions: usize,
    /// Seconds to run from the start (setup included), then TEARDOWN.
    #[arg(long, default_value_t = 10.0)]
    duration: f64,
    /// Media transport.
    #[arg(long, value_enum, default_value_t = Transport::Udp)]
    transport: Transport,
    /// Start sessions at this rate (`N/s` or `N`); default: all at once.
    #[arg(long, value_parser = parse_ramp)]
    ramp: Option<f64>,
    /// Also report this process's CPU and memory (the server under test).
    #[arg(long)]
    server_pid: Option<u32>,
    /// Datagrams per recvmmsg call.
    #[arg(long, default_value_t = 64)]
    batch: usize,
    /// Receive RTP with `UDP_GRO`: a GSO train from the server arrives whole and is split
    /// here (counted datagram by datagram as without it). On loopback this keeps the
    /// receivers' per-datagram kernel work out of the server's CPU figure, as on a real
    /// network, where that work happens on the clients' machines.
    #[arg(long)]
    gro: bool,
    /// SO_RCVBUF of each RTP socket (0: system default).
    #[arg(long, default_value_t = 0)]
    rcvbuf: usize,
    /// No per-second lines.
    #[arg(long, short)]
    quiet: bool,
    /// Stop after SETUP (no PLAY, no media): measures the control path alone; a session
    /// counts as established at its SETUP reply.
    #[arg(long)]
    no_play: bool,
    /// Write one CSV line per session with the setup timeline (ms from the start: connect,
    /// connected, DESCRIBE reply, SETUP reply, PLAY reply) to this file.
    #[arg(long)]
    setup_trace: Option<std::path::PathBuf>,
    /// Source addresses to spread the sessions over (per-IP limits of the server), from
    /// 127.0.0.2 up: session i's control connection and RTP/RTCP pair are bound to address
    /// i mod N. Default: enough that no address carries more than 8 sessions when the URL's
    /// host is an IPv4 loopback address, else 1. 1: nothing bound, the kernel picks the source.
    #[arg(long, value_name = "N")]
    sources: Option<usize>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Transport {
    Udp,
    Tcp,
}

fn parse_ramp(s: &str) -> Result<f64, String> {
    let n = s.strip_suffix("/s").unwrap_or(s);
    match n.parse::<f64>() {
        Ok(v) if v > 0.0 && v.is_finite() => Ok(v),
        _ => Err(format!("expected N/s with N > 0, got {s:?}")),
    }
}

/// Where a session is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    NotStarted,
    /// TCP connect in progress (requests queued in the client).
    Connecting,
    /// DESCRIBE / SETUP / PLAY exchange.
    SettingUp,
    Playing,
    TearingDown,
    Done,
    Failed,
}

struct Session {
    client: Option<Client>,
    phase: Phase,
    tcp: Option<TcpStream>,
    out: Vec<u8>,
    rtp: Option<UdpSocket>,
    rtcp: Option<UdpSocket>,
    rtp_local: Option<SocketAddr>,
    rtcp_local: Option<SocketAddr>,
    started: Option<Instant>,
    setup_ms: Option<f64>,
    /// Setup timeline (see `--setup-trace`): connect, connected, described, set up, playing.
    marks: [Option<Instant>; 5],
    deadline: Option<Instant>,
    counter: StreamCounter,
    /// TCP only: packets/bytes/lost from the client's own statistics.
    tcp_stats: (u64, u64, i64),
    fail: Option<String>,
}

impl Session {
    fn new() -> Self {
        Self {
            client: None,
            phase: Phase::NotStarted,
            tcp: None,
            out: Vec::new(),
            rtp: None,
            rtcp: None,
            rtp_local: None,
            rtcp_local: None,
            started: None,
            setup_ms: None,
            marks: [None; 5],
            deadline: None,
            counter: StreamCounter::default(),
            tcp_stats: (0, 0, 0),
            fail: None,
        }
    }
}

const KIND_TCP: usize = 0;
const KIND_RTP: usize = 1;
const KIND_RTCP: usize = 2;
const KINDS: usize = 3;

/// Sessions started per event-loop turn at most (see `Load::run`).
const START_BATCH: usize = 32;

fn token(i: usize, kind: usize) -> Token {
    Token(i * KINDS + kind)
}

struct Load {
    args: Args,
    server: SocketAddr,
    /// Source addresses (session `i` uses `sources[i % len]`); one: the kernel's choice.
    sources: Vec<IpAddr>,
    poll: Poll,
    sessions: Vec<Session>,
    timers: BinaryHeap<Reverse<(Instant, usize)>>,
    batch: RecvBatch,
    rxbuf: Vec<u8>,
    events: Vec<ClientEvent>,
    established: usize,
    failed: usize,
    fail_reasons: Vec<String>,
    pkts: u64,
    bytes: u64,
    listen0: ListenCounters,
}

fn main() -> ExitCode {
    let args = Args::parse();
    match run(args) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("rtsp-load: {e}");
            ExitCode::from(2)
        }
    }
}

fn run(args: Args) -> Result<ExitCode, String> {
    let url = RtspUrl::parse(&args.url).map_err(|e| format!("bad URL {:?}: {e}", args.url))?;
    let server = resolve_loopback(url.host(), url.port())?;
    if args.sessions == 0 || args.sessions > 20_000 {
        return Err("--sessions must be 1..=20000".into());
    }
    if !(args.duration > 0.0 && args.duration <= 3600.0) {
        return Err("--duration must be in (0, 3600] seconds".into());
    }
    let want = (args.sessions * KINDS + 64) as u64;
    let got = sys::raise_nofile(want).map_err(|e| format!("setrlimit: {e}"))?;
    if got < want {
        return Err(format!(
            "RLIMIT_NOFILE hard limit {got} is below the {want} descriptors needed"
        ));
    }
    let sources = source_addrs(server.ip(), args.sessions, args.sources)?;
    let poll = Poll::new().map_err(|e| format!("poll: {e}"))?;
    let mut load = Load {
        server,
        sources,
        poll,
        sessions: (0..args.sessions).map(|_| Session::new()).collect(),
        timers: BinaryHeap::new(),
        batch: if args.gro {
            RecvBatch::with_gro(args.batch.clamp(1, 1024))
        } else {
            RecvBatch::new(args.batch.clamp(1, 1024), 2048)
        },
        rxbuf: vec![0u8; 64 * 1024],
        events: Vec::new(),
        established: 0,
        failed: 0,
        fail_reasons: Vec::new(),
        pkts: 0,
        bytes: 0,
        listen0: ListenCounters::default(),
        args,
    };
    load.run()
}

/// Counters at the start of the measurement window.
struct Snapshot {
    at: Instant,
    pkts: u64,
    bytes: u64,
    frames: Vec<u64>,
    client_cpu: Duration,
    server_cpu: Option<Duration>,
    machine: MachineCpu,
}

impl Load {
    fn run(&mut self) -> Result<ExitCode, String> {
        let k = self.args.sessions;
        // The UDP sockets of every session first: binding them is not part of any setup.
        if self.args.transport == Transport::Udp {
            for i in 0..k {
                if let Err(e) = self.open_udp(i) {
                    return Err(format!("session {i}: {e}"));
                }
            }
        }
        let t0 = Instant::now();
        let end = t0 + Duration::from_secs_f64(self.args.duration);
        let hard_end = end + Duration::from_secs(3);
        let ramp = self.args.ramp;
        let start_at = move |i: usize| -> Instant {
            match ramp {
                Some(r) => t0 + Duration::from_secs_f64(i as f64 / r),
                None => t0,
            }
        };
        let last_start = start_at(k - 1);
        let server_pid = self.args.server_pid;
        let srv_cpu = || server_pid.and_then(procfs::cpu_time);
        let rss0 = server_pid.and_then(procfs::rss_kib);
        let udp0 = UdpCounters::read();
        self.listen0 = ListenCounters::read();
        let load0 = procfs::loadavg1();

        let mut next_start = 0usize;
        let mut events = Events::with_capacity(1024);
        let mut next_tick = t0 + Duration::from_secs(1);
        let mut tick_snap = (t0, 0u64, 0u64, 0u64, 0u64, sys::process_cpu(), srv_cpu());
        let mut window: Option<Snapshot> = None;
        let mut rss_peak = rss0;
        let mut tearing = false;

        loop {
            let now = Instant::now();
            // Start due sessions.
            // At most START_BATCH per loop turn: replies to the first sessions are read
            // while later ones are still being opened (else the first sessions' setup time
            // would include opening all K).
            let batch_end = next_start + START_BATCH;
            while next_start < k.min(batch_end) && start_at(next_start) <= now {
                self.start(next_start, now);
                next_start += 1;
            }
            // Measurement window: once every session is settled (or 5 s after the last start).
            if window.is_none()
                && next_start == k
                && (self.established + self.failed >= k
                    || now >= last_start + Duration::from_secs(5)
                    || now + Duration::from_secs(1) >= end)
            {
                window = Some(Snapshot {
                    at: now,
                    pkts: self.pkts,
                    bytes: self.bytes,
                    frames: self.sessions.iter().map(|s| s.counter.frames).collect(),
                    client_cpu: sys::process_cpu(),
                    server_cpu: srv_cpu(),
                    machine: MachineCpu::read(),
                });
            }
            // Timers.
            while let Some(Reverse((t, i))) = self.timers.peek().copied() {
                if t > now {
                    break;
                }
                self.timers.pop();
                if self.sessions[i].deadline == Some(t) {
                    self.sessions[i].deadline = None;
                    self.input(i, Input::Timeout(now));
                }
            }
            // Per-second line.
            if now >= next_tick {
                let frames: u64 = self.sessions.iter().map(|s| s.counter.frames).sum();
                let late: u64 = self.sessions.iter().map(|s| s.counter.late).sum();
                let (lost, exp) = self.loss();
                let dt = now.duration_since(tick_snap.0).as_secs_f64();
                let ccpu = sys::process_cpu();
                let scpu = srv_cpu();
                if let Some(rss) = server_pid.and_then(procfs::rss_kib) {
                    rss_peak = Some(rss_peak.unwrap_or(0).max(rss));
                }
                if !self.args.quiet && !tearing {
                    let playing = self.established.max(1) as f64;
                    let srv = match (tick_snap.6, scpu) {
                        (Some(a), Some(b)) => {
                            format!(
                                " server_cpu={:.1}%",
                                100.0 * b.saturating_sub(a).as_secs_f64() / dt
                            )
                        }
                        _ => String::new(),
                    };
                    println!(
                        "t={:.0}s est={}/{} failed={} pps={:.0} mbps={:.2} fps={:.2} late+={} lost+={} loss={:.3}% client_cpu={:.1}%{}",
                        now.duration_since(t0).as_secs_f64(),
                        self.established,
                        k,
                        self.failed,
                        (self.pkts - tick_snap.1) as f64 / dt,
                        (self.bytes - tick_snap.2) as f64 * 8.0 / dt / 1e6,
                        (frames - tick_snap.3) as f64 / dt / playing,
                        late - tick_snap.4,
                        lost,
                        pct(lost, exp),
                        100.0 * ccpu.saturating_sub(tick_snap.5).as_secs_f64() / dt,
                        srv,
                    );
                }
                tick_snap = (now, self.pkts, self.bytes, frames, late, ccpu, scpu);
                next_tick += Duration::from_secs(1);
            }
            // The end: TEARDOWN everything, then wait (bounded) for the replies.
            if now >= end && !tearing {
                tearing = true;
                let w_end = now;
                let final_line =
                    self.final_line(window.as_ref(), w_end, rss0, rss_peak, &udp0, load0);
                for i in 0..k {
                    self.teardown(i, now);
                }
                // Stash the line; print after the teardown phase.
                self.fail_reasons.push(final_line);
            }
            if tearing {
                let open = self
                    .sessions
                    .iter()
                    .any(|s| matches!(s.phase, Phase::TearingDown));
                if !open || now >= hard_end {
                    break;
                }
            }
            // Sleep until the next thing.
            let mut wake = if tearing {
                hard_end
            } else {
                end.min(next_tick)
            };
            if next_start < k {
                wake = wake.min(start_at(next_start));
            }
            if let Some(Reverse((t, _))) = self.timers.peek() {
                wake = wake.min(*t);
            }
            if window.is_none() {
                wake = wake.min(now + Duration::from_millis(100));
            }
            let timeout = wake.saturating_duration_since(Instant::now());
            match self.poll.poll(&mut events, Some(timeout)) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(format!("poll: {e}")),
            }
            for ev in events.iter() {
                let t = ev.token().0;
                let (i, kind) = (t / KINDS, t % KINDS);
                match kind {
                    KIND_TCP => {
                        if ev.is_writable() {
                            self.tcp_writable(i);
                        }
                        if ev.is_readable() || ev.is_read_closed() || ev.is_error() {
                            self.tcp_readable(i);
                        }
                    }
                    KIND_RTP => self.rtp_readable(i),
                    _ => self.rtcp_readable(i),
                }
            }
        }
        for i in 0..k {
            self.close(i);
        }
        let final_line = self.fail_reasons.pop().unwrap_or_default();
        let mut reasons: Vec<&String> = self.fail_reasons.iter().collect();
        reasons.sort();
        reasons.dedup();
        for r in reasons.iter().take(5) {
            eprintln!("rtsp-load: failure: {r}");
        }
        if let Some(path) = &self.args.setup_trace {
            self.write_trace(path, t0)
                .map_err(|e| format!("{}: {e}", path.display()))?;
        }
        println!("{final_line}");
        Ok(if self.established == k {
            ExitCode::SUCCESS
        } else {
            ExitCode::from(1)
        })
    }
}

/// Binds an RTP (even) / RTCP (odd) UDP port pair on `ip`, non-blocking.
fn bind_pair(ip: IpAddr) -> io::Result<(StdUdp, StdUdp)> {
    let (rtp, rtcp) = runtime_mio::bind_udp_pair(ip)?;
    rtp.set_nonblocking(true)?;
    rtcp.set_nonblocking(true)?;
    Ok((rtp, rtcp))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ramp_parses() {
        assert_eq!(parse_ramp("100/s"), Ok(100.0));
        assert_eq!(parse_ramp("2.5"), Ok(2.5));
        assert!(parse_ramp("0/s").is_err());
        assert!(parse_ramp("x").is_err());
    }

    #[test]
    fn pair_is_even_odd() {
        let (a, b) = bind_pair("127.0.0.1".parse().unwrap()).unwrap();
        let (pa, pb) = (
            a.local_addr().unwrap().port(),
            b.local_addr().unwrap().port(),
        );
        assert_eq!(pa % 2, 0);
        assert_eq!(pb, pa + 1);
    }
}
