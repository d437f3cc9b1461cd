//! One call to run a whole RTSP server: [`serve`], [`ServerOptions`], [`RunningServer`].

use std::io;
use std::net::{SocketAddr, TcpListener, UdpSocket};
use std::thread::JoinHandle;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use rtsp_core::rng::RngSeed;
use rtsp_core::server::{Catalog, Server, ServerConfig, ServerEvent};

use crate::common::{bind_udp_pair, wake_addr, Flow, RuntimeHandle, RuntimeStats};
use crate::driver::Runtime;
use crate::event_log::server_event_handler;
use crate::handle::Handle;
use crate::media::{FsCatalog, LoadSignal};
use crate::wake::wake_on_load;

/// A callback for every [`ServerEvent`] (after it was logged).
pub type ServerEventHook = Box<dyn FnMut(&ServerEvent) + Send>;

/// What [`serve`] needs.
pub struct ServerOptions {
    /// Where to listen for RTSP (port 0: an ephemeral port). The RTP/RTCP UDP pair is bound
    /// on the same IP, on an even/odd ephemeral port pair.
    pub addr: SocketAddr,
    /// Server configuration. [`serve`] fills in `rtp_local`/`rtcp_local` (the bound pair),
    /// `wallclock_at_start`, and `seed` when it is `None` (from the OS).
    pub config: ServerConfig,
    /// Where streams come from (typically [`crate::media::FsCatalog`]: see
    /// [`ServerOptions::fs`]).
    pub catalog: Box<dyn Catalog>,
    /// The catalog's [`LoadSignal`] when it loads off the event loop (an
    /// [`FsCatalog`](crate::media::FsCatalog)): the runtime then looks at the requests
    /// waiting for a stream after each load ([`crate::wake_on_load`]). Without it they are
    /// answered only at their load timeout.
    pub load_signal: Option<LoadSignal>,
    /// Called with every server event, on the server's thread, after it was logged.
    pub on_event: Option<ServerEventHook>,
    /// Cap on output queued for one control connection whose peer does not read (runtime-mio;
    /// default [`DEFAULT_MAX_PENDING_OUTPUT`]). Over it the connection is closed (and its
    /// interleaved sessions end). The blocking runtime has no queue: a write that blocks for
    /// its write timeout closes the connection instead.
    pub max_pending_output: usize,
}

/// Default of [`ServerOptions::max_pending_output`]: 4 MiB (seconds of even a large
/// interleaved stream, on top of the kernel's socket buffer).
pub const DEFAULT_MAX_PENDING_OUTPUT: usize = 4 * 1024 * 1024;

impl std::fmt::Debug for ServerOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerOptions")
            .field("addr", &self.addr)
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl ServerOptions {
    /// Options with the default [`ServerConfig`].
    pub fn new(addr: SocketAddr, catalog: Box<dyn Catalog>) -> Self {
        Self {
            addr,
            config: ServerConfig::default(),
            catalog,
            load_signal: None,
            on_event: None,
            max_pending_output: DEFAULT_MAX_PENDING_OUTPUT,
        }
    }

    /// Options serving the files of `catalog`, with its [`LoadSignal`] (see
    /// [`ServerOptions::load_signal`]).
    pub fn fs(addr: SocketAddr, catalog: FsCatalog) -> Self {
        let signal = catalog.load_signal();
        let mut opts = Self::new(addr, Box::new(catalog));
        opts.load_signal = Some(signal);
        opts
    }

    /// Binds the RTSP listener and the RTP/RTCP pair, and completes the configuration.
    /// Used by [`serve`] and by runtime-mio's `serve`.
    pub fn bind(mut self) -> io::Result<BoundServer> {
        let listener = TcpListener::bind(self.addr)?;
        let (rtp, rtcp) = bind_udp_pair(self.addr.ip())?;
        self.config.rtp_local = rtp.local_addr()?;
        self.config.rtcp_local = rtcp.local_addr()?;
        let wall = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        self.config.wallclock_at_start = wall;
        if self.config.seed.is_none() {
            self.config.seed = Some(os_seed()?);
        }
        let server = Server::new(self.config, self.catalog, Instant::now());
        Ok(BoundServer {
            server,
            listener,
            rtp,
            rtcp,
            on_event: self.on_event,
            max_pending_output: self.max_pending_output,
        })
    }
}

/// 32 bytes from the operating system's generator: the seed of a machine's ChaCha20 (session
/// ids, Digest nonces, SSRCs). Event loops of one server take independent streams of one such
/// seed ([`RngSeed::derive`]).
pub fn os_seed() -> io::Result<RngSeed> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| io::Error::other(format!("OS random source: {e}")))?;
    Ok(RngSeed::from_bytes(bytes))
}

/// A [`Server`] with its sockets bound, ready to be given to a runtime.
pub struct BoundServer {
    /// The machine.
    pub server: Server,
    /// The RTSP listener.
    pub listener: TcpListener,
    /// The RTP socket (even port).
    pub rtp: UdpSocket,
    /// The RTCP socket (the next port).
    pub rtcp: UdpSocket,
    /// The event hook from [`ServerOptions::on_event`].
    pub on_event: Option<ServerEventHook>,
    /// [`ServerOptions::max_pending_output`].
    pub max_pending_output: usize,
}

impl std::fmt::Debug for BoundServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BoundServer")
            .field("listener", &self.listener)
            .field("rtp", &self.rtp)
            .field("rtcp", &self.rtcp)
            .finish_non_exhaustive()
    }
}

/// A server running on its own thread (from [`serve`] or runtime-mio's `serve`).
/// Dropping it stops it gracefully and waits for it.
pub struct RunningServer {
    /// The RTSP listener's address (as bound: may be the unspecified address).
    pub local_addr: SocketAddr,
    /// The RTP socket's address.
    pub rtp_addr: SocketAddr,
    /// The RTCP socket's address.
    pub rtcp_addr: SocketAddr,
    handle: Box<dyn RuntimeHandle<Server>>,
    thread: Option<JoinHandle<io::Result<()>>>,
}

impl std::fmt::Debug for RunningServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunningServer")
            .field("local_addr", &self.local_addr)
            .field("rtp_addr", &self.rtp_addr)
            .field("rtcp_addr", &self.rtcp_addr)
            .finish_non_exhaustive()
    }
}

impl RunningServer {
    /// Assembles a running server (for runtime implementations).
    pub fn from_parts(
        local_addr: SocketAddr,
        rtp_addr: SocketAddr,
        rtcp_addr: SocketAddr,
        handle: Box<dyn RuntimeHandle<Server>>,
        thread: JoinHandle<io::Result<()>>,
    ) -> Self {
        Self {
            local_addr,
            rtp_addr,
            rtcp_addr,
            handle,
            thread: Some(thread),
        }
    }

    /// An address clients can connect to (the unspecified address becomes loopback).
    pub fn connect_addr(&self) -> SocketAddr {
        wake_addr(self.local_addr)
    }

    /// `rtsp://ADDR/name` for a stream, with [`RunningServer::connect_addr`].
    pub fn url(&self, name: &str) -> String {
        format!("rtsp://{}/{}", self.connect_addr(), name)
    }

    /// Runs `f` with the server on its thread (e.g. to inspect it in a test).
    pub fn command(&self, f: impl FnOnce(&mut Server) + Send + 'static) -> bool {
        self.handle.command(Box::new(f))
    }

    /// The runtime's I/O counters.
    pub fn stats(&self) -> RuntimeStats {
        self.handle.stats()
    }

    /// Graceful stop: [`Server::shutdown`] (every session ends with RTCP BYE, connections
    /// close), then the runtime stops. Returns at once; see [`RunningServer::join`].
    pub fn stop(&self) {
        self.handle
            .command(Box::new(|s: &mut Server| s.shutdown(Instant::now())));
        self.handle.stop();
    }

    /// Waits for the server thread to end (after [`RunningServer::stop`]).
    pub fn join(mut self) -> io::Result<()> {
        self.wait()
    }

    fn wait(&mut self) -> io::Result<()> {
        match self.thread.take() {
            Some(t) => t
                .join()
                .map_err(|_| io::Error::other("server thread panicked"))?,
            None => Ok(()),
        }
    }
}

impl Drop for RunningServer {
    fn drop(&mut self) {
        if self.thread.is_some() {
            self.stop();
            let _ = self.wait();
        }
    }
}

/// The event callback a server runs with: [`server_event_handler`], boxed.
pub type ServerEventFn = Box<dyn FnMut(&mut Server, ServerEvent) -> Flow + Send>;

/// Binds `opts` and starts the server on its own thread named `thread`. `start` puts the bound
/// server on a runtime (the listener, RTP and RTCP sockets added, in that order) and returns
/// their addresses, the runtime's handle and what runs it with an event callback. Each
/// runtime's `serve` is this with its runtime.
pub fn serve_with<R>(
    mut opts: ServerOptions,
    thread: &str,
    start: impl FnOnce(BoundServer) -> io::Result<([SocketAddr; 3], Handle<Server>, R)>,
) -> io::Result<RunningServer>
where
    R: FnOnce(ServerEventFn) -> io::Result<()> + Send + 'static,
{
    let load_signal = opts.load_signal.take();
    let mut bound = opts.bind()?;
    let on_event: ServerEventFn = Box::new(server_event_handler(bound.on_event.take()));
    let ([local, rtp, rtcp], handle, run) = start(bound)?;
    if let Some(signal) = &load_signal {
        wake_on_load(signal, handle.clone());
    }
    let thread = std::thread::Builder::new()
        .name(thread.into())
        .spawn(move || run(on_event))?;
    Ok(RunningServer::from_parts(
        local,
        rtp,
        rtcp,
        Box::new(handle),
        thread,
    ))
}

/// Binds and starts a server on a blocking [`Runtime`] (reader threads + a driver thread).
pub fn serve(opts: ServerOptions) -> io::Result<RunningServer> {
    serve_with(opts, "rtsp-server", |bound| {
        let mut rt = Runtime::new(bound.server)?;
        let addrs = [
            rt.tcp_listener(bound.listener)?,
            rt.udp_socket(bound.rtp)?,
            rt.udp_socket(bound.rtcp)?,
        ];
        Ok((addrs, rt.handle(), move |on_event| {
            rt.run(on_event).map(drop)
        }))
    })
}
