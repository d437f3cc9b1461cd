//! No client can starve the others: session caps per connection, per address and in all
//! (shared by every event loop), sessions never played reaped early, idle connections closed
//! early while the server is crowded.

use super::*;

fn setup_from(h: &mut H, conn: ConnId, cseq: u32, port: u16) -> Response {
    h.setup(
        conn,
        "rtsp://h/test/stream=0",
        cseq,
        &format!("RTP/AVP;unicast;client_port={port}-{}", port + 1),
    )
}

#[test]
fn sessions_are_capped_per_connection_and_per_address() {
    let mut h = H::with_config(ServerConfig {
        max_sessions_per_conn: 2,
        max_sessions_per_ip: 3,
        ..config()
    });
    connect_from(&mut h, C1, "10.0.0.5:1000");
    connect_from(&mut h, ConnId(2), "10.0.0.5:1001");
    connect_from(&mut h, ConnId(3), "10.0.0.6:1000");
    for i in 0..2 {
        assert_eq!(
            setup_from(&mut h, C1, i, 5000 + 2 * i as u16).status,
            StatusCode::OK
        );
    }
    h.take();
    let r = setup_from(&mut h, C1, 3, 5010);
    assert_eq!(r.status, StatusCode::NOT_ENOUGH_BANDWIDTH);
    assert_eq!(limit_events(&h.take()), vec![Limit::SessionsPerConnection]);
    // Same address, another connection: one more, then the address is full.
    assert_eq!(
        setup_from(&mut h, ConnId(2), 1, 5020).status,
        StatusCode::OK
    );
    h.take();
    let r = setup_from(&mut h, ConnId(2), 2, 5022);
    assert_eq!(r.status, StatusCode::NOT_ENOUGH_BANDWIDTH);
    assert_eq!(limit_events(&h.take()), vec![Limit::SessionsPerIp]);
    // Another address is not concerned; the catalog was not asked for the refused ones.
    assert_eq!(
        setup_from(&mut h, ConnId(3), 1, 5000).status,
        StatusCode::OK
    );
    assert_eq!(h.server.session_count(), 4);
    // A session that ends gives its place back.
    let first = h.server.session_ids()[0].clone();
    let owner = [C1, ConnId(2)]
        .into_iter()
        .find(|&c| {
            h.request(c, &with_session("TEARDOWN", "rtsp://h/test/", 9, &first))
                .status
                == StatusCode::OK
        })
        .expect("an owner");
    assert_eq!(setup_from(&mut h, owner, 10, 5030).status, StatusCode::OK);
}

/// Two event loops (two machines) sharing their counts: a limit per address or in all holds
/// across them, and a session ending on one frees the place for the other.
#[test]
fn per_ip_and_total_limits_hold_across_event_loops() {
    let counts = SharedCounts::new();
    let cfg = ServerConfig {
        max_connections_per_ip: 3,
        max_sessions_per_ip: 2,
        max_sessions: 3,
        counts: Some(counts.clone()),
        ..config()
    };
    let mut a = H::with_config(cfg.clone());
    let mut b = H::with_config(cfg);
    connect_from(&mut a, C1, "10.0.0.5:1000");
    connect_from(&mut a, ConnId(2), "10.0.0.5:1001");
    connect_from(&mut b, C1, "10.0.0.5:1002");
    b.take();
    connect_from(&mut b, ConnId(2), "10.0.0.5:1003");
    let outs = b.take();
    assert!(closed(&outs, ConnId(2)));
    assert_eq!(limit_events(&outs), vec![Limit::ConnectionsPerIp]);
    assert_eq!(counts.connections_from("10.0.0.5".parse().unwrap()), 3);
    // Sessions: two for the address in all, whichever loop.
    assert_eq!(setup_from(&mut a, C1, 1, 5000).status, StatusCode::OK);
    assert_eq!(setup_from(&mut b, C1, 1, 5002).status, StatusCode::OK);
    b.take();
    assert_eq!(
        setup_from(&mut a, ConnId(2), 1, 5004).status,
        StatusCode::NOT_ENOUGH_BANDWIDTH
    );
    // In all: a third address gets the last place, a fourth none.
    connect_from(&mut a, ConnId(3), "10.0.0.6:1000");
    connect_from(&mut b, ConnId(3), "10.0.0.7:1000");
    assert_eq!(
        setup_from(&mut a, ConnId(3), 1, 5000).status,
        StatusCode::OK
    );
    b.take();
    assert_eq!(
        setup_from(&mut b, ConnId(3), 1, 5000).status,
        StatusCode::NOT_ENOUGH_BANDWIDTH
    );
    assert_eq!(limit_events(&b.take()), vec![Limit::Sessions]);
    // A session ending on loop a frees a place for loop b.
    let ended = a.server.session_ids();
    let torn = ended.iter().any(|sid| {
        a.request(C1, &with_session("TEARDOWN", "rtsp://h/test/", 5, sid))
            .status
            == StatusCode::OK
    });
    assert!(torn);
    assert_eq!(counts.sessions(), 2);
    assert_eq!(
        setup_from(&mut b, ConnId(3), 2, 5000).status,
        StatusCode::OK
    );
}

/// A session set up and never played goes after `unplayed_timeout`; one that played stays
/// (until its own silence limit); a course-lab session waits for its user's click.
#[test]
fn sessions_never_played_are_reaped_early() {
    let mut h = H::connected_with(ServerConfig {
        unplayed_timeout: Duration::from_secs(5),
        loop_media: true,
        ..config()
    });
    h.connect(ConnId(2));
    let idle = setup_from(&mut h, ConnId(2), 1, 6000);
    let idle = session_of(&idle);
    let t0 = h.now;
    let played = h.setup_and_play();
    // The course-lab client: its own connection, a bare name, an unterminated request.
    h.connect(ConnId(3));
    h.send(
        ConnId(3),
        b"SETUP movie.Mjpeg RTSP/1.0\nCSeq: 1\nTransport: RTP/UDP; client_port= 25000",
    );
    h.advance(Duration::from_millis(300));
    let reply = String::from_utf8(stream_bytes(&h.take(), ConnId(3))).unwrap();
    assert!(reply.starts_with("RTSP/1.0 200"), "{reply}");
    h.take();
    h.advance_to(t0 + Duration::from_millis(4999));
    assert_eq!(h.server.session_count(), 3, "{:?}", events(&h.take()));
    h.advance_to(t0 + Duration::from_secs(5));
    let outs = h.take();
    let gone: Vec<_> = events(&outs)
        .into_iter()
        .filter_map(|e| match e {
            ServerEvent::SessionClosed { session, reason } => Some((session.clone(), *reason)),
            _ => None,
        })
        .collect();
    assert_eq!(gone, vec![(idle, CloseReason::NeverPlayed)]);
    assert!(h.server.session_stats(&played).is_some());
    h.advance(Duration::from_secs(30));
    assert_eq!(
        h.server.session_count(),
        2,
        "the lab session and the played one"
    );
}

/// While more than half the connection slots are taken, a connection without a session
/// that sent nothing for the crowded limit is closed as the next connection arrives; one
/// holding a session never is. On a quiet server the long idle limit applies.
#[test]
fn a_crowded_server_closes_idle_connections_early() {
    let cfg = ServerConfig {
        max_connections: 6,
        crowded_idle_timeout: Duration::from_secs(10),
        loop_media: true,
        ..config()
    };
    let mut h = H::connected_with(cfg);
    let sid = h.setup_and_play();
    for i in 2..=3 {
        connect_from(&mut h, ConnId(i), &format!("10.0.0.{i}:1000"));
    }
    // Half full (3 of 6): not crowded; 20 s later nobody is closed.
    h.advance(Duration::from_secs(20));
    connect_from(&mut h, ConnId(4), "10.0.0.4:1000");
    let outs = h.take();
    assert!(limit_events(&outs).is_empty());
    // 4 of 6: crowded. The next arrival closes 2 and 3 (idle 20 s), not 4 (new), not C1.
    connect_from(&mut h, ConnId(5), "10.0.0.5:1000");
    let outs = h.take();
    assert!(closed(&outs, ConnId(2)) && closed(&outs, ConnId(3)));
    assert!(!closed(&outs, ConnId(4)) && !closed(&outs, C1));
    assert_eq!(
        limit_events(&outs),
        vec![Limit::CrowdedIdle, Limit::CrowdedIdle]
    );
    assert!(h.server.session_stats(&sid).is_some());
}
