//! Deterministic simulation: one [`Server`] machine and any number of [`Client`] machines (and
//! scripted raw peers) over a seeded, emulated network, in virtual time.
//!
//! * **Clock.** One `Instant` is taken when a [`Sim`] is built; afterwards time only moves by
//!   additions to it. [`Sim::step`] jumps to the earliest of: a machine's deadline
//!   ([`Output::Timeout`]) or the next in-flight delivery. Nothing sleeps.
//! * **Network.** UDP goes through [`netem::Netem`] (latency, jitter, Gilbert–Elliott loss,
//!   reordering, duplication, corruption, MTU, bandwidth cap); every datagram's fate is logged
//!   in [`Sim::udp_log`]. TCP is a pair of [`netem::Pipe`]s per connection: in-order bytes,
//!   split at any byte, delayed, stalled, or cut ([`Cut`]).
//! * **Seeds.** Everything random comes from one seed ([`Rng`], ChaCha8). [`seed`] reads
//!   `SIM_SEED` from the environment to replay a run; every panic while a `Sim` is alive prints
//!   the seed.
//! * **Livelock.** The drive loop is bounded: too many steps at one virtual instant, or in one
//!   `run_*` call, fails the test (with its seed) instead of hanging it.
//!
//! Scenarios live in `tests/tests/sim_*.rs`, one file per behaviour (lifecycle, byte_split,
//! pipelined, keepalive, reaping, seek, end_of_stream, wraparound, loss_stats, corruption,
//! many_clients, server_restart, timing, properties, harness); `sim_real_runtimes.rs` runs the
//! lifecycle scenario ([`driver::lifecycle`]) unchanged on real sockets through
//! [`real::RealDriver`]. Replay a failure with `SIM_SEED=<seed> cargo test -p it --test <file>`.

pub mod driver;
pub mod media;
pub mod netem;
pub mod real;
mod scenario;

pub use scenario::Scenario;

use crate::sim::netem::{Decision, Drop as DropReason, Fate, Meta, Netem, Pipe, RtpMeta};
use chacha20::ChaCha8Rng;
use core::net::{IpAddr, Ipv4Addr, SocketAddr};
use rand_core::{Rng as _, SeedableRng};
use rtsp_core::client::{Client, ClientConfig, ClientEvent, TransportChoice};
use rtsp_core::io::{drain_bounded, ConnId, Dest, Input, Machine, Output, Transmit};
use rtsp_core::rng::RngSeed;
use rtsp_core::server::{MemoryCatalog, Server, ServerConfig, ServerEvent};
use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap, HashMap};
use std::time::{Duration, Instant};

/// The simulator's only source of randomness: ChaCha8 (the `chacha20` crate's generator, the
/// family the machines draw from) seeded from the test's seed. Test randomness, not security.
pub struct Rng(ChaCha8Rng);

impl std::fmt::Debug for Rng {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Rng(..)")
    }
}

impl Rng {
    /// A generator for `seed`.
    pub fn new(seed: u64) -> Self {
        Self(ChaCha8Rng::seed_from_u64(seed))
    }

    /// Next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0.next_u64()
    }

    /// Uniform in `0..n` (0 when `n == 0`).
    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            0
        } else {
            self.next_u64() % n
        }
    }

    /// Uniform in `[0, 1)`.
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// True with probability `p`.
    pub fn chance(&mut self, p: f64) -> bool {
        p > 0.0 && self.unit() < p
    }

    /// A child generator (independent stream).
    pub fn fork(&mut self) -> Self {
        Self::new(self.next_u64())
    }
}

/// The seed of a test: `SIM_SEED` from the environment (decimal or `0x` hex) if set, else
/// `default`.
pub fn seed(default: u64) -> u64 {
    match std::env::var("SIM_SEED") {
        Ok(v) => {
            let v = v.trim();
            let parsed = match v.strip_prefix("0x") {
                Some(hex) => u64::from_str_radix(hex, 16),
                None => v.parse(),
            };
            parsed.unwrap_or_else(|_| panic!("SIM_SEED={v:?} is not a number"))
        }
        Err(_) => default,
    }
}

/// Prints the seed if the thread panics while it is alive.
#[derive(Debug)]
pub struct SeedGuard(pub u64);

impl Drop for SeedGuard {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!(
                "simulation failed with seed {0} — replay with SIM_SEED={0}",
                self.0
            );
        }
    }
}

/// The server's address.
pub const SERVER_IP: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
/// RTSP port.
pub const RTSP_PORT: u16 = 554;
/// The server's RTP port.
pub const SERVER_RTP: u16 = 6970;
/// Client RTP port (each client has its own IP).
pub const CLIENT_RTP: u16 = 5000;
/// The name of the stream in the catalog.
pub const STREAM: &str = "cam.mjpeg";
/// Steps at one virtual instant before the run counts as a livelock.
pub const SAME_INSTANT_LIMIT: u64 = 200_000;
/// Outputs one drain may hand over before the machine counts as livelocked.
const DRAIN_LIMIT: usize = 1_000_000;

/// The server's RTSP address.
pub fn server_addr() -> SocketAddr {
    SocketAddr::new(IpAddr::V4(SERVER_IP), RTSP_PORT)
}

/// The server's RTP socket.
pub fn server_rtp() -> SocketAddr {
    SocketAddr::new(IpAddr::V4(SERVER_IP), SERVER_RTP)
}

/// The server's RTCP socket.
pub fn server_rtcp() -> SocketAddr {
    SocketAddr::new(IpAddr::V4(SERVER_IP), SERVER_RTP + 1)
}

/// The stream URL.
pub fn url() -> String {
    format!("rtsp://{}/{STREAM}", server_addr())
}

/// A node of the simulated network.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Node {
    /// The server.
    Server,
    /// Client machine `i`.
    Client(usize),
    /// Raw (scripted) peer `i`.
    Raw(usize),
}

/// How a connection is cut.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cut {
    /// Both ends see the connection close (after the latency); bytes in flight are lost.
    Reset,
    /// Nothing is delivered any more and nobody is told until an end writes: then it gets a
    /// reset (a rebooted peer answering with RST).
    ResetOnWrite,
    /// Nothing is delivered and nobody is ever told (a partition).
    Silent,
}

/// A client machine and what it reported.
#[derive(Debug)]
pub struct ClientNode {
    /// The machine.
    pub machine: Client,
    /// Events with their virtual time.
    pub events: Vec<(Duration, ClientEvent)>,
    /// Its IP.
    pub ip: IpAddr,
    /// Its RTP socket.
    pub rtp: SocketAddr,
    /// Its RTCP socket.
    pub rtcp: SocketAddr,
    /// Its control connection (wire id).
    pub wire: Option<u64>,
    deadline: Option<Duration>,
}

impl ClientNode {
    /// The UDP transport choice with this node's sockets.
    pub fn udp(&self) -> TransportChoice {
        TransportChoice::Udp {
            rtp_local: self.rtp,
            rtcp_local: self.rtcp,
        }
    }

    /// Frames received (timestamp, JPEG), in order.
    pub fn frames(&self) -> Vec<(Duration, u32, bytes::Bytes)> {
        self.events
            .iter()
            .filter_map(|(t, e)| match e {
                ClientEvent::Frame { timestamp, data } => Some((*t, *timestamp, data.clone())),
                _ => None,
            })
            .collect()
    }

    /// Whether an event matching `f` was reported.
    pub fn saw(&self, f: impl Fn(&ClientEvent) -> bool) -> bool {
        self.events.iter().any(|(_, e)| f(e))
    }
}

/// A scripted peer: writes raw bytes, records what it receives.
#[derive(Debug, Default)]
pub struct RawNode {
    /// Its IP.
    pub ip: Option<IpAddr>,
    /// Bytes received per wire, in order.
    pub received: BTreeMap<u64, Vec<u8>>,
    /// Reads received per wire (to see splits).
    pub reads: BTreeMap<u64, usize>,
    /// Wires that were closed by the server (or reset).
    pub closed: Vec<u64>,
    /// Datagrams received: (time, from, to, data).
    pub datagrams: Vec<(Duration, SocketAddr, SocketAddr, Vec<u8>)>,
}

/// One logged datagram.
#[derive(Debug, Clone)]
pub struct UdpRecord {
    /// Sender node.
    pub from_node: Node,
    /// What the netem saw.
    pub meta: Meta,
    /// What it decided.
    pub fate: Fate,
    /// Rule index that decided.
    pub rule: Option<usize>,
}

/// One TCP connection.
#[derive(Debug)]
struct Wire {
    peer: Node,
    /// Server → peer.
    down: Pipe,
    /// Peer → server.
    up: Pipe,
    open: bool,
    /// Set by [`Cut::ResetOnWrite`].
    reset_on_write: bool,
    /// [`Cut::Silent`]: writes vanish.
    silent: bool,
    peer_addr: SocketAddr,
    /// Which server instance accepted it.
    server_gen: u64,
}

#[derive(Debug)]
enum What {
    Connected {
        wire: u64,
    },
    Stream {
        wire: u64,
        data: Vec<u8>,
    },
    Closed {
        wire: u64,
    },
    Datagram {
        from: SocketAddr,
        to: SocketAddr,
        data: Vec<u8>,
    },
    /// A held datagram's fallback release.
    Release {
        token: u64,
    },
}

#[derive(Debug)]
struct Scheduled {
    at: Duration,
    n: u64,
    to: Node,
    what: What,
}

impl PartialEq for Scheduled {
    fn eq(&self, o: &Self) -> bool {
        (self.at, self.n) == (o.at, o.n)
    }
}
impl Eq for Scheduled {}
impl PartialOrd for Scheduled {
    fn partial_cmp(&self, o: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for Scheduled {
    fn cmp(&self, o: &Self) -> std::cmp::Ordering {
        (self.at, self.n).cmp(&(o.at, o.n))
    }
}

/// A held (reordered) datagram.
#[derive(Debug)]
struct Held {
    to: Node,
    from: SocketAddr,
    dst: SocketAddr,
    data: Vec<u8>,
    latency: Duration,
}

/// Media and server configuration of a simulation.
#[derive(Debug, Clone)]
pub struct Setup {
    /// Frames in the stream.
    pub frames: usize,
    /// Frame rate.
    pub fps: f64,
    /// MTU the media is packetized for.
    pub mtu: usize,
    /// Whether the stream loops.
    pub looping: bool,
    /// Server configuration (addresses are filled in).
    pub server: ServerConfig,
    /// One-way latency of TCP and of unmatched UDP.
    pub latency: Duration,
}

impl Default for Setup {
    fn default() -> Self {
        Self {
            frames: 40,
            fps: 25.0,
            mtu: 1400,
            looping: true,
            server: ServerConfig::default(),
            latency: Duration::from_millis(5),
        }
    }
}

/// The simulator.
pub struct Sim {
    /// The seed everything derives from.
    pub seed: u64,
    _guard: SeedGuard,
    start: Instant,
    now: Duration,
    /// Randomness for the network.
    pub rng: Rng,
    /// The server machine.
    pub server: Server,
    server_deadline: Option<Duration>,
    server_gen: u64,
    /// Server events with their virtual time.
    pub server_events: Vec<(Duration, ServerEvent)>,
    /// Every transmit the server produced, with its virtual time (for invariants).
    pub server_out: Vec<(Duration, Transmit)>,
    /// Record `server_out` (off by default: long runs).
    pub record_server_out: bool,
    /// Client machines.
    pub clients: Vec<ClientNode>,
    /// Raw peers.
    pub raws: Vec<RawNode>,
    /// The UDP emulator.
    pub net: Netem,
    /// Every datagram and its fate.
    pub udp_log: Vec<UdpRecord>,
    /// Template for new TCP pipes.
    pub pipe: Pipe,
    /// The media and server setup.
    pub setup: Setup,
    catalog: MemoryCatalog,
    wires: BTreeMap<u64, Wire>,
    next_wire: u64,
    queue: BinaryHeap<Reverse<Scheduled>>,
    counter: u64,
    held: HashMap<u64, Held>,
    /// Held datagrams in order: (token, destination, later datagrams still to overtake it).
    held_order: Vec<(u64, SocketAddr, usize)>,
    addrs: HashMap<SocketAddr, Node>,
    same_instant: (Duration, u64),
    /// Steps at one virtual instant before the run fails as a livelock
    /// (default [`SAME_INSTANT_LIMIT`]).
    pub same_instant_limit: u64,
    /// Steps taken so far.
    pub steps: u64,
}

impl std::fmt::Debug for Sim {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sim")
            .field("seed", &self.seed)
            .field("now", &self.now)
            .field("clients", &self.clients.len())
            .finish_non_exhaustive()
    }
}

impl Sim {
    /// A simulation with the default [`Setup`].
    pub fn new(seed: u64) -> Self {
        Self::with_setup(seed, Setup::default())
    }

    /// A simulation with this setup.
    pub fn with_setup(seed: u64, mut setup: Setup) -> Self {
        let start = Instant::now();
        let mut rng = Rng::new(seed);
        setup.server.rtp_local = server_rtp();
        setup.server.rtcp_local = server_rtcp();
        setup.server.wallclock_at_start = Duration::from_secs(1_795_615_705);
        let catalog = media::catalog(setup.frames, setup.fps, setup.mtu, setup.looping);
        let server = Server::new(setup.server.clone(), Box::new(catalog.clone()), start);
        let mut addrs = HashMap::new();
        addrs.insert(server_rtp(), Node::Server);
        addrs.insert(server_rtcp(), Node::Server);
        let net_rng = rng.fork();
        let mut sim = Self {
            seed,
            _guard: SeedGuard(seed),
            start,
            now: Duration::ZERO,
            rng: net_rng,
            server,
            server_deadline: None,
            server_gen: 0,
            server_events: Vec::new(),
            server_out: Vec::new(),
            record_server_out: false,
            clients: Vec::new(),
            raws: Vec::new(),
            net: Netem::new(setup.latency),
            udp_log: Vec::new(),
            pipe: Pipe::new(setup.latency),
            setup,
            catalog,
            wires: BTreeMap::new(),
            next_wire: 1,
            queue: BinaryHeap::new(),
            counter: 0,
            held: HashMap::new(),
            held_order: Vec::new(),
            addrs,
            same_instant: (Duration::ZERO, 0),
            same_instant_limit: SAME_INSTANT_LIMIT,
            steps: 0,
        };
        sim.drain(Node::Server);
        sim
    }

    /// Virtual time since the start.
    pub fn now(&self) -> Duration {
        self.now
    }

    /// The `Instant` of virtual time `t`.
    pub fn instant(&self, t: Duration) -> Instant {
        self.start + t
    }

    /// The server's current deadline (virtual time), as of its last drain.
    pub fn server_deadline(&self) -> Option<Duration> {
        self.server_deadline
    }

    /// A client node.
    pub fn client(&self, i: usize) -> &ClientNode {
        &self.clients[i]
    }

    // ---------------------------------------------------------------------------------------
    // Nodes

    /// Add a client for the stream URL (config adjusted by `f`), with its own IP, and open its
    /// control connection. Returns its index.
    pub fn add_client(&mut self, f: impl FnOnce(&mut ClientConfig)) -> usize {
        let i = self.clients.len();
        let ip = IpAddr::V4(Ipv4Addr::new(10, 1, (i >> 8) as u8, (i & 0xFF) as u8 + 1));
        let mut cfg = ClientConfig::new(url());
        cfg.seed = Some(RngSeed::from_u64(self.rng.next_u64()));
        f(&mut cfg);
        let machine = Client::new(cfg, self.instant(self.now)).expect("client config");
        let rtp = SocketAddr::new(ip, CLIENT_RTP);
        let rtcp = SocketAddr::new(ip, CLIENT_RTP + 1);
        self.addrs.insert(rtp, Node::Client(i));
        self.addrs.insert(rtcp, Node::Client(i));
        self.clients.push(ClientNode {
            machine,
            events: Vec::new(),
            ip,
            rtp,
            rtcp,
            wire: None,
            deadline: None,
        });
        self.drain(Node::Client(i));
        let wire = self.connect(Node::Client(i), SocketAddr::new(ip, 40_000));
        self.clients[i].wire = Some(wire);
        i
    }

    /// Add a raw peer with its own IP (no connection yet; see [`Sim::connect_raw`]).
    pub fn add_raw(&mut self) -> usize {
        let i = self.raws.len();
        let ip = IpAddr::V4(Ipv4Addr::new(10, 2, (i >> 8) as u8, (i & 0xFF) as u8 + 1));
        self.raws.push(RawNode {
            ip: Some(ip),
            ..RawNode::default()
        });
        i
    }

    /// Let raw peer `i` receive datagrams on `port`.
    pub fn raw_bind(&mut self, i: usize, port: u16) -> SocketAddr {
        let a = SocketAddr::new(self.raws[i].ip.expect("raw ip"), port);
        self.addrs.insert(a, Node::Raw(i));
        a
    }

    /// Open a control connection from raw peer `i`; returns the wire id.
    pub fn connect_raw(&mut self, i: usize) -> u64 {
        let ip = self.raws[i].ip.expect("raw ip");
        let port = 40_000 + (self.next_wire % 20_000) as u16;
        let w = self.connect(Node::Raw(i), SocketAddr::new(ip, port));
        self.raws[i].received.insert(w, Vec::new());
        w
    }

    fn connect(&mut self, peer: Node, peer_addr: SocketAddr) -> u64 {
        let id = self.next_wire;
        self.next_wire += 1;
        let mut pipe = self.pipe.clone();
        pipe.last = self.now;
        pipe.offset = 0;
        self.wires.insert(
            id,
            Wire {
                peer,
                down: pipe.clone(),
                up: pipe,
                open: true,
                reset_on_write: false,
                silent: false,
                peer_addr,
                server_gen: self.server_gen,
            },
        );
        let at = self.now + self.pipe.latency;
        self.schedule(at, Node::Server, What::Connected { wire: id });
        self.schedule(at, peer, What::Connected { wire: id });
        id
    }

    /// The (client → server, server → client) pipes of a connection, to reshape them: split,
    /// latency, jitter, a stall (`stalled_until`). New connections copy [`Sim::pipe`].
    pub fn wire_pipes(&mut self, wire: u64) -> (&mut Pipe, &mut Pipe) {
        let w = self.wires.get_mut(&wire).expect("wire");
        (&mut w.up, &mut w.down)
    }

    /// Cut a connection.
    pub fn cut(&mut self, wire: u64, how: Cut) {
        let Some(w) = self.wires.get_mut(&wire) else {
            return;
        };
        if !w.open {
            return;
        }
        let peer = w.peer;
        let lat = w.down.latency;
        // Bytes in flight are lost.
        let queue = std::mem::take(&mut self.queue);
        self.queue = queue
            .into_iter()
            .filter(|Reverse(s)| {
                !matches!(&s.what, What::Stream { wire: x, .. } | What::Closed { wire: x } if *x == wire)
            })
            .collect();
        match how {
            Cut::Reset => {
                w.open = false;
                let at = self.now + lat;
                self.schedule(at, Node::Server, What::Closed { wire });
                self.schedule(at, peer, What::Closed { wire });
            }
            Cut::ResetOnWrite => w.reset_on_write = true,
            Cut::Silent => w.silent = true,
        }
    }

    /// Replace the server by a fresh machine (same configuration, seed `seed`). Its
    /// connections are cut with `how`; datagrams in flight reach the new server.
    pub fn restart_server(&mut self, seed: u64, how: Cut) {
        let wires: Vec<u64> = self
            .wires
            .iter()
            .filter(|(_, w)| w.open && w.server_gen == self.server_gen)
            .map(|(id, _)| *id)
            .collect();
        for w in wires {
            self.cut(w, how);
        }
        self.server_gen += 1;
        let mut cfg = self.setup.server.clone();
        cfg.seed = Some(RngSeed::from_u64(seed));
        self.server = Server::new(cfg, Box::new(self.catalog.clone()), self.instant(self.now));
        self.server_deadline = None;
        self.drain(Node::Server);
    }

    // ---------------------------------------------------------------------------------------
    // Commands

    /// Call the client API of client `i`, then drain it.
    pub fn call<T>(&mut self, i: usize, f: impl FnOnce(&mut Client) -> T) -> T {
        let r = f(&mut self.clients[i].machine);
        self.drain(Node::Client(i));
        r
    }

    /// Call a server method (e.g. `shutdown`), then drain it.
    pub fn call_server<T>(&mut self, f: impl FnOnce(&mut Server, Instant) -> T) -> T {
        let now = self.instant(self.now);
        let r = f(&mut self.server, now);
        self.drain(Node::Server);
        r
    }

    /// Raw peer writes `data` on `wire`.
    pub fn raw_send(&mut self, wire: u64, data: &[u8]) {
        let peer = self.wires.get(&wire).map(|w| w.peer).expect("wire");
        self.stream_write(peer, wire, data);
    }

    /// Raw peer closes `wire`.
    pub fn raw_close(&mut self, wire: u64) {
        let peer = self.wires.get(&wire).map(|w| w.peer).expect("wire");
        self.close(peer, wire);
    }

    /// Raw peer sends a datagram.
    pub fn raw_datagram(&mut self, from: SocketAddr, to: SocketAddr, data: Vec<u8>) {
        let node = self.addrs.get(&from).copied().unwrap_or(Node::Raw(0));
        self.udp_send(node, from, to, data);
    }

    /// Whether a wire is still open (not closed or cut).
    pub fn wire_open(&self, wire: u64) -> bool {
        self.wires.get(&wire).is_some_and(|w| w.open)
    }

    // ---------------------------------------------------------------------------------------
    // Output routing

    fn schedule(&mut self, at: Duration, to: Node, what: What) {
        self.counter += 1;
        self.queue.push(Reverse(Scheduled {
            at: at.max(self.now),
            n: self.counter,
            to,
            what,
        }));
    }

    /// Drain a machine's outputs into the network.
    fn drain(&mut self, node: Node) {
        let now = self.now;
        let mut outs = Vec::new();
        let drained = match node {
            Node::Server => drain_bounded(
                &mut self.server,
                DRAIN_LIMIT,
                collect(&mut outs, &mut self.server_events, now),
            ),
            Node::Client(i) => {
                let c = &mut self.clients[i];
                drain_bounded(
                    &mut c.machine,
                    DRAIN_LIMIT,
                    collect(&mut outs, &mut c.events, now),
                )
            }
            Node::Raw(_) => return,
        };
        let deadline = drained.unwrap_or_else(|e| {
            panic!(
                "seed {}: {node:?} never stopped producing output ({e})",
                self.seed
            )
        });
        for out in outs {
            match out {
                Out::Transmit(t) => {
                    if node == Node::Server && self.record_server_out {
                        self.server_out.push((self.now, t.clone()));
                    }
                    self.transmit(node, t);
                }
                Out::Close(conn) => self.close(node, conn.0),
            }
        }
        let d = deadline.map(|t| t.saturating_duration_since(self.start));
        match node {
            Node::Server => self.server_deadline = d,
            Node::Client(i) => self.clients[i].deadline = d,
            Node::Raw(_) => {}
        }
    }

    fn transmit(&mut self, node: Node, t: Transmit) {
        match t.dest {
            Dest::Stream(conn) => self.stream_write(node, conn.0, &t.data),
            Dest::Udp { local, remote } => self.udp_send(node, local, remote, t.data),
        }
    }

    fn stream_write(&mut self, node: Node, wire: u64, data: &[u8]) {
        let now = self.now;
        let Some(w) = self.wires.get_mut(&wire) else {
            return;
        };
        if node == Node::Server && w.server_gen != self.server_gen {
            return;
        }
        if !w.open || w.silent {
            return;
        }
        if w.reset_on_write {
            w.open = false;
            let lat = w.up.latency;
            // The writer gets the reset after a round trip.
            self.schedule(now + lat * 2, node, What::Closed { wire });
            return;
        }
        let (to, pipe) = if node == Node::Server {
            (w.peer, &mut w.down)
        } else {
            (Node::Server, &mut w.up)
        };
        let reads = pipe.schedule(now, data, &mut self.rng);
        for (at, chunk) in reads {
            self.schedule(at, to, What::Stream { wire, data: chunk });
        }
    }

    fn close(&mut self, node: Node, wire: u64) {
        let now = self.now;
        let Some(w) = self.wires.get_mut(&wire) else {
            return;
        };
        if node == Node::Server && w.server_gen != self.server_gen {
            return;
        }
        if !w.open {
            return;
        }
        w.open = false;
        if w.silent || w.reset_on_write {
            return;
        }
        let (to, at) = if node == Node::Server {
            (w.peer, w.down.close_at(now))
        } else {
            (Node::Server, w.up.close_at(now))
        };
        self.schedule(at, to, What::Closed { wire });
    }

    fn udp_send(&mut self, node: Node, from: SocketAddr, to: SocketAddr, mut data: Vec<u8>) {
        let rtp = (from == server_rtp())
            .then(|| rtp_core::RtpPacket::parse(&data).ok())
            .flatten()
            .map(|p| RtpMeta {
                seq: p.header.sequence,
                ts: p.header.timestamp,
                ssrc: p.header.ssrc,
                marker: p.header.marker,
            });
        let meta = Meta {
            at: self.now,
            from,
            to,
            len: data.len(),
            rtp,
            from_server_rtcp: from == server_rtcp(),
            to_server_rtcp: to == server_rtcp(),
        };
        let dest = self.addrs.get(&to).copied();
        let Decision { delays, fate, rule } = if dest.is_some() {
            self.net.decide(&meta, &mut data, &mut self.rng)
        } else {
            Decision {
                delays: Vec::new(),
                fate: Fate::Dropped(DropReason::Unroutable),
                rule: None,
            }
        };
        if fate == Fate::Reordered {
            let r = rule.expect("a rule reordered it");
            let token = self.counter + 1_000_000_000;
            self.counter += 1;
            let depth = self.net.rules[r.0].impair.reorder_depth.max(1);
            let latency = self.net.rules[r.0].impair.latency;
            self.held_order.push((token, to, depth));
            self.held.insert(
                token,
                Held {
                    to: dest.expect("routable"),
                    from,
                    dst: to,
                    data,
                    latency,
                },
            );
            let at = self.now + delays[0];
            self.schedule(at, Node::Server, What::Release { token });
        } else if let (Some(to_node), false) = (dest, delays.is_empty()) {
            let first = self.now + delays[0];
            for d in &delays {
                self.schedule(
                    self.now + *d,
                    to_node,
                    What::Datagram {
                        from,
                        to,
                        data: data.clone(),
                    },
                );
            }
            // Datagrams to the same address overtake the held ones (whatever rule decided).
            let mut release = Vec::new();
            for (token, dst, left) in self.held_order.iter_mut() {
                if *dst == to {
                    *left = left.saturating_sub(1);
                    if *left == 0 {
                        release.push(*token);
                    }
                }
            }
            self.held_order.retain(|(_, _, l)| *l > 0);
            for token in release {
                if let Some(h) = self.held.remove(&token) {
                    let at = first.max(self.now + h.latency);
                    self.schedule(
                        at,
                        h.to,
                        What::Datagram {
                            from: h.from,
                            to: h.dst,
                            data: h.data,
                        },
                    );
                }
            }
        }
        self.udp_log.push(UdpRecord {
            from_node: node,
            meta,
            fate,
            rule: rule.map(|r| r.0),
        });
    }

    // ---------------------------------------------------------------------------------------
    // Driving

    /// The earliest pending thing: (time, is a delivery).
    fn next_time(&self) -> Option<Duration> {
        let q = self.queue.peek().map(|Reverse(s)| s.at);
        let mut t = q;
        let mut consider = |d: Option<Duration>| {
            if let Some(d) = d {
                t = Some(t.map_or(d, |x: Duration| x.min(d)));
            }
        };
        consider(self.server_deadline);
        for c in &self.clients {
            consider(c.deadline);
        }
        t
    }

    /// Do the next thing (a delivery or a deadline), moving the clock forward to it.
    /// Returns `false` when nothing is pending at all.
    pub fn step(&mut self) -> bool {
        let Some(t) = self.next_time() else {
            return false;
        };
        self.advance(t);
        self.steps += 1;
        if let Some(Reverse(s)) = self.queue.peek() {
            if s.at <= self.now {
                let Reverse(s) = self.queue.pop().expect("peeked");
                self.deliver(s);
                return true;
            }
        }
        let now = self.instant(self.now);
        if self.server_deadline.is_some_and(|d| d <= self.now) {
            self.server.handle_input(Input::Timeout(now));
            self.drain(Node::Server);
        }
        for i in 0..self.clients.len() {
            if self.clients[i].deadline.is_some_and(|d| d <= self.now) {
                self.clients[i].machine.handle_input(Input::Timeout(now));
                self.drain(Node::Client(i));
            }
        }
        true
    }

    fn advance(&mut self, t: Duration) {
        if t > self.now {
            self.now = t;
        }
        if self.same_instant.0 == self.now {
            self.same_instant.1 += 1;
            assert!(
                self.same_instant.1 < self.same_instant_limit,
                "seed {}: livelock: {} steps at virtual time {:?} (server deadline {:?})",
                self.seed,
                self.same_instant.1,
                self.now,
                self.server_deadline
            );
        } else {
            self.same_instant = (self.now, 0);
        }
    }

    fn deliver(&mut self, s: Scheduled) {
        let now = self.instant(self.now);
        match (s.to, s.what) {
            (_, What::Release { token }) => {
                if let Some(h) = self.held.remove(&token) {
                    self.held_order.retain(|(t, _, _)| *t != token);
                    let what = What::Datagram {
                        from: h.from,
                        to: h.dst,
                        data: h.data,
                    };
                    let s = Scheduled {
                        at: self.now,
                        n: 0,
                        to: h.to,
                        what,
                    };
                    self.deliver(s);
                }
            }
            (Node::Server, what) => {
                let input = match &what {
                    What::Connected { wire } => {
                        let w = &self.wires[wire];
                        if w.server_gen != self.server_gen {
                            return;
                        }
                        Input::Connected {
                            now,
                            conn: ConnId(*wire),
                            peer: w.peer_addr,
                        }
                    }
                    What::Stream { wire, data } => {
                        if self.wires[wire].server_gen != self.server_gen {
                            return;
                        }
                        Input::Stream {
                            now,
                            conn: ConnId(*wire),
                            data,
                        }
                    }
                    What::Closed { wire } => {
                        if self.wires[wire].server_gen != self.server_gen {
                            return;
                        }
                        Input::StreamClosed {
                            now,
                            conn: ConnId(*wire),
                        }
                    }
                    What::Datagram { from, to, data } => Input::Datagram {
                        now,
                        local: *to,
                        remote: *from,
                        data,
                    },
                    What::Release { .. } => return,
                };
                self.server.handle_input(input);
                self.drain(Node::Server);
            }
            (Node::Client(i), what) => {
                let c = &mut self.clients[i].machine;
                let peer = server_addr();
                match &what {
                    What::Connected { wire } => c.handle_input(Input::Connected {
                        now,
                        conn: ConnId(*wire),
                        peer,
                    }),
                    What::Stream { wire, data } => c.handle_input(Input::Stream {
                        now,
                        conn: ConnId(*wire),
                        data,
                    }),
                    What::Closed { wire } => {
                        if let Some(w) = self.wires.get_mut(wire) {
                            w.open = false;
                        }
                        c.handle_input(Input::StreamClosed {
                            now,
                            conn: ConnId(*wire),
                        })
                    }
                    What::Datagram { from, to, data } => c.handle_input(Input::Datagram {
                        now,
                        local: *to,
                        remote: *from,
                        data,
                    }),
                    What::Release { .. } => {}
                }
                self.drain(Node::Client(i));
            }
            (Node::Raw(i), what) => {
                let t = self.now;
                let r = &mut self.raws[i];
                match what {
                    What::Connected { .. } | What::Release { .. } => {}
                    What::Stream { wire, data } => {
                        r.received.entry(wire).or_default().extend_from_slice(&data);
                        *r.reads.entry(wire).or_default() += 1;
                    }
                    What::Closed { wire } => {
                        r.closed.push(wire);
                        if let Some(w) = self.wires.get_mut(&wire) {
                            w.open = false;
                        }
                    }
                    What::Datagram { from, to, data } => r.datagrams.push((t, from, to, data)),
                }
            }
        }
    }

    /// Run until virtual time `until` (absolute), then stop there.
    pub fn run_until(&mut self, until: Duration) {
        let budget = 50_000_000u64;
        let start_steps = self.steps;
        while self.next_time().is_some_and(|t| t <= until) {
            self.step();
            assert!(
                self.steps - start_steps < budget,
                "seed {}: step budget exhausted before {until:?} (livelock?)",
                self.seed
            );
        }
        if until > self.now {
            self.advance(until);
        }
    }

    /// Run for `d` of virtual time.
    pub fn run_for(&mut self, d: Duration) {
        let until = self.now + d;
        self.run_until(until);
    }

    /// Run until `done` holds (checked after every step) or `within` passes. Returns whether
    /// `done` held.
    pub fn run_while_not(&mut self, within: Duration, mut done: impl FnMut(&Self) -> bool) -> bool {
        let until = self.now + within;
        let start_steps = self.steps;
        loop {
            if done(self) {
                return true;
            }
            match self.next_time() {
                Some(t) if t <= until => {
                    self.step();
                }
                _ => {
                    self.advance(until.max(self.now));
                    return done(self);
                }
            }
            assert!(
                self.steps - start_steps < 50_000_000,
                "seed {}: step budget exhausted (livelock?)",
                self.seed
            );
        }
    }

    /// Call the client API of client `i`, then run until the call's outcome event (any
    /// `Response`/`Error`/`Closed` after it) or 30 s of virtual time.
    pub fn request<T>(&mut self, i: usize, f: impl FnOnce(&mut Client) -> T) -> T {
        let mark = self.clients[i].events.len();
        let r = self.call(i, f);
        self.run_while_not(Duration::from_secs(30), |s| {
            s.clients[i].events[mark..].iter().any(|(_, e)| {
                matches!(
                    e,
                    ClientEvent::Response { .. } | ClientEvent::Error(_) | ClientEvent::Closed
                )
            })
        });
        r
    }

    /// All RTP datagrams the server sent to `to` (in send order), with their fates.
    pub fn rtp_to(&self, to: SocketAddr) -> Vec<&UdpRecord> {
        self.udp_log
            .iter()
            .filter(|r| r.meta.to == to && r.meta.rtp.is_some())
            .collect()
    }
}

enum Out {
    Transmit(Transmit),
    Close(ConnId),
}

/// Outputs a drain hands over, collected: transmits and closes into `outs` (the network takes
/// them after the drain), events into `events` at virtual time `now`.
fn collect<'a, E>(
    outs: &'a mut Vec<Out>,
    events: &'a mut Vec<(Duration, E)>,
    now: Duration,
) -> impl FnMut(Output<E>) + 'a {
    move |o| match o {
        Output::Transmit(t) => outs.push(Out::Transmit(t)),
        Output::Close(c) => outs.push(Out::Close(c)),
        Output::Event(e) => events.push((now, e)),
        Output::Timeout(_) => {}
    }
}

/// Parse every RTSP response in `bytes` (interleaved frames are skipped).
pub fn responses(bytes: &[u8]) -> Vec<rtsp_core::message::Response> {
    use rtsp_core::message::{Decoded, Decoder, Limits, Message};
    let mut dec = Decoder::new(Limits::default());
    let mut buf = bytes::BytesMut::from(bytes);
    let mut out = Vec::new();
    while let Ok(Some(d)) = dec.decode(&mut buf) {
        if let Decoded::Message(Message::Response(r)) = d {
            out.push(r);
        }
    }
    out
}
