//! Fixtures shared by the criterion benches in `benches/benches/`: RTSP messages captured from
//! real peers (ffmpeg and gst-rtsp-server, see `shared/interop/transcripts`), generated MJPEG
//! test-pattern frames and files, and RTP/JPEG packets made from them.
//!
//! Run the benches with `cargo bench -p benches` (`-- --warm-up-time 1 --measurement-time 3`
//! for a quick pass); `cargo test -p benches` checks these fixtures.

use bytes::Bytes;
use rtp_core::jpeg::{packetize, JpegPayload, PacketizeError};
use rtp_core::RtpHeader;

/// ffmpeg's SETUP request (exchange-ffmpeg-udp.txt).
pub const SETUP_REQUEST: &str = "SETUP rtsp://127.0.0.1:8554/test/stream=0 RTSP/1.0\r\n\
Transport: RTP/AVP/UDP;unicast;client_port=8924-8925\r\n\
CSeq: 3\r\n\
User-Agent: Lavf59.27.100\r\n\
\r\n";

/// ffmpeg's PLAY request (exchange-ffmpeg-udp.txt).
pub const PLAY_REQUEST: &str = "PLAY rtsp://127.0.0.1:8554/test/ RTSP/1.0\r\n\
Range: npt=0.000-\r\n\
CSeq: 4\r\n\
User-Agent: Lavf59.27.100\r\n\
Session: 5r83+Lb3oOrZWJlb\r\n\
\r\n";

/// gst-rtsp-server's DESCRIBE response with its SDP (exchange-ffmpeg-udp.txt, 371-byte body).
pub const DESCRIBE_RESPONSE: &str = "RTSP/1.0 200 OK\r\n\
CSeq: 2\r\n\
Content-Type: application/sdp\r\n\
Content-Base: rtsp://127.0.0.1:8554/test/\r\n\
Server: GStreamer RTSP server\r\n\
Date: Wed, 25 Nov 2026 14:07:58 GMT\r\n\
Content-Length: 371\r\n\
\r\n\
v=0\r\n\
o=- 7520370523123476073 1 IN IP4 127.0.0.1\r\n\
s=Session streamed with GStreamer\r\n\
i=rtsp-server\r\n\
t=0 0\r\n\
a=tool:GStreamer\r\n\
a=type:broadcast\r\n\
a=control:*\r\n\
a=range:npt=now-\r\n\
m=video 0 RTP/AVP 26\r\n\
c=IN IP4 0.0.0.0\r\n\
a=rtpmap:26 JPEG/90000\r\n\
a=framerate:30.000000\r\n\
a=control:stream=0\r\n\
a=ts-refclk:local\r\n\
a=mediaclk:sender\r\n\
a=ssrc:3199754862 cname:user3126256612@host-cadb910\r\n";

/// The MTU the server uses (IP payload: UDP header + RTP header + RTP payload).
pub const MTU: usize = 1400;
/// RTP payload bytes per packet at [`MTU`]: minus the UDP (8) and RTP (12) headers.
pub const MAX_PAYLOAD: usize = MTU - 8 - 12;

/// A test-pattern frame (baseline 4:2:0, standard Huffman tables: RTP/JPEG carriable).
pub fn test_frame(width: u16, height: u16) -> Bytes {
    mjpeg::testpattern::frame(7, width, height)
}

/// A parsed frame with what RFC 2435 sends of it (Q = 255, the frame's tables in band).
#[derive(Debug, Clone)]
pub struct RtpFrame {
    /// The JPEG.
    pub jpeg: Bytes,
    /// Its parsed header.
    pub info: mjpeg::JpegInfo,
    /// Its two quantization tables, 128 bytes.
    pub qtables: Vec<u8>,
}

impl RtpFrame {
    /// Parses `jpeg`; panics if it is not carriable (fixtures only).
    pub fn new(jpeg: Bytes) -> Self {
        let info = mjpeg::parse_jpeg(&jpeg).expect("fixture JPEG parses");
        info.check_rtp()
            .expect("fixture JPEG is RTP/JPEG carriable");
        let qtables = info.qtables_for_rtp();
        Self {
            jpeg,
            info,
            qtables,
        }
    }

    /// The RFC 2435 view of the frame, as the server packetizes it.
    pub fn payload(&self) -> JpegPayload<'_> {
        JpegPayload {
            type_: self.info.rtp_type().unwrap_or(1),
            q: 255,
            width: self.info.width,
            height: self.info.height,
            restart_interval: self.info.restart_interval,
            qtables: &self.qtables,
            scan: self.info.scan(&self.jpeg),
        }
    }

    /// RFC 2435 payloads of at most `max_payload` bytes.
    pub fn payloads(&self, max_payload: usize) -> Result<Vec<Bytes>, PacketizeError> {
        packetize(&self.payload(), max_payload)
    }

    /// Complete RTP packets (12-byte header, PT 26, consecutive sequence numbers from
    /// `first_seq`, timestamp `ts`, marker on the last one).
    pub fn rtp_packets(&self, first_seq: u16, ts: u32) -> Vec<Vec<u8>> {
        let payloads = self.payloads(MAX_PAYLOAD).expect("fixture packetizes");
        let n = payloads.len();
        payloads
            .iter()
            .enumerate()
            .map(|(i, p)| {
                let mut h = RtpHeader::new(26, first_seq.wrapping_add(i as u16), ts, 0x1234_5678);
                h.marker = i + 1 == n;
                let mut out = Vec::with_capacity(h.len() + p.len());
                h.write(&mut out);
                out.extend_from_slice(p);
                out
            })
            .collect()
    }
}

/// Rewrites the sequence numbers and timestamp of packets made by [`RtpFrame::rtp_packets`]
/// in place (bytes 2..4 and 4..8 of the fixed header), so one set of packets can be pushed
/// into a depacketizer again and again as new frames.
pub fn restamp(packets: &mut [Vec<u8>], first_seq: u16, ts: u32) {
    for (i, p) in packets.iter_mut().enumerate() {
        p[2..4].copy_from_slice(&first_seq.wrapping_add(i as u16).to_be_bytes());
        p[4..8].copy_from_slice(&ts.to_be_bytes());
    }
}

/// An MJPEG file of `n` generated frames in `format`.
pub fn mjpeg_file(n: u32, width: u16, height: u16, format: mjpeg::FileFormat) -> Bytes {
    let frames = mjpeg::testpattern::frames(n, width, height);
    let mut out = Vec::new();
    match format {
        mjpeg::FileFormat::Lab => mjpeg::write_lab(&frames, &mut out).expect("frames fit"),
        mjpeg::FileFormat::Concatenated => mjpeg::write_concatenated(&frames, &mut out),
    }
    Bytes::from(out)
}

/// A server configuration for in-process benches with thousands of sessions: limits raised,
/// no rate cap, looping media, and a session timeout of `session_timeout`.
pub fn many_sessions_config(
    session_timeout: std::time::Duration,
) -> rtsp_core::server::ServerConfig {
    rtsp_core::server::ServerConfig {
        rtp_local: "127.0.0.1:6970".parse().expect("address"),
        rtcp_local: "127.0.0.1:6971".parse().expect("address"),
        max_sessions: 20_000,
        max_connections: 20_000,
        max_connections_per_ip: 20_000,
        max_session_rate: 0,
        loop_media: true,
        session_timeout,
        ..rtsp_core::server::ServerConfig::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::BytesMut;
    use rtp_core::jpeg::JpegDepacketizer;
    use rtp_core::RtpPacket;
    use rtsp_core::message::{Decoded, Decoder, Message};

    fn decode_one(text: &str) -> Message {
        let mut buf = BytesMut::from(text.as_bytes());
        let mut d = Decoder::default();
        match d.decode(&mut buf) {
            Ok(Some(Decoded::Message(m))) => {
                assert!(buf.is_empty(), "bytes left over");
                m
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn messages_decode() {
        assert_eq!(decode_one(SETUP_REQUEST).cseq(), Some(3));
        assert_eq!(decode_one(PLAY_REQUEST).cseq(), Some(4));
        let m = decode_one(DESCRIBE_RESPONSE);
        assert_eq!(m.body().len(), 371);
    }

    #[test]
    fn packets_depacketize_to_the_frame() {
        let f = RtpFrame::new(test_frame(384, 288));
        let mut packets = f.rtp_packets(65530, 0);
        assert!(packets.len() > 1);
        let mut d = JpegDepacketizer::new(1 << 24);
        for round in 0..3u32 {
            restamp(
                &mut packets,
                65530u16.wrapping_add(round as u16 * 100),
                round * 3600,
            );
            for p in &packets {
                d.push(&RtpPacket::parse(p).unwrap()).unwrap();
            }
            let out = d.pull().expect("a frame per round");
            let info = mjpeg::parse_jpeg(&out.data).unwrap();
            assert_eq!((info.width, info.height), (384, 288));
            assert_eq!(info.scan(&out.data), f.info.scan(&f.jpeg));
        }
    }

    #[test]
    fn files_split() {
        for format in [mjpeg::FileFormat::Lab, mjpeg::FileFormat::Concatenated] {
            let file = mjpeg_file(5, 64, 48, format);
            let (found, frames) = mjpeg::split_frames(&file).unwrap();
            assert_eq!((found, frames.len()), (format, 5));
        }
    }
}
