"""The sweep engine: many configurations of one shape trained at once.

Configurations that differ only in ``seed``, ``weight_decay`` or
``init_scale`` share data and architecture, so their parameters are stacked
(``torch.func.stack_module_state``) and one vectorised forward/backward
(``torch.func.vmap`` over ``functional_call``) trains all of them per step.
Each member keeps its own initialisation, minibatch order and weight decay;
AdamW's decoupled decay is applied per member before the optimiser step,
exactly as ``torch.optim.AdamW`` does for one model. The results equal
training the configurations one by one to float tolerance (tested in
``tests/test_sweep.py``) and are evaluated with the same code as
:func:`grokutils.train.train`.
"""

from __future__ import annotations

import copy
import hashlib
import time
from collections.abc import Iterable
from pathlib import Path

import torch
from torch.func import functional_call, stack_module_state, vmap

from grokutils import data as data_module
from grokutils import models
from grokutils.config import Config, eval_steps
from grokutils.result import Result, environment
from grokutils.train import (BatchSampler, Callback, Checkpointer, EvalContext, check_finite, evaluate,
                             flush_denormals,
                             make_optimizer, objective, progress_bar, registered_callbacks, resolve_device,
                             show_progress, warmup_factor)

SWEEPABLE = ("seed", "weight_decay", "init_scale")


def check_same_shape(configs: list[Config]) -> None:
    """Raise ``ValueError`` unless the configs differ only in :data:`SWEEPABLE` fields."""
    if not configs:
        raise ValueError("train_sweep needs at least one Config.")
    neutral = {name: None for name in SWEEPABLE}
    base = configs[0].to_dict() | neutral
    for config in configs[1:]:
        other = config.to_dict() | neutral
        differing = sorted(k for k in base if base[k] != other[k])
        if differing:
            raise ValueError(f"configs of one sweep may differ only in {SWEEPABLE}; these differ too: "
                             f"{differing}. Split them into separate sweeps.")


def sweep_groups(configs: list[Config], max_members: int) -> list[list[Config]]:
    """Split ``configs`` into sweeps: same shape (see :func:`check_same_shape`), in the given
    order, at most ``max_members`` each, so that each group's results are stored as it ends."""
    if max_members < 1:
        raise ValueError(f"max_members must be at least 1, got {max_members}.")
    neutral = {name: None for name in SWEEPABLE}
    by_shape: dict[str, list[Config]] = {}
    for config in configs:
        by_shape.setdefault(repr(sorted((config.to_dict() | neutral).items())), []).append(config)
    return [group[i:i + max_members] for group in by_shape.values() for i in range(0, len(group), max_members)]


def sweep_checkpoint_key(configs: list[Config]) -> str:
    """A key for the checkpoint of a whole sweep (order-independent)."""
    keys = "".join(sorted(c.key() for c in configs))
    return hashlib.sha256(keys.encode()).hexdigest()[:16]


def _per_member(values: list[float], like: torch.Tensor) -> torch.Tensor:
    """A ``(M, 1, 1, ...)`` tensor that broadcasts against stacked parameters ``like``."""
    return torch.tensor(values, dtype=like.dtype, device=like.device).view(-1, *[1] * (like.dim() - 1))


def _load_member(template: torch.nn.Module, params: dict, buffers: dict, index: int) -> torch.nn.Module:
    with torch.no_grad():
        for name, tensor in template.named_parameters():
            tensor.copy_(params[name][index])
        for name, tensor in template.named_buffers():
            tensor.copy_(buffers[name][index])
    return template


def train_sweep(configs: list[Config], dataset: data_module.Dataset | None = None,
                callbacks: Iterable[Callback] = (), progress: bool = True,
                checkpoint_path: str | Path | None = None, checkpoint_every_s: float = 60.0) -> list[Result]:
    """Train ``configs`` together; returns one :class:`Result` per config, in order."""
    with flush_denormals():
        return _train_sweep(configs, dataset, callbacks, progress, checkpoint_path, checkpoint_every_s)


def _train_sweep(configs: list[Config], dataset: data_module.Dataset | None, callbacks: Iterable[Callback],
                 progress: bool, checkpoint_path: str | Path | None, checkpoint_every_s: float) -> list[Result]:
    check_same_shape(configs)
    base = configs[0]
    device = resolve_device(base.device)
    dataset = (dataset or data_module.load(base)).to(device)
    members = [models.build(c, dataset.input_shape, dataset.num_classes, dataset.vocab_size).to(device)
               for c in configs]
    params, buffers = stack_module_state(members)
    template = members[0]
    skeleton = copy.deepcopy(template).to("meta")
    samplers = [BatchSampler(len(dataset.y_train), c.batch_size, c.seed, device) for c in configs]
    full_batch = samplers[0].full

    def member_loss(p, b, x, y):
        return objective(base, functional_call(skeleton, (p, b), (x,)), y)

    batched_loss = vmap(member_loss, in_dims=(0, 0, None, None) if full_batch else (0, 0, 0, 0))
    optimizer = make_optimizer(base, params.values(), weight_decay=0.0)
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, warmup_factor(base))
    decays = {name: _per_member([c.weight_decay for c in configs], p) for name, p in params.items()}
    callbacks = registered_callbacks(base) + list(callbacks)
    checkpointer = Checkpointer(checkpoint_path, sweep_checkpoint_key(configs), checkpoint_every_s)

    start, steps, histories = 0, [], [{} for _ in configs]
    elapsed = {"train": 0.0, "eval": [0.0] * len(configs)}
    state = checkpointer.load()
    if state is not None:
        with torch.no_grad():
            for name, tensor in params.items():
                tensor.copy_(state["params"][name])
        optimizer.load_state_dict(state["optimizer"])
        schedule.load_state_dict(state["schedule"])
        start, steps, histories, elapsed = state["step"], state["steps"], state["histories"], state["elapsed"]

    def snapshot() -> dict:
        return {"params": {k: v.detach().clone() for k, v in params.items()},
                "optimizer": optimizer.state_dict(), "schedule": schedule.state_dict(), "step": step,
                "steps": steps, "histories": histories, "elapsed": elapsed}

    def decay_and_step() -> None:
        lr = optimizer.param_groups[0]["lr"]
        with torch.no_grad():
            for name, tensor in params.items():
                if base.optimizer == "adamw":
                    tensor.mul_(1 - lr * decays[name])  # AdamW's decoupled decay, per member
                else:
                    tensor.grad.add_(decays[name] * tensor)  # SGD's L2 term, per member
        optimizer.step()

    label = f"sweep of {len(configs)} × {base.label()}"
    bar = progress_bar(progress, base.num_steps, start, label)
    step = start
    for next_eval in [s for s in eval_steps(base.eval_schedule, base.num_steps) if s >= start and s not in steps]:
        tick = time.perf_counter()
        for step in range(step, next_eval):
            if full_batch:
                x, y = dataset.x_train, dataset.y_train
            else:
                batch = torch.stack([sampler(step) for sampler in samplers])
                x, y = dataset.x_train[batch], dataset.y_train[batch]
            loss = batched_loss(params, buffers, x, y).sum()
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            decay_and_step()
            schedule.step()
        step = next_eval
        elapsed["train"] += time.perf_counter() - tick
        for index, config in enumerate(configs):
            tock = time.perf_counter()
            model = _load_member(template, params, buffers, index)
            row = evaluate(EvalContext(model, dataset, config, step), callbacks)
            elapsed["eval"][index] += time.perf_counter() - tock
            row["wall_time"] = elapsed["train"] + sum(elapsed["eval"])
            check_finite(row, step, config)
            for name, value in row.items():
                histories[index].setdefault(name, []).append(value)
        steps.append(step)
        show_progress(bar, step, {k: v[-1] for k, v in histories[0].items()})
        checkpointer.maybe_save(snapshot)
    if bar is not None:
        bar.close()
    env = environment(device) | {"sweep_size": len(configs)}
    results = []
    for index, config in enumerate(configs):
        timings = {"train_s": elapsed["train"], "eval_s": elapsed["eval"][index], "sweep_size": len(configs),
                   "ms_per_step": 1000 * elapsed["train"] / max(base.num_steps, 1)}
        results.append(Result(config, list(steps), histories[index], timings, env))
    return results
