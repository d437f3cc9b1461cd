//! `rtsp://` URL parsing, joining and percent-decoding: no panics; a parsed URL's `Display`
//! (which leaves out credentials) parses back to the URL without credentials; joins of a
//! parsed base give URLs that round-trip the same way.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rtsp_core::url::{join, percent_decode, RtspUrl};

fn check(u: &RtspUrl) {
    let w = u.to_string();
    let again = RtspUrl::parse(&w).unwrap_or_else(|e| panic!("`{w}` does not re-parse: {e}"));
    assert_eq!(again, u.without_credentials(), "`{w}`");
    assert_eq!(again.to_string(), w);
    let _ = (
        u.port(),
        u.explicit_port(),
        u.path(),
        u.query(),
        u.credentials(),
        u.user(),
    );
    if let Some(p) = u.explicit_port() {
        assert_eq!(u.port(), p);
    }
}

fuzz_target!(|data: &[u8]| {
    let s = String::from_utf8_lossy(data);
    // The input is "base\ncontrol" when it has a newline, else just a URL.
    let (base, control) = match s.split_once('\n') {
        Some((b, c)) => (b, Some(c)),
        None => (s.as_ref(), None),
    };
    let _ = percent_decode(base);
    let parsed = RtspUrl::parse(base);
    if let Ok(u) = &parsed {
        check(u);
    }
    if let Some(control) = control {
        let _ = join(base, control);
        let _ = percent_decode(control);
        if let Ok(u) = &parsed {
            if let Ok(j) = u.join(control) {
                check(&j);
            }
        }
    }
});
