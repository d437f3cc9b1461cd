//! Requests on the control connection: building and writing them, the table of outstanding
//! ones, the retry with credentials after a 401, and where a 3xx redirects to.

use std::time::Instant;

use super::{after, Client, ClientEvent, TransportChoice};
use crate::auth::{Challenge, DigestState};
use crate::io::{Dest, Output, Transmit};
use crate::message::{HeaderName, Method, Request, Response, StatusCode};

/// What a request was for (decides how its response is handled).
#[derive(Debug, Clone)]
pub(super) enum Kind {
    /// OPTIONS asked for by the application.
    Options,
    /// A keepalive (GET_PARAMETER or OPTIONS).
    Keepalive,
    /// DESCRIBE of this URL.
    Describe { url: String },
    /// SETUP with this transport.
    Setup { choice: TransportChoice },
    /// PLAY.
    Play,
    /// PAUSE.
    Pause,
    /// TEARDOWN.
    Teardown,
}

impl Kind {
    /// Requests that change the session state: only one may be outstanding.
    pub(super) fn is_state_changing(&self) -> bool {
        matches!(
            self,
            Self::Describe { .. } | Self::Setup { .. } | Self::Play | Self::Pause
        )
    }
}

/// A request written (or waiting to be written) to the control connection.
#[derive(Debug)]
pub(super) struct Pending {
    pub(super) cseq: u32,
    pub(super) method: Method,
    pub(super) kind: Kind,
    /// Bytes not yet sent (not connected yet, or the lab dialect's one-at-a-time rule).
    pub(super) unsent: Option<Vec<u8>>,
    /// When it times out; `None` until sent and the time is known.
    pub(super) deadline: Option<Instant>,
    /// Request-URI and extra headers, to send it again with credentials after a 401.
    pub(super) uri: String,
    headers: Vec<(HeaderName, String)>,
    /// This is already the retry with credentials.
    auth_retry: bool,
}

impl Pending {
    /// Whether this is already the retry with credentials after a 401.
    pub(super) fn auth_retry(&self) -> bool {
        self.auth_retry
    }
}

impl Client {
    /// Build a request, queue it, and write it if possible. Returns its CSeq.
    pub(super) fn send(
        &mut self,
        method: Method,
        uri: &str,
        headers: Vec<(HeaderName, String)>,
        kind: Kind,
        now: Option<Instant>,
    ) -> u32 {
        let cseq = self.next_cseq;
        self.next_cseq = self.next_cseq.wrapping_add(1).max(1);
        let session = self.session.as_ref().map(|s| s.id.clone());
        let data = if self.dialect().writes_lab_requests() {
            super::lab::request(&method, uri, cseq, &headers, session.as_deref())
        } else {
            self.rtsp_request(&method, uri, cseq, &headers, session)
        };
        self.pending.push_back(Pending {
            cseq,
            method,
            kind,
            unsent: Some(data),
            deadline: None,
            uri: uri.to_string(),
            headers,
            auth_retry: false,
        });
        self.flush_requests(now);
        cseq
    }

    /// A standard RTSP/1.0 request: CRLF lines, `User-Agent`, `Authorization` once the server
    /// asked for it, `Session` once there is one.
    fn rtsp_request(
        &mut self,
        method: &Method,
        uri: &str,
        cseq: u32,
        headers: &[(HeaderName, String)],
        session: Option<String>,
    ) -> Vec<u8> {
        let mut req = Request::new(method.clone(), uri)
            .with_header(HeaderName::CSEQ, cseq.to_string())
            .with_header(HeaderName::USER_AGENT, self.cfg().user_agent.clone());
        for (name, value) in headers {
            req.headers.append(name.clone(), value.clone());
        }
        if let (Some((challenge, state)), Some(creds)) = (self.auth.as_mut(), &self.credentials) {
            let value = challenge.authorization(creds, method.as_str(), uri, state);
            req.headers.append(HeaderName::AUTHORIZATION, value);
        }
        if let Some(id) = session {
            req.headers.append(HeaderName::SESSION, id);
        }
        req.to_bytes()
    }

    /// Write queued requests: all of them, or — when the dialect takes one at a time — the
    /// next one when none is outstanding. `now`: the current time if known (inside
    /// `handle_input`).
    pub(super) fn flush_requests(&mut self, now: Option<Instant>) {
        let Some(conn) = self.conn else {
            return;
        };
        let one_at_a_time = self.dialect().one_request_at_a_time();
        let timeout = self.cfg().request_timeout;
        let trace = self.cfg().trace_messages;
        let mut in_flight = self.pending.iter().any(|p| p.unsent.is_none());
        for p in self.pending.iter_mut() {
            let Some(data) = p.unsent.take() else {
                continue;
            };
            if one_at_a_time && in_flight {
                p.unsent = Some(data);
                break;
            }
            in_flight = true;
            match now {
                Some(now) => p.deadline = Some(after(now, timeout)),
                None => self.need_now = true,
            }
            if trace {
                self.out.push_back(Output::Event(ClientEvent::Trace {
                    outgoing: true,
                    text: String::from_utf8_lossy(&data).into_owned(),
                }));
            }
            self.out.push_back(Output::Transmit(Transmit {
                dest: Dest::Stream(conn),
                data,
            }));
        }
    }

    /// Take the outstanding request `resp` answers (by CSeq; without one, the oldest sent).
    pub(super) fn take_answered(&mut self, resp: &Response) -> Option<Pending> {
        let idx = match resp.cseq() {
            Some(cseq) => self
                .pending
                .iter()
                .position(|p| p.cseq == cseq && p.unsent.is_none()),
            // No CSeq (some broken servers): the oldest request sent.
            None => self.pending.iter().position(|p| p.unsent.is_none()),
        };
        idx.and_then(|i| self.pending.remove(i))
    }

    /// A 401: answer the server's challenge with the URL's credentials and send the request
    /// again — once per request, whatever the challenge says: a server that answers the retry
    /// with 401 again (even with `stale=true` and a new nonce) gets no third try, so a hostile
    /// or broken server cannot keep the client in a loop. Returns whether it was sent again.
    pub(super) fn retry_with_auth(&mut self, p: &Pending, resp: &Response, now: Instant) -> bool {
        if resp.status != StatusCode::UNAUTHORIZED
            || self.credentials.is_none()
            || !self.dialect().authenticates()
        {
            return false;
        }
        let challenges = Challenge::parse_all(resp.headers.get_all(&HeaderName::WWW_AUTHENTICATE));
        let Some(challenge) = Challenge::best(&challenges).cloned() else {
            return false;
        };
        if p.auth_retry {
            return false;
        }
        let cnonce = self.rng.hex(8);
        self.auth = Some((challenge, DigestState::new(cnonce)));
        let (method, headers, kind) = (p.method.clone(), p.headers.clone(), p.kind.clone());
        self.send(method, &p.uri, headers, kind, Some(now));
        // The request just queued (last, whether written or not) is the retry.
        if let Some(retry) = self.pending.back_mut() {
            retry.auth_retry = true;
        }
        true
    }
}

/// The target of a redirect (3xx with `Location`, resolved against the request-URI) for a
/// request that may be redirected.
pub(super) fn redirect_location(p: &Pending, resp: &Response) -> Option<String> {
    let code = resp.status.0;
    let redirect = matches!(code, 301 | 302 | 303 | 305 | 307 | 308);
    if !redirect || matches!(p.kind, Kind::Keepalive | Kind::Teardown) {
        return None;
    }
    let location = resp.headers.get(&HeaderName::LOCATION)?.trim();
    if location.is_empty() {
        return None;
    }
    Some(crate::url::join(&p.uri, location))
}
