//! Turning a DESCRIBE response into a [`Presentation`]: base URL, SDP tracks, control URLs.

use bytes::Bytes;

use super::event::{Presentation, Track};
use crate::message::{HeaderName, Response};
use crate::sdp;
use crate::url::{join, RtspUrl};

/// `url` (trimmed) when it is a valid `rtsp://` URL: [`RtspUrl::parse`] rejects blanks and
/// control characters, so the result can go into a request line as is.
fn valid_url(url: &str) -> Option<&str> {
    let url = url.trim();
    RtspUrl::parse(url).is_ok().then_some(url)
}

/// `control` resolved against `base_url` (see [`join`]); `base_url` itself when the result is
/// not a valid `rtsp://` URL.
fn control_url(base_url: &str, control: Option<&str>) -> String {
    control
        .map(|c| join(base_url, c))
        .filter(|u| valid_url(u).is_some())
        .unwrap_or_else(|| base_url.to_string())
}

/// Build the presentation from a 2xx DESCRIBE response to `request_url`. The base URL is
/// `Content-Base`, else `Content-Location`, else the request URL (RFC 2326 §C.1.1); a header
/// that is not a valid `rtsp://` URL (blanks, control characters, …) is ignored, and so is a
/// control that does not resolve to one (the base URL is used instead), so no request line
/// ever carries such a URL. An SDP that cannot be parsed gives a presentation without tracks.
pub(super) fn presentation(resp: &Response, request_url: &str) -> Presentation {
    let base_url = resp
        .headers
        .get(&HeaderName::CONTENT_BASE)
        .and_then(valid_url)
        .or_else(|| {
            resp.headers
                .get(&HeaderName::CONTENT_LOCATION)
                .and_then(valid_url)
        })
        .unwrap_or(request_url)
        .to_string();
    let text = String::from_utf8_lossy(&resp.body);
    let parsed = sdp::parse(&text).unwrap_or_default();
    let aggregate_url = control_url(&base_url, parsed.control.as_deref());
    let tracks: Vec<Track> = parsed
        .media
        .iter()
        .map(|m| {
            let payload_type = m
                .jpeg_payload_type()
                .or_else(|| m.payload_types.first().copied());
            let map = payload_type.and_then(|pt| m.rtpmap(pt));
            Track {
                media: m.media_type.clone(),
                payload_type,
                encoding: map.as_ref().map(|r| r.encoding.clone()),
                clock_rate: map.as_ref().map_or(90_000, |r| r.clock_rate),
                framerate: m.framerate,
                dimensions: m.dimensions,
                control_url: control_url(&base_url, m.control.as_deref()),
            }
        })
        .collect();
    let selected = tracks.iter().position(Track::is_jpeg);
    Presentation {
        aggregate_url,
        base_url,
        tracks,
        selected,
        range: parsed.range,
        sdp: Bytes::clone(&resp.body),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::StatusCode;

    const GST_SDP: &str = "v=0\r\no=- 5213681658906216674 1 IN IP4 127.0.0.1\r\ns=Session streamed with GStreamer\r\ni=rtsp-server\r\nt=0 0\r\na=tool:GStreamer\r\na=type:broadcast\r\na=control:*\r\na=range:npt=now-\r\nm=video 0 RTP/AVP 26\r\nc=IN IP4 0.0.0.0\r\na=rtpmap:26 JPEG/90000\r\na=framerate:30.000000\r\na=control:stream=0\r\na=ts-refclk:local\r\na=mediaclk:sender\r\na=ssrc:1311538258 cname:user80125802@host-377701b9\r\n";

    fn resp(headers: &[(&str, &str)], body: &str) -> Response {
        let mut r = Response::new(StatusCode::OK);
        for (n, v) in headers {
            r.headers.append(HeaderName::new(*n), *v);
        }
        r.body = Bytes::copy_from_slice(body.as_bytes());
        r
    }

    #[test]
    fn gst() {
        let r = resp(&[("Content-Base", "rtsp://127.0.0.1:8554/test/")], GST_SDP);
        let p = presentation(&r, "rtsp://127.0.0.1:8554/test");
        assert_eq!(p.aggregate_url, "rtsp://127.0.0.1:8554/test/");
        assert_eq!(p.tracks.len(), 1);
        assert_eq!(p.selected, Some(0));
        let t = &p.tracks[0];
        assert_eq!(t.control_url, "rtsp://127.0.0.1:8554/test/stream=0");
        assert_eq!(t.payload_type, Some(26));
        assert_eq!(t.encoding.as_deref(), Some("JPEG"));
        assert_eq!(t.clock_rate, 90_000);
        assert_eq!(t.framerate, Some(30.0));
    }

    #[test]
    fn vlc_absolute_control_and_live555_no_rtpmap() {
        let vlc = "v=0\r\no=- 1 1 IN IP4 myhost\r\ns=x\r\nb=RR:0\r\nt=0 0\r\nm=video 0 RTP/AVP 26\r\na=control:rtsp://127.0.0.1:8554/x/trackID=0\r\n";
        let r = resp(&[("Content-Base", "rtsp://127.0.0.1:8554/x")], vlc);
        let p = presentation(&r, "rtsp://127.0.0.1:8554/x");
        assert_eq!(p.aggregate_url, "rtsp://127.0.0.1:8554/x");
        assert_eq!(p.tracks[0].control_url, "rtsp://127.0.0.1:8554/x/trackID=0");
        assert_eq!(p.selected, Some(0));

        let l555 = "v=0\no=- 1 1 IN IP4 1.2.3.4\ns=x\nt=0 0\na=control:*\nm=audio 0 RTP/AVP 0\na=control:track1\nm=video 0 RTP/AVP 26\nb=AS:50\na=control:track2\n";
        let r = resp(&[("Content-Base", "rtsp://h/p/")], l555);
        let p = presentation(&r, "rtsp://h/p");
        assert_eq!(p.selected, Some(1));
        assert_eq!(p.tracks[1].control_url, "rtsp://h/p/track2");
        assert_eq!(
            p.tracks[1].encoding.as_deref(),
            Some("JPEG"),
            "static PT 26"
        );
    }

    #[test]
    fn no_base_uses_request_url_and_garbage_is_harmless() {
        let r = resp(&[], "v=0\r\nm=audio 0 RTP/AVP 0\r\na=rtpmap:xx\r\nm=video 0 RTP/AVP 96\r\na=rtpmap:96 H264/90000\r\n");
        let p = presentation(&r, "rtsp://h/s");
        assert_eq!(p.base_url, "rtsp://h/s");
        assert_eq!(p.tracks.len(), 2);
        assert_eq!(p.tracks[1].control_url, "rtsp://h/s");
        assert_eq!(p.selected, None);
        let r = resp(&[], "garbage\r\n=\r\nm=\r\n");
        let p = presentation(&r, "rtsp://h/s");
        assert!(p.tracks.is_empty());
    }
}
