//! Media that are slow to load: large 4:4:4 frames, which RTP/JPEG cannot carry, so the
//! catalog decodes and re-encodes every one of them (the lossy path of transcoding), written
//! by hand here (no encoder needed).

use bytes::Bytes;
use mjpeg::huffman::STANDARD_TABLES;

/// A marker segment: `FF marker length body`.
fn segment(out: &mut Vec<u8>, marker: u8, body: &[u8]) {
    let len = u16::try_from(body.len() + 2).expect("segment fits");
    out.extend_from_slice(&[0xFF, marker]);
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(body);
}

/// Appends bits (MSB first) to a JPEG entropy-coded segment.
struct BitWriter {
    out: Vec<u8>,
    acc: u32,
    n: u32,
}

impl BitWriter {
    fn put(&mut self, bits: u32, len: u32) {
        self.acc = (self.acc << len) | bits;
        self.n += len;
        while self.n >= 8 {
            let byte = (self.acc >> (self.n - 8)) as u8;
            self.out.push(byte);
            if byte == 0xFF {
                self.out.push(0); // byte stuffing
            }
            self.n -= 8;
        }
    }

    fn finish(mut self) -> Vec<u8> {
        if self.n > 0 {
            let pad = 8 - self.n;
            self.put((1 << pad) - 1, pad);
        }
        self.out
    }
}

/// A baseline JPEG of `width` x `height` pixels (multiples of 8), 4:4:4 (every component
/// sampled 1x1), standard Huffman tables, in vertical grey bands (each luma block's DC
/// steps up or down by one; chroma flat). Valid, and not carriable by RTP/JPEG.
pub fn jpeg_444(width: u16, height: u16) -> Bytes {
    let mut out = vec![0xFF, 0xD8];
    let mut dqt = vec![0x00];
    dqt.extend([8u8; 64]);
    dqt.push(0x01);
    dqt.extend([8u8; 64]);
    segment(&mut out, 0xDB, &dqt);
    let mut sof = vec![8];
    sof.extend_from_slice(&height.to_be_bytes());
    sof.extend_from_slice(&width.to_be_bytes());
    sof.extend_from_slice(&[3, 1, 0x11, 0, 2, 0x11, 1, 3, 0x11, 1]);
    segment(&mut out, 0xC0, &sof);
    let mut dht = Vec::new();
    for t in STANDARD_TABLES {
        t.write_dht_entry(&mut dht);
    }
    segment(&mut out, 0xC4, &dht);
    segment(&mut out, 0xDA, &[3, 1, 0x00, 2, 0x11, 3, 0x11, 0, 63, 0]);
    let mut bits = BitWriter {
        out: Vec::new(),
        acc: 0,
        n: 0,
    };
    let blocks = usize::from(width / 8) * usize::from(height / 8);
    for i in 0..blocks {
        // Luma: DC difference of category 1 (code 010), +1 or -1, then end of block (1010).
        bits.put(0b010, 3);
        bits.put(u32::from(i % 16 < 8), 1);
        bits.put(0b1010, 4);
        // Cb, Cr: DC difference 0 (00), end of block (00).
        bits.put(0, 4);
        bits.put(0, 4);
    }
    out.extend(bits.finish());
    out.extend_from_slice(&[0xFF, 0xD9]);
    Bytes::from(out)
}

/// A concatenated MJPEG file of `frames` copies of [`jpeg_444`]`(width, height)`; with
/// `bad_last`, one more frame at the end whose SOF says "lossless" (unsupported), so the load
/// fails after all the work.
pub fn slow_file(frames: usize, width: u16, height: u16, bad_last: bool) -> Vec<u8> {
    let jpeg = jpeg_444(width, height);
    let mut list: Vec<Bytes> = (0..frames).map(|_| jpeg.clone()).collect();
    if bad_last {
        let mut bad = jpeg.to_vec();
        let sof = bad
            .windows(2)
            .position(|w| w == [0xFF, 0xC0])
            .expect("SOF0");
        bad[sof + 1] = 0xC3;
        list.push(Bytes::from(bad));
    }
    let mut file = Vec::new();
    mjpeg::write_concatenated(&list, &mut file);
    file
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_444_frame_decodes_and_needs_reencoding() {
        let f = jpeg_444(64, 48);
        let info = mjpeg::parse_jpeg(&f).expect("parses");
        assert_eq!((info.width, info.height), (64, 48));
        assert!(info.check_rtp().is_err(), "4:4:4 is not carriable");
        let pixels = crate::decode_pixels(&f);
        assert_eq!(pixels.len(), 64 * 48 * 3);
        let t = mjpeg::transcode::make_carriable(&f, &Default::default()).expect("transcodes");
        assert_eq!(t.kind, mjpeg::transcode::TranscodeKind::Reencoded);
    }
}
