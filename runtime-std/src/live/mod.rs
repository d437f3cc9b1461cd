//! Live paths on real threads: frames shared between event loops ([`LiveFanout`]) and
//! pulled sources run as readers want them ([`LiveHub`]).
//!
//! The machine ([`rtsp_core::server::Server`]) sends a publisher's frames to the readers of
//! its own event loop and reports each as [`ServerEvent::Published`]; a server with several
//! loops hands it to the others here. Pulled sources hand every frame to every loop.
//!
//! [`ServerEvent::Published`]: rtsp_core::server::ServerEvent::Published

mod fanout;
mod hub;

pub use fanout::LiveFanout;
pub use hub::{LiveHub, PulledPath, PulledStatus};
