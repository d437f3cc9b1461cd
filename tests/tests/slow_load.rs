//! Media loads run off the event loop (runtime-mio, real sockets on loopback): a file that
//! is slow to load (every frame re-encoded) does not stall another session's frames while
//! clients keep asking for it; a request waits for its load and gets 200; a failure is read
//! once and answered from the cache until the file changes.

use it::peers::{play_udp, req, EventServer, RawRtsp};
use it::slow_media::slow_file;
use rtsp_core::server::ServerConfig;
use runtime_std::media::FsCatalog;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant, SystemTime};

const FPS: f64 = 25.0;
/// The longest gap allowed between two frames of the playing stream: 3 frame intervals.
const MAX_GAP: Duration = Duration::from_millis(120);
/// Bound on each test.
const LIMIT: Duration = Duration::from_secs(90);
/// How long a client waits for a reply: less than the server's load timeout, so that a
/// request the server forgot to answer when its load ended fails the test.
const REPLY_WAIT: Duration = Duration::from_secs(20);

fn config() -> ServerConfig {
    ServerConfig {
        loop_media: true,
        load_timeout: Duration::from_secs(60),
        seed: Some(rtsp_core::rng::RngSeed::from_u64(7)),
        ..ServerConfig::default()
    }
}

/// `movie.mjpeg`: an ordinary stream of 50 frames.
fn write_movie(dir: &Path) {
    let jpegs = mjpeg::testpattern::frames(50, 384, 288);
    let mut file = Vec::new();
    mjpeg::write_concatenated(&jpegs, &mut file);
    std::fs::write(dir.join("movie.mjpeg"), file).expect("write movie");
}

fn describe(conn: &mut RawRtsp, url: &str, cseq: u32) -> it::peers::RawResponse {
    conn.request(&req("DESCRIBE", url, cseq, &["Accept: application/sdp"]))
        .expect("DESCRIBE reply")
}

/// A client that DESCRIBEs `url` again and again (one request at a time, 20 ms apart) until
/// `stop` is dropped; returns the statuses. `replies` counts them as they come.
fn hammer(
    addr: std::net::SocketAddr,
    url: String,
    replies: Arc<AtomicUsize>,
    stop: mpsc::Receiver<()>,
) -> std::thread::JoinHandle<Vec<u16>> {
    std::thread::spawn(move || {
        let mut conn = RawRtsp::connect(addr).expect("connect");
        conn.stream
            .set_read_timeout(Some(REPLY_WAIT))
            .expect("read timeout");
        let mut statuses = Vec::new();
        for cseq in 1.. {
            match conn.request(&req("DESCRIBE", &url, cseq, &[])) {
                Ok(r) => statuses.push(r.status),
                Err(_) => break,
            }
            replies.fetch_add(1, Ordering::SeqCst);
            match stop.recv_timeout(Duration::from_millis(20)) {
                Err(mpsc::RecvTimeoutError::Timeout) => {}
                _ => break,
            }
        }
        statuses
    })
}

#[test]
fn a_slow_load_does_not_stall_another_sessions_frames() {
    let started = Instant::now();
    let dir = tempfile::tempdir().expect("temp dir");
    write_movie(dir.path());
    // 60 large 4:4:4 frames to re-encode, then one it cannot parse: a second or more of
    // work that ends in a failure.
    std::fs::write(dir.path().join("slow.mjpeg"), slow_file(60, 640, 480, true))
        .expect("write slow file");
    let server = EventServer::start(dir.path(), FPS, config());

    // The player: plain RTP over UDP, frame ends (marker bit) stamped as they arrive.
    let (rtp, _rtcp) = it::peers::udp_pair();
    let mut player = RawRtsp::connect(server.addr()).expect("connect");
    let movie = server.url("movie.mjpeg");
    assert_eq!(describe(&mut player, &movie, 1).status, 200);
    play_udp(&mut player, &movie, &rtp);
    let mut buf = [0u8; 65536];
    let mut frame_end = || loop {
        let n = rtp.recv(&mut buf).expect("RTP within 10 s");
        if n >= 12 && buf[1] & 0x80 != 0 {
            return Instant::now();
        }
    };
    frame_end();

    // Two clients keep asking for the slow file.
    let replies = Arc::new(AtomicUsize::new(0));
    let slow = server.url("slow.mjpeg");
    let (stops, hammers): (Vec<_>, Vec<_>) = (0..2)
        .map(|_| {
            let (tx, rx) = mpsc::channel();
            (
                tx,
                hammer(server.addr(), slow.clone(), Arc::clone(&replies), rx),
            )
        })
        .unzip();

    // Frames go on meanwhile: until each asker has had a few answers (the load is over)
    // and at least 2 s of frames.
    let mut last = frame_end();
    let measuring = last;
    let mut gaps = Vec::new();
    // Frames received before the first answer: while the slow file was loading.
    let mut while_loading = 0;
    while replies.load(Ordering::SeqCst) < 6 || last - measuring < Duration::from_secs(2) {
        assert!(
            started.elapsed() < LIMIT,
            "no answer to the DESCRIBEs in time"
        );
        let t = frame_end();
        gaps.push(t - last);
        last = t;
        if replies.load(Ordering::SeqCst) == 0 {
            while_loading += 1;
        }
    }
    drop(stops);
    let statuses: Vec<Vec<u16>> = hammers
        .into_iter()
        .map(|h| h.join().expect("asker"))
        .collect();
    let worst = gaps.iter().max().copied().unwrap_or_default();
    println!(
        "{} frames over {:?} ({while_loading} while loading), worst gap {worst:?}; \
         DESCRIBEs answered {:?}",
        gaps.len(),
        last - measuring,
        statuses.iter().map(Vec::len).collect::<Vec<_>>()
    );
    for s in &statuses {
        assert!(!s.is_empty() && s.iter().all(|&c| c == 500), "{statuses:?}");
    }
    assert!(
        worst <= MAX_GAP,
        "a gap of {worst:?} between frames (at most {MAX_GAP:?} allowed)"
    );
    // The measure covers the load (it takes about a second here).
    assert!(while_loading >= 5, "the load was over too soon to tell");
    // Two loads in all: the movie, and the slow file once however often it was asked for.
    assert_eq!(server.loads.generation(), 2);
}

#[test]
fn a_describe_waits_for_its_load_and_gets_200() {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(
        dir.path().join("large.mjpeg"),
        slow_file(10, 640, 480, false),
    )
    .expect("write");
    let server = EventServer::start(dir.path(), FPS, config());
    let url = server.url("large.mjpeg");
    let mut conn = RawRtsp::connect(server.addr()).expect("connect");
    conn.stream
        .set_read_timeout(Some(REPLY_WAIT))
        .expect("timeout");
    // DESCRIBE and an OPTIONS pipelined behind it: both answered, in order, after the load.
    conn.send(
        format!(
            "{}{}",
            req("DESCRIBE", &url, 1, &["Accept: application/sdp"]),
            req("OPTIONS", &url, 2, &[])
        )
        .as_bytes(),
    )
    .expect("send");
    let r = conn.read_response().expect("DESCRIBE reply");
    assert_eq!(
        (r.status, r.header("CSeq")),
        (200, Some("1")),
        "{:?}",
        r.lines
    );
    assert!(String::from_utf8_lossy(&r.body).contains("m=video"));
    let r = conn.read_response().expect("OPTIONS reply");
    assert_eq!((r.status, r.header("CSeq")), (200, Some("2")));
    assert_eq!(server.loads.generation(), 1);
    // Loaded now: the next DESCRIBE is answered from the cache.
    assert_eq!(describe(&mut conn, &url, 3).status, 200);
    assert_eq!(server.loads.generation(), 1);
}

#[test]
fn a_corrupt_file_is_read_once_until_it_changes() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("bad.mjpeg");
    let jpegs = mjpeg::testpattern::frames(3, 64, 48);
    let mut good = Vec::new();
    mjpeg::write_concatenated(&jpegs, &mut good);
    let mut bad = good.clone();
    bad[0] = b'x'; // no longer a JPEG stream
    std::fs::write(&path, &bad).expect("write");
    let t = std::fs::metadata(&path)
        .expect("meta")
        .modified()
        .expect("mtime");
    let catalog = FsCatalog::new(dir.path())
        .expect("catalog")
        .with_fps(FPS)
        .with_revalidate(Duration::ZERO);
    let server = EventServer::start_catalog(catalog, config(), |_| {});
    let url = server.url("bad.mjpeg");
    let mut conn = RawRtsp::connect(server.addr()).expect("connect");
    assert_eq!(describe(&mut conn, &url, 1).status, 500);
    assert_eq!(server.loads.generation(), 1);
    // The same length and modification time but valid content: a read would now succeed,
    // so the second 500 comes from the cache.
    std::fs::write(&path, &good).expect("write");
    set_mtime(&path, t);
    assert_eq!(describe(&mut conn, &url, 2).status, 500);
    assert_eq!(server.loads.generation(), 1);
    // The file changes: read again.
    set_mtime(&path, t + Duration::from_secs(2));
    assert_eq!(describe(&mut conn, &url, 3).status, 200);
    assert_eq!(server.loads.generation(), 2);
}

fn set_mtime(path: &Path, t: SystemTime) {
    std::fs::File::options()
        .write(true)
        .open(path)
        .expect("open")
        .set_modified(t)
        .expect("set mtime");
}
