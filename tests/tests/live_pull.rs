//! `server-mio` (the real binary, two event loops) pulling a path from an RTSP server:
//! `source = "rtsp://..."`. Upstream is gst-rtsp-server (GStreamer 1.22, serving a file of
//! known frames) or another `server-mio` (origin → edge). Readers of the edge — ffmpeg,
//! GStreamer's rtspsrc, client-std and our own client, at once — each get an unbroken run of
//! the known frames, every scan byte for byte, and the origin serves the edge through one
//! session however many read the edge.
//!
//! Each test skips (loudly, and passes) when a peer is missing; `.ci/run` installs them.
//! Needs `target/debug/{server-mio,client-std}` (`scripts/test` builds them).

mod interop_client_support;

use interop_client_support::{client_std, gst_available, server_mio, start_gst};
use it::live::{
    known_frames, readers_get_runs, require_gst_element, write_frames, ServerMio, FPS, WAIT,
};
use it::peers::require_peer;

/// Frames in the served file (looped upstream): 12 s at 25 fps.
const FRAMES: u32 = 300;

/// A configuration with the one path `relay` pulled from `url`.
fn relay_config(url: &str) -> String {
    format!("[paths.relay]\nsource = \"{url}\"\n")
}

#[test]
fn edge_pulls_gst_rtsp_server_and_its_readers_get_the_frames_intact() {
    if !gst_available(&[]) || !require_gst_element("rtspsrc") {
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let source = known_frames(0, FRAMES, 320, 240);
    let file = write_frames(dir.path(), "cam.mjpeg", &source);
    let fps = FPS.to_string();
    let upstream = start_gst(&["--file", file.to_str().expect("utf-8 path"), "--fps", &fps]);
    let mut edge = ServerMio::start(&server_mio(), &relay_config(&upstream.url), &[]);
    edge.expect_log(WAIT, "streaming source=relay");
    readers_get_runs(&edge.url("relay"), &source, true, &client_std(), dir.path());
}

#[test]
fn edge_pulls_origin_through_one_session_for_every_reader() {
    if !require_peer("ffmpeg") || !require_gst_element("rtspsrc") {
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let media = dir.path().join("media");
    std::fs::create_dir(&media).expect("mkdir");
    let source = known_frames(0, FRAMES, 320, 240);
    write_frames(&media, "clip.mjpeg", &source);
    let mut origin = ServerMio::start(
        &server_mio(),
        "",
        &["--media", media.to_str().expect("utf-8 path"), "--loop"],
    );
    let mut edge = ServerMio::start(&server_mio(), &relay_config(&origin.url("clip.mjpeg")), &[]);
    edge.expect_log(WAIT, "streaming source=relay");
    readers_get_runs(&edge.url("relay"), &source, true, &client_std(), dir.path());
    // Four readers at the edge, one session at the origin.
    assert!(edge.count("session created") >= 4, "edge:\n{}", edge.log());
    assert_eq!(
        origin.count("session created"),
        1,
        "origin:\n{}",
        origin.log()
    );
}
