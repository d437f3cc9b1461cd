//! Command-line behaviour that needs no network: `--list`, and clear errors.

use std::process::Command;

fn server_mio() -> Command {
    Command::new(env!("CARGO_BIN_EXE_server-mio"))
}

/// `--list` prints every playable stream (URL percent-encoded, size, frame rate from the
/// file's sidecar or `--fps`, length) on stdout, and the others on stderr with the reason.
#[test]
fn list_prints_every_playable_stream_and_exits() {
    let dir = tempfile::tempdir().expect("temp dir");
    let frames = mjpeg::testpattern::frames(2, 64, 48);
    let mut lab = Vec::new();
    mjpeg::write_lab(&frames, &mut lab).expect("lab");
    std::fs::write(dir.path().join("movie.Mjpeg"), &lab).expect("write");
    std::fs::create_dir(dir.path().join("clips")).expect("mkdir");
    let mut cat = Vec::new();
    mjpeg::write_concatenated(&frames, &mut cat);
    std::fs::write(dir.path().join("clips/a.mjpeg"), &cat).expect("write");
    std::fs::write(dir.path().join("clips/a.mjpeg.fps"), "30\n").expect("write");
    std::fs::write(dir.path().join("with space.mjpeg"), &cat).expect("write");
    std::fs::write(dir.path().join("broken.mjpeg"), b"\xff\xd8 not a jpeg").expect("write");
    std::fs::write(dir.path().join("notes.txt"), b"not media").expect("write");

    let out = server_mio()
        .args(["--list", "--port", "9554", "--fps", "10", "--media"])
        .arg(dir.path())
        .output()
        .expect("runs");
    assert!(out.status.success(), "exit status {:?}", out.status);
    let text = String::from_utf8(out.stdout).expect("utf-8");
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines,
        [
            "rtsp://127.0.0.1:9554/sample  384x288, 25 fps, 250 frames (10.0 s), loops",
            "rtsp://127.0.0.1:9554/clips/a.mjpeg  64x48, 30 fps, 2 frames (0.1 s)",
            "rtsp://127.0.0.1:9554/movie.Mjpeg  64x48, 10 fps, 2 frames (0.2 s)",
            "rtsp://127.0.0.1:9554/with%20space.mjpeg  64x48, 10 fps, 2 frames (0.2 s)",
        ]
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("rtsp://127.0.0.1:9554/broken.mjpeg: not playable:")
            && err.contains("broken.mjpeg"),
        "{err}"
    );
}

#[test]
fn missing_media_root_is_a_clear_error() {
    let out = server_mio()
        .args(["--list", "--media", "/nonexistent/media/root"])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("/nonexistent/media/root"),
        "error names the root: {err}"
    );
}
