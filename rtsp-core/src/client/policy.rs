//! The playback policy: what the client does by itself once the application configured it —
//! the automatic DESCRIBE → SETUP → PLAY sequence and the fallback from UDP to TCP interleaved.

use std::time::{Duration, Instant};

use super::media::Media;
use super::request::Kind;
use super::timers::Timer;
use super::TransportChoice;
use super::{after, ApiError, Client, ClientError, ClientEvent, ClientState, FallbackReason};
use crate::message::{Method, StatusCode};

/// What the client does by itself for the application (see [`Client::set_policy`] and
/// [`Client::start`]).
///
/// [`Client::start`] runs DESCRIBE (standard dialect, unless already described) → SETUP with
/// [`Policy::transport`] → PLAY from [`Policy::seek`] (only with [`Policy::auto_play`]). A
/// failed or timed-out step is reported as usual ([`ClientEvent::RequestFailed`],
/// [`ClientError::RequestTimeout`]) and ends the sequence; the application decides whether
/// that is fatal.
///
/// With [`Policy::tcp_fallback`] and a UDP transport (standard dialect), the client falls back
/// to TCP interleaved — reported as [`ClientEvent::TransportFallback`], after which
/// [`Policy::transport`] is [`TransportChoice::Tcp`]:
/// * when SETUP over UDP is answered 461 Unsupported Transport: SETUP again over TCP (and PLAY
///   after it with `auto_play`), instead of reporting the failure;
/// * when PLAY succeeded over UDP but no RTP arrived within [`Policy::udp_wait`]: TEARDOWN of
///   the UDP session, then SETUP and PLAY over TCP.
///
/// [`Client::teardown`] and [`Client::close`] stop whatever the policy was doing.
#[derive(Debug, Clone, PartialEq)]
pub struct Policy {
    /// The transport SETUP asks for (the application has bound the UDP ports).
    pub transport: TransportChoice,
    /// With a UDP `transport`: fall back to TCP interleaved (see above). Ignored in the lab
    /// dialect, which has no TCP.
    pub tcp_fallback: bool,
    /// How long after PLAY succeeded over UDP the first RTP packet may take before the client
    /// falls back to TCP.
    pub udp_wait: Duration,
    /// Where the automatic PLAY starts (`Range: npt=SECS-`); `None`: where the server starts.
    pub seek: Option<Duration>,
    /// [`Client::start`] goes on to PLAY after SETUP; without it, it stops in
    /// [`ClientState::Ready`].
    pub auto_play: bool,
}

impl Policy {
    /// Over `transport`, no fallback, a 3 s UDP wait, no seek, playing at once.
    pub fn new(transport: TransportChoice) -> Self {
        Self {
            transport,
            tcp_fallback: false,
            udp_wait: Duration::from_secs(3),
            seek: None,
            auto_play: true,
        }
    }
}

/// How far the running sequence goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Goal {
    /// Stop after SETUP.
    Ready,
    /// PLAY after SETUP.
    Playing,
}

/// Where the policy's automatic sequence stands.
#[derive(Debug, Default)]
pub(super) struct AutoState {
    /// The sequence runs, this far; `None`: the client only does what it is asked.
    goal: Option<Goal>,
    /// Our TEARDOWN of a UDP session without media is outstanding: once it completes, SETUP
    /// and PLAY over TCP.
    refallback: bool,
}

impl AutoState {
    /// Stop: nothing more happens by itself.
    pub(super) fn stop(&mut self) {
        *self = Self::default();
    }
}

impl Client {
    /// Sets the playback policy (see [`Policy`]); it takes effect from the next step.
    pub fn set_policy(&mut self, policy: Policy) {
        self.policy = policy;
    }

    /// The playback policy; [`Policy::transport`] is the transport in use once it fell back.
    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// Starts the policy's sequence: DESCRIBE (standard dialect, when not described yet) →
    /// SETUP → PLAY (with [`Policy::auto_play`]; lab: SETUP → PLAY), each step sent when the
    /// previous one succeeded. Returns the first request's CSeq, or why it was refused (the
    /// sequence then does not start).
    pub fn start(&mut self) -> Result<u32, ApiError> {
        self.auto.goal = Some(self.full_goal());
        let r = self.next_step(None);
        if r.is_err() {
            self.auto.goal = None;
        }
        r
    }

    /// How far the whole sequence goes: PLAY with [`Policy::auto_play`], else SETUP.
    fn full_goal(&self) -> Goal {
        if self.policy.auto_play {
            Goal::Playing
        } else {
            Goal::Ready
        }
    }

    /// DESCRIBE, when the dialect has it and nothing is described yet; else SETUP.
    fn next_step(&mut self, now: Option<Instant>) -> Result<u32, ApiError> {
        if self.presentation.is_none() && self.dialect().describes() {
            self.describe_at(now)
        } else {
            self.setup_at(self.policy.transport, now)
        }
    }

    /// A step the policy took by itself: when it was refused, stop and say so. Returns whether
    /// it was sent.
    fn auto_step(&mut self, method: Method, sent: Result<u32, ApiError>) -> bool {
        let Err(error) = sent else {
            return true;
        };
        self.auto.goal = None;
        let method = error.method().cloned().unwrap_or(method);
        self.emit(ClientEvent::Error(ClientError::AutoStepRefused {
            method,
            error,
        }));
        false
    }

    /// DESCRIBE succeeded: SETUP, when the sequence runs.
    pub(super) fn policy_on_described(&mut self, now: Instant) {
        if self.auto.goal.is_some() {
            let sent = self.setup_at(self.policy.transport, Some(now));
            self.auto_step(Method::Setup, sent);
        }
    }

    /// SETUP succeeded: PLAY, when the sequence goes that far; either way it is done.
    pub(super) fn policy_on_set_up(&mut self, now: Instant) {
        if self.auto.goal.take() == Some(Goal::Playing) {
            let sent = self.play_at(self.policy.seek, Some(now));
            self.auto_step(Method::Play, sent);
        }
    }

    /// PLAY succeeded: over UDP with the fallback on and no RTP yet, check again after
    /// [`Policy::udp_wait`].
    pub(super) fn policy_on_playing(&mut self, now: Instant) {
        let udp = self.media.as_ref().is_some_and(Media::is_udp);
        if self.policy.tcp_fallback
            && self.dialect().interleaves()
            && udp
            && self.stats().packets == 0
        {
            self.timers
                .set(Timer::UdpCheck, after(now, self.policy.udp_wait));
        }
    }

    /// [`Policy::udp_wait`] after PLAY: still playing and no RTP came — tear the UDP session
    /// down, to set it up again over TCP (unless the application is tearing down already).
    pub(super) fn policy_check_udp(&mut self, now: Instant) {
        let silent = self.state == ClientState::Playing && self.stats().packets == 0;
        if !silent || self.teardown_pending() {
            return;
        }
        self.emit(ClientEvent::TransportFallback {
            reason: FallbackReason::NoUdpMedia {
                waited: self.policy.udp_wait,
            },
        });
        self.policy.transport = TransportChoice::Tcp;
        let sent = self.teardown_at(Some(now));
        self.auto.refallback = self.auto_step(Method::Teardown, sent);
    }

    /// TEARDOWN completed: after our fallback TEARDOWN, SETUP and PLAY over TCP.
    pub(super) fn policy_on_torn_down(&mut self, now: Instant) {
        if std::mem::take(&mut self.auto.refallback) {
            self.auto.goal = Some(Goal::Playing);
            let sent = self.next_step(Some(now));
            self.auto_step(Method::Setup, sent);
        }
    }

    /// A request got a non-2xx status. A 461 to SETUP over UDP with the fallback on: SETUP over
    /// TCP instead (and PLAY after it with `auto_play`), and the failure is not reported.
    /// Returns whether the policy took it.
    pub(super) fn policy_on_refused(
        &mut self,
        now: Instant,
        kind: &Kind,
        status: StatusCode,
    ) -> bool {
        let udp_setup = matches!(
            kind,
            Kind::Setup {
                choice: TransportChoice::Udp { .. }
            }
        );
        let udp_policy = matches!(self.policy.transport, TransportChoice::Udp { .. });
        if status != StatusCode::UNSUPPORTED_TRANSPORT
            || !(udp_setup && udp_policy && self.policy.tcp_fallback)
            || !self.dialect().interleaves()
        {
            return false;
        }
        self.emit(ClientEvent::TransportFallback {
            reason: FallbackReason::UdpRefused,
        });
        self.policy.transport = TransportChoice::Tcp;
        self.auto.goal = Some(self.full_goal());
        let sent = self.next_step(Some(now));
        self.auto_step(Method::Setup, sent);
        true
    }

    /// A request failed or timed out: a step of the sequence ends it.
    pub(super) fn policy_step_failed(&mut self, kind: &Kind) {
        if kind.is_state_changing() {
            self.auto.goal = None;
        }
    }
}
