"""The TorchInductor pass of :mod:`grokutils.compile_passes`: which ``addmm`` it rewrites, and that the graph
computes the same values afterwards."""

import pytest
import torch
from torch.fx.experimental.proxy_tensor import make_fx

from grokutils.compile_passes import PASS_VERSION, UnfuseBiasAdd

aten = torch.ops.aten


def traced(function, *inputs):
    """``function`` as an ATen graph whose nodes carry fake-tensor values, as TorchInductor's passes see it."""
    return make_fx(function, tracing_mode="fake")(*inputs)


def targets(module: torch.fx.GraphModule) -> list:
    return [node.target for node in module.graph.nodes if node.op == "call_function"]


@pytest.fixture
def operands():
    generator = torch.Generator().manual_seed(0)
    return [torch.randn(shape, generator=generator) for shape in ((5,), (7, 3), (3, 5))]


def test_a_bias_read_only_elementwise_is_added_outside_the_product(operands):
    bias, x, weight = operands
    module = traced(lambda b, x, w: torch.relu(torch.addmm(b, x, w)) * 2, bias, x, weight)
    expected = module(bias, x, weight)
    UnfuseBiasAdd()(module.graph)
    module.recompile()
    assert aten.addmm.default not in targets(module)
    assert targets(module).count(aten.mm.default) == 1 and aten.add.Tensor in targets(module)
    torch.testing.assert_close(module(bias, x, weight), expected)


@pytest.mark.parametrize("case", ["read by a product", "beta 0.5", "alpha 2", "the graph's output"])
def test_other_products_are_left_fused(operands, case):
    bias, x, weight = operands
    function = {
        "read by a product": lambda b, x, w: torch.addmm(b, x, w) @ w.T,
        "beta 0.5": lambda b, x, w: torch.relu(torch.addmm(b, x, w, beta=0.5)),
        "alpha 2": lambda b, x, w: torch.relu(torch.addmm(b, x, w, alpha=2)),
        "the graph's output": lambda b, x, w: torch.addmm(b, x, w),
    }[case]
    module = traced(function, bias, x, weight)
    before = targets(module)
    UnfuseBiasAdd()(module.graph)
    assert targets(module) == before


def test_the_pass_names_its_version_for_inductors_cache():
    assert UnfuseBiasAdd().uuid() == PASS_VERSION
