//! The course lab's dialect ([`Dialect::Lab`]): every way the client's behaviour differs from
//! RTSP/1.0 is decided here, as a question the rest of the client asks its [`Dialect`].
//!
//! The lab speaks no OPTIONS or DESCRIBE and no TCP interleaving; its request-URI is a bare
//! file name; its requests are LF-only, one at a time, `Transport: RTP/UDP; client_port= N`;
//! its replies have no terminating empty line; it has no authentication, `Range`, keepalives
//! or RTCP; and each RTP packet carries one whole JPEG (no RFC 2435 header, lenient RTP
//! version).

use std::time::Instant;

use rtp_core::RtpPacket;

use super::target::{bad, parse_url, Target};
use super::timers::Timer;
use super::{ApiError, Client, ClientConfig, ClientError, Dialect, TransportChoice};
use crate::message::{HeaderName, Method};

impl Dialect {
    fn is_lab(self) -> bool {
        self == Self::Lab
    }

    /// The server and request-URI `config` names: a standard URL, or the lab's `host:port`
    /// (or `rtsp://host:port/file`) and file name.
    pub(super) fn target(self, config: &ClientConfig) -> Result<Target, ClientError> {
        if self.is_lab() {
            lab_target(config)
        } else {
            Target::standard(config.url.trim())
        }
    }

    /// Refuse requests the dialect has no form for (the lab: OPTIONS and DESCRIBE).
    pub(super) fn check_method(self, method: Method) -> Result<(), ApiError> {
        let refused = match method {
            Method::Options => self.is_lab(),
            Method::Describe => !self.describes(),
            _ => false,
        };
        if refused {
            return Err(ApiError::NotSupported {
                method,
                dialect: self,
            });
        }
        Ok(())
    }

    /// Whether DESCRIBE exists (the lab: no, SETUP names the file).
    pub(super) fn describes(self) -> bool {
        !self.is_lab()
    }

    /// The lab's SETUP for `choice` — request-URI (the file) and `Transport` value — or `None`
    /// for the standard form. The lab has no TCP.
    pub(super) fn lab_setup(
        self,
        file: &str,
        choice: TransportChoice,
    ) -> Result<Option<(String, String)>, ApiError> {
        if !self.is_lab() {
            return Ok(None);
        }
        match choice {
            TransportChoice::Tcp => Err(ApiError::NotSupported {
                method: Method::Setup,
                dialect: self,
            }),
            // Exactly this spacing: the lab server takes the 4th space-separated token.
            TransportChoice::Udp { rtp_local, .. } => Ok(Some((
                file.to_string(),
                format!("RTP/UDP; client_port= {}", rtp_local.port()),
            ))),
        }
    }

    /// Whether the control stream decoder accepts LF-only lines (and flushes unterminated
    /// replies on request).
    pub(super) fn lenient_decoder(self) -> bool {
        self.is_lab()
    }

    /// Whether replies may come without a terminating empty line: buffered bytes then count
    /// as a reply after [`ClientConfig::lab_reply_delay`] or when the connection closes.
    pub(super) fn unterminated_replies(self) -> bool {
        self.is_lab()
    }

    /// Whether requests are written in the lab's format (see [`request`]).
    pub(super) fn writes_lab_requests(self) -> bool {
        self.is_lab()
    }

    /// Whether only one request may be outstanding (the rest wait unsent).
    pub(super) fn one_request_at_a_time(self) -> bool {
        self.is_lab()
    }

    /// Whether PLAY carries a `Range` (a seek position).
    pub(super) fn sends_range(self) -> bool {
        !self.is_lab()
    }

    /// Whether a 401 is answered with the URL's credentials.
    pub(super) fn authenticates(self) -> bool {
        !self.is_lab()
    }

    /// Whether requests from the server are answered (with 501).
    pub(super) fn answers_server_requests(self) -> bool {
        !self.is_lab()
    }

    /// Whether a session sends keepalives and RTCP receiver reports.
    pub(super) fn runs_session_timers(self) -> bool {
        !self.is_lab()
    }

    /// Whether we send RTCP at all (receiver reports, the BYE of TEARDOWN).
    pub(super) fn sends_rtcp(self) -> bool {
        !self.is_lab()
    }

    /// Whether media can be interleaved on the control connection (and so the policy may
    /// fall back to TCP).
    pub(super) fn interleaves(self) -> bool {
        !self.is_lab()
    }

    /// Whether RTCP arrives on the RTCP socket.
    pub(super) fn receives_rtcp(self) -> bool {
        !self.is_lab()
    }

    /// Whether PLAY's `RTP-Info: seq=` is taken as the first packet's number.
    pub(super) fn takes_rtp_info(self) -> bool {
        !self.is_lab()
    }

    /// Whether each RTP packet is one whole JPEG (else RFC 2435 fragments).
    pub(super) fn whole_jpeg_packets(self) -> bool {
        self.is_lab()
    }

    /// Whether interarrival jitter is reported (the lab's timestamps are seconds: no).
    pub(super) fn reports_jitter(self) -> bool {
        !self.is_lab()
    }

    /// Parse an RTP packet: strictly, or — lab — leniently (its version field is 0).
    pub(super) fn parse_rtp(self, data: &[u8]) -> Result<RtpPacket<'_>, rtp_core::RtpError> {
        if self.is_lab() {
            RtpPacket::parse_lenient(data)
        } else {
            RtpPacket::parse(data)
        }
    }
}

/// A request in the lab's exact format: LF only, CSeq on line 2, then the extra headers
/// (Transport) or — except for SETUP — the session.
pub(super) fn request(
    method: &Method,
    uri: &str,
    cseq: u32,
    headers: &[(HeaderName, String)],
    session: Option<&str>,
) -> Vec<u8> {
    let mut s = format!("{method} {uri} RTSP/1.0\nCSeq: {cseq}\n");
    for (name, value) in headers {
        s.push_str(&format!("{name}: {value}\n"));
    }
    if let (Some(id), false) = (session, *method == Method::Setup) {
        s.push_str(&format!("Session: {id}\n"));
    }
    s.push('\n');
    s.into_bytes()
}

/// `host:port[/file]`, or a full `rtsp://` URL; the file is `lab_file`, else the URL's path.
fn lab_target(config: &ClientConfig) -> Result<Target, ClientError> {
    let raw = config.url.trim();
    let url = if raw.contains("://") {
        parse_url(raw, raw)?
    } else {
        parse_url(&format!("rtsp://{raw}"), raw)?
    };
    let file = match &config.lab_file {
        Some(f) => f.clone(),
        None => url.path().trim_start_matches('/').to_string(),
    };
    if file.is_empty() || !file.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(bad(raw, "the lab dialect needs a file name without spaces"));
    }
    Ok(Target {
        url,
        request_uri: file,
    })
}

impl Client {
    /// The lab reply timer fired (or the connection closed): take what is buffered as a reply.
    pub(super) fn lab_flush(&mut self, now: Instant) {
        self.timers.stop(Timer::LabFlush);
        loop {
            let decoded = self.decoder.flush(&mut self.rx);
            if !self.take_decoded(now, decoded) || self.rx.is_empty() {
                break;
            }
        }
    }
}
