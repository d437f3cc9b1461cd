//! Random input, absurd configurations.

use super::*;

/// xorshift64* for the fuzz-style tests.
struct Prng(u64);
impl Prng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next() as u8).collect()
    }
}

#[test]
fn random_input_never_panics() {
    let mut rng = Prng(0x1234_5678_9abc_def1);
    let pieces: [&[u8]; 8] = [
        b"RTSP/1.0 200 OK\r\nCSeq: 1\r\n",
        b"Session: abc;timeout=",
        b"Transport: RTP/AVP;unicast;server_port=1-",
        b"Content-Length: 99999999\r\n",
        b"\r\n\r\n",
        b"$\x00\x10\x00",
        b"RTP-Info: url=;seq=;rtptime=\r\n",
        b"\n\n\n",
    ];
    for round in 0..300 {
        let mut cfg = if round % 3 < 1 {
            ClientConfig::lab("h:1", "f")
        } else {
            ClientConfig::new("rtsp://h/s")
        };
        cfg.seed = Some(crate::rng::RngSeed::from_u64(rng.next()));
        let mut h = Harness::new(cfg);
        h.connect();
        let _ = h.c.setup(if round & 1 == 0 {
            udp()
        } else {
            TransportChoice::Tcp
        });
        h.drain();
        for _ in 0..40 {
            match rng.next() % 6 {
                0 => {
                    let n = (rng.next() % 64) as usize;
                    let b = rng.bytes(n);
                    h.recv(&b);
                }
                1 => {
                    let p = pieces[(rng.next() % 8) as usize];
                    h.recv(p);
                }
                2 => {
                    let n = (rng.next() % 1500) as usize;
                    let mut b = rng.bytes(n);
                    if let Some(first) = b.first_mut() {
                        *first = 0x80;
                    }
                    let local = if rng.next() & 1 == 0 {
                        "0.0.0.0:45578"
                    } else {
                        "0.0.0.0:45579"
                    };
                    h.datagram(local, &b);
                }
                3 => h.advance(Duration::from_millis(rng.next() % 20_000)),
                4 => {
                    let _ = h.c.play(None);
                    let _ = h.c.pause();
                    h.drain();
                }
                _ => {
                    h.recv(b"RTSP/1.0 200 OK\r\nCSeq: 1\r\nSession: s1\r\nTransport: RTP/AVP/TCP;interleaved=0-1\r\n\r\n");
                    let pkts =
                        jpeg_packets(rng.next() as u16, 0, rng.next() as u32, &scan(1, 3000));
                    for p in &pkts {
                        let mut f = Vec::new();
                        write_interleaved(0, p, &mut f);
                        h.recv(&f);
                        h.datagram(RTP, p);
                    }
                }
            }
            h.events();
            h.sent();
            h.udp.clear();
        }
    }
}

#[test]
fn client_is_send_and_absurd_durations_do_not_panic() {
    fn assert_send<T: Send>() {}
    assert_send::<Client>();
    assert_send::<ClientEvent>();

    let mut cfg = ClientConfig::new("rtsp://h/s");
    cfg.request_timeout = Duration::MAX;
    cfg.rtcp_interval = Duration::MAX;
    cfg.reorder_delay = Duration::MAX;
    cfg.end_of_stream_grace = Duration::MAX;
    let mut h = Harness::new(cfg);
    h.connect();
    h.c.setup(udp()).unwrap();
    h.reply("RTSP/1.0 200 OK\nCSeq: 1\nSession: x;timeout=4294967295\nTransport: RTP/AVP;unicast;server_port=1-2\n\n");
    assert!(matches!(&h.outcomes()[..], [ClientEvent::SetupDone { .. }]));
    for pkt in jpeg_packets(1, 0, 5, &scan(1, 3000)).iter().rev() {
        h.datagram(RTP, pkt);
    }
    h.datagram(RTCP, &bye(5));
    h.advance(Duration::from_secs(3600));
    assert_eq!(h.c.state(), ClientState::Ready);
}
