//! `server-mio` (the real binary, two event loops) pulling paths from MJPEG over HTTP and from a
//! command, as configured: `source = "http://..."` served by a camera-like test server (a thread
//! here writing `multipart/x-mixed-replace`) and by ffmpeg (`-f mpjpeg -listen 1`), and
//! `source = "exec:..."` with ffmpeg writing concatenated JPEG to its standard output. Every
//! source sends known frames unchanged, so the readers of the path (ffmpeg, GStreamer's
//! rtspsrc, client-std and our own client, at once) must each get an unbroken run of them,
//! every scan byte for byte.
//!
//! Each test skips (loudly, and passes) when a peer is missing; `.ci/run` installs them.
//! Needs `target/debug/{server-mio,client-std}` (`scripts/test` builds them).

mod interop_client_support;

use std::path::Path;

use interop_client_support::{client_std, server_mio};
use it::live::{
    known_frames, readers_get_runs, require_gst_element, write_frames, MjpegHttp, ServerMio, FPS,
    WAIT,
};
use it::peers::{require_peer, Spawned};

/// Frames of a source: 12 s at 25 fps.
const FRAMES: u32 = 300;

fn have_readers() -> bool {
    require_peer("ffmpeg") && require_gst_element("rtspsrc")
}

/// A configuration with the one path `cam` and its source.
fn cam_config(source: &str) -> String {
    format!("[paths.cam]\nsource = \"{source}\"\n")
}

/// The ffmpeg arguments that read `file` in real time, frames unchanged.
fn ffmpeg_input(file: &Path) -> Vec<String> {
    [
        "-nostdin",
        "-hide_banner",
        "-loglevel",
        "error",
        "-re",
        "-f",
        "mjpeg",
        "-framerate",
        &FPS.to_string(),
        "-i",
        file.to_str().expect("utf-8 path"),
        "-c:v",
        "copy",
    ]
    .map(String::from)
    .to_vec()
}

#[test]
fn http_camera_frames_reach_every_reader_intact() {
    if !have_readers() {
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let source = known_frames(0, 100, 320, 240);
    let camera = MjpegHttp::start(source.clone());
    let mut server = ServerMio::start(&server_mio(), &cam_config(&camera.url()), &[]);
    server.expect_log(WAIT, "streaming source=cam");
    readers_get_runs(&server.url("cam"), &source, true, &client_std(), dir.path());
    // One connection to the camera, for every reader.
    assert_eq!(camera.conns.try_iter().count(), 1);
}

#[test]
fn ffmpeg_mpjpeg_server_frames_reach_every_reader_intact() {
    if !have_readers() {
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let source = known_frames(0, FRAMES, 320, 240);
    let file = write_frames(dir.path(), "cam.mjpeg", &source);
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port();
    let url = format!("http://127.0.0.1:{port}/cam");
    let mut args = ffmpeg_input(&file);
    args.extend(
        [
            "-f",
            "mpjpeg",
            "-content_type",
            "multipart/x-mixed-replace;boundary=ffmpeg",
            "-listen",
            "1",
            &url,
        ]
        .map(String::from),
    );
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let _ffmpeg = Spawned::start(Path::new("ffmpeg"), &args).expect("start ffmpeg");
    // Until ffmpeg listens, the server's attempts are refused and retried.
    let mut server = ServerMio::start(&server_mio(), &cam_config(&url), &[]);
    server.expect_log(WAIT, "streaming source=cam");
    readers_get_runs(
        &server.url("cam"),
        &source,
        false,
        &client_std(),
        dir.path(),
    );
}

#[test]
fn exec_ffmpeg_stdout_frames_reach_every_reader_intact() {
    if !have_readers() {
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let source = known_frames(0, FRAMES, 320, 240);
    let file = write_frames(dir.path(), "cam.mjpeg", &source);
    let mut command = vec!["ffmpeg".to_string()];
    command.extend(ffmpeg_input(&file));
    command.extend(["-f", "mjpeg", "-"].map(String::from));
    let config = cam_config(&format!("exec:{}", command.join(" ")));
    let mut server = ServerMio::start(&server_mio(), &config, &[]);
    server.expect_log(WAIT, "streaming source=cam");
    readers_get_runs(
        &server.url("cam"),
        &source,
        false,
        &client_std(),
        dir.path(),
    );
}
