//! The course-lab dialect end to end.

use super::*;

/// The lab client's SETUP of `name`: LF only, no final empty line, client port 25000.
fn lab_setup(name: &str) -> String {
    format!("SETUP {name} RTSP/1.0\nCSeq: 1\nTransport: RTP/UDP; client_port= 25000")
}

/// A lab request naming session `session`, without the final empty line.
fn lab_request(method: &str, cseq: u32, session: &str) -> String {
    format!("{method} movie.Mjpeg RTSP/1.0\nCSeq: {cseq}\nSession: {session}")
}

/// Sends `text` on [`C1`] and lets the flush delay pass: all outputs.
fn lab_exchange(h: &mut H, text: &str) -> Vec<Out> {
    h.send(C1, text.as_bytes());
    h.advance(Duration::from_millis(300));
    h.take()
}

/// The lines of what [`C1`] got, as the lab client's `parseRtspReply` splits them.
fn reply_lines(outs: &[Out]) -> Vec<String> {
    let text = String::from_utf8(stream_bytes(outs, C1)).unwrap();
    text.split('\n').map(str::to_string).collect()
}

/// The session of a lab reply: the second word of line 3.
fn lab_session(lines: &[String]) -> String {
    assert!(lines[2].starts_with("Session: "), "{lines:?}");
    lines[2].split(' ').nth(1).unwrap().trim().to_string()
}

/// The original Python lab client's requests: LF only, no final empty line, no DESCRIBE.
#[test]
fn course_lab_dialect() {
    let mut h = H::connected();
    h.send(C1, lab_setup("movie.Mjpeg").as_bytes());
    // Nothing until the flush timer fires.
    assert!(responses(&h.take(), C1).is_empty());
    assert_eq!(h.deadline, Some(h.now + Duration::from_millis(300)));
    h.advance(Duration::from_millis(299));
    assert!(responses(&h.take(), C1).is_empty());
    h.advance(Duration::from_millis(1));
    let lines = reply_lines(&h.take());
    // What the lab client's parseRtspReply reads: status on line 1, CSeq on 2, Session on 3.
    assert_eq!(lines[0].split(' ').nth(1), Some("200"));
    assert_eq!(lines[1].trim_end(), "CSeq: 1");
    let session = lab_session(&lines);
    // The lab client (Python) reads it with int(): any decimal number.
    let _: u128 = session.parse().unwrap();

    let mut outs = lab_exchange(&mut h, &lab_request("PLAY", 2, &session));
    let lines = reply_lines(&outs);
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

    let outs = lab_exchange(&mut h, &lab_request("PAUSE", 3, &session));
    assert!(reply_lines(&outs)[0].starts_with("RTSP/1.0 200 OK"));
    h.advance(Duration::from_secs(1));
    assert_eq!(any_udp(&h.take()), 0);
    // PLAY again: numbers keep growing.
    let outs = lab_exchange(&mut h, &lab_request("PLAY", 4, &session));
    let p = rtp(&udp(&outs, rtp_local(), to)[0]);
    assert!(p.seq > 6);

    let lines = reply_lines(&lab_exchange(&mut h, &lab_request("TEARDOWN", 5, &session)));
    assert_eq!(lines[1].trim_end(), "CSeq: 5");
    assert_eq!(lines[2].trim_end(), format!("Session: {session}"));
    assert_eq!(h.server.session_count(), 0);
}

#[test]
fn course_lab_errors_keep_the_positional_layout() {
    let mut h = H::connected();
    let lines = reply_lines(&lab_exchange(&mut h, &lab_setup("nothere.Mjpeg")));
    assert_eq!(lines[0].split(' ').nth(1), Some("404"));
    assert_eq!(lines[1].trim_end(), "CSeq: 1");
    assert_eq!(lines[2].trim_end(), "Session: 0");
}

#[test]
fn course_lab_sessions_live_as_long_as_their_connection() {
    let mut h = H::connected();
    let session = lab_session(&reply_lines(&lab_exchange(
        &mut h,
        &lab_setup("movie.Mjpeg"),
    )));
    h.send(C1, lab_request("PLAY", 2, &session).as_bytes());
    // The lab client sends nothing while it plays: no reaping while it is connected.
    h.advance(Duration::from_secs(300));
    assert_eq!(h.server.session_count(), 1);
    h.take();
    h.close(C1);
    assert_eq!(h.server.session_count(), 0);
    h.advance(Duration::from_secs(1));
    assert_eq!(any_udp(&h.take()), 0);
}

#[test]
fn bare_name_with_rtp_avp_gets_rfc2435() {
    let mut h = H::connected();
    let r = h.setup(
        C1,
        "movie.Mjpeg",
        1,
        "RTP/AVP;unicast;client_port=5000-5001",
    );
    assert_eq!(r.status, StatusCode::OK);
    let sid = session_of(&r);
    h.request(C1, &with_session("PLAY", "movie.Mjpeg", 2, &sid));
    let outs = h.take();
    let pkts = udp(&outs, rtp_local(), client_rtp());
    assert_eq!(
        rtp(&pkts[0]).payload,
        test_media("x").fragments(0).unwrap()[0].to_vec()
    );
}

/// Three test frames, frame 1 padded (after its SOI) with COM segments of these lengths.
fn padded_frames(com_lengths: &[u16]) -> Vec<Bytes> {
    let mut frames = mjpeg::testpattern::frames(3, 64, 48);
    let f = frames[1].to_vec();
    let mut padded = f[..2].to_vec();
    for &len in com_lengths {
        padded.extend_from_slice(&[0xFF, 0xFE]);
        padded.extend_from_slice(&len.to_be_bytes());
        padded.resize(padded.len() + usize::from(len) - 2, b'x');
    }
    padded.extend_from_slice(&f[2..]);
    frames[1] = Bytes::from(padded);
    frames
}

/// `big.Mjpeg` made of `frames`, played for 250 ms to the lab client (terminated requests:
/// no flush delay) by a server with `config`: the harness, the session id, the outputs and
/// the frame numbers the client got.
fn play_big_to_lab(config: ServerConfig, frames: Vec<Bytes>) -> (H, String, Vec<Out>, Vec<u16>) {
    let mut catalog = MemoryCatalog::new();
    catalog.insert(Media::from_jpegs("big.Mjpeg", FPS, frames, MTU).unwrap());
    let mut h = H::new();
    h.server = Server::new(config, Box::new(catalog), h.now);
    h.connect(C1);
    h.send(C1, format!("{}\n\n", lab_setup("big.Mjpeg")).as_bytes());
    let r = responses(&h.take(), C1).remove(0);
    let sid = session_of(&r);
    h.send(
        C1,
        format!("PLAY big.Mjpeg RTSP/1.0\nCSeq: 2\nSession: {sid}\n\n").as_bytes(),
    );
    h.advance(Duration::from_millis(250));
    let outs = h.take();
    let seqs = udp(&outs, rtp_local(), addr("192.168.1.7:25000"))
        .iter()
        .map(|d| rtp(d).seq)
        .collect();
    (h, sid, outs, seqs)
}

#[test]
fn lab_frames_too_large_for_a_datagram_are_skipped() {
    // A COM segment padding frame 1 beyond 65 000 bytes.
    let frames = padded_frames(&[0xFFFF]);
    assert!(frames[1].len() > 65_535);
    let (h, sid, _, seqs) = play_big_to_lab(config(), frames);
    assert_eq!(seqs, vec![1, 3]);
    assert_eq!(h.server.session_stats(&sid).unwrap().frames_skipped, 1);
}

/// The lab client receives into 20480 bytes: larger frames are skipped (default), and sent
/// when the limit is raised.
#[test]
fn lab_frames_larger_than_the_lab_buffer_are_skipped() {
    // COM segments padding frame 1 to about 30 000 bytes.
    let frames = padded_frames(&[15_000, 15_000]);
    assert!((30_000..65_000).contains(&frames[1].len()));
    for (max, expect) in [(None, vec![1u16, 3]), (Some(65_507), vec![1, 2, 3])] {
        let mut cfg = config();
        if let Some(m) = max {
            cfg.lab_max_packet = m;
        }
        let (_, _, outs, seqs) = play_big_to_lab(cfg, frames.clone());
        assert_eq!(seqs, expect, "lab_max_packet {max:?}");
        let skipped = limit_events(&outs).contains(&Limit::LabFrameTooLarge);
        assert_eq!(skipped, max.is_none());
    }
}
