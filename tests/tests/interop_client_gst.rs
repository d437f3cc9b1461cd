//! client-std against a real third-party server: gst-rtsp-server (GStreamer 1.22) started
//! from `tests/peers/gst_rtsp_mjpeg_server.py` on loopback. `client-std --headless --frames N
//! --record out.mjpeg --stats` must receive N frames over UDP and over TCP, and ffmpeg must
//! decode the recording without a single error message.
//!
//! * live `videotestsrc ! jpegenc ! rtpjpegpay` (RFC 2435 type 1, Q=255 with in-band tables);
//! * restart markers: our test pattern made DRI-carrying by `jpegtran -restart 1`, served by
//!   gst's file mode (`multifilesrc ! jpegparse ! rtpjpegpay`, RFC 2435 type 65); the
//!   recorded scans must equal the source scans.
//!
//! (No third-party payloader sends Q<128 — gst, ffmpeg and VLC always send Q=255 with the
//! tables — so that path is in `interop_client_rfc2435.rs`, with a scripted server.)
//!
//! Debian packages: ffmpeg gstreamer1.0-tools gstreamer1.0-plugins-base
//! gstreamer1.0-plugins-good gstreamer1.0-plugins-bad gir1.2-gst-rtsp-server-1.0 python3-gi
//! libjpeg-turbo-progs (jpegtran). Missing tools make the tests say SKIPPED and pass.
//! Needs `target/debug/client-std` (`cargo build -p client-std`).

mod interop_client_support;

use interop_client_support::{client_std, gst_available, start_gst};
use std::path::Path;
use std::process::{Command, Stdio};

use bytes::Bytes;

/// What one client-std run produced.
struct Run {
    frames: Vec<Bytes>,
    stats: String,
    stderr: String,
}

/// `client-std --headless --frames N --record DIR/out.mjpeg --stats` (bounded by `timeout`).
fn play(url: &str, transport: &str, frames: u32, dir: &Path) -> Run {
    let out = dir.join(format!("out-{transport}.mjpeg"));
    let res = Command::new("timeout")
        .arg("60")
        .arg(client_std())
        .args([url, "--headless", "--transport", transport, "--stats"])
        .args(["--frames", &frames.to_string(), "--record"])
        .arg(&out)
        .stdin(Stdio::null())
        .output()
        .expect("run client-std");
    let stderr = String::from_utf8_lossy(&res.stderr).into_owned();
    let stats = String::from_utf8_lossy(&res.stdout).trim().to_string();
    assert!(
        res.status.success(),
        "client-std failed: {:?}\n{stderr}",
        res.status
    );
    let data = Bytes::from(std::fs::read(&out).expect("recording"));
    let (_, frames) = mjpeg::split_frames(&data).expect("recording splits into JPEGs");
    // ffmpeg decodes every frame without complaint.
    let ff = Command::new("timeout")
        .args(["60", "ffmpeg", "-nostdin", "-v", "error", "-i"])
        .arg(&out)
        .args(["-f", "null", "-"])
        .output()
        .expect("run ffmpeg");
    let complaints =
        String::from_utf8_lossy(&ff.stderr).into_owned() + &String::from_utf8_lossy(&ff.stdout);
    assert!(
        ff.status.success() && complaints.trim().is_empty(),
        "ffmpeg on {}: {:?}\n{complaints}",
        out.display(),
        ff.status
    );
    Run {
        frames,
        stats,
        stderr,
    }
}

/// A number field of the --stats JSON line.
fn stat(json: &str, key: &str) -> f64 {
    json.split(&format!("\"{key}\":"))
        .nth(1)
        .and_then(|r| r.split([',', '}']).next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{key} in {json:?}"))
}

#[test]
fn gst_live_test_source_udp_and_tcp_100_frames_ffmpeg_clean() {
    if !gst_available(&[]) {
        return;
    }
    let peer = start_gst(&["--width", "320", "--height", "240", "--fps", "30"]);
    let dir = tempfile::tempdir().expect("temp dir");
    for transport in ["udp", "tcp"] {
        let run = play(&peer.url, transport, 100, dir.path());
        assert_eq!(run.frames.len(), 100, "{transport}: {}", run.stderr);
        assert_eq!(stat(&run.stats, "frames_received"), 100.0, "{}", run.stats);
        assert_eq!(stat(&run.stats, "frames_dropped"), 0.0, "{}", run.stats);
        assert!(run
            .stats
            .contains(&format!("\"transport\":\"{transport}\"")));
        for f in &run.frames {
            let info = mjpeg::parse_jpeg(f).expect("a valid JPEG");
            assert_eq!((info.width, info.height), (320, 240));
        }
        // Consecutive frames of a live source differ (not one frame repeated).
        assert_ne!(run.frames[0], run.frames[99]);
    }
}

#[test]
fn gst_file_mode_with_restart_markers_type_65() {
    if !gst_available(&["jpegtran"]) {
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    // Our test pattern, with a restart marker after every MCU row (jpegtran is lossless).
    let mut file = Vec::new();
    let mut sources = Vec::new();
    for (i, f) in mjpeg::testpattern::frames(20, 384, 288).iter().enumerate() {
        let src = dir.path().join(format!("f{i}.jpg"));
        std::fs::write(&src, f).expect("write frame");
        let out = Command::new("timeout")
            .args(["20", "jpegtran", "-restart", "1"])
            .arg(&src)
            .output()
            .expect("run jpegtran");
        assert!(out.status.success(), "jpegtran: {out:?}");
        let info = mjpeg::parse_jpeg(&out.stdout).expect("jpegtran output parses");
        assert_eq!(info.restart_interval, 24, "one MCU row of 384/16");
        assert!(info.standard_huffman && info.check_rtp().is_ok());
        sources.push(info.scan(&out.stdout).to_vec());
        file.extend_from_slice(&out.stdout);
    }
    let path = dir.path().join("dri.mjpeg");
    std::fs::write(&path, &file).expect("write file");
    let peer = start_gst(&["--file", path.to_str().expect("utf-8 path"), "--fps", "25"]);
    for transport in ["udp", "tcp"] {
        let run = play(&peer.url, transport, 40, dir.path());
        assert_eq!(run.frames.len(), 40, "{transport}: {}", run.stderr);
        for f in &run.frames {
            let info = mjpeg::parse_jpeg(f).expect("a valid JPEG");
            assert_eq!(info.restart_interval, 24, "the DRI was rebuilt");
            let scan = info.scan(f);
            assert!(
                sources.iter().any(|s| s.as_slice() == scan),
                "a recorded scan is not one of the source scans"
            );
        }
    }
}
