//! The log cannot be flooded (issue 13): 20 000 refused requests from one client make a few
//! dozen lines of server-mio's default log, not 20 000. The first refusals are logged as
//! they come, the rest are counted in "suppressed" summaries (written at the latest when the
//! server stops), and the counts add up to every request.

mod support;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::Command;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use support::{free_port, start};

/// Requests sent, in rounds of `BATCH` pipelined on one connection.
const REQUESTS: usize = 20_000;
const BATCH: usize = 100;

/// A refused request: DESCRIBE of a stream that does not exist (404) or PLAY in an unknown
/// session (454), alternately.
fn bad_request(port: u16, cseq: usize) -> String {
    if cseq.is_multiple_of(2) {
        format!("DESCRIBE rtsp://127.0.0.1:{port}/missing-{cseq} RTSP/1.0\r\nCSeq: {cseq}\r\n\r\n")
    } else {
        format!(
            "PLAY rtsp://127.0.0.1:{port}/sample RTSP/1.0\r\nCSeq: {cseq}\r\nSession: 12345678\r\n\r\n"
        )
    }
}

/// Sends every request and reads every reply (each round within the 10 s read timeout).
fn flood(port: u16) {
    let mut c = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    c.set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    let mut replies = 0;
    let mut buf = Vec::new();
    let mut chunk = [0u8; 65536];
    for round in 0..REQUESTS / BATCH {
        let batch: String = (0..BATCH)
            .map(|i| bad_request(port, round * BATCH + i))
            .collect();
        c.write_all(batch.as_bytes()).expect("write");
        while replies < (round + 1) * BATCH {
            let n = c.read(&mut chunk).expect("replies keep coming");
            assert!(n > 0, "server closed after {replies} replies");
            buf.extend_from_slice(&chunk[..n]);
            // Count whole heads; every reply here starts with "RTSP/1.0 4".
            while let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                assert!(
                    buf.starts_with(b"RTSP/1.0 4"),
                    "{:?}",
                    String::from_utf8_lossy(&buf)
                );
                buf.drain(..end + 4);
                replies += 1;
            }
        }
    }
    assert_eq!(replies, REQUESTS);
}

#[test]
fn twenty_thousand_refused_requests_make_a_few_lines_and_a_summary() {
    let port = free_port();
    // The default logging (no RUST_LOG), as deployed.
    let server = start(port, &[], None);
    let started = Instant::now();
    flood(port);
    let secs = started.elapsed().as_secs() + 1;
    // Ctrl-C: the server stops and writes the summaries still pending.
    let status = Command::new("kill")
        .args(["-INT", &server.child.id().to_string()])
        .status()
        .expect("kill");
    assert!(status.success());
    let mut lines = Vec::new();
    loop {
        match server.log.recv_timeout(Duration::from_secs(30)) {
            Ok(line) => lines.push(line),
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
            Err(mpsc::RecvTimeoutError::Timeout) => panic!("server-mio did not stop: {lines:#?}"),
        }
        assert!(lines.len() <= 10 * REQUESTS, "runaway log");
    }
    drop(server);
    let text = lines.join("\n");
    assert!(lines.len() < 200, "{} lines:\n{text}", lines.len());
    // The first refusals are there, as they came; then 2 a second at most.
    let logged = lines
        .iter()
        .filter(|l| l.contains(" request ") && l.contains("peer=127.0.0.1:"))
        .count();
    assert!(logged >= 5, "{text}");
    assert!(
        logged as u64 <= 10 + 2 * secs,
        "{logged} in {secs} s:\n{text}"
    );
    assert!(
        text.contains("status=404") && text.contains("status=454"),
        "{text}"
    );
    // The rest is counted: logged + suppressed = every request.
    let suppressed: usize = lines
        .iter()
        .filter_map(|l| {
            let rest = l.split("suppressed ").nth(1)?;
            let (n, what) = rest.split_once(' ')?;
            what.starts_with("similar lines (request refused) from 127.0.0.1 in the last ")
                .then(|| n.parse::<usize>().expect("a count"))
        })
        .sum();
    assert!(suppressed > 0, "no summary:\n{text}");
    assert_eq!(logged + suppressed, REQUESTS, "{text}");
}
