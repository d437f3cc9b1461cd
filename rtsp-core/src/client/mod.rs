//! RTSP client machine. (Skeleton.)
