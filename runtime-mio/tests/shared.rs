//! Shared (zero-copy) transmits on the mio runtime: UDP batches (sendmmsg / GSO) arrive
//! intact and in order, and a control connection that does not read loses whole media
//! frames, never parts of one, and is not dropped.

use std::collections::VecDeque;
use std::io::Read;
use std::net::{SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::time::{Duration, Instant};

use bytes::Bytes;
use rtsp_core::io::{ConnId, Dest, Emit, InlineHeader, Input, Machine, Output, SharedTransmit};
use runtime_mio::{Flow, Runtime};

/// Emits frames of shared packets on command.
#[derive(Default)]
struct Blaster {
    conn: Option<ConnId>,
    out: VecDeque<Emit<()>>,
}

impl Blaster {
    /// `frames` frames of `sizes.len()` packets; packet header: `$`, 0, length, frame, index.
    fn blast(&mut self, dest: Option<Dest>, frames: u16, sizes: &[usize]) {
        let Some(dest) = dest.or(self.conn.map(Dest::Stream)) else {
            return;
        };
        for f in 0..frames {
            for (i, &size) in sizes.iter().enumerate() {
                let mut header = InlineHeader::default();
                if let Dest::Stream(_) = dest {
                    let [hi, lo] = ((4 + size) as u16).to_be_bytes();
                    header.push(&[b'$', 0, hi, lo]);
                }
                let [a, b] = f.to_be_bytes();
                header.push(&[a, b, i as u8, sizes.len() as u8]);
                let body = Bytes::from(vec![(f as u8).wrapping_add(i as u8); size]);
                self.out.push_back(Emit::Shared(SharedTransmit {
                    dest,
                    header,
                    body,
                    frame_start: i == 0,
                }));
            }
        }
    }
}

impl Machine for Blaster {
    type Event = ();
    fn handle_input(&mut self, input: Input<'_>) {
        if let Input::Connected { conn, .. } = input {
            self.conn = Some(conn);
        }
    }
    fn poll_output(&mut self) -> Output<()> {
        match self.out.pop_front() {
            Some(Emit::Output(o)) => o,
            Some(Emit::Shared(t)) => Output::Transmit(t.into_transmit()),
            None => Output::Timeout(None),
        }
    }
    fn poll_emit(&mut self) -> Emit<()> {
        self.out
            .pop_front()
            .unwrap_or(Emit::Output(Output::Timeout(None)))
    }
}

#[test]
fn udp_batches_arrive_intact_and_in_order() {
    let mut rt = Runtime::new(Blaster::default()).unwrap();
    let local = rt
        .udp_socket(UdpSocket::bind("127.0.0.1:0").unwrap())
        .unwrap();
    let rx = UdpSocket::bind("127.0.0.1:0").unwrap();
    rx.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let remote = rx.local_addr().unwrap();
    let spawned = rt.spawn(|_: &mut Blaster, _| Flow::Continue).unwrap();
    let sizes = [1000, 1000, 1000, 1000, 300];
    spawned
        .handle()
        .command(move |m: &mut Blaster| m.blast(Some(Dest::Udp { local, remote }), 3, &sizes));
    let mut buf = [0u8; 2048];
    for f in 0..3u16 {
        for (i, &size) in sizes.iter().enumerate() {
            let n = rx.recv(&mut buf).unwrap();
            assert_eq!(n, 4 + size);
            assert_eq!(&buf[..4], &[0, f as u8, i as u8, 5]);
            assert!(buf[4..n]
                .iter()
                .all(|&b| b == (f as u8).wrapping_add(i as u8)));
        }
    }
    // The counters are updated just after the send returns.
    let until = Instant::now() + Duration::from_secs(5);
    while spawned.handle().stats().udp_sent < 15 && Instant::now() < until {
        std::thread::sleep(Duration::from_millis(5));
    }
    let stats = spawned.handle().stats();
    assert_eq!((stats.udp_sent, stats.udp_dropped), (15, 0));
    spawned.stop();
    spawned.join().unwrap();
}

#[test]
fn slow_reader_loses_whole_frames_only() {
    let mut rt = Runtime::new(Blaster::default()).unwrap();
    rt.set_max_frame_queue(64 * 1024);
    let addr: SocketAddr = rt
        .tcp_listener(TcpListener::bind("127.0.0.1:0").unwrap())
        .unwrap();
    let spawned = rt.spawn(|_: &mut Blaster, _| Flow::Continue).unwrap();
    let mut client = TcpStream::connect(addr).unwrap();
    // Wait until the machine knows the connection.
    let until = Instant::now() + Duration::from_secs(5);
    loop {
        let (tx, rx) = std::sync::mpsc::channel();
        spawned
            .handle()
            .command(move |m: &mut Blaster| tx.send(m.conn.is_some()).unwrap());
        if rx.recv().unwrap() {
            break;
        }
        assert!(Instant::now() < until, "not connected");
        std::thread::sleep(Duration::from_millis(10));
    }
    // 200 frames of 10 x 1000 bytes (2 MB) while the client does not read.
    let sizes = [1000; 10];
    for _ in 0..4 {
        spawned
            .handle()
            .command(move |m: &mut Blaster| m.blast(None, 50, &sizes));
    }
    std::thread::sleep(Duration::from_millis(300));
    // Now read everything there is.
    client
        .set_read_timeout(Some(Duration::from_millis(500)))
        .unwrap();
    let mut data = Vec::new();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        match client.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => data.extend_from_slice(&buf[..n]),
            Err(_) => break,
        }
    }
    // Parse: every frame present is complete (packets 0..10 in order).
    let mut off = 0;
    let mut frames = 0;
    let mut expect_index = 0u8;
    while off < data.len() {
        assert_eq!(data[off], b'$');
        let len = usize::from(u16::from_be_bytes([data[off + 2], data[off + 3]]));
        let p = &data[off + 4..off + 4 + len];
        assert_eq!(p[2], expect_index, "a frame was cut at byte {off}");
        expect_index = (expect_index + 1) % 10;
        if expect_index == 0 {
            frames += 1;
        }
        off += 4 + len;
    }
    assert_eq!(expect_index, 0, "the last frame is incomplete");
    let stats = spawned.handle().stats();
    assert!(frames < 200, "nothing was dropped ({frames} frames)");
    assert!(stats.stream_dropped > 0);
    // A frame: 10 packets of `$` prefix (4) + header (4) + 1000 bytes.
    assert_eq!(stats.stream_dropped % 10_080, 0, "partial frames dropped");
    assert_eq!(stats.conns_dropped, 0);
    spawned.stop();
    spawned.join().unwrap();
}
