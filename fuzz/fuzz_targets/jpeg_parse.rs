//! `parse_jpeg` and the RFC 2435 helpers on arbitrary bytes. When the image is carriable, it is
//! also sent through the packetizer and depacketizer, and the rebuilt JPEG must parse to the
//! same image (size, type, tables, restart interval, scan data).
#![no_main]

use libfuzzer_sys::fuzz_target;
use mjpeg::parse_jpeg;
use rtp_core::jpeg::{packetize, JpegDepacketizer, JpegPayload, PacketizeError};
use rtp_core::{RtpHeader, RtpPacket};

fuzz_target!(|data: &[u8]| {
    let Ok(info) = parse_jpeg(data) else {
        return;
    };
    let scan = info.scan(data);
    assert!(info.scan_offset <= data.len());
    assert!(
        info.scan_offset + info.scan_len <= data.len(),
        "scan out of range"
    );
    assert_eq!(scan.len(), info.scan_len);
    let problems = info.rtp_problems();
    let carriable = info.check_rtp();
    assert_eq!(carriable.is_ok(), problems.is_empty());
    let qtables = info.qtables_for_rtp();
    assert!(
        qtables.is_empty() || qtables.len() == 128,
        "qtables_for_rtp: {}",
        qtables.len()
    );
    let _ = (info.rtp_type(), info.rtp_dimensions(), info.qtable(0));
    if carriable.is_err() {
        return;
    }
    let type_ = info.rtp_type().expect("carriable image has an RTP type");
    let (w8, h8) = info
        .rtp_dimensions()
        .expect("carriable image has RTP dimensions");
    assert_eq!(
        qtables.len(),
        128,
        "carriable image without two 8-bit tables"
    );

    // RTP round trip, as the server sends it: Q = 255 with the frame's tables in band.
    let payload = JpegPayload {
        type_,
        q: 255,
        width: info.width,
        height: info.height,
        restart_interval: info.restart_interval,
        qtables: &qtables,
        scan,
    };
    let max_payload = 200 + data.len() % 1300;
    let payloads = match packetize(&payload, max_payload) {
        Ok(p) => p,
        // Nothing to send, or a 0x0 image: legitimately refused.
        Err(PacketizeError::EmptyScan | PacketizeError::ZeroDimension { .. }) => return,
        Err(e) => panic!("carriable image refused by the packetizer: {e}"),
    };
    let mut depack = JpegDepacketizer::new(usize::MAX);
    let n = payloads.len();
    for (i, p) in payloads.iter().enumerate() {
        let mut header = RtpHeader::new(26, 65530u16.wrapping_add(i as u16), 1234, 5678);
        header.marker = i + 1 == n;
        depack
            .push(&RtpPacket { header, payload: p })
            .expect("own packets rejected");
    }
    let frame = depack.pull().expect("own packets gave no frame");
    assert!(depack.pull().is_none());
    assert_eq!((frame.timestamp, frame.first_seq), (1234, 65530));
    let rebuilt = parse_jpeg(&frame.data).expect("rebuilt JPEG does not parse");
    assert_eq!(
        (rebuilt.width, rebuilt.height),
        (u16::from(w8) * 8, u16::from(h8) * 8)
    );
    assert_eq!(rebuilt.rtp_type(), Some(type_));
    assert_eq!(rebuilt.restart_interval, info.restart_interval);
    // The tables in effect when the scan starts must be the same on both sides (compare the
    // headers alone: `qtables_for_rtp` reports the last definition of each table).
    let at_sos = |jpeg: &[u8], info: &mjpeg::JpegInfo| {
        let mut head = jpeg[..info.scan_offset].to_vec();
        head.extend_from_slice(&[0xFF, 0xD9]);
        parse_jpeg(&head).ok().map(|i| i.qtables_for_rtp())
    };
    if let Some(sent) = at_sos(data, &info) {
        assert_eq!(
            qtables, sent,
            "qtables_for_rtp sends tables the scan does not use"
        );
        assert_eq!(
            at_sos(&frame.data, &rebuilt),
            Some(sent),
            "receiver's tables differ"
        );
    }
    assert_eq!(rebuilt.scan(&frame.data), scan, "scan data changed");
    rebuilt.check_rtp().expect("rebuilt JPEG is not carriable");
});
