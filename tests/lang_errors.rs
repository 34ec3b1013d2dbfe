//! Every kind of error (and warning) the checker reports, rendered as a user
//! sees it. One snapshot per kind, in tests/snapshots/.

use netc::lang::parse_and_check;

/// The rendered diagnostics for `src`, or the warnings of a file that checks.
fn report(src: &str) -> String {
    match parse_and_check("models/test.net", src) {
        Ok(m) if m.warnings.is_empty() => "ok".to_string(),
        Ok(m) => format!("ok, with warnings:\n{}", m.warnings.render()),
        Err(d) => d.render(),
    }
}

/// A small valid net; each test breaks one thing in it.
const BASE: &str = "net t v1
input x: 16
label y: classes(4)
h1 = relu(linear(x, 8))
out = linear(h1, 4)
loss = cross_entropy(out, y) + 0.1 * l1(h1)
train { data: synthetic(samples: 64), batch: 8, steps: 10 }
";

/// `BASE` with `from` replaced by `to` (which must occur).
fn with(from: &str, to: &str) -> String {
    assert!(BASE.contains(from), "{from:?} is not in the base file");
    BASE.replacen(from, to, 1)
}

macro_rules! snap {
    ($name:ident, $src:expr) => {
        #[test]
        fn $name() {
            insta::assert_snapshot!(stringify!($name), report(&$src));
        }
    };
}

#[test]
fn the_base_file_checks() {
    assert_eq!(report(BASE), "ok");
}

// ---- syntax ----
snap!(syntax_missing_equals, with("h1 = relu", "h1 relu"));
snap!(
    syntax_unclosed_bracket,
    with("h1 = relu(linear(x, 8))", "h1 = relu(linear(x, 8)")
);
snap!(
    syntax_mismatched_bracket,
    with("linear(x, 8))", "linear(x, 8]]")
);
snap!(syntax_missing_comma, with("linear(x, 8)", "linear(x 8)"));
snap!(syntax_bad_version_line, with("net t v1", "net t 1"));
snap!(
    syntax_unterminated_string,
    with("data: synthetic(samples: 64)", "data: csv(\"a.csv)")
);
snap!(
    syntax_errors_in_several_statements,
    with(
        "h1 = relu(linear(x, 8))\nout = linear(h1, 4)",
        "h1 = relu(linear(x, 8)) h\nout = linear(h1 4)"
    )
);
snap!(
    syntax_nested_too_deeply,
    with(
        "relu(linear(x, 8))",
        &format!("{}linear(x, 8){}", "relu(".repeat(40), ")".repeat(40))
    )
);
snap!(syntax_misspelt_keyword, with("input x: 16", "inptu x: 16"));
snap!(
    syntax_equals_in_named_argument,
    with("linear(x, 8)", "linear(x, units=8)")
);
snap!(
    syntax_not_a_statement,
    with("out = linear(h1, 4)", "out = linear(h1, 4)\n(out)")
);

// ---- names ----
snap!(unknown_function, with("relu(linear", "rleu(linear"));
snap!(
    function_in_the_wrong_place,
    with("relu(linear(x, 8))", "l1(linear(x, 8))")
);
snap!(unknown_name, with("linear(h1, 4)", "linear(h2, 4)"));
snap!(
    duplicate_name,
    with(
        "out = linear(h1, 4)",
        "h1 = linear(h1, 4)\nout = linear(h1, 4)"
    )
);
snap!(
    use_before_definition,
    with(
        "h1 = relu(linear(x, 8))\nout = linear(h1, 4)",
        "h1 = relu(linear(x, 8))\nout = linear(h2, 4)\nh2 = relu(h1)"
    )
);
snap!(
    refers_to_itself,
    with("h1 = relu(linear(x, 8))", "h1 = relu(linear(h1, 8))")
);
snap!(
    label_used_as_activation,
    with("linear(x, 8)", "linear(y, 8)")
);
snap!(
    keyword_as_name,
    with(
        "out = linear(h1, 4)\nloss = cross_entropy(out",
        "train = linear(h1, 4)\nloss = cross_entropy(train"
    )
);
snap!(second_input, with("label y", "input z: 3\nlabel y"));

// ---- arguments ----
snap!(
    unknown_option,
    with(
        "relu(linear(x, 8))",
        "dropout(relu(linear(x, 8)), p: 0.5, mdoe: classic)"
    )
);
snap!(
    too_many_arguments,
    with("relu(linear(x, 8))", "relu(linear(x, 8), 3)")
);
snap!(missing_argument, with("linear(x, 8)", "linear(x)"));
snap!(
    argument_given_twice,
    with("linear(x, 8)", "linear(x, 8, units: 9)")
);
snap!(
    positional_after_named,
    with("linear(x, 8)", "linear(x, units: 8, false)")
);
snap!(not_a_whole_number, with("linear(x, 8)", "linear(x, 0.5)"));
snap!(not_an_activation, with("linear(x, 8)", "linear(8, x)"));
snap!(
    bad_choice,
    with(
        "relu(linear(x, 8))",
        "dropout(relu(linear(x, 8)), mode: clasic)"
    )
);
snap!(number_not_finite, with("0.1 * l1", "1e999 * l1"));

// ---- shapes ----
snap!(
    shape_mismatch_add,
    with(
        "out = linear(h1, 4)",
        "h2 = relu(linear(x, 4))\nout = linear(h1, 4) + h2 + h1"
    )
);
snap!(
    shape_mismatch_loss,
    with("out = linear(h1, 4)", "out = linear(h1, 3)")
);
snap!(needs_flatten, with("input x: 16", "input x: 4x4"));
snap!(
    second_layer_in_binding,
    with(
        "h1 = relu(linear(x, 8))\nout = linear(h1, 4)",
        "out = linear(relu(linear(x, 8)), 4)"
    )
    .replace("l1(h1)", "l1(out)")
);

// ---- numbers ----
snap!(
    dropout_p_out_of_range,
    with("relu(linear(x, 8))", "dropout(relu(linear(x, 8)), 1.5)")
);
snap!(
    dropout_p_negative,
    with("relu(linear(x, 8))", "dropout(relu(linear(x, 8)), p: -0.1)")
);
snap!(
    zero_learning_rate,
    with("steps: 10", "steps: 10, optimizer: sgd(lr: 0)")
);
snap!(negative_size, with("linear(x, 8)", "linear(x, -8)"));
snap!(
    size_too_large,
    with("linear(x, 8)", "linear(x, 99999999999)")
);
snap!(
    too_large_to_allocate,
    with("input x: 16", "input x: 100000").replace("linear(x, 8)", "linear(x, 100000)")
);
snap!(
    activations_too_large_to_allocate,
    with("batch: 8", "batch: 2000000000")
);

// ---- loss ----
snap!(penalty_on_unknown_name, with("l1(h1)", "l1(h3)"));
snap!(
    penalty_on_unknown_parameter,
    with(
        "0.1 * l1(h1)",
        "0.1 * l1(h1.wieght) + 1e-4 * sumsq(out.weight)"
    )
);
snap!(
    penalty_on_layer_without_parameters,
    with("out = linear(h1, 4)", "h2 = relu(h1)\nout = linear(h2, 4)")
        .replace("l1(h1)", "l1(h2.weight)")
);
snap!(
    loss_for_values_on_classes,
    with("cross_entropy(out, y)", "mse(out, y)")
);
snap!(
    loss_for_classes_on_values,
    with("classes(4)", "values(4)")
        .replace("data: synthetic(samples: 64)", "data: csv(\"train.csv\")")
);
snap!(
    nll_without_log_softmax,
    with("cross_entropy(out, y)", "nll(out, y)")
);
snap!(
    loss_without_data_term,
    with("cross_entropy(out, y) + 0.1 * l1(h1)", "0.1 * l1(h1)")
);
snap!(
    loss_with_two_data_terms,
    with("+ 0.1 * l1(h1)", "+ cross_entropy(out, y)")
);
snap!(
    scaled_data_term,
    with("cross_entropy(out, y)", "2 * cross_entropy(out, y)")
);
snap!(
    loss_second_argument_not_label,
    with("cross_entropy(out, y)", "cross_entropy(out, h1)")
);

// ---- train block ----
snap!(unknown_data_source, with("synthetic(samples: 64)", "mnsit"));
snap!(
    data_does_not_fit_input,
    with("synthetic(samples: 64)", "digits")
);
snap!(unknown_train_setting, with("batch: 8", "bacth: 8"));
snap!(epochs_and_steps, with("steps: 10", "steps: 10, epochs: 2"));
snap!(missing_data, with("data: synthetic(samples: 64), ", ""));
snap!(
    unknown_optimizer,
    with("steps: 10", "steps: 10, optimizer: adma(lr: 1e-3)")
);
snap!(
    nesterov_without_momentum,
    with(
        "steps: 10",
        "steps: 10, optimizer: sgd(lr: 0.1, nesterov: true)"
    )
);
snap!(
    synthetic_target_out_of_range,
    with("samples: 64", "samples: 64, target: 4")
);

// ---- file structure ----
snap!(unknown_version, with("net t v1", "net t v2"));
snap!(
    missing_header_and_label,
    with("net t v1\n", "").replace("label y: classes(4)\n", "")
);
snap!(empty_file, String::from("# nothing here\n"));

// ---- warnings ----
snap!(
    unused_activation,
    with("out = linear(h1, 4)", "h2 = tanh(h1)\nout = linear(h1, 4)")
);
snap!(
    cross_entropy_on_softmax,
    with("out = linear(h1, 4)", "out = softmax(linear(h1, 4))")
);
snap!(
    mc_without_dropout,
    with("steps: 10", "steps: 10, eval: mc(passes: 10)")
);

// ---- many errors at once ----
snap!(
    every_error_in_a_file_is_reported,
    "net t v1
input x: 16
label y: classes(4)
h1 = rleu(linear(x, 8))
h2 = dropout(h1, p: 1.5)
out = linear(h3, 4)
loss = cross_entropy(out, y) + 0.1 * l1(h9)
train { data: mnsit, batch: 0 }
"
);

// ---- numbers beyond f32, in which training runs ----
snap!(coefficient_beyond_f32, with("0.1 * l1", "1e39 * l1"));
snap!(
    learning_rate_rounds_to_zero_in_f32,
    with("steps: 10", "steps: 10, optimizer: adam(lr: 1e-50)")
);

// ---- training controls: schedules, ramps, validation, early stopping ----
snap!(
    unknown_schedule,
    with("steps: 10", "steps: 10, schedule: cosin(min_lr: 0)")
);
snap!(
    milestones_not_increasing,
    with("steps: 10", "steps: 10, schedule: multistep([30, 20, 40])")
);
snap!(
    momentum_ramp_needs_sgd,
    with(
        "steps: 10",
        "steps: 10, optimizer: adam, momentum_ramp: ramp(0.5, 0.99, epochs: 3)"
    )
);
snap!(
    early_stop_needs_validation,
    with("steps: 10", "steps: 10, early_stop: val_loss(patience: 3)")
);
snap!(
    validation_neither_fraction_nor_count,
    with("steps: 10", "steps: 10, validation: 2.5")
);
snap!(
    unknown_early_stop_metric,
    with("steps: 10", "steps: 10, validation: 8, early_stop: val_los")
);
snap!(
    max_norm_not_positive,
    with("linear(x, 8)", "linear(x, 8, max_norm: 0)")
);

#[test]
fn every_control_checks_together() {
    let src = with(
        "steps: 10",
        "steps: 10, optimizer: sgd(lr: 0.1), schedule: step(every: 2, gamma: 0.5, per: step), \
         warmup: 3, warmup_start: 0.2, momentum_ramp: ramp(0.5, 0.9, epochs: 2), \
         clip_grad_norm: 1, max_norm: 2, validation: 0.25, early_stop: val_acc(patience: 2, min_delta: 0.01)",
    );
    let m = parse_and_check("t.net", &src).unwrap();
    let c = &m.train.controls;
    assert_eq!(c.schedule.warmup, 3);
    assert_eq!(c.clip_grad_norm, Some(1.0));
    assert_eq!(
        m.max_norms(),
        [
            ("h1.weight".to_string(), 2.0),
            ("out.weight".to_string(), 2.0)
        ]
    );
    let e = c.early_stop.unwrap();
    assert_eq!((e.patience, e.min_delta), (2, 0.01));
    // The ramp's first momentum is the optimizer's from the first step.
    assert_eq!(
        m.train.optimizer,
        netc::optim::OptimizerConfig::Sgd(netc::optim::SgdConfig {
            momentum: 0.5,
            ..netc::optim::SgdConfig::new(0.1)
        })
    );
}

// ---- no cascades: one mistake, one error, and no warning resting on it ----

/// `BASE` with a dropout layer and Monte-Carlo evaluation, which checks clean.
fn with_mc(from: &str, to: &str) -> String {
    let src = BASE
        .replacen(
            "out = linear(h1, 4)",
            "d = dropout(h1, 0.5)\nout = linear(d, 4)",
            1,
        )
        .replacen(
            "steps: 10 }",
            "steps: 10, eval: scaling + mc(passes: 5) }",
            1,
        );
    assert_eq!(report(&src), "ok");
    assert!(src.contains(from), "{from:?}");
    src.replacen(from, to, 1)
}

/// The error alone: no "Monte-Carlo evaluation of a net without dropout"
/// when the dropout layer is the part that failed.
#[test]
fn no_warning_rests_on_a_part_that_failed_to_check() {
    for (from, to) in [
        ("dropout(h1, 0.5)", "dropout(h1, 1.5)"),
        ("dropout(h1, 0.5)", "dropout(h1, 0.5"),
        ("dropout(h1, 0.5)", "Dropout(h1, 0.5)"),
        ("linear(x, 8)", "linear(x, 0)"),
    ] {
        let r = report(&with_mc(from, to));
        assert!(!r.contains("warning"), "{to}:\n{r}");
        assert_eq!(r.matches("error").count(), 1, "{to}:\n{r}");
    }
}
snap!(
    unknown_function_does_not_cascade_to_its_arguments,
    with_mc("dropout(h1, 0.5)", "Dropout(h1, 0.5)")
);
snap!(
    unknown_loss_term_does_not_cascade_to_no_data_term,
    with("cross_entropy(out, y)", "crossentropy(out, y)")
);

// ---- hints for the mistakes people bring from elsewhere ----
snap!(
    hint_hyphen_in_a_name,
    with("synthetic(samples: 64)", "fashion-mnist")
);
snap!(hint_slash_comment, format!("// a net\n{BASE}"));
snap!(
    hint_list_in_parentheses,
    with(
        "steps: 10 }",
        "steps: 10, optimizer: adam(betas: (0.9, 0.999)) }"
    )
);
snap!(
    hint_scaled_penalty_misspelt,
    with("0.1 * l1(h1)", "0.1 * L1(h1)")
);
snap!(
    hint_dropout_rate,
    with_mc("dropout(h1, 0.5)", "dropout(h1, rate: 0.5)")
);
snap!(hint_non_ascii_name, BASE.replace("h1", "hé"));
snap!(
    hint_eval_mode_in_a_binding,
    with("h1 = relu(linear(x, 8))", "h1 = mc(linear(x, 8))")
);

// ---- convolutional nets: impossible shapes, with the shapes involved ----

/// A small valid conv net on the embedded digits; each test breaks one thing.
const CONV: &str = "net t v1
input x: 1x8x8
label y: classes(10)
c1 = relu(conv2d(x, 4, 3, padding: 1))
p1 = max_pool2d(c1, 2)
c2 = relu(conv2d(p1, 8, 3))
b = batch_norm(c2)
out = linear(flatten(b), 10)
loss = cross_entropy(out, y) + 0.01 * l1(c1) + 1e-4 * sumsq(c1.weight)
train { data: digits, batch: 8, steps: 10 }
";

/// `CONV` with `from` replaced by `to` (which must occur).
fn conv_with(from: &str, to: &str) -> String {
    assert!(CONV.contains(from), "{from:?} is not in the conv file");
    CONV.replacen(from, to, 1)
}

#[test]
fn the_conv_file_checks() {
    assert_eq!(report(CONV), "ok");
}

snap!(
    conv_kernel_larger_than_input,
    conv_with("conv2d(p1, 8, 3)", "conv2d(p1, 8, 5)")
);
snap!(
    conv_kernel_larger_than_padded_input,
    conv_with(
        "conv2d(x, 4, 3, padding: 1)",
        "conv2d(x, 4, 11, padding: 1)"
    )
);
snap!(
    pool_window_larger_than_input,
    conv_with("max_pool2d(c1, 2)", "avg_pool2d(c1, 9)")
);
snap!(
    conv_stride_zero,
    conv_with("conv2d(p1, 8, 3)", "conv2d(p1, 8, 3, stride: 0)")
);
snap!(
    conv_on_an_image_without_channels,
    conv_with("input x: 1x8x8", "input x: 8x8")
);
snap!(
    conv_on_a_flat_activation,
    conv_with(
        "c2 = relu(conv2d(p1, 8, 3))",
        "c2 = relu(conv2d(flatten(p1), 8, 3))"
    )
);
snap!(
    linear_on_a_feature_map_without_flatten,
    conv_with("linear(flatten(b), 10)", "linear(b, 10)")
);
snap!(
    dropout2d_on_a_flat_activation,
    conv_with(
        "out = linear(flatten(b), 10)",
        "d = dropout2d(flatten(b))\nout = linear(d, 10)"
    )
);
snap!(
    batch_norm_on_a_matrix,
    conv_with("input x: 1x8x8", "input x: 8x8").replace(
        "c1 = relu(conv2d(x, 4, 3, padding: 1))",
        "n = batch_norm(x)\nc1 = relu(conv2d(x, 4, 3, padding: 1))"
    )
);
snap!(
    conv_output_too_large,
    conv_with("conv2d(p1, 8, 3)", "conv2d(p1, 8, 3, padding: 100000)")
);
snap!(
    conv_and_batch_norm_in_one_binding,
    conv_with(
        "c2 = relu(conv2d(p1, 8, 3))\nb = batch_norm(c2)",
        "b = batch_norm(conv2d(p1, 8, 3))"
    )
);
snap!(
    penalty_on_a_running_statistic,
    conv_with("sumsq(c1.weight)", "sumsq(b.running_var)")
);
snap!(
    image_set_on_an_input_of_another_shape,
    conv_with("input x: 1x8x8", "input x: 4x4x4")
);
snap!(
    batch_norm_on_features_with_a_batch_of_one,
    conv_with(
        "out = linear(flatten(b), 10)",
        "f = batch_norm(flatten(b))\nout = linear(f, 10)"
    )
    .replace("batch: 8", "batch: 1")
);
snap!(
    conv_with_too_many_weights,
    conv_with("conv2d(p1, 8, 3)", "conv2d(p1, 100000000, 3)")
);
