//! Sans-IO RTP/RTCP (RFC 3550) and the RTP payload format for JPEG (RFC 2435).
#![deny(missing_docs)]
