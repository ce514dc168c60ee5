"""custom_domain_nodes finds non-standard operators, also inside subgraphs."""
from onnx import TensorProto, helper

from mixdet.deploy import custom_domain_nodes


def model_with(nodes, branch_nodes=()):
    """A tiny model x -> y whose graph holds ``nodes`` and an If whose branches hold ``branch_nodes``."""
    x, y = (helper.make_tensor_value_info(name, TensorProto.FLOAT, [1]) for name in ('x', 'y'))
    branch = helper.make_graph(list(branch_nodes), 'branch', [], [y])
    condition = helper.make_node('Constant', [], ['c'], value=helper.make_tensor('c', TensorProto.BOOL, [], [True]))
    branching = helper.make_node('If', ['c'], ['y'], then_branch=branch, else_branch=branch)
    return helper.make_model(helper.make_graph([*nodes, condition, branching], 'g', [x], [y]))


def test_standard_graph_has_none():
    assert custom_domain_nodes(model_with([helper.make_node('Relu', ['x'], ['r'])],
                                          [helper.make_node('Identity', ['x'], ['y'])])) == []


def test_custom_nodes_are_named_also_in_subgraphs():
    model = model_with([helper.make_node('NonMaxSuppression', ['x'], ['n'], domain='mmcv'),
                        helper.make_node('Relu', ['x'], ['r'], domain='ai.onnx')],
                       [helper.make_node('mixconv2d', ['x'], ['y'], domain='mixdet')])
    assert custom_domain_nodes(model) == ['mixdet::mixconv2d', 'mmcv::NonMaxSuppression']
