//! The functions of convolutional nets: `conv2d`, the poolings, `dropout2d`
//! and `batch_norm`, with their shapes, and the impossible ones refused with
//! the shapes involved.

use super::args::Bound;
use super::net::{Scope, shape_text};
use super::{Checker, MAX_SIZE};
use crate::lang::ast::{Expr, ExprKind};
use crate::lang::builtins::dropout_mode;
use crate::lang::diag::Diagnostic;
use crate::lang::model::{self, Chw, Layer, Pool};

/// A checked call: its expression and per-sample shape.
type Out = Option<(model::Expr, Vec<usize>)>;

/// `2×2`
fn square(k: u64) -> String {
    format!("{k}×{k}")
}

impl Checker<'_> {
    /// `conv2d(x, channels, kernel, stride: 1, padding: 0, bias: true)`.
    pub(super) fn conv2d(&mut self, call: &Expr, bound: &Bound, x: Out, scope: &mut Scope) -> Out {
        let x_expr = bound.get(0)?;
        let input = x
            .as_ref()
            .and_then(|(_, shape)| self.image(x_expr, shape, "conv2d"));
        let channels = self.whole_param(bound, "channels");
        let kernel = self.whole_param(bound, "kernel");
        let stride = self.stride(bound, "conv2d", x.as_ref().map(|(_, s)| &s[..]), Some(1));
        let padding = self.whole_param(bound, "padding");
        let bias = self.bool_param(bound, "bias");
        let max_norm = bound
            .arg("max_norm")
            .map(|e| self.real(e, "max_norm", crate::range::Range::Positive));
        let (x, _) = x?;
        let max_norm = max_norm.map(|c| c.ok_or(())).transpose().ok()?;
        let (input, channels, kernel) = (input?, channels?, kernel?);
        let (stride, padding, bias) = (stride?, padding?, bias?);
        let at = bound.arg("kernel").map_or(call.span, |k| k.span);
        let (h, w) = self.window("conv2d", at, x_expr, input, kernel, stride, padding)?;
        let weights = channels as u128 * input.c as u128 * kernel as u128 * kernel as u128;
        if weights > MAX_SIZE as u128 {
            self.push(
                Diagnostic::error(
                    call.span,
                    format!("this convolution would have {weights} weights, more than {MAX_SIZE}"),
                )
                .label(format!(
                    "{channels} channels of {} × {}",
                    input.c,
                    square(kernel)
                ))
                .help("use fewer channels or a smaller kernel"),
            );
            return None;
        }
        let out = self.output_size(call, "conv2d", channels, h, w)?;
        scope.layers.push((
            call.span,
            Layer::Conv2d {
                in_channels: input.c,
                channels: out.c,
                kernel: kernel as usize,
                bias,
            },
        ));
        let expr = model::Expr::Conv2d {
            x: Box::new(x),
            input,
            channels: out.c,
            kernel: kernel as usize,
            stride: stride as usize,
            padding: padding as usize,
            bias,
            max_norm,
        };
        Some((expr, out.dims()))
    }

    /// `max_pool2d(x, kernel, stride: kernel)` and `avg_pool2d(...)`.
    pub(super) fn pool(&mut self, call: &Expr, pool: Pool, bound: &Bound, x: Out) -> Out {
        let x_expr = bound.get(0)?;
        let input = x
            .as_ref()
            .and_then(|(_, shape)| self.image(x_expr, shape, pool.name()));
        let kernel = self.whole_param(bound, "kernel");
        // The stride defaults to the kernel: windows side by side.
        let shape = x.as_ref().map(|(_, s)| &s[..]);
        let stride = self.stride(bound, pool.name(), shape, kernel);
        let (x, _) = x?;
        let (input, kernel, stride) = (input?, kernel?, stride?);
        let at = bound.arg("kernel").map_or(call.span, |k| k.span);
        let (h, w) = self.window(pool.name(), at, x_expr, input, kernel, stride, 0)?;
        let out = self.output_size(call, pool.name(), input.c as u64, h, w)?;
        let expr = model::Expr::Pool {
            pool,
            x: Box::new(x),
            input,
            kernel: kernel as usize,
            stride: stride as usize,
        };
        Some((expr, out.dims()))
    }

    /// `dropout2d(x, p: 0.5, mode: inverted)`.
    pub(super) fn dropout2d(&mut self, bound: &Bound, x: Out) -> Out {
        let x_expr = bound.get(0)?;
        let input = x
            .as_ref()
            .and_then(|(_, shape)| self.image(x_expr, shape, "dropout2d"));
        let p = self.real_param(bound, "p");
        let mode = self.choice_param(bound, "mode").map(dropout_mode);
        let (x, shape) = x?;
        let expr = model::Expr::Dropout2d {
            x: Box::new(x),
            input: input?,
            p: p?,
            mode: mode?,
        };
        Some((expr, shape))
    }

    /// `batch_norm(x)` on `[n]` or `[c, h, w]`.
    pub(super) fn batch_norm(
        &mut self,
        call: &Expr,
        bound: &Bound,
        x: Out,
        scope: &mut Scope,
    ) -> Out {
        let x_expr = bound.get(0)?;
        let (x, shape) = x?;
        let features = match shape[..] {
            [n] | [n, _, _] => n,
            _ => {
                let hint = match shape[..] {
                    [h, w] => format!(
                        "for an image, give it its channels (`1x{h}x{w}`); for features, `flatten({})`",
                        self.text(x_expr.span)
                    ),
                    _ => format!("flatten it first: `flatten({})`", self.text(x_expr.span)),
                };
                self.push(
                    Diagnostic::error(
                        x_expr.span,
                        format!(
                            "`batch_norm` normalises the features of `[n]` or the channels of `[c, h, w]`, but this has shape {}",
                            shape_text(&shape)
                        ),
                    )
                    .label(format!("shape {}", shape_text(&shape)))
                    .help(hint),
                );
                return None;
            }
        };
        scope
            .layers
            .push((call.span, Layer::BatchNorm { features }));
        let expr = model::Expr::BatchNorm {
            x: Box::new(x),
            input: shape.clone(),
        };
        Some((expr, shape))
    }

    /// The `stride` argument, or `default` when it is left out; a stride of
    /// 0, which would never move the window, is refused with the input's shape.
    fn stride(
        &mut self,
        bound: &Bound,
        func: &str,
        shape: Option<&[usize]>,
        default: Option<u64>,
    ) -> Option<u64> {
        let Some(arg) = bound.arg("stride") else {
            return default;
        };
        let zero = matches!(&arg.kind, ExprKind::Number(n) if n.value() == Some(0.0));
        if !zero {
            return self.whole_param(bound, "stride");
        }
        let mut d = Diagnostic::error(
            arg.span,
            format!("a stride of 0 never moves the window of `{func}`"),
        )
        .label("stride 0");
        if let (Some(shape), Some(x)) = (shape, bound.get(0)) {
            d = d.with(x.span, format!("shape {}", shape_text(shape)));
        }
        self.push(d.help("the stride is the step between windows, at least 1: `stride: 1` moves one pixel at a time"));
        None
    }

    /// Batch norm trains on the batch's variance per channel, which one value
    /// does not have: a batch of 1 on `[n]` (or `[c, 1, 1]`) is refused.
    pub(super) fn batch_norm_batch(&mut self, bindings: &[model::Binding], batch: usize) {
        if batch > 1 {
            return;
        }
        for b in bindings {
            let Some(Layer::BatchNorm { features }) = b.layer else {
                continue;
            };
            let one_value = matches!(
                b.expr.norm_input(),
                Some(shape) if shape.iter().product::<usize>() == features
            );
            let Some(span) = self.checked.get(&b.name).and_then(|c| c.layer_span) else {
                continue;
            };
            if one_value {
                self.push(
                    Diagnostic::error(
                        span,
                        "`batch_norm` needs more than one value per channel to train, but a batch of 1 gives it one",
                    )
                    .label("normalised by the batch's variance")
                    .help("train with `batch: 2` or more"),
                );
            }
        }
    }

    /// The sizes of a `[c, h, w]` shape, or an error saying what `func` needs.
    fn image(&mut self, x: &Expr, shape: &[usize], func: &str) -> Option<Chw> {
        if let [c, h, w] = *shape {
            return Some(Chw { c, h, w });
        }
        let is_input = self
            .input
            .as_ref()
            .is_some_and(|(i, _)| i.name == self.text(x.span));
        let help = match shape {
            [h, w] if is_input => format!(
                "declare the input with its channels: `input {}: 1x{h}x{w}`",
                self.text(x.span)
            ),
            [_] if func == "dropout2d" => {
                "a flat activation has no channels: use `dropout`".to_string()
            }
            [_] => {
                format!("a flat activation has no height or width: use `{func}` before `flatten`")
            }
            _ => "an image is `[channels, height, width]`, e.g. `input x: 1x28x28`".to_string(),
        };
        self.push(
            Diagnostic::error(
                x.span,
                format!(
                    "`{func}` needs a `[channels, height, width]` input, but this has shape {}",
                    shape_text(shape)
                ),
            )
            .label(format!("shape {}", shape_text(shape)))
            .help(help),
        );
        None
    }

    /// The output's height and width for windows of `kernel` × `kernel`,
    /// `stride` apart, on `input` padded by `padding`; or an error when the
    /// window does not fit.
    #[allow(clippy::too_many_arguments)]
    fn window(
        &mut self,
        func: &str,
        at: crate::lang::span::Span,
        x: &Expr,
        input: Chw,
        kernel: u64,
        stride: u64,
        padding: u64,
    ) -> Option<(u64, u64)> {
        let (h, w) = (input.h as u64 + 2 * padding, input.w as u64 + 2 * padding);
        if kernel <= h && kernel <= w {
            return Some(((h - kernel) / stride + 1, (w - kernel) / stride + 1));
        }
        let what = if func == "conv2d" { "kernel" } else { "window" };
        let (padded, fits) = if padding > 0 {
            (
                format!(
                    "its padded input ({h}×{w}: {}×{} with padding {padding})",
                    input.h, input.w
                ),
                format!("pad more, or use a kernel of at most {}", h.min(w)),
            )
        } else {
            let hint = if func == "conv2d" {
                format!(
                    "use a kernel of at most {}, or pad the input (`padding: 1`)",
                    h.min(w)
                )
            } else {
                format!(
                    "use a window of at most {}, or pool an earlier, larger activation",
                    h.min(w)
                )
            };
            (format!("its input ({h}×{w})"), hint)
        };
        self.push(
            Diagnostic::error(
                at,
                format!(
                    "the {what} ({}) of `{func}` is larger than {padded}",
                    square(kernel)
                ),
            )
            .label(format!("{what} {}", square(kernel)))
            .with(x.span, format!("shape {}", shape_text(&input.dims())))
            .help(fits),
        );
        None
    }

    /// `[channels, h, w]`, if it is not too many features for one sample.
    fn output_size(
        &mut self,
        call: &Expr,
        func: &str,
        channels: u64,
        h: u64,
        w: u64,
    ) -> Option<Chw> {
        let features = channels as u128 * h as u128 * w as u128;
        if features > MAX_SIZE as u128 {
            self.push(
                Diagnostic::error(
                    call.span,
                    format!(
                        "the output of `{func}` would be [{channels}, {h}, {w}]: {features} features per sample, more than {MAX_SIZE}"
                    ),
                )
                .label("too large")
                .help("use fewer channels, a larger stride or less padding"),
            );
            return None;
        }
        Some(Chw {
            c: channels as usize,
            h: h as usize,
            w: w as usize,
        })
    }
}
