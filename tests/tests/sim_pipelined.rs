//! Pipelined requests: several requests in one write (and one read) are answered in order, one
//! reply each, each with its request's CSeq — including failures in the middle of the batch.
//! Also the client machine pipelining OPTIONS with DESCRIBE and a keepalive with PLAY.

use it::sim::{responses, seed, Sim};
use rtsp_core::client::ClientEvent;
use rtsp_core::message::{HeaderName, StatusCode};
use std::time::Duration;

fn session_of(r: &rtsp_core::message::Response) -> Option<String> {
    r.headers
        .get(&HeaderName::SESSION)
        .map(|s| s.split(';').next().unwrap().to_string())
}

#[test]
fn sim_pipelined_batches_are_answered_in_order() {
    let mut sim = Sim::new(seed(41));
    let raw = sim.add_raw();
    let wire = sim.connect_raw(raw);
    sim.run_for(Duration::from_millis(50));
    let u = it::sim::url();
    // Batch 1: OPTIONS, DESCRIBE, a 404 DESCRIBE, SETUP, a PLAY without session (455).
    let batch = format!(
        "OPTIONS {u} RTSP/1.0\r\nCSeq: 10\r\n\r\n\
         DESCRIBE {u} RTSP/1.0\r\nCSeq: 11\r\n\r\n\
         DESCRIBE rtsp://10.0.0.1:554/nope RTSP/1.0\r\nCSeq: 12\r\n\r\n\
         SETUP {u}/stream=0 RTSP/1.0\r\nCSeq: 13\r\nTransport: RTP/AVP/TCP;unicast;interleaved=0-1\r\n\r\n\
         PLAY {u} RTSP/1.0\r\nCSeq: 14\r\n\r\n"
    );
    sim.raw_send(wire, batch.as_bytes());
    sim.run_for(Duration::from_millis(50));
    let got = responses(&sim.raws[raw].received[&wire]);
    let summary: Vec<(Option<u32>, u16)> = got.iter().map(|r| (r.cseq(), r.status.0)).collect();
    assert_eq!(
        summary,
        vec![
            (Some(10), 200),
            (Some(11), 200),
            (Some(12), 404),
            (Some(13), 200),
            (Some(14), 455)
        ],
        "seed {}",
        sim.seed
    );
    let session = session_of(&got[3]).expect("session");

    // Batch 2: PLAY, GET_PARAMETER, PAUSE, PLAY with a bad session (454), TEARDOWN.
    let batch = format!(
        "PLAY {u} RTSP/1.0\r\nCSeq: 20\r\nSession: {session}\r\n\r\n\
         GET_PARAMETER {u} RTSP/1.0\r\nCSeq: 21\r\nSession: {session}\r\n\r\n\
         PAUSE {u} RTSP/1.0\r\nCSeq: 22\r\nSession: {session}\r\n\r\n\
         PLAY {u} RTSP/1.0\r\nCSeq: 23\r\nSession: 999\r\n\r\n\
         TEARDOWN {u} RTSP/1.0\r\nCSeq: 24\r\nSession: {session}\r\n\r\n"
    );
    let before = sim.raws[raw].received[&wire].len();
    sim.raw_send(wire, batch.as_bytes());
    sim.run_for(Duration::from_millis(500));
    let got = responses(&sim.raws[raw].received[&wire][before..]);
    let summary: Vec<(Option<u32>, u16)> = got.iter().map(|r| (r.cseq(), r.status.0)).collect();
    assert_eq!(
        summary,
        vec![
            (Some(20), 200),
            (Some(21), 200),
            (Some(22), 200),
            (Some(23), 454),
            (Some(24), 200)
        ],
        "seed {}",
        sim.seed
    );
    assert_eq!(sim.server.session_count(), 0);
    // PLAY and PAUSE were processed in the same instant: at most the first frame went out.
    let tail = &sim.raws[raw].received[&wire][before..];
    let dollars = tail.windows(2).filter(|w| w == b"$\x00").count();
    assert!(
        dollars <= 2,
        "{dollars} interleaved RTP frames between PLAY and PAUSE of one batch"
    );
}

#[test]
fn sim_pipelined_client_requests() {
    let mut sim = Sim::new(seed(42));
    let c = sim.add_client(|_| {});
    // OPTIONS is not state-changing: DESCRIBE may follow before its reply.
    let a = sim.call(c, |c| c.options().unwrap());
    let b = sim.call(c, |c| c.describe().unwrap());
    sim.run_for(Duration::from_millis(100));
    let replies: Vec<u32> = sim
        .client(c)
        .events
        .iter()
        .filter_map(|(_, e)| match e {
            ClientEvent::Response { cseq, status, .. } if *status == StatusCode::OK => Some(*cseq),
            _ => None,
        })
        .collect();
    assert_eq!(replies, vec![a, b]);
    assert!(sim
        .client(c)
        .saw(|e| matches!(e, ClientEvent::Described { .. })));
    // SETUP, then a second SETUP while the first is outstanding is refused locally.
    let udp = sim.client(c).udp();
    sim.call(c, |c| c.setup(udp).unwrap());
    assert!(
        sim.call(c, |c| c.setup(udp)).is_err(),
        "second SETUP while one is outstanding"
    );
    sim.run_for(Duration::from_millis(100));
    assert!(sim
        .client(c)
        .saw(|e| matches!(e, ClientEvent::SetupDone { .. })));
}
