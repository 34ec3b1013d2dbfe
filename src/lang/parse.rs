//! Parsing with pest, one statement at a time, into the [`ast`](super::ast).

use super::ast::{Arg, Broken, Entry, Expr, ExprKind, File, Ident, Number, Statement, StmtKind};
use super::diag::{Diagnostic, quote};
use super::span::Span;
use super::statements::{Chunk, MAX_SOURCE, MAX_STATEMENT, MAX_STATEMENTS, split};
use super::suggest::did_you_mean;
use pest::Parser;
use pest::error::{ErrorVariant, InputLocation};
use pest::iterators::Pair;

#[allow(missing_docs)]
mod grammar {
    #[derive(pest_derive::Parser)]
    #[grammar = "../grammar/net.pest"]
    pub struct NetParser;
}
use grammar::{NetParser, Rule};

/// Parses a whole file. Statements that do not parse are left out of the
/// tree (and listed in `broken`); their errors are returned beside it.
///
/// A file over [`MAX_SOURCE`] bytes or [`MAX_STATEMENTS`] statements gives an
/// empty tree and that one error: nothing else in it is looked at.
pub fn parse(src: &str) -> (File, Vec<Diagnostic>) {
    if src.len() > MAX_SOURCE {
        let msg = format!(
            "this file is {} bytes long, more than the limit of {MAX_SOURCE} for a .net file",
            src.len()
        );
        return (File::default(), vec![too_large(src, 0, msg)]);
    }
    // Needed for the literal tokens (`=`, `:`) in "expected ..." messages.
    // It is process-wide and never turned off again, so parses on other
    // threads get the same messages. (It makes parsing ~2.7x slower: still
    // well under a millisecond for a real file.)
    pest::set_error_detail(true);
    let pieces = split(src);
    if let Some(extra) = pieces.chunks.get(MAX_STATEMENTS) {
        let msg = format!(
            "this file has {} statements, more than the limit of {MAX_STATEMENTS}",
            pieces.chunks.len()
        );
        return (
            File::default(),
            vec![too_large(src, extra.span.start, msg).label("the first statement over the limit")],
        );
    }
    let mut file = File {
        comments: pieces.comments,
        ..File::default()
    };
    let mut errors = Vec::new();
    for chunk in pieces.chunks {
        match parse_chunk(src, &chunk) {
            Ok(stmt) => file.statements.push(stmt),
            Err(e) => {
                errors.push(*e);
                file.broken
                    .push(broken(chunk.span, &src[chunk.span.start..chunk.span.end]));
            }
        }
    }
    (file, errors)
}

fn parse_chunk(src: &str, chunk: &Chunk) -> Result<Statement, Box<Diagnostic>> {
    if let Some(e) = &chunk.error {
        return Err(Box::new(e.clone()));
    }
    if chunk.span.len() > MAX_STATEMENT {
        let msg = format!(
            "this statement is {} bytes long, more than the limit of {MAX_STATEMENT}",
            chunk.span.len()
        );
        return Err(Box::new(too_large(src, chunk.span.start, msg)));
    }
    let text = &src[chunk.span.start..chunk.span.end];
    let offset = chunk.span.start;
    let mut pairs = NetParser::parse(Rule::statement, text)
        .map_err(|e| Box::new(syntax_error(&e, text, offset)))?;
    let b = Builder { offset };
    let stmt = pairs
        .next()
        .and_then(|p| p.into_inner().next())
        .map(|p| b.statement(p));
    stmt.ok_or_else(|| {
        Box::new(Diagnostic::error(
            chunk.span,
            "could not read this statement",
        ))
    })
}

/// What a statement that did not parse seems to be: a keyword (possibly
/// misspelt) and the names it may define (its first two words).
fn broken(span: Span, text: &str) -> Broken {
    let words: Vec<&str> = text
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .filter(|w| !w.is_empty())
        .take(2)
        .collect();
    let first = words.first().copied().unwrap_or("");
    let keyword = if KEYWORDS.contains(&first) || first == "loss" {
        Some(first.to_string())
    } else {
        did_you_mean(first, KEYWORDS.iter().copied()).map(str::to_string)
    };
    let names = words
        .iter()
        .filter(|w| {
            !KEYWORDS.contains(w) && w.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
        })
        .filter(|w| keyword.is_none() || **w != first)
        .map(|w| w.to_string())
        .collect();
    Broken {
        span,
        keyword,
        names,
    }
}

// ---- errors ------------------------------------------------------------------

/// A limit error, pointing at the character at `at`.
fn too_large(src: &str, at: usize, msg: String) -> Diagnostic {
    let len = src[at..].chars().next().map_or(0, char::len_utf8);
    Diagnostic::error(Span::new(at, at + len), msg)
        .help("a .net file describes one net in a few lines: is this the right file?")
}

const KEYWORDS: [&str; 4] = ["net", "input", "label", "train"];

fn syntax_error(e: &pest::error::Error<Rule>, text: &str, offset: usize) -> Diagnostic {
    let mut pos = match e.location {
        InputLocation::Pos(p) => p,
        InputLocation::Span((s, _)) => s,
    };
    let positives = match &e.variant {
        ErrorVariant::ParsingError { positives, .. } => positives.clone(),
        ErrorVariant::CustomError { message } => {
            // pest's own limits (native stack, call budget)
            return Diagnostic::error(
                Span::at(offset + pos),
                format!("cannot parse this statement: {}", quote(message)),
            )
            .help("split it into several shorter statements");
        }
    };
    let attempts = e.parse_attempts();
    let mut expected = Vec::new();
    if let Some(a) = &attempts
        && a.max_position >= pos
    {
        pos = a.max_position;
        let tokens: Vec<String> = a.expected_tokens().iter().map(|t| t.to_string()).collect();
        expected = expected_from_tokens(&tokens);
    }
    if expected.is_empty() || positives.contains(&Rule::EOI) {
        for r in &positives {
            let s = rule_text(*r).to_string();
            if !expected.contains(&s) {
                expected.push(s);
            }
        }
    }
    let expected = prune(expected);
    let (found_span, found) = found_at(text, pos);
    let span = found_span.shift(offset);
    let mut d = if pos == 0 {
        Diagnostic::error(span, format!("expected a statement, found {found}"))
            .label("not the start of a statement")
    } else {
        let list = join_or(&expected);
        Diagnostic::error(span, format!("expected {list}, found {found}"))
            .label(format!("expected {list}"))
    };
    if let Some(h) = mistake_hint(text, pos, &expected) {
        return d.help(h);
    }
    if pos == 0 {
        return d.help(
            "a statement is `NAME = expression`, or starts with `net`, `input`, `label` or `train`",
        );
    }
    if let Some(h) = keyword_hint(text) {
        d = d.help(h);
    }
    if found == "`=`" && expected.iter().any(|e| e == "`,`" || e == "`)`") {
        d = d.help("named arguments are written with `:`, e.g. `units: 32`");
    }
    if found == "`'`" {
        d = d.help("strings are written in double quotes: \"data/train.csv\"");
    }
    d
}

/// What a user should read for each rule pest reports.
fn rule_text(r: Rule) -> &'static str {
    match r {
        Rule::EOI | Rule::statement => "the end of the statement",
        Rule::expr | Rule::term => "an expression",
        Rule::number | Rule::dims => "a number",
        Rule::name | Rule::path => "a name",
        Rule::string => "a string",
        Rule::version => "a version like `v1`",
        Rule::call => "a call like `relu(h1)`",
        Rule::list => "a list like `[0.9, 0.999]`",
        Rule::arg => "an argument",
        Rule::entry => "a setting like `batch: 64`",
        Rule::header => "`net NAME v1`",
        Rule::input_decl => "`input NAME: SIZE`",
        Rule::label_decl => "`label NAME: classes(N)`",
        Rule::train_block => "`train { ... }`",
        Rule::binding => "`NAME = expression`",
        Rule::kw_net => "`net`",
        Rule::kw_input => "`input`",
        Rule::kw_label => "`label`",
        Rule::kw_train => "`train`",
        _ => "something else",
    }
}

/// The literal tokens pest tried at the failure point, as pest prints them
/// (`=`; `0..9` for a range; upper case for a case-insensitive literal),
/// in readable form.
fn expected_from_tokens(tokens: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut push = |s: String| {
        if !out.contains(&s) {
            out.push(s);
        }
    };
    for t in tokens {
        match t.as_str() {
            " " | "\t" | "\r" | "\n" | "#" | "\u{feff}" | "BUILTIN_RULE" | "E" => {}
            "\"" => push("a string".into()),
            "-" | "." | "0..9" => push("a number".into()),
            "_" | "a..z" | "A..Z" => push("a name".into()),
            "v" => push("a version like `v1`".into()),
            tok => push(format!("`{}`", quote(tok))),
        }
    }
    // Everything an expression may start with: say so once.
    let starts = ["a string", "a number", "a name"];
    if starts.iter().all(|s| out.iter().any(|o| o == s)) {
        out.retain(|o| !starts.contains(&o.as_str()) && o != "a list" && o != "`[`");
        out.insert(0, "an expression".into());
    }
    out
}

/// Closing brackets and separators say what is missing more plainly than
/// every operator that could also continue the text.
fn prune(expected: Vec<String>) -> Vec<String> {
    let strong = ["`)`", "`]`", "`}`", "`,`", "`:`", "`=`"];
    let kept: Vec<String> = expected
        .iter()
        .filter(|e| strong.contains(&e.as_str()))
        .cloned()
        .collect();
    if kept.is_empty() || kept.len() == expected.len() {
        return expected;
    }
    // `:` only matters where a named argument could start: keep it if it is alone.
    if kept.len() > 1 {
        return kept.into_iter().filter(|e| e != "`:`").collect();
    }
    kept
}

fn join_or(items: &[String]) -> String {
    match items {
        [] => "something else".to_string(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} or {}", init.join(", "), last),
    }
}

/// The token at `pos` in `text`, for "found ...".
fn found_at(text: &str, pos: usize) -> (Span, String) {
    let pos = super::span::floor_char_boundary(text, pos);
    let rest = &text[pos..];
    let Some(c) = rest.chars().next() else {
        return (Span::at(pos), "the end of the statement".to_string());
    };
    if c == '\n' || c == '\r' {
        return (Span::at(pos), "the end of the line".to_string());
    }
    let len = if c.is_alphanumeric() || c == '_' || c == '.' {
        rest.find(|c: char| !(c.is_alphanumeric() || c == '_' || c == '.'))
            .unwrap_or(rest.len())
    } else {
        c.len_utf8()
    };
    (
        Span::new(pos, pos + len),
        format!("`{}`", quote(&rest[..len])),
    )
}

/// The help for mistakes people bring from other languages, at `pos` of a
/// statement's `text`: `//` comments, `fashion-mnist`, `(0.9, 0.999)`, `hé`.
fn mistake_hint(text: &str, pos: usize, expected: &[String]) -> Option<String> {
    let pos = super::span::floor_char_boundary(text, pos);
    let rest = &text[pos..];
    let c = rest.chars().next()?;
    if rest.starts_with("//") {
        return Some("comments start with `#`".to_string());
    }
    let word_char = |c: char| c.is_ascii_alphanumeric() || c == '_';
    if c == '-' && rest[1..].starts_with(word_char) && text[..pos].ends_with(word_char) {
        let start = text[..pos].trim_end_matches(word_char).len();
        let end = pos + 1 + rest[1..].find(|c| !word_char(c)).unwrap_or(rest.len() - 1);
        let joined = text[start..end].replace('-', "_");
        return Some(format!(
            "`-` cannot join a name (nor subtract): did you mean `{joined}`?"
        ));
    }
    if c == '(' && expected.iter().any(|e| e == "an expression") {
        return Some("lists are written in square brackets: `[0.9, 0.999]`".to_string());
    }
    if !c.is_ascii() && c.is_alphabetic() {
        return Some(format!(
            "names are ASCII: letters `a`-`z` and `A`-`Z`, digits and `_` (`{c}` is not one)"
        ));
    }
    None
}

/// "did you mean `input`?" when a statement starts with a misspelt keyword.
fn keyword_hint(text: &str) -> Option<String> {
    let word: String = text
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
        .collect();
    let rest = text[word.len()..].trim_start();
    if KEYWORDS.contains(&word.as_str()) || rest.starts_with('=') {
        return None;
    }
    let s = did_you_mean(&word, KEYWORDS.iter().copied())?;
    Some(format!("did you mean `{s}`?"))
}

// ---- tree --------------------------------------------------------------------

/// Turns pest pairs into AST nodes with spans in file coordinates.
struct Builder {
    offset: usize,
}

impl Builder {
    /// A pair's span, without the whitespace and comments pest includes at
    /// the end of a rule that ends with a repetition (`term ~ ("+" ~ term)*`).
    fn span(&self, p: &Pair<Rule>) -> Span {
        let s = p.as_span();
        let end = s.start() + code_end(s.as_str());
        Span::new(s.start() + self.offset, end + self.offset)
    }

    fn ident(&self, p: Pair<Rule>) -> Ident {
        Ident {
            text: p.as_str().to_string(),
            span: self.span(&p),
        }
    }

    fn number(&self, p: Pair<Rule>) -> Number {
        Number {
            text: p.as_str().to_string(),
            span: self.span(&p),
        }
    }

    fn statement(&self, p: Pair<Rule>) -> Statement {
        let span = self.span(&p);
        let rule = p.as_rule();
        let mut it = p.into_inner();
        let kind = match rule {
            Rule::header => {
                let _kw = it.next();
                let name = self.next_ident(&mut it, span);
                let version = self.next_ident(&mut it, span);
                StmtKind::Header { name, version }
            }
            Rule::input_decl => {
                let _kw = it.next();
                let name = self.next_ident(&mut it, span);
                let dims = it
                    .next()
                    .map(|d| d.into_inner().map(|n| self.number(n)).collect())
                    .unwrap_or_default();
                StmtKind::Input { name, dims }
            }
            Rule::label_decl => {
                let _kw = it.next();
                let name = self.next_ident(&mut it, span);
                let kind = self.next_expr(&mut it, span);
                StmtKind::Label { name, kind }
            }
            Rule::train_block => {
                let keyword = it.next().map_or(span, |k| self.span(&k));
                let entries = it.map(|e| self.entry(e)).collect();
                StmtKind::Train { keyword, entries }
            }
            _ => {
                let name = self.next_ident(&mut it, span);
                let value = self.next_expr(&mut it, span);
                StmtKind::Binding { name, value }
            }
        };
        Statement { kind, span }
    }

    // The grammar guarantees these children; the fallbacks only keep a
    // grammar change from turning into a panic.
    fn next_ident(&self, it: &mut pest::iterators::Pairs<Rule>, at: Span) -> Ident {
        it.next().map(|p| self.ident(p)).unwrap_or(Ident {
            text: String::new(),
            span: at,
        })
    }

    fn next_expr(&self, it: &mut pest::iterators::Pairs<Rule>, at: Span) -> Expr {
        it.next().map(|p| self.expr(p)).unwrap_or(Expr {
            kind: ExprKind::List(Vec::new()),
            span: at,
        })
    }

    fn entry(&self, p: Pair<Rule>) -> Entry {
        let span = self.span(&p);
        let mut it = p.into_inner();
        let key = self.next_ident(&mut it, span);
        let value = self.next_expr(&mut it, span);
        Entry { key, value, span }
    }

    fn expr(&self, p: Pair<Rule>) -> Expr {
        let span = self.span(&p);
        match p.as_rule() {
            Rule::expr | Rule::term => {
                let sum = p.as_rule() == Rule::expr;
                let mut parts: Vec<Expr> = p.into_inner().map(|q| self.expr(q)).collect();
                if parts.len() == 1
                    && let Some(one) = parts.pop()
                {
                    return one;
                }
                let kind = if sum {
                    ExprKind::Sum(parts)
                } else {
                    ExprKind::Product(parts)
                };
                Expr { kind, span }
            }
            Rule::number => Expr {
                kind: ExprKind::Number(self.number(p)),
                span,
            },
            Rule::string => {
                let raw = p.as_str().to_string();
                let value = unescape(&raw);
                Expr {
                    kind: ExprKind::Str { raw, value },
                    span,
                }
            }
            Rule::path => {
                let mut parts = Vec::new();
                let mut start = span.start;
                for piece in p.as_str().split('.') {
                    parts.push(Ident {
                        text: piece.to_string(),
                        span: Span::new(start, start + piece.len()),
                    });
                    start += piece.len() + 1;
                }
                Expr {
                    kind: ExprKind::Path(parts),
                    span,
                }
            }
            Rule::call => {
                let mut it = p.into_inner();
                let func = self.next_ident(&mut it, span);
                let args = it.map(|a| self.arg(a)).collect();
                Expr {
                    kind: ExprKind::Call { func, args },
                    span,
                }
            }
            _ => Expr {
                kind: ExprKind::List(p.into_inner().map(|q| self.expr(q)).collect()),
                span,
            },
        }
    }

    fn arg(&self, p: Pair<Rule>) -> Arg {
        let span = self.span(&p);
        let mut inner: Vec<Pair<Rule>> = p.into_inner().collect();
        let value = inner.pop().map(|v| self.expr(v)).unwrap_or(Expr {
            kind: ExprKind::List(Vec::new()),
            span,
        });
        let name = inner.pop().map(|n| self.ident(n));
        Arg { name, value, span }
    }
}

/// The end of the last character of `text` that is neither whitespace nor
/// in a comment.
fn code_end(text: &str) -> usize {
    let mut end = 0;
    let mut it = text.char_indices();
    while let Some((i, c)) = it.next() {
        match c {
            '#' => {
                for (_, c) in it.by_ref() {
                    if c == '\n' {
                        break;
                    }
                }
            }
            '"' => {
                let mut last = i;
                while let Some((j, c)) = it.next() {
                    last = j;
                    if c == '\\' {
                        it.next();
                    } else if c == '"' {
                        break;
                    }
                }
                end = last + 1;
            }
            c if c.is_whitespace() || c == '\u{FEFF}' => {}
            c => end = i + c.len_utf8(),
        }
    }
    end
}

fn unescape(raw: &str) -> String {
    let inner = raw
        .strip_prefix('"')
        .and_then(|s| s.strip_suffix('"'))
        .unwrap_or(raw);
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        if c == '\\'
            && let Some(n) = chars.next()
        {
            out.push(n);
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(src: &str) -> StmtKind {
        let (f, e) = parse(src);
        assert!(e.is_empty(), "{e:?}");
        f.statements
            .into_iter()
            .next()
            .map(|s| s.kind)
            .unwrap_or(StmtKind::Train {
                keyword: Span::at(0),
                entries: vec![],
            })
    }

    fn message(src: &str) -> String {
        let (_, e) = parse(src);
        e.first().map(|d| d.message.clone()).unwrap_or_default()
    }

    #[test]
    fn parses_a_binding_with_named_arguments() {
        let StmtKind::Binding { name, value } = one("d = dropout(h, p: 0.5, mode: classic)") else {
            panic!("not a binding")
        };
        assert_eq!(name.text, "d");
        let ExprKind::Call { func, args } = value.kind else {
            panic!("not a call")
        };
        assert_eq!(func.text, "dropout");
        assert_eq!(args.len(), 3);
        assert_eq!(args[1].name.as_ref().map(|n| n.text.as_str()), Some("p"));
    }

    #[test]
    fn parses_sums_products_paths_and_dims() {
        let StmtKind::Binding { value, .. } = one("loss = nll(o, y) + 1e-4 * sumsq(h1.weight)")
        else {
            panic!("not a binding")
        };
        let ExprKind::Sum(terms) = value.kind else {
            panic!("not a sum")
        };
        assert!(matches!(terms[1].kind, ExprKind::Product(ref f) if f.len() == 2));
        let StmtKind::Input { dims, .. } = one("input x: 28x28") else {
            panic!("not an input")
        };
        assert_eq!(dims.len(), 2);
    }

    #[test]
    fn spans_are_in_file_coordinates() {
        let (f, _) = parse("net a v1\n\nh = relu(x)\n");
        let StmtKind::Binding { value, .. } = &f.statements[1].kind else {
            panic!("not a binding")
        };
        assert_eq!(value.span, Span::new(14, 21));
    }

    #[test]
    fn messages_name_the_missing_token() {
        assert_eq!(message("h1 relu(x)"), "expected `=`, found `relu`");
        assert_eq!(message("input x 128"), "expected `:`, found `128`");
        assert_eq!(message("h = relu(x y)"), "expected `)` or `,`, found `y`");
        assert_eq!(
            message("h = "),
            "expected an expression, found the end of the statement"
        );
        assert_eq!(
            message("net a 1"),
            "expected a version like `v1`, found `1`"
        );
    }

    #[test]
    fn recovers_at_the_next_statement() {
        let (f, e) = parse("h1 relu(x)\nh2 = relu(h1)\nh3 = relu(h2 h2)\n");
        assert_eq!(e.len(), 2);
        assert_eq!(f.statements.len(), 1);
        assert_eq!(f.broken[1].names, vec!["h3", "relu"]);
    }

    #[test]
    fn spans_end_at_the_last_code_character() {
        assert_eq!(code_end("4 # small\n  # more\n  "), 1);
        assert_eq!(code_end("csv(\"a#b\") # c"), 10);
    }

    #[test]
    fn strings_are_unescaped() {
        assert_eq!(unescape(r#""a\"b\\c""#), "a\"b\\c");
    }
}
