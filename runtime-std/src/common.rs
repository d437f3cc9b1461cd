//! Types shared by both runtimes (runtime-mio re-exports them).

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicU64, Ordering};

/// A closure run on the driver thread with the machine (see [`RuntimeHandle::command`]).
pub type Command<M> = Box<dyn FnOnce(&mut M) + Send>;

/// What an event callback tells the runtime to do next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    /// Keep running.
    Continue,
    /// Stop the runtime after the current drain; `run` returns the machine.
    Stop,
}

/// What every runtime handle can do, so code (e.g. [`crate::RunningServer`]) can work with
/// either runtime.
pub trait RuntimeHandle<M>: Send + Sync {
    /// Runs `f` with the machine on the driver thread, then drains the machine's outputs.
    /// Returns `false` if the runtime has ended.
    fn command(&self, f: Command<M>) -> bool;
    /// Asks the runtime to stop once the commands already sent have run.
    fn stop(&self);
    /// A snapshot of the runtime's I/O counters.
    fn stats(&self) -> RuntimeStats;
}

/// I/O counters of a runtime.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RuntimeStats {
    /// Datagrams handed to the OS.
    pub udp_sent: u64,
    /// Datagrams dropped: no socket for the source address, send error, or (mio) the socket
    /// buffer was full (`WouldBlock`).
    pub udp_dropped: u64,
    /// Bytes written (or queued, for mio) to control connections.
    pub stream_bytes: u64,
    /// Control connections the runtime dropped: write error, write timeout, or (mio) output
    /// queue over its cap.
    pub conns_dropped: u64,
    /// (mio) Bytes of interleaved media dropped, whole frames at a time, because the
    /// connection's queue was over its frame cap (a slow reader).
    pub stream_dropped: u64,
}

/// Atomic [`RuntimeStats`], shared between a runtime and its handles (public so that
/// runtime-mio can use it too).
#[derive(Debug, Default)]
pub struct SharedStats {
    udp_sent: AtomicU64,
    udp_dropped: AtomicU64,
    stream_bytes: AtomicU64,
    conns_dropped: AtomicU64,
    stream_dropped: AtomicU64,
}

impl SharedStats {
    /// Counts a datagram handed to the OS.
    pub fn udp_sent(&self) {
        self.udp_sent.fetch_add(1, Ordering::Relaxed);
    }
    /// Counts a dropped datagram.
    pub fn udp_dropped(&self) {
        self.udp_dropped.fetch_add(1, Ordering::Relaxed);
    }
    /// Counts `n` datagrams handed to the OS.
    pub fn udp_sent_n(&self, n: u64) {
        if n > 0 {
            self.udp_sent.fetch_add(n, Ordering::Relaxed);
        }
    }
    /// Counts `n` dropped datagrams.
    pub fn udp_dropped_n(&self, n: u64) {
        if n > 0 {
            self.udp_dropped.fetch_add(n, Ordering::Relaxed);
        }
    }
    /// Counts media bytes dropped for a slow control connection.
    pub fn stream_dropped(&self, n: usize) {
        self.stream_dropped.fetch_add(n as u64, Ordering::Relaxed);
    }
    /// Counts bytes written to control connections.
    pub fn stream_bytes(&self, n: usize) {
        self.stream_bytes.fetch_add(n as u64, Ordering::Relaxed);
    }
    /// Counts a control connection the runtime dropped.
    pub fn conn_dropped(&self) {
        self.conns_dropped.fetch_add(1, Ordering::Relaxed);
    }
    /// A snapshot of the counters.
    pub fn snapshot(&self) -> RuntimeStats {
        RuntimeStats {
            udp_sent: self.udp_sent.load(Ordering::Relaxed),
            udp_dropped: self.udp_dropped.load(Ordering::Relaxed),
            stream_bytes: self.stream_bytes.load(Ordering::Relaxed),
            conns_dropped: self.conns_dropped.load(Ordering::Relaxed),
            stream_dropped: self.stream_dropped.load(Ordering::Relaxed),
        }
    }
}

/// Finds the entry whose address is `local`; falls back to a socket bound to the unspecified
/// address on the same port (a machine may name the socket by the address it was told).
pub fn find_udp<T>(socks: &[(SocketAddr, T)], local: SocketAddr) -> Option<&T> {
    find_udp_index(socks, local).map(|i| &socks[i].1)
}

/// The index of the entry [`find_udp`] finds.
pub fn find_udp_index<T>(socks: &[(SocketAddr, T)], local: SocketAddr) -> Option<usize> {
    let on_port = |a: &SocketAddr| a.port() == local.port();
    socks
        .iter()
        .position(|(a, _)| *a == local)
        .or_else(|| {
            socks
                .iter()
                .position(|(a, _)| on_port(a) && a.ip().is_unspecified())
        })
        .or_else(|| {
            socks
                .iter()
                .position(|(a, _)| on_port(a) && local.ip().is_unspecified())
        })
}

/// Opens a control connection to `addr` (waiting up to `timeout` for the handshake; `None`:
/// the OS default) with `TCP_NODELAY` set. Returns it and its peer address.
pub fn connect_control(
    addr: SocketAddr,
    timeout: Option<std::time::Duration>,
) -> io::Result<(std::net::TcpStream, SocketAddr)> {
    let stream = match timeout {
        Some(t) => std::net::TcpStream::connect_timeout(&addr, t)?,
        None => std::net::TcpStream::connect(addr)?,
    };
    stream.set_nodelay(true)?;
    let peer = stream.peer_addr().unwrap_or(addr);
    Ok((stream, peer))
}

/// The address to send to for reaching a socket bound to `bound` (unspecified -> loopback).
pub fn wake_addr(bound: SocketAddr) -> SocketAddr {
    match bound.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => (Ipv4Addr::LOCALHOST, bound.port()).into(),
        IpAddr::V6(ip) if ip.is_unspecified() => (Ipv6Addr::LOCALHOST, bound.port()).into(),
        _ => bound,
    }
}

/// Binds an RTP/RTCP pair of UDP sockets on `ip`: RTP on an even port, RTCP on the next
/// (RFC 3550 §11). Tries ephemeral ports until a pair is free.
pub fn bind_udp_pair(ip: IpAddr) -> io::Result<(UdpSocket, UdpSocket)> {
    let mut last_err = None;
    for _ in 0..64 {
        let a = UdpSocket::bind((ip, 0))?;
        let port = a.local_addr()?.port();
        if port % 2 != 0 || port == u16::MAX {
            // Try the even port just below, keeping the odd one we hold as RTCP.
            if let Ok(rtp) = UdpSocket::bind((ip, port - 1)) {
                return Ok((rtp, a));
            }
            continue;
        }
        match UdpSocket::bind((ip, port + 1)) {
            Ok(b) => return Ok((a, b)),
            Err(e) => last_err = Some(e),
        }
    }
    Err(last_err.unwrap_or_else(|| {
        io::Error::new(
            io::ErrorKind::AddrInUse,
            "no free even/odd UDP port pair found",
        )
    }))
}

/// Binds RTP on `port` and RTCP on `port + 1` on `ip`.
pub fn bind_udp_pair_at(ip: IpAddr, port: u16) -> io::Result<(UdpSocket, UdpSocket)> {
    let rtcp_port = port.checked_add(1).ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            "RTP port 65535 leaves no RTCP port",
        )
    })?;
    let rtp = UdpSocket::bind((ip, port))?;
    let rtcp = UdpSocket::bind((ip, rtcp_port))?;
    Ok((rtp, rtcp))
}

/// A runtime running on its own thread: its handle `H` and the thread, which returns the
/// machine `M` (each runtime names it `Spawned<M>`).
pub struct SpawnedWith<H, M> {
    handle: H,
    thread: std::thread::JoinHandle<std::io::Result<M>>,
}

impl<H, M> std::fmt::Debug for SpawnedWith<H, M> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Spawned").finish_non_exhaustive()
    }
}

impl<H: RuntimeHandle<M>, M: Send + 'static> SpawnedWith<H, M> {
    /// Runs `run` (a runtime's `run` with its event callback) on a new thread named `name`.
    pub fn start(
        name: &str,
        handle: H,
        run: impl FnOnce() -> std::io::Result<M> + Send + 'static,
    ) -> std::io::Result<Self> {
        let thread = std::thread::Builder::new().name(name.into()).spawn(run)?;
        Ok(Self::new(handle, thread))
    }
}

impl<H: RuntimeHandle<M>, M> SpawnedWith<H, M> {
    /// Wraps a runtime's handle and the thread running it.
    pub fn new(handle: H, thread: std::thread::JoinHandle<std::io::Result<M>>) -> Self {
        Self { handle, thread }
    }

    /// A handle to send commands or stop.
    pub fn handle(&self) -> &H {
        &self.handle
    }

    /// Asks the runtime to stop (see [`RuntimeHandle::stop`]).
    pub fn stop(&self) {
        self.handle.stop();
    }

    /// Waits for the runtime to end and returns the machine.
    pub fn join(self) -> std::io::Result<M> {
        self.thread
            .join()
            .map_err(|_| std::io::Error::other("runtime thread panicked"))?
    }
}
