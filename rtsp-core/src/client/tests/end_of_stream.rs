//! The end of the stream: the media source's RTCP BYE, the grace over UDP, TEARDOWN and PLAY
//! during it, the interleaved channel.

use super::*;

/// Frames and end-of-stream events, in order (`None` for the end).
fn media_events(h: &mut Harness) -> Vec<Option<bytes::Bytes>> {
    h.events()
        .into_iter()
        .filter_map(|e| match e {
            ClientEvent::Frame { data, .. } => Some(Some(data)),
            ClientEvent::EndOfStream { ssrc } => {
                assert_eq!(ssrc, GST_SSRC);
                Some(None)
            }
            _ => None,
        })
        .collect()
}

fn eos_count(events: &[ClientEvent]) -> usize {
    events
        .iter()
        .filter(|e| matches!(e, ClientEvent::EndOfStream { .. }))
        .count()
}

#[test]
fn rtcp_bye_from_the_source_is_end_of_stream_once() {
    let mut h = gst_playing("");
    let grace = ClientConfig::new("rtsp://h/").end_of_stream_grace;
    assert_eq!(grace, DEFAULT_END_OF_STREAM_GRACE);
    // The last frame's packets arrive out of order: the held one is released before the event.
    let pkts = jpeg_packets(25069, 1000, GST_SSRC, &scan(1, 3000));
    h.datagram(RTP, &pkts[0]);
    h.datagram(RTP, &pkts[2]);
    h.datagram(RTP, &pkts[1]);
    // A BYE from someone else is not the end.
    h.datagram(RTCP, &bye(0x1234));
    assert!(h
        .outcomes()
        .iter()
        .all(|e| matches!(e, ClientEvent::Frame { .. })));
    h.datagram(RTCP, &bye(GST_SSRC));
    assert!(h.outcomes().is_empty(), "not before the grace is over");
    h.advance(grace);
    let ev = h.outcomes();
    assert!(
        matches!(&ev[..], [ClientEvent::EndOfStream { ssrc }] if *ssrc == GST_SSRC),
        "{ev:?}"
    );
    h.datagram(RTCP, &bye(GST_SSRC));
    h.advance(grace * 2);
    assert!(h.outcomes().is_empty(), "reported once");
    assert_eq!(h.c.stats().frames, 1);

    // The BYE a server sends in answer to our TEARDOWN is not an end of stream.
    let mut h = gst_playing("");
    h.c.teardown().unwrap();
    h.datagram(RTCP, &bye(GST_SSRC));
    h.advance(grace * 2);
    assert!(h.outcomes().is_empty());
}

/// RTP and RTCP come through different sockets (and reader threads): the last frame's RTP
/// may be handled after the BYE. It still becomes a frame, and the end comes after it, when
/// the grace is over — once, however many BYEs.
#[test]
fn rtcp_bye_over_udp_waits_for_the_last_rtp_still_on_its_way() {
    let mut h = gst_playing("");
    let grace = DEFAULT_END_OF_STREAM_GRACE;
    let (s1, s2) = (scan(1, 3000), scan(2, 3000));
    let first = jpeg_packets(25069, 1000, GST_SSRC, &s1);
    let last = jpeg_packets(25072, 4000, GST_SSRC, &s2);
    for p in &first {
        h.datagram(RTP, p);
    }
    h.datagram(RTP, &last[0]);
    h.advance(Duration::from_millis(1));
    h.datagram(RTCP, &bye(GST_SSRC));
    let bye_at = h.now;
    assert_eq!(h.deadline, Some(bye_at + grace), "the grace is a deadline");
    // The rest of the last frame, well inside the grace; a second BYE changes nothing.
    h.advance(Duration::from_millis(30));
    h.datagram(RTP, &last[1]);
    h.datagram(RTCP, &bye(GST_SSRC));
    assert_eq!(
        h.deadline,
        Some(bye_at + grace),
        "a second BYE does not extend it"
    );
    h.advance(Duration::from_millis(30));
    h.datagram(RTP, &last[2]);
    let ev = media_events(&mut h);
    assert_eq!(ev.len(), 2, "both frames, no end yet");
    assert_frame(ev[0].as_ref().unwrap(), &s1);
    assert_frame(ev[1].as_ref().unwrap(), &s2);
    // Not a moment early.
    h.advance(bye_at + grace - h.now - Duration::from_nanos(1));
    assert!(media_events(&mut h).is_empty());
    h.advance(Duration::from_nanos(1));
    assert_eq!(media_events(&mut h), vec![None]);
    assert!(h.deadline.is_some_and(|d| d > bye_at + grace));
    h.datagram(RTCP, &bye(GST_SSRC));
    h.advance(grace * 3);
    assert_eq!(eos_count(&h.events()), 0, "exactly once");
    assert_eq!(h.c.stats().frames, 2);
    assert_eq!(h.c.state(), ClientState::Playing, "the session stays");
}

/// When the grace is over, packets still waiting in the reordering buffer are released (the
/// frames they complete come out) before the end.
#[test]
fn end_of_stream_grace_releases_frames_held_for_reordering_first() {
    let mut cfg = ClientConfig::new("rtsp://127.0.0.1:8554/test");
    cfg.reorder_delay = Duration::from_secs(10);
    cfg.end_of_stream_grace = Duration::from_millis(100);
    let mut h = gst_playing_with(cfg, "");
    let (s1, s2) = (scan(1, 3000), scan(2, 3000));
    let a = jpeg_packets(25069, 1000, GST_SSRC, &s1);
    let b = jpeg_packets(25072, 4000, GST_SSRC, &s2);
    // a[1] is lost: a[2] and all of b wait behind the gap.
    h.datagram(RTP, &a[0]);
    for p in std::iter::once(&a[2]).chain(&b) {
        h.datagram(RTP, p);
    }
    h.datagram(RTCP, &bye(GST_SSRC));
    h.advance(Duration::from_millis(99));
    assert!(media_events(&mut h).is_empty());
    h.advance(Duration::from_millis(1));
    let ev = media_events(&mut h);
    assert_eq!(ev.len(), 2, "{ev:?}");
    assert_frame(ev[0].as_ref().unwrap(), &s2);
    assert!(ev[1].is_none(), "the end after the frame");
    assert_eq!(h.c.stats().frames_dropped, 1);
}

/// With no grace the end is reported at once, still after the frames the reordering buffer
/// can complete.
#[test]
fn zero_grace_reports_the_end_at_once_after_held_frames() {
    let mut cfg = ClientConfig::new("rtsp://127.0.0.1:8554/test");
    cfg.reorder_delay = Duration::from_secs(10);
    cfg.end_of_stream_grace = Duration::ZERO;
    let mut h = gst_playing_with(cfg, "");
    let s2 = scan(2, 3000);
    let a = jpeg_packets(25069, 1000, GST_SSRC, &scan(1, 3000));
    h.datagram(RTP, &a[0]);
    for p in &jpeg_packets(25072, 4000, GST_SSRC, &s2) {
        h.datagram(RTP, p);
    }
    h.datagram(RTCP, &bye(GST_SSRC));
    let ev = media_events(&mut h);
    assert_eq!(ev.len(), 2, "{ev:?}");
    assert_frame(ev[0].as_ref().unwrap(), &s2);
    assert!(ev[1].is_none());
}

#[test]
fn teardown_or_close_during_the_grace_cancels_the_end_of_stream() {
    let grace = DEFAULT_END_OF_STREAM_GRACE;
    // TEARDOWN sent during the grace, answered after it.
    let mut h = gst_playing("");
    h.datagram(RTCP, &bye(GST_SSRC));
    h.advance(grace / 2);
    h.c.teardown().unwrap();
    h.drain();
    // The request's timeout is armed at the next input.
    h.advance(Duration::ZERO);
    assert!(
        h.deadline.is_none_or(|d| d > h.now + grace),
        "no grace deadline left: {:?}",
        h.deadline
    );
    h.sent();
    h.advance(grace);
    h.reply("RTSP/1.0 200 OK\nCSeq: 5\nSession: _tM3Rk5yk5mNuuDx\n\n");
    h.advance(grace * 2);
    let ev = h.outcomes();
    assert_eq!(eos_count(&ev), 0, "{ev:?}");
    assert!(matches!(&ev[..], [ClientEvent::TornDown]), "{ev:?}");

    // TEARDOWN answered within the grace.
    let mut h = gst_playing("");
    h.datagram(RTCP, &bye(GST_SSRC));
    h.c.teardown().unwrap();
    h.reply("RTSP/1.0 200 OK\nCSeq: 5\nSession: _tM3Rk5yk5mNuuDx\n\n");
    h.advance(grace * 2);
    assert_eq!(eos_count(&h.events()), 0);

    // Closing during the grace.
    let mut h = gst_playing("");
    h.datagram(RTCP, &bye(GST_SSRC));
    h.advance(grace / 2);
    h.c.close();
    h.drain();
    assert_eq!(h.deadline, None);
    h.advance(grace * 2);
    let ev = h.events();
    assert!(matches!(&ev[..], [ClientEvent::Closed]), "{ev:?}");

    // The connection lost during the grace.
    let mut h = gst_playing("");
    h.datagram(RTCP, &bye(GST_SSRC));
    h.lose_connection();
    h.advance(grace * 2);
    assert_eq!(eos_count(&h.events()), 0);
}

/// A PLAY reply during the grace (a seek or restart sent before the BYE was handled): the old
/// stream's end is reported first, not in the middle of the new one.
#[test]
fn play_reply_during_the_grace_reports_the_end_first() {
    let mut h = gst_playing("");
    h.datagram(RTCP, &bye(GST_SSRC));
    h.c.play(None).unwrap();
    h.sent();
    h.reply("RTSP/1.0 200 OK\nCSeq: 5\nSession: _tM3Rk5yk5mNuuDx\n\n");
    let ev = h.outcomes();
    assert!(
        matches!(
            &ev[..],
            [ClientEvent::EndOfStream { .. }, ClientEvent::Playing { .. }]
        ),
        "{ev:?}"
    );
    h.advance(DEFAULT_END_OF_STREAM_GRACE * 2);
    assert_eq!(eos_count(&h.events()), 0);
}

/// Over TCP one ordered stream carries RTP and RTCP: no grace, and the frames received before
/// the BYE come before the end.
#[test]
fn rtcp_bye_on_the_interleaved_channel_is_end_of_stream() {
    let mut h = Harness::connected("rtsp://127.0.0.1:8554/test");
    h.c.setup(TransportChoice::Tcp).unwrap();
    h.sent();
    h.reply("RTSP/1.0 200 OK\nCSeq: 1\nTransport: RTP/AVP/TCP;unicast;interleaved=0-1;ssrc=4E2C7C52\nSession: abc\n\n");
    h.c.play(None).unwrap();
    h.reply("RTSP/1.0 200 OK\nCSeq: 2\nSession: abc\n\n");
    h.events();
    let s1 = scan(1, 3000);
    let mut framed = Vec::new();
    for p in jpeg_packets(7, 1000, GST_SSRC, &s1) {
        write_interleaved(0, &p, &mut framed);
    }
    write_interleaved(1, &bye(GST_SSRC), &mut framed);
    h.recv(&framed);
    let ev = media_events(&mut h);
    assert_eq!(ev.len(), 2, "{ev:?}");
    assert_frame(ev[0].as_ref().unwrap(), &s1);
    assert!(ev[1].is_none());
    h.recv(&framed);
    h.advance(Duration::from_secs(1));
    assert_eq!(eos_count(&h.events()), 0, "once");
}
