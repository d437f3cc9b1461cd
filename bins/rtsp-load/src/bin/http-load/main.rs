//! http-load: N viewers of one MJPEG-over-HTTP stream on this machine, and what reaches them.
//!
//! ```text
//! http-load URL --viewers N --duration SECS [--server-pid PID] [--sources N] [--fps 25]
//!           [--parser lean|splitter] [--quiet]
//! ```
//!
//! `URL` is `http://HOST:PORT/PATH` (issue 16's server: `/NAME/stream.mjpg`). Each viewer is a
//! TCP connection on one mio loop (`rtsp_load::viewers`) that sends `GET PATH HTTP/1.1`, reads
//! the response head (httparse; status 200 and a `multipart/...; boundary=` type) and counts
//! the body's parts. `--parser lean` (default) finds each part's end from its
//! `Content-Length` and keeps no body (it checks the first two bytes are JPEG SOI `FF D8` and
//! the last two EOI `FF D9`); `--parser splitter` runs the workspace's
//! `mjpeg::MultipartSplitter`, which copies every part (and takes parts without a length).
//!
//! Per viewer: frames (JPEG parts), bytes, fps over the measurement window (it opens once
//! every viewer has its response head, or after 5 s), and the gaps between frames: a frame
//! more than two nominal intervals (`--fps`) after the previous one is *late*. With
//! `--server-pid`, the server's CPU over the window (`/proc/PID/stat`, all threads) and its
//! RSS (peak; per viewer: growth from before the first connection over established viewers).
//!
//! Loopback targets only (refused otherwise). Viewers are spread over source addresses
//! 127.0.0.2, 127.0.0.3, … (a server's per-IP limits), at most 8 a source by default, as
//! `rtsp-load --sources`. Bounded: every connection is closed after `--duration`.
//!
//! Prints one line a second (unless `--quiet`) and, last, one machine-readable line:
//! `viewers=N established=E failed=F fps_min=… fps_mean=… fps_max=… frames=… bytes=… mbps=…
//! late=… max_gap_ms=… bad_parts=… jpeg_bytes=… window_s=… server_cpu=…%
//! server_cpu_per_viewer_frame_us=… server_rss_kib=… server_rss_per_viewer_kib=…
//! client_cpu=…% machine_cpu=…% loadavg=… sources=N source_range=…`.
//! Exit status 0 when every viewer streamed to the end with JPEG parts only.

use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::{Parser, ValueEnum};
use rtsp_load::http::{parse_url, Splitter};
use rtsp_load::procfs::{self, MachineCpu};
use rtsp_load::sys;
use rtsp_load::viewers::{check_run, Tick, ViewerConfig, Viewers};
use rtsp_load::{resolve_loopback, source_addrs, source_range};

/// MJPEG-over-HTTP load generator: N viewers on one event loop.
#[derive(Debug, Parser)]
#[command(name = "http-load", version)]
struct Args {
    /// http://HOST:PORT/PATH on this machine (127.0.0.0/8 or ::1).
    url: String,
    /// Viewers to open.
    #[arg(long, default_value_t = 1)]
    viewers: usize,
    /// Seconds to run from the start (connecting included).
    #[arg(long, default_value_t = 10.0)]
    duration: f64,
    /// Also report this process's CPU and memory (the server under test).
    #[arg(long)]
    server_pid: Option<u32>,
    /// Source addresses to spread the viewers over, from 127.0.0.2 up (default: at most 8
    /// viewers an address against an IPv4 loopback target; 1: the kernel picks).
    #[arg(long, value_name = "N")]
    sources: Option<usize>,
    /// The stream's nominal frame rate: a gap above two intervals is a late frame.
    #[arg(long, default_value_t = 25.0)]
    fps: f64,
    /// How the multipart body is split.
    #[arg(long, value_enum, default_value_t = ParserKind::Lean)]
    parser: ParserKind,
    /// No per-second lines.
    #[arg(long, short)]
    quiet: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum ParserKind {
    /// Part ends from Content-Length; no body kept.
    Lean,
    /// mjpeg::MultipartSplitter.
    Splitter,
}

fn main() -> ExitCode {
    match run(Args::parse()) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("http-load: {e}");
            ExitCode::from(2)
        }
    }
}

/// Readings at the start of the window.
struct Start {
    client_cpu: Duration,
    server_cpu: Option<Duration>,
    machine: MachineCpu,
}

fn run(args: Args) -> Result<ExitCode, String> {
    let (host, port, path) = parse_url(&args.url)?;
    let server = resolve_loopback(&host, port)?;
    check_run(args.viewers, args.duration, args.fps)?;
    let sources = source_addrs(server.ip(), args.viewers, args.sources)?;
    let mut viewers = Viewers::new(ViewerConfig {
        server,
        host: if port == 80 {
            host
        } else {
            format!("{host}:{port}")
        },
        path,
        viewers: args.viewers,
        sources: sources.clone(),
        interval: Duration::from_secs_f64(1.0 / args.fps),
        splitter: match args.parser {
            ParserKind::Lean => Splitter::Lean,
            ParserKind::Splitter => Splitter::Mjpeg,
        },
    })?;
    let pid = args.server_pid;
    let server_cpu = || pid.and_then(procfs::cpu_time);
    let rss0 = pid.and_then(procfs::rss_kib);
    let load0 = procfs::loadavg1();
    let mut rss_peak = rss0;
    let mut start: Option<Start> = None;
    let t0 = Instant::now();
    let end = t0 + Duration::from_secs_f64(args.duration);
    let mut last = (t0, viewers.totals(), sys::process_cpu(), server_cpu());
    viewers.run(end, |v, tick, now| match tick {
        Tick::WindowOpen => {
            start = Some(Start {
                client_cpu: sys::process_cpu(),
                server_cpu: server_cpu(),
                machine: MachineCpu::read(),
            })
        }
        Tick::Second => {
            if let Some(r) = pid.and_then(procfs::rss_kib) {
                rss_peak = Some(rss_peak.unwrap_or(0).max(r));
            }
            let (t, c, s) = (v.totals(), sys::process_cpu(), server_cpu());
            if !args.quiet {
                let dt = now.duration_since(last.0).as_secs_f64();
                let pct = |a: Duration, b: Duration| 100.0 * b.saturating_sub(a).as_secs_f64() / dt;
                let srv = match (last.3, s) {
                    (Some(a), Some(b)) => format!(" server_cpu={:.1}%", pct(a, b)),
                    _ => String::new(),
                };
                println!(
                    "t={:.0}s est={}/{} failed={} fps={:.2} mbps={:.2} late+={} bad={} client_cpu={:.1}%{srv}",
                    now.duration_since(t0).as_secs_f64(),
                    v.established,
                    args.viewers,
                    v.failed,
                    (t.frames - last.1.frames) as f64 / dt / v.established.max(1) as f64,
                    (t.bytes - last.1.bytes) as f64 * 8.0 / dt / 1e6,
                    t.late - last.1.late,
                    t.bad,
                    pct(last.2, c),
                );
            }
            last = (now, t, c, s);
        }
    })?;
    let sum = viewers.summary(Instant::now());
    let start = start.unwrap_or(Start {
        client_cpu: sys::process_cpu(),
        server_cpu: server_cpu(),
        machine: MachineCpu::read(),
    });
    let mut line = sum.fields();
    match (start.server_cpu, server_cpu()) {
        (Some(a), Some(b)) => {
            let used = b.saturating_sub(a);
            line += &format!(
                " server_cpu={:.1}% server_cpu_per_viewer_frame_us={:.2}",
                100.0 * used.as_secs_f64() / sum.secs,
                sum.us_per_viewer_frame(used)
            );
        }
        _ => line += " server_cpu=na",
    }
    let rss_end = pid.and_then(procfs::rss_kib);
    if let (Some(a), Some(b)) = (rss0, rss_peak.max(rss_end)) {
        line += &format!(
            " server_rss_kib={b} server_rss_per_viewer_kib={:.1}",
            b.saturating_sub(a) as f64 / sum.established.max(1) as f64
        );
    }
    line += &format!(
        " client_cpu={:.1}% machine_cpu={:.1}% loadavg={load0:.2} sources={} source_range={}",
        100.0
            * sys::process_cpu()
                .saturating_sub(start.client_cpu)
                .as_secs_f64()
            / sum.secs,
        MachineCpu::read().percent_since(&start.machine, procfs::ncpu()),
        sources.len(),
        source_range(&sources)
    );
    for r in viewers.failure_reasons(5) {
        eprintln!("http-load: failure: {r}");
    }
    println!("{line}");
    let ok = sum.established == args.viewers && sum.failed == 0 && sum.bad == 0;
    Ok(if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
