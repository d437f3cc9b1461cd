//! Responses to our requests: matched by CSeq, then handled per method (the SETUP reply has its
//! own file, `setup.rs`).

use std::time::Instant;

use super::media::Media;
use super::request::{redirect_location, Kind, Pending};
use super::{describe, Client, ClientError, ClientEvent, ClientState, Refusal};
use crate::auth::Challenge;
use crate::io::Output;
use crate::message::headers::{Public, Range, RtpInfo};
use crate::message::{HeaderName, Method, Response, StatusCode};

impl Client {
    pub(super) fn on_response(&mut self, now: Instant, resp: Response) {
        if resp.status.0 < 200 {
            return; // 1xx: the final response follows.
        }
        let Some(p) = self.take_answered(&resp) else {
            return; // Unsolicited, or it already timed out.
        };
        if let Some(session) = self.session.as_mut() {
            // The server answers: whatever else is wrong, it is not silent.
            session.keepalive_misses = 0;
        }
        let status = resp.status;
        self.out.push_back(Output::Event(ClientEvent::Response {
            cseq: p.cseq,
            method: p.method.clone(),
            status,
        }));
        self.flush_requests(Some(now));
        if self.retry_with_auth(&p, &resp, now) {
            return;
        }
        if let Some(location) = redirect_location(&p, &resp) {
            self.auto.stop();
            self.emit(ClientEvent::Redirected {
                method: p.method,
                status,
                location,
            });
            return;
        }
        self.dispatch(now, p, &resp);
    }

    /// Handle a final, non-redirect response to `p` by what `p` was for.
    fn dispatch(&mut self, now: Instant, p: Pending, resp: &Response) {
        let status = resp.status;
        let ok = status.is_success();
        match p.kind {
            Kind::Keepalive => {
                if ok {
                    self.note_public(resp);
                } else {
                    self.emit(ClientEvent::KeepaliveFailed {
                        status: Some(status),
                    });
                }
            }
            Kind::Teardown => {
                if !ok {
                    self.note_refusal(&p, resp);
                }
                self.on_teardown_done(now, p.method, status);
            }
            _ if !ok => {
                self.note_refusal(&p, resp);
                self.on_request_failed(now, &p, status);
            }
            Kind::Options => self.note_public(resp),
            Kind::Describe { url } => self.on_described(now, p.cseq, resp, &url),
            Kind::Setup { choice } => self.on_setup_done(now, p.cseq, resp, choice, &p.uri),
            Kind::Play => self.on_play_done(now, p.cseq, resp),
            Kind::Pause => {
                self.state = ClientState::Ready;
                self.unwatch_media();
                self.emit(ClientEvent::Paused);
            }
        }
    }

    /// A request other than a keepalive or TEARDOWN got a non-2xx status: the policy may try
    /// another way (461 to SETUP over UDP), else the application hears of it.
    fn on_request_failed(&mut self, now: Instant, p: &Pending, status: StatusCode) {
        if self.policy_on_refused(now, &p.kind, status) {
            return;
        }
        self.policy_step_failed(&p.kind);
        self.emit(ClientEvent::RequestFailed {
            method: p.method.clone(),
            status,
        });
    }

    /// Keep what the server said about refusing `p` (see [`Client::last_refusal`]).
    fn note_refusal(&mut self, p: &Pending, resp: &Response) {
        let stale = resp.status == StatusCode::UNAUTHORIZED
            && Challenge::parse_all(resp.headers.get_all(&HeaderName::WWW_AUTHENTICATE))
                .iter()
                .any(|c| c.stale);
        self.last_refusal = Some(refusal(p, resp, stale));
    }

    fn note_public(&mut self, resp: &Response) {
        if let Some(public) = resp.headers.get(&HeaderName::PUBLIC) {
            self.get_parameter_ok = Public::parse(public).contains(&Method::GetParameter);
        }
    }

    fn on_described(&mut self, now: Instant, cseq: u32, resp: &Response, url: &str) {
        let p = describe::presentation(resp, url);
        let usable = p.selected.is_some();
        self.presentation = Some(p.clone());
        self.emit(ClientEvent::Described {
            cseq,
            presentation: p,
        });
        if !usable {
            self.emit(ClientEvent::Error(ClientError::NoVideoTrack));
        }
        self.policy_on_described(now);
    }

    fn on_play_done(&mut self, now: Instant, cseq: u32, resp: &Response) {
        // The BYE came before this reply: report the old stream's end before the new one
        // starts, not in the middle of it.
        if let Some(ssrc) = self.media.as_mut().and_then(Media::take_end_grace) {
            self.end_stream(ssrc);
        }
        self.state = ClientState::Playing;
        let range = resp
            .headers
            .get(&HeaderName::RANGE)
            .and_then(|v| Range::parse(v).ok());
        let rtp_info = resp
            .headers
            .get(&HeaderName::RTP_INFO)
            .and_then(|v| RtpInfo::parse_list(v).ok())
            .unwrap_or_default();
        if let Some(session) = self.session.as_mut() {
            session.heard_at = now;
            let seq = track_seq(&rtp_info, &session.track_url);
            if let (Some(seq), Some(media)) = (seq, self.media.as_mut()) {
                media.announce_seq(seq);
            }
        }
        self.watch_media(now);
        self.emit(ClientEvent::Playing {
            cseq,
            range,
            rtp_info,
        });
        self.policy_on_playing(now);
    }

    fn on_teardown_done(&mut self, now: Instant, method: Method, status: StatusCode) {
        if !status.is_success() {
            self.emit(ClientEvent::RequestFailed { method, status });
        }
        // Either way the session is gone for us.
        self.session = None;
        self.drop_media();
        self.stop_session_timers();
        self.state = ClientState::Init;
        self.emit(ClientEvent::TornDown);
        self.policy_on_torn_down(now);
    }
}

/// The first sequence number PLAY's `RTP-Info` announces for the track at `track_url`: its
/// entry, else the only entry.
pub(super) fn track_seq(rtp_info: &[RtpInfo], track_url: &str) -> Option<u16> {
    let norm = |u: &str| u.trim().trim_end_matches('/').to_string();
    let track = norm(track_url);
    let matches = |info: &RtpInfo| {
        let url = norm(&info.url);
        !url.is_empty()
            && (url == track
                || (!url.contains("://")
                    && track.ends_with(&format!("/{}", url.trim_start_matches('/')))))
    };
    match rtp_info.iter().find(|i| matches(i)) {
        Some(info) => info.seq,
        None if rtp_info.len() == 1 => rtp_info[0].seq,
        None => None,
    }
}

/// A [`Refusal`] from the reply to `p`.
fn refusal(p: &Pending, resp: &Response, stale: bool) -> Refusal {
    let phrase = resp.reason.trim();
    let reason_phrase = (!phrase.is_empty() && !phrase.eq_ignore_ascii_case(resp.status.reason()))
        .then(|| printable(phrase));
    Refusal {
        method: p.method.clone(),
        uri: p.uri.clone(),
        status: resp.status,
        reason_phrase,
        text: body_text(resp),
        credentials_refused: p.auth_retry(),
        stale,
    }
}

/// A short text body as one line: its non-empty lines joined with `; `, bounded. Not for an
/// SDP or anything that is not text.
fn body_text(resp: &Response) -> Option<String> {
    let textual = resp
        .headers
        .get(&HeaderName::CONTENT_TYPE)
        .is_none_or(|t| t.trim().to_ascii_lowercase().starts_with("text/"));
    let body = std::str::from_utf8(&resp.body).ok()?;
    if !textual || body.trim().is_empty() {
        return None;
    }
    let joined = body
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join("; ");
    Some(printable(&joined))
}

/// `s` without control characters, at most [`Refusal::MAX_TEXT`] characters (`...` when cut).
fn printable(s: &str) -> String {
    let clean: String = s.chars().filter(|c| !c.is_control()).collect();
    if clean.chars().count() <= Refusal::MAX_TEXT {
        return clean;
    }
    let mut cut: String = clean.chars().take(Refusal::MAX_TEXT - 3).collect();
    cut.push_str("...");
    cut
}
