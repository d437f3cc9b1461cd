//! Property tests over the simulator (proptest): generated request sequences, valid and
//! invalid, from raw peers; and generated network conditions under our client.
//!
//! Invariants: the server never panics; every request gets exactly one reply, in order, with
//! the request's CSeq (none, and 400, when the request had none); it never sends RTP for a
//! session that is not Playing (by the replies it gave); after TEARDOWN of every session it
//! has none, and once the connections are gone it holds nothing and arms no timer. Under any
//! network, our client only emits source frames, in order, and TEARDOWN frees the session.

use it::sim::netem::{Impair, Loss, Split};
use it::sim::{media, server_rtcp, server_rtp, url, Setup, Sim, STREAM};
use proptest::prelude::*;
use rtsp_core::client::{ClientEvent, TransportChoice};
use rtsp_core::io::Dest;
use rtsp_core::message::{Decoded, Decoder, HeaderName, Limits, Message};
use rtsp_core::server::ServerConfig;
use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

/// Case count: `SIM_CASES` from the environment (for a longer hunt), else `default` (sized so
/// the whole simulated suite stays well under a minute in debug on 2 cores).
fn cases(default: u32) -> u32 {
    std::env::var("SIM_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[derive(Debug, Clone, Copy)]
enum Meth {
    Options,
    Describe,
    Setup,
    Play,
    Pause,
    Teardown,
    GetParameter,
    SetParameter,
    Announce,
    Bogus,
}

#[derive(Debug, Clone, Copy)]
enum Uri {
    Stream,
    Track,
    OtherTrack,
    Missing,
    Traversal,
    Star,
    Bare,
}

#[derive(Debug, Clone, Copy)]
enum Sess {
    None,
    Known(usize),
    Bogus,
}

#[derive(Debug, Clone, Copy)]
enum Trans {
    None,
    Udp,
    Tcp,
    Multicast,
    Garbage,
}

#[derive(Debug, Clone, Copy)]
enum Rng {
    None,
    Start(u8),
    Beyond,
    Garbage,
}

#[derive(Debug, Clone)]
struct Req {
    m: Meth,
    uri: Uri,
    cseq: Option<u32>,
    sess: Sess,
    trans: Trans,
    range: Rng,
    body: bool,
    require: bool,
}

#[derive(Debug, Clone)]
enum Op {
    Send(Req),
    /// Garbage on the connection (the server may close it); a new connection follows.
    Garbage(Vec<u8>),
    Wait(u64),
    Reconnect,
    /// Junk on the server's RTCP port.
    Datagram(Vec<u8>),
}

fn req() -> impl Strategy<Value = Req> {
    let m = prop_oneof![1 => Just(Meth::Options), 1 => Just(Meth::Describe), 4 => Just(Meth::Setup), 4 => Just(Meth::Play), 2 => Just(Meth::Pause), 2 => Just(Meth::Teardown), 1 => Just(Meth::GetParameter), 1 => Just(Meth::SetParameter), 1 => Just(Meth::Announce), 1 => Just(Meth::Bogus)];
    let uri = prop_oneof![6 => Just(Uri::Stream), 3 => Just(Uri::Track), 1 => Just(Uri::OtherTrack), 1 => Just(Uri::Missing), 1 => Just(Uri::Traversal), 1 => Just(Uri::Star), 1 => Just(Uri::Bare)];
    let sess = prop_oneof![1 => Just(Sess::None), 6 => (0usize..4).prop_map(Sess::Known), 1 => Just(Sess::Bogus)];
    let trans = prop_oneof![1 => Just(Trans::None), 3 => Just(Trans::Udp), 3 => Just(Trans::Tcp), 1 => Just(Trans::Multicast), 1 => Just(Trans::Garbage)];
    let range = prop_oneof![4 => Just(Rng::None), 1 => (0u8..30).prop_map(Rng::Start), 1 => Just(Rng::Beyond), 1 => Just(Rng::Garbage)];
    let cseq = prop_oneof![9 => (0u32..1_000_000).prop_map(Some), 1 => Just(None)];
    (
        m,
        uri,
        cseq,
        sess,
        trans,
        range,
        prop::bool::weighted(0.1),
        prop::bool::weighted(0.05),
    )
        .prop_map(|(m, uri, cseq, sess, trans, range, body, require)| Req {
            m,
            uri,
            cseq,
            sess,
            trans,
            range,
            body,
            require,
        })
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![12 => req().prop_map(Op::Send), 1 => prop::collection::vec(any::<u8>(), 1..64).prop_map(Op::Garbage), 3 => prop_oneof![0u64..2_000, 5_000u64..16_000].prop_map(Op::Wait), 1 => Just(Op::Reconnect), 1 => prop::collection::vec(any::<u8>(), 0..40).prop_map(Op::Datagram)]
}

fn render(r: &Req, known: &[String], client_port: u16) -> (Vec<u8>, Option<String>) {
    let base = url();
    let uri = match r.uri {
        Uri::Stream => base.clone(),
        Uri::Track => format!("{base}/stream=0"),
        Uri::OtherTrack => format!("{base}/stream=1"),
        Uri::Missing => "rtsp://10.0.0.1:554/missing.mjpeg".to_string(),
        Uri::Traversal => "rtsp://10.0.0.1:554/../etc/passwd".to_string(),
        Uri::Star => "*".to_string(),
        Uri::Bare => STREAM.to_string(),
    };
    let method = match r.m {
        Meth::Options => "OPTIONS",
        Meth::Describe => "DESCRIBE",
        Meth::Setup => "SETUP",
        Meth::Play => "PLAY",
        Meth::Pause => "PAUSE",
        Meth::Teardown => "TEARDOWN",
        Meth::GetParameter => "GET_PARAMETER",
        Meth::SetParameter => "SET_PARAMETER",
        Meth::Announce => "ANNOUNCE",
        Meth::Bogus => "FROB",
    };
    let mut s = format!("{method} {uri} RTSP/1.0\r\n");
    if let Some(c) = r.cseq {
        s.push_str(&format!("CSeq: {c}\r\n"));
    }
    let session = match r.sess {
        Sess::None => None,
        Sess::Known(i) if !known.is_empty() => Some(known[i % known.len()].clone()),
        // Nothing known yet: no header (a SETUP then creates a session).
        Sess::Known(_) => None,
        Sess::Bogus => Some("123456789".to_string()),
    };
    if let Some(id) = &session {
        s.push_str(&format!("Session: {id}\r\n"));
    }
    match r.trans {
        Trans::None => {}
        Trans::Udp => s.push_str(&format!(
            "Transport: RTP/AVP;unicast;client_port={}-{}\r\n",
            client_port,
            client_port + 1
        )),
        Trans::Tcp => s.push_str("Transport: RTP/AVP/TCP;unicast;interleaved=0-1\r\n"),
        Trans::Multicast => s.push_str("Transport: RTP/AVP;multicast\r\n"),
        Trans::Garbage => s.push_str("Transport: ;;==\u{1}\r\n"),
    }
    match r.range {
        Rng::None => {}
        Rng::Start(x) => s.push_str(&format!("Range: npt={}-\r\n", f64::from(x) / 10.0)),
        Rng::Beyond => s.push_str("Range: npt=9999-\r\n"),
        Rng::Garbage => s.push_str("Range: npt=abc\r\n"),
    }
    if r.require {
        s.push_str("Require: com.example.frob\r\n");
    }
    if r.body {
        s.push_str("Content-Length: 5\r\n\r\nhello");
    } else {
        s.push_str("\r\n");
    }
    (s.into_bytes(), session)
}

/// What we expect of one wire's replies.
#[derive(Debug, Default)]
struct WireModel {
    /// (CSeq, method, session sent) per request, in order.
    reqs: Vec<(Option<u32>, Meth, Option<String>)>,
    /// Requests after this index are not checked (garbage followed).
    checked: Option<usize>,
    decoder: Option<Decoder>,
    buf: bytes::BytesMut,
    replies: usize,
}

fn ssrc_of_transport(v: &str) -> Option<u32> {
    let i = v.find("ssrc=")?;
    let hex: String = v[i + 5..]
        .chars()
        .take_while(|c| c.is_ascii_hexdigit())
        .collect();
    u32::from_str_radix(&hex, 16).ok()
}

fn run_requests(seed: u64, ops: &[Op], split: bool) -> Result<(), TestCaseError> {
    let mut sim = Sim::with_setup(
        seed,
        Setup {
            frames: 20,
            fps: 25.0,
            looping: seed & 1 == 0,
            server: ServerConfig {
                session_timeout: Duration::from_secs(10),
                max_sessions: 3,
                ..ServerConfig::default()
            },
            ..Setup::default()
        },
    );
    sim.record_server_out = true;
    if split {
        sim.pipe.split = Split::Random { max: 9 };
    }
    let raw = sim.add_raw();
    let rtp_port = 5000;
    sim.raw_bind(raw, rtp_port);
    let rtcp_src = sim.raw_bind(raw, rtp_port + 1);
    let mut wire = sim.connect_raw(raw);
    let mut models: BTreeMap<u64, WireModel> = BTreeMap::new();
    let mut known: Vec<String> = Vec::new();
    // session id -> (ssrc, playing)
    let mut sessions: HashMap<String, (Option<u32>, bool)> = HashMap::new();
    let mut out_pos = 0;
    sim.run_for(Duration::from_millis(10));

    let check_out = |sim: &Sim,
                     models: &mut BTreeMap<u64, WireModel>,
                     known: &mut Vec<String>,
                     sessions: &mut HashMap<String, (Option<u32>, bool)>,
                     out_pos: &mut usize|
     -> Result<(), TestCaseError> {
        for (_, t) in &sim.server_out[*out_pos..] {
            match t.dest {
                Dest::Stream(conn) => {
                    let m = models.entry(conn.0).or_default();
                    let dec = m
                        .decoder
                        .get_or_insert_with(|| Decoder::new(Limits::default()));
                    m.buf.extend_from_slice(&t.data);
                    loop {
                        match dec.decode(&mut m.buf) {
                            Ok(Some(Decoded::Message(Message::Response(r)))) => {
                                let k = m.replies;
                                m.replies += 1;
                                if m.checked.is_some_and(|c| k >= c) {
                                    continue;
                                }
                                prop_assert!(
                                    k < m.reqs.len(),
                                    "reply {k} without a request: {r:?}"
                                );
                                let (cseq, meth, sess) = m.reqs[k].clone();
                                prop_assert_eq!(
                                    r.cseq(),
                                    cseq,
                                    "reply {} on wire {}: {:?}",
                                    k,
                                    conn.0,
                                    r
                                );
                                if cseq.is_none() {
                                    prop_assert_eq!(r.status.0, 400);
                                }
                                if !r.status.is_success() {
                                    continue;
                                }
                                match meth {
                                    Meth::Setup => {
                                        let id = r
                                            .headers
                                            .get(&HeaderName::SESSION)
                                            .expect("SETUP 200 has Session");
                                        let id = id.split(';').next().unwrap().trim().to_string();
                                        let ssrc = r
                                            .headers
                                            .get(&HeaderName::TRANSPORT)
                                            .and_then(ssrc_of_transport);
                                        if !known.contains(&id) {
                                            known.push(id.clone());
                                        }
                                        let e = sessions.entry(id).or_insert((None, false));
                                        if ssrc.is_some() {
                                            e.0 = ssrc;
                                        }
                                    }
                                    Meth::Play => {
                                        if let Some(e) = sess.and_then(|s| sessions.get_mut(&s)) {
                                            e.1 = true;
                                        }
                                    }
                                    Meth::Pause => {
                                        if let Some(e) = sess.and_then(|s| sessions.get_mut(&s)) {
                                            e.1 = false;
                                        }
                                    }
                                    Meth::Teardown => {
                                        if let Some(s) = sess {
                                            sessions.remove(&s);
                                            known.retain(|k| *k != s);
                                        }
                                    }
                                    _ => {}
                                }
                            }
                            Ok(Some(Decoded::Interleaved { channel, payload })) => {
                                if channel % 2 == 0 {
                                    let p = rtp_core::RtpPacket::parse(&payload)
                                        .expect("server RTP parses");
                                    let ssrc = p.header.ssrc;
                                    prop_assert!(
                                        sessions.values().any(|(s, playing)| *s == Some(ssrc) && *playing),
                                        "interleaved RTP for SSRC {ssrc:08X} which is not Playing: {sessions:?}"
                                    );
                                }
                            }
                            Ok(Some(_)) => prop_assert!(false, "server sent a request"),
                            Ok(None) => break,
                            Err(e) => prop_assert!(false, "server output does not parse: {e}"),
                        }
                    }
                }
                Dest::Udp { local, .. } => {
                    if local == server_rtp() {
                        // Lab sessions (bare URI, PT 26 without RFC 2435) parse leniently.
                        if let Ok(p) = rtp_core::RtpPacket::parse_lenient(&t.data) {
                            let ssrc = p.header.ssrc;
                            prop_assert!(
                                sessions
                                    .values()
                                    .any(|(s, playing)| (*s == Some(ssrc) || s.is_none())
                                        && *playing),
                                "RTP for SSRC {ssrc:08X} which is not Playing: {sessions:?}"
                            );
                        }
                    }
                }
            }
        }
        *out_pos = sim.server_out.len();
        Ok(())
    };

    for op in ops {
        if !sim.wire_open(wire) {
            wire = sim.connect_raw(raw);
            sim.run_for(Duration::from_millis(10));
        }
        match op {
            Op::Send(r) => {
                let (bytes, sess) = render(r, &known, rtp_port);
                models
                    .entry(wire)
                    .or_default()
                    .reqs
                    .push((r.cseq, r.m, sess));
                sim.raw_send(wire, &bytes);
                sim.run_for(Duration::from_millis(30));
            }
            Op::Garbage(g) => {
                let m = models.entry(wire).or_default();
                m.checked = Some(m.reqs.len());
                sim.raw_send(wire, g);
                sim.run_for(Duration::from_millis(30));
                sim.raw_close(wire);
                sim.run_for(Duration::from_millis(10));
            }
            Op::Wait(ms) => sim.run_for(Duration::from_millis(*ms)),
            Op::Reconnect => {
                sim.raw_close(wire);
                sim.run_for(Duration::from_millis(10));
            }
            Op::Datagram(d) => {
                sim.raw_datagram(rtcp_src, server_rtcp(), d.clone());
                sim.run_for(Duration::from_millis(10));
            }
        }
        check_out(&sim, &mut models, &mut known, &mut sessions, &mut out_pos)?;
    }
    // Every request got its reply.
    for (w, m) in &models {
        let expect = m.checked.unwrap_or(m.reqs.len());
        prop_assert!(
            m.replies >= expect,
            "wire {w}: {} replies to {expect} requests",
            m.replies
        );
        if m.checked.is_none() {
            prop_assert_eq!(
                m.replies,
                m.reqs.len(),
                "wire {}: exactly one reply per request",
                w
            );
        }
    }
    // TEARDOWN of every session the server told us about leaves none.
    if !sim.wire_open(wire) {
        wire = sim.connect_raw(raw);
        sim.run_for(Duration::from_millis(10));
    }
    for id in known.clone() {
        let r = format!(
            "TEARDOWN {} RTSP/1.0\r\nCSeq: 1\r\nSession: {id}\r\n\r\n",
            url()
        );
        sim.raw_send(wire, r.as_bytes());
        sim.run_for(Duration::from_millis(30));
    }
    prop_assert_eq!(
        sim.server.session_count(),
        0,
        "sessions left after TEARDOWN of all: {:?}",
        sim.server.session_ids()
    );
    // And with the connections gone, nothing is held and no timer armed.
    sim.raw_close(wire);
    sim.run_for(Duration::from_secs(1));
    prop_assert_eq!(sim.server.connection_count(), 0);
    prop_assert_eq!(sim.server_deadline(), None);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(256), failure_persistence: None, .. ProptestConfig::default() })]

    #[test]
    fn sim_properties_request_sequences(seed in any::<u64>(), split in any::<bool>(), ops in prop::collection::vec(op(), 1..30)) {
        run_requests(seed, &ops, split)?;
    }
}

/// Reaping instead of TEARDOWN: sessions set up and left alone are all freed by the timeout.
#[test]
fn sim_properties_reaping_frees_everything() {
    let ops: Vec<Op> = Vec::new();
    run_requests(1, &ops, false).unwrap();
    let mut sim = Sim::with_setup(
        5,
        Setup {
            server: ServerConfig {
                session_timeout: Duration::from_secs(10),
                ..ServerConfig::default()
            },
            ..Setup::default()
        },
    );
    let raw = sim.add_raw();
    sim.raw_bind(raw, 5000);
    let wire = sim.connect_raw(raw);
    sim.run_for(Duration::from_millis(10));
    for i in 0..3 {
        let t = if i == 0 {
            "RTP/AVP/TCP;unicast;interleaved=0-1"
        } else {
            "RTP/AVP;unicast;client_port=5000-5001"
        };
        let r = format!(
            "SETUP {}/stream=0 RTSP/1.0\r\nCSeq: {i}\r\nTransport: {t}\r\n\r\n",
            url()
        );
        sim.raw_send(wire, r.as_bytes());
        sim.run_for(Duration::from_millis(30));
    }
    assert_eq!(sim.server.session_count(), 3);
    sim.raw_close(wire);
    sim.run_for(Duration::from_secs(11));
    assert_eq!(sim.server.session_count(), 0);
    assert_eq!(sim.server.connection_count(), 0);
    assert_eq!(sim.server_deadline(), None);
}

#[derive(Debug, Clone)]
struct Net {
    latency_ms: u64,
    jitter_ms: u64,
    loss: f64,
    burst: bool,
    dup: f64,
    reorder: f64,
    split: bool,
    tcp: bool,
}

fn net() -> impl Strategy<Value = Net> {
    (
        0u64..80,
        0u64..30,
        0.0..0.2f64,
        any::<bool>(),
        0.0..0.1f64,
        0.0..0.1f64,
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(
            |(latency_ms, jitter_ms, loss, burst, dup, reorder, split, tcp)| Net {
                latency_ms,
                jitter_ms,
                loss,
                burst,
                dup,
                reorder,
                split,
                tcp,
            },
        )
}

fn run_net(seed: u64, n: &Net) -> Result<(), TestCaseError> {
    let mut sim = Sim::with_setup(
        seed,
        Setup {
            frames: 50,
            mtu: 400,
            looping: true,
            latency: Duration::from_millis(n.latency_ms),
            ..Setup::default()
        },
    );
    if n.split {
        sim.pipe.split = Split::Random { max: 50 };
        sim.pipe.jitter = Duration::from_millis(n.jitter_ms);
    }
    let loss = if n.burst {
        Loss::GilbertElliott {
            p_gb: n.loss / 4.0,
            p_bg: 0.3,
            loss_good: 0.0,
            loss_bad: 0.8,
        }
    } else {
        Loss::Bernoulli(n.loss)
    };
    sim.net.add(
        "impaired UDP",
        |_| true,
        Impair {
            latency: Duration::from_millis(n.latency_ms),
            jitter: Duration::from_millis(n.jitter_ms),
            loss,
            duplicate: n.dup,
            reorder: n.reorder,
            reorder_depth: 2,
            ..Impair::default()
        },
    );
    let c = sim.add_playing_client(n.tcp, |_| {});
    sim.run_for(Duration::from_secs(2));
    sim.request(c, |c| c.pause().unwrap());
    sim.request(c, |c| c.play(None).unwrap());
    sim.run_for(Duration::from_secs(1));
    sim.request(c, |c| c.teardown().unwrap());
    sim.run_for(Duration::from_millis(200));
    let node = sim.client(c);
    prop_assert!(
        node.saw(|e| matches!(e, ClientEvent::TornDown)),
        "no TornDown"
    );
    prop_assert_eq!(sim.server.session_count(), 0);
    // Frames: source frames, in order within each PLAY.
    let mut prev: Option<usize> = None;
    for (_, e) in &node.events {
        match e {
            ClientEvent::Playing { .. } => prev = None,
            ClientEvent::Frame { data, .. } => {
                let k = media::frame_index(data);
                prop_assert!(k.is_some(), "corrupt frame");
                let k = k.unwrap();
                if let Some(p) = prev {
                    // Forward, modulo the loop (frames may be lost, never go back).
                    let step = (k + 50 - p) % 50;
                    prop_assert!((1..25).contains(&step), "frame {} after {}", k, p);
                }
                prev = Some(k);
            }
            _ => {}
        }
    }
    if n.loss == 0.0 && !n.tcp && n.reorder == 0.0 && n.jitter_ms == 0 {
        prop_assert_eq!(node.machine.stats().frames_dropped, 0);
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(64), failure_persistence: None, .. ProptestConfig::default() })]

    #[test]
    fn sim_properties_any_network(seed in any::<u64>(), n in net()) {
        run_net(seed, &n)?;
    }
}

/// A client API call.
#[derive(Debug, Clone)]
enum Call {
    Options,
    Describe,
    Setup(bool),
    Play(Option<u8>),
    Pause,
    Teardown,
    Wait(u64),
}

fn call() -> impl Strategy<Value = Call> {
    prop_oneof![
        1 => Just(Call::Options),
        2 => Just(Call::Describe),
        3 => any::<bool>().prop_map(Call::Setup),
        3 => prop::option::of(0u8..25).prop_map(Call::Play),
        2 => Just(Call::Pause),
        1 => Just(Call::Teardown),
        4 => prop_oneof![1 => 0u64..300, 1 => 1_000u64..20_000].prop_map(Call::Wait),
    ]
}

/// Any sequence of client API calls (refused ones included), on a lossy, jittery network:
/// every accepted request is answered or reported (response, error or close) within the
/// request timeout; frames only come while a PLAY has succeeded; the server's session count
/// follows the client's; TEARDOWN + close frees everything.
fn run_calls(seed: u64, calls: &[Call], lossy: bool) -> Result<(), TestCaseError> {
    let mut sim = Sim::with_setup(
        seed,
        Setup {
            frames: 25,
            mtu: 400,
            looping: seed & 1 == 0,
            // The client's view must match the server's: no session may go for never having
            // played (that rule, 20 s by default, has tests of its own).
            server: ServerConfig {
                unplayed_timeout: Duration::from_secs(3600),
                ..ServerConfig::default()
            },
            ..Setup::default()
        },
    );
    sim.pipe.split = Split::Random { max: 30 };
    if lossy {
        sim.net.add(
            "lossy UDP",
            |_| true,
            Impair {
                jitter: Duration::from_millis(20),
                loss: Loss::Bernoulli(0.05),
                duplicate: 0.02,
                reorder: 0.02,
                ..Impair::default()
            },
        );
    }
    let c = sim.add_client(|_| {});
    let mut accepted: Vec<(u32, Duration)> = Vec::new();
    for call in calls {
        let udp = sim.client(c).udp();
        let r = match call {
            Call::Options => sim.call(c, |c| c.options()),
            Call::Describe => sim.call(c, |c| c.describe()),
            Call::Setup(tcp) => {
                let t = if *tcp { TransportChoice::Tcp } else { udp };
                sim.call(c, |c| c.setup(t))
            }
            Call::Play(x) => {
                let seek = x.map(|x| Duration::from_millis(u64::from(x) * 100));
                sim.call(c, |c| c.play(seek))
            }
            Call::Pause => sim.call(c, |c| c.pause()),
            Call::Teardown => sim.call(c, |c| c.teardown()),
            Call::Wait(ms) => {
                sim.run_for(Duration::from_millis(*ms));
                continue;
            }
        };
        if let Ok(cseq) = r {
            accepted.push((cseq, sim.now()));
        }
        sim.run_for(Duration::from_millis(20));
    }
    sim.run_for(Duration::from_secs(11));
    let node = sim.client(c);
    let closed = node.saw(|e| matches!(e, ClientEvent::Closed));
    for (cseq, at) in &accepted {
        let answered = node.events.iter().any(|(t, e)| {
            *t >= *at
                && match e {
                    ClientEvent::Response { cseq: x, .. } => x == cseq,
                    ClientEvent::Error(rtsp_core::client::ClientError::RequestTimeout {
                        cseq: x,
                        ..
                    }) => x == cseq,
                    _ => false,
                }
        });
        prop_assert!(
            answered || closed,
            "CSeq {} sent at {:?} never answered",
            cseq,
            at
        );
    }
    // Frames only between a Playing and the next Paused/TornDown (plus what was in flight).
    let mut playing_since: Option<Duration> = None;
    let mut stopped_at: Option<Duration> = None;
    for (t, e) in &node.events {
        match e {
            ClientEvent::Playing { .. } => playing_since = Some(*t),
            ClientEvent::Paused | ClientEvent::TornDown => {
                playing_since = None;
                stopped_at = Some(*t);
            }
            ClientEvent::Frame { data, .. } => {
                prop_assert!(media::frame_index(data).is_some(), "corrupt frame");
                let in_flight = stopped_at.is_some_and(|s| *t <= s + Duration::from_millis(300));
                prop_assert!(
                    playing_since.is_some() || in_flight,
                    "frame at {:?} while not playing",
                    t
                );
            }
            _ => {}
        }
    }
    let has_session = sim.client(c).machine.session_id().is_some();
    if !closed {
        prop_assert_eq!(sim.server.session_count(), usize::from(has_session));
    }
    if has_session {
        sim.call(c, |c| c.teardown().unwrap());
        sim.run_for(Duration::from_secs(11));
    }
    sim.call(c, |c| c.close());
    sim.run_for(Duration::from_secs(61));
    prop_assert_eq!(sim.server.session_count(), 0);
    prop_assert_eq!(sim.server.connection_count(), 0);
    prop_assert_eq!(sim.server_deadline(), None);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(128), failure_persistence: None, .. ProptestConfig::default() })]

    #[test]
    fn sim_properties_client_call_sequences(seed in any::<u64>(), lossy in any::<bool>(), calls in prop::collection::vec(call(), 1..25)) {
        run_calls(seed, &calls, lossy)?;
    }
}
