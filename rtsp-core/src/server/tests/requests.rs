//! Requests as a whole: status codes before and from the handlers, names that must not reach
//! the catalog, pipelining, splitting, determinism.

use super::*;

#[test]
fn error_codes() {
    let mut h = H::connected();
    // 505 for another RTSP version; the connection stays usable.
    let r = h.request(C1, "OPTIONS * RTSP/2.0\r\nCSeq: 9\r\n\r\n");
    assert_eq!(
        (r.status, r.cseq()),
        (StatusCode::RTSP_VERSION_NOT_SUPPORTED, Some(9))
    );
    // 400 without CSeq (and no CSeq in the reply).
    let r = h.request(C1, "OPTIONS rtsp://h/test RTSP/1.0\r\n\r\n");
    assert_eq!((r.status, r.cseq()), (StatusCode::BAD_REQUEST, None));
    assert_eq!(
        status_of(&mut h, &req("FOO", "rtsp://h/test", 4, &[])),
        StatusCode::NOT_IMPLEMENTED
    );
    let r = h.ask(C1, "RECORD", "rtsp://h/test", 4, &[]);
    assert_eq!(r.status, StatusCode::METHOD_NOT_ALLOWED);
    assert!(header(&r, "Allow").is_some());
    let r = h.ask(C1, "OPTIONS", "*", 5, &["Require: implicit-play"]);
    assert_eq!(r.status, StatusCode::OPTION_NOT_SUPPORTED);
    assert_eq!(header(&r, "Unsupported"), Some("implicit-play"));
    assert_eq!(
        status_of(&mut h, &req("DESCRIBE", "rtsp://h/nope", 6, &[])),
        StatusCode::NOT_FOUND
    );
    let udp = "Transport: RTP/AVP;unicast;client_port=5000-5001";
    assert_eq!(
        status_of(&mut h, &req("SETUP", "rtsp://h/test/stream=9", 7, &[udp])),
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        status_of(&mut h, &req("PLAY", "rtsp://h/test/", 8, &[])),
        StatusCode::METHOD_NOT_VALID_IN_THIS_STATE
    );
    assert_eq!(
        status_of(&mut h, &req("PAUSE", "rtsp://h/test/", 8, &[])),
        StatusCode::METHOD_NOT_VALID_IN_THIS_STATE
    );
    assert_eq!(
        status_of(
            &mut h,
            &req("PLAY", "rtsp://h/test/", 9, &["Session: WRONGID"])
        ),
        StatusCode::SESSION_NOT_FOUND
    );
    assert_eq!(
        status_of(
            &mut h,
            &req("TEARDOWN", "rtsp://h/test/", 9, &["Session: 123"])
        ),
        StatusCode::SESSION_NOT_FOUND
    );
    assert_eq!(
        status_of(
            &mut h,
            &req("GET_PARAMETER", "rtsp://h/test/", 9, &["Session: 123"])
        ),
        StatusCode::SESSION_NOT_FOUND
    );
    for t in [
        "Transport: RTP/AVP;multicast",
        "Transport: RAW/RAW/UDP;unicast;client_port=5000-5001",
        "Transport: RTP/AVP;unicast",
        "Transport: RTP/AVP;unicast;client_port=5000-5001;mode=record",
    ] {
        assert_eq!(
            status_of(&mut h, &req("SETUP", "rtsp://h/test/stream=0", 10, &[t])),
            StatusCode::UNSUPPORTED_TRANSPORT,
            "{t}"
        );
    }
    assert_eq!(
        status_of(&mut h, &req("SETUP", "rtsp://h/test/stream=0", 10, &[])),
        StatusCode::UNSUPPORTED_TRANSPORT
    );
    // A list: the first spec we can serve wins.
    let r = h.setup(
        C1,
        "rtsp://h/test/stream=0",
        11,
        "RTP/AVP;multicast,RTP/AVP/TCP;unicast;interleaved=4-5",
    );
    assert!(header(&r, "Transport").unwrap().contains("interleaved=4-5"));
    let sess = format!("Session: {}", session_of(&r));
    // 459: another stream into the same session; 455: SETUP while playing.
    assert_eq!(
        status_of(
            &mut h,
            &req(
                "SETUP",
                "rtsp://h/dir/clip.mjpeg/stream=0",
                12,
                &[udp, &sess]
            )
        ),
        StatusCode::AGGREGATE_OPERATION_NOT_ALLOWED
    );
    assert_eq!(
        status_of(&mut h, &req("PLAY", "rtsp://h/test", 13, &[&sess])),
        StatusCode::OK
    );
    assert_eq!(
        status_of(
            &mut h,
            &req("SETUP", "rtsp://h/test/stream=0", 14, &[udp, &sess])
        ),
        StatusCode::METHOD_NOT_VALID_IN_THIS_STATE
    );
    // PLAY on another stream's URL: 404.
    assert_eq!(
        status_of(
            &mut h,
            &req("PLAY", "rtsp://h/dir/clip.mjpeg", 15, &[&sess])
        ),
        StatusCode::NOT_FOUND
    );
    // SET_PARAMETER with parameters: 451; empty: 200.
    let mut set = req(
        "SET_PARAMETER",
        "rtsp://h/test",
        16,
        &[&sess, "Content-Length: 9"],
    );
    set.push_str("foo: bar\n");
    assert_eq!(
        status_of(&mut h, &set),
        StatusCode::PARAMETER_NOT_UNDERSTOOD
    );
    assert_eq!(
        status_of(&mut h, &req("SET_PARAMETER", "rtsp://h/test", 17, &[&sess])),
        StatusCode::OK
    );
    // Catalog failures.
    assert_eq!(
        status_of(&mut h, &req("DESCRIBE", "rtsp://h/broken.mjpeg", 18, &[])),
        StatusCode::INTERNAL_SERVER_ERROR
    );
    assert_eq!(
        status_of(&mut h, &req("DESCRIBE", "rtsp://h/444.mjpeg", 19, &[])),
        StatusCode::SERVICE_UNAVAILABLE
    );
    assert_eq!(
        status_of(&mut h, &req("DESCRIBE", "rtsp://h/secret", 20, &[])),
        StatusCode::FORBIDDEN
    );
    assert!(events(&h.take())
        .iter()
        .any(|e| matches!(e, ServerEvent::LookupFailed { .. })));
    // Nothing closed the connection so far.
    assert_eq!(h.server.connection_count(), 1);
}

#[test]
fn traversal_never_reaches_the_catalog() {
    let mut h = H::connected();
    for (uri, status) in [
        ("rtsp://h/../etc/passwd", StatusCode::FORBIDDEN),
        ("rtsp://h/%2e%2e/%2e%2e/etc/passwd", StatusCode::FORBIDDEN),
        ("rtsp://h/dir/../../x", StatusCode::FORBIDDEN),
        ("rtsp://h//etc/passwd", StatusCode::FORBIDDEN),
        ("rtsp://h/%2Fetc%2Fpasswd", StatusCode::FORBIDDEN),
        ("rtsp://h/a%5C..%5Cb", StatusCode::FORBIDDEN),
        ("rtsp://h/a%00.mjpeg", StatusCode::FORBIDDEN),
        ("/etc/passwd", StatusCode::FORBIDDEN),
        ("../movie.Mjpeg", StatusCode::FORBIDDEN),
        ("rtsp://h/", StatusCode::NOT_FOUND),
        ("rtsp://h/%zz", StatusCode::BAD_REQUEST),
    ] {
        assert_eq!(
            status_of(&mut h, &req("DESCRIBE", uri, 1, &[])),
            status,
            "{uri}"
        );
        let t = "Transport: RTP/AVP;unicast;client_port=5000-5001";
        assert_eq!(
            status_of(&mut h, &req("SETUP", uri, 2, &[t])),
            status,
            "{uri}"
        );
    }
    assert!(h.asked.lock().unwrap().is_empty(), "{:?}", h.asked);
    // Percent-decoded names reach it.
    assert_eq!(
        status_of(
            &mut h,
            &req("DESCRIBE", "rtsp://h/dir%2fclip.mjpeg", 3, &[])
        ),
        StatusCode::OK
    );
    assert_eq!(*h.asked.lock().unwrap(), vec!["dir/clip.mjpeg".to_string()]);
}

#[test]
fn pipelined_requests_are_answered_in_order() {
    let mut h = H::connected();
    let mut bytes = req("OPTIONS", "*", 1, &[]);
    bytes.push_str(&req("DESCRIBE", "rtsp://h/test", 2, &[]));
    bytes.push_str(&req(
        "SETUP",
        "rtsp://h/test/stream=0",
        3,
        &["Transport: RTP/AVP;unicast;client_port=5000-5001"],
    ));
    bytes.push_str(&req("FOO", "rtsp://h/test", 4, &[]));
    bytes.push_str(&req("DESCRIBE", "rtsp://h/nope", 5, &[]));
    h.send(C1, bytes.as_bytes());
    let rs = responses(&h.take(), C1);
    let got: Vec<(Option<u32>, u16)> = rs.iter().map(|r| (r.cseq(), r.status.0)).collect();
    assert_eq!(
        got,
        vec![
            (Some(1), 200),
            (Some(2), 200),
            (Some(3), 200),
            (Some(4), 501),
            (Some(5), 404)
        ]
    );
}

#[test]
fn a_request_split_at_every_byte() {
    let text = req(
        "SETUP",
        "rtsp://127.0.0.1:8554/test/stream=0",
        3,
        &[
            "Transport: RTP/AVP;unicast;client_port=5000-5001",
            "User-Agent: x",
        ],
    );
    let mut whole = H::new();
    whole.connect(C1);
    let expected = whole.request(C1, &text);
    for split in 1..text.len() {
        let mut h = H::connected();
        h.send(C1, &text.as_bytes()[..split]);
        assert!(responses(&h.take(), C1).is_empty(), "split at {split}");
        h.advance(Duration::from_millis(10));
        h.send(C1, &text.as_bytes()[split..]);
        let r = responses(&h.take(), C1);
        assert_eq!(r, vec![expected.clone()], "split at {split}");
    }
    // And one byte per input.
    let mut h = H::connected();
    for b in text.as_bytes() {
        h.send(C1, std::slice::from_ref(b));
        h.advance(Duration::from_millis(1));
    }
    assert_eq!(responses(&h.take(), C1), vec![expected]);
}

#[test]
fn deterministic_from_the_seed() {
    let run = |seed| {
        let mut h = H::connected_with(ServerConfig {
            seed: Some(crate::rng::RngSeed::from_u64(seed)),
            ..config()
        });
        let r = h.setup(
            C1,
            "rtsp://h/test",
            1,
            "RTP/AVP;unicast;client_port=5000-5001",
        );
        (session_of(&r), header(&r, "Transport").unwrap().to_string())
    };
    assert_eq!(run(1), run(1));
    assert_ne!(run(1), run(2));
}
