//! RTCP from clients: receiver reports on the RTCP socket or an interleaved channel keep
//! their sessions alive and are reported as events. Publishers' RTP is passed on to
//! [`Server::on_published_rtp`].

use super::Server;
use crate::io::ConnId;
use crate::server::rtcp::{self, ReportBlock, Reports};
use crate::server::session::Delivery;
use crate::server::ServerEvent;
use core::net::SocketAddr;

impl Server {
    /// An interleaved frame from the client: RTCP on the channel of one of its sessions.
    pub(super) fn on_interleaved(&mut self, conn: ConnId, channel: u8, payload: &[u8]) {
        if let Some(key) = self.publisher_on_channel(conn, channel) {
            self.on_published_rtp(key, payload);
            return;
        }
        let blocks = rtcp::parse_report_blocks(payload)
            .unwrap_or_default()
            .blocks;
        let Some(c) = self.conns.get(&conn) else {
            return;
        };
        let mut keys: Vec<u64> = c
            .sessions
            .iter()
            .copied()
            .filter(|k| {
                self.sessions.get(k).is_some_and(|s| {
                    matches!(s.delivery, Delivery::Interleaved { conn: c, rtcp_channel, .. }
                        if c == conn && rtcp_channel == channel)
                })
            })
            .collect();
        self.sort_by_id(&mut keys);
        for key in keys {
            self.receiver_reports(key, &blocks);
        }
    }

    /// A datagram on one of the server's UDP sockets.
    pub(super) fn on_datagram(&mut self, local: SocketAddr, remote: SocketAddr, data: &[u8]) {
        // RTP from clients is a publisher's media, or else ignored (hole punching); RTCP
        // keeps sessions alive. Our own packets come back only from a session pointed at
        // our own sockets: they keep nothing alive.
        if local == self.config.rtp_local {
            if let Some(key) = self.publisher_by_rtp(remote) {
                self.on_published_rtp(key, data);
            }
            return;
        }
        if local != self.config.rtcp_local || self.is_own_socket(remote) {
            return;
        }
        let Reports { blocks, senders } = rtcp::parse_report_blocks(data).unwrap_or_default();
        let now = self.now;
        // The sessions sending RTCP to `remote` (it is their client port), and those a report
        // block names by SSRC if they belong to the sender's host: two index look-ups.
        let mut keys: Vec<u64> = self.by_rtcp.get(&remote).cloned().unwrap_or_default();
        for b in &blocks {
            for k in self.by_ssrc.get(&b.ssrc).into_iter().flatten() {
                if self
                    .sessions
                    .get(k)
                    .is_some_and(|s| s.dialect().has_rtcp() && s.peer.ip() == remote.ip())
                {
                    keys.push(*k);
                }
            }
        }
        // A session does not take its own sender report as a sign of life.
        keys.retain(|k| {
            self.sessions
                .get(k)
                .is_some_and(|s| !senders.contains(&s.ssrc))
        });
        self.sort_by_id(&mut keys);
        for key in &keys {
            if let Some(s) = self.sessions.get_mut(key) {
                s.last_seen = now;
            }
        }
        for key in keys {
            self.receiver_reports(key, &blocks);
        }
    }

    /// Reports the blocks about session `key`'s SSRC.
    fn receiver_reports(&mut self, key: u64, blocks: &[ReportBlock]) {
        let Some(s) = self.sessions.get(&key) else {
            return;
        };
        let ssrc = s.ssrc;
        let id = s.id.clone();
        for b in blocks.iter().filter(|b| b.ssrc == ssrc) {
            if let Some(s) = self.sessions.get_mut(&key) {
                s.last_report = Some((b.fraction_lost, b.cumulative_lost, b.jitter));
            }
            self.event(ServerEvent::ReceiverReport {
                session: id.clone(),
                fraction_lost: b.fraction_lost,
                cumulative_lost: b.cumulative_lost,
                jitter: b.jitter,
            });
        }
    }
}
