//! Our server (runtime-mio, in-process, loopback) played by GStreamer's `rtspsrc`, over UDP
//! and over TCP interleaved: `rtspsrc ! rtpjpegdepay ! jpegdec ! identity eos-after=N !
//! fakesink` reaches EOS after N decoded frames, exits 0, and logs no ERROR/WARNING.
//! Also a stream that ends (RTCP BYE at the end of the file) ends the pipeline cleanly.
//!
//! Each test skips (loudly, and passes) only when `gst-launch-1.0` is not installed;
//! `.ci/run` installs it. Every pipeline runs under `timeout`.

use it::make_media_dir;
use it::peers::{gst_shutdown_race, require_peer, run_peer, EventServer, PeerOutput};
use rtsp_core::server::{CloseReason, ServerConfig, ServerEvent};
use std::time::Duration;

const FRAMES: usize = 120;
const FPS: f64 = 50.0;
const PEER_LIMIT: Duration = Duration::from_secs(60);
const GST: &str = "gst-launch-1.0";

fn gst_play(url: &str, protocols: &str, eos_after: Option<u32>) -> PeerOutput {
    let location = format!("location={url}");
    let protocols = format!("protocols={protocols}");
    let mut args = vec![
        "-e",
        "rtspsrc",
        &location,
        &protocols,
        "latency=100",
        "!",
        "rtpjpegdepay",
        "!",
        "jpegdec",
        "!",
    ];
    let eos = eos_after.map(|n| format!("eos-after={n}"));
    if let Some(eos) = eos.as_deref() {
        args.extend(["identity", eos, "!"]);
    } else {
        // Every decoded frame is printed (`last-message = chain ...`): they are counted.
        args.insert(0, "-v");
        args.push("fakesink");
        args.push("silent=false");
        return run_peer(GST, &args, PEER_LIMIT);
    }
    args.push("fakesink");
    run_peer(GST, &args, PEER_LIMIT)
}

/// gst-launch played cleanly to EOS. GStreamer's own shutdown race after EOS (its TEARDOWN
/// cutting its PAUSE before it is sent; see [`gst_shutdown_race`]) is told apart and allowed.
fn assert_clean(out: &PeerOutput, what: &str) {
    if gst_shutdown_race(out) {
        eprintln!("{what}: gst-launch's shutdown race after a complete play");
        return;
    }
    assert_eq!(
        out.code,
        Some(0),
        "{what}: gst-launch failed\n{}",
        out.log()
    );
    assert!(
        out.stdout.contains("Got EOS"),
        "{what}: the pipeline did not reach EOS\n{}",
        out.log()
    );
    let bad = out.lines_with(&["ERROR", "WARNING", "CRITICAL"]);
    assert!(
        bad.is_empty(),
        "{what}: gst complained: {bad:#?}\n{}",
        out.log()
    );
}

fn play_n(protocols: &str) {
    if !require_peer(GST) {
        return;
    }
    let (dir, name, _) = make_media_dir(FRAMES, false);
    let server = EventServer::start(dir.path(), FPS, ServerConfig::default());
    let out = gst_play(&server.url(&name), protocols, Some(60));
    assert_clean(&out, protocols);
    assert!(
        server
            .drain_events()
            .iter()
            .any(|e| matches!(e, ServerEvent::SessionCreated { .. })),
        "gst never set up a session"
    );
    server.server.stop();
    server.server.join().expect("server ends cleanly");
}

#[test]
fn gst_udp_plays_to_eos_without_errors() {
    play_n("udp");
}

#[test]
fn gst_tcp_plays_to_eos_without_errors() {
    play_n("tcp");
}

/// No `eos-after`: the file ends, the server sends RTCP BYE, rtspsrc turns it into EOS.
#[test]
fn gst_end_of_file_is_eos() {
    if !require_peer(GST) {
        return;
    }
    let (dir, name, _) = make_media_dir(40, false);
    let server = EventServer::start(dir.path(), FPS, ServerConfig::default());
    let out = gst_play(&server.url(&name), "tcp", None);
    assert_clean(&out, "end of file");
    // Every frame of the file was decoded. The pipeline ends at the BYE, or (rtspsrc knows
    // the range's end) at the last frame, possibly before the BYE goes out a moment later:
    // then its TEARDOWN ends the session.
    let decoded = out
        .stdout
        .lines()
        .filter(|l| l.contains("fakesink0: last-message = chain"))
        .count();
    assert_eq!(decoded, 40, "frames decoded\n{}", out.log());
    assert!(
        server
            .wait_event(Duration::from_secs(5), |e| matches!(
                e,
                ServerEvent::EndOfStream { .. }
                    | ServerEvent::SessionClosed {
                        reason: CloseReason::Teardown,
                        ..
                    }
            ))
            .is_some(),
        "the session never ended"
    );
    server.server.stop();
    server.server.join().expect("server ends cleanly");
}

/// Digest authentication with rtspsrc's `user-id`/`user-pw`.
#[test]
fn gst_digest_auth() {
    if !require_peer(GST) {
        return;
    }
    let (dir, name, _) = make_media_dir(FRAMES, false);
    let auth = rtsp_core::server::AuthConfig::new(vec![rtsp_core::auth::Credentials::new(
        "alice", "s3cret",
    )]);
    let server = EventServer::start(
        dir.path(),
        FPS,
        ServerConfig {
            auth: Some(auth),
            ..ServerConfig::default()
        },
    );
    let location = format!("location={}", server.url(&name));
    let run = |pw: &str| {
        let pw = format!("user-pw={pw}");
        run_peer(
            GST,
            &[
                "-e",
                "rtspsrc",
                &location,
                "protocols=tcp",
                "user-id=alice",
                &pw,
                "!",
                "rtpjpegdepay",
                "!",
                "jpegdec",
                "!",
                "identity",
                "eos-after=20",
                "!",
                "fakesink",
            ],
            PEER_LIMIT,
        )
    };
    let out = run("s3cret");
    assert_clean(&out, "right password");
    let out = run("wrong");
    assert_ne!(
        out.code,
        Some(0),
        "played with a wrong password\n{}",
        out.log()
    );
    server.server.stop();
    server.server.join().expect("server ends cleanly");
}
