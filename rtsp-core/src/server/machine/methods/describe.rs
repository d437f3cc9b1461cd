//! DESCRIBE: the SDP of a stream, rendered once per stream and second.

use super::{stream_target, Handled};
use crate::message::{HeaderName, StatusCode};
use crate::server::machine::request::{Reply, RequestContext};
use crate::server::machine::Server;
use crate::server::path::Target;

impl Server {
    pub(super) fn describe(&mut self, ctx: RequestContext<'_>) -> Handled {
        let (uri, may_wait, user) = (&ctx.req.uri, ctx.may_wait, ctx.user);
        let target = ctx.into_target()?;
        let track = matches!(target, Target::Stream { track: Some(_), .. });
        let (name, _) = stream_target(target)?;
        self.allowed(user, &name, false)?;
        let media = self.lookup(&name, may_wait)?;
        let mut reply = Reply::new(StatusCode::OK)
            .header(HeaderName::CONTENT_BASE, content_base(uri, track))
            .header(HeaderName::CONTENT_TYPE, "application/sdp");
        let wallclock = self.wallclock();
        reply.body = self.caches.sdp(&media, &self.config, wallclock);
        Ok(reply)
    }
}

/// `Content-Base`: the presentation URL (without query, fragment and the track suffix
/// `track` says it has) with a trailing slash.
fn content_base(uri: &str, track: bool) -> String {
    let uri = &uri[..uri.find(['?', '#']).unwrap_or(uri.len())];
    let mut base = uri.to_string();
    if track {
        let trimmed = base.trim_end_matches('/');
        if let Some((head, _)) = trimmed.rsplit_once('/') {
            base = head.to_string();
        }
    }
    if !base.ends_with('/') {
        base.push('/');
    }
    base
}
