//! PLAY (with an optional seek) and PAUSE.

use super::Handled;
use crate::message::headers::{NptTime, Range, RtpInfo};
use crate::message::{HeaderName, StatusCode};
use crate::server::machine::request::{Reply, RequestContext};
use crate::server::machine::Server;
use crate::server::session::Session;

impl Server {
    pub(super) fn play(&mut self, ctx: &RequestContext<'_>) -> Handled {
        let key = self.session_for(ctx)?;
        let now = self.now;
        let header = self.sessions.get(&key).map(|s| self.session_header(s));
        let s = self
            .sessions
            .get_mut(&key)
            .ok_or(StatusCode::SESSION_NOT_FOUND)?;
        if s.intake.is_some() {
            return Err(StatusCode::METHOD_NOT_VALID_IN_THIS_STATE.into());
        }
        let seek = seek(s, ctx.req.headers.get(&HeaderName::RANGE))?;
        if !s.is_playing() || seek.is_some() {
            s.play(now, seek);
        }
        let range = Range::Npt {
            start: NptTime::Seconds(s.position_secs()),
            end: (!s.looping && !s.is_live())
                .then(|| NptTime::Seconds(s.media.duration().as_secs_f64())),
        };
        let rtp_info = RtpInfo {
            url: s.track_url.clone(),
            seq: Some(s.next_seq()),
            rtptime: Some(s.rtp_time(s.k)),
        };
        let mut reply = Reply::new(StatusCode::OK)
            .header(HeaderName::RANGE, range.to_string())
            .header(HeaderName::RTP_INFO, rtp_info.to_string());
        reply.session = header;
        self.schedule_session(key);
        Ok(reply)
    }

    pub(super) fn pause(&mut self, ctx: &RequestContext<'_>) -> Handled {
        let (s, header) = self.session_with_header(ctx)?;
        if s.intake.is_some() {
            return Err(StatusCode::METHOD_NOT_VALID_IN_THIS_STATE.into());
        }
        s.pause();
        let range = Range::from_start(NptTime::Seconds(s.position_secs())).to_string();
        let mut reply = Reply::new(StatusCode::OK).header(HeaderName::RANGE, range);
        reply.session = Some(header);
        Ok(reply)
    }
}

/// The media frame a PLAY's `Range` seeks to: none without one or for `npt=now-`; the frame
/// at or before `npt=X-`; 457 for anything else or beyond the end.
fn seek(s: &Session, range: Option<&str>) -> Result<Option<usize>, Reply> {
    let Some(v) = range else {
        return Ok(None);
    };
    if s.is_live() {
        // A live stream plays from now, whatever the range asks.
        return Ok(None);
    }
    match Range::parse(v) {
        Ok(Range::Npt {
            start: NptTime::Now,
            ..
        }) => Ok(None),
        Ok(Range::Npt {
            start: NptTime::Seconds(x),
            ..
        }) if x.is_finite() && x >= 0.0 => {
            // The frame at or before X (a little slack for decimal rounding).
            let frame = (x * s.media.fps() + 1e-6).floor();
            if frame >= s.media.frame_count() as f64 {
                return Err(StatusCode::INVALID_RANGE.into());
            }
            Ok(Some(frame as usize))
        }
        _ => Err(StatusCode::INVALID_RANGE.into()),
    }
}
