//! Our server (runtime-mio, in-process, loopback) played by the real ffmpeg, over UDP and
//! over TCP interleaved: 100 frames decoded with no error lines, the JPEGs ffmpeg extracts
//! decode to the source frames' pixels, and several ffmpeg clients at once on the same and
//! on different files.
//!
//! Each test skips (loudly, and passes) only when `ffmpeg` is not installed; `.ci/run`
//! installs it. Every ffmpeg runs under `timeout`.

use it::make_media_dir;
use it::peers::{
    ffmpeg_frames, max_pixel_diff, read_mjpeg, require_peer, run_peer, EventServer, PeerOutput,
};
use rtsp_core::server::ServerConfig;
use std::time::Duration;

/// Frames in the generated file (more than the 100 ffmpeg decodes).
const FRAMES: usize = 120;
/// Played fast so a test takes seconds.
const FPS: f64 = 50.0;
/// Bound on one ffmpeg run.
const PEER_LIMIT: Duration = Duration::from_secs(60);

/// Log lines that mean ffmpeg saw something wrong.
const BAD: &[&str] = &["error", "corrupt", "invalid", "warning", "missing", "lost"];

fn ffmpeg_decode(url: &str, transport: &str, frames: u32) -> PeerOutput {
    let n = frames.to_string();
    run_peer(
        "ffmpeg",
        &[
            "-nostdin",
            "-hide_banner",
            "-loglevel",
            "warning",
            "-stats",
            "-rtsp_transport",
            transport,
            "-i",
            url,
            "-frames:v",
            &n,
            "-f",
            "null",
            "-",
        ],
        PEER_LIMIT,
    )
}

fn assert_clean(out: &PeerOutput, what: &str) {
    assert_eq!(out.code, Some(0), "{what}: ffmpeg failed\n{}", out.log());
    let bad = out.lines_with(BAD);
    assert!(
        bad.is_empty(),
        "{what}: ffmpeg complained: {bad:#?}\n{}",
        out.log()
    );
}

fn decode_100(transport: &str) {
    if !require_peer("ffmpeg") {
        return;
    }
    let (dir, name, _) = make_media_dir(FRAMES, false);
    let server = EventServer::start(dir.path(), FPS, ServerConfig::default());
    let out = ffmpeg_decode(&server.url(&name), transport, 100);
    assert_clean(&out, transport);
    assert_eq!(ffmpeg_frames(&out), Some(100), "{}", out.log());
    server.server.stop();
    server.server.join().expect("server ends cleanly");
}

#[test]
fn ffmpeg_udp_decodes_100_frames_without_errors() {
    decode_100("udp");
}

#[test]
fn ffmpeg_tcp_decodes_100_frames_without_errors() {
    decode_100("tcp");
}

/// `-c copy -f mjpeg`: the JPEGs ffmpeg rebuilds from RFC 2435 decode to the same pixels as
/// the source frames, in order (frame i of the output is source frame i: PLAY starts at 0).
fn copy_matches_source(transport: &str) {
    if !require_peer("ffmpeg") {
        return;
    }
    let (dir, name, source) = make_media_dir(FRAMES, false);
    let server = EventServer::start(dir.path(), FPS, ServerConfig::default());
    let out_dir = tempfile::tempdir().expect("temp dir");
    let out_path = out_dir.path().join("out.mjpeg");
    let out_str = out_path.to_str().expect("utf-8 path");
    let url = server.url(&name);
    let out = run_peer(
        "ffmpeg",
        &[
            "-nostdin",
            "-hide_banner",
            "-loglevel",
            "warning",
            "-rtsp_transport",
            transport,
            "-i",
            &url,
            "-frames:v",
            "5",
            "-c",
            "copy",
            "-f",
            "mjpeg",
            out_str,
        ],
        PEER_LIMIT,
    );
    assert_clean(&out, transport);
    let got = read_mjpeg(&out_path);
    assert_eq!(got.len(), 5, "ffmpeg wrote {} frames", got.len());
    let source_px: Vec<Vec<u8>> = source.iter().map(|f| it::decode_pixels(f)).collect();
    // The pattern moves: consecutive source frames differ, so a match identifies the frame.
    assert!(max_pixel_diff(&source_px[0], &source_px[1]) > 16);
    let mut last: Option<usize> = None;
    for (i, jpeg) in got.iter().enumerate() {
        let px = it::decode_pixels(jpeg);
        let (best, diff) = source_px
            .iter()
            .enumerate()
            .map(|(k, s)| (k, max_pixel_diff(&px, s)))
            .min_by_key(|&(_, d)| d)
            .expect("source frames");
        assert!(
            diff <= 2,
            "output frame {i}: no source frame decodes to its pixels (closest: {best}, max diff {diff})"
        );
        if let Some(prev) = last {
            assert!(
                best > prev,
                "output frame {i} is source {best}, after {prev}"
            );
        }
        if transport == "tcp" {
            // Nothing is lost over TCP: exactly frames 0..5.
            assert_eq!(best, i, "output frame {i} is source frame {best}");
        }
        last = Some(best);
    }
    server.server.stop();
    server.server.join().expect("server ends cleanly");
}

#[test]
fn ffmpeg_copy_udp_gives_the_source_pixels() {
    copy_matches_source("udp");
}

#[test]
fn ffmpeg_copy_tcp_gives_the_source_pixels() {
    copy_matches_source("tcp");
}

/// Four ffmpeg clients at once: two on one file over UDP and TCP, two on another file (lab
/// layout) over UDP and TCP. Each decodes 100 frames cleanly, each in its own session.
#[test]
fn four_ffmpeg_clients_at_once_on_two_files() {
    if !require_peer("ffmpeg") {
        return;
    }
    let (dir, name_a, _) = make_media_dir(FRAMES, false);
    // A second file in the same root, in the lab layout.
    let frames_b = mjpeg::testpattern::frames(FRAMES as u32, 320, 240);
    let mut lab = Vec::new();
    mjpeg::write_lab(&frames_b, &mut lab).expect("lab layout");
    std::fs::write(dir.path().join("other.Mjpeg"), lab).expect("write");
    let server = EventServer::start(dir.path(), FPS, ServerConfig::default());
    let jobs = [
        (server.url(&name_a), "udp"),
        (server.url(&name_a), "tcp"),
        (server.url("other.Mjpeg"), "udp"),
        (server.url("other.Mjpeg"), "tcp"),
    ];
    let threads: Vec<_> = jobs
        .into_iter()
        .map(|(url, t)| std::thread::spawn(move || (url.clone(), t, ffmpeg_decode(&url, t, 100))))
        .collect();
    for th in threads {
        let (url, t, out) = th.join().expect("peer thread");
        assert_clean(&out, &format!("{url} over {t}"));
        assert_eq!(
            ffmpeg_frames(&out),
            Some(100),
            "{url} over {t}: {}",
            out.log()
        );
    }
    let created = server
        .drain_events()
        .iter()
        .filter(|e| matches!(e, rtsp_core::server::ServerEvent::SessionCreated { .. }))
        .count();
    assert_eq!(created, 4, "one session per client");
    server.server.stop();
    server.server.join().expect("server ends cleanly");
}

fn auth_server(dir: &std::path::Path, basic: bool) -> EventServer {
    let mut auth = rtsp_core::server::AuthConfig::new(vec![rtsp_core::auth::Credentials::new(
        "alice", "s3cret",
    )]);
    auth.basic = basic;
    EventServer::start(
        dir,
        FPS,
        ServerConfig {
            auth: Some(auth),
            ..ServerConfig::default()
        },
    )
}

/// Digest authentication with ffmpeg (MD5: the last Digest challenge, which ffmpeg keeps):
/// the right password plays cleanly; a wrong one fails with 401 whether the stream exists
/// or not.
#[test]
fn ffmpeg_digest_auth() {
    if !require_peer("ffmpeg") {
        return;
    }
    let (dir, name, _) = make_media_dir(FRAMES, false);
    let server = auth_server(dir.path(), false);
    let addr = server.addr();
    let out = ffmpeg_decode(&format!("rtsp://alice:s3cret@{addr}/{name}"), "tcp", 20);
    assert_clean(&out, "right password");
    assert_eq!(ffmpeg_frames(&out), Some(20), "{}", out.log());
    for path in [name.as_str(), "no/such/stream.mjpeg"] {
        let out = ffmpeg_decode(&format!("rtsp://alice:wrong@{addr}/{path}"), "tcp", 20);
        assert_ne!(out.code, Some(0), "{path}: played with a wrong password");
        assert!(
            out.stderr.contains("401"),
            "{path}: expected 401 Unauthorized\n{}",
            out.log()
        );
        assert!(
            !out.stderr.contains("404"),
            "{path}: leaked existence\n{}",
            out.log()
        );
    }
    let refused = server
        .drain_events()
        .iter()
        .filter(|e| {
            matches!(e, rtsp_core::server::ServerEvent::Request { status, .. } if status.0 == 401)
        })
        .count();
    assert!(refused >= 3, "expected 401 replies in the server's log");
    server.server.stop();
    server.server.join().expect("server ends cleanly");
}

/// Basic, when enabled, works with ffmpeg too.
#[test]
fn ffmpeg_basic_auth_when_enabled() {
    if !require_peer("ffmpeg") {
        return;
    }
    let (dir, name, _) = make_media_dir(FRAMES, false);
    // Basic only: ffmpeg has to use it.
    let mut auth = rtsp_core::server::AuthConfig::new(vec![rtsp_core::auth::Credentials::new(
        "alice", "s3cret",
    )]);
    auth.basic = true;
    auth.digest = false;
    let server = EventServer::start(
        dir.path(),
        FPS,
        ServerConfig {
            auth: Some(auth),
            ..ServerConfig::default()
        },
    );
    let out = ffmpeg_decode(
        &format!("rtsp://alice:s3cret@{}/{name}", server.addr()),
        "udp",
        20,
    );
    assert_clean(&out, "basic");
    assert_eq!(ffmpeg_frames(&out), Some(20), "{}", out.log());
    server.server.stop();
    server.server.join().expect("server ends cleanly");
}
