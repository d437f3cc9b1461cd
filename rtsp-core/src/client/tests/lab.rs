//! The course lab's dialect.

use super::*;

/// What the lab server sends: version 0, PT 26, seq = frame number, SSRC 0, the whole JPEG.
fn lab_packet(frame: u16, jpeg: &[u8]) -> Vec<u8> {
    let mut v = Vec::new();
    RtpHeader::new(26, frame, 1_764_079_467, 0).write_with_version(0, &mut v);
    v.extend_from_slice(jpeg);
    v
}

fn fake_jpeg(tag: u8) -> Vec<u8> {
    let mut v = vec![0xff, 0xd8, 0xff, 0xe0];
    v.extend(scan(tag, 5000));
    v.extend([0xff, 0xd9]);
    v
}

#[test]
fn lab_exchange_with_unterminated_replies() {
    let mut h = lab();
    assert_eq!(h.c.server(), ("127.0.0.1", 8554));
    assert!(matches!(h.c.options(), Err(ApiError::NotSupported { .. })));
    assert!(matches!(h.c.describe(), Err(ApiError::NotSupported { .. })));
    assert!(matches!(
        h.c.setup(TransportChoice::Tcp),
        Err(ApiError::NotSupported { .. })
    ));
    assert_eq!(h.c.setup(lab_udp()), Ok(1));
    assert_eq!(
        h.one_sent(),
        "SETUP movie.Mjpeg RTSP/1.0\nCSeq: 1\nTransport: RTP/UDP; client_port= 25000\n\n"
    );
    // The lab server's reply has no final line ending at all.
    h.recv(b"RTSP/1.0 200 OK\nCSeq: 1\nSession: 123456");
    assert!(h.events().is_empty());
    h.advance(Duration::from_millis(299));
    assert!(h.events().is_empty());
    h.advance(Duration::from_millis(1));
    match &h.outcomes()[..] {
        [ClientEvent::SetupDone { session_id, .. }] => assert_eq!(session_id, "123456"),
        other => panic!("{other:?}"),
    }
    assert_eq!(h.c.state(), ClientState::Ready);
    assert_eq!(h.deadline, None, "no keepalive or RTCP in the lab dialect");

    assert_eq!(h.c.play(None), Ok(2));
    assert_eq!(
        h.one_sent(),
        "PLAY movie.Mjpeg RTSP/1.0\nCSeq: 2\nSession: 123456\n\n"
    );
    // A reply in two pieces: the quiet period restarts with each.
    h.recv(b"RTSP/1.0 200 OK\nCSeq: 2\n");
    h.advance(Duration::from_millis(200));
    h.recv(b"Session: 123456");
    h.advance(Duration::from_millis(200));
    assert!(h.events().is_empty());
    h.advance(Duration::from_millis(100));
    assert!(matches!(&h.outcomes()[..], [ClientEvent::Playing { .. }]));

    // Lab RTP: version 0, one JPEG per packet; frame 3 lost; one non-JPEG.
    h.datagram("0.0.0.0:25000", &lab_packet(1, &fake_jpeg(1)));
    h.datagram("0.0.0.0:25000", &lab_packet(2, &fake_jpeg(2)));
    h.datagram("0.0.0.0:25000", &lab_packet(4, &fake_jpeg(4)));
    h.advance(Duration::from_millis(50));
    h.datagram("0.0.0.0:25000", &lab_packet(5, b"not a jpeg"));
    let frames = h.frames();
    assert_eq!(frames.len(), 3);
    assert_eq!(frames[0].1.as_ref(), &fake_jpeg(1)[..]);
    assert_eq!(frames[2].1.as_ref(), &fake_jpeg(4)[..]);
    let st = h.c.stats();
    assert_eq!(
        (st.packets, st.frames, st.frames_dropped, st.lost),
        (4, 3, 1, 1)
    );
    assert!(h.udp.is_empty(), "no RTCP in the lab dialect");

    // One request at a time: TEARDOWN waits for the PAUSE reply.
    assert_eq!(h.c.pause(), Ok(3));
    assert_eq!(h.c.teardown(), Ok(4));
    assert_eq!(
        h.one_sent(),
        "PAUSE movie.Mjpeg RTSP/1.0\nCSeq: 3\nSession: 123456\n\n"
    );
    h.lab_reply(b"RTSP/1.0 200 OK\nCSeq: 3\nSession: 123456");
    assert!(matches!(&h.outcomes()[..], [ClientEvent::Paused]));
    assert_eq!(
        h.one_sent(),
        "TEARDOWN movie.Mjpeg RTSP/1.0\nCSeq: 4\nSession: 123456\n\n"
    );
    h.lab_reply(b"RTSP/1.0 200 OK\nCSeq: 4\nSession: 123456");
    assert!(matches!(&h.outcomes()[..], [ClientEvent::TornDown]));
}

#[test]
fn lab_reply_with_extra_lines_and_terminated_replies() {
    let mut h = lab();
    h.c.setup(lab_udp()).unwrap();
    h.sent();
    // A list of files in the reply, then a properly terminated one (our own server).
    h.lab_reply(b"RTSP/1.0 200 OK\nCSeq: 1\nSession: 42\nmovie.Mjpeg\nother.Mjpeg");
    assert!(matches!(&h.outcomes()[..], [ClientEvent::SetupDone { .. }]));
    h.c.play(None).unwrap();
    h.sent();
    h.recv(b"RTSP/1.0 200 OK\r\nCSeq: 2\r\nSession: 42\r\n\r\n");
    assert!(
        matches!(&h.outcomes()[..], [ClientEvent::Playing { .. }]),
        "no wait when terminated"
    );
    // The connection closing flushes an unterminated reply first.
    h.c.pause().unwrap();
    h.sent();
    h.recv(b"RTSP/1.0 200 OK\nCSeq: 3\nSession: 42");
    h.lose_connection();
    let ev = h.outcomes();
    assert!(
        matches!(
            &ev[..],
            [
                ClientEvent::Paused,
                ClientEvent::Error(ClientError::ConnectionLost { pending: 0 }),
                ClientEvent::Closed
            ]
        ),
        "the session is lost: {ev:?}"
    );
}
