//! The method handlers, one file per method family, and what several of them share: the
//! stream a request names, the catalog look-up, the session a request applies to.

mod describe;
mod parameter;
mod play;
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
use crate::server::ServerEvent;
use std::sync::Arc;

/// The methods we implement, for `Public` and `Allow`.
const PUBLIC: &str =
    "OPTIONS, DESCRIBE, SETUP, PLAY, PAUSE, TEARDOWN, GET_PARAMETER, SET_PARAMETER";

/// What a handler answers: `Err` is a refusal that ends it early (`?`), as much a reply.
type Handled = Result<Reply, Reply>;

impl Server {
    /// The reply of the handler of the request's method.
    pub(super) fn dispatch(&mut self, ctx: RequestContext<'_>) -> Reply {
        let handled = match ctx.req.method {
            Method::Options => self.options(&ctx),
            Method::Describe => self.describe(ctx),
            Method::Setup => self.setup(ctx),
            Method::Play => self.play(&ctx),
            Method::Pause => self.pause(&ctx),
            Method::Teardown => self.teardown(&ctx),
            Method::GetParameter => self.parameter(&ctx, false),
            Method::SetParameter => self.parameter(&ctx, true),
            Method::Announce | Method::Record | Method::Redirect => {
                Ok(Reply::new(StatusCode::METHOD_NOT_ALLOWED).header(HeaderName::ALLOW, PUBLIC))
            }
            Method::Extension(_) => Err(StatusCode::NOT_IMPLEMENTED.into()),
        };
        handled.unwrap_or_else(|refused| refused)
    }

    /// The catalog's stream `name`; a refusal other than "not found" is reported after the
    /// reply. A stream still loading makes a request that `may_wait` wait
    /// ([`Reply::wait`]); one whose wait is over gets 503.
    fn lookup(&mut self, name: &str, may_wait: bool) -> Result<Arc<Media>, Reply> {
        self.catalog.lookup(name).map_err(|error| {
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
