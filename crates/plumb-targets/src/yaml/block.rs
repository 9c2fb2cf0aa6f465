//! A fast writer for the block YAML Plumb's outputs are made of: maps, sequences,
//! integers, booleans and strings whose spelling is certain.
//!
//! serde-saphyr stays the one that decides how YAML is written: this writer writes
//! exactly what it would (the same layout, the same plain, quoted or literal-block
//! scalars) for the shapes and strings it is sure of, asks serde-saphyr how to spell
//! any other one-line string (`on`, `1:20`, `é`), and declines every other shape (a
//! float, an empty map, a key written `? key`, a literal block it cannot place), so that
//! the caller hands the whole document to serde-saphyr. It exists for speed:
//! serde-saphyr took 40% of the time spent on each job of a 5,000-job `plumb build`.
//! Debug builds (every test) write each document both ways and compare the texts.

use serde::ser::{self, Serialize};
use std::fmt::Write as _;

/// The writer left this document to serde-saphyr.
#[derive(Debug)]
pub struct Declined;

impl std::fmt::Display for Declined {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("left to serde-saphyr")
    }
}

impl std::error::Error for Declined {}

impl ser::Error for Declined {
    fn custom<T: std::fmt::Display>(_: T) -> Self {
        Declined
    }
}

type Result<T = ()> = std::result::Result<T, Declined>;

/// Writes `value` as one YAML document at the end of `out`, or declines (leaving
/// `out` with a partial document the caller truncates).
pub fn write<T: Serialize + ?Sized>(out: &mut String, value: &T) -> Result {
    let mut w = Writer {
        out,
        slot: Slot::Top,
        in_item_map: false,
        key_buffer: String::new(),
    };
    value.serialize(&mut w)
}

/// Where the next node goes.
#[derive(Clone, Copy)]
enum Slot {
    /// The document itself: a map's keys at column 0.
    Top,
    /// After `key:`, the key at this column.
    Value { column: usize },
    /// After `- `, the dash at this column.
    Item { column: usize },
}

struct Writer<'o> {
    out: &'o mut String,
    slot: Slot,
    /// Inside a map that began on a dash line (`- key: …`), where serde-saphyr measures
    /// block scalars from other columns: such scalars are declined.
    in_item_map: bool,
    /// A map key's text (keys of `OrderedMap`s come as `&String`, through serde).
    key_buffer: String,
}

/// serde-saphyr's characters that cannot start a plain scalar.
const INDICATORS: &[u8] = b",:[]{}#&*!|>'\"%@`";

/// YAML 1.1 and 1.2 words a plain scalar must not be (any case).
const AMBIGUOUS_WORDS: &[&str] = &[
    "y", "n", "yes", "no", "on", "off", "true", "false", "null", "nan", "inf", "~",
];

/// How a string is spelled.
enum Spelling {
    Plain,
    /// In double quotes, with nothing to escape.
    Quoted,
    /// As serde-saphyr spelled it, asked about this one string.
    Asked(String),
}

/// A character serde-saphyr writes as it is, which a reader of the file cannot see or
/// which reorders what follows it (a right-to-left override, a zero-width space, a tag
/// character): PL6007's table, less what serde-saphyr escapes itself (controls, the
/// line and paragraph separators, NEL, the byte order mark).
pub(super) fn hidden(c: char) -> bool {
    plumb_syntax::invisible::name(c).is_some()
        && !c.is_control()
        && !matches!(c, '\u{2028}' | '\u{2029}' | '\u{85}' | '\u{FEFF}')
}

/// `s` in double quotes with every character a reader cannot see escaped (`\u202E`),
/// and the characters YAML must escape there: what GitLab reads is `s`, and what a
/// reviewer sees shows every character of it.
fn escaped(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() || plumb_syntax::invisible::name(c).is_some() => {
                let code = u32::from(c);
                if code > 0xFFFF {
                    out.push_str(&format!("\\U{code:08X}"));
                } else {
                    out.push_str(&format!("\\u{code:04X}"));
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Printable ASCII without `"` and `\`: quoted, such a string is itself in quotes.
fn quotable_as_is(s: &str) -> bool {
    s.bytes()
        .all(|b| (0x20..=0x7e).contains(&b) && b != b'"' && b != b'\\')
}

fn ambiguous_word(s: &str) -> bool {
    s.len() <= 5 && AMBIGUOUS_WORDS.iter().any(|w| s.eq_ignore_ascii_case(w))
}

/// A `#` after a space starts a comment in a plain scalar.
fn has_comment_start(s: &str) -> bool {
    s.contains(" #")
}

fn edge_space(s: &str) -> bool {
    s.starts_with(' ') || s.ends_with(' ')
}

/// A first character after which serde-saphyr's only reasons to quote are the ones
/// checked here (numbers, timestamps and document markers start otherwise).
fn plain_start(b: u8) -> bool {
    b.is_ascii_alphabetic() || b == b'$' || b == b'/'
}

/// Every character a YAML 1.1 number (`0x1F`, `1_000`, `1:20`, `.inf`, `1e3`) or
/// timestamp (`2024-01-01 10:00:00.5Z`) can hold: a string with one other character
/// is neither.
const NUMBER_CHARACTERS: &[u8] = b"0123456789+-._:, aAbBcCdDeEfFiInNoOtTxXzZ";

/// Certainly a plain scalar, once the reasons to quote were ruled out.
fn certainly_plain(s: &str) -> bool {
    let bytes = s.as_bytes();
    // `---` and `...` may be document markers; `- x` and `? x` are quoted
    if s.starts_with("---") || s.starts_with("...") || s == "<<" || s == "=" {
        return false;
    }
    plain_start(bytes[0]) || bytes.iter().any(|b| !NUMBER_CHARACTERS.contains(b))
}

/// Reasons serde-saphyr quotes a string in any position.
fn must_quote(s: &str) -> bool {
    let bytes = s.as_bytes();
    edge_space(s)
        || INDICATORS.contains(&bytes[0])
        || (matches!(bytes[0], b'-' | b'?') && bytes.get(1).is_none_or(|b| *b == b' '))
        || s.contains(": ")
        || s.trim_end().ends_with(':')
        || has_comment_start(s)
}

/// A one-line string in value position: `None` when only serde-saphyr knows.
fn value_spelling(s: &str) -> Option<Spelling> {
    // one character: serde-saphyr spells `.`, `#` and `-` in single quotes
    if s.len() <= 1 || !quotable_as_is(s) || ambiguous_word(s) {
        return None;
    }
    if must_quote(s) {
        return Some(Spelling::Quoted);
    }
    certainly_plain(s).then_some(Spelling::Plain)
}

/// The longest key text (quotes included) serde-saphyr writes as `key:`; a longer one
/// it writes as `? key` (YAML's limit on implicit keys is 1024 characters).
const SIMPLE_KEY_MAX: usize = 1024;

/// A key: serde-saphyr also quotes `:` anywhere and flow indicators.
fn key_spelling(s: &str) -> Option<Spelling> {
    if s.is_empty() || s.len() + 2 > SIMPLE_KEY_MAX || !quotable_as_is(s) || ambiguous_word(s) {
        return None;
    }
    if must_quote(s) || s.contains([':', ',', '[', ']', '{', '}']) {
        return Some(Spelling::Quoted);
    }
    certainly_plain(s).then_some(Spelling::Plain)
}

/// serde-saphyr's spelling of a one-line string (`20m`, `"1:20"`, `'-'`): the string
/// as a document of its own, which serde-saphyr spells as it spells a value.
fn ask_value(s: &str) -> Result<String> {
    let mut text = String::new();
    super::write_with_serde_saphyr(&mut text, &s).map_err(|_| Declined)?;
    let line = text.strip_suffix('\n').ok_or(Declined)?;
    single_line(line).map(str::to_string)
}

/// serde-saphyr's spelling of a key: from the document `key: 0`.
fn ask_key(s: &str) -> Result<String> {
    let mut text = String::new();
    let doc = super::OrderedMap(vec![(s.to_string(), 0u8)]);
    super::write_with_serde_saphyr(&mut text, &doc).map_err(|_| Declined)?;
    let key = text.strip_suffix(": 0\n").ok_or(Declined)?;
    single_line(key).map(str::to_string)
}

/// The text, if it is one non-empty line: the spellings the fast writer takes as asked.
fn single_line(text: &str) -> Result<&str> {
    if text.is_empty() || text.contains('\n') {
        return Err(Declined);
    }
    Ok(text)
}

fn push_spelled(out: &mut String, s: &str, spelling: Spelling) {
    match spelling {
        Spelling::Plain => out.push_str(s),
        Spelling::Asked(text) => out.push_str(&text),
        Spelling::Quoted => {
            out.push('"');
            out.push_str(s);
            out.push('"');
        }
    }
}

fn indent(out: &mut String, column: usize) {
    // pushed as text: a character at a time costs a capacity check each
    const SPACES: &str = "                                                                ";
    let mut left = column;
    while left > 0 {
        let n = left.min(SPACES.len());
        out.push_str(&SPACES[..n]);
        left -= n;
    }
}

impl<'o> Writer<'o> {
    /// Starts a scalar in the current slot: ` ` after a key, nothing after a dash.
    fn scalar_start(&mut self) -> Result {
        match self.slot {
            Slot::Top => Err(Declined),
            Slot::Value { .. } => {
                self.out.push(' ');
                Ok(())
            }
            Slot::Item { .. } => Ok(()),
        }
    }

    fn scalar_line(&mut self, text: &str) -> Result {
        self.scalar_start()?;
        self.out.push_str(text);
        self.out.push('\n');
        Ok(())
    }

    fn string(&mut self, s: &str) -> Result {
        let hides = s.chars().any(hidden);
        if s.contains('\n') && !hides {
            return self.literal_block(s);
        }
        let spelling = match value_spelling(s) {
            _ if hides => Spelling::Asked(escaped(s)),
            Some(spelling) => spelling,
            None => Spelling::Asked(ask_value(s)?),
        };
        self.scalar_start()?;
        push_spelled(self.out, s, spelling);
        self.out.push('\n');
        Ok(())
    }

    /// A multi-line string as `|`, `|-` or `|+` and its lines, two columns past the
    /// key or the dash, as serde-saphyr writes scripts.
    fn literal_block(&mut self, s: &str) -> Result {
        let printable = s.bytes().all(|b| b == b'\n' || (0x20..=0x7e).contains(&b));
        let content = s.trim_end_matches('\n');
        let first_line = content.split('\n').find(|l| !l.is_empty());
        if !printable || self.in_item_map || first_line.is_none_or(|l| l.starts_with(' ')) {
            return Err(Declined);
        }
        let column = match self.slot {
            Slot::Top => return Err(Declined),
            Slot::Value { column } | Slot::Item { column } => column,
        };
        let trailing = s.len() - content.len();
        self.scalar_start()?;
        self.out.push_str(match trailing {
            0 => "|-\n",
            1 => "|\n",
            _ => "|+\n",
        });
        for line in content.split('\n') {
            if !line.is_empty() {
                indent(self.out, column + 2);
                self.out.push_str(line);
            }
            self.out.push('\n');
        }
        for _ in 1..trailing.max(1) {
            self.out.push('\n');
        }
        Ok(())
    }

    fn map<'a>(&'a mut self) -> Result<MapWriter<'a, 'o>> {
        let (column, inline_first, item_map) = match self.slot {
            Slot::Top => (0, true, false),
            Slot::Value { column } => (column + 2, false, false),
            Slot::Item { column } => (column + 2, true, true),
        };
        let outer_item_map = self.in_item_map;
        self.in_item_map |= item_map;
        Ok(MapWriter {
            w: self,
            column,
            inline_first,
            entries: 0,
            outer_item_map,
        })
    }

    fn seq<'a>(&'a mut self) -> Result<SeqWriter<'a, 'o>> {
        match self.slot {
            Slot::Value { column } => Ok(SeqWriter {
                w: self,
                column,
                items: 0,
            }),
            // a document that is a list, or a list in a list: serde-saphyr's
            Slot::Top | Slot::Item { .. } => Err(Declined),
        }
    }
}

struct MapWriter<'a, 'o> {
    w: &'a mut Writer<'o>,
    /// Where the keys start.
    column: usize,
    /// The first key goes where the writer is (a document's start, after `- `).
    inline_first: bool,
    entries: usize,
    outer_item_map: bool,
}

impl MapWriter<'_, '_> {
    fn key(&mut self, key: &str) -> Result {
        let spelling = match key_spelling(key) {
            _ if key.chars().any(hidden) => Spelling::Asked(escaped(key)),
            Some(spelling) => spelling,
            None => Spelling::Asked(ask_key(key)?),
        };
        if self.entries == 0 && self.inline_first {
            // at the document's start, or right after `- `
        } else {
            if self.entries == 0 {
                self.w.out.push('\n');
            }
            indent(self.w.out, self.column);
        }
        push_spelled(self.w.out, key, spelling);
        self.w.out.push(':');
        self.entries += 1;
        Ok(())
    }

    fn value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result {
        self.w.slot = Slot::Value {
            column: self.column,
        };
        value.serialize(&mut *self.w)
    }

    fn finish(self) -> Result {
        self.w.in_item_map = self.outer_item_map;
        // an empty map is `{}`: serde-saphyr's
        if self.entries == 0 {
            Err(Declined)
        } else {
            Ok(())
        }
    }
}

struct SeqWriter<'a, 'o> {
    w: &'a mut Writer<'o>,
    /// Where the dashes go: at the key's column (serde-saphyr indents no list).
    column: usize,
    items: usize,
}

impl SeqWriter<'_, '_> {
    fn item<T: Serialize + ?Sized>(&mut self, value: &T) -> Result {
        if self.items == 0 {
            self.w.out.push('\n');
        }
        indent(self.w.out, self.column);
        self.w.out.push_str("- ");
        self.items += 1;
        self.w.slot = Slot::Item {
            column: self.column,
        };
        value.serialize(&mut *self.w)
    }

    fn finish(self) -> Result {
        if self.items == 0 {
            Err(Declined)
        } else {
            Ok(())
        }
    }
}

/// The narrower integers as the wider ones; `f32` declined like `f64`.
macro_rules! narrower_numbers {
    () => {
        fn serialize_i8(self, v: i8) -> Result {
            self.serialize_i64(i64::from(v))
        }
        fn serialize_i16(self, v: i16) -> Result {
            self.serialize_i64(i64::from(v))
        }
        fn serialize_i32(self, v: i32) -> Result {
            self.serialize_i64(i64::from(v))
        }
        fn serialize_u8(self, v: u8) -> Result {
            self.serialize_u64(u64::from(v))
        }
        fn serialize_u16(self, v: u16) -> Result {
            self.serialize_u64(u64::from(v))
        }
        fn serialize_u32(self, v: u32) -> Result {
            self.serialize_u64(u64::from(v))
        }
        fn serialize_f32(self, _: f32) -> Result {
            Err(Declined)
        }
    };
}

/// A key as text, into the writer's buffer: only strings are keys here.
struct KeyText<'k>(&'k mut String);

/// What neither serializer writes: floats, characters, bytes, null, units, tuples and
/// enum variants with data (serde-saphyr's).
macro_rules! declined_shapes {
    () => {
        fn serialize_f64(self, _: f64) -> Result {
            Err(Declined)
        }
        fn serialize_char(self, _: char) -> Result {
            Err(Declined)
        }
        fn serialize_bytes(self, _: &[u8]) -> Result {
            Err(Declined)
        }
        fn serialize_none(self) -> Result {
            Err(Declined)
        }
        fn serialize_unit(self) -> Result {
            Err(Declined)
        }
        fn serialize_unit_struct(self, _: &'static str) -> Result {
            Err(Declined)
        }
        fn serialize_unit_variant(self, _: &'static str, _: u32, _: &'static str) -> Result {
            Err(Declined)
        }
        fn serialize_newtype_variant<T: Serialize + ?Sized>(
            self,
            _: &'static str,
            _: u32,
            _: &'static str,
            _: &T,
        ) -> Result {
            Err(Declined)
        }
        fn serialize_tuple(self, _: usize) -> Result<Self::SerializeTuple> {
            Err(Declined)
        }
        fn serialize_tuple_struct(
            self,
            _: &'static str,
            _: usize,
        ) -> Result<Self::SerializeTupleStruct> {
            Err(Declined)
        }
        fn serialize_tuple_variant(
            self,
            _: &'static str,
            _: u32,
            _: &'static str,
            _: usize,
        ) -> Result<Self::SerializeTupleVariant> {
            Err(Declined)
        }
        fn serialize_struct_variant(
            self,
            _: &'static str,
            _: u32,
            _: &'static str,
            _: usize,
        ) -> Result<Self::SerializeStructVariant> {
            Err(Declined)
        }
    };
}

impl ser::Serializer for KeyText<'_> {
    type Ok = ();
    type Error = Declined;
    type SerializeSeq = ser::Impossible<(), Declined>;
    type SerializeTuple = ser::Impossible<(), Declined>;
    type SerializeTupleStruct = ser::Impossible<(), Declined>;
    type SerializeTupleVariant = ser::Impossible<(), Declined>;
    type SerializeMap = ser::Impossible<(), Declined>;
    type SerializeStruct = ser::Impossible<(), Declined>;
    type SerializeStructVariant = ser::Impossible<(), Declined>;

    fn serialize_str(self, v: &str) -> Result {
        self.0.push_str(v);
        Ok(())
    }
    fn serialize_bool(self, _: bool) -> Result {
        Err(Declined)
    }
    fn serialize_i64(self, _: i64) -> Result {
        Err(Declined)
    }
    fn serialize_u64(self, _: u64) -> Result {
        Err(Declined)
    }
    narrower_numbers!();
    declined_shapes!();
    fn serialize_some<T: Serialize + ?Sized>(self, _: &T) -> Result {
        Err(Declined)
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(self, _: &'static str, _: &T) -> Result {
        Err(Declined)
    }
    fn serialize_seq(self, _: Option<usize>) -> Result<Self::SerializeSeq> {
        Err(Declined)
    }
    fn serialize_map(self, _: Option<usize>) -> Result<Self::SerializeMap> {
        Err(Declined)
    }
    fn serialize_struct(self, _: &'static str, _: usize) -> Result<Self::SerializeStruct> {
        Err(Declined)
    }
}

impl<'a, 'o> ser::Serializer for &'a mut Writer<'o> {
    type Ok = ();
    type Error = Declined;
    type SerializeSeq = SeqWriter<'a, 'o>;
    type SerializeTuple = ser::Impossible<(), Declined>;
    type SerializeTupleStruct = ser::Impossible<(), Declined>;
    type SerializeTupleVariant = ser::Impossible<(), Declined>;
    type SerializeMap = MapWriter<'a, 'o>;
    type SerializeStruct = MapWriter<'a, 'o>;
    type SerializeStructVariant = ser::Impossible<(), Declined>;

    fn serialize_bool(self, v: bool) -> Result {
        self.scalar_line(if v { "true" } else { "false" })
    }
    fn serialize_i64(self, v: i64) -> Result {
        self.scalar_start()?;
        let _ = writeln!(self.out, "{v}");
        Ok(())
    }
    fn serialize_u64(self, v: u64) -> Result {
        self.scalar_start()?;
        let _ = writeln!(self.out, "{v}");
        Ok(())
    }
    narrower_numbers!();
    declined_shapes!();
    fn serialize_str(self, v: &str) -> Result {
        self.string(v)
    }
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result {
        value.serialize(self)
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(self, _: &'static str, value: &T) -> Result {
        value.serialize(self)
    }
    fn serialize_seq(self, _: Option<usize>) -> Result<Self::SerializeSeq> {
        self.seq()
    }
    fn serialize_map(self, _: Option<usize>) -> Result<Self::SerializeMap> {
        self.map()
    }
    fn serialize_struct(self, _: &'static str, _: usize) -> Result<Self::SerializeStruct> {
        self.map()
    }
}

impl ser::SerializeSeq for SeqWriter<'_, '_> {
    type Ok = ();
    type Error = Declined;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result {
        self.item(value)
    }
    fn end(self) -> Result {
        self.finish()
    }
}

impl ser::SerializeMap for MapWriter<'_, '_> {
    type Ok = ();
    type Error = Declined;
    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result {
        let mut text = std::mem::take(&mut self.w.key_buffer);
        text.clear();
        key.serialize(KeyText(&mut text))?;
        let written = self.key(&text);
        self.w.key_buffer = text;
        written
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result {
        self.value(value)
    }
    fn end(self) -> Result {
        self.finish()
    }
}

impl ser::SerializeStruct for MapWriter<'_, '_> {
    type Ok = ();
    type Error = Declined;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, key: &'static str, value: &T) -> Result {
        self.key(key)?;
        self.value(value)
    }
    fn end(self) -> Result {
        self.finish()
    }
}
