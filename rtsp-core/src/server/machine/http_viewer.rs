//! Viewers of `/NAME/stream.mjpg`: a live path's viewers get every frame pushed to it; a
//! file plays for each viewer from its first frame at its frame rate (own timer). Each part
//! goes out as shared transmits, the first marked `frame_start`, so a runtime drops whole
//! parts for a viewer that does not read.

use super::timers::TimerKey;
use super::Server;
use crate::io::{ConnId, Dest, Emit, InlineHeader, SharedTransmit};
use crate::server::http::{part_header, stream_head, HttpResponse};
use crate::server::media::{LookupError, Media};
use bytes::Bytes;
use std::cmp::Reverse;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// One viewer's stream.
#[derive(Debug)]
pub(super) struct Viewer {
    pub(super) stream: String,
    /// A file's playback; `None` for a live path.
    pub(super) file: Option<FilePlay>,
    /// Parts sent and their JPEG bytes.
    pub(super) frames: u64,
    pub(super) octets: u64,
}

/// A file played for one viewer.
#[derive(Debug)]
pub(super) struct FilePlay {
    media: Arc<Media>,
    /// The next frame's index.
    next: usize,
    /// When it is due (the viewer's timer).
    pub(super) due: Instant,
    looping: bool,
}

impl Server {
    /// The id `/api/sessions` gives an HTTP viewer: `http-LOOP-CONN` (connection ids are
    /// per event loop).
    pub(super) fn viewer_id(&self, conn: ConnId) -> String {
        format!("http-{}-{}", self.report_id, conn.0)
    }

    /// The connection of one of this loop's viewer ids.
    fn viewer_conn(&self, id: &str) -> Option<ConnId> {
        let (lp, conn) = id.strip_prefix("http-")?.split_once('-')?;
        (lp.parse::<usize>().ok()? == self.report_id)
            .then(|| conn.parse().ok().map(ConnId))
            .flatten()
    }

    /// Ends the HTTP viewer `id` if it is one of this loop's.
    pub(super) fn kick_viewer(&mut self, id: &str) -> bool {
        let Some(conn) = self.viewer_conn(id) else {
            return false;
        };
        let found = self.conns.get(&conn).is_some_and(|c| c.is_viewer());
        if found {
            self.drop_conn(conn, true);
        }
        found
    }

    /// Starts streaming `name` on `conn`; the refusal if it cannot.
    pub(super) fn start_viewer(&mut self, conn: ConnId, name: String) -> Result<(), HttpResponse> {
        let file = match self.file_media(&name)? {
            None => None,
            Some(media) => Some(FilePlay {
                looping: media.loops(self.config.loop_media),
                media,
                next: 0,
                due: self.now,
            }),
        };
        let date = self.caches.date(self.wallclock());
        let head = stream_head(&self.config.server_name, &date);
        let Some(h) = self.conns.get_mut(&conn).and_then(|c| c.http.as_mut()) else {
            return Ok(());
        };
        let due = file.as_ref().map(|f| f.due);
        self.report_dirty = true;
        h.viewer = Some(Viewer {
            stream: name.clone(),
            file,
            frames: 0,
            octets: 0,
        });
        self.out.push_back(
            crate::io::Output::Transmit(crate::io::Transmit {
                dest: Dest::Stream(conn),
                data: head,
            })
            .into(),
        );
        match due {
            Some(at) => self.timers.push(Reverse((at, TimerKey::Viewer(conn)))),
            None => {
                self.http_viewers
                    .entry(name.clone())
                    .or_default()
                    .push(conn);
                self.config.live.reader(&name, true, self.now);
            }
        }
        // A viewer holds its connection like a session: no idle timeout, no eviction.
        self.rank_conn(conn);
        Ok(())
    }

    /// How many HTTP connections receive a stream (`/NAME/stream.mjpg`).
    pub fn http_viewer_count(&self) -> usize {
        self.conns.values().filter(|c| c.is_viewer()).count()
    }

    /// `GET /NAME/snapshot.jpg`: a live path's latest frame, a file's first.
    pub(super) fn snapshot(&mut self, name: &str) -> HttpResponse {
        let jpeg = match self.file_media(name) {
            Err(refusal) => return refusal,
            Ok(Some(media)) => media.jpeg(0).cloned().unwrap_or_default(),
            Ok(None) => match self.latest.get(name) {
                Some(j) => j.clone(),
                None => return HttpResponse::error(503).header("Retry-After", "1"),
            },
        };
        HttpResponse::new(200, "image/jpeg", jpeg)
    }

    /// The file `name` (`None`: a live stream, from [`LivePaths`](crate::server::LivePaths)
    /// or the catalog), or the refusal.
    fn file_media(&mut self, name: &str) -> Result<Option<Arc<Media>>, HttpResponse> {
        if self.config.live.contains(name) {
            return Ok(None);
        }
        let media = self.catalog.lookup(name).map_err(lookup_refusal)?;
        Ok((!media.is_live()).then_some(media))
    }

    /// A frame of the live path `name` to its viewers (and kept for snapshots).
    pub(super) fn push_to_viewers(&mut self, name: &str, jpeg: &Bytes) {
        if self.config.http.is_none() {
            return;
        }
        self.latest.insert(name.to_string(), jpeg.clone());
        let Some(viewers) = self.http_viewers.get(name) else {
            return;
        };
        for &conn in viewers {
            if let Some(v) = self
                .conns
                .get_mut(&conn)
                .and_then(|c| c.http.as_mut()?.viewer.as_mut())
            {
                v.frames += 1;
                v.octets += jpeg.len() as u64;
                send_part(&mut self.out, conn, jpeg);
            }
        }
    }

    /// A file viewer's timer: its due frame, then the next timer (or the end of the file).
    pub(super) fn viewer_timer(&mut self, conn: ConnId, at: Instant) {
        let now = self.now;
        let Some(v) = self
            .conns
            .get_mut(&conn)
            .and_then(|c| c.http.as_mut()?.viewer.as_mut())
        else {
            return;
        };
        let Some(f) = v.file.as_mut().filter(|f| f.due == at) else {
            return; // stale
        };
        let count = f.media.frame_count();
        if f.next >= count {
            if !f.looping || count == 0 {
                self.drop_conn(conn, true);
                return;
            }
            f.next = 0;
        }
        let Some(jpeg) = f.media.jpeg(f.next).cloned() else {
            return;
        };
        f.next += 1;
        let interval = Duration::from_secs_f64(1.0 / f.media.fps().max(0.001));
        // A late timer slips the schedule instead of sending a burst.
        f.due = (f.due + interval).max(now);
        let due = f.due;
        v.frames += 1;
        v.octets += jpeg.len() as u64;
        send_part(&mut self.out, conn, &jpeg);
        self.timers.push(Reverse((due, TimerKey::Viewer(conn))));
    }

    /// The due time of `conn`'s file viewer (what makes its timer entry live).
    pub(super) fn viewer_due(&self, conn: ConnId) -> Option<Instant> {
        let c = self.conns.get(&conn)?;
        Some(c.http.as_ref()?.viewer.as_ref()?.file.as_ref()?.due)
    }

    /// A closed connection's viewer ends (a live path loses a reader).
    pub(super) fn end_viewer(&mut self, conn: ConnId, viewer: Viewer) {
        if viewer.file.is_some() {
            return;
        }
        if let Some(list) = self.http_viewers.get_mut(&viewer.stream) {
            list.retain(|&c| c != conn);
            if list.is_empty() {
                self.http_viewers.remove(&viewer.stream);
            }
        }
        self.config.live.reader(&viewer.stream, false, self.now);
    }
}

/// One part on `conn`: its header, the JPEG (shared), the CRLF.
fn send_part<E>(out: &mut std::collections::VecDeque<Emit<E>>, conn: ConnId, jpeg: &Bytes) {
    let dest = Dest::Stream(conn);
    let crlf = InlineHeader::new(b"\r\n").unwrap_or_default();
    for (header, body, frame_start) in [
        (InlineHeader::default(), part_header(jpeg.len()), true),
        (InlineHeader::default(), jpeg.clone(), false),
        (crlf, Bytes::new(), false),
    ] {
        out.push_back(Emit::Shared(SharedTransmit {
            dest,
            header,
            body,
            frame_start,
        }));
    }
}

/// The answer when the catalog has no stream to give.
fn lookup_refusal(e: LookupError) -> HttpResponse {
    match e {
        LookupError::Loading => {
            let mut resp = HttpResponse::error(503).header("Retry-After", "1");
            resp.wait = true;
            resp
        }
        e => HttpResponse::error(e.status().0),
    }
}
