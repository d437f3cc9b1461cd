//! The reader: one `rtsp_core::client::Client` (DESCRIBE, SETUP, PLAY) on a mio loop; every
//! complete frame it reports is matched to a sent frame by its scan and stamped with the arrival
//! of the packet that completed it.

use std::collections::HashMap;
use std::io::{self, Read, Write};
use std::net::SocketAddr;
use std::os::fd::AsRawFd;
use std::time::{Duration, Instant};

use mio::net::{TcpStream, UdpSocket};
use mio::{Events, Interest, Poll, Token};
use rtsp_core::client::{Client, ClientConfig, ClientEvent, TransportChoice};
use rtsp_core::io::{drain, ConnId, Dest, Input, Machine, Output};
use rtsp_core::url::RtspUrl;
use rtsp_load::resolve_loopback;
use rtsp_load::sys::{self, RecvBatch, StampClock};

use crate::{scan_key, Transport};

const TCP: Token = Token(0);
const RTP: Token = Token(1);
const RTCP: Token = Token(2);
const CONN: ConnId = ConnId(0);

struct Reader<'k> {
    client: Client,
    tcp: TcpStream,
    out: Vec<u8>,
    rtp: Option<(UdpSocket, SocketAddr)>,
    rtcp: Option<(UdpSocket, SocketAddr)>,
    keys: &'k HashMap<u64, u32>,
    /// (frame index, arrival) of every frame matched.
    arrivals: Vec<(u32, Instant)>,
    unmatched: u64,
    /// The server (the source given for RTP datagrams: the client does not check it).
    server: SocketAddr,
    /// The latest instant given to the client (its input time must not go back).
    last_input: Instant,
    playing: bool,
    torn_down: bool,
    failed: Option<String>,
}

/// Reads `url` until `until` (then TEARDOWN, bounded): the (frame index, arrival) of every
/// complete frame whose scan is one of `keys`.
pub fn run(
    url: &str,
    transport: Transport,
    keys: &HashMap<u64, u32>,
    until: Instant,
) -> Result<Vec<(u32, Instant)>, String> {
    let parsed = RtspUrl::parse(url).map_err(|e| format!("bad URL {url:?}: {e}"))?;
    let server = resolve_loopback(parsed.host(), parsed.port())?;
    let mut poll = Poll::new().map_err(|e| format!("poll: {e}"))?;
    let std_tcp = std::net::TcpStream::connect_timeout(&server, Duration::from_secs(5))
        .map_err(|e| format!("connect {server}: {e}"))?;
    std_tcp
        .set_nonblocking(true)
        .map_err(|e| format!("socket: {e}"))?;
    let _ = std_tcp.set_nodelay(true);
    let mut tcp = TcpStream::from_std(std_tcp);
    poll.registry()
        .register(&mut tcp, TCP, Interest::READABLE | Interest::WRITABLE)
        .map_err(|e| format!("register: {e}"))?;
    let (rtp, rtcp) = if transport == Transport::Udp {
        let (a, b) = runtime_mio::bind_udp_pair(server.ip()).map_err(|e| format!("bind: {e}"))?;
        for s in [&a, &b] {
            s.set_nonblocking(true)
                .map_err(|e| format!("socket: {e}"))?;
        }
        sys::enable_timestamps(a.as_raw_fd()).map_err(|e| format!("SO_TIMESTAMPNS: {e}"))?;
        let (la, lb) = (
            a.local_addr().map_err(|e| e.to_string())?,
            b.local_addr().map_err(|e| e.to_string())?,
        );
        let (mut a, mut b) = (UdpSocket::from_std(a), UdpSocket::from_std(b));
        poll.registry()
            .register(&mut a, RTP, Interest::READABLE)
            .and_then(|()| poll.registry().register(&mut b, RTCP, Interest::READABLE))
            .map_err(|e| format!("register: {e}"))?;
        (Some((a, la)), Some((b, lb)))
    } else {
        (None, None)
    };
    let now = Instant::now();
    let mut cfg = ClientConfig::new(url);
    cfg.user_agent = "live-latency".into();
    // Every packet to the depacketizer as it arrives: no reordering hold.
    cfg.reorder_window = 0;
    let client = Client::new(cfg, now).map_err(|e| format!("client: {e}"))?;
    let mut r = Reader {
        client,
        tcp,
        out: Vec::new(),
        rtp,
        rtcp,
        keys,
        arrivals: Vec::new(),
        unmatched: 0,
        server,
        last_input: now,
        playing: false,
        torn_down: false,
        failed: None,
    };
    r.client.describe().map_err(|e| format!("describe: {e}"))?;
    r.client.handle_input(Input::Connected {
        now,
        conn: CONN,
        peer: server,
    });
    let mut deadline = r.pump(now);
    let mut events = Events::with_capacity(256);
    let mut batch = RecvBatch::new(64, 2048);
    let mut buf = vec![0u8; 64 * 1024];
    let hard_end = until + Duration::from_secs(2);
    let mut tearing = false;
    loop {
        let now = Instant::now();
        if let Some(e) = r.failed.take() {
            return Err(e);
        }
        if now >= until && !tearing {
            tearing = true;
            if r.playing && r.client.teardown().is_ok() {
                deadline = r.pump(now);
            } else {
                break;
            }
        }
        if r.torn_down || now >= hard_end {
            break;
        }
        if deadline.is_some_and(|d| d <= now) {
            r.client.handle_input(Input::Timeout(now));
            deadline = r.pump(now);
        }
        let mut wake = if tearing { hard_end } else { until };
        if let Some(d) = deadline {
            wake = wake.min(d);
        }
        let timeout = wake.saturating_duration_since(Instant::now());
        match poll.poll(&mut events, Some(timeout)) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(format!("poll: {e}")),
        }
        for ev in events.iter() {
            match ev.token() {
                TCP => {
                    if let Some(d) = r.tcp_ready(&mut buf) {
                        deadline = d;
                    }
                }
                RTP => {
                    if let Some(d) = r.rtp_ready(&mut batch) {
                        deadline = d;
                    }
                }
                _ => {
                    if let Some(d) = r.rtcp_ready(&mut buf) {
                        deadline = d;
                    }
                }
            }
        }
    }
    if r.unmatched > 0 {
        eprintln!("live-latency: {} frames matched no sent frame", r.unmatched);
    }
    if !r.playing && r.arrivals.is_empty() {
        return Err("the reader never played".into());
    }
    Ok(r.arrivals)
}

impl Reader<'_> {
    /// Drains the client (sending what it asks, handling its events, which may call it again)
    /// and returns its next deadline. `at`: when the input just given arrived.
    fn pump(&mut self, at: Instant) -> Option<Instant> {
        loop {
            let mut evs = Vec::new();
            let (out, rtp, rtcp) = (&mut self.out, &self.rtp, &self.rtcp);
            let deadline = drain(&mut self.client, |o| match o {
                Output::Transmit(t) => match t.dest {
                    Dest::Stream(_) => out.extend_from_slice(&t.data),
                    Dest::Udp { local, remote } => {
                        let sock = [rtp, rtcp].into_iter().flatten().find(|(_, l)| *l == local);
                        if let Some((s, _)) = sock {
                            let _ = s.send_to(&t.data, remote);
                        }
                    }
                },
                Output::Close(_) => evs.push(ClientEvent::Closed),
                Output::Event(e) => evs.push(e),
                Output::Timeout(_) => {}
            });
            self.flush();
            let mut again = false;
            for e in evs {
                again |= self.on_event(e, at);
            }
            if !again {
                return deadline;
            }
        }
    }

    /// Handles one event; whether the client was called (drain again).
    fn on_event(&mut self, e: ClientEvent, at: Instant) -> bool {
        let result = match e {
            ClientEvent::Described { .. } => {
                let choice = match (&self.rtp, &self.rtcp) {
                    (Some((_, rtp_local)), Some((_, rtcp_local))) => TransportChoice::Udp {
                        rtp_local: *rtp_local,
                        rtcp_local: *rtcp_local,
                    },
                    _ => TransportChoice::Tcp,
                };
                self.client.setup(choice).map_err(|e| format!("setup: {e}"))
            }
            ClientEvent::SetupDone { .. } => {
                self.client.play(None).map_err(|e| format!("play: {e}"))
            }
            ClientEvent::Playing { .. } => {
                self.playing = true;
                return false;
            }
            ClientEvent::Frame { data, .. } => {
                match scan_key(&data).and_then(|k| self.keys.get(&k)) {
                    Some(&i) => self.arrivals.push((i, at)),
                    None => self.unmatched += 1,
                }
                return false;
            }
            ClientEvent::TornDown => {
                self.torn_down = true;
                return false;
            }
            ClientEvent::RequestFailed { method, status } => {
                Err(format!("{method} failed: {} ", status.0))
            }
            ClientEvent::Error(e) => Err(format!("client error: {e}")),
            ClientEvent::Closed => {
                if !self.torn_down {
                    self.torn_down = true;
                    if !self.playing {
                        self.failed = Some("the server closed the connection".into());
                    }
                }
                return false;
            }
            _ => return false,
        };
        match result {
            Ok(_) => true,
            Err(e) => {
                self.failed.get_or_insert(e);
                false
            }
        }
    }

    fn flush(&mut self) {
        let mut done = 0;
        while done < self.out.len() {
            match self.tcp.write(&self.out[done..]) {
                Ok(0) => break,
                Ok(n) => done += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) => {
                    self.failed.get_or_insert(format!("write: {e}"));
                    break;
                }
            }
        }
        self.out.drain(..done);
    }

    /// The control connection is readable (or writable): reads everything; the new deadline
    /// when the client was given input.
    fn tcp_ready(&mut self, buf: &mut [u8]) -> Option<Option<Instant>> {
        self.flush();
        let mut deadline = None;
        loop {
            match self.tcp.read(buf) {
                Ok(0) => {
                    let now = Instant::now();
                    self.client
                        .handle_input(Input::StreamClosed { now, conn: CONN });
                    self.torn_down = true;
                    if !self.playing {
                        self.failed
                            .get_or_insert("the server closed the connection".into());
                    }
                    return Some(self.pump(now));
                }
                Ok(n) => {
                    // Over TCP a frame arrives with the read that completes it.
                    let now = Instant::now();
                    self.client.handle_input(Input::Stream {
                        now,
                        conn: CONN,
                        data: &buf[..n],
                    });
                    deadline = Some(self.pump(now));
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return deadline,
                Err(e) => {
                    self.failed.get_or_insert(format!("read: {e}"));
                    return deadline;
                }
            }
        }
    }

    /// RTP datagrams: each given to the client with its kernel receive stamp.
    fn rtp_ready(&mut self, batch: &mut RecvBatch) -> Option<Option<Instant>> {
        let (fd, local) = match &self.rtp {
            Some((s, l)) => (s.as_raw_fd(), *l),
            None => return None,
        };
        let mut deadline = None;
        loop {
            match batch.recv(fd) {
                Ok(0) => return deadline,
                Ok(n) => {
                    let clock = StampClock::now();
                    for j in 0..n {
                        // The frame's arrival is the stamp; the machine's clock never goes back.
                        let at = clock.at(batch.stamp(j));
                        self.last_input = self.last_input.max(at);
                        self.client.handle_input(Input::Datagram {
                            now: self.last_input,
                            local,
                            remote: self.server,
                            data: batch.get(j),
                        });
                        deadline = Some(self.pump(at));
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => return deadline,
            }
        }
    }

    fn rtcp_ready(&mut self, buf: &mut [u8]) -> Option<Option<Instant>> {
        let mut deadline = None;
        loop {
            let Some((s, local)) = &self.rtcp else {
                return deadline;
            };
            match s.recv_from(buf) {
                Ok((n, remote)) => {
                    let now = Instant::now();
                    let local = *local;
                    self.client.handle_input(Input::Datagram {
                        now,
                        local,
                        remote,
                        data: &buf[..n],
                    });
                    deadline = Some(self.pump(now));
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => return deadline,
            }
        }
    }
}
