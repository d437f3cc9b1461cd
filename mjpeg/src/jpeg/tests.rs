//! Unit tests of `jpeg`.

use super::*;
use crate::testutil::*;

/// Replaces the part at `i` of the typical headers.
fn with_part(i: usize, part: Vec<u8>) -> Vec<u8> {
    let mut parts = headers_420();
    parts[i] = part;
    build(&parts, SCAN)
}

fn sof(comps: &[(u8, u8, u8)]) -> Vec<u8> {
    seg(0xC0, &sof_body(8, 64, 48, comps))
}

#[test]
fn typical_420() {
    let f = jpeg_420();
    let info = parse_jpeg(&f).unwrap();
    assert_eq!((info.width, info.height, info.precision), (64, 48, 8));
    assert_eq!(info.sampling, Sampling::Yuv420);
    assert!(!info.progressive);
    assert_eq!(info.sof_marker, 0xC0);
    assert_eq!(info.component_qtables, vec![0, 1, 1]);
    assert_eq!(info.qtables.len(), 2);
    assert_eq!(info.qtables[1].id, 1);
    assert_eq!(info.qtables[1].precision, 8);
    assert_eq!(info.qtables[1].values[0], 100);
    assert_eq!(info.qtables[1].values[63], 163);
    assert_eq!(info.restart_interval, 0);
    assert!(info.standard_huffman);
    assert_eq!(info.scan_count, 1);
    assert_eq!(info.scan(&f), SCAN);
    assert_eq!(info.scan_offset + info.scan_len + 2, f.len());
    assert_eq!(info.check_rtp(), Ok(()));
    assert_eq!(info.rtp_type(), Some(1));
    assert_eq!(info.rtp_dimensions(), Some((8, 6)));
    let q = info.qtables_for_rtp();
    assert_eq!(q.len(), 128);
    assert_eq!(&q[..64], &qtable8(0, 1)[1..]);
    assert_eq!(&q[64..], &qtable8(1, 100)[1..]);
}

#[test]
fn app_and_com_segments_are_skipped_even_with_eoi_inside() {
    let mut parts = headers_420();
    parts.insert(0, seg(0xE1, b"Exif\0\0\xFF\xD8\xFF\xD9 thumbnail"));
    parts.insert(3, seg(0xFE, b"comment \xFF\xD9"));
    parts.insert(4, seg(0xEF, &[0xFF; 40]));
    let f = build(&parts, SCAN);
    let info = parse_jpeg(&f).unwrap();
    assert_eq!(info.scan(&f), SCAN);
    assert_eq!(info.check_rtp(), Ok(()));
}

#[test]
fn fill_bytes_before_markers() {
    let mut parts = headers_420();
    parts[2].insert(0, 0xFF);
    parts[5].insert(0, 0xFF);
    let mut f = build(&parts, SCAN);
    let n = f.len();
    f.insert(n - 2, 0xFF); // FF FF D9
    let info = parse_jpeg(&f).unwrap();
    assert_eq!(info.scan(&f), [SCAN, &[0xFF]].concat());
}

#[test]
fn dqt_several_tables_in_one_segment_and_16_bit() {
    let mut body = qtable8(0, 5);
    body.extend(qtable16(1, 300));
    let mut parts = headers_420();
    parts[1] = seg(0xDB, &body);
    parts.remove(2);
    let f = build(&parts, SCAN);
    let info = parse_jpeg(&f).unwrap();
    assert_eq!(info.qtables.len(), 2);
    assert_eq!(info.qtables[0].precision, 8);
    assert_eq!(info.qtables[1].precision, 16);
    assert_eq!(info.qtables[1].values[0], 300);
    assert_eq!(info.qtables[1].values[63], 363);
    assert_eq!(info.check_rtp(), Err(NotCarriable::QTable16Bit { id: 1 }));
    assert!(info.qtables_for_rtp().is_empty());
}

#[test]
fn dqt_redefinition_replaces() {
    let mut parts = headers_420();
    parts.insert(3, seg(0xDB, &qtable8(0, 50)));
    let info = parse_jpeg(&build(&parts, SCAN)).unwrap();
    assert_eq!(info.qtables.len(), 2);
    assert_eq!(info.qtable(0).unwrap().values[0], 50);
}

#[test]
fn dqt_errors() {
    let bad = |body: &[u8]| parse_jpeg(&with_part(1, seg(0xDB, body))).unwrap_err();
    let e = bad(&[0x20]);
    assert!(
        matches!(e, JpegError::InvalidSegment { marker: 0xDB, offset, .. } if offset == 20),
        "{e}"
    );
    assert!(matches!(bad(&[0x04]), JpegError::InvalidSegment { .. }));
    assert!(matches!(
        bad(&qtable8(0, 0)[..40]),
        JpegError::InvalidSegment { .. }
    ));
    assert!(matches!(bad(&[]), JpegError::InvalidSegment { .. }));
    assert!(bad(&[0x20]).to_string().contains("DQT"));
}

#[test]
fn one_qtable_for_all_components_is_duplicated() {
    let mut parts = headers_420();
    parts.remove(2);
    parts[2] = sof(&[(1, 0x22, 0), (2, 0x11, 0), (3, 0x11, 0)]);
    let info = parse_jpeg(&build(&parts, SCAN)).unwrap();
    assert_eq!(info.check_rtp(), Ok(()));
    let q = info.qtables_for_rtp();
    assert_eq!(q.len(), 128);
    assert_eq!(q[..64], q[64..]);
    assert_eq!(&q[..64], &qtable8(0, 1)[1..]);
}

#[test]
fn qtable_mapping_problems() {
    let f = with_part(3, sof(&[(1, 0x22, 0), (2, 0x11, 1), (3, 0x11, 2)]));
    let info = parse_jpeg(&f).unwrap();
    let p = info.rtp_problems();
    assert!(p.contains(&NotCarriable::QTableMapping { ids: vec![0, 1, 2] }));
    assert!(p.contains(&NotCarriable::MissingQTable { id: 2 }));
    let f = with_part(3, sof(&[(1, 0x22, 3), (2, 0x11, 1), (3, 0x11, 1)]));
    let info = parse_jpeg(&f).unwrap();
    assert_eq!(info.check_rtp(), Err(NotCarriable::MissingQTable { id: 3 }));
    assert!(info.qtables_for_rtp().is_empty());
}

#[test]
fn sof0_samplings() {
    let s = |comps: &[(u8, u8, u8)]| parse_jpeg(&with_part(3, sof(comps))).unwrap();
    let i422 = s(&[(1, 0x21, 0), (2, 0x11, 1), (3, 0x11, 1)]);
    assert_eq!(i422.sampling, Sampling::Yuv422);
    assert_eq!(i422.check_rtp(), Ok(()));
    assert_eq!(i422.rtp_type(), Some(0));

    let i444 = s(&[(1, 0x11, 0), (2, 0x11, 1), (3, 0x11, 1)]);
    assert_eq!(i444.sampling, Sampling::Yuv444);
    assert!(matches!(
        i444.check_rtp(),
        Err(NotCarriable::Sampling {
            sampling: Sampling::Yuv444,
            ..
        })
    ));
    assert_eq!(i444.rtp_type(), None);

    // ffmpeg's yuvj422p layout: ratio 4:2:2 but factors RFC 2435 cannot express.
    let ff422 = s(&[(1, 0x22, 0), (2, 0x12, 1), (3, 0x12, 1)]);
    assert_eq!(ff422.sampling, Sampling::Yuv422);
    assert_eq!(
        ff422.check_rtp(),
        Err(NotCarriable::Sampling {
            sampling: Sampling::Yuv422,
            y: (2, 2),
            cb: (1, 2),
            cr: (1, 2)
        })
    );

    let i411 = s(&[(1, 0x41, 0), (2, 0x11, 1), (3, 0x11, 1)]);
    assert_eq!(i411.sampling, Sampling::Other);
    let odd = s(&[(1, 0x22, 0), (2, 0x11, 1), (3, 0x21, 1)]);
    assert_eq!(odd.sampling, Sampling::Other);
}

#[test]
fn gray_is_not_carriable() {
    let mut parts = headers_420();
    parts[3] = sof(&[(1, 0x11, 0)]);
    parts[5] = seg(0xDA, &sos_body(&[(1, 0x00)]));
    let info = parse_jpeg(&build(&parts, SCAN)).unwrap();
    assert_eq!(info.sampling, Sampling::Gray);
    assert_eq!(info.check_rtp(), Err(NotCarriable::Components { count: 1 }));
    assert!(info
        .check_rtp()
        .unwrap_err()
        .to_string()
        .contains("grayscale"));
    assert_eq!(info.qtables_for_rtp().len(), 128);
}

#[test]
fn sof1_is_carriable_sof2_is_progressive() {
    let body = sof_body(8, 64, 48, &[(1, 0x22, 0), (2, 0x11, 1), (3, 0x11, 1)]);
    let info = parse_jpeg(&with_part(3, seg(0xC1, &body))).unwrap();
    assert_eq!(info.sof_marker, 0xC1);
    assert_eq!(info.check_rtp(), Ok(()));
    let info = parse_jpeg(&with_part(3, seg(0xC2, &body))).unwrap();
    assert!(info.progressive);
    assert_eq!(info.check_rtp(), Err(NotCarriable::Progressive));
}

#[test]
fn precision_12() {
    let body = sof_body(12, 64, 48, &[(1, 0x22, 0), (2, 0x11, 1), (3, 0x11, 1)]);
    let info = parse_jpeg(&with_part(3, seg(0xC1, &body))).unwrap();
    assert_eq!(info.check_rtp(), Err(NotCarriable::Precision { bits: 12 }));
}

#[test]
fn unsupported_processes() {
    let body = sof_body(8, 64, 48, &[(1, 0x22, 0), (2, 0x11, 1), (3, 0x11, 1)]);
    for m in [0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF] {
        let e = parse_jpeg(&with_part(3, seg(m, &body))).unwrap_err();
        assert!(
            matches!(e, JpegError::UnsupportedProcess { marker, .. } if marker == m),
            "{m:02X}: {e}"
        );
    }
    let mut parts = headers_420();
    parts.insert(4, seg(0xCC, &[0x00, 0x10]));
    let e = parse_jpeg(&build(&parts, SCAN)).unwrap_err();
    assert!(e.to_string().contains("arithmetic"), "{e}");
}

#[test]
fn sof_errors() {
    let bad = |body: Vec<u8>| parse_jpeg(&with_part(3, seg(0xC0, &body))).unwrap_err();
    let c3 = [(1, 0x22, 0), (2, 0x11, 1), (3, 0x11, 1)];
    assert!(bad(sof_body(8, 64, 0, &c3)).to_string().contains("DNL"));
    assert!(bad(sof_body(8, 0, 48, &c3)).to_string().contains("width 0"));
    assert!(bad(sof_body(8, 64, 48, &[]))
        .to_string()
        .contains("no components"));
    assert!(bad(sof_body(8, 64, 48, &[(1, 0x52, 0)]))
        .to_string()
        .contains("sampling"));
    assert!(bad(sof_body(8, 64, 48, &[(1, 0x22, 4)]))
        .to_string()
        .contains("id above 3"));
    assert!(bad(sof_body(8, 64, 48, &[(1, 0x22, 0), (1, 0x11, 0)]))
        .to_string()
        .contains("duplicate"));
    let mut short = sof_body(8, 64, 48, &c3);
    short.pop();
    assert!(bad(short).to_string().contains("component count"));
    assert!(bad(vec![8, 0]).to_string().contains("shorter"));
    // Second SOF.
    let mut parts = headers_420();
    parts.insert(4, parts[3].clone());
    let e = parse_jpeg(&build(&parts, SCAN)).unwrap_err();
    assert!(e.to_string().contains("second frame header"), "{e}");
}

#[test]
fn dimensions() {
    let c3 = [(1, 0x22, 0), (2, 0x11, 1), (3, 0x11, 1)];
    let dims = |w, h| parse_jpeg(&with_part(3, seg(0xC0, &sof_body(8, w, h, &c3)))).unwrap();
    let i = dims(2040, 2040);
    assert_eq!(i.check_rtp(), Ok(()));
    assert_eq!(i.rtp_dimensions(), Some((255, 255)));
    let i = dims(2048, 1080);
    assert_eq!(
        i.check_rtp(),
        Err(NotCarriable::TooLarge {
            width: 2048,
            height: 1080
        })
    );
    assert_eq!(i.rtp_dimensions(), None);
    let i = dims(100, 48);
    assert_eq!(
        i.check_rtp(),
        Err(NotCarriable::NotMultipleOf8 {
            width: 100,
            height: 48
        })
    );
    assert_eq!(i.rtp_dimensions(), None);
}

#[test]
fn dht_standard_nonstandard_and_absent() {
    // Tables split over several segments: still standard.
    let mut parts = headers_420();
    let mut segs = Vec::new();
    for t in crate::huffman::STANDARD_TABLES {
        let mut b = Vec::new();
        t.write_dht_entry(&mut b);
        segs.push(seg(0xC4, &b));
    }
    parts.splice(4..5, segs);
    assert!(parse_jpeg(&build(&parts, SCAN)).unwrap().standard_huffman);

    // One value changed.
    let mut body = dht_standard();
    let last = body.len() - 1;
    body[last] ^= 1;
    let info = parse_jpeg(&with_part(4, seg(0xC4, &body))).unwrap();
    assert!(!info.standard_huffman);
    assert_eq!(info.check_rtp(), Err(NotCarriable::NonStandardHuffman));

    // Standard content under another id.
    let mut body = Vec::new();
    crate::huffman::DC_LUMA.write_dht_entry(&mut body);
    body[0] = 0x02;
    let mut parts = headers_420();
    parts.insert(5, seg(0xC4, &body));
    assert!(!parse_jpeg(&build(&parts, SCAN)).unwrap().standard_huffman);

    // Luma and chroma swapped.
    let mut body = Vec::new();
    crate::huffman::DC_LUMA.write_dht_entry(&mut body);
    body[0] = 0x01;
    assert!(
        !parse_jpeg(&with_part(4, seg(0xC4, &body)))
            .unwrap()
            .standard_huffman
    );

    // No DHT at all (implicit standard tables, as in AVI MJPEG).
    let mut parts = headers_420();
    parts.remove(4);
    let info = parse_jpeg(&build(&parts, SCAN)).unwrap();
    assert!(info.standard_huffman);
    assert_eq!(info.check_rtp(), Ok(()));
}

#[test]
fn dht_errors() {
    let bad = |body: &[u8]| parse_jpeg(&with_part(4, seg(0xC4, body))).unwrap_err();
    assert!(bad(&[0x20]).to_string().contains("class"));
    assert!(bad(&[0x04]).to_string().contains("id above 3"));
    assert!(bad(&[0x00, 1, 2]).to_string().contains("past the segment"));
    let mut b = vec![0x00, 0, 1];
    b.extend([0; 14]);
    assert!(bad(&b).to_string().contains("past the segment"));
    let mut b = vec![0x00];
    b.extend([255; 16]);
    assert!(bad(&b).to_string().contains("256"));
    assert!(bad(&[]).to_string().contains("no table"));
}

#[test]
fn dri_and_restart_markers() {
    let mut parts = headers_420();
    parts.insert(4, seg(0xDD, &[0x00, 0x04]));
    let f = build(&parts, SCAN);
    let info = parse_jpeg(&f).unwrap();
    assert_eq!(info.restart_interval, 4);
    assert_eq!(info.rtp_type(), Some(65));
    assert_eq!(info.scan(&f), SCAN); // RST markers stay inside the scan
    assert_eq!(info.check_rtp(), Ok(()));
    let mut parts = headers_420();
    parts.insert(4, seg(0xDD, &[0x00]));
    let e = parse_jpeg(&build(&parts, SCAN)).unwrap_err();
    assert!(
        matches!(e, JpegError::InvalidSegment { marker: 0xDD, .. }),
        "{e}"
    );
}

#[test]
fn sos_checks() {
    // Before SOF.
    let mut parts = headers_420();
    parts.swap(3, 5);
    let e = parse_jpeg(&build(&parts, SCAN)).unwrap_err();
    assert!(matches!(e, JpegError::MissingSof { .. }), "{e}");

    // Unknown component / bad table ids / bad counts.
    let bad = |body: Vec<u8>| parse_jpeg(&with_part(5, seg(0xDA, &body))).unwrap_err();
    assert!(bad(sos_body(&[(9, 0x00)]))
        .to_string()
        .contains("not in the frame header"));
    assert!(bad(sos_body(&[(1, 0x40)])).to_string().contains("above 3"));
    assert!(bad(sos_body(&[])).to_string().contains("component count"));
    assert!(bad(vec![]).to_string().contains("empty"));
    let mut b = sos_body(&[(1, 0)]);
    b.push(0);
    assert!(bad(b).to_string().contains("length"));

    // Wrong Huffman selectors.
    let f = with_part(5, seg(0xDA, &sos_body(&[(1, 0x00), (2, 0x00), (3, 0x11)])));
    assert_eq!(
        parse_jpeg(&f).unwrap().check_rtp(),
        Err(NotCarriable::HuffmanSelectors {
            selectors: vec![(0, 0), (0, 0), (1, 1)]
        })
    );
}

#[test]
fn several_scans() {
    // Non-interleaved: one scan per component, a DHT between scans.
    let mut parts = headers_420();
    parts[5] = seg(0xDA, &sos_body(&[(1, 0x00)]));
    let mut f = build(&parts, &[0x11, 0x22]);
    f.truncate(f.len() - 2);
    let first_scan_end = f.len();
    f.extend(seg(0xC4, &dht_standard()));
    f.extend(seg(0xDA, &sos_body(&[(2, 0x11)])));
    f.extend([0x33, 0xFF, 0x00]);
    f.extend(seg(0xDA, &sos_body(&[(3, 0x11)])));
    f.extend([0x44, 0xFF, 0xD9]);
    let info = parse_jpeg(&f).unwrap();
    assert_eq!(info.scan_count, 3);
    assert_eq!(info.scan_components.len(), 1);
    assert_eq!(info.scan_offset, first_scan_end - 2);
    // The scan is the first one only, up to the DHT.
    assert_eq!(info.scan_offset + info.scan_len, first_scan_end);
    assert_eq!(info.scan(&f), [0x11, 0x22]);
    assert_eq!(info.scan_end_marker, 0xC4);
    let p = info.rtp_problems();
    assert!(p.contains(&NotCarriable::MultipleScans { count: 3 }));
    assert!(p.contains(&NotCarriable::NonInterleavedScan { ids: vec![1] }));
}

/// Fuzz `post-scan-dqt` (fuzz/artifacts/jpeg_parse/crash-aabd17c2…, and the seed
/// fuzz/corpus/jpeg_parse/post-scan-dqt.jpg): a DQT between the scan data and EOI was
/// accepted by `check_rtp`, carried inside `scan()`, and redefined the tables
/// `qtables_for_rtp` sends.
#[test]
fn segments_between_scan_and_eoi_are_not_carriable() {
    for f in [
        &include_bytes!("../../testdata/fuzz-post-scan-dqt-crash.jpg")[..],
        &include_bytes!("../../testdata/fuzz-post-scan-dqt.jpg")[..],
    ] {
        let info = parse_jpeg(f).unwrap();
        assert_eq!(info.scan_count, 1);
        assert_eq!(info.scan_end_marker, 0xDB);
        let end = info.scan_offset + info.scan_len;
        assert_eq!(f[end..end + 2], [0xFF, 0xDB], "the scan ends at the DQT");
        assert!(!info.scan(f).windows(2).any(|w| w == [0xFF, 0xDB]));
        assert_eq!(
            info.check_rtp(),
            Err(NotCarriable::SegmentAfterScan { marker: 0xDB })
        );
        let msg = info.check_rtp().unwrap_err().to_string();
        assert!(msg.contains("DQT segment after the scan"), "{msg}");
    }
    // Built by hand: DQT, DHT, DRI, COM after the scan; the scan itself stays carriable.
    for (marker, body) in [
        (0xDB, qtable8(0, 7)),
        (0xC4, dht_standard()),
        (0xDD, vec![0, 4]),
        (0xFE, b"late".to_vec()),
    ] {
        let mut f = jpeg_420();
        let eoi = f.len() - 2;
        f.truncate(eoi);
        f.extend(seg(marker, &body));
        f.extend([0xFF, 0xD9]);
        let info = parse_jpeg(&f).unwrap();
        assert_eq!(info.scan(&f), SCAN, "{marker:02X}");
        assert_eq!(info.scan_offset + info.scan_len, eoi);
        assert_eq!(
            info.check_rtp(),
            Err(NotCarriable::SegmentAfterScan { marker })
        );
    }
    // Fill bytes and RSTn before EOI are fine.
    let mut f = jpeg_420();
    let eoi = f.len() - 2;
    f.truncate(eoi);
    f.extend([0xFF, 0xD0, 0x12, 0xFF, 0xFF, 0xD9]);
    let info = parse_jpeg(&f).unwrap();
    assert_eq!(info.scan_end_marker, 0xD9);
    assert_eq!(info.check_rtp(), Ok(()));
}

#[test]
fn trailing_bytes_after_eoi_are_ignored() {
    let mut f = jpeg_420();
    f.extend_from_slice(b"\0\0junk");
    let info = parse_jpeg(&f).unwrap();
    assert_eq!(info.scan(&f), SCAN);
}

#[test]
fn structural_errors_carry_offsets() {
    assert_eq!(parse_jpeg(b""), Err(JpegError::MissingSoi));
    assert_eq!(parse_jpeg(b"\xFF\xD9"), Err(JpegError::MissingSoi));
    assert_eq!(
        parse_jpeg(b"\xFF\xD8"),
        Err(JpegError::Truncated { offset: 2 })
    );
    assert_eq!(
        parse_jpeg(b"\xFF\xD8\xFF\xD9"),
        Err(JpegError::UnexpectedMarker {
            offset: 2,
            marker: 0xD9
        })
    );
    assert_eq!(
        parse_jpeg(b"\xFF\xD8\xFF\xD8"),
        Err(JpegError::UnexpectedMarker {
            offset: 2,
            marker: 0xD8
        })
    );
    assert_eq!(
        parse_jpeg(b"\xFF\xD8\x00"),
        Err(JpegError::ExpectedMarker {
            offset: 2,
            found: 0
        })
    );
    assert_eq!(
        parse_jpeg(b"\xFF\xD8\xFF\xE0\x00\x01"),
        Err(JpegError::BadSegmentLength {
            offset: 2,
            marker: 0xE0,
            len: 1
        })
    );

    let f = jpeg_420();
    // Truncated inside the DHT segment (headers: SOI 2, APP0 18, DQT 69, DQT 69, SOF0 19).
    let dht_at = 2 + 18 + 69 + 69 + 19;
    assert_eq!(f[dht_at + 1], 0xC4);
    assert_eq!(
        parse_jpeg(&f[..dht_at + 30]),
        Err(JpegError::Truncated { offset: dht_at })
    );
    assert_eq!(
        parse_jpeg(&f[..dht_at + 1]),
        Err(JpegError::Truncated { offset: dht_at })
    );
    // Truncated in the scan.
    let info = parse_jpeg(&f).unwrap();
    assert_eq!(
        parse_jpeg(&f[..f.len() - 2]),
        Err(JpegError::MissingEoi {
            offset: info.scan_offset
        })
    );
    assert_eq!(
        parse_jpeg(&f[..f.len() - 1]),
        Err(JpegError::MissingEoi {
            offset: info.scan_offset
        })
    );
    // Garbage between segments.
    let mut g = f.clone();
    g.insert(20, 0x42);
    assert_eq!(
        parse_jpeg(&g),
        Err(JpegError::ExpectedMarker {
            offset: 20,
            found: 0x42
        })
    );
}

#[test]
fn scan_is_bounded() {
    let info = parse_jpeg(&jpeg_420()).unwrap();
    assert!(info.scan(&[1, 2, 3]).is_empty());
}

#[test]
fn every_prefix_and_byte_flip_is_handled() {
    let f = jpeg_420();
    for n in 0..f.len() {
        assert!(parse_jpeg(&f[..n]).is_err(), "prefix {n}");
    }
    for i in 0..f.len() {
        for bit in 0..8 {
            let mut g = f.clone();
            g[i] ^= 1 << bit;
            if let Ok(info) = parse_jpeg(&g) {
                let _ = info.check_rtp();
                let _ = info.qtables_for_rtp();
                let _ = info.scan(&g);
            }
        }
    }
}
