//! runtime-mio: drives rtsp-core machines over real sockets.
