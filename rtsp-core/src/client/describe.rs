//! Turning a DESCRIBE response into a [`Presentation`]: base URL, SDP tracks, control URLs.

use bytes::Bytes;

use super::event::{Presentation, Track};
use super::target::join_control;
use crate::message::headers::Range;
use crate::message::{HeaderName, Response};

/// The few SDP fields a client needs, line by line (RFC 4566 §5). Unknown lines are skipped;
/// nothing here fails on odd input (`b=RR:0`, the `a=tool` literal, missing rtpmap ...).
#[derive(Debug, Default)]
struct SdpSummary {
    session_control: Option<String>,
    range: Option<String>,
    media: Vec<SdpMedia>,
}

#[derive(Debug, Default)]
struct SdpMedia {
    media: String,
    payload_type: Option<u8>,
    rtpmap: Option<(String, u32)>,
    framerate: Option<f64>,
    control: Option<String>,
}

fn summarize(sdp: &str) -> SdpSummary {
    let mut s = SdpSummary::default();
    for line in sdp.lines() {
        let line = line.trim_end_matches('\r');
        let Some((kind, value)) = line.split_once('=') else {
            continue;
        };
        match kind.trim() {
            "m" => {
                let mut it = value.split_ascii_whitespace();
                let media = it.next().unwrap_or_default().to_string();
                let payload_type = it.nth(2).and_then(|pt| pt.parse().ok());
                s.media.push(SdpMedia {
                    media,
                    payload_type,
                    ..SdpMedia::default()
                });
            }
            "a" => {
                let (attr, val) = value.split_once(':').unwrap_or((value, ""));
                match (attr.trim(), s.media.last_mut()) {
                    ("control", None) => s.session_control = Some(val.trim().to_string()),
                    ("range", None) => s.range = Some(val.trim().to_string()),
                    ("control", Some(m)) => m.control = Some(val.trim().to_string()),
                    ("framerate", Some(m)) => m.framerate = val.trim().parse().ok(),
                    ("rtpmap", Some(m)) => {
                        // `26 JPEG/90000`; only for the first listed payload type.
                        let mut it = val.split_ascii_whitespace();
                        let pt = it.next().and_then(|p| p.parse::<u8>().ok());
                        if pt.is_some() && pt == m.payload_type && m.rtpmap.is_none() {
                            if let Some(enc) = it.next() {
                                let mut parts = enc.split('/');
                                let name = parts.next().unwrap_or_default().to_string();
                                let rate = parts.next().and_then(|r| r.parse().ok()).unwrap_or(90_000);
                                m.rtpmap = Some((name, rate));
                            }
                        }
                    }
                    _ => {}
                }
            }
            _ => {}
        }
    }
    s
}

/// Build the presentation from a 2xx DESCRIBE response to `request_url`.
pub(super) fn presentation(resp: &Response, request_url: &str) -> Presentation {
    let base_url = resp
        .headers
        .get(&HeaderName::CONTENT_BASE)
        .or_else(|| resp.headers.get(&HeaderName::CONTENT_LOCATION))
        .map(str::trim)
        .filter(|b| !b.is_empty())
        .unwrap_or(request_url)
        .to_string();
    let text = String::from_utf8_lossy(&resp.body);
    let summary = summarize(&text);
    let aggregate_url = match summary.session_control.as_deref() {
        Some(c) => join_control(&base_url, c),
        None => base_url.clone(),
    };
    let tracks: Vec<Track> = summary
        .media
        .iter()
        .map(|m| Track {
            media: m.media.clone(),
            payload_type: m.payload_type,
            encoding: m.rtpmap.as_ref().map(|(n, _)| n.clone()),
            clock_rate: m.rtpmap.as_ref().map_or(90_000, |(_, r)| *r),
            framerate: m.framerate,
            control_url: match m.control.as_deref() {
                Some(c) => join_control(&base_url, c),
                None => base_url.clone(),
            },
        })
        .collect();
    let selected = tracks.iter().position(Track::is_jpeg);
    let range = summary.range.as_deref().and_then(|r| Range::parse(r).ok());
    Presentation {
        aggregate_url,
        base_url,
        tracks,
        selected,
        range,
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
        assert_eq!(p.tracks[1].encoding, None);
    }

    #[test]
    fn no_base_uses_request_url_and_garbage_is_harmless() {
        let r = resp(&[], "garbage\r\n=\r\nm=\r\na=rtpmap:xx\r\nm=video\r\n");
        let p = presentation(&r, "rtsp://h/s");
        assert_eq!(p.base_url, "rtsp://h/s");
        assert_eq!(p.tracks.len(), 2);
        assert_eq!(p.selected, None);
    }
}
