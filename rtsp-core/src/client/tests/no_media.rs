//! The no-media watch: a server that keeps the session but sends nothing a frame can be made
//! of is reported once per PLAY, with what arrived instead.

use super::*;
use crate::client::NoMediaReason;
use rtp_core::jpeg::DepacketizeError;

const WAIT: Duration = Duration::from_secs(2);

/// gst-rtsp-server's session over UDP, playing, with the watch set to [`WAIT`].
fn playing() -> Harness {
    let mut cfg = ClientConfig::new("rtsp://127.0.0.1:8554/test");
    cfg.no_media_timeout = Some(WAIT);
    gst_playing_with(cfg, "")
}

/// The `NoMedia` events among the outcomes.
fn no_media(h: &mut Harness) -> Vec<(Duration, u64, NoMediaReason)> {
    h.outcomes()
        .into_iter()
        .filter_map(|e| match e {
            ClientEvent::NoMedia {
                waited,
                frames,
                reason,
            } => Some((waited, frames, reason)),
            _ => None,
        })
        .collect()
}

/// An RTP packet of the gst SSRC with `payload` (RFC 2435 headers written by the test).
fn rtp(seq: u16, marker: bool, payload: &[u8]) -> Vec<u8> {
    let mut h = RtpHeader::new(26, seq, 9000, GST_SSRC);
    h.marker = marker;
    let mut v = Vec::new();
    h.write(&mut v);
    v.extend_from_slice(payload);
    v
}

/// An RFC 2435 main header: offset, type 1, `q`, `w8` x `h8` blocks of 8 pixels.
fn main_header(offset: u32, q: u8, w8: u8, h8: u8) -> Vec<u8> {
    let o = offset.to_be_bytes();
    vec![0, o[1], o[2], o[3], 1, q, w8, h8]
}

#[test]
fn nothing_at_all_is_reported_once_after_the_timeout() {
    let mut h = playing();
    h.advance(WAIT - Duration::from_millis(1));
    assert!(no_media(&mut h).is_empty());
    h.advance(Duration::from_millis(1));
    let got = no_media(&mut h);
    assert_eq!(got.len(), 1, "{got:?}");
    let (waited, frames, reason) = &got[0];
    assert_eq!((*waited, *frames), (WAIT, 0));
    assert_eq!(*reason, NoMediaReason::NoPackets);
    assert_eq!(reason.to_string(), "no RTP packet arrived");
    // Once per PLAY: nothing more however long it stays silent; the session is untouched.
    h.advance(WAIT * 5);
    assert!(no_media(&mut h).is_empty());
    assert_eq!(h.c.state(), ClientState::Playing);
}

#[test]
fn each_frame_restarts_the_wait_and_the_report_counts_the_frames_before() {
    let mut h = playing();
    let mut seq = 25069u16;
    for f in 0..2u8 {
        h.advance(WAIT - Duration::from_millis(100));
        for pkt in jpeg_packets(seq, 9000 * u32::from(f), GST_SSRC, &scan(f, 3000)) {
            h.datagram(RTP, &pkt);
            seq = seq.wrapping_add(1);
        }
    }
    assert_eq!(h.frames().len(), 2);
    assert!(no_media(&mut h).is_empty(), "frames kept coming in time");
    h.advance(WAIT);
    match &no_media(&mut h)[..] {
        [(waited, 2, NoMediaReason::NoPackets)] => assert_eq!(*waited, WAIT),
        other => panic!("{other:?}"),
    }
}

#[test]
fn garbage_and_foreign_packets_are_not_our_rtp() {
    let mut h = playing();
    h.datagram(RTP, b"hello, this is not RTP at all");
    h.advance(WAIT);
    match &no_media(&mut h)[..] {
        [(
            _,
            0,
            reason @ NoMediaReason::NotOurRtp {
                ignored: 1,
                error: Some(_),
            },
        )] => {
            let text = reason.to_string();
            assert!(
                text.starts_with("1 packet(s) arrived, none of them RTP"),
                "{text}"
            );
        }
        other => panic!("{other:?}"),
    }
    // Another SSRC than the one SETUP announced (fewer packets than it takes to re-lock).
    let mut h = playing();
    for (i, pkt) in jpeg_packets(25069, 0, 0x1234_5678, &scan(1, 3000))
        .iter()
        .enumerate()
    {
        h.datagram(RTP, pkt);
        assert!(i < 5);
    }
    h.advance(WAIT);
    match &no_media(&mut h)[..] {
        [(_, 0, reason @ NoMediaReason::NotOurRtp { error: None, .. })] => {
            assert!(reason
                .to_string()
                .ends_with("(they came from another SSRC)"));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn undecodable_rtp_names_the_depacketizers_complaint() {
    let scan_data = scan(3, 500);
    let cases: Vec<(&str, Vec<Vec<u8>>, DepacketizeError)> = vec![
        (
            "zero sizes",
            vec![rtp(
                25069,
                true,
                &[main_header(0, 50, 0, 0), scan_data.clone()].concat(),
            )],
            DepacketizeError::ZeroDimension,
        ),
        (
            "missing tables",
            // Q 255 with an empty table header: the tables never came.
            vec![rtp(
                25069,
                true,
                &[
                    main_header(0, 255, 8, 6),
                    vec![0, 0, 0, 0],
                    scan_data.clone(),
                ]
                .concat(),
            )],
            DepacketizeError::MissingQTables { q: 255 },
        ),
        (
            "offsets past the frame",
            vec![
                rtp(
                    25069,
                    false,
                    &[main_header(0, 50, 8, 6), scan_data.clone()].concat(),
                ),
                rtp(
                    25070,
                    true,
                    &[main_header(90_000, 50, 8, 6), scan_data.clone()].concat(),
                ),
            ],
            DepacketizeError::FragmentGap {
                seq: 25070,
                offset: 90_000,
                expected: 500,
            },
        ),
        (
            "garbage payload",
            vec![rtp(25069, true, b"junk")],
            DepacketizeError::TooShort {
                seq: 25069,
                len: 4,
                needed: 8,
            },
        ),
    ];
    for (what, packets, want) in cases {
        let mut h = playing();
        for p in &packets {
            h.datagram(RTP, p);
        }
        // Past the reordering wait, so every packet reached the depacketizer.
        h.advance(WAIT);
        assert!(h.frames().is_empty(), "{what}");
        match &no_media(&mut h)[..] {
            [(
                _,
                0,
                reason @ NoMediaReason::Undecodable {
                    packets: n,
                    error: Some(e),
                    ..
                },
            )] => {
                assert_eq!((*n, e), (packets.len() as u64, &want), "{what}");
                let text = reason.to_string();
                assert!(text.contains("made no complete frame"), "{what}: {text}");
                assert!(text.contains(&want.to_string()), "{what}: {text}");
            }
            other => panic!("{what}: {other:?}"),
        }
    }
    // Packets that never end a frame: no complaint, and the text says so.
    let mut h = playing();
    h.datagram(
        RTP,
        &rtp(
            25069,
            false,
            &[main_header(0, 50, 8, 6), scan_data].concat(),
        ),
    );
    h.advance(WAIT);
    match &no_media(&mut h)[..] {
        [(_, 0, reason @ NoMediaReason::Undecodable { error: None, .. })] => {
            assert!(
                reason.to_string().ends_with("(no packet ended a frame)"),
                "{reason}"
            );
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn paused_or_ended_streams_are_not_watched_and_play_starts_a_new_wait() {
    let mut h = playing();
    h.c.pause().unwrap();
    h.sent();
    h.reply("RTSP/1.0 200 OK\nCSeq: 5\nSession: _tM3Rk5yk5mNuuDx\n\n");
    h.advance(WAIT * 3);
    assert!(no_media(&mut h).is_empty(), "paused");
    h.c.play(None).unwrap();
    h.sent();
    h.reply(&gst_play_reply(6));
    h.advance(WAIT);
    assert_eq!(no_media(&mut h).len(), 1, "a new wait after PLAY");

    // The source's BYE ends the stream: no report after the end.
    let mut h = playing();
    h.datagram(RTCP, &bye(GST_SSRC));
    h.advance(WAIT * 3);
    let events = h.outcomes();
    assert!(
        events
            .iter()
            .any(|e| matches!(e, ClientEvent::EndOfStream { .. })),
        "{events:?}"
    );
    assert!(
        !events
            .iter()
            .any(|e| matches!(e, ClientEvent::NoMedia { .. })),
        "{events:?}"
    );
}

#[test]
fn off_by_default() {
    let mut h = gst_playing("");
    h.advance(Duration::from_secs(30));
    assert!(no_media(&mut h).is_empty());
}

#[test]
fn the_lab_stream_stopping_after_frames_is_reported_with_them() {
    let mut cfg = ClientConfig::lab("127.0.0.1:8554", "movie.Mjpeg");
    cfg.no_media_timeout = Some(WAIT);
    let mut h = Harness::new(cfg);
    h.connect();
    h.c.setup(lab_udp()).unwrap();
    h.sent();
    h.lab_reply(b"RTSP/1.0 200 OK\nCSeq: 1\nSession: 42");
    h.c.play(None).unwrap();
    h.sent();
    h.lab_reply(b"RTSP/1.0 200 OK\nCSeq: 2\nSession: 42");
    for n in 1..=3u16 {
        let mut v = Vec::new();
        RtpHeader::new(26, n, 0, 0).write_with_version(0, &mut v);
        v.extend_from_slice(&[0xff, 0xd8, 0xff, 0xd9]);
        h.datagram("0.0.0.0:25000", &v);
    }
    // A payload that is not a JPEG, then nothing: the lab server's file has ended.
    let mut v = Vec::new();
    RtpHeader::new(26, 4, 0, 0).write_with_version(0, &mut v);
    v.extend_from_slice(b"not a jpeg");
    h.datagram("0.0.0.0:25000", &v);
    assert_eq!(h.frames().len(), 3);
    h.advance(WAIT);
    match &no_media(&mut h)[..] {
        [(
            _,
            3,
            NoMediaReason::Undecodable {
                packets: 1,
                error: Some(e),
                ..
            },
        )] => {
            assert_eq!(*e, DepacketizeError::NotJpeg { seq: 4 });
        }
        other => panic!("{other:?}"),
    }
}
