//! The HTTP side on real sockets (runtime-mio, two event loops, the HTTP listener beside the
//! RTSP one), read by `curl` and `ffmpeg`: the page, the JSON API, a snapshot, the metrics
//! (through a strict Prometheus text-format parser), the multipart stream byte for byte
//! (`ffmpeg -f mpjpeg`), the auth refusals (401 with `WWW-Authenticate`, 403 for a user the
//! path does not list), Digest over HTTP, and an admin's kick.
//!
//! Each test skips (loudly, and passes) only when `curl` or `ffmpeg` is not installed. Every
//! peer runs under `timeout`.

use it::peers::{require_peer, run_peer};
use it::prometheus;
use rtsp_core::auth::Credentials;
use rtsp_core::server::{AuthConfig, HttpConfig, Media, MemoryCatalog, PathUsers, ServerConfig};
use runtime_mio::{LoopsOptions, ServerLoops, SharedCatalog, ShutdownHandle};
use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::thread::JoinHandle;
use std::time::Duration;

const FRAMES: u32 = 40;
const FPS: f64 = 40.0;
const LIMIT: Duration = Duration::from_secs(30);

struct Running {
    http: SocketAddr,
    rtsp: SocketAddr,
    frames: Vec<bytes::Bytes>,
    shutdown: ShutdownHandle,
    thread: Option<JoinHandle<std::io::Result<()>>>,
}

impl Running {
    fn start(loops: usize, auth: Option<AuthConfig>) -> Self {
        let frames = mjpeg::testpattern::frames(FRAMES, 160, 120);
        let media = Media::from_jpegs("clips/movie.mjpeg", FPS, frames.clone(), 1400).unwrap();
        let catalog = SharedCatalog::new(MemoryCatalog::new().with(media));
        let mut opts = LoopsOptions::new("127.0.0.1:0".parse().unwrap());
        opts.loops = loops;
        opts.http = Some("127.0.0.1:0".parse().unwrap());
        opts.config = ServerConfig {
            http: Some(HttpConfig {
                admins: vec!["root".into()],
                rtsp_port: 0,
            }),
            auth,
            ..ServerConfig::default()
        };
        let l = ServerLoops::bind(&opts, &catalog).expect("bind");
        let (http, rtsp, shutdown) = (l.http_addr().unwrap(), l.local_addr(), l.shutdown_handle());
        let thread = Some(std::thread::spawn(move || l.run("http-test")));
        Self {
            http,
            rtsp,
            frames,
            shutdown,
            thread,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.http)
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.shutdown.shutdown();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// A response as curl printed it (`-i`).
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

/// `curl -s -i ARGS URL` under `timeout`: the response.
fn curl(args: &[&str], url: &str) -> Resp {
    let out = Command::new("timeout")
        .args(["-k", "5", "20", "curl", "-s", "-i", "--max-time", "15"])
        .args(args)
        .arg(url)
        .stdin(Stdio::null())
        .output()
        .expect("run curl");
    let raw = out.stdout;
    // With Digest, curl prints the 401 first: the last response counts.
    let mut at = 0;
    loop {
        let mut headers = [httparse::EMPTY_HEADER; 32];
        let mut r = httparse::Response::new(&mut headers);
        let len = match r.parse(&raw[at..]) {
            Ok(httparse::Status::Complete(len)) => len,
            other => panic!(
                "curl printed no response ({other:?}): {:?}",
                String::from_utf8_lossy(&raw)
            ),
        };
        let resp = Resp {
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
            body: raw[at + len..].to_vec(),
        };
        if resp.body.starts_with(b"HTTP/1.1 ") {
            at += len;
            continue;
        }
        return resp;
    }
}

#[test]
fn curl_reads_the_page_the_api_a_snapshot_and_the_metrics() {
    if !require_peer("curl") {
        return;
    }
    let s = Running::start(2, None);
    let page = curl(&[], &s.url("/"));
    assert_eq!(page.status, 200);
    assert_eq!(
        page.header("Content-Type"),
        Some("text/html; charset=utf-8")
    );
    let html = String::from_utf8(page.body.clone()).unwrap();
    assert!(
        html.contains("<img src=\"/clips/movie.mjpeg/stream.mjpg\""),
        "{html}"
    );
    let rtsp_url = format!("rtsp://127.0.0.1:{}/clips/movie.mjpeg", s.rtsp.port());
    assert!(html.contains(&rtsp_url), "{html}");
    let css = curl(&[], &s.url("/style.css"));
    assert_eq!(css.header("Content-Type"), Some("text/css; charset=utf-8"));

    let streams = curl(&[], &s.url("/api/streams"));
    assert_eq!(streams.header("Content-Type"), Some("application/json"));
    let v: serde_json::Value = serde_json::from_slice(&streams.body).unwrap();
    let list = v["streams"].as_array().unwrap();
    let movie = list
        .iter()
        .find(|x| x["name"] == "clips/movie.mjpeg")
        .unwrap();
    assert_eq!(
        (movie["width"].as_u64(), movie["height"].as_u64()),
        (Some(160), Some(120))
    );
    assert_eq!(
        (movie["kind"].as_str(), movie["state"].as_str()),
        (Some("file"), Some("ready"))
    );
    assert_eq!(movie["fps"].as_f64(), Some(FPS));
    assert_eq!(movie["rtsp_url"].as_str(), Some(rtsp_url.as_str()));
    let sessions = curl(&[], &s.url("/api/sessions"));
    let v: serde_json::Value = serde_json::from_slice(&sessions.body).unwrap();
    assert!(v["sessions"].is_array());

    let snap = curl(&[], &s.url("/clips/movie.mjpeg/snapshot.jpg"));
    assert_eq!(
        (snap.status, snap.header("Content-Type")),
        (200, Some("image/jpeg"))
    );
    assert_eq!(
        snap.body,
        s.frames[0].to_vec(),
        "a file's snapshot is its first frame"
    );
    assert_eq!(curl(&[], &s.url("/nope/snapshot.jpg")).status, 404);
    assert_eq!(curl(&["-X", "DELETE"], &s.url("/metrics")).status, 405);

    let m = curl(&[], &s.url("/metrics"));
    assert_eq!(
        m.header("Content-Type"),
        Some("text/plain; version=0.0.4; charset=utf-8")
    );
    let text = String::from_utf8(m.body).unwrap();
    let e = prometheus::parse(&text).unwrap_or_else(|err| panic!("{err}\n{text}"));
    for (name, kind) in [
        ("rtsp_connections", "gauge"),
        ("rtsp_sessions", "gauge"),
        ("rtsp_readers", "gauge"),
        ("rtsp_packets_sent_total", "counter"),
        ("rtsp_bytes_sent_total", "counter"),
        ("rtsp_rtcp_packets_lost", "gauge"),
        ("rtsp_live_source_up", "gauge"),
        ("rtsp_limit_exceeded_total", "counter"),
    ] {
        assert_eq!(
            e.types.get(name).map(String::as_str),
            Some(kind),
            "{name}\n{text}"
        );
    }
    // The metrics' own connection is open while they are written.
    assert!(e.value("rtsp_connections", &[]).unwrap() >= 1.0);
    assert_eq!(e.value("rtsp_sessions", &[]), Some(0.0));
}

#[test]
fn ffmpeg_reads_every_frame_of_the_multipart_stream() {
    if !require_peer("ffmpeg") {
        return;
    }
    let s = Running::start(2, None);
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("copy.mjpeg");
    let url = s.url("/clips/movie.mjpeg/stream.mjpg");
    let args = [
        "-nostdin",
        "-hide_banner",
        "-loglevel",
        "error",
        "-f",
        "mpjpeg",
        "-i",
        &url,
        "-c",
        "copy",
        "-f",
        "mjpeg",
        out.to_str().unwrap(),
    ];
    let run = run_peer("ffmpeg", &args, LIMIT);
    assert_eq!(run.code, Some(0), "{}", run.log());
    let data = bytes::Bytes::from(std::fs::read(&out).unwrap());
    let (_, got) = mjpeg::split_frames(&data).unwrap();
    assert_eq!(
        got.len(),
        s.frames.len(),
        "every frame once (the file plays once, then the stream ends)"
    );
    for (i, (g, w)) in got.iter().zip(&s.frames).enumerate() {
        assert_eq!(g, w, "frame {i} differs from the source");
    }
}

fn auth() -> AuthConfig {
    let mut auth = AuthConfig::new(vec![
        Credentials::new("alice", "a"),
        Credentials::new("bob", "b"),
        Credentials::new("root", "r"),
    ]);
    auth.basic = true;
    auth.paths.insert(
        "clips/movie.mjpeg".into(),
        PathUsers {
            read: Some(vec!["alice".into()]),
            publish: None,
        },
    );
    auth
}

#[test]
fn auth_refuses_with_401_and_403_and_admins_kick() {
    if !require_peer("curl") {
        return;
    }
    let s = Running::start(1, Some(auth()));
    let r = curl(&[], &s.url("/"));
    assert_eq!(r.status, 401);
    let challenges: Vec<&str> = r
        .headers
        .iter()
        .filter(|(n, _)| n.eq_ignore_ascii_case("WWW-Authenticate"))
        .map(|(_, v)| v.as_str())
        .collect();
    assert!(
        challenges.iter().any(|c| c.starts_with("Digest ")),
        "{challenges:?}"
    );
    assert_eq!(curl(&["-u", "bob:wrong"], &s.url("/")).status, 401);
    let r = curl(&["-u", "bob:b"], &s.url("/clips/movie.mjpeg/snapshot.jpg"));
    assert_eq!(r.status, 403, "bob may not read the movie");
    let r = curl(
        &["-u", "alice:a"],
        &s.url("/clips/movie.mjpeg/snapshot.jpg"),
    );
    assert_eq!(r.status, 200);
    let r = curl(&["--digest", "-u", "bob:b"], &s.url("/api/sessions"));
    assert_eq!(r.status, 200, "Digest over HTTP");

    // An RTSP session, kicked by an admin only.
    let mut rtsp = it::peers::RawRtsp::connect(s.rtsp).unwrap();
    let basic = rtsp_core::auth::basic_authorization(&Credentials::new("alice", "a"));
    let setup = rtsp
        .request(&format!(
            "SETUP rtsp://{}/clips/movie.mjpeg/stream=0 RTSP/1.0\r\nCSeq: 1\r\nAuthorization: {basic}\r\nTransport: RTP/AVP;unicast;client_port=40000-40001\r\n\r\n",
            s.rtsp
        ))
        .unwrap();
    let sid = setup.session().expect("a session");
    let kick = s.url(&format!("/api/sessions/{sid}/kick"));
    assert_eq!(curl(&["-X", "POST", "-u", "alice:a"], &kick).status, 403);
    let r = curl(&["-X", "POST", "-u", "root:r"], &kick);
    assert_eq!(r.status, 200);
    let v: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
    assert_eq!(v["kicked"].as_str(), Some(sid.as_str()));
    let r = curl(&["-u", "root:r"], &s.url("/api/sessions"));
    let v: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
    assert_eq!(v["sessions"].as_array().map(Vec::len), Some(0));
}

/// Polls `url` (JSON) until `done` holds, for at most 5 s; the last document.
fn json_until(url: &str, done: impl Fn(&serde_json::Value) -> bool) -> serde_json::Value {
    let until = std::time::Instant::now() + Duration::from_secs(5);
    loop {
        let v: serde_json::Value = serde_json::from_slice(&curl(&[], url).body).unwrap();
        if done(&v) || std::time::Instant::now() > until {
            return v;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn every_event_loop_answers_for_the_whole_server() {
    if !require_peer("curl") {
        return;
    }
    let s = Running::start(2, Some(auth()));
    // Eight control connections: the kernel spreads them over both loops.
    let basic = rtsp_core::auth::basic_authorization(&Credentials::new("alice", "a"));
    let mut conns = Vec::new();
    let mut ids = Vec::new();
    for i in 0..8u16 {
        let mut rtsp = it::peers::RawRtsp::connect(s.rtsp).unwrap();
        let port = 41000 + 2 * i;
        let setup = rtsp
            .request(&format!(
                "SETUP rtsp://{}/clips/movie.mjpeg/stream=0 RTSP/1.0\r\nCSeq: 1\r\nAuthorization: {basic}\r\nTransport: RTP/AVP;unicast;client_port={port}-{}\r\n\r\n",
                s.rtsp,
                port + 1
            ))
            .unwrap();
        ids.push(setup.session().expect("a session"));
        conns.push(rtsp);
    }
    ids.sort();
    let url = format!("http://root:r@{}/api/sessions", s.http);
    let listed = |v: &serde_json::Value| -> Vec<String> {
        let mut l: Vec<String> = v["sessions"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|x| x["id"].as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default();
        l.sort();
        l
    };
    // Reports reach the other loop within 100 ms of a change.
    let v = json_until(&url, |v| listed(v) == ids);
    assert_eq!(listed(&v), ids, "every loop's sessions are listed");
    // Each kick lands on either loop: 200 where the session is, 202 passed on.
    for id in &ids {
        let r = curl(
            &["-X", "POST"],
            &format!("http://root:r@{}/api/sessions/{id}/kick", s.http),
        );
        assert!(matches!(r.status, 200 | 202), "{id}: {}", r.status);
    }
    let v = json_until(&url, |v| listed(v).is_empty());
    assert_eq!(listed(&v), Vec::<String>::new(), "every session was kicked");
    let r = curl(
        &["-X", "POST"],
        &format!("http://root:r@{}/api/sessions/{}/kick", s.http, ids[0]),
    );
    assert_eq!(r.status, 404, "a kicked session is no one's");
}
