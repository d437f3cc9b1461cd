//! Messages a user can act on, for the failures the player reports: a refused request (what the
//! server said, and what to try), and a stream that sends nothing playable.

use std::time::Duration;

use rtsp_core::client::{Client, NoMediaReason, TransportChoice};
use rtsp_core::message::headers::{NptTime, Range};
use rtsp_core::message::{Method, StatusCode};
use rtsp_core::url::percent_decode;

/// `METHOD failed: STATUS: why (what to do)` for a request the server refused with `status`.
/// `seek`: the position PLAY asked for, if any.
pub fn refusal(
    client: &Client,
    method: &Method,
    status: StatusCode,
    seek: Option<Duration>,
) -> String {
    let head = format!("{method} failed: {status}");
    // What the server said, if it said more than the status.
    let said = client
        .last_refusal()
        .filter(|r| r.method == *method && r.status == status)
        .and_then(|r| match (&r.reason_phrase, &r.text) {
            (Some(p), Some(t)) => Some(format!("{p}: {t}")),
            (p, t) => p.clone().or_else(|| t.clone()),
        });
    let advice = match status.0 {
        401 => Some(unauthorized(client, method, status)),
        404 if *method != Method::Teardown => Some(not_found(client)),
        457 => Some(invalid_range(client, seek)),
        500 | 503 if said.is_none() => Some("the server gave no reason".to_string()),
        _ => None,
    };
    match (said, advice) {
        (Some(s), Some(a)) => format!("{head}: {s} ({a})"),
        (Some(s), None) => format!("{head}: {s}"),
        (None, Some(a)) => format!("{head}: {a}"),
        (None, None) => head,
    }
}

/// 404: the stream by name, and where to find the names.
fn not_found(client: &Client) -> String {
    let url = client.url();
    let raw = client.request_url();
    // The lab form's request-URI is the file name; a URL's is its path.
    let name = if raw.contains("://") {
        url.path().trim_start_matches('/').to_string()
    } else {
        raw.to_string()
    };
    let name = percent_decode(&name).unwrap_or(name);
    format!(
        "the server has no stream \"{name}\"; `server-mio --list --media DIR` prints the URLs a server-mio serves from DIR"
    )
}

/// 401: no credentials, credentials refused, or a server that keeps calling its nonce stale.
fn unauthorized(client: &Client, method: &Method, status: StatusCode) -> String {
    let url = client.url();
    if url.credentials().is_none() {
        return format!(
            "the server wants a user name and password: rtsp://USER:PASS@{}:{}{}",
            url.host(),
            url.port(),
            url.path()
        );
    }
    let r = client
        .last_refusal()
        .filter(|r| r.method == *method && r.status == status);
    match r {
        Some(r) if r.credentials_refused && r.stale => {
            "the server answered the retry with yet another \"stale\" nonce; giving up after one retry (a broken server, or wrong credentials)".to_string()
        }
        _ => "the server refused the user name and password in the URL".to_string(),
    }
}

/// 457: the stream's length from DESCRIBE, against the position asked for.
fn invalid_range(client: &Client, seek: Option<Duration>) -> String {
    let asked = seek.map_or_else(
        || "the position asked for".to_string(),
        |s| format!("--seek {:.1} s", s.as_secs_f64()),
    );
    let span = client
        .presentation()
        .and_then(|p| p.range.as_ref())
        .and_then(|r| match r {
            Range::Npt {
                start,
                end: Some(NptTime::Seconds(end)),
            } => Some((start.seconds().unwrap_or(0.0), *end)),
            _ => None,
        });
    match span {
        Some((start, end)) => format!(
            "{asked} is outside the stream, which is {:.1} s long (npt={start}-{end})",
            (end - start).max(0.0)
        ),
        None => {
            format!("{asked} is outside the stream (its length is unknown: no a=range in the SDP)")
        }
    }
}

/// Why a stream that never made a frame is given up, with a hint for the usual causes.
pub fn no_media(waited: Duration, reason: &NoMediaReason, transport: TransportChoice) -> String {
    let hint = match (reason, transport) {
        (NoMediaReason::NoPackets, TransportChoice::Udp { .. }) => {
            "; a firewall or NAT may drop UDP: try --transport tcp"
        }
        (NoMediaReason::NoPackets, TransportChoice::Tcp) => "; the server sends nothing",
        _ => "",
    };
    format!(
        "no usable media for {:.1} s: {reason}{hint}",
        waited.as_secs_f64()
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use rtsp_core::client::ClientConfig;
    use rtsp_core::io::{ConnId, Input, Machine, Output};
    use std::time::Instant;

    /// A client that sent DESCRIBE (CSeq 1) and got `reply`.
    fn refused(url: &str, reply: &str) -> Client {
        let now = Instant::now();
        let mut c = Client::new(ClientConfig::new(url), now).unwrap();
        let conn = ConnId(1);
        let peer = "127.0.0.1:8554".parse().unwrap();
        c.handle_input(Input::Connected { now, conn, peer });
        c.describe().unwrap();
        while !matches!(c.poll_output(), Output::Timeout(_)) {}
        c.handle_input(Input::Stream {
            now,
            conn,
            data: reply.as_bytes(),
        });
        while !matches!(c.poll_output(), Output::Timeout(_)) {}
        c
    }

    #[test]
    fn not_found_names_the_stream_and_the_list() {
        let c = refused(
            "rtsp://127.0.0.1:8554/my%20movie.mjpeg",
            "RTSP/1.0 404 Not Found\r\nCSeq: 1\r\n\r\n",
        );
        let m = refusal(&c, &Method::Describe, StatusCode::NOT_FOUND, None);
        assert_eq!(
            m,
            "DESCRIBE failed: 404 Not Found: the server has no stream \"my movie.mjpeg\"; `server-mio --list --media DIR` prints the URLs a server-mio serves from DIR"
        );
    }

    #[test]
    fn server_errors_show_the_reason_or_say_there_is_none() {
        let c = refused(
            "rtsp://127.0.0.1:8554/x",
            "RTSP/1.0 503 Service Unavailable\r\nCSeq: 1\r\nContent-Length: 32\r\n\r\nunplayable media: 4:4:4 sampling",
        );
        let m = refusal(&c, &Method::Describe, StatusCode::SERVICE_UNAVAILABLE, None);
        assert_eq!(
            m,
            "DESCRIBE failed: 503 Service Unavailable: unplayable media: 4:4:4 sampling"
        );
        let c = refused(
            "rtsp://127.0.0.1:8554/x",
            "RTSP/1.0 500 Internal Server Error\r\nCSeq: 1\r\n\r\n",
        );
        let m = refusal(
            &c,
            &Method::Describe,
            StatusCode::INTERNAL_SERVER_ERROR,
            None,
        );
        assert_eq!(
            m,
            "DESCRIBE failed: 500 Internal Server Error: the server gave no reason"
        );
    }

    #[test]
    fn unauthorized_without_credentials_shows_the_url_form() {
        let c = refused(
            "rtsp://127.0.0.1:8554/cam",
            "RTSP/1.0 401 Unauthorized\r\nCSeq: 1\r\nWWW-Authenticate: Basic realm=\"x\"\r\n\r\n",
        );
        let m = refusal(&c, &Method::Describe, StatusCode::UNAUTHORIZED, None);
        assert!(
            m.ends_with("user name and password: rtsp://USER:PASS@127.0.0.1:8554/cam"),
            "{m}"
        );
    }

    #[test]
    fn no_media_says_why_and_what_to_try() {
        let udp = TransportChoice::Udp {
            rtp_local: "0.0.0.0:5000".parse().unwrap(),
            rtcp_local: "0.0.0.0:5001".parse().unwrap(),
        };
        let m = no_media(Duration::from_secs(10), &NoMediaReason::NoPackets, udp);
        assert_eq!(
            m,
            "no usable media for 10.0 s: no RTP packet arrived; a firewall or NAT may drop UDP: try --transport tcp"
        );
    }
}
