//! Live paths in the simulator (issue 15), on the virtual clock, each test over several seeds.
//!
//! * `sim_live_readers_join_mid_frame_*`: frames pushed at 25 fps ([`Server::push_frame`], a
//!   distinct test-pattern JPEG each) while UDP and TCP-interleaved [`Client`] machines join at
//!   random instants, some timed so that their PLAY reaches the server while the previous
//!   frame's packets are still in flight to the others. Every frame a reader gets is whole and
//!   is one of the pushed JPEGs (scan data byte for byte), in push order, with RTP timestamps
//!   following the source clock; its first frame is the first pushed at/after the server took
//!   its PLAY. `lossless`: latency + jitter, no loss: each reader gets every frame from that one
//!   to the last pushed. `lossy`: 2 % loss as well: a strictly increasing subsequence.
//! * `sim_live_publisher_loss`: a raw scripted publisher (TCP interleaved ANNOUNCE, SETUP
//!   `mode=record`, RECORD, RTP/JPEG) feeds the path; its wire is cut mid-frame (each of
//!   `Cut::Reset`, `Cut::Silent`, `Cut::ResetOnWrite`). The readers (UDP and TCP) keep their
//!   sessions for 90 s (longer than the 60 s session timeout; client keepalives running), get
//!   no partial frame (the half-sent one never shows), and when a new publisher takes the path
//!   their frames resume: every frame of both publishers once, RTP sequence continuous per
//!   reader, timestamps increasing although the new publisher's clock starts lower.
//!   The machine itself hands a publisher's frames to its own readers; its
//!   `ServerEvent::Published` is for *other* event loops, so the simulator (one machine) does
//!   not forward it to `push_frame` — doing so would send each frame twice, which the
//!   "every frame once" check would catch.
//! * `sim_live_slow_reader`: a TCP reader whose connection stalls for 3 s does not delay or
//!   drop anything for a fast UDP and a fast TCP reader: they get every frame at its push time
//!   plus the network's latency and jitter. The simulator has no bounded send queue (a stalled
//!   pipe just delays its bytes), so whole-frame shedding — done by the runtime
//!   (runtime-mio's output queue, tested with real sockets in `live_slow_reader.rs`) — is not
//!   exercised here: what the machine guarantees is that the slow reader still gets every
//!   frame, whole and in order, once its connection moves again.
//! * `sim_live_reconnect_backoff`: a [`Client`] machine pulls the origin (the server's file
//!   stream, as a pulled live source does); the origin restarts and refuses connections for a
//!   random 1–9 s. The puller retries on runtime-std's [`Backoff`] schedule (the worker thread
//!   itself is not simulated: this loop stands in for it): each refusal is reported at once,
//!   each retry leaves exactly the next delay after the last failure, and the first retry after
//!   the origin is back plays, whole frames resume within that delay plus a few round trips,
//!   and the backoff starts again from its minimum.
//!
//! [`Server::push_frame`]: rtsp_core::server::Server::push_frame
//! [`Client`]: rtsp_core::client::Client
//! [`Backoff`]: runtime_std::source::Backoff

use it::sim::netem::{Impair, Loss};
use it::sim::{media, responses, seed, server_addr, Cut, Rng, Scenario, Sim};
use rtsp_core::client::ClientEvent;
use rtsp_core::message::{write_interleaved, HeaderName, Method};
use rtsp_core::server::{CloseReason, LiveFrame, LivePaths, LiveSource, Media, ServerEvent};
use runtime_std::source::Backoff;
use std::time::Duration;

const PATH: &str = "live";
const FPS: f64 = 25.0;
const TICK: Duration = Duration::from_millis(40);
const SEEDS: u64 = 8;
/// Small packets: every 64×48 test frame takes several, so a frame can be cut in the middle.
const MTU: usize = 300;
/// RTP media: latency and jitter of the emulated network.
const LAT: Duration = Duration::from_millis(20);
const JIT: Duration = Duration::from_millis(15);

fn live_url() -> String {
    format!("rtsp://{}/{PATH}", server_addr())
}

fn live_sim(seed: u64, source: LiveSource, loss: f64) -> Sim {
    let live = LivePaths::new();
    live.add(PATH, source);
    let mut sim = Scenario::new(seed)
        .mtu(MTU)
        .server(|c| {
            c.live = live;
            c.mtu = MTU;
        })
        .build();
    let loss = Some(Loss::Bernoulli(loss)).filter(|_| loss > 0.0);
    let impair = Impair {
        jitter: JIT,
        loss: loss.unwrap_or(Loss::None),
        ..Impair::latency(LAT)
    };
    sim.net.add("rtp", |m| m.rtp.is_some(), impair);
    sim.pipe.jitter = Duration::from_millis(3);
    sim
}

/// Pushes source frame `i` (at 3600 × `i` on the 90 kHz clock), describing the path first as
/// a pulled source's runtime does.
fn push(sim: &mut Sim, i: usize) {
    let jpeg = media::frames(i + 1).pop().expect("frame");
    let f = LiveFrame::from_jpeg(jpeg, 3600 * i as u64, sim.setup.mtu).expect("live frame");
    let live = sim.server.config().live.clone();
    live.frame(PATH, (f.width(), f.height()), || {
        Media::live(PATH, FPS, &f).ok()
    });
    sim.call_server(|s, now| s.push_frame(PATH, &f, now));
}

/// A reader that joins at `at`: DESCRIBE, SETUP, PLAY, each sent once the last is answered.
struct Reader {
    at: Duration,
    tcp: bool,
    client: Option<usize>,
    stage: u8,
}

fn step_readers(sim: &mut Sim, readers: &mut [Reader]) {
    for r in readers.iter_mut() {
        let saw =
            |sim: &Sim, f: fn(&ClientEvent) -> bool| r.client.is_some_and(|c| sim.client(c).saw(f));
        if r.stage == 0 && sim.now() >= r.at {
            let c = sim.add_client(|cfg| cfg.url = live_url());
            sim.call(c, |c| c.describe().expect("describe"));
            (r.client, r.stage) = (Some(c), 1);
        } else if r.stage == 1 && saw(sim, |e| matches!(e, ClientEvent::Described { .. })) {
            let (c, t) = (
                r.client.expect("client"),
                sim.transport(r.client.expect("client"), r.tcp),
            );
            sim.call(c, |c| c.setup(t).expect("setup"));
            r.stage = 2;
        } else if r.stage == 2 && saw(sim, |e| matches!(e, ClientEvent::SetupDone { .. })) {
            sim.call(r.client.expect("client"), |c| c.play(None).expect("play"));
            r.stage = 3;
        }
    }
}

/// When the server answered client `c`'s PLAY.
fn play_time(sim: &Sim, c: usize) -> Duration {
    let ip = sim.client(c).ip;
    sim.server_events
        .iter()
        .find_map(|(t, e)| match e {
            ServerEvent::Request { peer, method, .. }
                if *method == Method::Play && peer.ip() == ip =>
            {
                Some(*t)
            }
            _ => None,
        })
        .expect("PLAY answered")
}

/// Client `c`'s frames: (arrival, RTP timestamp, source frame index).
fn got(sim: &Sim, c: usize) -> Vec<(Duration, u32, usize)> {
    let s = sim.seed;
    sim.client(c)
        .frames()
        .into_iter()
        .map(|(t, ts, data)| {
            let i = media::frame_index(&data)
                .unwrap_or_else(|| panic!("seed {s}: client {c} got a frame nobody pushed"));
            (t, ts, i)
        })
        .collect()
}

/// Client `c`'s stats, checked: nothing foreign, and (`lossless`) no frame given up.
fn clean(sim: &Sim, c: usize, lossless: bool) {
    let st = sim.client(c).machine.stats();
    if lossless {
        assert_eq!(
            st.frames_dropped, 0,
            "seed {}: client {c} partial frames",
            sim.seed
        );
        assert_eq!(st.lost, 0, "seed {}: client {c} lost packets", sim.seed);
    }
    assert_eq!(st.ignored, 0, "seed {}: client {c} foreign RTP", sim.seed);
}

fn join_mid_frame(seed: u64, loss: f64) {
    const N: usize = 100;
    let mut sim = live_sim(seed, LiveSource::Pulled { on_demand: false }, loss);
    let mut rng = Rng::new(seed ^ 0x11FE);
    let mut readers: Vec<Reader> = (0..8)
        .map(|k| {
            // Half at random instants, half so that PLAY (three round trips after joining)
            // reaches the server a few ms after a push, its packets still in flight.
            let at = if k % 2 == 0 {
                Duration::from_millis(1 + rng.below(3200))
            } else {
                let frame = 1 + rng.below(75) as u32;
                (TICK * frame).saturating_sub(Duration::from_millis(30 - rng.below(20)))
            };
            Reader {
                at,
                tcp: rng.chance(0.5),
                client: None,
                stage: 0,
            }
        })
        .collect();
    let mut pushed = Vec::new();
    for i in 0..N {
        let t = TICK * i as u32;
        while sim.now() < t {
            let next = (sim.now() + Duration::from_millis(1)).min(t);
            sim.run_until(next);
            step_readers(&mut sim, &mut readers);
        }
        push(&mut sim, i);
        pushed.push(sim.now());
    }
    sim.run_for(Duration::from_millis(300));
    let mut mid_frame = 0;
    for r in &readers {
        let c = r.client.expect("joined");
        assert_eq!(r.stage, 3, "seed {seed}: client {c} never played");
        let play = play_time(&sim, c);
        let first = pushed
            .iter()
            .position(|t| *t >= play)
            .expect("pushed after PLAY");
        // PLAY taken while the previous frame was still on its way to the others.
        if first > 0 && play < pushed[first - 1] + LAT + JIT {
            mid_frame += 1;
        }
        let frames = got(&sim, c);
        clean(&sim, c, loss == 0.0);
        let idx: Vec<usize> = frames.iter().map(|f| f.2).collect();
        assert!(!idx.is_empty(), "seed {seed}: client {c} got nothing");
        assert!(
            idx.windows(2).all(|w| w[0] < w[1]),
            "seed {seed}: order {idx:?}"
        );
        if loss == 0.0 {
            let want: Vec<usize> = (first..N).collect();
            assert_eq!(idx, want, "seed {seed}: client {c} (tcp {}) frames", r.tcp);
        } else {
            assert!(
                idx[0] >= first,
                "seed {seed}: client {c} frame before its PLAY"
            );
        }
        for (t, _, i) in &frames {
            assert!(
                *t >= pushed[*i],
                "seed {seed}: frame {i} before it was pushed"
            );
        }
        for w in frames.windows(2) {
            let d = w[1].1.wrapping_sub(w[0].1);
            assert_eq!(
                d,
                3600 * (w[1].2 - w[0].2) as u32,
                "seed {seed}: timestamps"
            );
        }
    }
    assert!(mid_frame > 0, "seed {seed}: no reader joined mid-frame");
}

#[test]
fn sim_live_readers_join_mid_frame_lossless() {
    for s in 0..SEEDS {
        join_mid_frame(seed(1500 + s), 0.0);
    }
}

#[test]
fn sim_live_readers_join_mid_frame_lossy() {
    for s in 0..SEEDS {
        join_mid_frame(seed(1600 + s), 0.02);
    }
}

/// A raw TCP-interleaved publisher of `PATH`: announces, sets up and records; returns its wire.
fn publisher(sim: &mut Sim) -> u64 {
    let raw = sim.add_raw();
    let wire = sim.connect_raw(raw);
    let u = live_url();
    let sdp = "v=0\r\no=- 0 0 IN IP4 10.2.0.1\r\ns=cam\r\nt=0 0\r\n\
               m=video 0 RTP/AVP 26\r\na=control:streamid=0\r\na=framerate:25\r\n";
    let ask = |sim: &mut Sim, req: String| {
        let before = responses(&sim.raws[raw].received[&wire]).len();
        sim.raw_send(wire, req.as_bytes());
        sim.run_while_not(Duration::from_secs(5), |s| {
            responses(&s.raws[raw].received[&wire]).len() > before
        });
        let r = responses(&sim.raws[raw].received[&wire])
            .pop()
            .expect("reply");
        assert_eq!(r.status.0, 200, "seed {}: {req} → {r:?}", sim.seed);
        r
    };
    ask(
        sim,
        format!(
            "ANNOUNCE {u} RTSP/1.0\r\nCSeq: 1\r\nContent-Type: application/sdp\r\n\
             Content-Length: {}\r\n\r\n{sdp}",
            sdp.len()
        ),
    );
    let r = ask(
        sim,
        format!(
            "SETUP {u}/streamid=0 RTSP/1.0\r\nCSeq: 2\r\n\
             Transport: RTP/AVP/TCP;unicast;interleaved=0-1;mode=record\r\n\r\n"
        ),
    );
    let sid = r.headers.get(&HeaderName::SESSION).expect("session");
    let sid = sid.split(';').next().expect("id").to_string();
    ask(
        sim,
        format!("RECORD {u} RTSP/1.0\r\nCSeq: 3\r\nSession: {sid}\r\n\r\n"),
    );
    wire
}

/// Interleaved RTP packets of source frame `i`: timestamp `ts`, sequence numbers from `seq`.
fn frame_packets(i: usize, ts: u32, seq: u16) -> Vec<Vec<u8>> {
    let media = Media::from_jpegs("src", FPS, media::frames(i + 1), MTU).expect("media");
    let frags = media.fragments(i).expect("frame");
    frags
        .iter()
        .enumerate()
        .map(|(n, payload)| {
            let mut p = vec![0x80, if n + 1 == frags.len() { 0x80 | 26 } else { 26 }];
            p.extend_from_slice(&seq.wrapping_add(n as u16).to_be_bytes());
            p.extend_from_slice(&ts.to_be_bytes());
            p.extend_from_slice(&0xC0DE_0001u32.to_be_bytes());
            p.extend_from_slice(payload);
            let mut w = Vec::new();
            write_interleaved(0, &p, &mut w);
            w
        })
        .collect()
}

/// Publisher on `wire` sends source frames `range` 40 ms apart, clock from `ts0`.
fn publish(sim: &mut Sim, wire: u64, range: std::ops::Range<usize>, ts0: u32, seq: &mut u16) {
    for i in range {
        for p in frame_packets(i, ts0.wrapping_add(3600 * i as u32), *seq) {
            sim.raw_send(wire, &p);
            *seq = seq.wrapping_add(1);
        }
        sim.run_for(TICK);
    }
}

#[test]
fn sim_live_publisher_loss() {
    for s in 0..SEEDS {
        let how = [Cut::Reset, Cut::Silent, Cut::ResetOnWrite][s as usize % 3];
        let seed = seed(1700 + s);
        let mut sim = live_sim(seed, LiveSource::Publisher { replace: false }, 0.0);
        let mut rng = Rng::new(seed ^ 0x9B);
        let wire = publisher(&mut sim);
        let mut seq = rng.next_u64() as u16;
        let ts0 = 0x8000_0000u32.wrapping_add(rng.next_u64() as u32 % 0x4000_0000);
        publish(&mut sim, wire, 0..1, ts0, &mut seq);
        let tcps = [false, true, false];
        let readers: Vec<usize> = tcps
            .into_iter()
            .map(|tcp| sim.add_playing_client(tcp, |cfg| cfg.url = live_url()))
            .collect();
        let sessions: Vec<String> = readers
            .iter()
            .map(|&c| sim.client(c).machine.session_id().expect("sid").to_string())
            .collect();
        // Frames 1..k whole, then half of frame k, then the wire is cut.
        let k = 4 + rng.below(8) as usize;
        publish(&mut sim, wire, 1..k, ts0, &mut seq);
        let pkts = frame_packets(k, ts0.wrapping_add(3600 * k as u32), seq);
        assert!(pkts.len() >= 2, "frame {k} is one packet");
        let half = 1 + rng.below(pkts.len() as u64 - 1) as usize;
        for p in &pkts[..half] {
            sim.raw_send(wire, p);
        }
        sim.run_for(Duration::from_millis(10 + rng.below(20)));
        sim.cut(wire, how);
        // No publisher for longer than the session timeout.
        sim.run_for(Duration::from_secs(90));
        let ended: Vec<&CloseReason> = sim
            .server_events
            .iter()
            .filter_map(|(_, e)| match e {
                ServerEvent::SessionClosed {
                    session, reason, ..
                } => {
                    assert!(
                        !sessions.contains(session),
                        "seed {seed}: reader {session} ended"
                    );
                    Some(reason)
                }
                _ => None,
            })
            .collect();
        assert_eq!(
            ended.len(),
            1,
            "seed {seed} {how:?}: the publisher ends: {ended:?}"
        );
        // A new publisher, its clock starting lower, takes the path.
        let wire2 = publisher(&mut sim);
        let m = 20;
        let mut seq2 = rng.next_u64() as u16;
        publish(
            &mut sim,
            wire2,
            m..m + 10,
            rng.below(1000) as u32,
            &mut seq2,
        );
        sim.run_for(Duration::from_millis(300));
        let want: Vec<usize> = (1..k).chain(m..m + 10).collect();
        for (&c, tcp) in readers.iter().zip(tcps) {
            clean(&sim, c, true);
            let frames = got(&sim, c);
            let idx: Vec<usize> = frames.iter().map(|f| f.2).collect();
            assert_eq!(idx, want, "seed {seed} {how:?}: client {c} frames");
            for w in frames.windows(2) {
                let d = w[1].1.wrapping_sub(w[0].1);
                assert!(d > 0 && d < 1 << 31, "seed {seed}: timestamps go back: {d}");
            }
            let node = sim.client(c);
            assert!(
                !node.saw(|e| matches!(e, ClientEvent::Closed | ClientEvent::Error(_))),
                "seed {seed}: client {c} closed"
            );
            if !tcp {
                let seqs: Vec<u16> = sim
                    .rtp_to(node.rtp)
                    .iter()
                    .map(|r| r.meta.rtp.expect("rtp").seq)
                    .collect();
                assert!(
                    seqs.windows(2).all(|w| w[1] == w[0].wrapping_add(1)),
                    "seed {seed}: client {c} RTP sequence {seqs:?}"
                );
            }
        }
    }
}

#[test]
fn sim_live_slow_reader() {
    for s in 0..SEEDS {
        let seed = seed(1800 + s);
        let mut sim = live_sim(seed, LiveSource::Pulled { on_demand: false }, 0.0);
        let mut rng = Rng::new(seed ^ 0x5104);
        push(&mut sim, 0);
        let [fast_udp, fast_tcp, slow] =
            [false, true, true].map(|tcp| sim.add_playing_client(tcp, |cfg| cfg.url = live_url()));
        let start = sim.now() + TICK;
        let stall_from =
            start + TICK * (5 + rng.below(20) as u32) + Duration::from_millis(rng.below(40));
        let stall_to = stall_from + Duration::from_secs(3);
        let mut stalled = false;
        let mut pushed = vec![Duration::ZERO];
        for i in 1..150 {
            let t = start + TICK * (i as u32 - 1);
            if !stalled && stall_from <= t {
                sim.run_until(stall_from);
                let wire = sim.client(slow).wire.expect("wire");
                sim.wire_pipes(wire).1.stalled_until = stall_to;
                stalled = true;
            }
            sim.run_until(t);
            push(&mut sim, i);
            pushed.push(sim.now());
        }
        sim.run_for(Duration::from_secs(4));
        let mut firsts = Vec::new();
        for (c, lat, jit) in [
            (fast_udp, LAT, JIT),
            (fast_tcp, sim.pipe.latency, sim.pipe.jitter),
            (slow, sim.pipe.latency, sim.pipe.jitter),
        ] {
            clean(&sim, c, true);
            let frames = got(&sim, c);
            let first = frames.first().expect("frames").2;
            firsts.push(first);
            let idx: Vec<usize> = frames.iter().map(|f| f.2).collect();
            assert_eq!(
                idx,
                (first..150).collect::<Vec<_>>(),
                "seed {seed}: client {c}"
            );
            for (t, _, i) in &frames {
                let delay = *t - pushed[*i];
                if c == slow && pushed[*i] >= stall_from && pushed[*i] < stall_to {
                    assert!(
                        *t >= stall_to,
                        "seed {seed}: slow reader's frame {i} during stall"
                    );
                } else {
                    assert!(
                        delay >= lat && delay <= lat + jit,
                        "seed {seed}: client {c} frame {i} after {delay:?}"
                    );
                }
            }
        }
        assert_eq!(firsts, [1, 1, 1], "seed {seed}: first frames");
    }
}

#[test]
fn sim_live_reconnect_backoff() {
    let ms = Duration::from_millis;
    for s in 0..SEEDS {
        let seed = seed(1900 + s);
        let mut sim = Scenario::new(seed).media(50, FPS, true).build();
        let mut rng = Rng::new(seed ^ 0xBAC0);
        let mut c = sim.add_playing_client(true, |_| {});
        sim.run_for(ms(500 + rng.below(1000)));
        sim.restart_server(rng.next_u64(), Cut::Reset);
        let up_at = sim.now() + ms(1000 + rng.below(8000));
        let mut backoff = Backoff::new(ms(250), ms(2000));
        let gone = |sim: &Sim, c: usize| sim.client(c).saw(|e| matches!(e, ClientEvent::Closed));
        let mut tries = 0;
        loop {
            assert!(
                sim.run_while_not(ms(100), |sim| gone(sim, c)),
                "seed {seed}: refusal unseen"
            );
            let failed_at = sim.now();
            let delay = backoff.next_delay();
            sim.run_for(delay);
            assert_eq!(
                sim.now(),
                failed_at + delay,
                "seed {seed}: retry off schedule"
            );
            tries += 1;
            c = sim.add_client(|_| {});
            if sim.now() < up_at {
                // Still booting: the port is closed.
                let wire = sim.client(c).wire.expect("wire");
                sim.cut(wire, Cut::Reset);
                continue;
            }
            sim.describe_setup_play(c, rng.chance(0.5));
            let mark = sim.client(c).events.len();
            let framed = |sim: &Sim| {
                sim.client(c).events[mark..]
                    .iter()
                    .any(|(_, e)| matches!(e, ClientEvent::Frame { .. }))
            };
            assert!(
                sim.run_while_not(ms(200), framed),
                "seed {seed}: no frame after return"
            );
            assert!(
                sim.now() <= up_at + delay + ms(200),
                "seed {seed}: frames resumed at {:?}, origin back at {up_at:?}",
                sim.now()
            );
            backoff.reset();
            break;
        }
        assert_eq!(backoff.peek(), ms(250));
        assert!(tries >= 2, "seed {seed}: {tries} tries");
        sim.run_for(ms(400));
        clean(&sim, c, true);
        let idx: Vec<usize> = got(&sim, c).iter().map(|f| f.2).collect();
        assert_eq!(
            idx,
            (0..idx.len()).collect::<Vec<_>>(),
            "seed {seed}: frames"
        );
        assert!(!gone(&sim, c), "seed {seed}: the last try closed");
    }
}
