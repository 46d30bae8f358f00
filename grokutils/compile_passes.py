"""A graph pass for TorchInductor on the CPU: a linear layer's bias added in the kernel that follows it.

TorchInductor keeps ``addmm(bias, x, W)`` (a linear layer) as one call to the BLAS library, which first copies
the bias into every row of the output and then accumulates ``x @ W`` on top. When everything that reads the
output is elementwise (the ReLU after the transformer's first MLP layer), :class:`UnfuseBiasAdd` writes
it as ``mm(x, W) + bias`` instead, and TorchInductor adds the bias inside the kernel it generates for the
ReLU: the copy disappears (≈ 0.6 of 17.3 ms per step of Nanda et al.'s transformer on 2 cores,
``benchmarks/bench_train.py``). TorchInductor does this itself on GPUs only
(``torch._inductor.fx_passes.post_grad.unfuse_bias_add_to_pointwise``). The sum is the same up to float
rounding. This module imports TorchInductor: :mod:`grokutils.steps` imports it only when a step compiles.
"""

from __future__ import annotations

import torch
from torch._inductor.custom_graph_pass import CustomGraphPass
from torch._inductor.utils import is_pointwise_use

aten = torch.ops.aten

#: Part of TorchInductor's cache key for graphs this pass rewrote: change it whenever the pass changes.
PASS_VERSION = "grokutils-unfuse-bias-add-1"


class UnfuseBiasAdd(CustomGraphPass):
    """Rewrites every ``addmm(bias, x, W)`` with ``alpha = beta = 1`` whose users are all elementwise as
    ``add(mm(x, W), bias)`` (TorchInductor's ``post_grad_custom_post_pass``)."""

    def __call__(self, graph: torch.fx.Graph) -> None:
        for node in list(graph.find_nodes(op="call_function", target=aten.addmm.default)):
            if unfusable(node):
                unfuse(graph, node)

    def uuid(self) -> str:
        return PASS_VERSION


def unfusable(node: torch.fx.Node) -> bool:
    """Whether ``node`` (an ``addmm``) has unit ``alpha`` and ``beta`` and only elementwise users."""
    plain = len(node.args) == 3 and node.kwargs.get("alpha", 1) == 1 and node.kwargs.get("beta", 1) == 1
    return plain and bool(node.users) and all(is_pointwise_use(user) for user in node.users)


def unfuse(graph: torch.fx.Graph, node: torch.fx.Node) -> None:
    """Replaces ``node``, ``addmm(bias, x, W)``, by ``add(mm(x, W), bias)``, with the shapes TorchInductor reads."""
    bias, x, weight = node.args
    with graph.inserting_before(node):
        product = graph.call_function(aten.mm.default, (x, weight))
        total = graph.call_function(aten.add.Tensor, (product, bias))
    product.meta["val"] = aten.mm.default(x.meta["val"], weight.meta["val"])
    total.meta["val"] = aten.add.Tensor(product.meta["val"], bias.meta["val"])
    node.replace_all_uses_with(total)
    graph.erase_node(node)
