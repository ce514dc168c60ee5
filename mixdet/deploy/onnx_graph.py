"""Inspecting an exported ONNX graph."""
from __future__ import annotations

from typing import Iterator

import onnx
from onnx import shape_inference

STANDARD_DOMAINS = ('', 'ai.onnx')


def _nodes(graph: onnx.GraphProto) -> Iterator[onnx.NodeProto]:
    """Every node of ``graph`` and of its subgraphs (If/Loop bodies)."""
    for node in graph.node:
        yield node
        for attribute in node.attribute:
            subgraphs = ([attribute.g] if attribute.HasField('g') else []) + list(attribute.graphs)
            for subgraph in subgraphs:
                yield from _nodes(subgraph)


def custom_domain_nodes(model: onnx.ModelProto) -> list[str]:
    """Sorted ``domain::op_type`` of the nodes outside the standard ONNX domain (empty for a portable model)."""
    return sorted({f'{node.domain}::{node.op_type}' for node in _nodes(model.graph)
                   if node.domain not in STANDARD_DOMAINS})


def op_types(model: onnx.ModelProto) -> dict[str, int]:
    """How many nodes of each operator type the main graph holds."""
    counts: dict[str, int] = {}
    for node in model.graph.node:
        counts[node.op_type] = counts.get(node.op_type, 0) + 1
    return counts


def conv_macs(model: onnx.ModelProto) -> int:
    """Multiply-adds of the main graph's Conv nodes as written (zero taps of padded kernels included), from ONNX
    shape inference; needs static spatial sizes."""
    graph = shape_inference.infer_shapes(model).graph
    shapes = {value.name: [d.dim_value for d in value.type.tensor_type.shape.dim]
              for value in [*graph.value_info, *graph.output]}
    weights = {tensor.name: list(tensor.dims) for tensor in graph.initializer}
    macs = 0
    for node in graph.node:
        if node.op_type == 'Conv':
            _, channels, height, width = shapes[node.output[0]]
            _, per_group, kernel_h, kernel_w = weights[node.input[1]]
            macs += channels * height * width * per_group * kernel_h * kernel_w
    return macs
