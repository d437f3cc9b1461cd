//! The per-connection and RTCP indexes (no scan of every session per packet or close).

use super::*;
use proptest::prelude::*;

const C2: ConnId = ConnId(2);

fn setup_tcp(h: &mut H, conn: ConnId, channels: Option<&str>) -> (String, String) {
    let transport = match channels {
        Some(c) => format!("Transport: RTP/AVP/TCP;unicast;interleaved={c}"),
        None => "Transport: RTP/AVP/TCP;unicast".to_string(),
    };
    let r = h.ask(conn, "SETUP", "rtsp://h/test/stream=0", 3, &[&transport]);
    assert_eq!(r.status, StatusCode::OK, "{r:?}");
    h.server.assert_indexes();
    let t = header(&r, "Transport").unwrap();
    let at = t.find("interleaved=").unwrap() + "interleaved=".len();
    let chans = t[at..].split(';').next().unwrap().to_string();
    (session_of(&r), chans)
}

fn ssrc_of(h: &H, id: &str) -> u32 {
    h.server.session_ssrc(id).unwrap()
}

fn rr(ssrc: u32) -> Vec<u8> {
    let mut rr = vec![0x81, 201, 0, 7, 0, 0, 0, 1];
    rr.extend_from_slice(&ssrc.to_be_bytes());
    rr.extend_from_slice(&[0, 0, 0, 3, 0, 0, 0, 100, 0, 0, 0, 7]);
    rr.extend_from_slice(&[0; 8]);
    rr
}

fn reports(outs: &[Out]) -> Vec<String> {
    events(outs)
        .into_iter()
        .filter_map(|e| match e {
            ServerEvent::ReceiverReport { session, .. } => Some(session.clone()),
            _ => None,
        })
        .collect()
}

fn closed(outs: &[Out]) -> Vec<(String, CloseReason)> {
    events(outs)
        .into_iter()
        .filter_map(|e| match e {
            ServerEvent::SessionClosed { session, reason } => Some((session.clone(), *reason)),
            _ => None,
        })
        .collect()
}

#[test]
fn interleaved_sessions_follow_setup_teardown_and_close() {
    let mut h = H::connected();
    h.connect(C2);
    let (a, ca) = setup_tcp(&mut h, C1, None);
    let (b, cb) = setup_tcp(&mut h, C1, Some("2-3"));
    // Taken on this connection: another pair is chosen.
    let (c, cc) = setup_tcp(&mut h, C1, Some("2-3"));
    assert_eq!(
        (ca.as_str(), cb.as_str(), cc.as_str()),
        ("0-1", "2-3", "4-5")
    );
    // Another connection has its own channels.
    let (d, cd) = setup_tcp(&mut h, C2, Some("2-3"));
    assert_eq!(cd, "2-3");
    let key = |h: &H, id: &str| h.server.session_key(id);
    let mine = |h: &H, conn| h.server.conn_sessions(conn);
    let mut want = vec![key(&h, &a), key(&h, &b), key(&h, &c)];
    want.sort_unstable();
    assert_eq!(mine(&h, C1), want);
    assert_eq!(mine(&h, C2), vec![key(&h, &d)]);

    // An RR on C1's channel 3 is about `b` only (not `d`, on channel 3 of C2).
    h.take();
    let mut frame = vec![b'$', 3, 0, 32];
    frame.extend_from_slice(&rr(ssrc_of(&h, &b)));
    h.send(C1, &frame);
    assert_eq!(reports(&h.take()), vec![b.clone()]);

    // TEARDOWN of `b` frees 2-3 on C1.
    let sess = format!("Session: {b}");
    let r = h.ask(C1, "TEARDOWN", "rtsp://h/test/", 4, &[&sess]);
    assert_eq!(r.status, StatusCode::OK);
    h.server.assert_indexes();
    assert_eq!(mine(&h, C1).len(), 2);
    let (e, ce) = setup_tcp(&mut h, C1, None);
    assert_eq!(ce, "2-3");

    // Closing C1 ends exactly its sessions, in id order; C2's lives on.
    h.take();
    h.close(C1);
    h.server.assert_indexes();
    let mut want: Vec<String> = vec![a, c, e];
    want.sort();
    let got = closed(&h.take());
    assert_eq!(
        got,
        want.into_iter()
            .map(|s| (s, CloseReason::ConnectionClosed))
            .collect::<Vec<_>>()
    );
    assert_eq!(h.server.session_ids(), vec![d.clone()]);
    assert_eq!(mine(&h, C2), vec![key(&h, &d)]);
}

#[test]
fn silent_interleaved_sessions_are_reaped_and_free_their_channels() {
    let mut h = H::connected_with(config_unplayed_kept());
    let (a, _) = setup_tcp(&mut h, C1, None);
    let (_, cb) = setup_tcp(&mut h, C1, None);
    assert_eq!(cb, "2-3");
    // Bytes on the connection keep both alive ...
    h.advance(Duration::from_secs(50));
    h.send(C1, &[b'$', 1, 0, 0]);
    h.advance(Duration::from_secs(50));
    assert_eq!(h.server.session_count(), 2);
    // ... silence reaps them.
    h.take();
    h.advance(Duration::from_secs(61));
    h.server.assert_indexes();
    assert_eq!(h.server.session_count(), 0);
    assert!(closed(&h.take())
        .iter()
        .all(|(_, r)| *r == CloseReason::Timeout));
    assert!(h.server.conn_sessions(C1).is_empty());
    let (a2, ca) = setup_tcp(&mut h, C1, None);
    assert_ne!(a, a2);
    assert_eq!(ca, "0-1");
}

#[test]
fn udp_sessions_forget_their_closed_control_connection() {
    let mut h = H::connected_with(config_unplayed_kept());
    let id = h.setup_udp(C1, "rtsp://h/test/stream=0");
    h.server.assert_indexes();
    h.close(C1);
    h.server.assert_indexes();
    assert_eq!(h.server.session_ids(), vec![id.clone()]);
    // A new connection under the same id does not hold the old session.
    h.connect(C1);
    h.server.assert_indexes();
    assert!(h.server.conn_sessions(C1).is_empty());
    // RTCP from the client port keeps it alive; an RR from another port of the same host
    // naming its SSRC is reported too; one from another host is not.
    let ssrc = ssrc_of(&h, &id);
    for _ in 0..3 {
        h.advance(Duration::from_secs(40));
        h.datagram(rtcp_local(), client_rtcp(), &[0x80, 201, 0, 1, 0, 0, 0, 9]);
    }
    assert_eq!(h.server.session_count(), 1);
    h.take();
    h.datagram(rtcp_local(), addr("192.168.1.7:7777"), &rr(ssrc));
    assert_eq!(reports(&h.take()), vec![id.clone()]);
    h.datagram(rtcp_local(), addr("192.168.1.8:5001"), &rr(ssrc));
    assert!(reports(&h.take()).is_empty());
    h.advance(Duration::from_secs(61));
    h.server.assert_indexes();
    assert_eq!(h.server.session_count(), 0);
    assert!(h.server.rtcp_indexes_empty());
}

/// A UDP session whose control connection closed is adopted by a SETUP from the same
/// address on a new connection, which moves it there (interleaved: it then dies with that
/// connection); a SETUP naming it from another address finds nothing.
#[test]
fn resetup_moves_a_session_between_connections() {
    let mut h = H::connected_with(config_unplayed_kept());
    let id = h.setup_udp(C1, "rtsp://h/test/stream=0");
    let sess = format!("Session: {id}");
    h.close(C1);
    connect_from(&mut h, ConnId(3), "192.168.1.99:4000");
    let r = h.ask(
        ConnId(3),
        "SETUP",
        "rtsp://h/test/stream=0",
        4,
        &["Transport: RTP/AVP/TCP;unicast", &sess],
    );
    assert_eq!(r.status, StatusCode::SESSION_NOT_FOUND, "another address");
    h.connect(C2);
    let r = h.ask(
        C2,
        "SETUP",
        "rtsp://h/test/stream=0",
        5,
        &["Transport: RTP/AVP/TCP;unicast", &sess],
    );
    assert_eq!(r.status, StatusCode::OK);
    h.server.assert_indexes();
    assert_eq!(h.server.conn_sessions(C2), vec![h.server.session_key(&id)]);
    // Interleaved on C2 now: closing C2 ends it.
    h.close(C2);
    h.server.assert_indexes();
    assert_eq!(h.server.session_count(), 0);
}

/// One step of the randomized sequence.
#[derive(Debug, Clone)]
enum Op {
    Connect(u8),
    Close(u8),
    /// SETUP on a connection: transport kind (0 UDP, 1 TCP, 2 TCP with channels, 3 lab),
    /// requested channel, and optionally into an existing session (by index).
    Setup(u8, u8, u8, Option<u8>),
    Teardown(u8, u8),
    Play(u8, u8),
    Advance(u16),
    InterleavedRr(u8, u8, u8),
    DatagramRr(u8, u8),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (0u8..3).prop_map(Op::Connect),
        (0u8..3).prop_map(Op::Close),
        (0u8..3, 0u8..4, 0u8..8, proptest::option::of(0u8..8))
            .prop_map(|(c, k, ch, s)| Op::Setup(c, k, ch, s)),
        (0u8..3, 0u8..8).prop_map(|(c, s)| Op::Teardown(c, s)),
        (0u8..3, 0u8..8).prop_map(|(c, s)| Op::Play(c, s)),
        (0u16..40_000).prop_map(Op::Advance),
        (0u8..3, 0u8..8, 0u8..8).prop_map(|(c, ch, s)| Op::InterleavedRr(c, ch, s)),
        (0u8..8, 0u8..3).prop_map(|(s, p)| Op::DatagramRr(s, p)),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn indexes_match_a_full_scan(ops in proptest::collection::vec(op(), 1..40)) {
        let mut h = H::with_config(ServerConfig {
            session_timeout: Duration::from_secs(20),
            ..config()
        });
        let mut open = [false; 3];
        let mut seen: Vec<String> = Vec::new();
        let conn = |i: u8| ConnId(u64::from(i) + 1);
        let pick = |seen: &Vec<String>, i: u8| {
            seen.get(usize::from(i) % seen.len().max(1)).cloned()
        };
        for (n, op) in ops.into_iter().enumerate() {
            let cseq = n as u32 + 1;
            match op {
                Op::Connect(i) => {
                    let now = h.now;
                    let peer = SocketAddr::new(addr(PEER).ip(), 40_000 + u16::from(i));
                    h.input(Input::Connected { now, conn: conn(i), peer });
                    open[usize::from(i)] = true;
                }
                Op::Close(i) => {
                    let now = h.now;
                    h.input(Input::StreamClosed { now, conn: conn(i) });
                    open[usize::from(i)] = false;
                }
                Op::Setup(i, kind, ch, into) => {
                    let transport = match kind {
                        0 => "Transport: RTP/AVP;unicast;client_port=5000-5001".to_string(),
                        1 => "Transport: RTP/AVP/TCP;unicast".to_string(),
                        2 => format!("Transport: RTP/AVP/TCP;unicast;interleaved={ch}-{}", ch + 1),
                        _ => "Transport: RTP/UDP;client_port=25000".to_string(),
                    };
                    let uri = if kind == 3 { "test" } else { "rtsp://h/test/stream=0" };
                    let sess = into.and_then(|s| pick(&seen, s)).map(|s| format!("Session: {s}"));
                    let mut headers = vec![transport.as_str()];
                    headers.extend(sess.as_deref());
                    h.take();
                    h.send(conn(i), req("SETUP", uri, cseq, &headers).as_bytes());
                    let outs = h.take();
                    for r in responses(&outs, conn(i)) {
                        if r.status == StatusCode::OK {
                            let id = session_of(&r);
                            if !seen.contains(&id) {
                                seen.push(id);
                            }
                        }
                    }
                }
                Op::Teardown(i, s) | Op::Play(i, s) => {
                    let method = if matches!(op, Op::Play(..)) { "PLAY" } else { "TEARDOWN" };
                    if let Some(id) = pick(&seen, s) {
                        let sess = format!("Session: {id}");
                        h.send(conn(i), req(method, "rtsp://h/test/", cseq, &[&sess]).as_bytes());
                    }
                }
                Op::Advance(ms) => h.advance(Duration::from_millis(u64::from(ms))),
                Op::InterleavedRr(i, ch, s) => {
                    let ssrc = pick(&seen, s)
                        .and_then(|id| h.server.session_ssrc(&id))
                        .unwrap_or(1);
                    let mut frame = vec![b'$', ch, 0, 32];
                    frame.extend_from_slice(&rr(ssrc));
                    h.send(conn(i), &frame);
                }
                Op::DatagramRr(s, p) => {
                    let ssrc = pick(&seen, s)
                        .and_then(|id| h.server.session_ssrc(&id))
                        .unwrap_or(1);
                    let remote = [client_rtcp(), addr("192.168.1.7:9999"), addr("10.9.9.9:5001")];
                    h.datagram(rtcp_local(), remote[usize::from(p)], &rr(ssrc));
                }
            }
            h.server.assert_indexes();
            for (i, &o) in open.iter().enumerate() {
                prop_assert_eq!(h.server.connection_open(conn(i as u8)), o);
            }
        }
        h.take();
        let now = h.now;
        h.server.shutdown(now);
        h.drain();
        h.server.assert_indexes();
        prop_assert_eq!(h.server.session_count(), 0);
    }
}
