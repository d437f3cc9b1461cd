//! client-std's session features end to end, as a process: the end of a non-looping stream
//! (RTCP BYE → TEARDOWN → exit 0), `--stats`, `-v`, `--seek`, `--transport auto` (461 and
//! silent UDP), a 302 redirect, Basic and Digest authentication from URL credentials.
//! Servers: ours in-process, and the scripted server of `interop_client_support`.
//!
//! Needs `target/debug/client-std` (`cargo build -p client-std`).

mod interop_client_support;

use std::net::Ipv4Addr;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use interop_client_support::{client_std, q80_packets, Script, Scripted, Seen};
use rtsp_core::auth::{Algorithm, Challenge, Credentials};
use rtsp_core::server::{Media, MemoryCatalog};
use runtime_std::ServerOptions;

/// Runs client-std (headless, bounded by `timeout`).
fn run(url: &str, args: &[&str]) -> Output {
    Command::new("timeout")
        .arg("60")
        .arg(client_std())
        .arg(url)
        .arg("--headless")
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run client-std")
}

fn text(o: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

/// A field of the --stats JSON line, as text.
fn field<'a>(json: &'a str, key: &str) -> &'a str {
    json.split(&format!("\"{key}\":"))
        .nth(1)
        .and_then(|r| r.split([',', '}']).next())
        .unwrap_or_else(|| panic!("{key} in {json:?}"))
}

fn frames() -> Vec<interop_client_support::Packets> {
    mjpeg::testpattern::frames(5, 64, 48)
        .iter()
        .map(|f| q80_packets(f))
        .collect()
}

fn lines(seen: &[Seen]) -> Vec<String> {
    seen.iter()
        .map(|s| format!("{} {} -> {}", s.conn, s.line, s.status))
        .collect()
}

#[test]
fn end_of_a_non_looping_stream_tears_down_and_exits_zero_with_stats() {
    let jpegs = mjpeg::testpattern::frames(20, 64, 48);
    let media = Media::from_jpegs("clip", 50.0, jpegs, 1400).expect("media");
    let server = runtime_std::serve(ServerOptions::new(
        (Ipv4Addr::LOCALHOST, 0).into(),
        Box::new(MemoryCatalog::new().with(media)),
    ))
    .expect("server");
    for transport in ["udp", "tcp"] {
        let out = run(
            &server.url("clip"),
            &["--transport", transport, "--stats", "-v"],
        );
        let (stdout, stderr) = text(&out);
        assert!(out.status.success(), "{:?}\n{stderr}", out.status);
        let json = stdout.lines().last().expect("a stats line");
        assert_eq!(field(json, "end_of_stream"), "true", "{json}");
        assert_eq!(field(json, "frames_received"), "20", "{json}");
        assert_eq!(field(json, "frames_dropped"), "0", "{json}");
        assert_eq!(field(json, "lost"), "0", "{json}");
        assert_eq!(field(json, "transport"), format!("\"{transport}\""));
        assert!(field(json, "packets_received").parse::<u64>().unwrap() >= 20);
        for key in [
            "duplicates",
            "reordered",
            "jitter_ms",
            "mean_bitrate_kbps",
            "duration_s",
        ] {
            assert!(field(json, key).parse::<f64>().is_ok(), "{key} in {json}");
        }
        // -v shows the exchange, requests and replies.
        for want in [
            "C->S",
            "S->C",
            "DESCRIBE rtsp://",
            "RTSP/1.0 200 OK",
            "TEARDOWN rtsp://",
        ] {
            assert!(stderr.contains(want), "{want:?} missing in:\n{stderr}");
        }
        let end = stderr
            .find("end of stream")
            .expect("end of stream reported");
        let torn = stderr.find("torn down").expect("torn down");
        assert!(end < torn);
    }
    server.stop();
}

#[test]
fn transport_auto_takes_tcp_after_461() {
    let server = Scripted::start(Script {
        frames: frames(),
        refuse_udp: true,
        ..Script::default()
    });
    let out = run(&server.url("x"), &["--frames", "10", "--stats"]);
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");
    assert_eq!(field(&stdout, "transport"), "\"tcp\"");
    assert_eq!(field(&stdout, "frames_received"), "10");
    let seen = server.drain(Duration::from_secs(5));
    let setups: Vec<&Seen> = seen
        .iter()
        .filter(|s| s.line.starts_with("SETUP"))
        .collect();
    assert_eq!(setups.len(), 2, "{:?}", lines(&seen));
    assert!(setups[0].head.contains("client_port=") && setups[0].status == 461);
    assert!(setups[1].head.contains("interleaved=0-1") && setups[1].status == 200);
}

#[test]
fn transport_auto_takes_tcp_when_no_rtp_comes_over_udp() {
    let server = Scripted::start(Script {
        frames: frames(),
        silent_udp: true,
        ..Script::default()
    });
    let out = run(&server.url("x"), &["--frames", "10", "--stats"]);
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("no RTP over UDP"), "{stderr}");
    assert_eq!(field(&stdout, "transport"), "\"tcp\"");
    assert_eq!(field(&stdout, "frames_received"), "10");
    let seen = lines(&server.drain(Duration::from_secs(5)));
    let order: Vec<&str> = seen
        .iter()
        .filter_map(|l| l.split(' ').nth(1))
        .filter(|m| ["SETUP", "PLAY", "TEARDOWN"].contains(m))
        .collect();
    assert_eq!(
        order,
        ["SETUP", "PLAY", "TEARDOWN", "SETUP", "PLAY", "TEARDOWN"],
        "{seen:?}"
    );
    // A plain --transport udp does not fall back: with --duration it just ends.
    let out = run(
        &server.url("x"),
        &["--transport", "udp", "--duration", "4", "--stats"],
    );
    let (stdout, _) = text(&out);
    assert_eq!(field(&stdout, "transport"), "\"udp\"");
    assert_eq!(field(&stdout, "frames_received"), "0");
}

#[test]
fn redirect_is_followed_once_with_a_new_connection() {
    let server = Scripted::start(Script {
        frames: frames(),
        redirect: true,
        ..Script::default()
    });
    let out = run(&server.url("old"), &["--frames", "5", "--transport", "tcp"]);
    let (_, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("redirected to"), "{stderr}");
    let seen = server.drain(Duration::from_secs(5));
    let describes: Vec<(usize, u16, bool)> = seen
        .iter()
        .filter(|s| s.line.starts_with("DESCRIBE"))
        .map(|s| (s.conn, s.status, s.line.contains("/moved")))
        .collect();
    assert_eq!(
        describes,
        [(0, 302, false), (1, 200, true)],
        "{:?}",
        lines(&seen)
    );
}

#[test]
fn digest_and_basic_authentication_from_url_credentials() {
    let creds = Credentials::new("viewer", "p@ss word");
    for challenge in [
        Challenge::digest("scripted", "nonce-42", Algorithm::Md5),
        Challenge::digest("scripted", "nonce-43", Algorithm::Sha256),
        Challenge::basic("scripted"),
    ] {
        let server = Scripted::start(Script {
            frames: frames(),
            auth: Some((challenge.clone(), creds.clone())),
            ..Script::default()
        });
        let url = format!("rtsp://viewer:p%40ss%20word@{}/x", server.addr);
        let out = run(&url, &["--frames", "5", "--transport", "tcp"]);
        let (_, stderr) = text(&out);
        assert!(out.status.success(), "{challenge:?}: {stderr}");
        let seen = server.drain(Duration::from_secs(5));
        let statuses: Vec<u16> = seen.iter().map(|s| s.status).collect();
        assert_eq!(statuses[0], 401, "{:?}", lines(&seen));
        assert!(
            statuses[1..].iter().all(|&s| s == 200),
            "{:?}",
            lines(&seen)
        );
        assert!(seen[1..].iter().all(|s| s.head.contains("Authorization: ")));
        assert!(!stderr.contains("p@ss"), "the password is not printed");

        // A wrong password: one retry, then a clean failure.
        let url = format!("rtsp://viewer:wrong@{}/x", server.addr);
        let out = run(&url, &["--frames", "5", "--transport", "tcp"]);
        let (_, stderr) = text(&out);
        assert_eq!(out.status.code(), Some(1), "{stderr}");
        assert!(stderr.contains("401"), "{stderr}");
    }
}

#[test]
fn seek_sends_a_play_range() {
    let server = Scripted::start(Script {
        frames: frames(),
        ..Script::default()
    });
    let out = run(
        &server.url("x"),
        &["--frames", "3", "--transport", "tcp", "--seek", "12.5"],
    );
    assert!(out.status.success(), "{}", text(&out).1);
    let seen = server.drain(Duration::from_secs(5));
    let play = seen
        .iter()
        .find(|s| s.line.starts_with("PLAY"))
        .expect("a PLAY");
    assert!(
        play.head.contains("\r\nRange: npt=12.500-"),
        "{}",
        play.head
    );
}
