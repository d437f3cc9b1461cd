//! Batched UDP sends on Linux: `sendmmsg(2)` with two iovecs per datagram (the per-session
//! header and the shared payload, never copied), and UDP GSO (`UDP_SEGMENT`) for runs of
//! same-destination, equal-size datagrams. The runtime's fan-out sends through it, and so do
//! the load tools (`udp-ceiling`).
//!
//! All `unsafe` of the runtime lives here. Every call passes pointers into vectors owned by
//! [`Sender`] (or by the caller's datagram slice, which outlives the call); the vectors are
//! filled completely before any pointer into them is taken and cleared after the call, so no
//! pointer outlives the data it points to.
#![allow(unsafe_code)]

use std::io;
use std::mem;
use std::net::SocketAddr;
use std::os::fd::RawFd;

use bytes::Bytes;
use rtsp_core::io::InlineHeader;
use socket2::SockAddr;

/// Most segments in one GSO send (the kernel's `UDP_MAX_SEGMENTS` is 64 on older kernels).
pub const MAX_SEGMENTS: usize = 64;
/// Most bytes in one GSO send (an IP datagram's payload, with room for headers).
pub const MAX_GSO_BYTES: usize = 65_000;
/// Messages per `sendmmsg` call (the kernel caps it at `UIO_MAXIOV` = 1024).
const MAX_MSGS: usize = 1024;
/// `SOL_UDP` / `UDP_SEGMENT` (linux/udp.h).
const SOL_UDP: libc::c_int = 17;
const UDP_SEGMENT: libc::c_int = 103;
/// Room for one `cmsghdr` carrying a `u16` (CMSG_SPACE(2) is 24 on 64-bit Linux).
const CMSG_BUF: usize = 32;

/// One datagram: `header ++ body`.
#[derive(Debug, Clone)]
pub struct Datagram {
    /// Where it goes.
    pub remote: SocketAddr,
    /// The per-datagram bytes (an RTP header), sent first.
    pub header: InlineHeader,
    /// The payload, shared with other datagrams (sent from where it is, never copied).
    pub body: Bytes,
}

impl Datagram {
    /// Its length in bytes.
    #[allow(clippy::len_without_is_empty)]
    pub fn len(&self) -> usize {
        self.header.len() + self.body.len()
    }
}

/// A control-message buffer aligned for `cmsghdr`.
#[derive(Clone, Copy)]
#[repr(C, align(8))]
struct CmsgBuf([u8; CMSG_BUF]);

/// One message of a `sendmmsg` call: `count` datagrams from `first`, GSO with segment size
/// `segment` when `count > 1`.
#[derive(Debug, Clone, Copy)]
struct Run {
    first: usize,
    count: usize,
    segment: usize,
}

/// What [`Sender::send`] did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct SendResult {
    /// Datagrams the kernel took.
    pub sent: usize,
    /// Datagrams dropped (socket buffer full, or an error for that destination).
    pub dropped: usize,
    /// GSO sends the kernel refused (their datagrams were sent one by one instead).
    pub gso_errors: usize,
    /// System calls made.
    pub syscalls: usize,
}

/// Reusable buffers for batched sends (no allocation per packet once warmed up).
pub struct Sender {
    runs: Vec<Run>,
    addrs: Vec<SockAddr>,
    iov: Vec<libc::iovec>,
    cmsgs: Vec<CmsgBuf>,
    msgs: Vec<libc::mmsghdr>,
    scratch: Vec<u8>,
}

// SAFETY: the raw pointers inside `iov` and `msgs` only live during one `send` call (the
// vectors are cleared before it returns); between calls the vectors are empty.
unsafe impl Send for Sender {}

impl std::fmt::Debug for Sender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sender").finish_non_exhaustive()
    }
}

impl Default for Sender {
    fn default() -> Self {
        Self::new()
    }
}

impl Sender {
    /// A sender with empty buffers.
    pub fn new() -> Self {
        Self {
            runs: Vec::new(),
            addrs: Vec::new(),
            iov: Vec::new(),
            cmsgs: Vec::new(),
            msgs: Vec::new(),
            scratch: Vec::new(),
        }
    }

    /// Sends `pkts` from `fd` in as few `sendmmsg` calls as possible; with `gso`, runs of
    /// consecutive datagrams to one destination, all of one size but the last (which may be
    /// shorter), go as one GSO message.
    pub fn send(&mut self, fd: RawFd, pkts: &[Datagram], gso: bool) -> SendResult {
        let mut res = SendResult::default();
        self.plan(pkts, gso);
        self.build(pkts);
        let mut off = 0;
        while off < self.msgs.len() {
            let n = (self.msgs.len() - off).min(MAX_MSGS);
            // SAFETY: `msgs[off..off + n]` are initialized `mmsghdr`s whose pointers point
            // into `self.addrs`, `self.iov`, `self.cmsgs` and the bodies/headers of `pkts`,
            // all alive and unmoved until this function returns.
            let r = unsafe {
                libc::sendmmsg(fd, self.msgs.as_mut_ptr().add(off), n as libc::c_uint, 0)
            };
            res.syscalls += 1;
            if r > 0 {
                for run in &self.runs[off..off + r as usize] {
                    res.sent += run.count;
                }
                off += r as usize;
                continue;
            }
            let err = io::Error::last_os_error();
            match err.kind() {
                io::ErrorKind::Interrupted => continue,
                io::ErrorKind::WouldBlock => {
                    // Socket buffer full: drop the rest (UDP is lossy; pacing goes on).
                    for run in &self.runs[off..] {
                        res.dropped += run.count;
                    }
                    break;
                }
                _ => {
                    let run = self.runs[off];
                    if run.count > 1 {
                        // The kernel refused the GSO message: send its datagrams one by one.
                        res.gso_errors += 1;
                        for p in &pkts[run.first..run.first + run.count] {
                            res.syscalls += 1;
                            if self.send_one(fd, p) {
                                res.sent += 1;
                            } else {
                                res.dropped += 1;
                            }
                        }
                    } else {
                        tracing::trace!(remote = %pkts[run.first].remote, error = %err, "UDP send failed");
                        res.dropped += 1;
                    }
                    off += 1;
                }
            }
        }
        self.msgs.clear();
        self.iov.clear();
        self.addrs.clear();
        self.runs.clear();
        res
    }

    /// Groups `pkts` into messages.
    fn plan(&mut self, pkts: &[Datagram], gso: bool) {
        let mut i = 0;
        while i < pkts.len() {
            let segment = pkts[i].len();
            let mut count = 1;
            let mut total = segment;
            if gso && segment > 0 {
                while let Some(p) = pkts.get(i + count) {
                    let len = p.len();
                    if count >= MAX_SEGMENTS
                        || p.remote != pkts[i].remote
                        || len > segment
                        || len == 0
                        || total + len > MAX_GSO_BYTES
                    {
                        break;
                    }
                    count += 1;
                    total += len;
                    if len < segment {
                        break; // only the last segment may be shorter
                    }
                }
            }
            self.runs.push(Run {
                first: i,
                count,
                segment,
            });
            i += count;
        }
    }

    /// Fills `addrs`, `iov`, `cmsgs` and then `msgs` (pointers are taken only once the
    /// vectors no longer grow).
    fn build(&mut self, pkts: &[Datagram]) {
        for run in &self.runs {
            self.addrs.push(SockAddr::from(pkts[run.first].remote));
        }
        for p in pkts {
            self.iov.push(libc::iovec {
                iov_base: p.header.as_slice().as_ptr() as *mut libc::c_void,
                iov_len: p.header.len(),
            });
            self.iov.push(libc::iovec {
                iov_base: p.body.as_ptr() as *mut libc::c_void,
                iov_len: p.body.len(),
            });
        }
        if self.cmsgs.len() < self.runs.len() {
            self.cmsgs.resize(self.runs.len(), CmsgBuf([0; CMSG_BUF]));
        }
        for (k, run) in self.runs.iter().enumerate() {
            // SAFETY: an all-zero msghdr is valid (null pointers, zero lengths).
            let mut hdr: libc::msghdr = unsafe { mem::zeroed() };
            let addr = &self.addrs[k];
            hdr.msg_name = addr.as_ptr() as *mut libc::c_void;
            hdr.msg_namelen = addr.len();
            // SAFETY: `2 * run.first` is within `iov` (two entries per datagram).
            hdr.msg_iov = unsafe { self.iov.as_mut_ptr().add(2 * run.first) };
            hdr.msg_iovlen = (2 * run.count) as _;
            if run.count > 1 {
                let buf = &mut self.cmsgs[k];
                buf.0 = [0; CMSG_BUF];
                hdr.msg_control = buf.0.as_mut_ptr() as *mut libc::c_void;
                // SAFETY: CMSG_SPACE/CMSG_FIRSTHDR/CMSG_DATA on a buffer of CMSG_BUF
                // (>= CMSG_SPACE(2)) bytes aligned for cmsghdr.
                unsafe {
                    hdr.msg_controllen = libc::CMSG_SPACE(mem::size_of::<u16>() as u32) as _;
                    let c = libc::CMSG_FIRSTHDR(&hdr);
                    (*c).cmsg_level = SOL_UDP;
                    (*c).cmsg_type = UDP_SEGMENT;
                    (*c).cmsg_len = libc::CMSG_LEN(mem::size_of::<u16>() as u32) as _;
                    std::ptr::write_unaligned(libc::CMSG_DATA(c) as *mut u16, run.segment as u16);
                }
            }
            self.msgs.push(libc::mmsghdr {
                msg_hdr: hdr,
                msg_len: 0,
            });
        }
    }

    /// The slow path: one datagram, copied into a scratch buffer.
    fn send_one(&mut self, fd: RawFd, p: &Datagram) -> bool {
        self.scratch.clear();
        self.scratch.extend_from_slice(p.header.as_slice());
        self.scratch.extend_from_slice(&p.body);
        let addr = SockAddr::from(p.remote);
        // SAFETY: valid buffer and address for the duration of the call.
        let r = unsafe {
            libc::sendto(
                fd,
                self.scratch.as_ptr() as *const libc::c_void,
                self.scratch.len(),
                0,
                addr.as_ptr() as *const libc::sockaddr,
                addr.len(),
            )
        };
        r >= 0
    }
}

/// Whether the kernel supports UDP GSO on `fd`: sets `UDP_SEGMENT` to 0 (off, the default),
/// which only kernels with UDP GSO (Linux 4.18+) accept.
pub fn probe_gso(fd: RawFd) -> bool {
    let zero: libc::c_int = 0;
    // SAFETY: a valid pointer to a c_int and its size.
    let r = unsafe {
        libc::setsockopt(
            fd,
            SOL_UDP,
            UDP_SEGMENT,
            &zero as *const libc::c_int as *const libc::c_void,
            mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    r == 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::UdpSocket;
    use std::os::fd::AsRawFd;

    fn dgram(remote: SocketAddr, seq: u8, body: &Bytes) -> Datagram {
        Datagram {
            remote,
            header: InlineHeader::new(&[0x80, 26, 0, seq]).unwrap(),
            body: body.clone(),
        }
    }

    fn roundtrip(gso: bool) {
        let tx = UdpSocket::bind("127.0.0.1:0").unwrap();
        let a = UdpSocket::bind("127.0.0.1:0").unwrap();
        let b = UdpSocket::bind("127.0.0.1:0").unwrap();
        let gso = gso && probe_gso(tx.as_raw_fd());
        let big = Bytes::from(vec![7u8; 1000]);
        let small = Bytes::from(vec![9u8; 10]);
        let (ra, rb) = (a.local_addr().unwrap(), b.local_addr().unwrap());
        let pkts = vec![
            dgram(ra, 0, &big),
            dgram(ra, 1, &big),
            dgram(ra, 2, &small),
            dgram(rb, 3, &big),
            dgram(ra, 4, &big),
        ];
        let mut s = Sender::new();
        let r = s.send(tx.as_raw_fd(), &pkts, gso);
        assert_eq!((r.sent, r.dropped, r.syscalls), (5, 0, 1));
        let mut buf = [0u8; 2000];
        for (sock, want) in [
            (&a, vec![(0, 1004), (1, 1004), (2, 14), (4, 1004)]),
            (&b, vec![(3, 1004)]),
        ] {
            for (seq, len) in want {
                let n = sock.recv(&mut buf).unwrap();
                assert_eq!((buf[3], n), (seq, len));
                assert_eq!(buf[4], if len == 14 { 9 } else { 7 });
            }
        }
    }

    #[test]
    fn sendmmsg_without_gso() {
        roundtrip(false);
    }

    #[test]
    fn sendmmsg_with_gso() {
        roundtrip(true);
    }
}
