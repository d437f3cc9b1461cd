//! runtime-std: drives rtsp-core machines over real sockets.
