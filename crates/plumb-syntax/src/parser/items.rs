//! Items of a file (`import`, `let`, `secret`, `template`, `pipeline`) and the members of
//! pipelines (stages, lets, fields) and stages (jobs, fields).

use super::{starts_construct, starts_item, Parser};
use crate::ast::*;
use crate::token::Token;
use crate::SyntaxError;
use plumb_diagnostics::TextRange;

/// A construct found where its parent was already closed.
enum Orphan {
    Stage(Stage),
    Job(Job),
}

impl Parser<'_> {
    pub(super) fn file(&mut self) -> SourceFile {
        let mut items: Vec<Item> = Vec::new();
        while let Some(tok) = self.peek() {
            let item = match tok {
                Token::Import => self.import(),
                Token::Let => self.let_decl().map(Item::Let),
                Token::Secret => self.secret(),
                Token::Template => self.template(),
                Token::Pipeline => Some(Item::Pipeline(self.pipeline(true))),
                // `p { … }`: a pipeline without its keyword
                Token::Ident(_) if self.peek_nth(1) == Some(&Token::LBrace) => {
                    self.expected("an item (import, let, secret, template or pipeline)");
                    Some(Item::Pipeline(self.pipeline(false)))
                }
                Token::Stage => {
                    self.orphan(&mut items, "pipeline", Token::Stage);
                    None
                }
                Token::Job => {
                    self.orphan(&mut items, "pipeline", Token::Job);
                    None
                }
                // `key = value` after a pipeline that a stray `}` closed early
                _ if self.at_field_start() && matches!(items.last(), Some(Item::Pipeline(_))) => {
                    let mut err = SyntaxError::new(
                        self.here(),
                        "a field outside a pipeline: a `}` above closes the pipeline too early",
                    )
                    .with_help("remove the extra `}`; the field is kept in the pipeline above it");
                    err.label = "this field is outside any pipeline".to_string();
                    self.report_imbalance(err);
                    let field = self.field();
                    if let Some(Item::Pipeline(p)) = items.last_mut() {
                        p.range = p.range.cover(field.range);
                        p.fields.push(field);
                    }
                    None
                }
                Token::RBrace => {
                    let mut err = SyntaxError::new(self.here(), "this `}` closes nothing")
                        .with_help("remove it, or add the `{` it was meant to close");
                    err.label = "nothing is open here".to_string();
                    self.report_imbalance(err);
                    self.bump();
                    None
                }
                _ => {
                    self.expected("an item (import, let, secret, template or pipeline)");
                    while self.peek().is_some_and(|t| !starts_construct(t)) {
                        self.bump();
                    }
                    None
                }
            };
            items.extend(item);
        }
        SourceFile { items }
    }

    /// A stage or job outside its parent (a `}` above closed the parent early): parsed
    /// and put back into the last parent before it, with one error for the imbalance.
    fn orphan(&mut self, items: &mut Vec<Item>, outside: &str, kind: Token) {
        let mut err = SyntaxError::new(
            self.here(),
            format!("`{kind}` outside a {outside}: a `}}` above closes the {outside} too early"),
        )
        .with_help("remove the extra `}`; the construct is kept in the one above it");
        err.label = format!("this {kind} is outside any {outside}");
        self.report_imbalance(err);
        let orphan = match kind {
            Token::Stage => Orphan::Stage(self.stage(true)),
            _ => match self.job(true) {
                Some(j) => Orphan::Job(j),
                None => return,
            },
        };
        if !matches!(items.last(), Some(Item::Pipeline(_))) {
            let at = TextRange::new(self.here().start as usize, self.here().start as usize);
            items.push(Item::Pipeline(empty_pipeline(at)));
        }
        if let Some(Item::Pipeline(p)) = items.last_mut() {
            adopt(p, orphan);
        }
    }

    fn import(&mut self) -> Option<Item> {
        let start = self.start();
        self.bump();
        let Some(Token::Str(s)) = self.peek() else {
            self.expected("a string");
            self.skip_to_next_item();
            return None;
        };
        let path_range = self.bump();
        let path = self.string(s).as_plain().unwrap_or_default();
        let alias = if self.eat(&Token::As) {
            let (name, ok) = self.name_or_report();
            ok.then_some(name)
        } else {
            None
        };
        Some(Item::Import(Import {
            path,
            path_range,
            alias,
            range: self.since(start),
        }))
    }

    /// Skips a broken one-line item up to the next construct's keyword or a brace.
    fn skip_to_next_item(&mut self) {
        while self
            .peek()
            .is_some_and(|t| !starts_construct(t) && !matches!(t, Token::LBrace | Token::RBrace))
        {
            self.bump();
        }
    }

    pub(super) fn let_decl(&mut self) -> Option<Let> {
        let start = self.start();
        self.bump();
        let (name, ok) = self.name_or_report();
        if !ok {
            self.skip_to_next_item();
            return None;
        }
        let ty = self.eat(&Token::Colon).then(|| self.type_expr());
        let has_eq = self.expect_token(Token::Eq);
        let value = if has_eq || self.peek().is_some_and(super::expr::starts_value) {
            self.expr()
        } else {
            Expr::error(TextRange::new(
                self.last_end as usize,
                self.last_end as usize,
            ))
        };
        Some(Let {
            name,
            ty,
            value,
            range: self.since(start),
        })
    }

    fn secret(&mut self) -> Option<Item> {
        let start = self.start();
        self.bump();
        let parsed = (|| {
            let name = self.expect_name("a name")?;
            self.expect_token(Token::Eq).then_some(())?;
            let source = self.expect_name("a secret source (ci_variable, vault or k8s_secret)")?;
            if !self.at_or_report(&Token::LParen) {
                return None;
            }
            Some((name, source))
        })();
        match parsed {
            Some((name, source)) => {
                let (args, args_range) = self.args();
                Some(Item::Secret(SecretDecl {
                    name,
                    source,
                    args,
                    args_range,
                    range: self.since(start),
                }))
            }
            None => {
                self.skip_to_next_item();
                None
            }
        }
    }

    fn template(&mut self) -> Option<Item> {
        let start = self.start();
        self.bump();
        let (name, mut ok) = self.name_or_report();
        let mut params = Vec::new();
        if self.at(&Token::LParen) || (ok && self.expected("`(`") && self.at(&Token::LParen)) {
            params = self.params();
        } else {
            ok = false;
        }
        let bases = self.bases(&mut ok);
        let body = self.body(ok);
        Some(Item::Template(Template {
            name,
            params,
            bases,
            body,
            range: self.since(start),
        }))
    }

    fn params(&mut self) -> Vec<Param> {
        self.bump();
        let mut params = Vec::new();
        while let Some(Token::Ident(_)) = self.peek() {
            let start = self.start();
            let (name, _) = self.name_or_report();
            self.expect_token(Token::Colon);
            let ty = self.type_expr();
            let default = self.eat(&Token::Eq).then(|| self.expr());
            params.push(Param {
                name,
                ty,
                default,
                range: self.since(start),
            });
            if !self.eat(&Token::Comma) {
                break;
            }
        }
        if !self.expect_token(Token::RParen) {
            while self.peek().is_some_and(|t| {
                !matches!(t, Token::LBrace | Token::RBrace) && !starts_construct(t)
            }) {
                self.skip_token();
            }
        }
        params
    }

    /// `pipeline NAME { … }`; `keyword` is false when the keyword is missing (reported).
    fn pipeline(&mut self, keyword: bool) -> Pipeline {
        let start = self.start();
        if keyword {
            self.bump();
        }
        let (name, ok) = self.name_or_report();
        let mut p = empty_pipeline(name.range);
        p.name = name;
        self.open_brace(ok && keyword);
        loop {
            match self.peek() {
                Some(Token::RBrace) => {
                    self.last_closer = Some(self.bump());
                    break;
                }
                None => {
                    self.expected("`}`");
                    break;
                }
                Some(Token::Stage) => p.stages.push(self.stage(true)),
                Some(Token::Let) => p.lets.extend(self.let_decl()),
                Some(Token::Job) => self.orphan_job(&mut p),
                Some(t) if starts_item(t) && !self.at_construct_shape() => {
                    self.skip_stray_keyword("`stage`, `let`, a field or `}`");
                }
                Some(t) if starts_item(t) => {
                    self.expected("`}`");
                    break;
                }
                // `s { … }` or `s after t { … }`: a stage without its keyword
                Some(Token::Ident(_))
                    if matches!(self.peek_nth(1), Some(Token::LBrace | Token::After)) =>
                {
                    self.expected("`stage`, `let`, a field or `}`");
                    p.stages.push(self.stage(false));
                }
                Some(Token::Ident(_) | Token::Str(_)) => p.fields.push(self.field()),
                Some(_) => {
                    self.expected("`stage`, `let`, a field or `}`");
                    self.skip_token();
                }
            }
        }
        p.range = self.since(start);
        p
    }

    /// A job directly in a pipeline (a `}` above closed its stage early).
    fn orphan_job(&mut self, p: &mut Pipeline) {
        let mut err = SyntaxError::new(
            self.here(),
            "`job` outside a stage: a `}` above closes the stage too early",
        )
        .with_help("remove the extra `}`; the job is kept in the stage above it");
        err.label = "this job is outside any stage".to_string();
        self.report_imbalance(err);
        if let Some(job) = self.job(true) {
            adopt(p, Orphan::Job(job));
        }
    }

    /// A `{`; when it is missing, one error (unless the header had one already), and
    /// the members that follow are taken as the body.
    fn open_brace(&mut self, report: bool) {
        if self.eat(&Token::LBrace) {
            return;
        }
        if report && self.expected("`{`") && self.eat(&Token::LBrace) {
            return;
        }
        while self.peek().is_some_and(|t| {
            !starts_construct(t) && !matches!(t, Token::RBrace) && !self.at_field_start()
        }) {
            if self.eat(&Token::LBrace) {
                return;
            }
            self.bump();
        }
    }

    /// `stage NAME [after A, B] { … }`; `keyword` is false when it is missing.
    fn stage(&mut self, keyword: bool) -> Stage {
        let start = self.start();
        if keyword {
            self.bump();
        }
        let (name, ok) = self.name_or_report();
        let mut after = Vec::new();
        if self.eat(&Token::After) {
            while let Some(n) = self.name() {
                after.push(n);
                if !self.eat(&Token::Comma) {
                    break;
                }
            }
            if after.is_empty() {
                self.expected("a name");
            }
        }
        self.open_brace(ok && keyword);
        let mut stage = Stage {
            name,
            after,
            fields: Vec::new(),
            jobs: Vec::new(),
            range: TextRange::empty(start as usize),
        };
        self.stage_members(&mut stage);
        stage.jobs.shrink_to_fit();
        stage.fields.shrink_to_fit();
        stage.range = self.since(start);
        stage
    }

    fn stage_members(&mut self, stage: &mut Stage) {
        loop {
            match self.peek() {
                Some(Token::RBrace) => {
                    self.last_closer = Some(self.bump());
                    break;
                }
                None => {
                    self.expected("`}`");
                    break;
                }
                Some(Token::Job) => stage.jobs.extend(self.job(true)),
                Some(t) if starts_construct(t) && !self.at_construct_shape() => {
                    self.skip_stray_keyword("`job`, a field or `}`");
                }
                Some(t) if starts_construct(t) => {
                    self.expected("`}`");
                    break;
                }
                // `j { … }` or `j from t(…) { … }`: a job without its keyword
                Some(Token::Ident(_))
                    if matches!(self.peek_nth(1), Some(Token::LBrace | Token::From)) =>
                {
                    self.expected("`job`, a field or `}`");
                    stage.jobs.extend(self.job(false));
                }
                Some(Token::Ident(_) | Token::Str(_)) => stage.fields.push(self.field()),
                Some(_) => {
                    self.expected("`job`, a field or `}`");
                    self.skip_token();
                }
            }
        }
    }

    /// `job NAME [from [alias.]TEMPLATE(args), …] { … }`; a job without a name is skipped
    /// (nothing can refer to it), with one error.
    fn job(&mut self, keyword: bool) -> Option<Job> {
        let start = self.start();
        if keyword {
            self.bump();
        }
        let (name, ok) = self.name_or_report();
        let mut header_ok = ok && keyword;
        if self.at(&Token::RBrace) && self.peek_nth(1) == Some(&Token::From) {
            header_ok &= !self.expected("`from` or `{`");
        }
        let bases = self.bases(&mut header_ok);
        let body = self.body(header_ok);
        ok.then(|| Job {
            name,
            bases,
            body,
            range: self.since(start),
        })
    }

    /// `from base, …` (nothing without `from`); `ok` turns false after a broken base.
    fn bases(&mut self, ok: &mut bool) -> Vec<Instantiation> {
        if !self.eat(&Token::From) {
            return Vec::new();
        }
        // most jobs build on one template: room for one, not the four a push makes
        let mut bases = Vec::with_capacity(1);
        loop {
            let (inst, inst_ok) = self.instantiation(*ok);
            *ok &= inst_ok;
            bases.push(inst);
            if !inst_ok || !self.eat(&Token::Comma) {
                return bases;
            }
        }
    }

    /// After `from`: `[alias.]name(args)`. A missing name is one error and no more for
    /// the missing arguments; an empty template name is not looked up.
    fn instantiation(&mut self, report: bool) -> (Instantiation, bool) {
        let first = self.name().or_else(|| {
            let skipped = report && self.expected("a template name");
            skipped.then(|| self.name()).flatten()
        });
        let Some(first) = first else {
            let at = TextRange::empty(self.here().start as usize);
            let template = Name {
                text: String::new(),
                range: at,
            };
            return (
                Instantiation {
                    qualifier: None,
                    template,
                    args: Vec::new(),
                    args_range: at,
                },
                false,
            );
        };
        let (qualifier, template) = if self.eat(&Token::Dot) {
            let (name, ok) = self.name_or_report();
            if !ok {
                // `from alias.` being typed: one error, none for the arguments
                let args_range = name.range;
                let inst = Instantiation {
                    qualifier: Some(first),
                    template: name,
                    args: Vec::new(),
                    args_range,
                };
                return (inst, false);
            }
            (Some(first), name)
        } else {
            (None, first)
        };
        if self.at(&Token::LParen) || (report && self.expected("`(`") && self.at(&Token::LParen)) {
            let (args, args_range) = self.args();
            let inst = Instantiation {
                qualifier,
                template,
                args,
                args_range,
            };
            return (inst, true);
        }
        let at = TextRange::empty(self.here().start as usize);
        let inst = Instantiation {
            qualifier,
            template,
            args: Vec::new(),
            args_range: at,
        };
        (inst, false)
    }
}

fn empty_pipeline(at: TextRange) -> Pipeline {
    Pipeline {
        name: Name {
            text: String::new(),
            range: TextRange::empty(at.start as usize),
        },
        fields: Vec::new(),
        lets: Vec::new(),
        stages: Vec::new(),
        range: at,
    }
}

/// Puts an orphan back into pipeline `p`: a stage at its end, a job into its last
/// stage (a nameless one when it has none).
fn adopt(p: &mut Pipeline, orphan: Orphan) {
    // the parent's range grows to hold it, as the editor's outline expects
    match orphan {
        Orphan::Stage(s) => {
            p.range = p.range.cover(s.range);
            p.stages.push(s);
        }
        Orphan::Job(j) => {
            p.range = p.range.cover(j.range);
            if p.stages.is_empty() {
                p.stages.push(Stage {
                    name: Name {
                        text: String::new(),
                        range: TextRange::empty(j.range.start as usize),
                    },
                    after: Vec::new(),
                    fields: Vec::new(),
                    jobs: Vec::new(),
                    range: j.range,
                });
            }
            if let Some(s) = p.stages.last_mut() {
                s.range = s.range.cover(j.range);
                s.jobs.push(j);
            }
        }
    }
}
