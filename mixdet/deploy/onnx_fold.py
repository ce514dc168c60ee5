"""BatchNorm folded into the exported graph's Convs, also where the runtimes cannot: after a channel Concat of Convs.

torch's exporter and ONNX Runtime fold a BatchNormalization only into the Conv that directly produces its
input (torch's exporter not even there when the Conv's weight is computed while tracing, as the padded MixConv
weight is). A MixConv layer exported in the split form (Split -> Conv per kernel size -> Concat) is followed by
its BatchNorm through the Concat, so the BatchNorm stayed as a node of its own. :func:`fold_batchnorms`
folds both kinds into the Convs' weights and biases (y = (x - mean) / sqrt(var + eps) * scale + B, per output
channel), so that the file holds no BatchNormalization for any runtime.
"""
from __future__ import annotations

from collections import Counter

import numpy as np
import onnx
from onnx import numpy_helper


def _attribute(node: onnx.NodeProto, name: str, default):
    return next((onnx.helper.get_attribute_value(a) for a in node.attribute if a.name == name), default)


def _initializer(name: str, producers: dict, initializers: dict) -> onnx.TensorProto | None:
    """The initializer ``name`` is, through any Identity nodes (torch's exporter writes equal initializers once and
    the other names as Identity of it), or None."""
    while name not in initializers and name in producers and producers[name].op_type == 'Identity':
        name = producers[name].input[0]
    return initializers.get(name)


def _foldable_convs(batchnorm: onnx.NodeProto, producers: dict, uses: Counter,
                    initializers: dict) -> list[onnx.NodeProto] | None:
    """The Conv that feeds ``batchnorm``, or the Convs whose channel Concat does, each used only there; None when it
    cannot be folded."""
    source = producers.get(batchnorm.input[0])
    if source is None or uses[source.output[0]] != 1 or len(batchnorm.output) != 1 \
            or any(_initializer(name, producers, initializers) is None for name in batchnorm.input[1:5]):
        return None
    if source.op_type == 'Conv':
        convs = [source]
    elif source.op_type == 'Concat' and _attribute(source, 'axis', None) == 1:
        convs = [producers.get(name) for name in source.input]
    else:
        return None
    for conv in convs:
        if conv is None or conv.op_type != 'Conv' or uses[conv.output[0]] != 1 or any(
                _initializer(name, producers, initializers) is None for name in conv.input[1:] if name):
            return None
    return convs


def fold_batchnorms(model: onnx.ModelProto) -> int:
    """Fold every BatchNormalization (inference form) that follows a Conv, or a channel Concat of Conv outputs, each
    used only there, into those Convs; the Conv (Concat) then writes the BatchNorm's output. Edits ``model`` in place;
    returns how many BatchNormalization nodes it removed."""
    graph = model.graph
    initializers = {tensor.name: tensor for tensor in graph.initializer}
    producers = {output: node for node in graph.node for output in node.output}
    uses = Counter(name for node in graph.node for name in node.input)
    uses.update(output.name for output in graph.output)
    folded = []
    for batchnorm in graph.node:
        if batchnorm.op_type != 'BatchNormalization':
            continue
        convs = _foldable_convs(batchnorm, producers, uses, initializers)
        if convs is None:
            continue
        scale, shift, mean, var = (numpy_helper.to_array(_initializer(name, producers, initializers))
                                   for name in batchnorm.input[1:5])
        factor = scale / np.sqrt(var + np.float32(_attribute(batchnorm, 'epsilon', 1e-5)))
        start = 0
        for conv in convs:
            weight = numpy_helper.to_array(_initializer(conv.input[1], producers, initializers))
            end = start + weight.shape[0]
            bias = numpy_helper.to_array(_initializer(conv.input[2], producers, initializers)) \
                if len(conv.input) > 2 and conv.input[2] else np.zeros(weight.shape[0], weight.dtype)
            name = conv.output[0]
            graph.initializer.extend([
                numpy_helper.from_array((weight * factor[start:end, None, None, None]).astype(weight.dtype),
                                        f'{name}_bn_weight'),
                numpy_helper.from_array(((bias - mean[start:end]) * factor[start:end] + shift[start:end])
                                        .astype(weight.dtype), f'{name}_bn_bias')])
            del conv.input[1:]
            conv.input.extend([f'{name}_bn_weight', f'{name}_bn_bias'])
            start = end
        producers[batchnorm.input[0]].output[0] = batchnorm.output[0]
        folded.append(batchnorm)
    for node in folded:
        graph.node.remove(node)
    used = {name for node in graph.node for name in node.input} | {output.name for output in graph.output}
    for node in [node for node in graph.node if node.op_type == 'Identity' and node.output[0] not in used]:
        graph.node.remove(node)  # Identity aliases of folded BatchNorm statistics
    used = {name for node in graph.node for name in node.input}
    unused = [tensor for tensor in graph.initializer if tensor.name not in used]
    for tensor in unused:
        graph.initializer.remove(tensor)
    return len(folded)
