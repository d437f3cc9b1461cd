//! RTSP sources against our own server (`runtime_std::serve`) playing a looping generated
//! clip: frames over UDP and TCP, credentials, the server going away and coming back.

use std::net::{Ipv4Addr, SocketAddr};

use rtsp_core::auth::Credentials;
use rtsp_core::server::{AuthConfig, Media, MemoryCatalog};
use runtime_std::source::{SourceEvent, SourceSpec, SourceState};
use runtime_std::{RunningServer, ServerOptions};

use crate::util::*;

/// A server on `addr` (port 0: any) with the looping clip `clip`, asking for `users`'
/// credentials when there are any.
fn server_at(addr: SocketAddr, users: Vec<Credentials>) -> RunningServer {
    let media = Media::from_jpegs("clip", 50.0, jpegs(10), 1400)
        .unwrap()
        .with_looping(true);
    let mut opts = ServerOptions::new(addr, Box::new(MemoryCatalog::new().with(media)));
    if !users.is_empty() {
        opts.config.auth = Some(AuthConfig::new(users));
    }
    runtime_std::serve(opts).unwrap()
}

fn server() -> RunningServer {
    server_at((Ipv4Addr::LOCALHOST, 0).into(), Vec::new())
}

fn rtsp(url: String, tcp: bool) -> SourceSpec {
    SourceSpec::Rtsp { url, tcp }
}

/// Asserts `e` is a JPEG frame with an RTP timestamp; returns the timestamp.
fn rtp_frame(e: SourceEvent) -> u32 {
    match e {
        SourceEvent::Frame {
            jpeg,
            rtp_timestamp: Some(ts),
            ..
        } => {
            assert!(jpeg.starts_with(&[0xFF, 0xD8]) && jpeg.ends_with(&[0xFF, 0xD9]));
            ts
        }
        other => panic!("expected an RTP frame: {other:?}"),
    }
}

#[test]
fn frames_arrive_over_udp_and_over_tcp() {
    for tcp in [false, true] {
        let s = server();
        let (src, events) = start("rtsp", rtsp(s.url("clip"), tcp), opts());
        events.expect_state(&SourceState::Connecting);
        events.expect_state(&SourceState::Streaming);
        let stamps: Vec<u32> = events.frames(5).into_iter().map(rtp_frame).collect();
        // 50 fps at 90 kHz: 1800 ticks a frame.
        for w in stamps.windows(2) {
            assert_eq!(w[1].wrapping_sub(w[0]), 1800, "tcp {tcp}: {stamps:?}");
        }
        assert!(src.stats().frames >= 5);
        let t = std::time::Instant::now();
        src.stop();
        let took = t.elapsed();
        assert!(
            took < std::time::Duration::from_secs(2),
            "stop took {took:?}"
        );
        let seen = events.until_stopped();
        assert_no_loss(&seen);
    }
}

#[test]
fn credentials_in_the_url_are_used_and_wrong_ones_fail_clearly() {
    let s = server_at(
        (Ipv4Addr::LOCALHOST, 0).into(),
        vec![Credentials::new("user", "pw")],
    );
    let addr = s.connect_addr();
    let (src, events) = start(
        "auth",
        rtsp(format!("rtsp://user:pw@{addr}/clip"), true),
        opts(),
    );
    rtp_frame(events.next_frame());
    drop(src);

    let (_src, events) = start(
        "bad-auth",
        rtsp(format!("rtsp://user:nope@{addr}/clip"), true),
        opts(),
    );
    let (reason, _) = events.lost();
    assert!(
        reason.starts_with("authentication failed (DESCRIBE: 401"),
        "{reason}"
    );
    assert!(reason.contains("refused the credentials"), "{reason}");
}

#[test]
fn a_stopped_server_is_lost_and_a_new_one_on_the_same_port_resumes_the_frames() {
    let first = server();
    let addr = first.connect_addr();
    let (src, events) = start("restart", rtsp(first.url("clip"), false), opts());
    events.expect_state(&SourceState::Connecting);
    events.expect_state(&SourceState::Streaming);
    rtp_frame(events.next_frame());
    first.stop();
    first.join().unwrap();
    let (reason, _) = events.lost();
    assert!(!reason.is_empty());
    let before = src.stats().frames;

    let _second = server_at(addr, Vec::new());
    // Attempts may fail while the port was closed; the next frame comes from the new server.
    loop {
        match events.next() {
            SourceEvent::State(SourceState::Streaming) => break,
            SourceEvent::Frame { .. } => panic!("a frame before streaming again"),
            _ => {}
        }
    }
    rtp_frame(events.next_frame());
    let stats = src.stats();
    assert!(stats.frames > before && stats.reconnects >= 1, "{stats:?}");
}

#[test]
fn an_unknown_stream_is_lost_with_the_status() {
    let s = server();
    let (_src, events) = start("missing", rtsp(s.url("nope"), true), opts());
    let (reason, _) = events.lost();
    assert!(reason.contains("404"), "{reason}");
}
