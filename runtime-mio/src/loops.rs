//! Several event loops serving one RTSP port ([`ServerLoops`]): each loop has its own
//! [`Server`] machine, its own RTP/RTCP socket pair and its own listening socket on the same
//! port (`SO_REUSEPORT`: the kernel spreads connections over the loops). Media come from one
//! catalog shared by every loop ([`SharedCatalog`]), so each file is loaded once.
//!
//! A session lives in the loop of the connection that set it up: a client that sends PLAY on
//! another connection than SETUP may reach another loop and get 454 (every common client
//! keeps one connection). The limits that say "in all" or "per IP address" count over every
//! loop (one [`SharedCounts`](rtsp_core::server::SharedCounts) for all).

use std::io;
use std::net::{SocketAddr, TcpListener};
use std::sync::{Arc, Mutex};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use rtsp_core::server::{Catalog, LookupError, Media, Server, ServerConfig, ServerEvent};
use runtime_std::live::LiveFanout;
use runtime_std::media::LoadSignal;
use runtime_std::{
    bind_udp_pair, os_seed, server_event_handler, wake_on_load, BoundServer, Handle,
    DEFAULT_MAX_PENDING_OUTPUT,
};

use crate::driver::Runtime;
use crate::serve::server_runtime;

/// Pending connections a listener queues (1000 clients may connect at once).
const LISTEN_BACKLOG: i32 = 4096;

/// One catalog for every event loop: lookups take turns on a mutex, so each file is loaded
/// (and transcoded) once. Lookups must be quick (an [`FsCatalog`](crate::media::FsCatalog)
/// loads on its own threads).
pub struct SharedCatalog<C>(Arc<Mutex<C>>, Option<LoadSignal>);

impl<C> SharedCatalog<C> {
    /// Shares `catalog`.
    pub fn new(catalog: C) -> Self {
        Self(Arc::new(Mutex::new(catalog)), None)
    }

    /// Reads [`Catalog::generation`] from `signal` (the catalog's own, e.g.
    /// [`FsCatalog::load_signal`](crate::media::FsCatalog::load_signal)) without the mutex.
    pub fn with_load_signal(mut self, signal: LoadSignal) -> Self {
        self.1 = Some(signal);
        self
    }
}

impl<C> Clone for SharedCatalog<C> {
    fn clone(&self) -> Self {
        Self(Arc::clone(&self.0), self.1.clone())
    }
}

impl<C> std::fmt::Debug for SharedCatalog<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SharedCatalog").finish_non_exhaustive()
    }
}

impl<C: Catalog> Catalog for SharedCatalog<C> {
    fn lookup(&mut self, path: &str) -> Result<Arc<Media>, LookupError> {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .lookup(path)
    }

    fn names(&self) -> Vec<String> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).names()
    }

    fn generation(&self) -> u64 {
        match &self.1 {
            Some(signal) => signal.generation(),
            None => self
                .0
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .generation(),
        }
    }
}

/// What [`ServerLoops::bind`] needs.
#[derive(Debug, Clone)]
pub struct LoopsOptions {
    /// Where to listen for RTSP (port 0: an ephemeral port, then shared by every loop). Each
    /// loop's RTP/RTCP pair is bound on the same IP.
    pub addr: SocketAddr,
    /// Event loops (at least 1).
    pub loops: usize,
    /// Configuration of every loop's server. `rtp_local`/`rtcp_local` and
    /// `wallclock_at_start` are filled in; `seed` `None` means one from the OS
    /// ([`runtime_std::os_seed`]); loop `i` gets stream `i` of it
    /// ([`RngSeed::derive`](rtsp_core::rng::RngSeed::derive)).
    pub config: ServerConfig,
    /// Cap on output queued for one control connection (see [`Runtime::set_max_queue`]).
    pub max_pending_output: usize,
    /// Use UDP GSO where the kernel supports it (see [`Runtime::set_gso`]).
    pub gso: bool,
    /// The catalog's [`LoadSignal`] when it loads off the event loops (an
    /// [`FsCatalog`](crate::media::FsCatalog)): every loop looks at its requests waiting for
    /// a stream after each load ([`runtime_std::wake_on_load`]).
    pub load_signal: Option<LoadSignal>,
    /// Where to listen for HTTP as well (port 0: an ephemeral port), on the same event
    /// loops (`SO_REUSEPORT` when more than one). `config.http` must be set for the machines
    /// to answer HTTP (bind fills in its `rtsp_port`); without it the port answers 400.
    pub http: Option<SocketAddr>,
}

impl LoopsOptions {
    /// One loop on `addr` with the default configuration.
    pub fn new(addr: SocketAddr) -> Self {
        Self {
            addr,
            loops: 1,
            config: ServerConfig::default(),
            max_pending_output: DEFAULT_MAX_PENDING_OUTPUT,
            gso: true,
            load_signal: None,
            http: None,
        }
    }
}

/// Why [`ServerLoops::bind`] failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LoopsError {
    /// The RTSP port could not be listened on (in use, no permission, ...).
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        /// The address.
        addr: SocketAddr,
        /// The OS error.
        source: io::Error,
    },
    /// Anything else: the UDP pair, the poll instance, a socket option.
    #[error("{0}")]
    Setup(#[from] io::Error),
}

/// Event loops bound and ready to run: [`ServerLoops::bind`], then [`ServerLoops::run`].
#[derive(Debug)]
pub struct ServerLoops {
    runtimes: Vec<Runtime<Server>>,
    local: SocketAddr,
    http: Option<SocketAddr>,
    rtp_ports: Vec<u16>,
    fanout: LiveFanout,
}

impl ServerLoops {
    /// Binds `opts.loops` event loops on one RTSP port, each with its own server (and media
    /// from `catalog`, shared), listener (`SO_REUSEPORT` when more than one) and RTP/RTCP pair.
    /// Fails with [`LoopsError::Listen`] (`AddrInUse`) when another socket already listens on
    /// the address, whatever the number of loops: `SO_REUSEPORT` never lets a second server
    /// join the port.
    pub fn bind<C: Catalog + Clone + 'static>(
        opts: &LoopsOptions,
        catalog: &C,
    ) -> Result<Self, LoopsError> {
        let loops = opts.loops.max(1);
        let wall = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        let base_seed = match &opts.config.seed {
            None => os_seed()?,
            Some(seed) => seed.clone(),
        };
        // Limits "in all" and "per IP" count over every loop.
        let counts = opts.config.counts.clone().unwrap_or_default();
        // With several loops, each one's HTTP API and metrics answer for all of them.
        let reports = opts.config.reports.clone().unwrap_or_default();
        let listen_error = |source| LoopsError::Listen {
            addr: opts.addr,
            source,
        };
        // Whether anyone holds the address, and the port to bind when it is 0.
        let local = Self::check_addr(opts.addr)?;
        let http = opts.http.map(Self::check_addr).transpose()?;
        // Every loop's sockets first: each server must know all of the process's UDP sockets
        // (a session of one loop must not send to another loop's sockets either).
        let mut sockets = Vec::with_capacity(loops);
        let mut http_listeners = Vec::with_capacity(loops);
        for _ in 0..loops {
            let listener = listen(local, loops > 1).map_err(listen_error)?;
            let (rtp, rtcp) = bind_udp_pair(opts.addr.ip())?;
            sockets.push((listener, rtp, rtcp));
            if let Some(addr) = http {
                let l = listen(addr, loops > 1)
                    .map_err(|source| LoopsError::Listen { addr, source })?;
                http_listeners.push(l);
            }
        }
        let mut http_listeners = http_listeners.into_iter();
        let mut own_udp = Vec::with_capacity(2 * loops);
        for (_, rtp, rtcp) in &sockets {
            own_udp.extend([rtp.local_addr()?, rtcp.local_addr()?]);
        }
        let mut runtimes = Vec::with_capacity(loops);
        let mut rtp_ports = Vec::with_capacity(loops);
        for (i, (listener, rtp, rtcp)) in sockets.into_iter().enumerate() {
            let mut config = opts.config.clone();
            config.rtp_local = rtp.local_addr()?;
            config.rtcp_local = rtcp.local_addr()?;
            config.own_udp = own_udp.clone();
            config.wallclock_at_start = wall;
            // Independent streams: no loop can predict another's ids from its own.
            config.seed = Some(base_seed.derive(i as u64));
            config.counts = Some(counts.clone());
            if loops > 1 {
                config.reports = Some(reports.clone());
            }
            if let Some(h) = config.http.as_mut() {
                h.rtsp_port = local.port();
            }
            rtp_ports.push(config.rtp_local.port());
            let server = Server::new(config, Box::new(catalog.clone()), Instant::now());
            let bound = BoundServer {
                server,
                listener,
                rtp,
                rtcp,
                on_event: None,
                max_pending_output: opts.max_pending_output,
            };
            let (mut rt, _) = server_runtime(bound)?;
            if !opts.gso {
                rt.set_gso(false);
            }
            if let Some(l) = http_listeners.next() {
                rt.tcp_listener(l)?;
            }
            if let Some(signal) = &opts.load_signal {
                wake_on_load(signal, rt.handle());
            }
            runtimes.push(rt);
        }
        let fanout = LiveFanout::new();
        fanout.set_loops(runtimes.iter().map(Runtime::handle).collect());
        Ok(Self {
            runtimes,
            local,
            http,
            rtp_ports,
            fanout,
        })
    }

    /// Checks that no other socket listens on `addr` (see [`ServerLoops::bind`]) and returns
    /// the address the listeners would bind (the port the kernel picks when `addr`'s is 0).
    /// A program may call it before its slow start-up work, to fail at once; `bind` checks
    /// again.
    pub fn check_addr(addr: SocketAddr) -> Result<SocketAddr, LoopsError> {
        probe(addr).map_err(|source| LoopsError::Listen { addr, source })
    }

    /// The RTSP address every loop listens on (as bound: may be the unspecified address).
    pub fn local_addr(&self) -> SocketAddr {
        self.local
    }

    /// The HTTP address every loop listens on, when [`LoopsOptions::http`] asked for one.
    pub fn http_addr(&self) -> Option<SocketAddr> {
        self.http
    }

    /// Each loop's RTP port (its RTCP port is the next one).
    pub fn rtp_ports(&self) -> &[u16] {
        &self.rtp_ports
    }

    /// How many loops.
    pub fn len(&self) -> usize {
        self.runtimes.len()
    }

    /// Whether there is no loop (never, after [`ServerLoops::bind`]).
    pub fn is_empty(&self) -> bool {
        self.runtimes.is_empty()
    }

    /// Whether every loop sends with UDP GSO.
    pub fn gso(&self) -> bool {
        self.runtimes.iter().all(Runtime::gso)
    }

    /// The loops, for live frames: what a pulled source hands its frames to. Frames
    /// published on one loop reach the others through it too.
    pub fn live_fanout(&self) -> LiveFanout {
        self.fanout.clone()
    }

    /// A handle that ends every session of every loop and stops the loops (for Ctrl-C).
    pub fn shutdown_handle(&self) -> ShutdownHandle {
        ShutdownHandle(self.runtimes.iter().map(Runtime::handle).collect())
    }

    /// Runs the loops until they stop: the first on this thread, the others on threads
    /// named `{name}-1`, `{name}-2`, ...; events are logged with `tracing`. Returns the
    /// first error of any loop.
    pub fn run(self, name: &str) -> io::Result<()> {
        let fanout = self.fanout;
        // Each loop logs its events and shares its publishers' frames with the others.
        let handler = |i: usize| {
            let (fanout, mut log) = (fanout.clone(), server_event_handler(None));
            move |server: &mut Server, ev: ServerEvent| {
                fanout.on_event(i, &ev);
                log(server, ev)
            }
        };
        let mut runtimes = self.runtimes.into_iter();
        let first = runtimes
            .next()
            .ok_or_else(|| io::Error::other("no event loop"))?;
        let others = runtimes
            .enumerate()
            .map(|(i, rt)| {
                let on_event = handler(i + 1);
                std::thread::Builder::new()
                    .name(format!("{name}-{}", i + 1))
                    .spawn(move || rt.run(on_event).map(drop))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let mut result = first.run(handler(0)).map(drop);
        for t in others {
            let r = t
                .join()
                .map_err(|_| io::Error::other("event loop thread panicked"))
                .and_then(|r| r);
            result = result.and(r);
        }
        result
    }
}

/// Ends every session (RTCP BYE) and stops every loop of a [`ServerLoops`].
#[derive(Debug, Clone)]
pub struct ShutdownHandle(Vec<Handle<Server>>);

impl ShutdownHandle {
    /// Asks every loop to shut its server down, then to stop.
    pub fn shutdown(&self) {
        for handle in &self.0 {
            handle.command(|s: &mut Server| s.shutdown(Instant::now()));
            handle.stop();
        }
    }
}

/// A TCP listener with a long backlog, sharing its port with the other loops' listeners
/// when `reuse_port`.
fn listen(addr: SocketAddr, reuse_port: bool) -> io::Result<TcpListener> {
    listen_socket(addr, reuse_port, LISTEN_BACKLOG).map(Into::into)
}

/// A TCP socket bound to `addr` (`SO_REUSEADDR`: a port whose last connections linger in
/// TIME_WAIT can be bound again) and listening.
fn listen_socket(addr: SocketAddr, reuse_port: bool, backlog: i32) -> io::Result<socket2::Socket> {
    use socket2::{Domain, Protocol, Socket, Type};
    let s = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    s.set_reuse_address(true)?;
    if reuse_port {
        s.set_reuse_port(true)?;
    }
    s.bind(&addr.into())?;
    s.listen(backlog)?;
    Ok(s)
}

/// Checks that no other socket holds `addr`, and returns the address to bind the listeners
/// to (the port the kernel picked when `addr`'s is 0).
///
/// `SO_REUSEPORT` lets any socket of the same user that sets it join a port: a second server
/// with several loops would share the port with the first, and the kernel would split the
/// clients between them. The probe listens on `addr` without `SO_REUSEPORT`, which fails
/// (`AddrInUse`) while any other socket listens there, with or without it, then closes
/// before the real listeners bind. Those set `SO_REUSEPORT`, so a later server's probe fails
/// against them in turn. (Two servers starting within the same microseconds could both pass
/// their probes; nothing short of one listener per port closes that window.)
fn probe(addr: SocketAddr) -> io::Result<SocketAddr> {
    let probe = listen_socket(addr, false, 1)?;
    let local = probe
        .local_addr()?
        .as_socket()
        .ok_or_else(|| io::Error::other("the probe socket has no IP address"))?;
    drop(probe);
    Ok(local)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rtsp_core::server::MemoryCatalog;
    use std::io::{Read, Write};

    fn options(loops: usize) -> LoopsOptions {
        let mut opts = LoopsOptions::new("127.0.0.1:0".parse().unwrap());
        opts.loops = loops;
        opts.config.seed = Some(rtsp_core::rng::RngSeed::from_u64(5));
        opts
    }

    #[test]
    fn loops_share_one_port_and_each_has_its_udp_pair() {
        let catalog = SharedCatalog::new(MemoryCatalog::new());
        let loops = ServerLoops::bind(&options(3), &catalog).unwrap();
        assert_eq!(loops.len(), 3);
        assert_ne!(loops.local_addr().port(), 0);
        let ports = loops.rtp_ports().to_vec();
        assert_eq!(ports.len(), 3);
        assert!(ports.iter().all(|p| p % 2 == 0));
        let mut sorted = ports.clone();
        sorted.dedup();
        assert_eq!(sorted.len(), 3, "{ports:?}");
        // Every loop answers on the shared port; a shutdown stops them all.
        let addr = loops.local_addr();
        let stop = loops.shutdown_handle();
        let t = std::thread::spawn(move || loops.run("test-loop"));
        for cseq in 1..=4 {
            let mut c = std::net::TcpStream::connect(addr).unwrap();
            write!(c, "OPTIONS rtsp://{addr}/ RTSP/1.0\r\nCSeq: {cseq}\r\n\r\n").unwrap();
            let mut reply = [0u8; 512];
            let n = c.read(&mut reply).unwrap();
            let reply = String::from_utf8_lossy(&reply[..n]);
            assert!(reply.starts_with("RTSP/1.0 200 OK\r\n"), "{reply}");
            assert!(reply.contains(&format!("CSeq: {cseq}\r\n")), "{reply}");
        }
        stop.shutdown();
        t.join().unwrap().unwrap();
    }

    #[test]
    fn a_taken_port_is_a_listen_error() {
        let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let mut opts = options(1);
        opts.addr = taken.local_addr().unwrap();
        let err = ServerLoops::bind(&opts, &MemoryCatalog::new()).unwrap_err();
        match err {
            LoopsError::Listen { addr, source } => {
                assert_eq!(addr, opts.addr);
                assert_eq!(source.kind(), io::ErrorKind::AddrInUse);
            }
            other => panic!("{other:?}"),
        }
    }
}
