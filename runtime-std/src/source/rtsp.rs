//! The RTSP source: the sans-IO [`Client`] on a blocking [`Runtime`], as `client-std` drives
//! it — connect, bind the RTP/RTCP pair (unless TCP is forced), let the [`Policy`] run
//! DESCRIBE → SETUP → PLAY, hand on every [`ClientEvent::Frame`]. Whatever ends the session
//! (the connection closing, a refused or timed-out request, an RTCP BYE, no frame for the read
//! timeout) ends the attempt: the source reconnects with a new client.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, TcpStream};
use std::time::Instant;

use rtsp_core::client::{Client, ClientConfig, ClientEvent, Policy, TransportChoice};
use rtsp_core::message::StatusCode;

use super::emit::{Emitter, Ended};
use super::net;
use super::stop::StopSignal;
use super::SourceOptions;
use crate::{bind_udp_pair, os_seed, Flow, Runtime};

/// Runs one RTSP session until it ends or the source stops.
pub(super) fn run(
    url: &str,
    tcp: bool,
    opts: &SourceOptions,
    em: &mut Emitter<'_>,
    stop: &StopSignal,
) -> Ended {
    match session(url, tcp, opts, em, stop) {
        Ok(()) => Ended::Stopped,
        Err(ended) => ended,
    }
}

fn config(url: &str, opts: &SourceOptions) -> Result<ClientConfig, Ended> {
    let mut config = ClientConfig::new(url);
    config.seed = Some(os_seed().map_err(|e| Ended::lost(e.to_string()))?);
    config.max_frame_len = opts.max_frame_size;
    config.request_timeout = opts.read_timeout;
    config.no_media_timeout = Some(opts.read_timeout);
    Ok(config)
}

/// `Ok` when stopped.
fn session(
    url: &str,
    tcp: bool,
    opts: &SourceOptions,
    em: &mut Emitter<'_>,
    stop: &StopSignal,
) -> Result<(), Ended> {
    let client =
        Client::new(config(url, opts)?, Instant::now()).map_err(|e| Ended::lost(e.to_string()))?;
    let (host, port) = client.server();
    let stream = net::connect(host, port, opts.connect_timeout, stop)?;
    let mut rt = Runtime::new(client).map_err(lost)?;
    // From here on the runtime has I/O threads: every way out runs it, so they end.
    if let Err(e) = prepare(&mut rt, stream, tcp) {
        abandon(rt);
        return Err(e);
    }
    let handle = rt.handle();
    let Some(_hook) = stop.on_stop(Box::new(move || {
        // TEARDOWN (when a session exists) is written before the runtime stops.
        handle.command(|c: &mut Client| {
            let _ = c.teardown();
        });
        handle.stop();
    })) else {
        abandon(rt);
        return Ok(());
    };
    let mut watch = Watch {
        em,
        reason: None,
        dropped_seen: 0,
    };
    let client = rt
        .run(|client, event| watch.on_event(client, event))
        .map_err(lost)?;
    watch.count_dropped(&client);
    if stop.is_stopped() {
        return Ok(());
    }
    Err(Ended::lost(
        watch
            .reason
            .unwrap_or_else(|| "the session ended".to_string()),
    ))
}

fn lost(e: std::io::Error) -> Ended {
    Ended::lost(e.to_string())
}

/// Gives the runtime its sockets (the control connection; the RTP/RTCP pair unless `tcp`)
/// and starts the client's DESCRIBE → SETUP → PLAY.
fn prepare(rt: &mut Runtime<Client>, stream: TcpStream, tcp: bool) -> Result<(), Ended> {
    let ip: IpAddr = match stream.peer_addr().map_err(lost)? {
        a if a.is_ipv4() => Ipv4Addr::UNSPECIFIED.into(),
        _ => Ipv6Addr::UNSPECIFIED.into(),
    };
    rt.tcp_stream(stream).map_err(lost)?;
    let policy = if tcp {
        Policy::new(TransportChoice::Tcp)
    } else {
        let (rtp, rtcp) =
            bind_udp_pair(ip).map_err(|e| Ended::lost(format!("cannot bind UDP ports: {e}")))?;
        let transport = TransportChoice::Udp {
            rtp_local: rt.udp_socket(rtp).map_err(lost)?,
            rtcp_local: rt.udp_socket(rtcp).map_err(lost)?,
        };
        Policy {
            tcp_fallback: true,
            ..Policy::new(transport)
        }
    };
    rt.machine_mut().set_policy(policy);
    rt.machine_mut()
        .start()
        .map(drop)
        .map_err(|e| Ended::lost(format!("cannot start: {e}")))
}

/// Ends a runtime that will not play: a stop queued first, `run` closes its sockets and
/// ends its I/O threads.
fn abandon(rt: Runtime<Client>) {
    rt.handle().stop();
    let _ = rt.run(|_, _| Flow::Stop);
}

/// Follows the client's events during a session.
struct Watch<'e, 'a> {
    em: &'e mut Emitter<'a>,
    /// Why the session is ending, once known (the first reason wins).
    reason: Option<String>,
    /// The client's dropped-frame count already added to the source's.
    dropped_seen: u64,
}

impl Watch<'_, '_> {
    fn on_event(&mut self, client: &mut Client, event: ClientEvent) -> Flow {
        self.count_dropped(client);
        match event {
            ClientEvent::Frame { timestamp, data } => {
                self.em.frame(data, Some(timestamp));
                Flow::Continue
            }
            ClientEvent::Playing { .. } => {
                tracing::debug!(source = %self.em.name(), transport = ?client.policy().transport, "playing");
                Flow::Continue
            }
            ClientEvent::TransportFallback { reason } => {
                tracing::info!(source = %self.em.name(), ?reason, "falling back to TCP");
                Flow::Continue
            }
            ClientEvent::Error(e) => self.end(e.to_string()),
            ClientEvent::RequestFailed { method, status } => {
                let reason = if status == StatusCode::UNAUTHORIZED {
                    let refused = client.last_refusal().is_some_and(|r| r.credentials_refused);
                    format!(
                        "authentication failed ({method}: {status}): {}",
                        if refused {
                            "the server refused the credentials in the URL"
                        } else {
                            "the URL carries no credentials (rtsp://user:pass@host/...)"
                        }
                    )
                } else {
                    format!("{method} refused: {status}")
                };
                self.end(reason)
            }
            ClientEvent::Redirected { location, .. } => self.end(format!(
                "redirected to {location} (redirects are not followed)"
            )),
            ClientEvent::EndOfStream { .. } => self.end("end of stream (RTCP BYE)".into()),
            ClientEvent::NoMedia { waited, reason, .. } => self.end(format!(
                "no frame for {:.1} s: {reason}",
                waited.as_secs_f64()
            )),
            ClientEvent::Closed => self.end("the connection closed".into()),
            _ => Flow::Continue,
        }
    }

    /// The session is over: remember the first reason, stop the runtime.
    fn end(&mut self, reason: String) -> Flow {
        self.reason.get_or_insert(reason);
        Flow::Stop
    }

    /// Adds the frames the client dropped since the last look (incomplete or oversize). A
    /// count that went down belongs to a new media receiver (after a TCP fallback).
    fn count_dropped(&mut self, client: &Client) {
        let dropped = client.stats().frames_dropped;
        let new = dropped.checked_sub(self.dropped_seen).unwrap_or(dropped);
        self.em.dropped(new);
        self.dropped_seen = dropped;
    }
}
