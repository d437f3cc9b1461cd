//! The live frame sources (`runtime_std::source`) fed by the real ffmpeg: its MJPEG over
//! HTTP server (`-f mpjpeg -listen 1`, chunked `multipart/x-mixed-replace`) and its MJPEG on
//! standard output (`-f mjpeg -`, an exec source). Both must hand on exactly the JPEGs
//! ffmpeg writes to a file from the same input.
//!
//! Each test skips (loudly, and passes) only when `ffmpeg` is not installed; `.ci/run`
//! installs it.

use std::path::Path;
use std::sync::mpsc::{self, Receiver};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use it::peers::{read_mjpeg, require_peer, run_peer, Spawned};
use runtime_std::source::{self, SourceEvent, SourceOptions, SourceSpec};

/// Frames ffmpeg generates.
const FRAMES: usize = 20;
/// [`FRAMES`] as ffmpeg's argument.
const FRAMES_ARG: &str = "20";
/// The input, the same for every ffmpeg run (deterministic encoder).
const INPUT: [&str; 4] = ["-f", "lavfi", "-i", "testsrc=size=96x64:rate=25"];
/// Longest wait for one frame.
const WAIT: Duration = Duration::from_secs(30);

/// ffmpeg's arguments: quiet, the input, `FRAMES` frames of 4:2:0 JPEG, then `out`.
fn args<'a>(out: &[&'a str]) -> Vec<&'a str> {
    let mut a = vec!["-nostdin", "-hide_banner", "-loglevel", "error"];
    a.extend_from_slice(&INPUT);
    a.extend_from_slice(&["-frames:v", FRAMES_ARG, "-pix_fmt", "yuvj420p"]);
    a.extend_from_slice(out);
    a
}

/// The JPEGs ffmpeg writes to a file.
fn reference(dir: &Path) -> Vec<Bytes> {
    let file = dir.join("ref.mjpeg");
    let file_arg = file.to_str().unwrap();
    let out = run_peer(
        "ffmpeg",
        &args(&["-f", "mjpeg", "-y", file_arg]),
        Duration::from_secs(60),
    );
    assert_eq!(out.code, Some(0), "{}", out.log());
    let frames = read_mjpeg(&file);
    assert_eq!(frames.len(), FRAMES);
    frames
}

fn options() -> SourceOptions {
    SourceOptions {
        backoff_min: Duration::from_millis(50),
        backoff_max: Duration::from_millis(200),
        discard_exec_stderr: false,
        ..SourceOptions::default()
    }
}

/// Spawns a source whose frames (only) go to the returned receiver.
fn start(spec: SourceSpec) -> (source::SourceHandle, Receiver<Bytes>) {
    let (tx, rx) = mpsc::channel();
    let sink = Arc::new(move |e| {
        if let SourceEvent::Frame { jpeg, .. } = e {
            let _ = tx.send(jpeg);
        }
    });
    (source::spawn("ffmpeg", spec, options(), sink).unwrap(), rx)
}

fn first_frames(rx: &Receiver<Bytes>, n: usize) -> Vec<Bytes> {
    (0..n)
        .map(|i| {
            rx.recv_timeout(WAIT)
                .unwrap_or_else(|e| panic!("frame {i}: {e}"))
        })
        .collect()
}

#[test]
fn http_source_takes_ffmpeg_mpjpeg_server_frames_unchanged() {
    if !require_peer("ffmpeg") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let want = reference(dir.path());
    let url = format!("http://127.0.0.1:{}/cam", it::live::free_port());
    let _ffmpeg = Spawned::start(
        Path::new("ffmpeg"),
        &args(&[&it::live::FFMPEG_MPJPEG_SERVER[..], &[url.as_str()]].concat()),
    )
    .unwrap();
    // Until ffmpeg listens, the attempts are refused and retried.
    let (src, rx) = start(SourceSpec::Http { url });
    assert_eq!(first_frames(&rx, FRAMES), want);
    src.stop();
}

#[test]
fn exec_source_takes_ffmpeg_stdout_frames_unchanged() {
    if !require_peer("ffmpeg") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let want = reference(dir.path());
    let command = format!("ffmpeg {}", args(&["-f", "mjpeg", "-"]).join(" "));
    let (src, rx) = start(SourceSpec::Exec { command });
    assert_eq!(first_frames(&rx, FRAMES), want);
    src.stop();
}
