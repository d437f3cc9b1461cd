//! The method handlers, one file per method family, and what several of them share: the
//! stream a request names, the catalog look-up, the session a request applies to.

mod describe;
mod parameter;
mod play;
mod record;
mod setup;
mod teardown;
mod transport;

use super::request::{NamedSession, Reply, RequestContext};
use super::Server;
use crate::io::{Emit, Output};
use crate::message::{HeaderName, Method, StatusCode};
use crate::server::media::{LookupError, Media};
use crate::server::path::Target;
use crate::server::session::Session;
use crate::server::{LiveLookup, ServerEvent};
use std::sync::Arc;

/// The methods we implement, for `Public`.
const PUBLIC: &str = "OPTIONS, DESCRIBE, ANNOUNCE, SETUP, PLAY, PAUSE, RECORD, TEARDOWN, \
                      GET_PARAMETER, SET_PARAMETER";
/// The methods allowed on a path nobody may publish, for `Allow`.
const PUBLIC_READ: &str =
    "OPTIONS, DESCRIBE, SETUP, PLAY, PAUSE, TEARDOWN, GET_PARAMETER, SET_PARAMETER";

/// What a handler answers: `Err` is a refusal that ends it early (`?`), as much a reply.
type Handled = Result<Reply, Reply>;

impl Server {
    /// The reply of the handler of the request's method.
    pub(super) fn dispatch(&mut self, ctx: RequestContext<'_>) -> Reply {
        let handled =
            match ctx.req.method {
                Method::Options => self.options(&ctx),
                Method::Describe => self.describe(ctx),
                Method::Setup => self.setup(ctx),
                Method::Play => self.play(&ctx),
                Method::Pause => self.pause(&ctx),
                Method::Teardown => self.teardown(&ctx),
                Method::GetParameter => self.parameter(&ctx, false),
                Method::SetParameter => self.parameter(&ctx, true),
                Method::Announce => self.announce(&ctx),
                Method::Record => self.record(&ctx),
                Method::Redirect => Ok(Reply::new(StatusCode::METHOD_NOT_ALLOWED)
                    .header(HeaderName::ALLOW, PUBLIC_READ)),
                Method::Extension(_) => Err(StatusCode::NOT_IMPLEMENTED.into()),
            };
        handled.unwrap_or_else(|refused| refused)
    }

    /// The catalog's stream `name`; a refusal other than "not found" is reported after the
    /// reply. A stream still loading makes a request that `may_wait` wait
    /// ([`Reply::wait`]); one whose wait is over gets 503.
    fn lookup(&mut self, name: &str, may_wait: bool) -> Result<Arc<Media>, Reply> {
        let live = match self.config.live.lookup(name, self.now) {
            LiveLookup::NotLive => None,
            LiveLookup::Ready(media) => return Ok(media),
            LiveLookup::NoPublisher => return Err(StatusCode::NOT_FOUND.into()),
            LiveLookup::Starting => Some(Err(LookupError::Loading)),
        };
        live.unwrap_or_else(|| self.catalog.lookup(name))
            .map_err(|error| {
                let mut reply = Reply::new(error.status());
                if matches!(error, LookupError::Loading) && may_wait {
                    reply.wait = true;
                    return reply;
                }
                if !matches!(error, LookupError::NotFound) {
                    reply
                        .after
                        .push(Emit::Output(Output::Event(ServerEvent::LookupFailed {
                            stream: name.to_string(),
                            error,
                        })));
                }
                reply
            })
    }

    /// The session a PLAY/PAUSE/TEARDOWN applies to: 455 without a Session header (nothing
    /// was set up), 454 for an unknown one, 404 if the URI names another stream.
    fn session_for(&self, ctx: &RequestContext<'_>) -> Result<u64, Reply> {
        let s = self
            .named_session(ctx.session)?
            .ok_or(StatusCode::METHOD_NOT_VALID_IN_THIS_STATE)?;
        match ctx.target()? {
            Target::Server => {}
            Target::Stream { name, track, .. } => {
                if *name != s.stream || track.is_some_and(|t| t != 0) {
                    return Err(StatusCode::NOT_FOUND.into());
                }
            }
        }
        Ok(s.key)
    }

    /// 403 unless `user` (the request's, when the server authenticates) may read
    /// (`publish`: publish) the path `name` ([`AuthConfig::paths`](crate::server::AuthConfig::paths)).
    fn allowed(&self, user: Option<&str>, name: &str, publish: bool) -> Result<(), Reply> {
        match (&self.config.auth, user) {
            (Some(auth), Some(user)) if !auth.allows(name, user, publish) => {
                Err(StatusCode::FORBIDDEN.into())
            }
            _ => Ok(()),
        }
    }

    /// The session a request applies to ([`Server::session_for`]) and the `Session` header
    /// of the reply.
    fn session_with_header(
        &mut self,
        ctx: &RequestContext<'_>,
    ) -> Result<(&mut Session, String), Reply> {
        let key = self.session_for(ctx)?;
        let s = self
            .sessions
            .get(&key)
            .ok_or(StatusCode::SESSION_NOT_FOUND)?;
        let header = self.session_header(s);
        let s = self
            .sessions
            .get_mut(&key)
            .ok_or(StatusCode::SESSION_NOT_FOUND)?;
        Ok((s, header))
    }

    /// The live session a request names, if it names one; 454 if that is not live.
    fn named_session(&self, named: NamedSession) -> Result<Option<&Session>, Reply> {
        match named {
            NamedSession::Absent => Ok(None),
            NamedSession::Unknown => Err(StatusCode::SESSION_NOT_FOUND.into()),
            NamedSession::Live(key) => match self.sessions.get(&key) {
                Some(s) => Ok(Some(s)),
                None => Err(StatusCode::SESSION_NOT_FOUND.into()),
            },
        }
    }

    /// The `Session` header of a reply about `s`.
    fn session_header(&self, s: &Session) -> String {
        s.dialect()
            .session_header(&s.id, self.config.advertised_timeout())
    }
}

/// The stream a target names (a track suffix, if any, must be track 0): `*` is 400,
/// another track 404. Returns the name and whether the URI was bare.
fn stream_target(target: Target) -> Result<(String, bool), Reply> {
    match target {
        Target::Server => Err(StatusCode::BAD_REQUEST.into()),
        Target::Stream { track: Some(t), .. } if t != 0 => Err(StatusCode::NOT_FOUND.into()),
        Target::Stream { name, bare, .. } => Ok((name, bare)),
    }
}
