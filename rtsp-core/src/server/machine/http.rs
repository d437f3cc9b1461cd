//! HTTP connections ([`ServerConfig::http`](crate::server::ServerConfig::http)): the request
//! head read under the connection limits, the auth gate, the routes, and the answer on the
//! wire. Streams and their viewers are in `http_viewer`, the listings in `http_report`.

use super::http_viewer::Viewer;
use super::Server;
use crate::io::{ConnId, Dest, Output, Transmit};
use crate::message::{HeaderName, Method, Request};
use crate::server::auth::Challenges;
use crate::server::http::{self, render, HttpRequest, HttpResponse, Route};
use crate::server::path::{self, Target};
use crate::server::reports::LoopReport;
use crate::server::ServerEvent;
use std::time::Instant;

/// The HTTP state of a connection that spoke HTTP first.
#[derive(Debug, Default)]
pub(super) struct HttpConn {
    /// Its request was answered: later bytes are ignored.
    pub(super) answered: bool,
    /// Bytes at the front of the buffer already searched for the end of the head (a head
    /// arriving byte by byte is not parsed again for every byte).
    pub(super) scanned: usize,
    /// The stream it receives, once it asked for one.
    pub(super) viewer: Option<Viewer>,
    /// Its request and user, while the stream it asks for is loading, and until when it
    /// waits ([`ServerConfig::load_timeout`](crate::server::ServerConfig::load_timeout)).
    pub(super) waiting: Option<(HttpRequest, Option<String>, Instant)>,
}

impl Server {
    /// Whether `conn`'s buffered bytes start an HTTP request (HTTP enabled, first request).
    pub(super) fn sniff_http(&mut self, conn: ConnId) -> bool {
        let enabled = self.config.http.is_some();
        let Some(c) = self.conns.get_mut(&conn) else {
            return false;
        };
        if c.http.is_none() && enabled && c.requests == 0 && http::is_http_request_line(&c.buf) {
            c.http = Some(Box::default());
        }
        c.http.is_some()
    }

    /// Reads the request head buffered on an HTTP connection and answers it.
    pub(super) fn http_decode(&mut self, conn: ConnId) {
        let limits = self.config.limits;
        let now = self.now;
        let Some(c) = self.conns.get_mut(&conn) else {
            return;
        };
        let Some(h) = c.http.as_ref() else {
            return;
        };
        if h.answered {
            c.buf.clear();
            return;
        }
        // Parse once the head is complete (or as large as allowed): search the new bytes only.
        let from = h.scanned.saturating_sub(3);
        let ended = http::head_end(&c.buf[from.min(c.buf.len())..]).is_some();
        if !ended && c.buf.len() < limits.max_head {
            if let Some(h) = c.http.as_mut() {
                h.scanned = c.buf.len();
            }
            c.partial_since.get_or_insert(now);
            self.schedule_conn(conn);
            return;
        }
        match http::parse_request(&c.buf, &limits) {
            Ok(None) => {
                c.partial_since.get_or_insert(now);
                self.schedule_conn(conn);
            }
            Err(e) => {
                c.buf.clear();
                self.http_answer(conn, "", "", HttpResponse::error(e.status()));
            }
            Ok(Some((req, _))) => {
                c.buf.clear();
                c.partial_since = None;
                c.last_request = now;
                c.requests += 1;
                if let Some(h) = c.http.as_mut() {
                    h.answered = true;
                }
                self.http_request(conn, req);
            }
        }
    }

    /// Routes one request: method, authentication, then the handler.
    fn http_request(&mut self, conn: ConnId, req: HttpRequest) {
        let route = Route::of(req.path());
        let resp = if !route.allows(&req.method) {
            let status = if route == Route::NotFound { 404 } else { 405 };
            Err(HttpResponse::error(status).header("Allow", route.allow()))
        } else {
            self.http_auth(conn, &req)
        };
        match resp {
            Ok(user) => self.http_serve(conn, req, user, true),
            Err(resp) => self.http_finish(conn, &req, resp),
        }
    }

    /// An admitted request: its answer, or (`may_wait`) a wait for its stream to load.
    fn http_serve(&mut self, conn: ConnId, req: HttpRequest, user: Option<String>, may_wait: bool) {
        let route = Route::of(req.path());
        match self.http_route(conn, &req, route, user.as_deref()) {
            Some(resp) if resp.wait && may_wait => {
                let until = self.now + self.config.load_timeout;
                if let Some(h) = self.conns.get_mut(&conn).and_then(|c| c.http.as_mut()) {
                    h.waiting = Some((req, user, until));
                    self.http_waiting.insert(conn);
                    self.schedule_conn(conn);
                }
            }
            Some(resp) => self.http_finish(conn, &req, resp),
            // A stream started (its connection stays open).
            None => {
                if let Some(peer) = self.conns.get(&conn).map(|c| c.peer) {
                    self.event(ServerEvent::HttpRequest {
                        conn,
                        peer,
                        method: req.method,
                        target: req.target,
                        status: 200,
                    });
                }
            }
        }
    }

    /// After a load ended: the requests waiting for a stream try again.
    pub(super) fn retry_http_waiting(&mut self) {
        let conns: Vec<ConnId> = std::mem::take(&mut self.http_waiting).into_iter().collect();
        for conn in conns {
            let waiting = self
                .conns
                .get_mut(&conn)
                .and_then(|c| c.http.as_mut()?.waiting.take());
            if let Some((req, user, until)) = waiting {
                self.http_serve_until(conn, req, user, until);
            }
        }
    }

    /// [`Server::http_serve`] for a request that waits until `until` at the latest.
    fn http_serve_until(
        &mut self,
        conn: ConnId,
        req: HttpRequest,
        user: Option<String>,
        until: Instant,
    ) {
        let may_wait = self.now < until;
        self.http_serve(conn, req, user, may_wait);
        if let Some(w) = self
            .conns
            .get_mut(&conn)
            .and_then(|c| c.http.as_mut()?.waiting.as_mut())
        {
            w.2 = until;
        }
    }

    /// The load timeout of a waiting request: it gets the catalog's answer as it is (503).
    pub(super) fn http_wait_over(&mut self, conn: ConnId) {
        let now = self.now;
        let waiting = self
            .conns
            .get_mut(&conn)
            .and_then(|c| c.http.as_mut())
            .and_then(|h| h.waiting.take_if(|w| w.2 <= now));
        if let Some((req, user, _)) = waiting {
            self.http_waiting.remove(&conn);
            self.http_serve(conn, req, user, false);
        }
    }

    fn http_finish(&mut self, conn: ConnId, req: &HttpRequest, mut resp: HttpResponse) {
        resp.head_only = req.method == "HEAD";
        self.http_answer(conn, &req.method, &req.target, resp);
    }

    /// The auth gate: `Ok(user)` (`None` when the server does not authenticate), or the 401.
    fn http_auth(
        &mut self,
        conn: ConnId,
        req: &HttpRequest,
    ) -> Result<Option<String>, HttpResponse> {
        let Some(serial) = self.conns.get(&conn).map(|c| c.serial) else {
            return Ok(None);
        };
        let Some(auth) = self.auth.as_mut() else {
            return Ok(None);
        };
        // The same checks as RTSP: a Digest `uri` is the request target.
        let mut probe = Request::new(Method::Extension(req.method.clone()), req.target.clone());
        for v in req.header_values("authorization") {
            probe
                .headers
                .append(HeaderName::AUTHORIZATION, v.to_string());
        }
        auth.check(&probe, serial, self.now, &mut self.rng)
            .map_err(|Challenges(challenges)| {
                let mut resp = HttpResponse::error(401);
                for c in challenges {
                    resp = resp.header("WWW-Authenticate", c);
                }
                resp
            })
    }

    /// The answer of an admitted request; `None` when it became a stream.
    fn http_route(
        &mut self,
        conn: ConnId,
        req: &HttpRequest,
        route: Route,
        user: Option<&str>,
    ) -> Option<HttpResponse> {
        let html = "text/html; charset=utf-8";
        let json = "application/json";
        Some(match route {
            Route::Page => {
                let title = self.config.server_name.clone();
                HttpResponse::new(200, html, render::page(&title, &self.stream_infos(req)))
            }
            Route::Style => HttpResponse::new(200, "text/css; charset=utf-8", render::STYLE),
            Route::Script => {
                HttpResponse::new(200, "text/javascript; charset=utf-8", render::SCRIPT)
            }
            Route::Streams => {
                HttpResponse::new(200, json, render::streams(&self.stream_infos(req)))
            }
            Route::Sessions => {
                HttpResponse::new(200, json, render::sessions(&self.all_report().sessions))
            }
            Route::Metrics => {
                HttpResponse::new(200, http::METRICS_CONTENT_TYPE, self.metrics_text())
            }
            Route::Kick(id) => self.http_kick(&id, user),
            Route::Stream(raw) | Route::Snapshot(raw) if stream_name(&raw).is_err() => {
                HttpResponse::error(stream_name(&raw).err().unwrap_or(400))
            }
            Route::Stream(raw) => {
                let name = stream_name(&raw).ok()?;
                if !self.may_read(&name, user) {
                    return Some(HttpResponse::error(403));
                }
                if req.method == "HEAD" {
                    return Some(HttpResponse::new(200, "multipart/x-mixed-replace", ""));
                }
                return self.start_viewer(conn, name).err();
            }
            Route::Snapshot(raw) => {
                let name = stream_name(&raw).ok()?;
                if !self.may_read(&name, user) {
                    return Some(HttpResponse::error(403));
                }
                self.snapshot(&name)
            }
            Route::NotFound => HttpResponse::error(404),
        })
    }

    /// Whether `user` may read `name` ([`AuthConfig::paths`](crate::server::AuthConfig::paths)).
    fn may_read(&self, name: &str, user: Option<&str>) -> bool {
        match (&self.config.auth, user) {
            (Some(auth), Some(user)) => auth.allows(name, user, false),
            _ => true,
        }
    }

    /// `POST /api/sessions/ID/kick`: an admin ends an RTSP session or an HTTP viewer, here
    /// (200) or, when another event loop reports it, there ([`ServerEvent::KickRequested`], 202).
    fn http_kick(&mut self, id: &str, user: Option<&str>) -> HttpResponse {
        let admins = self.config.http.as_ref().map(|h| &h.admins);
        let admin = user.is_some_and(|u| admins.is_some_and(|a| a.iter().any(|x| x == u)));
        if !admin {
            return HttpResponse::error(403);
        }
        let now = self.now;
        if self.kick(id, now) {
            return HttpResponse::new(200, "application/json", render::kicked(id));
        }
        // Another event loop holds it: the runtime asks them.
        let elsewhere = self.reports.merged(self.report_id, LoopReport::default());
        if elsewhere.sessions.iter().any(|s| s.id == id) {
            let session = id.to_string();
            self.event(ServerEvent::KickRequested { session });
            return HttpResponse::new(202, "application/json", render::kicked(id));
        }
        HttpResponse::error(404)
    }

    /// Sends `resp` on `conn` and closes it.
    pub(super) fn http_answer(
        &mut self,
        conn: ConnId,
        method: &str,
        target: &str,
        resp: HttpResponse,
    ) {
        let date = self.caches.date(self.wallclock());
        let data = resp.to_bytes(&self.config.server_name, &date);
        self.out.push_back(
            Output::Transmit(Transmit {
                dest: Dest::Stream(conn),
                data,
            })
            .into(),
        );
        if let Some(peer) = self.conns.get(&conn).map(|c| c.peer) {
            self.event(ServerEvent::HttpRequest {
                conn,
                peer,
                method: method.to_string(),
                target: target.to_string(),
                status: resp.status,
            });
        }
        self.drop_conn(conn, true);
    }
}

/// The stream name of a route's raw (percent-encoded) name, validated like an RTSP one;
/// otherwise the status (400, 403, 404).
fn stream_name(raw: &str) -> Result<String, u16> {
    match path::parse_target(&format!("rtsp://h/{raw}")) {
        Ok(Target::Stream {
            name, track: None, ..
        }) => Ok(name),
        Ok(_) => Err(404),
        Err(path::PathError::BadRequest) => Err(400),
        Err(path::PathError::Forbidden) => Err(403),
        Err(path::PathError::NotFound) => Err(404),
    }
}
