//! Media intake and RTCP: RTP and RTCP from the UDP sockets or the interleaved channels, the
//! media source's BYE and the end of the stream, and our receiver reports.

use core::net::SocketAddr;
use std::time::Instant;

use super::media::Path;
use super::{after, Client, ClientEvent};
use crate::io::{Dest, Output, Transmit};
use crate::message::write_interleaved;

impl Client {
    pub(super) fn on_datagram(&mut self, now: Instant, local: SocketAddr, data: &[u8]) {
        let role = self.media.as_ref().and_then(|m| m.udp_role(local));
        self.on_media_packet(now, role, data);
    }

    pub(super) fn on_interleaved(&mut self, now: Instant, channel: u8, data: &[u8]) {
        let role = self.media.as_ref().and_then(|m| m.channel_role(channel));
        self.on_media_packet(now, role, data);
    }

    /// An RTP (`role` `Some(true)`) or RTCP (`Some(false)`) packet of our session.
    fn on_media_packet(&mut self, now: Instant, role: Option<bool>, data: &[u8]) {
        let Some(media) = self.media.as_mut() else {
            return;
        };
        match role {
            Some(true) => media.handle_rtp(now, data, &mut self.out),
            Some(false) => {
                if let Some(ssrc) = media.handle_rtcp(now, data) {
                    self.on_bye(now, ssrc);
                }
            }
            None => {}
        }
    }

    /// The media source said BYE (once per media receiver): the end of the stream, unless it
    /// answers our TEARDOWN. Over UDP the last RTP may still be on its way through the other
    /// socket: the end is reported when the grace is over (see `run_timers`). Over TCP
    /// everything sent before the BYE was already handled: the end is reported now.
    fn on_bye(&mut self, now: Instant, ssrc: u32) {
        if self.teardown_pending() {
            return;
        }
        let grace = self.cfg().end_of_stream_grace;
        match self.media.as_mut() {
            Some(media) if media.is_udp() && !grace.is_zero() => {
                media.start_end_grace(ssrc, after(now, grace));
            }
            _ => self.end_stream(ssrc),
        }
    }

    /// Report the end of the stream: first the frames the reordering buffer can still
    /// complete, then [`ClientEvent::EndOfStream`].
    pub(super) fn end_stream(&mut self, ssrc: u32) {
        if let Some(media) = self.media.as_mut() {
            media.flush(&mut self.out);
        }
        self.unwatch_media();
        self.emit(ClientEvent::EndOfStream { ssrc });
    }

    /// Send an RTCP receiver report (+ SDES, + BYE) if there is somewhere to send it.
    pub(super) fn send_rtcp(&mut self, now: Instant, bye: bool) {
        if !self.dialect().sends_rtcp() {
            return;
        }
        let (our_ssrc, conn) = (self.our_ssrc, self.conn);
        let Some(media) = self.media.as_mut() else {
            return;
        };
        let dest_data = match media.path {
            Path::Udp {
                rtcp_local,
                server_rtcp: Some(remote),
                ..
            } => Some((
                Dest::Udp {
                    local: rtcp_local,
                    remote,
                },
                media.build_rtcp(now, our_ssrc, &self.cname, bye),
            )),
            Path::Tcp { rtcp_channel, .. } => conn.map(|conn| {
                let rtcp = media.build_rtcp(now, our_ssrc, &self.cname, bye);
                let mut framed = Vec::with_capacity(rtcp.len() + 4);
                write_interleaved(rtcp_channel, &rtcp, &mut framed);
                (Dest::Stream(conn), framed)
            }),
            Path::Udp { .. } => None,
        };
        if let Some((dest, data)) = dest_data {
            self.out
                .push_back(Output::Transmit(Transmit { dest, data }));
        }
    }
}
