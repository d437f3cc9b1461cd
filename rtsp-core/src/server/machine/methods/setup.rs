//! SETUP: a new session, or new transport for one that is not playing.

use super::{stream_target, Handled};
use crate::io::ConnId;
use crate::message::headers::TransportMode;
use crate::message::{HeaderName, StatusCode, Transport};
use crate::server::counts::Caps;
use crate::server::machine::request::{Reply, RequestContext};
use crate::server::machine::Server;
use crate::server::session::Session;
use crate::server::{Limit, ServerEvent};
use core::net::SocketAddr;

impl Server {
    pub(super) fn setup(&mut self, ctx: RequestContext<'_>) -> Handled {
        let specs: Vec<Transport> = ctx
            .req
            .headers
            .get_all(&HeaderName::TRANSPORT)
            .filter_map(|v| Transport::parse_list(v).ok())
            .flatten()
            .collect();
        if specs.iter().any(|t| t.mode == Some(TransportMode::Record)) {
            return self.setup_record(ctx, &specs);
        }
        let (req, conn, peer, named) = (ctx.req, ctx.conn, ctx.peer, ctx.session);
        let (may_wait, user) = (ctx.may_wait, ctx.user.map(str::to_string));
        let (name, bare) = stream_target(ctx.into_target()?)?;
        self.allowed(user.as_deref(), &name, false)?;
        let existing = match self.named_session(named)? {
            Some(s) if s.stream != name => {
                return Err(StatusCode::AGGREGATE_OPERATION_NOT_ALLOWED.into())
            }
            Some(s) if s.is_playing() || s.intake.is_some() => {
                return Err(StatusCode::METHOD_NOT_VALID_IN_THIS_STATE.into())
            }
            Some(s) => Some(s.key),
            None => None,
        };
        if existing.is_none() {
            // Before the catalog is asked: a refused SETUP loads nothing.
            self.session_room(conn, peer, false)?;
        }
        let (delivery, mut transport) = self
            .choose_transport(conn, peer, bare, &specs)
            .ok_or(StatusCode::UNSUPPORTED_TRANSPORT)?;
        let key = match existing {
            Some(key) => {
                // Its connections and delivery change: re-index.
                self.unlink(key);
                if let Some(s) = self.sessions.get_mut(&key) {
                    s.delivery = delivery;
                    s.control = Some(conn);
                    s.peer = peer;
                    s.track_url = req.uri.clone();
                }
                self.link(key);
                key
            }
            None => {
                let media = self.lookup(&name, may_wait)?;
                self.session_room(conn, peer, true)?;
                let id = self.new_session_id();
                let mut session = Session::new(
                    id.clone(),
                    peer,
                    name,
                    media,
                    req.uri.clone(),
                    delivery,
                    self.config.loop_media,
                    &mut self.rng,
                    self.now,
                );
                session.control = Some(conn);
                session.user = user;
                let key = self.insert_session(session);
                self.schedule_session(key);
                self.event(ServerEvent::SessionCreated { session: id, peer });
                key
            }
        };
        let s = self
            .sessions
            .get(&key)
            .ok_or(StatusCode::INTERNAL_SERVER_ERROR)?;
        if s.dialect().names_ssrc() {
            transport.ssrc = Some(s.ssrc);
        }
        let mut reply =
            Reply::new(StatusCode::OK).header(HeaderName::TRANSPORT, transport.to_string());
        reply.session = Some(self.session_header(s));
        Ok(reply)
    }

    /// 453 if a new session of `conn` (from `peer`) would pass a session cap: in all (shared
    /// with the other event loops), per IP address, per connection. `count`: count it now.
    pub(super) fn session_room(
        &mut self,
        conn: ConnId,
        peer: SocketAddr,
        count: bool,
    ) -> Result<(), Reply> {
        let own = self.conns.get(&conn).map_or(0, |c| {
            c.sessions
                .iter()
                .filter(|k| {
                    self.sessions
                        .get(k)
                        .is_some_and(|s| s.control == Some(conn))
                })
                .count()
        });
        let caps = Caps {
            total: self.config.max_sessions,
            per_ip: self.config.max_sessions_per_ip,
        };
        let room = if own >= self.config.max_sessions_per_conn {
            Err(Limit::SessionsPerConnection)
        } else if count {
            self.counts.add_session(peer.ip(), caps)
        } else {
            self.counts.session_room(peer.ip(), caps)
        };
        room.map_err(|limit| {
            self.event(ServerEvent::LimitExceeded { peer, limit });
            StatusCode::NOT_ENOUGH_BANDWIDTH.into()
        })
    }

    /// A fresh random session id (20 digits, see [`Rng::session_id`](crate::rng::Rng)).
    pub(super) fn new_session_id(&mut self) -> String {
        loop {
            let id = self.rng.session_id();
            if !self.ids.contains_key(&id) {
                return id;
            }
        }
    }
}
