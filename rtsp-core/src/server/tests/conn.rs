//! Control connections: unparseable and oversized input, connection limits, shutdown.

use super::*;

#[test]
fn garbage_gets_400_and_a_close() {
    let mut h = H::connected();
    h.send(C1, b"\x16\x03\x01 hello garbage\r\nCSeq: 7\r\n\r\n");
    let outs = h.take();
    let replies = responses(&outs, C1);
    assert_eq!(replies.len(), 1);
    assert_eq!(replies[0].status, StatusCode::BAD_REQUEST);
    assert!(matches!(
        outs.iter().rev().find(|o| !matches!(o, Out::Ev(_))),
        Some(Out::Close(C1))
    ));
    assert_eq!(h.server.connection_count(), 0);
    // Later bytes on the closed connection are ignored.
    h.send(C1, b"OPTIONS * RTSP/1.0\r\nCSeq: 1\r\n\r\n");
    assert!(h.take().is_empty());

    // Oversized heads are refused, not buffered.
    h.connect(ConnId(2));
    let mut big = b"OPTIONS * RTSP/1.0\r\nCSeq: 1\r\n".to_vec();
    for i in 0..2000 {
        big.extend_from_slice(format!("X-Pad-{i}: {}\r\n", "a".repeat(20)).as_bytes());
    }
    h.send(ConnId(2), &big);
    let outs = h.take();
    assert_eq!(
        responses(&outs, ConnId(2))[0].status,
        StatusCode::BAD_REQUEST
    );
    assert!(outs.iter().any(|o| matches!(o, Out::Close(ConnId(2)))));
}

/// Per address, a connection over the cap is refused. In all, when every slot is taken, a
/// new connection takes the place of one that holds no session — one that never completed a
/// request first, the oldest of those — and is refused only when every connection holds a
/// session.
#[test]
fn connection_limits_total_and_per_address() {
    let mut h = H::with_config(ServerConfig {
        max_connections: 3,
        max_connections_per_ip: 2,
        ..config()
    });
    connect_from(&mut h, ConnId(1), "10.1.1.1:1000");
    connect_from(&mut h, ConnId(2), "10.1.1.1:1001");
    h.take();
    connect_from(&mut h, ConnId(3), "10.1.1.1:1002");
    let outs = h.take();
    assert!(closed(&outs, ConnId(3)));
    assert_eq!(limit_events(&outs), vec![Limit::ConnectionsPerIp]);
    connect_from(&mut h, ConnId(4), "10.1.1.2:1000");
    assert!(!closed(&h.take(), ConnId(4)));
    // Full. 1 completed a request; 2 and 4 never did: 2, the older, makes room.
    assert_eq!(
        h.ask(ConnId(1), "OPTIONS", "*", 1, &[]).status,
        StatusCode::OK
    );
    h.take();
    connect_from(&mut h, ConnId(5), "10.1.1.3:1000");
    let outs = h.take();
    assert!(closed(&outs, ConnId(2)) && !closed(&outs, ConnId(5)));
    assert_eq!(limit_events(&outs), vec![Limit::Evicted]);
    assert_eq!(h.server.connection_count(), 3);
    // When every connection holds a session, nobody makes room: the new one is refused.
    for (i, c) in [ConnId(1), ConnId(4), ConnId(5)].into_iter().enumerate() {
        let r = h.setup(
            c,
            "rtsp://h/test/stream=0",
            2,
            &format!(
                "RTP/AVP;unicast;client_port={}-{}",
                5000 + 2 * i,
                5001 + 2 * i
            ),
        );
        assert_eq!(r.status, StatusCode::OK);
    }
    h.take();
    connect_from(&mut h, ConnId(6), "10.1.1.4:1000");
    let outs = h.take();
    assert!(closed(&outs, ConnId(6)));
    assert_eq!(limit_events(&outs), vec![Limit::Connections]);
    assert_eq!(h.server.connection_count(), 3);
    // A slot frees up when one closes.
    h.close(ConnId(4));
    connect_from(&mut h, ConnId(7), "10.1.1.1:1003");
    assert!(!closed(&h.take(), ConnId(7)));
}

#[test]
fn oversized_requests_get_413_414_400_and_a_close() {
    let limits = crate::message::Limits {
        max_line: 256,
        max_headers: 8,
        max_head: 2048,
        max_body: 1024,
    };
    let cases: Vec<(Vec<u8>, StatusCode)> = vec![
        (
            req(
                "SET_PARAMETER",
                "rtsp://h/test",
                1,
                &["Content-Length: 4096"],
            )
            .into_bytes(),
            StatusCode::REQUEST_ENTITY_TOO_LARGE,
        ),
        (
            req("DESCRIBE", &format!("rtsp://h/{}", "a".repeat(300)), 1, &[]).into_bytes(),
            StatusCode::REQUEST_URI_TOO_LARGE,
        ),
        (
            req(
                "OPTIONS",
                "*",
                1,
                &[&format!("X-Long: {}", "b".repeat(300))],
            )
            .into_bytes(),
            StatusCode::BAD_REQUEST,
        ),
        (
            {
                let h: Vec<String> = (0..9).map(|i| format!("X-{i}: y")).collect();
                let h: Vec<&str> = h.iter().map(String::as_str).collect();
                req("OPTIONS", "*", 1, &h).into_bytes()
            },
            StatusCode::BAD_REQUEST,
        ),
    ];
    for (i, (bytes, status)) in cases.into_iter().enumerate() {
        let mut h = H::connected_with(ServerConfig { limits, ..config() });
        h.connect(ConnId(2));
        h.send(C1, &bytes);
        let outs = h.take();
        let r = responses(&outs, C1);
        assert_eq!(r.len(), 1, "case {i}");
        assert_eq!(r[0].status, status, "case {i}");
        assert_eq!(r[0].cseq(), Some(1), "case {i}");
        assert!(closed(&outs, C1), "case {i}");
        assert!(events(&outs)
            .iter()
            .any(|e| matches!(e, ServerEvent::ProtocolError { .. })));
        // The other connection is unaffected.
        assert_eq!(
            h.ask(ConnId(2), "OPTIONS", "*", 1, &[]).status,
            StatusCode::OK
        );
    }
}

#[test]
fn oversized_interleaved_frames_close_the_connection() {
    let mut h = H::connected_with(ServerConfig {
        max_interleaved: 512,
        ..config()
    });
    // Up to the limit: fine (RTCP from a TCP client).
    let mut ok = vec![b'$', 1, 2, 0];
    ok.resize(4 + 512, 0);
    h.send(C1, &ok);
    assert!(!closed(&h.take(), C1));
    let mut big = vec![b'$', 1, 2, 1];
    big.resize(4 + 513, 0);
    h.send(C1, &big);
    let outs = h.take();
    assert!(closed(&outs, C1));
    assert_eq!(limit_events(&outs), vec![Limit::InterleavedFrame]);
}

#[test]
fn shutdown_says_bye_and_closes() {
    let mut h = H::connected();
    h.setup_and_play();
    h.take();
    let now = h.now;
    h.server.shutdown(now);
    h.drain();
    let outs = h.take();
    let rtcp = udp(&outs, rtcp_local(), client_rtcp());
    assert_eq!(rtcp_types(&rtcp[0]), vec![200, 202, 203]);
    assert!(outs.iter().any(|o| matches!(o, Out::Close(C1))));
    assert_eq!(
        (h.server.session_count(), h.server.connection_count()),
        (0, 0)
    );
    assert_eq!(h.deadline, None);
    h.connect(ConnId(2));
    assert!(h.take().iter().any(|o| matches!(o, Out::Close(ConnId(2)))));
}
