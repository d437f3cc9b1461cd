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

use std::path::{Path, PathBuf};

use bytes::Bytes;
use interop_client_support::{client_std, server_mio};
use it::live::{
    ffmpeg_send_args, free_port, known_frames, readers_get_runs, require_gst_element, spawn_ffmpeg,
    write_frames, HttpConn, MjpegHttp, ServerMio, FFMPEG_MPJPEG_SERVER, WAIT,
};
use it::peers::require_peer;

/// Frames of a source: 12 s at 25 fps.
const FRAMES: u32 = 300;

fn have_readers() -> bool {
    require_peer("ffmpeg") && require_gst_element("rtspsrc")
}

/// A configuration with the one path `cam` and its source.
fn cam_config(source: &str) -> String {
    format!("[paths.cam]\nsource = \"{source}\"\n")
}

/// A temporary directory holding the known frames as `cam.mjpeg`, with the frames and the
/// file.
fn known_file() -> (tempfile::TempDir, Vec<Bytes>, PathBuf) {
    let dir = tempfile::tempdir().expect("temp dir");
    let source = known_frames(0, FRAMES, 320, 240);
    let file = write_frames(dir.path(), "cam.mjpeg", &source);
    (dir, source, file)
}

/// `server-mio` with the path `cam` pulled from `source`, streaming: readers get a run of
/// `frames` (`looping`: wrapping around).
fn readers_of(source: &str, frames: &[Bytes], looping: bool, dir: &Path) {
    let mut server = ServerMio::start(&server_mio(), &cam_config(source), &[]);
    server.expect_log(WAIT, "streaming source=cam");
    readers_get_runs(&server.url("cam"), frames, looping, &client_std(), dir);
}

#[test]
fn http_camera_frames_reach_every_reader_intact() {
    if !have_readers() {
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let source = known_frames(0, 100, 320, 240);
    let camera = MjpegHttp::start(source.clone());
    readers_of(&camera.url(), &source, true, dir.path());
    // One connection to the camera, for every reader.
    let opened = camera.conns.try_iter().filter(|c| *c == HttpConn::Opened);
    assert_eq!(opened.count(), 1);
}

#[test]
fn ffmpeg_mpjpeg_server_frames_reach_every_reader_intact() {
    if !have_readers() {
        return;
    }
    let (dir, source, file) = known_file();
    let url = format!("http://127.0.0.1:{}/cam", free_port());
    let output = [&FFMPEG_MPJPEG_SERVER[..], &[url.as_str()]].concat();
    let _ffmpeg = spawn_ffmpeg(&ffmpeg_send_args(&file, &output));
    // Until ffmpeg listens, the server's attempts are refused and retried.
    readers_of(&url, &source, false, dir.path());
}

#[test]
fn exec_ffmpeg_stdout_frames_reach_every_reader_intact() {
    if !have_readers() {
        return;
    }
    let (dir, source, file) = known_file();
    let mut command = vec!["ffmpeg".to_string()];
    command.extend(ffmpeg_send_args(&file, &["-f", "mjpeg", "-"]));
    readers_of(
        &format!("exec:{}", command.join(" ")),
        &source,
        false,
        dir.path(),
    );
}
