//! client-std: an RTSP/MJPEG player on the blocking runtime (runtime-std), with a window
//! (minifb) when a display exists, else headless.
//!
//! ```text
//! client-std rtsp://[USER:PASS@]HOST:PORT/NAME [--transport udp|tcp|auto] [--seek SECS]
//!            [--frames N] [--duration SECS] [--record FILE] [--no-media-timeout SECS]
//!            [--headless] [--stats] [-v]
//! client-std HOST RTSP_PORT RTP_PORT FILE        # the course lab's form and dialect
//! client-std http://[USER:PASS@]HOST[:PORT]/PATH  # MJPEG over HTTP, or a JPEG snapshot
//! ```
//!
//! `http://` URLs are played by [`http`] (runtime-std's HTTP source); everything below is
//! about RTSP unless it says otherwise.
//!
//! Without `--interactive` it sets up and plays at once (DESCRIBE → SETUP → PLAY; lab:
//! SETUP → PLAY). Commands on standard input, one per line, are always accepted: `setup`,
//! `play`, `pause`, `toggle`, `teardown`, `stats`, `quit`; the window has buttons and keys for
//! them. Progress goes to stderr about once per second (headless). Ctrl-C, SIGTERM or SIGHUP
//! (or `quit`, `--frames`, `--duration`, the end of a non-looping stream, closing the window)
//! sends TEARDOWN, waits briefly for the reply, finishes the recording, prints the statistics
//! and exits 0. The end of the stream is the source's RTCP BYE, or — for servers that send
//! none, like the lab's — no frame for `--no-media-timeout` after frames came. A refused
//! connection, a failed request or a stream that never gives a frame within
//! `--no-media-timeout` exits 1 with the reason; usage errors exit 2. A 301/302 redirect is
//! followed once. The RTP socket asks for a 4 MiB receive buffer (said when the kernel grants
//! less); datagrams the kernel still dropped are counted in the final statistics.

mod args;
mod clicks;
mod http;
mod inputs;
mod messages;
mod player;
mod record;
mod sockbuf;
mod summary;
mod window;

use std::io::{IsTerminal, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, ToSocketAddrs, UdpSocket};
use std::process::ExitCode;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use clap::{CommandFactory, Parser};
use rtsp_core::client::{Client, ClientConfig, ClientState, Dialect, Policy, TransportChoice};
use rtsp_core::url::RtspUrl;
use runtime_std::{bind_udp_pair, bind_udp_pair_at, Flow, Runtime};

use args::{check_usage, Args, Target, TransportArg};
use inputs::{install_inputs, UserInput};
use player::{Player, PlayerConfig, PlayerEvent};
use record::{RecordFormat, Recorder};
use sockbuf::{DropWatch, RecvBuffer};
use summary::StatsJson;

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
    let target = match check_usage(&args) {
        Ok(t) => t,
        // clap's form and exit code (2) for every usage error.
        Err(msg) => Args::command()
            .error(clap::error::ErrorKind::ValueValidation, msg)
            .exit(),
    };
    init_logging(args.verbose);
    let result = match &target {
        Target::Url(url) if http::is_http(url) => http::run(&args, url),
        _ => run(&args, target),
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(msg) => fail(msg),
    }
}

/// The client's configuration for `target` (the lab form's RTP port too).
fn client_config(args: &Args, target: &Target) -> (ClientConfig, Option<u16>) {
    let (mut config, lab_rtp) = match target {
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
    config.trace_messages = args.verbose > 0;
    config.no_media_timeout =
        (args.no_media_timeout > 0.0).then(|| Duration::from_secs_f64(args.no_media_timeout));
    (config, lab_rtp)
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

/// `--seek SECS` as a position: negative or NaN is the start, too large the end of time.
fn seek_position(secs: f64) -> Duration {
    Duration::try_from_secs_f64(secs.max(0.0)).unwrap_or(Duration::MAX)
}

/// Whether to open a window: not `--headless`, and an X display is named.
fn want_window(args: &Args) -> bool {
    !args.headless && std::env::var_os("DISPLAY").is_some_and(|d| !d.is_empty())
}

/// Turns player events into output: stderr messages, the recording, the window's slots.
struct Sink {
    quiet: bool,
    tty: bool,
    /// Print the RTSP exchange (-v).
    trace: bool,
    /// Headless progress lines.
    progress: bool,
    recorder: Option<Recorder>,
    record_error: Option<String>,
    window: Option<Arc<window::Shared>>,
    /// The RTP socket's kernel drop count, for the `stats` command.
    drops: Option<Arc<DropWatch>>,
    exit: u8,
}

impl Sink {
    fn on_event(&mut self, p: &mut Player, ev: PlayerEvent) -> Flow {
        let flow = match ev {
            PlayerEvent::Frame(data) => {
                let window = self.window.as_ref();
                record::deliver(&mut self.recorder, &mut self.record_error, window, data);
                Flow::Continue
            }
            PlayerEvent::Progress(pr) => {
                if let Some(w) = &self.window {
                    let mut st = w.status.lock().unwrap_or_else(PoisonError::into_inner);
                    st.fps = pr.fps;
                    st.kbps = pr.kbps;
                    st.loss_pct = pr.loss_pct;
                    st.jitter_ms = pr.jitter_ms;
                }
                if self.progress {
                    if self.tty {
                        eprint!("\r{pr}  ");
                    } else {
                        eprintln!("{pr}");
                    }
                }
                Flow::Continue
            }
            PlayerEvent::Stats(s) => {
                let socket = self
                    .drops
                    .as_ref()
                    .and_then(|w| w.drops())
                    .map_or_else(String::new, |d| format!(" socket-drops {d}"));
                let _ = writeln!(
                    std::io::stdout(),
                    "stats: packets {} bytes {} frames {} dropped {} lost {} ({:.2}%) jitter {:.2} ms duplicates {} reordered {}{socket}",
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
                Flow::Continue
            }
            PlayerEvent::Info(m) => {
                if !self.quiet {
                    if self.tty && self.progress {
                        eprint!("\r");
                    }
                    eprintln!("client-std: {m}");
                }
                Flow::Continue
            }
            PlayerEvent::Warn(m) => {
                if self.tty && self.progress && !self.quiet {
                    eprint!("\r");
                }
                eprintln!("client-std: {m}");
                Flow::Continue
            }
            PlayerEvent::Failure(m) => {
                if self.tty && self.progress && !self.quiet {
                    eprint!("\r");
                }
                eprintln!("client-std: error: {m}");
                if let Some(w) = &self.window {
                    w.status
                        .lock()
                        .unwrap_or_else(PoisonError::into_inner)
                        .message = Some(m);
                }
                Flow::Continue
            }
            PlayerEvent::Trace { outgoing, text } => {
                if self.trace {
                    let arrow = if outgoing { "C->S" } else { "S->C" };
                    let mut out = format!("client-std: {arrow}\n");
                    for line in text.trim_end().lines() {
                        out.push_str("    ");
                        out.push_str(line);
                        out.push('\n');
                    }
                    eprint!("{out}");
                }
                Flow::Continue
            }
            PlayerEvent::Done { code } => {
                self.exit = u8::try_from(code).unwrap_or(1);
                Flow::Stop
            }
        };
        if let Some(w) = &self.window {
            let state = window_state(p);
            let mut st = w.status.lock().unwrap_or_else(PoisonError::into_inner);
            if st.state != state {
                st.state = state.to_string();
            }
        }
        flow
    }
}

/// The window's state label.
fn window_state(p: &Player) -> &'static str {
    match (p.client().state(), p.ended()) {
        (ClientState::Playing, true) => "ENDED",
        (ClientState::Init, _) => "INIT",
        (ClientState::Ready, _) if p.paused() => "PAUSED",
        (ClientState::Ready, _) => "READY",
        (ClientState::Playing, false) => "PLAYING",
        (ClientState::Closed, _) => "CLOSED",
    }
}

/// How one connection ended.
struct Outcome {
    code: u8,
    redirect: Option<String>,
    /// The RTP socket's receive buffer and kernel drop count (UDP only).
    socket: Option<(RecvBuffer, Arc<DropWatch>)>,
}

/// The `--record` file, created (truncated).
fn open_recorder(args: &Args) -> Result<Option<Recorder>, String> {
    args.record
        .as_ref()
        .map(|path| {
            Recorder::create(path).map_err(|e| format!("cannot create {}: {e}", path.display()))
        })
        .transpose()
}

/// Finishes the recording and says what it holds. Returns whether recording failed (then the
/// exit code is at least 1); `error` is a failed write's.
fn finish_recording(recorder: Option<Recorder>, error: Option<String>, quiet: bool) -> bool {
    let mut error = error;
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
            Err(e) => error = Some(e.to_string()),
        }
    }
    if let Some(e) = &error {
        eprintln!("client-std: error: recording failed: {e}");
    }
    error.is_some()
}

fn run(args: &Args, target: Target) -> Result<u8, String> {
    let mut recorder = open_recorder(args)?;
    let window = want_window(args).then(window::Shared::new);
    let started = Instant::now();
    let mut redirected = false;
    let mut target = target;
    let (outcome, player, sink) = loop {
        let (outcome, player, mut sink) =
            play_once(args, &target, recorder.take(), window.clone())?;
        recorder = sink.recorder.take();
        match (&outcome.redirect, &target) {
            (Some(location), Target::Url(old)) if !redirected => {
                redirected = true;
                // Keep the credentials when the new URL is on the same host.
                let next = RtspUrl::parse(old)
                    .and_then(|u| u.join(location))
                    .map_or_else(|_| location.clone(), |u| u.to_string());
                target = Target::Url(next);
            }
            (Some(location), _) => {
                return Err(format!("redirected again (to {location}); not following"));
            }
            (None, _) => break (outcome, player, sink),
        }
    };
    let mut exit = outcome.code;
    let quiet = args.quiet;

    if finish_recording(recorder, sink.record_error, quiet) {
        exit = exit.max(1);
    }
    let s = player.client().stats();
    let socket_drops = outcome.socket.as_ref().and_then(|(_, w)| w.drops());
    // After a failure with nothing received, a "0 frame(s)" line adds nothing.
    if !quiet && (exit == 0 || player.frames() > 0) {
        let from_socket = match (socket_drops, &outcome.socket) {
            (Some(d), Some((buf, _))) if d > 0 => format!(
                " ({d} datagram(s) dropped by this host: the socket's receive buffer of {} bytes was full)",
                buf.granted
            ),
            _ => String::new(),
        };
        eprintln!(
            "client-std: {}, {} packet(s) lost{from_socket}",
            summary::rate(player.frames(), player.elapsed()),
            s.lost.max(0)
        );
    }
    if args.stats {
        let mut json = StatsJson {
            frames_received: player.frames(),
            frames_dropped: s.frames_dropped,
            packets_received: s.packets,
            bytes_received: s.bytes,
            lost: s.lost,
            duplicates: s.duplicates,
            reordered: s.reordered,
            jitter_ms: s.jitter_ms,
            socket_drops: socket_drops.unwrap_or(0),
            mean_bitrate_kbps: summary::kbps(s.bytes, player.playing_time()),
            duration_s: started.elapsed().as_secs_f64(),
            transport: match player.transport() {
                TransportChoice::Udp { .. } => "udp",
                TransportChoice::Tcp => "tcp",
            },
            end_of_stream: player.ended(),
            exit_code: exit,
            ..StatsJson::default()
        };
        json.display(window.as_ref());
        println!("{json}");
    }
    Ok(exit)
}

/// One connection: connect, play until done, return how it ended.
fn play_once(
    args: &Args,
    target: &Target,
    recorder: Option<Recorder>,
    window: Option<Arc<window::Shared>>,
) -> Result<(Outcome, Player, Sink), String> {
    let seed = runtime_std::os_seed().map_err(|e| e.to_string())?;
    let (mut config, lab_rtp) = client_config(args, target);
    config.seed = Some(seed);
    let dialect = config.dialect;
    let client = Client::new(config, Instant::now()).map_err(|e| e.to_string())?;
    let title = client.request_url().to_string();
    let (host, port) = client.server();
    let (host, port) = (host.to_string(), port);
    let addrs: Vec<SocketAddr> = (host.trim_start_matches('[').trim_end_matches(']'), port)
        .to_socket_addrs()
        .map_err(|e| format!("cannot resolve {host}: {e}"))?
        .collect();

    let quiet = args.quiet;
    let pcfg = PlayerConfig {
        policy: Policy {
            tcp_fallback: args.transport == TransportArg::Auto && dialect == Dialect::Standard,
            seek: args.seek.map(seek_position),
            auto_play: !args.interactive,
            ..Policy::new(TransportChoice::Tcp)
        },
        max_frames: args.frames,
        duration: args.duration.map(Duration::from_secs_f64),
        progress: !quiet || window.is_some(),
        exit_on_end: !args.interactive && window.is_none(),
        ..PlayerConfig::new()
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
    let mut socket = None;
    let transport = match args.transport {
        TransportArg::Udp | TransportArg::Auto => {
            let ip: IpAddr = if addr.is_ipv4() {
                Ipv4Addr::UNSPECIFIED.into()
            } else {
                Ipv6Addr::UNSPECIFIED.into()
            };
            let (rtp, rtcp) = bind_media(ip, args.rtp_port.or(lab_rtp), lab_rtp.is_some())?;
            match sockbuf::enlarge(&rtp, args.recv_buffer) {
                Ok(buf) => {
                    if buf.short() && !quiet {
                        eprintln!("client-std: RTP socket: {}", buf.note());
                    }
                    if let Ok(watch) = DropWatch::new(&rtp) {
                        socket = Some((buf, Arc::new(watch)));
                    }
                }
                Err(e) => eprintln!("client-std: cannot size the RTP receive buffer: {e}"),
            }
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
                TransportChoice::Udp { rtp_local, .. } => format!(
                    "UDP (RTP port {}){}",
                    rtp_local.port(),
                    if args.transport == TransportArg::Auto && dialect == Dialect::Standard {
                        ", TCP fallback"
                    } else {
                        ""
                    }
                ),
                TransportChoice::Tcp => "TCP interleaved".into(),
            }
        );
        if args.interactive {
            eprintln!("client-std: commands: setup, play, pause, toggle, teardown, stats, quit");
        }
    }

    let handle = rt.handle();
    install_inputs(Arc::new(move |input| match input {
        UserInput::Quit => {
            handle.command(|p: &mut Player| p.quit(0));
        }
        UserInput::Line(line) => {
            handle.command(move |p: &mut Player| p.command(&line));
        }
    }))?;

    let sink = Sink {
        quiet,
        tty: std::io::stderr().is_terminal(),
        trace: args.verbose > 0,
        progress: !quiet && window.is_none(),
        recorder,
        record_error: None,
        window: window.clone(),
        drops: socket.as_ref().map(|(_, w)| w.clone()),
        exit: 1,
    };
    let (player, sink) = match window {
        None => {
            let mut sink = sink;
            let player = rt
                .run(|p, ev| sink.on_event(p, ev))
                .map_err(|e| e.to_string())?;
            (player, sink)
        }
        Some(shared) => {
            let sink = Arc::new(Mutex::new(sink));
            let decoder = window::spawn_decoder(&shared)?;
            let spawned = {
                let sink = sink.clone();
                let shared = shared.clone();
                rt.spawn(move |p, ev| {
                    let flow = sink
                        .lock()
                        .unwrap_or_else(PoisonError::into_inner)
                        .on_event(p, ev);
                    if flow == Flow::Stop {
                        shared.done.store(true, Ordering::SeqCst);
                    }
                    flow
                })
                .map_err(|e| e.to_string())?
            };
            let handle = spawned.handle().clone();
            let send = move |cmd: &'static str| {
                let _ = handle.command(move |p: &mut Player| p.command(cmd));
            };
            let shown = window::run(&title, &shared, send);
            if let Err(e) = &shown {
                eprintln!("client-std: {e}");
                spawned.handle().command(|p: &mut Player| p.quit(1));
            }
            let player = spawned.join().map_err(|e| e.to_string())?;
            shared.close();
            let _ = decoder.join();
            let sink = Arc::try_unwrap(sink)
                .map_err(|_| "internal: sink still shared".to_string())?
                .into_inner()
                .unwrap_or_else(PoisonError::into_inner);
            (player, sink)
        }
    };
    let outcome = Outcome {
        code: sink.exit,
        redirect: player.redirect().map(str::to_string),
        socket,
    };
    Ok((outcome, player, sink))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::args::parse_target;

    fn parse(args: &[&str]) -> Result<Target, String> {
        let a = Args::try_parse_from(std::iter::once("client-std").chain(args.iter().copied()))
            .map_err(|e| e.to_string())?;
        parse_target(&a)
    }

    #[test]
    fn http_urls_go_to_the_http_player_and_refuse_rtsp_options() {
        assert!(http::is_http("http://h/x") && http::is_http(" HTTPS://h/x"));
        assert!(!http::is_http("rtsp://h/x") && !http::is_http("h"));
        let checked = |args: &[&str]| {
            let a = Args::try_parse_from(std::iter::once("client-std").chain(args.iter().copied()))
                .unwrap();
            check_usage(&a).map(drop)
        };
        assert!(checked(&["http://u:p@h:8080/cam/stream.mjpg", "--frames", "3"]).is_ok());
        for (args, want) in [
            (&["https://h/x"][..], "no TLS"),
            (&["http://h:0/x"], "port"),
            (
                &["http://h/x", "--rtp-port", "5000"],
                "--rtp-port applies to rtsp://",
            ),
            (&["http://h/x", "--interactive"], "--interactive"),
        ] {
            let e = checked(args).expect_err("a usage error");
            assert!(e.contains(want), "{args:?}: {e}");
        }
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
            "--seek",
            "12.5",
            "--stats",
            "--rtp-port",
            "5000",
        ])
        .unwrap();
        assert_eq!(a.transport, TransportArg::Tcp);
        assert_eq!(
            (a.frames, a.duration, a.rtp_port),
            (Some(10), Some(2.5), Some(5000))
        );
        assert!(a.headless && a.interactive && a.quiet && a.stats);
        assert_eq!(a.seek, Some(12.5));
        let d = Args::try_parse_from(["client-std", "rtsp://h/x"]).unwrap();
        assert_eq!(d.transport, TransportArg::Auto);
        let t = Args::try_parse_from(["client-std", "rtsp://h/x", "--transport", "auto"]).unwrap();
        assert_eq!(t.transport, TransportArg::Auto);
        assert!(Args::try_parse_from(["client-std", "rtsp://h/x", "--transport", "sctp"]).is_err());
        assert_eq!(d.no_media_timeout, 10.0);
    }

    /// Every usage error is clap's (exit code 2): bad values, and the checks clap cannot make.
    #[test]
    fn usage_errors() {
        for bad in [
            &["rtsp://h/x", "--frames", "0"][..],
            &["rtsp://h/x", "--duration", "0"],
            &["rtsp://h/x", "--duration", "nan"],
            &["rtsp://h/x", "--no-media-timeout", "inf"],
            &["rtsp://h/x", "--no-media-timeout", "x"],
        ] {
            let e = Args::try_parse_from(std::iter::once("client-std").chain(bad.iter().copied()))
                .expect_err("refused");
            assert_eq!(e.exit_code(), 2, "{bad:?}");
        }
        let checked = |args: &[&str]| {
            let a = Args::try_parse_from(std::iter::once("client-std").chain(args.iter().copied()))
                .unwrap();
            check_usage(&a).map(drop)
        };
        assert!(checked(&["rtsp://h/x"]).is_ok());
        assert!(checked(&["h", "8554", "25000", "movie.Mjpeg"]).is_ok());
        for (args, want) in [
            (&["ftp://h/x"][..], "invalid URL"),
            (&["rtsp://h:0/x"], "port 0"),
            (&["h", "0", "25000", "f"], "RTSP_PORT \"0\""),
            (&["h", "8554", "70000", "f"], "RTP_PORT \"70000\""),
            (
                &["h", "8554", "25000", "f", "--transport", "tcp"],
                "only --transport udp",
            ),
            (&["a", "b", "c"], "expected a URL"),
        ] {
            let e = checked(args).expect_err("a usage error");
            assert!(e.contains(want), "{args:?}: {e}");
            assert!(!e.contains('\\'), "{e}");
        }
        let a =
            Args::try_parse_from(["client-std", "rtsp://h/x", "--no-media-timeout", "0"]).unwrap();
        let (cfg, _) = client_config(&a, &Target::Url("rtsp://h/x".into()));
        assert_eq!(cfg.no_media_timeout, None, "0 turns the watch off");
    }
}
