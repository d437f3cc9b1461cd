//! Streams the catalog loads off the event loop: the request waits on its connection (the
//! ones behind it too), other connections and sessions go on, and the answer comes when the
//! catalog's generation moves, or 503 at the load timeout.

use super::*;

/// `slow.mjpeg` is loading until the test says it is done.
#[derive(Clone)]
struct Loader {
    inner: MemoryCatalog,
    /// (loaded, generation)
    state: Arc<Mutex<(bool, u64)>>,
}

impl Catalog for Loader {
    fn lookup(&mut self, path: &str) -> Result<Arc<Media>, LookupError> {
        match path {
            "slow.mjpeg" if !self.state.lock().unwrap().0 => Err(LookupError::Loading),
            "slow.mjpeg" => self.inner.lookup("test"),
            _ => self.inner.lookup(path),
        }
    }

    fn names(&self) -> Vec<String> {
        self.inner.names()
    }

    fn generation(&self) -> u64 {
        self.state.lock().unwrap().1
    }
}

fn harness(config: ServerConfig) -> (H, Arc<Mutex<(bool, u64)>>) {
    let state = Arc::new(Mutex::new((false, 0)));
    let catalog = Loader {
        inner: H::test_catalog(),
        state: Arc::clone(&state),
    };
    let mut h = H::with_catalog(config, Box::new(catalog), Arc::default());
    h.connect(C1);
    (h, state)
}

/// The load ends: the catalog's generation moves, and the runtime gives the machine an input.
fn finish_load(h: &mut H, state: &Mutex<(bool, u64)>, loaded: bool) {
    {
        let mut s = state.lock().unwrap();
        s.0 = loaded;
        s.1 += 1;
    }
    let now = h.now;
    h.input(Input::Timeout(now));
}

fn cseqs(outs: &[Out], conn: ConnId) -> Vec<(u32, StatusCode)> {
    responses(outs, conn)
        .iter()
        .map(|r| (r.cseq().unwrap(), r.status))
        .collect()
}

#[test]
fn a_request_waits_for_its_stream_and_nothing_else_does() {
    let (mut h, state) = harness(config());
    // Another client plays meanwhile.
    let c2 = ConnId(2);
    h.connect(c2);
    let r = h.setup(
        c2,
        "rtsp://h/test/stream=0",
        1,
        "RTP/AVP;unicast;client_port=5000-5001",
    );
    let sid = session_of(&r);
    let r = h.request(c2, &with_session("PLAY", "rtsp://h/test/", 2, &sid));
    assert_eq!(r.status, StatusCode::OK);
    h.take();
    // DESCRIBE of the loading stream, and an OPTIONS pipelined behind it: no reply yet.
    let two = format!(
        "{}{}",
        req("DESCRIBE", "rtsp://h/slow.mjpeg", 1, &[]),
        req("OPTIONS", "*", 2, &[])
    );
    h.send(C1, two.as_bytes());
    h.advance(Duration::from_secs(1));
    let outs = h.take();
    assert!(cseqs(&outs, C1).is_empty(), "answered while loading");
    let frames = udp(&outs, rtp_local(), client_rtp())
        .iter()
        .filter(|d| rtp(d).marker)
        .count();
    assert_eq!(frames, 10, "the other session's frames went on");
    // Another connection is answered at once.
    let c3 = ConnId(3);
    h.connect(c3);
    assert_eq!(
        h.ask(c3, "DESCRIBE", "rtsp://h/test", 1, &[]).status,
        StatusCode::OK
    );
    // The load ends: the DESCRIBE, then the OPTIONS, in order.
    finish_load(&mut h, &state, true);
    let outs = h.take();
    assert_eq!(
        cseqs(&outs, C1),
        vec![(1, StatusCode::OK), (2, StatusCode::OK)]
    );
    let describe = &responses(&outs, C1)[0];
    assert!(String::from_utf8_lossy(&describe.body).contains("m=video"));
    assert!(!closed(&outs, C1));
}

#[test]
fn a_load_that_ends_elsewhere_is_asked_again_only_when_the_generation_moves() {
    let (mut h, state) = harness(config());
    h.send(
        C1,
        req(
            "SETUP",
            "rtsp://h/slow.mjpeg/stream=0",
            1,
            &["Transport: RTP/AVP;unicast;client_port=5000-5001"],
        )
        .as_bytes(),
    );
    // Inputs without a new generation change nothing.
    h.advance(Duration::from_secs(2));
    assert!(cseqs(&h.take(), C1).is_empty());
    // Another load ended (generation moves) but not ours: still waiting.
    finish_load(&mut h, &state, false);
    assert!(cseqs(&h.take(), C1).is_empty());
    finish_load(&mut h, &state, true);
    let outs = h.take();
    assert_eq!(cseqs(&outs, C1), vec![(1, StatusCode::OK)]);
    assert_eq!(h.server.session_count(), 1);
}

#[test]
fn a_load_that_takes_too_long_gets_503_and_the_queue_moves_on() {
    let (mut h, _state) = harness(ServerConfig {
        load_timeout: Duration::from_secs(5),
        ..config()
    });
    let two = format!(
        "{}{}",
        req("DESCRIBE", "rtsp://h/slow.mjpeg", 1, &[]),
        req("OPTIONS", "*", 2, &[])
    );
    h.send(C1, two.as_bytes());
    h.advance(Duration::from_millis(4999));
    assert!(cseqs(&h.take(), C1).is_empty());
    h.advance(Duration::from_millis(1));
    let outs = h.take();
    assert_eq!(
        cseqs(&outs, C1),
        vec![(1, StatusCode::SERVICE_UNAVAILABLE), (2, StatusCode::OK)]
    );
    assert!(!closed(&outs, C1));
}

#[test]
fn a_client_that_piles_up_requests_behind_a_wait_is_closed() {
    let (mut h, _state) = harness(config());
    h.send(
        C1,
        req("DESCRIBE", "rtsp://h/slow.mjpeg", 1, &[]).as_bytes(),
    );
    let limits = config().limits;
    let junk = vec![b'x'; limits.max_head + limits.max_body + 1];
    h.send(C1, &junk);
    let outs = h.take();
    assert!(closed(&outs, C1));
    assert_eq!(limit_events(&outs), vec![Limit::BufferedWhileLoading]);
}

/// The waiting request was authenticated when it arrived; it is not checked again when it is
/// answered (a Digest nonce count is good once).
#[test]
fn a_waiting_request_is_not_authenticated_twice() {
    let good = crate::auth::Credentials::new("alice", "s3cret");
    let mut auth = AuthConfig::new(vec![good.clone()]);
    auth.nonce_lifetime = Duration::from_secs(60);
    let (mut h, state) = harness(ServerConfig {
        auth: Some(auth),
        ..config()
    });
    let r = h.ask(C1, "DESCRIBE", "rtsp://h/slow.mjpeg", 1, &[]);
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    h.take();
    let challenges =
        crate::auth::Challenge::parse_all(r.headers.get_all(&HeaderName::WWW_AUTHENTICATE));
    let c = crate::auth::Challenge::best(&challenges).unwrap().clone();
    let mut st = crate::auth::DigestState::new("c0ffee");
    let a = c.authorization(&good, "DESCRIBE", "rtsp://h/slow.mjpeg", &mut st);
    h.send(
        C1,
        req(
            "DESCRIBE",
            "rtsp://h/slow.mjpeg",
            2,
            &[&format!("Authorization: {a}")],
        )
        .as_bytes(),
    );
    assert!(cseqs(&h.take(), C1).is_empty());
    finish_load(&mut h, &state, true);
    assert_eq!(cseqs(&h.take(), C1), vec![(2, StatusCode::OK)]);
}

#[test]
fn an_http_viewer_of_a_loading_file_waits_for_it() {
    let (mut h, state) = harness(ServerConfig {
        http: Some(HttpConfig::default()),
        ..config()
    });
    h.connect(ConnId(9));
    h.take();
    h.send(ConnId(9), b"GET /slow.mjpeg/stream.mjpg HTTP/1.1\r\n\r\n");
    assert!(
        stream_bytes(&h.take(), ConnId(9)).is_empty(),
        "no answer while loading"
    );
    finish_load(&mut h, &state, true);
    let bytes = stream_bytes(&h.take(), ConnId(9));
    assert!(
        bytes.starts_with(b"HTTP/1.1 200 OK\r\n"),
        "{}",
        String::from_utf8_lossy(&bytes)
    );
    assert!(
        bytes.windows(12).any(|w| w == b"Content-Leng"),
        "the first part follows"
    );
}

#[test]
fn an_http_request_waits_for_its_stream_no_longer_than_the_load_timeout() {
    let (mut h, _state) = harness(ServerConfig {
        http: Some(HttpConfig::default()),
        load_timeout: Duration::from_secs(5),
        ..config()
    });
    h.connect(ConnId(9));
    h.take();
    h.send(ConnId(9), b"GET /slow.mjpeg/snapshot.jpg HTTP/1.1\r\n\r\n");
    h.advance(Duration::from_millis(4_900));
    assert!(
        stream_bytes(&h.take(), ConnId(9)).is_empty(),
        "still waiting"
    );
    h.advance(Duration::from_millis(200));
    let outs = h.take();
    let bytes = stream_bytes(&outs, ConnId(9));
    assert!(
        bytes.starts_with(b"HTTP/1.1 503 "),
        "{}",
        String::from_utf8_lossy(&bytes)
    );
    assert!(closed(&outs, ConnId(9)));
}
