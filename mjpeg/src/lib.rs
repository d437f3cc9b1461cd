//! MJPEG files and JPEG headers, without I/O.
#![deny(missing_docs)]
