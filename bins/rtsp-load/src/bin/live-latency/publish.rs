//! The publisher: ANNOUNCE, SETUP (TCP interleaved, `mode=record`) and RECORD, then the
//! frames' RTP/JPEG packets on interleaved channel 0, one frame per period on a fixed schedule.
//! Requests are built and responses decoded with `rtsp_core::message`.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::mpsc::{Receiver, Sender};
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use rtp_core::FixedHeader;
use rtsp_core::message::{
    write_interleaved, Decoded, Decoder, HeaderName, Limits, Message, Method, Request, Response,
};
use rtsp_core::server::Media;

/// RTP/JPEG clock rate (RFC 2435).
const CLOCK: f64 = 90_000.0;
/// Our SSRC (one publisher, one stream).
const SSRC: u32 = 0x1a7e_0001;
/// Longest wait for a response.
const REPLY_WAIT: Duration = Duration::from_secs(10);

/// Every frame's interleaved bytes (`$`-framed RTP packets), ready to write.
pub struct Stream {
    frames: Vec<Vec<u8>>,
}

impl Stream {
    /// Packetizes `jpegs` (RFC 2435, as the server's file streams) for packets of `mtu` bytes,
    /// RTP timestamps `i × 90000 / fps`.
    pub fn new(jpegs: &[Bytes], fps: f64, mtu: usize) -> Result<Self, String> {
        let media = Media::from_jpegs("live-latency", fps, jpegs.to_vec(), mtu)
            .map_err(|e| format!("packetize: {e}"))?;
        let mut seq = 0u16;
        let mut frames = Vec::with_capacity(jpegs.len());
        for i in 0..media.frame_count() {
            let frags = media.fragments(i).unwrap_or_default();
            let ts = (i as f64 * CLOCK / fps).round() as u64 as u32;
            let mut out = Vec::new();
            let mut pkt = Vec::with_capacity(mtu);
            for (j, f) in frags.iter().enumerate() {
                pkt.clear();
                let h = FixedHeader {
                    marker: j + 1 == frags.len(),
                    payload_type: 26,
                    sequence: seq,
                    timestamp: ts,
                    ssrc: SSRC,
                };
                pkt.extend_from_slice(&h.to_bytes());
                pkt.extend_from_slice(f);
                write_interleaved(0, &pkt, &mut out);
                seq = seq.wrapping_add(1);
            }
            frames.push(out);
        }
        Ok(Self { frames })
    }
}

/// A blocking RTSP control connection that sends requests and waits for their responses
/// (interleaved data from the server, RTCP, is skipped).
struct Control {
    tcp: TcpStream,
    buf: BytesMut,
    decoder: Decoder,
    cseq: u32,
    session: Option<String>,
}

impl Control {
    fn request(&mut self, mut req: Request) -> Result<Response, String> {
        self.cseq += 1;
        req = req
            .with_header(HeaderName::CSEQ, self.cseq.to_string())
            .with_header(HeaderName::USER_AGENT, "live-latency");
        if let Some(s) = &self.session {
            req = req.with_header(HeaderName::SESSION, s.clone());
        }
        let method = req.method.clone();
        self.tcp
            .write_all(&req.to_bytes())
            .map_err(|e| format!("{method}: write: {e}"))?;
        let deadline = Instant::now() + REPLY_WAIT;
        let mut chunk = [0u8; 16 * 1024];
        loop {
            while let Some(item) = self
                .decoder
                .decode(&mut self.buf)
                .map_err(|e| format!("{method}: {e}"))?
            {
                if let Decoded::Message(Message::Response(r)) = item {
                    if r.cseq() == Some(self.cseq) {
                        if !r.status.is_success() {
                            return Err(format!("{method}: {} {}", r.status.0, r.reason));
                        }
                        return Ok(r);
                    }
                }
            }
            if Instant::now() >= deadline {
                return Err(format!("{method}: no response within {REPLY_WAIT:?}"));
            }
            match self.tcp.read(&mut chunk) {
                Ok(0) => return Err(format!("{method}: connection closed")),
                Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
                Err(e)
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock
                            | std::io::ErrorKind::TimedOut
                            | std::io::ErrorKind::Interrupted
                    ) => {}
                Err(e) => return Err(format!("{method}: read: {e}")),
            }
        }
    }
}

/// The SDP of the ANNOUNCE: one JPEG video stream, control `streamid=0`.
fn sdp() -> String {
    "v=0\r\no=- 0 0 IN IP4 127.0.0.1\r\ns=live-latency\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n\
     m=video 0 RTP/AVP 26\r\na=rtpmap:26 JPEG/90000\r\na=control:streamid=0\r\n"
        .to_string()
}

/// Publishes `stream` to `url` (at `addr`): tells `recording` once RECORD succeeded (or why
/// not), sends every frame at `start + i × period`, then keeps the connection open until
/// `done` (the reader finished). Returns each frame's send instant.
pub fn run(
    url: &str,
    addr: SocketAddr,
    stream: &Stream,
    period: Duration,
    recording: Sender<Result<(), String>>,
    done: Receiver<()>,
) -> Result<Vec<Instant>, String> {
    let mut c = match setup(url, addr) {
        Ok(c) => c,
        Err(e) => {
            let _ = recording.send(Err(e.clone()));
            return Err(e);
        }
    };
    // Whatever the server sends from now on (RTCP on channel 1, nothing else) is read and
    // dropped on another thread, so that it never fills the socket buffer.
    let drain = c.tcp.try_clone().map_err(|e| format!("clone: {e}"))?;
    let _ = drain.set_read_timeout(None);
    std::thread::spawn(move || {
        let mut drain = drain;
        let mut sink = [0u8; 4096];
        while matches!(drain.read(&mut sink), Ok(n) if n > 0) {}
    });
    let _ = recording.send(Ok(()));
    let start = Instant::now() + Duration::from_millis(100);
    let mut sent = Vec::with_capacity(stream.frames.len());
    for (i, bytes) in stream.frames.iter().enumerate() {
        let due = start + period * i as u32;
        if let Some(wait) = due.checked_duration_since(Instant::now()) {
            std::thread::sleep(wait);
        }
        sent.push(Instant::now());
        c.tcp
            .write_all(bytes)
            .map_err(|e| format!("frame {i}: write: {e}"))?;
    }
    // Bounded: the reader stops on its own deadline.
    let _ = done.recv_timeout(Duration::from_secs(30));
    let _ = c.tcp.shutdown(std::net::Shutdown::Both);
    Ok(sent)
}

fn setup(url: &str, addr: SocketAddr) -> Result<Control, String> {
    let tcp = TcpStream::connect_timeout(&addr, Duration::from_secs(5))
        .map_err(|e| format!("connect {addr}: {e}"))?;
    let _ = tcp.set_nodelay(true);
    tcp.set_read_timeout(Some(Duration::from_millis(500)))
        .map_err(|e| format!("socket: {e}"))?;
    let mut c = Control {
        tcp,
        buf: BytesMut::new(),
        decoder: Decoder::new(Limits::default()),
        cseq: 0,
        session: None,
    };
    let mut announce = Request::new(Method::Announce, url)
        .with_header(HeaderName::CONTENT_TYPE, "application/sdp");
    announce.body = Bytes::from(sdp());
    c.request(announce)?;
    let control = format!("{}/streamid=0", url.trim_end_matches('/'));
    let r = c.request(Request::new(Method::Setup, control).with_header(
        HeaderName::TRANSPORT,
        "RTP/AVP/TCP;unicast;interleaved=0-1;mode=record",
    ))?;
    let session = r
        .headers
        .get(&HeaderName::SESSION)
        .and_then(|s| s.split(';').next())
        .map(|s| s.trim().to_string())
        .ok_or("SETUP: no Session in the reply")?;
    c.session = Some(session);
    c.request(Request::new(Method::Record, url).with_header(HeaderName::RANGE, "npt=0.000-"))?;
    Ok(c)
}
