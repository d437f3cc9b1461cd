//! SDP: the tolerant parser never panics on any text, and the description our server builds
//! (with fields taken from the same input) parses back to the same values.
#![no_main]

use arbitrary::{Arbitrary, Unstructured};
use core::net::IpAddr;
use libfuzzer_sys::fuzz_target;
use rtsp_core::sdp::{parse, SessionDescription};

#[derive(Arbitrary, Debug)]
struct Built {
    name: String,
    origin: IpAddr,
    session_id: u64,
    session_version: u64,
    control: String,
    framerate: Option<f64>,
    duration: Option<f64>,
    dimensions: Option<(u16, u16)>,
}

fn one_line(s: &str) -> String {
    s.replace(['\r', '\n'], " ")
}

fuzz_target!(|data: &[u8]| {
    if let Ok(sdp) = parse(&String::from_utf8_lossy(data)) {
        let _ = (sdp.duration(), sdp.jpeg_video());
        for m in &sdp.media {
            for &pt in &m.payload_types {
                assert!(pt < 128);
                let _ = m.rtpmap(pt);
            }
            let _ = m.jpeg_payload_type();
        }
    }

    let Ok(b) = Built::arbitrary(&mut Unstructured::new(data)) else {
        return;
    };
    let mut sd = SessionDescription::new(b.name.clone(), b.origin)
        .session_id(b.session_id)
        .session_version(b.session_version)
        .control(b.control.clone())
        .duration(b.duration);
    sd.framerate = b.framerate;
    sd.dimensions = b.dimensions;
    let text = sd.to_string();
    let sdp = parse(&text).unwrap_or_else(|e| panic!("own SDP does not parse: {e}\n{text}"));
    assert_eq!(sdp.session_name, one_line(&b.name).trim(), "{text}");
    assert_eq!(sdp.origin_address, Some(b.origin.to_string()), "{text}");
    assert_eq!(sdp.control.as_deref(), Some("*"));
    let (m, pt) = sdp.jpeg_video().expect("own SDP has no JPEG video");
    assert_eq!(pt, 26);
    assert_eq!(
        m.control.as_deref(),
        Some(one_line(&b.control).trim()),
        "{text}"
    );
    let fps = b.framerate.filter(|f| f.is_finite() && *f > 0.0);
    assert_eq!(m.framerate, fps, "{text}");
    assert_eq!(m.dimensions, b.dimensions, "{text}");
    let dur = b.duration.filter(|d| d.is_finite() && *d >= 0.0);
    assert_eq!(sdp.duration(), dur, "{text}");
});
