//! A net as a PyTorch module: one attribute per layer, named as its
//! binding so that netc's `model.safetensors` is its state dict; `forward`
//! computes the bindings line by line as the `.net` file does; the loss is a
//! function beside the module.

use super::{ExportError, output};
use crate::lang::{
    Binding, DataLoss, DropoutMode, Expr, Func, Layer, Model, PenaltyKind, PenaltyTarget, Pool, num,
};

/// Python's keywords, which cannot name anything.
const KEYWORDS: &[&str] = &[
    "False", "None", "True", "and", "as", "assert", "async", "await", "break", "class", "continue",
    "def", "del", "elif", "else", "except", "finally", "for", "from", "global", "if", "import",
    "in", "is", "lambda", "nonlocal", "not", "or", "pass", "raise", "return", "try", "while",
    "with", "yield",
];

/// Names the generated file uses itself: a binding so named would hide them.
const OWN: &[&str] = &[
    "torch",
    "nn",
    "F",
    "self",
    "named",
    "classic_dropout",
    "classic_dropout2d",
    "model",
    "acts",
];

/// What `nn.Module` already has (PyTorch 1.13 to 2.x): a layer so named
/// would replace it.
const MODULE: &[&str] = &[
    "T_destination",
    "add_module",
    "apply",
    "bfloat16",
    "buffers",
    "call_super_init",
    "children",
    "compile",
    "cpu",
    "cuda",
    "double",
    "dump_patches",
    "eval",
    "extra_repr",
    "float",
    "forward",
    "get_buffer",
    "get_extra_state",
    "get_parameter",
    "get_submodule",
    "half",
    "ipu",
    "load_state_dict",
    "modules",
    "mtia",
    "named_buffers",
    "named_children",
    "named_modules",
    "named_parameters",
    "parameters",
    "register_backward_hook",
    "register_buffer",
    "register_forward_hook",
    "register_forward_pre_hook",
    "register_full_backward_hook",
    "register_full_backward_pre_hook",
    "register_load_state_dict_post_hook",
    "register_load_state_dict_pre_hook",
    "register_module",
    "register_parameter",
    "register_state_dict_post_hook",
    "register_state_dict_pre_hook",
    "requires_grad_",
    "set_extra_state",
    "set_submodule",
    "share_memory",
    "state_dict",
    "to",
    "to_empty",
    "train",
    "training",
    "type",
    "xpu",
    "zero_grad",
];

/// The Python source of a module for `model`, its class named after the net
/// (`fashion_bn` → `FashionBn`).
pub fn pytorch(model: &Model) -> Result<String, ExportError> {
    check_names(model)?;
    let out = output(model)?;
    let class = class_name(&model.name);
    let mut s = header(model, &class);
    s.push_str(&format!("\n\nclass {class}(nn.Module):\n"));
    s.push_str(&format!(
        "    \"\"\"The net `{}` of `{}`.\"\"\"\n\n",
        model.name, model.path
    ));
    s.push_str("    def __init__(self):\n        super().__init__()\n");
    for b in &model.bindings {
        if let Some(layer) = &b.layer {
            s.push_str(&format!("        self.{} = {}\n", b.name, module(layer, b)));
        }
    }
    s.push_str(&format!(
        "\n    def forward(self, {}, named=False):\n",
        model.input.name
    ));
    s.push_str(&format!(
        "        \"\"\"`{}` `[N, {}]` → `{}` `[N, {}]`; with `named`, every named activation in a dict.\"\"\"\n",
        model.input.name,
        dims_text(&model.input.dims),
        out.name,
        dims_text(&out.shape)
    ));
    for b in &model.bindings {
        s.push_str(&format!(
            "        {} = {}  # [N, {}]\n",
            b.name,
            code(&b.expr, &b.name),
            dims_text(&b.shape)
        ));
    }
    let names: Vec<String> = model
        .bindings
        .iter()
        .map(|b| format!("\"{0}\": {0}", b.name))
        .collect();
    s.push_str("        if named:\n            return {\n");
    for line in wrap(&names, 16) {
        s.push_str(&format!("{line},\n"));
    }
    s.push_str(&format!("            }}\n        return {}\n", out.name));
    s.push_str(&helpers(model));
    s.push_str(&loss(model));
    Ok(s)
}

/// The file's docstring and imports.
fn header(model: &Model, class: &str) -> String {
    let bn = model
        .bindings
        .iter()
        .any(|b| matches!(b.layer, Some(Layer::BatchNorm { .. })));
    let mut s = format!(
        "\"\"\"The net `{}` of `{}` as a PyTorch module,\n\
         written by `netc export` (netc {}).\n\n\
         Its state dict is netc's `model.safetensors`:\n\n\
         \x20   model = {class}()\n\
         \x20   model.load_state_dict(safetensors.torch.load_file(\"model.safetensors\"))\n\
         \x20   model.eval()  # dropout off, batch norm on its running statistics\n\
         \x20   out = model(x)\n",
        model.name,
        model.path,
        env!("CARGO_PKG_VERSION")
    );
    if bn {
        s.push_str(
            "\nnetc does not store batch norm's `num_batches_tracked` (PyTorch reads it only\n\
             with `momentum=None`): `load_state_dict` fills it in when a state dict\n\
             without PyTorch's version metadata, as `load_file` returns, lacks it.\n",
        );
    }
    s.push_str("\"\"\"\n\nimport torch\nfrom torch import nn\nimport torch.nn.functional as F\n");
    s
}

/// `items` joined by `, ` into lines of about 88 characters, each indented
/// by `indent` spaces (without the last comma).
fn wrap(items: &[String], indent: usize) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    for item in items {
        match lines.last_mut() {
            Some(l) if l.len() + item.len() + 2 <= 88 => {
                l.push_str(", ");
                l.push_str(item);
            }
            _ => lines.push(format!("{}{item}", " ".repeat(indent))),
        }
    }
    lines
}

/// `[28, 28]` → `28, 28`.
fn dims_text(dims: &[usize]) -> String {
    dims.iter()
        .map(usize::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// `fashion_bn` → `FashionBn`; `_x` → `X`.
fn class_name(net: &str) -> String {
    let mut s = String::new();
    for part in net.split('_').filter(|p| !p.is_empty()) {
        let mut c = part.chars();
        if let Some(first) = c.next() {
            s.push(first.to_ascii_uppercase());
            s.push_str(c.as_str());
        }
    }
    if s.is_empty() || s.starts_with(|c: char| c.is_ascii_digit()) {
        s.insert_str(0, "Net");
    }
    s
}

/// Refuses a name Python cannot take where the module puts it.
fn check_names(model: &Model) -> Result<(), ExportError> {
    let refuse = |name: &str, line: usize, why: &str| ExportError::Name {
        name: name.to_string(),
        line,
        target: "a PyTorch module",
        why: why.to_string(),
    };
    let named = [
        (&model.input.name, 0usize, false),
        (&model.label.name, 0, false),
    ]
    .into_iter()
    .chain(
        model
            .bindings
            .iter()
            .map(|b| (&b.name, b.line, b.layer.is_some())),
    );
    for (name, line, layer) in named {
        if KEYWORDS.contains(&name.as_str()) {
            return Err(refuse(name, line, "it is a Python keyword; rename it"));
        }
        if OWN.contains(&name.as_str()) {
            return Err(refuse(
                name,
                line,
                "the generated module uses it for itself; rename it",
            ));
        }
        if layer && (MODULE.contains(&name.as_str()) || name.starts_with("__")) {
            return Err(refuse(
                name,
                line,
                "`nn.Module` has an attribute of that name, which the layer would replace; rename it",
            ));
        }
    }
    Ok(())
}

/// The `nn` module of a layer: `nn.Linear(784, 128)`.
fn module(layer: &Layer, b: &Binding) -> String {
    let no_bias = |bias: bool| if bias { "" } else { ", bias=False" };
    match *layer {
        Layer::Linear {
            inputs,
            units,
            bias,
        } => format!("nn.Linear({inputs}, {units}{})", no_bias(bias)),
        Layer::Conv2d {
            in_channels,
            channels,
            kernel,
            bias,
        } => {
            let (stride, padding) = conv_settings(&b.expr).unwrap_or((1, 0));
            let mut s = format!("nn.Conv2d({in_channels}, {channels}, {kernel}");
            if stride != 1 {
                s.push_str(&format!(", stride={stride}"));
            }
            if padding != 0 {
                s.push_str(&format!(", padding={padding}"));
            }
            format!("{s}{})", no_bias(bias))
        }
        Layer::BatchNorm { features } => {
            let d = if b.expr.norm_input().is_some_and(|i| i.len() == 3) {
                2
            } else {
                1
            };
            format!("nn.BatchNorm{d}d({features})")
        }
    }
}

/// The stride and padding of the `conv2d` in `e`.
fn conv_settings(e: &Expr) -> Option<(usize, usize)> {
    match e {
        Expr::Conv2d {
            stride, padding, ..
        } => Some((*stride, *padding)),
        _ => e.inputs().into_iter().find_map(conv_settings),
    }
}

/// The Python expression computing `e` in `forward`, in the binding `binding`.
fn code(e: &Expr, binding: &str) -> String {
    let arg = |i: usize| code(e.inputs()[i], binding);
    match e {
        Expr::Name(n) => n.clone(),
        Expr::Linear { .. } | Expr::Conv2d { .. } | Expr::BatchNorm { .. } => {
            format!("self.{binding}({})", arg(0))
        }
        Expr::Pool {
            pool,
            kernel,
            stride,
            ..
        } => {
            let f = match pool {
                Pool::Max => "F.max_pool2d",
                Pool::Avg => "F.avg_pool2d",
            };
            if stride == kernel {
                format!("{f}({}, {kernel})", arg(0))
            } else {
                format!("{f}({}, {kernel}, stride={stride})", arg(0))
            }
        }
        Expr::Apply { func, .. } => match func {
            Func::Relu => format!("F.relu({})", arg(0)),
            Func::Sigmoid => format!("torch.sigmoid({})", arg(0)),
            Func::Tanh => format!("torch.tanh({})", arg(0)),
            Func::Softmax => format!("F.softmax({}, dim=1)", arg(0)),
            Func::LogSoftmax => format!("F.log_softmax({}, dim=1)", arg(0)),
            Func::Flatten => format!("torch.flatten({}, 1)", arg(0)),
        },
        Expr::Dropout { p, mode, .. } | Expr::Dropout2d { p, mode, .. } => {
            let f = match (e, mode) {
                (Expr::Dropout { .. }, DropoutMode::Inverted) => "F.dropout",
                (Expr::Dropout { .. }, DropoutMode::Classic) => "classic_dropout",
                (_, DropoutMode::Inverted) => "F.dropout2d",
                (_, DropoutMode::Classic) => "classic_dropout2d",
            };
            format!("{f}({}, {}, self.training)", arg(0), num(*p))
        }
        Expr::Add(terms) => terms
            .iter()
            .map(|t| code(t, binding))
            .collect::<Vec<_>>()
            .join(" + "),
    }
}

/// The functions for classic dropout, when the net uses it.
fn helpers(model: &Model) -> String {
    fn uses(e: &Expr, two_d: bool) -> bool {
        let here = match e {
            Expr::Dropout { mode, .. } => !two_d && *mode == DropoutMode::Classic,
            Expr::Dropout2d { mode, .. } => two_d && *mode == DropoutMode::Classic,
            _ => false,
        };
        here || e.inputs().into_iter().any(|x| uses(x, two_d))
    }
    let mut s = String::new();
    for (two_d, name, f, what) in [
        (false, "classic_dropout", "F.dropout", "unit"),
        (true, "classic_dropout2d", "F.dropout2d", "channel"),
    ] {
        if model.bindings.iter().any(|b| uses(&b.expr, two_d)) {
            s.push_str(&format!(
                "\n\ndef {name}(x, p, training):\n    \
                 \"\"\"Classic dropout (Hinton et al. 2012): while training, each {what} is dropped\n    \
                 with probability p and the kept ones are not scaled; at evaluation every\n    \
                 {what} is scaled by 1 - p (netc's `mode: classic`).\"\"\"\n    \
                 if training:\n        return {f}(x, p, True) * (1 - p)\n    \
                 return x * (1 - p)\n"
            ));
        }
    }
    s
}

/// `def loss(model, x, y)`: the data term averaged over the batch, each
/// penalty summed over it, as netc trains.
fn loss(model: &Model) -> String {
    let input = &model.input.name;
    let act = |n: &str| {
        if n == input {
            input.clone()
        } else {
            format!("acts[\"{n}\"]")
        }
    };
    let data = match model.loss.data.kind {
        DataLoss::CrossEntropy => "F.cross_entropy",
        DataLoss::Nll => "F.nll_loss",
        DataLoss::Mse => "F.mse_loss",
    };
    let label = &model.label.name;
    let mut terms = vec![format!("{data}({}, {label})", act(&model.loss.data.on))];
    for p in &model.loss.penalties {
        let of = match &p.target {
            PenaltyTarget::Activation(n) => act(n),
            PenaltyTarget::Param(n) => format!("model.{n}"),
        };
        let norm = match p.kind {
            PenaltyKind::L1 => format!("{of}.abs().sum()"),
            PenaltyKind::L2 => format!("{of}.pow(2).sum().sqrt()"),
            PenaltyKind::SumSq => format!("{of}.pow(2).sum()"),
        };
        terms.push(format!("{} * {norm}", num(p.coef)));
    }
    let written = std::iter::once(format!(
        "{}({}, {label})",
        model.loss.data.kind.name(),
        model.loss.data.on
    ))
    .chain(model.loss.penalties.iter().map(ToString::to_string))
    .collect::<Vec<_>>()
    .join(" + ");
    format!(
        "\n\ndef loss(model, {input}, {label}):\n    \
         \"\"\"The loss as netc trains it: the data term a mean over the batch, each\n    \
         penalty a sum over it.\n\n        loss = {written}\n    \"\"\"\n    \
         acts = model({input}, named=True)\n    \
         return (\n        {}\n    )\n",
        terms.join("\n        + ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_class_is_named_after_the_net_in_camel_case() {
        assert_eq!(class_name("fashion_bn"), "FashionBn");
        assert_eq!(class_name("mlp"), "Mlp");
        assert_eq!(class_name("_x__y_"), "XY");
        assert_eq!(class_name("_2nd"), "Net2nd");
    }

    #[test]
    fn long_lists_wrap_at_88_characters() {
        let items: Vec<String> = (0..40).map(|i| format!("\"h{i}\": h{i}")).collect();
        let lines = wrap(&items, 16);
        assert!(lines.len() > 1);
        assert!(
            lines
                .iter()
                .all(|l| l.len() <= 88 && l.starts_with(&" ".repeat(16)))
        );
        assert_eq!(lines.join(", ").split(", ").count(), 40);
    }
}
