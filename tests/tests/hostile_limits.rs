//! Hostile clients over real loopback sockets against the mio server (issue 6): each limit
//! is hit by a misbehaving client while a well-behaved UDP client keeps receiving RTP, and
//! the server reports the limit as an event. Everything is bounded in count and time.

use it::make_media_dir;
use it::peers::{play_udp, recv_datagrams, req, udp_pair, EventServer, RawRtsp};
use rtsp_core::message::Limits;
use rtsp_core::server::{CloseReason, Limit, ServerConfig, ServerEvent};
use std::io::Write;
use std::net::UdpSocket;
use std::time::{Duration, Instant};

const FPS: f64 = 50.0;
/// Bound on any single wait.
const WAIT: Duration = Duration::from_secs(20);

/// A well-behaved client: UDP session playing `name` (the file loops).
struct Good {
    _conn: RawRtsp,
    rtp: UdpSocket,
    _rtcp: UdpSocket,
}

impl Good {
    fn start(server: &EventServer, name: &str) -> Self {
        let mut conn = RawRtsp::connect(server.addr()).expect("connect");
        let (rtp, rtcp) = udp_pair();
        play_udp(&mut conn, &server.url(name), &rtp);
        let good = Self {
            _conn: conn,
            rtp,
            _rtcp: rtcp,
        };
        good.assert_playing("at start");
        good
    }

    /// At least 10 more RTP packets arrive, promptly.
    fn assert_playing(&self, when: &str) {
        let got = recv_datagrams(&self.rtp, 10, Duration::from_secs(5));
        assert_eq!(
            got.len(),
            10,
            "the well-behaved client stopped receiving {when}"
        );
    }
}

fn looping() -> ServerConfig {
    ServerConfig {
        loop_media: true,
        ..ServerConfig::default()
    }
}

fn wait_limit(server: &EventServer, limit: Limit) {
    assert!(
        server
            .wait_event(
                WAIT,
                |e| matches!(e, ServerEvent::LimitExceeded { limit: l, .. } if *l == limit)
            )
            .is_some(),
        "no LimitExceeded({limit:?}) event"
    );
}

/// Slowloris: one byte every 250 ms, a request that never ends: 408 and a close after
/// `request_timeout` (1 s here), not before; the good client plays on.
#[test]
fn slowloris_is_cut() {
    let (dir, name, _) = make_media_dir(20, false);
    let server = EventServer::start(
        dir.path(),
        FPS,
        ServerConfig {
            request_timeout: Duration::from_secs(1),
            ..looping()
        },
    );
    let good = Good::start(&server, &name);
    let mut slow = RawRtsp::connect(server.addr()).expect("connect");
    let started = Instant::now();
    let text = format!(
        "OPTIONS * RTSP/1.0\r\nCSeq: 1\r\nX-Pad: {}",
        "x".repeat(100)
    );
    let mut cut = false;
    // The attacker's pace is the point of the test: a byte, then a pause.
    for b in text.bytes().take(40) {
        if slow.send(&[b]).is_err() || slow.closed_within(Duration::from_millis(250)) {
            cut = true;
            break;
        }
    }
    let elapsed = started.elapsed();
    assert!(cut, "a request trickling for {elapsed:?} was not cut");
    assert!(
        elapsed >= Duration::from_millis(900),
        "cut too early: {elapsed:?}"
    );
    let reply = String::from_utf8_lossy(slow.buffered()).to_string();
    assert!(reply.starts_with("RTSP/1.0 408"), "reply: {reply:?}");
    wait_limit(&server, Limit::RequestTimeout);
    good.assert_playing("after the slowloris");
}

/// A connection that sends nothing is closed after `idle_timeout`.
#[test]
fn idle_connection_is_closed() {
    let (dir, name, _) = make_media_dir(20, false);
    let server = EventServer::start(
        dir.path(),
        FPS,
        ServerConfig {
            idle_timeout: Duration::from_secs(1),
            ..looping()
        },
    );
    let good = Good::start(&server, &name);
    let mut idle = RawRtsp::connect(server.addr()).expect("connect");
    assert!(idle.closed_within(WAIT), "idle connection still open");
    wait_limit(&server, Limit::IdleTimeout);
    // The good client's control connection holds a session: it is not idle-closed.
    good.assert_playing("after the idle timeout");
}

/// A TCP-interleaved client that never reads: the output queue fills and the connection is
/// cut at the cap instead of buffering forever.
#[test]
fn client_that_never_reads_is_cut() {
    let (dir, name, _) = make_media_dir(20, false);
    let server = EventServer::start_with(dir.path(), 1000.0, looping(), |o| {
        o.max_pending_output = 256 * 1024;
    });
    let good = Good::start(&server, &name);
    let mut deaf = RawRtsp::connect(server.addr()).expect("connect");
    let url = server.url(&name);
    let r = deaf
        .request(&req(
            "SETUP",
            &format!("{url}/stream=0"),
            1,
            &["Transport: RTP/AVP/TCP;unicast;interleaved=0-1"],
        ))
        .expect("SETUP");
    assert_eq!(r.status, 200);
    let sid = r.session().expect("session");
    deaf.send(req("PLAY", &url, 2, &[&format!("Session: {sid}")]).as_bytes())
        .expect("PLAY");
    // Never read again. The server (1000 fps, ~10 MB/s) fills the socket buffers, then the
    // queue, then cuts the connection.
    let closed = server.wait_event(Duration::from_secs(60), |e| {
        matches!(e, ServerEvent::SessionClosed { session, reason: CloseReason::ConnectionClosed } if *session == sid)
    });
    assert!(
        closed.is_some(),
        "the session of a client that never reads was not ended"
    );
    assert!(server.server.stats().conns_dropped >= 1);
    good.assert_playing("after the deaf client was cut");
}

/// Connections per address: the one over the limit is closed at once; those under it work.
#[test]
fn connections_per_address_are_capped() {
    let (dir, name, _) = make_media_dir(20, false);
    let server = EventServer::start(
        dir.path(),
        FPS,
        ServerConfig {
            max_connections_per_ip: 3,
            ..looping()
        },
    );
    let good = Good::start(&server, &name);
    let mut others: Vec<RawRtsp> = (0..2)
        .map(|_| RawRtsp::connect(server.addr()).expect("connect"))
        .collect();
    for c in &mut others {
        assert_eq!(
            c.request(&req("OPTIONS", "*", 1, &[]))
                .expect("OPTIONS")
                .status,
            200
        );
    }
    let mut over = RawRtsp::connect(server.addr()).expect("TCP accepts; the server closes");
    assert!(over.closed_within(WAIT), "the 4th connection stayed open");
    wait_limit(&server, Limit::ConnectionsPerIp);
    assert_eq!(
        others[0]
            .request(&req("OPTIONS", "*", 2, &[]))
            .expect("OPTIONS")
            .status,
        200
    );
    good.assert_playing("with the address at its limit");
}

/// Sessions in total: SETUP beyond `max_sessions` gets 453.
#[test]
fn sessions_are_capped_with_453() {
    let (dir, name, _) = make_media_dir(20, false);
    let server = EventServer::start(
        dir.path(),
        FPS,
        ServerConfig {
            max_sessions: 1,
            ..looping()
        },
    );
    let good = Good::start(&server, &name);
    let mut c = RawRtsp::connect(server.addr()).expect("connect");
    let r = c
        .request(&req(
            "SETUP",
            &format!("{}/stream=0", server.url(&name)),
            1,
            &["Transport: RTP/AVP/TCP;unicast;interleaved=0-1"],
        ))
        .expect("SETUP");
    assert_eq!(r.status, 453);
    good.assert_playing("after a refused SETUP");
}

/// Oversized requests: body over the cap 413, request line 414, header block/count 400;
/// each closes that connection only.
#[test]
fn oversized_requests_are_refused() {
    let (dir, name, _) = make_media_dir(20, false);
    let server = EventServer::start(
        dir.path(),
        FPS,
        ServerConfig {
            limits: Limits {
                max_line: 512,
                max_headers: 16,
                max_head: 4096,
                max_body: 1024,
            },
            ..looping()
        },
    );
    let good = Good::start(&server, &name);
    let many: Vec<String> = (0..17).map(|i| format!("X-H{i}: v")).collect();
    let many: Vec<&str> = many.iter().map(String::as_str).collect();
    let cases = [
        (
            req("SET_PARAMETER", "*", 1, &["Content-Length: 1000000"]),
            413,
        ),
        (
            req(
                "DESCRIBE",
                &format!("rtsp://127.0.0.1/{}", "a".repeat(600)),
                1,
                &[],
            ),
            414,
        ),
        (req("OPTIONS", "*", 1, &many), 400),
        (
            req("OPTIONS", "*", 1, &[&format!("X-Big: {}", "z".repeat(600))]),
            400,
        ),
    ];
    for (text, status) in cases {
        let mut c = RawRtsp::connect(server.addr()).expect("connect");
        let r = c.request(&text).expect("a reply before the close");
        assert_eq!(r.status, status, "{:?}", &text[..40]);
        assert!(c.closed_within(WAIT), "not closed after {status}");
    }
    // An interleaved frame from the client over the cap closes its connection too.
    let mut c = RawRtsp::connect(server.addr()).expect("connect");
    let mut frame = vec![b'$', 0, 0x40, 0x00];
    frame.resize(4 + 0x4000, 0);
    c.stream.write_all(&frame).expect("send");
    assert!(
        c.closed_within(WAIT),
        "not closed after a 16 KiB interleaved frame"
    );
    wait_limit(&server, Limit::InterleavedFrame);
    good.assert_playing("after the oversized requests");
}

/// Media confinement over a real socket: percent-encoded traversal, backslashes, NUL,
/// absolute paths and a symlink out of the root never serve the file outside (403/404/400).
#[test]
fn traversal_is_refused_over_a_real_socket() {
    let outer = tempfile::tempdir().expect("temp dir");
    let root = outer.path().join("root");
    std::fs::create_dir(&root).expect("mkdir");
    let jpegs = mjpeg::testpattern::frames(5, 64, 48);
    let mut file = Vec::new();
    mjpeg::write_concatenated(&jpegs, &mut file);
    std::fs::write(outer.path().join("secret.mjpeg"), &file).expect("secret");
    std::fs::write(root.join("ok.mjpeg"), &file).expect("ok");
    #[cfg(unix)]
    std::os::unix::fs::symlink(outer.path().join("secret.mjpeg"), root.join("link.mjpeg"))
        .expect("symlink");
    let server = EventServer::start(&root, FPS, looping());
    let base = format!("rtsp://{}", server.addr());
    let mut c = RawRtsp::connect(server.addr()).expect("connect");
    let ok = c
        .request(&req("DESCRIBE", &format!("{base}/ok.mjpeg"), 1, &[]))
        .expect("DESCRIBE");
    assert_eq!(ok.status, 200, "the control case must work");
    let secret = outer.path().join("secret.mjpeg");
    let absolute = secret.to_str().expect("utf-8");
    for (i, path) in [
        "../secret.mjpeg".to_string(),
        "%2e%2e%2fsecret.mjpeg".to_string(),
        "%2E%2E/secret.mjpeg".to_string(),
        "ok.mjpeg/%2e%2e/%2e%2e%2fsecret.mjpeg".to_string(),
        "..%5csecret.mjpeg".to_string(),
        "..\\secret.mjpeg".to_string(),
        "ok.mjpeg%00".to_string(),
        "ok.mjpeg%00.txt".to_string(),
        format!("/{}", absolute.trim_start_matches('/')),
        format!("%2f{}", absolute.trim_start_matches('/')),
        "link.mjpeg".to_string(),
    ]
    .iter()
    .enumerate()
    {
        let mut c = RawRtsp::connect(server.addr()).expect("connect");
        let r = c
            .request(&req(
                "DESCRIBE",
                &format!("{base}/{path}"),
                i as u32 + 2,
                &[],
            ))
            .expect("a reply");
        assert!(
            [400, 403, 404].contains(&r.status),
            "{path}: status {} ({:?})",
            r.status,
            r.lines
        );
        assert!(r.body.is_empty(), "{path}: a body was served");
    }
}

/// RTP rate per session: a 60 KB/s cap on a ~500 KB/s stream; what arrives stays within the
/// cap (plus the one-second bucket), the server reports the limit once.
#[test]
fn session_rate_is_capped_over_a_real_socket() {
    const CAP: u64 = 60_000;
    let (dir, name, _) = make_media_dir(20, false);
    let server = EventServer::start(
        dir.path(),
        FPS,
        ServerConfig {
            max_session_rate: CAP,
            ..looping()
        },
    );
    let mut conn = RawRtsp::connect(server.addr()).expect("connect");
    let (rtp, _rtcp) = udp_pair();
    play_udp(&mut conn, &server.url(&name), &rtp);
    let window = Duration::from_secs(2);
    let started = Instant::now();
    let mut bytes = 0u64;
    let mut buf = vec![0u8; 65536];
    while started.elapsed() < window {
        let left = window
            .saturating_sub(started.elapsed())
            .max(Duration::from_millis(1));
        rtp.set_read_timeout(Some(left)).expect("timeout");
        if let Ok(n) = rtp.recv(&mut buf) {
            bytes += n.saturating_sub(12) as u64;
        }
    }
    assert!(bytes > 0, "nothing at all arrived");
    // Bucket (1 s) + 2 s at the cap, with slack for the RTP/JPEG headers counted here.
    assert!(
        bytes <= CAP * 3 + 10_000,
        "{bytes} bytes in {window:?} over a {CAP} B/s cap"
    );
    wait_limit(&server, Limit::SessionRate);
}
