//! The evaluation graph of a net as an ONNX model: the input (its batch
//! dimension named `N`, left to the runtime), one node or a few per
//! function call, the weights as initializers, the loss's output as the
//! graph's output. Dropout is its weight-scaled evaluation and batch norm
//! reads its running statistics, as `netc eval` computes them.

use super::proto::{
    ATTR_FLOAT, ATTR_INT, ATTR_INTS, AttributeProto, DimValue, Dimension, FLOAT, GraphProto,
    ModelProto, NodeProto, OperatorSetIdProto, TensorProto, TensorShapeProto, TensorTypeProto,
    TypeProto, ValueInfoProto,
};
use super::{ExportError, output, tensor};
use crate::lang::{DropoutMode, Expr, Func, Model, Pool};
use crate::params::Params;
use prost::Message as _;

/// The default (`ai.onnx`) operator set the graph is written for: ONNX
/// 1.16's, older than the newest so that runtimes of 2024 on take the model;
/// the operators used here have not changed meaning since.
pub const OPSET: i64 = 21;
/// The IR version of ONNX 1.16, the release that brought opset 21.
pub const IR_VERSION: i64 = 10;
/// The name of the batch dimension of the input and the output.
pub const BATCH: &str = "N";
/// Batch norm's epsilon, as netc and PyTorch use it.
const BN_EPS: f32 = 1e-5;

/// The most one protobuf message may hold, 2 GiB − 1, less room for the graph.
const MAX_WEIGHT_BYTES: u64 = (1 << 31) - 1 - (1 << 20);

/// Refuses weights of `bytes` bytes that one ONNX file cannot hold.
fn check_size(bytes: u64) -> Result<(), ExportError> {
    if bytes > MAX_WEIGHT_BYTES {
        return Err(ExportError::TooLarge(bytes));
    }
    Ok(())
}

/// The ONNX model of `model`'s evaluation pass with the weights in `params`,
/// encoded.
pub fn onnx(model: &Model, params: &Params<f32>) -> Result<Vec<u8>, ExportError> {
    let out = output(model)?;
    // f32 weights and running statistics, raw in the file.
    let values = params.count() + params.buffers().map(|b| b.value.len()).sum::<usize>();
    check_size(values as u64 * 4)?;
    let mut g = Graph {
        params,
        nodes: Vec::new(),
        weights: Vec::new(),
    };
    for b in &model.bindings {
        let mut parts = 0;
        g.expr(&b.expr, &b.name, Some(b.name.clone()), &mut parts)?;
        if b.name == out.name {
            break; // what comes after the output is not part of the evaluation
        }
    }
    let graph = GraphProto {
        node: g.nodes,
        name: model.name.clone(),
        initializer: g.weights,
        doc_string: format!(
            "the net `{}` ({}), as netc evaluates it",
            model.name, model.path
        ),
        input: vec![value_info(&model.input.name, &model.input.dims)],
        output: vec![value_info(&out.name, &out.shape)],
    };
    let m = ModelProto {
        ir_version: IR_VERSION,
        producer_name: "netc".into(),
        producer_version: env!("CARGO_PKG_VERSION").into(),
        doc_string: String::new(),
        graph: Some(graph),
        opset_import: vec![OperatorSetIdProto {
            domain: String::new(),
            version: OPSET,
        }],
    };
    Ok(m.encode_to_vec())
}

/// A float tensor `[N, dims...]` named `name`.
fn value_info(name: &str, dims: &[usize]) -> ValueInfoProto {
    let batch = Dimension {
        value: Some(DimValue::DimParam(BATCH.into())),
    };
    let sizes = dims.iter().map(|&d| Dimension {
        value: Some(DimValue::DimValue(d as i64)),
    });
    ValueInfoProto {
        name: name.into(),
        r#type: Some(TypeProto {
            tensor_type: Some(TensorTypeProto {
                elem_type: FLOAT,
                shape: Some(TensorShapeProto {
                    dim: std::iter::once(batch).chain(sizes).collect(),
                }),
            }),
        }),
        doc_string: String::new(),
    }
}

fn int(name: &str, i: i64) -> AttributeProto {
    AttributeProto {
        name: name.into(),
        i,
        r#type: ATTR_INT,
        ..Default::default()
    }
}

fn ints(name: &str, ints: &[usize]) -> AttributeProto {
    AttributeProto {
        name: name.into(),
        ints: ints.iter().map(|&i| i as i64).collect(),
        r#type: ATTR_INTS,
        ..Default::default()
    }
}

fn float(name: &str, f: f32) -> AttributeProto {
    AttributeProto {
        name: name.into(),
        f,
        r#type: ATTR_FLOAT,
        ..Default::default()
    }
}

/// The nodes and weights written so far.
struct Graph<'a> {
    params: &'a Params<f32>,
    nodes: Vec<NodeProto>,
    weights: Vec<TensorProto>,
}

impl Graph<'_> {
    /// A node `op(inputs)` whose output is `out`; the node takes its output's name.
    fn node(
        &mut self,
        op: &str,
        inputs: Vec<String>,
        out: String,
        attribute: Vec<AttributeProto>,
    ) -> String {
        self.nodes.push(NodeProto {
            input: inputs,
            output: vec![out.clone()],
            name: out.clone(),
            op_type: op.into(),
            attribute,
        });
        out
    }

    /// The initializer named `name` holding `values` in the shape `dims`.
    fn constant(&mut self, name: String, dims: &[usize], values: &[f32]) -> String {
        self.weights.push(TensorProto {
            dims: dims.iter().map(|&d| d as i64).collect(),
            data_type: FLOAT,
            name: name.clone(),
            raw_data: values.iter().flat_map(|v| v.to_le_bytes()).collect(),
        });
        name
    }

    /// The binding's parameter or running statistic `field`, as an initializer
    /// under the state dict's name.
    fn weight(&mut self, binding: &str, field: &str) -> Result<String, ExportError> {
        let name = format!("{binding}.{field}");
        let (dims, values) = tensor(self.params, &name)?;
        Ok(self.constant(name, dims, values))
    }

    /// A linear or convolution layer's inputs: `x`, the weight, the bias if any.
    fn layer_inputs(
        &mut self,
        x: &str,
        binding: &str,
        bias: bool,
    ) -> Result<Vec<String>, ExportError> {
        let mut ins = vec![x.to_string(), self.weight(binding, "weight")?];
        if bias {
            ins.push(self.weight(binding, "bias")?);
        }
        Ok(ins)
    }

    /// Writes the nodes computing `e`, part of the binding `binding`; the name
    /// of its value: `out` when given (the binding's own name), else a new one
    /// (`binding/1`, `binding/2`, ...; `parts` counts them).
    fn expr(
        &mut self,
        e: &Expr,
        binding: &str,
        out: Option<String>,
        parts: &mut usize,
    ) -> Result<String, ExportError> {
        if let (Expr::Name(n), None) = (e, &out) {
            return Ok(n.clone()); // a name inside an expression is its value
        }
        let mut args = Vec::new();
        for x in e.inputs() {
            args.push(self.expr(x, binding, None, parts)?);
        }
        let out = out.unwrap_or_else(|| {
            *parts += 1;
            format!("{binding}/{parts}")
        });
        let one = |v: &[String]| vec![v[0].clone()];
        Ok(match e {
            Expr::Name(n) => self.node("Identity", vec![n.clone()], out, vec![]),
            Expr::Linear { bias, .. } => {
                let ins = self.layer_inputs(&args[0], binding, *bias)?;
                self.node("Gemm", ins, out, vec![int("transB", 1)])
            }
            Expr::Conv2d {
                kernel,
                stride,
                padding,
                bias,
                ..
            } => {
                let ins = self.layer_inputs(&args[0], binding, *bias)?;
                let attrs = vec![
                    ints("kernel_shape", &[*kernel, *kernel]),
                    ints("strides", &[*stride, *stride]),
                    ints("pads", &[*padding; 4]),
                ];
                self.node("Conv", ins, out, attrs)
            }
            Expr::Pool {
                pool,
                kernel,
                stride,
                ..
            } => {
                let op = match pool {
                    Pool::Max => "MaxPool",
                    Pool::Avg => "AveragePool",
                };
                let attrs = vec![
                    ints("kernel_shape", &[*kernel, *kernel]),
                    ints("strides", &[*stride, *stride]),
                ];
                self.node(op, one(&args), out, attrs)
            }
            Expr::Apply { func, .. } => {
                let (op, attrs) = match func {
                    Func::Relu => ("Relu", vec![]),
                    Func::Sigmoid => ("Sigmoid", vec![]),
                    Func::Tanh => ("Tanh", vec![]),
                    Func::Softmax => ("Softmax", vec![int("axis", -1)]),
                    Func::LogSoftmax => ("LogSoftmax", vec![int("axis", -1)]),
                    Func::Flatten => ("Flatten", vec![int("axis", 1)]),
                };
                self.node(op, one(&args), out, attrs)
            }
            Expr::Dropout { p, mode, .. } | Expr::Dropout2d { p, mode, .. } => match mode {
                DropoutMode::Inverted => self.node("Identity", one(&args), out, vec![]),
                DropoutMode::Classic => {
                    // The same f32 factor as the engine's evaluation.
                    let keep = (1.0 - p) as f32;
                    let k = self.constant(format!("{out}/keep"), &[], &[keep]);
                    self.node("Mul", vec![args[0].clone(), k], out, vec![])
                }
            },
            Expr::BatchNorm { .. } => {
                let mut ins = one(&args);
                for field in ["weight", "bias", "running_mean", "running_var"] {
                    ins.push(self.weight(binding, field)?);
                }
                self.node(
                    "BatchNormalization",
                    ins,
                    out,
                    vec![float("epsilon", BN_EPS)],
                )
            }
            Expr::Add(_) => self.node("Sum", args, out, vec![]),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weights_past_what_one_protobuf_message_holds_are_refused() {
        assert_eq!(check_size(100 << 20), Ok(()));
        assert_eq!(check_size(3 << 30), Err(ExportError::TooLarge(3 << 30)));
        let said = ExportError::TooLarge(3 << 30).to_string();
        assert!(
            said.contains("more than the 2 GiB an ONNX file holds"),
            "{said}"
        );
    }
}
