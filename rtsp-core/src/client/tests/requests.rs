//! The API's refusals, bad URLs, the control connection's garbage and loss, requests from the
//! server, and the message trace.

use super::*;

#[test]
fn api_errors_send_nothing() {
    let mut h = Harness::connected("rtsp://127.0.0.1:8554/test");
    assert_eq!(
        h.c.play(None),
        Err(ApiError::InvalidState {
            method: Method::Play,
            state: ClientState::Init
        })
    );
    assert!(matches!(h.c.pause(), Err(ApiError::InvalidState { .. })));
    assert!(matches!(h.c.teardown(), Err(ApiError::InvalidState { .. })));
    h.c.setup(udp()).unwrap();
    assert_eq!(
        h.c.setup(udp()),
        Err(ApiError::Busy {
            method: Method::Setup,
            pending: Method::Setup
        })
    );
    assert!(matches!(h.c.describe(), Err(ApiError::Busy { .. })));
    h.drain();
    assert_eq!(h.sent().len(), 1);
    // A failed SETUP leaves the state alone.
    h.reply("RTSP/1.0 461 Unsupported Transport\nCSeq: 1\n\n");
    assert!(matches!(
        &h.outcomes()[..],
        [ClientEvent::RequestFailed {
            method: Method::Setup,
            status: StatusCode::UNSUPPORTED_TRANSPORT
        }]
    ));
    assert_eq!(h.c.state(), ClientState::Init);
    assert_eq!(h.c.setup(TransportChoice::Tcp), Ok(2));
}

#[test]
fn bad_urls_are_rejected() {
    let now = Instant::now();
    for url in ["http://x/y", "rtsp://", "rtsp://h/a b", "x"] {
        assert!(matches!(
            Client::new(ClientConfig::new(url), now),
            Err(ClientError::InvalidUrl { .. })
        ));
    }
}

#[test]
fn garbage_on_the_control_stream_is_fatal() {
    let mut h = Harness::connected("rtsp://127.0.0.1:8554/test");
    h.c.options().unwrap();
    h.recv(b"\x00\x01\x02 garbage\r\n\r\n");
    let ev = h.events();
    assert!(
        matches!(
            &ev[..],
            [
                ClientEvent::Error(ClientError::Parse(_)),
                ClientEvent::Closed
            ]
        ),
        "{ev:?}"
    );
    assert!(h.closed);
    assert_eq!(h.deadline, None);
}

#[test]
fn connection_loss_closes() {
    let mut h = Harness::connected("rtsp://127.0.0.1:8554/test");
    h.c.describe().unwrap();
    h.lose_connection();
    let ev = h.events();
    assert!(matches!(
        &ev[..],
        [
            ClientEvent::Error(ClientError::ConnectionLost { pending: 1 }),
            ClientEvent::Closed
        ]
    ));
    assert!(!h.closed, "no Close for a connection already gone");
    assert_eq!(h.c.options(), Err(ApiError::Closed));
}

#[test]
fn connection_loss_with_a_session_and_nothing_outstanding_is_an_error() {
    let mut h = gst_playing("");
    h.lose_connection();
    let ev = h.outcomes();
    assert!(
        matches!(
            &ev[..],
            [
                ClientEvent::Error(ClientError::ConnectionLost { pending: 0 }),
                ClientEvent::Closed
            ]
        ),
        "{ev:?}"
    );
    assert_eq!(h.c.state(), ClientState::Closed);
    // Without a session (after TEARDOWN) a close is no error.
    let mut h = gst_playing("");
    h.c.teardown().unwrap();
    h.sent();
    h.reply("RTSP/1.0 200 OK\nCSeq: 5\nSession: _tM3Rk5yk5mNuuDx\n\n");
    assert!(matches!(&h.outcomes()[..], [ClientEvent::TornDown]));
    h.lose_connection();
    assert!(matches!(&h.outcomes()[..], [ClientEvent::Closed]));
}

#[test]
fn server_requests_get_501() {
    let mut h = Harness::connected("rtsp://127.0.0.1:8554/test");
    h.reply("OPTIONS * RTSP/1.0\nCSeq: 9\n\n");
    let r = h.one_sent();
    assert!(r.starts_with("RTSP/1.0 501 "), "{r}");
    assert!(r.contains("\r\nCSeq: 9\r\n"));
}

#[test]
fn trace_reports_the_exchange_when_enabled() {
    let mut cfg = ClientConfig::new("rtsp://127.0.0.1:8554/test");
    cfg.trace_messages = true;
    let mut h = Harness::new(cfg);
    h.connect();
    h.c.options().unwrap();
    h.reply(GST_OPTIONS_REPLY);
    let traces: Vec<(bool, String)> = h
        .events()
        .into_iter()
        .filter_map(|e| match e {
            ClientEvent::Trace { outgoing, text } => Some((outgoing, text)),
            _ => None,
        })
        .collect();
    assert_eq!(traces.len(), 2, "{traces:?}");
    assert!(
        traces[0].0
            && traces[0]
                .1
                .starts_with("OPTIONS rtsp://127.0.0.1:8554/test RTSP/1.0")
    );
    assert!(!traces[1].0 && traces[1].1.starts_with("RTSP/1.0 200 OK"));
    assert!(traces[1].1.contains("GET_PARAMETER"));
    // Off by default.
    let mut h = Harness::connected("rtsp://127.0.0.1:8554/test");
    h.c.options().unwrap();
    h.reply(GST_OPTIONS_REPLY);
    assert!(!h
        .events()
        .iter()
        .any(|e| matches!(e, ClientEvent::Trace { .. })));
}
