//! Time: keepalives, a silent server, request timeouts.

use super::*;
use crate::client::timers::keepalive_interval;

/// Behind a partition no keepalive is answered and no media arrives: after two unanswered
/// keepalives and the session timeout without RTP/RTCP the client gives up.
#[test]
fn silent_server_is_given_up() {
    let mut h = gst_playing(";timeout=30");
    for pkt in &jpeg_packets(25069, 0, GST_SSRC, &scan(1, 3000)) {
        h.datagram(RTP, pkt);
    }
    let start = h.now;
    // Keepalives at 15 s and 30 s (request timeout 10 s), never answered.
    h.advance(Duration::from_secs(39));
    let ev = h.outcomes();
    assert_eq!(
        ev.iter()
            .filter(|e| matches!(e, ClientEvent::KeepaliveFailed { status: None }))
            .count(),
        1,
        "{ev:?}"
    );
    assert_eq!(h.c.state(), ClientState::Playing);
    h.advance(Duration::from_secs(1));
    let ev = h.outcomes();
    assert!(
        matches!(
            &ev[..],
            [
                ClientEvent::Frame { .. },
                ClientEvent::KeepaliveFailed { status: None },
                ClientEvent::Error(ClientError::ServerSilent { keepalives: 2, silent_for }),
                ClientEvent::Closed,
            ] | [
                ClientEvent::KeepaliveFailed { status: None },
                ClientEvent::Error(ClientError::ServerSilent { keepalives: 2, silent_for }),
                ClientEvent::Closed,
            ] if *silent_for == Duration::from_secs(40)
        ),
        "{ev:?}"
    );
    assert_eq!(h.now - start, Duration::from_secs(40));
    assert!(h.closed, "the connection is closed");
    assert_eq!(h.deadline, None);
}

/// Unanswered keepalives alone are not fatal while media flows; nor is silence while the
/// server answers (even with an error).
#[test]
fn silence_needs_both_unanswered_keepalives_and_no_media() {
    let mut h = gst_playing(";timeout=30");
    let mut seq = 25069u16;
    for i in 0..200u32 {
        for pkt in &jpeg_packets(seq, 3000 * i, GST_SSRC, &scan(1, 3000)) {
            h.datagram(RTP, pkt);
            seq = seq.wrapping_add(1);
        }
        h.advance(Duration::from_millis(500));
    }
    let ev = h.outcomes();
    assert!(
        ev.iter()
            .filter(|e| matches!(e, ClientEvent::KeepaliveFailed { status: None }))
            .count()
            >= 5
    );
    assert!(!ev
        .iter()
        .any(|e| matches!(e, ClientEvent::Error(_) | ClientEvent::Closed)));
    assert_eq!(h.c.state(), ClientState::Playing);

    // No media, but every other keepalive answered (454): never two misses in a row.
    let mut h = gst_playing(";timeout=30");
    for i in 0..8 {
        h.advance(Duration::from_secs(15));
        let k = h.one_sent();
        if i % 2 == 0 {
            let cseq = k.lines().find_map(|l| l.strip_prefix("CSeq: ")).unwrap();
            h.reply(&format!("RTSP/1.0 454 Session Not Found\nCSeq: {cseq}\n\n"));
        }
    }
    assert_eq!(h.c.state(), ClientState::Playing);
    assert!(!h
        .outcomes()
        .iter()
        .any(|e| matches!(e, ClientEvent::Error(_) | ClientEvent::Closed)));
}

#[test]
fn keepalive_with_get_parameter_and_failures_are_not_fatal() {
    let mut h = gst_playing(";timeout=30");
    // T = 30: every min(15, 25) = 15 s.
    h.advance(Duration::from_millis(14_900));
    assert!(h.sent().is_empty());
    h.advance(Duration::from_millis(100));
    let k = h.one_sent();
    assert!(
        k.starts_with("GET_PARAMETER rtsp://127.0.0.1:8554/test/ RTSP/1.0\r\nCSeq: 5\r\n"),
        "{k}"
    );
    assert!(k.contains("\r\nSession: _tM3Rk5yk5mNuuDx\r\n"));
    h.reply("RTSP/1.0 200 OK\nCSeq: 5\nServer: GStreamer RTSP server\n\n");
    assert!(h.outcomes().is_empty());

    h.advance(Duration::from_secs(15));
    assert!(h.one_sent().starts_with("GET_PARAMETER "));
    h.reply("RTSP/1.0 454 Session Not Found\nCSeq: 6\n\n");
    assert!(matches!(
        &h.outcomes()[..],
        [ClientEvent::KeepaliveFailed {
            status: Some(StatusCode::SESSION_NOT_FOUND)
        }]
    ));

    h.advance(Duration::from_secs(15));
    assert!(h.one_sent().starts_with("GET_PARAMETER "));
    h.advance(Duration::from_secs(10)); // request_timeout, no reply
    let ev = h.outcomes();
    assert!(
        ev.iter()
            .any(|e| matches!(e, ClientEvent::KeepaliveFailed { status: None })),
        "{ev:?}"
    );
    assert!(!ev
        .iter()
        .any(|e| matches!(e, ClientEvent::Error(_) | ClientEvent::Closed)));
    assert_eq!(h.c.state(), ClientState::Playing);
    assert!(!h.closed);
}

#[test]
fn keepalive_interval_rule() {
    let s = Duration::from_secs;
    assert_eq!(keepalive_interval(s(60)), s(30));
    assert_eq!(keepalive_interval(s(6)), s(1));
    assert_eq!(keepalive_interval(s(8)), s(3));
    assert_eq!(keepalive_interval(s(65)), Duration::from_millis(32_500));
    assert_eq!(keepalive_interval(s(4)), s(2));
    assert_eq!(keepalive_interval(s(0)), Duration::from_millis(500));
}

#[test]
fn request_timeout_reports_error() {
    let mut h = Harness::connected("rtsp://127.0.0.1:8554/test");
    h.advance(Duration::from_secs(100)); // idle for a long time: no timers
    assert_eq!(h.c.describe(), Ok(1));
    h.sent();
    h.advance(Duration::from_millis(9_990));
    assert!(h.events().is_empty());
    h.advance(Duration::from_millis(20));
    match &h.events()[..] {
        [ClientEvent::Error(ClientError::RequestTimeout {
            cseq: 1,
            method: Method::Describe,
        })] => {}
        other => panic!("{other:?}"),
    }
    // A late reply is ignored; the client can go on.
    h.recv(gst_describe_reply(1).as_bytes());
    assert!(h.events().is_empty());
    assert_eq!(h.c.describe(), Ok(2));
}
