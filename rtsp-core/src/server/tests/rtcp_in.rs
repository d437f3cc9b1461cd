//! RTCP and other datagrams from clients.

use super::*;

#[test]
fn junk_datagrams_are_ignored() {
    let mut h = H::connected();
    h.setup_udp(C1, "rtsp://h/test/stream=0");
    h.take();
    let from = addr("192.168.1.7:5001");
    for junk in [
        &[0u8; 4][..],
        &[0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
        &[0xAB; 200],
        &[],
        &[0x81, 201, 0, 200],
    ] {
        h.datagram(rtp_local(), from, junk);
        h.datagram(rtcp_local(), from, junk);
        h.datagram(addr("10.0.0.1:9999"), from, junk);
    }
    assert!(h
        .take()
        .iter()
        .all(|o| !matches!(o, Out::Tx(_) | Out::Close(_))));
}
