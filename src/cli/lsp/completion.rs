//! Completion: what may be written at the cursor, worked out from the text
//! before it (the statement being typed rarely parses yet). Names come from
//! the statements above; functions, settings, data sources, optimizers and
//! their parameters from the builtins table, so a new builtin appears here
//! without a change.

use super::document::Document;
use super::hover::{builtin_detail, param_detail};
use lsp_types::{CompletionItem, CompletionItemKind, Documentation, MarkupContent, MarkupKind};
use netc::lang::ast::StmtKind;
use netc::lang::builtins::{self, Builtin, Kind, Param, Role, TRAIN_SETTINGS};
use netc::lang::statements::split;

/// The statement keywords, offered at the start of a statement.
const KEYWORDS: &[&str] = &["net", "input", "label", "train", "loss"];

/// The completions at byte `offset`.
pub fn complete(doc: &Document, offset: usize) -> Vec<CompletionItem> {
    let offset = netc::lang::span::floor_char_boundary(&doc.text, offset);
    let start = statement_start(&doc.text, offset);
    let before = &doc.text[start..offset];
    let mut items = Items::default();
    match context(before) {
        Context::Statement => items.keywords(),
        Context::Binding { name } => {
            if name == "loss" {
                items.builtins(Role::DataTerm);
                items.builtins(Role::Penalty);
            } else {
                items.activations(doc, start);
                items.builtins(Role::Function);
            }
        }
        Context::Label => items.builtins(Role::LabelKind),
        Context::SettingKey { block } => {
            let given = setting_keys(block);
            for p in TRAIN_SETTINGS.iter().filter(|p| !given.contains(&p.name)) {
                items.param(p, CompletionItemKind::PROPERTY);
            }
        }
        Context::Value(kind) => items.value(doc, start, kind),
        Context::Arg { func, index, given } => {
            if let Some(b) = builtins::find(func) {
                items.arguments(doc, start, b, index, &given);
            }
        }
        Context::Field { name } => items.fields(doc, name),
        Context::Nothing => {}
    }
    items.0
}

/// Where the statement holding `offset` starts: the start of the last
/// statement begun before it, unless that one ended on an earlier line
/// (then a new statement starts at the cursor's line).
fn statement_start(text: &str, offset: usize) -> usize {
    let line_start = text[..offset].rfind('\n').map_or(0, |i| i + 1);
    let chunks = split(text).chunks;
    let Some(last) = chunks.iter().rev().find(|c| c.span.start < offset) else {
        return line_start;
    };
    let ended_before =
        last.span.end < line_start && !continues(&text[last.span.start..last.span.end]);
    if ended_before {
        line_start
    } else {
        last.span.start
    }
}

/// Whether a statement's text goes on past its end: it ends with an
/// operator, or a bracket is open.
fn continues(s: &str) -> bool {
    s.trim_end().ends_with(['+', '*', '=', ',', ':']) || !scan(s).open.is_empty()
}

/// A text read up to its end, outside strings and comments.
struct Scan {
    /// The unclosed brackets, with their byte offsets.
    open: Vec<(char, usize)>,
    /// The text ends inside a string or a comment.
    in_literal: bool,
}

fn scan(s: &str) -> Scan {
    let (code, in_literal) = code_chars(s);
    let mut open = Vec::new();
    for (i, c) in code {
        match c {
            '(' | '[' | '{' => open.push((c, i)),
            ')' | ']' | '}' => {
                open.pop();
            }
            _ => {}
        }
    }
    Scan { open, in_literal }
}

/// The characters of `s` outside strings and comments, with their byte
/// offsets; and whether `s` ends inside a string or a comment.
fn code_chars(s: &str) -> (Vec<(usize, char)>, bool) {
    let mut code = Vec::new();
    let (mut in_str, mut in_comment, mut escaped) = (false, false, false);
    for (i, c) in s.char_indices() {
        match c {
            '\n' => (in_comment, in_str) = (false, false),
            _ if in_comment => {}
            _ if in_str && escaped => escaped = false,
            '\\' if in_str => escaped = true,
            '"' => in_str = !in_str,
            _ if in_str => {}
            '#' => in_comment = true,
            _ => code.push((i, c)),
        }
    }
    (code, in_str || in_comment)
}

/// What the cursor is about to write.
#[derive(Debug, PartialEq)]
enum Context<'a> {
    /// A new statement: a keyword or a name.
    Statement,
    /// The right-hand side of `name = ...`, outside brackets.
    Binding {
        name: &'a str,
    },
    /// The kind of `label y: ...`.
    Label,
    /// A `train { }` setting's name; `block` is the block so far.
    SettingKey {
        block: &'a str,
    },
    /// A value of this kind (a setting's, a named argument's).
    Value(Kind),
    /// An argument of a call to `func`: positional number `index` unless
    /// named, with the names already given.
    Arg {
        func: &'a str,
        index: usize,
        given: Vec<&'a str>,
    },
    /// After `name.`: a layer's parameters.
    Field {
        name: &'a str,
    },
    Nothing,
}

/// The context at the end of `before`, the statement's text up to the cursor.
fn context(before: &str) -> Context<'_> {
    let word_start = before
        .rfind(|c: char| !(c.is_alphanumeric() || c == '_'))
        .map_or(0, |i| {
            i + before[i..].chars().next().map_or(1, char::len_utf8)
        });
    let head = &before[..word_start];
    if let Some(name) = head.strip_suffix('.') {
        let start = name
            .rfind(|c: char| !(c.is_alphanumeric() || c == '_'))
            .map_or(0, |i| i + 1);
        return Context::Field {
            name: &name[start..],
        };
    }
    let scanned = scan(head);
    if scanned.in_literal {
        return Context::Nothing;
    }
    match scanned.open.last() {
        Some(('{', at)) => in_block(&head[at + 1..]),
        Some(('(', at)) => in_call(head, *at),
        Some(_) => Context::Nothing,
        None => top_level(head),
    }
}

/// Outside brackets: the statement's first words say what it is.
fn top_level(head: &str) -> Context<'_> {
    let words: Vec<&str> = head.split_whitespace().collect();
    let Some(first) = words.first() else {
        return Context::Statement;
    };
    if let Some((lhs, _)) = head.split_once('=') {
        return Context::Binding { name: lhs.trim() };
    }
    match *first {
        "label" if head.contains(':') => Context::Label,
        _ => Context::Nothing,
    }
}

/// Inside `train { ... }`: the setting's name, or its value.
fn in_block(block: &str) -> Context<'_> {
    let line = block.rsplit('\n').next().unwrap_or(block);
    match line.split_once(':') {
        None => Context::SettingKey { block },
        Some((key, _)) => match builtins::train_setting(key.trim()) {
            Some(p) => Context::Value(p.kind),
            None => Context::Nothing,
        },
    }
}

/// Inside `func(...`: which argument, and whether it is named yet.
fn in_call(head: &str, paren: usize) -> Context<'_> {
    let func_end = head[..paren].trim_end();
    let func_start = func_end
        .rfind(|c: char| !(c.is_alphanumeric() || c == '_'))
        .map_or(0, |i| i + 1);
    let func = &func_end[func_start..];
    let args = split_args(&head[paren + 1..]);
    let (current, earlier) = args.split_last().unwrap_or((&"", &[]));
    if let Some(name) = arg_name(current) {
        return match builtins::find(func).and_then(|b| b.param(name)) {
            Some((_, p)) => Context::Value(p.kind),
            None => Context::Nothing,
        };
    }
    Context::Arg {
        func,
        index: earlier.len(),
        given: earlier.iter().filter_map(|a| arg_name(a)).collect(),
    }
}

/// `lr` in `lr: 0.1`.
fn arg_name(arg: &str) -> Option<&str> {
    arg.split_once(':').map(|(n, _)| n.trim())
}

/// The arguments of a call so far, split at its top-level commas.
fn split_args(s: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let (mut depth, mut start) = (0i32, 0);
    for (i, c) in code_chars(s).0 {
        match c {
            '(' | '[' => depth += 1,
            ')' | ']' => depth -= 1,
            ',' if depth == 0 => {
                out.push(&s[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(&s[start..]);
    out
}

/// The keys set so far in a `train { }` block.
fn setting_keys(block: &str) -> Vec<&str> {
    block
        .lines()
        .filter_map(|l| l.split_once(':').map(|(k, _)| k.trim()))
        .collect()
}

/// The completions gathered.
#[derive(Default)]
struct Items(Vec<CompletionItem>);

impl Items {
    fn push(&mut self, label: &str, kind: CompletionItemKind, detail: String, doc: Option<String>) {
        self.0.push(CompletionItem {
            label: label.to_string(),
            kind: Some(kind),
            detail: Some(detail),
            documentation: doc.map(|value| {
                Documentation::MarkupContent(MarkupContent {
                    kind: MarkupKind::Markdown,
                    value,
                })
            }),
            ..CompletionItem::default()
        });
    }

    fn keywords(&mut self) {
        for k in KEYWORDS {
            self.push(
                k,
                CompletionItemKind::KEYWORD,
                "statement".to_string(),
                None,
            );
        }
    }

    fn builtins(&mut self, role: Role) {
        for b in builtins::of(role) {
            self.builtin(b);
        }
    }

    fn builtin(&mut self, b: &Builtin) {
        let kind = match b.role {
            Role::Function | Role::DataTerm | Role::Penalty => CompletionItemKind::FUNCTION,
            _ => CompletionItemKind::VALUE,
        };
        let (detail, doc) = builtin_detail(b);
        self.push(b.name, kind, detail, Some(doc));
    }

    /// `name: `, for a setting or a named argument.
    fn param(&mut self, p: &Param, kind: CompletionItemKind) {
        self.0.push(CompletionItem {
            insert_text: Some(format!("{}: ", p.name)),
            ..CompletionItem {
                label: p.name.to_string(),
                kind: Some(kind),
                detail: Some(param_detail(p)),
                ..CompletionItem::default()
            }
        });
    }

    /// The input and the bindings defined before byte `before` (not `loss`).
    fn activations(&mut self, doc: &Document, before: usize) {
        for s in doc.file.statements.iter().filter(|s| s.span.start < before) {
            let (name, what) = match &s.kind {
                StmtKind::Input { name, .. } => (name, "input"),
                StmtKind::Binding { name, .. } if name.text != "loss" => (name, "activation"),
                _ => continue,
            };
            let detail = match doc.binding(&name.text) {
                Some(b) => format!("{what} {:?}", b.shape),
                None if what == "input" => doc
                    .input()
                    .map_or(what.to_string(), |i| format!("{what} {:?}", i.dims)),
                None => what.to_string(),
            };
            self.push(&name.text, CompletionItemKind::VARIABLE, detail, None);
        }
    }

    /// The layers' parameters defined before byte `before`.
    fn parameters(&mut self, doc: &Document, before: usize) {
        for b in &doc.outcome.bindings {
            let Some((_, at)) = doc.definition(&b.name) else {
                continue;
            };
            if at >= before {
                continue;
            }
            if let Some(l) = b.layer {
                for (field, dims) in l.params().into_iter().chain(l.state()) {
                    let full = format!("{}.{field}", b.name);
                    self.push(
                        &full,
                        CompletionItemKind::FIELD,
                        described(field, &dims),
                        None,
                    );
                }
            }
        }
    }

    /// After `h1.`: `weight` and `bias`, when `h1` holds a layer.
    fn fields(&mut self, doc: &Document, name: &str) {
        let Some(l) = doc.binding(name).and_then(|b| b.layer) else {
            return;
        };
        for (field, dims) in l.params().into_iter().chain(l.state()) {
            self.push(
                field,
                CompletionItemKind::FIELD,
                described(field, &dims),
                None,
            );
        }
    }

    /// A value of `kind`, in the statement starting at `start`.
    fn value(&mut self, doc: &Document, start: usize, kind: Kind) {
        match kind {
            Kind::Activation => {
                self.activations(doc, start);
                self.builtins(Role::Function);
            }
            Kind::Label => {
                for s in &doc.file.statements {
                    if let StmtKind::Label { name, .. } = &s.kind {
                        self.push(
                            &name.text,
                            CompletionItemKind::VARIABLE,
                            "label".to_string(),
                            None,
                        );
                    }
                }
            }
            Kind::Target => {
                self.activations(doc, start);
                self.parameters(doc, start);
            }
            Kind::Bool => {
                for w in ["true", "false"] {
                    self.push(w, CompletionItemKind::VALUE, "bool".to_string(), None);
                }
            }
            Kind::Choice(words) => {
                for w in words {
                    self.push(
                        w,
                        CompletionItemKind::ENUM_MEMBER,
                        "one of these words".to_string(),
                        None,
                    );
                }
            }
            Kind::OneOf(role) => self.builtins(role),
            Kind::Whole { .. } | Kind::Wholes | Kind::Real(_) | Kind::Str | Kind::Pair(_) => {}
        }
    }

    /// In a call to `b`: the positional parameter's values, and the names
    /// of the parameters not given yet.
    fn arguments(
        &mut self,
        doc: &Document,
        start: usize,
        b: &Builtin,
        index: usize,
        given: &[&str],
    ) {
        if let Some(p) = b.params.get(index).filter(|p| p.required()) {
            self.value(doc, start, p.kind);
        }
        for (i, p) in b.params.iter().enumerate() {
            if i >= index && !given.contains(&p.name) {
                self.param(p, CompletionItemKind::PROPERTY);
            }
        }
    }
}

/// "parameter [32, 128]", or "state [6]" for a running statistic.
fn described(field: &str, dims: &[usize]) -> String {
    let what = if field.starts_with("running_") {
        "state"
    } else {
        "parameter"
    };
    let dims: Vec<String> = dims.iter().map(usize::to_string).collect();
    format!("{what} [{}]", dims.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contexts_from_the_text_before_the_cursor() {
        assert_eq!(context(""), Context::Statement);
        assert_eq!(context("inp"), Context::Statement);
        assert_eq!(context("h2 = re"), Context::Binding { name: "h2" });
        assert_eq!(context("label y: cl"), Context::Label);
        assert_eq!(
            context("train {\n  batch: 4\n  ep"),
            Context::SettingKey {
                block: "\n  batch: 4\n  "
            }
        );
        assert!(matches!(
            context("train {\n  data: mn"),
            Context::Value(Kind::OneOf(Role::DataSource))
        ));
        assert_eq!(
            context("h = linear(relu(x), 8, "),
            Context::Arg {
                func: "linear",
                index: 2,
                given: vec![]
            }
        );
        assert!(matches!(
            context("d = dropout(h, mode: c"),
            Context::Value(Kind::Choice(_))
        ));
        assert_eq!(context("loss = l1(h1."), Context::Field { name: "h1" });
        assert_eq!(context("h = relu(x) # a (comment"), Context::Nothing);
        assert_eq!(context("train {\n  data: csv(\"da"), Context::Nothing);
        assert_eq!(
            context("train {\n  data: csv(\"a\\\"b\", te"),
            Context::Arg {
                func: "csv",
                index: 1,
                given: vec![]
            }
        );
    }

    #[test]
    fn a_statement_ended_on_an_earlier_line_is_not_continued() {
        let text = "h = relu(x)\nd = dropout(h,\n  0.5)\nou";
        let end = text.len();
        assert_eq!(
            statement_start(text, end),
            text.rfind('\n').unwrap_or(0) + 1
        );
        let in_call = text.find("0.5").unwrap_or(0);
        assert_eq!(
            statement_start(text, in_call),
            text.find("d =").unwrap_or(0)
        );
    }
}
