//! rtsp-ceiling: the control-path ceiling for RTSP session setup on this machine.
//!
//! ```text
//! rtsp-ceiling [--port 8554] [--bind 127.0.0.1] [--threads N] [--seconds 60]
//! ```
//!
//! A minimal RTSP responder: N mio loops (default: the number of cores) on `SO_REUSEPORT`
//! listeners, like `server-mio`, answering DESCRIBE, SETUP, PLAY, TEARDOWN, OPTIONS and
//! GET_PARAMETER with canned replies. It looks only at the request line, `CSeq` and
//! `Transport`; it sends no media and keeps no sessions. Measured with `rtsp-load` it gives
//! the setup latency that the kernel, the loopback path and the load generator allow on this
//! machine, which is the floor any real server's figure is compared against (BENCHMARKS.md).
//!
//! Not a server: it answers every path with the same one-stream SDP. It listens on loopback
//! only and exits after `--seconds`.

use std::collections::HashMap;
use std::io::{self, Read, Write};
use std::net::{IpAddr, SocketAddr};
use std::process::ExitCode;
use std::thread;
use std::time::{Duration, Instant};

use clap::Parser;
use mio::net::{TcpListener, TcpStream};
use mio::{Events, Interest, Poll, Token};

/// Minimal canned RTSP responder (no media) for setup-latency ceilings.
#[derive(Debug, Parser)]
#[command(name = "rtsp-ceiling", version)]
struct Args {
    /// TCP port.
    #[arg(long, default_value_t = 8554)]
    port: u16,
    /// Address to listen on (loopback only).
    #[arg(long, default_value = "127.0.0.1")]
    bind: IpAddr,
    /// Event loops (default: the number of cores).
    #[arg(long)]
    threads: Option<usize>,
    /// Exit after this many seconds.
    #[arg(long, default_value_t = 60)]
    seconds: u64,
}

const LISTENER: Token = Token(usize::MAX);
/// A request head larger than this closes the connection.
const MAX_HEAD: usize = 8 * 1024;

const SDP: &str = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=ceiling\r\nc=IN IP4 0.0.0.0\r\nt=0 0\r\na=control:*\r\nm=video 0 RTP/AVP 26\r\na=control:stream=0\r\n";

struct Conn {
    stream: TcpStream,
    buf: Vec<u8>,
    session: u64,
}

fn main() -> ExitCode {
    let args = Args::parse();
    if !args.bind.is_loopback() {
        eprintln!("rtsp-ceiling: --bind must be a loopback address");
        return ExitCode::from(2);
    }
    let threads = args
        .threads
        .unwrap_or_else(|| thread::available_parallelism().map_or(1, |n| n.get()))
        .clamp(1, 64);
    let addr = SocketAddr::new(args.bind, args.port);
    let end = Instant::now() + Duration::from_secs(args.seconds);
    let mut loops = Vec::new();
    for i in 0..threads {
        let listener = match listen(addr, threads > 1) {
            Ok(l) => l,
            Err(e) => {
                eprintln!("rtsp-ceiling: {addr}: {e}");
                return ExitCode::from(2);
            }
        };
        loops.push(thread::spawn(move || run(listener, i as u64, end)));
    }
    eprintln!("rtsp-ceiling: rtsp://{addr}/ ({threads} loops, no media)");
    for l in loops {
        if let Ok(Err(e)) = l.join() {
            eprintln!("rtsp-ceiling: {e}");
        }
    }
    ExitCode::SUCCESS
}

fn listen(addr: SocketAddr, reuse_port: bool) -> io::Result<TcpListener> {
    use socket2::{Domain, Protocol, Socket, Type};
    let s = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    s.set_reuse_address(true)?;
    if reuse_port {
        s.set_reuse_port(true)?;
    }
    s.set_tcp_nodelay(true)?; // inherited by accepted connections
    s.set_nonblocking(true)?;
    s.bind(&addr.into())?;
    s.listen(4096)?;
    Ok(TcpListener::from_std(s.into()))
}

fn run(mut listener: TcpListener, loop_id: u64, end: Instant) -> io::Result<()> {
    let mut poll = Poll::new()?;
    poll.registry()
        .register(&mut listener, LISTENER, Interest::READABLE)?;
    let mut conns: HashMap<usize, Conn> = HashMap::new();
    let mut next = 0usize;
    let mut events = Events::with_capacity(1024);
    let mut rx = vec![0u8; 64 * 1024];
    let mut sessions = loop_id << 48;
    while Instant::now() < end {
        let left = end.saturating_duration_since(Instant::now());
        if let Err(e) = poll.poll(&mut events, Some(left.min(Duration::from_secs(1)))) {
            if e.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return Err(e);
        }
        for ev in events.iter() {
            if ev.token() == LISTENER {
                loop {
                    match listener.accept() {
                        Ok((mut stream, _)) => {
                            let t = next;
                            next += 1;
                            poll.registry()
                                .register(&mut stream, Token(t), Interest::READABLE)?;
                            sessions += 1;
                            let session = sessions;
                            let buf = Vec::new();
                            conns.insert(
                                t,
                                Conn {
                                    stream,
                                    buf,
                                    session,
                                },
                            );
                        }
                        Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                        Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                        Err(_) => break,
                    }
                }
                continue;
            }
            let t = ev.token().0;
            let to_end = ev.is_read_closed() || ev.is_error();
            let close = match conns.get_mut(&t) {
                Some(c) => serve(c, &mut rx, to_end),
                None => false,
            };
            if close {
                if let Some(mut c) = conns.remove(&t) {
                    let _ = poll.registry().deregister(&mut c.stream);
                }
            }
        }
    }
    Ok(())
}

/// Reads what `c` sent and answers every complete request; true when it is to be closed.
fn serve(c: &mut Conn, rx: &mut [u8], to_end: bool) -> bool {
    loop {
        match c.stream.read(rx) {
            Ok(0) => return true,
            Ok(n) => {
                c.buf.extend_from_slice(&rx[..n]);
                while let Some(end) = find(&c.buf, b"\r\n\r\n") {
                    let reply = respond(&c.buf[..end], c.session);
                    c.buf.drain(..end + 4);
                    // Replies are small: a short write on a fresh loopback connection
                    // does not happen, and this is a measuring tool, not a server.
                    if c.stream.write_all(reply.as_bytes()).is_err() {
                        return true;
                    }
                }
                if c.buf.len() > MAX_HEAD {
                    return true;
                }
                if n < rx.len() && !to_end {
                    return false;
                }
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return false,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => return true,
        }
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// The canned reply to one request head.
fn respond(head: &[u8], session: u64) -> String {
    let head = String::from_utf8_lossy(head);
    let mut lines = head.split("\r\n");
    let request = lines.next().unwrap_or("");
    let mut parts = request.split(' ');
    let method = parts.next().unwrap_or("");
    let url = parts.next().unwrap_or("");
    let mut cseq = "0";
    let mut transport = "";
    for l in lines {
        if let Some((name, value)) = l.split_once(':') {
            let value = value.trim();
            if name.eq_ignore_ascii_case("cseq") {
                cseq = value;
            } else if name.eq_ignore_ascii_case("transport") {
                transport = value;
            }
        }
    }
    let base = format!("RTSP/1.0 200 OK\r\nCSeq: {cseq}\r\nServer: rtsp-ceiling\r\n");
    match method {
        "DESCRIBE" => {
            let base_url = if url.ends_with('/') {
                url.to_string()
            } else {
                format!("{url}/")
            };
            format!(
                "{base}Content-Base: {base_url}\r\nContent-Type: application/sdp\r\nContent-Length: {}\r\n\r\n{SDP}",
                SDP.len()
            )
        }
        "SETUP" => {
            let t = transport.split(',').next().unwrap_or("");
            let server_port = if t.contains("interleaved") {
                ""
            } else {
                ";server_port=6970-6971"
            };
            format!(
                "{base}Transport: {t}{server_port};ssrc=0000CE11\r\nSession: {session:016X};timeout=60\r\n\r\n"
            )
        }
        "PLAY" => format!(
            "{base}Session: {session:016X}\r\nRange: npt=0.000-\r\nRTP-Info: url={url};seq=0;rtptime=0\r\n\r\n"
        ),
        "OPTIONS" => format!(
            "{base}Public: OPTIONS, DESCRIBE, SETUP, PLAY, TEARDOWN, GET_PARAMETER\r\n\r\n"
        ),
        _ => format!("{base}\r\n"),
    }
}
