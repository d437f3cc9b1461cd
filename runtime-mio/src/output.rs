//! Where a machine's outputs go on the mio loop: control connections' output queues (written
//! with `writev`, whole media frames dropped for a slow reader) and UDP sockets (media batched
//! per drain and sent with `sendmmsg`/GSO through [`crate::udp`]).

use std::collections::{HashMap, VecDeque};
use std::io::{self, IoSlice, Write};
use std::net::{Shutdown, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use mio::net::{TcpStream, UdpSocket};
use mio::{Events, Poll, Token};
use rtsp_core::io::{
    drain_emit, ConnId, Dest, Emit, InlineHeader, Machine, Output, SharedTransmit, Transmit,
};
use runtime_std::drive::{Generated, Outputs};
use runtime_std::{find_udp_index, SharedStats};

#[cfg(target_os = "linux")]
use crate::udp::{self as sys, Datagram};

/// Default cap on the bytes queued for one control connection.
const DEFAULT_MAX_QUEUE: usize = 16 * 1024 * 1024;
/// How long a stop waits for queued output to drain.
const FLUSH_ON_STOP: Duration = Duration::from_secs(1);
/// Default queue size of a control connection above which media frames are dropped whole.
const DEFAULT_MAX_FRAME_QUEUE: usize = 512 * 1024;
/// Datagrams batched before a send is forced in the middle of a drain.
const MAX_BATCH: usize = 4096;
/// Slices per `writev`.
const MAX_WRITE_SLICES: usize = 64;
/// GSO sends the kernel may refuse before GSO is turned off.
const MAX_GSO_ERRORS: usize = 16;

/// A piece of a control connection's output queue.
pub(crate) enum Chunk {
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

/// One control connection.
pub(crate) struct Conn {
    pub(crate) id: ConnId,
    pub(crate) stream: TcpStream,
    /// Output not yet accepted by the kernel; the front is written from `head_off`.
    pub(crate) queue: VecDeque<Chunk>,
    /// Dropping the media frame being queued (the queue was over the frame cap at its start).
    pub(crate) dropping: bool,
    /// Listed in `Runtime::dirty` (has output to write at the end of the drain).
    pub(crate) dirty: bool,
    pub(crate) head_off: usize,
    /// Bytes in `queue` not yet written.
    pub(crate) queued: usize,
    /// The machine asked to close: no more input, close once `queue` is empty.
    pub(crate) closing: bool,
}

/// A UDP socket of the loop.
pub(crate) struct Udp {
    pub(crate) token: Token,
    pub(crate) socket: UdpSocket,
}

/// Media datagrams collected during a drain, sent together at its end.
#[derive(Default)]
pub(crate) struct UdpBatch {
    /// Index in `Runtime::udp` of the socket they leave from.
    sock: usize,
    #[cfg(target_os = "linux")]
    pkts: Vec<Datagram>,
    #[cfg(not(target_os = "linux"))]
    pkts: Vec<(SocketAddr, InlineHeader, Bytes)>,
}

/// Sockets, output queues and UDP batches: everything a drain writes to (apart from the
/// machine, so that a drain can borrow both).
pub(crate) struct Io {
    pub(crate) poll: Poll,
    pub(crate) stats: Arc<SharedStats>,
    pub(crate) conns: HashMap<Token, Conn>,
    pub(crate) udp: Vec<(SocketAddr, Udp)>,
    /// Inputs the runtime generated itself, fed at the end of a drain.
    pub(crate) pending: VecDeque<Generated>,
    pub(crate) max_queue: usize,
    pub(crate) max_frame_queue: usize,
    batch: UdpBatch,
    /// Connections with output to write at the end of the drain.
    dirty: Vec<Token>,
    #[cfg(target_os = "linux")]
    sender: sys::Sender,
    /// UDP GSO: allowed (`set_gso`) and supported by every UDP socket so far.
    pub(crate) gso: bool,
    gso_errors: usize,
    #[cfg(not(target_os = "linux"))]
    scratch: Vec<u8>,
}

impl<M: Machine> Outputs<M> for Io {
    /// Drains through `poll_emit`; batched datagrams and connection queues are written at
    /// the end (see [`Io::flush_output`]).
    fn drain_once(&mut self, machine: &mut M, events: &mut VecDeque<M::Event>) -> Option<Instant> {
        let deadline = drain_emit(machine, |out| match out {
            Emit::Shared(t) => self.transmit_shared(t),
            Emit::Output(Output::Transmit(t)) => self.transmit(t),
            Emit::Output(Output::Close(conn)) => self.close(conn),
            Emit::Output(Output::Event(e)) => events.push_back(e),
            Emit::Output(Output::Timeout(_)) => {}
        });
        self.flush_output();
        deadline
    }

    fn generated(&mut self) -> Option<Generated> {
        self.pending.pop_front()
    }
}

impl Io {
    pub(crate) fn new(poll: Poll) -> Self {
        Self {
            poll,
            stats: Arc::new(SharedStats::default()),
            conns: HashMap::new(),
            udp: Vec::new(),
            pending: VecDeque::new(),
            max_queue: DEFAULT_MAX_QUEUE,
            max_frame_queue: DEFAULT_MAX_FRAME_QUEUE,
            batch: UdpBatch::default(),
            dirty: Vec::new(),
            #[cfg(target_os = "linux")]
            sender: sys::Sender::new(),
            gso: cfg!(target_os = "linux"),
            gso_errors: 0,
            #[cfg(not(target_os = "linux"))]
            scratch: Vec::new(),
        }
    }

    /// Index in `self.udp` of the socket bound to `local` (see [`runtime_std::find_udp`]).
    fn udp_index(&self, local: SocketAddr) -> Option<usize> {
        find_udp_index(&self.udp, local)
    }

    pub(crate) fn transmit(&mut self, t: Transmit) {
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

    pub(crate) fn transmit_shared(&mut self, t: SharedTransmit) {
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
    pub(crate) fn flush_output(&mut self) {
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
    pub(crate) fn flush(&mut self, token: Token) {
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
    pub(crate) fn close(&mut self, id: ConnId) {
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
    pub(crate) fn fail_conn(&mut self, token: Token, why: &str) {
        let Some(conn) = self.conns.get(&token) else {
            return;
        };
        let (id, closing) = (conn.id, conn.closing);
        let peer = conn.stream.peer_addr().ok();
        if tracing::enabled!(tracing::Level::INFO)
            && runtime_std::log_line_allowed("connection dropped", peer.map(|p| p.ip()))
        {
            tracing::info!(conn = id.0, ?peer, why, "dropping connection");
        }
        self.stats.conn_dropped();
        self.remove_conn(token);
        if !closing {
            self.pending.push_back(Generated::Closed(id));
        }
    }

    pub(crate) fn remove_conn(&mut self, token: Token) {
        if let Some(mut conn) = self.conns.remove(&token) {
            let _ = self.poll.registry().deregister(&mut conn.stream);
            let _ = conn.stream.shutdown(Shutdown::Both);
        }
    }

    /// Gives queued output a bounded time to drain, then closes everything.
    pub(crate) fn finish(&mut self) {
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
        self.udp.clear();
    }
}

/// Whether UDP GSO works on this socket.
#[cfg(target_os = "linux")]
pub(crate) fn gso_ok(udp: &Udp) -> bool {
    use std::os::fd::AsRawFd;
    sys::probe_gso(udp.socket.as_raw_fd())
}

#[cfg(not(target_os = "linux"))]
pub(crate) fn gso_ok(_: &Udp) -> bool {
    false
}
