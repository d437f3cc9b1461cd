//! Sans-IO RTP/RTCP (RFC 3550) and the RTP payload format for JPEG (RFC 2435).
//!
//! Everything here is pure: no sockets, files, threads or clock reads. Bytes come in as slices,
//! go out into caller-owned `Vec<u8>`s or shared [`bytes::Bytes`], and time is passed in as an
//! [`std::time::Instant`] (arrival times), RTP timestamp units, or [`NtpTime`] built from a
//! wallclock reading the caller made.
//!
//! * [`RtpHeader`] / [`RtpPacket`]: parse and write RTP packets (§5.1), including padding,
//!   extension and CSRCs. [`RtpPacket::parse_lenient`] accepts the course lab's version-0 packets.
//! * [`seq_newer`], [`seq_diff`], [`ts_diff`], [`SeqExtender`]: wraparound arithmetic (A.1).
//! * [`jpeg`]: RFC 2435 [`packetize`](jpeg::packetize) and the push/pull
//!   [`JpegDepacketizer`](jpeg::JpegDepacketizer) that rebuilds complete JFIF frames.
//! * [`rtcp`]: SR, RR, SDES, BYE and compound packets (§6).
//! * [`ReceiverStats`]: loss, fraction lost, jitter and RR report blocks (A.1, A.3, A.8).
//!
//! Three kinds of time: *now* (`Instant`, monotonic, only ever passed in), *media time* (RTP
//! timestamps, 90 kHz for JPEG, wrapping at 2^32) and *wallclock* ([`NtpTime`], only for SR).
//!
//! ```text
//!  sender:   JPEG scan ──packetize──▶ [payload]… ──RtpHeader::write + payload──▶ socket (caller)
//!  receiver: socket (caller) ──RtpPacket::parse──▶ JpegDepacketizer::push ──pull──▶ JFIF frame
//!                                        └──────▶ ReceiverStats::update ──report_block──▶ RR
//! ```
//!
//! # Example
//!
//! ```
//! use rtp_core::jpeg::{packetize, JpegDepacketizer, JpegPayload};
//! use rtp_core::{RtpHeader, RtpPacket};
//!
//! // Sender: one frame (Q 1..=99 uses the standard tables, so none are sent).
//! let scan = vec![0x12u8; 3000];
//! let frame = JpegPayload { type_: 1, q: 75, width: 320, height: 240, restart_interval: 0,
//!                           qtables: &[], scan: &scan };
//! let payloads = packetize(&frame, 1400)?;
//! let mut datagrams = Vec::new();
//! for (i, payload) in payloads.iter().enumerate() {
//!     let mut header = RtpHeader::new(26, 1000 + i as u16, 90_000, 0x1234_5678);
//!     header.marker = i + 1 == payloads.len(); // last packet of the frame
//!     let mut datagram = Vec::new();
//!     header.write(&mut datagram);
//!     datagram.extend_from_slice(payload);
//!     datagrams.push(datagram);
//! }
//!
//! // Receiver.
//! let mut depacketizer = JpegDepacketizer::new(1 << 20);
//! for d in &datagrams {
//!     depacketizer.push(&RtpPacket::parse(d)?)?;
//! }
//! let jpeg = depacketizer.pull().expect("a complete frame");
//! assert_eq!(jpeg.timestamp, 90_000);
//! assert!(jpeg.data.starts_with(&[0xff, 0xd8]) && jpeg.data.ends_with(&[0xff, 0xd9]));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![deny(missing_docs)]
#![forbid(unsafe_code)]
#![warn(unreachable_pub)]
#![deny(clippy::print_stdout, clippy::print_stderr, clippy::dbg_macro)]

mod header;
pub mod jpeg;
mod ntp;
pub mod rtcp;
mod seq;
mod stats;

pub use header::{
    rtp_version, FixedHeader, RtpError, RtpExtension, RtpHeader, RtpPacket, FIXED_HEADER_LEN,
};
pub use ntp::{duration_to_ntp_short, ntp_short_to_duration, rtt_from_report, NtpTime};
pub use seq::{seq_diff, seq_newer, ts_diff, ts_newer, SeqExtender};
pub use stats::{ReceiverStats, SeqStatus};
