//! What the page, `/api/streams`, `/api/sessions` and `/metrics` report: read from this
//! machine's sessions and viewers, the live paths (shared by every event loop) and the
//! shared counts.
//!
//! Sessions, viewers and the per-path traffic of the other event loops come from their
//! reports in [`SharedReports`](crate::server::SharedReports) (at most a second old; at once
//! when sessions or viewers come or go), this loop's are read fresh; connection and session
//! totals, live paths and limits run into are shared counts.

use super::Server;
use crate::server::http::{render, Exposition, HttpRequest, SessionInfo, StreamInfo};
use crate::server::reports::{LoopReport, Readers};
use crate::server::session::{Delivery, Session};
use crate::server::LiveSource;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// How often a loop stores its report when nothing came or went.
const REPORT_EVERY: Duration = Duration::from_secs(1);
/// How soon after sessions or viewers came or went (at most this often).
const REPORT_CHANGED: Duration = Duration::from_millis(100);

impl Server {
    /// Every stream: the catalog's names and the live paths, by name.
    pub(super) fn stream_infos(&mut self, req: &HttpRequest) -> Vec<StreamInfo> {
        let host = req.header_values("host").next().unwrap_or("localhost");
        let host = strip_port(host);
        let port = self.config.http.as_ref().map_or(554, |h| h.rtsp_port);
        let url = |name: &str| format!("rtsp://{host}:{port}/{}", render::encode_path(name));
        let readers = self.all_report().readers;
        let mut out = Vec::new();
        let live = self.config.live.status();
        for p in &live {
            let state = match (p.source, &p.publisher, p.has_media) {
                (LiveSource::Publisher { .. }, None, _) => "offline",
                (_, _, true) => "live",
                _ => "waiting",
            };
            let media = match self.config.live.lookup(&p.name, self.now) {
                crate::server::LiveLookup::Ready(m) => Some(m),
                _ => None,
            };
            out.push(StreamInfo {
                name: p.name.clone(),
                kind: "live",
                state,
                width: p.size.map(|s| s.0),
                height: p.size.map(|s| s.1),
                fps: media.map(|m| m.fps()),
                readers: p.readers,
                rtsp_url: url(&p.name),
            });
        }
        for name in self.catalog.names() {
            if self.config.live.contains(&name) {
                continue;
            }
            let (state, media) = match self.catalog.lookup(&name) {
                Ok(m) => ("ready", Some(m)),
                Err(crate::server::LookupError::Loading) => ("loading", None),
                Err(_) => ("error", None),
            };
            let live = media.as_ref().is_some_and(|m| m.is_live());
            out.push(StreamInfo {
                kind: if live { "live" } else { "file" },
                state,
                width: media.as_ref().map(|m| m.width()),
                height: media.as_ref().map(|m| m.height()),
                fps: media.as_ref().map(|m| m.fps()),
                readers: readers.get(&name).map_or(0, |r| r.values().sum()),
                rtsp_url: url(&name),
                name,
            });
        }
        out.sort_by(|a, b| a.name.cmp(&b.name));
        out
    }

    /// When this loop's report is next due, if something came or went since the last.
    pub(super) fn report_due(&self) -> Option<Instant> {
        match self.last_report {
            _ if !self.report_dirty || !self.report_shared() || self.shut_down => None,
            None => Some(self.now),
            Some(at) => Some(at + REPORT_CHANGED),
        }
    }

    /// Stores this loop's report when it is due: sessions or viewers came or went (at most
    /// every [`REPORT_CHANGED`]) or [`REPORT_EVERY`] passed.
    pub(super) fn refresh_report(&mut self) {
        if !self.report_shared() {
            return;
        }
        let due = match self.last_report {
            None => true,
            Some(at) if self.report_dirty => self.now >= at + REPORT_CHANGED,
            Some(at) => self.now >= at + REPORT_EVERY,
        };
        if due {
            let report = self.local_report();
            self.reports.store(self.report_id, report);
            self.last_report = Some(self.now);
            self.report_dirty = false;
        }
    }

    /// Whether other event loops read this loop's report (a lone server reads its own state).
    fn report_shared(&self) -> bool {
        self.config.reports.is_some()
    }

    /// Every loop's report, this one's fresh.
    pub(super) fn all_report(&self) -> LoopReport {
        self.reports.merged(self.report_id, self.local_report())
    }

    /// This loop's sessions, viewers and traffic.
    fn local_report(&self) -> LoopReport {
        let mut traffic = self.closed_traffic.clone();
        let mut lost: BTreeMap<String, i64> = BTreeMap::new();
        for s in self.sessions.values().filter(|s| s.intake.is_none()) {
            let t = traffic.entry(s.stream.clone()).or_default();
            t.0 += s.stats.packets;
            t.1 += s.stats.octets;
            if let Some((_, cumulative, _)) = s.last_report {
                *lost.entry(s.stream.clone()).or_default() += i64::from(cumulative);
            }
        }
        LoopReport {
            sessions: self.session_infos(),
            readers: self.local_readers(),
            traffic,
            lost,
        }
    }

    /// Readers of each stream on this loop, by transport (`udp`, `tcp`, `lab`, `http`).
    fn local_readers(&self) -> Readers {
        let mut out = Readers::new();
        for s in self.sessions.values().filter(|s| s.intake.is_none()) {
            *out.entry(s.stream.clone())
                .or_default()
                .entry(transport(s))
                .or_default() += 1;
        }
        for c in self.conns.values() {
            if let Some(v) = c.http.as_ref().and_then(|h| h.viewer.as_ref()) {
                *out.entry(v.stream.clone())
                    .or_default()
                    .entry("http")
                    .or_default() += 1;
            }
        }
        out
    }

    /// The RTSP sessions (in id order), then the HTTP viewers, of this loop.
    fn session_infos(&self) -> Vec<SessionInfo> {
        let mut out = Vec::new();
        for key in self.ids.values() {
            let Some(s) = self.sessions.get(key) else {
                continue;
            };
            let state = match (s.intake.is_some(), s.is_playing()) {
                (true, _) => "publishing",
                (false, true) => "playing",
                (false, false) => "ready",
            };
            out.push(SessionInfo {
                id: s.id.clone(),
                protocol: "rtsp",
                peer: s.peer,
                stream: s.stream.clone(),
                transport: transport(s),
                state,
                user: s.user.clone(),
                packets: s.stats.packets,
                octets: s.stats.octets,
                frames: s.stats.frames,
                frames_skipped: s.stats.frames_skipped,
                loss: s.last_report,
            });
        }
        for (&conn, c) in &self.conns {
            if let Some(v) = c.http.as_ref().and_then(|h| h.viewer.as_ref()) {
                out.push(SessionInfo {
                    id: self.viewer_id(conn),
                    protocol: "http",
                    peer: c.peer,
                    stream: v.stream.clone(),
                    transport: "http",
                    state: "streaming",
                    user: None,
                    packets: v.frames,
                    octets: v.octets,
                    frames: v.frames,
                    frames_skipped: 0,
                    loss: None,
                });
            }
        }
        out
    }

    /// `/metrics`.
    pub(super) fn metrics_text(&self) -> String {
        let mut e = Exposition::default();
        let g = "gauge";
        let c = "counter";
        e.single(
            "rtsp_connections",
            g,
            "Open connections (RTSP and HTTP), all event loops.",
            self.counts.connections() as f64,
        );
        e.single(
            "rtsp_sessions",
            g,
            "RTSP sessions, all event loops.",
            self.counts.sessions() as f64,
        );
        let LoopReport {
            readers,
            traffic,
            lost,
            ..
        } = self.all_report();
        e.family("rtsp_readers", g, "Readers per path and transport.");
        for (path, by) in readers {
            for (t, n) in by {
                e.sample(
                    "rtsp_readers",
                    &[("path", &path), ("transport", t)],
                    n as f64,
                );
            }
        }
        e.family("rtsp_packets_sent_total", c, "RTP packets sent per path.");
        for (path, (packets, _)) in &traffic {
            e.sample(
                "rtsp_packets_sent_total",
                &[("path", path)],
                *packets as f64,
            );
        }
        e.family(
            "rtsp_bytes_sent_total",
            c,
            "RTP payload bytes sent per path.",
        );
        for (path, (_, octets)) in &traffic {
            e.sample("rtsp_bytes_sent_total", &[("path", path)], *octets as f64);
        }
        e.family(
            "rtsp_rtcp_packets_lost",
            g,
            "Packets lost as the last RTCP receiver reports of the current sessions say, per path.",
        );
        for (path, n) in &lost {
            e.sample("rtsp_rtcp_packets_lost", &[("path", path)], *n as f64);
        }
        e.family(
            "rtsp_live_source_up",
            g,
            "1 when a live path has a source (publisher or pulled frames), per path.",
        );
        let live = self.config.live.status();
        for p in &live {
            let (source, up) = match p.source {
                LiveSource::Publisher { .. } => ("publisher", p.publisher.is_some()),
                LiveSource::Pulled { .. } => ("pulled", p.has_media),
            };
            e.sample(
                "rtsp_live_source_up",
                &[("path", &p.name), ("source", source)],
                f64::from(u8::from(up)),
            );
        }
        e.family("rtsp_live_frames_total", c, "Frames a live path has had.");
        for p in &live {
            e.sample(
                "rtsp_live_frames_total",
                &[("path", &p.name)],
                p.frames as f64,
            );
        }
        e.family("rtsp_limit_exceeded_total", c, "Limits run into (refused, evicted and timed-out connections among them), by limit, all event loops.");
        for (limit, n) in self.counts.limits_exceeded() {
            e.sample("rtsp_limit_exceeded_total", &[("limit", limit)], n as f64);
        }
        e.finish()
    }
}

/// The transport label of a session.
fn transport(s: &Session) -> &'static str {
    match s.delivery {
        Delivery::Udp { .. } => "udp",
        Delivery::Interleaved { .. } => "tcp",
        Delivery::Lab { .. } => "lab",
    }
}

/// `host:port`, `[v6]:port` or `host` without the port.
fn strip_port(host: &str) -> &str {
    if let Some(end) = host.strip_prefix('[').and_then(|h| h.find(']')) {
        return &host[..end + 2];
    }
    match host.rsplit_once(':') {
        Some((h, p)) if !h.contains(':') && p.bytes().all(|b| b.is_ascii_digit()) => h,
        _ => host,
    }
}
