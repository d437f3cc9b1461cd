//! `rtsp://` URLs (RFC 2326 §3.2). (Skeleton.)
