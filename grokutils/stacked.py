"""The sweep engine's training loss for M MLPs at once, as batched matrix products.

``torch.func.vmap`` over ``functional_call`` (:mod:`grokutils.sweep`) turns each member's linear layers into
batched products too, but through its own dispatch, and with weights stacked as ``nn.Linear`` holds them,
``(M, out, in)``, every product reads a transposed operand and every weight gradient is copied into that
layout. Here the sweep trains the weights stacked input-major, ``(M, in, out)`` (:func:`input_major`), and
writes the forward out as ``baddbmm``; checkpoints and the members' models still see ``(M, out, in)``
(:func:`output_major`). On Omnigrok's MNIST MLP (6 members, batch 200, two CPU cores) the step is ≈ 20 %
faster than the vmapped one, with the same numbers to float rounding (``tests/test_sweep.py``). It applies to
:class:`grokutils.models.MLP` alone, the model of Parts I, II and V on MNIST; every other model keeps ``vmap``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from torch.func import vmap

from grokutils import models
from grokutils.config import Config
from grokutils.losses import objective

#: The activations of :class:`grokutils.models.MLP`, as functions.
ACTIVATION_FUNCTIONS = {"relu": F.relu, "tanh": torch.tanh, "softplus": F.softplus}


def applies(model: nn.Module, mixing: bool) -> bool:
    """Whether :func:`stacked_mlp_loss` can stand for the vmapped loss: a plain MLP without Part III's mixing."""
    return type(model) is models.MLP and not mixing and activation_name(model) in ACTIVATION_FUNCTIONS


def activation_name(model: models.MLP) -> str | None:
    """The name (a key of :data:`grokutils.models.ACTIVATIONS`) of the activation module ``model`` uses."""
    kinds = {type(layer) for layer in model.body if not isinstance(layer, (nn.Linear, nn.Flatten))}
    names = [name for name, kind in models.ACTIVATIONS.items() if {kind} == kinds]
    return names[0] if names else None


def linear_layers(model: models.MLP) -> list[tuple[str, str]]:
    """The (weight, bias) parameter names of ``model``'s linear layers, input to output."""
    names = [f"body.{i}" for i, layer in enumerate(model.body) if isinstance(layer, nn.Linear)] + ["head"]
    return [(f"{name}.weight", f"{name}.bias") for name in names]


def input_major(params: dict[str, torch.Tensor], model: models.MLP) -> tuple[dict[str, torch.Tensor], set[str]]:
    """``params`` (stacked by ``torch.func.stack_module_state``) with every linear weight as a new contiguous
    ``(M, in, out)`` leaf; and the names of those weights."""
    weights = {weight for weight, _ in linear_layers(model)}
    turned = {name: (tensor.detach().mT.contiguous().requires_grad_() if name in weights else tensor)
              for name, tensor in params.items()}
    return turned, weights


def output_major(name: str, tensor: torch.Tensor, weights: set[str]) -> torch.Tensor:
    """``tensor`` of parameter ``name`` in ``stack_module_state``'s layout: a view, ``(M, out, in)`` for the
    ``weights`` that :func:`input_major` turned (the same call turns a checkpoint's tensor back)."""
    return tensor.mT if name in weights else tensor


def stacked_mlp_loss(base: Config, model: models.MLP, input_shape: tuple[int, ...], shared_batch: bool):
    """Each member's training loss, ``(M,)``, as a function of ``(params, buffers, x, y, alpha)``: the signature of
    the vmapped loss of :func:`grokutils.sweep.member_loss_fn`. ``params`` are stacked as by
    :func:`input_major` (weights ``(M, in, out)``); ``x``, ``y`` are one batch shared by every
    member (``shared_batch``, the full batch) or one per member, stacked ``(M, B, ...)``; each sample has
    ``input_shape``."""
    layers = linear_layers(model)
    activation = ACTIVATION_FUNCTIONS[activation_name(model)]
    member_objective = vmap(lambda logits, labels: objective(base, logits, labels),
                            in_dims=(0, None if shared_batch else 0))

    def loss(params: dict, buffers: dict, x: torch.Tensor, y: torch.Tensor, alpha: torch.Tensor) -> torch.Tensor:
        hidden = x.flatten(-len(input_shape)) if len(input_shape) > 1 else x  # nn.Flatten's rows
        for index, (weight, bias) in enumerate(layers):
            if hidden.dim() == 2:  # the shared batch, before the first layer
                hidden = torch.matmul(hidden, params[weight]) + params[bias].unsqueeze(1)
            else:
                hidden = torch.baddbmm(params[bias].unsqueeze(1), hidden, params[weight])
            if index < len(layers) - 1:
                hidden = activation(hidden)
        return member_objective(hidden, y)

    return loss
