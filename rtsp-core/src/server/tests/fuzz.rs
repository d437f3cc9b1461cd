//! Property tests: arbitrary bytes and request sequences.

use super::*;
use proptest::prelude::*;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn never_panics(chunks in proptest::collection::vec(
        proptest::collection::vec(any::<u8>(), 0..200), 0..8),
        text in "[A-Z_]{1,12} [ -~]{0,40} RTSP/1\\.[0-9]\r\n(([A-Za-z-]{1,10}): [ -~]{0,30}\r\n){0,4}\r?\n?",
    ) {
        let mut h = H::connected();
        h.send(C1, text.as_bytes());
        for c in &chunks {
            h.send(C1, c);
            h.datagram(rtcp_local(), client_rtcp(), c);
            h.advance(Duration::from_millis(150));
        }
        h.advance(Duration::from_secs(2));
    }

    #[test]
    fn any_session_request_sequence(ops in proptest::collection::vec(0u8..8, 0..20)) {
        let mut h = H::connected();
        let mut sid = String::from("0");
        for (i, op) in ops.iter().enumerate() {
            let cseq = i as u32 + 1;
            let sess = format!("Session: {sid}");
            let text = match op {
                0 => req("SETUP", "rtsp://h/test/stream=0", cseq, &["Transport: RTP/AVP;unicast;client_port=5000-5001"]),
                1 => req("SETUP", "rtsp://h/test/stream=0", cseq, &["Transport: RTP/AVP/TCP;unicast;interleaved=0-1", &sess]),
                2 => req("PLAY", "rtsp://h/test/", cseq, &[&sess]),
                3 => req("PAUSE", "rtsp://h/test/", cseq, &[&sess]),
                4 => req("TEARDOWN", "rtsp://h/test/", cseq, &[&sess]),
                5 => req("PLAY", "rtsp://h/test/", cseq, &[&sess, "Range: npt=1.9-"]),
                6 => { h.advance(Duration::from_millis(700)); continue; }
                _ => req("GET_PARAMETER", "rtsp://h/test/", cseq, &[&sess]),
            };
            let r = h.request(C1, &text);
            if let Some(v) = r.headers.get(&HeaderName::SESSION) {
                sid = v.split(';').next().unwrap().to_string();
            }
        }
        h.advance(Duration::from_secs(70));
        prop_assert_eq!(h.server.session_count(), 0);
    }
}
