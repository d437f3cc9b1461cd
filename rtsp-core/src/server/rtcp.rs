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

pub(crate) use rtp_core::rtcp::ReportBlock;
use rtp_core::rtcp::{Bye, RtcpPacket, Sdes, SenderReport};
use rtp_core::NtpTime;

/// A compound packet: SR, SDES with one CNAME item, and a BYE if `bye` (written with
/// [`rtp_core::rtcp`]; a few per session every 5 s, not on the hot path).
pub(crate) fn write_report(info: &SenderInfo, cname: &str, bye: bool, out: &mut Vec<u8>) {
    SenderReport {
        ssrc: info.ssrc,
        ntp_time: NtpTime(info.ntp),
        rtp_timestamp: info.rtp_time,
        packet_count: info.packets,
        octet_count: info.octets,
        reports: Vec::new(),
    }
    .write(out);
    Sdes::cname(info.ssrc, cname).write(out);
    if bye {
        Bye {
            ssrcs: vec![info.ssrc],
            reason: None,
        }
        .write(out);
    }
}

/// The report blocks (of SRs and RRs) of a compound RTCP packet, `None` if it is not RTCP
/// at all (hole-punch junk, a truncated packet, an RTP packet).
pub(crate) fn parse_report_blocks(data: &[u8]) -> Option<Reports> {
    // RTCP packet types are 192..=223 (RFC 5761 §4); an RTP packet or junk is not RTCP.
    if data.len() < 8 || !(192..=223).contains(&data[1]) {
        return None;
    }
    let packets = RtcpPacket::parse_compound(data).ok()?;
    let mut reports = Reports::default();
    for p in packets {
        match p {
            RtcpPacket::SenderReport(sr) => {
                reports.senders.push(sr.ssrc);
                reports.blocks.extend(sr.reports);
            }
            RtcpPacket::ReceiverReport(rr) => reports.blocks.extend(rr.reports),
            _ => {}
        }
    }
    Some(reports)
}

/// What a compound RTCP packet from a client says.
#[derive(Debug, Default)]
pub(crate) struct Reports {
    /// Report blocks (of SRs and RRs).
    pub(crate) blocks: Vec<ReportBlock>,
    /// The SSRCs of its sender reports: one of our own sessions' SSRC here means the packet
    /// is our own SR come back (a session pointed at the server's own RTCP socket).
    pub(crate) senders: Vec<u32>,
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
        // Our own SR parses (no report blocks) and names its sender.
        let ours = parse_report_blocks(&out).unwrap();
        assert_eq!((ours.blocks, ours.senders), (vec![], vec![0x0102_0304]));
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
        let reports = parse_report_blocks(&rr).unwrap();
        assert!(reports.senders.is_empty());
        assert_eq!(
            reports.blocks,
            vec![ReportBlock {
                ssrc: 0xAABB_CCDD,
                fraction_lost: 64,
                cumulative_lost: -2,
                extended_highest_seq: 100,
                jitter: 7,
                last_sr: 0,
                delay_since_last_sr: 0,
            }]
        );
        // Junk and hole-punch packets are not RTCP.
        assert!(parse_report_blocks(&[0; 4]).is_none());
        assert!(parse_report_blocks(&[0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]).is_none());
        assert!(parse_report_blocks(&rr[..20]).is_none());
    }
}
