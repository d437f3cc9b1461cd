//! A live stream on the mio runtime with two TCP (interleaved) readers, one that reads and one
//! that never does: the reading one gets every frame whole, each as soon as it is pushed; the
//! stalled one's queue sheds whole frames, so what it finally reads is whole frames only,
//! fewer than were pushed. Real sockets on loopback; the source is pushed in lockstep with the
//! fast reader (no sleeps, bounded waits).

use bytes::{Bytes, BytesMut};
use rtp_core::RtpPacket;
use rtsp_core::message::{Decoded, Decoder, Limits, Message};
use rtsp_core::server::{LiveFrame, Media, MemoryCatalog};
use runtime_mio::{serve, ServerOptions};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::mpsc;
use std::time::{Duration, Instant};

const FRAMES: u64 = 300;
const WAIT: Duration = Duration::from_secs(10);

/// SETUP (interleaved 0-1) and PLAY of `cam` on a new connection; returns it and what was
/// read past the PLAY reply.
fn play(addr: SocketAddr, rcvbuf: Option<usize>) -> (TcpStream, Decoder, BytesMut) {
    let sock = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    if let Some(n) = rcvbuf {
        sock.set_recv_buffer_size(n).unwrap();
    }
    sock.connect(&addr.into()).unwrap();
    let mut s: TcpStream = sock.into();
    s.set_read_timeout(Some(WAIT)).unwrap();
    let mut dec = Decoder::new(Limits::default());
    let mut buf = BytesMut::new();
    let url = format!("rtsp://{addr}/cam");
    write!(
        s,
        "SETUP {url}/stream=0 RTSP/1.0\r\nCSeq: 1\r\nTransport: RTP/AVP/TCP;unicast;interleaved=0-1\r\n\r\n"
    )
    .unwrap();
    let setup = reply(&mut s, &mut dec, &mut buf);
    let session = setup
        .split("Session: ")
        .nth(1)
        .unwrap()
        .split([';', '\r'])
        .next()
        .unwrap()
        .to_string();
    write!(
        s,
        "PLAY {url}/ RTSP/1.0\r\nCSeq: 2\r\nSession: {session}\r\n\r\n"
    )
    .unwrap();
    let play = reply(&mut s, &mut dec, &mut buf);
    assert!(play.starts_with("RTSP/1.0 200"), "{play}");
    (s, dec, buf)
}

/// The next RTSP reply on `s`, as text.
fn reply(s: &mut TcpStream, dec: &mut Decoder, buf: &mut BytesMut) -> String {
    loop {
        if let Some(Decoded::Message(Message::Response(r))) = dec.decode(buf).unwrap() {
            return String::from_utf8_lossy(&r.to_bytes()).to_string();
        }
        let mut chunk = [0u8; 4096];
        let n = s.read(&mut chunk).unwrap();
        assert!(n > 0, "closed before the reply");
        buf.extend_from_slice(&chunk[..n]);
    }
}

/// Frames reassembled from RTP packets: each is (timestamp, packets, whole), `whole` when its
/// first packet has fragment offset 0, its sequence numbers run without a gap and its last
/// packet has the marker.
#[derive(Default)]
struct Frames {
    done: Vec<(u32, usize, bool)>,
    open: Option<(u32, u16, usize, bool)>,
}

impl Frames {
    fn packet(&mut self, data: &[u8]) {
        let p = RtpPacket::parse(data).unwrap();
        let (ts, seq) = (p.header.timestamp, p.header.sequence);
        let offset = u32::from_be_bytes([0, p.payload[1], p.payload[2], p.payload[3]]);
        let open = match self.open.take() {
            Some((t, last, n, whole)) if t == ts => {
                (t, seq, n + 1, whole && seq == last.wrapping_add(1))
            }
            Some((t, _, n, _)) => {
                self.done.push((t, n, false));
                (ts, seq, 1, offset == 0)
            }
            None => (ts, seq, 1, offset == 0),
        };
        if p.header.marker {
            self.done.push((open.0, open.2, open.3));
        } else {
            self.open = Some(open);
        }
    }
}

#[test]
fn a_stalled_tcp_reader_sheds_whole_frames_and_never_holds_up_the_other() {
    let frames = mjpeg::testpattern::frames(4, 640, 480);
    let mut catalog = MemoryCatalog::new();
    let first = LiveFrame::from_jpeg(frames[0].clone(), 0, 1400).unwrap();
    catalog.insert(Media::live("cam", 25.0, &first).unwrap());
    let server = serve(ServerOptions::new(
        "127.0.0.1:0".parse().unwrap(),
        Box::new(catalog),
    ))
    .unwrap();
    let addr = server.connect_addr();

    let (_stalled, mut sdec, mut sbuf) = play(addr, Some(4096));
    let (mut fast, mut dec, mut buf) = play(addr, None);
    // The fast reader reports each whole frame it completes.
    let (tx, rx) = mpsc::channel::<(u32, usize, bool)>();
    let reader = std::thread::spawn(move || {
        let mut frames = Frames::default();
        let mut chunk = vec![0u8; 1 << 16];
        loop {
            while let Some(item) = dec.decode(&mut buf).unwrap() {
                if let Decoded::Interleaved {
                    channel: 0,
                    payload,
                } = item
                {
                    frames.packet(&payload);
                    for f in frames.done.drain(..) {
                        if tx.send(f).is_err() {
                            return;
                        }
                    }
                }
            }
            match fast.read(&mut chunk) {
                Ok(0) | Err(_) => return,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
        }
    });

    let started = Instant::now();
    let mut worst = Duration::ZERO;
    for i in 0..FRAMES {
        let jpeg: Bytes = frames[i as usize % frames.len()].clone();
        let frame = LiveFrame::from_jpeg(jpeg, i * 3600, 1400).unwrap();
        let pushed = Instant::now();
        server.command(move |s| s.push_frame("cam", &frame, Instant::now()));
        let (_, _, whole) = rx
            .recv_timeout(WAIT)
            .expect("the fast reader got the frame");
        assert!(whole, "frame {i} reached the fast reader whole");
        worst = worst.max(pushed.elapsed());
    }
    eprintln!(
        "{FRAMES} frames to the fast reader in {:?}, slowest {worst:?}",
        started.elapsed()
    );
    server.stop();

    // Now read what the stalled reader was given: whole frames, and not all of them.
    let mut s = _stalled;
    let mut stalled = Frames::default();
    let mut chunk = vec![0u8; 1 << 16];
    let deadline = Instant::now() + WAIT;
    loop {
        while let Some(item) = sdec.decode(&mut sbuf).unwrap() {
            if let Decoded::Interleaved {
                channel: 0,
                payload,
            } = item
            {
                stalled.packet(&payload);
            }
        }
        match s.read(&mut chunk) {
            Ok(0) | Err(_) => break,
            Ok(n) => sbuf.extend_from_slice(&chunk[..n]),
        }
        assert!(
            Instant::now() < deadline,
            "the stalled reader's data never ended"
        );
    }
    let got = stalled.done.len() as u64;
    assert!(got > 0, "the stalled reader got its first frames");
    assert!(
        got < FRAMES,
        "a reader that never reads cannot hold all {FRAMES} frames"
    );
    assert!(
        stalled.done.iter().all(|&(_, _, whole)| whole),
        "every frame the stalled reader got is whole"
    );
    eprintln!("the stalled reader got {got} of {FRAMES} frames, all whole");
    reader.join().unwrap();
}
