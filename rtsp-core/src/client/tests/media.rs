//! RTP over UDP against gst-rtsp-server: frames, receiver reports, loss, reordering, the
//! first packet `RTP-Info` announces, foreign SSRCs.

use super::*;
use crate::client::response::track_seq;

#[test]
fn gst_udp_full_session() {
    let mut h = gst_playing("");
    // Three frames of three packets each.
    let mut seq = 25069u16;
    for f in 0..3u8 {
        let s = scan(f, 3000);
        for pkt in jpeg_packets(seq, 2040804391 + 3000 * u32::from(f), GST_SSRC, &s) {
            h.datagram(RTP, &pkt);
            seq = seq.wrapping_add(1);
        }
        h.advance(Duration::from_millis(33));
    }
    let frames = h.frames();
    assert_eq!(frames.len(), 3);
    for (f, (ts, data)) in frames.iter().enumerate() {
        assert_eq!(*ts, 2040804391 + 3000 * f as u32);
        assert_frame(data, &scan(f as u8, 3000));
    }
    let st = h.c.stats();
    assert_eq!(
        (st.packets, st.frames, st.frames_dropped, st.lost),
        (9, 3, 0, 0)
    );
    assert_eq!(st.ssrc, Some(GST_SSRC));

    assert_eq!(h.c.pause(), Ok(5));
    assert!(h
        .one_sent()
        .starts_with("PAUSE rtsp://127.0.0.1:8554/test/ RTSP/1.0\r\nCSeq: 5\r\n"));
    h.reply(
        "RTSP/1.0 200 OK\nCSeq: 5\nServer: GStreamer RTSP server\nSession: _tM3Rk5yk5mNuuDx\n\n",
    );
    assert!(matches!(&h.outcomes()[..], [ClientEvent::Paused]));
    assert_eq!(h.c.state(), ClientState::Ready);

    h.udp.clear();
    assert_eq!(h.c.teardown(), Ok(6));
    let t = h.one_sent();
    assert!(t.starts_with("TEARDOWN rtsp://127.0.0.1:8554/test/ RTSP/1.0\r\nCSeq: 6\r\n"));
    assert!(t.contains("\r\nSession: _tM3Rk5yk5mNuuDx\r\n"));
    // RR + SDES + BYE to the server's RTCP port at the RTSP peer's address.
    let (local, remote, data) = h.udp.pop().expect("RTCP BYE");
    assert_eq!(
        (local, remote),
        (addr("0.0.0.0:45579"), addr("127.0.0.1:60683"))
    );
    let pkts = RtcpPacket::parse_compound(&data).unwrap();
    assert!(matches!(pkts.last(), Some(RtcpPacket::Bye(_))), "{pkts:?}");
    h.reply("RTSP/1.0 200 OK\nCSeq: 6\nServer: GStreamer RTSP server\nSession: _tM3Rk5yk5mNuuDx\nConnection: close\n\n");
    assert!(matches!(&h.outcomes()[..], [ClientEvent::TornDown]));
    assert_eq!(h.c.state(), ClientState::Init);
    assert_eq!(h.c.session_id(), None);
    assert_eq!(h.c.stats().frames, 3, "stats survive TEARDOWN");
    assert_eq!(h.deadline, None, "no timers after teardown");
    h.c.close();
    h.drain();
    assert!(h.closed);
    assert!(matches!(&h.events()[..], [ClientEvent::Closed]));
    assert_eq!(h.c.state(), ClientState::Closed);
    assert_eq!(h.c.play(None), Err(ApiError::Closed));
}

#[test]
fn rtcp_receiver_reports_over_udp_with_lsr() {
    let mut h = gst_playing("");
    for pkt in jpeg_packets(25069, 1000, GST_SSRC, &scan(1, 2000)) {
        h.datagram(RTP, &pkt);
    }
    // An SR from the source on the RTCP socket.
    let sr = SenderReport {
        ssrc: GST_SSRC,
        ntp_time: NtpTime::from_parts(4_004_604_494, 0x0f6c_7a7c),
        rtp_timestamp: 1000,
        packet_count: 2,
        octet_count: 2000,
        reports: vec![],
    };
    let mut buf = Vec::new();
    RtcpPacket::SenderReport(sr).write(&mut buf);
    h.datagram(RTCP, &buf);
    assert_eq!(h.c.stats().sender_reports, 1);
    h.udp.clear();
    // The first report comes within 1.5 × 5 s.
    h.advance(Duration::from_millis(7_500));
    let (local, remote, data) = h.udp.first().cloned().expect("an RR");
    assert_eq!(
        (local, remote),
        (addr("0.0.0.0:45579"), addr("127.0.0.1:60683"))
    );
    let pkts = RtcpPacket::parse_compound(&data).unwrap();
    let RtcpPacket::ReceiverReport(rr) = &pkts[0] else {
        panic!("{pkts:?}")
    };
    assert_eq!(rr.reports.len(), 1);
    let block = rr.reports[0];
    assert_eq!(block.ssrc, GST_SSRC);
    assert_eq!(
        block.last_sr,
        NtpTime::from_parts(4_004_604_494, 0x0f6c_7a7c).middle32()
    );
    assert!(block.delay_since_last_sr > 0);
    assert!(matches!(&pkts[1], RtcpPacket::Sdes(_)), "{pkts:?}");
    // And again, every ~5 s.
    h.udp.clear();
    h.advance(Duration::from_secs(15));
    assert!((2..=6).contains(&h.udp.len()), "{}", h.udp.len());
}

#[test]
fn loss_drops_partial_frame_and_counts() {
    let mut h = gst_playing("");
    let mut seq = 100u16;
    for f in 0..3u8 {
        let pkts = jpeg_packets(seq, 9000 * u32::from(f), GST_SSRC, &scan(f, 3000));
        assert_eq!(pkts.len(), 3);
        for (i, pkt) in pkts.iter().enumerate() {
            if !(f == 1 && i == 1) {
                h.datagram(RTP, pkt);
            }
        }
        seq += 3;
    }
    // The gap waits in the reordering buffer for at most reorder_delay.
    h.advance(Duration::from_millis(60));
    let frames = h.frames();
    assert_eq!(frames.len(), 2);
    assert_frame(&frames[0].1, &scan(0, 3000));
    assert_frame(&frames[1].1, &scan(2, 3000));
    let st = h.c.stats();
    assert_eq!(
        (st.packets, st.lost, st.frames, st.frames_dropped),
        (8, 1, 2, 1)
    );
    // The late packet arrives after all: ignored, no corrupt frame.
    let late = jpeg_packets(103, 9000, GST_SSRC, &scan(1, 3000));
    h.datagram(RTP, &late[1]);
    assert!(h.frames().is_empty());
}

#[test]
fn mild_reordering_and_duplicates_are_repaired() {
    let mut h = gst_playing("");
    let a = jpeg_packets(500, 0, GST_SSRC, &scan(7, 4000));
    assert_eq!(a.len(), 3);
    let b = jpeg_packets(503, 3000, GST_SSRC, &scan(8, 2000));
    for pkt in [&a[0], &a[2], &a[1], &a[1], &b[1], &b[0], &b[0]] {
        h.datagram(RTP, pkt);
    }
    let frames = h.frames();
    assert_eq!(frames.len(), 2, "both frames complete without waiting");
    assert_frame(&frames[0].1, &scan(7, 4000));
    assert_frame(&frames[1].1, &scan(8, 2000));
    let st = h.c.stats();
    assert_eq!((st.frames_dropped, st.duplicates, st.reordered), (0, 2, 2));
    assert_eq!(h.deadline.map(|d| d > h.now), Some(true), "nothing held");
}

/// PLAY's `RTP-Info: seq=25069` names the first packet: when 25070 overtakes it, 25070 waits
/// for it instead of becoming the start (which would drop 25069 as late and lose the frame).
#[test]
fn rtp_info_seq_puts_an_overtaken_first_packet_back() {
    let mut h = gst_playing("");
    let a = jpeg_packets(25069, 0, GST_SSRC, &scan(1, 3000));
    let b = jpeg_packets(25072, 3000, GST_SSRC, &scan(2, 3000));
    for pkt in [&a[1], &a[0], &a[2], &b[0], &b[1], &b[2]] {
        h.datagram(RTP, pkt);
    }
    let frames = h.frames();
    assert_eq!(frames.len(), 2);
    assert_frame(&frames[0].1, &scan(1, 3000));
    let st = h.c.stats();
    assert_eq!(
        (st.lost, st.reordered, st.frames_dropped),
        (0, 1, 0),
        "{st:?}"
    );
    // The receiver report agrees.
    h.udp.clear();
    h.advance(Duration::from_secs(8));
    let (_, _, rr) = h.udp.first().expect("a receiver report");
    match &RtcpPacket::parse_compound(rr).unwrap()[0] {
        RtcpPacket::ReceiverReport(r) => {
            assert_eq!(
                (r.reports[0].cumulative_lost, r.reports[0].fraction_lost),
                (0, 0)
            )
        }
        other => panic!("{other:?}"),
    }
}

/// The announced first packet never comes: it is lost (and counted), its frame dropped.
#[test]
fn rtp_info_seq_counts_a_lost_first_packet() {
    let mut h = gst_playing("");
    let a = jpeg_packets(25069, 0, GST_SSRC, &scan(1, 3000));
    let b = jpeg_packets(25072, 3000, GST_SSRC, &scan(2, 3000));
    for pkt in [&a[1], &a[2], &b[0], &b[1], &b[2]] {
        h.datagram(RTP, pkt);
    }
    h.advance(Duration::from_millis(60));
    let frames = h.frames();
    assert_eq!(frames.len(), 1);
    assert_frame(&frames[0].1, &scan(2, 3000));
    let st = h.c.stats();
    assert_eq!((st.lost, st.frames_dropped), (1, 1), "{st:?}");
}

/// A server whose `RTP-Info: seq=` is far from what it sends (either way): the first packet
/// that arrives is the start, nothing is held or dropped for the announcement.
#[test]
fn wrong_rtp_info_seq_falls_back_to_the_first_packet() {
    for first in [25069u16 + 101, 25069 - 1, 7] {
        let mut h = gst_playing("");
        let a = jpeg_packets(first, 0, GST_SSRC, &scan(1, 3000));
        for pkt in &a {
            h.datagram(RTP, pkt);
        }
        let frames = h.frames();
        assert_eq!(frames.len(), 1, "first={first}: not held");
        let st = h.c.stats();
        assert_eq!(
            (st.lost, st.frames_dropped),
            (0, 0),
            "first={first}: {st:?}"
        );
    }
    // Within the slack the announcement is believed: the packets before count as lost.
    let mut h = gst_playing("");
    for pkt in &jpeg_packets(25069 + 100, 0, GST_SSRC, &scan(1, 3000)) {
        h.datagram(RTP, pkt);
    }
    h.advance(Duration::from_millis(60));
    assert_eq!(h.frames().len(), 1);
    assert_eq!(h.c.stats().lost, 100);
}

#[test]
fn rtp_info_entry_is_picked_by_track_url() {
    let info = |url: &str, seq: u16| RtpInfo {
        url: url.to_string(),
        seq: Some(seq),
        rtptime: None,
    };
    let track = "rtsp://h/test/stream=1";
    let list = [
        info("rtsp://h/test/stream=0", 1),
        info("rtsp://h/test/stream=1", 2),
    ];
    assert_eq!(track_seq(&list, track), Some(2));
    let list = [info("stream=0", 1), info("stream=1", 2)];
    assert_eq!(track_seq(&list, track), Some(2), "relative URLs");
    assert_eq!(track_seq(&list[..1], track), Some(1), "the only entry");
    let list = [info("rtsp://h/a", 1), info("rtsp://h/b", 2)];
    assert_eq!(track_seq(&list, track), None);
    assert_eq!(track_seq(&[], track), None);
}

#[test]
fn packets_from_other_ssrc_are_ignored() {
    let mut h = gst_playing("");
    for pkt in jpeg_packets(1, 0, 0xdead_beef, &scan(1, 1000)) {
        h.datagram(RTP, &pkt);
    }
    // Junk and RTP on an unknown local port.
    h.datagram(RTP, b"\x80\x00");
    for pkt in jpeg_packets(1, 0, GST_SSRC, &scan(1, 1000)) {
        h.datagram("0.0.0.0:9999", &pkt);
    }
    assert!(h.frames().is_empty());
    let st = h.c.stats();
    assert_eq!((st.packets, st.ignored), (0, 2));
    for pkt in jpeg_packets(1, 0, GST_SSRC, &scan(1, 1000)) {
        h.datagram(RTP, &pkt);
    }
    assert_eq!(h.frames().len(), 1);
}
