//! A pulled path `on_demand = true`, `on_demand_close_after = 1` in `server-mio` (the real
//! binary, two event loops), its source a camera-like HTTP server (a thread here) that reports
//! every connection: nothing connects to the camera before a reader comes; a reader makes the
//! server connect, and gets the camera's frames; once the reader has left, the connection is
//! closed — not before the second, and within a few; the next reader opens it again.
//!
//! Needs `target/debug/server-mio` (`scripts/test` builds it); no third-party peer.

mod interop_client_support;

use std::time::{Duration, Instant};

use bytes::Bytes;
use interop_client_support::server_mio;
use it::live::{
    assert_run, frames_until, known_frames, play, HttpConn, MjpegHttp, ServerMio, WAIT,
};
use it::{recv_until, Ev};

/// How long the test watches for a connection that must not come.
const QUIET: Duration = Duration::from_secs(2);

#[test]
fn on_demand_source_connects_only_while_read() {
    let source = known_frames(0, 50, 320, 240);
    let camera = MjpegHttp::start(source.clone());
    let config = format!(
        "[paths.cam]\nsource = \"{}\"\non_demand = true\non_demand_close_after = 1\n",
        camera.url()
    );
    let mut server = ServerMio::start(&server_mio(), &config, &[]);
    // No reader, no connection (the server looks every 100 ms).
    assert_eq!(camera.next_conn(QUIET), None, "connected with no reader");
    assert_eq!(server.count("connecting source=cam"), 0, "{}", server.log());
    for round in 1..=2 {
        let (reader, _) = play(&server.url("cam"));
        assert_eq!(
            camera.next_conn(WAIT),
            Some(HttpConn::Opened),
            "round {round}"
        );
        let got: Vec<Bytes> = frames_until(&reader, WAIT, |f| f.len() >= 10)
            .into_iter()
            .map(|(_, jpeg)| jpeg)
            .collect();
        assert_run(&source, &got, true, &format!("round {round}"));
        assert_eq!(
            camera.conns.try_recv().ok(),
            None,
            "round {round}: closed while read"
        );
        reader.command(|c| {
            c.teardown().expect("teardown");
        });
        recv_until(&reader.events, WAIT, |e| matches!(e, Ev::TornDown)).expect("TEARDOWN reply");
        let left = Instant::now();
        assert_eq!(
            camera.next_conn(Duration::from_secs(10)),
            Some(HttpConn::Closed),
            "round {round}: still connected 10 s after the reader left"
        );
        let after = left.elapsed();
        eprintln!("round {round}: the camera connection closed {after:?} after the reader left");
        assert!(
            after >= Duration::from_millis(500),
            "round {round}: closed {after:?} after the reader left: on_demand_close_after is 1 s"
        );
        reader.stop();
        // And stays closed.
        assert_eq!(
            camera.next_conn(QUIET),
            None,
            "round {round}: reconnected with no reader"
        );
    }
    assert_eq!(server.count("connecting source=cam"), 2, "{}", server.log());
}
