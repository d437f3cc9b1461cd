//! Sans-IO RTP/RTCP (RFC 3550) and the RTP payload format for JPEG (RFC 2435).
#![deny(missing_docs)]
#![forbid(unsafe_code)]
#![warn(unreachable_pub)]
#![deny(clippy::print_stdout, clippy::print_stderr)]

mod header;
pub mod jpeg;
mod ntp;
pub mod rtcp;
mod seq;
mod stats;

pub use header::{rtp_version, RtpError, RtpExtension, RtpHeader, RtpPacket};
pub use ntp::NtpTime;
pub use seq::{seq_diff, seq_newer, ts_diff, ts_newer, SeqExtender};
pub use stats::{ReceiverStats, SeqStatus};
