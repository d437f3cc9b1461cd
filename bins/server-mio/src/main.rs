//! server-mio: the RTSP/MJPEG server on one mio event loop (runtime-mio).
//!
//! ```text
//! server-mio [PORT]                      # lab form: server-mio 8554
//! server-mio --port 8554 --bind 0.0.0.0 --media DIR [--loop] [--session-timeout SECS] [--mtu BYTES]
//!            [--max-connections N] [--max-connections-per-ip N] [--max-sessions N]
//!            [--request-timeout SECS] [--idle-timeout SECS] [--max-line B] [--max-headers N]
//!            [--max-head B] [--max-body B] [--max-interleaved B] [--max-pending-output B]
//!            [--max-session-rate B/s] [--lab-max-packet B]
//!            [--user NAME:PASSWORD]... [--auth digest,basic] [--realm REALM]
//!            [--publish NAME]... [--publish-replace]
//!            [--threads N] [--no-transcode] [--preload] [--no-gso]
//!            [--media-cache-mb N] [--max-file-mb N] [--load-threads N]
//!            [--config FILE] [--check-config]
//! ```
//!
//! `--config FILE` reads a TOML file ([`config`]; `server.example.toml` beside this crate's
//! `Cargo.toml` shows every key): `[server]` holds any flag as a key of the same name in
//! snake_case, `[users]` the users, `[paths.NAME]` configured streams and their sources. A
//! flag given on the command line wins over the file, the file over the defaults; a bad file
//! is refused with `FILE:LINE:COL: reason` and status 2, like a bad flag. `--check-config`
//! prints the effective configuration (passwords hidden) and exits 0. Pulled paths
//! (`rtsp://`, `http://`, `exec:`) run in a [`LiveHub`] and publisher paths take ANNOUNCE +
//! RECORD; `file` paths are served by the catalog from their file or directory, at their own
//! `fps`, looping or not as their `loop` says ([`FilePath`]). A `status` line
//! ([`status`]) says, when they change, the sessions, connections and live readers.
//!
//! `--threads N` (default: the number of cores) runs N event loops
//! ([`runtime_mio::ServerLoops`]), each with its own `Server` machine, its own RTP/RTCP socket
//! pair and its own listening socket on the same port (`SO_REUSEPORT`: the kernel spreads
//! connections over the loops). Media are loaded once and shared by every loop. A session
//! lives in the loop of the connection that set it up: a client that sends PLAY on another
//! connection than SETUP may reach another loop and get 454 (every common client keeps one
//! connection); the limits apply per loop. The port is never shared with another program:
//! when anything listens on it already, server-mio exits with status 1 and says so, whatever
//! `--threads`. This binary holds the arguments, the logging and the wiring.
//!
//! Files are loaded on `--load-threads` loader threads, never on an event loop: a DESCRIBE
//! waits (on its connection) for its file while the other sessions go on. At most that many
//! distinct files load at once (more: 503); failures are remembered until the file changes;
//! loaded streams are kept up to `--media-cache-mb`, least recently used evicted first.
//!
//! `--bind` defaults to `0.0.0.0` (every IPv4 interface); use `--bind 127.0.0.1` to serve
//! this machine only.
//!
//! Serves every MJPEG file below the media root (named by its relative path) and the built-in
//! `sample` test pattern. Ctrl-C ends every session (RTCP BYE) and exits 0.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use clap::parser::ValueSource;
use clap::{CommandFactory, FromArgMatches};
use mjpeg::transcode::TranscodeOptions;
use rtsp_core::auth::Credentials;
use rtsp_core::message::Limits;
use rtsp_core::server::{AuthConfig, Catalog, HttpConfig, ServerConfig, SharedCounts};
use runtime_mio::live::LiveHub;
use runtime_mio::media::{
    FilePath, FsCatalog, DEFAULT_CACHE_BUDGET, DEFAULT_LOAD_THREADS, DEFAULT_MAX_FILE_SIZE,
};
use runtime_mio::{LoopsError, LoopsOptions, ServerLoops, SharedCatalog};

use config::{AuthScheme, Config, PathConfig, Source};

mod checks;
mod config;
mod live;
mod status;

/// How long `--preload` waits for one file.
const PRELOAD_WAIT: Duration = Duration::from_secs(600);

/// RTSP/MJPEG streaming server (mio event loop).
///
/// Streams every MJPEG file under the media root (lab `.Mjpeg` or concatenated JPEG), named by
/// its path relative to the root, plus a built-in test pattern named `sample`.
#[derive(Debug, clap::Parser)]
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
    #[arg(long, value_name = "SECS", default_value_t = 60,
          value_parser = checks::parsed(checks::seconds))]
    session_timeout: u64,
    /// Largest RTP datagram (IP payload: UDP header + RTP packet), bytes.
    #[arg(long, value_name = "BYTES", default_value_t = 1400,
          value_parser = checks::parsed(checks::mtu))]
    mtu: usize,
    /// Frame rate of files (MJPEG files record none).
    #[arg(long, value_name = "FPS", default_value_t = runtime_mio::media::DEFAULT_FILE_FPS,
          value_parser = checks::parsed(checks::fps))]
    fps: f64,
    #[command(flatten)]
    limits: LimitArgs,
    /// A path clients may publish to (ANNOUNCE + RECORD, e.g. `ffmpeg -f rtsp
    /// rtsp://HOST:PORT/NAME`), repeatable; readers of the path get its frames live.
    #[arg(long = "publish", value_name = "NAME")]
    publish: Vec<String>,
    /// A new publisher of a --publish path replaces the current one (default: refused
    /// with 455 while the path is published).
    #[arg(long)]
    publish_replace: bool,
    /// A user allowed to play, as NAME:PASSWORD (repeatable). With at least one, every
    /// request but OPTIONS must authenticate.
    #[arg(long = "user", value_name = "NAME:PASSWORD", value_parser = parse_user)]
    users: Vec<(String, String)>,
    /// Accepted authentication schemes, comma-separated: digest (MD5 and SHA-256, RFC 7616)
    /// and/or basic (clear-text password: only over trusted networks).
    #[arg(
        long,
        value_name = "SCHEMES",
        value_delimiter = ',',
        default_value = "digest"
    )]
    auth: Vec<AuthScheme>,
    /// Realm shown in authentication challenges.
    #[arg(long, value_name = "REALM", default_value = "rtsp-mjpeg")]
    realm: String,
    /// Event loops (default: the number of cores), each with its own sessions, sharing the
    /// RTSP port (SO_REUSEPORT).
    #[arg(long, value_name = "N", value_parser = checks::parsed(checks::threads))]
    threads: Option<usize>,
    /// Refuse (503 at DESCRIBE) files with frames RTP/JPEG cannot carry instead of
    /// transcoding them at load time.
    #[arg(long)]
    no_transcode: bool,
    /// Load (and transcode) every file under the media root at start instead of at its
    /// first DESCRIBE (within the media cache's budget).
    #[arg(long)]
    preload: bool,
    /// Memory for loaded streams, MiB (least recently used evicted beyond it).
    #[arg(long, value_name = "N", default_value_t = DEFAULT_CACHE_BUDGET >> 20)]
    media_cache_mb: usize,
    /// Largest media file, MiB: larger files are refused (503) without being read.
    #[arg(long, value_name = "N", default_value_t = DEFAULT_MAX_FILE_SIZE >> 20,
          value_parser = checks::parsed(checks::max_file_mb))]
    max_file_mb: u64,
    /// Loader threads (files read and transcoded off the event loops); also the most files
    /// loading at once (more get 503 until one is done).
    #[arg(long, value_name = "N", default_value_t = DEFAULT_LOAD_THREADS,
          value_parser = checks::parsed(checks::load_threads))]
    load_threads: usize,
    /// Print the streams this media root would serve, with their URLs, and exit.
    #[arg(long)]
    list: bool,
    /// Do not use UDP GSO even where the kernel supports it (datagrams are still batched
    /// with sendmmsg).
    #[arg(long)]
    no_gso: bool,
    /// Configuration file (TOML): flags given on the command line win over it, it wins over
    /// the defaults. See server.example.toml.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Check the configuration (flags and --config file), print it as a configuration file
    /// (passwords hidden) and exit.
    #[arg(long, alias = "print-config")]
    check_config: bool,
    /// Serve HTTP on this port too (same address, same event loops): a page with every
    /// stream at `/`, `/NAME/stream.mjpg` (multipart JPEG), `/NAME/snapshot.jpg`,
    /// `/api/streams`, `/api/sessions`, `/metrics`.
    #[arg(long, value_name = "PORT")]
    http: Option<u16>,
    /// A user (of --user) who may kick sessions over HTTP (`POST /api/sessions/ID/kick`);
    /// repeatable.
    #[arg(long = "admin", value_name = "NAME")]
    admins: Vec<String>,
}

fn parse_user(s: &str) -> Result<(String, String), String> {
    match s.split_once(':') {
        Some((name, pass)) if !name.is_empty() && !pass.is_empty() => {
            Ok((name.to_string(), pass.to_string()))
        }
        _ => Err("expected NAME:PASSWORD (both non-empty)".into()),
    }
}

/// Limits against hostile or broken clients (each over-limit event is logged at WARN).
#[derive(Debug, clap::Args)]
#[command(next_help_heading = "Limits")]
struct LimitArgs {
    /// Most control connections at once, over all event loops. When all are open, a new one
    /// takes the place of an idle connection without a session (never one with a session);
    /// with none to close, it is closed at once.
    #[arg(long, value_name = "N", default_value_t = ServerConfig::default().max_connections)]
    max_connections: usize,
    /// Most control connections from one IP address at once (over all event loops).
    #[arg(long, value_name = "N", default_value_t = ServerConfig::default().max_connections_per_ip)]
    max_connections_per_ip: usize,
    /// Seconds a connection without a session may idle while more than half of
    /// --max-connections are open.
    #[arg(long, value_name = "SECS", default_value_t = ServerConfig::default().crowded_idle_timeout.as_secs())]
    crowded_idle_timeout: u64,
    /// Most sessions at once, over all event loops (SETUP beyond it gets 453).
    #[arg(long, value_name = "N", default_value_t = ServerConfig::default().max_sessions)]
    max_sessions: usize,
    /// Most sessions of clients at one IP address (453 beyond).
    #[arg(long, value_name = "N", default_value_t = ServerConfig::default().max_sessions_per_ip)]
    max_sessions_per_ip: usize,
    /// Most sessions one control connection may hold (453 beyond).
    #[arg(long, value_name = "N", default_value_t = ServerConfig::default().max_sessions_per_conn)]
    max_sessions_per_conn: usize,
    /// Seconds a session set up and never played lives (course-lab sessions excepted).
    #[arg(long, value_name = "SECS", default_value_t = ServerConfig::default().unplayed_timeout.as_secs())]
    unplayed_timeout: u64,
    /// Seconds a request may take from its first byte to its end (then 408 and close).
    #[arg(long, value_name = "SECS", default_value_t = ServerConfig::default().request_timeout.as_secs(),
          value_parser = checks::parsed(checks::seconds))]
    request_timeout: u64,
    /// Seconds a connection without a session may stay without a request (then closed).
    #[arg(long, value_name = "SECS", default_value_t = ServerConfig::default().idle_timeout.as_secs(),
          value_parser = checks::parsed(checks::seconds))]
    idle_timeout: u64,
    /// Longest request line or header line, bytes (414 / 400 and close).
    #[arg(long, value_name = "BYTES", default_value_t = Limits::default().max_line)]
    max_line: usize,
    /// Most header lines in a request (400 and close).
    #[arg(long, value_name = "N", default_value_t = Limits::default().max_headers)]
    max_headers: usize,
    /// Largest request head (request line + headers), bytes (400 and close).
    #[arg(long, value_name = "BYTES", default_value_t = Limits::default().max_head)]
    max_head: usize,
    /// Largest request body (Content-Length), bytes (413 and close).
    #[arg(long, value_name = "BYTES", default_value_t = Limits::default().max_body)]
    max_body: usize,
    /// Largest interleaved ($) frame accepted from a client, bytes (close).
    #[arg(long, value_name = "BYTES", default_value_t = ServerConfig::default().max_interleaved)]
    max_interleaved: usize,
    /// Output queued for a connection that does not read, bytes (then closed).
    #[arg(long, value_name = "BYTES", default_value_t = runtime_mio::DEFAULT_MAX_PENDING_OUTPUT)]
    max_pending_output: usize,
    /// RTP payload rate cap per session, bytes per second (0: none); frames over it are skipped.
    #[arg(long, value_name = "BYTES_PER_SEC", default_value_t = ServerConfig::default().max_session_rate)]
    max_session_rate: u64,
    /// Largest RTP packet for the course-lab client (it reads into 20480 bytes); larger
    /// frames are skipped for it.
    #[arg(long, value_name = "BYTES", default_value_t = ServerConfig::default().lab_max_packet)]
    lab_max_packet: usize,
}

/// The arguments, with the `--config` file merged in (flags given on the command line win),
/// and the file's paths. A bad file is printed and ends the process with status 2.
fn args_and_paths() -> (Args, BTreeMap<String, PathConfig>) {
    let matches = Args::command().get_matches();
    let mut args = Args::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
    let Some(file) = &args.config else {
        return (args, BTreeMap::new());
    };
    let file = match Config::load(file) {
        Ok(file) => file,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(2);
        }
    };
    let given = |id: &str| matches.value_source(id) == Some(ValueSource::CommandLine);
    config::merge::apply(&mut args, &file, given);
    (args, file.paths)
}

fn main() -> ExitCode {
    let (args, paths) = args_and_paths();
    if args.check_config {
        return match check_config(&args, &paths) {
            Ok(text) => {
                print!("{text}");
                ExitCode::SUCCESS
            }
            Err(msg) => {
                eprintln!("server-mio: error: {msg}");
                ExitCode::from(2)
            }
        };
    }
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    match run(args, &paths) {
        Ok(()) => ExitCode::SUCCESS,
        Err(msg) => {
            eprintln!("server-mio: error: {msg}");
            ExitCode::from(1)
        }
    }
}

/// `--check-config`: the effective configuration as a configuration file, once the media
/// root is found to be a directory.
fn check_config(args: &Args, paths: &BTreeMap<String, PathConfig>) -> Result<String, String> {
    FsCatalog::new(&args.media).map_err(|e| e.to_string())?;
    auth_config(args)?;
    let server = config::merge::effective(args, event_loops(args)?);
    let users = args.users.iter().map(|(name, _)| name.as_str());
    let http = config::HttpSection {
        port: args.http,
        admins: (!args.admins.is_empty()).then(|| args.admins.clone()),
    };
    config::effective_toml(&server, users, paths, &http)
}

/// The event loops to run: `--threads`, else one a core.
fn event_loops(args: &Args) -> Result<usize, String> {
    let cores = || std::thread::available_parallelism().map_or(1, |n| n.get());
    checks::threads(args.threads.unwrap_or_else(cores)).map_err(|e| format!("--threads {e}"))
}

/// `--list`: the live paths (what feeds them), then every playable stream below the media
/// root (and `sample`) on stdout, one a line:
/// its URL (percent-encoded) and what it is (size, frame rate, length); the others on stderr
/// with the reason. Loads every file (on the loader threads), binds nothing.
fn list_streams(
    args: &Args,
    port: u16,
    paths: &BTreeMap<String, PathConfig>,
) -> Result<(), String> {
    let mut catalog = catalog(args, paths)?;
    let host = url_host(args.bind);
    for name in &args.publish {
        println!(
            "{}  live: published (ANNOUNCE/RECORD)",
            stream_url(&host, port, name)
        );
    }
    for (name, p) in paths {
        if let Some(what) = live::describe(p) {
            println!("{}  live: {what}", stream_url(&host, port, name));
        }
    }
    let mut names = catalog.file_names();
    if !names.iter().any(|n| n == "sample") {
        names.insert(0, "sample".to_string());
    }
    // Configured file paths that are not file names of their own (aliases).
    for (name, p) in paths {
        if matches!(p.source, Source::File(Some(_))) && !names.contains(name) {
            names.push(name.clone());
        }
    }
    for name in names {
        let url = stream_url(&host, port, &name);
        match catalog.lookup_wait(&name, PRELOAD_WAIT) {
            Ok(media) => println!("{url}  {}", describe_media(&media)),
            Err(e) => eprintln!("{url}: not playable: {e}"),
        }
    }
    Ok(())
}

/// The media catalog the flags and the file paths describe, with the built-in sample.
fn catalog(args: &Args, paths: &BTreeMap<String, PathConfig>) -> Result<FsCatalog, String> {
    let mut catalog = FsCatalog::new(&args.media).map_err(|e| e.to_string())?;
    for (name, p) in paths {
        if let Source::File(file) = &p.source {
            let path = FilePath {
                file: file.clone(),
                fps: p.fps,
                looping: p.looping,
            };
            catalog = catalog.with_path(name, path);
        }
    }
    catalog
        .with_transcode(!args.no_transcode)
        .with_mtu(args.mtu)
        .with_fps(args.fps)
        .with_cache_budget(args.media_cache_mb.saturating_mul(1 << 20))
        .with_max_file_size(args.max_file_mb.saturating_mul(1 << 20))
        .with_load_threads(args.load_threads)
        .with_max_loads(args.load_threads)
        .with_sample()
        .map_err(|e| e.to_string())
}

/// The host part of the URLs printed for `--bind` (loopback for "all addresses").
fn url_host(bind: IpAddr) -> String {
    match bind {
        IpAddr::V4(ip) if ip.is_unspecified() => "127.0.0.1".to_string(),
        IpAddr::V6(ip) if ip.is_unspecified() => "[::1]".to_string(),
        IpAddr::V4(ip) => ip.to_string(),
        IpAddr::V6(ip) => format!("[{ip}]"),
    }
}

/// `rtsp://HOST:PORT/NAME`, the name percent-encoded (`with space.mjpeg` →
/// `with%20space.mjpeg`).
fn stream_url(host: &str, port: u16, name: &str) -> String {
    format!(
        "rtsp://{host}:{port}/{}",
        rtsp_core::url::percent_encode_path(name)
    )
}

/// `384x288, 25 fps, 250 frames (10.0 s), loops`.
fn describe_media(m: &rtsp_core::server::Media) -> String {
    let fps = m.fps();
    let fps = if fps.fract() == 0.0 {
        format!("{fps:.0}")
    } else {
        format!("{fps:.3}")
            .trim_end_matches('0')
            .trim_end_matches('.')
            .to_string()
    };
    format!(
        "{}x{}, {fps} fps, {} frames ({:.1} s){}",
        m.width(),
        m.height(),
        m.frame_count(),
        m.duration().as_secs_f64(),
        if m.looping() { ", loops" } else { "" }
    )
}

/// The authentication configuration from `--user`, `--auth` and `--realm`.
fn auth_config(args: &Args) -> Result<Option<AuthConfig>, String> {
    if let Some(admin) = args
        .admins
        .iter()
        .find(|a| !args.users.iter().any(|(u, _)| u == *a))
    {
        return Err(format!("--admin {admin}: not a user (--user or [users])"));
    }
    if args.users.is_empty() {
        return Ok(None);
    }
    let users = args
        .users
        .iter()
        .map(|(n, p)| Credentials::new(n.clone(), p.clone()))
        .collect();
    let mut auth = AuthConfig::new(users);
    auth.digest = args.auth.contains(&AuthScheme::Digest);
    auth.basic = args.auth.contains(&AuthScheme::Basic);
    auth.realm = args.realm.clone();
    if !auth.digest && !auth.basic {
        return Err("--auth needs digest and/or basic".into());
    }
    if auth.basic {
        tracing::warn!("Basic authentication enabled: passwords cross the network in the clear");
    }
    Ok(Some(auth))
}

fn run(args: Args, paths: &BTreeMap<String, PathConfig>) -> Result<(), String> {
    // The flags' limits are checked by their parsers (and in the file by `config`).
    let port = args.lab_port.unwrap_or(args.port);
    if args.list {
        return list_streams(&args, port, paths);
    }
    let addr = SocketAddr::new(args.bind, port);
    let bind_error = |e: LoopsError| {
        match e {
        LoopsError::Listen { source, .. } => match source.kind() {
            std::io::ErrorKind::AddrInUse => format!(
                "cannot listen on {addr}: port {port} is already in use (another server running? try --port)"
            ),
            std::io::ErrorKind::PermissionDenied => format!(
                "cannot listen on {addr}: permission denied (ports below 1024 need privileges)"
            ),
            _ => format!("cannot listen on {addr}: {source}"),
        },
        e => e.to_string(),
    }
    };
    // A port another server holds fails here, before the media are loaded (and again at
    // the bind below, which refuses to share the port too).
    ServerLoops::check_addr(addr).map_err(bind_error)?;
    let started = Instant::now();
    let mut catalog = catalog(&args, paths)?;
    tracing::debug!(elapsed = ?started.elapsed(), "built-in sample generated");
    let root = catalog.root().to_path_buf();
    let names = catalog.names();
    if args.preload {
        let started = Instant::now();
        for name in catalog.file_names() {
            if let Err(e) = catalog.lookup_wait(&name, PRELOAD_WAIT) {
                tracing::warn!(name, error = %e, "cannot preload");
            }
        }
        tracing::info!(elapsed = ?started.elapsed(), "media preloaded");
    }
    let load_signal = catalog.load_signal();
    let catalog = SharedCatalog::new(catalog).with_load_signal(load_signal.clone());
    let threads = event_loops(&args)?;

    let l = &args.limits;
    let counts = SharedCounts::new();
    let mut config = ServerConfig {
        session_timeout: Duration::from_secs(args.session_timeout),
        mtu: args.mtu,
        loop_media: args.loop_media,
        max_connections: l.max_connections,
        max_connections_per_ip: l.max_connections_per_ip,
        max_sessions: l.max_sessions,
        max_sessions_per_ip: l.max_sessions_per_ip,
        max_sessions_per_conn: l.max_sessions_per_conn,
        unplayed_timeout: Duration::from_secs(l.unplayed_timeout),
        crowded_idle_timeout: Duration::from_secs(l.crowded_idle_timeout),
        request_timeout: Duration::from_secs(l.request_timeout),
        idle_timeout: Duration::from_secs(l.idle_timeout),
        limits: Limits {
            max_line: l.max_line,
            max_headers: l.max_headers,
            max_head: l.max_head,
            max_body: l.max_body,
        },
        max_interleaved: l.max_interleaved,
        max_session_rate: l.max_session_rate,
        lab_max_packet: l.lab_max_packet,
        counts: Some(counts.clone()),
        auth: auth_config(&args)?.map(|mut auth| {
            live::path_users(&mut auth, paths);
            auth
        }),
        ..ServerConfig::default()
    };
    let pulled = live::declare(&config.live, paths, &args.publish, args.publish_replace);
    let live_paths = config.live.clone();
    config.http = args.http.map(|_| HttpConfig {
        admins: args.admins.clone(),
        rtsp_port: port,
    });
    let opts = LoopsOptions {
        http: args.http.map(|p| SocketAddr::new(args.bind, p)),
        addr,
        loops: threads,
        config,
        max_pending_output: l.max_pending_output,
        gso: !args.no_gso,
        load_signal: Some(load_signal),
    };
    let loops = ServerLoops::bind(&opts, &catalog).map_err(bind_error)?;
    let gso = loops.gso();
    tracing::info!(threads, gso, "event loops ready");
    let transcode = (!args.no_transcode).then(TranscodeOptions::new);
    let hub = LiveHub::start(
        &live_paths,
        &loops.live_fanout(),
        pulled,
        args.mtu,
        transcode,
    )
    .map_err(|e| format!("cannot start the live sources: {e}"))?;
    let status_log = status::StatusLog::start(counts, live_paths.clone())
        .map_err(|e| format!("cannot start the status log: {e}"))?;

    // Ctrl-C: end every session (RTCP BYE), then stop; a second Ctrl-C exits at once.
    let shutdown = loops.shutdown_handle();
    let interrupted = AtomicBool::new(false);
    ctrlc::set_handler(move || {
        if interrupted.swap(true, Ordering::SeqCst) {
            std::process::exit(130);
        }
        tracing::info!("interrupted: ending sessions");
        shutdown.shutdown();
    })
    .map_err(|e| format!("cannot install the Ctrl-C handler: {e}"))?;

    let host = url_host(args.bind);
    let local = loops.local_addr();
    let port = local.port();
    let udp = loops
        .rtp_ports()
        .iter()
        .map(|p| format!("{p}-{}", p + 1))
        .collect::<Vec<_>>()
        .join(", ");
    println!(
        "server-mio: RTSP on {local}, RTP/RTCP on UDP {udp}, media root {}, {threads} event loop{}",
        root.display(),
        if threads == 1 { "" } else { "s" }
    );
    println!("streams (server-mio --list also says which play, and how):");
    for status in live_paths.status() {
        println!("  {}  (live)", stream_url(&host, port, &status.name));
    }
    for name in &names {
        println!("  {}", stream_url(&host, port, name));
    }
    if let Some(http) = loops.http_addr() {
        println!("browser: http://{host}:{}/", http.port());
    }
    println!("try:  ffplay rtsp://{host}:{port}/sample");
    println!("      client-std rtsp://{host}:{port}/sample");
    if let Some(lab) = names.iter().find(|n| n.ends_with(".Mjpeg")) {
        println!("lab:  client-std {host} {port} 25000 {lab}");
    }
    // Make the listing visible at once even when stdout is a pipe.
    let _ = std::io::Write::flush(&mut std::io::stdout());

    loops.run("server-mio").map_err(|e| e.to_string())?;
    hub.stop();
    drop(status_log);
    tracing::info!("server stopped");
    Ok(())
}

#[cfg(test)]
mod tests {
    use clap::Parser;

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
        assert_eq!(a.limits.max_connections_per_ip, 32);
        assert_eq!(
            (a.media_cache_mb, a.max_file_mb, a.load_threads),
            (512, 1024, 2)
        );
        let a = Args::try_parse_from([
            "server-mio",
            "--media-cache-mb",
            "64",
            "--max-file-mb",
            "200",
            "--load-threads",
            "4",
        ])
        .unwrap();
        assert_eq!(
            (a.media_cache_mb, a.max_file_mb, a.load_threads),
            (64, 200, 4)
        );
        let a = Args::try_parse_from([
            "server-mio",
            "--max-connections-per-ip",
            "4",
            "--request-timeout",
            "3",
            "--max-body",
            "100",
        ])
        .unwrap();
        assert_eq!(
            (
                a.limits.max_connections_per_ip,
                a.limits.request_timeout,
                a.limits.max_body
            ),
            (4, 3, 100)
        );
        assert!(auth_config(&a).unwrap().is_none());
        let a = Args::try_parse_from([
            "server-mio",
            "--user",
            "alice:pw:with:colons",
            "--user",
            "bob:x",
            "--auth",
            "basic,digest",
        ])
        .unwrap();
        let auth = auth_config(&a).unwrap().unwrap();
        assert_eq!(auth.users.len(), 2);
        assert_eq!(auth.users[0].password, "pw:with:colons");
        assert!(auth.basic && auth.digest);
        assert!(Args::try_parse_from(["server-mio", "--user", "nopass"]).is_err());
        assert!(Args::try_parse_from(["server-mio", "--auth", "ntlm"]).is_err());
    }
}
