//! ffmpeg and GStreamer get every frame of a non-looping file over UDP, the last one included:
//! the server's RTCP BYE (which ends their reception) follows the last frame after
//! `ServerConfig::bye_delay`, so the last frame's RTP, which travels on the other socket, is
//! handled first. (With the BYE right behind the last frame they got 149 of 150 every run.)
//!
//! Each run is compared with what the server says it sent (`EndOfStream` carries the session's
//! counters): all of the file's frames, and the peer decoded as many. Each test skips (loudly,
//! and passes) only when its peer is not installed; every run is bounded by `timeout`.

use it::make_media_dir;
use it::peers::{ffmpeg_frames, gst_shutdown_race, require_peer, run_peer, EventServer};
use rtsp_core::server::{ServerConfig, ServerEvent, SessionStats};
use std::time::Duration;

const FRAMES: usize = 30;
const FPS: f64 = 25.0;
const RUNS: usize = 3;
const PEER_LIMIT: Duration = Duration::from_secs(30);

/// The `EndOfStream` of the run that just ended (waited for, bounded).
fn sent(server: &EventServer) -> SessionStats {
    match server.wait_event(Duration::from_secs(10), |e| {
        matches!(e, ServerEvent::EndOfStream { .. })
    }) {
        Some(ServerEvent::EndOfStream { stats, .. }) => stats,
        other => panic!("no end of stream: {other:?}"),
    }
}

#[test]
fn ffmpeg_gets_the_last_frame_over_udp() {
    if !require_peer("ffmpeg") {
        return;
    }
    let (dir, name, _) = make_media_dir(FRAMES, false);
    let server = EventServer::start(dir.path(), FPS, ServerConfig::default());
    for run in 1..=RUNS {
        let out = run_peer(
            "ffmpeg",
            &[
                "-nostdin",
                "-hide_banner",
                "-loglevel",
                "warning",
                "-stats",
                "-rtsp_transport",
                "udp",
                "-i",
                &server.url(&name),
                "-f",
                "null",
                "-",
            ],
            PEER_LIMIT,
        );
        assert_eq!(out.code, Some(0), "run {run}\n{}", out.log());
        let stats = sent(&server);
        assert_eq!(stats.frames, FRAMES as u64, "run {run}: {stats:?}");
        assert_eq!(
            ffmpeg_frames(&out),
            Some(FRAMES as u32),
            "run {run}: frames decoded\n{}",
            out.log()
        );
    }
}

#[test]
fn gstreamer_gets_the_last_frame_over_udp() {
    if !require_peer("gst-launch-1.0") {
        return;
    }
    let (dir, name, _) = make_media_dir(FRAMES, false);
    let server = EventServer::start(dir.path(), FPS, ServerConfig::default());
    for run in 1..=RUNS {
        let out_dir = tempfile::tempdir().expect("temp dir");
        let location = format!("location={}", server.url(&name));
        let files = format!("location={}/f%05d.jpg", out_dir.path().display());
        let out = run_peer(
            "gst-launch-1.0",
            &[
                "rtspsrc",
                &location,
                "protocols=udp",
                "!",
                "rtpjpegdepay",
                "!",
                "multifilesink",
                &files,
            ],
            PEER_LIMIT,
        );
        assert!(
            out.code == Some(0) || gst_shutdown_race(&out),
            "run {run}\n{}",
            out.log()
        );
        assert!(out.stdout.contains("Got EOS"), "run {run}\n{}", out.log());
        let stats = sent(&server);
        assert_eq!(stats.frames, FRAMES as u64, "run {run}: {stats:?}");
        let written = std::fs::read_dir(out_dir.path()).expect("dir").count();
        assert_eq!(written, FRAMES, "run {run}: frames received\n{}", out.log());
    }
}
