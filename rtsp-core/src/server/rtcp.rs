//! The little RTCP (RFC 3550 §6) a sender needs: SR + SDES CNAME (+ BYE) out, report blocks in.

/// Sender info for an SR (RFC 3550 §6.4.1).
#[derive(Debug, Clone, Copy)]
pub(crate) struct SenderInfo {
    pub(crate) ssrc: u32,
    pub(crate) ntp: u64,
    pub(crate) rtp_time: u32,
    pub(crate) packets: u32,
    pub(crate) octets: u32,
}

/// A compound packet: SR, SDES with one CNAME item, and a BYE if `bye`.
pub(crate) fn write_report(info: &SenderInfo, cname: &str, bye: bool, out: &mut Vec<u8>) {
    // SR: V=2 P=0 RC=0, PT=200, length 6 (28 bytes).
    out.extend_from_slice(&[0x80, 200, 0, 6]);
    out.extend_from_slice(&info.ssrc.to_be_bytes());
    out.extend_from_slice(&info.ntp.to_be_bytes());
    out.extend_from_slice(&info.rtp_time.to_be_bytes());
    out.extend_from_slice(&info.packets.to_be_bytes());
    out.extend_from_slice(&info.octets.to_be_bytes());
    // SDES: one chunk, CNAME item, END, padded to 32 bits.
    let cname = &cname.as_bytes()[..cname.len().min(255)];
    let chunk_len = 4 + 2 + cname.len() + 1;
    let padded = chunk_len.div_ceil(4) * 4;
    let words = (4 + padded) / 4 - 1;
    out.extend_from_slice(&[0x81, 202]);
    out.extend_from_slice(&(words as u16).to_be_bytes());
    out.extend_from_slice(&info.ssrc.to_be_bytes());
    out.push(1);
    out.push(cname.len() as u8);
    out.extend_from_slice(cname);
    out.resize(out.len() + (padded - chunk_len) + 1, 0);
    if bye {
        out.extend_from_slice(&[0x81, 203, 0, 1]);
        out.extend_from_slice(&info.ssrc.to_be_bytes());
    }
}

/// One report block of an RR or SR (RFC 3550 §6.4.1), as received.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ReportBlock {
    pub(crate) ssrc: u32,
    pub(crate) fraction_lost: u8,
    pub(crate) cumulative_lost: i32,
    pub(crate) highest_seq: u32,
    pub(crate) jitter: u32,
}

/// The report blocks of a compound RTCP packet, `None` if it is not RTCP at all
/// (hole-punch junk, a truncated packet, an RTP packet).
pub(crate) fn parse_report_blocks(mut data: &[u8]) -> Option<Vec<ReportBlock>> {
    let mut blocks = Vec::new();
    if data.len() < 8 {
        return None;
    }
    while !data.is_empty() {
        if data.len() < 4 || data[0] >> 6 != 2 {
            return None;
        }
        let count = usize::from(data[0] & 0x1F);
        let pt = data[1];
        let len = (usize::from(u16::from_be_bytes([data[2], data[3]])) + 1) * 4;
        if len > data.len() || !(192..=223).contains(&pt) {
            return None;
        }
        let body = &data[4..len];
        let skip = match pt {
            200 => Some(24), // SR: sender SSRC + 20 bytes of sender info
            201 => Some(4),  // RR: sender SSRC
            _ => None,
        };
        if let Some(skip) = skip {
            let mut rest = body.get(skip..)?;
            for _ in 0..count {
                let b = rest.get(..24)?;
                let word = |i: usize| u32::from_be_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]);
                let lost24 = word(4) & 0x00FF_FFFF;
                let cumulative_lost = ((lost24 << 8) as i32) >> 8;
                blocks.push(ReportBlock {
                    ssrc: word(0),
                    fraction_lost: b[4],
                    cumulative_lost,
                    highest_seq: word(8),
                    jitter: word(12),
                });
                rest = &rest[24..];
            }
        }
        data = &data[len..];
    }
    Some(blocks)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn report_layout() {
        let info = SenderInfo {
            ssrc: 0x0102_0304,
            ntp: 0x1122_3344_5566_7788,
            rtp_time: 9,
            packets: 3,
            octets: 4000,
        };
        let mut out = Vec::new();
        write_report(&info, "abc", true, &mut out);
        assert_eq!(out.len(), 28 + 16 + 8);
        assert_eq!(&out[..4], &[0x80, 200, 0, 6]);
        assert_eq!(&out[28..32], &[0x81, 202, 0, 3]);
        assert_eq!(&out[36..41], &[1, 3, b'a', b'b', b'c']);
        assert_eq!(&out[44..48], &[0x81, 203, 0, 1]);
        // Our own SR parses (no report blocks).
        assert_eq!(parse_report_blocks(&out), Some(vec![]));
        for cname in ["", "a", "ab", "abcd", "abcdefgh"] {
            let mut out = Vec::new();
            write_report(&info, cname, false, &mut out);
            assert_eq!(out.len() % 4, 0);
            assert!(parse_report_blocks(&out).is_some());
        }
    }

    #[test]
    fn receiver_report() {
        let mut rr = vec![0x81, 201, 0, 7, 0, 0, 0, 1];
        rr.extend_from_slice(&0xAABB_CCDDu32.to_be_bytes());
        rr.extend_from_slice(&[64, 0xFF, 0xFF, 0xFE]); // fraction 1/4, cumulative -2
        rr.extend_from_slice(&100u32.to_be_bytes());
        rr.extend_from_slice(&7u32.to_be_bytes());
        rr.extend_from_slice(&[0; 8]);
        let blocks = parse_report_blocks(&rr).unwrap();
        assert_eq!(
            blocks,
            vec![ReportBlock {
                ssrc: 0xAABB_CCDD,
                fraction_lost: 64,
                cumulative_lost: -2,
                highest_seq: 100,
                jitter: 7
            }]
        );
        // Junk and hole-punch packets are not RTCP.
        assert_eq!(parse_report_blocks(&[0; 4]), None);
        assert_eq!(
            parse_report_blocks(&[0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]),
            None
        );
        assert_eq!(parse_report_blocks(&rr[..20]), None);
    }
}
