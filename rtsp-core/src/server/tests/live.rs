//! Live streams: frames pushed into the machine fan out once to every playing reader, each
//! reader starting at the next whole frame on its own RTP sequence and timeline; a paused
//! reader skips frames; the stream has no length and no seeking.

use super::*;

const C2: ConnId = ConnId(2);

fn live_frame(i: u32, at: u64) -> LiveFrame {
    LiveFrame::from_jpeg(
        test_frames()[i as usize % test_frames().len()].clone(),
        at,
        MTU,
    )
    .unwrap()
}

/// A harness whose catalog has the live stream `cam` (described from its first frame).
fn live_harness() -> H {
    let mut cat = H::test_catalog();
    cat.insert(Media::live("cam", 25.0, &live_frame(0, 0)).unwrap());
    let mut h = H::with_catalog(config(), Box::new(cat), Arc::default());
    h.connect(C1);
    h.connect(C2);
    h
}

fn setup_play(h: &mut H, conn: ConnId, ports: &str) -> String {
    let r = h.setup(
        conn,
        "rtsp://h/cam/stream=0",
        1,
        &format!("RTP/AVP;unicast;client_port={ports}"),
    );
    assert_eq!(r.status, StatusCode::OK, "{r:?}");
    let sid = session_of(&r);
    let r = h.request(conn, &with_session("PLAY", "rtsp://h/cam/", 2, &sid));
    assert_eq!(r.status, StatusCode::OK);
    // Live: from now, no end, whatever was asked.
    assert_eq!(header(&r, "Range"), Some("npt=0.000-"));
    sid
}

/// The RTP packets of each frame sent to `remote`: (timestamp, seq of its first packet, marker
/// of its last, payload bytes).
fn frames_to(outs: &[Out], remote: &str) -> Vec<(u32, u16, Vec<u8>)> {
    let mut frames: Vec<(u32, u16, Vec<u8>)> = Vec::new();
    for d in udp(outs, rtp_local(), addr(remote)) {
        let p = rtp(&d);
        match frames.last_mut() {
            Some(f) if f.0 == p.ts => f.2.extend_from_slice(&p.payload),
            _ => frames.push((p.ts, p.seq, p.payload.clone())),
        }
    }
    frames
}

#[test]
fn pushed_frames_reach_every_playing_reader_once() {
    let mut h = live_harness();
    let a = setup_play(&mut h, C1, "5000-5001");
    assert_eq!(h.server.live_readers("cam"), 1);
    h.take();
    let t0 = h.now;
    for i in 0..3u32 {
        let now = t0 + Duration::from_millis(40 * u64::from(i));
        h.server
            .push_frame("cam", &live_frame(i, 1_000_000 + 3600 * u64::from(i)), now);
        h.drain();
    }
    // A second reader joins: it starts at the next frame.
    let b = setup_play(&mut h, C2, "6000-6001");
    assert_eq!(h.server.live_readers("cam"), 2);
    for i in 3..5u32 {
        let now = t0 + Duration::from_millis(40 * u64::from(i));
        h.server
            .push_frame("cam", &live_frame(i, 1_000_000 + 3600 * u64::from(i)), now);
        h.drain();
    }
    let outs = h.take();
    let fa = frames_to(&outs, "192.168.1.7:5000");
    let fb = frames_to(&outs, "192.168.1.7:6000");
    assert_eq!((fa.len(), fb.len()), (5, 2));
    // Timestamps follow the source's clock, from each reader's own base.
    for w in fa.windows(2) {
        assert_eq!(w[1].0.wrapping_sub(w[0].0), 3600);
    }
    assert_eq!(fb[1].0.wrapping_sub(fb[0].0), 3600);
    // Every frame's payload is the one packetization, for both readers.
    let media = Media::from_jpegs("x", 25.0, test_frames(), MTU).unwrap();
    for (i, f) in fa.iter().enumerate() {
        assert_eq!(f.2, media.fragments(i).unwrap().concat(), "frame {i} to a");
    }
    assert_eq!(fb[0].2, fa[3].2);
    let sa = h.server.session_stats(&a).unwrap();
    let sb = h.server.session_stats(&b).unwrap();
    assert_eq!((sa.frames, sb.frames), (5, 2));
    // Sequence numbers run on without gaps per reader.
    let seqs: Vec<u16> = udp(&outs, rtp_local(), addr("192.168.1.7:5000"))
        .iter()
        .map(|d| rtp(d).seq)
        .collect();
    assert!(seqs.windows(2).all(|w| w[1] == w[0].wrapping_add(1)));
}

#[test]
fn a_paused_reader_skips_frames_and_resumes_on_the_same_timeline() {
    let mut h = live_harness();
    let a = setup_play(&mut h, C1, "5000-5001");
    h.take();
    let t0 = h.now;
    h.server.push_frame("cam", &live_frame(0, 90_000), t0);
    h.drain();
    let r = h.request(C1, &with_session("PAUSE", "rtsp://h/cam/", 3, &a));
    assert_eq!(r.status, StatusCode::OK);
    h.server.push_frame(
        "cam",
        &live_frame(1, 93_600),
        t0 + Duration::from_millis(40),
    );
    h.drain();
    let r = h.request(C1, &with_session("PLAY", "rtsp://h/cam/", 4, &a));
    assert_eq!(r.status, StatusCode::OK);
    h.server.push_frame(
        "cam",
        &live_frame(2, 97_200),
        t0 + Duration::from_millis(80),
    );
    h.drain();
    let f = frames_to(&h.take(), "192.168.1.7:5000");
    assert_eq!(f.len(), 2, "the paused one skipped");
    assert_eq!(
        f[1].0.wrapping_sub(f[0].0),
        7200,
        "two frame intervals of source time"
    );
    // Pushing to a stream nobody reads, or to a file stream, sends nothing.
    h.server.push_frame("nobody", &live_frame(3, 0), t0);
    h.server.push_frame("test", &live_frame(3, 0), t0);
    h.drain();
    assert_eq!(any_udp(&h.take()), 0);
}

/// The live stream's SDP has no length; the file streams keep theirs.
#[test]
fn a_live_stream_is_described_without_a_length() {
    let mut h = live_harness();
    let r = h.ask(C1, "DESCRIBE", "rtsp://h/cam", 1, &[]);
    let sdp = String::from_utf8_lossy(&r.body).to_string();
    assert!(sdp.contains("a=range:npt=0-\r\n"), "{sdp}");
    assert!(sdp.contains("a=x-dimensions:64,48"), "{sdp}");
    let r = h.ask(C1, "DESCRIBE", "rtsp://h/test", 2, &[]);
    assert!(String::from_utf8_lossy(&r.body).contains("a=range:npt=0-2"));
}
