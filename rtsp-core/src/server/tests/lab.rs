//! The course-lab dialect end to end.

use super::*;

/// The original Python lab client's requests: LF only, no final empty line, no DESCRIBE.
#[test]
fn course_lab_dialect() {
    let mut h = H::new();
    h.connect(C1);
    h.send(
        C1,
        b"SETUP movie.Mjpeg RTSP/1.0\nCSeq: 1\nTransport: RTP/UDP; client_port= 25000",
    );
    // Nothing until the flush timer fires.
    assert!(responses(&h.take(), C1).is_empty());
    assert_eq!(h.deadline, Some(h.now + Duration::from_millis(300)));
    h.advance(Duration::from_millis(299));
    assert!(responses(&h.take(), C1).is_empty());
    h.advance(Duration::from_millis(1));
    let outs = h.take();
    let text = String::from_utf8(stream_bytes(&outs, C1)).unwrap();
    let lines: Vec<&str> = text.split('\n').collect();
    // What the lab client's parseRtspReply reads: status on line 1, CSeq on 2, Session on 3.
    assert_eq!(lines[0].split(' ').nth(1), Some("200"));
    assert_eq!(lines[1].trim_end(), "CSeq: 1");
    let session: u64 = lines[2].split(' ').nth(1).unwrap().trim().parse().unwrap();
    assert!(lines[2].starts_with("Session: "));

    h.send(
        C1,
        format!("PLAY movie.Mjpeg RTSP/1.0\nCSeq: 2\nSession: {session}").as_bytes(),
    );
    h.advance(Duration::from_millis(300));
    let mut outs = h.take();
    let text = String::from_utf8_lossy(&stream_bytes(&outs, C1)).to_string();
    let lines: Vec<&str> = text.split('\n').collect();
    assert_eq!(lines[0].split(' ').nth(1), Some("200"));
    assert_eq!(lines[1].trim_end(), "CSeq: 2");
    assert_eq!(lines[2].trim_end(), format!("Session: {session}"));
    // Whole JPEGs, PT 26, numbered from 1, to the TCP peer's address at the client port.
    h.advance(Duration::from_millis(500));
    outs.extend(h.take());
    let to = addr("192.168.1.7:25000");
    let pkts: Vec<Rtp> = udp(&outs, rtp_local(), to).iter().map(|d| rtp(d)).collect();
    assert_eq!(pkts.len(), 6); // 0.0 .. 0.5 s after the flush
    let media = test_media("movie.Mjpeg");
    for (i, p) in pkts.iter().enumerate() {
        assert_eq!((p.pt, p.marker, p.seq), (26, false, i as u16 + 1));
        assert_eq!(p.payload, media.jpeg(i).unwrap().to_vec());
    }
    // No RTCP for the lab client.
    h.advance(Duration::from_secs(2));
    let outs = h.take();
    assert!(udp(&outs, rtcp_local(), addr("192.168.1.7:25001")).is_empty());

    h.send(
        C1,
        format!("PAUSE movie.Mjpeg RTSP/1.0\nCSeq: 3\nSession: {session}").as_bytes(),
    );
    h.advance(Duration::from_millis(300));
    let outs = h.take();
    assert!(String::from_utf8(stream_bytes(&outs, C1))
        .unwrap()
        .starts_with("RTSP/1.0 200 OK"));
    h.advance(Duration::from_secs(1));
    assert_eq!(any_udp(&h.take()), 0);
    // PLAY again: numbers keep growing.
    h.send(
        C1,
        format!("PLAY movie.Mjpeg RTSP/1.0\nCSeq: 4\nSession: {session}").as_bytes(),
    );
    h.advance(Duration::from_millis(300));
    let outs = h.take();
    let p = rtp(&udp(&outs, rtp_local(), to)[0]);
    assert!(p.seq > 6);

    h.send(
        C1,
        format!("TEARDOWN movie.Mjpeg RTSP/1.0\nCSeq: 5\nSession: {session}").as_bytes(),
    );
    h.advance(Duration::from_millis(300));
    let outs = h.take();
    let text = String::from_utf8(stream_bytes(&outs, C1)).unwrap();
    let lines: Vec<&str> = text.split('\n').collect();
    assert_eq!(lines[1].trim_end(), "CSeq: 5");
    assert_eq!(lines[2].trim_end(), format!("Session: {session}"));
    assert_eq!(h.server.session_count(), 0);
}

#[test]
fn course_lab_errors_keep_the_positional_layout() {
    let mut h = H::new();
    h.connect(C1);
    h.send(
        C1,
        b"SETUP nothere.Mjpeg RTSP/1.0\nCSeq: 1\nTransport: RTP/UDP; client_port= 25000",
    );
    h.advance(Duration::from_millis(300));
    let text = String::from_utf8(stream_bytes(&h.take(), C1)).unwrap();
    let lines: Vec<&str> = text.split('\n').collect();
    assert_eq!(lines[0].split(' ').nth(1), Some("404"));
    assert_eq!(lines[1].trim_end(), "CSeq: 1");
    assert_eq!(lines[2].trim_end(), "Session: 0");
}

#[test]
fn course_lab_sessions_live_as_long_as_their_connection() {
    let mut h = H::new();
    h.connect(C1);
    h.send(
        C1,
        b"SETUP movie.Mjpeg RTSP/1.0\nCSeq: 1\nTransport: RTP/UDP; client_port= 25000",
    );
    h.advance(Duration::from_millis(300));
    let text = String::from_utf8(stream_bytes(&h.take(), C1)).unwrap();
    let session = text
        .lines()
        .nth(2)
        .unwrap()
        .split(' ')
        .nth(1)
        .unwrap()
        .to_string();
    h.send(
        C1,
        format!("PLAY movie.Mjpeg RTSP/1.0\nCSeq: 2\nSession: {session}").as_bytes(),
    );
    // The lab client sends nothing while it plays: no reaping while it is connected.
    h.advance(Duration::from_secs(300));
    assert_eq!(h.server.session_count(), 1);
    h.take();
    let now = h.now;
    h.input(Input::StreamClosed { now, conn: C1 });
    assert_eq!(h.server.session_count(), 0);
    h.advance(Duration::from_secs(1));
    assert_eq!(any_udp(&h.take()), 0);
}

#[test]
fn bare_name_with_rtp_avp_gets_rfc2435() {
    let mut h = H::new();
    h.connect(C1);
    let r = h.request(
        C1,
        &req(
            "SETUP",
            "movie.Mjpeg",
            1,
            &["Transport: RTP/AVP;unicast;client_port=5000-5001"],
        ),
    );
    assert_eq!(r.status, StatusCode::OK);
    let sid = session_of(&r);
    h.request(
        C1,
        &req("PLAY", "movie.Mjpeg", 2, &[&format!("Session: {sid}")]),
    );
    let outs = h.take();
    let pkts = udp(&outs, rtp_local(), client_rtp());
    assert_eq!(
        rtp(&pkts[0]).payload,
        test_media("x").fragments(0).unwrap()[0].to_vec()
    );
}

#[test]
fn lab_frames_too_large_for_a_datagram_are_skipped() {
    let mut h = H::new();
    h.connect(C1);
    let mut frames = Vec::new();
    for (i, jpeg) in mjpeg::testpattern::frames(3, 64, 48)
        .into_iter()
        .enumerate()
    {
        let mut f = jpeg.to_vec();
        if i == 1 {
            // A COM segment padding frame 1 beyond 65 000 bytes.
            let mut com = vec![0xFF, 0xFE, 0xFF, 0xFF];
            com.resize(4 + 65533, b'x');
            let mut padded = f[..2].to_vec();
            padded.extend_from_slice(&com);
            padded.extend_from_slice(&f[2..]);
            f = padded;
        }
        frames.push(Bytes::from(f));
    }
    let big = Media::from_jpegs("big.Mjpeg", FPS, frames, MTU).unwrap();
    let mut catalog = MemoryCatalog::new();
    catalog.insert(big);
    let mut server = Server::new(config(), Box::new(catalog), h.now);
    std::mem::swap(&mut h.server, &mut server);
    h.connect(C1);
    h.send(
        C1,
        b"SETUP big.Mjpeg RTSP/1.0\nCSeq: 1\nTransport: RTP/UDP; client_port= 25000\n\n",
    );
    let r = responses(&h.take(), C1).remove(0);
    let sid = session_of(&r);
    h.send(
        C1,
        format!("PLAY big.Mjpeg RTSP/1.0\nCSeq: 2\nSession: {sid}\n\n").as_bytes(),
    );
    h.advance(Duration::from_millis(250));
    let outs = h.take();
    let pkts: Vec<Rtp> = udp(&outs, rtp_local(), addr("192.168.1.7:25000"))
        .iter()
        .map(|d| rtp(d))
        .collect();
    assert_eq!(pkts.iter().map(|p| p.seq).collect::<Vec<_>>(), vec![1, 3]);
    assert_eq!(h.server.session_stats(&sid).unwrap().frames_skipped, 1);
}

/// The lab client receives into 20480 bytes: larger frames are skipped (default), and sent
/// when the limit is raised.
#[test]
fn lab_frames_larger_than_the_lab_buffer_are_skipped() {
    let mut frames = Vec::new();
    for (i, jpeg) in mjpeg::testpattern::frames(3, 64, 48)
        .into_iter()
        .enumerate()
    {
        let mut f = jpeg.to_vec();
        if i == 1 {
            // COM segments padding frame 1 to about 30 000 bytes.
            let mut padded = f[..2].to_vec();
            for _ in 0..2 {
                let mut com = vec![0xFF, 0xFE, 0x3A, 0x98]; // length 15000
                com.resize(2 + 15000, b'x');
                padded.extend_from_slice(&com);
            }
            padded.extend_from_slice(&f[2..]);
            f = padded;
        }
        frames.push(Bytes::from(f));
    }
    for (max, expect) in [(None, vec![1u16, 3]), (Some(65_507), vec![1, 2, 3])] {
        let mut catalog = MemoryCatalog::new();
        catalog.insert(Media::from_jpegs("big.Mjpeg", FPS, frames.clone(), MTU).unwrap());
        let mut cfg = config();
        if let Some(m) = max {
            cfg.lab_max_packet = m;
        }
        let mut h = H::new();
        h.server = Server::new(cfg, Box::new(catalog), h.now);
        h.connect(C1);
        h.send(
            C1,
            b"SETUP big.Mjpeg RTSP/1.0\nCSeq: 1\nTransport: RTP/UDP; client_port= 25000\n\n",
        );
        let r = responses(&h.take(), C1).remove(0);
        let sid = session_of(&r);
        h.send(
            C1,
            format!("PLAY big.Mjpeg RTSP/1.0\nCSeq: 2\nSession: {sid}\n\n").as_bytes(),
        );
        h.advance(Duration::from_millis(250));
        let outs = h.take();
        let seqs: Vec<u16> = udp(&outs, rtp_local(), addr("192.168.1.7:25000"))
            .iter()
            .map(|d| rtp(d).seq)
            .collect();
        assert_eq!(seqs, expect, "lab_max_packet {max:?}");
        let skipped = limit_events(&outs).contains(&Limit::LabFrameTooLarge);
        assert_eq!(skipped, max.is_none());
    }
}
