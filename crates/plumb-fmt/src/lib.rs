//! `plumb fmt`: one canonical layout for Plumb sources.
//!
//! - Two-space indentation; one item, member or field per line.
//! - A body or record that holds at most three fields and no comment stays on one line
//!   when it fits: `{ image = go, run = ["make"] }`. A job's or template's body fits in
//!   80 columns, a record value in 100 (the width lists use).
//! - A stage that holds one job only, a job on several lines, opens it on its own line
//!   and closes both on one: `stage deploy { job deploy {` … `} }` (nested namespaces
//!   are often written so), unless a comment stands between the two openings or the
//!   two closings, or a `# plumb-allow:` above the stage would then cover the job's
//!   line too. A one-line job goes on the stage's line when the whole fits in 80
//!   columns: `stage test { job unit { run = ["make test"] } }` (a comment that ended
//!   the job's line then ends the stage's).
//! - A job or template whose only field is a list or record on several lines opens it
//!   on the job's line and closes both on one: `job test { run = [` … `] }`; so does a
//!   record value of one entry (`gitlab = { release = {` … `} }`). A comment
//!   ending the `{` line then ends the `[` line; other comments that would have to
//!   move keep the body's lines (`Printer::hug_comment_of` says which).
//! - On the lines a `# plumb-allow:` covers, where the layout would change what the
//!   allowance covers, blocks open and close as the source has them (a stage's lone
//!   job on the stage's line or not, a body, record or list on one line or several);
//!   the rest of the file is formatted as usual.
//! - In a multi-line body the `=` of the fields are aligned.
//! - Lists stay on one line when they fit in 100 columns. Otherwise a list of short
//!   literals and names (at most 40 columns each: arguments, tags, job names) fills its
//!   lines up to 100 columns, each line ending in a comma, and any other list (one that
//!   holds records or comments, the scripts `run`, `before_run` and `after_run`, and a
//!   `let`'s list with a space in an item, whose commands read one per line) has one
//!   element per line, each with a trailing comma.
//! - Strings, numbers, durations and sizes are kept verbatim. So are a block string's
//!   lines, moved only as far as the line it opens on moved: the common indentation the
//!   lexer removes moves with them, and the value stays the same.
//! - Every comment is kept: on its own line before the node it preceded, or at the end
//!   of the line it ended. One blank line between items or fields is kept where the
//!   source had one or more.
//!
//! A file with syntax errors is refused: the formatter never guesses. So is one whose
//! layout would change what a `# plumb-allow:` comment covers (its own line and the next
//! line with code) even with the source's layout kept there: joining a multi-line job
//! onto the line below the comment would silence the whole job, splitting a long
//! one-line job would unsilence its fields, and `plumb check` would report otherwise.

use plumb_syntax::ast::*;
use plumb_syntax::{Comment, TextRange};

/// Lines longer than this are broken (lists, records).
const WIDTH: usize = 100;
/// A job's or template's body is kept on one line only when that line is at most this
/// long, and holds at most [`SHORT_BODY_FIELDS`] fields (a record value: at most
/// [`RECORD_WIDTH`] long, and as many fields).
pub const SHORT_BODY: usize = 80;
/// The longest line a record value is kept on: the width lists use too.
pub const RECORD_WIDTH: usize = WIDTH;
pub const SHORT_BODY_FIELDS: usize = 3;
/// The longest item of a list that fills its lines.
const FILLED_ITEM: usize = 40;
/// The fields whose lists are scripts, one command per line.
const SCRIPT_FIELDS: [&str; 3] = ["run", "before_run", "after_run"];

/// Why a file cannot be formatted.
#[derive(Debug, PartialEq, Eq)]
pub enum FormatError {
    /// This many syntax errors.
    SyntaxErrors(usize),
    /// The canonical layout would change which tokens the `# plumb-allow:` comment on
    /// this 1-based line covers.
    MovesAllowance { line: usize },
}

/// The formatted text of a source file.
pub fn format(src: &str) -> Result<String, FormatError> {
    let formatted = format_program(src)?;
    // a byte order mark stays: the editor that wrote it expects it
    let bom = plumb_syntax::lexer::BOM;
    Ok(match src.starts_with(bom) {
        true => format!("{bom}{formatted}"),
        false => formatted,
    })
}

fn format_program(src: &str) -> Result<String, FormatError> {
    let parse = plumb_syntax::parse(src);
    if !parse.errors.is_empty() {
        return Err(FormatError::SyntaxErrors(parse.errors.len()));
    }
    let before = allow_coverage(src);
    // the source lines (byte ranges) that keep the source's layout
    let print = |keep_apart: &[std::ops::Range<usize>]| {
        let mut p = Printer::new(src, &parse.comments, keep_apart);
        p.out.reserve(src.len() + 64);
        p.file(&parse.tree);
        let after = allow_coverage(&p.out);
        // the allowance's own line may move (lines above it join or split): what it
        // covers may not
        let moved =
            |k: &usize| before.get(*k).map(|a| &a.covers) != after.get(*k).map(|a| &a.covers);
        match (0..before.len()).find(moved) {
            Some(k) => Err(k),
            None => Ok(p.out),
        }
    };
    // a stage's job on the stage's line, or a job's field on the job's, would be covered
    // by a `# plumb-allow:` above them: the lines an allowance covers keep the source's
    // layout (which blocks open or close on one line), and the rest of the file is
    // formatted again (once per allowance, at most [`MAX_REFORMATS`] times; then the
    // lines of every allowance keep theirs, and last the whole file does)
    let mut keep_apart = Vec::new();
    for _ in 0..=before.len().min(MAX_REFORMATS) {
        match print(&keep_apart) {
            Err(k) if !before[k].lines.iter().all(|l| keep_apart.contains(l)) => {
                keep_apart.extend(before[k].lines.iter().cloned());
                sort_lines(&mut keep_apart);
            }
            Err(_) => break,
            printed => return printed.map_err(|k| before[k].moved()),
        }
    }
    let mut every_allowance: Vec<_> = before.iter().flat_map(|a| a.lines.clone()).collect();
    sort_lines(&mut every_allowance);
    if let Ok(out) = print(&every_allowance) {
        return Ok(out);
    }
    let whole_file = std::iter::once(0..src.len()).collect::<Vec<_>>();
    print(&whole_file).map_err(|k| before[k].moved())
}

/// Line ranges in order, each once (what `Printer::source_joins` searches).
fn sort_lines(lines: &mut Vec<std::ops::Range<usize>>) {
    lines.sort_by_key(|r| (r.start, r.end));
    lines.dedup();
}

/// How many times a file is formatted again, each time with the blocks an allowance
/// covers kept as the source writes them, before every allowance's lines are.
const MAX_REFORMATS: usize = 16;

/// A `# plumb-allow:` comment of a source file.
struct Allowance {
    /// Its 0-based line.
    line: usize,
    /// The byte ranges of the lines it covers: its own, and the next line that is
    /// neither blank nor only a comment (as `plumb-checks`' suppression reads it).
    lines: Vec<std::ops::Range<usize>>,
    /// The program's tokens (by their index among the tokens that are not commas,
    /// which the formatter may add or drop) that touch those lines.
    covers: Vec<usize>,
}

impl Allowance {
    fn moved(&self) -> FormatError {
        FormatError::MovesAllowance {
            line: self.line + 1,
        }
    }
}

/// The `# plumb-allow:` comments of a source file, in order.
fn allow_coverage(src: &str) -> Vec<Allowance> {
    let lexed = plumb_syntax::lexer::lex(src);
    let line_starts: Vec<usize> = std::iter::once(0)
        .chain(src.match_indices('\n').map(|(i, _)| i + 1))
        .collect();
    let line_of = |pos: usize| line_starts.partition_point(|s| *s <= pos) - 1;
    let line_text = |line: usize| {
        let end = line_starts.get(line + 1).map_or(src.len(), |e| e - 1);
        &src[line_starts[line]..end]
    };
    let comment_only: std::collections::HashSet<usize> = lexed
        .comments
        .iter()
        .map(|c| c.range.start as usize)
        .filter(|start| src[line_starts[line_of(*start)]..*start].trim().is_empty())
        .map(line_of)
        .collect();
    let tokens: Vec<(usize, usize)> = lexed
        .tokens
        .iter()
        .filter(|(t, _)| *t != plumb_syntax::token::Token::Comma)
        .map(|(_, r)| {
            (
                line_of(r.start as usize),
                line_of((r.end as usize).max(1) - 1),
            )
        })
        .collect();
    let mut out = Vec::new();
    for c in &lexed.comments {
        if !c.text.trim_start().starts_with("plumb-allow") {
            continue;
        }
        let own = line_of(c.range.start as usize);
        let mut next = own + 1;
        while next < line_starts.len()
            && (comment_only.contains(&next) || line_text(next).trim().is_empty())
        {
            next += 1;
        }
        // tokens are in order and do not overlap: those touching a line are a run
        let touching = |line: usize| {
            tokens.partition_point(|t| t.1 < line)..tokens.partition_point(|t| t.0 <= line)
        };
        let (on_own, on_next) = (touching(own), touching(next));
        let covered = on_own
            .clone()
            .chain(on_next.start.max(on_own.end)..on_next.end)
            .collect();
        let line_range = |line: usize| {
            let end = line_starts.get(line + 1).copied().unwrap_or(src.len());
            line_starts.get(line).copied().unwrap_or(src.len())..end
        };
        out.push(Allowance {
            line: own,
            lines: vec![line_range(own), line_range(next)],
            covers: covered,
        });
    }
    out
}

struct Printer<'a> {
    src: &'a str,
    comments: &'a [Comment],
    next_comment: usize,
    out: String,
    indent: usize,
    /// Whether a list that does not fit on one line may fill its lines (a field that is
    /// not a script: one command per line reads as the script it is).
    fill: bool,
    /// The source lines a `# plumb-allow:` covers where the formatted layout changed
    /// what it covers: a block that opens or closes on them opens and closes as the
    /// source has it (a stage's lone job on the stage's line, a body's only value on
    /// its line, a body, record or list on one line).
    keep_apart: &'a [std::ops::Range<usize>],
    /// The comment that ended the line of a job's `{`, to end the line of its only
    /// field's opening bracket instead ([`Printer::hugged`]).
    hug_comment: Option<usize>,
    /// Measuring a node on one line only ([`Printer::flat`]).
    flat: bool,
}

fn prec(e: &Expr) -> u8 {
    match &e.kind {
        ExprKind::Binary(BinOp::Or, ..) => 1,
        ExprKind::Binary(BinOp::And, ..) => 2,
        ExprKind::Binary(..) => 3,
        ExprKind::Not(_) => 4,
        _ => 5,
    }
}

impl<'a> Printer<'a> {
    /// A printer without comments, for measuring how a node prints at this indentation:
    /// its line starts indented, so that widths are counted from the line's start.
    fn measure(&self, indent: usize) -> Printer<'a> {
        Printer {
            out: "  ".repeat(indent),
            indent,
            fill: self.fill,
            ..Printer::new(self.src, &[], self.keep_apart)
        }
    }

    /// A printer at the start of `src`, whose comments are `comments`.
    fn new(
        src: &'a str,
        comments: &'a [Comment],
        keep_apart: &'a [std::ops::Range<usize>],
    ) -> Printer<'a> {
        Printer {
            src,
            comments,
            next_comment: 0,
            out: String::new(),
            indent: 0,
            fill: false,
            keep_apart,
            hug_comment: None,
            flat: false,
        }
    }

    /// A printer that writes a node on one line only, to see whether it fits: where the
    /// node takes several lines whatever the room (more fields than a one-line body
    /// holds, a line break in a string) it writes a line break and stops, and past
    /// [`WIDTH`] columns it stops too, as no one-line layout is wider (it holds no
    /// comments: whoever measures asks about those). Each
    /// node is then measured once per enclosing node that tries one line, not once per
    /// layout of each: time grows with nesting depth, not exponentially.
    fn flat(&self) -> Printer<'a> {
        Printer {
            flat: true,
            ..self.measure(0)
        }
    }

    /// Whether the source from `joined.start` to `joined.end` may be printed on one
    /// line: anywhere but on the lines of `keep_apart`, where only what the source has
    /// on one line already is.
    fn compacts(&self, joined: std::ops::Range<usize>) -> bool {
        self.source_joins(joined).unwrap_or(true)
    }

    /// On the lines of `keep_apart`: whether the source has `joined` on one line.
    /// Elsewhere the layout is the formatter's to choose: `None`.
    fn source_joins(&self, joined: std::ops::Range<usize>) -> Option<bool> {
        // the ranges are sorted lines, apart: the first that ends after `joined` starts
        // is the one that may touch it
        let first = self.keep_apart.partition_point(|r| r.end <= joined.start);
        let kept = self
            .keep_apart
            .get(first)
            .is_some_and(|r| r.start <= joined.end);
        kept.then(|| !self.src.get(joined).is_some_and(|t| t.contains('\n')))
    }

    /// Whether a flat printer has stopped (its text is at most [`WIDTH`] characters and
    /// a token long: looking for the line break is cheap).
    fn gave_up(&self) -> bool {
        self.flat
            && (self.out.contains('\n') || self.out.len() > WIDTH && columns(&self.out) > WIDTH)
    }

    /// The column the output's last line ends at.
    fn column(&self) -> usize {
        columns(self.out.rsplit('\n').next().unwrap_or(""))
    }

    /// Stops a flat printer: what it measures takes several lines.
    fn give_up(&mut self) {
        self.out.push('\n');
    }

    fn text(&self, r: TextRange) -> &'a str {
        &self.src[r.as_range()]
    }

    fn newline(&mut self) {
        while self.out.ends_with(' ') {
            self.out.pop();
        }
        self.out.push('\n');
        for _ in 0..self.indent {
            self.out.push_str("  ");
        }
    }

    /// Ends the current line (if it has content) and starts a new one at the indent.
    fn line(&mut self) {
        let current = self.out.rsplit('\n').next().unwrap_or("");
        if !current.trim().is_empty() {
            self.newline();
        } else {
            // re-indent an empty line
            let keep = self.out.len() - current.len();
            self.out.truncate(keep);
            for _ in 0..self.indent {
                self.out.push_str("  ");
            }
        }
    }

    fn blank_line(&mut self) {
        self.line();
        let current_len = self.out.rsplit('\n').next().map_or(0, str::len);
        let keep = self.out.len() - current_len;
        self.out.truncate(keep);
        if !self.out.ends_with("\n\n") && !self.out.is_empty() {
            self.out.push('\n');
        }
        for _ in 0..self.indent {
            self.out.push_str("  ");
        }
    }

    /// Whether the source has a blank line between `a` and `b`.
    fn blank_between(&self, a: usize, b: usize) -> bool {
        let between = &self.src[a.min(b)..b];
        between.split('\n').skip(1).collect::<Vec<_>>().len() >= 2
            && between
                .split('\n')
                .skip(1)
                .take_while(|_| true)
                .any(|l| l.trim().is_empty())
    }

    fn has_comment_in(&self, r: TextRange) -> bool {
        // in source order: the first at or after `r.start` decides
        let rest = &self.comments[self.next_comment..];
        let first = rest.partition_point(|c| c.range.start < r.start);
        rest.get(first).is_some_and(|c| c.range.start < r.end)
    }

    /// A comment that ends the line of the code before it (`last_end`) stays at the
    /// end of that line.
    fn trailing_comment(&mut self, last_end: usize, pos: usize) {
        if let Some(c) = self.comments.get(self.next_comment) {
            let start = c.range.start as usize;
            if start < pos
                && last_end > 0
                && start >= last_end
                && !self.src[last_end..start].contains('\n')
            {
                self.next_comment += 1;
                while self.out.ends_with(' ') {
                    self.out.pop();
                }
                self.out.push_str("  #");
                self.out.push_str(c.text.trim_end());
            }
        }
    }

    /// The comments on their own lines before `pos`, printed from the current (empty)
    /// line on; blank lines between them are kept, and the node follows right after.
    fn leading_comments(&mut self, pos: usize) {
        let mut prev: Option<usize> = None;
        while let Some(c) = self.comments.get(self.next_comment) {
            if c.range.start as usize >= pos {
                break;
            }
            self.next_comment += 1;
            if let Some(prev_end) = prev {
                if self.blank_between(prev_end, c.range.start as usize) {
                    self.blank_line();
                } else {
                    self.line();
                }
            }
            self.out.push('#');
            self.out.push_str(c.text.trim_end());
            prev = Some(c.range.end as usize);
        }
        if let Some(prev_end) = prev {
            if pos <= self.src.len() && self.blank_between(prev_end, pos) {
                self.blank_line();
            } else {
                self.line();
            }
        }
    }

    /// Everything between the previous node (ending at `last_end`) and the next one (at
    /// `pos`): a trailing comment, the separator (`blank`: a blank line), the leading
    /// comments.
    fn between(&mut self, last_end: usize, pos: usize, blank: bool) {
        self.trailing_comment(last_end, pos);
        if blank {
            self.blank_line();
        } else {
            self.line();
        }
        self.leading_comments(pos);
    }

    /// Before a closing bracket: a trailing comment, then comments on their own lines.
    fn closing(&mut self, last_end: usize, end: usize) {
        self.trailing_comment(last_end, end);
        if self
            .comments
            .get(self.next_comment)
            .is_some_and(|c| (c.range.start as usize) < end)
        {
            self.line();
            self.leading_comments(end);
        }
    }

    fn file(&mut self, f: &SourceFile) {
        let mut last_end = 0usize;
        for (i, item) in f.items.iter().enumerate() {
            let start = item.range().start as usize;
            if i == 0 {
                self.leading_comments(start);
            } else {
                let separate = !matches!(
                    (&f.items[i - 1], item),
                    (Item::Import(_), Item::Import(_))
                        | (Item::Let(_), Item::Let(_))
                        | (Item::Secret(_), Item::Secret(_))
                );
                let blank = separate
                    || self.blank_between(last_end, self.first_comment_or(start, last_end));
                self.between(last_end, start, blank);
            }
            self.item(item);
            last_end = item.range().end as usize;
        }
        if f.items.is_empty() {
            self.leading_comments(self.src.len() + 1);
        } else {
            self.trailing_comment(last_end, self.src.len() + 1);
            if self.next_comment < self.comments.len() {
                let next = self.comments[self.next_comment].range.start as usize;
                if self.blank_between(last_end, next) {
                    self.blank_line();
                } else {
                    self.line();
                }
                self.leading_comments(self.src.len() + 1);
            }
        }
        while self.out.ends_with(' ') || self.out.ends_with('\n') {
            self.out.pop();
        }
        if !self.out.is_empty() {
            self.out.push('\n');
        }
        while self.out.starts_with('\n') {
            self.out.remove(0);
        }
    }

    /// Where the next node's leading comments start (or the node itself), to see
    /// whether the source set it apart with a blank line.
    fn first_comment_or(&self, pos: usize, last_end: usize) -> usize {
        // the comments are in source order: those before `pos` are a prefix (looking
        // past them made formatting quadratic in the number of comments)
        self.comments[self.next_comment..]
            .iter()
            .take_while(|c| (c.range.start as usize) < pos)
            .find(|c| {
                let start = c.range.start as usize;
                // a comment left inside the previous node counts as its own line
                start < last_end || self.src[last_end..start].contains('\n')
            })
            .map_or(pos, |c| c.range.start as usize)
    }

    fn item(&mut self, item: &Item) {
        match item {
            Item::Import(i) => {
                self.out.push_str("import ");
                self.out.push_str(self.text(i.path_range));
                if let Some(a) = &i.alias {
                    self.out.push_str(" as ");
                    self.out.push_str(&a.text);
                }
            }
            Item::Let(l) => self.let_(l),
            Item::Secret(s) => {
                self.out
                    .push_str(&format!("secret {} = {}(", s.name.text, s.source.text));
                self.args(&s.args);
                self.out.push(')');
            }
            Item::Template(t) => {
                self.out.push_str(&format!("template {}(", t.name.text));
                for (i, p) in t.params.iter().enumerate() {
                    if i > 0 {
                        self.out.push_str(", ");
                    }
                    self.out
                        .push_str(&format!("{}: {}", p.name.text, type_text(&p.ty)));
                    if let Some(d) = &p.default {
                        self.out.push_str(" = ");
                        self.expr(d, 0);
                    }
                }
                self.out.push(')');
                self.bases(&t.bases);
                self.out.push(' ');
                self.block_body(&t.body.fields, t.body.range, SHORT_BODY);
            }
            Item::Pipeline(p) => self.pipeline(p),
        }
    }

    fn let_(&mut self, l: &Let) {
        self.out.push_str("let ");
        self.out.push_str(&l.name.text);
        if let Some(t) = &l.ty {
            self.out.push_str(": ");
            self.out.push_str(&type_text(t));
        }
        self.out.push_str(" = ");
        // a `let` may hold commands that a `run` uses, one per line as in a script; a
        // list of words (arguments, paths, names) is not one
        let words = match &l.value.kind {
            ExprKind::List(items) => items.iter().all(|i| !self.text(i.range).contains(' ')),
            _ => true,
        };
        let outer = std::mem::replace(&mut self.fill, words);
        self.expr(&l.value, 0);
        self.fill = outer;
    }

    fn pipeline(&mut self, p: &Pipeline) {
        self.out.push_str(&format!("pipeline {} {{", p.name.text));
        enum Member<'m> {
            Field(&'m Field),
            Let(&'m Let),
            Stage(&'m Stage),
        }
        let mut members: Vec<(usize, Member)> = Vec::new();
        members.extend(
            p.fields
                .iter()
                .map(|f| (f.range.start as usize, Member::Field(f))),
        );
        members.extend(
            p.lets
                .iter()
                .map(|l| (l.range.start as usize, Member::Let(l))),
        );
        members.extend(
            p.stages
                .iter()
                .map(|s| (s.range.start as usize, Member::Stage(s))),
        );
        members.sort_by_key(|m| m.0);
        self.indent += 1;
        let fields: Vec<&Field> = p.fields.iter().collect();
        let width = self.key_width(&fields);
        let mut last_end = p.name.range.end as usize;
        let mut prev_was_stage = false;
        for (i, (start, m)) in members.iter().enumerate() {
            let is_stage = matches!(m, Member::Stage(_));
            let blank = i > 0
                && (is_stage
                    || prev_was_stage
                    || self.blank_between(last_end, self.first_comment_or(*start, last_end)));
            self.between(last_end, *start, blank);
            match m {
                Member::Field(f) => self.field(f, width),
                Member::Let(l) => self.let_(l),
                Member::Stage(s) => self.stage(s),
            }
            last_end = match m {
                Member::Field(f) => f.range.end as usize,
                Member::Let(l) => l.range.end as usize,
                Member::Stage(s) => s.range.end as usize,
            };
            prev_was_stage = is_stage;
        }
        self.closing(last_end, p.range.end as usize);
        self.indent -= 1;
        self.line();
        self.out.push('}');
    }

    /// `stage NAME after A, B {`.
    fn stage_header(&mut self, s: &Stage) {
        self.out.push_str(&format!("stage {}", s.name.text));
        if !s.after.is_empty() {
            let names: Vec<&str> = s.after.iter().map(|n| n.text.as_str()).collect();
            self.out.push_str(&format!(" after {}", names.join(", ")));
        }
        self.out.push_str(" {");
    }

    fn stage(&mut self, s: &Stage) {
        self.stage_header(s);
        if let Some(job) = self.lone_job(s) {
            self.out.push(' ');
            self.job(job);
            self.out.push_str(" }");
            // a comment that ended the one-line job's line ends the stage's
            self.trailing_comment(job.range.end as usize, s.range.end as usize);
            return;
        }
        // a stage of no job and no comment (one an included file's jobs are in) is `{}`
        if s.jobs.is_empty() && s.fields.is_empty() && !self.has_comment_in(s.range) {
            self.out.push('}');
            return;
        }
        let mut members: Vec<(usize, Result<&Field, &Job>)> = Vec::new();
        members.extend(s.fields.iter().map(|f| (f.range.start as usize, Ok(f))));
        members.extend(s.jobs.iter().map(|j| (j.range.start as usize, Err(j))));
        members.sort_by_key(|m| m.0);
        self.indent += 1;
        let fields: Vec<&Field> = s.fields.iter().collect();
        let width = self.key_width(&fields);
        let mut last_end = s.name.range.end as usize;
        // jobs that take several lines are set apart by a blank line (decided on the
        // printed text, so that formatting twice changes nothing)
        let mut prev_multiline = false;
        for (i, (start, m)) in members.iter().enumerate() {
            let multiline = matches!(m, Err(j) if self.printed_multiline(j));
            let blank = i > 0
                && (multiline
                    || prev_multiline
                    || self.blank_between(last_end, self.first_comment_or(*start, last_end)));
            self.between(last_end, *start, blank);
            prev_multiline = multiline;
            match m {
                Ok(f) => {
                    self.field(f, width);
                    last_end = f.range.end as usize;
                }
                Err(j) => {
                    self.job(j);
                    last_end = j.range.end as usize;
                }
            }
        }
        self.closing(last_end, s.range.end as usize);
        self.indent -= 1;
        self.line();
        self.out.push('}');
    }

    /// The job of a stage that holds only it, when it prints on several lines and no
    /// comment sits between the two openings or the two closings: the stage is then
    /// written `stage NAME { job NAME {` … `} }`, the way nested namespaces often are,
    /// and saves the two lines a block of its own would take. A one-line job shares
    /// the stage's line when `stage NAME { job NAME { … } }` fits in [`SHORT_BODY`]
    /// columns, and only a comment ending the job's line stands in the stage.
    fn lone_job<'s>(&self, s: &'s Stage) -> Option<&'s Job> {
        let [job] = s.jobs.as_slice() else {
            return None;
        };
        let (job_start, job_end) = (job.range.start as usize, job.range.end as usize);
        let opening = s.name.range.end as usize..job_start;
        let closing = job_end.saturating_sub(1)..s.range.end as usize;
        let source = [
            self.source_joins(opening.clone()),
            self.source_joins(closing),
        ];
        if source.contains(&Some(false)) || !s.fields.is_empty() {
            return None;
        }
        // no comment between the closings: one ending the job's line would share the
        // `} }` line with one ending the stage's, and two comments on a line are one
        let closing_clean = !self.comments[self.next_comment..]
            .iter()
            .any(|c| c.range.start as usize >= job_end && c.range.start < s.range.end);
        let opening_clean = !self.has_comment_in(TextRange::new(opening.start, opening.end));
        let clean = closing_clean && opening_clean;
        // on an allowance's lines, as the source writes it; elsewhere measured where a
        // block stage would print it: further right, on the stage's line, it is on
        // several lines all the more
        let multiline = source.contains(&Some(true))
            || self.printed_multiline_at(job, self.indent + 1, job.body.range);
        if multiline {
            return clean.then_some(job);
        }
        // a one-line job: on the stage's line when the whole fits in a short body's
        // width, a comment that ends the job's line then ending the stage's (none in
        // the job's header, which would have to leave the stage)
        let header = TextRange::new(job.range.start as usize, job.body.range.start as usize);
        let one_line = opening_clean
            && !self.has_comment_in(header)
            && self.at_most_one_line_end_comment(job_end, s.range.end as usize)
            && self.fits_on_the_stage_line(s, job);
        one_line.then_some(job)
    }

    /// Whether the comments from `from` to the end of the line `to` (a stage's `}`) is
    /// on are at most one, on the line `from` is on: joined, the two lines are one, and
    /// two comments on a line would read as one.
    fn at_most_one_line_end_comment(&self, from: usize, to: usize) -> bool {
        // up to the next code after the stage's `}` (an enclosing `}` on its line keeps
        // its own comment)
        let after = &self.src[to..];
        let line = &after[..after.find('\n').unwrap_or(after.len())];
        let code = line.trim_start();
        let line_end = match code.starts_with('#') || code.is_empty() {
            true => to + line.len(),
            false => to + (line.len() - code.len()),
        };
        let mut inside = (self.comments[self.next_comment..].iter())
            .filter(|c| c.range.start as usize >= from && (c.range.start as usize) < line_end);
        match (inside.next(), inside.next()) {
            (None, _) => true,
            (Some(c), None) => {
                let start = c.range.start as usize;
                // on the job's line, or after the stage's `}`
                start >= to || !self.src[from..start].contains('\n')
            }
            (Some(_), Some(_)) => false,
        }
    }

    /// Whether `stage NAME { job NAME { … } }` prints on one line of at most
    /// [`SHORT_BODY`] columns.
    fn fits_on_the_stage_line(&self, s: &Stage, job: &Job) -> bool {
        let mut line = self.measure(self.indent);
        line.stage_header(s);
        line.out.push(' ');
        line.job(job);
        line.out.push_str(" }");
        !line.out.contains('\n') && line.out.chars().count() <= SHORT_BODY
    }

    /// Whether a job prints on several lines among a stage's members.
    fn printed_multiline(&self, j: &Job) -> bool {
        self.printed_multiline_at(j, self.indent, j.range)
    }

    /// Whether a job printed at this indentation takes several lines: it is too long,
    /// or a comment in `comments_in` opens its body. (A stage's lone job asks about its
    /// body's comments only: one in its header prints after a one-line job, so the
    /// answer stays the same once formatted.)
    fn printed_multiline_at(&self, j: &Job, indent: usize, comments_in: TextRange) -> bool {
        let mut sub = self.measure(indent);
        sub.job(j);
        sub.out.contains('\n') || self.has_comment_in(comments_in)
    }

    fn job(&mut self, j: &Job) {
        self.out.push_str(&format!("job {}", j.name.text));
        self.bases(&j.bases);
        self.out.push(' ');
        self.block_body(&j.body.fields, j.body.range, SHORT_BODY);
    }

    /// ` from a(…), x.b(…)`, or nothing.
    fn bases(&mut self, bases: &[Instantiation]) {
        for (i, inst) in bases.iter().enumerate() {
            self.out.push_str(if i == 0 { " from " } else { ", " });
            if let Some(q) = &inst.qualifier {
                self.out.push_str(&q.text);
                self.out.push('.');
            }
            self.out.push_str(&inst.template.text);
            self.out.push('(');
            self.args(&inst.args);
            self.out.push(')');
        }
    }

    fn args(&mut self, args: &[Arg]) {
        for (i, a) in args.iter().enumerate() {
            if i > 0 {
                self.out.push_str(", ");
            }
            if let Some(n) = &a.name {
                self.out.push_str(&n.text);
                self.out.push_str(" = ");
            }
            self.expr(&a.value, 0);
        }
    }

    /// A job's, template's or record's body: as [`Printer::body`] says (on one line
    /// when it fits in `width`), or [`Printer::hugged`].
    fn block_body(&mut self, fields: &[Field], range: TextRange, width: usize) {
        if !self.hugged(fields, range) {
            self.body(fields, range, width);
        }
    }

    /// A body whose only field is a list or record on several lines opens it on the
    /// body's line and closes both on one: `job test { run = [` … `] }` (the list's
    /// items one level under the job's line), as `{ run = [` reads in most languages.
    /// Only for a value that takes several lines on a line of its own too (one that
    /// fits there would take more lines opened further right), and not when a comment
    /// would be moved out of its place (see [`Printer::hug_comment_of`]), nor on a line
    /// an allowance covers (see `keep_apart`).
    fn hugged(&mut self, fields: &[Field], range: TextRange) -> bool {
        let [field] = fields else {
            return false;
        };
        let value = &field.value;
        let bracketed = matches!(value.kind, ExprKind::List(_) | ExprKind::Record(_));
        let opening = range.start as usize..value.range.start as usize;
        let closing = (value.range.end as usize).saturating_sub(1)..range.end as usize;
        let source_apart = !self.compacts(opening) || !self.compacts(closing);
        if source_apart || self.flat || !bracketed || self.written_parens(value) {
            return false;
        }
        let mut own_line = self.measure(self.indent + 1);
        own_line.field(field, 0);
        let several_anyway = own_line.out.contains('\n') || self.has_comment_in(value.range);
        let Some(hug_comment) = several_anyway
            .then(|| self.hug_comment_of(field, range))
            .flatten()
        else {
            return false;
        };
        let (mark, next_comment, fill) = (self.out.len(), self.next_comment, self.fill);
        let enclosing_hug_comment = self.hug_comment;
        self.hug_comment = hug_comment;
        self.out.push_str("{ ");
        self.field(field, 0);
        self.out.push_str(" }");
        // (a value that takes several lines opens with `open`, which takes the comment)
        let several_lines = self.out[mark..].contains('\n') && self.hug_comment.is_none();
        if !several_lines {
            self.out.truncate(mark);
            self.next_comment = next_comment;
            self.fill = fill;
            self.hug_comment = enclosing_hug_comment;
        }
        several_lines
    }

    /// Whether the comments of a body of one field let its value open on the body's
    /// line, and which one then ends the value's first line: `Some(None)` for none,
    /// `Some(Some(k))` for comment `k`, which ends the `{` line, and `None` when the
    /// comments keep the body on lines of its own: one after the value, one of the
    /// header's (the body's first line would print it), one on its own line before
    /// the key, a `{` line's comment when the value's first line has one already (two
    /// on a line read as one), or one between the key and a list that fills its lines
    /// (a filled list prints no comment: the body's end does).
    fn hug_comment_of(&self, field: &Field, range: TextRange) -> Option<Option<usize>> {
        let value = &field.value;
        let first_pending = self.next_comment;
        let pending_before = |at: u32| {
            (self.comments[first_pending..].iter())
                .take_while(|c| c.range.start < at)
                .count()
        };
        let before_key = pending_before(field.key.range.start);
        let before_value = pending_before(value.range.start);
        let tail = TextRange::new(value.range.end as usize, range.end as usize);
        if self.has_comment_in(tail) || before_key > 1 {
            return None;
        }
        let key = self.text(field.key.range);
        let fills = matches!(&value.kind, ExprKind::List(items)
            if !SCRIPT_FIELDS.contains(&key) && items.iter().all(|e| self.is_one_line_scalar(e)));
        if before_key == 0 {
            let fills = fills && !self.has_comment_in(value.range);
            return (!(fills && before_value > 0)).then_some(None);
        }
        let comment = &self.comments[first_pending];
        let (open, at) = (range.start as usize, comment.range.start as usize);
        // the comment an enclosing hugged body carries ends this opening line too: the
        // two open on one line (formatting again would move it there)
        let carried = self.hug_comment == Some(first_pending);
        let ends_the_open_line = carried || at >= open && !self.src[open..at].contains('\n');
        (ends_the_open_line && !self.value_opens_with_comment(field)).then_some(Some(first_pending))
    }

    /// Whether printing the value would end its first line with a comment of its own: one
    /// before its first member, with no line break between the bracket and it, and
    /// none between the key and the value (that one prints first, on a line of its own).
    fn value_opens_with_comment(&self, field: &Field) -> bool {
        let value = &field.value;
        let first_member = match &value.kind {
            ExprKind::List(items) => items.first().map(|i| i.range.start),
            ExprKind::Record(fields) => fields.first().map(|f| f.range.start),
            _ => None,
        };
        let (start, end) = (value.range.start, first_member.unwrap_or(value.range.end));
        let own = (self.comments[self.next_comment..].iter())
            .find(|c| c.range.start >= field.key.range.start)
            .filter(|c| c.range.start > start && c.range.start < end)
            .is_some_and(|c| !self.src[start as usize..c.range.start as usize].contains('\n'));
        // a record of one entry whose value opens on the record's line (a hug formatted
        // before): that value's first line is the record's
        let nested = match &value.kind {
            ExprKind::Record(fields) => match fields.as_slice() {
                [inner] if matches!(inner.value.kind, ExprKind::List(_) | ExprKind::Record(_)) => {
                    let between = start as usize..inner.value.range.start as usize;
                    !self.src[between].contains('\n') && self.value_opens_with_comment(inner)
                }
                _ => false,
            },
            _ => false,
        };
        own || nested
    }

    /// `[` or `{` opening a value on several lines, and the comment of a hugged body's
    /// `{` line, if any, after it.
    fn open(&mut self, bracket: char) {
        self.out.push(bracket);
        if let Some(k) = self.hug_comment.take() {
            if let Some(c) = self.comments.get(k).filter(|_| self.next_comment == k) {
                self.next_comment += 1;
                self.out.push_str("  #");
                self.out.push_str(c.text.trim_end());
            }
        }
    }

    /// `{ fields }`: on one line when it ends by column `width`, else one aligned field
    /// per line.
    fn body(&mut self, fields: &[Field], range: TextRange, width: usize) {
        if self.flat {
            // widths are the enclosing node's to check: this one's is at most its own
            if fields.len() > SHORT_BODY_FIELDS {
                return self.give_up();
            }
            self.out
                .push_str(if fields.is_empty() { "{ }" } else { "{ " });
            if !fields.is_empty() {
                self.flat_fields(fields);
                self.out.push_str(" }");
            }
            return;
        }
        if fields.is_empty() && !self.has_comment_in(range) {
            self.out.push_str("{ }");
            return;
        }
        // on an allowance's lines, a body the source writes on one line stays as written
        if self.source_joins(range.as_range()) == Some(true) && !self.has_comment_in(range) {
            self.out.push_str(self.text(range));
            return;
        }
        let one_line = self.compacts(range.as_range());
        if fields.len() <= SHORT_BODY_FIELDS && !self.has_comment_in(range) && one_line {
            if let Some(inline) = self.inline_fields(fields) {
                if self.column() + columns(&inline) + 4 <= width {
                    self.out.push_str("{ ");
                    self.out.push_str(&inline);
                    self.out.push_str(" }");
                    return;
                }
            }
        }
        self.open('{');
        self.indent += 1;
        let refs: Vec<&Field> = fields.iter().collect();
        let width = self.key_width(&refs);
        let open = range.start as usize + 1;
        let mut last_end = open;
        for f in fields {
            let start = f.range.start as usize;
            let blank = last_end != open
                && self.blank_between(last_end, self.first_comment_or(start, last_end));
            self.between(last_end, start, blank);
            self.field(f, width);
            last_end = f.range.end as usize;
        }
        self.closing(last_end, range.end as usize);
        self.indent -= 1;
        self.line();
        self.out.push('}');
    }

    /// The fields on one line, if none of them needs several lines.
    fn inline_fields(&self, fields: &[Field]) -> Option<String> {
        let mut sub = self.flat();
        sub.flat_fields(fields);
        (!sub.out.contains('\n')).then_some(sub.out)
    }

    /// `a = 1, b = 2`, in a flat printer.
    fn flat_fields(&mut self, fields: &[Field]) {
        for (i, f) in fields.iter().enumerate() {
            if i > 0 {
                self.out.push_str(", ");
            }
            self.field(f, 0);
            if self.gave_up() {
                return;
            }
        }
    }

    /// `a, b`, in a flat printer.
    fn flat_items(&mut self, items: &[Expr]) {
        for (i, it) in items.iter().enumerate() {
            if i > 0 {
                self.out.push_str(", ");
            }
            self.expr(it, 0);
            if self.gave_up() {
                return;
            }
        }
    }

    /// The widest key as written, for aligning `=`.
    fn key_width(&self, fields: &[&Field]) -> usize {
        fields
            .iter()
            .map(|f| self.text(f.key.range).chars().count())
            .max()
            .unwrap_or(0)
    }

    fn field(&mut self, f: &Field, width: usize) {
        let key = self.text(f.key.range);
        self.out.push_str(key);
        for _ in key.chars().count()..width {
            self.out.push(' ');
        }
        self.out.push_str(" = ");
        let outer = self.fill;
        self.fill = !SCRIPT_FIELDS.contains(&key);
        self.expr(&f.value, 0);
        self.fill = outer;
    }

    fn expr(&mut self, e: &Expr, parent: u8) {
        // parentheses the author wrote are kept; others are added where precedence needs them
        let written = self.written_parens(e);
        let needs_parens = written || prec(e) < parent;
        if needs_parens {
            self.out.push('(');
        }
        match &e.kind {
            ExprKind::Str(_)
            | ExprKind::Int(_)
            | ExprKind::Duration(_)
            | ExprKind::Size(_)
            | ExprKind::Error => {
                let t = self.text(e.range);
                // a parenthesised literal's range holds the parentheses: keep only the literal
                let literal = strip_parens(t);
                if self.flat && literal.contains('\n') {
                    self.give_up();
                } else if literal.starts_with("\"\"\"") {
                    let at = e.range.start as usize + t.find(literal).unwrap_or(0);
                    self.block_string(literal, at);
                } else {
                    self.out.push_str(literal);
                }
            }
            ExprKind::Bool(b) => self.out.push_str(if *b { "true" } else { "false" }),
            ExprKind::Name(n) => self.out.push_str(&n.text),
            ExprKind::Member(base, n) => {
                self.expr(base, 5);
                self.out.push('.');
                self.out.push_str(&n.text);
            }
            ExprKind::Call(callee, args) => {
                self.expr(callee, 5);
                self.out.push('(');
                self.args(args);
                self.out.push(')');
            }
            ExprKind::Binary(op, a, b) => {
                let p = prec(e);
                self.expr(a, p);
                self.out.push_str(&format!(" {} ", op.as_str()));
                // comparisons do not chain, and `||`/`&&` group to the left
                self.expr(b, p + 1);
            }
            ExprKind::Not(inner) => {
                self.out.push('!');
                self.expr(inner, 4);
            }
            ExprKind::List(items) => self.list(items, e.range),
            // a record of one entry on several lines opens it on its line, as a job's
            // body does: `gitlab = { release = {` … `} }`
            ExprKind::Record(fields) => self.block_body(fields, e.range, RECORD_WIDTH),
        }
        if needs_parens {
            self.out.push(')');
        }
    }

    /// A block string whose line moved by some columns: its other lines move as many,
    /// so that they stay under it (the lexer removes their common indentation, which
    /// moves with them: the value is the same). Verbatim when a line would lose text.
    fn block_string(&mut self, literal: &str, at: usize) {
        // the file's other line ends are written `\n`: so are the string's (the lexer
        // reads `\r\n` in a block string as a line end, the value is the same)
        let literal = &literal.replace("\r\n", "\n");
        let line_start = self.src[..at].rfind('\n').map_or(0, |i| i + 1);
        let was =
            self.src[line_start..].len() - self.src[line_start..].trim_start_matches(' ').len();
        let line = self.out.rsplit('\n').next().unwrap_or("");
        let now = line.len() - line.trim_start_matches(' ').len();
        match shift_block_lines(literal, now as isize - was as isize) {
            Some(shifted) => self.out.push_str(&shifted),
            None => self.out.push_str(literal),
        }
    }

    /// Whether the author wrapped this expression in parentheses: its range runs from a
    /// `(` to a `)` that belong to it, not to its first or last operand.
    fn written_parens(&self, e: &Expr) -> bool {
        let b = self.src.as_bytes();
        let (start, end) = (e.range.start as usize, e.range.end as usize);
        if end <= start || b.get(start) != Some(&b'(') || b.get(end - 1) != Some(&b')') {
            return false;
        }
        let (first, last) = match &e.kind {
            ExprKind::Binary(_, l, r) => (Some(l.range), Some(r.range)),
            ExprKind::Member(base, _) | ExprKind::Call(base, _) => (Some(base.range), None),
            ExprKind::Not(inner) => (None, Some(inner.range)),
            _ => (None, None),
        };
        first.is_none_or(|f| f.start as usize != start)
            && last.is_none_or(|l| l.end as usize != end)
            && !matches!(e.kind, ExprKind::Call(..))
    }

    /// Whether an expression is a literal or a name written on one line, and short: what
    /// a filled list holds (long paths or URLs read better one per line).
    fn is_one_line_scalar(&self, e: &Expr) -> bool {
        let scalar = matches!(
            e.kind,
            ExprKind::Str(_)
                | ExprKind::Int(_)
                | ExprKind::Duration(_)
                | ExprKind::Size(_)
                | ExprKind::Bool(_)
                | ExprKind::Name(_)
        );
        let text = self.text(e.range);
        scalar && columns(text) <= FILLED_ITEM && !text.contains('\n')
    }

    /// `[` and the items on as few lines as fit in [`WIDTH`], each line ending in a comma,
    /// then `]` on a line of its own: an argument vector or a list of names reads as one.
    fn filled_list(&mut self, items: &[Expr]) {
        self.open('[');
        self.indent += 1;
        self.line();
        let first_col = self.indent * 2;
        let mut col = first_col;
        for it in items {
            let mut sub = self.flat();
            sub.expr(it, 0);
            // the item, its comma, and the space before it unless it opens the line
            let room = columns(&sub.out) + 1 + usize::from(col > first_col);
            if col > first_col && col + room > WIDTH {
                self.line();
                col = first_col;
            }
            if col > first_col {
                self.out.push(' ');
                col += 1;
            }
            self.out.push_str(&sub.out);
            self.out.push(',');
            col += columns(&sub.out) + 1;
        }
        self.indent -= 1;
        self.line();
        self.out.push(']');
    }

    fn list(&mut self, items: &[Expr], range: TextRange) {
        if items.is_empty() && !self.has_comment_in(range) {
            self.out.push_str("[]");
            return;
        }
        if self.flat {
            self.out.push('[');
            self.flat_items(items);
            self.out.push(']');
            return;
        }
        if !self.has_comment_in(range) && self.compacts(range.as_range()) {
            let mut sub = self.flat();
            sub.flat_items(items);
            if !sub.out.contains('\n') && self.column() + columns(&sub.out) + 2 <= WIDTH {
                self.out.push('[');
                self.out.push_str(&sub.out);
                self.out.push(']');
                return;
            }
        }
        // a hugged body's `{` comment ends the `[` line: the list is then one item per
        // line, as it is once that comment is inside it
        if self.fill
            && self.hug_comment.is_none()
            && !self.has_comment_in(range)
            && items.iter().all(|e| self.is_one_line_scalar(e))
        {
            self.filled_list(items);
            return;
        }
        self.open('[');
        self.indent += 1;
        let mut last_end = range.start as usize + 1;
        for it in items {
            self.between(last_end, it.range.start as usize, false);
            self.expr(it, 0);
            self.out.push(',');
            last_end = it.range.end as usize;
        }
        self.closing(last_end, range.end as usize);
        self.indent -= 1;
        self.line();
        self.out.push(']');
    }
}

/// The lines after a block string's first, `delta` columns to the right (left when
/// negative); `None` when a line would lose more than spaces, or the first line holds
/// text (it then counts in the common indentation, and does not move).
fn shift_block_lines(literal: &str, delta: isize) -> Option<String> {
    let (first, rest) = literal.split_once('\n')?;
    // the lexer's blanks are spaces and tabs only
    let blank = |t: &str| t.chars().all(|c| c == ' ' || c == '\t' || c == '\r');
    if delta == 0 || !first.strip_prefix("\"\"\"").is_some_and(blank) {
        return None;
    }
    let mut out = String::with_capacity(literal.len() + rest.lines().count() * 4);
    out.push_str(first);
    for line in rest.split('\n') {
        out.push('\n');
        let spaces = line.len() - line.trim_start_matches(' ').len();
        if line.is_empty() {
            continue;
        } else if delta > 0 {
            out.extend(std::iter::repeat_n(' ', delta.unsigned_abs()));
            out.push_str(line);
        } else if spaces >= delta.unsigned_abs() {
            out.push_str(&line[delta.unsigned_abs()..]);
        } else {
            // a line that does not start with as many spaces (tabs, a shorter blank
            // line) keeps the string as written: its value is never at risk
            return None;
        }
    }
    Some(out)
}

/// A parenthesised literal's range holds the parentheses; the literal alone is printed.
fn strip_parens(t: &str) -> &str {
    let mut t = t.trim();
    while t.starts_with('(') && t.ends_with(')') {
        t = t[1..t.len() - 1].trim();
    }
    t
}

fn type_text(t: &TypeExpr) -> String {
    if t.args.is_empty() {
        t.name.text.clone()
    } else {
        let args: Vec<String> = t.args.iter().map(type_text).collect();
        format!("{}<{}>", t.name.text, args.join(", "))
    }
}

/// How many columns a text takes: its characters, not its bytes (`é` is one column).
fn columns(text: &str) -> usize {
    text.chars().count()
}
