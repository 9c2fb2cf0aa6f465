//! Values: literals, names, lists, records, calls, members and conditions; and the
//! `{ key = value … }` bodies of jobs and templates, which share the field grammar.

use super::{starts_construct, Parser};
use crate::ast::*;
use crate::token::{RawSegment, StrToken, Token};
use crate::SyntaxError;
use plumb_diagnostics::TextRange;

/// The most operators of one kind in a chain (`a || b || …`, `a.b.c…`): more than
/// any program needs, few enough that the trees every pass walks by recursion stay
/// shallow (64 brackets deep at most, each holding such a chain).
pub const MAX_CHAIN: usize = 256;

/// Tokens that can start a value.
pub(super) fn starts_value(t: &Token) -> bool {
    matches!(
        t,
        Token::Str(_)
            | Token::Int(_)
            | Token::Duration(_)
            | Token::Size(_)
            | Token::True
            | Token::False
            | Token::Invalid
            | Token::Ident(_)
            | Token::LBracket
            | Token::LBrace
            | Token::LParen
            | Token::Bang
    )
}

/// Tokens where a broken value stops being skipped: they close or separate something
/// around it, or start a construct.
fn ends_value(t: &Token) -> bool {
    matches!(
        t,
        Token::Comma | Token::RBrace | Token::RBracket | Token::RParen
    ) || starts_construct(t)
}

impl Parser<'_> {
    /// A value; on a token that cannot start one: one error, the junk up to the next
    /// value or boundary skipped, and the value after it (or an error value).
    /// Whether a value starts here: also `template(…)`, an `include` entry, whose name
    /// is a keyword (`template NAME(` starts an item; `template(` cannot).
    pub(super) fn at_value(&self) -> bool {
        self.peek().is_some_and(starts_value)
            || (self.peek() == Some(&Token::Template) && self.peek_nth(1) == Some(&Token::LParen))
    }

    pub(super) fn expr(&mut self) -> Expr {
        if !self.at_value() {
            let at = self.here();
            self.expected("a value");
            while self
                .peek()
                .is_some_and(|t| !starts_value(t) && !ends_value(t))
            {
                self.skip_token();
            }
            if !self.at_value() || self.at_field_start() {
                return Expr::error(TextRange::new(at.start as usize, at.start as usize));
            }
        }
        self.or_expr()
    }

    fn binary(&mut self, start: u32, op: BinOp, lhs: Expr, rhs: Expr) -> Expr {
        Expr {
            kind: ExprKind::Binary(op, Box::new(lhs), Box::new(rhs)),
            range: self.since(start),
        }
    }

    fn or_expr(&mut self) -> Expr {
        let start = self.start();
        let mut lhs = self.and_expr();
        let mut operators = 0;
        while self.eat(&Token::OrOr) {
            let rhs = self.operand();
            operators += 1;
            if self.chain_within_limit(operators, start, "`||`") {
                lhs = self.binary(start, BinOp::Or, lhs, rhs);
            }
        }
        lhs
    }

    fn and_expr(&mut self) -> Expr {
        let start = self.start();
        let mut lhs = self.cmp_expr();
        let mut operators = 0;
        while self.eat(&Token::AndAnd) {
            let rhs = self.operand_cmp();
            operators += 1;
            if self.chain_within_limit(operators, start, "`&&`") {
                lhs = self.binary(start, BinOp::And, lhs, rhs);
            }
        }
        lhs
    }

    /// Whether the `n`th operator of a chain (`a || b || …`, `a.b.c…`) that started
    /// at `start` is kept: a chain is a tree as deep as it is long, which every later
    /// pass walks, so past [`MAX_CHAIN`] operators the rest is read but dropped, with
    /// one error.
    fn chain_within_limit(&mut self, n: usize, start: u32, what: &str) -> bool {
        if n == MAX_CHAIN + 1 {
            let mut err = SyntaxError::new(
                self.since(start),
                format!("more than {MAX_CHAIN} {what} in one chain; the rest is not read"),
            );
            err.label = "too long a chain".to_string();
            err.help = Some("split it: a `let` for each part".to_string());
            self.errors.push(err);
        }
        n <= MAX_CHAIN
    }

    fn cmp_expr(&mut self) -> Expr {
        let start = self.start();
        let lhs = self.unary();
        let op = match self.peek() {
            Some(Token::EqEq) => BinOp::Eq,
            Some(Token::NotEq) => BinOp::NotEq,
            Some(Token::Match) => BinOp::Match,
            _ => return lhs,
        };
        self.bump();
        let rhs = if self.at_value() {
            self.unary()
        } else {
            self.missing_value()
        };
        self.binary(start, op, lhs, rhs)
    }

    /// The right side of `||`.
    fn operand(&mut self) -> Expr {
        if self.at_value() {
            self.and_expr()
        } else {
            self.missing_value()
        }
    }

    /// The right side of `&&`.
    fn operand_cmp(&mut self) -> Expr {
        if self.at_value() {
            self.cmp_expr()
        } else {
            self.missing_value()
        }
    }

    fn missing_value(&mut self) -> Expr {
        let at = self.here();
        if self.expected("a value") && self.at_value() {
            return self.unary();
        }
        Expr::error(TextRange::new(at.start as usize, at.start as usize))
    }

    fn unary(&mut self) -> Expr {
        // a run of `!` is folded without recursion (the lexer bounds its length)
        let mut bangs = Vec::new();
        while self.at(&Token::Bang) {
            bangs.push(self.bump().start);
        }
        let mut e = if bangs.is_empty() || self.at_value() {
            self.postfix()
        } else {
            self.missing_value()
        };
        for start in bangs.into_iter().rev() {
            e = Expr {
                kind: ExprKind::Not(Box::new(e)),
                range: self.since(start),
            };
        }
        e
    }

    fn postfix(&mut self) -> Expr {
        let start = self.start();
        let mut e = self.atom();
        let mut operators = 0;
        loop {
            let member = self.eat(&Token::Dot);
            if !member && !self.at(&Token::LParen) {
                return e;
            }
            operators += 1;
            let keep = self.chain_within_limit(operators, start, "`.` or calls");
            let kind = if member {
                let (name, _) = self.name_or_report();
                ExprKind::Member(Box::new(e), name)
            } else {
                let (args, _) = self.args();
                ExprKind::Call(Box::new(e), args)
            };
            e = Expr {
                kind,
                range: self.since(start),
            };
            if !keep {
                // past the limit, each part is read and dropped: the node goes, what
                // it was built on stays
                if let ExprKind::Member(inner, _) | ExprKind::Call(inner, _) = e.kind {
                    e = *inner;
                }
            }
        }
    }

    fn atom(&mut self) -> Expr {
        let start = self.start();
        let Some(tok) = self.peek() else {
            return self.missing_value();
        };
        let kind = match tok {
            Token::Str(s) => {
                self.bump();
                ExprKind::Str(self.string(s))
            }
            Token::Int(n) => self.take(ExprKind::Int(*n)),
            Token::Duration(d) => self.take(ExprKind::Duration(*d)),
            Token::Size(s) => self.take(ExprKind::Size(*s)),
            Token::True => self.take(ExprKind::Bool(true)),
            Token::False => self.take(ExprKind::Bool(false)),
            Token::Invalid => self.take(ExprKind::Error),
            Token::Ident(_) => ExprKind::Name(self.name_or_report().0),
            Token::Template => {
                let range = self.bump();
                ExprKind::Name(Name {
                    text: "template".to_string(),
                    range,
                })
            }
            Token::LBracket => self.list(),
            Token::LBrace => {
                self.bump();
                let (fields, _) = self.fields_until_brace();
                ExprKind::Record(fields)
            }
            Token::LParen => {
                self.bump();
                let inner = self.expr();
                self.close(Token::RParen);
                inner.kind
            }
            _ => return self.missing_value(),
        };
        Expr {
            kind,
            range: self.since(start),
        }
    }

    fn take(&mut self, kind: ExprKind) -> ExprKind {
        self.bump();
        kind
    }

    /// A closing bracket, or one error (the bracket is assumed).
    fn close(&mut self, tok: Token) {
        if !self.eat(&tok) && self.expected(&format!("`{tok}`")) {
            self.eat(&tok);
        }
    }

    fn list(&mut self) -> ExprKind {
        self.bump();
        self.open_brackets.push(Token::RBracket);
        let items = self.list_items();
        self.open_brackets.pop();
        ExprKind::List(items)
    }

    fn list_items(&mut self) -> Vec<Expr> {
        let mut items = Vec::new();
        loop {
            match self.peek() {
                Some(Token::RBracket) => {
                    self.bump();
                    break;
                }
                Some(_) if self.at_value() && !self.at_field_start() => {
                    items.push(self.expr());
                    // (a record missing its `}` took the `,` after its last field)
                    if self.eat(&Token::Comma)
                        || self.at(&Token::RBracket)
                        || self.after(&Token::Comma)
                    {
                        continue;
                    }
                    if self.expected("`,` or `]`") {
                        continue;
                    }
                    // a missing `,` is assumed; anything else ends the list
                    if !self.at_value() || self.at_field_start() {
                        break;
                    }
                }
                Some(Token::Comma) => {
                    self.expected("a value or `]`");
                    self.bump();
                }
                _ => {
                    if !self.expected("a value or `]`") {
                        break;
                    }
                }
            }
        }
        items.shrink_to_fit();
        items
    }

    /// `(` [name =] value, … `)`, and the range of the parentheses.
    pub(super) fn args(&mut self) -> (Vec<Arg>, TextRange) {
        let start = self.start();
        self.bump();
        self.open_brackets.push(Token::RParen);
        let args = self.arg_list();
        self.open_brackets.pop();
        (args, self.since(start))
    }

    fn arg_list(&mut self) -> Vec<Arg> {
        let mut args = Vec::new();
        loop {
            match self.peek() {
                Some(Token::RParen) => {
                    self.bump();
                    break;
                }
                Some(t) if self.at_value() => {
                    let name =
                        if matches!(t, Token::Ident(_)) && self.peek_nth(1) == Some(&Token::Eq) {
                            let n = self.name();
                            self.bump();
                            n
                        } else {
                            None
                        };
                    let value = self.expr();
                    args.push(Arg { name, value });
                    if self.eat(&Token::Comma) || self.at(&Token::RParen) {
                        continue;
                    }
                    if self.expected("`,` or `)`") {
                        continue;
                    }
                    if !self.at_value() {
                        break;
                    }
                }
                _ => {
                    if !self.expected("a value or `)`") {
                        break;
                    }
                }
            }
        }
        args.shrink_to_fit();
        args
    }

    /// `key = value [,]`. A missing `=` is reported and assumed when a value follows.
    pub(super) fn field(&mut self) -> Field {
        let start = self.start();
        let key = match self.peek() {
            Some(Token::Str(s)) => {
                let range = self.bump();
                Name {
                    text: self.string(s).as_plain().unwrap_or_default(),
                    range,
                }
            }
            Some(t) if self.at_keyword_key() => {
                let text = t.keyword_text().unwrap_or_default().to_string();
                let range = self.bump();
                Name { text, range }
            }
            _ => self.name_or_report().0,
        };
        let value = if self.eat(&Token::Eq) {
            self.expr()
        } else {
            if self.expected("`=`") && self.eat(&Token::Eq) {
                return self.field_rest(start, key);
            }
            if self.at_value() && !self.at_field_start() {
                self.expr()
            } else {
                Expr::error(TextRange::new(
                    self.last_end as usize,
                    self.last_end as usize,
                ))
            }
        };
        self.eat(&Token::Comma);
        Field {
            key,
            value,
            range: self.since(start),
        }
    }

    /// The value of a field whose `=` is taken, and its optional `,`.
    fn field_rest(&mut self, start: u32, key: Name) -> Field {
        let value = self.expr();
        self.eat(&Token::Comma);
        Field {
            key,
            value,
            range: self.since(start),
        }
    }

    /// Fields up to the `}` that closes them (the `{` is taken), and whether any error
    /// was found. A keyword that starts a construct ends them too: the `}` is missing.
    pub(super) fn fields_until_brace(&mut self) -> (Vec<Field>, bool) {
        let errors_before = self.errors.len();
        let mut fields = Vec::new();
        loop {
            match self.peek() {
                Some(Token::RBrace) => {
                    self.bump();
                    break;
                }
                None => {
                    self.expected("a field name or `}`");
                    break;
                }
                Some(_) if self.at_keyword_key() => fields.push(self.field()),
                // `[{ a = 1 ]`: the record ends where the list does; `[{ a = 1, { b = 2 }]`:
                // where the next element starts
                Some(t)
                    if self.open_brackets.last() == Some(t)
                        || (*t == Token::LBrace
                            && self.open_brackets.last() == Some(&Token::RBracket)) =>
                {
                    self.expected("`}`");
                    break;
                }
                Some(t) if starts_construct(t) && !self.at_construct_shape() => {
                    self.skip_stray_keyword("a field name or `}`");
                }
                Some(t) if starts_construct(t) => {
                    self.expected("`}`");
                    break;
                }
                Some(Token::Ident(_) | Token::Str(_)) => fields.push(self.field()),
                Some(Token::LBrace) if self.stray_openers > 0 => {
                    self.expected("a field name or `}`");
                    self.stray_openers -= 1;
                    self.bump();
                }
                Some(_) => {
                    self.expected("a field name or `}`");
                    self.skip_token();
                    while self.peek().is_some_and(|t| {
                        !matches!(t, Token::Ident(_) | Token::Str(_) | Token::RBrace)
                            && !starts_construct(t)
                    }) {
                        self.skip_token();
                    }
                }
            }
        }
        // a tree lives as long as its file is open: no room for fields never written
        fields.shrink_to_fit();
        (fields, self.errors.len() > errors_before)
    }

    /// A `{ … }` body of fields; without its `{`, one error and the fields that follow
    /// are taken as the body.
    pub(super) fn body(&mut self, header_ok: bool) -> Body {
        let start = self.start();
        let opened = self.eat(&Token::LBrace)
            || (header_ok && self.expected("`{`") && self.eat(&Token::LBrace));
        if !opened && !self.at_field_start() {
            return Body {
                fields: Vec::new(),
                range: TextRange::new(start as usize, start as usize),
                recovered: true,
            };
        }
        let (fields, had_errors) = self.fields_until_brace();
        Body {
            fields,
            range: self.since(start),
            recovered: had_errors || !header_ok,
        }
    }

    /// `Name` or `Name<T, …>`.
    pub(super) fn type_expr(&mut self) -> TypeExpr {
        let start = self.start();
        let name = match self.name() {
            Some(n) => n,
            None => {
                self.expected("a type");
                let at = self.here();
                Name {
                    text: String::new(),
                    range: TextRange::new(at.start as usize, at.start as usize),
                }
            }
        };
        let mut args = Vec::new();
        if !name.text.is_empty() && self.eat(&Token::Lt) {
            loop {
                args.push(self.type_expr());
                if !self.eat(&Token::Comma) {
                    break;
                }
            }
            self.close(Token::Gt);
        }
        TypeExpr {
            name,
            args,
            range: self.since(start),
        }
    }

    /// A string token as a literal; the expressions of its `${…}` are parsed here.
    pub(super) fn string(&mut self, s: &StrToken) -> StrLit {
        let segments = s
            .segments
            .iter()
            .map(|seg| match seg {
                RawSegment::Text(text, r) => Segment::Text(text.clone(), *r),
                RawSegment::Interp(tokens, r) if tokens.is_empty() => {
                    Segment::Interp(Expr::error(*r), *r)
                }
                RawSegment::Interp(tokens, r) => {
                    let (expr, errors) = super::parse_interpolation(tokens, *r);
                    self.errors.extend(errors);
                    Segment::Interp(expr, *r)
                }
            })
            .collect();
        StrLit {
            block: s.block,
            segments,
        }
    }
}
