//! Our client against our server, both sans-IO machines wired together in memory, in virtual
//! time: standard UDP, TCP interleaved, and the lab dialect. No sockets, no sleeps.
#![allow(
    clippy::disallowed_methods,
    reason = "the clock is read once, as the epoch of the virtual time"
)]

use bytes::Bytes;
use core::net::SocketAddr;
use rtsp_core::client::{Client, ClientConfig, ClientEvent, ClientState, TransportChoice};
use rtsp_core::io::{ConnId, Dest, Input, Machine, Output};
use rtsp_core::server::{Media, MemoryCatalog, Server, ServerConfig};
use std::collections::VecDeque;
use std::time::{Duration, Instant};

const C_CONN: ConnId = ConnId(1);
const S_CONN: ConnId = ConnId(100);
const FPS: f64 = 25.0;
const FRAMES: usize = 40;

fn addr(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

fn server_rtp() -> SocketAddr {
    addr("10.0.0.1:6970")
}

fn client_udp(rtp_port: u16) -> TransportChoice {
    TransportChoice::Udp {
        rtp_local: SocketAddr::new(addr("10.0.0.2:0").ip(), rtp_port),
        rtcp_local: SocketAddr::new(addr("10.0.0.2:0").ip(), rtp_port + 1),
    }
}

/// A 16x16 baseline 4:2:0 JPEG without DHT (standard tables implied): one MCU whose blocks all
/// have DC 0 and no AC. Frame `n` is told apart by its luma quantization table.
fn tiny_jpeg(n: u8) -> Bytes {
    let mut v = vec![0xFF, 0xD8];
    v.extend_from_slice(&[0xFF, 0xDB, 0x00, 0x84, 0x00]);
    v.extend_from_slice(&[n.max(1); 64]);
    v.push(0x01);
    v.extend_from_slice(&[2u8; 64]);
    v.extend_from_slice(&[
        0xFF, 0xC0, 0x00, 0x11, 8, 0x00, 0x10, 0x00, 0x10, 3, 1, 0x22, 0, 2, 0x11, 1, 3, 0x11, 1,
    ]);
    v.extend_from_slice(&[
        0xFF, 0xDA, 0x00, 0x0C, 3, 1, 0x00, 2, 0x11, 3, 0x11, 0, 63, 0,
    ]);
    v.extend_from_slice(&[0x28, 0xA2, 0x8A, 0x00]);
    v.extend_from_slice(&[0xFF, 0xD9]);
    Bytes::from(v)
}

fn frame_index(jpeg: &[u8]) -> u8 {
    let info = mjpeg::parse_jpeg(jpeg).expect("client frames are valid JPEG");
    let luma = info.qtables.iter().find(|q| q.id == 0).expect("luma table");
    luma.values[0] as u8
}

/// An owned input for the other side.
enum Msg {
    Stream(Vec<u8>),
    Datagram {
        local: SocketAddr,
        remote: SocketAddr,
        data: Vec<u8>,
    },
    Closed,
}

struct Sim {
    now: Instant,
    server: Server,
    client: Client,
    s_deadline: Option<Instant>,
    c_deadline: Option<Instant>,
    to_server: VecDeque<Msg>,
    to_client: VecDeque<Msg>,
    events: Vec<ClientEvent>,
    /// RTP datagrams the server sent (from its RTP socket).
    server_rtp_sent: usize,
}

impl Sim {
    fn new(cfg: ClientConfig) -> Self {
        let now = Instant::now();
        let frames: Vec<Bytes> = (1..=FRAMES as u8).map(tiny_jpeg).collect();
        let media = Media::from_jpegs("test", FPS, frames, 1400).expect("media");
        let server_cfg = ServerConfig {
            rtp_local: server_rtp(),
            rtcp_local: addr("10.0.0.1:6971"),
            loop_media: true,
            seed: Some(rtsp_core::rng::RngSeed::from_u64(42)),
            ..ServerConfig::default()
        };
        let server = Server::new(server_cfg, Box::new(MemoryCatalog::new().with(media)), now);
        let client = Client::new(cfg, now).expect("client");
        let mut sim = Self {
            now,
            server,
            client,
            s_deadline: None,
            c_deadline: None,
            to_server: VecDeque::new(),
            to_client: VecDeque::new(),
            events: Vec::new(),
            server_rtp_sent: 0,
        };
        sim.server.handle_input(Input::Connected {
            now,
            conn: S_CONN,
            peer: addr("10.0.0.2:40000"),
        });
        sim.client.handle_input(Input::Connected {
            now,
            conn: C_CONN,
            peer: addr("10.0.0.1:8554"),
        });
        sim.pump();
        sim
    }

    fn drain_client(&mut self) {
        loop {
            match self.client.poll_output() {
                Output::Transmit(t) => match t.dest {
                    Dest::Stream(c) => {
                        assert_eq!(c, C_CONN);
                        self.to_server.push_back(Msg::Stream(t.data));
                    }
                    Dest::Udp { local, remote } => self.to_server.push_back(Msg::Datagram {
                        local: remote,
                        remote: local,
                        data: t.data,
                    }),
                },
                Output::Close(_) => self.to_server.push_back(Msg::Closed),
                Output::Event(e) => self.events.push(e),
                Output::Timeout(d) => {
                    self.c_deadline = d;
                    return;
                }
            }
        }
    }

    fn drain_server(&mut self) {
        loop {
            match self.server.poll_output() {
                Output::Transmit(t) => match t.dest {
                    Dest::Stream(c) => {
                        assert_eq!(c, S_CONN);
                        self.to_client.push_back(Msg::Stream(t.data));
                    }
                    Dest::Udp { local, remote } => {
                        if local == server_rtp() {
                            self.server_rtp_sent += 1;
                        }
                        self.to_client.push_back(Msg::Datagram {
                            local: remote,
                            remote: local,
                            data: t.data,
                        });
                    }
                },
                Output::Close(_) => self.to_client.push_back(Msg::Closed),
                Output::Event(_) => {}
                Output::Timeout(d) => {
                    self.s_deadline = d;
                    return;
                }
            }
        }
    }

    /// Deliver everything in flight (zero latency) until both sides are quiet.
    fn pump(&mut self) {
        for _ in 0..1_000_000 {
            self.drain_client();
            self.drain_server();
            let now = self.now;
            if let Some(m) = self.to_server.pop_front() {
                let input = match &m {
                    Msg::Stream(d) => Input::Stream {
                        now,
                        conn: S_CONN,
                        data: d,
                    },
                    Msg::Datagram {
                        local,
                        remote,
                        data,
                    } => Input::Datagram {
                        now,
                        local: *local,
                        remote: *remote,
                        data,
                    },
                    Msg::Closed => Input::StreamClosed { now, conn: S_CONN },
                };
                self.server.handle_input(input);
            } else if let Some(m) = self.to_client.pop_front() {
                let input = match &m {
                    Msg::Stream(d) => Input::Stream {
                        now,
                        conn: C_CONN,
                        data: d,
                    },
                    Msg::Datagram {
                        local,
                        remote,
                        data,
                    } => Input::Datagram {
                        now,
                        local: *local,
                        remote: *remote,
                        data,
                    },
                    Msg::Closed => Input::StreamClosed { now, conn: C_CONN },
                };
                self.client.handle_input(input);
            } else {
                return;
            }
        }
        panic!("livelock");
    }

    /// Run virtual time forward by `d`.
    fn run(&mut self, d: Duration) {
        let end = self.now + d;
        for _ in 0..1_000_000 {
            self.pump();
            let next = match (self.s_deadline, self.c_deadline) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
            match next {
                Some(t) if t <= end => {
                    self.now = self.now.max(t);
                    if self.s_deadline.is_some_and(|t| t <= self.now) {
                        self.server.handle_input(Input::Timeout(self.now));
                    }
                    if self.c_deadline.is_some_and(|t| t <= self.now) {
                        self.client.handle_input(Input::Timeout(self.now));
                    }
                }
                _ => {
                    self.now = end;
                    self.pump();
                    return;
                }
            }
        }
        panic!("livelock in run");
    }

    /// Call the client, then let the exchange settle (the lab dialect needs its quiet period).
    fn call<T: std::fmt::Debug>(&mut self, f: impl FnOnce(&mut Client) -> T) -> T {
        let r = f(&mut self.client);
        self.run(Duration::from_millis(400));
        r
    }

    fn take_events(&mut self) -> Vec<ClientEvent> {
        std::mem::take(&mut self.events)
    }

    /// Frame indices received, removing the Frame events; other events are kept.
    fn frames(&mut self) -> Vec<u8> {
        let mut out = Vec::new();
        self.events.retain(|e| match e {
            ClientEvent::Frame { data, .. } => {
                out.push(frame_index(data));
                false
            }
            _ => true,
        });
        out
    }

    fn expect(&mut self, what: &str, pred: impl Fn(&ClientEvent) -> bool) {
        let ev = self.take_events();
        assert!(
            ev.iter().any(pred),
            "expected {what}, got {:?}",
            ev.iter()
                .filter(|e| !matches!(e, ClientEvent::Frame { .. }))
                .collect::<Vec<_>>()
        );
        assert!(
            !ev.iter()
                .any(|e| matches!(e, ClientEvent::Error(_) | ClientEvent::RequestFailed { .. })),
            "{ev:?}"
        );
    }
}

/// Frames must be consecutive (modulo the loop).
fn assert_consecutive(frames: &[u8]) {
    for w in frames.windows(2) {
        let expected = if w[0] as usize == FRAMES { 1 } else { w[0] + 1 };
        assert_eq!(w[1], expected, "{frames:?}");
    }
}

fn standard_session(choice: TransportChoice) {
    let mut sim = Sim::new(ClientConfig::new("rtsp://10.0.0.1:8554/test"));
    sim.call(|c| c.options().unwrap());
    sim.expect("OPTIONS reply", |e| {
        matches!(e, ClientEvent::Response { .. })
    });
    sim.call(|c| c.describe().unwrap());
    sim.expect("Described", |e| matches!(e, ClientEvent::Described { .. }));
    sim.call(|c| c.setup(choice).unwrap());
    sim.expect("SetupDone", |e| matches!(e, ClientEvent::SetupDone { .. }));
    assert_eq!(sim.client.state(), ClientState::Ready);
    sim.call(|c| c.play(None).unwrap());
    sim.run(Duration::from_secs(2));
    let f = sim.frames();
    sim.expect("Playing", |e| matches!(e, ClientEvent::Playing { .. }));
    assert!((55..=62).contains(&f.len()), "{} frames in ~2.4 s", f.len());
    assert_eq!(f[0], 1);
    assert_consecutive(&f);

    sim.call(|c| c.pause().unwrap());
    sim.expect("Paused", |e| matches!(e, ClientEvent::Paused));
    let before = (sim.server_rtp_sent, sim.client.stats().frames);
    sim.run(Duration::from_secs(3));
    assert_eq!(sim.server_rtp_sent, before.0, "RTP while paused");
    assert_eq!(sim.client.stats().frames, before.1);
    let last = *f.last().unwrap();

    sim.call(|c| c.play(None).unwrap());
    sim.run(Duration::from_secs(1));
    let g = sim.frames();
    sim.expect("Playing", |e| matches!(e, ClientEvent::Playing { .. }));
    assert!(g.len() >= 25, "{g:?}");
    let mut all = vec![last];
    all.extend(&g);
    assert_consecutive(&all);

    // Past several keepalive periods and RTCP intervals: the session stays up.
    sim.run(Duration::from_secs(70));
    let h = sim.frames();
    assert!(h.len() >= 70 * 25 - 5, "{}", h.len());
    assert!(sim.take_events().iter().all(|e| !matches!(
        e,
        ClientEvent::Error(_) | ClientEvent::KeepaliveFailed { .. } | ClientEvent::Closed
    )));
    let st = sim.client.stats();
    assert_eq!((st.lost, st.frames_dropped, st.duplicates), (0, 0, 0));

    sim.call(|c| c.teardown().unwrap());
    sim.expect("TornDown", |e| matches!(e, ClientEvent::TornDown));
    assert_eq!(sim.client.state(), ClientState::Init);
    let sent = sim.server_rtp_sent;
    sim.run(Duration::from_secs(1));
    assert_eq!(sim.server_rtp_sent, sent, "RTP after TEARDOWN");
    assert_eq!(sim.server.session_count(), 0);
}

#[test]
fn our_client_plays_our_server_over_udp() {
    standard_session(client_udp(45578));
}

#[test]
fn our_client_plays_our_server_over_tcp() {
    standard_session(TransportChoice::Tcp);
}

#[test]
fn our_client_plays_our_server_in_the_lab_dialect() {
    let mut sim = Sim::new(ClientConfig::lab("10.0.0.1:8554", "test"));
    sim.call(|c| c.setup(client_udp(25000)).unwrap());
    sim.expect("SetupDone", |e| matches!(e, ClientEvent::SetupDone { .. }));
    assert!(sim.client.session_id().is_some());
    sim.call(|c| c.play(None).unwrap());
    sim.run(Duration::from_secs(1));
    // The lab RTP carries the original files, byte for byte.
    let mut n = 0;
    for e in &sim.events {
        if let ClientEvent::Frame { data, .. } = e {
            n += 1;
            assert_eq!(*data, tiny_jpeg(n), "frame {n}");
        }
    }
    assert!(n >= 25, "{n} frames");
    sim.frames();
    sim.expect("Playing", |e| matches!(e, ClientEvent::Playing { .. }));
    sim.call(|c| c.pause().unwrap());
    sim.expect("Paused", |e| matches!(e, ClientEvent::Paused));
    let sent = sim.server_rtp_sent;
    sim.run(Duration::from_secs(2));
    assert_eq!(sim.server_rtp_sent, sent, "RTP while paused");
    sim.call(|c| c.teardown().unwrap());
    sim.expect("TornDown", |e| matches!(e, ClientEvent::TornDown));
}
