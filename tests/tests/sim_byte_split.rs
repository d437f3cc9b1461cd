//! Every request of a whole conversation, split at every byte position, gets byte-for-byte the
//! same replies (and interleaved media) from the server as when it arrives in one piece. Also:
//! the whole conversation one byte per read, and at random cut points.

use it::sim::netem::Split;
use it::sim::{responses, seed, Sim, STREAM};
use rtsp_core::message::HeaderName;
use std::time::Duration;

/// Gap between requests (virtual time), so each is answered before the next; not a multiple of
/// the frame interval, so no request arrives at the instant a frame is due (a request cut in two
/// could then legitimately let that frame out before its reply instead of after).
const GAP: Duration = Duration::from_micros(101_013);

fn url() -> String {
    it::sim::url()
}

/// The conversation; `{S}` is replaced by the session id once known.
fn script() -> Vec<Vec<u8>> {
    let u = url();
    vec![
        format!("OPTIONS {u} RTSP/1.0\r\nCSeq: 1\r\nUser-Agent: split\r\n\r\n"),
        format!("DESCRIBE {u} RTSP/1.0\r\nCSeq: 2\r\nAccept: application/sdp\r\n\r\n"),
        format!("SETUP {u}/stream=0 RTSP/1.0\r\nCSeq: 3\r\nTransport: RTP/AVP/TCP;unicast;interleaved=0-1\r\n\r\n"),
        format!("PLAY {u} RTSP/1.0\r\nCSeq: 4\r\nSession: {{S}}\r\nRange: npt=0.2-\r\n\r\n"),
        // An interleaved RTCP receiver report (RR, no blocks) followed by a keepalive.
        "RR".to_string(),
        format!("GET_PARAMETER {u} RTSP/1.0\r\nCSeq: 5\r\nSession: {{S}}\r\n\r\n"),
        format!("SET_PARAMETER {u} RTSP/1.0\r\nCSeq: 6\r\nSession: {{S}}\r\nContent-Type: text/parameters\r\nContent-Length: 9\r\n\r\nbarparam\n"),
        format!("PAUSE {u} RTSP/1.0\r\nCSeq: 7\r\nSession: {{S}}\r\n\r\n"),
        "BOGUS * RTSP/1.0\r\nCSeq: 8\r\n\r\n".to_string(),
        format!("TEARDOWN {u} RTSP/1.0\r\nCSeq: 9\r\nSession: {{S}}\r\n\r\n"),
    ]
    .into_iter()
    .map(|s| {
        if s == "RR" {
            vec![b'$', 1, 0, 8, 0x80, 0xC9, 0, 1, 0, 0, 0, 7]
        } else {
            s.into_bytes()
        }
    })
    .collect()
}

/// The stream as (RTSP replies, interleaved frames, raw bytes); it must parse completely.
/// Runs are compared on all three: byte for byte.
fn items(stream: &[u8]) -> Items {
    use rtsp_core::message::{Decoded, Decoder, Limits, Message};
    let mut dec = Decoder::new(Limits::default());
    let mut buf = bytes::BytesMut::from(stream);
    let (mut replies, mut frames) = (Vec::new(), Vec::new());
    loop {
        match dec.decode(&mut buf) {
            Ok(Some(Decoded::Message(Message::Response(r)))) => replies.push(r.to_bytes()),
            Ok(Some(Decoded::Message(m))) => panic!("unexpected {m:?}"),
            Ok(Some(Decoded::Interleaved { channel, payload })) => {
                frames.push((channel, payload.to_vec()))
            }
            Ok(None) => break,
            Err(e) => panic!("server stream does not parse: {e}"),
        }
    }
    assert!(buf.is_empty(), "trailing bytes");
    (replies, frames, stream.to_vec())
}

/// Run the conversation (`reqs` already concrete) with the upstream cut at `cuts`; returns the
/// bytes the peer received and the requests as sent.
fn run(seed: u64, reqs: &[Vec<u8>], split: Split) -> Items {
    let mut sim = Sim::new(seed);
    sim.pipe.split = split;
    let raw = sim.add_raw();
    let wire = sim.connect_raw(raw);
    sim.run_for(GAP);
    for r in reqs {
        sim.raw_send(wire, r);
        sim.run_for(GAP);
    }
    assert_eq!(sim.server.session_count(), 0, "TEARDOWN freed the session");
    let got = sim.raws[raw].received[&wire].clone();
    items(&got)
}

/// The reference run, sending requests whole, learning the session id on the way.
/// (replies, interleaved frames, the raw stream).
type Items = (Vec<Vec<u8>>, Vec<(u8, Vec<u8>)>, Vec<u8>);

fn reference(seed: u64) -> (Vec<Vec<u8>>, Items) {
    let mut sim = Sim::new(seed);
    let raw = sim.add_raw();
    let wire = sim.connect_raw(raw);
    sim.run_for(GAP);
    let mut session = String::new();
    let mut sent = Vec::new();
    for r in script() {
        let r = match String::from_utf8(r) {
            Ok(text) => text.replace("{S}", &session).into_bytes(),
            Err(e) => e.into_bytes(),
        };
        sim.raw_send(wire, &r);
        sent.push(r);
        sim.run_for(GAP);
        if session.is_empty() {
            if let Some(s) = responses(&sim.raws[raw].received[&wire])
                .iter()
                .find_map(|r| r.headers.get(&HeaderName::SESSION))
            {
                session = s.split(';').next().unwrap().to_string();
            }
        }
    }
    assert!(!session.is_empty(), "SETUP gave a session");
    let got = sim.raws[raw].received[&wire].clone();
    // One reply per request (the RR gets none), each with its CSeq.
    let cseqs: Vec<u32> = responses(&got).iter().filter_map(|r| r.cseq()).collect();
    assert_eq!(cseqs, (1..=9).collect::<Vec<_>>(), "replies in order");
    (sent, items(&got))
}

#[test]
fn sim_byte_split_every_request_at_every_byte() {
    let seed = seed(31);
    let (reqs, expected) = reference(seed);
    let mut offset = 0u64;
    let mut runs = 0;
    for r in &reqs {
        for k in 1..r.len() as u64 {
            let got = run(seed, &reqs, Split::At(vec![offset + k]));
            assert!(
                got == expected,
                "seed {seed}: request {:?} split at byte {k}: replies differ",
                String::from_utf8_lossy(r)
            );
            runs += 1;
        }
        offset += r.len() as u64;
    }
    assert!(runs > 500, "{runs} runs");
}

#[test]
fn sim_byte_split_one_byte_per_read() {
    let seed = seed(32);
    let (reqs, expected) = reference(seed);
    assert!(
        run(seed, &reqs, Split::EveryByte) == expected,
        "seed {seed}: one byte per read"
    );
}

#[test]
fn sim_byte_split_random_cuts() {
    let base = seed(33);
    let (reqs, expected) = reference(base);
    for i in 0..50 {
        let mut rng = it::sim::Rng::new(base ^ (i << 32));
        let total: u64 = reqs.iter().map(|r| r.len() as u64).sum();
        let cuts: Vec<u64> = (0..1 + rng.below(40))
            .map(|_| 1 + rng.below(total - 1))
            .collect();
        assert!(
            run(base, &reqs, Split::At(cuts.clone())) == expected,
            "seed {base}: cuts {cuts:?}"
        );
    }
    let _ = STREAM;
}
