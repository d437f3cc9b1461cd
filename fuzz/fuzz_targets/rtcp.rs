//! Compound RTCP parsing: no panics, and what parses writes back to a compound packet that
//! parses to the same packets.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rtp_core::rtcp::{write_compound, RtcpPacket};

fuzz_target!(|data: &[u8]| {
    let Ok(packets) = RtcpPacket::parse_compound(data) else {
        return;
    };
    let mut out = Vec::new();
    write_compound(&packets, &mut out);
    assert_eq!(out.len() % 4, 0, "RTCP packets are 32-bit aligned");
    let again = RtcpPacket::parse_compound(&out);
    if packets.is_empty() {
        // Only unknown packet types: nothing written.
        assert!(out.is_empty());
        return;
    }
    let again = again.expect("re-written compound packet does not parse");
    assert_eq!(again, packets);
    for p in &packets {
        assert!((200..=203).contains(&p.packet_type()));
    }
});
