//! SETUP's transport choice: the first spec of the client's list the server can serve.

use crate::io::ConnId;
use crate::message::headers::{LowerTransport, Transport, TransportMode};
use crate::server::lab;
use crate::server::machine::Server;
use crate::server::session::Delivery;
use core::net::SocketAddr;

impl Server {
    /// The first transport spec we can serve: its delivery and the reply's Transport
    /// (without `ssrc`). `bare`: the request-URI was a bare name.
    pub(super) fn choose_transport(
        &self,
        conn: ConnId,
        peer: SocketAddr,
        bare: bool,
        specs: &[Transport],
    ) -> Option<(Delivery, Transport)> {
        for spec in specs {
            if !spec.unicast || spec.mode == Some(TransportMode::Record) {
                continue;
            }
            let chosen = match spec.lower {
                LowerTransport::Udp => self.udp_transport(peer, bare, spec),
                LowerTransport::Tcp => self.interleaved_transport(conn, spec),
            };
            if chosen.is_some() {
                return chosen;
            }
        }
        None
    }

    /// RTP/AVP over UDP to the client ports at the control connection's address (or lab
    /// delivery).
    fn udp_transport(
        &self,
        peer: SocketAddr,
        bare: bool,
        spec: &Transport,
    ) -> Option<(Delivery, Transport)> {
        let (rtp_port, rtcp_port) = spec.client_port?;
        if rtp_port == 0 {
            return None;
        }
        let rtp = SocketAddr::new(peer.ip(), rtp_port);
        let (rtp_local, rtcp_local) = (self.config.rtp_local, self.config.rtcp_local);
        // Media aimed at our own sockets would come back to us (and its RTCP would keep
        // the session alive by itself): refused.
        if self.is_own_socket(rtp) {
            return None;
        }
        if let Some(chosen) = lab::lab_transport(bare, spec, rtp, rtp_local.port()) {
            return Some(chosen);
        }
        let rtcp_port = rtcp_port.or(rtp_port.checked_add(1))?;
        let rtcp = SocketAddr::new(peer.ip(), rtcp_port);
        if self.is_own_socket(rtcp) {
            return None;
        }
        let mut reply = Transport::new(LowerTransport::Udp);
        reply.protocol = spec.protocol.clone();
        reply.client_port = Some((rtp_port, Some(rtcp_port)));
        reply.server_port = Some((rtp_local.port(), Some(rtcp_local.port())));
        Some((Delivery::Udp { rtp, rtcp }, reply))
    }

    /// Whether `addr` is (as far as the machine can tell) one of the server's own UDP
    /// sockets ([`ServerConfig::own_udp`] included): their port, at their address, or at a
    /// loopback address when they are bound to all addresses.
    ///
    /// [`ServerConfig::own_udp`]: crate::server::ServerConfig::own_udp
    pub(in crate::server::machine) fn is_own_socket(&self, addr: SocketAddr) -> bool {
        [self.config.rtp_local, self.config.rtcp_local]
            .iter()
            .chain(&self.config.own_udp)
            .any(|l| {
                l.port() == addr.port()
                    && (l.ip() == addr.ip() || (l.ip().is_unspecified() && addr.ip().is_loopback()))
            })
    }

    /// `$`-interleaved on the control connection: the channels asked for if they are free
    /// on it, else the first free pair.
    pub(super) fn interleaved_transport(
        &self,
        conn: ConnId,
        spec: &Transport,
    ) -> Option<(Delivery, Transport)> {
        // The channels in use on this connection: its own sessions only.
        let mut used = ChannelSet::default();
        let mine = self.conns.get(&conn).map_or(&[][..], |c| &c.sessions);
        for s in mine.iter().filter_map(|k| self.sessions.get(k)) {
            if let Delivery::Interleaved {
                conn: c,
                rtp_channel,
                rtcp_channel,
            } = s.delivery
            {
                if c == conn {
                    used.insert(rtp_channel);
                    used.insert(rtcp_channel);
                }
            }
        }
        let requested = spec.interleaved.and_then(|(a, b)| {
            let b = b.or(a.checked_add(1))?;
            (a != b && !used.contains(a) && !used.contains(b)).then_some((a, b))
        });
        let free = || {
            (0..=127u8)
                .map(|i| (2 * i, 2 * i + 1))
                .find(|&(a, b)| !used.contains(a) && !used.contains(b))
        };
        let (a, b) = requested.or_else(free)?;
        let mut reply = Transport::new(LowerTransport::Tcp);
        reply.protocol = spec.protocol.clone();
        reply.interleaved = Some((a, Some(b)));
        let delivery = Delivery::Interleaved {
            conn,
            rtp_channel: a,
            rtcp_channel: b,
        };
        Some((delivery, reply))
    }
}

/// A set of interleaved channel numbers (0..=255).
#[derive(Default)]
struct ChannelSet([u64; 4]);

impl ChannelSet {
    fn insert(&mut self, ch: u8) {
        self.0[usize::from(ch >> 6)] |= 1 << (ch & 63);
    }

    fn contains(&self, ch: u8) -> bool {
        self.0[usize::from(ch >> 6)] & (1 << (ch & 63)) != 0
    }
}
