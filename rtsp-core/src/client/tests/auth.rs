//! Authentication from URL credentials, and redirects.

use super::*;

/// The `Authorization` header of a request, if any.
fn authorization(req: &str) -> Option<String> {
    req.split("\r\n")
        .find_map(|l| l.strip_prefix("Authorization: "))
        .map(str::to_string)
}

#[test]
fn digest_auth_from_url_credentials_retries_once_and_signs_later_requests() {
    use crate::auth::{verify_digest, Algorithm, Authorization, Challenge, Credentials};
    let mut h = Harness::connected("rtsp://admin:se%3Acret@127.0.0.1:8554/test");
    h.c.describe().unwrap();
    let first = h.one_sent();
    assert!(first.starts_with("DESCRIBE rtsp://127.0.0.1:8554/test RTSP/1.0"));
    assert!(
        authorization(&first).is_none(),
        "no credentials before a challenge"
    );
    let challenge = Challenge::digest("cam", "n0nce", Algorithm::Sha256);
    h.reply(&format!(
        "RTSP/1.0 401 Unauthorized\nCSeq: 1\nWWW-Authenticate: Basic realm=\"cam\"\nWWW-Authenticate: {}\n\n",
        challenge.to_header()
    ));
    // No failure reported: the request went out again with an answer to the Digest challenge.
    assert!(h.outcomes().is_empty());
    let retry = h.one_sent();
    assert!(retry.starts_with("DESCRIBE rtsp://127.0.0.1:8554/test RTSP/1.0\r\nCSeq: 2\r\n"));
    let creds = Credentials::new("admin", "se:cret");
    let auth = Authorization::parse(&authorization(&retry).unwrap()).unwrap();
    assert!(verify_digest(&auth, &challenge, "DESCRIBE", &creds));
    h.recv(gst_describe_reply(2).as_bytes());
    assert!(matches!(&h.outcomes()[..], [ClientEvent::Described { .. }]));
    // Later requests carry fresh answers (method, URI and nonce count change).
    h.c.setup(TransportChoice::Tcp).unwrap();
    let setup = h.one_sent();
    let auth = Authorization::parse(&authorization(&setup).unwrap()).unwrap();
    assert!(verify_digest(&auth, &challenge, "SETUP", &creds));
    assert!(authorization(&setup).unwrap().contains("nc=00000002"));
    // A second 401 for the retried request is final (wrong password).
    h.reply(&format!(
        "RTSP/1.0 401 Unauthorized\nCSeq: 3\nWWW-Authenticate: {}\n\n",
        challenge.to_header()
    ));
    assert!(
        h.one_sent().starts_with("SETUP "),
        "the first 401 of SETUP is retried"
    );
    h.reply(&format!(
        "RTSP/1.0 401 Unauthorized\nCSeq: 4\nWWW-Authenticate: {}\n\n",
        challenge.to_header()
    ));
    assert!(matches!(
        &h.outcomes()[..],
        [ClientEvent::RequestFailed { method: Method::Setup, status }] if *status == StatusCode::UNAUTHORIZED
    ));
    assert!(h.sent().is_empty());
}

#[test]
fn basic_auth_and_no_credentials() {
    let mut h = Harness::describing("rtsp://Aladdin:open%20sesame@127.0.0.1:8554/test");
    h.reply("RTSP/1.0 401 Unauthorized\nCSeq: 1\nWWW-Authenticate: Basic realm=\"x\"\n\n");
    let retry = h.one_sent();
    assert_eq!(
        authorization(&retry).as_deref(),
        Some("Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==")
    );
    // Without credentials a 401 is simply a failure.
    let mut h = Harness::describing("rtsp://127.0.0.1:8554/test");
    h.reply("RTSP/1.0 401 Unauthorized\nCSeq: 1\nWWW-Authenticate: Basic realm=\"x\"\n\n");
    assert!(matches!(
        &h.outcomes()[..],
        [ClientEvent::RequestFailed {
            method: Method::Describe,
            ..
        }]
    ));
    assert!(h.sent().is_empty());
}

#[test]
fn redirect_is_reported_with_the_resolved_location() {
    let mut h = Harness::describing("rtsp://127.0.0.1:8554/old");
    h.reply("RTSP/1.0 302 Found\nCSeq: 1\nLocation: rtsp://10.0.0.2:9554/new\n\n");
    match &h.outcomes()[..] {
        [ClientEvent::Redirected {
            method: Method::Describe,
            status,
            location,
        }] => {
            assert_eq!(*status, StatusCode::FOUND);
            assert_eq!(location, "rtsp://10.0.0.2:9554/new");
        }
        other => panic!("{other:?}"),
    }
    // A relative Location resolves against the request-URI; 301 too.
    let mut h = Harness::describing("rtsp://127.0.0.1:8554/old");
    h.reply("RTSP/1.0 301 Moved Permanently\nCSeq: 1\nLocation: /moved/here\n\n");
    assert!(matches!(
        &h.outcomes()[..],
        [ClientEvent::Redirected { location, .. }] if location == "rtsp://127.0.0.1:8554/moved/here"
    ));
    // A 3xx without Location is a failure.
    let mut h = Harness::describing("rtsp://127.0.0.1:8554/old");
    h.reply("RTSP/1.0 302 Found\nCSeq: 1\n\n");
    assert!(matches!(
        &h.outcomes()[..],
        [ClientEvent::RequestFailed { .. }]
    ));
}

/// A server answering every request `401 … stale=true` with a new nonce: each request is sent
/// at most twice (once without, once with credentials), then fails; the refusal says the
/// credentials were tried and the nonce was "stale".
#[test]
fn endless_stale_nonces_get_one_retry_per_request() {
    use crate::auth::{Algorithm, Challenge};
    let mut h = Harness::describing("rtsp://admin:secret@127.0.0.1:8554/test");
    let mut sent = 1;
    for cseq in 1..=10u32 {
        let mut challenge = Challenge::digest("cam", format!("nonce{cseq}"), Algorithm::Md5);
        challenge.stale = true;
        h.reply(&format!(
            "RTSP/1.0 401 Unauthorized\nCSeq: {cseq}\nWWW-Authenticate: {}\n\n",
            challenge.to_header()
        ));
        let again = h.sent();
        if again.is_empty() {
            break;
        }
        assert_eq!(again.len(), 1);
        assert!(again[0].starts_with("DESCRIBE "), "{again:?}");
        sent += 1;
    }
    assert_eq!(sent, 2, "DESCRIBE sent at most twice");
    assert!(matches!(
        &h.outcomes()[..],
        [ClientEvent::RequestFailed { method: Method::Describe, status }] if *status == StatusCode::UNAUTHORIZED
    ));
    let r = h.c.last_refusal().expect("a refusal");
    assert!(r.credentials_refused && r.stale, "{r:?}");
    // The next request gets its own single retry.
    h.c.describe().unwrap();
    assert_eq!(h.sent().len(), 1);
    let mut challenge = Challenge::digest("cam", "nonce-next", Algorithm::Md5);
    challenge.stale = true;
    h.reply(&format!(
        "RTSP/1.0 401 Unauthorized\nCSeq: 3\nWWW-Authenticate: {}\n\n",
        challenge.to_header()
    ));
    assert_eq!(h.sent().len(), 1, "one retry");
    h.reply(&format!(
        "RTSP/1.0 401 Unauthorized\nCSeq: 4\nWWW-Authenticate: {}\n\n",
        challenge.to_header()
    ));
    assert!(h.sent().is_empty());
}

#[test]
fn refusals_keep_the_servers_reason() {
    let mut h = Harness::describing("rtsp://127.0.0.1:8554/test");
    h.reply("RTSP/1.0 503 Stream Is Loading\nCSeq: 1\nContent-Type: text/plain\nContent-Length: 32\n\nmovie.mjpeg: too many loads\r\n\r\n");
    assert!(matches!(
        &h.outcomes()[..],
        [ClientEvent::RequestFailed {
            method: Method::Describe,
            ..
        }]
    ));
    let r = h.c.last_refusal().expect("a refusal");
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(r.uri, "rtsp://127.0.0.1:8554/test");
    assert_eq!(r.reason_phrase.as_deref(), Some("Stream Is Loading"));
    assert_eq!(r.text.as_deref(), Some("movie.mjpeg: too many loads"));
    assert!(!r.credentials_refused && !r.stale);
    // The standard phrase and no body: nothing extra.
    let mut h = Harness::describing("rtsp://127.0.0.1:8554/test");
    h.reply("RTSP/1.0 404 Not Found\nCSeq: 1\n\n");
    let r = h.c.last_refusal().expect("a refusal");
    assert_eq!(
        (r.reason_phrase.as_deref(), r.text.as_deref()),
        (None, None)
    );
}
