//! Publishing (RFC 2326 §10.3, §10.11): ANNOUNCE describes the stream, SETUP with
//! `mode=record` makes the publisher's session, RECORD starts the intake.

use super::{stream_target, Handled};
use crate::message::headers::{LowerTransport, Transport, TransportMode};
use crate::message::{HeaderName, StatusCode};
use crate::sdp;
use crate::server::intake::{Announced, Intake};
use crate::server::machine::request::{Reply, RequestContext};
use crate::server::machine::Server;
use crate::server::media::Media;
use crate::server::path::Target;
use crate::server::session::{Delivery, Session};
use crate::server::{CloseReason, LiveSource, PublishRefusal, ServerEvent};
use core::net::SocketAddr;
use std::sync::Arc;

impl From<PublishRefusal> for Reply {
    fn from(r: PublishRefusal) -> Self {
        match r {
            // Not a path anyone may publish: the method is not allowed there.
            PublishRefusal::NotPublishable => Self::new(StatusCode::METHOD_NOT_ALLOWED)
                .header(HeaderName::ALLOW, super::PUBLIC_READ),
            PublishRefusal::Busy => StatusCode::METHOD_NOT_VALID_IN_THIS_STATE.into(),
        }
    }
}

impl Server {
    /// ANNOUNCE: the stream a client is about to publish. The path must be publishable and
    /// free, the body SDP with a JPEG video track (415 otherwise).
    pub(super) fn announce(&mut self, ctx: &RequestContext<'_>) -> Handled {
        let (name, _) = stream_target(ctx.target()?.clone())?;
        self.allowed(ctx.user, &name, true)?;
        self.config.live.may_publish(&name)?;
        let req = ctx.req;
        let sdp_type = req
            .headers
            .get(&HeaderName::CONTENT_TYPE)
            .is_some_and(|t| t.trim().to_ascii_lowercase().starts_with("application/sdp"));
        if !sdp_type {
            return Err(StatusCode::UNSUPPORTED_MEDIA_TYPE.into());
        }
        let text = std::str::from_utf8(&req.body).map_err(|_| StatusCode::BAD_REQUEST)?;
        let sdp = sdp::parse(text).map_err(|_| StatusCode::BAD_REQUEST)?;
        let (media, payload_type) = sdp.jpeg_video().ok_or(StatusCode::UNSUPPORTED_MEDIA_TYPE)?;
        let fps = media.framerate.filter(|f| f.is_finite() && *f > 0.0);
        if let Some(c) = self.conns.get_mut(&ctx.conn) {
            c.announced = Some(Announced {
                path: name,
                payload_type,
                fps,
            });
        }
        Ok(Reply::new(StatusCode::OK))
    }

    /// SETUP with `mode=record`, after an ANNOUNCE of the same path on this connection: the
    /// publisher's session, which claims the path. The publisher sends RTP to our RTP port
    /// from its client port, or on the interleaved channel.
    pub(super) fn setup_record(&mut self, ctx: RequestContext<'_>, specs: &[Transport]) -> Handled {
        let (conn, peer, named) = (ctx.conn, ctx.peer, ctx.session);
        let (uri, user) = (ctx.req.uri.clone(), ctx.user.map(str::to_string));
        let name = match ctx.into_target()? {
            Target::Stream { name, .. } => name,
            Target::Server => return Err(StatusCode::BAD_REQUEST.into()),
        };
        if !matches!(
            self.config.live.source(&name),
            Some(LiveSource::Publisher { .. })
        ) {
            // Nothing can be recorded here.
            return Err(StatusCode::UNSUPPORTED_TRANSPORT.into());
        }
        self.allowed(user.as_deref(), &name, true)?;
        let announced = self
            .conns
            .get(&conn)
            .and_then(|c| c.announced.clone())
            .filter(|a| a.path == name)
            .ok_or(StatusCode::METHOD_NOT_VALID_IN_THIS_STATE)?;
        if self.named_session(named)?.is_some() {
            // One track per publisher session.
            return Err(StatusCode::AGGREGATE_OPERATION_NOT_ALLOWED.into());
        }
        self.config.live.may_publish(&name)?;
        self.session_room(conn, peer, false)?;
        let (delivery, mut transport) = specs
            .iter()
            .filter(|t| t.unicast && t.mode == Some(TransportMode::Record))
            .find_map(|t| self.record_transport(conn, peer, t))
            .ok_or(StatusCode::UNSUPPORTED_TRANSPORT)?;
        self.session_room(conn, peer, true)?;
        let id = self.new_session_id();
        let replaced = match self.config.live.claim(&name, &id) {
            Ok(r) => r,
            Err(refusal) => {
                self.counts.remove_session(peer.ip());
                return Err(refusal.into());
            }
        };
        let media = Arc::new(Media::pending_live(&name));
        let mut session = Session::new(
            id.clone(),
            peer,
            name.clone(),
            media,
            uri,
            delivery,
            false,
            &mut self.rng,
            self.now,
        );
        session.control = Some(conn);
        session.user = user;
        session.intake = Some(Box::new(Intake::new(
            &announced,
            self.config.live.new_epoch(),
        )));
        let key = self.insert_session(session);
        self.schedule_session(key);
        self.event(ServerEvent::SessionCreated {
            session: id.clone(),
            peer,
        });
        if let Some(old) = replaced {
            self.replace_publisher(&name, old);
        }
        transport.mode = Some(TransportMode::Record);
        let mut reply =
            Reply::new(StatusCode::OK).header(HeaderName::TRANSPORT, transport.to_string());
        reply.session = self.sessions.get(&key).map(|s| self.session_header(s));
        Ok(reply)
    }

    /// RECORD: the publisher starts sending.
    pub(super) fn record(&mut self, ctx: &RequestContext<'_>) -> Handled {
        if let Target::Stream { name, .. } = ctx.target()? {
            if !matches!(
                self.config.live.source(name),
                Some(LiveSource::Publisher { .. })
            ) {
                return Err(PublishRefusal::NotPublishable.into());
            }
        }
        let (s, header) = self.session_with_header(ctx)?;
        let intake = s
            .intake
            .as_mut()
            .ok_or(StatusCode::METHOD_NOT_VALID_IN_THIS_STATE)?;
        let started = !intake.recording;
        intake.recording = true;
        s.played = true;
        let (session, stream) = (s.id.clone(), s.stream.clone());
        let mut reply = Reply::new(StatusCode::OK);
        reply.session = Some(header);
        if started {
            reply
                .after
                .push(crate::io::Output::Event(ServerEvent::Recording { session, stream }).into());
        }
        Ok(reply)
    }

    /// The transport of a publisher: RTP comes to our RTP port from the client's (UDP), or on
    /// an interleaved channel of this connection.
    fn record_transport(
        &self,
        conn: crate::io::ConnId,
        peer: SocketAddr,
        spec: &Transport,
    ) -> Option<(Delivery, Transport)> {
        match spec.lower {
            LowerTransport::Tcp => self.interleaved_transport(conn, spec),
            LowerTransport::Udp => {
                let (rtp_port, rtcp_port) = spec.client_port?;
                let rtcp_port = rtcp_port.or(rtp_port.checked_add(1))?;
                let rtp = SocketAddr::new(peer.ip(), rtp_port);
                let rtcp = SocketAddr::new(peer.ip(), rtcp_port);
                if rtp_port == 0 || self.is_own_socket(rtp) || self.is_own_socket(rtcp) {
                    return None;
                }
                let (rtp_local, rtcp_local) = (self.config.rtp_local, self.config.rtcp_local);
                let mut reply = Transport::new(LowerTransport::Udp);
                reply.protocol = spec.protocol.clone();
                reply.client_port = Some((rtp_port, Some(rtcp_port)));
                reply.server_port = Some((rtp_local.port(), Some(rtcp_local.port())));
                Some((Delivery::Udp { rtp, rtcp }, reply))
            }
        }
    }

    /// A new publisher of `stream` took the place of session `old`: ended here if it is
    /// ours, else reported for the runtime to end where it lives.
    fn replace_publisher(&mut self, stream: &str, old: String) {
        match self.ids.get(&old).copied() {
            Some(key) => self.close_session(key, CloseReason::Kicked, false),
            None => self.event(ServerEvent::PublisherReplaced {
                stream: stream.to_string(),
                session: old,
            }),
        }
    }
}
