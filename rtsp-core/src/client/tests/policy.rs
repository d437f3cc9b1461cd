//! The playback policy: the automatic DESCRIBE → SETUP → PLAY sequence (lab: SETUP → PLAY),
//! the seek position on its PLAY, and the fallback from UDP to TCP interleaved (a 461 to SETUP
//! over UDP, or no RTP over UDP within the wait).

use super::*;

const GST_URL: &str = "rtsp://127.0.0.1:8554/test";

/// UDP with the fallback to TCP on, playing at once.
fn auto_udp() -> Policy {
    Policy {
        tcp_fallback: true,
        ..Policy::new(udp())
    }
}

/// A connected gst client with `policy`, started: DESCRIBE (CSeq 1) is out.
fn started(policy: Policy) -> Harness {
    let mut h = Harness::connected(GST_URL);
    h.c.set_policy(policy);
    assert_eq!(h.c.start(), Ok(1));
    assert!(h
        .one_sent()
        .starts_with("DESCRIBE rtsp://127.0.0.1:8554/test RTSP/1.0\r\n"));
    h
}

/// [`started`], then DESCRIBE and SETUP answered by gst over UDP: PLAY (CSeq 3) is out.
fn set_up_over_udp(policy: Policy) -> Harness {
    let mut h = started(policy);
    h.recv(gst_describe_reply(1).as_bytes());
    let setup = h.one_sent();
    assert!(
        setup.starts_with("SETUP rtsp://127.0.0.1:8554/test/stream=0 RTSP/1.0\r\nCSeq: 2\r\n"),
        "{setup}"
    );
    assert!(setup.contains("\r\nTransport: RTP/AVP;unicast;client_port=45578-45579\r\n"));
    h.reply(&gst_setup_reply(2, ""));
    h
}

/// [`set_up_over_udp`], then PLAY answered: playing over UDP, no RTP yet.
fn playing_over_udp(policy: Policy) -> Harness {
    let mut h = set_up_over_udp(policy);
    assert!(h.one_sent().starts_with("PLAY "));
    h.reply(&gst_play_reply(3));
    assert!(matches!(
        &h.outcomes()[..],
        [.., ClientEvent::Playing { .. }]
    ));
    h
}

/// The next request is the fallback's SETUP over TCP of the gst track, CSeq `cseq`: answer it.
fn tcp_setup_answered(h: &mut Harness, cseq: u32) {
    let setup = h.one_sent();
    let line = format!("SETUP rtsp://127.0.0.1:8554/test/stream=0 RTSP/1.0\r\nCSeq: {cseq}\r\n");
    assert!(setup.starts_with(&line), "{setup}");
    assert!(
        setup.contains("\r\nTransport: RTP/AVP/TCP;unicast;interleaved=0-1\r\n"),
        "{setup}"
    );
    h.reply(&format!("RTSP/1.0 200 OK\nCSeq: {cseq}\nTransport: RTP/AVP/TCP;unicast;interleaved=0-1\nSession: abc\n\n"));
}

/// No fallback happened since the last look: no event, no TEARDOWN.
fn assert_no_fallback(h: &mut Harness) {
    let ev = h.outcomes();
    assert!(
        !ev.iter()
            .any(|e| matches!(e, ClientEvent::TransportFallback { .. })),
        "{ev:?}"
    );
    let sent = h.sent();
    assert!(sent.iter().all(|s| !s.starts_with("TEARDOWN")), "{sent:?}");
}

#[test]
fn start_runs_describe_setup_and_play_from_the_seek_position() {
    let mut h = set_up_over_udp(Policy {
        seek: Some(Duration::from_millis(2500)),
        ..Policy::new(udp())
    });
    let ev = h.outcomes();
    assert!(
        matches!(
            &ev[..],
            [
                ClientEvent::Described { cseq: 1, .. },
                ClientEvent::SetupDone { cseq: 2, .. }
            ]
        ),
        "{ev:?}"
    );
    let play = h.one_sent();
    assert!(
        play.starts_with("PLAY rtsp://127.0.0.1:8554/test/ RTSP/1.0\r\nCSeq: 3\r\n"),
        "{play}"
    );
    assert!(play.contains("\r\nRange: npt=2.500-\r\n"), "{play}");
    h.reply(&gst_play_reply(3));
    assert!(matches!(
        &h.outcomes()[..],
        [ClientEvent::Playing { cseq: 3, .. }]
    ));
    assert_eq!(h.c.state(), ClientState::Playing);
    // Media flows; the sequence is over: nothing more is sent by itself.
    for pkt in jpeg_packets(25069, 0, GST_SSRC, &scan(1, 3000)) {
        h.datagram(RTP, &pkt);
    }
    assert_eq!(h.frames().len(), 1);
    h.advance(Duration::from_secs(5));
    assert!(h.sent().is_empty());
    // Without a seek position PLAY carries no Range.
    let mut h = set_up_over_udp(Policy::new(udp()));
    assert!(!h.one_sent().contains("Range"));
}

#[test]
fn without_auto_play_start_stops_in_ready() {
    let mut h = set_up_over_udp(Policy {
        auto_play: false,
        ..Policy::new(udp())
    });
    assert!(matches!(
        &h.outcomes()[..],
        [ClientEvent::Described { .. }, ClientEvent::SetupDone { .. }]
    ));
    assert!(h.sent().is_empty(), "no PLAY");
    assert_eq!(h.c.state(), ClientState::Ready);
    // The application plays when it wants to, from where it wants to.
    assert_eq!(h.c.play(Some(Duration::from_secs(1))), Ok(3));
    assert!(h.one_sent().contains("\r\nRange: npt=1.000-\r\n"));
}

#[test]
fn lab_start_is_setup_then_play_without_range() {
    let mut h = lab();
    h.c.set_policy(Policy {
        seek: Some(Duration::from_secs(3)),
        ..Policy::new(lab_udp())
    });
    assert_eq!(h.c.start(), Ok(1));
    assert_eq!(
        h.one_sent(),
        "SETUP movie.Mjpeg RTSP/1.0\nCSeq: 1\nTransport: RTP/UDP; client_port= 25000\n\n"
    );
    h.lab_reply(b"RTSP/1.0 200 OK\nCSeq: 1\nSession: 123456");
    assert!(matches!(&h.outcomes()[..], [ClientEvent::SetupDone { .. }]));
    assert_eq!(
        h.one_sent(),
        "PLAY movie.Mjpeg RTSP/1.0\nCSeq: 2\nSession: 123456\n\n"
    );
    // The lab has no TCP: the start is refused, nothing is sent, and nothing happens later.
    let mut h = lab();
    assert_eq!(
        h.c.start(),
        Err(ApiError::NotSupported {
            method: Method::Setup,
            dialect: Dialect::Lab
        })
    );
    assert!(h.sent().is_empty());
    h.c.setup(lab_udp()).unwrap();
    h.sent();
    h.recv(b"RTSP/1.0 200 OK\r\nCSeq: 1\r\nSession: 1\r\n\r\n");
    assert!(matches!(&h.outcomes()[..], [ClientEvent::SetupDone { .. }]));
    assert!(h.sent().is_empty(), "no PLAY: the sequence never started");
}

#[test]
fn a_failed_step_ends_the_sequence() {
    let mut h = started(Policy::new(udp()));
    h.reply("RTSP/1.0 404 Not Found\nCSeq: 1\n\n");
    assert!(matches!(
        &h.outcomes()[..],
        [ClientEvent::RequestFailed {
            method: Method::Describe,
            status: StatusCode::NOT_FOUND
        }]
    ));
    assert!(h.sent().is_empty());
    // A DESCRIBE the application sends later is only that.
    assert_eq!(h.c.describe(), Ok(2));
    h.sent();
    h.recv(gst_describe_reply(2).as_bytes());
    assert!(matches!(&h.outcomes()[..], [ClientEvent::Described { .. }]));
    assert!(h.sent().is_empty(), "no SETUP");

    // A timed-out SETUP too.
    let mut h = started(Policy::new(udp()));
    h.recv(gst_describe_reply(1).as_bytes());
    assert!(h.one_sent().starts_with("SETUP "));
    h.advance(Duration::from_secs(10));
    assert!(matches!(
        &h.outcomes()[..],
        [
            ClientEvent::Described { .. },
            ClientEvent::Error(ClientError::RequestTimeout {
                method: Method::Setup,
                ..
            })
        ]
    ));
    h.reply(&gst_setup_reply(2, ""));
    assert!(h.sent().is_empty(), "a late reply plays nothing");
}

#[test]
fn udp_refused_with_461_sets_up_over_tcp_instead() {
    let mut h = started(auto_udp());
    h.recv(gst_describe_reply(1).as_bytes());
    assert!(h.one_sent().contains("client_port=45578-45579"));
    h.reply("RTSP/1.0 461 Unsupported Transport\nCSeq: 2\n\n");
    let ev = h.outcomes();
    assert!(
        matches!(
            &ev[..],
            [
                ClientEvent::Described { .. },
                ClientEvent::TransportFallback {
                    reason: FallbackReason::UdpRefused
                }
            ]
        ),
        "no RequestFailed: {ev:?}"
    );
    assert_eq!(h.c.policy().transport, TransportChoice::Tcp);
    tcp_setup_answered(&mut h, 3);
    assert!(matches!(&h.outcomes()[..], [ClientEvent::SetupDone { .. }]));
    assert!(h.one_sent().starts_with("PLAY "), "and PLAY after it");

    // Without the fallback a 461 is a failure like any other.
    let mut h = started(Policy::new(udp()));
    h.recv(gst_describe_reply(1).as_bytes());
    h.sent();
    h.reply("RTSP/1.0 461 Unsupported Transport\nCSeq: 2\n\n");
    assert!(matches!(
        &h.outcomes()[..],
        [
            ClientEvent::Described { .. },
            ClientEvent::RequestFailed {
                method: Method::Setup,
                status: StatusCode::UNSUPPORTED_TRANSPORT
            }
        ]
    ));
    assert!(h.sent().is_empty());
    assert_eq!(h.c.policy().transport, udp());
}

#[test]
fn no_rtp_over_udp_within_the_wait_tears_down_and_plays_over_tcp() {
    let mut h = playing_over_udp(Policy {
        seek: Some(Duration::from_secs(2)),
        ..auto_udp()
    });
    h.advance(Duration::from_millis(2_999));
    assert!(h.outcomes().is_empty());
    assert!(h.sent().is_empty());
    h.advance(Duration::from_millis(1));
    assert!(matches!(
        &h.outcomes()[..],
        [ClientEvent::TransportFallback {
            reason: FallbackReason::NoUdpMedia { waited }
        }] if *waited == Duration::from_secs(3)
    ));
    let teardown = h.one_sent();
    assert!(teardown.starts_with("TEARDOWN rtsp://127.0.0.1:8554/test/ RTSP/1.0\r\nCSeq: 4\r\n"));
    h.reply("RTSP/1.0 200 OK\nCSeq: 4\nSession: _tM3Rk5yk5mNuuDx\n\n");
    assert!(matches!(&h.outcomes()[..], [ClientEvent::TornDown]));
    // No second DESCRIBE.
    tcp_setup_answered(&mut h, 5);
    let play = h.one_sent();
    assert!(play.contains("\r\nRange: npt=2.000-\r\n"), "{play}");
    h.reply("RTSP/1.0 200 OK\nCSeq: 6\nSession: abc\n\n");
    assert!(matches!(
        &h.outcomes()[..],
        [ClientEvent::SetupDone { .. }, ClientEvent::Playing { .. }]
    ));
    assert_eq!(h.c.policy().transport, TransportChoice::Tcp);
    // Over TCP no media check: no more fallback, however long nothing comes.
    h.advance(Duration::from_secs(20));
    assert_no_fallback(&mut h);
}

#[test]
fn rtp_over_udp_within_the_wait_keeps_udp() {
    let mut h = playing_over_udp(auto_udp());
    h.advance(Duration::from_secs(2));
    for pkt in jpeg_packets(25069, 0, GST_SSRC, &scan(1, 3000)) {
        h.datagram(RTP, &pkt);
    }
    h.advance(Duration::from_secs(5));
    assert_no_fallback(&mut h);
    assert_eq!(h.c.policy().transport, udp());
    // Without the fallback, silence over UDP is only silence.
    let mut h = playing_over_udp(Policy::new(udp()));
    h.advance(Duration::from_secs(5));
    assert!(h.outcomes().is_empty());
}

#[test]
fn the_applications_teardown_stops_the_policy() {
    let mut h = playing_over_udp(auto_udp());
    h.advance(Duration::from_secs(1));
    h.c.teardown().unwrap();
    assert!(h.one_sent().starts_with("TEARDOWN "));
    h.advance(Duration::from_secs(3));
    assert!(h.outcomes().is_empty(), "no fallback while tearing down");
    h.reply("RTSP/1.0 200 OK\nCSeq: 4\nSession: _tM3Rk5yk5mNuuDx\n\n");
    assert!(matches!(&h.outcomes()[..], [ClientEvent::TornDown]));
    h.advance(Duration::from_secs(5));
    assert!(
        h.sent().is_empty(),
        "no SETUP after the application's TEARDOWN"
    );
}
