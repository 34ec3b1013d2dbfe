//! Calls and their arguments: matching them to a signature, and reading
//! numbers, flags, choices and strings with messages that say what is wrong.

use super::Checker;
use crate::lang::ast::{Arg, Expr, ExprKind, Ident};
use crate::lang::builtins::{Builtin, Default, Kind, Param};
use crate::lang::diag::{Diagnostic, quote};
use crate::lang::span::Span;
use crate::lang::suggest::did_you_mean;
pub use crate::range::Range;

/// The arguments of one call, matched to its builtin's parameters.
pub struct Bound<'e> {
    builtin: &'static Builtin,
    slots: Vec<Option<&'e Expr>>,
}

impl<'e> Bound<'e> {
    /// The argument given for parameter `i`, if any.
    pub fn get(&self, i: usize) -> Option<&'e Expr> {
        self.slots.get(i).copied().flatten()
    }

    /// The argument given for the parameter called `name`, if any.
    pub fn arg(&self, name: &str) -> Option<&'e Expr> {
        self.get(self.builtin.param(name)?.0)
    }

    /// The parameter called `name` (a name the table lacks is a bug in the caller).
    fn param(&self, name: &str) -> Option<&'static Param> {
        let found = self.builtin.param(name).map(|(_, p)| p);
        debug_assert!(found.is_some(), "`{}` has no `{name}`", self.builtin.name);
        found
    }
}

/// How an expression reads in "found ..." messages.
pub fn describe(e: &Expr) -> String {
    match &e.kind {
        ExprKind::Number(n) => format!("`{}`", quote(&n.text)),
        ExprKind::Str { raw, .. } => format!("the string {}", quote(raw)),
        ExprKind::Path(parts) => {
            let t: Vec<&str> = parts.iter().map(|p| p.text.as_str()).collect();
            format!("`{}`", quote(&t.join(".")))
        }
        ExprKind::Call { func, .. } => format!("a call to `{}`", quote(&func.text)),
        ExprKind::List(_) => "a list".to_string(),
        ExprKind::Sum(_) => "a sum".to_string(),
        ExprKind::Product(_) => "a product".to_string(),
    }
}

/// The single name an expression is, if it is one (`x`, not `h1.weight`).
pub fn plain_name(e: &Expr) -> Option<&Ident> {
    match &e.kind {
        ExprKind::Path(parts) if parts.len() == 1 => parts.first(),
        _ => None,
    }
}

/// `[beta1, beta2]` for `betas`: a pair written with its items' names.
fn pair_shape(name: &str) -> String {
    let item = name.strip_suffix('s').unwrap_or(name);
    format!("[{item}1, {item}2]")
}

fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        format!("{n} {word}")
    } else {
        format!("{n} {word}s")
    }
}

/// Options people write under another framework's name: (theirs, ours, what ours is).
const ALIASES: &[(&str, &str, &str)] = &[
    (
        "rate",
        "p",
        "the probability of dropping a unit (Keras's `rate`)",
    ),
    ("prob", "p", "the probability of dropping a unit"),
    ("drop_prob", "p", "the probability of dropping a unit"),
    ("learning_rate", "lr", "the learning rate"),
    (
        "out_features",
        "units",
        "the number of output units (PyTorch's `out_features`)",
    ),
    ("features", "units", "the number of output units"),
    (
        "beta",
        "betas",
        "Adam's two decay rates, as a list `[0.9, 0.999]`",
    ),
];

impl Checker<'_> {
    /// Matches `args` to the parameters of `sig`: positional ones in order,
    /// then named ones. Reports every mismatch; `None` if there was any.
    pub fn bind<'e>(
        &mut self,
        args: &'e [Arg],
        call: Span,
        sig: &'static Builtin,
    ) -> Option<Bound<'e>> {
        let mut slots: Vec<Option<&'e Expr>> = vec![None; sig.params.len()];
        let mut given_at: Vec<Option<Span>> = vec![None; sig.params.len()];
        let mut ok = true;
        let mut seen_named = false;
        let positional = args.iter().filter(|a| a.name.is_none()).count();
        for (i, arg) in args.iter().enumerate() {
            let slot = match &arg.name {
                None => {
                    if seen_named {
                        let hint = sig
                            .params
                            .get(i)
                            .map_or(String::new(), |p| format!(": `{}: ...`", p.name));
                        self.push(
                            Diagnostic::error(arg.span, "a positional argument after a named one")
                                .label("give its name")
                                .help(format!(
                                    "name this argument{hint}, or move it before the named ones"
                                )),
                        );
                        ok = false;
                        continue;
                    }
                    if i >= sig.params.len() {
                        let most = sig.params.len();
                        let all_required = sig.params.iter().all(Param::required);
                        let takes = if most == 0 {
                            "no arguments".to_string()
                        } else if all_required {
                            plural(most, "argument")
                        } else {
                            format!("at most {}", plural(most, "argument"))
                        };
                        let extra = args[most..]
                            .iter()
                            .filter(|a| a.name.is_none())
                            .fold(arg.span, |s, a| s.to(a.span));
                        self.push(
                            Diagnostic::error(
                                extra,
                                format!(
                                    "`{}` takes {takes}, but {} given",
                                    sig.name,
                                    if positional == 1 {
                                        "1 was".to_string()
                                    } else {
                                        format!("{positional} were")
                                    }
                                ),
                            )
                            .label(if positional - most == 1 {
                                "unexpected argument"
                            } else {
                                "unexpected arguments"
                            })
                            .help(format!("for example: `{}`", sig.example)),
                        );
                        return None;
                    }
                    i
                }
                Some(name) => {
                    seen_named = true;
                    match sig.param(&name.text) {
                        Some((j, _)) => j,
                        None => {
                            self.unknown_option(sig, name);
                            ok = false;
                            continue;
                        }
                    }
                }
            };
            if let Some(first) = given_at[slot] {
                let pname = sig.params[slot].name;
                self.push(
                    Diagnostic::error(arg.span, format!("`{pname}` is given twice"))
                        .label("given again here")
                        .with(first, "first given here"),
                );
                ok = false;
                continue;
            }
            given_at[slot] = Some(arg.span);
            slots[slot] = Some(&arg.value);
        }
        for (j, param) in sig.params.iter().enumerate() {
            let pname = param.name;
            if param.required() && slots[j].is_none() && given_at[j].is_none() && ok {
                self.push(
                    Diagnostic::error(call, format!("`{}` needs its `{pname}` argument", sig.name))
                        .label(format!("`{pname}` is missing"))
                        .help(format!("for example: `{}`", sig.example)),
                );
                ok = false;
            }
        }
        ok.then_some(Bound {
            builtin: sig,
            slots,
        })
    }

    /// An option written with another framework's name for it.
    fn unknown_option(&mut self, sig: &Builtin, name: &Ident) {
        let names = sig.params.iter().map(|p| p.name);
        let mut d = Diagnostic::error(
            name.span,
            format!("`{}` has no option `{}`", sig.name, quote(&name.text)),
        )
        .label("unknown option");
        let alias = ALIASES
            .iter()
            .find(|(other, ours, _)| *other == name.text && names.clone().any(|n| n == *ours));
        let suggestion = match alias {
            Some((_, ours, what)) => Some(format!("write `{ours}`: netc's name for {what}")),
            None => did_you_mean(&name.text, names.clone()).map(|s| format!("did you mean `{s}`?")),
        };
        d = match suggestion {
            Some(s) => d.help(s),
            None if sig.params.is_empty() => d.help(format!("`{}` takes no options", sig.name)),
            None => {
                let list: Vec<String> = names.map(|n| format!("`{n}`")).collect();
                d.help(format!("its options are {}", list.join(", ")))
            }
        };
        self.push(d);
    }

    /// The real parameter `name` of a bound call: the argument checked
    /// against the parameter's range, or the default.
    pub fn real_param(&mut self, b: &Bound, name: &str) -> Option<f64> {
        let p = b.param(name)?;
        let Kind::Real(range) = p.kind else {
            return None;
        };
        match b.arg(name) {
            Some(e) => self.real(e, name, range),
            None => p.default.num(),
        }
    }

    /// The whole-number parameter `name`, checked against its bounds, or its
    /// default (`None` also when it has none, e.g. a derived one).
    pub fn whole_param(&mut self, b: &Bound, name: &str) -> Option<u64> {
        self.whole_param_with(b, name, None)
    }

    /// [`Checker::whole_param`], with `note` added to a "too large" error.
    pub fn whole_param_with(&mut self, b: &Bound, name: &str, note: Option<String>) -> Option<u64> {
        let p = b.param(name)?;
        let Kind::Whole { min, max } = p.kind else {
            return None;
        };
        match b.arg(name) {
            Some(e) => self.whole_with(e, name, min, max, note),
            None => p.default.num().map(|v| v as u64),
        }
    }

    /// The pair parameter `name` (`betas: [0.9, 0.999]`), each number checked
    /// against its range, or its default.
    pub fn pair_param(&mut self, b: &Bound, name: &str) -> Option<(f64, f64)> {
        let p = b.param(name)?;
        let Kind::Pair(range) = p.kind else {
            return None;
        };
        let Some(e) = b.arg(name) else {
            return match p.default {
                Default::Pair(x, y) => Some((x, y)),
                _ => None,
            };
        };
        match &e.kind {
            ExprKind::List(items) if items.len() == 2 => {
                let x = self.real(&items[0], name, range);
                let y = self.real(&items[1], name, range);
                Some((x?, y?))
            }
            _ => {
                self.push(
                    Diagnostic::error(
                        e.span,
                        format!(
                            "`{name}` must be a list of two numbers, found {}",
                            describe(e)
                        ),
                    )
                    .label(format!("expected `{}`", pair_shape(name)))
                    .help(format!("for example: `{name}: {}`", p.default)),
                );
                None
            }
        }
    }

    /// The `true`/`false` parameter `name`, or its default.
    pub fn bool_param(&mut self, b: &Bound, name: &str) -> Option<bool> {
        let p = b.param(name)?;
        match (b.arg(name), p.default) {
            (Some(e), _) => self.boolean(e, name),
            (None, Default::Bool(v)) => Some(v),
            (None, _) => None,
        }
    }

    /// The choice parameter `name`, as the index of its word, or its default's.
    pub fn choice_param(&mut self, b: &Bound, name: &str) -> Option<usize> {
        let p = b.param(name)?;
        let Kind::Choice(words) = p.kind else {
            return None;
        };
        match (b.arg(name), p.default) {
            (Some(e), _) => self.choice(e, name, words),
            (None, Default::Word(w)) => words.iter().position(|x| *x == w),
            (None, _) => None,
        }
    }

    /// A number literal's value, or an error naming the setting.
    fn number(&mut self, e: &Expr, what: &str) -> Option<f64> {
        let ExprKind::Number(n) = &e.kind else {
            self.push(
                Diagnostic::error(
                    e.span,
                    format!("`{what}` must be a number, found {}", describe(e)),
                )
                .label("expected a number"),
            );
            return None;
        };
        match n.value() {
            Some(v) => Some(v),
            None => {
                self.push(
                    Diagnostic::error(
                        e.span,
                        format!("`{}` is not a finite number", quote(&n.text)),
                    )
                    .label(format!("`{what}` must be finite")),
                );
                None
            }
        }
    }

    /// A real setting in `range`.
    pub fn real(&mut self, e: &Expr, what: &str, range: Range) -> Option<f64> {
        let v = self.number(e, what)?;
        if !range.admits(v) {
            let mut d = Diagnostic::error(
                e.span,
                format!(
                    "`{what}` must be {}, found {}",
                    range.describe(),
                    describe(e)
                ),
            )
            .label(format!("out of range for `{what}`"));
            if what == "p" {
                d = d.help(
                    "`p` is the probability of dropping a unit: 0 keeps every unit, 0.5 drops half",
                );
            }
            self.push(d);
            return None;
        }
        // Training runs in f32: past its range a setting turns into infinity
        // (a coefficient of 1e39) or, for one that must be positive, into 0.
        let single = v as f32;
        let lost = single.is_infinite() || (matches!(range, Range::Positive) && single == 0.0);
        if lost {
            self.push(
                Diagnostic::error(
                    e.span,
                    format!(
                        "`{what}` is out of the range of f32, in which netc trains: found {}",
                        describe(e)
                    ),
                )
                .label(if single == 0.0 {
                    "rounds to 0"
                } else {
                    "rounds to infinity"
                })
                .note(format!(
                    "f32 holds magnitudes from {:e} to {:e}",
                    f32::from_bits(1),
                    f32::MAX
                )),
            );
            return None;
        }
        Some(v)
    }

    /// A whole-number setting in `min..=max`.
    pub fn whole(&mut self, e: &Expr, what: &str, min: u64, max: u64) -> Option<u64> {
        self.whole_with(e, what, min, max, None)
    }

    /// [`Checker::whole`], with `note` added to a "too large" error.
    pub fn whole_with(
        &mut self,
        e: &Expr,
        what: &str,
        min: u64,
        max: u64,
        note: Option<String>,
    ) -> Option<u64> {
        let v = self.number(e, what)?;
        let ExprKind::Number(n) = &e.kind else {
            return None;
        };
        let too_large = |note: Option<String>| {
            let d = Diagnostic::error(
                e.span,
                format!(
                    "`{what}` is too large: at most {max}, found {}",
                    describe(e)
                ),
            )
            .label("too large");
            match note {
                Some(n) => d.note(n),
                None => d,
            }
        };
        let w = match n.whole().filter(|_| v >= 0.0) {
            Some(w) => w,
            // Whole, but beyond what a u64 or an f64 holds exactly (`1e30`, 2^64).
            None if v >= 0.0 && v.fract() == 0.0 => {
                let d = if v >= max as f64 {
                    too_large(note)
                } else {
                    Diagnostic::error(
                        e.span,
                        format!(
                            "`{what}` must be written out in digits at this size, found {}",
                            describe(e)
                        ),
                    )
                    .label("not exact")
                };
                self.push(d);
                return None;
            }
            None => {
                let msg = if v < 0.0 {
                    format!("`{what}` must be at least {min}, found {}", describe(e))
                } else {
                    format!("`{what}` must be a whole number, found {}", describe(e))
                };
                self.push(Diagnostic::error(e.span, msg).label("expected a whole number"));
                return None;
            }
        };
        if w < min {
            self.push(
                Diagnostic::error(
                    e.span,
                    format!("`{what}` must be at least {min}, found {}", describe(e)),
                )
                .label("too small"),
            );
            return None;
        }
        if w > max {
            self.push(too_large(note));
            return None;
        }
        Some(w)
    }

    /// `true` or `false`.
    pub fn boolean(&mut self, e: &Expr, what: &str) -> Option<bool> {
        self.choice(e, what, &["false", "true"]).map(|i| i == 1)
    }

    /// One of the words in `options`, as its index.
    pub fn choice(&mut self, e: &Expr, what: &str, options: &[&str]) -> Option<usize> {
        let list: Vec<String> = options.iter().map(|o| format!("`{o}`")).collect();
        let list = match list.as_slice() {
            [a, b] => format!("{a} or {b}"),
            _ => list.join(", "),
        };
        let Some(word) = plain_name(e) else {
            self.push(
                Diagnostic::error(
                    e.span,
                    format!("`{what}` must be {list}, found {}", describe(e)),
                )
                .label("not one of the choices"),
            );
            return None;
        };
        if let Some(i) = options.iter().position(|o| *o == word.text) {
            return Some(i);
        }
        let mut d = Diagnostic::error(
            e.span,
            format!("`{what}` must be {list}, found {}", describe(e)),
        )
        .label("not one of the choices");
        if let Some(s) = did_you_mean(&word.text, options.iter().copied()) {
            d = d.help(format!("did you mean `{s}`?"));
        }
        self.push(d);
        None
    }

    /// A string literal's value.
    pub fn string(&mut self, e: &Expr, what: &str) -> Option<String> {
        match &e.kind {
            ExprKind::Str { value, .. } if !value.is_empty() => Some(value.clone()),
            ExprKind::Str { .. } => {
                self.push(
                    Diagnostic::error(e.span, format!("`{what}` is empty")).label("empty path"),
                );
                None
            }
            _ => {
                self.push(
                    Diagnostic::error(
                        e.span,
                        format!("`{what}` must be a string, found {}", describe(e)),
                    )
                    .label("expected a string")
                    .help(format!("quote it: `\"{}\"`", self.text(e.span))),
                );
                None
            }
        }
    }

    /// The source text of `span`, shortened for messages.
    pub fn text(&self, span: Span) -> String {
        quote(self.src.get(span.start..span.end).unwrap_or(""))
    }
}
