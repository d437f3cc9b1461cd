//! udp-ceiling: the raw loopback UDP ceiling for the RTSP fan-out.
//!
//! ```text
//! udp-ceiling --sessions N --duration SECS [--mode sendto|sendmmsg|gso|auto] [--max]
//!             [--fps 25] [--frame-bytes 6200] [--datagram 1372]
//! ```
//!
//! One sender thread plays N "sessions": each gets a frame-sized burst of RTP-shaped datagrams
//! (12-byte header with its own sequence numbers, timestamps and marker + a payload shared by
//! all) every 1/fps seconds, the sessions' phases spread evenly over the frame interval. A
//! receiver thread reads N sockets with `recvmmsg` on one mio loop and counts exactly as
//! `rtsp-load` does (loss, late frames, fps). With `--max` the sender is not paced: it sends
//! frames round-robin as fast as it can (the packets/s ceiling).
//!
//! Send modes: `sendto` (one copy + one syscall per datagram, the naive server), `sendmmsg`
//! (header + shared payload as two iovecs, up to 1024 datagrams per call), `gso` (one UDP GSO
//! train per frame, `UDP_SEGMENT` cmsg, batched with sendmmsg; probed, falls back to sendmmsg).
//!
//! Loopback only (the receivers bind 127.0.0.1); bounded by `--duration`.

use std::net::{SocketAddr, UdpSocket as StdUdp};
use std::os::fd::AsRawFd;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use clap::{Parser, ValueEnum};
use mio::net::UdpSocket;
use mio::{Events, Interest, Poll, Token};
use rtp_core::FixedHeader;
use rtsp_core::io::InlineHeader;
use rtsp_load::count::{window_fps, StreamCounter};
use rtsp_load::procfs::{self, MachineCpu, UdpCounters};
use rtsp_load::sys::{self, RecvBatch, StampClock};
use runtime_mio::udp::{self as gso, Datagram, SendResult, Sender};

/// Raw loopback UDP ceiling: paced frame bursts to N sockets.
#[derive(Debug, Parser)]
#[command(name = "udp-ceiling", version)]
struct Args {
    /// Receiving sockets ("sessions").
    #[arg(long, default_value_t = 1)]
    sessions: usize,
    /// Seconds to send.
    #[arg(long, default_value_t = 10.0)]
    duration: f64,
    /// How datagrams are sent.
    #[arg(long, value_enum, default_value_t = Mode::Auto)]
    mode: Mode,
    /// Send as fast as possible instead of pacing at --fps.
    #[arg(long)]
    max: bool,
    /// Frames per second per session.
    #[arg(long, default_value_t = 25.0)]
    fps: f64,
    /// RTP bytes per frame (headers included), split into datagrams of --datagram bytes.
    #[arg(long, default_value_t = 6200)]
    frame_bytes: usize,
    /// Largest RTP datagram (UDP payload) in bytes; 1372 = a 1400-byte IP payload.
    #[arg(long, default_value_t = 1372)]
    datagram: usize,
    /// Datagrams per recvmmsg call.
    #[arg(long, default_value_t = 64)]
    batch: usize,
    /// Receive with `UDP_GRO` (GSO trains handed over whole, split by the receiver), as
    /// `rtsp-load --gro` does.
    #[arg(long)]
    gro: bool,
    /// Pacing granularity in milliseconds: the sender wakes at most this often and sends every
    /// frame that is due (a frame leaves up to this late).
    #[arg(long, default_value_t = 1.0)]
    tick_ms: f64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Mode {
    /// GSO if the kernel has it, else sendmmsg.
    Auto,
    /// One sendto per datagram.
    Sendto,
    /// sendmmsg, one datagram per message.
    Sendmmsg,
    /// sendmmsg of UDP GSO trains (one per frame).
    Gso,
}

fn main() -> ExitCode {
    let args = Args::parse();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("udp-ceiling: {e}");
            ExitCode::from(2)
        }
    }
}

/// What the sender did.
#[derive(Debug, Default)]
struct Sent {
    res: SendResult,
    frames: u64,
    cpu: Duration,
    wall: Duration,
}

/// What the receiver saw.
struct Received {
    counters: Vec<StreamCounter>,
    frames_at_start: Vec<u64>,
    window: (Instant, Instant),
    cpu: Duration,
}

fn run(args: &Args) -> Result<(), String> {
    let n = args.sessions;
    if n == 0 || n > 20_000 {
        return Err("--sessions must be 1..=20000".into());
    }
    if !(args.duration > 0.0 && args.duration <= 600.0) {
        return Err("--duration must be in (0, 600]".into());
    }
    if args.datagram < 64 || args.datagram > 65_000 || args.frame_bytes < 13 {
        return Err("--datagram must be 64..65000 and --frame-bytes at least 13".into());
    }
    if !(args.fps > 0.0 && args.fps <= 1000.0) {
        return Err("--fps must be in (0, 1000]".into());
    }
    sys::raise_nofile((n + 64) as u64).map_err(|e| format!("setrlimit: {e}"))?;

    let mut socks = Vec::with_capacity(n);
    let mut dests = Vec::with_capacity(n);
    for _ in 0..n {
        let s = StdUdp::bind("127.0.0.1:0").map_err(|e| format!("bind: {e}"))?;
        s.set_nonblocking(true).map_err(|e| e.to_string())?;
        if args.gro {
            sys::enable_gro(s.as_raw_fd()).map_err(|e| format!("UDP_GRO: {e}"))?;
        }
        let _ = sys::enable_timestamps(s.as_raw_fd());
        dests.push(s.local_addr().map_err(|e| e.to_string())?);
        socks.push(UdpSocket::from_std(s));
    }
    let tx = StdUdp::bind("127.0.0.1:0").map_err(|e| format!("bind: {e}"))?;
    let _ = sys::set_sndbuf(tx.as_raw_fd(), 4 << 20);
    let gso_ok = gso::probe_gso(tx.as_raw_fd());
    let mode = match args.mode {
        Mode::Auto | Mode::Gso if gso_ok => Mode::Gso,
        Mode::Auto | Mode::Gso => Mode::Sendmmsg,
        m => m,
    };

    let t0 = Instant::now();
    let send_end = t0 + Duration::from_secs_f64(args.duration);
    // Receivers settle for a second of warm-up before the window opens.
    let warm = Duration::from_secs_f64((args.duration * 0.2).min(1.0));
    let udp0 = UdpCounters::read();
    let m0 = MachineCpu::read();
    let stop = Arc::new(AtomicBool::new(false));
    let batch = args.batch.clamp(1, 1024);
    let gro = args.gro;
    let rx = {
        let stop = Arc::clone(&stop);
        std::thread::spawn(move || receive(socks, batch, gro, t0 + warm, send_end, &stop))
    };
    let sent = send(args, mode, &tx, &dests, t0, send_end);
    let machine = MachineCpu::read().percent_since(&m0, procfs::ncpu());
    // Let the last datagrams land, then stop the receiver.
    std::thread::sleep(Duration::from_millis(200));
    stop.store(true, Ordering::Relaxed);
    let recv = rx
        .join()
        .map_err(|_| "receiver thread panicked".to_string())?
        .map_err(|e| format!("receiver: {e}"))?;
    let udp = UdpCounters::read().since(&udp0);

    let wall = sent.wall.as_secs_f64().max(1e-3);
    let (w0, w1) = recv.window;
    let wsecs = w1.saturating_duration_since(w0).as_secs_f64().max(1e-3);
    let pkts: u64 = recv.counters.iter().map(|c| c.packets).sum();
    let bytes: u64 = recv.counters.iter().map(|c| c.bytes).sum();
    let lost: u64 = recv.counters.iter().map(|c| c.lost()).sum();
    let expected: u64 = recv.counters.iter().map(|c| c.expected()).sum();
    let late: u64 = recv.counters.iter().map(|c| c.late).sum();
    let early: u64 = recv.counters.iter().map(|c| c.early).sum();
    let fps: Vec<f64> = recv
        .counters
        .iter()
        .zip(&recv.frames_at_start)
        .filter_map(|(c, &f0)| window_fps(c, f0, w0, w1))
        .collect();
    let fps_min = fps.iter().copied().fold(f64::INFINITY, f64::min);
    let fps_mean = fps.iter().sum::<f64>() / fps.len().max(1) as f64;
    let sender_cpu = 100.0 * sent.cpu.as_secs_f64() / wall;
    let (segs, _) = split(args.frame_bytes, args.datagram);
    println!(
        "mode={} paced={} sessions={n} gso_available={} offered_pps={:.0} sent_pps={:.0} recv_pps={:.0} mbps={:.2} loss={:.2}% late={late} early={early} fps_min={:.2} fps_mean={:.2} sender_cpu={sender_cpu:.1}% sender_cpu_per_session={:.4}% receiver_cpu={:.1}% machine_cpu={machine:.1}% syscalls_per_s={:.0} dropped={} pkts_per_frame={} udp_rcvbuf_errors={} gro={} loadavg={:.2}",
        match mode {
            Mode::Sendto => "sendto",
            Mode::Sendmmsg => "sendmmsg",
            _ => "gso",
        },
        !args.max,
        gso_ok,
        if args.max { 0.0 } else { n as f64 * args.fps * segs as f64 },
        sent.res.sent as f64 / wall,
        pkts as f64 / wall,
        bytes as f64 * 8.0 / wall / 1e6,
        if expected > 0 { 100.0 * lost as f64 / expected as f64 } else { 0.0 },
        if fps_min.is_finite() { fps_min } else { 0.0 },
        fps_mean,
        sender_cpu / n as f64,
        100.0 * recv.cpu.as_secs_f64() / wall,
        sent.res.syscalls as f64 / wall,
        sent.res.dropped,
        segs,
        udp.rcvbuf_errors,
        gro,
        procfs::loadavg1(),
    );
    let _ = wsecs;
    let _ = sent.frames;
    Ok(())
}

/// Splits a frame of `frame_bytes` RTP bytes into datagrams of at most `datagram` bytes:
/// (segments, payload bytes of the last one); all others carry `datagram - 12`.
fn split(frame_bytes: usize, datagram: usize) -> (usize, usize) {
    let segs = frame_bytes.div_ceil(datagram).max(1);
    let payload = frame_bytes.saturating_sub(12 * segs);
    let full = datagram - 12;
    let last = payload.saturating_sub(full * (segs - 1)).max(1);
    (segs, last)
}

fn send(
    args: &Args,
    mode: Mode,
    tx: &StdUdp,
    dests: &[SocketAddr],
    t0: Instant,
    end: Instant,
) -> Sent {
    let cpu0 = sys::thread_cpu();
    let n = dests.len();
    let full = args.datagram - 12;
    let (segs, last) = split(args.frame_bytes, args.datagram);
    let segs = segs.min(gso::MAX_SEGMENTS);
    let payload = Bytes::from(vec![0x5au8; full]);
    let last_payload = payload.slice(..last.min(full));
    let ts_step = 90_000.0 / args.fps;
    let slot = Duration::from_secs_f64(1.0 / args.fps / n as f64);
    let mut seq = vec![0u16; n];
    let mut scratch = Vec::with_capacity(args.datagram);
    let mut batch: Vec<Datagram> = Vec::new();
    let mut sender = Sender::new();
    let mut out = Sent::default();
    let fd = tx.as_raw_fd();
    let tick = Duration::from_secs_f64(args.tick_ms.clamp(0.0, 40.0) / 1000.0);
    let mut m: u64 = 0; // frames queued so far, all sessions
    loop {
        let now = Instant::now();
        if now >= end {
            break;
        }
        let mut frames_queued = 0;
        // Queue every frame that is due (paced) or the next round (unpaced).
        let limit = if args.max {
            m + (n as u64).clamp(64, 1024)
        } else {
            u64::MAX
        };
        while m < limit {
            if !args.max {
                let due = t0 + slot.mul_f64(m as f64);
                if due > now {
                    break;
                }
            }
            let s = (m % n as u64) as usize;
            let frame = m / n as u64;
            let ts = (frame as f64 * ts_step) as u32;
            for j in 0..segs {
                let header = FixedHeader {
                    marker: j + 1 == segs,
                    payload_type: 26,
                    sequence: seq[s].wrapping_add(j as u16),
                    timestamp: ts,
                    ssrc: s as u32 + 1,
                };
                let body = if j + 1 == segs {
                    &last_payload
                } else {
                    &payload
                };
                batch.push(Datagram {
                    remote: dests[s],
                    header: InlineHeader::new(&header.to_bytes()).unwrap_or_default(),
                    body: body.clone(),
                });
            }
            seq[s] = seq[s].wrapping_add(segs as u16);
            m += 1;
            out.frames += 1;
            frames_queued += 1;
            // At most 1024 messages per flush: datagrams, or GSO trains (one per frame).
            let messages = if mode == Mode::Gso {
                frames_queued
            } else {
                batch.len()
            };
            if messages >= 1024 {
                break;
            }
        }
        let r = match mode {
            Mode::Sendto => send_each(tx, &batch, &mut scratch),
            // A frame's datagrams to one session, all of one size but the last: one GSO train.
            _ => sender.send(fd, &batch, mode == Mode::Gso),
        };
        batch.clear();
        out.res.sent += r.sent;
        out.res.dropped += r.dropped;
        out.res.syscalls += r.syscalls;
        if !args.max {
            let due = t0 + slot.mul_f64(m as f64);
            let now = Instant::now();
            let wake = due.max(now + tick).min(end);
            if wake > now {
                std::thread::sleep(wake - now);
            }
        }
    }
    out.cpu = sys::thread_cpu().saturating_sub(cpu0);
    out.wall = Instant::now().duration_since(t0);
    out
}

/// The naive server: one copy into `scratch` and one `sendto` per datagram.
fn send_each(tx: &StdUdp, batch: &[Datagram], scratch: &mut Vec<u8>) -> SendResult {
    let mut res = SendResult::default();
    for d in batch {
        scratch.clear();
        scratch.extend_from_slice(d.header.as_slice());
        scratch.extend_from_slice(&d.body);
        res.syscalls += 1;
        match tx.send_to(scratch, d.remote) {
            Ok(_) => res.sent += 1,
            Err(_) => res.dropped += 1,
        }
    }
    res
}

fn receive(
    mut socks: Vec<UdpSocket>,
    batch: usize,
    gro: bool,
    window_start: Instant,
    window_end: Instant,
    stop: &AtomicBool,
) -> std::io::Result<Received> {
    let cpu0 = sys::thread_cpu();
    let mut poll = Poll::new()?;
    for (i, s) in socks.iter_mut().enumerate() {
        poll.registry().register(s, Token(i), Interest::READABLE)?;
    }
    let mut counters = vec![StreamCounter::default(); socks.len()];
    let mut frames_at_start: Option<Vec<u64>> = None;
    let mut rb = if gro {
        RecvBatch::with_gro(batch)
    } else {
        RecvBatch::new(batch, 2048)
    };
    let mut events = Events::with_capacity(1024);
    let hard_end = window_end + Duration::from_secs(5);
    while !stop.load(Ordering::Relaxed) && Instant::now() < hard_end {
        if frames_at_start.is_none() && Instant::now() >= window_start {
            frames_at_start = Some(counters.iter().map(|c| c.frames).collect());
        }
        poll.poll(&mut events, Some(Duration::from_millis(50)))?;
        for ev in events.iter() {
            let i = ev.token().0;
            let fd = socks[i].as_raw_fd();
            loop {
                match rb.recv(fd) {
                    Ok(0) => break,
                    Ok(k) => {
                        let clock = StampClock::now();
                        for j in 0..k {
                            counters[i].on_datagram(rb.get(j), clock.at(rb.stamp(j)));
                        }
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                    Err(_) => break,
                }
            }
        }
    }
    let frames_at_start = frames_at_start.unwrap_or_else(|| counters.iter().map(|_| 0).collect());
    Ok(Received {
        counters,
        frames_at_start,
        window: (window_start, window_end),
        cpu: sys::thread_cpu().saturating_sub(cpu0),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frame_split() {
        // 6200 B in 1372-B datagrams: 5 datagrams, 4 full payloads of 1360.
        assert_eq!(split(6200, 1372), (5, 6200 - 60 - 4 * 1360));
        assert_eq!(split(100, 1372), (1, 88));
    }
}
