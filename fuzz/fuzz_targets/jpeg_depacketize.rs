//! The RFC 2435 depacketizer fed a sequence of packets (the input as `u16` length-prefixed
//! records, each parsed as an RTP packet). Every frame it emits must be a JPEG that starts
//! with SOI, ends with EOI, respects the size cap and parses with `mjpeg::parse_jpeg`.
//! The course-lab depacketizer gets the same packets (no panics, frames start with SOI).
#![no_main]

use libfuzzer_sys::fuzz_target;
use rtp_core::jpeg::{JpegDepacketizer, LabDepacketizer};
use rtp_core::RtpPacket;
use rtsp_mjpeg_fuzz::records;

const MAX_FRAME: usize = 256 * 1024;

fuzz_target!(|data: &[u8]| {
    let mut depack = JpegDepacketizer::new(MAX_FRAME);
    let mut lab = LabDepacketizer::new(MAX_FRAME);
    let mut frames = 0u64;
    for rec in records(data) {
        let Ok(pkt) = RtpPacket::parse_lenient(rec) else {
            continue;
        };
        let _ = depack.push(&pkt);
        while let Some(frame) = depack.pull() {
            frames += 1;
            let d = &frame.data;
            assert!(d.len() <= MAX_FRAME, "frame over the cap: {}", d.len());
            assert!(d.starts_with(&[0xFF, 0xD8]), "frame without SOI");
            assert!(d.ends_with(&[0xFF, 0xD9]), "frame without EOI");
            if let Err(e) = mjpeg::parse_jpeg(d) {
                panic!("depacketized frame does not parse: {e}");
            }
        }
        let _ = lab.push(&pkt);
        while let Some(frame) = lab.pull() {
            assert!(frame.data.len() <= MAX_FRAME);
            assert!(
                frame.data.starts_with(&[0xFF, 0xD8]),
                "lab frame without SOI"
            );
        }
    }
    let stats = depack.stats();
    assert_eq!(stats.frames_emitted, frames);
    assert!(stats.packets_ignored <= stats.packets);
    depack.reset();
});
