//! Exchanges as real players run them (from interop transcripts).

use super::*;

/// gst rtspsrc over TCP, as captured against gst-rtsp-server (interop transcripts): a `Date`
/// on every request, `Range: npt=now-`, RR+SDES on channel 1, PAUSE before TEARDOWN.
#[test]
fn gst_tcp_exchange() {
    let mut h = H::connected();
    let ua = "User-Agent: GStreamer/1.22.0";
    let date = "Date: Wed, 25 Nov 2026 14:08:19 GMT";
    let base = "rtsp://127.0.0.1:8554/test";
    let r = h.ask(C1, "OPTIONS", base, 1, &[ua, date]);
    assert_eq!(r.status, StatusCode::OK);
    let r = h.ask(
        C1,
        "DESCRIBE",
        base,
        2,
        &[ua, "Accept: application/sdp", date],
    );
    assert_eq!(
        header(&r, "Content-Base"),
        Some("rtsp://127.0.0.1:8554/test/")
    );
    let r = h.ask(
        C1,
        "SETUP",
        "rtsp://127.0.0.1:8554/test/stream=0",
        3,
        &[ua, "Transport: RTP/AVP/TCP;unicast;interleaved=0-1", date],
    );
    let sess = format!("Session: {}", session_of(&r));
    let r = h.ask(
        C1,
        "PLAY",
        "rtsp://127.0.0.1:8554/test/",
        4,
        &[ua, "Range: npt=now-", &sess, date],
    );
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(header(&r, "Range"), Some("npt=0.000-2.000"));
    h.advance(Duration::from_millis(2880));
    let mut rr = vec![b'$', 1, 0, 84, 0x81, 201, 0, 7, 0xb5, 0x62, 0x0c, 0x33];
    rr.extend_from_slice(&[0; 24]);
    rr.extend_from_slice(&[0x81, 202, 0, 12]);
    rr.extend_from_slice(&[0; 48]);
    h.send(C1, &rr);
    h.advance(Duration::from_millis(480));
    let r = h.ask(
        C1,
        "PAUSE",
        "rtsp://127.0.0.1:8554/test/",
        5,
        &[ua, &sess, date],
    );
    assert_eq!(r.status, StatusCode::OK);
    let r = h.ask(
        C1,
        "TEARDOWN",
        "rtsp://127.0.0.1:8554/test/",
        6,
        &[ua, &sess, date],
    );
    assert_eq!(r.status, StatusCode::OK);
    let outs = h.take();
    // Every byte on the stream parses: replies and $-frames interleave cleanly.
    let items = stream_items(&outs, C1);
    let frames = items
        .iter()
        .filter(
            |d| matches!(d, Decoded::Interleaved { channel: 0, payload } if rtp(payload).marker),
        )
        .count();
    assert_eq!(frames, 20); // 2 s of media, then the end (BYE) before the PAUSE
    assert_eq!(h.server.session_count(), 0);
}

/// ffmpeg over UDP: `RTP/AVP/UDP`, hole-punch packets to both server ports before PLAY.
#[test]
fn ffmpeg_udp_exchange() {
    let mut h = H::connected();
    let ua = "User-Agent: Lavf59.27.100";
    h.ask(C1, "OPTIONS", "rtsp://127.0.0.1:8554/test", 1, &[ua]);
    h.ask(
        C1,
        "DESCRIBE",
        "rtsp://127.0.0.1:8554/test",
        2,
        &["Accept: application/sdp", ua],
    );
    let r = h.ask(
        C1,
        "SETUP",
        "rtsp://127.0.0.1:8554/test/stream=0",
        3,
        &["Transport: RTP/AVP/UDP;unicast;client_port=8924-8925", ua],
    );
    let sess = format!("Session: {}", session_of(&r));
    let from_rtp = addr("192.168.1.7:8924");
    let from_rtcp = addr("192.168.1.7:8925");
    h.datagram(
        rtp_local(),
        from_rtp,
        &[0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
    );
    h.datagram(rtcp_local(), from_rtcp, &[0x80, 0xC9, 0, 1, 0, 0, 0, 0]);
    let r = h.ask(
        C1,
        "PLAY",
        "rtsp://127.0.0.1:8554/test/",
        4,
        &["Range: npt=0.000-", ua, &sess],
    );
    assert_eq!(r.status, StatusCode::OK);
    h.advance(Duration::from_millis(950));
    let outs = h.take();
    let frames = udp(&outs, rtp_local(), from_rtp)
        .iter()
        .filter(|d| rtp(d).marker)
        .count();
    assert_eq!(frames, 10);
    let r = h.ask(
        C1,
        "TEARDOWN",
        "rtsp://127.0.0.1:8554/test/",
        5,
        &[ua, &sess],
    );
    assert_eq!(r.status, StatusCode::OK);
}
