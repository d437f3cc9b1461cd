//! Shared by the `interop_client_*` tests (and `load_tools`, `live_*`): locating client-std
//! and the other workspace binaries, the gst-rtsp-server peer, and a small scripted RTSP/1.0
//! server that sends RTP/JPEG the way the test wants (Q < 128, restart markers) and can
//! misbehave on purpose (redirect, authentication, refusing UDP, silent UDP).

#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use bytes::Bytes;
use rtp_core::jpeg::{make_tables, packetize, JpegPayload};
use rtp_core::RtpHeader;
use rtsp_core::auth::{verify_basic, verify_digest, Authorization, Challenge, Credentials, Scheme};

/// The SSRC the scripted server sends.
pub const SSRC: u32 = 0x0BAD_CAFE;

/// `target/<profile>` of this test binary.
pub fn profile_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("current exe");
    exe.parent()
        .and_then(Path::parent)
        .expect("target/<profile>")
        .to_path_buf()
}

/// `target/<profile>/client-std`. Panics with a hint when it was not built, or is older than
/// its sources (`cargo test` does not rebuild another package's binary).
pub fn client_std() -> PathBuf {
    workspace_binary(
        "client-std",
        &[
            "bins/client-std/src",
            "rtsp-core/src",
            "rtp-core/src",
            "runtime-std/src",
        ],
    )
}

/// `target/<profile>/server-mio`, checked like [`client_std`].
pub fn server_mio() -> PathBuf {
    workspace_binary(
        "server-mio",
        &[
            "bins/server-mio/src",
            "rtsp-core/src",
            "rtp-core/src",
            "runtime-mio/src",
            "runtime-std/src",
            "mjpeg/src",
        ],
    )
}

/// `target/<profile>/NAME`, checked to be newer than every file below `sources` (paths from
/// the workspace root). Panics with a hint when it was not built or is stale: `scripts/test`
/// builds every binary first.
pub fn workspace_binary(name: &str, sources: &[&str]) -> PathBuf {
    let p = profile_dir().join(name);
    let built = std::fs::metadata(&p)
        .and_then(|m| m.modified())
        .unwrap_or_else(|_| {
            panic!(
                "{} not found: run `cargo build -p {name}` before this test",
                p.display()
            )
        });
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    for dir in sources {
        if let Some((file, t)) = newest(&root.join(dir)) {
            assert!(
                t <= built,
                "{} is older than {}: run `cargo build -p {name}` before this test",
                p.display(),
                file.display()
            );
        }
    }
    p
}

/// The most recently modified source file below `dir` that goes into a binary: unit tests
/// (`tests/` folders, `tests.rs`) do not, and cargo does not relink a binary for them.
fn newest(dir: &Path) -> Option<(PathBuf, std::time::SystemTime)> {
    let mut best: Option<(PathBuf, std::time::SystemTime)> = None;
    for entry in std::fs::read_dir(dir).ok()?.flatten() {
        let path = entry.path();
        if path
            .file_name()
            .is_some_and(|n| n == "tests" || n == "tests.rs")
        {
            continue;
        }
        let found = if path.is_dir() {
            newest(&path)
        } else {
            entry
                .metadata()
                .and_then(|m| m.modified())
                .ok()
                .map(|t| (path, t))
        };
        if let Some((f, t)) = found {
            if best.as_ref().is_none_or(|(_, b)| t > *b) {
                best = Some((f, t));
            }
        }
    }
    best
}

/// Whether `tool` is on PATH (or, given as an absolute path, exists).
pub fn have(tool: &str) -> bool {
    Path::new(tool).is_absolute() && Path::new(tool).exists()
        || std::env::var_os("PATH")
            .is_some_and(|paths| std::env::split_paths(&paths).any(|d| d.join(tool).is_file()))
}

/// The gst-rtsp-server peer script.
const PEER: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/peers/gst_rtsp_mjpeg_server.py"
);

/// Whether the gst peer can run here (prints why not).
pub fn gst_available(extra: &[&str]) -> bool {
    let mut missing: Vec<&str> = ["/usr/bin/python3", "ffmpeg", "timeout", "kill"]
        .into_iter()
        .chain(extra.iter().copied())
        .filter(|t| !have(t))
        .collect();
    let gi = Command::new("/usr/bin/python3")
        .args([
            "-c",
            "import gi; gi.require_version('GstRtspServer', '1.0'); from gi.repository import GstRtspServer",
        ])
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !gi {
        missing.push("gst-rtsp-server GI bindings");
    }
    if !missing.is_empty() {
        eprintln!(
            "SKIPPED: missing {missing:?} (Debian: ffmpeg gstreamer1.0-tools gstreamer1.0-plugins-base \
             gstreamer1.0-plugins-good gstreamer1.0-plugins-bad gir1.2-gst-rtsp-server-1.0 python3-gi \
             libjpeg-turbo-progs)"
        );
    }
    missing.is_empty()
}

/// A `timeout`-wrapped child, ended by PID (SIGTERM, which `timeout` forwards) and reaped.
pub struct Peer {
    child: Child,
    /// `rtsp://127.0.0.1:PORT/test`.
    pub url: String,
}

impl Drop for Peer {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = Command::new("kill")
                .arg("-TERM")
                .arg(self.child.id().to_string())
                .status();
            let _ = self.child.wait();
        }
    }
}

/// Starts the gst peer on a free port; waits (bounded) for its READY line.
pub fn start_gst(args: &[&str]) -> Peer {
    let mut child = Command::new("timeout")
        .args([
            "120",
            "/usr/bin/python3",
            PEER,
            "--port",
            "0",
            "--seconds",
            "110",
        ])
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start the gst peer");
    let stdout = child.stdout.take().expect("stdout");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut peer = Peer {
        child,
        url: String::new(),
    };
    let line = rx
        .recv_timeout(Duration::from_secs(30))
        .expect("gst peer READY within 30 s");
    peer.url = line
        .strip_prefix("READY ")
        .unwrap_or_else(|| panic!("unexpected peer output {line:?}"))
        .to_string();
    peer
}

/// Decoded pixels.
pub fn decode(jpeg: &[u8]) -> Vec<u8> {
    let mut d = zune_jpeg::JpegDecoder::new(zune_jpeg::zune_core::bytestream::ZCursor::new(jpeg));
    d.decode().expect("decodes")
}

/// One frame as RTP payloads (RFC 2435 headers + scan).
pub struct Packets {
    /// The payloads, in order (the last one gets the marker).
    pub payloads: Vec<Bytes>,
}

/// Packetizes `jpeg` with Q=80 and no tables (type 1, or 65 when it has a DRI). Asserts the
/// frame's tables are RFC 2435's Q=80 tables (true of `mjpeg::testpattern` frames).
pub fn q80_packets(jpeg: &[u8]) -> Packets {
    let info = mjpeg::parse_jpeg(jpeg).expect("valid JPEG");
    let mut tables = Vec::new();
    for id in [0u8, 1] {
        let t = info
            .qtables
            .iter()
            .find(|t| t.id == id)
            .expect("two tables");
        tables.extend(t.values.iter().map(|&v| v as u8));
    }
    assert_eq!(tables, make_tables(80), "test pattern tables are Q=80's");
    let p = JpegPayload {
        type_: if info.restart_interval > 0 { 65 } else { 1 },
        q: 80,
        width: info.width,
        height: info.height,
        restart_interval: info.restart_interval,
        qtables: &[],
        scan: info.scan(jpeg),
    };
    Packets {
        payloads: packetize(&p, 1388).expect("packetize"),
    }
}

/// What the scripted server does.
#[derive(Default)]
pub struct Script {
    /// Frames looped after PLAY (100 fps).
    pub frames: Vec<Packets>,
    /// Answer DESCRIBE of a path other than `/moved` with `302 Found`, `Location: <base>/moved`.
    pub redirect: bool,
    /// Demand this challenge be answered with these credentials (401 otherwise).
    pub auth: Option<(Challenge, Credentials)>,
    /// Answer SETUP over UDP with 461 Unsupported Transport.
    pub refuse_udp: bool,
    /// Accept SETUP over UDP but never send anything over it.
    pub silent_udp: bool,
}

/// A request as the scripted server saw it.
#[derive(Debug, Clone)]
pub struct Seen {
    /// Which connection (0, 1, ...).
    pub conn: usize,
    /// Start line.
    pub line: String,
    /// The whole head.
    pub head: String,
    /// The status answered.
    pub status: u16,
}

/// The scripted server: accepts connections one after another until dropped.
pub struct Scripted {
    /// Its address.
    pub addr: SocketAddr,
    /// Every request, as it is answered.
    pub seen: Receiver<Seen>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Scripted {
    /// Starts it on a free loopback port.
    pub fn start(script: Script) -> Self {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind");
        let addr = listener.local_addr().expect("addr");
        let stop = Arc::new(AtomicBool::new(false));
        let (tx, seen) = mpsc::channel();
        let script = Arc::new(script);
        let thread = {
            let stop = stop.clone();
            std::thread::spawn(move || {
                for (conn, stream) in listener.incoming().enumerate() {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    let Ok(stream) = stream else { break };
                    let _ = stream.set_read_timeout(Some(Duration::from_secs(30)));
                    serve(stream, addr, conn, &script, &tx);
                }
            })
        };
        Self {
            addr,
            seen,
            stop,
            thread: Some(thread),
        }
    }

    /// `rtsp://ADDR/PATH`.
    pub fn url(&self, path: &str) -> String {
        format!("rtsp://{}/{path}", self.addr)
    }

    /// Every request seen so far (waits up to `within` for the first).
    pub fn drain(&self, within: Duration) -> Vec<Seen> {
        let mut v: Vec<Seen> = self.seen.recv_timeout(within).into_iter().collect();
        v.extend(self.seen.try_iter());
        v
    }
}

impl Drop for Scripted {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop.
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_millis(500));
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

enum Media {
    Udp(UdpSocket, SocketAddr),
    Tcp(Arc<Mutex<TcpStream>>),
}

fn header(head: &str, name: &str) -> Option<String> {
    head.split("\r\n").skip(1).find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.trim()
            .eq_ignore_ascii_case(name)
            .then(|| v.trim().to_string())
    })
}

fn authorized(script: &Script, method: &str, head: &str) -> bool {
    let Some((challenge, creds)) = &script.auth else {
        return true;
    };
    let Some(auth) = header(head, "Authorization").and_then(|v| Authorization::parse(&v).ok())
    else {
        return false;
    };
    match challenge.scheme {
        Scheme::Basic => verify_basic(&auth, creds),
        _ => verify_digest(&auth, challenge, method, creds),
    }
}

/// Answers one connection until TEARDOWN or EOF.
fn serve(
    stream: TcpStream,
    addr: SocketAddr,
    conn: usize,
    script: &Arc<Script>,
    seen_tx: &mpsc::Sender<Seen>,
) {
    let base = format!("rtsp://{addr}");
    let writer = Arc::new(Mutex::new(stream.try_clone().expect("clone")));
    let mut reader = stream;
    let mut buf = Vec::new();
    let mut stop = Arc::new(AtomicBool::new(false));
    let mut media: Option<Media> = None;
    let mut senders: Vec<JoinHandle<()>> = Vec::new();
    let mut chunk = [0u8; 4096];
    'conn: loop {
        loop {
            // Interleaved RTCP from the client is dropped.
            if buf.first() == Some(&b'$') {
                if buf.len() < 4 {
                    break;
                }
                let len = 4 + usize::from(u16::from_be_bytes([buf[2], buf[3]]));
                if buf.len() < len {
                    break;
                }
                buf.drain(..len);
                continue;
            }
            let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") else {
                break;
            };
            let head = String::from_utf8_lossy(&buf[..end]).into_owned();
            buf.drain(..end + 4);
            let line = head.split("\r\n").next().unwrap_or_default().to_string();
            let mut parts = line.split(' ');
            let method = parts.next().unwrap_or_default().to_string();
            let uri = parts.next().unwrap_or_default().to_string();
            let cseq = header(&head, "CSeq").unwrap_or_default();
            let mut status = (200, "OK");
            let mut extra = String::new();
            let mut body = String::new();
            if !authorized(script, &method, &head) {
                status = (401, "Unauthorized");
                if let Some((c, _)) = &script.auth {
                    extra = format!("WWW-Authenticate: {}\r\n", c.to_header());
                }
            } else {
                match method.as_str() {
                    "OPTIONS" => {
                        extra = "Public: OPTIONS, DESCRIBE, SETUP, PLAY, PAUSE, TEARDOWN, GET_PARAMETER\r\n".into();
                    }
                    "DESCRIBE" if script.redirect && !uri.ends_with("/moved") => {
                        status = (302, "Found");
                        extra = format!("Location: {base}/moved\r\n");
                    }
                    "DESCRIBE" => {
                        body = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=scripted\r\nt=0 0\r\na=control:*\r\na=range:npt=0-100\r\nm=video 0 RTP/AVP 26\r\nc=IN IP4 0.0.0.0\r\na=rtpmap:26 JPEG/90000\r\na=control:stream=0\r\n".into();
                        extra =
                            format!("Content-Base: {uri}/\r\nContent-Type: application/sdp\r\n");
                    }
                    "SETUP" => {
                        let t = header(&head, "Transport").unwrap_or_default();
                        if t.contains("interleaved") {
                            media = Some(Media::Tcp(writer.clone()));
                            extra = format!(
                                "Transport: RTP/AVP/TCP;unicast;interleaved=0-1;ssrc={SSRC:08X}\r\nSession: 4711;timeout=60\r\n"
                            );
                        } else if script.refuse_udp {
                            status = (461, "Unsupported Transport");
                        } else {
                            let udp = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).expect("udp");
                            let port = udp.local_addr().expect("addr").port();
                            let ports = t
                                .split(';')
                                .find_map(|p| p.trim().strip_prefix("client_port="))
                                .unwrap_or("0-1")
                                .to_string();
                            let rtp: u16 = ports
                                .split('-')
                                .next()
                                .and_then(|p| p.parse().ok())
                                .unwrap_or(0);
                            if !script.silent_udp {
                                media = Some(Media::Udp(udp, (Ipv4Addr::LOCALHOST, rtp).into()));
                            }
                            extra = format!(
                                "Transport: RTP/AVP;unicast;client_port={ports};server_port={port}-{};ssrc={SSRC:08X}\r\nSession: 4711;timeout=60\r\n",
                                port + 1
                            );
                        }
                    }
                    "PLAY" => {
                        let range = header(&head, "Range").unwrap_or_else(|| "npt=0-".into());
                        extra = format!(
                            "Session: 4711\r\nRange: {range}\r\nRTP-Info: url={base}/stream=0;seq=1000;rtptime=0\r\n"
                        );
                        if let Some(m) = media.take() {
                            stop = Arc::new(AtomicBool::new(false));
                            let (script, stop) = (script.clone(), stop.clone());
                            senders.push(std::thread::spawn(move || {
                                send_media(&m, &script.frames, &stop);
                            }));
                        }
                    }
                    "TEARDOWN" => {
                        stop.store(true, Ordering::SeqCst);
                    }
                    _ => {}
                }
            }
            let reply = format!(
                "RTSP/1.0 {} {}\r\nCSeq: {cseq}\r\n{extra}Content-Length: {}\r\n\r\n{body}",
                status.0,
                status.1,
                body.len()
            );
            let _ = seen_tx.send(Seen {
                conn,
                line: line.clone(),
                head: head.clone(),
                status: status.0,
            });
            if writer
                .lock()
                .expect("lock")
                .write_all(reply.as_bytes())
                .is_err()
            {
                break 'conn;
            }
        }
        match reader.read(&mut chunk) {
            Ok(0) | Err(_) => break,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
    stop.store(true, Ordering::SeqCst);
    for s in senders {
        let _ = s.join();
    }
}

/// Loops the frames at 100 fps until `stop`.
fn send_media(media: &Media, frames: &[Packets], stop: &AtomicBool) {
    if frames.is_empty() {
        return;
    }
    let mut seq = 1000u16;
    let mut ts = 0u32;
    'outer: loop {
        for f in frames {
            let n = f.payloads.len();
            for (i, p) in f.payloads.iter().enumerate() {
                let mut h = RtpHeader::new(26, seq, ts, SSRC);
                h.marker = i + 1 == n;
                let mut pkt = Vec::with_capacity(12 + p.len());
                h.write(&mut pkt);
                pkt.extend_from_slice(p);
                seq = seq.wrapping_add(1);
                let ok = match media {
                    Media::Udp(sock, to) => sock.send_to(&pkt, to).is_ok(),
                    Media::Tcp(w) => {
                        let mut framed = vec![b'$', 0];
                        framed.extend_from_slice(&(pkt.len() as u16).to_be_bytes());
                        framed.extend_from_slice(&pkt);
                        w.lock().expect("lock").write_all(&framed).is_ok()
                    }
                };
                if !ok || stop.load(Ordering::SeqCst) {
                    break 'outer;
                }
            }
            ts = ts.wrapping_add(900);
            // The server's frame clock (pacing), not a synchronisation.
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}
