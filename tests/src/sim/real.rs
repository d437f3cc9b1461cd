//! [`Driver`] over real loopback sockets: a server on runtime-std or runtime-mio and a client
//! on either, with the simulator's media (a [`MemoryCatalog`]).

use super::driver::Driver;
use crate::{ClientRuntime, ServerRuntime};
use rtsp_core::client::{Client, ClientConfig, ClientEvent, TransportChoice};
use rtsp_core::server::{MemoryCatalog, Server};
use runtime_std::{Flow, RunningServer, RuntimeHandle, ServerOptions};
use std::net::SocketAddr;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

/// Real time added to every wait bound (a loaded 2-core machine, debug build).
const SLACK: Duration = Duration::from_secs(10);

/// A server and a client on real runtimes.
pub struct RealDriver {
    name: String,
    server: Option<RunningServer>,
    client: Box<dyn RuntimeHandle<Client>>,
    join: Option<Box<dyn FnOnce() + Send>>,
    events: Receiver<ClientEvent>,
    rtp_local: SocketAddr,
    rtcp_local: SocketAddr,
}

impl std::fmt::Debug for RealDriver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RealDriver")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

impl RealDriver {
    /// Start a server on `server_rt` serving `catalog` at 127.0.0.1 and a client on
    /// `client_rt` for `stream`, its control connection open.
    pub fn start(
        server_rt: ServerRuntime,
        client_rt: ClientRuntime,
        catalog: MemoryCatalog,
        stream: &str,
    ) -> Self {
        let mut opts = ServerOptions::new("127.0.0.1:0".parse().expect("addr"), Box::new(catalog));
        opts.config.seed = Some(rtsp_core::rng::RngSeed::from_u64(7));
        let server = match server_rt {
            ServerRuntime::Std => runtime_std::serve(opts),
            ServerRuntime::Mio => runtime_mio::serve(opts),
        }
        .expect("server starts");
        let url = server.url(stream);
        let (rtp, rtcp) =
            runtime_std::bind_udp_pair("127.0.0.1".parse().expect("ip")).expect("udp pair");
        let rtp_local = rtp.local_addr().expect("addr");
        let rtcp_local = rtcp.local_addr().expect("addr");
        let client = Client::new(ClientConfig::new(url), Instant::now()).expect("client");
        let connect = server.connect_addr();
        let (tx, events) = mpsc::channel();
        let on_event = move |_: &mut Client, ev: ClientEvent| {
            let _ = tx.send(ev);
            Flow::Continue
        };
        let (client, join) =
            crate::spawn_client_on(client_rt, client, rtp, rtcp, connect, on_event);
        Self {
            name: format!("{server_rt:?} server + {client_rt:?} client over loopback"),
            server: Some(server),
            client,
            join: Some(join),
            events,
            rtp_local,
            rtcp_local,
        }
    }
}

impl Drop for RealDriver {
    fn drop(&mut self) {
        self.client.stop();
        if let Some(j) = self.join.take() {
            j();
        }
        if let Some(s) = self.server.take() {
            s.stop();
            let _ = s.join();
        }
    }
}

impl Driver for RealDriver {
    fn name(&self) -> String {
        self.name.clone()
    }

    fn transport(&self, tcp: bool) -> TransportChoice {
        if tcp {
            TransportChoice::Tcp
        } else {
            TransportChoice::Udp {
                rtp_local: self.rtp_local,
                rtcp_local: self.rtcp_local,
            }
        }
    }

    fn client<T: Send + 'static>(
        &mut self,
        f: impl FnOnce(&mut Client) -> T + Send + 'static,
    ) -> T {
        let (tx, rx) = mpsc::channel();
        assert!(
            self.client.command(Box::new(move |c| {
                let _ = tx.send(f(c));
            })),
            "client runtime has ended"
        );
        rx.recv_timeout(SLACK).expect("client answered")
    }

    fn server<T: Send + 'static>(
        &mut self,
        f: impl FnOnce(&mut Server) -> T + Send + 'static,
    ) -> T {
        let (tx, rx) = mpsc::channel();
        let server = self.server.as_ref().expect("server");
        assert!(
            server.command(move |s| {
                let _ = tx.send(f(s));
            }),
            "server runtime has ended"
        );
        rx.recv_timeout(SLACK).expect("server answered")
    }

    fn wait(
        &mut self,
        within: Duration,
        done: &mut dyn FnMut(&ClientEvent) -> bool,
    ) -> Result<Vec<ClientEvent>, Vec<ClientEvent>> {
        let deadline = Instant::now() + within;
        let mut out = Vec::new();
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.events.recv_timeout(left) {
                Ok(ev) => {
                    let hit = done(&ev);
                    out.push(ev);
                    if hit {
                        return Ok(out);
                    }
                }
                Err(RecvTimeoutError::Timeout) => return Err(out),
                Err(RecvTimeoutError::Disconnected) => return Err(out),
            }
        }
    }
}
