//! The blocking driver: reader threads feed one channel, one thread owns the machine.

use std::collections::{HashMap, VecDeque};
use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use rtsp_core::io::{drain, ConnId, Dest, Input, Machine, Output, Transmit};

use crate::common::{connect_control, find_udp, wake_addr, Flow, SharedStats};
use crate::drive::{deadline_after_timeout, settle, Generated, InputClock, Outputs};
use crate::handle::{Control, Handle};

/// Read buffer for TCP control connections.
const TCP_READ_BUF: usize = 16 * 1024;
/// Largest UDP datagram we can receive.
const UDP_READ_BUF: usize = 64 * 1024;
/// Backstop for UDP reader threads noticing a stop when the wake datagram got lost.
const UDP_READ_TIMEOUT: Duration = Duration::from_millis(500);
/// How long [`Runtime::run`] waits for its I/O threads to finish after a stop.
const THREAD_EXIT_WAIT: Duration = Duration::from_secs(1);
/// Default `SO_SNDTIMEO` of control connections: a peer that stops reading for this long is dropped.
const DEFAULT_WRITE_TIMEOUT: Duration = Duration::from_secs(5);

/// What the I/O threads and handles send to the driver thread.
enum Msg<M> {
    /// What an I/O thread saw, stamped when it saw it.
    Io(Instant, Seen),
    /// From a [`Handle`].
    Control(Control<M>),
}

/// What an I/O thread saw.
enum Seen {
    /// A connection accepted or opened: its id, peer, and the write half for the driver.
    Connected(ConnId, SocketAddr, TcpStream),
    /// Bytes read from a connection.
    Read(ConnId, Vec<u8>),
    /// A connection's reader ended (the peer closed it, or it failed).
    Closed(ConnId),
    /// A datagram: the local socket's address, the sender's, the payload.
    Datagram(SocketAddr, SocketAddr, Vec<u8>),
}

/// State shared by the driver and its I/O threads.
struct Shared {
    /// Set once when the runtime stops; I/O threads exit when they see it.
    stop: AtomicBool,
    /// Next [`ConnId`] to hand out.
    next_conn: AtomicU64,
    /// A clone of every open control connection, so a stop can wake its reader.
    streams: Mutex<HashMap<ConnId, TcpStream>>,
    /// Counters.
    stats: Arc<SharedStats>,
}

impl Shared {
    fn streams(&self) -> std::sync::MutexGuard<'_, HashMap<ConnId, TcpStream>> {
        self.streams.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Registers a new connection unless the runtime is stopping. Returns its id.
    fn register(&self, stream: &TcpStream) -> Option<ConnId> {
        let clone = stream.try_clone().ok()?;
        let mut streams = self.streams();
        if self.stop.load(Ordering::SeqCst) {
            return None;
        }
        let conn = ConnId(self.next_conn.fetch_add(1, Ordering::Relaxed));
        streams.insert(conn, clone);
        Some(conn)
    }
}

/// How to wake a blocked I/O thread at stop.
enum Waker {
    /// Connect to the listener so `accept` returns.
    Listener(SocketAddr),
    /// Send an empty datagram to the socket so `recv_from` returns.
    Udp(SocketAddr),
}

/// A blocking runtime for any [`Machine`]: reader threads per socket, one driver thread.
///
/// ```text
///  listener thread --accept--> reader thread per TCP conn --+
///  reader thread per UDP socket ----------------------------+--> channel --> driver (run)
///  Handle::command / Handle::stop --------------------------+        |  owns the machine,
///                                                              recv_timeout(deadline - now),
///                                                              writes Transmits, calls on_event
/// ```
///
/// Build it with [`Runtime::new`], add sockets ([`Runtime::tcp_listener`],
/// [`Runtime::udp_socket`], [`Runtime::connect_tcp`]), take [`Runtime::handle`]s for other
/// threads, then [`Runtime::run`] it on the current thread or [`Runtime::spawn`] it.
pub struct Runtime<M: Machine> {
    machine: M,
    tx: Sender<Msg<M>>,
    rx: Receiver<Msg<M>>,
    shared: Arc<Shared>,
    /// The sockets outputs are written to.
    io: Io,
    wakers: Vec<Waker>,
    /// Each I/O thread holds a clone; the channel disconnects when all have ended.
    done_tx: Sender<()>,
    done_rx: Receiver<()>,
    threads: Vec<JoinHandle<()>>,
    write_timeout: Duration,
    /// Input times, kept monotonic even though reader threads stamp them.
    clock: InputClock,
}

/// Where the driver writes a machine's outputs: the write halves of the control connections
/// and the UDP sockets (apart from the machine, so a drain can borrow both).
struct Io {
    /// Write halves of the open control connections.
    conns: HashMap<ConnId, TcpStream>,
    /// UDP sockets by local address, for [`Dest::Udp`].
    udp: Vec<(SocketAddr, Arc<UdpSocket>)>,
    /// Connections the runtime closed on its own (write failure): reported as `StreamClosed`.
    failed: VecDeque<ConnId>,
    shared: Arc<Shared>,
}

impl<M: Machine> std::fmt::Debug for Runtime<M> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Runtime")
            .field("conns", &self.io.conns.len())
            .field("udp", &self.io.udp.len())
            .field("threads", &self.threads.len())
            .finish_non_exhaustive()
    }
}

impl<M: Machine + 'static> Runtime<M> {
    /// A runtime owning `machine`, with no sockets yet. (Infallible here; the `Result`
    /// keeps the shape of `runtime_mio::Runtime::new`.)
    pub fn new(machine: M) -> io::Result<Self> {
        let (tx, rx) = mpsc::channel();
        let (done_tx, done_rx) = mpsc::channel();
        let shared = Arc::new(Shared {
            stop: AtomicBool::new(false),
            next_conn: AtomicU64::new(0),
            streams: Mutex::new(HashMap::new()),
            stats: Arc::default(),
        });
        Ok(Self {
            machine,
            tx,
            rx,
            io: Io {
                conns: HashMap::new(),
                udp: Vec::new(),
                failed: VecDeque::new(),
                shared: shared.clone(),
            },
            shared,
            wakers: Vec::new(),
            done_tx,
            done_rx,
            threads: Vec::new(),
            write_timeout: DEFAULT_WRITE_TIMEOUT,
            clock: InputClock::new(Instant::now()),
        })
    }

    /// Sets how long one write to a control connection may block before the connection is
    /// dropped (reported to the machine as `StreamClosed`). Default 5 s. Applies to
    /// connections added after the call (call it before [`Runtime::tcp_listener`]).
    pub fn set_write_timeout(&mut self, timeout: Duration) {
        self.write_timeout = timeout;
    }

    /// The machine (e.g. to query state before [`Runtime::run`]).
    pub fn machine(&self) -> &M {
        &self.machine
    }

    /// The machine, mutably (e.g. to issue the first request before [`Runtime::run`]).
    /// Outputs it queues are drained when `run` starts.
    pub fn machine_mut(&mut self) -> &mut M {
        &mut self.machine
    }

    /// A handle for other threads: commands, stop, counters.
    pub fn handle(&self) -> Handle<M> {
        let tx = self.tx.clone();
        let send = move |c| tx.send(Msg::Control(c)).is_ok();
        Handle::new(send, Arc::clone(&self.shared.stats))
    }

    /// Accepts control connections on `listener` (a server). Every accepted connection is
    /// fed to the machine as [`Input::Connected`]. Returns the listener's local address.
    pub fn tcp_listener(&mut self, listener: TcpListener) -> io::Result<SocketAddr> {
        let local = listener.local_addr()?;
        listener.set_nonblocking(false)?;
        let tx = self.tx.clone();
        let shared = self.shared.clone();
        let done = self.done_tx.clone();
        let write_timeout = self.write_timeout;
        let t = thread::Builder::new()
            .name(format!("rtsp-accept-{local}"))
            .spawn(move || {
                accept_loop(&listener, &tx, &shared, write_timeout, &done);
                drop(done);
            })?;
        self.threads.push(t);
        self.wakers.push(Waker::Listener(local));
        Ok(local)
    }

    /// Receives datagrams on `socket` and sends [`Dest::Udp`] transmits whose `local` is its
    /// address. Returns the socket's local address.
    pub fn udp_socket(&mut self, socket: UdpSocket) -> io::Result<SocketAddr> {
        let local = socket.local_addr()?;
        socket.set_nonblocking(false)?;
        socket.set_read_timeout(Some(UDP_READ_TIMEOUT))?;
        let socket = Arc::new(socket);
        let reader = socket.clone();
        let tx = self.tx.clone();
        let shared = self.shared.clone();
        let done = self.done_tx.clone();
        let t = thread::Builder::new()
            .name(format!("rtsp-udp-{local}"))
            .spawn(move || {
                udp_loop(&reader, local, &tx, &shared);
                drop(done);
            })?;
        self.threads.push(t);
        self.io.udp.push((local, socket));
        self.wakers.push(Waker::Udp(local));
        Ok(local)
    }

    /// Opens a control connection to `addr` (a client), blocking up to `timeout` (`None`:
    /// the OS default). The machine gets [`Input::Connected`] first thing in `run`.
    pub fn connect_tcp_timeout(
        &mut self,
        addr: SocketAddr,
        timeout: Option<Duration>,
    ) -> io::Result<ConnId> {
        let (stream, peer) = connect_control(addr, timeout)?;
        self.add_stream(stream, peer)
    }

    /// Drives a control connection the caller opened (a client that connects by itself, e.g.
    /// interruptibly): it is made blocking, `TCP_NODELAY` and the write timeout are set on it,
    /// and the machine gets
    /// [`Input::Connected`] first thing in `run`.
    pub fn tcp_stream(&mut self, stream: TcpStream) -> io::Result<ConnId> {
        stream.set_nonblocking(false)?;
        stream.set_nodelay(true)?;
        let peer = stream.peer_addr()?;
        self.add_stream(stream, peer)
    }

    fn add_stream(&mut self, stream: TcpStream, peer: SocketAddr) -> io::Result<ConnId> {
        stream.set_write_timeout(Some(self.write_timeout))?;
        let conn = self
            .shared
            .register(&stream)
            .ok_or_else(|| io::Error::other("runtime stopped"))?;
        let reader = stream.try_clone()?;
        let _ = self
            .tx
            .send(Msg::Io(Instant::now(), Seen::Connected(conn, peer, stream)));
        self.spawn_reader(conn, reader)?;
        Ok(conn)
    }

    /// [`Runtime::connect_tcp_timeout`] with a 10 s connect timeout.
    pub fn connect_tcp(&mut self, addr: SocketAddr) -> io::Result<ConnId> {
        self.connect_tcp_timeout(addr, Some(Duration::from_secs(10)))
    }

    fn spawn_reader(&mut self, conn: ConnId, stream: TcpStream) -> io::Result<()> {
        let tx = self.tx.clone();
        let shared = self.shared.clone();
        let done = self.done_tx.clone();
        let t = spawn_reader(conn, stream, tx, shared, done)?;
        self.threads.push(t);
        Ok(())
    }

    /// Runs `self` on a new thread; see [`Runtime::run`].
    pub fn spawn<F: FnMut(&mut M, M::Event) -> Flow + Send + 'static>(
        self,
        on_event: F,
    ) -> io::Result<Spawned<M>>
    where
        M: Send,
        M::Event: 'static,
    {
        Spawned::start("rtsp-driver", self.handle(), move || self.run(on_event))
    }

    /// Drives the machine until [`Handle::stop`] or until `on_event` returns [`Flow::Stop`];
    /// then closes every socket, waits (briefly) for the I/O threads and returns the machine.
    ///
    /// The loop: wait for the next message with `recv_timeout(deadline - now)`; feed it (or
    /// `Input::Timeout` when the deadline passed) to the machine; drain `poll_output` until
    /// `Output::Timeout`, writing transmits and closing connections; then hand each event to
    /// `on_event`, which may mutate the machine, and drain again after each.
    pub fn run<F>(mut self, mut on_event: F) -> io::Result<M>
    where
        F: FnMut(&mut M, M::Event) -> Flow,
    {
        let mut stop = false;
        let mut deadline = self.drain(&mut on_event, &mut stop);
        while !stop {
            let msg = match deadline {
                None => self.rx.recv().ok(),
                Some(d) => {
                    let now = Instant::now();
                    if d <= now {
                        None
                    } else {
                        match self.rx.recv_timeout(d - now) {
                            Ok(m) => Some(m),
                            Err(RecvTimeoutError::Timeout) => None,
                            // Unreachable: we hold a sender ourselves.
                            Err(RecvTimeoutError::Disconnected) => break,
                        }
                    }
                }
            };
            match msg {
                None => {
                    let now = self.clock.at(Instant::now());
                    self.machine.handle_input(Input::Timeout(now));
                    let d = self.drain(&mut on_event, &mut stop);
                    deadline = deadline_after_timeout(d, now);
                }
                Some(Msg::Control(Control::Stop)) => stop = true,
                Some(msg) => {
                    if self.feed(msg) {
                        deadline = self.drain(&mut on_event, &mut stop);
                    }
                }
            }
        }
        self.finish();
        Ok(self.machine)
    }

    /// Feeds one message to the machine. Returns whether the machine was touched.
    fn feed(&mut self, msg: Msg<M>) -> bool {
        let (at, seen) = match msg {
            Msg::Io(at, seen) => (at, seen),
            Msg::Control(Control::Command(f)) => {
                f(&mut self.machine);
                return true;
            }
            Msg::Control(Control::Stop) => return false,
        };
        let now = self.clock.at(at);
        let input = match seen {
            Seen::Connected(conn, peer, stream) => {
                self.io.conns.insert(conn, stream);
                Input::Connected { now, conn, peer }
            }
            Seen::Read(conn, ref data) => {
                if !self.io.conns.contains_key(&conn) {
                    return false;
                }
                Input::Stream { now, conn, data }
            }
            Seen::Closed(conn) => {
                if self.io.conns.remove(&conn).is_none() {
                    return false;
                }
                Input::StreamClosed { now, conn }
            }
            Seen::Datagram(local, remote, ref data) => Input::Datagram {
                now,
                local,
                remote,
                data,
            },
        };
        self.machine.handle_input(input);
        true
    }

    /// Drains outputs until `Timeout`, then dispatches events one by one (draining after
    /// each). Returns the machine's latest deadline.
    fn drain<F>(&mut self, on_event: &mut F, stop: &mut bool) -> Option<Instant>
    where
        F: FnMut(&mut M, M::Event) -> Flow,
    {
        let (deadline, stopped) =
            settle(&mut self.machine, &mut self.io, &mut self.clock, on_event);
        *stop |= stopped;
        deadline
    }
}

impl<M: Machine> Outputs<M> for Io {
    fn drain_once(&mut self, machine: &mut M, events: &mut VecDeque<M::Event>) -> Option<Instant> {
        drain(machine, |out| match out {
            Output::Transmit(t) => self.transmit(t),
            Output::Close(conn) => self.close(conn),
            Output::Event(e) => events.push_back(e),
            Output::Timeout(_) => {}
        })
    }

    fn generated(&mut self) -> Option<Generated> {
        self.failed.pop_front().map(Generated::Closed)
    }
}

impl Io {
    fn transmit(&mut self, t: Transmit) {
        match t.dest {
            Dest::Stream(conn) => {
                let Some(stream) = self.conns.get_mut(&conn) else {
                    tracing::debug!(?conn, "transmit to a closed connection dropped");
                    return;
                };
                match stream.write_all(&t.data) {
                    Ok(()) => self.shared.stats.stream_bytes(t.data.len()),
                    Err(e) => {
                        tracing::debug!(?conn, error = %e, "write failed; closing connection");
                        self.shared.stats.conn_dropped();
                        if let Some(s) = self.conns.remove(&conn) {
                            let _ = s.shutdown(Shutdown::Both);
                        }
                        self.failed.push_back(conn);
                    }
                }
            }
            Dest::Udp { local, remote } => {
                let Some(sock) = find_udp(&self.udp, local) else {
                    tracing::debug!(%local, "no UDP socket bound to this address; datagram dropped");
                    self.shared.stats.udp_dropped();
                    return;
                };
                match sock.send_to(&t.data, remote) {
                    Ok(_) => self.shared.stats.udp_sent(),
                    Err(e) => {
                        tracing::trace!(%remote, error = %e, "UDP send failed");
                        self.shared.stats.udp_dropped();
                    }
                }
            }
        }
    }

    fn close(&mut self, conn: ConnId) {
        if let Some(mut s) = self.conns.remove(&conn) {
            let _ = s.flush();
            let _ = s.shutdown(Shutdown::Both);
        }
    }
}

impl<M: Machine + 'static> Runtime<M> {
    /// Stops every I/O thread and waits a little for them.
    fn finish(&mut self) {
        {
            let streams = self.shared.streams();
            self.shared.stop.store(true, Ordering::SeqCst);
            for s in streams.values() {
                let _ = s.shutdown(Shutdown::Both);
            }
        }
        for s in self.io.conns.values() {
            let _ = s.shutdown(Shutdown::Both);
        }
        self.io.conns.clear();
        for w in &self.wakers {
            match *w {
                Waker::Listener(addr) => {
                    let _ =
                        TcpStream::connect_timeout(&wake_addr(addr), Duration::from_millis(200));
                }
                Waker::Udp(addr) => {
                    let any: SocketAddr = if addr.is_ipv4() {
                        (std::net::Ipv4Addr::LOCALHOST, 0).into()
                    } else {
                        (std::net::Ipv6Addr::LOCALHOST, 0).into()
                    };
                    if let Ok(s) = UdpSocket::bind(any) {
                        let _ = s.send_to(&[], wake_addr(addr));
                    }
                }
            }
        }
        self.io.udp.clear();
        // Messages still queued may hold streams: close them.
        while let Ok(msg) = self.rx.try_recv() {
            if let Msg::Io(_, Seen::Connected(_, _, stream)) = msg {
                let _ = stream.shutdown(Shutdown::Both);
            }
        }
        // Wait for the I/O threads: each holds a `done` sender.
        let (dead_tx, _) = mpsc::channel();
        drop(std::mem::replace(&mut self.done_tx, dead_tx));
        let until = Instant::now() + THREAD_EXIT_WAIT;
        loop {
            let left = until.saturating_duration_since(Instant::now());
            match self.done_rx.recv_timeout(left) {
                Ok(()) => {}
                Err(RecvTimeoutError::Disconnected) => {
                    for t in self.threads.drain(..) {
                        let _ = t.join();
                    }
                    break;
                }
                Err(RecvTimeoutError::Timeout) => {
                    tracing::debug!("some I/O threads did not stop in time; detaching them");
                    self.threads.clear();
                    break;
                }
            }
        }
    }
}

/// A runtime running on its own thread (from [`Runtime::spawn`]).
pub type Spawned<M> = crate::common::SpawnedWith<Handle<M>, M>;

fn accept_loop<M: 'static>(
    listener: &TcpListener,
    tx: &Sender<Msg<M>>,
    shared: &Arc<Shared>,
    write_timeout: Duration,
    done: &Sender<()>,
) {
    loop {
        let accepted = listener.accept();
        if shared.stop.load(Ordering::SeqCst) {
            break;
        }
        let (stream, peer) = match accepted {
            Ok(x) => x,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => {
                // E.g. out of file descriptors: back off instead of spinning.
                tracing::warn!(error = %e, "accept failed");
                thread::sleep(Duration::from_millis(50));
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let _ = stream.set_write_timeout(Some(write_timeout));
        let Ok(reader) = stream.try_clone() else {
            continue;
        };
        let Some(conn) = shared.register(&stream) else {
            let _ = stream.shutdown(Shutdown::Both);
            break;
        };
        let seen = Seen::Connected(conn, peer, stream);
        if tx.send(Msg::Io(Instant::now(), seen)).is_err() {
            break;
        }
        if spawn_reader(conn, reader, tx.clone(), shared.clone(), done.clone()).is_err() {
            tracing::warn!(?conn, "could not spawn a reader thread");
            let _ = tx.send(Msg::Io(Instant::now(), Seen::Closed(conn)));
            shared.streams().remove(&conn);
        }
    }
}

fn spawn_reader<M: 'static>(
    conn: ConnId,
    mut stream: TcpStream,
    tx: Sender<Msg<M>>,
    shared: Arc<Shared>,
    done: Sender<()>,
) -> io::Result<JoinHandle<()>> {
    thread::Builder::new()
        .name(format!("rtsp-conn-{}", conn.0))
        .spawn(move || {
            let mut buf = vec![0u8; TCP_READ_BUF];
            loop {
                match stream.read(&mut buf) {
                    Ok(0) => break,
                    Ok(n) => {
                        let msg = Msg::Io(Instant::now(), Seen::Read(conn, buf[..n].to_vec()));
                        if tx.send(msg).is_err() {
                            break;
                        }
                    }
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(_) => break,
                }
            }
            let _ = tx.send(Msg::Io(Instant::now(), Seen::Closed(conn)));
            shared.streams().remove(&conn);
            drop(done);
        })
}

fn udp_loop<M: 'static>(sock: &UdpSocket, local: SocketAddr, tx: &Sender<Msg<M>>, shared: &Shared) {
    let mut buf = vec![0u8; UDP_READ_BUF];
    let mut errors = 0u32;
    loop {
        let r = sock.recv_from(&mut buf);
        if shared.stop.load(Ordering::SeqCst) {
            break;
        }
        match r {
            Ok((n, remote)) => {
                errors = 0;
                let seen = Seen::Datagram(local, remote, buf[..n].to_vec());
                let msg = Msg::Io(Instant::now(), seen);
                if tx.send(msg).is_err() {
                    break;
                }
            }
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock
                        | io::ErrorKind::TimedOut
                        | io::ErrorKind::Interrupted
                ) => {}
            Err(e) => {
                // ICMP errors reported on the socket (e.g. port unreachable) are transient.
                tracing::trace!(%local, error = %e, "UDP receive error");
                errors += 1;
                if errors > 1000 {
                    tracing::warn!(%local, error = %e, "UDP socket keeps failing; reader stops");
                    break;
                }
            }
        }
    }
}
