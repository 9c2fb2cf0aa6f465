//! Moving the spans of a value to another origin and back.
//!
//! The database checks each job and pipeline in a query of its own. Its input has its
//! spans made relative to where the job starts, so that an edit above the job (which
//! moves every byte offset after it) leaves the input equal and salsa does not re-run
//! the check; the check's diagnostics are moved back to absolute offsets afterwards.

use crate::{Diagnostic, Edit, FileId, FileRange, Fix, Label};

/// A value holding spans, every one of which [`Ranges::each_range`] visits.
pub trait Ranges {
    fn each_range(&mut self, f: &mut dyn FnMut(&mut FileRange));
}

/// Marks an offset as relative to the base. Files are far smaller than 2 GiB (the CLI
/// refuses files over 16 MiB), so the top bit is free.
const RELATIVE: u32 = 1 << 31;

/// Makes the spans in `file` that start at or after `base` relative to it; spans before
/// `base` and in other files stay as they are.
///
/// An edit above `base` moves every later offset by the same amount, so the relative
/// spans stay equal; what lies above (imports, lets, templates, the pipeline's header)
/// did not move unless the edit was before it.
pub fn to_relative(value: &mut impl Ranges, file: FileId, base: u32) {
    value.each_range(&mut |r| {
        if r.file == file && r.range.start >= base {
            r.range.start = (r.range.start - base) | RELATIVE;
            r.range.end = (r.range.end - base) | RELATIVE;
        }
    });
}

/// Undoes [`to_relative`] for the same `base`.
pub fn to_absolute(value: &mut impl Ranges, file: FileId, base: u32) {
    let restore = |offset: u32| {
        if offset & RELATIVE != 0 {
            (offset & !RELATIVE) + base
        } else {
            offset
        }
    };
    value.each_range(&mut |r| {
        if r.file == file {
            r.range.start = restore(r.range.start);
            r.range.end = restore(r.range.end);
        }
    });
}

impl Ranges for FileRange {
    fn each_range(&mut self, f: &mut dyn FnMut(&mut FileRange)) {
        f(self)
    }
}

impl<T: Ranges> Ranges for Option<T> {
    fn each_range(&mut self, f: &mut dyn FnMut(&mut FileRange)) {
        if let Some(x) = self {
            x.each_range(f)
        }
    }
}

impl<T: Ranges> Ranges for Vec<T> {
    fn each_range(&mut self, f: &mut dyn FnMut(&mut FileRange)) {
        for x in self {
            x.each_range(f)
        }
    }
}

impl<A: Ranges, B: Ranges> Ranges for (A, B) {
    fn each_range(&mut self, f: &mut dyn FnMut(&mut FileRange)) {
        self.0.each_range(f);
        self.1.each_range(f);
    }
}

impl Ranges for String {
    fn each_range(&mut self, _: &mut dyn FnMut(&mut FileRange)) {}
}

impl Ranges for Label {
    fn each_range(&mut self, f: &mut dyn FnMut(&mut FileRange)) {
        self.at.each_range(f)
    }
}

impl Ranges for Edit {
    fn each_range(&mut self, f: &mut dyn FnMut(&mut FileRange)) {
        self.at.each_range(f)
    }
}

impl Ranges for Fix {
    fn each_range(&mut self, f: &mut dyn FnMut(&mut FileRange)) {
        self.edits.each_range(f)
    }
}

impl Ranges for Diagnostic {
    fn each_range(&mut self, f: &mut dyn FnMut(&mut FileRange)) {
        self.primary.each_range(f);
        self.secondary.each_range(f);
        self.fixes.each_range(f);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::TextRange;

    #[test]
    fn spans_before_the_base_survive_the_round_trip() {
        let file = FileId(3);
        let other = FileId(4);
        let mut d = Diagnostic::error(
            crate::Code::PL0001,
            FileRange {
                file,
                range: TextRange::new(5, 9),
            },
            "m",
        )
        .with_secondary(
            FileRange {
                file,
                range: TextRange::new(100, 120),
            },
            "s",
        )
        .with_secondary(
            FileRange {
                file: other,
                range: TextRange::new(1, 2),
            },
            "o",
        );
        let original = d.clone();
        to_relative(&mut d, file, 50);
        assert_eq!(d.primary.at.range, TextRange::new(5, 9), "spans above stay");
        let mut moved = d.clone();
        to_absolute(&mut moved, file, 80);
        assert_eq!(moved.secondary[0].at.range, TextRange::new(130, 150));
        assert_eq!(
            d.secondary[1].at.range,
            TextRange::new(1, 2),
            "other files stay"
        );
        to_absolute(&mut d, file, 50);
        assert_eq!(d, original);
    }
}
