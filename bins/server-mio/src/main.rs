//! server-mio: the RTSP/MJPEG server on one mio event loop (runtime-mio).
//!
//! ```text
//! server-mio [PORT]                      # lab form: server-mio 8554
//! server-mio --port 8554 --bind 0.0.0.0 --media DIR [--loop] [--session-timeout SECS] [--mtu BYTES]
//! ```
//!
//! Serves every MJPEG file below the media root (named by its relative path) and the built-in
//! `sample` test pattern. Ctrl-C ends every session (RTCP BYE) and exits 0.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use clap::Parser;
use rtsp_core::server::{Catalog, Server, ServerConfig, MIN_MTU};
use runtime_mio::media::FsCatalog;
use runtime_mio::{Runtime, ServerOptions};

/// RTSP/MJPEG streaming server (mio event loop).
///
/// Streams every MJPEG file under the media root (lab `.Mjpeg` or concatenated JPEG), named by
/// its path relative to the root, plus a built-in test pattern named `sample`.
#[derive(Debug, Parser)]
#[command(name = "server-mio", version)]
struct Args {
    /// RTSP port (the lab's form: `server-mio 8554`); same as --port.
    #[arg(value_name = "PORT", conflicts_with = "port")]
    lab_port: Option<u16>,
    /// RTSP port.
    #[arg(long, default_value_t = 8554)]
    port: u16,
    /// Address to listen on (RTSP over TCP, RTP/RTCP over UDP).
    #[arg(long, default_value_t = IpAddr::V4(Ipv4Addr::UNSPECIFIED))]
    bind: IpAddr,
    /// Media root: files below it are served, nothing outside it.
    #[arg(long, value_name = "DIR", default_value = ".")]
    media: PathBuf,
    /// Loop every stream at its end (instead of ending with RTCP BYE).
    #[arg(long = "loop")]
    loop_media: bool,
    /// Reap sessions silent for this many seconds.
    #[arg(long, value_name = "SECS", default_value_t = 60)]
    session_timeout: u64,
    /// Largest RTP datagram (IP payload: UDP header + RTP packet), bytes.
    #[arg(long, value_name = "BYTES", default_value_t = 1400)]
    mtu: usize,
    /// Frame rate of files (MJPEG files record none).
    #[arg(long, value_name = "FPS", default_value_t = runtime_mio::media::DEFAULT_FILE_FPS)]
    fps: f64,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    match run(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(msg) => {
            eprintln!("server-mio: error: {msg}");
            ExitCode::from(1)
        }
    }
}

fn run(args: Args) -> Result<(), String> {
    let port = args.lab_port.unwrap_or(args.port);
    if args.mtu < MIN_MTU || args.mtu > 65_507 {
        return Err(format!("--mtu must be between {MIN_MTU} and 65507"));
    }
    if args.session_timeout == 0 {
        return Err("--session-timeout must be at least 1 second".into());
    }
    if !(args.fps.is_finite() && args.fps > 0.0 && args.fps <= 1000.0) {
        return Err("--fps must be in (0, 1000]".into());
    }
    let started = Instant::now();
    let catalog = FsCatalog::new(&args.media)
        .map_err(|e| e.to_string())?
        .with_mtu(args.mtu)
        .with_fps(args.fps)
        .with_sample()
        .map_err(|e| e.to_string())?;
    tracing::debug!(elapsed = ?started.elapsed(), "built-in sample generated");
    let root = catalog.root().to_path_buf();
    let names = catalog.names();

    let mut opts = ServerOptions::new(SocketAddr::new(args.bind, port), Box::new(catalog));
    opts.config = ServerConfig {
        session_timeout: Duration::from_secs(args.session_timeout),
        mtu: args.mtu,
        loop_media: args.loop_media,
        ..ServerConfig::default()
    };
    let bound = opts.bind().map_err(|e| match e.kind() {
        std::io::ErrorKind::AddrInUse => format!(
            "cannot listen on {}: port {port} is already in use (another server running? try --port)",
            SocketAddr::new(args.bind, port)
        ),
        std::io::ErrorKind::PermissionDenied => format!(
            "cannot listen on {}: permission denied (ports below 1024 need privileges)",
            SocketAddr::new(args.bind, port)
        ),
        _ => format!("cannot listen on {}: {e}", SocketAddr::new(args.bind, port)),
    })?;
    let local = bound.listener.local_addr().map_err(|e| e.to_string())?;
    let rtp = bound.rtp.local_addr().map_err(|e| e.to_string())?;
    let on_event = runtime_std::server_event_handler(bound.on_event);

    let mut rt = Runtime::new(bound.server).map_err(|e| e.to_string())?;
    rt.tcp_listener(bound.listener).map_err(|e| e.to_string())?;
    rt.udp_socket(bound.rtp).map_err(|e| e.to_string())?;
    rt.udp_socket(bound.rtcp).map_err(|e| e.to_string())?;

    // Ctrl-C: end every session (RTCP BYE), then stop; a second Ctrl-C exits at once.
    let handle = rt.handle();
    let interrupted = AtomicBool::new(false);
    ctrlc::set_handler(move || {
        if interrupted.swap(true, Ordering::SeqCst) {
            std::process::exit(130);
        }
        tracing::info!("interrupted: ending sessions");
        handle.command(|s: &mut Server| s.shutdown(Instant::now()));
        handle.stop();
    })
    .map_err(|e| format!("cannot install the Ctrl-C handler: {e}"))?;

    let host = if args.bind.is_unspecified() {
        match args.bind {
            IpAddr::V4(_) => "127.0.0.1".to_string(),
            IpAddr::V6(_) => "[::1]".to_string(),
        }
    } else {
        match args.bind {
            IpAddr::V4(ip) => ip.to_string(),
            IpAddr::V6(ip) => format!("[{ip}]"),
        }
    };
    let port = local.port();
    println!(
        "server-mio: RTSP on {local}, RTP/RTCP on UDP {}-{}, media root {}",
        rtp.port(),
        rtp.port() + 1,
        root.display()
    );
    println!("streams:");
    for name in &names {
        println!("  rtsp://{host}:{port}/{name}");
    }
    println!("try:  ffplay rtsp://{host}:{port}/sample");
    println!("      client-std rtsp://{host}:{port}/sample");
    if let Some(lab) = names.iter().find(|n| n.ends_with(".Mjpeg")) {
        println!("lab:  client-std {host} {port} 25000 {lab}");
    }
    // Make the listing visible at once even when stdout is a pipe.
    let _ = std::io::Write::flush(&mut std::io::stdout());

    rt.run(on_event).map_err(|e| e.to_string())?;
    tracing::info!("server stopped");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lab_port_and_flags_parse() {
        let a = Args::try_parse_from(["server-mio", "9000"]).unwrap();
        assert_eq!(a.lab_port, Some(9000));
        let a = Args::try_parse_from(["server-mio", "--port", "9001", "--loop", "--mtu", "1200"])
            .unwrap();
        assert_eq!(
            (a.lab_port, a.port, a.loop_media, a.mtu),
            (None, 9001, true, 1200)
        );
        assert!(Args::try_parse_from(["server-mio", "9000", "--port", "9001"]).is_err());
        let a = Args::try_parse_from(["server-mio"]).unwrap();
        assert_eq!(a.port, 8554);
        assert_eq!(a.bind, IpAddr::V4(Ipv4Addr::UNSPECIFIED));
        assert_eq!(a.media, PathBuf::from("."));
    }
}
