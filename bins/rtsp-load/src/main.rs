//! rtsp-load: opens K RTSP sessions against one RTSP URL on this machine and measures what
//! arrives.
//!
//! ```text
//! rtsp-load URL --sessions K --duration SECS [--transport udp|tcp] [--ramp N/s]
//!           [--server-pid PID] [--batch 64] [--rcvbuf BYTES] [--quiet] [--setup-trace CSV]
//!           [--no-play] [--gro]
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
//! Prints one line per second and, last, one machine-readable line:
//! `sessions=K established=E pps=… mbps=… loss=…% late=… early=… fps_min=… fps_mean=…
//! setup_p50_ms=… setup_p99_ms=… client_cpu=…% server_cpu=…% …`

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
use rtsp_load::{percentile, resolve_loopback};

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
    let poll = Poll::new().map_err(|e| format!("poll: {e}"))?;
    let mut load = Load {
        server,
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

    /// `--setup-trace`: one CSV line per session, ms from `t0` (empty when not reached).
    fn write_trace(&self, path: &std::path::Path, t0: Instant) -> io::Result<()> {
        // The start on CLOCK_MONOTONIC, to line the trace up with `perf record -k CLOCK_MONOTONIC`.
        let t0_mono = sys::monotonic().saturating_sub(t0.elapsed());
        let mut out = format!("# t0_monotonic_s={:.6}\n", t0_mono.as_secs_f64());
        out.push_str("session,connect,connected,described,setup,playing\n");
        for (i, s) in self.sessions.iter().enumerate() {
            out.push_str(&i.to_string());
            for m in s.marks {
                out.push(',');
                if let Some(t) = m {
                    let ms = t.duration_since(t0).as_secs_f64() * 1000.0;
                    out.push_str(&format!("{ms:.3}"));
                }
            }
            out.push('\n');
        }
        std::fs::write(path, out)
    }

    fn loss(&self) -> (u64, u64) {
        let mut lost = 0;
        let mut exp = 0;
        for s in &self.sessions {
            if self.args.transport == Transport::Tcp {
                lost += s.tcp_stats.2.max(0) as u64;
                exp += s.tcp_stats.0 + s.tcp_stats.2.max(0) as u64;
            } else {
                lost += s.counter.lost();
                exp += s.counter.expected();
            }
        }
        (lost, exp)
    }

    #[allow(clippy::too_many_arguments)]
    fn final_line(
        &self,
        window: Option<&Snapshot>,
        end: Instant,
        rss0: Option<u64>,
        rss_peak: Option<u64>,
        udp0: &UdpCounters,
        load0: f64,
    ) -> String {
        let k = self.args.sessions;
        let w = window.map_or_else(
            || Snapshot {
                at: end,
                pkts: self.pkts,
                bytes: self.bytes,
                frames: self.sessions.iter().map(|s| s.counter.frames).collect(),
                client_cpu: sys::process_cpu(),
                server_cpu: self.args.server_pid.and_then(procfs::cpu_time),
                machine: MachineCpu::read(),
            },
            |w| Snapshot {
                at: w.at,
                pkts: w.pkts,
                bytes: w.bytes,
                frames: w.frames.clone(),
                client_cpu: w.client_cpu,
                server_cpu: w.server_cpu,
                machine: w.machine,
            },
        );
        let secs = end.saturating_duration_since(w.at).as_secs_f64().max(1e-3);
        let pps = (self.pkts - w.pkts) as f64 / secs;
        let mbps = (self.bytes - w.bytes) as f64 * 8.0 / secs / 1e6;
        let (lost, exp) = self.loss();
        let late: u64 = self.sessions.iter().map(|s| s.counter.late).sum();
        let early: u64 = self.sessions.iter().map(|s| s.counter.early).sum();
        let frames: u64 = self.sessions.iter().map(|s| s.counter.frames).sum();
        let max_late_ms = self
            .sessions
            .iter()
            .filter(|s| s.counter.frames >= 2)
            .map(|s| s.counter.max_late_s * 1000.0)
            .fold(f64::NAN, f64::max);
        let anchor_shift_max_ms = self
            .sessions
            .iter()
            .map(|s| s.counter.anchor_shift_s * 1000.0)
            .fold(0.0, f64::max);
        let fps: Vec<f64> = self
            .sessions
            .iter()
            .zip(&w.frames)
            .filter(|(s, _)| s.phase == Phase::Playing)
            .filter_map(|(s, &f0)| window_fps(&s.counter, f0, w.at, end))
            .collect();
        let fps_min = fps.iter().copied().fold(f64::NAN, f64::min);
        let fps_max = fps.iter().copied().fold(f64::NAN, f64::max);
        let fps_mean = if fps.is_empty() {
            0.0
        } else {
            fps.iter().sum::<f64>() / fps.len() as f64
        };
        let mut setup: Vec<f64> = self.sessions.iter().filter_map(|s| s.setup_ms).collect();
        setup.sort_by(f64::total_cmp);
        let ccpu = 100.0
            * sys::process_cpu()
                .saturating_sub(w.client_cpu)
                .as_secs_f64()
            / secs;
        let scpu = match (
            w.server_cpu,
            self.args.server_pid.and_then(procfs::cpu_time),
        ) {
            (Some(a), Some(b)) => Some(CpuMeter::new(w.at, a).percent(end, b)),
            _ => None,
        };
        let machine = MachineCpu::read().percent_since(&w.machine, procfs::ncpu());
        let rss_end = self.args.server_pid.and_then(procfs::rss_kib);
        let rss_max = match (rss_peak, rss_end) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        };
        let udp = UdpCounters::read().since(udp0);
        let listen = ListenCounters::read().since(&self.listen0);
        let pkts_per_frame = if frames > 0 {
            self.pkts as f64 / frames as f64
        } else {
            0.0
        };
        let bytes_per_pkt = if self.pkts > 0 {
            self.bytes as f64 / self.pkts as f64
        } else {
            0.0
        };
        let mut line = format!(
            "sessions={k} established={} pps={pps:.0} mbps={mbps:.2} loss={:.2}% late={late} early={early} max_late_ms={:.1} anchor_shift_max_ms={anchor_shift_max_ms:.1} fps_min={:.2} fps_mean={fps_mean:.2} fps_max={:.2} setup_p50_ms={:.1} setup_p99_ms={:.1} setup_max_ms={:.1} client_cpu={ccpu:.1}% machine_cpu={machine:.1}%",
            self.established,
            pct(lost, exp),
            nan0(max_late_ms),
            nan0(fps_min),
            nan0(fps_max),
            percentile(&setup, 50.0),
            percentile(&setup, 99.0),
            setup.last().copied().unwrap_or(0.0),
        );
        match scpu {
            Some(c) => {
                line += &format!(
                    " server_cpu={c:.1}% server_cpu_per_session={:.4}%",
                    c / self.established.max(1) as f64
                );
            }
            None => line += " server_cpu=na",
        }
        if let (Some(a), Some(b)) = (rss0, rss_max) {
            line += &format!(
                " server_rss_kib={b} server_rss_per_session_kib={:.1}",
                b.saturating_sub(a) as f64 / self.established.max(1) as f64
            );
        }
        line += &format!(
            " lost={lost} frames={frames} pkts_per_frame={pkts_per_frame:.2} bytes_per_pkt={bytes_per_pkt:.0} window_s={secs:.1} udp_rcvbuf_errors={} udp_sndbuf_errors={} tcp_listen_overflows={} tcp_listen_drops={} syncookies={} failed={} gro={} loadavg={load0:.2}",
            udp.rcvbuf_errors, udp.sndbuf_errors, listen.overflows, listen.drops, listen.syncookies, self.failed, self.args.gro
        );
        line
    }

    // ------------------------------------------------------------------------------------
    // Sessions

    /// Binds and registers session `i`'s RTP/RTCP socket pair.
    fn open_udp(&mut self, i: usize) -> Result<(), String> {
        let (rtp, rtcp) = bind_pair(self.server.ip()).map_err(|e| format!("bind udp: {e}"))?;
        if self.args.rcvbuf > 0 {
            let _ = sys::set_rcvbuf(rtp.as_raw_fd(), self.args.rcvbuf);
        }
        if self.args.gro {
            sys::enable_gro(rtp.as_raw_fd()).map_err(|e| format!("UDP_GRO: {e}"))?;
        }
        // Without stamps, arrival is when the datagram is read (see `rtp_readable`).
        let _ = sys::enable_timestamps(rtp.as_raw_fd());
        let (a, b) = (rtp.local_addr().ok(), rtcp.local_addr().ok());
        let mut rtp = UdpSocket::from_std(rtp);
        let mut rtcp = UdpSocket::from_std(rtcp);
        let reg = self.poll.registry();
        reg.register(&mut rtp, token(i, KIND_RTP), Interest::READABLE)
            .and_then(|()| reg.register(&mut rtcp, token(i, KIND_RTCP), Interest::READABLE))
            .map_err(|e| format!("register udp: {e}"))?;
        let s = &mut self.sessions[i];
        s.rtp = Some(rtp);
        s.rtcp = Some(rtcp);
        s.rtp_local = a;
        s.rtcp_local = b;
        Ok(())
    }

    fn start(&mut self, i: usize, now: Instant) {
        let mut cfg = ClientConfig::new(self.args.url.clone());
        cfg.seed = 0x5eed_0000_0000_0000 ^ (i as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        cfg.user_agent = "rtsp-load".into();
        let mut client = match Client::new(cfg, now) {
            Ok(c) => c,
            Err(e) => return self.fail(i, format!("client: {e}")),
        };
        let s = &mut self.sessions[i];
        // Setup time counts from the connect: not from the loop iteration that started a
        // batch, nor the UDP sockets (bound before the run starts).
        s.started = Some(Instant::now());
        s.marks[0] = s.started;
        s.phase = Phase::Connecting;
        let _ = client.describe();
        s.client = Some(client);
        match TcpStream::connect(self.server) {
            Ok(mut tcp) => {
                if let Err(e) = self.poll.registry().register(
                    &mut tcp,
                    token(i, KIND_TCP),
                    Interest::READABLE | Interest::WRITABLE,
                ) {
                    return self.fail(i, format!("register tcp: {e}"));
                }
                let _ = tcp.set_nodelay(true);
                s.tcp = Some(tcp);
            }
            Err(e) => return self.fail(i, format!("connect: {e}")),
        }
        self.drain(i);
    }

    fn fail(&mut self, i: usize, why: String) {
        let s = &mut self.sessions[i];
        if matches!(s.phase, Phase::Failed | Phase::Done) {
            return;
        }
        if s.phase == Phase::TearingDown {
            // Errors while tearing down at the end do not count as failures.
            s.phase = Phase::Done;
            self.close(i);
            return;
        }
        if s.phase == Phase::Playing {
            self.established -= 1;
        }
        s.phase = Phase::Failed;
        s.fail = Some(why.clone());
        self.failed += 1;
        self.fail_reasons.push(why);
        self.close(i);
    }

    fn close(&mut self, i: usize) {
        let reg = self.poll.registry();
        let s = &mut self.sessions[i];
        if let Some(mut t) = s.tcp.take() {
            let _ = reg.deregister(&mut t);
        }
        if let Some(mut u) = s.rtp.take() {
            let _ = reg.deregister(&mut u);
        }
        if let Some(mut u) = s.rtcp.take() {
            let _ = reg.deregister(&mut u);
        }
        if let Some(c) = s.client.as_mut() {
            c.close();
        }
        s.client = None;
        s.deadline = None;
    }

    fn teardown(&mut self, i: usize, _now: Instant) {
        let s = &mut self.sessions[i];
        match s.phase {
            Phase::Playing => {
                s.phase = Phase::TearingDown;
                let ok = s.client.as_mut().is_some_and(|c| c.teardown().is_ok());
                if ok {
                    self.drain(i);
                } else {
                    s.phase = Phase::Done;
                    self.close(i);
                }
            }
            Phase::Connecting | Phase::SettingUp => {
                let why = "not set up before the end of the run".to_string();
                self.fail(i, why);
            }
            _ => {}
        }
    }

    fn input(&mut self, i: usize, input: Input<'_>) {
        let Some(c) = self.sessions[i].client.as_mut() else {
            return;
        };
        c.handle_input(input);
        self.drain(i);
    }

    /// Drains the client's outputs, then handles the events it reported (which may call the
    /// client again), until it is quiet.
    fn drain(&mut self, i: usize) {
        loop {
            let mut evs = std::mem::take(&mut self.events);
            let s = &mut self.sessions[i];
            let Some(c) = s.client.as_mut() else {
                self.events = evs;
                return;
            };
            let mut close = false;
            let deadline = drain(c, |out| match out {
                Output::Transmit(t) => match t.dest {
                    Dest::Stream(_) => s.out.extend_from_slice(&t.data),
                    Dest::Udp { local, remote } => {
                        let sock = if Some(local) == s.rtcp_local {
                            s.rtcp.as_ref()
                        } else {
                            s.rtp.as_ref()
                        };
                        if let Some(u) = sock {
                            let _ = u.send_to(&t.data, remote);
                        }
                    }
                },
                Output::Close(_) => close = true,
                Output::Event(e) => evs.push(e),
                Output::Timeout(_) => {}
            });
            if deadline != s.deadline {
                s.deadline = deadline;
                if let Some(t) = deadline {
                    self.timers.push(Reverse((t, i)));
                }
            }
            self.flush(i);
            if close {
                let phase = self.sessions[i].phase;
                if phase == Phase::TearingDown {
                    self.sessions[i].phase = Phase::Done;
                    self.close(i);
                } else {
                    self.fail(i, "server closed the connection".into());
                }
            }
            if evs.is_empty() {
                self.events = evs;
                return;
            }
            let mut again = false;
            for e in evs.drain(..) {
                again |= self.on_event(i, e);
            }
            self.events = evs;
            if !again {
                return;
            }
        }
    }

    /// Handles one client event; true when the client was called (drain again).
    fn on_event(&mut self, i: usize, e: ClientEvent) -> bool {
        let now = Instant::now();
        let s = &mut self.sessions[i];
        match e {
            ClientEvent::Described { .. } => {
                s.marks[2] = Some(now);
                let choice = match (self.args.transport, s.rtp_local, s.rtcp_local) {
                    (Transport::Udp, Some(rtp_local), Some(rtcp_local)) => TransportChoice::Udp {
                        rtp_local,
                        rtcp_local,
                    },
                    _ => TransportChoice::Tcp,
                };
                if let Some(c) = s.client.as_mut() {
                    if let Err(e) = c.setup(choice) {
                        self.fail(i, format!("setup: {e}"));
                        return false;
                    }
                }
                true
            }
            ClientEvent::SetupDone { .. } => {
                s.marks[3] = Some(now);
                if self.args.no_play {
                    if s.phase != Phase::Playing && s.phase != Phase::TearingDown {
                        s.phase = Phase::Playing;
                        s.setup_ms = s
                            .started
                            .map(|t| now.duration_since(t).as_secs_f64() * 1000.0);
                        self.established += 1;
                    }
                    return false;
                }
                if let Some(c) = s.client.as_mut() {
                    if let Err(e) = c.play(None) {
                        self.fail(i, format!("play: {e}"));
                        return false;
                    }
                }
                true
            }
            ClientEvent::Playing { .. } => {
                if s.phase != Phase::Playing && s.phase != Phase::TearingDown {
                    s.phase = Phase::Playing;
                    s.marks[4] = Some(now);
                    s.setup_ms = s
                        .started
                        .map(|t| now.duration_since(t).as_secs_f64() * 1000.0);
                    self.established += 1;
                }
                false
            }
            ClientEvent::Frame { timestamp, .. } => {
                // TCP only (UDP RTP never reaches the client machine).
                s.counter.on_frame(timestamp, now);
                if let Some(c) = s.client.as_ref() {
                    let st = c.stats();
                    let (dp, db) = (st.packets - s.tcp_stats.0, st.bytes - s.tcp_stats.1);
                    self.pkts += dp;
                    self.bytes += db;
                    s.counter.packets += dp;
                    s.counter.bytes += db;
                    s.tcp_stats = (st.packets, st.bytes, st.lost);
                }
                false
            }
            ClientEvent::TornDown => {
                s.phase = Phase::Done;
                self.close(i);
                false
            }
            ClientEvent::RequestFailed { method, status } => {
                self.fail(i, format!("{method} failed: {status:?}"));
                false
            }
            ClientEvent::Redirected { location, .. } => {
                self.fail(i, format!("redirected to {location}"));
                false
            }
            ClientEvent::Error(e) => {
                self.fail(i, format!("client error: {e}"));
                false
            }
            ClientEvent::Closed => {
                if s.phase == Phase::TearingDown {
                    s.phase = Phase::Done;
                    self.close(i);
                } else {
                    self.fail(i, "closed".into());
                }
                false
            }
            _ => false,
        }
    }

    // ------------------------------------------------------------------------------------
    // Sockets

    fn flush(&mut self, i: usize) {
        let s = &mut self.sessions[i];
        if s.phase == Phase::Connecting {
            return;
        }
        let Some(tcp) = s.tcp.as_mut() else {
            s.out.clear();
            return;
        };
        let mut done = 0;
        let mut err = None;
        while done < s.out.len() {
            match tcp.write(&s.out[done..]) {
                Ok(0) => break,
                Ok(n) => done += n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    err = Some(e);
                    break;
                }
            }
        }
        s.out.drain(..done);
        if let Some(e) = err {
            self.stream_closed(i, format!("write: {e}"));
        }
    }

    fn tcp_writable(&mut self, i: usize) {
        let s = &mut self.sessions[i];
        if s.phase == Phase::Connecting {
            let Some(tcp) = s.tcp.as_ref() else { return };
            if let Ok(Some(e)) | Err(e) = tcp.take_error() {
                return self.fail(i, format!("connect: {e}"));
            }
            match tcp.peer_addr() {
                Ok(peer) => {
                    s.phase = Phase::SettingUp;
                    s.marks[1] = Some(Instant::now());
                    self.input(
                        i,
                        Input::Connected {
                            now: Instant::now(),
                            conn: ConnId(i as u64),
                            peer,
                        },
                    );
                }
                Err(e) if e.kind() == io::ErrorKind::NotConnected => return,
                Err(e) => return self.fail(i, format!("connect: {e}")),
            }
        }
        self.flush(i);
    }

    fn stream_closed(&mut self, i: usize, why: String) {
        let phase = self.sessions[i].phase;
        self.input(
            i,
            Input::StreamClosed {
                now: Instant::now(),
                conn: ConnId(i as u64),
            },
        );
        if phase == Phase::TearingDown {
            self.sessions[i].phase = Phase::Done;
            self.close(i);
        } else {
            self.fail(i, why);
        }
    }

    fn tcp_readable(&mut self, i: usize) {
        if self.sessions[i].phase == Phase::Connecting {
            // Readable before writable: a refused connect shows up here.
            self.tcp_writable(i);
            if self.sessions[i].phase == Phase::Connecting {
                return;
            }
        }
        loop {
            let Some(tcp) = self.sessions[i].tcp.as_mut() else {
                return;
            };
            match tcp.read(&mut self.rxbuf) {
                Ok(0) => return self.stream_closed(i, "server closed the connection".into()),
                Ok(n) => {
                    let data = std::mem::take(&mut self.rxbuf);
                    self.input(
                        i,
                        Input::Stream {
                            now: Instant::now(),
                            conn: ConnId(i as u64),
                            data: &data[..n],
                        },
                    );
                    self.rxbuf = data;
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return self.stream_closed(i, format!("read: {e}")),
            }
        }
    }

    fn rtp_readable(&mut self, i: usize) {
        let s = &mut self.sessions[i];
        let Some(sock) = s.rtp.as_ref() else { return };
        let fd = sock.as_raw_fd();
        loop {
            match self.batch.recv(fd) {
                Ok(0) => return,
                Ok(n) => {
                    // Timing from the kernel's receive stamps: when a datagram reached the
                    // socket, not when this loop got to read it.
                    let clock = StampClock::now();
                    for j in 0..n {
                        let d = self.batch.get(j);
                        self.pkts += 1;
                        self.bytes += d.len() as u64;
                        s.counter.on_datagram(d, clock.at(self.batch.stamp(j)));
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => return,
            }
        }
    }

    fn rtcp_readable(&mut self, i: usize) {
        let mut buf = [0u8; 2048];
        loop {
            let s = &self.sessions[i];
            let (Some(sock), Some(local)) = (s.rtcp.as_ref(), s.rtcp_local) else {
                return;
            };
            match sock.recv_from(&mut buf) {
                Ok((n, remote)) => self.input(
                    i,
                    Input::Datagram {
                        now: Instant::now(),
                        local,
                        remote,
                        data: &buf[..n],
                    },
                ),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => return,
            }
        }
    }
}

fn pct(a: u64, b: u64) -> f64 {
    if b == 0 {
        0.0
    } else {
        100.0 * a as f64 / b as f64
    }
}

fn nan0(v: f64) -> f64 {
    if v.is_nan() {
        0.0
    } else {
        v
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
