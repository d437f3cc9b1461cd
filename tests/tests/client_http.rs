//! client-std plays HTTP MJPEG (issue 16): a `multipart/x-mixed-replace` stream or a JPEG
//! snapshot, headless, recorded byte for byte, against a scripted HTTP server thread and
//! against ffmpeg's (`-f mpjpeg -listen 1`), all on loopback and bounded:
//!
//! * the server ends the stream (the connection closes, even in the middle of a part): exit
//!   0 after the whole frames, every one recorded unchanged (concatenated or lab format);
//! * `--frames N` stops after N; a snapshot URL is polled, one frame per request;
//! * 404, 401 (with and without credentials in the URL), a refused connection and a
//!   content type that is not MJPEG exit 1 with a message that says what to do; Basic
//!   credentials from the URL are sent;
//! * usage errors (https://, RTSP-only options) exit 2.
//!
//! Needs `target/debug/client-std` (`cargo build -p client-std`).

mod interop_client_support;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::sync::mpsc::{self, Receiver};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use bytes::Bytes;
use interop_client_support::client_std;
use it::live::{
    assert_run, ffmpeg_send_args, free_port, known_frames, spawn_ffmpeg, write_frames,
    FFMPEG_MPJPEG_SERVER,
};
use it::peers::{require_peer, PeerOutput, Spawned};

/// Longest run of client-std or ffmpeg.
const LIMIT: Duration = Duration::from_secs(60);

/// Runs client-std with `args` (headless) to its end, bounded by [`LIMIT`].
fn client(args: &[&str]) -> PeerOutput {
    let mut all = vec!["--headless"];
    all.extend_from_slice(args);
    Spawned::start(&client_std(), &all)
        .expect("start client-std")
        .finish(LIMIT)
}

/// The frames of a recording (either format).
fn recorded(path: &Path) -> Vec<Bytes> {
    let data = Bytes::from(std::fs::read(path).expect("the recording"));
    if data.is_empty() {
        return Vec::new();
    }
    mjpeg::split_frames(&data).expect("recorded frames").1
}

/// A scripted HTTP server on 127.0.0.1: each connection (up to `conns`) gets its request
/// head read, then `reply(index, head, stream)`; the connection closes when it returns. The
/// request heads come out of [`Script::heads`].
struct Script {
    addr: SocketAddr,
    heads: Receiver<String>,
    thread: Option<JoinHandle<()>>,
}

type Reply = dyn Fn(usize, &str, &mut TcpStream) + Send + Sync;

impl Script {
    fn start(
        conns: usize,
        reply: impl Fn(usize, &str, &mut TcpStream) + Send + Sync + 'static,
    ) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = listener.local_addr().expect("addr");
        let (tx, heads) = mpsc::channel();
        let reply: Arc<Reply> = Arc::new(reply);
        let thread = std::thread::spawn(move || {
            for index in 0..conns {
                let Ok((mut stream, _)) = listener.accept() else {
                    return;
                };
                let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
                let mut head = Vec::new();
                let mut byte = [0u8; 1];
                while !head.ends_with(b"\r\n\r\n") {
                    match stream.read(&mut byte) {
                        Ok(1) => head.push(byte[0]),
                        _ => break,
                    }
                }
                let head = String::from_utf8_lossy(&head).into_owned();
                let _ = tx.send(head.clone());
                reply(index, &head, &mut stream);
                let _ = stream.flush();
                let _ = stream.shutdown(std::net::Shutdown::Both);
            }
        });
        Self {
            addr,
            heads,
            thread: Some(thread),
        }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// The server's thread ends after its connections (bounded by the client's end).
    fn join(mut self) {
        if let Some(t) = self.thread.take() {
            t.join().expect("server thread");
        }
    }
}

/// The multipart response head.
const MULTIPART: &str =
    "HTTP/1.1 200 OK\r\nContent-Type: multipart/x-mixed-replace;boundary=frame\r\nCache-Control: no-cache\r\n\r\n";

/// One part carrying `jpeg`.
fn part(jpeg: &[u8]) -> Vec<u8> {
    let mut p = format!(
        "--frame\r\nContent-Type: image/jpeg\r\nContent-Length: {}\r\n\r\n",
        jpeg.len()
    )
    .into_bytes();
    p.extend_from_slice(jpeg);
    p.extend_from_slice(b"\r\n");
    p
}

/// Writes the multipart head and `frames`, then (when `cut`) half of one more part.
fn send_parts(stream: &mut TcpStream, frames: &[Bytes], cut: Option<&Bytes>) {
    let _ = stream.write_all(MULTIPART.as_bytes());
    for f in frames {
        let _ = stream.write_all(&part(f));
    }
    if let Some(f) = cut {
        let p = part(f);
        let _ = stream.write_all(&p[..p.len() / 2]);
    }
}

#[test]
fn a_multipart_stream_that_ends_is_recorded_byte_for_byte_and_exits_0() {
    let frames = known_frames(0, 6, 160, 120);
    let served = frames.clone();
    // The server stops in the middle of the seventh part: six whole frames.
    let server = Script::start(1, move |_, _, s| {
        send_parts(s, &served[..5], Some(&served[5]))
    });
    let dir = tempfile::tempdir().expect("tempdir");
    let rec = dir.path().join("out.mjpg");
    let out = client(&[
        &server.url("/cam/stream.mjpg"),
        "--record",
        rec.to_str().expect("utf-8"),
        "--stats",
    ]);
    let head = server.heads.recv_timeout(LIMIT).expect("the request");
    server.join();
    assert_eq!(out.code, Some(0), "{}", out.log());
    assert!(
        head.starts_with("GET /cam/stream.mjpg HTTP/1.1\r\n"),
        "{head}"
    );
    assert!(out.stderr.contains("end of stream"), "{}", out.log());
    assert!(out.stderr.contains("5 frame(s) in"), "{}", out.log());
    assert_eq!(recorded(&rec), frames[..5].to_vec());
    assert_eq!(out.stats_field("frames_received"), "5");
    assert_eq!(out.stats_field("transport"), "\"http\"");
    assert_eq!(out.stats_field("end_of_stream"), "true");
    let bytes: usize = frames[..5].iter().map(Bytes::len).sum();
    assert_eq!(out.stats_field("bytes_received"), bytes.to_string());
}

#[test]
fn frames_n_stops_after_n_and_the_lab_format_records_them() {
    let frames = known_frames(0, 40, 160, 120);
    let served = frames.clone();
    // Chunked transfer coding, as ffmpeg's server sends it; more frames than asked for.
    let server = Script::start(1, move |_, _, s| {
        let head = "HTTP/1.1 200 OK\r\nContent-Type: multipart/x-mixed-replace; boundary=\"frame\"\r\nTransfer-Encoding: chunked\r\n\r\n";
        let _ = s.write_all(head.as_bytes());
        for f in served.iter() {
            let p = part(f);
            if s.write_all(format!("{:x}\r\n", p.len()).as_bytes())
                .is_err()
                || s.write_all(&p).is_err()
                || s.write_all(b"\r\n").is_err()
            {
                return;
            }
        }
        let _ = s.write_all(b"0\r\n\r\n");
    });
    let dir = tempfile::tempdir().expect("tempdir");
    let rec = dir.path().join("out.Mjpeg");
    let out = client(&[
        &server.url("/x"),
        "--frames",
        "3",
        "--record",
        rec.to_str().expect("utf-8"),
    ]);
    server.join();
    assert_eq!(out.code, Some(0), "{}", out.log());
    assert!(std::fs::read(&rec)
        .expect("rec")
        .starts_with(format!("{:05}", frames[0].len()).as_bytes()));
    assert_eq!(recorded(&rec), frames[..3].to_vec());
}

#[test]
fn a_snapshot_url_is_polled_one_frame_per_request() {
    let frames = known_frames(0, 2, 160, 120);
    let served = frames.clone();
    let server = Script::start(2, move |i, _, s| {
        let jpeg = &served[i];
        let head = format!(
            "HTTP/1.0 200 OK\r\nContent-Type: image/jpeg\r\nContent-Length: {}\r\n\r\n",
            jpeg.len()
        );
        let _ = s.write_all(head.as_bytes());
        let _ = s.write_all(jpeg);
    });
    let dir = tempfile::tempdir().expect("tempdir");
    let rec = dir.path().join("snap.jpg");
    let out = client(&[
        &server.url("/snapshot.jpg"),
        "--frames",
        "2",
        "--record",
        rec.to_str().expect("utf-8"),
    ]);
    server.join();
    assert_eq!(out.code, Some(0), "{}", out.log());
    assert_eq!(recorded(&rec), frames);
}

#[test]
fn not_found_unauthorized_refused_and_not_mjpeg_exit_1_with_a_reason() {
    let cases: [(&str, &str, &[&str]); 3] = [
        (
            "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n",
            "/nope",
            &["HTTP 404 Not Found"],
        ),
        (
            "HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Basic realm=\"cam\"\r\nContent-Length: 0\r\n\r\n",
            "/cam",
            &["HTTP 401", "http://user:pass@host"],
        ),
        (
            "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 5\r\n\r\nhello",
            "/page",
            &["unsupported content type", "text/html"],
        ),
    ];
    for (reply, path, wanted) in cases {
        let server = Script::start(1, move |_, _, s| {
            let _ = s.write_all(reply.as_bytes());
        });
        let out = client(&[&server.url(path), "--stats"]);
        server.join();
        assert_eq!(out.code, Some(1), "{path}: {}", out.log());
        for w in wanted {
            assert!(out.stderr.contains(w), "{path}: {w:?} in {}", out.log());
        }
        assert!(out.stderr.contains("client-std: error:"), "{}", out.log());
        assert!(!out.stderr.contains("0 frame(s)"), "{}", out.log());
        assert_eq!(out.stats_field("exit_code"), "1");
    }
    let out = client(&[&format!("http://127.0.0.1:{}/x", free_port())]);
    assert_eq!(out.code, Some(1), "{}", out.log());
    assert!(
        out.stderr.contains("cannot connect") && out.stderr.contains("refused"),
        "{}",
        out.log()
    );
}

#[test]
fn credentials_in_the_url_are_sent_and_a_refusal_says_so() {
    let frames = known_frames(0, 2, 160, 120);
    let served = frames.clone();
    // RFC 7617's example credentials.
    let server = Script::start(2, move |_, head, s| {
        if head.contains("\r\nAuthorization: Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==\r\n") {
            send_parts(s, &served, None);
        } else {
            let _ = s.write_all(b"HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Basic realm=\"cam\"\r\nContent-Length: 0\r\n\r\n");
        }
    });
    let url = server
        .url("/cam")
        .replace("http://", "http://Aladdin:open%20sesame@");
    let out = client(&[&url]);
    assert_eq!(out.code, Some(0), "{}", out.log());
    assert!(out.stderr.contains("2 frame(s)"), "{}", out.log());
    let wrong = server
        .url("/cam")
        .replace("http://", "http://Aladdin:wrong@");
    let out = client(&[&wrong]);
    server.join();
    assert_eq!(out.code, Some(1), "{}", out.log());
    assert!(
        out.stderr.contains("refused the credentials"),
        "{}",
        out.log()
    );
    assert!(
        !out.stderr.contains("wrong"),
        "the password is not shown: {}",
        out.log()
    );
}

#[test]
fn usage_errors_exit_2() {
    for args in [
        &["https://127.0.0.1:1/x"][..],
        &["http://127.0.0.1:1/x", "--seek", "3"],
        &["http://127.0.0.1:1/x", "--transport", "tcp"],
        &["http://127.0.0.1:99999/x"],
    ] {
        let out = client(args);
        assert_eq!(out.code, Some(2), "{args:?}: {}", out.log());
    }
}

/// Whether something listens on 127.0.0.1:`port` (`/proc/net/tcp`, state 0A), without
/// connecting (ffmpeg `-listen 1` serves the first connection only).
fn listening(port: u16) -> bool {
    let table = std::fs::read_to_string("/proc/net/tcp").unwrap_or_default();
    let local = format!("0100007F:{port:04X}");
    table.lines().any(|l| {
        let f: Vec<&str> = l.split_whitespace().collect();
        f.len() > 3 && f[1] == local && f[3] == "0A"
    })
}

#[test]
fn ffmpeg_mpjpeg_server_is_played_to_its_end_and_recorded_unchanged() {
    if !require_peer("ffmpeg") {
        return;
    }
    ffmpeg_server_played(&FFMPEG_MPJPEG_SERVER);
    // Without `-content_type` ffmpeg says application/octet-stream: the body's first line
    // (`--ffmpeg`) tells it is multipart.
    ffmpeg_server_played(&["-f", "mpjpeg", "-listen", "1"]);
}

/// ffmpeg with `output` (+ the URL) serves a file's frames; client-std plays them to the end.
fn ffmpeg_server_played(output: &[&str]) {
    let frames = known_frames(0, 25, 160, 120);
    let dir = tempfile::tempdir().expect("tempdir");
    let file = write_frames(dir.path(), "in.mjpeg", &frames);
    let port = free_port();
    let url = format!("http://127.0.0.1:{port}/cam/stream.mjpg");
    let output = [output, &[url.as_str()]].concat();
    let ffmpeg = spawn_ffmpeg(&ffmpeg_send_args(&file, &output));
    let until = Instant::now() + LIMIT;
    while !listening(port) {
        assert!(Instant::now() < until, "ffmpeg does not listen on {port}");
        std::thread::sleep(Duration::from_millis(10));
    }
    let rec = dir.path().join("out.mjpg");
    let out = client(&[&url, "--record", rec.to_str().expect("utf-8")]);
    let ff = ffmpeg.finish(LIMIT);
    assert_eq!(
        out.code,
        Some(0),
        "{output:?}: {}\nffmpeg: {}",
        out.log(),
        ff.log()
    );
    assert!(out.stderr.contains("end of stream"), "{}", out.log());
    let got = recorded(&rec);
    assert_eq!(got.len(), frames.len(), "{}", out.log());
    assert_run(&frames, &got, false, "client-std");
    assert_eq!(got, frames);
}
