//! Builders for synthetic JPEG byte streams used by the unit tests.

use crate::huffman::STANDARD_TABLES;

/// A marker segment: `FF marker len body`.
pub(crate) fn seg(marker: u8, body: &[u8]) -> Vec<u8> {
    let len = u16::try_from(body.len() + 2).unwrap();
    let mut v = vec![0xFF, marker];
    v.extend_from_slice(&len.to_be_bytes());
    v.extend_from_slice(body);
    v
}

/// An 8-bit quantization table body entry: values `base, base+1, ...` (zig-zag order).
pub(crate) fn qtable8(id: u8, base: u8) -> Vec<u8> {
    let mut v = vec![id];
    v.extend((0..64u8).map(|i| base.wrapping_add(i)));
    v
}

/// A 16-bit quantization table body entry.
pub(crate) fn qtable16(id: u8, base: u16) -> Vec<u8> {
    let mut v = vec![0x10 | id];
    for i in 0..64u16 {
        v.extend_from_slice(&(base + i).to_be_bytes());
    }
    v
}

/// A SOFn body.
pub(crate) fn sof_body(precision: u8, width: u16, height: u16, comps: &[(u8, u8, u8)]) -> Vec<u8> {
    let mut v = vec![precision];
    v.extend_from_slice(&height.to_be_bytes());
    v.extend_from_slice(&width.to_be_bytes());
    v.push(u8::try_from(comps.len()).unwrap());
    for &(id, hv, tq) in comps {
        v.extend_from_slice(&[id, hv, tq]);
    }
    v
}

/// The body of a DHT segment holding all four standard tables.
pub(crate) fn dht_standard() -> Vec<u8> {
    let mut v = Vec::new();
    for t in STANDARD_TABLES {
        t.write_dht_entry(&mut v);
    }
    v
}

/// A SOS body: (component id, Td<<4|Ta) per component, then Ss=0, Se=63, AhAl=0.
pub(crate) fn sos_body(comps: &[(u8, u8)]) -> Vec<u8> {
    let mut v = vec![u8::try_from(comps.len()).unwrap()];
    for &(id, t) in comps {
        v.extend_from_slice(&[id, t]);
    }
    v.extend_from_slice(&[0, 63, 0]);
    v
}

/// Entropy-coded bytes with stuffing, a restart marker and a stuffed `FF 00 D9` sequence.
pub(crate) const SCAN: &[u8] = &[
    0x12, 0xFF, 0x00, 0x34, 0xFF, 0xD0, 0x56, 0xFF, 0x00, 0xD9, 0x78, 0xFF, 0xD1, 0x9A,
];

/// The parts of a typical 4:2:0 baseline JPEG (64x48), before the scan data.
pub(crate) fn headers_420() -> Vec<Vec<u8>> {
    vec![
        seg(0xE0, b"JFIF\0\x01\x01\0\0\x01\0\x01\0\0"),
        seg(0xDB, &qtable8(0, 1)),
        seg(0xDB, &qtable8(1, 100)),
        seg(
            0xC0,
            &sof_body(8, 64, 48, &[(1, 0x22, 0), (2, 0x11, 1), (3, 0x11, 1)]),
        ),
        seg(0xC4, &dht_standard()),
        seg(0xDA, &sos_body(&[(1, 0x00), (2, 0x11), (3, 0x11)])),
    ]
}

/// SOI + parts + scan + EOI.
pub(crate) fn build(parts: &[Vec<u8>], scan: &[u8]) -> Vec<u8> {
    let mut v = vec![0xFF, 0xD8];
    for p in parts {
        v.extend_from_slice(p);
    }
    v.extend_from_slice(scan);
    v.extend_from_slice(&[0xFF, 0xD9]);
    v
}

/// A complete typical 4:2:0 baseline JPEG.
pub(crate) fn jpeg_420() -> Vec<u8> {
    build(&headers_420(), SCAN)
}
