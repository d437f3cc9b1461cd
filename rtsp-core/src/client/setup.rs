//! The SETUP reply: the session (id, timeout), where media and RTCP travel, the media receiver,
//! and the session's timers.

use core::net::SocketAddr;
use std::time::{Duration, Instant};

use super::media::{Media, MediaOptions, Path};
use super::timers::{keepalive_interval, Timer};
use super::{after, Client, ClientError, ClientEvent, ClientState, SessionInfo, TransportChoice};
use crate::message::headers::{Session, Transport};
use crate::message::{HeaderName, Method, Response};

impl Client {
    pub(super) fn on_setup_done(
        &mut self,
        now: Instant,
        cseq: u32,
        resp: &Response,
        choice: TransportChoice,
        uri: &str,
    ) {
        let session = match session_of(resp) {
            Ok(s) => s,
            Err(reason) => {
                self.emit(ClientEvent::Error(ClientError::BadResponse {
                    cseq,
                    method: Method::Setup,
                    reason: reason.to_string(),
                }));
                return;
            }
        };
        let timeout = session
            .timeout
            .filter(|&t| t > 0)
            .map_or(self.cfg().default_session_timeout, |t| {
                Duration::from_secs(u64::from(t))
            });
        let transport = resp
            .headers
            .get(&HeaderName::TRANSPORT)
            .and_then(|v| Transport::parse_list(v).ok())
            .and_then(|l| l.into_iter().next());
        let path = self.media_path(choice, transport.as_ref());
        let ssrc = transport.as_ref().and_then(|t| t.ssrc);
        self.start_media(path, ssrc);
        self.session = Some(SessionInfo {
            id: session.id.clone(),
            timeout,
            track_url: uri.to_string(),
            keepalive_misses: 0,
            heard_at: now,
        });
        self.state = ClientState::Ready;
        self.start_session_timers(now, timeout);
        self.emit(ClientEvent::SetupDone {
            cseq,
            session_id: session.id,
            timeout,
            transport,
            ssrc,
        });
        self.policy_on_set_up(now);
    }

    /// Where media travels for `choice`, as the server's `Transport` reply completes it: over
    /// UDP, RTCP goes to the server's RTCP port (its RTP port + 1 if only that is given); over
    /// TCP, the interleaved channels it assigned (0-1 if none).
    fn media_path(&self, choice: TransportChoice, transport: Option<&Transport>) -> Path {
        match choice {
            TransportChoice::Udp {
                rtp_local,
                rtcp_local,
            } => {
                let server_rtcp = match (self.peer, transport.and_then(|t| t.server_port)) {
                    (Some(peer), Some((rtp, rtcp))) => {
                        let port = rtcp.unwrap_or(rtp.wrapping_add(1));
                        (port != 0).then(|| SocketAddr::new(peer.ip(), port))
                    }
                    _ => None,
                };
                Path::Udp {
                    rtp_local,
                    rtcp_local,
                    server_rtcp,
                }
            }
            TransportChoice::Tcp => {
                let (rtp_channel, rtcp_channel) = match transport.and_then(|t| t.interleaved) {
                    Some((a, b)) => (a, b.unwrap_or(a.wrapping_add(1))),
                    None => (0, 1),
                };
                Path::Tcp {
                    rtp_channel,
                    rtcp_channel,
                }
            }
        }
    }

    /// A new media receiver on `path`, locked to `ssrc` when the server announced one.
    fn start_media(&mut self, path: Path, ssrc: Option<u32>) {
        let opts = MediaOptions {
            dialect: self.dialect(),
            max_frame_len: self.cfg().max_frame_len,
            reorder_window: self.cfg().reorder_window,
            reorder_delay: self.cfg().reorder_delay,
        };
        let mut media = Media::new(path, &opts, self.epoch);
        if let Some(ssrc) = ssrc {
            media.expect_ssrc(ssrc);
        }
        self.media = Some(media);
    }

    /// Keepalives and RTCP receiver reports, where the dialect has them.
    fn start_session_timers(&mut self, now: Instant, timeout: Duration) {
        if !self.dialect().runs_session_timers() {
            return;
        }
        self.timers
            .set(Timer::Keepalive, after(now, keepalive_interval(timeout)));
        let first = self.rng.jittered(self.cfg().rtcp_interval);
        self.timers.set(Timer::Rtcp, after(now, first));
    }
}

/// The reply's session: its `Session` header (a header that does not parse still gives its
/// id), or why there is none usable.
fn session_of(resp: &Response) -> Result<Session, &'static str> {
    let Some(raw) = resp.headers.get(&HeaderName::SESSION) else {
        return Err("no Session header");
    };
    let session = Session::parse(raw).unwrap_or_else(|_| Session {
        id: raw.split(';').next().unwrap_or_default().trim().to_string(),
        timeout: None,
    });
    if session.id.is_empty() || !session.id.bytes().all(|b| b.is_ascii_graphic()) {
        return Err("unusable session id");
    }
    Ok(session)
}
