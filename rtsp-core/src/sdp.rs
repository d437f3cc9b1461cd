//! Minimal SDP (RFC 4566) for RTP/JPEG presentations: build and parse. (Skeleton.)
