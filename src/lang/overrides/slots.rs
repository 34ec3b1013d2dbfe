//! The settings a `--set` key can reach in one parsed file, each with the
//! text edit that puts a new value in place: replace the number as written,
//! or insert the argument or setting where it is absent (its default applies).

use crate::lang::ast::{Arg, Entry, Expr, ExprKind, File, StmtKind};
use crate::lang::builtins::{self, Param, Role, TRAIN_SETTINGS};
use crate::lang::span::Span;

/// What a setting accepts (ranges and whole numbers are left to the checker).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Number,
    Bool,
    Choice(&'static [&'static str]),
    /// A whole call to a builtin of this role (`schedule=cosine(min_lr: 0)`),
    /// checked with the file.
    Call(Role),
}

impl Kind {
    /// Whether `value` is written as this kind of value.
    pub fn admits(self, value: &str) -> bool {
        match self {
            Kind::Number => is_number(value),
            Kind::Bool => value == "true" || value == "false",
            Kind::Choice(words) => words.contains(&value),
            Kind::Call(role) => {
                let head = value.split('(').next().unwrap_or("").trim();
                let closed = !value.contains('(') || value.trim_end().ends_with(')');
                builtins::lookup(role, head).is_some() && closed && !value.contains('\n')
            }
        }
    }

    /// "a number", "`true` or `false`", ...
    pub fn describe(self) -> String {
        match self {
            Kind::Number => "a number".to_string(),
            Kind::Bool => "`true` or `false`".to_string(),
            Kind::Choice(words) => {
                let quoted: Vec<String> = words.iter().map(|w| format!("`{w}`")).collect();
                format!("one of {}", quoted.join(", "))
            }
            Kind::Call(role) => {
                let names: Vec<String> = builtins::of(role)
                    .map(|b| format!("`{}`", b.example))
                    .collect();
                format!("a call such as {}", names.join(", "))
            }
        }
    }
}

/// A number as the grammar writes one: `32`, `0.5`, `.5`, `1e-4`, `-3`.
pub fn is_number(s: &str) -> bool {
    let s = s.strip_prefix('-').unwrap_or(s);
    let (mantissa, exponent) = match s.find(['e', 'E']) {
        Some(i) => (&s[..i], Some(&s[i + 1..])),
        None => (s, None),
    };
    let digits = |t: &str| !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit());
    let mantissa_ok = match mantissa.split_once('.') {
        Some((int, frac)) => {
            (digits(int) && (frac.is_empty() || digits(frac))) || (int.is_empty() && digits(frac))
        }
        None => digits(mantissa),
    };
    let exponent_ok = exponent.is_none_or(|e| digits(e.strip_prefix(['+', '-']).unwrap_or(e)));
    mantissa_ok && exponent_ok
}

/// Replace `span` with `before + value + after` (an empty span inserts).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Edit {
    pub span: Span,
    pub before: String,
    pub after: String,
}

impl Edit {
    fn replace(span: Span) -> Self {
        Edit {
            span,
            before: String::new(),
            after: String::new(),
        }
    }

    fn insert(at: usize, before: String, after: String) -> Self {
        Edit {
            span: Span::at(at),
            before,
            after,
        }
    }
}

/// One setting of the file a key reaches.
#[derive(Clone, Debug)]
pub struct Slot {
    /// The canonical key, e.g. `d.p`, `l1(h1)`, `lr`, `data.test_fraction`.
    pub key: String,
    /// Other spellings: `optimizer.lr`, `l1.h1`, `test_fraction`.
    pub aliases: Vec<String>,
    pub kind: Kind,
    /// The value as written, or `None` when the default applies.
    pub written: Option<String>,
    /// The default, shown when nothing is written.
    pub default: String,
    pub edit: Edit,
}

impl Slot {
    /// Whether `key` is this slot's key or one of its aliases.
    pub fn answers(&self, key: &str) -> bool {
        self.key == key || self.aliases.iter().any(|a| a == key)
    }
}

impl Kind {
    /// What `--set` accepts for a builtin's parameter (`None`: not settable,
    /// e.g. an activation or a path).
    fn of(kind: builtins::Kind) -> Option<Kind> {
        match kind {
            builtins::Kind::Whole { .. } | builtins::Kind::Real(_) => Some(Kind::Number),
            builtins::Kind::Bool => Some(Kind::Bool),
            builtins::Kind::Choice(words) => Some(Kind::Choice(words)),
            _ => None,
        }
    }
}

/// The parameters of builtin `func` of `role`, in positional order (none
/// for a name the language does not know).
fn params_of(role: Role, func: &str) -> &'static [Param] {
    builtins::lookup(role, func).map_or(&[], |b| b.params)
}

/// Whether optimizer `func` takes a setting called `name`.
pub fn takes(func: &str, name: &str) -> bool {
    params_of(Role::Optimizer, func)
        .iter()
        .any(|p| p.name == name && Kind::of(p.kind).is_some())
}

/// Every settable slot of `file` (parsed from `src`), in file order. A key
/// may appear twice (two dropouts in one binding): the caller refuses it.
pub fn slots(src: &str, file: &File) -> Vec<Slot> {
    let mut out = Vec::new();
    for s in &file.statements {
        match &s.kind {
            StmtKind::Binding { name, value } if name.text == "loss" => {
                penalty_slots(src, value, &mut out);
            }
            StmtKind::Binding { name, value } => call_slots(src, &name.text, value, &mut out),
            StmtKind::Train { entries, .. } => train_slots(src, s.span, entries, &mut out),
            _ => {}
        }
    }
    out
}

/// The arguments of `linear` and `dropout` calls in a binding: `NAME.ARG`.
fn call_slots(src: &str, binding: &str, e: &Expr, out: &mut Vec<Slot>) {
    match &e.kind {
        ExprKind::Call { func, args } => {
            let prefix = format!("{binding}.");
            let role = Role::Function;
            arg_slots(src, e, (role, &func.text), args, &prefix, &[], out);
            for a in args {
                call_slots(src, binding, &a.value, out);
            }
        }
        ExprKind::Sum(xs) | ExprKind::Product(xs) | ExprKind::List(xs) => {
            xs.iter().for_each(|x| call_slots(src, binding, x, out))
        }
        _ => {}
    }
}

/// One slot per settable parameter of the call `call` to `func` (a builtin
/// of that role). `bare` lists parameter names that also answer without the prefix.
fn arg_slots(
    src: &str,
    call: &Expr,
    (role, func): (Role, &str),
    args: &[Arg],
    prefix: &str,
    bare: &[&str],
    out: &mut Vec<Slot>,
) {
    for (i, param) in params_of(role, func).iter().enumerate() {
        let Some(kind) = Kind::of(param.kind) else {
            continue;
        };
        let name = param.name;
        let given = args
            .iter()
            .enumerate()
            .find(|(j, a)| match &a.name {
                Some(n) => n.text == name,
                None => *j == i,
            })
            .map(|(_, a)| a);
        let (edit, written) = match given {
            Some(a) => (
                Edit::replace(a.value.span),
                Some(text(src, a.value.span).to_string()),
            ),
            None => (insert_arg(src, call, args, name), None),
        };
        // A bare name, where one is allowed, is the canonical key: it is the
        // one users guess (`lr`), and the one sweeps record.
        let long = format!("{prefix}{name}");
        let (key, aliases) = if bare.contains(&name) {
            (name.to_string(), vec![long])
        } else {
            (long, Vec::new())
        };
        out.push(Slot {
            key,
            aliases,
            kind,
            written,
            default: param.default.to_string(),
            edit,
        });
    }
}

/// Where a named argument `name: VALUE` goes in a call that lacks it: after
/// its last argument, or inside `()`, or (a bare word like `digits`) by
/// turning the word into a call.
fn insert_arg(src: &str, call: &Expr, args: &[Arg], name: &str) -> Edit {
    match (&call.kind, args.last()) {
        (_, Some(last)) => after_item(src, last.span.end, &format!("{name}: ")),
        (ExprKind::Call { .. }, None) => {
            // The span ends just after the closing `)`.
            Edit::insert(
                call.span.end.saturating_sub(1),
                format!("{name}: "),
                String::new(),
            )
        }
        _ => Edit {
            span: call.span,
            before: format!("{}({name}: ", text(src, call.span)),
            after: ")".to_string(),
        },
    }
}

/// An insertion after a list item ending at `end`: `, NEW`, or ` NEW`
/// after a trailing comma that is already there.
fn after_item(src: &str, end: usize, head: &str) -> Edit {
    let rest = src.get(end..).unwrap_or("");
    let skipped = rest.len() - rest.trim_start().len();
    if rest[skipped..].starts_with(',') {
        Edit::insert(end + skipped + 1, format!(" {head}"), String::new())
    } else {
        Edit::insert(end, format!(", {head}"), String::new())
    }
}

fn text(src: &str, span: Span) -> &str {
    src.get(span.start..span.end).unwrap_or("")
}

/// The coefficients of the loss's penalties: `l1(h1)` (also `l1.h1`).
fn penalty_slots(src: &str, value: &Expr, out: &mut Vec<Slot>) {
    let terms: &[Expr] = match &value.kind {
        ExprKind::Sum(t) => t,
        _ => std::slice::from_ref(value),
    };
    for t in terms {
        let (coef, call) = match &t.kind {
            ExprKind::Product(f) if f.len() == 2 => match (&f[0].kind, &f[1].kind) {
                (ExprKind::Number(_), ExprKind::Call { .. }) => (Some(&f[0]), &f[1]),
                (ExprKind::Call { .. }, ExprKind::Number(_)) => (Some(&f[1]), &f[0]),
                _ => continue,
            },
            ExprKind::Call { .. } => (None, t),
            _ => continue,
        };
        let ExprKind::Call { func, args } = &call.kind else {
            continue;
        };
        if builtins::lookup(Role::Penalty, &func.text).is_none() {
            continue;
        }
        let Some(target) = args.first() else { continue };
        let target = text(src, target.value.span);
        let (edit, written) = match coef {
            Some(c) => (Edit::replace(c.span), Some(text(src, c.span).to_string())),
            None => (
                Edit::insert(call.span.start, String::new(), " * ".to_string()),
                None,
            ),
        };
        out.push(Slot {
            key: format!("{}({target})", func.text),
            aliases: vec![format!("{}.{target}", func.text)],
            kind: Kind::Number,
            written,
            default: "1".to_string(),
            edit,
        });
    }
}

/// `l1(h1)` or `l1.h1` (or `sumsq(h1.weight)`, `sumsq.h1.weight`): the
/// penalty and its target, if `key` is written as a penalty.
pub fn penalty_key(key: &str) -> Option<(&str, &str)> {
    let (kind, target) = match key.strip_suffix(')') {
        Some(k) => k.split_once('(')?,
        None => key.split_once('.')?,
    };
    let is_name = |s: &str| {
        s.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
            && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
    };
    let target_ok =
        !target.is_empty() && target.split('.').count() <= 2 && target.split('.').all(is_name);
    (builtins::lookup(Role::Penalty, kind).is_some() && target_ok).then_some((kind, target))
}

/// A penalty the loss does not have yet: appended as `+ VALUE * kind(target)`.
pub fn new_penalty(file: &File, kind: &str, target: &str) -> Option<Slot> {
    let loss = file.statements.iter().find_map(|s| match &s.kind {
        StmtKind::Binding { name, value } if name.text == "loss" => Some(value),
        _ => None,
    })?;
    Some(Slot {
        key: format!("{kind}({target})"),
        aliases: vec![format!("{kind}.{target}")],
        kind: Kind::Number,
        written: None,
        default: "0 (not in the loss)".to_string(),
        edit: Edit::insert(
            loss.span.end,
            " + ".to_string(),
            format!(" * {kind}({target})"),
        ),
    })
}

/// The train block: its numbers (bare keys), and the settings of its data
/// source (`data.ARG`), optimizer (`lr`, also `optimizer.lr`) and
/// Monte-Carlo evaluation (`eval.passes`, also `passes`).
fn train_slots(src: &str, block: Span, entries: &[Entry], out: &mut Vec<Slot>) {
    let entry = |k: &str| entries.iter().find(|e| e.key.text == k);
    let new_entry = |head: String| match entries.last() {
        Some(last) => after_item(src, last.span.end, &head),
        // `train { }` without settings does not check; keep an edit anyway.
        None => Edit::insert(block.end.saturating_sub(1), head, " ".to_string()),
    };
    // The block's numbers; its other settings are reached through their builtins.
    let numbers = TRAIN_SETTINGS
        .iter()
        .filter(|p| Kind::of(p.kind) == Some(Kind::Number));
    for param in numbers {
        let key = param.name;
        // `steps` replaces an `epochs` line and the reverse: the two exclude each other.
        let other = match key {
            "epochs" => entry("steps"),
            "steps" => entry("epochs"),
            _ => None,
        };
        let (edit, written) = match (entry(key), other) {
            (Some(e), _) => (
                Edit::replace(e.value.span),
                Some(text(src, e.value.span).to_string()),
            ),
            (None, Some(o)) => (
                Edit {
                    span: o.span,
                    before: format!("{key}: "),
                    after: String::new(),
                },
                None,
            ),
            (None, None) => (new_entry(format!("{key}: ")), None),
        };
        let default = match other {
            Some(_) => "none".to_string(),
            None => param.default.to_string(),
        };
        out.push(Slot {
            key: key.to_string(),
            aliases: Vec::new(),
            kind: Kind::Number,
            written,
            default,
            edit,
        });
    }
    if let Some(e) = entry("data")
        && let Some((func, args)) = word_or_call(&e.value)
    {
        // `seed` alone is the run's seed; a source's own seed is `data.seed`.
        let bare = [
            "samples",
            "test_samples",
            "target",
            "test_fraction",
            "header",
            "normalize",
        ];
        let source = (Role::DataSource, func);
        arg_slots(src, &e.value, source, args, "data.", &bare, out);
    }
    match entry("optimizer").and_then(|e| word_or_call(&e.value).map(|w| (e, w))) {
        Some((e, (func, args))) => {
            let bare = [
                "lr",
                "momentum",
                "dampening",
                "nesterov",
                "weight_decay",
                "eps",
            ];
            let optimizer = (Role::Optimizer, func);
            arg_slots(src, &e.value, optimizer, args, "optimizer.", &bare, out);
        }
        None if entry("optimizer").is_none() => {
            // The default optimizer: setting one of its options writes it out.
            let default = match builtins::train_setting("optimizer").map(|p| p.default) {
                Some(builtins::Default::Word(w)) => w,
                _ => "",
            };
            for param in params_of(Role::Optimizer, default) {
                let Some(kind) = Kind::of(param.kind) else {
                    continue;
                };
                let name = param.name;
                out.push(Slot {
                    key: name.to_string(),
                    aliases: vec![format!("optimizer.{name}")],
                    kind,
                    written: None,
                    default: param.default.to_string(),
                    edit: Edit {
                        after: ")".to_string(),
                        ..new_entry(format!("optimizer: {default}({name}: "))
                    },
                });
            }
        }
        None => {}
    }
    if let Some(e) = entry("eval") {
        mc_slots(src, &e.value, out);
    }
    for (key, role) in CALL_SETTINGS {
        let (edit, written) = match entry(key) {
            Some(e) => (
                Edit::replace(e.value.span),
                Some(text(src, e.value.span).to_string()),
            ),
            None => (new_entry(format!("{key}: ")), None),
        };
        out.push(Slot {
            key: key.to_string(),
            aliases: Vec::new(),
            kind: Kind::Call(role),
            written,
            default: "none".to_string(),
            edit,
        });
        // And the numbers of the call the file writes: `schedule.gamma`.
        if let Some(e) = entry(key)
            && let Some((func, args)) = word_or_call(&e.value)
        {
            let prefix = format!("{key}.");
            arg_slots(src, &e.value, (role, func), args, &prefix, &[], out);
        }
    }
}

/// The settings whose value is a call, replaced whole by `--set KEY=CALL`.
const CALL_SETTINGS: [(&str, Role); 3] = [
    ("schedule", Role::Schedule),
    ("momentum_ramp", Role::Ramp),
    ("early_stop", Role::Monitor),
];

const MC: (Role, &str) = (Role::EvalMode, "mc");

/// `mc(passes: N)` inside the `eval:` setting.
fn mc_slots(src: &str, e: &Expr, out: &mut Vec<Slot>) {
    match &e.kind {
        ExprKind::Call { func, args } if func.text == "mc" => {
            arg_slots(src, e, MC, args, "eval.", &["passes"], out);
        }
        ExprKind::Path(p) if p.len() == 1 && p[0].text == "mc" => {
            arg_slots(src, e, MC, &[], "eval.", &["passes"], out);
        }
        ExprKind::Sum(xs) => xs.iter().for_each(|x| mc_slots(src, x, out)),
        _ => {}
    }
}

/// A word or a call: `digits` and `digits(...)` name the same source.
fn word_or_call(e: &Expr) -> Option<(&str, &[Arg])> {
    match &e.kind {
        ExprKind::Path(p) if p.len() == 1 => Some((p[0].text.as_str(), &[])),
        ExprKind::Call { func, args } => Some((func.text.as_str(), args.as_slice())),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_read_as_the_grammar_writes_them() {
        for ok in ["32", "0.5", ".5", "5.", "1e-4", "-3", "2E+3"] {
            assert!(is_number(ok), "{ok}");
        }
        for bad in [
            "", "-", ".", "e3", "1e", "0x10", "1,2", "nan", "inf", "1.2.3", "--1",
        ] {
            assert!(!is_number(bad), "{bad}");
        }
    }

    #[test]
    fn penalty_keys_have_two_spellings() {
        assert_eq!(penalty_key("l1(h1)"), Some(("l1", "h1")));
        assert_eq!(penalty_key("l1.h1"), Some(("l1", "h1")));
        assert_eq!(
            penalty_key("sumsq(h1.weight)"),
            Some(("sumsq", "h1.weight"))
        );
        assert_eq!(penalty_key("sumsq.h1.weight"), Some(("sumsq", "h1.weight")));
        assert_eq!(penalty_key("l3(h1)"), None);
        assert_eq!(penalty_key("d.p"), None);
        assert_eq!(penalty_key("l1()"), None);
        assert_eq!(penalty_key("l1(h 1)"), None);
    }
}
