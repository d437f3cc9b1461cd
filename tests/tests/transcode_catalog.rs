//! `FsCatalog` transcoding at load time, on the ffmpeg-made frames in `mjpeg/testdata` (no
//! external program needed): frames RTP/JPEG cannot carry are re-coded (lossless, same pixels)
//! or re-encoded (lossy, 4:2:0), and `with_transcode(false)` refuses them with the reason.
//! One end-to-end run plays an optimal-Huffman file to our client with identical pixels.

use bytes::Bytes;
use it::{decode_pixels, recv_until, spawn_client, ClientRuntime, Ev, ServerRuntime};
use rtsp_core::client::TransportChoice;
use rtsp_core::server::LookupError;
use runtime_std::media::FsCatalog;
use std::path::Path;
use std::time::Duration;

const OPTIMAL_420: &[u8] = include_bytes!("../../mjpeg/testdata/ffmpeg-420-optimal.jpg");
const FFMPEG_444: &[u8] = include_bytes!("../../mjpeg/testdata/ffmpeg-444.jpg");
const FFMPEG_422: &[u8] = include_bytes!("../../mjpeg/testdata/ffmpeg-422.jpg");
const STEP: Duration = Duration::from_secs(20);

/// Writes `frames` copies of `jpeg` concatenated into `dir/name`.
fn write_file(dir: &Path, name: &str, jpeg: &[u8], frames: usize) {
    let list: Vec<Bytes> = (0..frames).map(|_| Bytes::copy_from_slice(jpeg)).collect();
    let mut file = Vec::new();
    mjpeg::write_concatenated(&list, &mut file);
    std::fs::write(dir.join(name), file).expect("write media");
}

fn carriable(media: &rtsp_core::server::Media) {
    for i in 0..media.frame_count() {
        let jpeg = media.jpeg(i).expect("frame");
        let info = mjpeg::parse_jpeg(jpeg).expect("valid JPEG");
        assert_eq!(info.check_rtp(), Ok(()), "frame {i}");
    }
}

#[test]
fn catalog_transcodes_at_load_time() {
    let dir = tempfile::tempdir().expect("temp dir");
    write_file(dir.path(), "optimal.mjpeg", OPTIMAL_420, 3);
    write_file(dir.path(), "444.mjpeg", FFMPEG_444, 2);
    write_file(dir.path(), "422.mjpeg", FFMPEG_422, 2);
    let mut catalog = FsCatalog::new(dir.path()).expect("catalog");

    let optimal = catalog
        .lookup_wait("optimal.mjpeg", STEP)
        .expect("optimal Huffman file loads");
    assert_eq!(optimal.frame_count(), 3);
    carriable(&optimal);
    // Lossless: the very same pixels.
    assert_eq!(
        decode_pixels(optimal.jpeg(0).expect("frame")),
        decode_pixels(OPTIMAL_420)
    );

    for name in ["444.mjpeg", "422.mjpeg"] {
        let media = catalog.lookup_wait(name, STEP).expect("file loads");
        assert_eq!(media.frame_count(), 2, "{name}");
        assert_eq!((media.width(), media.height()), (96, 64), "{name}");
        carriable(&media);
    }
}

#[test]
fn catalog_without_transcoding_refuses_with_the_reason() {
    let dir = tempfile::tempdir().expect("temp dir");
    write_file(dir.path(), "optimal.mjpeg", OPTIMAL_420, 2);
    write_file(dir.path(), "444.mjpeg", FFMPEG_444, 2);
    let mut catalog = FsCatalog::new(dir.path())
        .expect("catalog")
        .with_transcode(false);
    match catalog.lookup_wait("optimal.mjpeg", STEP) {
        Err(LookupError::Unplayable(text)) => {
            assert!(text.contains("optimal.mjpeg"), "{text}");
            assert!(text.contains("frame 0"), "{text}");
            assert!(text.contains("Huffman"), "{text}");
        }
        other => panic!("expected Unplayable, got {other:?}"),
    }
    match catalog.lookup_wait("444.mjpeg", STEP) {
        Err(e @ LookupError::Unplayable(_)) => {
            assert_eq!(e.status().0, 503);
            assert!(e.to_string().contains("sampling"), "{e}");
        }
        other => panic!("expected Unplayable, got {other:?}"),
    }
}

#[test]
fn lossless_only_catalog_refuses_444_but_plays_optimal_huffman() {
    let dir = tempfile::tempdir().expect("temp dir");
    write_file(dir.path(), "optimal.mjpeg", OPTIMAL_420, 2);
    write_file(dir.path(), "444.mjpeg", FFMPEG_444, 2);
    let opts = mjpeg::transcode::TranscodeOptions::default().with_lossy(false);
    let mut catalog = FsCatalog::new(dir.path())
        .expect("catalog")
        .with_transcode_options(opts);
    carriable(
        &catalog
            .lookup_wait("optimal.mjpeg", STEP)
            .expect("lossless works"),
    );
    assert!(matches!(
        catalog.lookup_wait("444.mjpeg", STEP),
        Err(LookupError::Unplayable(_))
    ));
}

#[test]
fn transcode_frames_reports_offsets_of_bad_frames() {
    let frames = vec![
        Bytes::from_static(OPTIMAL_420),
        Bytes::from_static(FFMPEG_444),
    ];
    let mut file = Vec::new();
    mjpeg::write_concatenated(&frames, &mut file);
    // Corrupt the second frame's SOF marker so it no longer parses.
    let second = OPTIMAL_420.len();
    let sof = second
        + FFMPEG_444
            .windows(2)
            .position(|w| w == [0xFF, 0xC0])
            .expect("SOF0");
    file[sof + 1] = 0xC3; // lossless process: not supported
    let data = Bytes::from(file);
    let (_, split) = mjpeg::split_frames(&data).expect("still splits");
    let err = runtime_std::media::transcode_frames(&data, &split, &Default::default(), &|_| {})
        .expect_err("frame 1 is refused");
    assert_eq!((err.index, err.offset), (1, second));
    assert!(
        err.to_string().contains(&format!("at byte {second}")),
        "{err}"
    );
}

#[test]
fn optimal_huffman_file_plays_with_identical_pixels() {
    const FRAMES: usize = 6;
    let dir = tempfile::tempdir().expect("temp dir");
    write_file(dir.path(), "optimal.mjpeg", OPTIMAL_420, FRAMES);
    let server = it::start_server(ServerRuntime::Mio, dir.path(), 50.0);
    let client = spawn_client(ClientRuntime::Std, &server.url("optimal.mjpeg"), true);
    client.command(|c| {
        c.describe().expect("describe");
    });
    recv_until(&client.events, STEP, |e| matches!(e, Ev::Described)).expect("DESCRIBE");
    client.command(|c| {
        c.setup(TransportChoice::Tcp).expect("setup");
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
    .expect("every frame");
    let want = decode_pixels(OPTIMAL_420);
    for (i, f) in got.iter().enumerate() {
        assert!(decode_pixels(f) == want, "frame {i}: pixels differ");
    }
    client.stop();
    server.stop();
}
