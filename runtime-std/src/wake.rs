//! [`wake_on_load`]: a server's event loop looks at its waiting requests when a media load
//! ends.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant;

use rtsp_core::io::{Input, Machine};
use rtsp_core::server::Server;

use crate::common::RuntimeHandle;
use crate::media::LoadSignal;

/// After every load `signal` announces, runs the server behind `handle` with
/// [`Input::Timeout`] (now) on its loop, so the requests waiting for a stream
/// ([`LookupError::Loading`](rtsp_core::server::LookupError::Loading)) ask the catalog again.
/// Wake-ups coalesce: at most one is queued per loop. The registration ends with the runtime.
pub fn wake_on_load(signal: &LoadSignal, handle: impl RuntimeHandle<Server> + 'static) {
    let queued = Arc::new(AtomicBool::new(false));
    signal.on_loaded(move || {
        if queued.swap(true, Ordering::SeqCst) {
            return true;
        }
        let queued = Arc::clone(&queued);
        handle.command(Box::new(move |server: &mut Server| {
            // Cleared first: a load that ends from here on queues another wake-up.
            queued.store(false, Ordering::SeqCst);
            server.handle_input(Input::Timeout(Instant::now()));
        }))
    });
}
