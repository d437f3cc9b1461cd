//! The RTP socket's receive buffer: asking for a large one (a 2000x2000 frame is a burst of
//! ~140 datagrams, more than the default buffer holds while the reader thread is busy), and the
//! datagrams the kernel dropped because it was full.
//!
//! The drop count is the `drops` column of `/proc/net/udp` (or `udp6`) for the socket's inode
//! (from `/proc/self/fd/N`, which reads `socket:[INODE]`): the kernel's own count for this
//! socket, read once at the end, without changing how the runtime receives. Linux only; the
//! count is `None` elsewhere.

use std::io;
use std::net::UdpSocket;
use std::os::fd::AsRawFd;

/// What the RTP socket asks for by default (`--recv-buffer`): 4 MiB, enough for several large
/// frames in a burst.
pub const WANTED: usize = 4 << 20;

/// The receive buffer the kernel granted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecvBuffer {
    /// Bytes asked for.
    pub asked: usize,
    /// Bytes granted (`SO_RCVBUF` as read back; Linux doubles the request for its own
    /// bookkeeping and caps it at `net.core.rmem_max`).
    pub granted: usize,
}

impl RecvBuffer {
    /// Whether the kernel granted less than asked (on Linux: less than twice the request).
    pub fn short(&self) -> bool {
        let full = if cfg!(target_os = "linux") {
            self.asked.saturating_mul(2)
        } else {
            self.asked
        };
        self.granted < full
    }

    /// The note for a short buffer: `receive buffer 425984 bytes (asked 4194304; raise
    /// net.core.rmem_max)`.
    pub fn note(&self) -> String {
        format!(
            "receive buffer {} bytes (asked {}; raise net.core.rmem_max)",
            self.granted, self.asked
        )
    }
}

/// Asks for a `wanted`-byte receive buffer on `sock`; returns what was granted.
pub fn enlarge(sock: &UdpSocket, wanted: usize) -> io::Result<RecvBuffer> {
    let s = socket2::SockRef::from(sock);
    s.set_recv_buffer_size(wanted)?;
    Ok(RecvBuffer {
        asked: wanted,
        granted: s.recv_buffer_size()?,
    })
}

/// Watches one socket's kernel drop count: holds a duplicate of it (so its `/proc` entry lives
/// as long as the watch, after the runtime closed its own) and its inode.
#[derive(Debug)]
pub struct DropWatch {
    _keep: UdpSocket,
    inode: Option<u64>,
}

impl DropWatch {
    /// A watch on `sock`.
    pub fn new(sock: &UdpSocket) -> io::Result<Self> {
        let keep = sock.try_clone()?;
        let inode = std::fs::read_link(format!("/proc/self/fd/{}", keep.as_raw_fd()))
            .ok()
            .and_then(|l| parse_socket_link(&l.to_string_lossy()));
        Ok(Self { _keep: keep, inode })
    }

    /// Datagrams the kernel dropped on this socket so far (its receive buffer was full), if
    /// the system tells.
    pub fn drops(&self) -> Option<u64> {
        let inode = self.inode?;
        ["/proc/net/udp", "/proc/net/udp6"]
            .iter()
            .filter_map(|p| std::fs::read_to_string(p).ok())
            .find_map(|table| drops_in(&table, inode))
    }
}

/// The inode of a `/proc/self/fd` link to a socket: `socket:[12345]`.
fn parse_socket_link(link: &str) -> Option<u64> {
    link.strip_prefix("socket:[")?
        .strip_suffix(']')?
        .parse()
        .ok()
}

/// The `drops` column (the last) of the `/proc/net/udp` row with this inode (the 10th column).
fn drops_in(table: &str, inode: u64) -> Option<u64> {
    table.lines().skip(1).find_map(|row| {
        let cols: Vec<&str> = row.split_whitespace().collect();
        let ours = cols.get(9)?.parse::<u64>().ok()? == inode;
        ours.then(|| cols.last()?.parse().ok()).flatten()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_proc_table() {
        let table = "   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops
 1234: 00000000:1F90 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 5555 2 0000000000000000 0
 1235: 0100007F:1F92 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 7777 2 0000000000000000 220
";
        assert_eq!(drops_in(table, 7777), Some(220));
        assert_eq!(drops_in(table, 5555), Some(0));
        assert_eq!(drops_in(table, 1), None);
        assert_eq!(parse_socket_link("socket:[7777]"), Some(7777));
        assert_eq!(parse_socket_link("pipe:[7777]"), None);
    }

    #[test]
    fn a_real_socket_gets_a_large_buffer_and_a_drop_count() {
        let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
        let buf = enlarge(&sock, WANTED).unwrap();
        assert!(buf.granted > 0);
        if buf.short() {
            assert!(
                buf.note().contains("raise net.core.rmem_max"),
                "{}",
                buf.note()
            );
        }
        let watch = DropWatch::new(&sock).unwrap();
        if cfg!(target_os = "linux") {
            assert_eq!(watch.drops(), Some(0));
        }
    }

    /// A small buffer flooded without reading: the kernel's drops show in the count.
    #[test]
    fn drops_are_counted_when_the_buffer_overflows() {
        if !cfg!(target_os = "linux") {
            return;
        }
        let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
        socket2::SockRef::from(&sock)
            .set_recv_buffer_size(4096)
            .unwrap();
        let watch = DropWatch::new(&sock).unwrap();
        let tx = UdpSocket::bind("127.0.0.1:0").unwrap();
        let payload = [0u8; 1400];
        for _ in 0..200 {
            tx.send_to(&payload, sock.local_addr().unwrap()).unwrap();
        }
        let drops = watch.drops().expect("a count");
        assert!(drops > 100, "{drops}");
    }
}
