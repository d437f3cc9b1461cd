//! live-latency: how long a frame takes from a publisher to a reader of a live path.
//!
//! ```text
//! live-latency PUBLISH_URL [--read URL] [--frames 1000] [--warmup 50] [--fps 25]
//!              [--width 384] [--height 288] [--transport udp|tcp] [--csv FILE]
//! ```
//!
//! It publishes `warmup + frames` distinct test-pattern JPEGs (each shows its number, so every
//! scan differs) to `PUBLISH_URL` with ANNOUNCE, SETUP (`RTP/AVP/TCP;interleaved=0-1;
//! mode=record`) and RECORD ([`publish`]), one frame every 1/fps s on a fixed schedule, each
//! frame's RTP/JPEG packets (packetized beforehand, RFC 2435 as the server does) written to the
//! socket in one call, and keeps each frame's send instant (taken just before that write).
//! Meanwhile it reads `--read` (default: the same URL) with an `rtsp_core::client::Client`
//! machine ([`read`]): every complete frame the reader gets is matched to the frame sent by
//! its scan data (which a relay that does not transcode passes on byte for byte: RFC 2435
//! carries the scan as it is), and timed by the arrival of the packet that completed it (over
//! UDP the kernel's receive stamp of that datagram, over TCP the read).
//!
//! Latency = arrival − send, over the `frames` frames after the warm-up (the reader sets up
//! during the warm-up). Prints one machine-readable line:
//! `frames=N received=R missing=M min_ms=… p50_ms=… p90_ms=… p99_ms=… max_ms=… mean_ms=…`.
//!
//! Loopback targets only; the run is bounded (the frames' duration plus a few seconds).

use std::collections::HashMap;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use clap::{Parser, ValueEnum};
use rtsp_core::url::RtspUrl;
use rtsp_load::{percentile, resolve_loopback};

mod publish;
mod read;

/// Publisher → reader latency of a live RTSP path (loopback only).
#[derive(Debug, Parser)]
#[command(name = "live-latency", version)]
struct Args {
    /// URL to publish to (ANNOUNCE + RECORD, TCP interleaved).
    publish: String,
    /// URL to read (default: the one published to).
    #[arg(long)]
    read: Option<String>,
    /// Frames measured (after the warm-up).
    #[arg(long, default_value_t = 1000)]
    frames: u32,
    /// Frames sent before the measured ones, while the reader sets up.
    #[arg(long, default_value_t = 50)]
    warmup: u32,
    /// Frames per second sent.
    #[arg(long, default_value_t = 25.0)]
    fps: f64,
    /// Frame width (multiple of 8).
    #[arg(long, default_value_t = 384)]
    width: u16,
    /// Frame height (multiple of 8).
    #[arg(long, default_value_t = 288)]
    height: u16,
    /// The reader's media transport.
    #[arg(long, value_enum, default_value_t = Transport::Udp)]
    transport: Transport,
    /// Largest RTP packet the publisher sends (IP payload, as a server's --mtu).
    #[arg(long, default_value_t = 1400)]
    mtu: usize,
    /// Write `frame,sent_ms,arrived_ms,latency_ms` for every measured frame here.
    #[arg(long)]
    csv: Option<PathBuf>,
}

/// The reader's transport.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Transport {
    /// RTP/AVP over UDP (kernel receive stamps).
    Udp,
    /// Interleaved in the RTSP connection.
    Tcp,
}

fn main() -> ExitCode {
    match run(Args::parse()) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("live-latency: {e}");
            ExitCode::from(2)
        }
    }
}

/// A scan's key: frames are matched by it.
pub fn scan_key(jpeg: &[u8]) -> Option<u64> {
    let info = mjpeg::parse_jpeg(jpeg).ok()?;
    let mut h = DefaultHasher::new();
    info.scan(jpeg).hash(&mut h);
    Some(h.finish())
}

fn run(args: Args) -> Result<ExitCode, String> {
    if args.frames == 0 || args.frames > 100_000 || args.warmup > 10_000 {
        return Err("--frames must be 1..=100000 and --warmup at most 10000".into());
    }
    if !(args.fps > 0.0 && args.fps <= 200.0) {
        return Err("--fps must be in (0, 200]".into());
    }
    let read_url = args.read.clone().unwrap_or_else(|| args.publish.clone());
    let mut addrs = Vec::new();
    for u in [&args.publish, &read_url] {
        let url = RtspUrl::parse(u).map_err(|e| format!("bad URL {u:?}: {e}"))?;
        addrs.push(resolve_loopback(url.host(), url.port())?);
    }
    let total = args.warmup + args.frames;
    eprintln!(
        "live-latency: encoding {total} frames ({}x{})",
        args.width, args.height
    );
    let jpegs: Vec<Bytes> = (0..total)
        .map(|i| mjpeg::testpattern::frame(i, args.width, args.height))
        .collect();
    let mut keys = HashMap::with_capacity(jpegs.len());
    for (i, j) in jpegs.iter().enumerate() {
        let key = scan_key(j).ok_or_else(|| format!("frame {i}: not a JPEG"))?;
        if keys.insert(key, i as u32).is_some() {
            return Err(format!("frame {i}: same scan as an earlier frame"));
        }
    }
    let stream = publish::Stream::new(&jpegs, args.fps, args.mtu)?;
    let period = Duration::from_secs_f64(1.0 / args.fps);

    let (recording_tx, recording_rx) = mpsc::channel();
    let (done_tx, done_rx) = mpsc::channel::<()>();
    let publish_url = args.publish.clone();
    let publisher = std::thread::spawn(move || {
        publish::run(
            &publish_url,
            addrs[0],
            &stream,
            period,
            recording_tx,
            done_rx,
        )
    });
    // The reader starts once the publisher records (a live path exists from then on).
    let recording = recording_rx.recv_timeout(Duration::from_secs(15));
    let reader = match recording {
        Ok(Ok(())) => {
            let until = Instant::now() + period * total + Duration::from_secs(2);
            read::run(&read_url, args.transport, &keys, until)
        }
        Ok(Err(e)) => Err(format!("publisher: {e}")),
        Err(_) => Err("publisher: not recording within 15 s".into()),
    };
    let _ = done_tx.send(());
    let sent = publisher
        .join()
        .map_err(|_| "publisher thread panicked".to_string())??;
    let arrivals = reader?;
    report(&args, &read_url, &sent, &arrivals)
}

fn report(
    args: &Args,
    read_url: &str,
    sent: &[Instant],
    arrivals: &[(u32, Instant)],
) -> Result<ExitCode, String> {
    let mut first: HashMap<u32, Instant> = HashMap::new();
    for &(i, at) in arrivals {
        first.entry(i).or_insert(at);
    }
    let t0 = sent.first().copied().ok_or("no frame sent")?;
    let mut lat = Vec::new();
    let mut csv = String::from("frame,sent_ms,arrived_ms,latency_ms\n");
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    for i in args.warmup..args.warmup + args.frames {
        let Some(&s) = sent.get(i as usize) else {
            continue;
        };
        match first.get(&i) {
            Some(&a) => {
                let l = a.saturating_duration_since(s);
                lat.push(ms(l));
                csv += &format!(
                    "{i},{:.3},{:.3},{:.3}\n",
                    ms(s - t0),
                    ms(a.saturating_duration_since(t0)),
                    ms(l)
                );
            }
            None => csv += &format!("{i},{:.3},,\n", ms(s - t0)),
        }
    }
    if let Some(path) = &args.csv {
        std::fs::write(path, csv).map_err(|e| format!("{}: {e}", path.display()))?;
    }
    let received = lat.len();
    lat.sort_by(f64::total_cmp);
    let mean = if lat.is_empty() {
        0.0
    } else {
        lat.iter().sum::<f64>() / lat.len() as f64
    };
    println!(
        "frames={} received={received} missing={} sent={} min_ms={:.2} p50_ms={:.2} p90_ms={:.2} p99_ms={:.2} max_ms={:.2} mean_ms={mean:.2} fps={} transport={:?} publish={} read={read_url} loadavg={:.2}",
        args.frames,
        args.frames as usize - received,
        sent.len(),
        lat.first().copied().unwrap_or(0.0),
        percentile(&lat, 50.0),
        percentile(&lat, 90.0),
        percentile(&lat, 99.0),
        lat.last().copied().unwrap_or(0.0),
        args.fps,
        args.transport,
        args.publish,
        rtsp_load::procfs::loadavg1(),
    );
    Ok(if received == args.frames as usize {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
