//! A file written by plain `ffmpeg -f mjpeg` (4:4:4 with "optimal" Huffman tables: nothing an
//! RFC 2435 receiver can decode as it is) plays correctly through our server, which transcodes
//! it at load time: to our client, and to ffmpeg as the client. Decoded frames match the
//! source frames within JPEG tolerance (mean absolute difference per sample).
//!
//! The source file is made by ffmpeg; without ffmpeg each test says so loudly and passes
//! (`.ci/run` installs it). Every ffmpeg runs under `timeout`.

use bytes::Bytes;
use it::peers::{require_peer, run_peer};
use it::{recv_until, spawn_client, ClientRuntime, Ev, ServerRuntime};
use rtsp_core::client::TransportChoice;
use std::path::Path;
use std::time::Duration;

const WIDTH: usize = 320;
const HEIGHT: usize = 240;
/// Frames ffmpeg writes (2 s at 25 fps).
const SOURCE_FRAMES: usize = 50;
/// Frames compared.
const FRAMES: usize = 10;
/// Played fast so the test takes seconds.
const FPS: f64 = 50.0;
const STEP: Duration = Duration::from_secs(30);
const PEER_LIMIT: Duration = Duration::from_secs(60);
/// Mean absolute difference per channel allowed between a frame ffmpeg played and its source
/// (measured: about 1.8 / 1.2 / 2.1 for R / G / B; testsrc's sharp colour edges make 4:2:0 cost
/// that much). A frame decoded with the wrong Huffman tables is off by tens.
const TOLERANCE: f64 = 3.0;
/// The same when zune-jpeg decodes the played frame: its 4:2:0 chroma upsampling differs from
/// ffmpeg's (measured about 3.9 / 1.9 / 3.2; ffmpeg's own 4:2:0 re-encode costs 2.3 overall).
const TOLERANCE_ZUNE: f64 = 4.5;

/// Writes `dir/ffmpeg.mjpeg` with plain ffmpeg settings; `None` when ffmpeg is missing.
fn ffmpeg_file(dir: &Path) -> Option<Vec<Bytes>> {
    if !require_peer("ffmpeg") {
        return None;
    }
    let path = dir.join("ffmpeg.mjpeg");
    let out = run_peer(
        "ffmpeg",
        &[
            "-nostdin",
            "-v",
            "error",
            "-f",
            "lavfi",
            "-i",
            "testsrc=size=320x240:rate=25",
            "-t",
            "2",
            "-f",
            "mjpeg",
            path.to_str().expect("utf-8 temp path"),
        ],
        PEER_LIMIT,
    );
    assert_eq!(
        out.code,
        Some(0),
        "ffmpeg could not write the file\n{}",
        out.log()
    );
    let data = Bytes::from(std::fs::read(&path).expect("read the ffmpeg file"));
    let (_, frames) = mjpeg::split_frames(&data).expect("ffmpeg file splits");
    assert_eq!(frames.len(), SOURCE_FRAMES);
    // The premise: these frames cannot be sent as they are.
    let info = mjpeg::parse_jpeg(&frames[0]).expect("valid JPEG");
    assert!(
        info.check_rtp().is_err(),
        "expected ffmpeg's default output not to be RFC 2435 carriable"
    );
    Some(frames)
}

/// RGB pixels of a JPEG, checked to be WIDTH x HEIGHT.
fn rgb(jpeg: &[u8]) -> Vec<u8> {
    let px = it::decode_pixels(jpeg);
    assert_eq!(px.len(), WIDTH * HEIGHT * 3, "decoded size");
    px
}

/// Mean absolute difference of each of R, G, B.
fn per_channel_diff(got: &[u8], source: &[u8]) -> [f64; 3] {
    assert_eq!(got.len(), source.len(), "image sizes differ");
    let mut sum = [0u64; 3];
    for (i, (a, b)) in got.iter().zip(source).enumerate() {
        sum[i % 3] += u64::from(a.abs_diff(*b));
    }
    sum.map(|s| s as f64 / (got.len() / 3) as f64)
}

fn assert_matches_source(i: usize, got: &[u8], source: &[u8], tolerance: f64) {
    let d = per_channel_diff(got, source);
    assert!(
        d.iter().all(|&c| c < tolerance),
        "frame {i}: mean absolute difference per channel {d:.2?} from the source frame \
         (limit {tolerance})"
    );
}

#[test]
fn ffmpeg_default_file_plays_to_our_client() {
    let dir = tempfile::tempdir().expect("temp dir");
    let Some(source) = ffmpeg_file(dir.path()) else {
        return;
    };
    let server = it::start_server(ServerRuntime::Mio, dir.path(), FPS);
    for tcp in [true, false] {
        let client = spawn_client(ClientRuntime::Std, &server.url("ffmpeg.mjpeg"), tcp);
        client.command(|c| {
            c.describe().expect("describe");
        });
        recv_until(&client.events, STEP, |e| matches!(e, Ev::Described)).expect("DESCRIBE");
        let choice = if tcp {
            TransportChoice::Tcp
        } else {
            TransportChoice::Udp {
                rtp_local: client.rtp_local,
                rtcp_local: client.rtcp_local,
            }
        };
        client.command(move |c| {
            c.setup(choice).expect("setup");
        });
        recv_until(&client.events, STEP, |e| matches!(e, Ev::SetupDone)).expect("SETUP");
        client.command(|c| {
            c.play(None).expect("play");
        });
        let mut got = Vec::new();
        recv_until(&client.events, STEP, |e| {
            if let Ev::Frame(_, data) = e {
                got.push(data.clone());
            }
            got.len() >= FRAMES
        })
        .expect("frames");
        for (i, frame) in got.iter().enumerate() {
            assert_matches_source(i, &rgb(frame), &rgb(&source[i]), TOLERANCE_ZUNE);
        }
        client.stop();
    }
    server.stop();
}

#[test]
fn ffmpeg_default_file_plays_through_ffmpeg() {
    let dir = tempfile::tempdir().expect("temp dir");
    let Some(source) = ffmpeg_file(dir.path()) else {
        return;
    };
    let server = it::start_server(ServerRuntime::Mio, dir.path(), FPS);
    let raw = dir.path().join("played.rgb");
    let n = FRAMES.to_string();
    let url = server.url("ffmpeg.mjpeg");
    let out = run_peer(
        "ffmpeg",
        &[
            "-nostdin",
            "-hide_banner",
            "-loglevel",
            "warning",
            "-rtsp_transport",
            "tcp",
            "-i",
            &url,
            "-frames:v",
            &n,
            "-fps_mode",
            "passthrough",
            "-f",
            "rawvideo",
            "-pix_fmt",
            "rgb24",
            raw.to_str().expect("utf-8 temp path"),
        ],
        PEER_LIMIT,
    );
    server.stop();
    assert_eq!(out.code, Some(0), "ffmpeg client failed\n{}", out.log());
    let bad = out.lines_with(&["error", "corrupt", "invalid"]);
    assert!(bad.is_empty(), "ffmpeg complained: {bad:#?}\n{}", out.log());
    let played = std::fs::read(&raw).expect("ffmpeg output");
    let size = WIDTH * HEIGHT * 3;
    assert_eq!(played.len(), FRAMES * size, "ffmpeg wrote {FRAMES} frames");
    for (i, frame) in played.chunks_exact(size).enumerate() {
        assert_matches_source(i, frame, &rgb(&source[i]), TOLERANCE);
    }
}
