//! The chumsky parser: tokens to a [`SourceFile`], with error recovery.
//!
//! Recovery points, from the inside out: a field's value (skip to the next `,`, `}` or
//! item keyword), a bracketed list or record (skip the balanced brackets), a job, stage,
//! template or pipeline with a broken header (skip to its balanced body), a missing `}`
//! at the end of the file (one error, the tree is kept), and stray tokens between items.

use crate::ast::*;
use crate::token::{RawSegment, Spanned, StrToken, Token};
use crate::SyntaxError;
use chumsky::error::{RichPattern, RichReason};
use chumsky::input::{Input as _, ValueInput};
use chumsky::prelude::*;
use plumb_diagnostics::TextRange;

type Span = SimpleSpan;
type Extra<'t> = extra::Err<Rich<'t, Token, Span>>;

fn range(span: Span) -> TextRange {
    TextRange::new(span.start, span.end)
}

/// Parses a token list (from [`crate::lexer::lex`]) of a file of `len` bytes.
pub fn parse_tokens(tokens: &[Spanned<Token>], len: usize) -> (SourceFile, Vec<SyntaxError>) {
    let tokens = to_chumsky(tokens);
    let eoi = Span::from(len..len);
    let (out, errors) = file_parser()
        .parse(tokens.as_slice().map(eoi, |(t, s)| (t, s)))
        .into_output_errors();
    let errors = errors.into_iter().map(to_syntax_error).collect();
    (out.unwrap_or_default(), errors)
}

/// Parses the tokens of one `${…}` interpolation.
fn parse_interpolation(
    tokens: &[Spanned<Token>],
    at: TextRange,
) -> (Expr, Vec<Rich<'static, Token, Span>>) {
    let tokens = to_chumsky(tokens);
    let eoi = Span::from(at.end as usize - 1..at.end as usize - 1);
    let (out, errors) = expr_parser()
        .then_ignore(end())
        .parse(tokens.as_slice().map(eoi, |(t, s)| (t, s)))
        .into_output_errors();
    let errors = errors.into_iter().map(|e| e.into_owned()).collect();
    (out.unwrap_or_else(|| Expr::error(at)), errors)
}

fn to_chumsky(tokens: &[Spanned<Token>]) -> Vec<(Token, Span)> {
    tokens
        .iter()
        .map(|(t, r)| (t.clone(), Span::from(r.start as usize..r.end as usize)))
        .collect()
}

fn name<'t, I>() -> impl Parser<'t, I, Name, Extra<'t>> + Clone
where
    I: ValueInput<'t, Token = Token, Span = Span>,
{
    select! { Token::Ident(text) = e => Name { text, range: range(e.span()) } }.labelled("a name")
}

fn string_lit<'t, I>() -> impl Parser<'t, I, StrLit, Extra<'t>> + Clone
where
    I: ValueInput<'t, Token = Token, Span = Span>,
{
    select! { Token::Str(s) => s }.validate(|s, _, emitter| {
        let (lit, errors) = lower_string(*s);
        for e in errors {
            emitter.emit(e);
        }
        lit
    })
}

fn lower_string(s: StrToken) -> (StrLit, Vec<Rich<'static, Token, Span>>) {
    let mut errors = Vec::new();
    let segments = s
        .segments
        .into_iter()
        .map(|seg| match seg {
            RawSegment::Text(text, r) => Segment::Text(text, r),
            RawSegment::Interp(tokens, r) if tokens.is_empty() => {
                Segment::Interp(Expr::error(r), r)
            }
            RawSegment::Interp(tokens, r) => {
                let (expr, errs) = parse_interpolation(&tokens, r);
                errors.extend(errs);
                Segment::Interp(expr, r)
            }
        })
        .collect();
    (
        StrLit {
            block: s.block,
            segments,
        },
        errors,
    )
}

/// Tokens that start an item or a member: where a broken value stops being skipped.
fn boundary<'t, I>() -> impl Parser<'t, I, (), Extra<'t>> + Clone
where
    I: ValueInput<'t, Token = Token, Span = Span>,
{
    one_of([
        Token::Comma,
        Token::RBrace,
        Token::Job,
        Token::Stage,
        Token::Pipeline,
        Token::Template,
        Token::Let,
        Token::Secret,
        Token::Import,
    ])
    .ignored()
    .rewind()
}

fn expr_parser<'t, I>() -> impl Parser<'t, I, Expr, Extra<'t>> + Clone
where
    I: ValueInput<'t, Token = Token, Span = Span>,
{
    recursive(|expr| {
        let field = field_parser(expr.clone());
        let args = arg_list(expr.clone());

        let list = expr
            .clone()
            .separated_by(just(Token::Comma))
            .allow_trailing()
            .collect::<Vec<_>>()
            .delimited_by(just(Token::LBracket), just(Token::RBracket))
            .map(ExprKind::List)
            .recover_with(via_parser(nested_delimiters(
                Token::LBracket,
                Token::RBracket,
                [
                    (Token::LParen, Token::RParen),
                    (Token::LBrace, Token::RBrace),
                ],
                |_| ExprKind::Error,
            )));

        let record = field
            .repeated()
            .collect::<Vec<_>>()
            .delimited_by(just(Token::LBrace), just(Token::RBrace))
            .map(ExprKind::Record)
            .recover_with(via_parser(nested_delimiters(
                Token::LBrace,
                Token::RBrace,
                [
                    (Token::LParen, Token::RParen),
                    (Token::LBracket, Token::RBracket),
                ],
                |_| ExprKind::Error,
            )));

        let literal = select! {
            Token::Int(n) => ExprKind::Int(n),
            Token::Duration(d) => ExprKind::Duration(d),
            Token::Size(s) => ExprKind::Size(s),
            Token::True => ExprKind::Bool(true),
            Token::False => ExprKind::Bool(false),
            Token::Invalid => ExprKind::Error,
        };

        let atom = choice((
            string_lit().map(ExprKind::Str),
            literal,
            name().map(ExprKind::Name),
            list,
            record,
        ))
        .map_with(|kind, e| Expr {
            kind,
            range: range(e.span()),
        })
        .or(expr
            .clone()
            .delimited_by(just(Token::LParen), just(Token::RParen))
            .map_with(|inner: Expr, e| Expr {
                kind: inner.kind,
                range: range(e.span()),
            }))
        .labelled("a value")
        .boxed();

        enum Postfix {
            Member(Name),
            Call(Vec<Arg>),
        }
        let postfix = atom.foldl_with(
            choice((
                just(Token::Dot).ignore_then(name()).map(Postfix::Member),
                args.delimited_by(just(Token::LParen), just(Token::RParen))
                    .map(Postfix::Call),
            ))
            .repeated(),
            |base, op, e| {
                let kind = match op {
                    Postfix::Member(n) => ExprKind::Member(Box::new(base), n),
                    Postfix::Call(a) => ExprKind::Call(Box::new(base), a),
                };
                Expr {
                    kind,
                    range: range(e.span()),
                }
            },
        );

        let unary = just(Token::Bang)
            .map_with(|_, e| e.span())
            .repeated()
            .foldr_with(postfix, |_, rhs, e| Expr {
                kind: ExprKind::Not(Box::new(rhs)),
                range: range(e.span()),
            })
            .boxed();

        let cmp_op = select! {
            Token::EqEq => BinOp::Eq,
            Token::NotEq => BinOp::NotEq,
            Token::Match => BinOp::Match,
        };
        let cmp =
            unary
                .clone()
                .then(cmp_op.then(unary).or_not())
                .map_with(|(lhs, rhs), e| match rhs {
                    None => lhs,
                    Some((op, rhs)) => Expr {
                        kind: ExprKind::Binary(op, Box::new(lhs), Box::new(rhs)),
                        range: range(e.span()),
                    },
                });
        let and = cmp.clone().foldl_with(
            just(Token::AndAnd).ignore_then(cmp).repeated(),
            |a, b, e| Expr {
                kind: ExprKind::Binary(BinOp::And, Box::new(a), Box::new(b)),
                range: range(e.span()),
            },
        );
        and.clone()
            .foldl_with(just(Token::OrOr).ignore_then(and).repeated(), |a, b, e| {
                Expr {
                    kind: ExprKind::Binary(BinOp::Or, Box::new(a), Box::new(b)),
                    range: range(e.span()),
                }
            })
            .boxed()
    })
}

/// `key = value [,]`: a broken value is skipped up to the next field boundary.
fn field_parser<'t, I, E>(expr: E) -> impl Parser<'t, I, Field, Extra<'t>> + Clone
where
    I: ValueInput<'t, Token = Token, Span = Span>,
    E: Parser<'t, I, Expr, Extra<'t>> + Clone,
{
    let key = name().or(string_lit().map_with(|s, e| Name {
        text: s.as_plain().unwrap_or_default(),
        range: range(e.span()),
    }));
    let value = expr.recover_with(via_parser(
        any()
            .and_is(boundary().not())
            .repeated()
            .map_with(|_, e| Expr::error(range(e.span()))),
    ));
    key.labelled("a field name")
        .then_ignore(just(Token::Eq).labelled("`=`"))
        .then(value)
        .then_ignore(just(Token::Comma).or_not())
        .map_with(|(key, value), e| Field {
            key,
            value,
            range: range(e.span()),
        })
}

fn arg_list<'t, I, E>(expr: E) -> impl Parser<'t, I, Vec<Arg>, Extra<'t>> + Clone
where
    I: ValueInput<'t, Token = Token, Span = Span>,
    E: Parser<'t, I, Expr, Extra<'t>> + Clone,
{
    name()
        .then_ignore(just(Token::Eq))
        .or_not()
        .then(expr)
        .map(|(name, value)| Arg { name, value })
        .separated_by(just(Token::Comma))
        .allow_trailing()
        .collect::<Vec<_>>()
}

/// A closing `}`; at the end of the file its absence is one error and the tree is kept.
fn close_brace<'t, I>() -> impl Parser<'t, I, (), Extra<'t>> + Clone
where
    I: ValueInput<'t, Token = Token, Span = Span>,
{
    just(Token::RBrace)
        .ignored()
        .recover_with(via_parser(end().rewind()))
}

fn body_parser<'t, I, E>(expr: E) -> impl Parser<'t, I, Body, Extra<'t>> + Clone
where
    I: ValueInput<'t, Token = Token, Span = Span>,
    E: Parser<'t, I, Expr, Extra<'t>> + Clone,
{
    field_parser(expr)
        .repeated()
        .collect::<Vec<_>>()
        .delimited_by(just(Token::LBrace), close_brace())
        .map_with(|fields, e| Body {
            fields,
            range: range(e.span()),
            recovered: false,
        })
        .recover_with(via_parser(balanced_braces().map_with(|_, e| Body {
            fields: Vec::new(),
            range: range(e.span()),
            recovered: true,
        })))
}

fn balanced_braces<'t, I>() -> impl Parser<'t, I, (), Extra<'t>> + Clone
where
    I: ValueInput<'t, Token = Token, Span = Span>,
{
    nested_delimiters(
        Token::LBrace,
        Token::RBrace,
        [
            (Token::LParen, Token::RParen),
            (Token::LBracket, Token::RBracket),
        ],
        |_| (),
    )
}

/// Skips a construct that starts with `keyword` and has a broken header: everything up
/// to its balanced `{ … }` body.
fn skip_shaped<'t, I>(keyword: Token) -> impl Parser<'t, I, (), Extra<'t>> + Clone
where
    I: ValueInput<'t, Token = Token, Span = Span>,
{
    just(keyword)
        .then(
            none_of([
                Token::LBrace,
                Token::RBrace,
                Token::Job,
                Token::Stage,
                Token::Pipeline,
                Token::Template,
            ])
            .repeated(),
        )
        .then(balanced_braces())
        .ignored()
}

/// Skips a broken one-line item (`import`, `secret`) up to the next item's keyword.
fn skip_to_next_item<'t, I>(keyword: Token) -> impl Parser<'t, I, Option<Item>, Extra<'t>> + Clone
where
    I: ValueInput<'t, Token = Token, Span = Span>,
{
    just(keyword)
        .then(
            none_of([
                Token::Import,
                Token::Let,
                Token::Secret,
                Token::Template,
                Token::Pipeline,
                Token::LBrace,
                Token::RBrace,
            ])
            .repeated(),
        )
        .to(None)
}

fn type_parser<'t, I>() -> impl Parser<'t, I, TypeExpr, Extra<'t>> + Clone
where
    I: ValueInput<'t, Token = Token, Span = Span>,
{
    recursive(|ty| {
        name()
            .then(
                ty.separated_by(just(Token::Comma))
                    .at_least(1)
                    .collect::<Vec<_>>()
                    .delimited_by(just(Token::Lt), just(Token::Gt))
                    .or_not(),
            )
            .map_with(|(name, args), e| TypeExpr {
                name,
                args: args.unwrap_or_default(),
                range: range(e.span()),
            })
    })
    .labelled("a type")
}

fn let_parser<'t, I, E>(expr: E) -> impl Parser<'t, I, Let, Extra<'t>> + Clone
where
    I: ValueInput<'t, Token = Token, Span = Span>,
    E: Parser<'t, I, Expr, Extra<'t>> + Clone,
{
    just(Token::Let)
        .ignore_then(name())
        .then(just(Token::Colon).ignore_then(type_parser()).or_not())
        .then_ignore(just(Token::Eq))
        .then(expr)
        .map_with(|((name, ty), value), e| Let {
            name,
            ty,
            value,
            range: range(e.span()),
        })
}

fn file_parser<'t, I>() -> impl Parser<'t, I, SourceFile, Extra<'t>>
where
    I: ValueInput<'t, Token = Token, Span = Span>,
{
    let expr = expr_parser();
    let body = body_parser(expr.clone());
    let field = field_parser(expr.clone());
    let args = arg_list(expr.clone());

    let import = just(Token::Import)
        .ignore_then(string_lit().map_with(|s, e| (s, range(e.span()))))
        .then(just(Token::As).ignore_then(name()).or_not())
        .map_with(|((path, path_range), alias), e| {
            Item::Import(Import {
                path: path.as_plain().unwrap_or_default(),
                path_range,
                alias,
                range: range(e.span()),
            })
        });

    let let_item = let_parser(expr.clone());

    let secret = just(Token::Secret)
        .ignore_then(name())
        .then_ignore(just(Token::Eq))
        .then(name().labelled("a secret source (ci_variable, vault or k8s_secret)"))
        .then(
            args.clone()
                .delimited_by(just(Token::LParen), just(Token::RParen))
                .map_with(|args, e| (args, range(e.span()))),
        )
        .map_with(|((name, source), (args, args_range)), e| {
            Item::Secret(SecretDecl {
                name,
                source,
                args,
                args_range,
                range: range(e.span()),
            })
        });

    let param = name()
        .then_ignore(just(Token::Colon))
        .then(type_parser())
        .then(just(Token::Eq).ignore_then(expr.clone()).or_not())
        .map_with(|((name, ty), default), e| Param {
            name,
            ty,
            default,
            range: range(e.span()),
        });
    let template = just(Token::Template)
        .ignore_then(name())
        .then(
            param
                .separated_by(just(Token::Comma))
                .allow_trailing()
                .collect::<Vec<_>>()
                .delimited_by(just(Token::LParen), just(Token::RParen)),
        )
        .then(body.clone())
        .map_with(|((name, params), body), e| {
            Item::Template(Template {
                name,
                params,
                body,
                range: range(e.span()),
            })
        });

    // `job x from { … }` or `job x from t { … }` while typing: one error, and the job
    // (with its body) is kept; an empty template name is not looked up
    let instantiation = just(Token::From)
        .ignore_then(
            name()
                .labelled("a template name")
                .then(
                    args.delimited_by(just(Token::LParen), just(Token::RParen))
                        .map_with(|args, e| (args, range(e.span())))
                        .recover_with(via_parser(
                            empty().map_with(|_, e| (Vec::new(), range(e.span()))),
                        )),
                )
                // no name: one error, and none more for the missing arguments
                .recover_with(via_parser(empty().map_with(|_, e| {
                    let at = range(e.span());
                    (
                        Name {
                            text: String::new(),
                            range: at,
                        },
                        (Vec::new(), at),
                    )
                }))),
        )
        .map(|(template, (args, args_range))| Instantiation {
            template,
            args,
            args_range,
        });
    let job = just(Token::Job)
        .ignore_then(name())
        .then(instantiation.or_not())
        .then(body)
        .map_with(|((name, from), body), e| Job {
            name,
            from,
            body,
            range: range(e.span()),
        })
        .map(Some)
        .recover_with(via_parser(skip_shaped(Token::Job).to(None)));

    enum StageMember {
        Field(Field),
        Job(Option<Job>),
    }
    let stage_member = choice((
        job.map(StageMember::Job),
        field.clone().map(StageMember::Field),
    ))
    .recover_with(skip_then_retry_until(
        any().ignored(),
        one_of([Token::RBrace]).ignored(),
    ));
    let stage = just(Token::Stage)
        .ignore_then(name())
        .then(
            just(Token::After)
                .ignore_then(
                    name()
                        .separated_by(just(Token::Comma))
                        .at_least(1)
                        .collect::<Vec<_>>(),
                )
                .or_not(),
        )
        .then(
            stage_member
                .repeated()
                .collect::<Vec<_>>()
                .delimited_by(just(Token::LBrace), close_brace()),
        )
        .map_with(|((name, after), members), e| {
            let mut stage = Stage {
                name,
                after: after.unwrap_or_default(),
                fields: Vec::new(),
                jobs: Vec::new(),
                range: range(e.span()),
            };
            for m in members {
                match m {
                    StageMember::Field(f) => stage.fields.push(f),
                    StageMember::Job(Some(j)) => stage.jobs.push(j),
                    StageMember::Job(None) => {}
                }
            }
            Some(stage)
        })
        .recover_with(via_parser(skip_shaped(Token::Stage).to(None)));

    enum PipelineMember {
        Field(Field),
        Let(Let),
        Stage(Option<Stage>),
    }
    let pipeline_member = choice((
        stage.map(PipelineMember::Stage),
        let_parser(expr.clone()).map(PipelineMember::Let),
        field.map(PipelineMember::Field),
    ))
    .recover_with(skip_then_retry_until(
        any().ignored(),
        one_of([Token::RBrace]).ignored(),
    ));
    let pipeline = just(Token::Pipeline)
        .ignore_then(name())
        .then(
            pipeline_member
                .repeated()
                .collect::<Vec<_>>()
                .delimited_by(just(Token::LBrace), close_brace()),
        )
        .map_with(|(name, members), e| {
            let mut p = Pipeline {
                name,
                fields: Vec::new(),
                lets: Vec::new(),
                stages: Vec::new(),
                range: range(e.span()),
            };
            for m in members {
                match m {
                    PipelineMember::Field(f) => p.fields.push(f),
                    PipelineMember::Let(l) => p.lets.push(l),
                    PipelineMember::Stage(Some(s)) => p.stages.push(s),
                    PipelineMember::Stage(None) => {}
                }
            }
            Item::Pipeline(p)
        });

    let item = choice((
        import
            .map(Some)
            .recover_with(via_parser(skip_to_next_item(Token::Import))),
        let_item.map(|l| Some(Item::Let(l))),
        // `secret x =` being typed: one error, and the items after it still parse
        secret
            .map(Some)
            .recover_with(via_parser(skip_to_next_item(Token::Secret))),
        template
            .map(Some)
            .recover_with(via_parser(skip_shaped(Token::Template).to(None))),
        pipeline
            .map(Some)
            .recover_with(via_parser(skip_shaped(Token::Pipeline).to(None))),
    ))
    .labelled("an item (import, let, secret, template or pipeline)")
    .recover_with(skip_then_retry_until(any().ignored(), end()));

    item.repeated()
        .collect::<Vec<_>>()
        .then_ignore(end())
        .map(|items| SourceFile {
            items: items.into_iter().flatten().collect(),
        })
}

fn to_syntax_error(e: Rich<'_, Token, Span>) -> SyntaxError {
    let at = range(*e.span());
    match e.reason() {
        RichReason::Custom(msg) => SyntaxError::new(at, msg.clone()),
        RichReason::ExpectedFound { expected, found } => {
            let found = found
                .as_ref()
                .map(|t| t.describe())
                .unwrap_or_else(|| "the end of the file".to_string());
            let expected = describe_expected(expected);
            let mut err = SyntaxError::new(at, format!("expected {expected}, found {found}"));
            err.label = format!("expected {expected}");
            err.help = syntax_help(&expected, &found);
            err
        }
    }
}

/// A hint for the most common syntax mistakes.
fn syntax_help(expected: &str, found: &str) -> Option<String> {
    let help = if found == "the end of the file" {
        "a closing `}`, `]` or `)` may be missing"
    } else if expected == "`=`" {
        "a field is written `name = value`"
    } else if expected.contains("a value") {
        "a value is a string, a number, a duration (`15m`), a size (`256Mi`), `true`/`false`, a name, a list `[…]` or a record `{…}`"
    } else if expected.starts_with("an item") {
        "a file holds `import`, `let`, `secret`, `template` and `pipeline` items"
    } else if found == "`-`" || found.contains('-') && found.starts_with("name") {
        "a `-` can only be part of a name, such as `unit-api`"
    } else if expected.contains("`}`") {
        "fields are written `name = value`, one after the other; jobs go in stages, stages in pipelines"
    } else {
        return None;
    };
    Some(help.to_string())
}

fn describe_expected(expected: &[RichPattern<'_, Token>]) -> String {
    let mut items: Vec<String> = Vec::new();
    for p in expected {
        let s = match p {
            RichPattern::Token(t) => format!("`{}`", &**t),
            RichPattern::Label(l) => l.to_string(),
            RichPattern::Identifier(i) => format!("`{i}`"),
            RichPattern::Any => "something".to_string(),
            RichPattern::EndOfInput => "the end of the file".to_string(),
            _ => continue,
        };
        if !items.contains(&s) {
            items.push(s);
        }
    }
    // `!` starts a value: naming it beside "a value" only confuses
    if items.iter().any(|i| i == "a value") {
        items.retain(|i| i != "`!`");
    }
    match items.len() {
        0 => "something else".to_string(),
        1 => items.remove(0),
        _ => {
            let last = items.pop().unwrap_or_default();
            format!("{} or {}", items.join(", "), last)
        }
    }
}
