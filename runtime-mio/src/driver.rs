//! The event loop: one `mio::Poll`, every socket registered with a token.

use std::collections::{HashMap, VecDeque};
use std::io::{self, IoSlice, Read, Write};
use std::net::{Shutdown, SocketAddr};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use bytes::Bytes;
use mio::net::{TcpListener, TcpStream, UdpSocket};
use mio::{Events, Interest, Poll, Token, Waker};
use rtsp_core::io::{
    ConnId, Dest, Emit, InlineHeader, Input, Machine, Output, SharedTransmit, Transmit,
};
use runtime_std::{Command, Flow, RuntimeHandle, RuntimeStats, SharedStats};

#[cfg(target_os = "linux")]
use crate::sys::{self, Datagram};

/// Token of the waker (commands and stop).
const WAKER: Token = Token(0);
/// Receive buffer, shared by all sockets (largest UDP datagram).
const READ_BUF: usize = 64 * 1024;
/// Default cap on the bytes queued for one control connection.
const DEFAULT_MAX_QUEUE: usize = 16 * 1024 * 1024;
/// Default cap on simultaneous control connections.
const DEFAULT_MAX_CONNS: usize = 4096;
/// How long a stop waits for queued output to drain.
const FLUSH_ON_STOP: Duration = Duration::from_secs(1);
/// Consecutive UDP receive errors tolerated in one readiness event.
const MAX_UDP_ERRORS: u32 = 16;
/// Default queue size of a control connection above which media frames are dropped whole.
const DEFAULT_MAX_FRAME_QUEUE: usize = 512 * 1024;
/// Datagrams batched before a send is forced in the middle of a drain.
const MAX_BATCH: usize = 4096;
/// Slices per `writev`.
const MAX_WRITE_SLICES: usize = 64;
/// GSO sends the kernel may refuse before GSO is turned off.
const MAX_GSO_ERRORS: usize = 16;
/// Events handled between two checks of the machine's deadline within one poll.
const EVENTS_PER_TIMER_CHECK: usize = 64;

/// A piece of a control connection's output queue.
enum Chunk {
    /// Contiguous bytes (RTSP replies, RTCP).
    Owned(Vec<u8>),
    /// A media packet: `$` prefix and RTP header, then the shared payload.
    Shared(InlineHeader, Bytes),
}

impl Chunk {
    fn len(&self) -> usize {
        match self {
            Self::Owned(v) => v.len(),
            Self::Shared(h, b) => h.len() + b.len(),
        }
    }

    /// Its bytes from `off` on, as up to two slices.
    fn parts(&self, off: usize) -> [&[u8]; 2] {
        let (a, b): (&[u8], &[u8]) = match self {
            Self::Owned(v) => (v, &[]),
            Self::Shared(h, b) => (h.as_slice(), b),
        };
        if off < a.len() {
            [&a[off..], b]
        } else {
            [&[], &b[off - a.len()..]]
        }
    }
}

enum Msg<M> {
    Command(Command<M>),
    Stop,
}

/// A cloneable, thread-safe handle to a running [`Runtime`]: send it commands or stop it.
pub struct Handle<M> {
    tx: Sender<Msg<M>>,
    waker: Arc<Waker>,
    stats: Arc<SharedStats>,
}

impl<M> Clone for Handle<M> {
    fn clone(&self) -> Self {
        Self {
            tx: self.tx.clone(),
            waker: self.waker.clone(),
            stats: self.stats.clone(),
        }
    }
}

impl<M> std::fmt::Debug for Handle<M> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Handle").finish_non_exhaustive()
    }
}

impl<M> Handle<M> {
    /// Runs `f` on the event-loop thread with the machine, followed by a full drain of its
    /// outputs. Returns `false` if the runtime has already ended.
    pub fn command(&self, f: impl FnOnce(&mut M) + Send + 'static) -> bool {
        self.send(Msg::Command(Box::new(f)))
    }

    /// Asks the runtime to stop after the commands already sent. Queued output to control
    /// connections gets up to a second to drain, then [`Runtime::run`] returns the machine.
    pub fn stop(&self) {
        self.send(Msg::Stop);
    }

    /// A snapshot of the runtime's I/O counters.
    pub fn stats(&self) -> RuntimeStats {
        self.stats.snapshot()
    }

    fn send(&self, msg: Msg<M>) -> bool {
        if self.tx.send(msg).is_err() {
            return false;
        }
        // The loop may have ended between the send and the wake: harmless.
        let _ = self.waker.wake();
        true
    }
}

impl<M: 'static> RuntimeHandle<M> for Handle<M> {
    fn command(&self, f: Command<M>) -> bool {
        self.send(Msg::Command(f))
    }
    fn stop(&self) {
        Self::stop(self);
    }
    fn stats(&self) -> RuntimeStats {
        Self::stats(self)
    }
}

/// One control connection.
struct Conn {
    id: ConnId,
    stream: TcpStream,
    /// Output not yet accepted by the kernel; the front is written from `head_off`.
    queue: VecDeque<Chunk>,
    /// Dropping the media frame being queued (the queue was over the frame cap at its start).
    dropping: bool,
    /// Listed in `Runtime::dirty` (has output to write at the end of the drain).
    dirty: bool,
    head_off: usize,
    /// Bytes in `queue` not yet written.
    queued: usize,
    /// The machine asked to close: no more input, close once `queue` is empty.
    closing: bool,
}

/// A listening socket. `TCP_NODELAY` is set on it so that accepted connections inherit it
/// (Linux does); the first accepted connection is checked, and if it did not inherit it,
/// every accepted connection gets its own `setsockopt`.
struct Listener {
    socket: TcpListener,
    nodelay_inherited: Option<bool>,
}

struct Udp {
    token: Token,
    socket: UdpSocket,
}

/// Media datagrams collected during a drain, sent together at its end.
#[derive(Default)]
struct UdpBatch {
    /// Index in `Runtime::udp` of the socket they leave from.
    sock: usize,
    #[cfg(target_os = "linux")]
    pkts: Vec<Datagram>,
    #[cfg(not(target_os = "linux"))]
    pkts: Vec<(SocketAddr, InlineHeader, Bytes)>,
}

/// Inputs the runtime generates itself, fed at the end of a drain.
enum Pending {
    Connected(ConnId, SocketAddr),
    Closed(ConnId),
}

/// A single-threaded `mio` runtime for any [`Machine`].
///
/// ```text
///   poll(timeout = deadline - now) -> events
///     WAKER     -> run queued commands / stop
///     listener  -> accept until WouldBlock -> Input::Connected
///     conn      -> WRITABLE: flush its queue; READABLE: read until WouldBlock -> Input::Stream
///     udp       -> recv_from until WouldBlock -> Input::Datagram
///   deadline passed -> Input::Timeout
///   after every input: drain poll_output (Transmit / Close / Event) until Timeout
/// ```
///
/// Writes never block: what the kernel does not take is queued per connection and written
/// on `WRITABLE`; a connection whose queue exceeds the cap
/// ([`Runtime::set_max_queue`]) is closed and reported to the machine as `StreamClosed`. A
/// UDP send that would block drops the datagram (counted in [`RuntimeStats::udp_dropped`]).
pub struct Runtime<M: Machine> {
    machine: M,
    poll: Poll,
    waker: Arc<Waker>,
    tx: Sender<Msg<M>>,
    rx: Receiver<Msg<M>>,
    stats: Arc<SharedStats>,
    listeners: HashMap<Token, Listener>,
    conns: HashMap<Token, Conn>,
    udp: Vec<(SocketAddr, Udp)>,
    next_token: usize,
    pending: VecDeque<Pending>,
    buf: Vec<u8>,
    max_queue: usize,
    max_frame_queue: usize,
    max_conns: usize,
    batch: UdpBatch,
    /// Connections with output to write at the end of the drain.
    dirty: Vec<Token>,
    #[cfg(target_os = "linux")]
    sender: sys::Sender,
    /// UDP GSO: allowed (`set_gso`) and supported by every UDP socket so far.
    gso: bool,
    gso_errors: usize,
    #[cfg(not(target_os = "linux"))]
    scratch: Vec<u8>,
    deadline: Option<Instant>,
    stopping: bool,
    last_now: Instant,
}

impl<M: Machine> std::fmt::Debug for Runtime<M> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Runtime")
            .field("conns", &self.conns.len())
            .field("udp", &self.udp.len())
            .finish_non_exhaustive()
    }
}

impl<M: Machine + 'static> Runtime<M> {
    /// A runtime owning `machine`, with no sockets yet.
    pub fn new(machine: M) -> io::Result<Self> {
        let poll = Poll::new()?;
        let waker = Arc::new(Waker::new(poll.registry(), WAKER)?);
        let (tx, rx) = mpsc::channel();
        Ok(Self {
            machine,
            poll,
            waker,
            tx,
            rx,
            stats: Arc::new(SharedStats::default()),
            listeners: HashMap::new(),
            conns: HashMap::new(),
            udp: Vec::new(),
            next_token: 1,
            pending: VecDeque::new(),
            buf: vec![0; READ_BUF],
            max_queue: DEFAULT_MAX_QUEUE,
            max_frame_queue: DEFAULT_MAX_FRAME_QUEUE,
            max_conns: DEFAULT_MAX_CONNS,
            batch: UdpBatch::default(),
            dirty: Vec::new(),
            #[cfg(target_os = "linux")]
            sender: sys::Sender::new(),
            gso: cfg!(target_os = "linux"),
            gso_errors: 0,
            #[cfg(not(target_os = "linux"))]
            scratch: Vec::new(),
            deadline: None,
            stopping: false,
            last_now: Instant::now(),
        })
    }

    /// Sets the cap on bytes queued for one control connection (default 16 MiB). A
    /// connection whose peer does not read fast enough to stay under it is closed.
    pub fn set_max_queue(&mut self, bytes: usize) {
        self.max_queue = bytes;
    }

    /// Sets the queue size of a control connection above which media packets
    /// ([`SharedTransmit`]s) are dropped, whole frames at a time (default 512 KiB): a slow
    /// interleaved reader loses frames instead of growing the queue.
    pub fn set_max_frame_queue(&mut self, bytes: usize) {
        self.max_frame_queue = bytes;
    }

    /// Allows or forbids UDP GSO (default: allowed where the kernel supports it, probed on
    /// every UDP socket; without it, datagrams are still batched with `sendmmsg`).
    pub fn set_gso(&mut self, enabled: bool) {
        self.gso = enabled && cfg!(target_os = "linux") && self.udp.iter().all(|(_, u)| gso_ok(u));
    }

    /// Whether UDP GSO is in use.
    pub fn gso(&self) -> bool {
        self.gso
    }

    /// Sets the cap on simultaneous control connections (default 4096); connections
    /// accepted beyond it are closed at once.
    pub fn set_max_connections(&mut self, n: usize) {
        self.max_conns = n;
    }

    /// The machine.
    pub fn machine(&self) -> &M {
        &self.machine
    }

    /// The machine, mutably. Outputs it queues are drained when `run` starts.
    pub fn machine_mut(&mut self) -> &mut M {
        &mut self.machine
    }

    /// A handle for other threads: commands, stop, counters.
    pub fn handle(&self) -> Handle<M> {
        Handle {
            tx: self.tx.clone(),
            waker: self.waker.clone(),
            stats: self.stats.clone(),
        }
    }

    fn token(&mut self) -> Token {
        let t = Token(self.next_token);
        self.next_token += 1;
        t
    }

    /// Accepts control connections on `listener` (made non-blocking). Every accepted
    /// connection is fed to the machine as [`Input::Connected`]. Returns the local address.
    pub fn tcp_listener(&mut self, listener: std::net::TcpListener) -> io::Result<SocketAddr> {
        listener.set_nonblocking(true)?;
        let local = listener.local_addr()?;
        // Inherited by accepted connections on Linux: one setsockopt less per accept.
        let inherit = socket2::SockRef::from(&listener)
            .set_tcp_nodelay(true)
            .is_ok();
        let mut socket = TcpListener::from_std(listener);
        let token = self.token();
        self.poll
            .registry()
            .register(&mut socket, token, Interest::READABLE)?;
        let nodelay_inherited = if inherit { None } else { Some(false) };
        self.listeners.insert(
            token,
            Listener {
                socket,
                nodelay_inherited,
            },
        );
        Ok(local)
    }

    /// Receives datagrams on `socket` (made non-blocking) and sends [`Dest::Udp`] transmits
    /// whose `local` is its address. Returns the local address.
    pub fn udp_socket(&mut self, socket: std::net::UdpSocket) -> io::Result<SocketAddr> {
        socket.set_nonblocking(true)?;
        let local = socket.local_addr()?;
        let mut socket = UdpSocket::from_std(socket);
        let token = self.token();
        self.poll
            .registry()
            .register(&mut socket, token, Interest::READABLE)?;
        let udp = Udp { token, socket };
        if self.gso && !gso_ok(&udp) {
            tracing::debug!(%local, "UDP GSO not supported; batching with sendmmsg only");
            self.gso = false;
        }
        self.udp.push((local, udp));
        Ok(local)
    }

    /// Opens a control connection to `addr`, blocking up to `timeout` (`None`: the OS
    /// default) for the handshake. The machine gets [`Input::Connected`] first thing in `run`.
    pub fn connect_tcp_timeout(
        &mut self,
        addr: SocketAddr,
        timeout: Option<Duration>,
    ) -> io::Result<ConnId> {
        let stream = match timeout {
            Some(t) => std::net::TcpStream::connect_timeout(&addr, t)?,
            None => std::net::TcpStream::connect(addr)?,
        };
        let peer = stream.peer_addr().unwrap_or(addr);
        stream.set_nodelay(true)?;
        stream.set_nonblocking(true)?;
        let id = self.add_conn(TcpStream::from_std(stream))?;
        self.pending.push_back(Pending::Connected(id, peer));
        Ok(id)
    }

    /// [`Runtime::connect_tcp_timeout`] with a 10 s connect timeout.
    pub fn connect_tcp(&mut self, addr: SocketAddr) -> io::Result<ConnId> {
        self.connect_tcp_timeout(addr, Some(Duration::from_secs(10)))
    }

    fn add_conn(&mut self, mut stream: TcpStream) -> io::Result<ConnId> {
        let token = self.token();
        self.poll.registry().register(
            &mut stream,
            token,
            Interest::READABLE | Interest::WRITABLE,
        )?;
        let id = ConnId(token.0 as u64);
        self.conns.insert(
            token,
            Conn {
                id,
                stream,
                queue: VecDeque::new(),
                dropping: false,
                dirty: false,
                head_off: 0,
                queued: 0,
                closing: false,
            },
        );
        Ok(id)
    }

    /// Runs `self` on a new thread; see [`Runtime::run`].
    pub fn spawn<F>(self, on_event: F) -> io::Result<Spawned<M>>
    where
        M: Send + 'static,
        M::Event: 'static,
        F: FnMut(&mut M, M::Event) -> Flow + Send + 'static,
    {
        let handle = self.handle();
        let thread = thread::Builder::new()
            .name("rtsp-mio".into())
            .spawn(move || self.run(on_event))?;
        Ok(Spawned::new(handle, thread))
    }

    /// Drives the machine until [`Handle::stop`] or until `on_event` returns [`Flow::Stop`];
    /// then gives queued output up to a second to drain, closes every socket and returns the
    /// machine.
    ///
    /// After every input the machine's outputs are drained until `Output::Timeout`; events
    /// are handed to `on_event` (which may mutate the machine) after that drain, each
    /// followed by another drain.
    pub fn run<F>(mut self, mut on_event: F) -> io::Result<M>
    where
        F: FnMut(&mut M, M::Event) -> Flow,
    {
        let mut events = Events::with_capacity(1024);
        self.drain(&mut on_event);
        while !self.stopping {
            let timeout = self
                .deadline
                .map(|d| d.saturating_duration_since(Instant::now()));
            if let Err(e) = self.poll.poll(&mut events, timeout) {
                if e.kind() == io::ErrorKind::Interrupted {
                    continue;
                }
                return Err(e);
            }
            for (i, ev) in events.iter().enumerate() {
                if self.stopping {
                    break;
                }
                // A storm of connections or requests must not hold back media that is due:
                // every EVENTS_PER_TIMER_CHECK events, run the machine's timers if due.
                if i > 0 && i % EVENTS_PER_TIMER_CHECK == 0 {
                    self.fire_deadline(&mut on_event);
                }
                let token = ev.token();
                if token == WAKER {
                    self.commands(&mut on_event);
                } else if self.listeners.contains_key(&token) {
                    self.accept(token, &mut on_event);
                } else if self.conns.contains_key(&token) {
                    if ev.is_writable() {
                        self.flush(token);
                    }
                    if ev.is_readable() || ev.is_read_closed() || ev.is_error() {
                        // Read to the end when the peer's FIN is already reported: no
                        // later event would announce it.
                        let to_end = ev.is_read_closed() || ev.is_error();
                        self.read_conn(token, to_end, &mut on_event);
                    }
                } else {
                    self.recv_udp(token, &mut on_event);
                }
            }
            if self.stopping {
                break;
            }
            self.fire_deadline(&mut on_event);
        }
        self.finish();
        Ok(self.machine)
    }

    /// Feeds [`Input::Timeout`] if the machine's deadline has passed.
    fn fire_deadline<F>(&mut self, on_event: &mut F)
    where
        F: FnMut(&mut M, M::Event) -> Flow,
    {
        let Some(d) = self.deadline else { return };
        let now = self.now();
        if d <= now {
            self.machine.handle_input(Input::Timeout(now));
            self.drain(on_event);
            if self.deadline.is_some_and(|d| d <= now) {
                tracing::trace!("machine returned an expired deadline after Timeout");
                self.deadline = Some(now + Duration::from_millis(1));
            }
        }
    }

    /// Keeps input times monotonic.
    fn now(&mut self) -> Instant {
        let now = Instant::now().max(self.last_now);
        self.last_now = now;
        now
    }

    fn commands<F>(&mut self, on_event: &mut F)
    where
        F: FnMut(&mut M, M::Event) -> Flow,
    {
        while let Ok(msg) = self.rx.try_recv() {
            match msg {
                Msg::Command(f) => {
                    f(&mut self.machine);
                    self.drain(on_event);
                }
                Msg::Stop => {
                    self.stopping = true;
                    return;
                }
            }
            if self.stopping {
                return;
            }
        }
    }

    fn accept<F>(&mut self, token: Token, on_event: &mut F)
    where
        F: FnMut(&mut M, M::Event) -> Flow,
    {
        loop {
            let Some(listener) = self.listeners.get_mut(&token) else {
                return;
            };
            match listener.socket.accept() {
                Ok((stream, peer)) => {
                    if self.conns.len() >= self.max_conns {
                        tracing::warn!(%peer, "too many connections; refusing");
                        continue;
                    }
                    match listener.nodelay_inherited {
                        Some(true) => {}
                        Some(false) => {
                            let _ = stream.set_nodelay(true);
                        }
                        None => {
                            let inherited = stream.nodelay().unwrap_or(false);
                            if !inherited {
                                let _ = stream.set_nodelay(true);
                            }
                            listener.nodelay_inherited = Some(inherited);
                        }
                    }
                    let conn = match self.add_conn(stream) {
                        Ok(c) => c,
                        Err(e) => {
                            tracing::warn!(error = %e, "cannot register connection");
                            continue;
                        }
                    };
                    let now = self.now();
                    self.machine
                        .handle_input(Input::Connected { now, conn, peer });
                    self.drain(on_event);
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    tracing::warn!(error = %e, "accept failed");
                    return;
                }
            }
            if self.stopping {
                return;
            }
        }
    }

    /// Reads `token` until WouldBlock, or (unless `to_end`) until a short read.
    fn read_conn<F>(&mut self, token: Token, to_end: bool, on_event: &mut F)
    where
        F: FnMut(&mut M, M::Event) -> Flow,
    {
        loop {
            let Some(conn) = self.conns.get_mut(&token) else {
                return;
            };
            let id = conn.id;
            match conn.stream.read(&mut self.buf) {
                Ok(0) => {
                    let report = !conn.closing;
                    self.remove_conn(token);
                    if report {
                        let now = self.now();
                        self.machine
                            .handle_input(Input::StreamClosed { now, conn: id });
                        self.drain(on_event);
                    }
                    return;
                }
                Ok(n) => {
                    // A short read drained the socket: with edge-triggered readiness, data
                    // or a FIN arriving later raises a new event, so skip the read that
                    // would only say WouldBlock.
                    let drained = !to_end && n < self.buf.len();
                    if !conn.closing {
                        let now = self.now();
                        self.machine.handle_input(Input::Stream {
                            now,
                            conn: id,
                            data: &self.buf[..n],
                        });
                        self.drain(on_event);
                    }
                    if drained {
                        return;
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    tracing::debug!(conn = ?id, error = %e, "read failed");
                    let report = !conn.closing;
                    self.remove_conn(token);
                    if report {
                        let now = self.now();
                        self.machine
                            .handle_input(Input::StreamClosed { now, conn: id });
                        self.drain(on_event);
                    }
                    return;
                }
            }
            if self.stopping {
                return;
            }
        }
    }

    fn recv_udp<F>(&mut self, token: Token, on_event: &mut F)
    where
        F: FnMut(&mut M, M::Event) -> Flow,
    {
        let Some(idx) = self.udp.iter().position(|(_, u)| u.token == token) else {
            return;
        };
        let mut errors = 0;
        loop {
            let (local, udp) = &self.udp[idx];
            let local = *local;
            match udp.socket.recv_from(&mut self.buf) {
                Ok((n, remote)) => {
                    let now = self.now();
                    self.machine.handle_input(Input::Datagram {
                        now,
                        local,
                        remote,
                        data: &self.buf[..n],
                    });
                    self.drain(on_event);
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    tracing::trace!(%local, error = %e, "UDP receive error");
                    errors += 1;
                    if errors > MAX_UDP_ERRORS {
                        return;
                    }
                }
            }
            if self.stopping {
                return;
            }
        }
    }

    /// Drains outputs until `Timeout`, feeds runtime-generated inputs, then dispatches events
    /// one by one (draining after each). Updates `self.deadline`.
    fn drain<F>(&mut self, on_event: &mut F)
    where
        F: FnMut(&mut M, M::Event) -> Flow,
    {
        let mut events = VecDeque::new();
        loop {
            let out = match self.machine.poll_emit() {
                Emit::Shared(t) => {
                    self.transmit_shared(t);
                    continue;
                }
                Emit::Output(o) => o,
            };
            match out {
                Output::Transmit(t) => self.transmit(t),
                Output::Close(conn) => self.close(conn),
                Output::Event(e) => events.push_back(e),
                Output::Timeout(deadline) => {
                    self.flush_output();
                    if let Some(p) = self.pending.pop_front() {
                        let now = self.now();
                        let input = match p {
                            Pending::Connected(conn, peer) => Input::Connected { now, conn, peer },
                            Pending::Closed(conn) => Input::StreamClosed { now, conn },
                        };
                        self.machine.handle_input(input);
                        continue;
                    }
                    match events.pop_front() {
                        Some(e) => {
                            if on_event(&mut self.machine, e) == Flow::Stop {
                                self.stopping = true;
                            }
                        }
                        None => {
                            self.deadline = deadline;
                            return;
                        }
                    }
                }
            }
        }
    }

    /// Index in `self.udp` of the socket bound to `local` (see [`runtime_std::find_udp`]).
    fn udp_index(&self, local: SocketAddr) -> Option<usize> {
        let socks = &self.udp;
        socks
            .iter()
            .position(|(a, _)| *a == local)
            .or_else(|| {
                socks
                    .iter()
                    .position(|(a, _)| a.port() == local.port() && a.ip().is_unspecified())
            })
            .or_else(|| {
                socks
                    .iter()
                    .position(|(a, _)| a.port() == local.port() && local.ip().is_unspecified())
            })
    }

    fn transmit(&mut self, t: Transmit) {
        match t.dest {
            Dest::Stream(id) => self.queue_stream(id, Chunk::Owned(t.data), false),
            Dest::Udp { local, remote } => {
                // Keep datagrams in order: what is batched goes first.
                self.flush_udp();
                let Some(idx) = self.udp_index(local) else {
                    tracing::debug!(%local, "no UDP socket bound to this address; datagram dropped");
                    self.stats.udp_dropped();
                    return;
                };
                match self.udp[idx].1.socket.send_to(&t.data, remote) {
                    Ok(_) => self.stats.udp_sent(),
                    Err(e) => {
                        if e.kind() != io::ErrorKind::WouldBlock {
                            tracing::trace!(%remote, error = %e, "UDP send failed");
                        }
                        self.stats.udp_dropped();
                    }
                }
            }
        }
    }

    fn transmit_shared(&mut self, t: SharedTransmit) {
        match t.dest {
            Dest::Stream(id) => {
                self.queue_stream(id, Chunk::Shared(t.header, t.body), t.frame_start)
            }
            Dest::Udp { local, remote } => {
                let Some(idx) = self.udp_index(local) else {
                    tracing::debug!(%local, "no UDP socket bound to this address; datagram dropped");
                    self.stats.udp_dropped();
                    return;
                };
                if self.batch.sock != idx || self.batch.pkts.len() >= MAX_BATCH {
                    self.flush_udp();
                    self.batch.sock = idx;
                }
                #[cfg(target_os = "linux")]
                self.batch.pkts.push(Datagram {
                    remote,
                    header: t.header,
                    body: t.body,
                });
                #[cfg(not(target_os = "linux"))]
                self.batch.pkts.push((remote, t.header, t.body));
            }
        }
    }

    /// Sends the batched datagrams.
    fn flush_udp(&mut self) {
        if self.batch.pkts.is_empty() {
            return;
        }
        let Some((_, udp)) = self.udp.get(self.batch.sock) else {
            self.batch.pkts.clear();
            return;
        };
        #[cfg(target_os = "linux")]
        {
            use std::os::fd::AsRawFd;
            let r = self
                .sender
                .send(udp.socket.as_raw_fd(), &self.batch.pkts, self.gso);
            self.stats.udp_sent_n(r.sent as u64);
            self.stats.udp_dropped_n(r.dropped as u64);
            if r.gso_errors > 0 {
                self.gso_errors += r.gso_errors;
                if self.gso && self.gso_errors > MAX_GSO_ERRORS {
                    tracing::warn!("UDP GSO sends keep failing; using sendmmsg without GSO");
                    self.gso = false;
                }
            }
        }
        #[cfg(not(target_os = "linux"))]
        for (remote, header, body) in &self.batch.pkts {
            self.scratch.clear();
            self.scratch.extend_from_slice(header.as_slice());
            self.scratch.extend_from_slice(body);
            match udp.socket.send_to(&self.scratch, *remote) {
                Ok(_) => self.stats.udp_sent(),
                Err(_) => self.stats.udp_dropped(),
            }
        }
        self.batch.pkts.clear();
    }

    /// Sends batched datagrams and writes the queues of connections that got output.
    fn flush_output(&mut self) {
        self.flush_udp();
        while let Some(token) = self.dirty.pop() {
            if let Some(c) = self.conns.get_mut(&token) {
                c.dirty = false;
            }
            self.flush(token);
        }
    }

    /// Queues output for a connection; it is written at the end of the drain. Media
    /// (`shared`) frames are dropped whole while the queue is over the frame cap.
    fn queue_stream(&mut self, id: ConnId, chunk: Chunk, frame_start: bool) {
        let token = Token(id.0 as usize);
        let Some(conn) = self.conns.get_mut(&token) else {
            tracing::debug!(conn = ?id, "transmit to a closed connection dropped");
            return;
        };
        let len = chunk.len();
        if conn.closing || len == 0 {
            return;
        }
        if let Chunk::Shared(..) = chunk {
            if frame_start {
                conn.dropping = conn.queued > self.max_frame_queue;
            }
            if conn.dropping {
                self.stats.stream_dropped(len);
                return;
            }
        }
        self.stats.stream_bytes(len);
        conn.queued += len;
        conn.queue.push_back(chunk);
        if !conn.dirty {
            conn.dirty = true;
            self.dirty.push(token);
        }
        if conn.queued > self.max_queue {
            self.fail_conn(token, "output queue over its cap (peer not reading)");
        }
    }

    /// Writes as much queued output as the kernel takes; finishes a pending close.
    fn flush(&mut self, token: Token) {
        let Some(conn) = self.conns.get_mut(&token) else {
            return;
        };
        while !conn.queue.is_empty() {
            let mut slices: [IoSlice<'_>; MAX_WRITE_SLICES] = [IoSlice::new(&[]); MAX_WRITE_SLICES];
            let mut n_slices = 0;
            for (i, chunk) in conn.queue.iter().enumerate() {
                let off = if i == 0 { conn.head_off } else { 0 };
                for part in chunk.parts(off) {
                    if !part.is_empty() && n_slices < MAX_WRITE_SLICES {
                        slices[n_slices] = IoSlice::new(part);
                        n_slices += 1;
                    }
                }
                if n_slices + 2 > MAX_WRITE_SLICES {
                    break;
                }
            }
            match conn.stream.write_vectored(&slices[..n_slices]) {
                Ok(0) => {
                    self.fail_conn(token, "write returned 0");
                    return;
                }
                Ok(mut n) => {
                    conn.queued -= n;
                    while n > 0 {
                        let Some(front) = conn.queue.front() else {
                            break;
                        };
                        let left = front.len() - conn.head_off;
                        if n >= left {
                            n -= left;
                            conn.queue.pop_front();
                            conn.head_off = 0;
                        } else {
                            conn.head_off += n;
                            n = 0;
                        }
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    if conn.closing {
                        self.remove_conn(token);
                    } else {
                        self.fail_conn(token, &e.to_string());
                    }
                    return;
                }
            }
        }
        if conn.closing {
            self.remove_conn(token);
        }
    }

    /// The machine asked to close: now if nothing is queued, else once the queue drains.
    fn close(&mut self, id: ConnId) {
        let token = Token(id.0 as usize);
        if !self.conns.contains_key(&token) {
            return;
        }
        // Write what is queued first (the reply before the close).
        self.flush(token);
        let Some(conn) = self.conns.get_mut(&token) else {
            return;
        };
        conn.closing = true;
        if conn.queue.is_empty() {
            self.remove_conn(token);
        }
    }

    /// Closes a connection on the runtime's own initiative and reports it to the machine.
    fn fail_conn(&mut self, token: Token, why: &str) {
        let Some(conn) = self.conns.get(&token) else {
            return;
        };
        let (id, closing) = (conn.id, conn.closing);
        let peer = conn.stream.peer_addr().ok();
        tracing::info!(conn = id.0, ?peer, why, "dropping connection");
        self.stats.conn_dropped();
        self.remove_conn(token);
        if !closing {
            self.pending.push_back(Pending::Closed(id));
        }
    }

    fn remove_conn(&mut self, token: Token) {
        if let Some(mut conn) = self.conns.remove(&token) {
            let _ = self.poll.registry().deregister(&mut conn.stream);
            let _ = conn.stream.shutdown(Shutdown::Both);
        }
    }

    /// Gives queued output a bounded time to drain, then closes everything.
    fn finish(&mut self) {
        let until = Instant::now() + FLUSH_ON_STOP;
        let mut events = Events::with_capacity(256);
        loop {
            let busy: Vec<Token> = self
                .conns
                .iter()
                .filter(|(_, c)| !c.queue.is_empty())
                .map(|(t, _)| *t)
                .collect();
            if busy.is_empty() {
                break;
            }
            for t in busy {
                self.flush(t);
            }
            let left = until.saturating_duration_since(Instant::now());
            if left.is_zero() || self.conns.values().all(|c| c.queue.is_empty()) {
                break;
            }
            if self.poll.poll(&mut events, Some(left)).is_err() {
                break;
            }
        }
        let tokens: Vec<Token> = self.conns.keys().copied().collect();
        for t in tokens {
            self.remove_conn(t);
        }
        self.listeners.clear();
        self.udp.clear();
    }
}

/// Whether UDP GSO works on this socket.
#[cfg(target_os = "linux")]
fn gso_ok(udp: &Udp) -> bool {
    use std::os::fd::AsRawFd;
    sys::probe_gso(udp.socket.as_raw_fd())
}

#[cfg(not(target_os = "linux"))]
fn gso_ok(_: &Udp) -> bool {
    false
}

/// A runtime running on its own thread (from [`Runtime::spawn`]).
pub type Spawned<M> = runtime_std::SpawnedWith<Handle<M>, M>;
