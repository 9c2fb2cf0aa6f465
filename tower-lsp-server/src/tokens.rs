//! Semantic tokens: the lexer's tokens, with names coloured by what they refer to.

use crate::snapshot::Snapshot;
use plumb_diagnostics::{FileId, TextRange};
use plumb_semantics::symbols::SymbolKind;
use plumb_syntax::token::{RawSegment, Token};
use tower_lsp_server::ls_types as lsp;

const TYPES: &[lsp::SemanticTokenType] = &[
    lsp::SemanticTokenType::KEYWORD,
    lsp::SemanticTokenType::STRING,
    lsp::SemanticTokenType::NUMBER,
    lsp::SemanticTokenType::COMMENT,
    lsp::SemanticTokenType::VARIABLE,
    lsp::SemanticTokenType::FUNCTION,
    lsp::SemanticTokenType::CLASS,
    lsp::SemanticTokenType::PARAMETER,
    lsp::SemanticTokenType::PROPERTY,
    lsp::SemanticTokenType::NAMESPACE,
    lsp::SemanticTokenType::OPERATOR,
    lsp::SemanticTokenType::TYPE,
];

#[derive(Clone, Copy)]
enum Kind {
    Keyword = 0,
    String = 1,
    Number = 2,
    Comment = 3,
    Variable = 4,
    Function = 5,
    Class = 6,
    Parameter = 7,
    Property = 8,
    Namespace = 9,
    Operator = 10,
    Type = 11,
}

const MODIFIERS: &[lsp::SemanticTokenModifier] = &[
    lsp::SemanticTokenModifier::DECLARATION,
    lsp::SemanticTokenModifier::READONLY,
];

pub fn legend() -> lsp::SemanticTokensLegend {
    lsp::SemanticTokensLegend {
        token_types: TYPES.to_vec(),
        token_modifiers: MODIFIERS.to_vec(),
    }
}

const BUILTINS: &[&str] = &[
    "ci_variable",
    "vault",
    "k8s_secret",
    "id_token",
    "changes",
    "exists",
    "var",
    "branch",
    "tag",
    "merge_request",
    "manual",
    "source",
    "runner_default",
];

/// The constructors of `trigger` and `include` entries: builtins only when called.
const CONSTRUCTORS: &[&str] = &["project", "child", "component", "remote", "local"];

pub fn semantic_tokens(snap: &Snapshot, id: FileId) -> Vec<lsp::SemanticToken> {
    let Some(file) = snap.source(id) else {
        return Vec::new();
    };
    let text = snap.text(file);
    let index = plumb_db::symbol_index(&snap.db, snap.ws, file);
    let lexed = plumb_syntax::lexer::lex(text.text);
    let mut raw: Vec<(TextRange, Kind, u32)> = Vec::new();
    let tokens = &lexed.tokens;
    for (i, (tok, range)) in tokens.iter().enumerate() {
        let kind = match tok {
            Token::Import
            | Token::As
            | Token::Let
            | Token::Secret
            | Token::Template
            | Token::Pipeline
            | Token::Stage
            | Token::Job
            | Token::After
            | Token::From
            | Token::True
            | Token::False
                if !matches!(tokens.get(i + 1), Some((Token::Eq, _))) =>
            {
                Kind::Keyword
            }
            // a keyword followed by `=` is a record key: `{ stage = "test" }`
            t if t.keyword_text().is_some() => Kind::Property,
            Token::Int(_) | Token::Duration(_) | Token::Size(_) => Kind::Number,
            Token::Str(s) => {
                // the literal's text parts as strings; interpolations' names resolved
                let mut at = range.start;
                for seg in &s.segments {
                    if let RawSegment::Interp(inner, r) = seg {
                        raw.push((
                            TextRange::new(at as usize, r.start as usize),
                            Kind::String,
                            0,
                        ));
                        for (t, tr) in inner {
                            if let Token::Ident(_) = t {
                                if let Some(o) = index.occurrences.iter().find(|o| o.range == *tr) {
                                    raw.push((*tr, symbol_kind(o.symbol.kind), 0));
                                }
                            }
                        }
                        at = r.end;
                    }
                }
                raw.push((
                    TextRange::new(at as usize, range.end as usize),
                    Kind::String,
                    0,
                ));
                continue;
            }
            Token::EqEq
            | Token::NotEq
            | Token::Match
            | Token::AndAnd
            | Token::OrOr
            | Token::Bang => Kind::Operator,
            Token::Ident(name) => {
                if let Some(o) = index.occurrences.iter().find(|o| o.range == *range) {
                    let modifiers = u32::from(o.is_definition);
                    raw.push((*range, symbol_kind(o.symbol.kind), modifiers));
                    continue;
                }
                let next_is_eq = matches!(tokens.get(i + 1), Some((Token::Eq, _)));
                if plumb_semantics::types::TYPE_NAMES.contains(&name.as_str()) {
                    Kind::Type
                } else if next_is_eq {
                    Kind::Property
                } else if BUILTINS.contains(&name.as_str())
                    || (CONSTRUCTORS.contains(&name.as_str())
                        && matches!(tokens.get(i + 1), Some((Token::LParen, _))))
                {
                    Kind::Function
                } else {
                    continue;
                }
            }
            _ => continue,
        };
        raw.push((*range, kind, 0));
    }
    for c in &lexed.comments {
        raw.push((c.range, Kind::Comment, 0));
    }
    raw.retain(|(r, _, _)| r.end > r.start);
    raw.sort_by_key(|(r, _, _)| r.start);
    encode(&text, raw)
}

fn symbol_kind(kind: SymbolKind) -> Kind {
    match kind {
        SymbolKind::Let | SymbolKind::Secret => Kind::Variable,
        SymbolKind::Template => Kind::Class,
        SymbolKind::Param => Kind::Parameter,
        SymbolKind::Pipeline | SymbolKind::Stage => Kind::Namespace,
        SymbolKind::Job => Kind::Function,
        SymbolKind::File => Kind::String,
    }
}

/// LSP's relative encoding; a token spanning lines (a block string) is cut per line.
fn encode(
    text: &crate::convert::Text,
    raw: Vec<(TextRange, Kind, u32)>,
) -> Vec<lsp::SemanticToken> {
    let mut out = Vec::new();
    let (mut last_line, mut last_col) = (0u32, 0u32);
    let mut push = |start: lsp::Position, len: u32, kind: Kind, modifiers: u32| {
        if len == 0 {
            return;
        }
        let delta_line = start.line - last_line;
        let delta_start = if delta_line == 0 {
            start.character - last_col
        } else {
            start.character
        };
        out.push(lsp::SemanticToken {
            delta_line,
            delta_start,
            length: len,
            token_type: kind as u32,
            token_modifiers_bitset: modifiers,
        });
        last_line = start.line;
        last_col = start.character;
    };
    let mut covered = 0usize;
    for (range, kind, modifiers) in raw {
        let (mut s, e) = (range.start as usize, range.end as usize);
        if s < covered {
            continue; // overlapping (an interpolation inside a string): keep the first
        }
        covered = e;
        while s < e {
            let line_end = text.text[s..e].find('\n').map_or(e, |i| s + i);
            let start = text.position(s);
            let end = text.position(line_end);
            push(
                start,
                end.character.saturating_sub(start.character),
                kind,
                modifiers,
            );
            s = line_end + 1;
        }
    }
    out
}
