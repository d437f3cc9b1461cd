//! Real servers' quirks (live555, VLC), TCP interleaving, and unusable URLs in a DESCRIBE reply.

use super::*;

/// live555: no rtpmap for PT 26, relative control, `Session: id;timeout=65` on SETUP only, no
/// ssrc in Transport, odd Date; no OPTIONS done, so the keepalive is OPTIONS.
#[test]
fn live555_quirks() {
    let mut h = Harness::describing("rtsp://127.0.0.1:8554/proxyStream");
    let sdp = "v=0\no=- 1764079467 1 IN IP4 127.0.0.1\ns=Session streamed by LIVE555\nt=0 0\na=control:*\na=range:npt=0-\nm=video 0 RTP/AVP 26\nc=IN IP4 0.0.0.0\nb=AS:50\na=control:track1\n";
    let body = crlf(sdp);
    h.recv(format!("RTSP/1.0 200 OK\r\nCSeq: 1\r\nDate: Wed, Nov 25 2026 14:04:27 GMT\r\nContent-Base: rtsp://127.0.0.1:8554/proxyStream/\r\nContent-Type: application/sdp\r\nContent-Length: {}\r\n\r\n{body}", body.len()).as_bytes());
    assert!(matches!(&h.outcomes()[..], [ClientEvent::Described { .. }]));
    h.c.setup(udp()).unwrap();
    assert!(h
        .one_sent()
        .starts_with("SETUP rtsp://127.0.0.1:8554/proxyStream/track1 RTSP/1.0\r\n"));
    h.reply("RTSP/1.0 200 OK\nCSeq: 2\nDate: Wed, Nov 25 2026 14:04:27 GMT\nTransport: RTP/AVP;unicast;destination=127.0.0.1;source=127.0.0.1;client_port=45578-45579;server_port=6970-6971\nSession: 8A3F00B1;timeout=65\n\n");
    match &h.outcomes()[..] {
        [ClientEvent::SetupDone { timeout, ssrc, .. }] => {
            assert_eq!(*timeout, Duration::from_secs(65));
            assert_eq!(*ssrc, None);
        }
        other => panic!("{other:?}"),
    }
    h.c.play(None).unwrap();
    assert!(h
        .one_sent()
        .starts_with("PLAY rtsp://127.0.0.1:8554/proxyStream/ RTSP/1.0\r\n"));
    h.reply("RTSP/1.0 200 OK\nCSeq: 3\nRange: npt=0.000-\nSession: 8A3F00B1\nRTP-Info: url=rtsp://127.0.0.1:8554/proxyStream/track1;seq=11;rtptime=22\n\n");
    assert!(matches!(&h.outcomes()[..], [ClientEvent::Playing { .. }]));
    // No ssrc announced: lock to the first packet's.
    for pkt in jpeg_packets(11, 22, 0x1234, &scan(3, 500)) {
        h.datagram(RTP, &pkt);
    }
    for pkt in jpeg_packets(12, 22, 0x9999, &scan(3, 500)) {
        h.datagram(RTP, &pkt);
    }
    assert_eq!(h.frames().len(), 1);
    assert_eq!(h.c.stats().ssrc, Some(0x1234));
    // Keepalive: OPTIONS (no Public known) after min(32.5, 60) s.
    h.advance(Duration::from_millis(32_400));
    assert!(h.sent().iter().all(|s| !s.starts_with("OPTIONS")));
    h.advance(Duration::from_millis(100));
    let k = h.sent();
    let k = k
        .iter()
        .find(|s| s.starts_with("OPTIONS"))
        .expect("keepalive");
    assert!(k.starts_with("OPTIONS rtsp://127.0.0.1:8554/proxyStream/ RTSP/1.0\r\nCSeq: 4\r\n"));
    assert!(k.contains("\r\nSession: 8A3F00B1\r\n"));
    // TEARDOWN reply without Session.
    h.reply("RTSP/1.0 200 OK\nCSeq: 4\nPublic: OPTIONS, DESCRIBE, SETUP, TEARDOWN, PLAY, PAUSE, GET_PARAMETER, SET_PARAMETER\n\n");
    h.c.teardown().unwrap();
    h.sent();
    h.reply("RTSP/1.0 200 OK\nCSeq: 5\nDate: Wed, Nov 25 2026 14:04:37 GMT\n\n");
    assert!(matches!(&h.outcomes()[..], [ClientEvent::TornDown]));
}

/// VLC: `Cseq:` spelling placed last, Content-Base without a trailing slash, absolute control
/// URL, `Session: ...;timeout=60` on every reply, Transport keeps `RTP/AVP/UDP`.
#[test]
fn vlc_quirks() {
    let mut h = Harness::connected("rtsp://127.0.0.1:8554/x");
    h.c.options().unwrap();
    h.sent();
    h.reply("RTSP/1.0 200 OK\nServer: VLC/3.0.24\nContent-Length: 0\nPublic: DESCRIBE,SETUP,TEARDOWN,PLAY,PAUSE,GET_PARAMETER\nCache-Control: no-cache\nCseq: 1\n\n");
    assert!(matches!(
        &h.events()[..],
        [ClientEvent::Response { cseq: 1, .. }]
    ));
    h.c.describe().unwrap();
    h.sent();
    let sdp = "v=0\no=- 16000 16000 IN IP4 myhost\ns=Unnamed\ni=N/A\nc=IN IP4 0.0.0.0\nt=0 0\na=tool:vlc 3.0.24\na=recvonly\na=type:broadcast\na=charset:UTF-8\na=control:rtsp://127.0.0.1:8554/x\nm=video 0 RTP/AVP 26\nb=RR:0\na=rtpmap:26 JPEG/90000\na=control:rtsp://127.0.0.1:8554/x/trackID=0\n";
    h.recv(describe_reply(2, "rtsp://127.0.0.1:8554/x", sdp, "Cseq").as_bytes());
    let p = match &h.outcomes()[..] {
        [ClientEvent::Described { presentation, .. }] => presentation.clone(),
        other => panic!("{other:?}"),
    };
    assert_eq!(p.aggregate_url, "rtsp://127.0.0.1:8554/x");
    h.c.setup(udp()).unwrap();
    assert!(h
        .one_sent()
        .starts_with("SETUP rtsp://127.0.0.1:8554/x/trackID=0 RTSP/1.0\r\n"));
    h.reply("RTSP/1.0 200 OK\nServer: VLC/3.0.24\nContent-Length: 0\nTransport: RTP/AVP/UDP;unicast;client_port=45578-45579;server_port=50000-50001;ssrc=0A0B0C0D;mode=play\nSession: 0123456789abcdef;timeout=60\nCache-Control: no-cache\nCseq: 3\n\n");
    match &h.outcomes()[..] {
        [ClientEvent::SetupDone {
            session_id,
            timeout,
            ssrc,
            ..
        }] => {
            assert_eq!(session_id, "0123456789abcdef");
            assert_eq!(*timeout, Duration::from_secs(60));
            assert_eq!(*ssrc, Some(0x0A0B_0C0D));
        }
        other => panic!("{other:?}"),
    }
    h.c.play(Some(Duration::ZERO)).unwrap();
    let play = h.one_sent();
    assert!(play.starts_with("PLAY rtsp://127.0.0.1:8554/x RTSP/1.0\r\n"));
    assert!(play.contains("\r\nRange: npt=0.000-\r\n"), "{play}");
    h.reply("RTSP/1.0 200 OK\nServer: VLC/3.0.24\nContent-Length: 0\nRange: npt=12.477960-\nRTP-Info: url=rtsp://127.0.0.1:8554/x/trackID=0;seq=1;rtptime=2\nSession: 0123456789abcdef;timeout=60\nCache-Control: no-cache\nCseq: 4\n\n");
    assert!(matches!(
        &h.outcomes()[..],
        [ClientEvent::Playing { range: Some(_), .. }]
    ));
    // Keepalive is GET_PARAMETER (VLC's Public lists it) at 30 s.
    h.advance(Duration::from_secs(30));
    assert!(h
        .sent()
        .iter()
        .any(|s| s.starts_with("GET_PARAMETER rtsp://127.0.0.1:8554/x RTSP/1.0\r\n")));
}

#[test]
fn tcp_interleaved_with_split_frames_and_rtcp_on_channel_1() {
    let mut h = Harness::connected("rtsp://127.0.0.1:8554/test");
    h.c.setup(TransportChoice::Tcp).unwrap();
    let s = h.one_sent();
    // No DESCRIBE: SETUP goes to the URL itself.
    assert!(s.starts_with("SETUP rtsp://127.0.0.1:8554/test RTSP/1.0\r\n"));
    assert!(s.contains("\r\nTransport: RTP/AVP/TCP;unicast;interleaved=0-1\r\n"));
    h.reply("RTSP/1.0 200 OK\nCSeq: 1\nTransport: RTP/AVP/TCP;unicast;interleaved=0-1;ssrc=B88C0421;mode=\"PLAY\"\nServer: GStreamer RTSP server\nSession: FuwPDmtYuh5MymUd\n\n");
    assert!(matches!(&h.outcomes()[..], [ClientEvent::SetupDone { .. }]));
    h.c.play(None).unwrap();
    assert!(h
        .one_sent()
        .starts_with("PLAY rtsp://127.0.0.1:8554/test RTSP/1.0\r\n"));
    // The PLAY reply and the first interleaved frames in one read.
    let mut bytes = crlf("RTSP/1.0 200 OK\nCSeq: 2\nRTP-Info: url=rtsp://127.0.0.1:8554/test/stream=0;seq=24334;rtptime=1099277083\nRange: npt=now-\nSession: FuwPDmtYuh5MymUd\n\n").into_bytes();
    let pkts = jpeg_packets(24334, 1099277083, 0xB88C_0421, &scan(9, 3500));
    let mut framed = Vec::new();
    for p in &pkts {
        let mut one = Vec::new();
        write_interleaved(0, p, &mut one);
        framed.push(one);
    }
    bytes.extend_from_slice(&framed[0]);
    h.recv(&bytes);
    assert!(matches!(&h.outcomes()[..], [ClientEvent::Playing { .. }]));
    // live555 writes the `$` header and the packet as separate segments; split further.
    for f in &framed[1..] {
        h.recv(&f[..4]);
        h.recv(&f[4..10]);
        h.recv(&f[10..]);
    }
    let frames = h.frames();
    assert_eq!(frames.len(), 1);
    assert_frame(&frames[0].1, &scan(9, 3500));
    // SR on channel 1, then our RR on channel 1.
    let mut sr = Vec::new();
    RtcpPacket::SenderReport(SenderReport {
        ssrc: 0xB88C_0421,
        ntp_time: NtpTime::from_parts(10, 0),
        ..SenderReport::default()
    })
    .write(&mut sr);
    let mut f = Vec::new();
    write_interleaved(1, &sr, &mut f);
    h.recv(&f);
    assert_eq!(h.c.stats().sender_reports, 1);
    h.advance(Duration::from_millis(7_500));
    let rr = std::mem::take(&mut h.stream)
        .into_iter()
        .find(|d| d.first() == Some(&b'$'))
        .expect("interleaved RR");
    assert_eq!(rr[1], 1);
    let len = usize::from(u16::from_be_bytes([rr[2], rr[3]]));
    assert_eq!(len, rr.len() - 4);
    let pkts = RtcpPacket::parse_compound(&rr[4..]).unwrap();
    assert!(matches!(&pkts[0], RtcpPacket::ReceiverReport(r) if r.reports[0].ssrc == 0xB88C_0421));
    assert!(h.udp.is_empty());
}

/// Fuzz `client-bad-uri` (fuzz/artifacts/client_session/crash-328326a4…): a DESCRIBE reply with
/// `Content-Base: not a url` made the client send `SETUP not a url/track1 RTSP/1.0`. Bad
/// Content-Base / Content-Location / control URLs are ignored; the request URL is used instead.
#[test]
fn invalid_content_base_and_controls_fall_back_to_valid_urls() {
    let request_line_ok = |req: &str| {
        let line = req.lines().next().unwrap();
        assert_eq!(line.split(' ').count(), 3, "{line:?}");
        crate::message::Decoder::default()
            .decode(&mut bytes::BytesMut::from(req.as_bytes()))
            .unwrap_or_else(|e| panic!("{req:?}: {e}"))
            .expect("a whole request");
    };
    let sdp = "v=0\no=- 1 1 IN IP4 1.2.3.4\ns=x\nt=0 0\na=control:*\nm=video 0 RTP/AVP 26\na=control:track1\n";
    let setup_uri = |headers: &str, sdp: &str| {
        let mut h = Harness::describing("rtsp://127.0.0.1:8554/test");
        let body = crlf(sdp);
        h.recv(
            format!(
                "RTSP/1.0 200 OK\r\nCSeq: 1\r\n{headers}Content-Type: application/sdp\r\nContent-Length: {}\r\n\r\n{body}",
                body.len()
            )
            .as_bytes(),
        );
        assert!(matches!(&h.outcomes()[..], [ClientEvent::Described { .. }]));
        h.c.setup(udp()).unwrap();
        let s = h.one_sent();
        request_line_ok(&s);
        let uri = s.split(' ').nth(1).unwrap().to_string();
        h.reply("RTSP/1.0 200 OK\nCSeq: 2\nTransport: RTP/AVP;unicast;client_port=45578-45579;server_port=60682-60683\nSession: 1234\n\n");
        h.c.play(None).unwrap();
        let p = h.one_sent();
        request_line_ok(&p);
        (uri, p.split(' ').nth(1).unwrap().to_string())
    };
    // The artifact's case: Content-Base with blanks → the request URL is the base.
    assert_eq!(
        setup_uri("Content-Base: not a url\r\n", sdp),
        (
            "rtsp://127.0.0.1:8554/test/track1".into(),
            "rtsp://127.0.0.1:8554/test".into()
        )
    );
    // Not an rtsp:// URL, or with Unicode blanks / control characters.
    for bad in [
        "http://h/x/",
        "rtsp://h/a\u{2005}b/",
        "rtsp://h/\u{85}/",
        "track1",
    ] {
        let (setup, _) = setup_uri(&format!("Content-Base: {bad}\r\n"), sdp);
        assert_eq!(setup, "rtsp://127.0.0.1:8554/test/track1", "{bad:?}");
    }
    // A bad Content-Base falls back to a good Content-Location.
    assert_eq!(
        setup_uri(
            "Content-Base: not a url\r\nContent-Location: rtsp://127.0.0.1:8554/loc/\r\n",
            sdp
        )
        .0,
        "rtsp://127.0.0.1:8554/loc/track1"
    );
    // Controls that do not resolve to a valid URL are replaced by the base.
    let bad_controls = sdp
        .replace("a=control:*", "a=control:rtsp://h/a b")
        .replace("a=control:track1", "a=control:tr ack1");
    assert_eq!(
        setup_uri("Content-Base: rtsp://127.0.0.1:8554/b/\r\n", &bad_controls),
        (
            "rtsp://127.0.0.1:8554/b/".into(),
            "rtsp://127.0.0.1:8554/b/".into()
        )
    );
}
