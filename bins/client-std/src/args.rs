//! The command line: [`Args`] (clap), its value parsers, and what it asks to play
//! ([`Target`]: an `rtsp://` or `http://` URL, or the course lab's form), checked once.

use std::path::PathBuf;

use clap::{Parser, ValueEnum};
use rtsp_core::client::Dialect;

/// How media reaches the client.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum TransportArg {
    /// RTP/RTCP over UDP (an even/odd local port pair).
    Udp,
    /// RTP/RTCP interleaved in the RTSP TCP connection.
    Tcp,
    /// UDP, falling back to TCP when SETUP answers 461 or no RTP arrives within 3 s.
    Auto,
}

/// RTSP/MJPEG player.
///
/// Plays `rtsp://[USER:PASS@]HOST:PORT/NAME` in a window (or headless without a display or with
/// --headless), or in the course lab's form HOST RTSP_PORT RTP_PORT FILE (lab dialect, RTP on
/// the given UDP port). Window keys: s setup, p play, space play/pause, t teardown, q quit.
/// Commands on stdin, one per line: setup, play, pause, toggle, teardown, stats, quit.
#[derive(Debug, Parser)]
#[command(name = "client-std", version)]
pub(crate) struct Args {
    /// `rtsp://[USER:PASS@]HOST[:PORT]/NAME`, `http://[USER:PASS@]HOST[:PORT]/PATH` (MJPEG
    /// over HTTP, or a JPEG snapshot polled every second), or the lab form
    /// `HOST RTSP_PORT RTP_PORT FILE`.
    #[arg(required = true, num_args = 1..=4, value_name = "URL | HOST RTSP_PORT RTP_PORT FILE")]
    pub(crate) target: Vec<String>,
    /// Media transport (the lab form: UDP only).
    #[arg(long, value_enum, default_value_t = TransportArg::Auto)]
    pub(crate) transport: TransportArg,
    /// Local RTP port (RTCP uses the next one). Default: an ephemeral even/odd pair.
    #[arg(long, value_name = "N")]
    pub(crate) rtp_port: Option<u16>,
    /// Start playing at SECS (PLAY with `Range: npt=SECS-`).
    #[arg(long, value_name = "SECS")]
    pub(crate) seek: Option<f64>,
    /// Stop after N frames (N >= 1): TEARDOWN and exit 0.
    #[arg(long, value_name = "N", value_parser = frame_count)]
    pub(crate) frames: Option<u64>,
    /// Stop after SECS seconds: TEARDOWN and exit 0.
    #[arg(long, value_name = "SECS", value_parser = positive_secs)]
    pub(crate) duration: Option<f64>,
    /// Write every received frame to FILE, overwriting it (`.Mjpeg`: lab format with 5-digit
    /// length prefixes; anything else: concatenated JPEG). Frames are written whole: even a
    /// killed client leaves a file whose frames play.
    #[arg(long, value_name = "FILE")]
    pub(crate) record: Option<PathBuf>,
    /// While playing, wait at most SECS for a frame (0: forever). With no frame at all, exit 1
    /// and say why; after frames, take it as the end of the stream (the lab server sends no
    /// end-of-stream message).
    #[arg(long, value_name = "SECS", default_value_t = 10.0, value_parser = non_negative_secs)]
    pub(crate) no_media_timeout: f64,
    /// Receive buffer to ask for on the RTP socket, in bytes (the kernel may grant less, up to
    /// net.core.rmem_max: said at the start). Large frames over UDP arrive as bursts of
    /// datagrams: a small buffer drops some (the final line counts them).
    #[arg(long, value_name = "BYTES", default_value_t = crate::sockbuf::WANTED)]
    pub(crate) recv_buffer: usize,
    /// No window, even when a display exists (DISPLAY set).
    #[arg(long)]
    pub(crate) headless: bool,
    /// Wait for commands (stdin, buttons) instead of setting up and playing at once; stay at
    /// the end of the stream.
    #[arg(long)]
    pub(crate) interactive: bool,
    /// Print one JSON line of statistics on stdout at the end.
    #[arg(long)]
    pub(crate) stats: bool,
    /// No progress or state messages (errors still go to stderr).
    #[arg(long, short)]
    pub(crate) quiet: bool,
    /// More logging: -v prints the RTSP exchange and debug logs, -vv trace logs; RUST_LOG
    /// overrides the log filter.
    #[arg(long, short, action = clap::ArgAction::Count)]
    pub(crate) verbose: u8,
}

/// N >= 1.
pub(crate) fn frame_count(s: &str) -> Result<u64, String> {
    match s.trim().parse::<u64>() {
        Ok(n) if n >= 1 => Ok(n),
        Ok(_) => Err("--frames 0 would stop before the first frame: give 1 or more".into()),
        Err(_) => Err(format!("\"{s}\" is not a number of frames")),
    }
}

/// SECS > 0 (finite).
pub(crate) fn positive_secs(s: &str) -> Result<f64, String> {
    match s.trim().parse::<f64>() {
        Ok(v) if v.is_finite() && v > 0.0 && v < 1e9 => Ok(v),
        _ => Err(format!("\"{s}\" is not a positive number of seconds")),
    }
}

/// SECS >= 0 (finite).
pub(crate) fn non_negative_secs(s: &str) -> Result<f64, String> {
    match s.trim().parse::<f64>() {
        Ok(v) if (0.0..1e9).contains(&v) => Ok(v),
        _ => Err(format!("\"{s}\" is not a number of seconds (0 or more)")),
    }
}

/// What to play.
pub(crate) enum Target {
    Url(String),
    Lab {
        host: String,
        port: u16,
        rtp_port: u16,
        file: String,
    },
}

pub(crate) fn parse_target(args: &Args) -> Result<Target, String> {
    match args.target.as_slice() {
        [url] => Ok(Target::Url(url.clone())),
        [host, port, rtp, file] => {
            let port =
                port.parse().ok().filter(|&p: &u16| p != 0).ok_or_else(|| {
                    format!("RTSP_PORT \"{port}\" is not a port number (1-65535)")
                })?;
            let rtp_port = rtp
                .parse()
                .ok()
                .filter(|&p: &u16| p != 0)
                .ok_or_else(|| format!("RTP_PORT \"{rtp}\" is not a port number (1-65535)"))?;
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

/// The checks clap cannot make: the target's form, and options that do not fit it.
pub(crate) fn check_usage(args: &Args) -> Result<Target, String> {
    let target = parse_target(args)?;
    if let Target::Url(url) = &target {
        if crate::http::is_http(url) {
            crate::http::check_usage(args, url)?;
            return Ok(target);
        }
    }
    let (config, _) = crate::client_config(args, &target);
    if config.dialect == Dialect::Lab && args.transport == TransportArg::Tcp {
        return Err("the lab form supports only --transport udp".into());
    }
    rtsp_core::client::Client::new(config, std::time::Instant::now()).map_err(|e| e.to_string())?;
    Ok(target)
}
