//! Opening a TCP connection that a stop interrupts: name resolution, then a non-blocking
//! connect polled while waiting on the [`StopSignal`].

use std::io;
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::time::{Duration, Instant};

use socket2::{Domain, Socket, Type};

use super::emit::Ended;
use super::stop::StopSignal;

/// First pause between two looks at a connecting socket; it doubles up to [`POLL_MAX`].
const POLL_MIN: Duration = Duration::from_millis(1);
/// Longest pause between two looks at a connecting socket.
const POLL_MAX: Duration = Duration::from_millis(50);

/// Connects to `host:port` (a name is resolved here, blocking), trying each address in turn
/// within `timeout` each. The stream is blocking, with `TCP_NODELAY`.
pub(super) fn connect(
    host: &str,
    port: u16,
    timeout: Duration,
    stop: &StopSignal,
) -> Result<TcpStream, Ended> {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    let addrs: Vec<SocketAddr> = (bare, port)
        .to_socket_addrs()
        .map_err(|e| Ended::lost(format!("cannot resolve {host}: {e}")))?
        .collect();
    let mut last = None;
    for addr in addrs {
        if stop.is_stopped() {
            return Err(Ended::Stopped);
        }
        match connect_addr(addr, timeout, stop) {
            Ok(Some(stream)) => return Ok(stream),
            Ok(None) => return Err(Ended::Stopped),
            Err(e) => {
                tracing::debug!(%addr, error = %e, "connect failed");
                last = Some((addr, e));
            }
        }
    }
    Err(match last {
        Some((addr, e)) => Ended::lost(format!("cannot connect to {addr}: {e}")),
        None => Ended::lost(format!("{host} has no address")),
    })
}

/// One address: `Ok(None)` when the stop came first.
fn connect_addr(
    addr: SocketAddr,
    timeout: Duration,
    stop: &StopSignal,
) -> io::Result<Option<TcpStream>> {
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, None)?;
    socket.set_nonblocking(true)?;
    match socket.connect(&addr.into()) {
        Ok(()) => {}
        Err(e)
            if e.raw_os_error() == Some(libc::EINPROGRESS)
                || e.kind() == io::ErrorKind::WouldBlock => {}
        Err(e) => return Err(e),
    }
    let deadline = Instant::now() + timeout;
    let mut pause = POLL_MIN;
    loop {
        // A failed connect leaves its error in SO_ERROR; a completed one has a peer.
        if let Some(e) = socket.take_error()? {
            return Err(e);
        }
        if socket.peer_addr().is_ok() {
            socket.set_nonblocking(false)?;
            socket.set_tcp_nodelay(true)?;
            return Ok(Some(socket.into()));
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(io::Error::new(
                io::ErrorKind::TimedOut,
                format!("no connection within {:.1} s", timeout.as_secs_f64()),
            ));
        }
        if stop.wait(pause.min(left)) {
            return Ok(None);
        }
        pause = (pause * 2).min(POLL_MAX);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;

    #[test]
    fn connects_to_a_listener_and_reports_a_refusal() {
        let stop = StopSignal::default();
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        let s = connect("127.0.0.1", port, Duration::from_secs(5), &stop).unwrap();
        let (peer, _) = l.accept().unwrap();
        assert_eq!(peer.peer_addr().unwrap(), s.local_addr().unwrap());
        drop(l);
        match connect("127.0.0.1", port, Duration::from_secs(5), &stop) {
            Err(Ended::Lost(reason)) => assert!(reason.contains("refused"), "{reason}"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_stop_ends_the_attempt() {
        let stop = StopSignal::default();
        stop.stop();
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        assert!(matches!(
            connect("127.0.0.1", port, Duration::from_secs(5), &stop),
            Err(Ended::Stopped)
        ));
    }
}
