//! client-std on the RFC 2435 paths no third-party payloader on this machine produces:
//! Q < 128 (no in-band tables: the receiver rebuilds them from Q, RFC 2435 Appendix A) with
//! and without restart markers (types 1 and 65). gst, ffmpeg and VLC all send Q=255 with the
//! tables, so a small scripted RTSP server in this test sends our test pattern (encoded at
//! quality 80, whose tables are exactly RFC 2435's Q=80 tables) with Q=80, over UDP and TCP.
//!
//! Checks: client-std records every frame, each recording decodes to exactly the pixels of
//! the frame that was sent, and ffmpeg decodes the recording with no message.
//!
//! Needs `target/debug/client-std` (`cargo build -p client-std`); ffmpeg (Debian `ffmpeg`)
//! and jpegtran (Debian `libjpeg-turbo-progs`, for the restart-marker frames) or the parts
//! needing them say SKIPPED.

mod interop_client_support;

use std::process::{Command, Stdio};
use std::time::Duration;

use bytes::Bytes;
use interop_client_support::{client_std, decode, have, q80_packets, Script, Scripted};

/// Plays the scripted server with client-std; checks frames, pixels and ffmpeg.
fn check(sources: &[Vec<u8>], transport: &str, want_dri: u16) {
    let server = Scripted::start(Script {
        frames: sources.iter().map(|f| q80_packets(f)).collect(),
        ..Script::default()
    });
    let dir = tempfile::tempdir().expect("temp dir");
    let out = dir.path().join("out.mjpeg");
    let n = sources.len() * 2;
    let res = Command::new("timeout")
        .arg("60")
        .arg(client_std())
        .arg(server.url("q80"))
        .args(["--headless", "--transport", transport, "--stats"])
        .args(["--frames", &n.to_string(), "--record"])
        .arg(&out)
        .stdin(Stdio::null())
        .output()
        .expect("run client-std");
    let stderr = String::from_utf8_lossy(&res.stderr);
    assert!(res.status.success(), "{:?}\n{stderr}", res.status);
    let seen = server.drain(Duration::from_secs(5));
    assert!(
        seen.iter().any(|s| s.line.starts_with("TEARDOWN")),
        "{seen:?}"
    );

    let data = Bytes::from(std::fs::read(&out).expect("recording"));
    let (_, frames) = mjpeg::split_frames(&data).expect("splits");
    assert_eq!(frames.len(), n, "{stderr}");
    let want: Vec<Vec<u8>> = sources.iter().map(|f| decode(f)).collect();
    for (k, f) in frames.iter().enumerate() {
        let info = mjpeg::parse_jpeg(f).expect("valid JPEG");
        assert_eq!(info.restart_interval, want_dri);
        assert_eq!(
            decode(f),
            want[k % sources.len()],
            "{transport}: frame {k} decodes to other pixels than were sent"
        );
    }
    if have("ffmpeg") {
        let ff = Command::new("timeout")
            .args(["60", "ffmpeg", "-nostdin", "-v", "error", "-i"])
            .arg(&out)
            .args(["-f", "null", "-"])
            .output()
            .expect("ffmpeg");
        let msg = String::from_utf8_lossy(&ff.stderr);
        assert!(
            ff.status.success() && msg.trim().is_empty(),
            "ffmpeg: {msg}"
        );
    } else {
        eprintln!("SKIPPED the ffmpeg check: no ffmpeg (Debian package ffmpeg)");
    }
}

#[test]
fn q80_without_tables_type_1_udp_and_tcp() {
    let sources: Vec<Vec<u8>> = mjpeg::testpattern::frames(10, 384, 288)
        .iter()
        .map(|f| f.to_vec())
        .collect();
    check(&sources, "udp", 0);
    check(&sources, "tcp", 0);
}

#[test]
fn q80_without_tables_with_restart_markers_type_65() {
    if !have("jpegtran") {
        eprintln!("SKIPPED: no jpegtran (Debian package libjpeg-turbo-progs)");
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let sources: Vec<Vec<u8>> = mjpeg::testpattern::frames(10, 384, 288)
        .iter()
        .enumerate()
        .map(|(i, f)| {
            let src = dir.path().join(format!("f{i}.jpg"));
            std::fs::write(&src, f).expect("write");
            let out = Command::new("timeout")
                .args(["20", "jpegtran", "-restart", "1"])
                .arg(&src)
                .output()
                .expect("jpegtran");
            assert!(out.status.success());
            out.stdout
        })
        .collect();
    check(&sources, "udp", 24);
    check(&sources, "tcp", 24);
}
