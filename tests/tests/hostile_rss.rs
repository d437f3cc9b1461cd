//! 10 000 garbage connections opened and dropped (loopback, bounded) leave the in-process
//! mio server's memory within a few MB of where it started. The only test in this binary, so
//! the process RSS is the server's plus this loop's.
//!
//! Figure printed as `RSS: before … KiB, after … KiB, growth … KiB` (run with `--nocapture`).

use it::peers::rss_kib;
use it::{make_media_dir, start_server, ServerRuntime};
use std::io::Write;
use std::net::TcpStream;
use std::time::{Duration, Instant};

const CONNECTIONS: usize = 10_000;
/// Connections open at once (opened, written to, then all dropped).
const BATCH: usize = 100;
/// Allowed RSS growth.
const MAX_GROWTH_KIB: u64 = 4 * 1024;
/// Bound on the whole run.
const LIMIT: Duration = Duration::from_secs(180);

fn garbage(i: usize) -> Vec<u8> {
    match i % 5 {
        // Binary noise (a TLS ClientHello-like prefix and pseudo-random bytes).
        0 => {
            let mut v = vec![0x16, 0x03, 0x01, 0x02, 0x00];
            let mut x = i as u32 | 1;
            for _ in 0..200 {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                v.push(x as u8);
            }
            v
        }
        // HTTP.
        1 => b"GET / HTTP/1.1\r\nHost: x\r\n\r\n".to_vec(),
        // An unfinished RTSP request (the server holds it until the client goes).
        2 => b"DESCRIBE rtsp://127.0.0.1/clips/movie.mjpeg RTSP/1.0\r\nCSeq: 1\r\nX-".to_vec(),
        // A huge header line.
        3 => {
            let mut v = b"OPTIONS * RTSP/1.0\r\nCSeq: 1\r\nX: ".to_vec();
            v.resize(6000, b'a');
            v
        }
        // Nothing at all.
        _ => Vec::new(),
    }
}

fn hammer(addr: std::net::SocketAddr, from: usize, n: usize, started: Instant) {
    let mut i = from;
    while i < from + n {
        assert!(
            started.elapsed() < LIMIT,
            "garbage loop over its time bound"
        );
        let mut open = Vec::with_capacity(BATCH);
        for _ in 0..BATCH.min(from + n - i) {
            let mut s =
                TcpStream::connect_timeout(&addr, Duration::from_secs(10)).expect("connect");
            let g = garbage(i);
            if !g.is_empty() {
                // The server may already have closed it (over-long line): ignore errors.
                let _ = s.write_all(&g);
            }
            open.push(s);
            i += 1;
        }
        drop(open);
    }
}

/// Waits (bounded) until the server holds no connection.
fn settle(server: &it::TestServer) {
    let until = Instant::now() + Duration::from_secs(30);
    loop {
        let n = server.query(|s| s.connection_count());
        if n == 0 {
            return;
        }
        assert!(
            Instant::now() < until,
            "{n} connections still open 30 s after the loop"
        );
        // A bounded wait on the server's own state: the last closes are in flight.
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn ten_thousand_garbage_connections_leave_rss_flat() {
    let Some(_) = rss_kib() else {
        eprintln!("!!!!!!!! SKIPPED: no /proc/self/status (not Linux); RSS not measured !!!!!!!!");
        return;
    };
    let (dir, _, _) = make_media_dir(10, false);
    let server = start_server(ServerRuntime::Mio, dir.path(), 25.0);
    let addr = server.addr();
    let started = Instant::now();
    // Warm up allocator arenas and the runtime's tables.
    hammer(addr, 0, 1000, started);
    settle(&server);
    let before = rss_kib().expect("RSS");
    hammer(addr, 1000, CONNECTIONS, started);
    settle(&server);
    let after = rss_kib().expect("RSS");
    let growth = after.saturating_sub(before);
    eprintln!(
        "RSS: before {before} KiB, after {after} KiB, growth {growth} KiB \
         ({CONNECTIONS} garbage connections in {:?})",
        started.elapsed()
    );
    assert!(
        growth <= MAX_GROWTH_KIB,
        "RSS grew by {growth} KiB over {CONNECTIONS} garbage connections"
    );
    // The server still serves.
    let mut c = it::peers::RawRtsp::connect(addr).expect("connect");
    let r = c
        .request(&it::peers::req("OPTIONS", "*", 1, &[]))
        .expect("OPTIONS");
    assert_eq!(r.status, 200);
    server.stop();
}
