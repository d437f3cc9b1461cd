//! The live frame sources ([`runtime_std::source`]) against real peers on loopback: scripted
//! HTTP servers, shell commands, and our own RTSP server. Every wait is a bounded channel
//! receive; no test sleeps.

mod exec;
mod http;
mod rtsp;
mod util;
