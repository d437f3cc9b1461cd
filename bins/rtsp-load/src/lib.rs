//! Shared pieces of the load tools (`rtsp-load`, `udp-ceiling`): RTP-header counting with frame
//! timing (headers parsed by `rtp_core`), batched UDP receive (`recvmmsg`), CPU and memory
//! readings from `/proc`, and the loopback-only target check. Batched sends (`sendmmsg`, UDP
//! GSO) are the server runtime's own: `runtime_mio::udp`.
//!
//! Nothing here decodes JPEG: a stream is measured from its RTP headers alone (sequence number →
//! loss, timestamp and arrival time → frame timing).

#![deny(missing_docs)]

pub mod count;
pub mod procfs;
pub mod sys;

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
    fn percentiles() {
        let v: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(percentile(&v, 50.0), 50.0);
        assert_eq!(percentile(&v, 99.0), 99.0);
        assert_eq!(percentile(&v, 100.0), 100.0);
        assert_eq!(percentile(&[], 50.0), 0.0);
    }
}
