//! What the server renders once and hands out many times: DESCRIBE bodies and the `Date`
//! header value.

use crate::sdp::SessionDescription;
use crate::server::date::http_date;
use crate::server::media::Media;
use crate::server::ServerConfig;
use bytes::Bytes;
use std::sync::{Arc, Weak};
use std::time::Duration;

/// Most DESCRIBE bodies cached.
const SDP_CACHE: usize = 8;

/// A rendered DESCRIBE body and what it was rendered from.
struct SdpEntry {
    /// The media (weak: the cache does not keep a stream the catalog dropped alive, and the
    /// allocation it points to is not reused while this exists, so pointer equality is
    /// identity).
    media: Weak<Media>,
    /// The wall-clock second in the `o=` line.
    secs: u64,
    body: Bytes,
}

/// The server's render caches.
#[derive(Default)]
pub(super) struct Caches {
    /// Rendered DESCRIBE bodies (a few, most recent last).
    sdp: Vec<SdpEntry>,
    /// The `Date` header value and the wall-clock second it is for.
    date: Option<(u64, String)>,
}

impl Caches {
    /// The `Date` header value at `wallclock` (time since the UNIX epoch), formatted once per
    /// wall-clock second, not per reply.
    pub(super) fn date(&mut self, wallclock: Duration) -> String {
        let secs = wallclock.as_secs();
        match &self.date {
            Some((at, date)) if *at == secs => date.clone(),
            _ => {
                let date = http_date(Duration::from_secs(secs));
                self.date = Some((secs, date.clone()));
                date
            }
        }
    }

    /// The DESCRIBE body of `media` at `wallclock`. It depends on the media, the
    /// configuration and the wall-clock second (the `o=` session id), not on the request (the
    /// control URL is relative to `Content-Base`), so it is rendered once per stream and
    /// second and then shared; a stream the catalog replaces (another `Arc`) is rendered
    /// afresh.
    pub(super) fn sdp(
        &mut self,
        media: &Arc<Media>,
        config: &ServerConfig,
        wallclock: Duration,
    ) -> Bytes {
        let secs = wallclock.as_secs();
        let same = |e: &SdpEntry| std::ptr::eq(e.media.as_ptr(), Arc::as_ptr(media));
        if let Some(e) = self.sdp.iter().find(|e| same(e) && e.secs == secs) {
            return e.body.clone();
        }
        let looping = media.loops(config.loop_media);
        let duration = (!looping && !media.is_live()).then(|| media.duration().as_secs_f64());
        let body = SessionDescription::new(media.name(), config.rtp_local.ip())
            .session_id(secs)
            .control("stream=0")
            .framerate(media.fps())
            .duration(duration)
            .dimensions(media.width(), media.height())
            .to_bytes();
        // One entry per stream (the older second goes), the oldest out beyond the bound;
        // entries of streams nobody holds any more go too.
        self.sdp.retain(|e| !same(e) && e.media.strong_count() > 0);
        if self.sdp.len() >= SDP_CACHE {
            self.sdp.remove(0);
        }
        self.sdp.push(SdpEntry {
            media: Arc::downgrade(media),
            secs,
            body: body.clone(),
        });
        body
    }
}
