//! A scripted attack run against a two-loop server (the shape `server-mio` runs), over real
//! loopback sockets, the attackers on other addresses of 127/8. One well-behaved viewer plays
//! a 25 fps stream over UDP the whole time; while each attack runs (a few seconds, bounded in
//! count and time) it must keep 25 fps with no packet lost and no frame dropped, and each
//! attack must fail the way the server promises:
//!
//! * **hijack**: PLAY, PAUSE, TEARDOWN (also `*`), SET/GET_PARAMETER and a re-pointing SETUP
//!   naming the viewer's session, from another address and from the viewer's address on
//!   another connection: 454, no `Session` header;
//! * **oracle**: OPTIONS naming the session: no `Session` header, as for an unknown id;
//! * **prediction**: the old splitmix64 predictor, fed one Digest nonce, predicts none of the
//!   next nonces;
//! * **self-loop**: SETUP with `client_port` at the server's own RTP/RTCP ports: 461;
//! * **connection flood + slowloris**: every connection slot taken from 40 addresses by
//!   clients that never finish a request; a newcomer still gets in, sets up and plays;
//! * **per-IP across loops**: twice the per-address cap from one address, spread by the
//!   kernel over both loops: only the cap stays open;
//! * **session flood**: bare SETUPs from one address over several connections stop at the
//!   per-address cap (453); a client from another address still gets its session.
//!
//! The figures of each attack are printed (`--nocapture` shows them).

use it::peers::{req, tcp_from, RawRtsp};
use it::{recv_until, spawn_client, ClientRuntime, Ev, TestClient};
use rtsp_core::client::{Policy, TransportChoice};
use rtsp_core::server::{AuthConfig, Media, MemoryCatalog, ServerConfig};
use runtime_mio::{LoopsOptions, ServerLoops, SharedCatalog, ShutdownHandle};
use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpStream};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

const FPS: f64 = 25.0;
/// How long each attack runs while the viewer is watched.
const WINDOW: Duration = Duration::from_secs(3);

struct Target {
    addr: SocketAddr,
    rtp_ports: Vec<u16>,
    shutdown: ShutdownHandle,
    thread: Option<JoinHandle<std::io::Result<()>>>,
}

impl Target {
    fn start(config: ServerConfig) -> Self {
        let frames = mjpeg::testpattern::frames(50, 160, 120);
        let media = Media::from_jpegs("live", FPS, frames, 1400).expect("media");
        let catalog = SharedCatalog::new(MemoryCatalog::new().with(media));
        let mut opts = LoopsOptions::new("127.0.0.1:0".parse().expect("addr"));
        opts.loops = 2;
        opts.config = ServerConfig {
            loop_media: true,
            ..config
        };
        let loops = ServerLoops::bind(&opts, &catalog).expect("bind");
        let addr = loops.local_addr();
        let rtp_ports = loops.rtp_ports().to_vec();
        let shutdown = loops.shutdown_handle();
        let thread = std::thread::spawn(move || loops.run("attack"));
        Self {
            addr,
            rtp_ports,
            shutdown,
            thread: Some(thread),
        }
    }

    fn url(&self) -> String {
        format!("rtsp://{}/live", self.addr)
    }
}

impl Drop for Target {
    fn drop(&mut self) {
        self.shutdown.shutdown();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Our client on 127.0.0.1, playing over UDP.
fn viewer(url: &str) -> TestClient {
    let v = spawn_client(ClientRuntime::Std, url, false);
    let (rtp_local, rtcp_local) = (v.rtp_local, v.rtcp_local);
    v.command(move |c| {
        c.set_policy(Policy::new(TransportChoice::Udp {
            rtp_local,
            rtcp_local,
        }));
        c.start().expect("start");
    });
    recv_until(&v.events, Duration::from_secs(10), |e| {
        matches!(e, Ev::Playing)
    })
    .expect("the viewer plays");
    v
}

/// Runs `attack` (on its own thread, bounded by the deadline it is given) while counting the
/// viewer's frames; asserts 25 fps with no loss over the window.
fn under_attack(name: &str, v: &TestClient, attack: impl FnOnce(Instant) + Send + 'static) {
    let before = v.query(|c| c.stats());
    let t0 = Instant::now();
    let deadline = t0 + WINDOW;
    let attacker = std::thread::spawn(move || attack(deadline));
    attacker.join().expect("the attack ran");
    let left = deadline.saturating_duration_since(Instant::now());
    // The window is the same for every attack, however long the attack itself took.
    while let Ok(ev) = v.events.recv_timeout(left) {
        if let Ev::Failed(_) | Ev::Closed = ev {
            panic!("{name}: the viewer got {ev:?}");
        }
        if Instant::now() >= deadline {
            break;
        }
    }
    let after = v.query(|c| c.stats());
    let secs = t0.elapsed().as_secs_f64();
    let frames = after.frames - before.frames;
    let lost = after.lost - before.lost;
    let dropped = after.frames_dropped - before.frames_dropped;
    let fps = frames as f64 / secs;
    println!(
        "{name}: viewer {frames} frames in {secs:.2} s ({fps:.1} fps), lost {lost}, dropped {dropped}"
    );
    assert!(
        frames as f64 >= FPS * secs - 3.0,
        "{name}: {frames} frames in {secs:.2} s"
    );
    assert_eq!((lost, dropped), (0, 0), "{name}: loss");
    // Frames pile up in the channel; start the next window empty.
    while v.events.try_recv().is_ok() {}
}

fn ip(last: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(127, 0, 0, last))
}

fn session_header(r: &it::peers::RawResponse) -> Option<String> {
    r.header("Session").map(str::to_string)
}

#[test]
fn a_viewer_keeps_25_fps_while_every_attack_fails() {
    let target = Target::start(ServerConfig {
        max_connections: 120,
        max_connections_per_ip: 4,
        max_sessions_per_ip: 4,
        ..ServerConfig::default()
    });
    let url = target.url();
    let addr = target.addr;
    let v = viewer(&url);
    let sid = v
        .query(|c| c.session_id().map(str::to_string))
        .expect("session");

    // Hijack and oracle, from another address and from the viewer's on another connection.
    let s = sid.clone();
    let u = url.clone();
    under_attack("hijack", &v, move |deadline| {
        let session = format!("Session: {s}");
        let mut tries = 0;
        for from in [ip(2), ip(1)] {
            let mut raw = RawRtsp::connect_from(from, addr).expect("connect");
            for (i, (method, uri, extra)) in [
                ("PAUSE", u.clone(), ""),
                ("TEARDOWN", u.clone(), ""),
                ("TEARDOWN", "*".to_string(), ""),
                ("PLAY", u.clone(), ""),
                ("GET_PARAMETER", u.clone(), ""),
                ("SET_PARAMETER", u.clone(), ""),
                (
                    "SETUP",
                    format!("{u}/stream=0"),
                    "Transport: RTP/AVP;unicast;client_port=7000-7001",
                ),
            ]
            .into_iter()
            .enumerate()
            {
                let mut headers = vec![session.as_str()];
                if !extra.is_empty() {
                    headers.push(extra);
                }
                let r = raw
                    .request(&req(method, &uri, i as u32 + 1, &headers))
                    .expect("reply");
                assert_eq!(r.status, 454, "{method} {uri} from {from}");
                assert_eq!(session_header(&r), None, "{method} from {from}");
                tries += 1;
            }
            // The oracle: OPTIONS naming the live session looks like one naming nothing.
            let live = raw
                .request(&req("OPTIONS", "*", 20, &[&session]))
                .expect("reply");
            let none = raw
                .request(&req("OPTIONS", "*", 21, &["Session: 11111111111111111111"]))
                .expect("reply");
            assert_eq!((live.status, none.status), (200, 200));
            assert_eq!(session_header(&live), None);
            assert_eq!(live.lines.len(), none.lines.len());
            assert!(Instant::now() < deadline + WINDOW, "the attack overran");
        }
        println!("hijack: {tries} requests, all 454");
    });

    // Self-loop: media at the server's own sockets.
    let ports = target.rtp_ports.clone();
    let u = url.clone();
    under_attack("self-loop", &v, move |_| {
        let mut raw = RawRtsp::connect(addr).expect("connect");
        for (i, &p) in ports.iter().enumerate() {
            for (j, pair) in [format!("{p}-{}", p + 1), format!("{}-{}", p - 1, p)]
                .iter()
                .enumerate()
            {
                let transport = format!("Transport: RTP/AVP;unicast;client_port={pair}");
                let r = raw
                    .request(&req(
                        "SETUP",
                        &format!("{u}/stream=0"),
                        (10 * i + j) as u32 + 1,
                        &[&transport],
                    ))
                    .expect("reply");
                assert_eq!(r.status, 461, "client_port={pair}");
            }
        }
    });

    // Connection flood with slowloris: every slot taken by clients that never finish a
    // request (40 addresses, under the per-address cap each); a newcomer still gets in.
    let u = url.clone();
    under_attack("connection flood", &v, move |deadline| {
        let mut held: Vec<TcpStream> = Vec::new();
        let mut refused = 0;
        for n in 0..160 {
            let from = ip(10 + (n % 40) as u8);
            match tcp_from(from, addr) {
                Ok(mut s) => {
                    // One byte of a request that never ends.
                    let _ = s.write_all(b"O");
                    held.push(s);
                }
                Err(_) => refused += 1,
            }
        }
        // A newcomer plays, while the flood goes on.
        let newcomer = viewer(&u);
        let mut evicted = 0;
        for s in &mut held {
            s.set_read_timeout(Some(Duration::from_millis(1))).ok();
            let mut b = [0u8; 1];
            if matches!(s.read(&mut b), Ok(0)) {
                evicted += 1;
            }
        }
        println!(
            "connection flood: {} connections opened ({refused} refused at connect), {evicted} closed by the server so far, newcomer playing",
            held.len()
        );
        assert!(evicted > 0, "no slowloris connection was closed for room");
        newcomer.stop();
        assert!(Instant::now() < deadline + WINDOW);
    });

    // Per-address limit across both loops.
    under_attack("per-IP across loops", &v, move |_| {
        let mut conns: Vec<TcpStream> =
            (0..8).filter_map(|_| tcp_from(ip(60), addr).ok()).collect();
        // The server closes those over the cap at once: count the ones still open after an
        // OPTIONS round trip on each.
        let mut open = 0;
        for (i, s) in conns.iter_mut().enumerate() {
            s.set_read_timeout(Some(Duration::from_secs(5))).ok();
            let _ = s.write_all(req("OPTIONS", "*", i as u32 + 1, &[]).as_bytes());
            let mut b = [0u8; 12];
            if matches!(s.read(&mut b), Ok(n) if n > 0) {
                open += 1;
            }
        }
        println!("per-IP across loops: {open} of 8 connections from one address served (cap 4)");
        assert_eq!(open, 4);
    });

    // Session flood from one address: bare SETUPs on 3 connections stop at the cap.
    let u = url.clone();
    under_attack("session flood", &v, move |_| {
        let mut ok = 0;
        let mut refused = 0;
        let mut raws: Vec<RawRtsp> = (0..3)
            .map(|_| RawRtsp::connect_from(ip(70), addr).expect("connect"))
            .collect();
        for i in 0..12u16 {
            let raw = &mut raws[usize::from(i % 3)];
            let transport = format!(
                "Transport: RTP/AVP;unicast;client_port={}-{}",
                9000 + 2 * i,
                9001 + 2 * i
            );
            let r = raw
                .request(&req(
                    "SETUP",
                    &format!("{u}/stream=0"),
                    u32::from(i) + 1,
                    &[&transport],
                ))
                .expect("reply");
            match r.status {
                200 => ok += 1,
                453 => refused += 1,
                s => panic!("SETUP got {s}"),
            }
        }
        println!("session flood: {ok} sessions, {refused} refused with 453 (cap 4 per address)");
        assert_eq!((ok, refused), (4, 8));
        // Another address still gets a session.
        let mut other = RawRtsp::connect_from(ip(71), addr).expect("connect");
        let r = other
            .request(&req(
                "SETUP",
                &format!("{u}/stream=0"),
                1,
                &["Transport: RTP/AVP;unicast;client_port=9100-9101"],
            ))
            .expect("reply");
        assert_eq!(r.status, 200);
    });

    v.stop();
}

/// The splitmix64 output function, and its inverse: the predictor that read every later id
/// and nonce off one 401 nonce of the old generator.
fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

fn unmix(mut z: u64) -> u64 {
    let inv = |a: u64| {
        // Newton's iteration for the inverse of an odd number modulo 2^64.
        let mut x = a;
        for _ in 0..6 {
            x = x.wrapping_mul(2u64.wrapping_sub(a.wrapping_mul(x)));
        }
        x
    };
    z ^= (z >> 31) ^ (z >> 62);
    z = z.wrapping_mul(inv(0x94D0_49BB_1331_11EB));
    z ^= (z >> 27) ^ (z >> 54);
    z = z.wrapping_mul(inv(0xBF58_476D_1CE4_E5B9));
    z ^ (z >> 30) ^ (z >> 60)
}

/// One 401 nonce does not give away the next ones: the old predictor (splitmix64 inverted
/// from the nonce's two 64-bit halves) hits none of 20 later nonces, and no nonce or session
/// id repeats.
#[test]
fn nonces_and_ids_cannot_be_predicted() {
    const GAMMA: u64 = 0x9E37_79B9_7F4A_7C15;
    // The predictor works on the old generator.
    let state = 12_345u64;
    let (a, b) = (
        mix(state.wrapping_add(GAMMA)),
        mix(state.wrapping_add(GAMMA.wrapping_mul(2))),
    );
    assert_eq!(unmix(b), state.wrapping_add(GAMMA.wrapping_mul(2)));
    assert_eq!(mix(unmix(a).wrapping_add(GAMMA)), b);

    let target = Target::start(ServerConfig {
        auth: Some(AuthConfig::new(vec![rtsp_core::auth::Credentials::new(
            "alice", "s3cret",
        )])),
        ..ServerConfig::default()
    });
    let url = target.url();
    let mut raw = RawRtsp::connect(target.addr).expect("connect");
    let nonce = |raw: &mut RawRtsp, cseq| {
        let r = raw
            .request(&req("DESCRIBE", &url, cseq, &[]))
            .expect("reply");
        assert_eq!(r.status, 401);
        let h = r.header("WWW-Authenticate").expect("challenge").to_string();
        let at = h.find("nonce=\"").expect("nonce") + 7;
        h[at..at + 32].to_string()
    };
    let first = nonce(&mut raw, 1);
    let last_half = u64::from_str_radix(&first[16..], 16).expect("hex");
    let mut s = unmix(last_half);
    let mut seen = vec![first];
    let mut hits = 0;
    for i in 0..20 {
        let (x, y) = (
            mix(s.wrapping_add(GAMMA)),
            mix(s.wrapping_add(GAMMA.wrapping_mul(2))),
        );
        s = s.wrapping_add(GAMMA.wrapping_mul(2));
        let predicted = format!("{x:016x}{y:016x}");
        let actual = nonce(&mut raw, i + 2);
        hits += usize::from(predicted == actual);
        assert!(!seen.contains(&actual), "a nonce repeated");
        seen.push(actual);
    }
    println!("prediction: {hits} of 20 nonces predicted");
    assert_eq!(hits, 0);
}
