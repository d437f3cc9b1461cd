//! Helpers for tests against real peers (ffmpeg, GStreamer) and raw sockets: a server with an
//! event channel and its own configuration, external programs bounded by `timeout`, and a
//! minimal blocking RTSP client that writes exactly the bytes a test gives it.

use bytes::Bytes;
use rtsp_core::server::{Media, MemoryCatalog, ServerConfig, ServerEvent};
use runtime_std::media::{FsCatalog, LoadSignal};
use runtime_std::{RunningServer, ServerOptions};
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

/// Whether an executable named `bin` is on `PATH`.
pub fn have(bin: &str) -> bool {
    find(bin).is_some()
}

fn find(bin: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(bin))
        .find(|p| p.is_file())
}

/// Whether the peer `bin` is installed; if not, says so loudly (the test then passes).
pub fn require_peer(bin: &str) -> bool {
    if have(bin) {
        return true;
    }
    eprintln!(
        "\n!!!!!!!! SKIPPED: `{bin}` is not installed; this interop test did NOT run. \
         .ci/run installs it (Debian packages ffmpeg / gstreamer1.0-tools). !!!!!!!!\n"
    );
    false
}

/// What a peer process did.
#[derive(Debug)]
pub struct PeerOutput {
    /// Exit code (`None`: killed by a signal). 124 means `timeout` stopped it.
    pub code: Option<i32>,
    /// Its standard output.
    pub stdout: String,
    /// Its standard error.
    pub stderr: String,
}

impl PeerOutput {
    /// A field of the last line of standard output, a client-std `--stats` JSON line, as
    /// text (panics with the whole output when it is missing).
    pub fn stats_field(&self, key: &str) -> String {
        let json = self.stdout.lines().last().unwrap_or("");
        json.split(&format!("\"{key}\":"))
            .nth(1)
            .and_then(|r| r.split([',', '}']).next())
            .unwrap_or_else(|| panic!("{key} in {json:?}\n{}", self.log()))
            .to_string()
    }

    /// Both streams, for assertion messages.
    pub fn log(&self) -> String {
        format!(
            "exit {:?}\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.code, self.stdout, self.stderr
        )
    }

    /// Lines of both streams that contain any of `needles` (case-insensitive).
    pub fn lines_with(&self, needles: &[&str]) -> Vec<String> {
        self.stdout
            .lines()
            .chain(self.stderr.lines())
            .filter(|l| {
                let l = l.to_ascii_lowercase();
                needles.iter().any(|n| l.contains(&n.to_ascii_lowercase()))
            })
            .map(str::to_string)
            .collect()
    }
}

/// Whether a gst-launch run failed only by GStreamer 1.22's own shutdown race, after a
/// complete play: it reached EOS, and then rtspsrc's PAUSE (PLAYING→PAUSED) was cut by
/// its own TEARDOWN (PAUSED→READY, which flushes the connection while the PAUSE is being
/// sent), reported as two "Could not send message. (Received end-of-file)" errors from
/// `gst_rtspsrc_try_send` and `gst_rtspsrc_pause`. The PAUSE never leaves the client, so a
/// server cannot prevent it; gst-rtsp-server gets the same (2 of 150 runs under
/// `stress-ng --cpu 2`, as against 1 of 67 for ours). Nothing else qualifies: any other
/// error line, a missing EOS or another exit code is a failure.
pub fn gst_shutdown_race(out: &PeerOutput) -> bool {
    let eos = out
        .stdout
        .find("Got EOS")
        .or_else(|| out.stderr.find("Got EOS"));
    let errors: Vec<&str> = out
        .stderr
        .lines()
        .filter(|l| l.starts_with("ERROR"))
        .collect();
    let cut = |f: &str| {
        out.stderr
            .contains(&format!("{f} (): /GstPipeline:pipeline0/GstRTSPSrc:rtspsrc0:\nCould not send message. (Received end-of-file)"))
    };
    out.code == Some(1)
        && eos.is_some()
        && errors.len() == 2
        && errors
            .iter()
            .all(|l| l.ends_with("GstRTSPSrc:rtspsrc0: Could not write to resource."))
        && cut("gst_rtspsrc_try_send")
        && cut("gst_rtspsrc_pause")
        && out.lines_with(&["warning", "critical"]).is_empty()
}

/// The last `frame=  N` of ffmpeg's `-stats` progress output: the frames it decoded.
pub fn ffmpeg_frames(out: &PeerOutput) -> Option<u32> {
    out.stderr
        .split(['\r', '\n'])
        .filter_map(|l| l.trim().strip_prefix("frame="))
        .rev()
        .find_map(|rest| rest.split_whitespace().next()?.parse().ok())
}

/// The `key=value` fields of the last line of `stdout`: the machine-readable report of the
/// load tools (`rtsp-load`, `udp-ceiling`), a trailing `%` removed.
pub fn report_fields(stdout: &str) -> std::collections::HashMap<String, String> {
    let last = stdout.lines().last().unwrap_or("");
    last.split_whitespace()
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (k.to_string(), v.trim_end_matches('%').to_string()))
        .collect()
}

/// Runs `program args..` under `timeout` (SIGTERM after `limit`, SIGKILL 5 s later), with
/// stdin closed, and waits for it. `timeout` itself kills the peer by its PID.
pub fn run_peer(program: &str, args: &[&str], limit: Duration) -> PeerOutput {
    let secs = limit.as_secs().max(1).to_string();
    let out = Command::new("timeout")
        .args(["-k", "5", &secs, program])
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .output()
        .expect("run `timeout` (coreutils)");
    PeerOutput {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// A server on runtime-mio over a media root, with every [`ServerEvent`] copied to a channel.
pub struct EventServer {
    /// The running server.
    pub server: RunningServer,
    /// Its events, in order.
    pub events: Receiver<ServerEvent>,
    /// Its catalog's loads (generation, callbacks).
    pub loads: LoadSignal,
}

impl EventServer {
    /// Starts a server on `127.0.0.1:0` with `config` (ports, seed and wall clock are filled
    /// in), files under `dir` played at `fps`.
    pub fn start(dir: &Path, fps: f64, config: ServerConfig) -> Self {
        Self::start_with(dir, fps, config, |_| {})
    }

    /// [`EventServer::start`], with a chance to change the options (runtime limits) first.
    pub fn start_with(
        dir: &Path,
        fps: f64,
        config: ServerConfig,
        tweak: impl FnOnce(&mut ServerOptions),
    ) -> Self {
        let catalog = FsCatalog::new(dir).expect("catalog").with_fps(fps);
        Self::start_catalog(catalog, config, tweak)
    }

    /// A server over `catalog` (configured by the test), with `config`, options changed by
    /// `tweak`.
    pub fn start_catalog(
        catalog: FsCatalog,
        config: ServerConfig,
        tweak: impl FnOnce(&mut ServerOptions),
    ) -> Self {
        let loads = catalog.load_signal();
        let mut opts = ServerOptions::fs("127.0.0.1:0".parse().expect("addr"), catalog);
        opts.config = config;
        let (tx, events) = mpsc::channel();
        opts.on_event = Some(Box::new(move |e: &ServerEvent| {
            let _ = tx.send(e.clone());
        }));
        tweak(&mut opts);
        let server = runtime_mio::serve(opts).expect("server starts");
        Self {
            server,
            events,
            loads,
        }
    }

    /// The URL of a stream.
    pub fn url(&self, name: &str) -> String {
        self.server.url(name)
    }

    /// The RTSP address.
    pub fn addr(&self) -> SocketAddr {
        self.server.connect_addr()
    }

    /// Waits up to `within` for an event matching `pred`; returns it, or `None`.
    pub fn wait_event(
        &self,
        within: Duration,
        mut pred: impl FnMut(&ServerEvent) -> bool,
    ) -> Option<ServerEvent> {
        let deadline = Instant::now() + within;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.events.recv_timeout(left) {
                Ok(e) if pred(&e) => return Some(e),
                Ok(_) => {}
                Err(RecvTimeoutError::Timeout) | Err(RecvTimeoutError::Disconnected) => {
                    return None
                }
            }
        }
    }

    /// Every event received so far (without waiting).
    pub fn drain_events(&self) -> Vec<ServerEvent> {
        self.events.try_iter().collect()
    }
}

/// An in-process server on `127.0.0.1:0` with one stream `name` of `frames` at `fps`, looping
/// or not, on runtime-std or runtime-mio.
pub fn memory_server(
    rt: crate::ServerRuntime,
    name: &str,
    fps: f64,
    frames: Vec<Bytes>,
    looping: bool,
) -> RunningServer {
    let media = Media::from_jpegs(name, fps, frames, 1400).expect("media");
    let mut opts = ServerOptions::new(
        (std::net::Ipv4Addr::LOCALHOST, 0).into(),
        Box::new(MemoryCatalog::new().with(media)),
    );
    opts.config = ServerConfig {
        loop_media: looping,
        ..ServerConfig::default()
    };
    match rt {
        crate::ServerRuntime::Std => runtime_std::serve(opts),
        crate::ServerRuntime::Mio => runtime_mio::serve(opts),
    }
    .expect("server")
}

/// A TCP connection to `addr` from the local address `from` (10 s connect timeout).
pub fn tcp_from(from: std::net::IpAddr, addr: SocketAddr) -> io::Result<TcpStream> {
    let socket = socket2::Socket::new(
        socket2::Domain::for_address(addr),
        socket2::Type::STREAM,
        Some(socket2::Protocol::TCP),
    )?;
    socket.bind(&SocketAddr::new(from, 0).into())?;
    socket.connect_timeout(&addr.into(), Duration::from_secs(10))?;
    Ok(socket.into())
}

/// A parsed reply from [`RawRtsp`].
#[derive(Debug, Clone)]
pub struct RawResponse {
    /// The status code.
    pub status: u16,
    /// The lines of the head as received (line ending removed), status line first.
    pub lines: Vec<String>,
    /// The body.
    pub body: Vec<u8>,
}

impl RawResponse {
    /// The first header named `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.lines.iter().skip(1).find_map(|l| {
            let (n, v) = l.split_once(':')?;
            n.trim().eq_ignore_ascii_case(name).then(|| v.trim())
        })
    }

    /// The session id (without parameters) of the `Session` header.
    pub fn session(&self) -> Option<String> {
        self.header("Session")
            .map(|v| v.split(';').next().unwrap_or("").trim().to_string())
    }
}

/// A blocking RTSP connection that sends bytes as given and parses replies.
pub struct RawRtsp {
    /// The socket.
    pub stream: TcpStream,
    buf: Vec<u8>,
}

impl RawRtsp {
    /// Connects with a 10 s read timeout.
    pub fn connect(addr: SocketAddr) -> io::Result<Self> {
        Self::wrap(TcpStream::connect_timeout(&addr, Duration::from_secs(10))?)
    }

    /// Connects from the local address `from` (any of 127/8 is local on Linux): a client
    /// on another host, as far as per-address limits can tell.
    pub fn connect_from(from: std::net::IpAddr, addr: SocketAddr) -> io::Result<Self> {
        Self::wrap(tcp_from(from, addr)?)
    }

    fn wrap(stream: TcpStream) -> io::Result<Self> {
        stream.set_read_timeout(Some(Duration::from_secs(10)))?;
        stream.set_nodelay(true)?;
        Ok(Self {
            stream,
            buf: Vec::new(),
        })
    }

    /// Sends raw bytes.
    pub fn send(&mut self, data: &[u8]) -> io::Result<()> {
        self.stream.write_all(data)
    }

    /// Sends `text` and reads one reply.
    pub fn request(&mut self, text: &str) -> io::Result<RawResponse> {
        self.send(text.as_bytes())?;
        self.read_response()
    }

    /// Reads until one whole reply is buffered (interleaved `$` frames before it are
    /// skipped), within the read timeout.
    pub fn read_response(&mut self) -> io::Result<RawResponse> {
        loop {
            // Skip interleaved frames.
            while self.buf.first() == Some(&b'$') && self.buf.len() >= 4 {
                let len = usize::from(u16::from_be_bytes([self.buf[2], self.buf[3]]));
                if self.buf.len() < 4 + len {
                    break;
                }
                self.buf.drain(..4 + len);
            }
            if self.buf.first() != Some(&b'$') {
                if let Some(r) = self.try_parse() {
                    return Ok(r);
                }
            }
            let mut chunk = [0u8; 65536];
            let n = self.stream.read(&mut chunk)?;
            if n == 0 {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    format!(
                        "connection closed; buffered: {:?}",
                        String::from_utf8_lossy(&self.buf)
                    ),
                ));
            }
            self.buf.extend_from_slice(&chunk[..n]);
        }
    }

    fn try_parse(&mut self) -> Option<RawResponse> {
        let end = self.buf.windows(4).position(|w| w == b"\r\n\r\n")?;
        let head = String::from_utf8_lossy(&self.buf[..end]).into_owned();
        let lines: Vec<String> = head.split("\r\n").map(str::to_string).collect();
        let len = lines
            .iter()
            .skip(1)
            .find_map(|l| {
                let (n, v) = l.split_once(':')?;
                n.trim()
                    .eq_ignore_ascii_case("content-length")
                    .then(|| v.trim().parse::<usize>().ok())?
            })
            .unwrap_or(0);
        if self.buf.len() < end + 4 + len {
            return None;
        }
        let body = self.buf[end + 4..end + 4 + len].to_vec();
        self.buf.drain(..end + 4 + len);
        let status = lines[0].split(' ').nth(1)?.parse().ok()?;
        Some(RawResponse {
            status,
            lines,
            body,
        })
    }

    /// Reads until EOF or error within `within`; returns whether the server closed the
    /// connection (EOF or reset) in that time.
    pub fn closed_within(&mut self, within: Duration) -> bool {
        let deadline = Instant::now() + within;
        let mut chunk = [0u8; 65536];
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return false;
            }
            let _ = self.stream.set_read_timeout(Some(left));
            match self.stream.read(&mut chunk) {
                Ok(0) => return true,
                Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                    ) =>
                {
                    return false
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => return true,
            }
        }
    }

    /// What was received but not parsed as a reply yet.
    pub fn buffered(&self) -> &[u8] {
        &self.buf
    }
}

/// A request in RFC 2326 form: `METHOD uri RTSP/1.0`, `CSeq`, the given headers, an empty line.
pub fn req(method: &str, uri: &str, cseq: u32, headers: &[&str]) -> String {
    let mut s = format!("{method} {uri} RTSP/1.0\r\nCSeq: {cseq}\r\n");
    for h in headers {
        s.push_str(h);
        s.push_str("\r\n");
    }
    s.push_str("\r\n");
    s
}

/// A UDP RTP/RTCP receiver pair on loopback (even/odd ports), 10 s read timeout.
pub fn udp_pair() -> (UdpSocket, UdpSocket) {
    let (rtp, rtcp) =
        runtime_std::bind_udp_pair("127.0.0.1".parse().expect("ip")).expect("UDP pair");
    for s in [&rtp, &rtcp] {
        s.set_read_timeout(Some(Duration::from_secs(10)))
            .expect("timeout");
    }
    (rtp, rtcp)
}

/// A plain RTP/AVP UDP session on `name`: SETUP + PLAY over `conn`, RTP to `rtp`.
/// Returns the session id.
pub fn play_udp(conn: &mut RawRtsp, url: &str, rtp: &UdpSocket) -> String {
    let port = rtp.local_addr().expect("addr").port();
    let r = conn
        .request(&req(
            "SETUP",
            &format!("{url}/stream=0"),
            1,
            &[&format!(
                "Transport: RTP/AVP;unicast;client_port={}-{}",
                port,
                port + 1
            )],
        ))
        .expect("SETUP reply");
    assert_eq!(r.status, 200, "SETUP: {:?}", r.lines);
    let sid = r.session().expect("Session");
    let r = conn
        .request(&req("PLAY", url, 2, &[&format!("Session: {sid}")]))
        .expect("PLAY reply");
    assert_eq!(r.status, 200, "PLAY: {:?}", r.lines);
    sid
}

/// Receives RTP datagrams on `sock` until `n` arrived or `within` passed; returns them.
pub fn recv_datagrams(sock: &UdpSocket, n: usize, within: Duration) -> Vec<Vec<u8>> {
    let deadline = Instant::now() + within;
    let mut out = Vec::new();
    let mut buf = vec![0u8; 65536];
    while out.len() < n {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            break;
        }
        let _ = sock.set_read_timeout(Some(left));
        match sock.recv(&mut buf) {
            Ok(len) => out.push(buf[..len].to_vec()),
            Err(_) => break,
        }
    }
    out
}

/// Frames of an MJPEG file (concatenated or lab layout).
pub fn read_mjpeg(path: &Path) -> Vec<Bytes> {
    let data = Bytes::from(std::fs::read(path).expect("read MJPEG output"));
    mjpeg::split_frames(&data).expect("split MJPEG").1
}

/// Largest absolute difference between two decoded images (`u8::MAX` if their sizes differ).
pub fn max_pixel_diff(a: &[u8], b: &[u8]) -> u8 {
    if a.len() != b.len() {
        return u8::MAX;
    }
    a.iter()
        .zip(b)
        .map(|(x, y)| x.abs_diff(*y))
        .max()
        .unwrap_or(0)
}

/// This process's resident set size in KiB (Linux `/proc/self/status`).
pub fn rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

/// A program running in the background (not under `timeout`: signals reach it directly),
/// its output read line by line on two threads; killed when dropped if still running.
pub struct Spawned {
    child: std::process::Child,
    out_rx: Receiver<String>,
    err_rx: Receiver<String>,
    /// Standard output lines read so far.
    pub stdout: Vec<String>,
    /// Standard error lines read so far.
    pub stderr: Vec<String>,
}

fn line_reader(r: impl Read + Send + 'static) -> Receiver<String> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in io::BufRead::lines(io::BufReader::new(r)) {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

impl Drop for Spawned {
    /// A test that fails half-way leaves no process behind.
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Lines from `rx` (kept in `seen`) until one satisfies `pred`, within `within`.
fn wait_line(
    rx: &Receiver<String>,
    seen: &mut Vec<String>,
    within: Duration,
    mut pred: impl FnMut(&str) -> bool,
) -> Option<String> {
    let deadline = Instant::now() + within;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let line = rx.recv_timeout(left).ok()?;
        seen.push(line.clone());
        if pred(&line) {
            return Some(line);
        }
    }
}

impl Spawned {
    /// Starts `program args..` with stdin closed.
    pub fn start(program: &Path, args: &[&str]) -> io::Result<Self> {
        Self::start_env(program, args, &[])
    }

    /// [`Spawned::start`] with these environment variables set.
    pub fn start_env(program: &Path, args: &[&str], env: &[(&str, &str)]) -> io::Result<Self> {
        let mut child = Command::new(program)
            .args(args)
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()?;
        let out_rx = line_reader(child.stdout.take().expect("piped stdout"));
        let err_rx = line_reader(child.stderr.take().expect("piped stderr"));
        Ok(Self {
            child,
            out_rx,
            err_rx,
            stdout: Vec::new(),
            stderr: Vec::new(),
        })
    }

    /// Its process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Waits up to `within` for a standard error line for which `pred` holds; returns it.
    pub fn wait_stderr(
        &mut self,
        within: Duration,
        pred: impl FnMut(&str) -> bool,
    ) -> Option<String> {
        wait_line(&self.err_rx, &mut self.stderr, within, pred)
    }

    /// Waits up to `within` for a standard output line for which `pred` holds; returns it.
    pub fn wait_stdout(
        &mut self,
        within: Duration,
        pred: impl FnMut(&str) -> bool,
    ) -> Option<String> {
        wait_line(&self.out_rx, &mut self.stdout, within, pred)
    }

    /// Standard error lines read so far, with those that arrived since the last look (no
    /// waiting).
    pub fn stderr_now(&mut self) -> &[String] {
        self.stderr.extend(self.err_rx.try_iter());
        &self.stderr
    }

    /// Sends signal `name` (`TERM`, `HUP`, `INT`, `KILL`) with kill(1); whether it was sent.
    pub fn signal(&self, name: &str) -> bool {
        Command::new("kill")
            .arg(format!("-{name}"))
            .arg(self.pid().to_string())
            .status()
            .is_ok_and(|s| s.success())
    }

    /// Waits up to `within` for it to exit (then kills it: the code is `None`) and returns
    /// everything it printed.
    pub fn finish(mut self, within: Duration) -> PeerOutput {
        let deadline = Instant::now() + within;
        let status = loop {
            match self.child.try_wait() {
                Ok(Some(status)) => break Some(status),
                Ok(None) if Instant::now() < deadline => {
                    // Bounded poll of the exit status (the reader threads hold the pipes).
                    let _ = self
                        .err_rx
                        .recv_timeout(Duration::from_millis(20))
                        .map(|l| self.stderr.push(l));
                }
                _ => {
                    let _ = self.child.kill();
                    let _ = self.child.wait();
                    break None;
                }
            }
        };
        // The pipes close with the process: read what is left.
        let until = Instant::now() + Duration::from_secs(5);
        while let Ok(l) = self
            .out_rx
            .recv_timeout(until.saturating_duration_since(Instant::now()))
        {
            self.stdout.push(l);
        }
        while let Ok(l) = self
            .err_rx
            .recv_timeout(until.saturating_duration_since(Instant::now()))
        {
            self.stderr.push(l);
        }
        PeerOutput {
            code: status.and_then(|s| s.code()),
            stdout: self.stdout.join("\n"),
            stderr: self.stderr.join("\n"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// gst-launch-1.0 1.22's output when its own TEARDOWN cut its PAUSE (captured against
    /// gst-rtsp-server).
    const RACE_STDERR: &str = "\
ERROR: from element /GstPipeline:pipeline0/GstRTSPSrc:rtspsrc0: Could not write to resource.
Additional debug info:
../gst/rtsp/gstrtspsrc.c(6766): gst_rtspsrc_try_send (): /GstPipeline:pipeline0/GstRTSPSrc:rtspsrc0:
Could not send message. (Received end-of-file)
ERROR: from element /GstPipeline:pipeline0/GstRTSPSrc:rtspsrc0: Could not write to resource.
Additional debug info:
../gst/rtsp/gstrtspsrc.c(9240): gst_rtspsrc_pause (): /GstPipeline:pipeline0/GstRTSPSrc:rtspsrc0:
Could not send message. (Received end-of-file)
";

    fn run(code: Option<i32>, stdout: &str, stderr: &str) -> PeerOutput {
        PeerOutput {
            code,
            stdout: stdout.into(),
            stderr: stderr.into(),
        }
    }

    #[test]
    fn the_gst_shutdown_race_and_nothing_else() {
        let eos = "Got EOS from element \"pipeline0\".\nSetting pipeline to NULL ...\n";
        assert!(gst_shutdown_race(&run(Some(1), eos, RACE_STDERR)));
        // Not after a complete play, another exit, another error, one of the two only.
        assert!(!gst_shutdown_race(&run(
            Some(1),
            "Setting pipeline to NULL ...\n",
            RACE_STDERR
        )));
        assert!(!gst_shutdown_race(&run(Some(124), eos, RACE_STDERR)));
        assert!(!gst_shutdown_race(&run(Some(0), eos, "")));
        let more = format!("{RACE_STDERR}ERROR: from element /GstPipeline:pipeline0/GstRTSPSrc:rtspsrc0: Unauthorized\n");
        assert!(!gst_shutdown_race(&run(Some(1), eos, &more)));
        let pause_only: String = RACE_STDERR
            .lines()
            .skip(4)
            .map(|l| format!("{l}\n"))
            .collect();
        assert!(!gst_shutdown_race(&run(Some(1), eos, &pause_only)));
        let other = RACE_STDERR.replace("Received end-of-file", "Connection refused");
        assert!(!gst_shutdown_race(&run(Some(1), eos, &other)));
        let warned = format!("{RACE_STDERR}WARNING: erroneous pipeline\n");
        assert!(!gst_shutdown_race(&run(Some(1), eos, &warned)));
    }
}
