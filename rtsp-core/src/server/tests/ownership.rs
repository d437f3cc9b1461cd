//! Sessions belong to their owner: the connection that set them up (and its user). Nobody
//! else can touch, keep alive, re-point or even see one; media never goes to the server's
//! own sockets.

use super::*;

const C2: ConnId = ConnId(2);

/// Every request a stranger could send naming session `sid`.
fn hijack_requests(sid: &str) -> Vec<String> {
    let s = format!("Session: {sid}");
    vec![
        req("PLAY", "rtsp://h/test/", 10, &[&s]),
        req("PAUSE", "rtsp://h/test/", 11, &[&s]),
        req("TEARDOWN", "rtsp://h/test/", 12, &[&s]),
        req("TEARDOWN", "*", 13, &[&s]),
        req("GET_PARAMETER", "rtsp://h/test/", 14, &[&s]),
        req("SET_PARAMETER", "rtsp://h/test/", 15, &[&s]),
        req(
            "SETUP",
            "rtsp://h/test/stream=0",
            16,
            &[&s, "Transport: RTP/AVP;unicast;client_port=6000-6001"],
        ),
    ]
}

/// A playing session's frames still go to its owner's port, at the normal rate.
fn still_playing(h: &mut H, sid: &str) {
    h.take();
    h.advance(Duration::from_secs(1));
    let outs = h.take();
    let frames = udp(&outs, rtp_local(), client_rtp())
        .iter()
        .filter(|d| rtp(d).marker)
        .count();
    assert_eq!(frames, 10, "the owner's frames");
    assert!(
        udp(&outs, rtp_local(), addr("192.168.1.7:6000")).is_empty()
            && udp(&outs, rtp_local(), addr("10.9.9.9:6000")).is_empty(),
        "media went to the intruder"
    );
    assert!(h.server.session_stats(sid).is_some());
}

#[test]
fn strangers_get_454_for_a_session_they_do_not_own() {
    let mut h = H::connected_with(ServerConfig {
        loop_media: true,
        ..config()
    });
    let sid = h.setup_and_play();
    // From another address, and from the owner's address on another connection while the
    // owner's connection is open: the same 454 as for an id that never existed.
    for (conn, peer) in [(C2, "10.9.9.9:5555"), (ConnId(3), "192.168.1.7:40001")] {
        connect_from(&mut h, conn, peer);
        for text in hijack_requests(&sid) {
            let r = h.request(conn, &text);
            assert_eq!(
                r.status,
                StatusCode::SESSION_NOT_FOUND,
                "{text:?} from {peer}"
            );
            assert!(r.headers.get(&HeaderName::SESSION).is_none(), "{text:?}");
        }
        still_playing(&mut h, &sid);
    }
    // The owner still controls it.
    let r = h.request(C1, &with_session("PAUSE", "rtsp://h/test/", 20, &sid));
    assert_eq!(r.status, StatusCode::OK);
}

/// OPTIONS naming a session someone else owns says nothing about it and keeps nothing alive.
#[test]
fn options_is_no_oracle_and_no_keepalive_for_strangers() {
    let mut h = H::connected_with(ServerConfig {
        session_timeout: Duration::from_secs(10),
        ..config()
    });
    let sid = h.setup_and_play();
    connect_from(&mut h, C2, "10.9.9.9:5555");
    let unknown = h.request(C2, &with_session("OPTIONS", "*", 1, "12345678901234567890"));
    for i in 0..3 {
        h.advance(Duration::from_secs(4));
        let r = h.request(C2, &with_session("OPTIONS", "*", 2 + i, &sid));
        assert_eq!(r.status, StatusCode::OK);
        assert!(r.headers.get(&HeaderName::SESSION).is_none());
        assert_eq!(
            (r.headers.len(), r.body.len()),
            (unknown.headers.len(), unknown.body.len()),
            "a live id and an unknown one look alike"
        );
    }
    // The owner sent nothing: reaped on time despite the stranger's OPTIONS.
    assert_eq!(h.server.session_count(), 0);
}

/// With authentication, a session belongs to its user too: the same connection with
/// another user's credentials finds nothing.
#[test]
fn a_session_belongs_to_its_user() {
    let mut auth = AuthConfig::new(vec![
        crate::auth::Credentials::new("alice", "a"),
        crate::auth::Credentials::new("bob", "b"),
    ]);
    auth.basic = true;
    let mut h = H::connected_with(ServerConfig {
        auth: Some(auth),
        ..config()
    });
    let basic = |u: &str, p: &str| {
        format!(
            "Authorization: {}",
            crate::auth::basic_authorization(&crate::auth::Credentials::new(u, p))
        )
    };
    let (alice, bob) = (basic("alice", "a"), basic("bob", "b"));
    let r = h.ask(
        C1,
        "SETUP",
        "rtsp://h/test/stream=0",
        1,
        &[&alice, "Transport: RTP/AVP;unicast;client_port=5000-5001"],
    );
    assert_eq!(r.status, StatusCode::OK);
    let s = format!("Session: {}", session_of(&r));
    let r = h.ask(C1, "PLAY", "rtsp://h/test/", 2, &[&bob, &s]);
    assert_eq!(r.status, StatusCode::SESSION_NOT_FOUND);
    let r = h.ask(C1, "PLAY", "rtsp://h/test/", 3, &[&alice, &s]);
    assert_eq!(r.status, StatusCode::OK);
}

/// After the owner's connection closes, the owner's address (and user) may adopt the
/// session from a new connection; nobody else may, not even before the owner does.
#[test]
fn only_the_owners_address_adopts_an_orphaned_session() {
    let mut h = H::connected_with(ServerConfig {
        loop_media: true,
        ..config()
    });
    let sid = h.setup_and_play();
    h.close(C1);
    connect_from(&mut h, C2, "10.9.9.9:5555");
    for text in hijack_requests(&sid) {
        assert_eq!(h.request(C2, &text).status, StatusCode::SESSION_NOT_FOUND);
    }
    still_playing(&mut h, &sid);
    connect_from(&mut h, ConnId(3), "192.168.1.7:40002");
    let r = h.request(
        ConnId(3),
        &with_session("GET_PARAMETER", "rtsp://h/test/", 1, &sid),
    );
    assert_eq!(r.status, StatusCode::OK);
    // Adopted: the stranger is still refused, the new owner controls it.
    assert_eq!(
        h.request(C2, &with_session("TEARDOWN", "rtsp://h/test/", 2, &sid))
            .status,
        StatusCode::SESSION_NOT_FOUND
    );
    let r = h.request(
        ConnId(3),
        &with_session("TEARDOWN", "rtsp://h/test/", 2, &sid),
    );
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(h.server.session_count(), 0);
}

/// A client port naming the server's own RTP or RTCP socket is refused (461): media would
/// come back to the server and its RTCP keep the session alive forever.
#[test]
fn media_to_the_servers_own_sockets_is_refused() {
    let cfg = ServerConfig {
        rtp_local: addr("0.0.0.0:6970"),
        rtcp_local: addr("0.0.0.0:6971"),
        // Another event loop's pair.
        own_udp: vec![addr("0.0.0.0:7000"), addr("0.0.0.0:7001")],
        ..config()
    };
    let mut h = H::with_config(cfg);
    connect_from(&mut h, C1, "127.0.0.1:40000");
    for ports in [
        "6970-6971",
        "6970",
        "6968-6969",
        "6969-6970",
        "6971-6972",
        "7000-7001",
        "6999-7000",
    ] {
        let r = h.setup(
            C1,
            "rtsp://h/test/stream=0",
            1,
            &format!("RTP/AVP;unicast;client_port={ports}"),
        );
        let own = ports != "6968-6969";
        let want = if own {
            StatusCode::UNSUPPORTED_TRANSPORT
        } else {
            StatusCode::OK
        };
        assert_eq!(r.status, want, "client_port={ports}");
    }
    // The lab form too.
    let r = h.request(
        C1,
        "SETUP movie.Mjpeg RTSP/1.0\r\nCSeq: 9\r\nTransport: RTP/UDP; client_port= 6970\r\n\r\n",
    );
    assert_eq!(r.status, StatusCode::UNSUPPORTED_TRANSPORT);
    // The same ports on another host are that host's.
    connect_from(&mut h, C2, "192.168.1.7:40000");
    let r = h.setup(
        C2,
        "rtsp://h/test/stream=0",
        1,
        "RTP/AVP;unicast;client_port=6970-6971",
    );
    assert_eq!(r.status, StatusCode::OK);
}

/// A session never takes the server's own RTCP as a sign of life: not from one of the
/// server's sockets, not its own sender report coming back by any route.
#[test]
fn our_own_rtcp_keeps_nothing_alive() {
    let mut h = H::connected_with(ServerConfig {
        session_timeout: Duration::from_secs(10),
        ..config()
    });
    let sid = h.setup_and_play();
    h.take();
    h.advance(Duration::from_secs(2));
    // The session's own SR (it sends one a second after PLAY), come back.
    let outs = h.take();
    let sr = udp(&outs, rtcp_local(), client_rtcp())
        .into_iter()
        .find(|d| d[1] == 200)
        .expect("a sender report");
    for _ in 0..4 {
        h.advance(Duration::from_secs(3));
        h.datagram(rtcp_local(), client_rtcp(), &sr);
        h.datagram(rtcp_local(), rtcp_local(), &sr);
    }
    assert_eq!(
        h.server.session_count(),
        0,
        "{sid} kept alive by its own SR"
    );
}
