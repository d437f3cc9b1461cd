//! RTP header parsing (strict and lenient): parse -> write -> parse is the identity, and a
//! packet without padding writes back to exactly the input bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rtp_core::{rtp_version, RtpError, RtpHeader, RtpPacket};

fn round_trip(data: &[u8], pkt: &RtpPacket<'_>) {
    let version = rtp_version(data).expect("parsed packet is not empty");
    let mut out = Vec::new();
    pkt.header.write_with_version(version, &mut out);
    assert_eq!(out.len(), pkt.header.len());
    out.extend_from_slice(pkt.payload);
    if !pkt.header.padding {
        assert_eq!(out, data, "re-written packet differs");
    }
    // RtpPacket::write adds its own padding when the P bit is set.
    let mut out = Vec::new();
    pkt.write(&mut out);
    let again = RtpPacket::parse(&out).expect("re-written packet does not parse");
    assert_eq!(&again, pkt);
    let (header, payload) = RtpHeader::parse(&out).expect("RtpHeader::parse");
    assert_eq!((&header, payload), (&pkt.header, pkt.payload));
}

fuzz_target!(|data: &[u8]| {
    let lenient = RtpPacket::parse_lenient(data);
    match RtpPacket::parse(data) {
        Ok(pkt) => {
            assert_eq!(rtp_version(data), Some(2));
            assert_eq!(lenient.as_ref(), Ok(&pkt));
            round_trip(data, &pkt);
        }
        Err(RtpError::BadVersion { version }) => {
            assert_ne!(version, 2);
            if let Ok(pkt) = &lenient {
                round_trip(data, pkt);
            }
        }
        Err(e) => assert_eq!(lenient, Err(e)),
    }
});
