use super::*;
use crate::{RtpHeader, RtpPacket};
use bytes::Bytes;
use proptest::prelude::*;

macro_rules! vector {
    ($dir:literal, [$($n:literal),*]) => {
        (
            &[$(include_bytes!(concat!("../../testdata/", $dir, "/frame0-pkt", $n, ".rtp")) as &[u8]),*] as &[&[u8]],
            include_bytes!(concat!("../../testdata/", $dir, "/frame0.jpg")) as &[u8],
        )
    };
}

type Vector = (&'static [&'static [u8]], &'static [u8]);

fn gst() -> Vector {
    vector!(
        "gst-videotestsrc-640x480",
        [
            "00", "01", "02", "03", "04", "05", "06", "07", "08", "09", "10", "11", "12", "13",
            "14", "15", "16", "17", "18"
        ]
    )
}
fn gst_interleaved() -> Vector {
    vector!(
        "gst-interleaved-640x480",
        [
            "00", "01", "02", "03", "04", "05", "06", "07", "08", "09", "10", "11", "12", "13",
            "14", "15", "16", "17", "18"
        ]
    )
}
fn vlc() -> Vector {
    vector!("vlc-sample", ["00", "01", "02", "03"])
}
fn ffmpeg() -> Vector {
    vector!("ffmpeg-rtpenc-sample", ["00", "01", "02", "03", "04", "05"])
}

fn all_vectors() -> [(&'static str, Vector); 4] {
    [
        ("gst", gst()),
        ("gst-interleaved", gst_interleaved()),
        ("vlc", vlc()),
        ("ffmpeg", ffmpeg()),
    ]
}

fn depacketize_all(pkts: &[&[u8]]) -> (Vec<JpegFrameOut>, JpegDepacketizer) {
    let mut d = JpegDepacketizer::new(1 << 20);
    let mut out = Vec::new();
    for p in pkts {
        let pkt = RtpPacket::parse(p).unwrap();
        d.push(&pkt).unwrap();
        while let Some(f) = d.pull() {
            out.push(f);
        }
    }
    (out, d)
}

/// Position of the scan data in a JFIF built by `build_jpeg_header` (after the SOS segment).
fn scan_of(jpeg: &[u8]) -> &[u8] {
    let mut i = 2;
    loop {
        let len = usize::from(u16::from_be_bytes([jpeg[i + 2], jpeg[i + 3]]));
        if jpeg[i + 1] == 0xda {
            let body = &jpeg[i + 2 + len..];
            return body.strip_suffix(&[0xff, 0xd9]).unwrap_or(body);
        }
        i += 2 + len;
    }
}

#[test]
fn real_vectors_rebuild_identical_jpeg() {
    for (name, (pkts, expected)) in all_vectors() {
        let (frames, d) = depacketize_all(pkts);
        assert_eq!(frames.len(), 1, "{name}");
        let f = &frames[0];
        let first = RtpPacket::parse(pkts[0]).unwrap();
        assert_eq!(f.timestamp, first.header.timestamp, "{name}");
        assert_eq!(f.first_seq, first.header.sequence, "{name}");
        assert_eq!(scan_of(&f.data), scan_of(expected), "{name}: scan data");
        assert_eq!(&f.data[..], expected, "{name}: whole file");
        assert_eq!(d.stats().frames_emitted, 1);
        assert_eq!(d.stats().frames_dropped, 0);
    }
}

/// Extract the JpegPayload fields from a captured frame (first packet headers + all scan data).
fn payload_fields(pkts: &[&[u8]]) -> (u8, u8, u16, u16, Vec<u8>, Vec<u8>) {
    let mut scan = Vec::new();
    let mut fields = None;
    for p in pkts {
        let pkt = RtpPacket::parse(p).unwrap();
        let h = MainHeader::parse(pkt.payload).unwrap();
        let mut pos = 8;
        if h.offset == 0 {
            let qlen = usize::from(u16::from_be_bytes([
                pkt.payload[pos + 2],
                pkt.payload[pos + 3],
            ]));
            let tables = pkt.payload[pos + 4..pos + 4 + qlen].to_vec();
            pos += 4 + qlen;
            fields = Some((
                h.type_,
                h.q,
                u16::from(h.width8) * 8,
                u16::from(h.height8) * 8,
                tables,
            ));
        }
        scan.extend_from_slice(&pkt.payload[pos..]);
    }
    let (t, q, w, h, tables) = fields.unwrap();
    (t, q, w, h, tables, scan)
}

#[test]
fn real_vectors_repacketize_identically() {
    for (name, (pkts, _)) in all_vectors() {
        let (type_, q, width, height, qtables, scan) = payload_fields(pkts);
        assert_eq!((type_, q), (1, 255), "{name}");
        let p = JpegPayload {
            type_,
            q,
            width,
            height,
            restart_interval: 0,
            qtables: &qtables,
            scan: &scan,
        };
        let first_len = RtpPacket::parse(pkts[0]).unwrap().payload.len();
        let ours = packetize(&p, first_len).unwrap();
        assert_eq!(ours.len(), pkts.len(), "{name}");
        for (i, (a, b)) in ours.iter().zip(pkts.iter()).enumerate() {
            assert_eq!(
                &a[..],
                RtpPacket::parse(b).unwrap().payload,
                "{name} packet {i}"
            );
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Helpers

fn tables() -> Vec<u8> {
    (0..128u8).map(|i| i.wrapping_mul(7) | 1).collect()
}

fn payload<'a>(type_: u8, q: u8, qtables: &'a [u8], scan: &'a [u8]) -> JpegPayload<'a> {
    JpegPayload {
        type_,
        q,
        width: 640,
        height: 480,
        restart_interval: 0,
        qtables,
        scan,
    }
}

/// Wrap payloads in RTP packets (marker on the last) starting at `seq`.
fn to_rtp(payloads: &[Bytes], seq: u16, ts: u32) -> Vec<Vec<u8>> {
    payloads
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let mut h = RtpHeader::new(PAYLOAD_TYPE, seq.wrapping_add(i as u16), ts, 0x1234);
            h.marker = i + 1 == payloads.len();
            let mut out = Vec::new();
            RtpPacket {
                header: h,
                payload: p,
            }
            .write(&mut out);
            out
        })
        .collect()
}

fn push_all(d: &mut JpegDepacketizer, pkts: &[Vec<u8>]) -> Vec<JpegFrameOut> {
    let mut out = Vec::new();
    for p in pkts {
        let _ = d.push(&RtpPacket::parse(p).unwrap());
        while let Some(f) = d.pull() {
            out.push(f);
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Packetizer: one test per RFC 2435 header field

#[test]
fn main_header_fields() {
    let scan = vec![0x55; 3000];
    let t = tables();
    let p = JpegPayload {
        type_: 1,
        q: 255,
        width: 636,
        height: 476,
        restart_interval: 0,
        qtables: &t,
        scan: &scan,
    };
    let out = packetize(&p, 1000).unwrap();
    for (i, pl) in out.iter().enumerate() {
        assert_eq!(pl[0], 0, "type-specific is 0");
        assert_eq!(pl[4], 1, "type");
        assert_eq!(pl[5], 255, "q");
        assert_eq!(pl[6], 80, "width / 8, rounded up");
        assert_eq!(pl[7], 60, "height / 8, rounded up");
        let h = MainHeader::parse(pl).unwrap();
        assert_eq!(h.offset == 0, i == 0);
    }
}

#[test]
fn fragment_offset_counts_scan_bytes_only() {
    let scan: Vec<u8> = (0..5000u32).map(|i| i as u8).collect();
    let t = tables();
    let out = packetize(&payload(1, 255, &t, &scan), 1000).unwrap();
    // First: 1000 - 8 - 4 - 128 = 860 scan bytes; then 992 per payload.
    let offsets: Vec<u32> = out
        .iter()
        .map(|p| MainHeader::parse(p).unwrap().offset)
        .collect();
    assert_eq!(offsets, vec![0, 860, 1852, 2844, 3836, 4828]);
    assert_eq!(out.last().unwrap().len(), 8 + 5000 - 4828);
    // 24-bit big-endian on the wire.
    assert_eq!(&out[1][1..4], &[0x00, 0x03, 0x5c]);
}

#[test]
fn every_payload_within_max_payload() {
    let scan = vec![1u8; 10_000];
    let t = tables();
    for max in [145, 200, 1000, 1400, 9999, 20_000] {
        let out = packetize(&payload(65, 255, &t, &scan), max).unwrap();
        assert!(out.iter().all(|p| p.len() <= max), "max {max}");
    }
}

#[test]
fn qtable_header_only_in_first_payload() {
    let scan = vec![9u8; 3000];
    let t = tables();
    let out = packetize(&payload(1, 255, &t, &scan), 1400).unwrap();
    // MBZ = 0, precision = 0, length = 128, then the tables as given.
    assert_eq!(&out[0][8..12], &[0, 0, 0, 128]);
    assert_eq!(&out[0][12..140], &t[..]);
    assert_eq!(out[0][140], 9);
    assert_eq!(out[1][8], 9, "no table header after the first payload");
}

#[test]
fn no_qtable_header_below_q128() {
    let scan = vec![9u8; 100];
    let out = packetize(&payload(0, 75, &[], &scan), 1400).unwrap();
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].len(), 8 + 100);
    assert_eq!(out[0][4..6], [0, 75]);
}

#[test]
fn restart_marker_header_in_every_payload_for_types_64_to_127() {
    let scan = vec![3u8; 3000];
    let t = tables();
    let mut p = payload(64, 255, &t, &scan);
    p.restart_interval = 0x0102;
    let out = packetize(&p, 1000).unwrap();
    for pl in &out {
        // interval, then F = 1, L = 1, count = 0x3fff.
        assert_eq!(&pl[8..12], &[0x01, 0x02, 0xff, 0xff]);
    }
    assert_eq!(
        &out[0][12..16],
        &[0, 0, 0, 128],
        "table header follows the restart header"
    );
    let out = packetize(&payload(1, 255, &t, &scan), 1000).unwrap();
    assert_eq!(&out[1][8..10], &[3, 3], "no restart header for type 1");
}

#[test]
fn packetize_errors() {
    let t = tables();
    let scan = [1u8; 10];
    let e = |p: JpegPayload<'_>, max| packetize(&p, max).unwrap_err();
    assert_eq!(e(payload(1, 255, &t, &[]), 1400), PacketizeError::EmptyScan);
    let mut p = payload(1, 255, &t, &scan);
    p.width = 2048;
    assert!(matches!(
        e(p, 1400),
        PacketizeError::DimensionTooLarge { width: 2048, .. }
    ));
    p.width = 2040;
    p.height = 2041;
    assert!(matches!(
        e(p, 1400),
        PacketizeError::DimensionTooLarge { height: 2041, .. }
    ));
    p.height = 0;
    assert!(matches!(e(p, 1400), PacketizeError::ZeroDimension { .. }));
    assert_eq!(
        e(payload(1, 255, &t[..64], &scan), 1400),
        PacketizeError::BadQTableLength { q: 255, len: 64 }
    );
    assert_eq!(
        e(payload(1, 0, &[], &scan), 1400),
        PacketizeError::ReservedQ { q: 0 }
    );
    assert_eq!(
        e(payload(1, 100, &[], &scan), 1400),
        PacketizeError::ReservedQ { q: 100 }
    );
    assert_eq!(
        e(payload(1, 255, &t, &scan), 140),
        PacketizeError::MaxPayloadTooSmall {
            max_payload: 140,
            headers: 140
        }
    );
    assert_eq!(
        e(payload(65, 50, &[], &scan), 12),
        PacketizeError::MaxPayloadTooSmall {
            max_payload: 12,
            headers: 12
        }
    );
    // 2040x2040 is fine.
    let mut p = payload(1, 255, &t, &scan);
    p.width = 2040;
    p.height = 2040;
    assert_eq!(packetize(&p, 1400).unwrap()[0][6..8], [255, 255]);
}

#[test]
fn packetize_with_matches_packetize_and_flags_last() {
    let scan: Vec<u8> = (0..4000u32).map(|i| (i * 31) as u8).collect();
    let t = tables();
    let p = payload(1, 255, &t, &scan);
    let a = packetize(&p, 1400).unwrap();
    let mut b = Vec::new();
    packetize_with(&p, 1400, |pl, last| b.push((pl.to_vec(), last))).unwrap();
    assert_eq!(a.len(), b.len());
    for (i, (x, (y, last))) in a.iter().zip(&b).enumerate() {
        assert_eq!(&x[..], &y[..]);
        assert_eq!(*last, i + 1 == a.len());
    }
}

// ---------------------------------------------------------------------------------------------
// JFIF header rebuilding

#[test]
fn appendix_a_tables() {
    // Q = 50 is the unscaled Annex K table; luma DC entry 16, chroma DC 17.
    let t = make_tables(50);
    assert_eq!((t[0], t[1], t[2], t[63]), (16, 11, 12, 99));
    assert_eq!((t[64], t[65], t[127]), (17, 18, 99));
    // Q = 1: scale 5000 -> everything clamps to 255.
    assert!(make_tables(1).iter().all(|&v| v == 255));
    // Q = 99: scale 2 -> (16 * 2 + 50) / 100 = 0 -> clamped to 1.
    assert_eq!(make_tables(99)[0], 1);
    // Q = 75: scale 50 -> (16 * 50 + 50) / 100 = 8.
    assert_eq!(make_tables(75)[0], 8);
}

#[test]
fn header_segments_and_sampling() {
    let mut h = Vec::new();
    build_jpeg_header(0, 255, 320, 240, &tables(), 0, &mut h);
    assert_eq!(&h[..2], &[0xff, 0xd8]);
    let markers = segments(&h);
    assert_eq!(
        markers,
        vec![0xdb, 0xdb, 0xc0, 0xc4, 0xc4, 0xc4, 0xc4, 0xda]
    );
    let sof = find(&h, 0xc0);
    assert_eq!(
        &sof[..],
        &[8, 0, 240, 1, 64, 3, 1, 0x21, 0, 2, 0x11, 1, 3, 0x11, 1]
    );
    let mut h = Vec::new();
    build_jpeg_header(65, 255, 320, 240, &tables(), 4, &mut h);
    assert_eq!(find(&h, 0xc0)[7], 0x22, "4:2:0: Y is 2x2");
    assert_eq!(find(&h, 0xdd), vec![0, 4], "DRI");
    // DQT: table ids 0 and 1, 8-bit, in-band values.
    let mut h = Vec::new();
    build_jpeg_header(1, 255, 320, 240, &tables(), 0, &mut h);
    let dqts: Vec<Vec<u8>> = all(&h, 0xdb);
    assert_eq!(dqts[0][0], 0x00);
    assert_eq!(&dqts[0][1..], &tables()[..64]);
    assert_eq!(dqts[1][0], 0x01);
    assert_eq!(&dqts[1][1..], &tables()[64..]);
    // Empty tables: Appendix A for q.
    let mut h = Vec::new();
    build_jpeg_header(1, 50, 320, 240, &[], 0, &mut h);
    assert_eq!(&all(&h, 0xdb)[0][1..], &make_tables(50)[..64]);
}

fn segments(h: &[u8]) -> Vec<u8> {
    let mut i = 2;
    let mut out = Vec::new();
    while i + 4 <= h.len() {
        out.push(h[i + 1]);
        if h[i + 1] == 0xda {
            break;
        }
        i += 2 + usize::from(u16::from_be_bytes([h[i + 2], h[i + 3]]));
    }
    out
}

fn all(h: &[u8], marker: u8) -> Vec<Vec<u8>> {
    let mut i = 2;
    let mut out = Vec::new();
    while i + 4 <= h.len() {
        let len = usize::from(u16::from_be_bytes([h[i + 2], h[i + 3]]));
        if h[i + 1] == marker {
            out.push(h[i + 4..i + 2 + len].to_vec());
        }
        if h[i + 1] == 0xda {
            break;
        }
        i += 2 + len;
    }
    out
}

fn find(h: &[u8], marker: u8) -> Vec<u8> {
    all(h, marker).into_iter().next().unwrap()
}

// ---------------------------------------------------------------------------------------------
// Depacketizer

#[test]
fn eoi_appended_only_when_missing() {
    let t = tables();
    for (scan, expect_tail) in [
        (vec![1, 2, 3], vec![1, 2, 3, 0xff, 0xd9]),
        (vec![1, 0xff, 0xd9], vec![1, 0xff, 0xd9]),
    ] {
        let pkts = to_rtp(&packetize(&payload(1, 255, &t, &scan), 1400).unwrap(), 1, 0);
        let mut d = JpegDepacketizer::new(1 << 20);
        let f = push_all(&mut d, &pkts);
        assert!(f[0].data.ends_with(&expect_tail));
        assert_eq!(f[0].data.len() - expect_tail.len(), {
            let mut h = Vec::new();
            build_jpeg_header(1, 255, 640, 480, &t, 0, &mut h);
            h.len()
        });
    }
}

#[test]
fn lost_fragment_drops_frame() {
    let scan = vec![7u8; 5000];
    let t = tables();
    let mut pkts = to_rtp(
        &packetize(&payload(1, 255, &t, &scan), 1000).unwrap(),
        100,
        9000,
    );
    pkts.remove(2);
    let mut d = JpegDepacketizer::new(1 << 20);
    assert!(push_all(&mut d, &pkts).is_empty());
    assert_eq!(d.stats().frames_dropped, 1);
    // The next frame is fine.
    let next = to_rtp(
        &packetize(&payload(1, 255, &t, &scan), 1000).unwrap(),
        106,
        12000,
    );
    assert_eq!(push_all(&mut d, &next).len(), 1);
    assert_eq!(d.frames_dropped(), 1);
}

#[test]
fn gap_reports_error_with_context() {
    let scan = vec![7u8; 3000];
    let t = tables();
    let pkts = to_rtp(
        &packetize(&payload(1, 255, &t, &scan), 1000).unwrap(),
        10,
        1,
    );
    let mut d = JpegDepacketizer::new(1 << 20);
    d.push(&RtpPacket::parse(&pkts[0]).unwrap()).unwrap();
    let e = d.push(&RtpPacket::parse(&pkts[2]).unwrap()).unwrap_err();
    assert_eq!(
        e,
        DepacketizeError::FragmentGap {
            seq: 12,
            offset: 860 + 992,
            expected: 860
        }
    );
}

#[test]
fn missing_first_fragment_drops_frame() {
    let scan = vec![7u8; 3000];
    let t = tables();
    let pkts = to_rtp(
        &packetize(&payload(1, 255, &t, &scan), 1000).unwrap(),
        10,
        1,
    );
    let mut d = JpegDepacketizer::new(1 << 20);
    assert!(push_all(&mut d, &pkts[1..]).is_empty());
    assert_eq!(d.stats().frames_dropped, 1);
}

#[test]
fn timestamp_change_without_marker_drops_partial() {
    let scan = vec![7u8; 3000];
    let t = tables();
    let a = to_rtp(
        &packetize(&payload(1, 255, &t, &scan), 1000).unwrap(),
        10,
        1000,
    );
    let b = to_rtp(
        &packetize(&payload(1, 255, &t, &scan), 1000).unwrap(),
        14,
        4000,
    );
    let mut d = JpegDepacketizer::new(1 << 20);
    let mut pkts = a[..3].to_vec(); // marker lost
    pkts.extend(b);
    let f = push_all(&mut d, &pkts);
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].timestamp, 4000);
    assert_eq!(f[0].first_seq, 14);
    assert_eq!(d.stats().frames_dropped, 1);
}

#[test]
fn same_timestamp_new_first_fragment_restarts() {
    // gst without videorate sends every frame with the same timestamp.
    let scan = vec![7u8; 3000];
    let t = tables();
    let a = to_rtp(
        &packetize(&payload(1, 255, &t, &scan), 1000).unwrap(),
        10,
        5,
    );
    let b = to_rtp(
        &packetize(&payload(1, 255, &t, &scan), 1000).unwrap(),
        14,
        5,
    );
    let mut d = JpegDepacketizer::new(1 << 20);
    let mut pkts = a[..3].to_vec();
    pkts.extend(b);
    let f = push_all(&mut d, &pkts);
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].first_seq, 14);
    assert_eq!(d.stats().frames_dropped, 1);
}

#[test]
fn duplicates_are_ignored() {
    let scan = vec![7u8; 3000];
    let t = tables();
    let pkts = to_rtp(
        &packetize(&payload(1, 255, &t, &scan), 1000).unwrap(),
        65534,
        5,
    );
    let mut dup = Vec::new();
    for p in &pkts {
        dup.push(p.clone());
        dup.push(p.clone());
    }
    let mut d = JpegDepacketizer::new(1 << 20);
    let f = push_all(&mut d, &dup);
    assert_eq!(f.len(), 1, "seq wraps inside the frame");
    assert_eq!(d.stats().frames_dropped, 0);
    assert_eq!(d.stats().packets_ignored, 4);
    assert_eq!(d.stats().packets, 8);
}

#[test]
fn q_below_100_uses_appendix_a_tables() {
    let scan = vec![1u8, 2, 3];
    let pkts = to_rtp(&packetize(&payload(0, 75, &[], &scan), 1400).unwrap(), 0, 0);
    let mut d = JpegDepacketizer::new(1 << 20);
    let f = push_all(&mut d, &pkts);
    let mut expected = Vec::new();
    build_jpeg_header(0, 75, 640, 480, &[], 0, &mut expected);
    expected.extend_from_slice(&[1, 2, 3, 0xff, 0xd9]);
    assert_eq!(&f[0].data[..], &expected[..]);
}

/// A one-packet frame with a hand-made quantization table header.
fn qt_frame(q: u8, precision: u8, tables: &[u8], seq: u16) -> Vec<u8> {
    let mut pl = vec![0, 0, 0, 0, 1, q, 80, 60, 0, precision];
    pl.extend_from_slice(&(tables.len() as u16).to_be_bytes());
    pl.extend_from_slice(tables);
    pl.extend_from_slice(&[0x11, 0x22]);
    let mut h = RtpHeader::new(26, seq, u32::from(seq) * 3000, 1);
    h.marker = true;
    let mut out = Vec::new();
    RtpPacket {
        header: h,
        payload: &pl,
    }
    .write(&mut out);
    out
}

#[test]
fn qtables_cached_for_q_128_to_254_but_not_255() {
    let t = tables();
    let mut d = JpegDepacketizer::new(1 << 20);
    let push = |d: &mut JpegDepacketizer, p: Vec<u8>| d.push(&RtpPacket::parse(&p).unwrap());
    // No tables yet for q = 200.
    assert_eq!(
        push(&mut d, qt_frame(200, 0, &[], 1)),
        Err(DepacketizeError::MissingQTables { q: 200 })
    );
    push(&mut d, qt_frame(200, 0, &t, 2)).unwrap();
    let with = d.pull().unwrap();
    push(&mut d, qt_frame(200, 0, &[], 3)).unwrap();
    let cached = d.pull().unwrap();
    assert_eq!(with.data, cached.data, "cached tables reused");
    // Q = 255 must carry tables every frame.
    push(&mut d, qt_frame(255, 0, &t, 4)).unwrap();
    assert!(d.pull().is_some());
    assert_eq!(
        push(&mut d, qt_frame(255, 0, &[], 5)),
        Err(DepacketizeError::MissingQTables { q: 255 })
    );
    assert_eq!(d.stats().frames_dropped, 2);
    d.reset();
    assert_eq!(
        push(&mut d, qt_frame(200, 0, &[], 6)),
        Err(DepacketizeError::MissingQTables { q: 200 })
    );
}

#[test]
fn qtable_variants() {
    let mut d = JpegDepacketizer::new(1 << 20);
    let push = |d: &mut JpegDepacketizer, p: Vec<u8>| d.push(&RtpPacket::parse(&p).unwrap());
    // One 64-byte table: used for both components.
    let one: Vec<u8> = (1..=64).collect();
    push(&mut d, qt_frame(255, 0, &one, 1)).unwrap();
    let f = d.pull().unwrap();
    let dqt = all(&f.data, 0xdb);
    assert_eq!(&dqt[0][1..], &one[..]);
    assert_eq!(&dqt[1][1..], &one[..]);
    // 16-bit luma table (precision bit 0): 128 + 64 bytes, DQT Pq = 1.
    let wide: Vec<u8> = (0..192u32).map(|i| i as u8 | 1).collect();
    push(&mut d, qt_frame(255, 1, &wide, 2)).unwrap();
    let f = d.pull().unwrap();
    let dqt = all(&f.data, 0xdb);
    assert_eq!(dqt[0][0], 0x10);
    assert_eq!(&dqt[0][1..], &wide[..128]);
    assert_eq!(dqt[1][0], 0x01);
    assert_eq!(&dqt[1][1..], &wide[128..]);
    // Wrong length.
    assert_eq!(
        push(&mut d, qt_frame(255, 0, &one[..10], 3)),
        Err(DepacketizeError::BadQTable {
            precision: 0,
            length: 10
        })
    );
    assert_eq!(
        push(&mut d, qt_frame(255, 3, &wide, 4)),
        Err(DepacketizeError::BadQTable {
            precision: 3,
            length: 192
        })
    );
}

#[test]
fn bad_headers_rejected() {
    let mut d = JpegDepacketizer::new(1 << 20);
    let seq = std::cell::Cell::new(0u16);
    let mk = |pl: &[u8]| {
        seq.set(seq.get() + 1);
        let mut h = RtpHeader::new(26, seq.get(), 0, 1);
        h.marker = true;
        let mut out = Vec::new();
        RtpPacket {
            header: h,
            payload: pl,
        }
        .write(&mut out);
        out
    };
    let push = |d: &mut JpegDepacketizer, p: Vec<u8>| d.push(&RtpPacket::parse(&p).unwrap());
    assert!(matches!(
        push(&mut d, mk(&[0, 0, 0])),
        Err(DepacketizeError::TooShort {
            len: 3,
            needed: 8,
            ..
        })
    ));
    assert_eq!(
        push(&mut d, mk(&[0, 0, 0, 0, 2, 50, 1, 1, 0])),
        Err(DepacketizeError::UnsupportedType { type_: 2 })
    );
    assert_eq!(
        push(&mut d, mk(&[0, 0, 0, 0, 1, 0, 1, 1, 0])),
        Err(DepacketizeError::ReservedQ { q: 0 })
    );
    assert_eq!(
        push(&mut d, mk(&[0, 0, 0, 0, 1, 127, 1, 1, 0])),
        Err(DepacketizeError::ReservedQ { q: 127 })
    );
    assert_eq!(
        push(&mut d, mk(&[0, 0, 0, 0, 1, 50, 0, 1, 0])),
        Err(DepacketizeError::ZeroDimension)
    );
    assert!(matches!(
        push(&mut d, mk(&[0, 0, 0, 0, 64, 50, 1, 1, 0])),
        Err(DepacketizeError::TooShort { needed: 12, .. })
    ));
    assert!(matches!(
        push(&mut d, mk(&[0, 0, 0, 0, 1, 255, 1, 1, 0, 0, 0, 128, 1])),
        Err(DepacketizeError::TooShort { needed: 140, .. })
    ));
    // Empty scan with marker: nothing emitted.
    push(&mut d, mk(&[0, 0, 0, 0, 1, 50, 1, 1])).unwrap();
    assert!(d.pull().is_none());
    assert_eq!(d.stats().frames_emitted, 0);
}

#[test]
fn inconsistent_fragment_drops_frame() {
    let scan = vec![7u8; 3000];
    let t = tables();
    let mut pkts = to_rtp(
        &packetize(&payload(1, 255, &t, &scan), 1000).unwrap(),
        10,
        1,
    );
    let hl = 12;
    pkts[1][hl + 6] = 81; // width changes mid-frame
    let mut d = JpegDepacketizer::new(1 << 20);
    d.push(&RtpPacket::parse(&pkts[0]).unwrap()).unwrap();
    assert_eq!(
        d.push(&RtpPacket::parse(&pkts[1]).unwrap()),
        Err(DepacketizeError::InconsistentFragment { seq: 11 })
    );
    assert!(push_all(&mut d, &pkts[2..]).is_empty());
    assert_eq!(d.frames_dropped(), 1);
}

#[test]
fn frame_size_cap() {
    let scan = vec![7u8; 5000];
    let t = tables();
    let pkts = to_rtp(
        &packetize(&payload(1, 255, &t, &scan), 1000).unwrap(),
        10,
        1,
    );
    let mut d = JpegDepacketizer::new(3000);
    let errs: Vec<_> = pkts
        .iter()
        .filter_map(|p| d.push(&RtpPacket::parse(p).unwrap()).err())
        .collect();
    assert_eq!(errs, vec![DepacketizeError::FrameTooLarge { max: 3000 }]);
    assert!(d.pull().is_none());
    assert_eq!(d.frames_dropped(), 1);
    // Exactly at the limit is fine.
    let (frames, _) = depacketize_all(&[]);
    assert!(frames.is_empty());
    let mut h = Vec::new();
    build_jpeg_header(1, 255, 640, 480, &t, 0, &mut h);
    let mut d = JpegDepacketizer::new(h.len() + 5000 + 2);
    assert_eq!(push_all(&mut d, &pkts).len(), 1);
}

#[test]
fn unpulled_frames_are_bounded() {
    let t = tables();
    let mut d = JpegDepacketizer::new(1 << 20);
    for i in 0..40u16 {
        let p = &to_rtp(
            &packetize(&payload(1, 255, &t, &[1, 2]), 1400).unwrap(),
            i,
            u32::from(i),
        )[0];
        d.push(&RtpPacket::parse(p).unwrap()).unwrap();
    }
    let mut n = 0;
    while d.pull().is_some() {
        n += 1;
    }
    assert_eq!(n, 16);
    assert_eq!(d.stats().frames_emitted, 40);
    assert_eq!(d.stats().frames_dropped, 24);
}

#[test]
fn late_duplicate_of_marker_is_not_a_drop() {
    let t = tables();
    let pkts = to_rtp(
        &packetize(&payload(1, 255, &t, &[7u8; 3000]), 1000).unwrap(),
        10,
        1,
    );
    let mut d = JpegDepacketizer::new(1 << 20);
    let mut all_pkts = pkts.clone();
    all_pkts.push(pkts[3].clone());
    all_pkts.push(pkts[2].clone());
    assert_eq!(push_all(&mut d, &all_pkts).len(), 1);
    assert_eq!(d.frames_dropped(), 0);
}

#[test]
fn lab_dialect() {
    let jpeg = include_bytes!("../../testdata/vlc-sample/frame0.jpg");
    let mut h = RtpHeader::new(26, 7, 900, 0);
    h.marker = true;
    let mut pkt = Vec::new();
    h.write_with_version(0, &mut pkt);
    pkt.extend_from_slice(jpeg);
    assert_eq!(crate::rtp_version(&pkt), Some(0));
    assert!(RtpPacket::parse(&pkt).is_err());
    let p = RtpPacket::parse_lenient(&pkt).unwrap();
    let mut d = LabDepacketizer::new(1 << 20);
    d.push(&p).unwrap();
    let f = d.pull().unwrap();
    assert_eq!((&f.data[..], f.timestamp, f.first_seq), (&jpeg[..], 900, 7));
    assert_eq!(
        lab_frame(b"hello", 3),
        Err(DepacketizeError::NotJpeg { seq: 3 })
    );
    let bad = RtpPacket {
        header: RtpHeader::default(),
        payload: b"xx",
    };
    assert!(d.push(&bad).is_err());
    let mut small = LabDepacketizer::new(10);
    assert_eq!(
        small.push(&p),
        Err(DepacketizeError::FrameTooLarge { max: 10 })
    );
    assert_eq!(small.frames_dropped(), 1);
    assert_eq!(d.frames_dropped(), 1);
}

// ---------------------------------------------------------------------------------------------
// Property tests

fn jpeg_params() -> impl Strategy<Value = (u8, u8, u16, u16, u16, Vec<u8>)> {
    (
        prop::sample::select(vec![0u8, 1, 64, 65]),
        prop_oneof![1u8..=99, 128u8..=255],
        1u16..=2040,
        1u16..=2040,
        any::<u16>(),
        prop::collection::vec(1u8..=255, 128),
    )
}

/// Random bytes made into valid entropy-coded data: every `FF` stuffed with a `00` (the
/// depacketizer drops scans with other markers).
fn stuffed(bytes: Vec<u8>) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len() + bytes.len() / 128);
    for b in bytes {
        out.push(b);
        if b == 0xFF {
            out.push(0x00);
        }
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn packetize_depacketize_roundtrip(
        (type_, q, width, height, ri, qt) in jpeg_params(),
        scan in prop::collection::vec(any::<u8>(), 1..20_000).prop_map(stuffed),
        max_payload in 200usize..3000,
        seq in any::<u16>(),
        ts in any::<u32>(),
    ) {
        let p = JpegPayload { type_, q, width, height, restart_interval: ri, qtables: &qt, scan: &scan };
        let out = packetize(&p, max_payload).unwrap();
        prop_assert!(out.iter().all(|pl| pl.len() <= max_payload));
        let pkts = to_rtp(&out, seq, ts);
        let mut d = JpegDepacketizer::new(1 << 20);
        let frames = push_all(&mut d, &pkts);
        prop_assert_eq!(frames.len(), 1);
        let f = &frames[0];
        prop_assert_eq!(f.timestamp, ts);
        prop_assert_eq!(f.first_seq, seq);
        let mut expected = Vec::new();
        let tables = if q >= 128 { &qt[..] } else { &[][..] };
        let dri = if type_ >= 64 { ri } else { 0 };
        build_jpeg_header(type_, q, width.div_ceil(8) * 8, height.div_ceil(8) * 8, tables, dri, &mut expected);
        expected.extend_from_slice(&scan);
        if !scan.ends_with(&[0xff, 0xd9]) {
            expected.extend_from_slice(&[0xff, 0xd9]);
        }
        prop_assert_eq!(&f.data[..], &expected[..]);
    }

    /// Lose, duplicate and reorder packets of a few frames: every emitted frame must be exactly one
    /// of the frames sent, and a frame whose packets did not all arrive in order is never emitted.
    #[test]
    fn impaired_stream_never_emits_corrupt_frames(
        scans in prop::collection::vec(prop::collection::vec(any::<u8>(), 1..4000).prop_map(stuffed), 1..5),
        max_payload in 200usize..1500,
        ops in prop::collection::vec((0u8..10, any::<prop::sample::Index>()), 0..8),
        seq0 in any::<u16>(),
    ) {
        let qt = tables();
        let mut pkts = Vec::new();
        let mut expected = Vec::new();
        let mut seq = seq0;
        for (i, scan) in scans.iter().enumerate() {
            let out = packetize(&payload(1, 255, &qt, scan), max_payload).unwrap();
            let ts = 3000 * i as u32;
            pkts.extend(to_rtp(&out, seq, ts).into_iter().map(|p| (p, i)));
            seq = seq.wrapping_add(out.len() as u16);
            let mut e = Vec::new();
            build_jpeg_header(1, 255, 640, 480, &qt, 0, &mut e);
            e.extend_from_slice(scan);
            if !scan.ends_with(&[0xff, 0xd9]) {
                e.extend_from_slice(&[0xff, 0xd9]);
            }
            expected.push(e);
        }
        let unimpaired = ops.is_empty();
        for (op, idx) in ops {
            if pkts.is_empty() {
                break;
            }
            let i = idx.index(pkts.len());
            match op {
                0..=3 => { pkts.remove(i); }
                4..=5 => { let p = pkts[i].clone(); pkts.insert(i, p); }
                _ => { let j = (i + 1 + usize::from(op)) % pkts.len(); pkts.swap(i, j); }
            }
        }
        let mut d = JpegDepacketizer::new(1 << 20);
        for (p, _) in &pkts {
            let _ = d.push(&RtpPacket::parse(p).unwrap());
            while let Some(f) = d.pull() {
                let frame = (f.timestamp / 3000) as usize;
                prop_assert!(frame < expected.len());
                prop_assert_eq!(&f.data[..], &expected[frame][..]);
            }
        }
        let s = d.stats();
        prop_assert!(s.frames_emitted <= scans.len() as u64);
        if unimpaired {
            prop_assert_eq!(s.frames_emitted, scans.len() as u64);
            prop_assert_eq!(s.frames_dropped, 0);
        }
    }

    #[test]
    fn depacketizer_never_panics_on_random_packets(
        pkts in prop::collection::vec(
            (any::<bool>(), 0u16..8, 0u32..3, prop::collection::vec(any::<u8>(), 0..300)), 0..40),
        max in 0usize..5000,
    ) {
        let mut d = JpegDepacketizer::new(max);
        let mut lab = LabDepacketizer::new(max);
        for (marker, seq, ts, payload) in &pkts {
            let mut h = RtpHeader::new(26, *seq, *ts, 0);
            h.marker = *marker;
            let pkt = RtpPacket { header: h, payload };
            let _ = d.push(&pkt);
            let _ = lab.push(&pkt);
            while let Some(f) = d.pull() {
                prop_assert!(f.data.len() <= max);
                prop_assert!(f.data.starts_with(&[0xff, 0xd8]) && f.data.ends_with(&[0xff, 0xd9]));
            }
            while lab.pull().is_some() {}
        }
    }

    /// Random payloads that start with a plausible RFC 2435 header, to get past the first checks.
    #[test]
    fn depacketizer_never_panics_on_plausible_headers(
        pkts in prop::collection::vec(
            (any::<bool>(), 0u32..3000, prop::sample::select(vec![0u8, 1, 64, 65, 2]),
             prop::sample::select(vec![50u8, 128, 200, 255, 0]), 0usize..200, prop::collection::vec(any::<u8>(), 0..200)),
            0..30),
    ) {
        let mut d = JpegDepacketizer::new(100_000);
        for (i, (marker, off, type_, q, qlen, rest)) in pkts.iter().enumerate() {
            let o = off.to_be_bytes();
            let mut pl = vec![0, o[1], o[2], o[3], *type_, *q, 10, 10];
            if *type_ >= 64 { pl.extend_from_slice(&[0, 1, 0xff, 0xff]); }
            if *off == 0 && *q >= 128 { pl.extend_from_slice(&[0, 0, 0, *qlen as u8]); }
            pl.extend_from_slice(rest);
            let mut h = RtpHeader::new(26, i as u16, 0, 0);
            h.marker = *marker;
            let _ = d.push(&RtpPacket { header: h, payload: &pl });
            while d.pull().is_some() {}
        }
    }
}

#[test]
fn late_packet_of_previous_frame_does_not_kill_the_next() {
    let t = tables();
    let a = to_rtp(
        &packetize(&payload(1, 255, &t, &[1u8; 3000]), 1000).unwrap(),
        10,
        1000,
    );
    let b = to_rtp(
        &packetize(&payload(1, 255, &t, &[2u8; 3000]), 1000).unwrap(),
        14,
        4000,
    );
    // A's marker packet arrives after B's first packet.
    let pkts = vec![
        a[0].clone(),
        a[1].clone(),
        a[2].clone(),
        b[0].clone(),
        a[3].clone(),
        b[1].clone(),
        b[2].clone(),
        b[3].clone(),
    ];
    let mut d = JpegDepacketizer::new(1 << 20);
    let f = push_all(&mut d, &pkts);
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].timestamp, 4000);
    assert_eq!(d.stats().frames_dropped, 1);
    assert_eq!(d.stats().packets_ignored, 1);
}

// ---------------------------------------------------------------------------------------------
// Scan marker structure (fuzz `depack-scan`)

/// fuzz/artifacts/jpeg_depacketize/min-depack-scan: one packet (marker set, type 0, Q 1,
/// 1968x24) whose scan is `FF 70`, an unstuffed `FF` followed by a non-marker byte. The frame
/// used to be emitted and did not parse as a JPEG; it is now dropped and counted.
#[test]
fn scan_with_invalid_marker_is_dropped() {
    const ARTIFACT: &[u8] = &[
        0x05, 0xa8, 0xc0, 0x80, 0xef, 0xed, 0x31, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x01, 0xf6, 0x03, 0xff, 0x70,
    ];
    let pkt = RtpPacket::parse_lenient(&ARTIFACT[2..]).unwrap();
    let mut d = JpegDepacketizer::new(1 << 20);
    let _ = d.push(&pkt);
    assert_eq!(d.pull(), None);
    assert_eq!(d.stats().frames_emitted, 0);
    assert_eq!(d.stats().frames_dropped, 1);
}

#[test]
fn scan_marker_structure() {
    let t = tables();
    let frame = |scan: &[u8]| {
        let mut d = JpegDepacketizer::new(1 << 20);
        let pkts = to_rtp(&packetize(&payload(1, 255, &t, scan), 1400).unwrap(), 7, 90);
        let frames = push_all(&mut d, &pkts);
        assert_eq!(
            d.stats().frames_emitted + d.stats().frames_dropped,
            1,
            "{scan:02X?}"
        );
        frames.into_iter().next().map(|f| scan_of(&f.data).to_vec())
    };
    // Stuffing, RST0-7, fill bytes, with or without the final EOI: kept as is.
    for scan in [
        &[0x12, 0xFF, 0x00, 0x34][..],
        &[0x12, 0xFF, 0xD0, 0x34, 0xFF, 0xD7, 0x56],
        &[0x12, 0xFF, 0xFF, 0xD3, 0x34],
        &[0x12, 0x34, 0xFF, 0xD9],
        &[0x12, 0x34, 0xFF, 0xFF, 0xD9],
        &[0x12, 0x34, 0xFF],
    ] {
        let kept = frame(scan).unwrap_or_else(|| panic!("{scan:02X?} dropped"));
        assert_eq!(kept, scan.strip_suffix(&[0xFF, 0xD9]).unwrap_or(scan));
    }
    // Any other marker, or EOI before the end: dropped.
    for scan in [
        &[0xFF, 0x70][..],
        &[0x12, 0xFF, 0x01, 0x34],
        &[0x12, 0xFF, 0xDB, 0x00, 0x43],
        &[0x12, 0xFF, 0xD9, 0x34],
        &[0x12, 0xFF, 0xD8, 0x34, 0xFF, 0xD9],
        &[0xFF, 0xDA, 0x00, 0x0C],
    ] {
        assert_eq!(frame(scan), None, "{scan:02X?}");
    }
    assert!(depacketize::scan_markers_ok(&[0xFF, 0xD9]));
    assert!(!depacketize::scan_markers_ok(&[0x12]));
}
