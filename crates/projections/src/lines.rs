//! The physical line a CSV record starts on, for `spend-import`'s "line N" messages.
//!
//! The csv crate's own `Position::line` is wrong after a blank line (it reports the blank
//! line's number, rust-csv issue #208) and drifts further with CRLF line ends, so a user
//! told "line 3" would look at the wrong row. Its byte offsets are right, except that a
//! record after blank lines starts at the first of them. So the file is read through
//! [`LineTracking`], which keeps the bytes the csv reader has read but no record has been
//! placed past yet (at most the reader's buffer and one record) and counts the line breaks
//! before a record's first character.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::io::{self, Read};
use std::rc::Rc;

/// Bytes read but not yet passed by a record, and the line breaks before them.
#[derive(Debug, Default)]
pub struct Window {
    /// File offset of `bytes[0]`.
    base: u64,
    bytes: VecDeque<u8>,
    /// `\n` bytes before `base`.
    breaks_before_base: u64,
}

impl Window {
    /// The 1-based line of the first character at or after `offset` that is not a line
    /// break. Offsets must not go backwards (records are read in order); an earlier one is
    /// answered as if it were the last one asked about.
    pub fn line_at(&mut self, offset: u64) -> u64 {
        while self.base < offset {
            match self.bytes.pop_front() {
                Some(byte) => {
                    self.breaks_before_base += u64::from(byte == b'\n');
                    self.base += 1;
                }
                None => break,
            }
        }
        let leading_breaks = self
            .bytes
            .iter()
            .take_while(|b| matches!(b, b'\n' | b'\r'))
            .filter(|b| **b == b'\n')
            .count();
        self.breaks_before_base + leading_breaks as u64 + 1
    }
}

/// A reader that copies what passes through it into a shared [`Window`].
pub struct LineTracking<R> {
    inner: R,
    window: Rc<RefCell<Window>>,
}

impl<R: Read> LineTracking<R> {
    pub fn new(inner: R) -> (LineTracking<R>, Rc<RefCell<Window>>) {
        let window = Rc::new(RefCell::new(Window::default()));
        let reader = LineTracking {
            inner,
            window: Rc::clone(&window),
        };
        (reader, window)
    }
}

impl<R: Read> Read for LineTracking<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        if let Some(read) = buf.get(..n) {
            self.window.borrow_mut().bytes.extend(read);
        }
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each record's first field is the line it is on; the tracker must agree.
    fn check(input: &str) {
        let (tracking, window) = LineTracking::new(input.as_bytes());
        let mut reader = csv::ReaderBuilder::new()
            .buffer_capacity(16)
            .from_reader(tracking);
        let mut record = csv::StringRecord::new();
        let mut seen = 0;
        while reader.read_record(&mut record).unwrap_or(false) {
            let offset = record.position().map_or(0, |p| p.byte());
            let line = window.borrow_mut().line_at(offset);
            assert_eq!(record.get(0), Some(line.to_string().as_str()), "{input:?}");
            seen += 1;
        }
        assert!(seen > 0);
    }

    #[test]
    fn counts_lines_across_blank_lines_crlf_and_quoted_line_breaks() {
        check("line\n2\n\n4\n5\n");
        check("line\r\n2\r\n\r\n\r\n5\r\n6\r\n");
        check("line,text\n2,\"a\n\nb\"\n5,x\n\n\n8,y\n");
        check("line\n\n\n\n5\n6");
        // Records longer than the reader's buffer, so the window must hold them.
        let long = "x".repeat(100);
        check(&format!("line,text\n2,{long}\n\n4,{long}\r\n5,{long}\n"));
    }
}
