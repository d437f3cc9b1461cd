//! `GET /api/streams` and `GET /api/sessions`: the JSON documents.

use super::{SessionInfo, StreamInfo};
use serde_json::{json, Value};

/// `{"streams": [...]}`.
pub(crate) fn streams(streams: &[StreamInfo]) -> String {
    let list: Vec<Value> = streams
        .iter()
        .map(|s| {
            let path = super::page::encode_path(&s.name);
            json!({
                "name": s.name,
                "kind": s.kind,
                "state": s.state,
                "width": s.width,
                "height": s.height,
                "fps": s.fps,
                "readers": s.readers,
                "rtsp_url": s.rtsp_url,
                "mjpeg_url": format!("/{path}/stream.mjpg"),
                "snapshot_url": format!("/{path}/snapshot.jpg"),
            })
        })
        .collect();
    json!({ "streams": list }).to_string()
}

/// `{"sessions": [...]}`.
pub(crate) fn sessions(sessions: &[SessionInfo]) -> String {
    let list: Vec<Value> = sessions
        .iter()
        .map(|s| {
            json!({
                "id": s.id,
                "protocol": s.protocol,
                "peer": s.peer.to_string(),
                "stream": s.stream,
                "transport": s.transport,
                "state": s.state,
                "user": s.user,
                "packets": s.packets,
                "octets": s.octets,
                "frames": s.frames,
                "frames_skipped": s.frames_skipped,
                "loss": s.loss.map(|(fraction, cumulative, jitter)| json!({
                    "fraction_lost": f64::from(fraction) / 256.0,
                    "cumulative_lost": cumulative,
                    "jitter": jitter,
                })),
            })
        })
        .collect();
    json!({ "sessions": list }).to_string()
}

/// The body of a kick's answer.
pub(crate) fn kicked(id: &str) -> String {
    json!({ "kicked": id }).to_string()
}
