//! The application's requests: OPTIONS, DESCRIBE, SETUP, PLAY, PAUSE, TEARDOWN and close, each
//! refused with an [`ApiError`] (nothing sent) when not valid in the current state.

use std::time::{Duration, Instant};

use super::request::Kind;
use super::timers::Timer;
use super::{ApiError, Client, ClientState, TransportChoice};
use crate::message::headers::{NptTime, Range};
use crate::message::{HeaderName, Method};

impl Client {
    /// Refuse `method` unless the state is one of `allowed` and no state-changing request (nor
    /// a TEARDOWN) is outstanding.
    fn check(&self, method: Method, allowed: &[ClientState]) -> Result<(), ApiError> {
        if self.state == ClientState::Closed {
            return Err(ApiError::Closed);
        }
        if !allowed.contains(&self.state) {
            return Err(ApiError::InvalidState {
                method,
                state: self.state,
            });
        }
        if let Some(p) = self.pending.iter().find(|p| p.kind.is_state_changing()) {
            return Err(ApiError::Busy {
                method,
                pending: p.method.clone(),
            });
        }
        if self.teardown_pending() {
            return Err(ApiError::Busy {
                method,
                pending: Method::Teardown,
            });
        }
        Ok(())
    }

    /// Whether a TEARDOWN is outstanding.
    pub(super) fn teardown_pending(&self) -> bool {
        self.pending
            .iter()
            .any(|p| matches!(p.kind, Kind::Teardown))
    }

    /// The URL PLAY, PAUSE, TEARDOWN and keepalives go to.
    pub(super) fn aggregate_url(&self) -> String {
        match &self.presentation {
            Some(p) => p.aggregate_url.clone(),
            None => self.target.request_uri.clone(),
        }
    }

    /// Send OPTIONS (standard dialect). Its `Public` decides the keepalive method.
    pub fn options(&mut self) -> Result<u32, ApiError> {
        if self.state == ClientState::Closed {
            return Err(ApiError::Closed);
        }
        self.dialect().check_method(Method::Options)?;
        let uri = self.target.request_uri.clone();
        Ok(self.send(Method::Options, &uri, Vec::new(), Kind::Options, None))
    }

    /// Send DESCRIBE for the URL (standard dialect).
    pub fn describe(&mut self) -> Result<u32, ApiError> {
        self.describe_at(None)
    }

    /// DESCRIBE, sent at `now` when known.
    pub(super) fn describe_at(&mut self, now: Option<Instant>) -> Result<u32, ApiError> {
        self.dialect().check_method(Method::Describe)?;
        self.check(Method::Describe, &[ClientState::Init])?;
        let uri = self.target.request_uri.clone();
        let headers = vec![(HeaderName::ACCEPT, "application/sdp".to_string())];
        let kind = Kind::Describe { url: uri.clone() };
        Ok(self.send(Method::Describe, &uri, headers, kind, now))
    }

    /// Send SETUP for track 0: the first JPEG video track of the SDP, or — without DESCRIBE —
    /// the URL itself (lab: the file name). The application has bound the UDP ports.
    pub fn setup(&mut self, transport: TransportChoice) -> Result<u32, ApiError> {
        self.setup_at(transport, None)
    }

    /// SETUP, sent at `now` when known.
    pub(super) fn setup_at(
        &mut self,
        transport: TransportChoice,
        now: Option<Instant>,
    ) -> Result<u32, ApiError> {
        self.check(Method::Setup, &[ClientState::Init])?;
        let (uri, value) = match self
            .dialect()
            .lab_setup(&self.target.request_uri, transport)?
        {
            Some(lab) => lab,
            None => (self.setup_uri(), rtsp_transport(transport)),
        };
        let headers = vec![(HeaderName::TRANSPORT, value)];
        let kind = Kind::Setup { choice: transport };
        Ok(self.send(Method::Setup, &uri, headers, kind, now))
    }

    /// SETUP's request-URI: the selected track's control URL, else the request URL.
    fn setup_uri(&self) -> String {
        self.presentation
            .as_ref()
            .and_then(|p| p.selected.map(|i| p.tracks[i].control_url.clone()))
            .unwrap_or_else(|| self.target.request_uri.clone())
    }

    /// Send PLAY to the aggregate URL: from `seek` (`Range: npt=SECS-`), or — with `None` — from
    /// the current position (the start, after SETUP). Valid in Ready (and in Playing, to seek).
    /// The lab dialect sends no `Range`.
    pub fn play(&mut self, seek: Option<Duration>) -> Result<u32, ApiError> {
        self.play_at(seek, None)
    }

    /// PLAY, sent at `now` when known.
    pub(super) fn play_at(
        &mut self,
        seek: Option<Duration>,
        now: Option<Instant>,
    ) -> Result<u32, ApiError> {
        self.check(Method::Play, &[ClientState::Ready, ClientState::Playing])?;
        let mut headers = Vec::new();
        if let (Some(seek), true) = (seek, self.dialect().sends_range()) {
            let range = Range::from_start(NptTime::Seconds(seek.as_secs_f64()));
            headers.push((HeaderName::RANGE, range.to_string()));
        }
        let uri = self.aggregate_url();
        Ok(self.send(Method::Play, &uri, headers, Kind::Play, now))
    }

    /// Send PAUSE. Valid in Playing.
    pub fn pause(&mut self) -> Result<u32, ApiError> {
        self.check(Method::Pause, &[ClientState::Playing])?;
        let uri = self.aggregate_url();
        Ok(self.send(Method::Pause, &uri, Vec::new(), Kind::Pause, None))
    }

    /// Send TEARDOWN (and an RTCP BYE). Valid while a session exists, even with another request
    /// outstanding. The control connection stays open afterwards (see [`Client::close`]).
    /// Stops what the [`Policy`](super::Policy) was doing by itself.
    pub fn teardown(&mut self) -> Result<u32, ApiError> {
        let cseq = self.teardown_at(None)?;
        self.auto.stop();
        Ok(cseq)
    }

    /// TEARDOWN, sent at `now` when known.
    pub(super) fn teardown_at(&mut self, now: Option<Instant>) -> Result<u32, ApiError> {
        if self.state == ClientState::Closed {
            return Err(ApiError::Closed);
        }
        if self.session.is_none() {
            return Err(ApiError::InvalidState {
                method: Method::Teardown,
                state: self.state,
            });
        }
        if self.teardown_pending() {
            return Err(ApiError::Busy {
                method: Method::Teardown,
                pending: Method::Teardown,
            });
        }
        // The session ends: an end of stream still in its grace is not reported.
        if let Some(media) = self.media.as_mut() {
            media.take_end_grace();
        }
        self.send_rtcp(self.now, true);
        self.stop_session_timers();
        let uri = self.aggregate_url();
        Ok(self.send(Method::Teardown, &uri, Vec::new(), Kind::Teardown, now))
    }

    /// Close the control connection ([`Output::Close`](crate::io::Output::Close)) and end the
    /// client ([`ClientEvent::Closed`](super::ClientEvent::Closed)). Does not send TEARDOWN.
    /// Harmless when already closed.
    pub fn close(&mut self) {
        self.shut_down(None, true);
    }

    /// Stop the timers a session runs (keepalive, RTCP reports, the UDP media check).
    pub(super) fn stop_session_timers(&mut self) {
        self.timers.stop(Timer::Keepalive);
        self.timers.stop(Timer::Rtcp);
        self.timers.stop(Timer::UdpCheck);
    }
}

/// The standard `Transport` of a SETUP for `choice`.
fn rtsp_transport(choice: TransportChoice) -> String {
    match choice {
        TransportChoice::Udp {
            rtp_local,
            rtcp_local,
        } => format!(
            "RTP/AVP;unicast;client_port={}-{}",
            rtp_local.port(),
            rtcp_local.port()
        ),
        TransportChoice::Tcp => "RTP/AVP/TCP;unicast;interleaved=0-1".to_string(),
    }
}
