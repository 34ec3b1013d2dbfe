use crate::lang::parse_and_check;

const MLP: &str = "net mlp v1
input x: 128
label y: classes(2)
h1 = relu(linear(x, 32))
h2 = relu(linear(h1, 16))
out = linear(h2, 2)
loss = cross_entropy(out, y) + 0.5 * l1(h1) + 0.01 * l2(h2)
train { data: synthetic(samples: 4000, target: 1), batch: 4, steps: 1000, optimizer: sgd(lr: 1e-4), seed: 0 }
";

#[test]
fn the_reference_mlp_checks() {
    let m = match parse_and_check("mlp.net", MLP) {
        Ok(m) => m,
        Err(d) => panic!("{}", d.render()),
    };
    assert_eq!(m.param_count(), 128 * 32 + 32 + 32 * 16 + 16 + 16 * 2 + 2);
    assert_eq!(m.bindings.len(), 3);
    assert_eq!(m.loss.penalties.len(), 2);
    assert!(m.warnings.is_empty());
}

/// `MLP` with `from` replaced by `to` (which must occur).
fn mlp_with(from: &str, to: &str) -> String {
    assert!(MLP.contains(from), "{from:?} is not in MLP");
    MLP.replacen(from, to, 1)
}

/// Every error and warning of `src`, rendered; empty when it checks clean.
fn diagnostics(src: &str) -> String {
    match parse_and_check("t.net", src) {
        Ok(m) => m.warnings.render(),
        Err(d) => d.render(),
    }
}

#[test]
fn a_setting_left_out_is_the_tables_default() {
    use crate::lang::builtins::train_setting;
    let without = parse_and_check("a.net", &mlp_with(", optimizer: sgd(lr: 1e-4)", "")).unwrap();
    let defaults: Vec<String> = ["optimizer", "eval"]
        .iter()
        .map(|k| format!("{k}: {}", train_setting(k).unwrap().default))
        .collect();
    let written = mlp_with("optimizer: sgd(lr: 1e-4)", &defaults.join(", "));
    let with = parse_and_check("b.net", &written).unwrap();
    assert_eq!(without.train, with.train);
}

#[test]
fn an_evaluation_mode_without_parameters_takes_no_arguments() {
    let text = diagnostics(&mlp_with("seed: 0", "seed: 0, eval: scaling(2)"));
    assert!(
        text.contains("`scaling` takes no arguments, but 1 was given"),
        "{text}"
    );
    let text = diagnostics(&mlp_with("seed: 0", "seed: 0, eval: scaling(x: 2)"));
    assert!(text.contains("`scaling` has no option `x`"), "{text}");
    assert!(text.contains("`scaling` takes no options"), "{text}");
}

#[test]
fn betas_must_be_a_list_of_two_numbers_in_range() {
    let adam = |betas: &str| {
        diagnostics(&mlp_with(
            "sgd(lr: 1e-4)",
            &format!("adamw(lr: 1e-3, betas: {betas})"),
        ))
    };
    let text = adam("0.9");
    assert!(
        text.contains("`betas` must be a list of two numbers, found `0.9`"),
        "{text}"
    );
    assert!(text.contains("expected `[beta1, beta2]`"), "{text}");
    assert!(
        text.contains("for example: `betas: [0.9, 0.999]`"),
        "{text}"
    );
    assert!(adam("[0.9, 1.5]").contains("betas"));
    assert_eq!(adam("[0.8, 0.99]"), "");
}

#[test]
fn units_beyond_the_tables_bound_are_too_large() {
    let text = diagnostics(&mlp_with("linear(x, 32)", "linear(x, 99999999999)"));
    assert!(
        text.contains("`units` is too large: at most 2147483648"),
        "{text}"
    );
}
