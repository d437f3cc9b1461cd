//! Thin wrappers over the Linux calls the load tools need (libc): `recvmmsg`, `sendmmsg` with
//! vectored header + payload and UDP GSO (`UDP_SEGMENT`), `setrlimit(RLIMIT_NOFILE)`, CPU clocks.
//!
//! All `unsafe` of the load tools lives here.
#![allow(unsafe_code)]

use std::io;
use std::mem;
use std::net::SocketAddr;
use std::os::fd::RawFd;
use std::time::Duration;

/// `SOL_UDP` socket option level.
const SOL_UDP: libc::c_int = 17;
/// `UDP_SEGMENT` (Linux 4.18+): GSO segment size, as a socket option or a cmsg.
const UDP_SEGMENT: libc::c_int = 103;
/// `UDP_GRO` (Linux 5.0+): receive GSO trains whole, with the segment size as a cmsg.
const UDP_GRO: libc::c_int = 104;
/// Most segments one GSO send may carry (`UDP_MAX_SEGMENTS`).
pub const GSO_MAX_SEGMENTS: usize = 64;

/// Raises the soft `RLIMIT_NOFILE` to at least `want` (up to the hard limit); returns the new
/// soft limit.
pub fn raise_nofile(want: u64) -> io::Result<u64> {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `lim` is a valid out-pointer for getrlimit.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) } != 0 {
        return Err(io::Error::last_os_error());
    }
    if lim.rlim_cur >= want {
        return Ok(lim.rlim_cur);
    }
    lim.rlim_cur = want.min(lim.rlim_max);
    // SAFETY: `lim` is a valid rlimit.
    if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &lim) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(lim.rlim_cur)
}

/// `sysconf(_SC_CLK_TCK)`: the unit of CPU times in `/proc/PID/stat`.
pub fn clock_ticks_per_sec() -> u64 {
    // SAFETY: sysconf has no memory-safety preconditions.
    let v = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if v > 0 {
        v as u64
    } else {
        100
    }
}

fn clock(id: libc::clockid_t) -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid out-pointer.
    unsafe { libc::clock_gettime(id, &mut ts) };
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

/// CPU time (user + system) of this whole process.
pub fn process_cpu() -> Duration {
    clock(libc::CLOCK_PROCESS_CPUTIME_ID)
}

/// `CLOCK_MONOTONIC` now (the clock `Instant` and `perf record -k CLOCK_MONOTONIC` use).
pub fn monotonic() -> Duration {
    clock(libc::CLOCK_MONOTONIC)
}

/// CPU time (user + system) of the calling thread.
pub fn thread_cpu() -> Duration {
    clock(libc::CLOCK_THREAD_CPUTIME_ID)
}

/// Sets `SO_RCVBUF` (the kernel doubles it, capped by `net.core.rmem_max`).
pub fn set_rcvbuf(fd: RawFd, bytes: usize) -> io::Result<()> {
    setsockopt_int(fd, libc::SOL_SOCKET, libc::SO_RCVBUF, bytes as libc::c_int)
}

/// Sets `SO_SNDBUF`.
pub fn set_sndbuf(fd: RawFd, bytes: usize) -> io::Result<()> {
    setsockopt_int(fd, libc::SOL_SOCKET, libc::SO_SNDBUF, bytes as libc::c_int)
}

fn setsockopt_int(
    fd: RawFd,
    level: libc::c_int,
    name: libc::c_int,
    v: libc::c_int,
) -> io::Result<()> {
    // SAFETY: pointer and length describe a live c_int.
    let r = unsafe {
        libc::setsockopt(
            fd,
            level,
            name,
            (&v as *const libc::c_int).cast(),
            mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if r == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// Whether the kernel accepts UDP GSO on this socket (probe: set `UDP_SEGMENT`, then clear it).
pub fn probe_gso(fd: RawFd) -> bool {
    setsockopt_int(fd, SOL_UDP, UDP_SEGMENT, 1200).is_ok()
        && setsockopt_int(fd, SOL_UDP, UDP_SEGMENT, 0).is_ok()
}

/// A socket address in the C layout.
#[derive(Clone, Copy)]
struct CAddr {
    storage: libc::sockaddr_storage,
    len: libc::socklen_t,
}

impl CAddr {
    fn new(addr: SocketAddr) -> Self {
        // SAFETY: all-zero is a valid sockaddr_storage.
        let mut storage: libc::sockaddr_storage = unsafe { mem::zeroed() };
        let len = match addr {
            SocketAddr::V4(a) => {
                let sin = libc::sockaddr_in {
                    sin_family: libc::AF_INET as libc::sa_family_t,
                    sin_port: a.port().to_be(),
                    sin_addr: libc::in_addr {
                        s_addr: u32::from_ne_bytes(a.ip().octets()),
                    },
                    sin_zero: [0; 8],
                };
                // SAFETY: sockaddr_storage is larger than and aligned for sockaddr_in.
                unsafe {
                    std::ptr::write((&mut storage as *mut libc::sockaddr_storage).cast(), sin)
                };
                mem::size_of::<libc::sockaddr_in>()
            }
            SocketAddr::V6(a) => {
                let sin6 = libc::sockaddr_in6 {
                    sin6_family: libc::AF_INET6 as libc::sa_family_t,
                    sin6_port: a.port().to_be(),
                    sin6_flowinfo: a.flowinfo(),
                    sin6_addr: libc::in6_addr {
                        s6_addr: a.ip().octets(),
                    },
                    sin6_scope_id: a.scope_id(),
                };
                // SAFETY: sockaddr_storage is larger than and aligned for sockaddr_in6.
                unsafe {
                    std::ptr::write((&mut storage as *mut libc::sockaddr_storage).cast(), sin6)
                };
                mem::size_of::<libc::sockaddr_in6>()
            }
        };
        Self {
            storage,
            len: len as libc::socklen_t,
        }
    }
}

/// Datagrams read by one `recvmmsg` call, in one buffer (no allocation per call). With
/// [`RecvBatch::with_gro`] a message may be a whole UDP GSO train (`UDP_GRO`), which
/// [`RecvBatch::get`] hands out again datagram by datagram.
pub struct RecvBatch {
    buf: Vec<u8>,
    slot: usize,
    /// (offset, length, kernel receive time) of each datagram of the last call.
    dgrams: Vec<(usize, usize, Option<Duration>)>,
    iov: Vec<libc::iovec>,
    hdrs: Vec<libc::mmsghdr>,
    /// Control buffer per message (the `UDP_GRO` segment size, the receive timestamp).
    cmsg: Vec<u64>,
    gro: bool,
    /// Messages the last call read (fewer than datagrams when GRO joined some).
    msgs: usize,
}

impl std::fmt::Debug for RecvBatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RecvBatch")
            .field("n", &self.hdrs.len())
            .field("slot", &self.slot)
            .field("gro", &self.gro)
            .finish()
    }
}

/// `u64` words of control buffer per message: room for an `int` cmsg (`UDP_GRO`) and a
/// `timespec` one (`SCM_TIMESTAMPNS`).
const CMSG_WORDS: usize = 12;

impl RecvBatch {
    /// `n` datagrams of at most `slot` bytes per call.
    pub fn new(n: usize, slot: usize) -> Self {
        let mut buf = vec![0u8; n * slot];
        let iov: Vec<libc::iovec> = (0..n)
            .map(|i| libc::iovec {
                // SAFETY: i * slot < buf.len().
                iov_base: unsafe { buf.as_mut_ptr().add(i * slot) }.cast(),
                iov_len: slot,
            })
            .collect();
        // SAFETY: all-zero is a valid mmsghdr (null pointers, zero lengths).
        let hdrs = (0..n).map(|_| unsafe { mem::zeroed() }).collect();
        Self {
            buf,
            slot,
            dgrams: Vec::with_capacity(n),
            iov,
            hdrs,
            cmsg: vec![0; n * CMSG_WORDS],
            gro: false,
            msgs: 0,
        }
    }

    /// `n` messages per call, each up to a 64 KiB GSO train, for sockets with
    /// [`enable_gro`]: the kernel hands a train sent with UDP GSO over whole, with its
    /// segment size.
    pub fn with_gro(n: usize) -> Self {
        let mut b = Self::new(n, 65_535);
        b.gro = true;
        b
    }

    /// One `recvmmsg(MSG_DONTWAIT)`: the number of datagrams now readable with [`Self::get`].
    /// `WouldBlock` when none was waiting.
    pub fn recv(&mut self, fd: RawFd) -> io::Result<usize> {
        for (i, (h, iov)) in self.hdrs.iter_mut().zip(self.iov.iter_mut()).enumerate() {
            h.msg_hdr.msg_name = std::ptr::null_mut();
            h.msg_hdr.msg_namelen = 0;
            h.msg_hdr.msg_iov = iov;
            h.msg_hdr.msg_iovlen = 1;
            let c = &mut self.cmsg[i * CMSG_WORDS..(i + 1) * CMSG_WORDS];
            h.msg_hdr.msg_control = c.as_mut_ptr().cast();
            h.msg_hdr.msg_controllen = CMSG_WORDS * 8;
            h.msg_hdr.msg_flags = 0;
            h.msg_len = 0;
        }
        // SAFETY: every header points at one iovec of `slot` bytes inside `self.buf` and at
        // its own control buffer in `self.cmsg`; both live (and are not moved) for the
        // duration of the call.
        let r = unsafe {
            libc::recvmmsg(
                fd,
                self.hdrs.as_mut_ptr(),
                self.hdrs.len() as libc::c_uint,
                libc::MSG_DONTWAIT,
                std::ptr::null_mut(),
            )
        };
        if r < 0 {
            return Err(io::Error::last_os_error());
        }
        self.dgrams.clear();
        self.msgs = r as usize;
        for i in 0..r as usize {
            let len = (self.hdrs[i].msg_len as usize).min(self.slot);
            let at = i * self.slot;
            let (seg, stamp) = self.control(i);
            if seg == 0 || seg >= len {
                self.dgrams.push((at, len, stamp));
            } else {
                let mut off = 0;
                while off < len {
                    self.dgrams.push((at + off, seg.min(len - off), stamp));
                    off += seg;
                }
            }
        }
        Ok(self.dgrams.len())
    }

    /// What the kernel reported with message `i`: the `UDP_GRO` segment size (0: a single
    /// datagram) and the receive time (`SCM_TIMESTAMPNS`, since the Unix epoch).
    fn control(&self, i: usize) -> (usize, Option<Duration>) {
        let h = &self.hdrs[i].msg_hdr;
        let (mut size, mut stamp) = (0, None);
        // SAFETY: the kernel filled `msg_control` (our buffer) up to `msg_controllen`; the
        // CMSG_* macros walk it within those bounds, and each payload read is of the type the
        // kernel documents for that cmsg, read unaligned.
        unsafe {
            let mut c = libc::CMSG_FIRSTHDR(h);
            while !c.is_null() {
                let (level, kind) = ((*c).cmsg_level, (*c).cmsg_type);
                if level == SOL_UDP && kind == UDP_GRO {
                    let v = std::ptr::read_unaligned(libc::CMSG_DATA(c).cast::<libc::c_int>());
                    size = v.max(0) as usize;
                } else if level == libc::SOL_SOCKET && kind == libc::SCM_TIMESTAMPNS {
                    let t = std::ptr::read_unaligned(libc::CMSG_DATA(c).cast::<libc::timespec>());
                    if t.tv_sec >= 0 && (0..1_000_000_000).contains(&t.tv_nsec) {
                        stamp = Some(Duration::new(t.tv_sec as u64, t.tv_nsec as u32));
                    }
                }
                c = libc::CMSG_NXTHDR(h, c);
            }
        }
        (size, stamp)
    }

    /// Messages (datagrams or GRO trains) the last [`Self::recv`] read.
    pub fn messages(&self) -> usize {
        self.msgs
    }

    /// Datagram `i` of the last [`Self::recv`].
    pub fn get(&self, i: usize) -> &[u8] {
        let (at, len, _) = self.dgrams[i];
        &self.buf[at..at + len]
    }

    /// When datagram `i` of the last [`Self::recv`] reached the socket (kernel time, since the
    /// Unix epoch), on sockets with [`enable_timestamps`].
    pub fn stamp(&self, i: usize) -> Option<Duration> {
        self.dgrams[i].2
    }
}

/// Asks the kernel to stamp each datagram with its arrival time (`SO_TIMESTAMPNS`), read with
/// [`RecvBatch::stamp`]: frame timing then measures the sender, not how soon this process got
/// to read.
pub fn enable_timestamps(fd: RawFd) -> io::Result<()> {
    setsockopt_int(fd, libc::SOL_SOCKET, libc::SO_TIMESTAMPNS, 1)
}

/// Maps kernel receive times (since the Unix epoch) to [`std::time::Instant`]s, from one
/// reading of both clocks.
#[derive(Debug, Clone, Copy)]
pub struct StampClock {
    now: std::time::Instant,
    wall: Duration,
}

impl StampClock {
    /// Reads both clocks now.
    pub fn now() -> Self {
        let wall = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        Self {
            now: std::time::Instant::now(),
            wall,
        }
    }

    /// The instant of kernel time `stamp` (the reading itself if there is none, or if it lies
    /// in the future or more than 10 s back: a clock step).
    pub fn at(&self, stamp: Option<Duration>) -> std::time::Instant {
        match stamp.and_then(|s| self.wall.checked_sub(s)) {
            Some(ago) if ago < Duration::from_secs(10) => {
                self.now.checked_sub(ago).unwrap_or(self.now)
            }
            _ => self.now,
        }
    }

    /// The reading itself.
    pub fn instant(&self) -> std::time::Instant {
        self.now
    }
}

/// Asks the kernel to hand UDP GSO trains to this socket whole (`UDP_GRO`, Linux 5.0+), to be
/// read with [`RecvBatch::with_gro`]. On loopback this also spares the sender's context from
/// splitting each train into datagrams.
pub fn enable_gro(fd: RawFd) -> io::Result<()> {
    setsockopt_int(fd, SOL_UDP, UDP_GRO, 1)
}

/// One message of a [`SendBatch`]: one datagram, or a GSO train of datagrams to one destination.
struct Msg {
    dest: CAddr,
    first_seg: usize,
    segs: usize,
    /// GSO segment size (every segment but the last has exactly this many bytes), 0 = no GSO.
    gso: u16,
}

/// Datagrams queued for one `sendmmsg` flush. Each datagram is a 12-byte RTP header plus a
/// borrowed, shared payload, sent with two iovecs (no copy of the payload).
pub struct SendBatch<'a> {
    headers: Vec<[u8; 12]>,
    payloads: Vec<&'a [u8]>,
    msgs: Vec<Msg>,
    iov: Vec<libc::iovec>,
    hdrs: Vec<libc::mmsghdr>,
    cmsg: Vec<u64>,
}

impl std::fmt::Debug for SendBatch<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SendBatch")
            .field("msgs", &self.msgs.len())
            .field("datagrams", &self.headers.len())
            .finish()
    }
}

/// What a flush did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SendResult {
    /// Datagrams the kernel accepted.
    pub datagrams: u64,
    /// Datagrams dropped (send buffer full or an error).
    pub dropped: u64,
    /// System calls made.
    pub syscalls: u64,
}

impl Default for SendBatch<'_> {
    fn default() -> Self {
        Self::new()
    }
}

impl<'a> SendBatch<'a> {
    /// An empty batch.
    pub fn new() -> Self {
        Self {
            headers: Vec::new(),
            payloads: Vec::new(),
            msgs: Vec::new(),
            iov: Vec::new(),
            hdrs: Vec::new(),
            cmsg: Vec::new(),
        }
    }

    /// Messages queued.
    pub fn len(&self) -> usize {
        self.msgs.len()
    }

    /// Nothing queued.
    pub fn is_empty(&self) -> bool {
        self.msgs.is_empty()
    }

    /// Queues one datagram `header + payload` to `dest`.
    pub fn push(&mut self, dest: SocketAddr, header: [u8; 12], payload: &'a [u8]) {
        self.msgs.push(Msg {
            dest: CAddr::new(dest),
            first_seg: self.headers.len(),
            segs: 1,
            gso: 0,
        });
        self.headers.push(header);
        self.payloads.push(payload);
    }

    /// Queues a GSO train to `dest`: `segments` of `header + payload`, every one but the last
    /// exactly `segment_size` bytes (at most [`GSO_MAX_SEGMENTS`], 64 KiB in all).
    pub fn push_gso(
        &mut self,
        dest: SocketAddr,
        segment_size: u16,
        segments: impl IntoIterator<Item = ([u8; 12], &'a [u8])>,
    ) {
        let first_seg = self.headers.len();
        for (h, p) in segments {
            self.headers.push(h);
            self.payloads.push(p);
        }
        let segs = self.headers.len() - first_seg;
        self.msgs.push(Msg {
            dest: CAddr::new(dest),
            first_seg,
            segs,
            gso: if segs > 1 { segment_size } else { 0 },
        });
    }

    /// Sends everything queued with `sendmmsg` (as many calls as needed) and clears the batch.
    pub fn flush(&mut self, fd: RawFd) -> SendResult {
        let mut res = SendResult::default();
        if self.msgs.is_empty() {
            return res;
        }
        // Build iovecs and headers now that the vectors no longer grow.
        self.iov.clear();
        for (h, p) in self.headers.iter().zip(&self.payloads) {
            self.iov.push(libc::iovec {
                iov_base: h.as_ptr() as *mut libc::c_void,
                iov_len: 12,
            });
            self.iov.push(libc::iovec {
                iov_base: p.as_ptr() as *mut libc::c_void,
                iov_len: p.len(),
            });
        }
        // SAFETY: CMSG_SPACE is a pure computation.
        let cspace = unsafe { libc::CMSG_SPACE(mem::size_of::<u16>() as u32) } as usize;
        let cwords = cspace.div_ceil(8);
        self.cmsg.clear();
        self.cmsg.resize(cwords * self.msgs.len(), 0);
        self.hdrs.clear();
        for (i, m) in self.msgs.iter_mut().enumerate() {
            // SAFETY: all-zero is a valid mmsghdr.
            let mut h: libc::mmsghdr = unsafe { mem::zeroed() };
            h.msg_hdr.msg_name = (&mut m.dest.storage as *mut libc::sockaddr_storage).cast();
            h.msg_hdr.msg_namelen = m.dest.len;
            // SAFETY: first_seg * 2 + segs * 2 <= iov.len().
            h.msg_hdr.msg_iov = unsafe { self.iov.as_mut_ptr().add(m.first_seg * 2) };
            h.msg_hdr.msg_iovlen = m.segs * 2;
            if m.gso > 0 {
                // SAFETY: the control buffer for message i is cwords u64s, at least cspace bytes;
                // CMSG_FIRSTHDR/CMSG_DATA stay inside it.
                unsafe {
                    let ctrl = self.cmsg.as_mut_ptr().add(i * cwords);
                    h.msg_hdr.msg_control = ctrl.cast();
                    h.msg_hdr.msg_controllen = cspace;
                    let c = libc::CMSG_FIRSTHDR(&h.msg_hdr);
                    (*c).cmsg_level = SOL_UDP;
                    (*c).cmsg_type = UDP_SEGMENT;
                    (*c).cmsg_len = libc::CMSG_LEN(mem::size_of::<u16>() as u32) as usize;
                    std::ptr::write_unaligned(libc::CMSG_DATA(c).cast::<u16>(), m.gso);
                }
            }
            self.hdrs.push(h);
        }
        let mut at = 0;
        while at < self.hdrs.len() {
            let n = (self.hdrs.len() - at).min(1024);
            // SAFETY: every header points into self.iov / self.cmsg / self.msgs, and the iovecs
            // into self.headers and the borrowed payloads; none is moved or freed during the call.
            let r =
                unsafe { libc::sendmmsg(fd, self.hdrs.as_mut_ptr().add(at), n as libc::c_uint, 0) };
            res.syscalls += 1;
            if r <= 0 {
                // Drop the message that failed (buffer full, or refused) and go on.
                res.dropped += self.msgs[at].segs as u64;
                at += 1;
                continue;
            }
            for m in &self.msgs[at..at + r as usize] {
                res.datagrams += m.segs as u64;
            }
            at += r as usize;
        }
        self.msgs.clear();
        self.headers.clear();
        self.payloads.clear();
        self.hdrs.clear();
        res
    }

    /// Sends everything queued with one `sendto` per datagram (header and payload copied into
    /// one buffer first, as a server with a per-packet `Vec` does) and clears the batch.
    pub fn flush_sendto(&mut self, fd: RawFd, scratch: &mut Vec<u8>) -> SendResult {
        let mut res = SendResult::default();
        for m in &self.msgs {
            for s in m.first_seg..m.first_seg + m.segs {
                scratch.clear();
                scratch.extend_from_slice(&self.headers[s]);
                scratch.extend_from_slice(self.payloads[s]);
                // SAFETY: buffer and address are valid for the call.
                let r = unsafe {
                    libc::sendto(
                        fd,
                        scratch.as_ptr().cast(),
                        scratch.len(),
                        0,
                        (&m.dest.storage as *const libc::sockaddr_storage).cast(),
                        m.dest.len,
                    )
                };
                res.syscalls += 1;
                if r < 0 {
                    res.dropped += 1;
                } else {
                    res.datagrams += 1;
                }
            }
        }
        self.msgs.clear();
        self.headers.clear();
        self.payloads.clear();
        res
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::UdpSocket;
    use std::os::fd::AsRawFd;

    /// Reads with `rb` until `want` datagrams came (waiting for readability, at most 5 s
    /// in all): their bytes.
    fn recv_n(rb: &mut RecvBatch, fd: RawFd, want: usize) -> (Vec<Vec<u8>>, usize) {
        let until = std::time::Instant::now() + Duration::from_secs(5);
        let mut got = Vec::new();
        let mut msgs = 0;
        while got.len() < want {
            let left = until.saturating_duration_since(std::time::Instant::now());
            assert!(
                !left.is_zero(),
                "only {} of {want} datagrams arrived",
                got.len()
            );
            let mut pfd = libc::pollfd {
                fd,
                events: libc::POLLIN,
                revents: 0,
            };
            // SAFETY: one valid pollfd.
            unsafe { libc::poll(&mut pfd, 1, left.as_millis() as libc::c_int) };
            match rb.recv(fd) {
                Ok(n) => {
                    got.extend((0..n).map(|i| rb.get(i).to_vec()));
                    msgs += rb.messages();
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) => panic!("recvmmsg: {e}"),
            }
        }
        (got, msgs)
    }

    #[test]
    fn sendmmsg_and_recvmmsg_roundtrip() {
        let rx = UdpSocket::bind("127.0.0.1:0").unwrap();
        let tx = UdpSocket::bind("127.0.0.1:0").unwrap();
        let dest = rx.local_addr().unwrap();
        let payload = vec![7u8; 100];
        let mut b = SendBatch::new();
        for i in 0..5u8 {
            b.push(dest, [0x80, 26, 0, i, 0, 0, 0, 0, 0, 0, 0, 1], &payload);
        }
        let r = b.flush(tx.as_raw_fd());
        assert_eq!(r.datagrams, 5);
        let mut rb = RecvBatch::new(32, 2048);
        let (got, _) = recv_n(&mut rb, rx.as_raw_fd(), 5);
        assert_eq!(got.len(), 5);
        assert_eq!(got[3].len(), 112);
        assert_eq!(got[3][3], 3);
    }

    #[test]
    fn gso_train_arrives_as_datagrams() {
        let rx = UdpSocket::bind("127.0.0.1:0").unwrap();
        let tx = UdpSocket::bind("127.0.0.1:0").unwrap();
        if !probe_gso(tx.as_raw_fd()) {
            return; // kernel without UDP GSO
        }
        let dest = rx.local_addr().unwrap();
        let full = vec![1u8; 488];
        let last = vec![2u8; 100];
        let segs = (0..4u8).map(|i| {
            let p: &[u8] = if i == 3 { &last } else { &full };
            ([0x80, 26, 0, i, 0, 0, 0, 0, 0, 0, 0, 1], p)
        });
        let mut b = SendBatch::new();
        b.push_gso(dest, 500, segs);
        let r = b.flush(tx.as_raw_fd());
        assert_eq!((r.datagrams, r.syscalls), (4, 1));
        let mut rb = RecvBatch::new(32, 2048);
        let (got, msgs) = recv_n(&mut rb, rx.as_raw_fd(), 4);
        assert_eq!(msgs, 4, "without GRO every datagram is a message");
        let lens: Vec<usize> = got.iter().map(Vec::len).collect();
        assert_eq!(lens, [500, 500, 500, 112]);
    }

    #[test]
    fn gso_train_is_received_whole_with_gro_and_split_again() {
        let rx = UdpSocket::bind("127.0.0.1:0").unwrap();
        let tx = UdpSocket::bind("127.0.0.1:0").unwrap();
        if !probe_gso(tx.as_raw_fd()) || enable_gro(rx.as_raw_fd()).is_err() {
            return; // kernel without UDP GSO or GRO
        }
        let dest = rx.local_addr().unwrap();
        let full = vec![1u8; 488];
        let last = vec![2u8; 100];
        let mut b = SendBatch::new();
        for train in 0..2u8 {
            let segs = (0..4u8).map(|i| {
                let p: &[u8] = if i == 3 { &last } else { &full };
                ([0x80, 26, train, i, 0, 0, 0, 0, 0, 0, 0, 1], p)
            });
            b.push_gso(dest, 500, segs);
        }
        // And one plain datagram between trains.
        b.flush(tx.as_raw_fd());
        let mut plain = SendBatch::new();
        plain.push(dest, [0x80, 26, 9, 9, 0, 0, 0, 0, 0, 0, 0, 1], &last);
        plain.flush(tx.as_raw_fd());
        let mut rb = RecvBatch::with_gro(8);
        let (got, msgs) = recv_n(&mut rb, rx.as_raw_fd(), 9);
        assert_eq!(msgs, 3, "two trains and a datagram");
        let lens: Vec<usize> = got.iter().map(Vec::len).collect();
        assert_eq!(lens, [500, 500, 500, 112, 500, 500, 500, 112, 112]);
        let seqs: Vec<(u8, u8)> = got.iter().map(|d| (d[2], d[3])).collect();
        assert_eq!(
            seqs,
            [
                (0, 0),
                (0, 1),
                (0, 2),
                (0, 3),
                (1, 0),
                (1, 1),
                (1, 2),
                (1, 3),
                (9, 9)
            ]
        );
    }

    #[test]
    fn kernel_receive_stamps_map_to_instants() {
        let rx = UdpSocket::bind("127.0.0.1:0").unwrap();
        let tx = UdpSocket::bind("127.0.0.1:0").unwrap();
        let mut rb = RecvBatch::new(4, 2048);
        // Unstamped socket: no stamp.
        tx.send_to(&[0x80, 26, 0, 1], rx.local_addr().unwrap())
            .unwrap();
        recv_n(&mut rb, rx.as_raw_fd(), 1);
        assert_eq!(rb.stamp(0), None);
        enable_timestamps(rx.as_raw_fd()).unwrap();
        let before = std::time::Instant::now();
        tx.send_to(&[0x80, 26, 0, 2], rx.local_addr().unwrap())
            .unwrap();
        recv_n(&mut rb, rx.as_raw_fd(), 1);
        let clock = StampClock::now();
        let at = clock.at(rb.stamp(0));
        assert!(rb.stamp(0).is_some());
        // The stamp lies between the send and the read (1 ms of slack for clock rounding).
        assert!(
            at + Duration::from_millis(1) >= before,
            "{at:?} < {before:?}"
        );
        assert!(at <= clock.instant());
        // No stamp, or one from the future: the reading itself.
        assert_eq!(clock.at(None), clock.instant());
        assert_eq!(clock.at(Some(Duration::MAX)), clock.instant());
    }

    #[test]
    fn nofile_can_be_raised() {
        assert!(raise_nofile(256).unwrap() >= 256);
        assert!(process_cpu() > Duration::ZERO || thread_cpu() >= Duration::ZERO);
    }
}
