//! Publishing to `server-mio` (the real binary, two event loops) with real publishers, to a
//! path configured `source = "publisher"`: ffmpeg (`-f rtsp`) and GStreamer's
//! `rtspclientsink`, each over UDP and over TCP. ffmpeg, GStreamer's `rtspsrc` and client-std
//! read the path at the same time, joining a second after our own client started reading it. The publisher sends
//! known frames unchanged (test-pattern JPEGs that RFC 2435 carries as they are), so each
//! reader's recording must be an unbroken run of them, every scan byte for byte, and our
//! client, reading all along, must miss none while the others come and go. A second
//! publisher of the path is refused with 455 while the first publishes.
//!
//! Each test skips (loudly, and passes) when a peer is missing; `.ci/run` installs them.
//! Needs `target/debug/{server-mio,client-std}` (`scripts/test` builds them).

mod interop_client_support;

use std::path::Path;

use bytes::Bytes;
use interop_client_support::{client_std, server_mio};
use it::live::{
    assert_run, ffmpeg_publish, ffmpeg_send_args, frames_until, gst_publish, known_frames, play,
    record_all, require_gst_element, write_frames, Reader, ServerMio, WAIT,
};
use it::peers::{require_peer, run_peer, Spawned};
use it::Ev;

/// Frames in the published file: 12 s at 25 fps, far more than the readers need.
const FRAMES: u32 = 300;
/// Frames each reader records.
const READ: usize = 40;
/// Frames our own client gets before the other readers join.
const LATE: usize = 25;
/// The server's configuration: one path clients publish.
const CONFIG: &str = "[paths.cam]\nsource = \"publisher\"\n";

/// The three readers, over `a` (ffmpeg, client-std) and `b` (gst).
fn readers(a: &'static str, b: &'static str) -> [Reader; 3] {
    [
        Reader::Ffmpeg(a),
        Reader::Gst(b),
        Reader::ClientStd(client_std(), a),
    ]
}

/// ffmpeg (or, with `gst`, rtspclientsink) publishes the known frames to the path over
/// `transport`; three readers join once our client has had a second of them — ffmpeg and
/// client-std over the other transport, rtspsrc over the same — and must each get a run of
/// them, and our client all of them meanwhile.
fn publish_and_read(gst: bool, transport: &'static str) {
    if !have_ffmpeg_peers() || gst && !require_gst_element("rtspclientsink") {
        return;
    }
    let (publisher, publish): (_, fn(&Path, &str, &str) -> Spawned) = if gst {
        ("rtspclientsink", gst_publish)
    } else {
        ("ffmpeg", ffmpeg_publish)
    };
    let what = format!("{publisher} over {transport}");
    let other = if transport == "udp" { "tcp" } else { "udp" };
    let dir = tempfile::tempdir().expect("temp dir");
    let source = known_frames(0, FRAMES, 320, 240);
    let file = write_frames(dir.path(), "cam.mjpeg", &source);
    let mut server = ServerMio::start(&server_mio(), CONFIG, &[]);
    let url = server.url("cam");
    let _publisher = publish(&file, &url, transport);
    server.expect_log(WAIT, "publisher recording");
    // Our own client reads from early on, a second of frames before the others join.
    let (early, _) = play(&url);
    let first = frames_until(&early, WAIT, |f| f.len() >= LATE);
    let readers = readers(other, transport);
    let got = record_all(&readers, &url, READ, dir.path());
    let start = assert_run(
        &source,
        &jpegs(&first),
        false,
        &format!("{what}, early reader"),
    );
    for (reader, frames) in readers.iter().zip(&got) {
        let at = assert_run(
            &source,
            frames,
            false,
            &format!("{what}, {}", reader.name()),
        );
        eprintln!("{what}: {} got frames {at}..{}", reader.name(), at + READ);
        // Joined late: no frame from before it asked (the last one sent, at most).
        assert!(
            at + 1 >= start + LATE,
            "{what}: {} starts at {at}",
            reader.name()
        );
    }
    // The early reader got every frame meanwhile, whoever joined or left.
    let mut all = first;
    all.extend(frames_until(&early, WAIT, |f| !f.is_empty()));
    all.extend(early.events.try_iter().filter_map(|e| match e {
        Ev::Frame(ts, jpeg) => Some((ts, jpeg)),
        _ => None,
    }));
    let n = all.len();
    assert_run(
        &source,
        &jpegs(&all),
        false,
        &format!("{what}, early reader"),
    );
    eprintln!("{what}: the early reader got frames {start}..{}", start + n);
    assert!(n > LATE + READ, "{what}: the early reader got {n} frames");
    assert_eq!(server.count("publisher recording"), 1, "{}", server.log());
}

/// The JPEGs of frames as our client reports them.
fn jpegs(frames: &[(u32, Bytes)]) -> Vec<Bytes> {
    frames.iter().map(|(_, j)| j.clone()).collect()
}

fn have_ffmpeg_peers() -> bool {
    require_peer("ffmpeg") && require_gst_element("rtspsrc")
}

#[test]
fn ffmpeg_publishes_over_udp_and_every_reader_gets_the_frames_intact() {
    publish_and_read(false, "udp");
}

#[test]
fn ffmpeg_publishes_over_tcp_and_every_reader_gets_the_frames_intact() {
    publish_and_read(false, "tcp");
}

#[test]
fn gst_rtspclientsink_publishes_over_udp_and_every_reader_gets_the_frames_intact() {
    publish_and_read(true, "udp");
}

#[test]
fn gst_rtspclientsink_publishes_over_tcp_and_every_reader_gets_the_frames_intact() {
    publish_and_read(true, "tcp");
}

/// While ffmpeg publishes the path, a second ffmpeg (other frames) gets 455 at ANNOUNCE and
/// gives up; a reader afterwards still gets the first publisher's frames.
#[test]
fn a_second_publisher_is_refused_with_455_while_the_first_publishes() {
    if !have_ffmpeg_peers() {
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let source = known_frames(0, FRAMES, 320, 240);
    let file = write_frames(dir.path(), "cam.mjpeg", &source);
    let other = write_frames(dir.path(), "other.mjpeg", &known_frames(1000, 50, 320, 240));
    let mut server = ServerMio::start(&server_mio(), CONFIG, &[]);
    let url = server.url("cam");
    let _first = ffmpeg_publish(&file, &url, "tcp");
    server.expect_log(WAIT, "publisher recording");
    for transport in ["tcp", "udp"] {
        let args = ffmpeg_send_args(&other, &["-f", "rtsp", "-rtsp_transport", transport, &url]);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let second = run_peer("ffmpeg", &args, WAIT);
        assert!(
            second.code.is_some_and(|c| c != 0 && c != 124),
            "the second publisher over {transport} was not refused\n{}",
            second.log()
        );
        assert!(
            second.stderr.contains("ANNOUNCE failed: 455"),
            "over {transport}: expected 455 at ANNOUNCE\n{}",
            second.log()
        );
    }
    let reader = Reader::ClientStd(client_std(), "tcp");
    let got = reader.record(&url, 20, dir.path());
    assert_run(&source, &got, false, "client-std after the refusals");
    assert_eq!(server.count("publisher recording"), 1, "{}", server.log());
}
