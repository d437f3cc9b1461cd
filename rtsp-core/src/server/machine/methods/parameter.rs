//! OPTIONS, GET_PARAMETER and SET_PARAMETER: the keepalives (a request naming a session
//! keeps it alive before any handler runs) and capability queries.

use super::{Handled, PUBLIC};
use crate::message::{HeaderName, StatusCode};
use crate::server::machine::request::{Reply, RequestContext};
use crate::server::machine::Server;

impl Server {
    pub(super) fn options(&mut self, ctx: &RequestContext<'_>) -> Handled {
        let mut reply = Reply::new(StatusCode::OK).header(HeaderName::PUBLIC, PUBLIC);
        // A session that is not live is no error here: the reply just names none.
        if let Ok(Some(s)) = self.named_session(ctx.session) {
            reply.session = Some(self.session_header(s));
        }
        Ok(reply)
    }

    /// GET_PARAMETER (`set`: SET_PARAMETER, which understands no parameter: 451).
    pub(super) fn parameter(&mut self, ctx: &RequestContext<'_>, set: bool) -> Handled {
        let mut reply = Reply::new(StatusCode::OK);
        if let Some(s) = self.named_session(ctx.session)? {
            reply.session = Some(self.session_header(s));
        }
        if set && !ctx.req.body.iter().all(u8::is_ascii_whitespace) {
            reply.status = StatusCode::PARAMETER_NOT_UNDERSTOOD;
        }
        Ok(reply)
    }
}
