//! LSP positions (lines and UTF-16 columns) and Plumb's byte offsets.

use plumb_diagnostics::{LineIndex, TextRange};
use tower_lsp_server::ls_types::{Position, Range};

pub struct Text<'a> {
    pub text: &'a str,
    pub index: &'a LineIndex,
}

impl Text<'_> {
    pub fn position(&self, offset: usize) -> Position {
        let (line, character) = self
            .index
            .utf16_position(self.text, offset.min(self.text.len()));
        Position { line, character }
    }
    pub fn range(&self, r: TextRange) -> Range {
        Range {
            start: self.position(r.start as usize),
            end: self.position(r.end as usize),
        }
    }
    pub fn offset(&self, p: Position) -> usize {
        self.index
            .offset_of_utf16(self.text, p.line, p.character)
            .min(self.text.len())
    }
}

/// Applies an LSP content change to a text (a change without a range replaces all).
pub fn apply_change(text: &mut String, range: Option<Range>, new_text: &str) {
    match range {
        None => *text = new_text.to_string(),
        Some(r) => {
            let index = LineIndex::new(text);
            let t = Text {
                text,
                index: &index,
            };
            let (start, end) = (t.offset(r.start), t.offset(r.end));
            let (start, end) = (start.min(end), start.max(end));
            let (start, end) = (floor_char(text, start), floor_char(text, end));
            text.replace_range(start..end, new_text);
        }
    }
}

fn floor_char(text: &str, mut at: usize) -> usize {
    while at > 0 && !text.is_char_boundary(at) {
        at -= 1;
    }
    at
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utf16_edits_land_on_the_right_bytes() {
        let mut text = "let a = \"é😀x\"\nlet b = 1\n".to_string();
        // replace `x` (after é (1 UTF-16 unit) and 😀 (2 units)) on line 0
        let r = Range {
            start: Position {
                line: 0,
                character: 12,
            },
            end: Position {
                line: 0,
                character: 13,
            },
        };
        apply_change(&mut text, Some(r), "y");
        assert_eq!(text, "let a = \"é😀y\"\nlet b = 1\n");
        apply_change(
            &mut text,
            Some(Range {
                start: Position {
                    line: 1,
                    character: 8,
                },
                end: Position {
                    line: 1,
                    character: 9,
                },
            }),
            "22",
        );
        assert_eq!(text, "let a = \"é😀y\"\nlet b = 22\n");
    }
}
