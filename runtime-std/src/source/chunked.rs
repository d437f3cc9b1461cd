//! [`ChunkedDecoder`]: an incremental decoder of `Transfer-Encoding: chunked` bodies
//! (RFC 9112 §7.1). Data passes through as slices of the input; only a chunk-size line split
//! across reads is buffered (bounded).

/// Longest chunk-size line (with extensions) or line end that is buffered.
const MAX_LINE: usize = 1024;

/// Why a chunked body cannot be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(super) enum ChunkError {
    /// A chunk-size line that does not parse (or is too long).
    #[error("invalid chunk size line")]
    Size,
    /// Something other than a line end after a chunk's data.
    #[error("chunk data not followed by CRLF")]
    DataEnd,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Reading a chunk-size line.
    Size,
    /// In a chunk's data, this much left.
    Data(u64),
    /// After a chunk's data: its CRLF.
    DataEnd,
    /// The last (zero-size) chunk came; trailers and anything after are ignored.
    Done,
}

/// Decodes a chunked body pushed in pieces of any size.
#[derive(Debug)]
pub(super) struct ChunkedDecoder {
    state: State,
    /// The part of a size line (or line end) seen so far.
    line: Vec<u8>,
}

impl Default for ChunkedDecoder {
    fn default() -> Self {
        Self {
            state: State::Size,
            line: Vec::new(),
        }
    }
}

impl ChunkedDecoder {
    /// Whether the last chunk came (the body is complete).
    pub(super) fn is_done(&self) -> bool {
        self.state == State::Done
    }

    /// Decodes `input`, handing each piece of body data to `out` in order. Errors are final.
    pub(super) fn decode<'a>(
        &mut self,
        mut input: &'a [u8],
        mut out: impl FnMut(&'a [u8]),
    ) -> Result<(), ChunkError> {
        while !input.is_empty() {
            match self.state {
                State::Done => return Ok(()),
                State::Data(left) => {
                    let n = usize::try_from(left).unwrap_or(usize::MAX).min(input.len());
                    out(&input[..n]);
                    input = &input[n..];
                    let left = left - n as u64;
                    self.state = if left == 0 {
                        State::DataEnd
                    } else {
                        State::Data(left)
                    };
                }
                State::Size | State::DataEnd => {
                    let Some(mut line) = self.take_line(&mut input) else {
                        if self.line.len() > MAX_LINE {
                            return Err(if self.state == State::Size {
                                ChunkError::Size
                            } else {
                                ChunkError::DataEnd
                            });
                        }
                        return Ok(());
                    };
                    self.state = if self.state == State::DataEnd {
                        if !matches!(&line[..], b"\r\n" | b"\n") {
                            return Err(ChunkError::DataEnd);
                        }
                        State::Size
                    } else {
                        // httparse wants CRLF; a bare LF is accepted too (RFC 9112 §2.2).
                        if !line.ends_with(b"\r\n") {
                            line.pop();
                            line.extend_from_slice(b"\r\n");
                        }
                        match httparse::parse_chunk_size(&line) {
                            Ok(httparse::Status::Complete((_, 0))) => State::Done,
                            Ok(httparse::Status::Complete((_, size))) => State::Data(size),
                            Ok(httparse::Status::Partial) | Err(_) => return Err(ChunkError::Size),
                        }
                    };
                }
            }
        }
        Ok(())
    }

    /// Moves bytes up to and including the next `\n` from `input` to the line buffer: the
    /// whole line when it ends in `input` (the buffer is then emptied).
    fn take_line(&mut self, input: &mut &[u8]) -> Option<Vec<u8>> {
        match input.iter().position(|&b| b == b'\n') {
            Some(nl) => {
                self.line.extend_from_slice(&input[..=nl]);
                *input = &input[nl + 1..];
                Some(std::mem::take(&mut self.line))
            }
            None => {
                self.line.extend_from_slice(input);
                *input = &[];
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BODY: &[u8] =
        b"5\r\nhello\r\n1a;name=value\r\nabcdefghijklmnopqrstuvwxyz\r\n0\r\nX-Trailer: 1\r\n\r\n";
    const DATA: &[u8] = b"helloabcdefghijklmnopqrstuvwxyz";

    fn decode_in_pieces(body: &[u8], piece: usize) -> (Result<(), ChunkError>, Vec<u8>, bool) {
        let mut d = ChunkedDecoder::default();
        let mut data = Vec::new();
        for p in body.chunks(piece) {
            if let Err(e) = d.decode(p, |s| data.extend_from_slice(s)) {
                return (Err(e), data, d.is_done());
            }
        }
        (Ok(()), data, d.is_done())
    }

    #[test]
    fn decodes_whole_and_split_at_every_size() {
        for piece in 1..=BODY.len() {
            let (r, data, done) = decode_in_pieces(BODY, piece);
            assert_eq!(r, Ok(()), "piece {piece}");
            assert_eq!(data, DATA, "piece {piece}");
            assert!(done, "piece {piece}");
        }
    }

    #[test]
    fn not_done_before_the_last_chunk() {
        let (r, data, done) = decode_in_pieces(b"3\r\nabc\r\n", 100);
        assert_eq!((r, &data[..], done), (Ok(()), &b"abc"[..], false));
    }

    #[test]
    fn bare_lf_line_ends_are_accepted() {
        let (r, data, done) = decode_in_pieces(b"3\nabc\n0\n\n", 2);
        assert_eq!((r, &data[..], done), (Ok(()), &b"abc"[..], true));
    }

    #[test]
    fn bad_size_line_and_missing_crlf_are_errors() {
        assert_eq!(decode_in_pieces(b"zz\r\nabc", 3).0, Err(ChunkError::Size));
        assert_eq!(
            decode_in_pieces(b"3\r\nabcX\r\n", 100).0,
            Err(ChunkError::DataEnd)
        );
        let long = vec![b'1'; MAX_LINE + 10];
        assert_eq!(decode_in_pieces(&long, 7).0, Err(ChunkError::Size));
    }
}
