//! The one place where byte offsets become lines and columns.

/// A 1-based line and column. Columns count Unicode scalar values, as editors and
/// terminals show them; `utf16_col` is what the language server protocol wants.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LineCol {
    pub line: u32,
    pub col: u32,
}

/// Start offsets of every line of a text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LineIndex {
    line_starts: Vec<u32>,
    len: u32,
}

impl LineIndex {
    pub fn new(text: &str) -> Self {
        let mut line_starts = vec![0u32];
        for (i, b) in text.bytes().enumerate() {
            if b == b'\n' {
                line_starts.push(i as u32 + 1);
            }
        }
        LineIndex {
            line_starts,
            len: text.len() as u32,
        }
    }

    /// 0-based line number that holds `offset`.
    pub fn line_of(&self, offset: usize) -> usize {
        let offset = (offset as u32).min(self.len);
        match self.line_starts.binary_search(&offset) {
            Ok(i) => i,
            Err(i) => i - 1,
        }
    }

    pub fn line_start(&self, line: usize) -> usize {
        self.line_starts.get(line).copied().unwrap_or(self.len) as usize
    }

    pub fn line_count(&self) -> usize {
        self.line_starts.len()
    }

    /// 1-based line and character column of a byte offset.
    pub fn line_col(&self, text: &str, offset: usize) -> LineCol {
        let offset = clamp_to_char_boundary(text, offset);
        let line = self.line_of(offset);
        let start = self.line_start(line);
        let col = text[start..offset].chars().count();
        LineCol {
            line: line as u32 + 1,
            col: col as u32 + 1,
        }
    }

    /// 0-based line and UTF-16 column (the language server protocol's position).
    pub fn utf16_position(&self, text: &str, offset: usize) -> (u32, u32) {
        let offset = clamp_to_char_boundary(text, offset);
        let line = self.line_of(offset);
        let start = self.line_start(line);
        let col: usize = text[start..offset].chars().map(char::len_utf16).sum();
        (line as u32, col as u32)
    }

    /// Byte offset of a 0-based line and UTF-16 column; clamps to the line's end.
    pub fn offset_of_utf16(&self, text: &str, line: u32, col16: u32) -> usize {
        if line as usize >= self.line_count() {
            return text.len();
        }
        let start = self.line_start(line as usize);
        let end = if (line as usize + 1) < self.line_count() {
            self.line_start(line as usize + 1)
        } else {
            text.len()
        };
        let mut units = 0u32;
        for (i, ch) in text[start..end].char_indices() {
            if units >= col16 || ch == '\n' {
                return start + i;
            }
            units += ch.len_utf16() as u32;
        }
        end
    }
}

fn clamp_to_char_boundary(text: &str, offset: usize) -> usize {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    offset
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_and_columns_are_one_based() {
        let text = "ab\ncdé\nf";
        let idx = LineIndex::new(text);
        assert_eq!(idx.line_col(text, 0), LineCol { line: 1, col: 1 });
        assert_eq!(idx.line_col(text, 3), LineCol { line: 2, col: 1 });
        // 'é' is two bytes; the column after it counts one character
        assert_eq!(idx.line_col(text, 7), LineCol { line: 2, col: 4 });
        assert_eq!(idx.line_col(text, 8), LineCol { line: 3, col: 1 });
        assert_eq!(idx.line_col(text, 100), LineCol { line: 3, col: 2 });
    }

    #[test]
    fn utf16_round_trip() {
        let text = "a😀b\nc";
        let idx = LineIndex::new(text);
        assert_eq!(idx.utf16_position(text, 5), (0, 3));
        assert_eq!(idx.offset_of_utf16(text, 0, 3), 5);
        assert_eq!(idx.offset_of_utf16(text, 1, 9), text.len());
    }
}
