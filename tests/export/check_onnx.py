"""Runs an exported ONNX model in ONNX Runtime on a batch and compares its
output with netc's: check_onnx.py MODEL.onnx BATCH.safetensors GRADS.safetensors

BATCH holds `x` as `netc grad` reads it; GRADS is `netc grad --eval`'s output,
whose `act/<output>` the model's only output must equal."""

import sys

import onnx
import onnxruntime as ort

import tensors


def main(model_path, batch_path, grads_path):
    model = onnx.load(model_path)
    onnx.checker.check_model(model, full_check=True)
    (inp,) = model.graph.input
    (out,) = model.graph.output
    batch_dim = inp.type.tensor_type.shape.dim[0]
    if batch_dim.dim_param == "" or out.type.tensor_type.shape.dim[0].dim_param == "":
        raise SystemExit("the batch dimension is not dynamic")
    x = tensors.read(batch_path)["x"]
    want = tensors.read(grads_path)[f"act/{out.name}"]
    session = ort.InferenceSession(model_path, providers=["CPUExecutionProvider"])
    # Two batch sizes: the batch dimension really is free.
    for rows in (x.shape[0], 1):
        (got,) = session.run([out.name], {inp.name: x[:rows]})
        tensors.close(f"onnxruntime {out.name}[:{rows}]", got, want[:rows])


if __name__ == "__main__":
    main(*sys.argv[1:])
