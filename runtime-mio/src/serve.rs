//! [`serve`]: the whole RTSP server on one mio event loop.

use std::io;
use std::net::SocketAddr;

use rtsp_core::server::Server;
use runtime_std::{serve_with, BoundServer, RunningServer, ServerOptions};

use crate::driver::Runtime;

/// Binds and starts a server on a mio [`Runtime`] on its own thread. Same contract as
/// `runtime_std::serve`: the RTSP listener on `opts.addr`, an even/odd RTP/RTCP UDP pair
/// on the same IP, events logged with `tracing` (then `opts.on_event`), and
/// `opts.max_pending_output` as the per-connection output queue cap.
pub fn serve(opts: ServerOptions) -> io::Result<RunningServer> {
    serve_with(opts, "rtsp-server-mio", |bound| {
        let (rt, addrs) = server_runtime(bound)?;
        Ok((addrs, rt.handle(), move |on_event| {
            rt.run(on_event).map(drop)
        }))
    })
}

/// A mio runtime for a bound server: its listener, RTP and RTCP sockets added (their
/// addresses returned in that order), `max_pending_output` as the output queue cap. The
/// event hook of `bound` is not used (see [`runtime_std::serve_with`]).
pub fn server_runtime(bound: BoundServer) -> io::Result<(Runtime<Server>, [SocketAddr; 3])> {
    let mut rt = Runtime::new(bound.server)?;
    rt.set_max_queue(bound.max_pending_output);
    let addrs = [
        rt.tcp_listener(bound.listener)?,
        rt.udp_socket(bound.rtp)?,
        rt.udp_socket(bound.rtcp)?,
    ];
    Ok((rt, addrs))
}
