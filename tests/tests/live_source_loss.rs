//! A pulled path's source dies and comes back while a reader plays it: the camera-like HTTP
//! server (a thread here) is stopped, or the origin `server-mio` is killed, and started again
//! on the same port with other frames. The edge `server-mio` (the real binary, two event
//! loops) keeps the reader's session: our client (runtime-std) plays on in the same session,
//! gets the first source's frames, then — after the gap, without reconnecting — the second
//! source's, each an unbroken run, every scan byte for byte, on one rising RTP timeline.
//!
//! Needs `target/debug/server-mio` (`scripts/test` builds it); no third-party peer.

mod interop_client_support;

use std::time::Instant;

use bytes::Bytes;
use interop_client_support::server_mio;
use it::live::{
    assert_run, frames_until, known_frames, play, write_frames, MjpegHttp, ServerMio, WAIT,
};
use it::scan_of;

/// Frames before the loss, and after the return, that the reader must get.
const RUN: usize = 10;

/// The frames of the source before the loss, and of the one after it: distinct.
fn generations() -> (Vec<Bytes>, Vec<Bytes>) {
    (
        known_frames(0, 50, 320, 240),
        known_frames(500, 50, 320, 240),
    )
}

/// `edge`'s path `path` plays in our client; `restart` ends its source and starts another
/// with `after` on the same address (it may wait for the edge to notice). The reader gets a run
/// of `before`, then one of `after`, in the one session it set up, on a rising timeline.
fn reader_survives(
    edge: &mut ServerMio,
    path: &str,
    before: &[Bytes],
    after: &[Bytes],
    restart: impl FnOnce(&mut ServerMio),
) {
    let (reader, session) = play(&edge.url(path));
    let first = frames_until(&reader, WAIT, |f| f.len() >= RUN);
    assert_run(before, &jpegs(&first), true, "before the loss");
    let lost = Instant::now();
    restart(edge);
    let after_scans: Vec<Vec<u8>> = after.iter().map(|f| scan_of(f)).collect();
    let is_after = |jpeg: &Bytes| after_scans.contains(&scan_of(jpeg));
    let rest = frames_until(&reader, WAIT, |f| {
        f.iter().filter(|(_, jpeg)| is_after(jpeg)).count() >= RUN
    });
    let gap = lost.elapsed();
    let split = rest
        .iter()
        .position(|(_, jpeg)| is_after(jpeg))
        .expect("frames of the new source");
    let mut old = first;
    old.extend_from_slice(&rest[..split]);
    assert_run(before, &jpegs(&old), true, "up to the loss");
    assert_run(after, &jpegs(&rest[split..]), true, "after the return");
    eprintln!(
        "{} frames before the loss, {} after; back within {gap:?}",
        old.len(),
        rest.len() - split
    );
    // One timeline: every frame later than the one before, across the gap too.
    let all: Vec<u32> = old
        .iter()
        .chain(&rest[split..])
        .map(|(ts, _)| *ts)
        .collect();
    for (i, w) in all.windows(2).enumerate() {
        let step = w[1].wrapping_sub(w[0]) as i32;
        assert!(
            step > 0,
            "frame {}: RTP time {} after {}",
            i + 1,
            w[1],
            w[0]
        );
    }
    // The same session all along, the only one set up at the edge.
    let now = reader.query(|c| c.session_id().map(str::to_string));
    assert_eq!(now.as_deref(), Some(session.as_str()));
    assert_eq!(edge.count("session created"), 1, "{}", edge.log());
    reader.stop();
}

/// The JPEGs of frames as our client reports them.
fn jpegs(frames: &[(u32, Bytes)]) -> Vec<Bytes> {
    frames.iter().map(|(_, j)| j.clone()).collect()
}

#[test]
fn http_camera_stopped_and_restarted_reader_plays_on() {
    let (before, after) = generations();
    let camera = MjpegHttp::start(before.clone());
    let port = camera.port();
    let config = format!("[paths.cam]\nsource = \"{}\"\n", camera.url());
    let mut edge = ServerMio::start(&server_mio(), &config, &[]);
    let mut camera = Some(camera);
    reader_survives(&mut edge, "cam", &before, &after, |edge| {
        drop(camera.take());
        edge.expect_log(WAIT, "source lost source=cam");
        camera = Some(MjpegHttp::start_on(port, after.clone()).expect("the camera's port again"));
    });
}

#[test]
fn origin_server_killed_and_restarted_reader_plays_on() {
    let (before, after) = generations();
    let dir = tempfile::tempdir().expect("temp dir");
    let media = |name: &str, frames: &[Bytes]| {
        let d = dir.path().join(name);
        std::fs::create_dir(&d).expect("mkdir");
        write_frames(&d, "clip.mjpeg", frames);
        d.to_str().expect("utf-8 path").to_string()
    };
    let (media1, media2) = (media("one", &before), media("two", &after));
    let origin = ServerMio::start(&server_mio(), "", &["--media", &media1, "--loop"]);
    let port = origin.port();
    let config = format!("[paths.relay]\nsource = \"{}\"\n", origin.url("clip.mjpeg"));
    let mut edge = ServerMio::start(&server_mio(), &config, &[]);
    let mut origin = Some(origin);
    reader_survives(&mut edge, "relay", &before, &after, |edge| {
        // SIGKILL: the origin ends no session, its sockets just close.
        drop(origin.take());
        edge.expect_log(WAIT, "source lost source=relay");
        origin = Some(ServerMio::start_on(
            &server_mio(),
            port,
            "",
            &["--media", &media2, "--loop"],
        ));
    });
}
