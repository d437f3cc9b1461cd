//! Shared pieces of the load tools (`rtsp-load`, `udp-ceiling`): RTP-header counting with frame
//! timing (headers parsed by `rtp_core`), batched UDP receive (`recvmmsg`), CPU and memory
//! readings from `/proc`, and the loopback-only target check. Batched sends (`sendmmsg`, UDP
//! GSO) are the server runtime's own: `runtime_mio::udp`.
//!
//! Nothing here decodes JPEG: a stream is measured from its RTP headers alone (sequence number →
//! loss, timestamp and arrival time → frame timing).

#![deny(missing_docs)]

pub mod count;
pub mod http;
pub mod procfs;
pub mod sys;
pub mod viewers;

use std::net::{IpAddr, SocketAddr, ToSocketAddrs};

/// Whether `ip` is a loopback address: `127.0.0.0/8` or `::1` (also `::ffff:127.x.y.z`).
pub fn is_loopback(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => v4.is_loopback(),
        IpAddr::V6(v6) => {
            v6.is_loopback() || v6.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback())
        }
    }
}

/// Resolves `host:port` and returns the first address, refusing any target that is not loopback
/// (every resolved address must be loopback: these tools never send to another machine).
pub fn resolve_loopback(host: &str, port: u16) -> Result<SocketAddr, String> {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let addrs: Vec<SocketAddr> = (host, port)
        .to_socket_addrs()
        .map_err(|e| format!("cannot resolve {host}: {e}"))?
        .collect();
    if addrs.is_empty() {
        return Err(format!("{host} resolves to no address"));
    }
    if let Some(bad) = addrs.iter().find(|a| !is_loopback(a.ip())) {
        return Err(format!(
            "refusing non-loopback target {bad} ({host}): only 127.0.0.0/8 and ::1 are allowed"
        ));
    }
    Ok(addrs[0])
}

/// Most sessions [`source_addrs`] puts on one source address by default: half the server's
/// default sessions per IP address (16), a quarter of its connections per IP address (32).
pub const SESSIONS_PER_SOURCE: usize = 8;

/// The first source address when sessions are spread over several: `127.0.0.2` (the next
/// ones follow it; all of 127.0.0.0/8 is local on Linux).
pub const FIRST_SOURCE: std::net::Ipv4Addr = std::net::Ipv4Addr::new(127, 0, 0, 2);

/// The source addresses of `sessions` sessions against `server` (session `i` uses
/// `addrs[i % addrs.len()]`): `wanted` of them (`None`: enough that none carries more than
/// [`SESSIONS_PER_SOURCE`] sessions when `server` is IPv4 loopback, else one), never more
/// than there are sessions. Several are `127.0.0.2`, `127.0.0.3`, ...; one is `server`'s
/// address itself, for the kernel to pick the source as without this option.
pub fn source_addrs(
    server: IpAddr,
    sessions: usize,
    wanted: Option<usize>,
) -> Result<Vec<IpAddr>, String> {
    let v4_loopback = matches!(server, IpAddr::V4(ip) if ip.is_loopback());
    let n = match wanted {
        Some(0) => return Err("--sources must be at least 1".into()),
        Some(n) if n > 1 && !v4_loopback => {
            return Err(format!(
                "--sources {n} needs an IPv4 loopback target (127.0.0.0/8), not {server}"
            ))
        }
        Some(n) => n,
        None if v4_loopback => sessions.div_ceil(SESSIONS_PER_SOURCE),
        None => 1,
    };
    let n = n.min(sessions).max(1);
    if n == 1 {
        return Ok(vec![server]);
    }
    let first = u32::from(FIRST_SOURCE);
    // 127.0.0.2 + n - 1 stays inside 127.0.0.0/8 below its broadcast address.
    let last = first
        .checked_add(n as u32 - 1)
        .filter(|&l| l < u32::from(std::net::Ipv4Addr::new(127, 255, 255, 255)))
        .ok_or_else(|| format!("--sources {n}: more than 127.0.0.0/8 holds"))?;
    Ok((first..=last)
        .map(|a| IpAddr::V4(std::net::Ipv4Addr::from(a)))
        .collect())
}

/// How a report names source addresses: `127.0.0.2-127.0.0.14`, or the one address.
pub fn source_range(addrs: &[IpAddr]) -> String {
    match addrs {
        [] => "none".into(),
        [one] => one.to_string(),
        [first, .., last] => format!("{first}-{last}"),
    }
}

/// Starts a non-blocking connect to `server`, from `source` when given (else from the
/// address the kernel picks).
pub fn connect_from(
    source: Option<IpAddr>,
    server: SocketAddr,
) -> std::io::Result<mio::net::TcpStream> {
    let Some(source) = source else {
        return mio::net::TcpStream::connect(server);
    };
    use socket2::{Domain, Protocol, Socket, Type};
    let s = Socket::new(
        Domain::for_address(server),
        Type::STREAM,
        Some(Protocol::TCP),
    )?;
    s.set_nonblocking(true)?;
    s.bind(&SocketAddr::new(source, 0).into())?;
    match s.connect(&server.into()) {
        Ok(()) => {}
        Err(e) if e.raw_os_error() == Some(libc::EINPROGRESS) => {}
        Err(e) => return Err(e),
    }
    Ok(mio::net::TcpStream::from_std(s.into()))
}

/// Percentile (0..=100) of an already sorted slice, nearest-rank; 0 when empty.
pub fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_only() {
        assert!(is_loopback("127.0.0.1".parse().unwrap()));
        assert!(is_loopback("127.3.2.1".parse().unwrap()));
        assert!(is_loopback("::1".parse().unwrap()));
        assert!(is_loopback("::ffff:127.0.0.1".parse().unwrap()));
        assert!(!is_loopback("10.0.0.1".parse().unwrap()));
        assert!(!is_loopback("192.168.1.1".parse().unwrap()));
        assert!(!is_loopback("::2".parse().unwrap()));
        assert!(resolve_loopback("127.0.0.1", 8554).is_ok());
        assert!(resolve_loopback("[::1]", 8554).is_ok());
        assert!(resolve_loopback("10.1.2.3", 8554).is_err());
    }

    #[test]
    fn sources_spread_sessions_over_loopback_addresses() {
        let lo: IpAddr = "127.0.0.1".parse().unwrap();
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        // Default: at most 8 sessions an address.
        let a = source_addrs(lo, 100, None).unwrap();
        assert_eq!(a.len(), 13);
        assert_eq!((a[0], a[12]), (ip("127.0.0.2"), ip("127.0.0.14")));
        assert_eq!(source_range(&a), "127.0.0.2-127.0.0.14");
        assert_eq!(source_addrs(lo, 8, None).unwrap(), [lo]);
        assert_eq!(source_addrs(lo, 9, None).unwrap().len(), 2);
        // 1000 sessions: past 127.0.0.255 into 127.0.1.x.
        let a = source_addrs(lo, 1000, None).unwrap();
        assert_eq!(a.len(), 125);
        assert_eq!(a[124], ip("127.0.0.126"));
        let a = source_addrs(lo, 20_000, None).unwrap();
        assert_eq!((a.len(), a[2499]), (2500, ip("127.0.9.197")));
        // Asked for: one is the target's address (no binding), never more than sessions.
        assert_eq!(source_addrs(lo, 100, Some(1)).unwrap(), [lo]);
        assert_eq!(source_addrs(lo, 3, Some(10)).unwrap().len(), 3);
        assert!(source_addrs(lo, 3, Some(0)).is_err());
        // IPv6 loopback: one source unless asked, and then refused.
        let v6 = ip("::1");
        assert_eq!(source_addrs(v6, 100, None).unwrap(), [v6]);
        assert_eq!(source_addrs(v6, 100, Some(1)).unwrap(), [v6]);
        assert!(source_addrs(v6, 100, Some(4)).is_err());
        assert_eq!(source_range(&[v6]), "::1");
    }

    #[test]
    fn connects_from_the_source_address() {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let server = l.local_addr().unwrap();
        for (source, seen) in [(Some("127.0.0.7"), "127.0.0.7"), (None, "127.0.0.1")] {
            let source = source.map(|s| s.parse().unwrap());
            let c = connect_from(source, server).unwrap();
            let (_, peer) = l.accept().unwrap();
            assert_eq!(peer.ip().to_string(), seen);
            assert_eq!(c.local_addr().unwrap().ip(), peer.ip());
        }
    }

    #[test]
    fn percentiles() {
        let v: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(percentile(&v, 50.0), 50.0);
        assert_eq!(percentile(&v, 99.0), 99.0);
        assert_eq!(percentile(&v, 100.0), 100.0);
        assert_eq!(percentile(&[], 50.0), 0.0);
    }
}
