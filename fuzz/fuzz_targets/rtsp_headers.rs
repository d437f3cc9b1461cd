//! Typed RTSP headers (Transport, Session, Range, RTP-Info, Public): parsing never panics and
//! `Display` output parses back to the same value (Range: to the same value at the 1 ms
//! precision `Display` writes, and exactly after one normalisation).
#![no_main]

use libfuzzer_sys::fuzz_target;
use rtsp_core::message::headers::{NptTime, Public, Range, RtpInfo, Session, Transport};

fn npt_close(a: &NptTime, b: &NptTime) -> bool {
    match (a, b) {
        (NptTime::Now, NptTime::Now) => true,
        // Display rounds to 3 decimals; allow for that plus float error on large values.
        (NptTime::Seconds(x), NptTime::Seconds(y)) => (x - y).abs() <= 0.0005 + x.abs() * 1e-12,
        _ => false,
    }
}

fn check_range(r: &Range) {
    let s = r.to_string();
    let again = Range::parse(&s).unwrap_or_else(|e| panic!("Range `{s}` does not re-parse: {e}"));
    match (r, &again) {
        (Range::Npt { start: a, end: ae }, Range::Npt { start: b, end: be }) => {
            assert!(npt_close(a, b), "{r:?} -> {s} -> {again:?}");
            match (ae, be) {
                (None, None) => {}
                (Some(x), Some(y)) => assert!(npt_close(x, y), "{r:?} -> {s} -> {again:?}"),
                _ => panic!("{r:?} -> {s} -> {again:?}"),
            }
        }
        _ => assert_eq!(&again, r, "Range `{s}`"),
    }
    // The written form is a fixed point.
    assert_eq!(again.to_string(), s);
}

fuzz_target!(|data: &[u8]| {
    let s = String::from_utf8_lossy(data);
    let s = s.as_ref();

    if let Ok(t) = Transport::parse(s) {
        let w = t.to_string();
        assert_eq!(Transport::parse(&w).as_ref(), Ok(&t), "Transport `{w}`");
    }
    if let Ok(list) = Transport::parse_list(s) {
        let w = Transport::format_list(&list);
        assert_eq!(
            Transport::parse_list(&w).as_ref(),
            Ok(&list),
            "Transport list `{w}`"
        );
    }
    if let Ok(sess) = Session::parse(s) {
        let w = sess.to_string();
        assert_eq!(Session::parse(&w).as_ref(), Ok(&sess), "Session `{w}`");
    }
    if let Ok(r) = Range::parse(s) {
        check_range(&r);
    }
    if let Ok(t) = NptTime::parse(s) {
        let w = t.to_string();
        let again = NptTime::parse(&w).unwrap_or_else(|e| panic!("npt `{w}`: {e}"));
        assert!(npt_close(&t, &again), "{t:?} -> {w} -> {again:?}");
    }
    if let Ok(info) = RtpInfo::parse(s) {
        let w = info.to_string();
        assert_eq!(RtpInfo::parse(&w).as_ref(), Ok(&info), "RTP-Info `{w}`");
    }
    if let Ok(list) = RtpInfo::parse_list(s) {
        let w = RtpInfo::format_list(&list);
        assert_eq!(
            RtpInfo::parse_list(&w).as_ref(),
            Ok(&list),
            "RTP-Info list `{w}`"
        );
    }
    let p = Public::parse(s);
    let w = p.to_string();
    assert_eq!(Public::parse(&w), p, "Public `{w}`");
});
