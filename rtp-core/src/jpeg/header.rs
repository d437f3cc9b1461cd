//! Rebuilding JFIF headers (RFC 2435 Appendix A/B).
use super::tables::{
    make_tables, AC_CHR_BITS, AC_CHR_VALS, AC_LUM_BITS, AC_LUM_VALS, DC_CHR_BITS, DC_LUM_BITS,
    DC_VALS,
};

/// Append the JFIF headers for an RFC 2435 frame to `out`: SOI, two DQT, DRI (if
/// `restart_interval != 0`), SOF0, the four standard DHT tables and SOS. The entropy-coded scan
/// and EOI follow.
///
/// * `type_`: `type_ & 0x3f == 0` is 4:2:2 (Y sampling 2x1), anything else 4:2:0 (Y 2x2).
/// * `qtables`: 8-bit tables in zig-zag order, 128 bytes (luma then chroma) or 64 bytes (one table
///   used for both components). With any other length (e.g. empty) the RFC 2435 Appendix A tables
///   for `q` are used (q clamped to 1..=99).
/// * `width`, `height`: in pixels.
pub fn build_jpeg_header(
    type_: u8,
    q: u8,
    width: u16,
    height: u16,
    qtables: &[u8],
    restart_interval: u16,
    out: &mut Vec<u8>,
) {
    let made;
    let tables = if qtables.len() >= 128 || qtables.len() == 64 {
        qtables
    } else {
        made = make_tables(q);
        &made[..]
    };
    write_headers(type_, width, height, 0, tables, restart_interval, out);
}

/// Number of bytes of one table of the given 16-bit-ness.
fn table_len(wide: bool) -> usize {
    if wide {
        128
    } else {
        64
    }
}

/// Total table bytes for two tables under a precision field (bit i set: table i is 16-bit).
pub(crate) fn tables_len(precision: u8) -> usize {
    table_len(precision & 1 != 0) + table_len(precision & 2 != 0)
}

fn segment(out: &mut Vec<u8>, marker: u8, body: &[&[u8]]) {
    let len: usize = 2 + body.iter().map(|b| b.len()).sum::<usize>();
    out.extend_from_slice(&[0xff, marker]);
    out.extend_from_slice(&(len as u16).to_be_bytes());
    for b in body {
        out.extend_from_slice(b);
    }
}

/// Write the headers. `tables` holds two tables laid out per `precision`, or (precision 0) a
/// single 64-byte table used for both. Callers guarantee the length.
pub(crate) fn write_headers(
    type_: u8,
    width: u16,
    height: u16,
    precision: u8,
    tables: &[u8],
    restart_interval: u16,
    out: &mut Vec<u8>,
) {
    out.extend_from_slice(&[0xff, 0xd8]); // SOI
    let l0 = table_len(precision & 1 != 0);
    let (t0, t1) = if tables.len() >= tables_len(precision) {
        (&tables[..l0], &tables[l0..tables_len(precision)])
    } else {
        // Single 8-bit table for both (length 64), or defensive fallback.
        let t = tables.get(..64).unwrap_or(tables);
        (t, t)
    };
    let p0 = u8::from(t0.len() == 128);
    let p1 = u8::from(t1.len() == 128);
    segment(out, 0xdb, &[&[p0 << 4], t0]); // DQT, table 0
    segment(out, 0xdb, &[&[(p1 << 4) | 1], t1]); // DQT, table 1
    if restart_interval != 0 {
        segment(out, 0xdd, &[&restart_interval.to_be_bytes()]); // DRI
    }
    let y_sampling = if type_ & 0x3f == 0 { 0x21 } else { 0x22 };
    let (h, w) = (height.to_be_bytes(), width.to_be_bytes());
    segment(
        out,
        0xc0, // SOF0: 8-bit, 3 components; Y uses table 0, Cb and Cr table 1
        &[&[
            8, h[0], h[1], w[0], w[1], 3, 1, y_sampling, 0, 2, 0x11, 1, 3, 0x11, 1,
        ]],
    );
    segment(out, 0xc4, &[&[0x00], &DC_LUM_BITS, &DC_VALS]);
    segment(out, 0xc4, &[&[0x10], &AC_LUM_BITS, &AC_LUM_VALS]);
    segment(out, 0xc4, &[&[0x01], &DC_CHR_BITS, &DC_VALS]);
    segment(out, 0xc4, &[&[0x11], &AC_CHR_BITS, &AC_CHR_VALS]);
    segment(out, 0xda, &[&[3, 1, 0x00, 2, 0x11, 3, 0x11, 0, 63, 0]]); // SOS
}
