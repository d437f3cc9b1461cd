//! The HTTP side: routing, multipart framing (file and live), snapshots, JSON, metrics,
//! authentication and the admin's kick, hostile heads, and HTTP off.

use super::*;
use crate::auth::{Challenge, Credentials, DigestState};
use crate::server::SharedReports;

const C2: ConnId = ConnId(2);

fn http_config() -> ServerConfig {
    ServerConfig {
        http: Some(HttpConfig {
            admins: vec!["root".into()],
            rtsp_port: 8554,
        }),
        ..config()
    }
}

fn auth_http_config() -> ServerConfig {
    let mut auth = AuthConfig::new(vec![
        Credentials::new("alice", "a"),
        Credentials::new("bob", "b"),
        Credentials::new("root", "r"),
    ]);
    auth.basic = true;
    auth.paths.insert(
        "test".into(),
        PathUsers {
            read: Some(vec!["alice".into(), "root".into()]),
            publish: None,
        },
    );
    ServerConfig {
        auth: Some(auth),
        ..http_config()
    }
}

/// A parsed HTTP response: status, headers, body (everything after the head).
struct Resp {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Resp {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

fn parse_resp(bytes: &[u8]) -> Resp {
    let mut headers = [httparse::EMPTY_HEADER; 32];
    let mut r = httparse::Response::new(&mut headers);
    let len = match r.parse(bytes).expect("an HTTP response") {
        httparse::Status::Complete(len) => len,
        httparse::Status::Partial => {
            panic!("incomplete head: {:?}", String::from_utf8_lossy(bytes))
        }
    };
    Resp {
        status: r.code.unwrap(),
        headers: r
            .headers
            .iter()
            .map(|h| {
                (
                    h.name.to_string(),
                    String::from_utf8_lossy(h.value).into_owned(),
                )
            })
            .collect(),
        body: bytes[len..].to_vec(),
    }
}

/// Sends `text` on a new connection `conn`: what came back on it.
fn get(h: &mut H, conn: ConnId, text: &str) -> Resp {
    h.connect(conn);
    h.take();
    h.send(conn, text.as_bytes());
    let outs = h.take();
    h.outs = outs;
    parse_resp(&stream_bytes(&h.outs, conn))
}

fn simple(h: &mut H, conn: ConnId, method: &str, target: &str, extra: &str) -> Resp {
    get(
        h,
        conn,
        &format!("{method} {target} HTTP/1.1\r\nHost: example.org:8080\r\n{extra}\r\n"),
    )
}

/// The JPEGs of a multipart body, checking the framing of every part.
fn parts(body: &[u8]) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut rest = body;
    let prefix = format!("--{}\r\n", crate::server::http::BOUNDARY);
    while !rest.is_empty() {
        assert!(
            rest.starts_with(prefix.as_bytes()),
            "a part starts with the boundary"
        );
        let mut headers = [httparse::EMPTY_HEADER; 4];
        let (len, hs) = match httparse::parse_headers(&rest[prefix.len()..], &mut headers).unwrap()
        {
            httparse::Status::Complete(x) => x,
            httparse::Status::Partial => panic!("incomplete part head"),
        };
        let get = |n: &str| hs.iter().find(|h| h.name == n).map(|h| h.value);
        assert_eq!(get("Content-Type"), Some(&b"image/jpeg"[..]));
        let n: usize = std::str::from_utf8(get("Content-Length").unwrap())
            .unwrap()
            .parse()
            .unwrap();
        let start = prefix.len() + len;
        out.push(rest[start..start + n].to_vec());
        assert_eq!(
            &rest[start + n..start + n + 2],
            b"\r\n",
            "CRLF after the JPEG"
        );
        rest = &rest[start + n + 2..];
    }
    out
}

#[test]
fn http_is_refused_like_garbage_when_off() {
    let mut h = H::new();
    h.connect(C1);
    h.send(C1, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    let outs = h.take();
    let bytes = stream_bytes(&outs, C1);
    assert!(
        bytes.starts_with(b"RTSP/1.0 400"),
        "{}",
        String::from_utf8_lossy(&bytes)
    );
    assert!(closed(&outs, C1));
}

#[test]
fn the_page_lists_every_stream_with_preview_and_rtsp_url() {
    let mut h = H::with_config(http_config());
    let r = simple(&mut h, C1, "GET", "/", "");
    assert_eq!(r.status, 200);
    assert_eq!(r.header("Content-Type"), Some("text/html; charset=utf-8"));
    assert_eq!(r.header("Connection"), Some("close"));
    assert_eq!(r.header("Cache-Control"), Some("no-cache, no-store"));
    let page = String::from_utf8(r.body).unwrap();
    for name in ["test", "dir/clip.mjpeg", "movie.Mjpeg"] {
        assert!(
            page.contains(&format!("<img src=\"/{name}/stream.mjpg\"")),
            "{page}"
        );
        assert!(
            page.contains(&format!("rtsp://example.org:8554/{name}")),
            "{page}"
        );
    }
    assert!(page.contains("64×48") && page.contains("10.00"));
    assert!(closed(&h.outs, C1));
    // The style sheet is served too; HEAD gets the head only.
    let css = simple(&mut h, C2, "GET", "/style.css", "");
    assert_eq!(
        (css.status, css.header("Content-Type")),
        (200, Some("text/css; charset=utf-8"))
    );
    let head = simple(&mut h, ConnId(3), "HEAD", "/", "");
    assert!(head.body.is_empty() && head.header("Content-Length").unwrap() != "0");
}

#[test]
fn a_file_plays_for_each_viewer_from_its_start_at_its_rate_then_closes() {
    let mut h = H::with_config(http_config());
    let r = simple(&mut h, C1, "GET", "/dir/clip.mjpeg/stream.mjpg", "");
    assert_eq!(r.status, 200);
    assert_eq!(
        r.header("Content-Type"),
        Some(
            format!(
                "multipart/x-mixed-replace;boundary={}",
                crate::server::http::BOUNDARY
            )
            .as_str()
        )
    );
    assert_eq!(r.header("Content-Length"), None);
    // Frame 0 at once, then one per 100 ms.
    assert_eq!(parts(&r.body).len(), 1);
    h.advance(Duration::from_millis(950));
    let body = parse_resp(&stream_bytes(&h.outs, C1)).body;
    assert_eq!(parts(&body).len(), 10);
    assert!(!closed(&h.outs, C1));
    h.advance(Duration::from_secs(2));
    let body = parse_resp(&stream_bytes(&h.outs, C1)).body;
    let got = parts(&body);
    let want: Vec<Vec<u8>> = test_frames().iter().map(|f| f.to_vec()).collect();
    assert_eq!(got, want, "every frame once, in order, byte for byte");
    assert!(
        closed(&h.outs, C1),
        "a file that does not loop ends the stream"
    );
}

#[test]
fn a_looping_server_loops_files_for_http_viewers() {
    let mut h = H::with_config(ServerConfig {
        loop_media: true,
        ..http_config()
    });
    let _ = simple(&mut h, C1, "GET", "/test/stream.mjpg", "");
    h.advance(Duration::from_millis(2_050));
    let body = parse_resp(&stream_bytes(&h.outs, C1)).body;
    let got = parts(&body);
    assert_eq!(got.len(), 21);
    assert_eq!(got[20], test_frames()[0].to_vec());
    assert!(!closed(&h.outs, C1));
}

fn live_http_harness() -> H {
    let live = LivePaths::new();
    live.add("cam", LiveSource::Pulled { on_demand: true });
    H::with_config(ServerConfig {
        live,
        ..http_config()
    })
}

fn live_frame(i: usize) -> LiveFrame {
    LiveFrame::from_jpeg(test_frames()[i].clone(), i as u64 * 3600, MTU).unwrap()
}

#[test]
fn live_viewers_get_every_pushed_frame_and_count_as_readers() {
    let mut h = live_http_harness();
    let snap = simple(&mut h, C2, "GET", "/cam/snapshot.jpg", "");
    assert_eq!((snap.status, snap.header("Retry-After")), (503, Some("1")));
    let r = simple(&mut h, C1, "GET", "/cam/stream.mjpg", "");
    assert_eq!(r.status, 200);
    assert!(r.body.is_empty());
    assert_eq!(
        h.server.config().live.readers("cam"),
        1,
        "a viewer wants the source"
    );
    for i in 0..5 {
        let now = h.now;
        h.server.push_frame("cam", &live_frame(i), now);
        h.drain();
    }
    let body = parse_resp(&stream_bytes(&h.outs, C1)).body;
    let want: Vec<Vec<u8>> = test_frames()[..5].iter().map(|f| f.to_vec()).collect();
    assert_eq!(parts(&body), want);
    // The snapshot is the latest frame.
    let snap = simple(&mut h, ConnId(3), "GET", "/cam/snapshot.jpg", "");
    assert_eq!(
        (snap.status, snap.header("Content-Type")),
        (200, Some("image/jpeg"))
    );
    assert_eq!(snap.body, test_frames()[4].to_vec());
    // Idle time does not end a viewer; its close ends the reader.
    h.advance(Duration::from_secs(400));
    assert!(!closed(&h.outs, C1));
    h.close(C1);
    assert_eq!(h.server.config().live.readers("cam"), 0);
}

#[test]
fn a_file_snapshot_is_its_first_frame() {
    let mut h = H::with_config(http_config());
    let r = simple(&mut h, C1, "GET", "/movie.Mjpeg/snapshot.jpg", "");
    assert_eq!(r.status, 200);
    assert_eq!(r.body, test_frames()[0].to_vec());
    let r = simple(&mut h, C2, "GET", "/nope/snapshot.jpg", "");
    assert_eq!(r.status, 404);
    let r = simple(&mut h, ConnId(3), "GET", "/..%2Fetc/snapshot.jpg", "");
    assert_eq!(r.status, 403);
}

#[test]
fn errors_have_their_status_and_body() {
    let mut h = H::with_config(http_config());
    let r = simple(&mut h, ConnId(10), "GET", "/nothing", "");
    assert_eq!(
        (r.status, r.body.as_slice()),
        (404, &b"404 Not Found\n"[..])
    );
    let r = simple(&mut h, ConnId(11), "DELETE", "/metrics", "");
    assert_eq!((r.status, r.header("Allow")), (405, Some("GET, HEAD")));
    let r = simple(&mut h, ConnId(12), "GET", "/api/sessions/1/kick", "");
    assert_eq!((r.status, r.header("Allow")), (405, Some("POST")));
    let r = simple(
        &mut h,
        ConnId(13),
        "POST",
        "/api/sessions/1/kick",
        "Content-Length: 10\r\n",
    );
    assert_eq!(r.status, 413);
    let many = "X-A: b\r\n".repeat(100);
    let r = simple(&mut h, ConnId(14), "GET", "/", &many);
    assert_eq!(r.status, 431);
    let r = get(
        &mut h,
        ConnId(15),
        &format!("GET /{} HTTP/1.1\r\n\r\n", "a".repeat(5000)),
    );
    assert_eq!(r.status, 414);
    let r = get(&mut h, ConnId(16), "GET / HTTP/1.1\r\nBad Header\r\n\r\n");
    assert_eq!(r.status, 400);
    // Slowloris: a head not complete within the request timeout.
    h.connect(ConnId(17));
    h.take();
    h.send(ConnId(17), b"GET / HTTP/1.1\r\nHost: x\r\n");
    h.advance(Duration::from_secs(11));
    let r = parse_resp(&stream_bytes(&h.outs, ConnId(17)));
    assert_eq!(r.status, 408);
    assert!(closed(&h.outs, ConnId(17)));
}

#[test]
fn json_shapes_of_streams_and_sessions() {
    let mut h = H::with_config(http_config());
    // An RTSP session, to be listed.
    h.connect(ConnId(5));
    let sid = {
        let r = h.setup(
            ConnId(5),
            "rtsp://h/test/stream=0",
            1,
            "RTP/AVP;unicast;client_port=5000-5001",
        );
        session_of(&r)
    };
    let r = simple(&mut h, C1, "GET", "/api/streams", "");
    assert_eq!(r.header("Content-Type"), Some("application/json"));
    let v: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
    let streams = v["streams"].as_array().unwrap();
    assert_eq!(streams.len(), 3);
    let test = streams.iter().find(|s| s["name"] == "test").unwrap();
    assert_eq!(test["kind"], "file");
    assert_eq!(test["state"], "ready");
    assert_eq!(
        (test["width"].as_u64(), test["height"].as_u64()),
        (Some(64), Some(48))
    );
    assert_eq!(test["fps"].as_f64(), Some(10.0));
    assert_eq!(test["readers"].as_u64(), Some(1));
    assert_eq!(test["rtsp_url"], "rtsp://example.org:8554/test");
    assert_eq!(test["mjpeg_url"], "/test/stream.mjpg");
    let r = simple(&mut h, C2, "GET", "/api/sessions", "");
    let v: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
    let s = &v["sessions"][0];
    assert_eq!(s["id"], sid.as_str());
    assert_eq!(
        (s["protocol"].as_str(), s["transport"].as_str()),
        (Some("rtsp"), Some("udp"))
    );
    assert_eq!(
        (s["stream"].as_str(), s["state"].as_str()),
        (Some("test"), Some("ready"))
    );
    assert!(s["packets"].is_u64() && s["loss"].is_null());
}

#[test]
fn metrics_report_readers_traffic_and_limits() {
    let mut h = H::with_config(http_config());
    let _ = simple(&mut h, ConnId(7), "GET", "/test/stream.mjpg", "");
    h.send(ConnId(9), b"x"); // unknown connection: nothing
    let r = simple(&mut h, C1, "GET", "/metrics", "");
    assert_eq!(
        r.header("Content-Type"),
        Some("text/plain; version=0.0.4; charset=utf-8")
    );
    let text = String::from_utf8(r.body).unwrap();
    assert!(text.contains("# TYPE rtsp_readers gauge\n"), "{text}");
    assert!(
        text.contains("rtsp_readers{path=\"test\",transport=\"http\"} 1\n"),
        "{text}"
    );
    assert!(text.contains("rtsp_connections 2\n"), "{text}");
}

fn basic(user: &str, pass: &str) -> String {
    format!(
        "Authorization: {}\r\n",
        crate::auth::basic_authorization(&Credentials::new(user, pass))
    )
}

#[test]
fn auth_refuses_with_401_and_403_per_path() {
    let mut h = H::with_config(auth_http_config());
    let r = simple(&mut h, ConnId(20), "GET", "/", "");
    assert_eq!(r.status, 401);
    let challenges: Vec<&str> = r
        .headers
        .iter()
        .filter(|(n, _)| n == "WWW-Authenticate")
        .map(|(_, v)| v.as_str())
        .collect();
    assert!(
        challenges.iter().any(|c| c.starts_with("Digest")),
        "{challenges:?}"
    );
    assert!(
        challenges.iter().any(|c| c.starts_with("Basic")),
        "{challenges:?}"
    );
    let r = simple(&mut h, ConnId(21), "GET", "/", &basic("bob", "wrong"));
    assert_eq!(r.status, 401);
    let r = simple(
        &mut h,
        ConnId(22),
        "GET",
        "/test/stream.mjpg",
        &basic("bob", "b"),
    );
    assert_eq!(r.status, 403, "bob may not read test");
    let r = simple(
        &mut h,
        ConnId(23),
        "GET",
        "/test/snapshot.jpg",
        &basic("alice", "a"),
    );
    assert_eq!(r.status, 200);
    let r = simple(
        &mut h,
        ConnId(24),
        "GET",
        "/movie.Mjpeg/snapshot.jpg",
        &basic("bob", "b"),
    );
    assert_eq!(r.status, 200, "paths without a rule are open to every user");
    // Digest: the uri is the request target.
    let r = simple(&mut h, ConnId(25), "GET", "/metrics", "");
    let all = Challenge::parse_all(
        r.headers
            .iter()
            .filter(|(n, _)| n == "WWW-Authenticate")
            .map(|(_, v)| v.as_str()),
    );
    let c = all
        .iter()
        .find(|c| c.scheme == crate::auth::Scheme::Digest)
        .unwrap();
    let a = c.authorization(
        &Credentials::new("bob", "b"),
        "GET",
        "/metrics",
        &mut DigestState::new("c1"),
    );
    let r = simple(
        &mut h,
        ConnId(26),
        "GET",
        "/metrics",
        &format!("Authorization: {a}\r\n"),
    );
    assert_eq!(r.status, 200);
}

#[test]
fn only_admins_kick_sessions_and_viewers() {
    let mut h = H::with_config(auth_http_config());
    h.connect(ConnId(5));
    let r = h.ask(
        ConnId(5),
        "SETUP",
        "rtsp://h/movie.Mjpeg/stream=0",
        1,
        &[
            basic("bob", "b").trim_end(),
            "Transport: RTP/AVP;unicast;client_port=5000-5001",
        ],
    );
    let sid = session_of(&r);
    let target = format!("/api/sessions/{sid}/kick");
    let r = simple(&mut h, ConnId(30), "POST", &target, &basic("alice", "a"));
    assert_eq!(r.status, 403);
    assert_eq!(h.server.session_count(), 1);
    let r = simple(&mut h, ConnId(31), "POST", &target, &basic("root", "r"));
    assert_eq!(r.status, 200);
    let v: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
    assert_eq!(v["kicked"], sid.as_str());
    assert_eq!(h.server.session_count(), 0);
    let r = simple(&mut h, ConnId(32), "POST", &target, &basic("root", "r"));
    assert_eq!(r.status, 404);
    // An HTTP viewer, by its listed id.
    let _ = simple(
        &mut h,
        ConnId(40),
        "GET",
        "/movie.Mjpeg/stream.mjpg",
        &basic("bob", "b"),
    );
    let r = simple(
        &mut h,
        ConnId(34),
        "GET",
        "/api/sessions",
        &basic("root", "r"),
    );
    let v: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
    let id = v["sessions"][0]["id"].as_str().unwrap().to_string();
    assert_eq!(id, "http-0-40", "{v}");
    let target = format!("/api/sessions/{id}/kick");
    let r = simple(&mut h, ConnId(33), "POST", &target, &basic("root", "r"));
    assert_eq!(r.status, 200);
    assert!(closed(&h.outs, ConnId(40)));
    // Another loop's viewer with the same connection number is not this one's.
    let r = simple(
        &mut h,
        ConnId(35),
        "POST",
        "/api/sessions/http-1-40/kick",
        &basic("root", "r"),
    );
    assert_eq!(r.status, 404);
}

#[test]
fn without_authentication_nobody_kicks() {
    let mut h = H::with_config(http_config());
    let r = simple(&mut h, C1, "POST", "/api/sessions/x/kick", "");
    assert_eq!(r.status, 403);
}

#[test]
fn rtsp_still_works_with_http_on() {
    let mut h = H::connected_with(http_config());
    let r = h.ask(C1, "OPTIONS", "*", 1, &[]);
    assert_eq!(r.status, StatusCode::OK);
}

#[test]
fn loops_sharing_reports_list_each_others_sessions_and_pass_kicks_on() {
    let (counts, reports) = (SharedCounts::new(), SharedReports::default());
    let config = || ServerConfig {
        counts: Some(counts.clone()),
        reports: Some(reports.clone()),
        ..auth_http_config()
    };
    let (mut a, mut b) = (H::with_config(config()), H::with_config(config()));
    // Loop b holds an RTSP session and an HTTP viewer.
    b.connect(C1);
    let r = b.ask(
        C1,
        "SETUP",
        "rtsp://h/dir/clip.mjpeg/stream=0",
        1,
        &[
            basic("bob", "b").trim_end(),
            "Transport: RTP/AVP;unicast;client_port=5000-5001",
        ],
    );
    let sid = session_of(&r);
    let _ = simple(
        &mut b,
        ConnId(40),
        "GET",
        "/movie.Mjpeg/stream.mjpg",
        &basic("bob", "b"),
    );
    // Sessions and viewers that came report at most every 100 ms: b's deadline says when.
    assert!(b
        .deadline
        .is_some_and(|d| d <= b.now + Duration::from_millis(100)));
    b.advance(Duration::from_millis(100));
    // Loop a lists them, and counts b's readers in the metrics.
    let r = simple(
        &mut a,
        ConnId(30),
        "GET",
        "/api/sessions",
        &basic("root", "r"),
    );
    let v: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
    let ids: Vec<&str> = v["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, vec![sid.as_str(), "http-1-40"], "{v}");
    let r = simple(&mut a, ConnId(31), "GET", "/metrics", &basic("root", "r"));
    let text = String::from_utf8(r.body).unwrap();
    assert!(
        text.contains("rtsp_readers{path=\"dir/clip.mjpeg\",transport=\"udp\"} 1"),
        "{text}"
    );
    assert!(
        text.contains("rtsp_readers{path=\"movie.Mjpeg\",transport=\"http\"} 1"),
        "{text}"
    );
    // A kick on loop a of b's session is passed on (202); of nobody's, 404.
    let target = format!("/api/sessions/{sid}/kick");
    let r = simple(&mut a, ConnId(32), "POST", &target, &basic("root", "r"));
    assert_eq!(r.status, 202);
    let asked = events(&a.outs)
        .into_iter()
        .any(|e| matches!(e, ServerEvent::KickRequested { session } if *session == sid));
    assert!(asked, "the runtime is asked to kick it on the other loops");
    let r = simple(
        &mut a,
        ConnId(33),
        "POST",
        "/api/sessions/NOBODY/kick",
        &basic("root", "r"),
    );
    assert_eq!(r.status, 404);
    // The runtime's kick on loop b ends them; b's report says so by its next deadline.
    let now = b.now + Duration::from_millis(100);
    assert!(b.server.kick(&sid, now));
    assert!(b.server.kick("http-1-40", now));
    b.drain();
    assert!(b
        .deadline
        .is_some_and(|d| d <= now + Duration::from_millis(100)));
    b.advance(Duration::from_millis(200));
    let r = simple(
        &mut a,
        ConnId(34),
        "GET",
        "/api/sessions",
        &basic("root", "r"),
    );
    let v: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
    assert_eq!(v["sessions"], serde_json::json!([]), "{v}");
}

#[test]
fn refused_connections_are_counted_by_limit_in_the_metrics() {
    let mut h = H::with_config(ServerConfig {
        max_connections_per_ip: 2,
        ..http_config()
    });
    h.connect(ConnId(50));
    h.connect(ConnId(51));
    h.connect(ConnId(52)); // over the per-IP limit: closed at once
    h.close(ConnId(50));
    let r = simple(&mut h, C1, "GET", "/metrics", "");
    let text = String::from_utf8(r.body).unwrap();
    assert!(
        text.contains("rtsp_limit_exceeded_total{limit=\"connections_per_ip\"} 1\n"),
        "{text}"
    );
}
