//! Thin wrappers over the Linux calls the load tools need (libc): `recvmmsg` (with UDP GRO and
//! kernel receive stamps), `setrlimit(RLIMIT_NOFILE)`, CPU clocks, socket buffer sizes.
//! Batched sends (`sendmmsg`, UDP GSO) are runtime-mio's: [`runtime_mio::udp`].
//!
//! All `unsafe` of the load tools lives here.
#![allow(unsafe_code)]

use std::io;
use std::mem;
use std::os::fd::RawFd;
use std::time::Duration;

/// `SOL_UDP` socket option level.
const SOL_UDP: libc::c_int = 17;
/// `UDP_GRO` (Linux 5.0+): receive GSO trains whole, with the segment size as a cmsg.
const UDP_GRO: libc::c_int = 104;

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

#[cfg(test)]
mod tests {
    use super::*;
    use rtsp_core::io::InlineHeader;
    use runtime_mio::udp::{probe_gso, Datagram, Sender};
    use std::net::{SocketAddr, UdpSocket};
    use std::os::fd::AsRawFd;

    /// Datagrams `header ++ body` to `dest`, the header from `h`.
    fn dgrams(dest: SocketAddr, headers: &[[u8; 12]], bodies: &[&[u8]]) -> Vec<Datagram> {
        headers
            .iter()
            .zip(bodies)
            .map(|(h, b)| Datagram {
                remote: dest,
                header: InlineHeader::new(h).expect("12 bytes fit"),
                body: bytes::Bytes::copy_from_slice(b),
            })
            .collect()
    }

    fn header(a: u8, b: u8) -> [u8; 12] {
        [0x80, 26, a, b, 0, 0, 0, 0, 0, 0, 0, 1]
    }

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
        let payload = [7u8; 100];
        let headers: Vec<[u8; 12]> = (0..5u8).map(|i| header(0, i)).collect();
        let pkts = dgrams(dest, &headers, &[&payload[..]; 5]);
        let r = Sender::new().send(tx.as_raw_fd(), &pkts, false);
        assert_eq!(r.sent, 5);
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
        let (full, last) = ([1u8; 488], [2u8; 100]);
        let headers: Vec<[u8; 12]> = (0..4u8).map(|i| header(0, i)).collect();
        let pkts = dgrams(dest, &headers, &[&full[..], &full, &full, &last]);
        let r = Sender::new().send(tx.as_raw_fd(), &pkts, true);
        assert_eq!((r.sent, r.syscalls), (4, 1));
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
        let (full, last) = ([1u8; 488], [2u8; 100]);
        let mut sender = Sender::new();
        let mut pkts = Vec::new();
        for train in 0..2u8 {
            let headers: Vec<[u8; 12]> = (0..4u8).map(|i| header(train, i)).collect();
            pkts.extend(dgrams(dest, &headers, &[&full[..], &full, &full, &last]));
        }
        // Two trains (a shorter datagram ends each), then one plain datagram.
        sender.send(tx.as_raw_fd(), &pkts, true);
        let plain = dgrams(dest, &[header(9, 9)], &[&last[..]]);
        sender.send(tx.as_raw_fd(), &plain, false);
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
