//! What the source tests share: an event collector, options with short waits, a scripted
//! HTTP server and test frames.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use bytes::Bytes;
use runtime_std::source::{
    self, Sink, SourceEvent, SourceHandle, SourceOptions, SourceSpec, SourceState,
};

/// Longest wait for any one event: generous for a loaded machine, bounded so a broken source
/// fails the test instead of hanging it.
pub const WAIT: Duration = Duration::from_secs(20);

/// Options with short backoffs and snapshot interval.
pub fn opts() -> SourceOptions {
    SourceOptions {
        snapshot_interval: Duration::from_millis(20),
        backoff_min: Duration::from_millis(20),
        backoff_max: Duration::from_millis(200),
        connect_timeout: Duration::from_secs(5),
        read_timeout: Duration::from_secs(10),
        discard_exec_stderr: true,
        ..SourceOptions::default()
    }
}

/// `n` distinct small JPEGs.
pub fn jpegs(n: u32) -> Vec<Bytes> {
    mjpeg::testpattern::frames(n, 64, 48)
}

/// Spawns a source whose events go to the returned [`Events`].
pub fn start(name: &str, spec: SourceSpec, opts: SourceOptions) -> (SourceHandle, Events) {
    let (sink, events) = collector();
    (source::spawn(name, spec, opts, sink).unwrap(), events)
}

/// Asserts that no [`SourceState::Lost`] is among `seen`.
pub fn assert_no_loss(seen: &[SourceEvent]) {
    assert!(
        !seen
            .iter()
            .any(|e| matches!(e, SourceEvent::State(SourceState::Lost { .. }))),
        "{seen:?}"
    );
}

/// A server that answers with the head of a multipart stream, then sends nothing until the
/// client closes.
pub fn silent_stream_server() -> HttpServer {
    HttpServer::start(|_, _, s| {
        s.write_all(multipart_head("").as_bytes()).unwrap();
        wait_for_close(s);
    })
}

/// A sink that queues the events for [`Events`].
pub fn collector() -> (Sink, Events) {
    let (tx, rx) = mpsc::channel();
    let sink: Sink = Arc::new(move |e| {
        let _ = tx.send(e);
    });
    (sink, Events { rx })
}

/// The events a source reported, in order.
pub struct Events {
    rx: Receiver<SourceEvent>,
}

impl Events {
    /// The next event (panics after [`WAIT`]).
    pub fn next(&self) -> SourceEvent {
        self.rx
            .recv_timeout(WAIT)
            .unwrap_or_else(|e| panic!("no source event within {WAIT:?}: {e}"))
    }

    /// The next state (frames before it are skipped).
    pub fn state(&self) -> SourceState {
        loop {
            if let SourceEvent::State(s) = self.next() {
                return s;
            }
        }
    }

    /// The next state, which must be `want`.
    pub fn expect_state(&self, want: &SourceState) {
        assert_eq!(&self.state(), want);
    }

    /// The reason of the next [`SourceState::Lost`] (frames and other states before it are
    /// skipped), with its retry delay.
    pub fn lost(&self) -> (String, Duration) {
        loop {
            if let SourceState::Lost { reason, retry_in } = self.state() {
                return (reason, retry_in);
            }
        }
    }

    /// The next `n` frames, which must come with no state change between them.
    pub fn frames(&self, n: usize) -> Vec<SourceEvent> {
        (0..n)
            .map(|i| match self.next() {
                e @ SourceEvent::Frame { .. } => e,
                other => panic!("frame {i}: expected a frame, got {other:?}"),
            })
            .collect()
    }

    /// Expects [`SourceState::Connecting`] and [`SourceState::Streaming`], then returns the
    /// JPEGs of the next `n` frames.
    pub fn jpegs_after_streaming(&self, n: usize) -> Vec<Bytes> {
        self.expect_state(&SourceState::Connecting);
        self.expect_state(&SourceState::Streaming);
        self.jpegs(n)
    }

    /// The JPEGs of the next `n` frames (see [`Events::frames`]).
    pub fn jpegs(&self, n: usize) -> Vec<Bytes> {
        self.frames(n).into_iter().map(jpeg).collect()
    }

    /// Skips to the next frame (states before it are skipped) and returns it.
    pub fn next_frame(&self) -> SourceEvent {
        loop {
            if let e @ SourceEvent::Frame { .. } = self.next() {
                return e;
            }
        }
    }

    /// Every event up to and including [`SourceState::Stopped`] (after a stop).
    pub fn until_stopped(&self) -> Vec<SourceEvent> {
        let mut seen = Vec::new();
        loop {
            let e = self.next();
            let last = e == SourceEvent::State(SourceState::Stopped);
            seen.push(e);
            if last {
                return seen;
            }
        }
    }
}

/// A frame event's JPEG.
pub fn jpeg(e: SourceEvent) -> Bytes {
    match e {
        SourceEvent::Frame { jpeg, .. } => jpeg,
        other => panic!("not a frame: {other:?}"),
    }
}

/// A scripted HTTP server on 127.0.0.1: one connection at a time, on its own thread.
pub struct HttpServer {
    addr: SocketAddr,
    requests: Arc<Mutex<Vec<String>>>,
    /// Each request head as it comes.
    pub arrived: Receiver<String>,
    done: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl HttpServer {
    /// Serves each connection with `handler(index, request_head, stream)` (index counting
    /// connections from 0, after reading the request head); the connection closes when the
    /// handler returns.
    pub fn start(mut handler: impl FnMut(usize, &str, &mut TcpStream) + Send + 'static) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let requests = Arc::new(Mutex::new(Vec::new()));
        let done = Arc::new(AtomicBool::new(false));
        let (tx, arrived) = mpsc::channel();
        let thread = {
            let (requests, done) = (requests.clone(), done.clone());
            std::thread::spawn(move || {
                for index in 0.. {
                    let Ok((mut stream, _)) = listener.accept() else {
                        break;
                    };
                    if done.load(Ordering::SeqCst) {
                        break;
                    }
                    stream.set_read_timeout(Some(WAIT)).unwrap();
                    let Some(head) = read_head(&mut stream) else {
                        continue;
                    };
                    requests.lock().unwrap().push(head.clone());
                    let _ = tx.send(head.clone());
                    handler(index, &head, &mut stream);
                }
            })
        };
        Self {
            addr,
            requests,
            arrived,
            done,
            thread: Some(thread),
        }
    }

    /// `http://127.0.0.1:PORT{path}`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// The port.
    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// The request heads so far.
    pub fn requests(&self) -> Vec<String> {
        self.requests.lock().unwrap().clone()
    }
}

impl Drop for HttpServer {
    fn drop(&mut self) {
        self.done.store(true, Ordering::SeqCst);
        // Wake the accept.
        let _ = TcpStream::connect(self.addr);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Reads up to the end of a request head.
fn read_head(stream: &mut TcpStream) -> Option<String> {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        match stream.read(&mut byte) {
            Ok(1) => head.push(byte[0]),
            _ => return None,
        }
    }
    Some(String::from_utf8_lossy(&head).into_owned())
}

/// Waits until the client closes the connection (a stopped source shuts it down).
pub fn wait_for_close(stream: &mut TcpStream) {
    let mut buf = [0u8; 1024];
    while matches!(stream.read(&mut buf), Ok(n) if n > 0) {}
}

/// Writes `data` in pieces of `piece` bytes (the reader sees them split anywhere).
pub fn write_in_pieces(stream: &mut TcpStream, data: &[u8], piece: usize) {
    for p in data.chunks(piece) {
        if stream.write_all(p).is_err() {
            return;
        }
    }
}

/// A `multipart/x-mixed-replace; boundary=frame` body part holding `jpeg`, with or without a
/// `Content-Length`.
pub fn part(jpeg: &[u8], with_length: bool) -> Vec<u8> {
    let mut p = b"--frame\r\nContent-Type: image/jpeg\r\n".to_vec();
    if with_length {
        p.extend_from_slice(format!("Content-Length: {}\r\n", jpeg.len()).as_bytes());
    }
    p.extend_from_slice(b"\r\n");
    p.extend_from_slice(jpeg);
    p.extend_from_slice(b"\r\n");
    p
}

/// The head of a multipart stream response (`extra`: more header lines, each ending in CRLF).
pub fn multipart_head(extra: &str) -> String {
    format!(
        "HTTP/1.1 200 OK\r\nContent-Type: multipart/x-mixed-replace; boundary=frame\r\n{extra}\r\n"
    )
}

/// `data` as a chunked body of chunks of `size` bytes, with the last chunk.
pub fn chunked(data: &[u8], size: usize) -> Vec<u8> {
    let mut out = Vec::new();
    for c in data.chunks(size) {
        out.extend_from_slice(format!("{:x}\r\n", c.len()).as_bytes());
        out.extend_from_slice(c);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"0\r\n\r\n");
    out
}
