//! Frames from real encoders (ffmpeg, VLC's RTP payloader via a reference depacketizer), kept small
//! in `testdata/`, plus generated test-pattern frames.

use bytes::Bytes;
use mjpeg::{
    parse_jpeg, split_frames, write_concatenated, write_lab, FileFormat, FrameSplitter, MjpegError,
    NotCarriable, Sampling,
};

/// `ffmpeg -f lavfi -i testsrc=size=96x64 -frames:v 3 -pix_fmt yuvj420p -huffman default
/// -force_duplicated_matrix 1 -f mjpeg`
const FFMPEG_420_STD: &[u8] = include_bytes!("../testdata/ffmpeg-420-std.mjpeg");
/// Same with ffmpeg's default optimal Huffman tables (a negative vector for RTP).
const FFMPEG_420_OPTIMAL: &[u8] = include_bytes!("../testdata/ffmpeg-420-optimal.jpg");
/// yuvj444p.
const FFMPEG_444: &[u8] = include_bytes!("../testdata/ffmpeg-444.jpg");
/// yuvj422p: ffmpeg writes Y 2x2 with Cb/Cr 1x2.
const FFMPEG_422: &[u8] = include_bytes!("../testdata/ffmpeg-422.jpg");
/// A 384x288 frame received from VLC's RTP/JPEG payloader and rebuilt by the reference
/// RFC 2435 depacketizer (interop `rtp_vectors/vlc-sample/frame0.jpg`).
const VLC_RTP_FRAME: &[u8] = include_bytes!("../testdata/vlc-rtp-frame0.jpg");

fn decode_size(jpeg: &[u8]) -> (u16, u16) {
    let mut d = zune_jpeg::JpegDecoder::new(zune_jpeg::zune_core::bytestream::ZCursor::new(jpeg));
    d.decode().expect("decodes");
    let info = d.info().expect("info");
    (info.width, info.height)
}

#[test]
fn ffmpeg_concatenated_file() {
    let data = Bytes::from_static(FFMPEG_420_STD);
    let (format, frames) = split_frames(&data).unwrap();
    assert_eq!(format, FileFormat::Concatenated);
    assert_eq!(frames.len(), 3);
    assert_eq!(frames.iter().map(Bytes::len).sum::<usize>(), data.len());
    for f in &frames {
        let info = parse_jpeg(f).unwrap();
        assert_eq!((info.width, info.height), (96, 64));
        assert_eq!(info.sampling, Sampling::Yuv420);
        assert_eq!(info.check_rtp(), Ok(()));
        assert_eq!(info.rtp_type(), Some(1));
        // force_duplicated_matrix writes 2 tables, but all components reference table 0.
        assert_eq!(info.qtables.len(), 2);
        assert_eq!(info.component_qtables, vec![0, 0, 0]);
        let q = info.qtables_for_rtp();
        assert_eq!(q.len(), 128);
        assert_eq!(q[..64], q[64..]);
        assert_eq!(info.scan_offset + info.scan_len + 2, f.len());
        assert_eq!(decode_size(f), (96, 64));
    }

    // The same frames in the lab format.
    let mut lab = Vec::new();
    write_lab(&frames, &mut lab).unwrap();
    assert_eq!(&lab[..5], format!("{:05}", frames[0].len()).as_bytes());
    let (format, again) = split_frames(&Bytes::from(lab.clone())).unwrap();
    assert_eq!(format, FileFormat::Lab);
    assert_eq!(again, frames);

    // Streaming, in 1000-byte reads.
    let mut s = FrameSplitter::new();
    let mut n = 0;
    for chunk in lab.chunks(1000) {
        s.push(chunk);
        while let Some(f) = s.next_frame().unwrap() {
            assert_eq!(f, frames[n]);
            n += 1;
        }
    }
    s.finish();
    assert_eq!(s.next_frame(), Ok(None));
    assert_eq!(n, 3);
}

#[test]
fn ffmpeg_truncated_file_reports_offset() {
    let data = Bytes::from_static(FFMPEG_420_STD);
    let (_, frames) = split_frames(&data).unwrap();
    let cut = data.slice(..data.len() - 100);
    let e = split_frames(&cut).unwrap_err();
    let offset = (frames[0].len() + frames[1].len()) as u64;
    assert_eq!(
        e,
        MjpegError::Truncated {
            index: 2,
            offset,
            end: cut.len() as u64
        }
    );
    assert_eq!(
        e.to_string(),
        format!(
            "frame 2 starting at byte {offset} is truncated: data ends at byte {}",
            cut.len()
        )
    );
}

#[test]
fn ffmpeg_optimal_huffman_is_not_carriable() {
    let info = parse_jpeg(FFMPEG_420_OPTIMAL).unwrap();
    assert!(!info.standard_huffman);
    assert_eq!(info.sampling, Sampling::Yuv420);
    assert_eq!(info.check_rtp(), Err(NotCarriable::NonStandardHuffman));
    assert_eq!(decode_size(FFMPEG_420_OPTIMAL), (96, 64));
}

#[test]
fn ffmpeg_444_and_422_are_not_carriable() {
    let info = parse_jpeg(FFMPEG_444).unwrap();
    assert_eq!(info.sampling, Sampling::Yuv444);
    assert!(matches!(
        info.check_rtp(),
        Err(NotCarriable::Sampling {
            sampling: Sampling::Yuv444,
            ..
        })
    ));
    assert_eq!(info.rtp_type(), None);

    let info = parse_jpeg(FFMPEG_422).unwrap();
    assert_eq!(info.sampling, Sampling::Yuv422);
    assert_eq!(
        info.check_rtp(),
        Err(NotCarriable::Sampling {
            sampling: Sampling::Yuv422,
            y: (2, 2),
            cb: (1, 2),
            cr: (1, 2)
        })
    );
}

#[test]
fn vlc_rtp_frame() {
    let info = parse_jpeg(VLC_RTP_FRAME).unwrap();
    assert_eq!((info.width, info.height), (384, 288));
    assert_eq!(info.check_rtp(), Ok(()));
    assert_eq!(info.rtp_type(), Some(1));
    assert_eq!(info.rtp_dimensions(), Some((48, 36)));
    assert_eq!(info.component_qtables, vec![0, 1, 1]);
    let q = info.qtables_for_rtp();
    assert_eq!(&q[..64], &VLC_RTP_FRAME[7..7 + 64]); // first DQT right after SOI
    assert_eq!(&q[64..], &VLC_RTP_FRAME[7 + 64 + 5..7 + 128 + 5]); // second DQT
                                                                   // The sample was encoded with duplicated matrices: both tables are equal.
    assert_eq!(q[..64], q[64..]);
    let scan = info.scan(VLC_RTP_FRAME);
    assert_eq!(scan.len(), info.scan_len);
    assert_eq!(decode_size(VLC_RTP_FRAME), (384, 288));
}

#[test]
fn write_lab_rejects_large_frames() {
    let big = Bytes::from(vec![0u8; 100_000]);
    let ok = Bytes::from_static(b"\xFF\xD8\xFF\xD9");
    let mut out = Vec::new();
    assert_eq!(
        write_lab(&[ok.clone(), big], &mut out),
        Err(MjpegError::TooLargeForLab {
            index: 1,
            len: 100_000
        })
    );
    assert!(out.is_empty(), "nothing written on error");
    write_lab(&[Bytes::from(vec![0u8; 99_999])], &mut out).unwrap();
    assert_eq!(&out[..5], b"99999");
    let mut out = Vec::new();
    write_concatenated(&[ok.clone(), ok], &mut out);
    assert_eq!(out, b"\xFF\xD8\xFF\xD9\xFF\xD8\xFF\xD9");
}

#[cfg(feature = "gen")]
#[test]
fn generated_frames_round_trip_through_both_formats() {
    let frames = mjpeg::testpattern::frames(5, 384, 288);
    for f in &frames {
        let info = parse_jpeg(f).unwrap();
        assert_eq!(info.check_rtp(), Ok(()));
        assert_eq!(info.rtp_type(), Some(1));
        assert_eq!(info.component_qtables, vec![0, 1, 1]);
        assert!(f.len() < 99_999);
    }
    let mut lab = Vec::new();
    write_lab(&frames, &mut lab).unwrap();
    let mut cat = Vec::new();
    write_concatenated(&frames, &mut cat);
    assert_eq!(
        split_frames(&Bytes::from(lab)).unwrap(),
        (FileFormat::Lab, frames.clone())
    );
    assert_eq!(
        split_frames(&Bytes::from(cat)).unwrap(),
        (FileFormat::Concatenated, frames)
    );
}
