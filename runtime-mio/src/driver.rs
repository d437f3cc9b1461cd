//! The event loop: one `mio::Poll`, every socket registered with a token.

use std::collections::{HashMap, VecDeque};
use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use mio::net::{TcpListener, TcpStream, UdpSocket};
use mio::{Events, Interest, Poll, Token, Waker};
use rtsp_core::io::{ConnId, Dest, Input, Machine, Output, Transmit};
use runtime_std::{find_udp, Command, Flow, RuntimeHandle, RuntimeStats, SharedStats};

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
    queue: VecDeque<Vec<u8>>,
    head_off: usize,
    /// Bytes in `queue` not yet written.
    queued: usize,
    /// The machine asked to close: no more input, close once `queue` is empty.
    closing: bool,
}

struct Udp {
    token: Token,
    socket: UdpSocket,
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
    listeners: HashMap<Token, TcpListener>,
    conns: HashMap<Token, Conn>,
    udp: Vec<(SocketAddr, Udp)>,
    next_token: usize,
    pending: VecDeque<Pending>,
    buf: Vec<u8>,
    max_queue: usize,
    max_conns: usize,
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
            max_conns: DEFAULT_MAX_CONNS,
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
        let mut listener = TcpListener::from_std(listener);
        let token = self.token();
        self.poll
            .registry()
            .register(&mut listener, token, Interest::READABLE)?;
        self.listeners.insert(token, listener);
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
        self.udp.push((local, Udp { token, socket }));
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
        Ok(Spawned { handle, thread })
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
            for ev in events.iter() {
                if self.stopping {
                    break;
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
                        self.read_conn(token, &mut on_event);
                    }
                } else {
                    self.recv_udp(token, &mut on_event);
                }
            }
            if self.stopping {
                break;
            }
            if let Some(d) = self.deadline {
                let now = self.now();
                if d <= now {
                    self.machine.handle_input(Input::Timeout(now));
                    self.drain(&mut on_event);
                    if self.deadline.is_some_and(|d| d <= now) {
                        tracing::trace!("machine returned an expired deadline after Timeout");
                        self.deadline = Some(now + Duration::from_millis(1));
                    }
                }
            }
        }
        self.finish();
        Ok(self.machine)
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
            let Some(listener) = self.listeners.get(&token) else {
                return;
            };
            match listener.accept() {
                Ok((stream, peer)) => {
                    if self.conns.len() >= self.max_conns {
                        tracing::warn!(%peer, "too many connections; refusing");
                        continue;
                    }
                    let _ = stream.set_nodelay(true);
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

    fn read_conn<F>(&mut self, token: Token, on_event: &mut F)
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
                    if conn.closing {
                        continue;
                    }
                    let now = self.now();
                    self.machine.handle_input(Input::Stream {
                        now,
                        conn: id,
                        data: &self.buf[..n],
                    });
                    self.drain(on_event);
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
            match self.machine.poll_output() {
                Output::Transmit(t) => self.transmit(t),
                Output::Close(conn) => self.close(conn),
                Output::Event(e) => events.push_back(e),
                Output::Timeout(deadline) => {
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

    fn transmit(&mut self, t: Transmit) {
        match t.dest {
            Dest::Stream(id) => self.transmit_stream(id, t.data),
            Dest::Udp { local, remote } => {
                let Some(udp) = find_udp(&self.udp, local) else {
                    tracing::debug!(%local, "no UDP socket bound to this address; datagram dropped");
                    self.stats.udp_dropped();
                    return;
                };
                match udp.socket.send_to(&t.data, remote) {
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

    fn transmit_stream(&mut self, id: ConnId, data: Vec<u8>) {
        let token = Token(id.0 as usize);
        let Some(conn) = self.conns.get_mut(&token) else {
            tracing::debug!(conn = ?id, "transmit to a closed connection dropped");
            return;
        };
        if conn.closing || data.is_empty() {
            return;
        }
        self.stats.stream_bytes(data.len());
        if conn.queue.is_empty() {
            let mut off = 0;
            while off < data.len() {
                match conn.stream.write(&data[off..]) {
                    Ok(0) => {
                        self.fail_conn(token, "write returned 0");
                        return;
                    }
                    Ok(n) => off += n,
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => {
                        self.fail_conn(token, &e.to_string());
                        return;
                    }
                }
            }
            if off == data.len() {
                return;
            }
            conn.queued = data.len() - off;
            conn.head_off = off;
            conn.queue.push_back(data);
        } else {
            conn.queued += data.len();
            conn.queue.push_back(data);
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
        while let Some(front) = conn.queue.front() {
            match conn.stream.write(&front[conn.head_off..]) {
                Ok(0) => {
                    self.fail_conn(token, "write returned 0");
                    return;
                }
                Ok(n) => {
                    conn.head_off += n;
                    conn.queued -= n;
                    if conn.head_off == front.len() {
                        conn.queue.pop_front();
                        conn.head_off = 0;
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

/// A runtime running on its own thread (from [`Runtime::spawn`]).
pub struct Spawned<M> {
    handle: Handle<M>,
    thread: JoinHandle<io::Result<M>>,
}

impl<M> std::fmt::Debug for Spawned<M> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Spawned").finish_non_exhaustive()
    }
}

impl<M> Spawned<M> {
    /// A handle to send commands or stop.
    pub fn handle(&self) -> &Handle<M> {
        &self.handle
    }

    /// Asks the runtime to stop (see [`Handle::stop`]).
    pub fn stop(&self) {
        self.handle.stop();
    }

    /// Waits for the runtime to end and returns the machine.
    pub fn join(self) -> io::Result<M> {
        self.thread
            .join()
            .map_err(|_| io::Error::other("runtime thread panicked"))?
    }
}
