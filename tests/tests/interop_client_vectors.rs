//! The client machine on RTP/JPEG captured from real payloaders (gst, ffmpeg, VLC;
//! `tests/peers/rtp_vectors/`): every capture becomes one frame with the same scan and the
//! same pixels as the reference depacketizer's `frame0.jpg` — in order, shuffled (the
//! reordering buffer), with duplicates, and over interleaved TCP. A capture missing one
//! packet yields no frame and counts one dropped frame.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use bytes::Bytes;
use rtsp_core::client::{Client, ClientConfig, ClientEvent, TransportChoice};
use rtsp_core::io::{ConnId, Input, Machine, Output};
use rtsp_core::message::write_interleaved;

const CONN: ConnId = ConnId(1);
const RTP: &str = "127.0.0.1:40000";

fn vectors() -> Vec<(String, Vec<Vec<u8>>, Vec<u8>)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("peers/rtp_vectors");
    let mut out = Vec::new();
    for name in [
        "gst-videotestsrc-640x480",
        "gst-interleaved-640x480",
        "ffmpeg-rtpenc-sample",
        "vlc-sample",
    ] {
        let dir = root.join(name);
        let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|e| e == "rtp"))
            .collect();
        files.sort();
        assert!(!files.is_empty(), "{name}");
        let packets = files
            .iter()
            .map(|f| std::fs::read(f).expect("packet"))
            .collect();
        let jpeg = std::fs::read(dir.join("frame0.jpg")).expect("frame0.jpg");
        out.push((name.to_string(), packets, jpeg));
    }
    out
}

/// A client set up (UDP or TCP) and playing, driven in virtual time.
struct Playing {
    c: Client,
    now: Instant,
    events: Vec<ClientEvent>,
}

impl Playing {
    fn new(tcp: bool) -> Self {
        let now = Instant::now();
        let c = Client::new(ClientConfig::new("rtsp://127.0.0.1:8554/x"), now).expect("client");
        let mut p = Self {
            c,
            now,
            events: Vec::new(),
        };
        p.input(Input::Connected {
            now,
            conn: CONN,
            peer: "127.0.0.1:8554".parse().unwrap(),
        });
        let choice = if tcp {
            TransportChoice::Tcp
        } else {
            TransportChoice::Udp {
                rtp_local: RTP.parse().unwrap(),
                rtcp_local: "127.0.0.1:40001".parse().unwrap(),
            }
        };
        p.c.setup(choice).expect("setup");
        let transport = if tcp {
            "RTP/AVP/TCP;unicast;interleaved=0-1"
        } else {
            "RTP/AVP;unicast;client_port=40000-40001;server_port=50000-50001"
        };
        p.reply(&format!(
            "RTSP/1.0 200 OK\r\nCSeq: 1\r\nSession: s1\r\nTransport: {transport}\r\n\r\n"
        ));
        p.c.play(None).expect("play");
        p.reply("RTSP/1.0 200 OK\r\nCSeq: 2\r\nSession: s1\r\n\r\n");
        p.events.clear();
        p
    }

    fn drain(&mut self) {
        loop {
            match self.c.poll_output() {
                Output::Event(e) => self.events.push(e),
                Output::Timeout(_) => return,
                _ => {}
            }
        }
    }

    fn input(&mut self, i: Input<'_>) {
        self.c.handle_input(i);
        self.drain();
    }

    fn reply(&mut self, text: &str) {
        let now = self.now;
        self.input(Input::Stream {
            now,
            conn: CONN,
            data: text.as_bytes(),
        });
    }

    fn udp(&mut self, data: &[u8]) {
        self.now += Duration::from_millis(1);
        let now = self.now;
        self.input(Input::Datagram {
            now,
            local: RTP.parse().unwrap(),
            remote: "127.0.0.1:50000".parse().unwrap(),
            data,
        });
    }

    fn interleaved(&mut self, data: &[u8]) {
        let mut framed = Vec::new();
        write_interleaved(0, data, &mut framed);
        // Split every write in two, as live555 does.
        let (a, b) = framed.split_at(framed.len() / 2);
        for part in [a, b] {
            let now = self.now;
            self.input(Input::Stream {
                now,
                conn: CONN,
                data: part,
            });
        }
    }

    /// Lets the reordering buffer's deadline pass.
    fn settle(&mut self) {
        self.now += Duration::from_secs(1);
        let now = self.now;
        self.input(Input::Timeout(now));
    }

    fn frames(&self) -> Vec<Bytes> {
        self.events
            .iter()
            .filter_map(|e| match e {
                ClientEvent::Frame { data, .. } => Some(data.clone()),
                _ => None,
            })
            .collect()
    }
}

fn decode(jpeg: &[u8]) -> Vec<u8> {
    let mut d = zune_jpeg::JpegDecoder::new(zune_jpeg::zune_core::bytestream::ZCursor::new(jpeg));
    d.decode().expect("decodes")
}

fn assert_same_frame(name: &str, got: &[Bytes], reference: &[u8]) {
    assert_eq!(got.len(), 1, "{name}: frames");
    let ours = mjpeg::parse_jpeg(&got[0]).expect("our frame parses");
    let theirs = mjpeg::parse_jpeg(reference).expect("reference parses");
    assert_eq!(
        (ours.width, ours.height),
        (theirs.width, theirs.height),
        "{name}"
    );
    assert_eq!(ours.scan(&got[0]), theirs.scan(reference), "{name}: scan");
    assert!(
        decode(&got[0]) == decode(reference),
        "{name}: pixels differ"
    );
}

/// A fixed shuffle (the first packet first — it starts the sequence — then the others in
/// swapped pairs) and a duplicate of every third packet.
fn shuffled(packets: &[Vec<u8>]) -> Vec<Vec<u8>> {
    let mut v: Vec<Vec<u8>> = vec![packets[0].clone()];
    for pair in packets[1..].chunks(2) {
        v.extend(pair.iter().rev().cloned());
    }
    let dups: Vec<Vec<u8>> = packets.iter().step_by(3).cloned().collect();
    v.extend(dups);
    v
}

#[test]
fn captured_frames_depacketize_to_the_reference_jpegs() {
    for (name, packets, reference) in vectors() {
        // In order, over UDP.
        let mut p = Playing::new(false);
        for pkt in &packets {
            p.udp(pkt);
        }
        p.settle();
        assert_same_frame(&name, &p.frames(), &reference);
        let s = p.c.stats();
        assert_eq!((s.frames, s.frames_dropped, s.lost), (1, 0, 0), "{name}");

        // Shuffled and duplicated, over UDP.
        let mut p = Playing::new(false);
        for pkt in shuffled(&packets) {
            p.udp(&pkt);
        }
        p.settle();
        assert_same_frame(&format!("{name} shuffled"), &p.frames(), &reference);
        let s = p.c.stats();
        assert_eq!(s.frames_dropped, 0, "{name}");
        assert_eq!(s.duplicates, packets.len().div_ceil(3) as u64, "{name}");

        // Interleaved on TCP, in split writes.
        let mut p = Playing::new(true);
        for pkt in &packets {
            p.interleaved(pkt);
        }
        assert_same_frame(&format!("{name} tcp"), &p.frames(), &reference);
    }
}

#[test]
fn a_capture_missing_one_packet_gives_no_frame() {
    for (name, packets, _) in vectors() {
        if packets.len() < 3 {
            continue;
        }
        let mut p = Playing::new(false);
        for (i, pkt) in packets.iter().enumerate() {
            if i != 1 {
                p.udp(pkt);
            }
        }
        p.settle();
        assert!(p.frames().is_empty(), "{name}: a corrupt frame was output");
        let s = p.c.stats();
        assert_eq!(s.lost, 1, "{name}");
        assert_eq!(s.frames_dropped, 1, "{name}");
    }
}
