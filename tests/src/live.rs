//! Support for the live hub tests (`tests/live_*.rs`): `server-mio` run as a process from a
//! configuration file, known frames and the check that a reader got an unbroken run of them,
//! the real readers (ffmpeg, GStreamer, client-std) recording what they get, the real
//! publishers, an MJPEG-over-HTTP server whose connections a test watches, stops and starts
//! again, and our own RTSP client playing a path.
//!
//! Every wait is bounded; every process is killed when its handle drops.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use bytes::Bytes;
use rtsp_core::client::TransportChoice;

use crate::peers::{gst_shutdown_race, run_peer, PeerOutput, Spawned};
use crate::{recv_until, scan_of, spawn_client, ClientRuntime, Ev, TestClient};

/// The rate publishers and test servers send at.
pub const FPS: u32 = 25;

/// Bound on one reader's run (startup, `n` frames, shutdown).
pub const READER_LIMIT: Duration = Duration::from_secs(40);

/// Longest wait for a server's line, a connection, a frame after a (re)start.
pub const WAIT: Duration = Duration::from_secs(20);

/// `server-mio` as a process: `--config FILE --bind 127.0.0.1 --port PORT --threads 2` (two
/// event loops, so frames cross loops), its log (standard error) read line by line. Killed
/// when dropped.
pub struct ServerMio {
    proc: Spawned,
    addr: SocketAddr,
    _config: tempfile::TempDir,
}

impl ServerMio {
    /// Starts `bin` with `config` (TOML) as its file, on a free port, with `args` after; waits
    /// for the line saying where it listens.
    pub fn start(bin: &Path, config: &str, args: &[&str]) -> Self {
        Self::start_on(bin, 0, config, args)
    }

    /// [`ServerMio::start`] on `port` (0: any free one).
    pub fn start_on(bin: &Path, port: u16, config: &str, args: &[&str]) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let file = dir.path().join("server.toml");
        std::fs::write(&file, config).expect("write config");
        let port = port.to_string();
        let mut all = vec![
            "--config",
            file.to_str().expect("utf-8 path"),
            "--bind",
            "127.0.0.1",
            "--port",
            &port,
            "--threads",
            "2",
        ];
        all.extend_from_slice(args);
        let mut proc =
            Spawned::start_env(bin, &all, &[("RUST_LOG", "info")]).expect("start server-mio");
        let line = proc
            .wait_stdout(WAIT, |l| l.contains("RTSP on "))
            .unwrap_or_else(|| panic!("server-mio did not start:\n{}", proc.stderr.join("\n")));
        let addr = line
            .split("RTSP on ")
            .nth(1)
            .and_then(|r| r.split(',').next())
            .and_then(|a| a.parse().ok())
            .unwrap_or_else(|| panic!("no address in {line:?}"));
        Self {
            proc,
            addr,
            _config: dir,
        }
    }

    /// `rtsp://127.0.0.1:PORT/PATH`.
    pub fn url(&self, path: &str) -> String {
        format!("rtsp://{}/{path}", self.addr)
    }

    /// The RTSP port.
    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// Waits up to `within` for a log line containing `needle` (lines before it are kept for
    /// [`ServerMio::count`]); returns it.
    pub fn wait_log(&mut self, within: Duration, needle: &str) -> Option<String> {
        self.proc.wait_stderr(within, |l| l.contains(needle))
    }

    /// Like [`ServerMio::wait_log`], panicking with the log when the line does not come.
    pub fn expect_log(&mut self, within: Duration, needle: &str) -> String {
        self.wait_log(within, needle)
            .unwrap_or_else(|| panic!("no {needle:?} within {within:?}:\n{}", self.log()))
    }

    /// Log lines so far (without waiting) that contain `needle`.
    pub fn count(&mut self, needle: &str) -> usize {
        self.proc
            .stderr_now()
            .iter()
            .filter(|l| l.contains(needle))
            .count()
    }

    /// The whole log so far, for assertion messages.
    pub fn log(&mut self) -> String {
        self.proc.stderr_now().join("\n")
    }
}

/// Whether GStreamer has the element `name` (`rtspclientsink` comes with Debian's
/// gstreamer1.0-rtsp); if not, says so loudly (the test then passes).
pub fn require_gst_element(name: &str) -> bool {
    let found = std::process::Command::new("gst-inspect-1.0")
        .arg(name)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !found {
        eprintln!(
            "\n!!!!!!!! SKIPPED: GStreamer element `{name}` is missing; this interop test did NOT \
             run. .ci/run installs it (Debian packages gstreamer1.0-tools gstreamer1.0-rtsp \
             gstreamer1.0-plugins-good gstreamer1.0-plugins-bad). !!!!!!!!\n"
        );
    }
    found
}

/// `n` test-pattern frames numbered from `first` (each shows its number, so every scan
/// differs), `w` × `h`: RFC 2435 carriable, 4:2:0, standard Huffman tables.
pub fn known_frames(first: u32, n: u32, w: u16, h: u16) -> Vec<Bytes> {
    (first..first + n)
        .map(|i| mjpeg::testpattern::frame(i, w, h))
        .collect()
}

/// Writes `frames` as one concatenated-JPEG file `dir/name`; returns its path.
pub fn write_frames(dir: &Path, name: &str, frames: &[Bytes]) -> PathBuf {
    let mut data = Vec::new();
    mjpeg::write_concatenated(frames, &mut data);
    let path = dir.join(name);
    std::fs::write(&path, data).expect("write frames");
    path
}

/// Asserts that `got` is a run of `source`: `got[0]`'s scan is that of some source frame k,
/// `got[i]`'s that of frame k + i (wrapping around when the source `looping`), byte for byte.
/// Returns k. `what` names the reader in the message.
pub fn assert_run(source: &[Bytes], got: &[Bytes], looping: bool, what: &str) -> usize {
    assert!(!got.is_empty(), "{what}: no frame");
    let scans: Vec<Vec<u8>> = source.iter().map(|f| scan_of(f)).collect();
    let index = |jpeg: &Bytes| scans.iter().position(|s| *s == scan_of(jpeg));
    let start =
        index(&got[0]).unwrap_or_else(|| panic!("{what}: frame 0 is none of the source frames"));
    for (i, jpeg) in got.iter().enumerate() {
        let want = if looping {
            (start + i) % source.len()
        } else {
            start + i
        };
        assert!(
            want < source.len(),
            "{what}: frame {i} after the source's end"
        );
        if scan_of(jpeg) != scans[want] {
            panic!(
                "{what}: frame {i} should be source frame {want} (the run starts at {start}), \
                 it is {:?}",
                index(jpeg)
            );
        }
    }
    start
}

/// Splits a recording into its JPEGs (none for an empty or missing file).
fn recorded(path: &Path) -> Vec<Bytes> {
    let data = Bytes::from(std::fs::read(path).unwrap_or_default());
    if data.is_empty() {
        return Vec::new();
    }
    mjpeg::split_frames(&data)
        .expect("recording splits into JPEGs")
        .1
}

/// A real reader of an RTSP URL that records the JPEGs it gets.
#[derive(Debug, Clone)]
pub enum Reader {
    /// `ffmpeg -rtsp_transport T -i URL -frames:v N -c copy -f mjpeg OUT`.
    Ffmpeg(&'static str),
    /// `rtspsrc protocols=T ! rtpjpegdepay ! identity eos-after=N+1 ! filesink`.
    Gst(&'static str),
    /// `client-std --headless --transport T --frames N --record OUT` (the binary's path).
    ClientStd(PathBuf, &'static str),
}

impl Reader {
    /// Its name, for messages.
    pub fn name(&self) -> String {
        match self {
            Self::Ffmpeg(t) => format!("ffmpeg over {t}"),
            Self::Gst(t) => format!("gst rtspsrc over {t}"),
            Self::ClientStd(_, t) => format!("client-std over {t}"),
        }
    }

    /// Reads `n` frames of `url` into a file in `dir` (bounded by [`READER_LIMIT`]); asserts
    /// a clean end and returns the frames.
    pub fn record(&self, url: &str, n: usize, dir: &Path) -> Vec<Bytes> {
        let name = self.name();
        let out = dir.join(format!("{}.mjpeg", name.replace(' ', "-")));
        let out_s = out.to_str().expect("utf-8 path");
        let n_s = n.to_string();
        let run = match self {
            Self::Ffmpeg(t) => run_peer(
                "ffmpeg",
                &[
                    "-nostdin",
                    "-hide_banner",
                    "-loglevel",
                    "error",
                    "-rtsp_transport",
                    t,
                    "-i",
                    url,
                    "-frames:v",
                    &n_s,
                    "-c",
                    "copy",
                    "-f",
                    "mjpeg",
                    "-y",
                    out_s,
                ],
                READER_LIMIT,
            ),
            Self::Gst(t) => {
                // identity's eos-after counts the buffer it ends on: N frames pass.
                let eos = format!("eos-after={}", n + 1);
                run_peer(
                    "gst-launch-1.0",
                    &[
                        "-e",
                        "rtspsrc",
                        &format!("location={url}"),
                        &format!("protocols={t}"),
                        "latency=100",
                        "!",
                        "rtpjpegdepay",
                        "!",
                        "identity",
                        &eos,
                        "!",
                        "filesink",
                        &format!("location={out_s}"),
                    ],
                    READER_LIMIT,
                )
            }
            Self::ClientStd(bin, t) => run_peer(
                bin.to_str().expect("utf-8 path"),
                &[
                    url,
                    "--headless",
                    "--quiet",
                    "--transport",
                    t,
                    "--frames",
                    &n_s,
                    "--record",
                    out_s,
                ],
                READER_LIMIT,
            ),
        };
        assert_clean(self, &run);
        let frames = recorded(&out);
        assert_eq!(frames.len(), n, "{name}: frames recorded\n{}", run.log());
        frames
    }
}

/// The reader ended as it should: exit 0 with nothing on stderr (ffmpeg at `-loglevel
/// error`, client-std `--quiet`), or for gst-launch EOS (its own shutdown race allowed).
fn assert_clean(reader: &Reader, run: &PeerOutput) {
    let name = reader.name();
    if let Reader::Gst(_) = reader {
        if gst_shutdown_race(run) {
            return;
        }
        assert!(
            run.code == Some(0) && run.stdout.contains("Got EOS"),
            "{name} failed\n{}",
            run.log()
        );
        return;
    }
    assert_eq!(run.code, Some(0), "{name} failed\n{}", run.log());
    assert!(
        run.stderr.trim().is_empty(),
        "{name} complained\n{}",
        run.log()
    );
}

/// Runs every reader on `url` at once (each on its own thread), `n` frames each; returns
/// their frames in the order given.
pub fn record_all(readers: &[Reader], url: &str, n: usize, dir: &Path) -> Vec<Vec<Bytes>> {
    std::thread::scope(|s| {
        let runs: Vec<_> = readers
            .iter()
            .map(|r| s.spawn(move || r.record(url, n, dir)))
            .collect();
        runs.into_iter()
            .map(|t| t.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
            .collect()
    })
}

/// Our client and three real readers (ffmpeg over UDP, rtspsrc over TCP, client-std `bin`
/// over UDP) read `url` at once, 30 frames each: each must get a run of `source` (`looping`:
/// wrapping around).
pub fn readers_get_runs(url: &str, source: &[Bytes], looping: bool, bin: &Path, dir: &Path) {
    const READ: usize = 30;
    let (ours, _) = play(url);
    let readers = [
        Reader::Ffmpeg("udp"),
        Reader::Gst("tcp"),
        Reader::ClientStd(bin.to_path_buf(), "udp"),
    ];
    let got = record_all(&readers, url, READ, dir);
    for (reader, frames) in readers.iter().zip(&got) {
        assert_run(source, frames, looping, &reader.name());
    }
    let ours: Vec<Bytes> = frames_until(&ours, WAIT, |f| f.len() >= READ)
        .into_iter()
        .map(|(_, jpeg)| jpeg)
        .collect();
    assert_run(source, &ours, looping, "our client");
}

/// ffmpeg's arguments to read the concatenated-JPEG `file` in real time, at [`FPS`], and
/// write its frames unchanged (`-c:v copy`) as `output` says (format, URL, ...).
pub fn ffmpeg_send_args(file: &Path, output: &[&str]) -> Vec<String> {
    let fps = FPS.to_string();
    let mut args = vec![
        "-nostdin",
        "-hide_banner",
        "-loglevel",
        "error",
        "-re",
        "-f",
        "mjpeg",
        "-framerate",
        &fps,
        "-i",
        file.to_str().expect("utf-8 path"),
        "-c:v",
        "copy",
    ];
    args.extend_from_slice(output);
    args.into_iter().map(String::from).collect()
}

/// `ffmpeg` with `args` (from [`ffmpeg_send_args`]) in the background.
pub fn spawn_ffmpeg(args: &[String]) -> Spawned {
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    Spawned::start(Path::new("ffmpeg"), &args).expect("start ffmpeg")
}

/// ffmpeg publishing the concatenated-JPEG `file` unchanged to `url` with ANNOUNCE/RECORD over
/// `transport` (`udp` or `tcp`), in real time.
pub fn ffmpeg_publish(file: &Path, url: &str, transport: &str) -> Spawned {
    spawn_ffmpeg(&ffmpeg_send_args(
        file,
        &["-f", "rtsp", "-rtsp_transport", transport, url],
    ))
}

/// ffmpeg's output arguments for an MJPEG-over-HTTP server (`multipart/x-mixed-replace`) that
/// serves one client; the URL follows.
pub const FFMPEG_MPJPEG_SERVER: [&str; 6] = [
    "-f",
    "mpjpeg",
    "-content_type",
    "multipart/x-mixed-replace;boundary=ffmpeg",
    "-listen",
    "1",
];

/// A port free on 127.0.0.1 a moment ago.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port()
}

/// GStreamer's `rtspclientsink` publishing the concatenated-JPEG `file` over `protocols`
/// (`udp` or `tcp`): `jpegparse` splits it, `videorate` stamps the frames at [`FPS`] (one
/// out for one in), `rtspclientsink` payloads each unchanged (`rtpjpegpay`) and sends it
/// in real time.
pub fn gst_publish(file: &Path, url: &str, protocols: &str) -> Spawned {
    Spawned::start(
        Path::new("gst-launch-1.0"),
        &[
            "multifilesrc",
            &format!("location={}", file.to_str().expect("utf-8 path")),
            &format!("caps=image/jpeg,framerate={FPS}/1"),
            "!",
            "jpegparse",
            "!",
            "videorate",
            "!",
            "rtspclientsink",
            &format!("location={url}"),
            &format!("protocols={protocols}"),
        ],
    )
    .expect("start gst-launch-1.0")
}

/// What happened to a connection of an [`MjpegHttp`] server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HttpConn {
    /// A client connected and asked for the stream.
    Opened,
    /// That connection ended (the client closed it, or the server stopped).
    Closed,
}

/// An MJPEG-over-HTTP server on 127.0.0.1 (`multipart/x-mixed-replace`, the form IP cameras
/// send): every connection gets the frames in a loop, from the first, at [`FPS`], until it
/// closes or the server stops. Stopped (dropped), it closes the listener and every connection,
/// as a camera that dies would.
pub struct MjpegHttp {
    addr: SocketAddr,
    /// Each connection's opening and end, in order.
    pub conns: Receiver<HttpConn>,
    stop: Arc<AtomicBool>,
    accept: Option<JoinHandle<()>>,
}

impl MjpegHttp {
    /// Starts on a free port.
    pub fn start(frames: Vec<Bytes>) -> Self {
        Self::start_on(0, frames).expect("bind the HTTP server")
    }

    /// Starts on `port` (0: any free one).
    pub fn start_on(port: u16, frames: Vec<Bytes>) -> io::Result<Self> {
        let listener = TcpListener::bind(("127.0.0.1", port))?;
        let addr = listener.local_addr()?;
        let stop = Arc::new(AtomicBool::new(false));
        let (tx, conns) = mpsc::channel();
        let frames = Arc::new(frames);
        let accept = {
            let stop = stop.clone();
            std::thread::spawn(move || {
                let mut served = Vec::new();
                for stream in listener.incoming() {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    let Ok(stream) = stream else { continue };
                    let (frames, stop, tx) = (frames.clone(), stop.clone(), tx.clone());
                    served.push(std::thread::spawn(move || {
                        serve_mjpeg(stream, &frames, &stop, &tx);
                    }));
                }
                for t in served {
                    let _ = t.join();
                }
            })
        };
        Ok(Self {
            addr,
            conns,
            stop,
            accept: Some(accept),
        })
    }

    /// `http://127.0.0.1:PORT/stream`.
    pub fn url(&self) -> String {
        format!("http://{}/stream", self.addr)
    }

    /// The port.
    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// The next connection event within `within`, if any.
    pub fn next_conn(&self, within: Duration) -> Option<HttpConn> {
        self.conns.recv_timeout(within).ok()
    }
}

impl Drop for MjpegHttp {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop; each connection sees the flag before its next frame.
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_secs(1));
        if let Some(t) = self.accept.take() {
            let _ = t.join();
        }
    }
}

/// One connection: the request head, the response head, then the frames as parts until a
/// write fails or `stop`.
fn serve_mjpeg(
    mut stream: TcpStream,
    frames: &[Bytes],
    stop: &AtomicBool,
    tx: &mpsc::Sender<HttpConn>,
) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        match stream.read(&mut byte) {
            Ok(1) => head.push(byte[0]),
            _ => return,
        }
    }
    let _ = tx.send(HttpConn::Opened);
    let reply =
        "HTTP/1.1 200 OK\r\nContent-Type: multipart/x-mixed-replace; boundary=frame\r\n\r\n";
    let mut ok = stream.write_all(reply.as_bytes()).is_ok();
    let interval = Duration::from_secs(1) / FPS;
    let started = Instant::now();
    let mut i = 0u32;
    while ok && !stop.load(Ordering::SeqCst) {
        let jpeg = &frames[i as usize % frames.len()];
        let mut part = format!(
            "--frame\r\nContent-Type: image/jpeg\r\nContent-Length: {}\r\n\r\n",
            jpeg.len()
        )
        .into_bytes();
        part.extend_from_slice(jpeg);
        part.extend_from_slice(b"\r\n");
        ok = stream.write_all(&part).is_ok();
        i += 1;
        // The camera's frame clock (pacing), not a synchronisation.
        let next = started + interval * i;
        std::thread::sleep(next.saturating_duration_since(Instant::now()));
    }
    let _ = stream.shutdown(std::net::Shutdown::Both);
    let _ = tx.send(HttpConn::Closed);
}

/// Our RTSP client (runtime-std, in this process) playing `url` over TCP interleaved:
/// DESCRIBE, SETUP and PLAY done (each within [`WAIT`]). Returns it with its session id.
pub fn play(url: &str) -> (TestClient, String) {
    let client = spawn_client(ClientRuntime::Std, url, true);
    client.command(|c| {
        c.describe().expect("describe");
    });
    recv_until(&client.events, WAIT, |e| matches!(e, Ev::Described)).expect("DESCRIBE reply");
    client.command(|c| {
        c.setup(TransportChoice::Tcp).expect("setup");
    });
    recv_until(&client.events, WAIT, |e| matches!(e, Ev::SetupDone)).expect("SETUP reply");
    let session = client
        .query(|c| c.session_id().map(str::to_string))
        .expect("session id");
    client.command(|c| {
        c.play(None).expect("play");
    });
    recv_until(&client.events, WAIT, |e| matches!(e, Ev::Playing)).expect("PLAY reply");
    (client, session)
}

/// Frames (RTP timestamp, JPEG) `client` receives until `done` holds for the frames so far,
/// or `within` passes (then panics). A failure or the connection closing panics too.
pub fn frames_until(
    client: &TestClient,
    within: Duration,
    mut done: impl FnMut(&[(u32, Bytes)]) -> bool,
) -> Vec<(u32, Bytes)> {
    let mut got = Vec::new();
    let deadline = Instant::now() + within;
    while !done(&got) {
        let left = deadline.saturating_duration_since(Instant::now());
        match client.events.recv_timeout(left) {
            Ok(Ev::Frame(ts, jpeg)) => got.push((ts, jpeg)),
            Ok(ev @ (Ev::Failed(_) | Ev::Closed)) => {
                panic!("the reader's session broke: {ev:?}")
            }
            Ok(_) => {}
            Err(RecvTimeoutError::Timeout) => {
                panic!("{} frames within {within:?}, not enough", got.len())
            }
            Err(RecvTimeoutError::Disconnected) => panic!("client runtime ended"),
        }
    }
    got
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_run_is_found_and_a_gap_a_repeat_or_a_stranger_fails() {
        let source = known_frames(0, 6, 32, 16);
        let run = |idx: &[usize]| idx.iter().map(|&i| source[i].clone()).collect::<Vec<_>>();
        assert_eq!(assert_run(&source, &run(&[2, 3, 4]), false, "run"), 2);
        assert_eq!(assert_run(&source, &run(&[4, 5, 0, 1]), true, "wrap"), 4);
        let fails = |got: Vec<Bytes>, looping: bool| {
            std::panic::catch_unwind(|| assert_run(&source, &got, looping, "bad")).is_err()
        };
        assert!(fails(run(&[2, 4]), false), "a gap");
        assert!(fails(run(&[2, 2]), false), "a repeat");
        assert!(fails(run(&[5, 0]), false), "past the end");
        assert!(fails(Vec::new(), false), "nothing");
        assert!(fails(known_frames(10, 1, 32, 16), true), "a stranger");
    }
}
