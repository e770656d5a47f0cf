//! Byte-stream adapters under the record reader: transcoding other encodings to UTF-8 as the file
//! is read, and a limit on how far one record may run.

use std::io::Read;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use encoding_rs::Encoding;

use super::PREFIX;

/// The longest record accepted. Excel cells hold at most 32,767 characters, so a longer record
/// means a quote that is never closed, which would otherwise swallow the rest of the file.
const MAX_RECORD_BYTES: u64 = 32 << 20;

/// Fails the read when the record reader has gone [`MAX_RECORD_BYTES`] past the end of the last
/// record, so a stray quote gives an error rather than one row holding the whole file in memory.
pub(super) struct RecordLimit<R> {
    inner: R,
    read: u64,
    record_end: Arc<AtomicU64>,
}

impl<R> RecordLimit<R> {
    pub(super) fn new(inner: R, record_end: Arc<AtomicU64>) -> Self {
        RecordLimit {
            inner,
            read: 0,
            record_end,
        }
    }
}

impl<R: Read> Read for RecordLimit<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.read > self.record_end.load(Ordering::Relaxed) + MAX_RECORD_BYTES {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!(
                    "a row runs over {} MB: a quote (\") is probably opened and never closed",
                    MAX_RECORD_BYTES >> 20
                ),
            ));
        }
        let n = self.inner.read(buf)?;
        self.read += n as u64;
        Ok(n)
    }
}

/// Decodes a non-UTF-8 byte stream into UTF-8 as it is read, with a fixed-size buffer.
pub(super) struct Transcoder<R> {
    inner: R,
    decoder: encoding_rs::Decoder,
    input: Vec<u8>,
    start: usize,
    end: usize,
    eof: bool,
    /// The decoder was told the input ended; it must not be called again.
    finished: bool,
    output: Vec<u8>,
    out_start: usize,
    out_end: usize,
}

impl<R: Read> Transcoder<R> {
    pub(super) fn new(inner: R, encoding: &'static Encoding) -> Self {
        Transcoder {
            inner,
            decoder: encoding.new_decoder_without_bom_handling(),
            input: vec![0; PREFIX],
            start: 0,
            end: 0,
            eof: false,
            finished: false,
            output: vec![0; PREFIX * 3 + 16],
            out_start: 0,
            out_end: 0,
        }
    }
}

impl<R: Read> Read for Transcoder<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while self.out_start == self.out_end {
            if self.start == self.end && !self.eof {
                let n = self.inner.read(&mut self.input)?;
                self.start = 0;
                self.end = n;
                self.eof = n == 0;
            }
            if self.start == self.end && self.eof {
                if self.finished {
                    return Ok(0);
                }
                self.finished = true;
                // Flush whatever the decoder holds (an incomplete sequence becomes U+FFFD).
                let (_, _, written, _) = self.decoder.decode_to_utf8(&[], &mut self.output, true);
                if written == 0 {
                    return Ok(0);
                }
                self.out_start = 0;
                self.out_end = written;
                break;
            }
            let (_, read, written, _) = self.decoder.decode_to_utf8(
                &self.input[self.start..self.end],
                &mut self.output,
                false,
            );
            self.start += read;
            self.out_start = 0;
            self.out_end = written;
        }
        let n = buf.len().min(self.out_end - self.out_start);
        buf[..n].copy_from_slice(&self.output[self.out_start..self.out_start + n]);
        self.out_start += n;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use encoding_rs::WINDOWS_1252;

    #[test]
    fn transcoder_decodes_windows_1252() {
        let bytes: &[u8] = b"caf\xe9;\x80\n";
        let mut t = Transcoder::new(bytes, WINDOWS_1252);
        let mut s = String::new();
        t.read_to_string(&mut s).unwrap();
        assert_eq!(s, "café;€\n");
    }
}
