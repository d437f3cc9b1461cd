//! The control connection: connecting, decoding its bytes into responses, server requests and
//! interleaved packets, and losing it.

use core::net::SocketAddr;
use std::time::Instant;

use super::timers::Timer;
use super::{after, Client, ClientConfig, ClientError, ClientEvent};
use crate::io::{ConnId, Dest, Output, Transmit};
use crate::message::{
    Decoded, Decoder, HeaderName, Message, ParseError, Request, Response, StatusCode,
};

impl Client {
    /// A decoder for the control stream of `config`'s dialect.
    pub(super) fn decoder_for(config: &ClientConfig) -> Decoder {
        Decoder::new(config.limits).with_lenient(config.dialect.lenient_decoder())
    }

    pub(super) fn on_connected(&mut self, now: Instant, conn: ConnId, peer: SocketAddr) {
        self.conn = Some(conn);
        self.peer = Some(peer);
        self.rx.clear();
        self.decoder = Self::decoder_for(&self.config);
        self.flush_requests(Some(now));
    }

    pub(super) fn on_stream_closed(&mut self, now: Instant) {
        if self.dialect().unterminated_replies() && !self.rx.is_empty() {
            self.lab_flush(now);
        }
        // Outstanding requests get no answer; a session (Ready or Playing) is gone without
        // TEARDOWN: either way the application must hear why.
        let outstanding = self.pending.len();
        let lost = outstanding > 0 || self.session.is_some();
        let err = lost.then_some(ClientError::ConnectionLost {
            pending: outstanding,
        });
        self.shut_down(err, false);
    }

    pub(super) fn on_stream(&mut self, now: Instant, data: &[u8]) {
        let limits = self.cfg().limits;
        // The decoder bounds each message; this bounds what it has not looked at yet.
        let cap = limits.max_head + limits.max_body + 70_000;
        self.rx.extend_from_slice(data);
        loop {
            let decoded = self.decoder.decode(&mut self.rx);
            if !self.take_decoded(now, decoded) {
                break;
            }
        }
        if self.closed() {
            return;
        }
        if self.rx.len() > cap {
            let e = ParseError::TooLarge {
                what: crate::message::TooLargeKind::Buffered,
                limit: cap,
                offset: self.decoder.stream_offset(),
            };
            self.shut_down(Some(ClientError::Parse(e)), true);
            return;
        }
        if self.dialect().unterminated_replies() && !self.rx.is_empty() {
            let at = after(now, self.cfg().lab_reply_delay);
            self.timers.set(Timer::LabFlush, at);
        } else {
            self.timers.stop(Timer::LabFlush);
        }
    }

    /// Handle what the decoder returned: an item (handled), nothing yet, or an error (fatal).
    /// Returns whether to go on decoding (an item was handled and the client is still open).
    pub(super) fn take_decoded(
        &mut self,
        now: Instant,
        decoded: Result<Option<Decoded>, ParseError>,
    ) -> bool {
        match decoded {
            Ok(Some(item)) => {
                self.on_decoded(now, item);
                !self.closed()
            }
            Ok(None) => false,
            Err(e) => {
                self.shut_down(Some(ClientError::Parse(e)), true);
                false
            }
        }
    }

    fn on_decoded(&mut self, now: Instant, item: Decoded) {
        if let (Decoded::Message(m), true) = (&item, self.cfg().trace_messages) {
            let text = String::from_utf8_lossy(&m.to_bytes()).into_owned();
            self.emit(ClientEvent::Trace {
                outgoing: false,
                text,
            });
        }
        match item {
            Decoded::Message(Message::Response(resp)) => self.on_response(now, resp),
            Decoded::Message(Message::Request(req)) => self.on_server_request(req),
            Decoded::Interleaved { channel, payload } => {
                self.on_interleaved(now, channel, &payload);
            }
        }
    }

    /// Servers may send requests (ANNOUNCE, GET_PARAMETER, OPTIONS); we implement none.
    fn on_server_request(&mut self, req: Request) {
        let (Some(conn), true) = (self.conn, self.dialect().answers_server_requests()) else {
            return;
        };
        let mut resp = Response::new(StatusCode::NOT_IMPLEMENTED);
        if let Some(cseq) = req.cseq() {
            resp.headers.append(HeaderName::CSEQ, cseq.to_string());
        }
        self.out.push_back(Output::Transmit(Transmit {
            dest: Dest::Stream(conn),
            data: resp.to_bytes(),
        }));
    }

    /// Whether the client has ended.
    pub(super) fn closed(&self) -> bool {
        self.state == super::ClientState::Closed
    }
}
