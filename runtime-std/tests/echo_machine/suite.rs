// The echo tests both runtimes share: `include!`d by runtime-std/tests/echo.rs and
// runtime-mio/tests/echo.rs, which bring `Runtime`, `Spawned`, `Flow`, the imports and the two
// runtime-specific settings (`limit_slow_reader`, `allow_large_output`) into scope.

const WAIT: Duration = Duration::from_secs(5);

fn start(rt: Runtime<Echo>) -> (Spawned<Echo>, mpsc::Receiver<EchoEvent>) {
    let (tx, rx) = mpsc::channel();
    let spawned = rt
        .spawn(move |m: &mut Echo, ev: EchoEvent| {
            if let EchoEvent::Data(conn, ref d) = ev {
                if d.as_slice() == b"ping" {
                    // The callback may mutate the machine; its output is drained after.
                    m.send(conn, b"pong".to_vec());
                }
            }
            let stop = matches!(ev, EchoEvent::Data(_, ref d) if d.as_slice() == b"stop");
            let _ = tx.send(ev);
            if stop {
                Flow::Stop
            } else {
                Flow::Continue
            }
        })
        .unwrap();
    (spawned, rx)
}

fn read_exact(s: &mut TcpStream, n: usize) -> Vec<u8> {
    s.set_read_timeout(Some(WAIT)).unwrap();
    let mut buf = vec![0; n];
    s.read_exact(&mut buf).unwrap();
    buf
}

fn next_event(rx: &mpsc::Receiver<EchoEvent>, pred: impl Fn(&EchoEvent) -> bool) -> EchoEvent {
    let until = Instant::now() + WAIT;
    loop {
        let left = until.saturating_duration_since(Instant::now());
        let ev = rx.recv_timeout(left).expect("event did not arrive in time");
        if pred(&ev) {
            return ev;
        }
    }
}

#[test]
fn tcp_echo_close_and_peer_close() {
    let mut rt = Runtime::new(Echo::default()).unwrap();
    let addr = rt
        .tcp_listener(TcpListener::bind("127.0.0.1:0").unwrap())
        .unwrap();
    let (spawned, rx) = start(rt);

    let mut a = TcpStream::connect(addr).unwrap();
    let conn_a = match next_event(&rx, |e| matches!(e, EchoEvent::Connected(..))) {
        EchoEvent::Connected(c, peer) => {
            assert_eq!(peer, a.local_addr().unwrap());
            c
        }
        _ => unreachable!(),
    };
    a.write_all(b"hello").unwrap();
    assert_eq!(read_exact(&mut a, 5), b"hello");
    // The event callback's own output goes out too.
    a.write_all(b"ping").unwrap();
    assert_eq!(read_exact(&mut a, 8), b"pingpong");

    // Machine-initiated close: the echo is written first, then EOF.
    let mut b = TcpStream::connect(addr).unwrap();
    b.write_all(b"close").unwrap();
    assert_eq!(read_exact(&mut b, 5), b"close");
    let mut rest = Vec::new();
    b.read_to_end(&mut rest).unwrap();
    assert!(rest.is_empty());

    // Peer close is reported.
    drop(a);
    let ev = next_event(&rx, |e| matches!(e, EchoEvent::Closed(_)));
    assert!(matches!(ev, EchoEvent::Closed(c) if c == conn_a));

    spawned.stop();
    let m = spawned.join().unwrap();
    assert!(m.bytes_in >= 14);
}

#[test]
fn udp_echo_and_source_socket() {
    let mut rt = Runtime::new(Echo::default()).unwrap();
    let local = rt
        .udp_socket(UdpSocket::bind("127.0.0.1:0").unwrap())
        .unwrap();
    let (spawned, rx) = start(rt);

    let peer = UdpSocket::bind("127.0.0.1:0").unwrap();
    peer.set_read_timeout(Some(WAIT)).unwrap();
    peer.send_to(b"dgram", local).unwrap();
    let mut buf = [0u8; 64];
    let (n, from) = peer.recv_from(&mut buf).unwrap();
    assert_eq!(&buf[..n], b"dgram");
    assert_eq!(from, local, "reply leaves from the socket bound to `local`");
    let ev = next_event(&rx, |e| matches!(e, EchoEvent::Datagram(..)));
    assert!(
        matches!(ev, EchoEvent::Datagram(l, r) if l == local && r == peer.local_addr().unwrap())
    );

    let stats = spawned.handle().stats();
    assert_eq!(stats.udp_sent, 1);
    spawned.stop();
    spawned.join().unwrap();
}

#[test]
fn timer_fires_and_commands_run_on_driver() {
    let rt = Runtime::new(Echo::default()).unwrap();
    let (spawned, rx) = start(rt);
    let set_at = Instant::now();
    assert!(spawned.handle().command(|m: &mut Echo| {
        m.timer = Some(Instant::now() + Duration::from_millis(30));
    }));
    match next_event(&rx, |e| matches!(e, EchoEvent::Timer(_))) {
        EchoEvent::Timer(at) => assert!(at >= set_at + Duration::from_millis(30)),
        _ => unreachable!(),
    }
    spawned.stop();
    let m = spawned.join().unwrap();
    assert_eq!(m.timers_fired, 1);
}

#[test]
fn client_connect_and_stop_from_callback() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let mut rt = Runtime::new(Echo {
        greeting: Some(b"hi".to_vec()),
        ..Echo::default()
    })
    .unwrap();
    let conn = rt.connect_tcp(addr).unwrap();
    let (spawned, rx) = start(rt);
    let (mut s, _) = listener.accept().unwrap();
    // The machine greets on `Connected`.
    assert_eq!(read_exact(&mut s, 2), b"hi");
    let ev = next_event(&rx, |e| matches!(e, EchoEvent::Connected(..)));
    assert!(matches!(ev, EchoEvent::Connected(c, p) if c == conn && p == addr));
    // `Flow::Stop` from the callback ends `run`, which closes the connection.
    s.write_all(b"stop").unwrap();
    let m = spawned.join().unwrap();
    assert_eq!(m.bytes_in, 4);
    let mut rest = Vec::new();
    s.set_read_timeout(Some(WAIT)).unwrap();
    let _ = s.read_to_end(&mut rest);
}

#[test]
fn connection_refused_is_an_error() {
    let port = {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let mut rt = Runtime::new(Echo::default()).unwrap();
    let addr: SocketAddr = ([127, 0, 0, 1], port).into();
    let err = rt.connect_tcp(addr).unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::ConnectionRefused);
}

#[test]
fn slow_reader_is_dropped() {
    let mut rt = Runtime::new(Echo::default()).unwrap();
    limit_slow_reader(&mut rt);
    let addr = rt
        .tcp_listener(TcpListener::bind("127.0.0.1:0").unwrap())
        .unwrap();
    let (spawned, rx) = start(rt);
    let mut s = TcpStream::connect(addr).unwrap();
    let conn = match next_event(&rx, |e| matches!(e, EchoEvent::Connected(..))) {
        EchoEvent::Connected(c, _) => c,
        _ => unreachable!(),
    };
    // Ask for far more output than the socket buffers hold, and never read it.
    s.write_all(b"flood").unwrap();
    let ev = next_event(&rx, |e| matches!(e, EchoEvent::Closed(_)));
    assert!(matches!(ev, EchoEvent::Closed(c) if c == conn));
    assert_eq!(spawned.handle().stats().conns_dropped, 1);
    spawned.stop();
    spawned.join().unwrap();
}

#[test]
fn stop_closes_sockets_and_releases_ports() {
    let mut rt = Runtime::new(Echo::default()).unwrap();
    let addr = rt
        .tcp_listener(TcpListener::bind("127.0.0.1:0").unwrap())
        .unwrap();
    let udp = rt
        .udp_socket(UdpSocket::bind("127.0.0.1:0").unwrap())
        .unwrap();
    let (spawned, rx) = start(rt);
    let mut s = TcpStream::connect(addr).unwrap();
    next_event(&rx, |e| matches!(e, EchoEvent::Connected(..)));
    let handle = spawned.handle().clone();
    spawned.stop();
    spawned.join().unwrap();
    let mut rest = Vec::new();
    s.set_read_timeout(Some(WAIT)).unwrap();
    s.read_to_end(&mut rest).unwrap();
    assert!(
        !handle.command(|_| {}),
        "commands fail once the runtime is gone"
    );
    // The UDP port is free again (the runtime dropped its socket).
    UdpSocket::bind(udp).unwrap();
}

#[test]
fn large_output_arrives_complete_and_in_order() {
    let mut rt = Runtime::new(Echo::default()).unwrap();
    allow_large_output(&mut rt);
    let addr = rt
        .tcp_listener(TcpListener::bind("127.0.0.1:0").unwrap())
        .unwrap();
    let (spawned, rx) = start(rt);
    let mut s = TcpStream::connect(addr).unwrap();
    next_event(&rx, |e| matches!(e, EchoEvent::Connected(..)));
    // 64 MiB: far more than the socket buffers, so writes block / hit WouldBlock.
    s.write_all(b"flood").unwrap();
    let data = read_exact(&mut s, 64 * 1024 * 1024);
    assert!(data.iter().all(|&b| b == 0x55));
    s.write_all(b"after").unwrap();
    assert_eq!(read_exact(&mut s, 5), b"after");
    assert_eq!(spawned.handle().stats().conns_dropped, 0);
    spawned.stop();
    spawned.join().unwrap();
}

#[test]
fn data_then_fin_in_one_burst_and_data_after_a_short_read() {
    // Data and the FIN in one burst: both are reported, the data first. (runtime-mio stops
    // reading after a short read, as edge-triggered readiness announces what comes later,
    // unless the peer's FIN is already reported.) Then data after a short read is not lost.
    let mut rt = Runtime::new(Echo::default()).unwrap();
    let addr = rt
        .tcp_listener(TcpListener::bind("127.0.0.1:0").unwrap())
        .unwrap();
    let (spawned, rx) = start(rt);
    for round in 0..50u32 {
        let mut s = TcpStream::connect(addr).unwrap();
        let msg = format!("burst {round}");
        s.write_all(msg.as_bytes()).unwrap();
        s.shutdown(std::net::Shutdown::Write).unwrap();
        let mut got = Vec::new();
        let conn = loop {
            match next_event(&rx, |e| {
                matches!(e, EchoEvent::Data(..) | EchoEvent::Closed(_))
            }) {
                EchoEvent::Data(_, d) => got.extend_from_slice(&d),
                EchoEvent::Closed(c) => break c,
                _ => unreachable!(),
            }
        };
        assert_eq!(
            got,
            msg.as_bytes(),
            "round {round}: data before the close ({conn:?})"
        );
    }
    // Request, reply, request on one connection: each later write raises a new event.
    let mut s = TcpStream::connect(addr).unwrap();
    for i in 0..20u32 {
        let m = format!("m{i:02}");
        s.write_all(m.as_bytes()).unwrap();
        assert_eq!(read_exact(&mut s, m.len()), m.as_bytes());
    }
    spawned.stop();
    spawned.join().unwrap();
}
