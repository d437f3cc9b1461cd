//! client-std: a headless RTSP/MJPEG player on the blocking runtime (runtime-std).
//!
//! ```text
//! client-std rtsp://HOST:PORT/NAME [--transport udp|tcp] [--frames N] [--duration SECS] [--record FILE]
//! client-std HOST RTSP_PORT RTP_PORT FILE        # the course lab's form and dialect
//! ```
//!
//! Without `--interactive` it sets up and plays at once (DESCRIBE → SETUP → PLAY; lab:
//! SETUP → PLAY). Commands on standard input, one per line, are always accepted: `setup`,
//! `play`, `pause`, `teardown`, `stats`, `quit`. `--interactive` only disables the automatic
//! start. Progress goes to stderr about once per second. Ctrl-C (or `quit`, `--frames`,
//! `--duration`) sends TEARDOWN, waits briefly for the reply, and exits 0; a refused
//! connection or a failed request exits 1.

mod player;
mod record;

use std::io::{BufRead, IsTerminal, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, ToSocketAddrs, UdpSocket};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use clap::{Parser, ValueEnum};
use rtsp_core::client::{Client, ClientConfig, Dialect, TransportChoice};
use runtime_std::{bind_udp_pair, bind_udp_pair_at, Flow, Runtime};

use player::{Player, PlayerConfig, PlayerEvent};
use record::{RecordFormat, Recorder};

/// How media reaches the client.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum TransportArg {
    /// RTP/RTCP over UDP (an even/odd local port pair).
    Udp,
    /// RTP/RTCP interleaved in the RTSP TCP connection.
    Tcp,
}

/// Headless RTSP/MJPEG player.
///
/// Plays rtsp://HOST:PORT/NAME, or in the course lab's form HOST RTSP_PORT RTP_PORT FILE
/// (lab dialect, RTP on the given UDP port). Commands on stdin, one per line: setup, play,
/// pause, teardown, stats, quit.
#[derive(Debug, Parser)]
#[command(name = "client-std", version)]
struct Args {
    /// `rtsp://HOST[:PORT]/NAME`, or the lab form `HOST RTSP_PORT RTP_PORT FILE`.
    #[arg(required = true, num_args = 1..=4, value_name = "URL | HOST RTSP_PORT RTP_PORT FILE")]
    target: Vec<String>,
    /// Media transport.
    #[arg(long, value_enum, default_value_t = TransportArg::Udp)]
    transport: TransportArg,
    /// Local RTP port (RTCP uses the next one). Default: an ephemeral even/odd pair.
    #[arg(long, value_name = "N")]
    rtp_port: Option<u16>,
    /// Stop after N frames: TEARDOWN and exit 0.
    #[arg(long, value_name = "N")]
    frames: Option<u64>,
    /// Stop after SECS seconds: TEARDOWN and exit 0.
    #[arg(long, value_name = "SECS")]
    duration: Option<f64>,
    /// Append every received frame to FILE (`.Mjpeg`: lab format with 5-digit length
    /// prefixes; anything else: concatenated JPEG).
    #[arg(long, value_name = "FILE")]
    record: Option<PathBuf>,
    /// No window (the only mode for now).
    #[arg(long)]
    headless: bool,
    /// Wait for commands on stdin instead of setting up and playing at once.
    #[arg(long)]
    interactive: bool,
    /// No progress or state messages (errors still go to stderr).
    #[arg(long, short)]
    quiet: bool,
    /// More logging (-v: debug, -vv: trace); RUST_LOG overrides.
    #[arg(long, short, action = clap::ArgAction::Count)]
    verbose: u8,
}

/// What to play.
enum Target {
    Url(String),
    Lab {
        host: String,
        port: u16,
        rtp_port: u16,
        file: String,
    },
}

fn parse_target(args: &Args) -> Result<Target, String> {
    match args.target.as_slice() {
        [url] => Ok(Target::Url(url.clone())),
        [host, port, rtp, file] => {
            let port = port
                .parse()
                .map_err(|_| format!("RTSP_PORT {port:?} is not a port number"))?;
            let rtp_port = rtp
                .parse()
                .map_err(|_| format!("RTP_PORT {rtp:?} is not a port number"))?;
            Ok(Target::Lab {
                host: host.clone(),
                port,
                rtp_port,
                file: file.clone(),
            })
        }
        other => Err(format!(
            "expected a URL or HOST RTSP_PORT RTP_PORT FILE, got {} argument(s)",
            other.len()
        )),
    }
}

fn init_logging(verbose: u8) {
    let default = match verbose {
        0 => "warn",
        1 => "debug",
        _ => "trace",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
}

fn fail(msg: impl std::fmt::Display) -> ExitCode {
    eprintln!("client-std: error: {msg}");
    ExitCode::from(1)
}

fn main() -> ExitCode {
    let args = Args::parse();
    init_logging(args.verbose);
    match run(args) {
        Ok(code) => ExitCode::from(code),
        Err(msg) => fail(msg),
    }
}

/// Binds the RTP/RTCP pair. The lab form's RTP port is taken as given; its RTCP socket is the
/// next port when free, else any.
fn bind_media(
    ip: IpAddr,
    rtp_port: Option<u16>,
    lab: bool,
) -> Result<(UdpSocket, UdpSocket), String> {
    match rtp_port {
        None => bind_udp_pair(ip).map_err(|e| format!("cannot bind UDP ports: {e}")),
        Some(p) if lab => {
            let rtp =
                UdpSocket::bind((ip, p)).map_err(|e| format!("cannot bind RTP port {p}: {e}"))?;
            let rtcp = p
                .checked_add(1)
                .and_then(|q| UdpSocket::bind((ip, q)).ok())
                .map_or_else(|| UdpSocket::bind((ip, 0)), Ok)
                .map_err(|e| format!("cannot bind an RTCP port: {e}"))?;
            Ok((rtp, rtcp))
        }
        Some(p) => bind_udp_pair_at(ip, p)
            .map_err(|e| format!("cannot bind UDP ports {p}-{}: {e}", p.saturating_add(1))),
    }
}

fn run(args: Args) -> Result<u8, String> {
    let target = parse_target(&args)?;
    let seed = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(1)
        ^ u64::from(std::process::id());
    let (mut config, lab_rtp) = match &target {
        Target::Url(url) => (ClientConfig::new(url.clone()), None),
        Target::Lab {
            host,
            port,
            rtp_port,
            file,
        } => {
            let host = if host.contains(':') && !host.starts_with('[') {
                format!("[{host}]")
            } else {
                host.clone()
            };
            (
                ClientConfig::lab(format!("{host}:{port}"), file.clone()),
                Some(*rtp_port),
            )
        }
    };
    config.seed = seed;
    let dialect = config.dialect;
    if dialect == Dialect::Lab && args.transport == TransportArg::Tcp {
        return Err("the lab form supports only --transport udp".into());
    }
    let client = Client::new(config, Instant::now()).map_err(|e| e.to_string())?;
    let (host, port) = client.server();
    let (host, port) = (host.to_string(), port);
    let addrs: Vec<SocketAddr> = (host.trim_start_matches('[').trim_end_matches(']'), port)
        .to_socket_addrs()
        .map_err(|e| format!("cannot resolve {host}: {e}"))?
        .collect();

    let mut recorder = match &args.record {
        Some(path) => Some(
            Recorder::create(path).map_err(|e| format!("cannot create {}: {e}", path.display()))?,
        ),
        None => None,
    };

    let quiet = args.quiet;
    let pcfg = PlayerConfig {
        dialect,
        auto_play: !args.interactive,
        transport: TransportChoice::Tcp,
        max_frames: args.frames,
        duration: args.duration.map(Duration::from_secs_f64),
        progress: !quiet,
        teardown_wait: Duration::from_secs(3),
    };
    let mut rt = Runtime::new(Player::new(client, pcfg)).map_err(|e| e.to_string())?;

    // Connect first (a clear error when refused), then bind the media ports.
    let mut connect_err = None;
    let mut connected = None;
    for addr in &addrs {
        match rt.connect_tcp(*addr) {
            Ok(_) => {
                connected = Some(*addr);
                break;
            }
            Err(e) => connect_err = Some(e),
        }
    }
    let Some(addr) = connected else {
        let e = connect_err.map_or_else(|| "no address".to_string(), |e| e.to_string());
        return Err(format!("cannot connect to {host}:{port}: {e}"));
    };
    let transport = match args.transport {
        TransportArg::Udp => {
            let ip: IpAddr = if addr.is_ipv4() {
                Ipv4Addr::UNSPECIFIED.into()
            } else {
                Ipv6Addr::UNSPECIFIED.into()
            };
            let (rtp, rtcp) = bind_media(ip, args.rtp_port.or(lab_rtp), lab_rtp.is_some())?;
            TransportChoice::Udp {
                rtp_local: rt.udp_socket(rtp).map_err(|e| e.to_string())?,
                rtcp_local: rt.udp_socket(rtcp).map_err(|e| e.to_string())?,
            }
        }
        TransportArg::Tcp => TransportChoice::Tcp,
    };
    rt.machine_mut().set_transport(transport);
    rt.machine_mut().start();
    if !quiet {
        eprintln!(
            "client-std: {} {} on {addr} via {}",
            if dialect == Dialect::Lab {
                "lab dialect: requesting"
            } else {
                "connected for"
            },
            rt.machine().client().request_url(),
            match transport {
                TransportChoice::Udp { rtp_local, .. } =>
                    format!("UDP (RTP port {})", rtp_local.port()),
                TransportChoice::Tcp => "TCP interleaved".into(),
            }
        );
        if args.interactive {
            eprintln!("client-std: commands: setup, play, pause, teardown, stats, quit");
        }
    }

    let handle = rt.handle();
    // Ctrl-C: TEARDOWN and exit 0; a second Ctrl-C exits at once.
    let interrupted = Arc::new(AtomicBool::new(false));
    {
        let handle = handle.clone();
        let interrupted = interrupted.clone();
        ctrlc::set_handler(move || {
            if interrupted.swap(true, Ordering::SeqCst) {
                std::process::exit(130);
            }
            handle.command(|p: &mut Player| p.quit(0));
        })
        .map_err(|e| format!("cannot install the Ctrl-C handler: {e}"))?;
    }
    // Commands from stdin, one per line.
    {
        let handle = handle.clone();
        std::thread::Builder::new()
            .name("stdin".into())
            .spawn(move || {
                let stdin = std::io::stdin();
                for line in stdin.lock().lines() {
                    let Ok(line) = line else { break };
                    if !handle.command(move |p: &mut Player| p.command(&line)) {
                        break;
                    }
                }
            })
            .map_err(|e| e.to_string())?;
    }

    let tty = std::io::stderr().is_terminal();
    let mut exit = 1u8;
    let mut record_error = None;
    let player = rt
        .run(|_p, ev| {
            match ev {
                PlayerEvent::Frame(data) => {
                    if let Some(rec) = recorder.as_mut() {
                        if let Err(e) = rec.write(&data) {
                            record_error = Some(e.to_string());
                            recorder = None;
                        }
                    }
                }
                PlayerEvent::Progress(p) => {
                    if tty {
                        eprint!("\r{p}  ");
                    } else {
                        eprintln!("{p}");
                    }
                }
                PlayerEvent::Stats(s) => {
                    let _ = writeln!(
                        std::io::stdout(),
                        "stats: packets {} bytes {} frames {} dropped {} lost {} ({:.2}%) jitter {:.2} ms duplicates {} reordered {}",
                        s.packets,
                        s.bytes,
                        s.frames,
                        s.frames_dropped,
                        s.lost,
                        s.fraction_lost * 100.0,
                        s.jitter_ms,
                        s.duplicates,
                        s.reordered
                    );
                }
                PlayerEvent::Info(m) => {
                    if !quiet {
                        if tty {
                            eprint!("\r");
                        }
                        eprintln!("client-std: {m}");
                    }
                }
                PlayerEvent::Warn(m) => {
                    if tty && !quiet {
                        eprint!("\r");
                    }
                    eprintln!("client-std: {m}");
                }
                PlayerEvent::Done { code } => {
                    exit = u8::try_from(code).unwrap_or(1);
                    return Flow::Stop;
                }
            }
            Flow::Continue
        })
        .map_err(|e| e.to_string())?;

    if let Some(rec) = recorder {
        let written = rec.written;
        let skipped = rec.skipped;
        let format = rec.format();
        match rec.finish() {
            Ok(path) => {
                if !quiet {
                    eprintln!(
                        "client-std: recorded {written} frame(s) to {} ({})",
                        path.display(),
                        match format {
                            RecordFormat::Lab => "lab format",
                            RecordFormat::Concatenated => "concatenated JPEG",
                        }
                    );
                }
                if skipped > 0 {
                    eprintln!("client-std: {skipped} frame(s) over 99999 bytes not recorded (lab format limit)");
                }
            }
            Err(e) => record_error = Some(e.to_string()),
        }
    }
    if let Some(e) = record_error {
        eprintln!("client-std: error: recording failed: {e}");
        exit = exit.max(1);
    }
    if !quiet {
        let secs = player.elapsed().as_secs_f64();
        let s = player.client().stats();
        eprintln!(
            "client-std: {} frame(s) in {:.1} s ({:.1} fps), {} packet(s) lost",
            player.frames(),
            secs,
            if secs > 0.0 {
                player.frames() as f64 / secs
            } else {
                0.0
            },
            s.lost.max(0)
        );
    }
    Ok(exit)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Target, String> {
        let a = Args::try_parse_from(std::iter::once("client-std").chain(args.iter().copied()))
            .map_err(|e| e.to_string())?;
        parse_target(&a)
    }

    #[test]
    fn url_and_lab_forms() {
        assert!(matches!(parse(&["rtsp://h/x"]), Ok(Target::Url(u)) if u == "rtsp://h/x"));
        match parse(&["127.0.0.1", "8554", "25000", "movie.Mjpeg"]).unwrap() {
            Target::Lab {
                host,
                port,
                rtp_port,
                file,
            } => assert_eq!(
                (host.as_str(), port, rtp_port, file.as_str()),
                ("127.0.0.1", 8554, 25000, "movie.Mjpeg")
            ),
            Target::Url(_) => panic!("lab form expected"),
        }
        assert!(parse(&["a", "b"]).is_err());
        assert!(parse(&["h", "port", "25000", "f"]).is_err());
        assert!(parse(&["a", "b", "c", "d", "e"]).is_err());
    }

    #[test]
    fn options() {
        let a = Args::try_parse_from([
            "client-std",
            "rtsp://h/x",
            "--transport",
            "tcp",
            "--frames",
            "10",
            "--duration",
            "2.5",
            "--record",
            "out.Mjpeg",
            "--headless",
            "--interactive",
            "--quiet",
            "--rtp-port",
            "5000",
        ])
        .unwrap();
        assert_eq!(a.transport, TransportArg::Tcp);
        assert_eq!(
            (a.frames, a.duration, a.rtp_port),
            (Some(10), Some(2.5), Some(5000))
        );
        assert!(a.headless && a.interactive && a.quiet);
        assert!(Args::try_parse_from(["client-std", "rtsp://h/x", "--transport", "sctp"]).is_err());
    }
}
