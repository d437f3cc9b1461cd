//! TEARDOWN: the session ends, its BYE and event after the reply.

use super::Handled;
use crate::message::StatusCode;
use crate::server::machine::request::{Reply, RequestContext};
use crate::server::machine::Server;
use crate::server::CloseReason;

impl Server {
    pub(super) fn teardown(&mut self, ctx: &RequestContext<'_>) -> Handled {
        let key = self.session_for(ctx)?;
        let mut reply = Reply::new(StatusCode::OK);
        reply.session = self.sessions.get(&key).map(|s| s.id.clone());
        // The BYE and the event follow the reply.
        let mark = self.out.len();
        self.close_session(key, CloseReason::Teardown, true);
        reply.after = self.out.drain(mark..).collect();
        Ok(reply)
    }
}
