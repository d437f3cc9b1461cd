//! [`serve`]: the whole RTSP server on one mio event loop.

use std::io;

use runtime_std::{server_event_handler, RunningServer, ServerOptions};

use crate::driver::Runtime;

/// Binds and starts a server on a mio [`Runtime`] on its own thread. Same contract as
/// `runtime_std::serve`: the RTSP listener on `opts.addr`, an even/odd RTP/RTCP UDP pair
/// on the same IP, events logged with `tracing` (then `opts.on_event`), and
/// `opts.max_pending_output` as the per-connection output queue cap.
pub fn serve(opts: ServerOptions) -> io::Result<RunningServer> {
    let bound = opts.bind()?;
    let mut rt = Runtime::new(bound.server)?;
    rt.set_max_queue(bound.max_pending_output);
    let local = rt.tcp_listener(bound.listener)?;
    let rtp = rt.udp_socket(bound.rtp)?;
    let rtcp = rt.udp_socket(bound.rtcp)?;
    let handle = rt.handle();
    let on_event = server_event_handler(bound.on_event);
    let thread = std::thread::Builder::new()
        .name("rtsp-server-mio".into())
        .spawn(move || rt.run(on_event).map(|_| ()))?;
    Ok(RunningServer::from_parts(
        local,
        rtp,
        rtcp,
        Box::new(handle),
        thread,
    ))
}
