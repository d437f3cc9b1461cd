//! Every end of client-std is clean (issue 14, the client side), run as a process against our
//! server and against a small hostile responder on loopback:
//!
//! * a server that keeps the session but sends nothing, or nothing decodable: after
//!   `--no-media-timeout` the client says why and exits 1 (no "0 frame(s)" line);
//! * a server answering every request `401 … stale=true` with a new nonce: two DESCRIBEs, then
//!   exit 1 with a message;
//! * the lab form ends after the lab server's stream (which sends no BYE): TEARDOWN, stats,
//!   exit 0;
//! * SIGTERM and SIGHUP do what Ctrl-C does (TEARDOWN, the recording whole, stats, exit 0);
//!   after `kill -9` the recording's complete frames still decode;
//! * 2000x2000 frames over UDP arrive whole with the 4 MiB receive buffer; with a tiny one the
//!   final line names the kernel's drops;
//! * messages: 404 names the stream and `server-mio --list`, 457 the stream's length; usage
//!   errors exit 2.
//!
//! Needs `target/debug/client-std` (`cargo build -p client-std`).

mod interop_client_support;

use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use bytes::Bytes;
use interop_client_support::client_std;
use it::make_media_dir;
use it::peers::{memory_server, EventServer, PeerOutput, Spawned};
use it::ServerRuntime;
use rtp_core::RtpHeader;
use rtsp_core::server::ServerConfig;
use runtime_std::RunningServer;

/// Runs client-std with `args` to its end (bounded: killed after 60 s).
fn client(args: &[&str]) -> PeerOutput {
    let p = Spawned::start(&client_std(), args).expect("start client-std");
    p.finish(Duration::from_secs(60))
}

/// An in-process server (runtime-mio, as server-mio runs) with one stream of `frames`.
fn our_server(name: &str, fps: f64, frames: Vec<Bytes>, looping: bool) -> RunningServer {
    memory_server(ServerRuntime::Mio, name, fps, frames, looping)
}

// ------------------------------------------------------------------------------------------
// A hostile responder: answers RTSP over one connection at a time, sends what it is told.

/// What the responder does.
#[derive(Clone)]
enum Mode {
    /// 200 to everything; no media at all.
    Silent,
    /// 200 to everything; after PLAY these RTP packets, interleaved on channel 0, every 20 ms
    /// (the client must ask for TCP).
    Junk(Vec<Vec<u8>>),
    /// `401 Unauthorized` with a new Digest nonce marked `stale=true`, to every request.
    StaleForever,
}

struct Responder {
    addr: SocketAddr,
    /// Start lines of the requests, in order.
    seen: Arc<Mutex<Vec<String>>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Responder {
    fn start(mode: Mode) -> Self {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind");
        let addr = listener.local_addr().expect("addr");
        let seen = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let (seen, stop) = (seen.clone(), stop.clone());
            std::thread::spawn(move || {
                for stream in listener.incoming() {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    let Ok(stream) = stream else { break };
                    answer(stream, &mode, &seen, &stop);
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

    fn url(&self, path: &str) -> String {
        format!("rtsp://{}/{path}", self.addr)
    }

    fn seen(&self) -> Vec<String> {
        self.seen.lock().expect("lock").clone()
    }
}

impl Drop for Responder {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_millis(500));
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn header<'a>(head: &'a str, name: &str) -> Option<&'a str> {
    head.split("\r\n").skip(1).find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.trim().eq_ignore_ascii_case(name).then(|| v.trim())
    })
}

/// Answers one connection until it closes (bounded by a 30 s read timeout).
fn answer(stream: TcpStream, mode: &Mode, seen: &Mutex<Vec<String>>, stop: &Arc<AtomicBool>) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(30)));
    let writer = Arc::new(Mutex::new(stream.try_clone().expect("clone")));
    let mut reader = stream;
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let nonces = AtomicUsize::new(0);
    let playing = Arc::new(AtomicBool::new(false));
    let mut sender = None;
    loop {
        // Interleaved frames from the client (its RTCP) are skipped.
        while buf.first() == Some(&b'$') && buf.len() >= 4 {
            let len = 4 + usize::from(u16::from_be_bytes([buf[2], buf[3]]));
            if buf.len() < len {
                break;
            }
            buf.drain(..len);
        }
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end]).into_owned();
            buf.drain(..end + 4);
            let line = head.lines().next().unwrap_or("").to_string();
            seen.lock().expect("lock").push(line.clone());
            let method = line.split(' ').next().unwrap_or("");
            let cseq = header(&head, "CSeq").unwrap_or("0");
            let reply = match mode {
                Mode::StaleForever => {
                    let n = nonces.fetch_add(1, Ordering::SeqCst);
                    format!("RTSP/1.0 401 Unauthorized\r\nCSeq: {cseq}\r\nWWW-Authenticate: Digest realm=\"x\", nonce=\"nonce{n}\", qop=\"auth\", stale=true\r\n\r\n")
                }
                _ => match method {
                    "DESCRIBE" => {
                        let sdp = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=x\r\nt=0 0\r\nm=video 0 RTP/AVP 26\r\na=control:trackID=0\r\n";
                        format!("RTSP/1.0 200 OK\r\nCSeq: {cseq}\r\nContent-Type: application/sdp\r\nContent-Length: {}\r\n\r\n{sdp}", sdp.len())
                    }
                    "SETUP" => {
                        let t = header(&head, "Transport").unwrap_or("");
                        format!("RTSP/1.0 200 OK\r\nCSeq: {cseq}\r\nTransport: {t}\r\nSession: 1234;timeout=60\r\n\r\n")
                    }
                    "PLAY" => {
                        playing.store(true, Ordering::SeqCst);
                        format!("RTSP/1.0 200 OK\r\nCSeq: {cseq}\r\nSession: 1234\r\n\r\n")
                    }
                    _ => format!("RTSP/1.0 200 OK\r\nCSeq: {cseq}\r\nSession: 1234\r\n\r\n"),
                },
            };
            if writer
                .lock()
                .expect("lock")
                .write_all(reply.as_bytes())
                .is_err()
            {
                break;
            }
            if let (Mode::Junk(packets), "PLAY", None) = (mode, method, &sender) {
                let (w, packets, stop) = (writer.clone(), packets.clone(), stop.clone());
                sender = Some(std::thread::spawn(move || {
                    // Bounded: at most 1500 rounds (30 s).
                    for _ in 0..1500 {
                        if stop.load(Ordering::SeqCst) {
                            return;
                        }
                        for p in &packets {
                            let mut framed = vec![b'$', 0];
                            framed.extend_from_slice(&(p.len() as u16).to_be_bytes());
                            framed.extend_from_slice(p);
                            if w.lock().expect("lock").write_all(&framed).is_err() {
                                return;
                            }
                        }
                        std::thread::sleep(Duration::from_millis(20));
                    }
                }));
            }
            if method == "TEARDOWN" {
                break;
            }
            continue;
        }
        match reader.read(&mut chunk) {
            Ok(0) | Err(_) => break,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
    let _ = writer
        .lock()
        .expect("lock")
        .shutdown(std::net::Shutdown::Both);
    if let Some(t) = sender {
        let _ = t.join();
    }
}

/// An RTP/JPEG packet (PT 26, marker set) with an RFC 2435 main header of `w8` x `h8` blocks
/// and `body` after it.
fn jpeg_rtp(seq: u16, w8: u8, h8: u8, body: &[u8]) -> Vec<u8> {
    let mut h = RtpHeader::new(26, seq, 9000, 0x1234);
    h.marker = true;
    let mut v = Vec::new();
    h.write(&mut v);
    v.extend_from_slice(&[0, 0, 0, 0, 1, 50, w8, h8]);
    v.extend_from_slice(body);
    v
}

// ------------------------------------------------------------------------------------------

#[test]
fn a_server_sending_nothing_ends_with_the_reason_and_exit_1() {
    let r = Responder::start(Mode::Silent);
    let out = client(&[
        &r.url("cam"),
        "--headless",
        "--transport",
        "udp",
        "--frames",
        "5",
        "--no-media-timeout",
        "1",
    ]);
    assert_eq!(out.code, Some(1), "{}", out.log());
    assert!(
        out.stderr
            .contains("error: no usable media for 1.0 s: no RTP packet arrived; a firewall or NAT may drop UDP: try --transport tcp"),
        "{}",
        out.log()
    );
    assert!(!out.stderr.contains("0 frame(s)"), "{}", out.log());
    let seen = r.seen();
    assert!(seen.iter().any(|l| l.starts_with("TEARDOWN ")), "{seen:?}");
}

#[test]
fn undecodable_media_names_what_was_wrong() {
    let cases = [
        (
            "zero sizes",
            vec![jpeg_rtp(1, 0, 0, &[0x11; 400])],
            "made no complete frame (1 dropped; last error: zero width or height field)",
        ),
        (
            "offsets past the frame",
            {
                let mut first = jpeg_rtp(1, 8, 6, &[0x11; 400]);
                first[1] &= 0x7f; // no marker: the frame goes on
                let mut second = jpeg_rtp(2, 8, 6, &[0x22; 400]);
                second[12 + 1..12 + 4].copy_from_slice(&[0x01, 0x5f, 0x90]); // offset 90000
                vec![first, second]
            },
            "fragment gap at seq 2: offset 90000, expected 400",
        ),
        (
            "garbage",
            vec![b"this is not RTP".to_vec()],
            "packet(s) arrived, none of them RTP of this stream",
        ),
    ];
    for (what, packets, want) in cases {
        let r = Responder::start(Mode::Junk(packets));
        let out = client(&[
            &r.url("cam"),
            "--headless",
            "--transport",
            "tcp",
            "--frames",
            "5",
            "--no-media-timeout",
            "1",
        ]);
        assert_eq!(out.code, Some(1), "{what}: {}", out.log());
        let line = out
            .stderr
            .lines()
            .find(|l| l.contains("error: no usable media for 1.0 s: "))
            .unwrap_or_else(|| panic!("{what}: {}", out.log()));
        assert!(line.contains(want), "{what}: {line}");
        assert!(!out.stderr.contains("0 frame(s)"), "{what}: {}", out.log());
    }
}

#[test]
fn endless_stale_nonces_stop_after_one_retry() {
    let r = Responder::start(Mode::StaleForever);
    let url = format!("rtsp://user:pass@{}/cam", r.addr);
    let out = client(&[&url, "--headless"]);
    assert_eq!(out.code, Some(1), "{}", out.log());
    let describes = r
        .seen()
        .iter()
        .filter(|l| l.starts_with("DESCRIBE "))
        .count();
    assert_eq!(describes, 2, "{:?}", r.seen());
    assert!(
        out.stderr.contains(
            "DESCRIBE failed: 401 Unauthorized: the server answered the retry with yet another \"stale\" nonce"
        ),
        "{}",
        out.log()
    );
}

#[test]
fn not_found_names_the_stream_and_the_list_and_457_the_length() {
    let server = our_server("clip", 25.0, mjpeg::testpattern::frames(50, 64, 48), false);
    let out = client(&[&server.url("nope.mjpeg"), "--headless"]);
    assert_eq!(out.code, Some(1), "{}", out.log());
    assert!(
        out.stderr.contains("DESCRIBE failed: 404 Not Found: the server has no stream \"nope.mjpeg\"; `server-mio --list --media DIR`"),
        "{}",
        out.log()
    );
    assert!(!out.stderr.contains("0 frame(s)"), "{}", out.log());

    let out = client(&[&server.url("clip"), "--headless", "--seek", "100"]);
    assert_eq!(out.code, Some(1), "{}", out.log());
    assert!(
        out.stderr.contains(
            "PLAY failed: 457 Invalid Range: --seek 100.0 s is outside the stream, which is 2.0 s long (npt=0-2)"
        ),
        "{}",
        out.log()
    );
    server.stop();
}

#[test]
fn usage_errors_exit_2() {
    for args in [
        &["ftp://127.0.0.1/x"][..],
        &["rtsp://127.0.0.1:0/x"],
        &["127.0.0.1", "port", "25000", "movie.Mjpeg"],
        &[
            "127.0.0.1",
            "8554",
            "25000",
            "movie.Mjpeg",
            "--transport",
            "tcp",
        ],
        &["rtsp://127.0.0.1/x", "--frames", "0"],
        &["rtsp://127.0.0.1/x", "--duration", "-1"],
        &["rtsp://127.0.0.1/x", "--bogus"],
        &["a", "b"],
    ] {
        let mut all = args.to_vec();
        all.push("--headless");
        let out = client(&all);
        assert_eq!(out.code, Some(2), "{args:?}: {}", out.log());
        assert!(out.stderr.starts_with("error: "), "{args:?}: {}", out.log());
    }
}

#[test]
fn the_lab_form_ends_after_the_lab_servers_stream() {
    let (dir, name, frames) = make_media_dir(30, true);
    let server = EventServer::start(dir.path(), 50.0, ServerConfig::default());
    let port = server.addr().port().to_string();
    // A free port for RTP (the lab form names it).
    let rtp = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0))
        .and_then(|s| s.local_addr())
        .expect("a free port")
        .port()
        .to_string();
    let out = client(&[
        "127.0.0.1",
        &port,
        &rtp,
        &name,
        "--headless",
        "--stats",
        "--no-media-timeout",
        "1",
    ]);
    assert_eq!(out.code, Some(0), "{}", out.log());
    assert_eq!(out.stats_field("frames_received"), frames.len().to_string());
    assert_eq!(out.stats_field("end_of_stream"), "true");
    let end = out.stderr.find("after 30 frame(s): end of stream");
    let torn = out.stderr.find("torn down");
    assert!(end.is_some() && torn > end, "{}", out.log());
    assert!(
        !out.stderr.contains(" 0.0 fps  "),
        "no idle progress lines after the end"
    );
}

/// Starts a recording client on a looping stream and waits until it has frames.
fn recording(url: &str, file: &std::path::Path) -> Spawned {
    let mut p = Spawned::start(
        &client_std(),
        &[
            url,
            "--headless",
            "--transport",
            "udp",
            "--stats",
            "--record",
            file.to_str().expect("path"),
        ],
    )
    .expect("start client-std");
    // Progress lines: `   1.0s  frames     25  ...`.
    let progressed = p.wait_stderr(Duration::from_secs(30), |l| {
        l.split_whitespace()
            .skip_while(|w| *w != "frames")
            .nth(1)
            .and_then(|n| n.parse::<u64>().ok())
            .is_some_and(|n| n >= 10)
    });
    assert!(progressed.is_some(), "no frames: {:?}", p.stderr);
    p
}

/// The frames of a recording, in order, up to the first incomplete one; and whether bytes
/// were left over (a frame cut by the kill).
fn recorded_frames(path: &std::path::Path) -> (Vec<Bytes>, bool) {
    let data = std::fs::read(path).expect("recording");
    let mut split = mjpeg::FrameSplitter::new();
    split.push(&data);
    let mut frames = Vec::new();
    while let Ok(Some(f)) = split.next_frame() {
        frames.push(f);
    }
    let whole: usize = frames.iter().map(Bytes::len).sum();
    (frames, whole < data.len())
}

fn decodes(jpeg: &[u8]) -> bool {
    let mut d = zune_jpeg::JpegDecoder::new(zune_jpeg::zune_core::bytestream::ZCursor::new(jpeg));
    d.decode().is_ok()
}

#[test]
fn sigterm_and_sighup_end_like_ctrl_c_with_the_recording_whole() {
    let server = our_server("loop", 25.0, mjpeg::testpattern::frames(25, 128, 96), true);
    let dir = tempfile::tempdir().expect("temp dir");
    for sig in ["TERM", "HUP"] {
        let file = dir.path().join(format!("{sig}.mjpeg"));
        let p = recording(&server.url("loop"), &file);
        assert!(p.signal(sig));
        let out = p.finish(Duration::from_secs(20));
        assert_eq!(out.code, Some(0), "SIG{sig}: {}", out.log());
        assert!(out.stderr.contains("torn down"), "SIG{sig}: {}", out.log());
        let received: usize = out
            .stats_field("frames_received")
            .parse()
            .expect("a number");
        assert!(
            out.stderr.contains(&format!(
                "recorded {received} frame(s) to {}",
                file.display()
            )),
            "SIG{sig}: {}",
            out.log()
        );
        let (frames, leftover) = recorded_frames(&file);
        assert!(!leftover, "SIG{sig}: a cut frame at the end");
        assert_eq!(frames.len(), received, "SIG{sig}");
        assert!(frames.iter().all(|f| decodes(f)), "SIG{sig}");
    }
    server.stop();
}

#[test]
fn kill_9_leaves_a_recording_whose_frames_decode() {
    let server = our_server("loop", 25.0, mjpeg::testpattern::frames(25, 128, 96), true);
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("killed.Mjpeg");
    let p = recording(&server.url("loop"), &file);
    assert!(p.signal("KILL"));
    let out = p.finish(Duration::from_secs(20));
    assert_eq!(out.code, None, "killed: {}", out.log());
    let (frames, _) = recorded_frames(&file);
    // The progress line said 10 frames or more had come: all but at most one were written.
    assert!(frames.len() >= 9, "{} frames", frames.len());
    assert!(frames.iter().all(|f| decodes(f)));
    server.stop();
}

#[test]
fn large_frames_over_udp_arrive_whole_and_socket_drops_are_named() {
    let frames = mjpeg::testpattern::frames(10, 2000, 2000);
    let biggest = frames.iter().map(Bytes::len).max().unwrap_or(0);
    assert!(biggest > 100_000, "large frames: {biggest} bytes");
    let server = our_server("big", 25.0, frames.clone(), false);
    let url = server.url("big");
    let out = client(&[&url, "--headless", "--transport", "udp", "--stats"]);
    assert_eq!(out.code, Some(0), "{}", out.log());
    assert!(
        !out.stderr.contains("receive buffer"),
        "4 MiB granted: {}",
        out.log()
    );
    for (key, want) in [
        ("frames_received", frames.len().to_string()),
        ("frames_dropped", "0".into()),
        ("lost", "0".into()),
        ("socket_drops", "0".into()),
    ] {
        assert_eq!(out.stats_field(key), want, "{key}: {}", out.log());
    }
    // A tiny buffer: the kernel drops datagrams of each burst, and the final line says so.
    let out = client(&[
        &url,
        "--headless",
        "--transport",
        "udp",
        "--stats",
        "--recv-buffer",
        "4096",
    ]);
    let drops: u64 = out.stats_field("socket_drops").parse().expect("a number");
    assert!(drops > 0, "{}", out.log());
    assert!(
        out.stderr.contains(&format!(
            "({drops} datagram(s) dropped by this host: the socket's receive buffer of "
        )),
        "{}",
        out.log()
    );
    // More than the kernel grants (net.core.rmem_max caps it, root or not): said at the start.
    let out = client(&[
        &url,
        "--headless",
        "--transport",
        "udp",
        "--frames",
        "1",
        "--recv-buffer",
        "1073741824",
    ]);
    assert!(
        out.stderr
            .contains("client-std: RTP socket: receive buffer ")
            && out
                .stderr
                .contains(" bytes (asked 1073741824; raise net.core.rmem_max)"),
        "{}",
        out.log()
    );
    server.stop();
}
