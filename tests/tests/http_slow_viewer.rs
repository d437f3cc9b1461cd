//! A live stream on the mio runtime with two HTTP viewers (`/cam/stream.mjpg`), one that
//! reads and one that never does: the reading one gets every frame whole, each as soon as it
//! is pushed; the stalled one's queue sheds whole parts, so what it finally reads is whole
//! parts only, fewer than were pushed. Real sockets on loopback; the source is pushed in
//! lockstep with the fast viewer (no sleeps, bounded waits).

use bytes::Bytes;
use it::multipart::PartReader;
use rtsp_core::server::http::BOUNDARY;
use rtsp_core::server::{HttpConfig, LiveFrame, Media, MemoryCatalog, ServerConfig};
use runtime_mio::{serve, ServerOptions};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::mpsc;
use std::time::{Duration, Instant};

const FRAMES: u64 = 300;
const WAIT: Duration = Duration::from_secs(10);

/// A viewer of `cam` on a new connection (`rcvbuf`: its receive buffer).
fn view(addr: SocketAddr, rcvbuf: Option<usize>) -> TcpStream {
    let sock = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    if let Some(n) = rcvbuf {
        sock.set_recv_buffer_size(n).unwrap();
    }
    sock.connect(&addr.into()).unwrap();
    let mut s: TcpStream = sock.into();
    s.set_read_timeout(Some(WAIT)).unwrap();
    write!(s, "GET /cam/stream.mjpg HTTP/1.1\r\nHost: {addr}\r\n\r\n").unwrap();
    s
}

#[test]
fn a_stalled_http_viewer_sheds_whole_parts_and_never_holds_up_the_other() {
    let frames = mjpeg::testpattern::frames(4, 640, 480);
    let mut catalog = MemoryCatalog::new();
    let first = LiveFrame::from_jpeg(frames[0].clone(), 0, 1400).unwrap();
    catalog.insert(Media::live("cam", 25.0, &first).unwrap());
    let mut opts = ServerOptions::new("127.0.0.1:0".parse().unwrap(), Box::new(catalog));
    opts.config = ServerConfig {
        http: Some(HttpConfig::default()),
        ..opts.config
    };
    let server = serve(opts).unwrap();
    let addr = server.connect_addr();

    let stalled = view(addr, Some(4096));
    let mut fast = view(addr, None);
    // Both viewers are registered before the first frame.
    let deadline = Instant::now() + WAIT;
    while viewers(&server) < 2 {
        assert!(Instant::now() < deadline, "the viewers never started");
        std::thread::yield_now();
    }
    let (tx, rx) = mpsc::channel::<Bytes>();
    let reader = std::thread::spawn(move || {
        let mut parts = PartReader::new(BOUNDARY);
        let mut chunk = vec![0u8; 1 << 16];
        loop {
            while let Some(p) = parts
                .next_part()
                .expect("the fast viewer's stream is well framed")
            {
                if tx.send(p).is_err() {
                    return;
                }
            }
            match fast.read(&mut chunk) {
                Ok(0) | Err(_) => return,
                Ok(n) => parts.push(&chunk[..n]),
            }
        }
    });

    let started = Instant::now();
    let mut worst = Duration::ZERO;
    for i in 0..FRAMES {
        let jpeg: Bytes = frames[i as usize % frames.len()].clone();
        let frame = LiveFrame::from_jpeg(jpeg.clone(), i * 3600, 1400).unwrap();
        let pushed = Instant::now();
        server.command(move |s| s.push_frame("cam", &frame, Instant::now()));
        let got = rx
            .recv_timeout(WAIT)
            .expect("the fast viewer got the frame");
        assert_eq!(got, jpeg, "frame {i} reached the fast viewer whole");
        worst = worst.max(pushed.elapsed());
    }
    eprintln!(
        "{FRAMES} frames to the fast viewer in {:?}, slowest {worst:?}",
        started.elapsed()
    );
    server.stop();

    // What the stalled viewer was given: whole parts, each a source frame, not all of them.
    let mut s = stalled;
    let mut parts = PartReader::new(BOUNDARY);
    let mut got = 0u64;
    let mut chunk = vec![0u8; 1 << 16];
    let deadline = Instant::now() + WAIT;
    loop {
        while let Some(p) = parts
            .next_part()
            .expect("the stalled viewer's stream is well framed")
        {
            assert!(frames.contains(&p), "a part is a whole source frame");
            got += 1;
        }
        match s.read(&mut chunk) {
            Ok(0) | Err(_) => break,
            Ok(n) => parts.push(&chunk[..n]),
        }
        assert!(
            Instant::now() < deadline,
            "the stalled viewer's data never ended"
        );
    }
    assert!(got > 0, "the stalled viewer got its first frames");
    assert!(
        got < FRAMES,
        "a viewer that never reads cannot hold all {FRAMES} frames"
    );
    eprintln!("the stalled viewer got {got} of {FRAMES} frames, all whole");
    reader.join().unwrap();
}

/// The server's HTTP viewers, asked on its loop.
fn viewers(server: &runtime_mio::RunningServer) -> usize {
    let (tx, rx) = mpsc::channel();
    server.command(move |s| {
        let _ = tx.send(s.http_viewer_count());
    });
    rx.recv_timeout(WAIT).expect("the loop answers")
}
