//! RTSP server machine. (Skeleton.)
