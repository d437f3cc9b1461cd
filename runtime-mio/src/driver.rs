//! The event loop: one `mio::Poll`, every socket registered with a token.

use std::collections::{HashMap, VecDeque};
use std::io::{self, Read};
use std::net::SocketAddr;
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::Arc;
use std::time::{Duration, Instant};

use mio::net::{TcpListener, TcpStream, UdpSocket};
use mio::{Events, Interest, Poll, Token, Waker};
use rtsp_core::io::{ConnId, Input, Machine};
use runtime_std::drive::{deadline_after_timeout, settle, Generated, InputClock};
use runtime_std::{Control, Flow, Handle};

use crate::output::{gso_ok, Conn, Io, Udp};

/// Token of the waker (commands and stop).
const WAKER: Token = Token(0);
/// Receive buffer, shared by all sockets (largest UDP datagram).
const READ_BUF: usize = 64 * 1024;
/// Default cap on simultaneous control connections.
const DEFAULT_MAX_CONNS: usize = 4096;
/// Consecutive UDP receive errors tolerated in one readiness event.
const MAX_UDP_ERRORS: u32 = 16;
/// Events handled between two checks of the machine's deadline within one poll.
const EVENTS_PER_TIMER_CHECK: usize = 64;

/// A listening socket. `TCP_NODELAY` is set on it so that accepted connections inherit it
/// (Linux does); the first accepted connection is checked, and if it did not inherit it,
/// every accepted connection gets its own `setsockopt`.
struct Listener {
    socket: TcpListener,
    nodelay_inherited: Option<bool>,
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
/// UDP send that would block drops the datagram (counted in [`runtime_std::RuntimeStats::udp_dropped`]).
pub struct Runtime<M: Machine> {
    machine: M,
    /// Sockets, output queues and batches: where outputs go.
    io: Io,
    waker: Arc<Waker>,
    tx: Sender<Control<M>>,
    rx: Receiver<Control<M>>,
    listeners: HashMap<Token, Listener>,
    next_token: usize,
    buf: Vec<u8>,
    max_conns: usize,
    deadline: Option<Instant>,
    stopping: bool,
    /// Input times, kept monotonic.
    clock: InputClock,
}

impl<M: Machine> std::fmt::Debug for Runtime<M> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Runtime")
            .field("listeners", &self.listeners.len())
            .field("conns", &self.io.conns.len())
            .field("udp", &self.io.udp.len())
            .field("gso", &self.io.gso)
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
            io: Io::new(poll),
            waker,
            tx,
            rx,
            listeners: HashMap::new(),
            next_token: 1,
            buf: vec![0; READ_BUF],
            max_conns: DEFAULT_MAX_CONNS,
            deadline: None,
            stopping: false,
            clock: InputClock::new(Instant::now()),
        })
    }

    /// Sets the cap on bytes queued for one control connection (default 16 MiB). A
    /// connection whose peer does not read fast enough to stay under it is closed.
    pub fn set_max_queue(&mut self, bytes: usize) {
        self.io.max_queue = bytes;
    }

    /// Sets the queue size of a control connection above which media packets
    /// ([`SharedTransmit`](rtsp_core::io::SharedTransmit)s) are dropped, whole frames at a time (default 512 KiB): a slow
    /// interleaved reader loses frames instead of growing the queue.
    pub fn set_max_frame_queue(&mut self, bytes: usize) {
        self.io.max_frame_queue = bytes;
    }

    /// Allows or forbids UDP GSO (default: allowed where the kernel supports it, probed on
    /// every UDP socket; without it, datagrams are still batched with `sendmmsg`).
    pub fn set_gso(&mut self, enabled: bool) {
        self.io.gso =
            enabled && cfg!(target_os = "linux") && self.io.udp.iter().all(|(_, u)| gso_ok(u));
    }

    /// Whether UDP GSO is in use.
    pub fn gso(&self) -> bool {
        self.io.gso
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
        let (tx, waker) = (self.tx.clone(), Arc::clone(&self.waker));
        let send = move |c| {
            if tx.send(c).is_err() {
                return false;
            }
            // The loop may have ended between the send and the wake: harmless.
            let _ = waker.wake();
            true
        };
        Handle::new(send, Arc::clone(&self.io.stats))
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
        self.io
            .poll
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

    /// Receives datagrams on `socket` (made non-blocking) and sends [`Dest::Udp`](rtsp_core::io::Dest::Udp) transmits
    /// whose `local` is its address. Returns the local address.
    pub fn udp_socket(&mut self, socket: std::net::UdpSocket) -> io::Result<SocketAddr> {
        socket.set_nonblocking(true)?;
        let local = socket.local_addr()?;
        let mut socket = UdpSocket::from_std(socket);
        let token = self.token();
        self.io
            .poll
            .registry()
            .register(&mut socket, token, Interest::READABLE)?;
        let udp = Udp { token, socket };
        if self.io.gso && !gso_ok(&udp) {
            tracing::debug!(%local, "UDP GSO not supported; batching with sendmmsg only");
            self.io.gso = false;
        }
        self.io.udp.push((local, udp));
        Ok(local)
    }

    /// [`Runtime::connect_tcp_timeout`] with a 10 s connect timeout.
    pub fn connect_tcp(&mut self, addr: SocketAddr) -> io::Result<ConnId> {
        self.connect_tcp_timeout(addr, Some(Duration::from_secs(10)))
    }

    /// Opens a control connection to `addr`, blocking up to `timeout` (`None`: the OS
    /// default) for the handshake. The machine gets [`Input::Connected`] first thing in `run`.
    pub fn connect_tcp_timeout(
        &mut self,
        addr: SocketAddr,
        timeout: Option<Duration>,
    ) -> io::Result<ConnId> {
        let (stream, peer) = runtime_std::connect_control(addr, timeout)?;
        stream.set_nonblocking(true)?;
        let id = self.add_conn(TcpStream::from_std(stream))?;
        self.io
            .pending
            .push_back(Generated::Connected { conn: id, peer });
        Ok(id)
    }

    fn add_conn(&mut self, mut stream: TcpStream) -> io::Result<ConnId> {
        let token = self.token();
        self.io.poll.registry().register(
            &mut stream,
            token,
            Interest::READABLE | Interest::WRITABLE,
        )?;
        let id = ConnId(token.0 as u64);
        self.io.conns.insert(
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
        Spawned::start("rtsp-mio", handle, move || self.run(on_event))
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
            if let Err(e) = self.io.poll.poll(&mut events, timeout) {
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
                } else if self.io.conns.contains_key(&token) {
                    if ev.is_writable() {
                        self.io.flush(token);
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
        let now = self.clock.now();
        if d <= now {
            self.machine.handle_input(Input::Timeout(now));
            self.drain(on_event);
            self.deadline = deadline_after_timeout(self.deadline, now);
        }
    }

    fn commands<F>(&mut self, on_event: &mut F)
    where
        F: FnMut(&mut M, M::Event) -> Flow,
    {
        while let Ok(msg) = self.rx.try_recv() {
            match msg {
                Control::Command(f) => {
                    f(&mut self.machine);
                    self.drain(on_event);
                }
                Control::Stop => {
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
                    if self.io.conns.len() >= self.max_conns {
                        if tracing::enabled!(tracing::Level::WARN)
                            && runtime_std::log_line_allowed("connection refused", Some(peer.ip()))
                        {
                            tracing::warn!(%peer, "too many connections; refusing");
                        }
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
                    let now = self.clock.now();
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
            let Some(conn) = self.io.conns.get_mut(&token) else {
                return;
            };
            let id = conn.id;
            match conn.stream.read(&mut self.buf) {
                Ok(0) => {
                    let report = !conn.closing;
                    self.io.remove_conn(token);
                    if report {
                        let now = self.clock.now();
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
                        let now = self.clock.now();
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
                    self.io.remove_conn(token);
                    if report {
                        let now = self.clock.now();
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
        let Some(idx) = self.io.udp.iter().position(|(_, u)| u.token == token) else {
            return;
        };
        let mut errors = 0;
        loop {
            let (local, udp) = &self.io.udp[idx];
            let local = *local;
            match udp.socket.recv_from(&mut self.buf) {
                Ok((n, remote)) => {
                    let now = self.clock.now();
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
        let (deadline, stop) = settle(&mut self.machine, &mut self.io, &mut self.clock, on_event);
        self.deadline = deadline;
        self.stopping |= stop;
    }

    /// Gives queued output a bounded time to drain, then closes everything.
    fn finish(&mut self) {
        self.io.finish();
        self.listeners.clear();
    }
}

/// A runtime running on its own thread (from [`Runtime::spawn`]).
pub type Spawned<M> = runtime_std::SpawnedWith<Handle<M>, M>;
