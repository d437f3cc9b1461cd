use super::*;
use proptest::prelude::*;

fn block(n: u32) -> ReportBlock {
    ReportBlock {
        ssrc: 0x1000 + n,
        fraction_lost: 64,
        cumulative_lost: -3,
        extended_highest_seq: 0x0001_2345,
        jitter: 77,
        last_sr: 0xaabb_ccdd,
        delay_since_last_sr: 0x0001_8000,
    }
}

fn roundtrip(p: RtcpPacket) -> Vec<u8> {
    let mut out = Vec::new();
    p.write(&mut out);
    assert_eq!(out.len() % 4, 0);
    assert_eq!(RtcpPacket::parse_compound(&out).unwrap(), vec![p]);
    out
}

#[test]
fn sender_report_fields() {
    // As sent by gst-rtsp-server (values from the transcript): 28 bytes without report blocks.
    let sr = SenderReport {
        ssrc: 0x4e2c_7c52,
        ntp_time: NtpTime::from_parts(4_004_604_494, 0x0f6c_7a7c),
        rtp_timestamp: 2_040_960_802,
        packet_count: 1026,
        octet_count: 1_360_855,
        reports: vec![],
    };
    let out = roundtrip(RtcpPacket::SenderReport(sr.clone()));
    assert_eq!(out.len(), 28);
    assert_eq!(&out[..4], &[0x80, 200, 0, 6]);
    assert_eq!(&out[4..8], &0x4e2c_7c52u32.to_be_bytes());
    assert_eq!(&out[8..12], &4_004_604_494u32.to_be_bytes());
    assert_eq!(&out[12..16], &0x0f6c_7a7cu32.to_be_bytes());
    assert_eq!(&out[16..20], &2_040_960_802u32.to_be_bytes());
    assert_eq!(&out[20..24], &1026u32.to_be_bytes());
    assert_eq!(&out[24..28], &1_360_855u32.to_be_bytes());
    let with_blocks = SenderReport {
        reports: vec![block(1), block(2)],
        ..sr
    };
    let out = roundtrip(RtcpPacket::SenderReport(with_blocks));
    assert_eq!(out[0], 0x82);
    assert_eq!(out.len(), 28 + 48);
}

#[test]
fn receiver_report_and_block_fields() {
    let rr = ReceiverReport {
        ssrc: 0x74f8_3dcf,
        reports: vec![block(0)],
    };
    let out = roundtrip(RtcpPacket::ReceiverReport(rr));
    assert_eq!(out.len(), 32);
    assert_eq!(&out[..4], &[0x81, 201, 0, 7]);
    assert_eq!(&out[8..12], &0x1000u32.to_be_bytes());
    assert_eq!(out[12], 64, "fraction lost");
    assert_eq!(
        &out[13..16],
        &[0xff, 0xff, 0xfd],
        "cumulative lost, signed 24-bit"
    );
    assert_eq!(&out[16..20], &0x0001_2345u32.to_be_bytes());
    assert_eq!(&out[20..24], &77u32.to_be_bytes());
    assert_eq!(&out[24..28], &0xaabb_ccddu32.to_be_bytes());
    assert_eq!(&out[28..32], &0x0001_8000u32.to_be_bytes());
    // An empty RR (ffmpeg's 8-byte hole punch).
    let out = roundtrip(RtcpPacket::ReceiverReport(ReceiverReport {
        ssrc: 5,
        reports: vec![],
    }));
    assert_eq!(out, vec![0x80, 201, 0, 1, 0, 0, 0, 5]);
}

#[test]
fn cumulative_lost_is_clamped_to_24_bits() {
    let mut out = Vec::new();
    ReportBlock {
        cumulative_lost: 10_000_000,
        ..block(0)
    }
    .write(&mut out);
    assert_eq!(&out[5..8], &[0x7f, 0xff, 0xff]);
    out.clear();
    ReportBlock {
        cumulative_lost: -10_000_000,
        ..block(0)
    }
    .write(&mut out);
    assert_eq!(&out[5..8], &[0x80, 0, 0]);
    assert_eq!(
        ReportBlock::parse(&[
            0, 0, 0, 0, 0, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0
        ])
        .cumulative_lost,
        -0x80_0000
    );
}

#[test]
fn sdes_cname() {
    let sdes = Sdes::cname(0x4e2c_7c52, "user80125802@host-377701b9");
    let out = roundtrip(RtcpPacket::Sdes(sdes.clone()));
    assert_eq!(&out[..2], &[0x81, 202]);
    assert_eq!(out[8], SDES_CNAME);
    assert_eq!(usize::from(out[9]), 26);
    assert_eq!(out.len(), 4 + 4 + 2 + 26 + 4); // end byte plus padding to a word
    assert_eq!(
        sdes.cname_of(0x4e2c_7c52),
        Some(&b"user80125802@host-377701b9"[..])
    );
    assert_eq!(sdes.cname_of(1), None);
    // A chunk whose items fill a whole word still gets an end-of-items word.
    let out = roundtrip(RtcpPacket::Sdes(Sdes::cname(1, "ab")));
    assert_eq!(out.len(), 4 + 4 + 4 + 4);
}

#[test]
fn sdes_multiple_chunks_and_items() {
    let sdes = Sdes {
        chunks: vec![
            SdesChunk {
                ssrc: 1,
                items: vec![
                    SdesItem {
                        kind: 1,
                        value: b"a@b".to_vec(),
                    },
                    SdesItem {
                        kind: 6,
                        value: b"tool".to_vec(),
                    },
                ],
            },
            SdesChunk {
                ssrc: 2,
                items: vec![],
            },
        ],
    };
    roundtrip(RtcpPacket::Sdes(sdes));
}

#[test]
fn bye_with_and_without_reason() {
    let out = roundtrip(RtcpPacket::Bye(Bye {
        ssrcs: vec![7],
        reason: None,
    }));
    assert_eq!(out, vec![0x81, 203, 0, 1, 0, 0, 0, 7]);
    let out = roundtrip(RtcpPacket::Bye(Bye {
        ssrcs: vec![7, 8],
        reason: Some(b"teardown".to_vec()),
    }));
    assert_eq!(out.len(), 4 + 8 + 12);
    assert_eq!(out[12], 8);
    // VLC's TEARDOWN: SR with SSRC 0 plus BYE.
    let mut c = Vec::new();
    write_compound(
        &[
            RtcpPacket::SenderReport(SenderReport::default()),
            RtcpPacket::Bye(Bye {
                ssrcs: vec![0],
                reason: None,
            }),
        ],
        &mut c,
    );
    let parsed = RtcpPacket::parse_compound(&c).unwrap();
    assert_eq!(
        parsed
            .iter()
            .map(RtcpPacket::packet_type)
            .collect::<Vec<_>>(),
        vec![PT_SR, PT_BYE]
    );
}

#[test]
fn compound_skips_unknown_types() {
    let mut c = Vec::new();
    RtcpPacket::ReceiverReport(ReceiverReport {
        ssrc: 1,
        reports: vec![block(1)],
    })
    .write(&mut c);
    c.extend_from_slice(&[0x80, 204, 0, 2, 0, 0, 0, 1, b'n', b'a', b'm', b'e']); // APP
    c.extend_from_slice(&[0x81, 205, 0, 2, 0, 0, 0, 1, 0, 0, 0, 2]); // RTPFB
    Sdes::cname(1, "x").write(&mut c);
    let parsed = RtcpPacket::parse_compound(&c).unwrap();
    assert_eq!(parsed.len(), 2);
    assert!(matches!(parsed[0], RtcpPacket::ReceiverReport(_)));
    assert!(matches!(parsed[1], RtcpPacket::Sdes(_)));
}

#[test]
fn padding_on_last_packet() {
    let mut c = Vec::new();
    Bye {
        ssrcs: vec![3],
        reason: None,
    }
    .write(&mut c);
    c[0] |= 0x20;
    c[3] = 2;
    c.extend_from_slice(&[0, 0, 0, 4]);
    assert_eq!(
        RtcpPacket::parse_compound(&c).unwrap(),
        vec![RtcpPacket::Bye(Bye {
            ssrcs: vec![3],
            reason: None
        })]
    );
    let n = c.len();
    c[n - 1] = 0;
    assert_eq!(
        RtcpPacket::parse_compound(&c),
        Err(RtcpError::BadPadding {
            offset: 0,
            padding: 0
        })
    );
    c[n - 1] = 9;
    assert_eq!(
        RtcpPacket::parse_compound(&c),
        Err(RtcpError::BadPadding {
            offset: 0,
            padding: 9
        })
    );
}

#[test]
fn errors_carry_offsets() {
    assert_eq!(
        RtcpPacket::parse_compound(&[]),
        Err(RtcpError::TooShort { offset: 0, len: 0 })
    );
    let mut c = Vec::new();
    ReceiverReport {
        ssrc: 1,
        reports: vec![],
    }
    .write(&mut c);
    let mut bad = c.clone();
    bad.extend_from_slice(&[0x80, 201]);
    assert_eq!(
        RtcpPacket::parse_compound(&bad),
        Err(RtcpError::TooShort { offset: 8, len: 2 })
    );
    let mut bad = c.clone();
    bad.extend_from_slice(&[0x40, 201, 0, 0]);
    assert_eq!(
        RtcpPacket::parse_compound(&bad),
        Err(RtcpError::BadVersion {
            offset: 8,
            version: 1
        })
    );
    let mut bad = c.clone();
    bad.extend_from_slice(&[0x80, 201, 0, 5, 0, 0, 0, 0]);
    assert_eq!(
        RtcpPacket::parse_compound(&bad),
        Err(RtcpError::Truncated {
            offset: 8,
            needed: 24,
            available: 8
        })
    );
    // RC = 1 but no room for the block.
    let bad = [0x81, 201, 0, 1, 0, 0, 0, 0];
    assert!(matches!(
        RtcpPacket::parse_compound(&bad),
        Err(RtcpError::Malformed {
            offset: 0,
            packet_type: 201,
            ..
        })
    ));
    let bad = [0x81, 200, 0, 1, 0, 0, 0, 0];
    assert!(matches!(
        RtcpPacket::parse_compound(&bad),
        Err(RtcpError::Malformed {
            packet_type: 200,
            ..
        })
    ));
    let bad = [0x81, 202, 0, 2, 0, 0, 0, 0, 1, 5, b'a', b'b'];
    assert!(matches!(
        RtcpPacket::parse_compound(&bad),
        Err(RtcpError::Malformed {
            packet_type: 202,
            ..
        })
    ));
    let bad = [0x82, 203, 0, 1, 0, 0, 0, 0];
    assert!(matches!(
        RtcpPacket::parse_compound(&bad),
        Err(RtcpError::Malformed {
            packet_type: 203,
            ..
        })
    ));
}

fn arb_block() -> impl Strategy<Value = ReportBlock> {
    (
        any::<u32>(),
        any::<u8>(),
        -0x80_0000i32..=0x7f_ffff,
        any::<u32>(),
        any::<u32>(),
        any::<u32>(),
        any::<u32>(),
    )
        .prop_map(
            |(
                ssrc,
                fraction_lost,
                cumulative_lost,
                extended_highest_seq,
                jitter,
                last_sr,
                delay_since_last_sr,
            )| ReportBlock {
                ssrc,
                fraction_lost,
                cumulative_lost,
                extended_highest_seq,
                jitter,
                last_sr,
                delay_since_last_sr,
            },
        )
}

fn arb_packet() -> impl Strategy<Value = RtcpPacket> {
    let blocks = || prop::collection::vec(arb_block(), 0..=31);
    prop_oneof![
        (
            any::<u32>(),
            any::<u64>(),
            any::<u32>(),
            any::<u32>(),
            any::<u32>(),
            blocks()
        )
            .prop_map(|(ssrc, ntp, ts, pc, oc, reports)| {
                RtcpPacket::SenderReport(SenderReport {
                    ssrc,
                    ntp_time: NtpTime(ntp),
                    rtp_timestamp: ts,
                    packet_count: pc,
                    octet_count: oc,
                    reports,
                })
            }),
        (any::<u32>(), blocks()).prop_map(|(ssrc, reports)| RtcpPacket::ReceiverReport(
            ReceiverReport { ssrc, reports }
        )),
        prop::collection::vec(
            (
                any::<u32>(),
                prop::collection::vec(
                    (1u8..=255, prop::collection::vec(any::<u8>(), 0..=255)),
                    0..4
                )
            ),
            0..=31
        )
        .prop_map(|chunks| RtcpPacket::Sdes(Sdes {
            chunks: chunks
                .into_iter()
                .map(|(ssrc, items)| SdesChunk {
                    ssrc,
                    items: items
                        .into_iter()
                        .map(|(kind, value)| SdesItem { kind, value })
                        .collect()
                })
                .collect()
        })),
        (
            prop::collection::vec(any::<u32>(), 0..=31),
            prop::option::of(prop::collection::vec(any::<u8>(), 1..=255))
        )
            .prop_map(|(ssrcs, reason)| RtcpPacket::Bye(Bye { ssrcs, reason })),
    ]
}

proptest! {
    #[test]
    fn compound_roundtrip(packets in prop::collection::vec(arb_packet(), 1..5)) {
        let mut out = Vec::new();
        write_compound(&packets, &mut out);
        prop_assert_eq!(RtcpPacket::parse_compound(&out).unwrap(), packets);
    }

    #[test]
    fn parse_compound_never_panics(b in prop::collection::vec(any::<u8>(), 0..300)) {
        let _ = RtcpPacket::parse_compound(&b);
    }

    #[test]
    fn parse_compound_never_panics_with_valid_headers(
        parts in prop::collection::vec((0u8..32, any::<bool>(), 198u8..206, prop::collection::vec(any::<u8>(), 0..80)), 1..5)
    ) {
        let mut b = Vec::new();
        for (count, pad, pt, body) in parts {
            let words = body.len() / 4;
            b.push(0x80 | (u8::from(pad) << 5) | count);
            b.push(pt);
            b.extend_from_slice(&(words as u16).to_be_bytes());
            b.extend_from_slice(&body[..words * 4]);
        }
        let _ = RtcpPacket::parse_compound(&b);
    }
}
