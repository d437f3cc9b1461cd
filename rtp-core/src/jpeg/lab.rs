//! The course-lab dialect: one RTP packet per frame, the payload is the whole JPEG file.
use std::collections::VecDeque;

use bytes::Bytes;

use super::{DepacketizeError, JpegFrameOut};
use crate::RtpPacket;

/// Check that a lab-dialect payload is a JPEG (starts with SOI, FF D8) and return it as a frame.
/// `seq` is only used in the error.
pub fn lab_frame(payload: &[u8], seq: u16) -> Result<Bytes, DepacketizeError> {
    if payload.starts_with(&[0xff, 0xd8]) {
        Ok(Bytes::copy_from_slice(payload))
    } else {
        Err(DepacketizeError::NotJpeg { seq })
    }
}

/// Push/pull depacketizer for the lab dialect (parse its packets with
/// [`RtpPacket::parse_lenient`], the lab writes RTP version 0). Every packet is one frame.
#[derive(Debug)]
pub struct LabDepacketizer {
    max_frame_len: usize,
    ready: VecDeque<JpegFrameOut>,
    frames_dropped: u64,
}

impl LabDepacketizer {
    /// A depacketizer that rejects frames longer than `max_frame_len` bytes.
    pub fn new(max_frame_len: usize) -> Self {
        Self {
            max_frame_len,
            ready: VecDeque::new(),
            frames_dropped: 0,
        }
    }

    /// Feed one packet. Errors mean the packet was not a usable frame (it is counted as dropped).
    pub fn push(&mut self, pkt: &RtpPacket<'_>) -> Result<(), DepacketizeError> {
        let seq = pkt.header.sequence;
        let result = if pkt.payload.len() > self.max_frame_len {
            Err(DepacketizeError::FrameTooLarge {
                max: self.max_frame_len,
            })
        } else {
            lab_frame(pkt.payload, seq)
        };
        match result {
            Ok(data) => {
                if self.ready.len() >= 16 {
                    self.ready.pop_front();
                    self.frames_dropped += 1;
                }
                self.ready.push_back(JpegFrameOut {
                    timestamp: pkt.header.timestamp,
                    data,
                    first_seq: seq,
                });
                Ok(())
            }
            Err(e) => {
                self.frames_dropped += 1;
                Err(e)
            }
        }
    }

    /// Take the next frame.
    pub fn pull(&mut self) -> Option<JpegFrameOut> {
        self.ready.pop_front()
    }

    /// Frames rejected or overflowed so far.
    pub fn frames_dropped(&self) -> u64 {
        self.frames_dropped
    }
}
