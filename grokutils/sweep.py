"""The sweep engine: many configurations of one shape trained at once.

Configurations that differ only in ``seed``, ``weight_decay``,
``init_scale``, ``mixing_alpha``, ``norm_matched`` or ``stop_after_grok`` share data and
architecture, so their parameters are stacked
(``torch.func.stack_module_state``) and one vectorised forward/backward
(``torch.func.vmap`` over ``functional_call``) trains all of them per step.
Each member keeps its own initialisation, minibatch order and weight decay;
AdamW's decoupled decay is applied per member before the optimiser step,
exactly as ``torch.optim.AdamW`` does for one model. Part III's intervention
(:mod:`grokutils.intervention`) is per member too: its own mixing α, and for
norm-matched members a rescaling to their own baseline's norm after every step. The early stop
after grokking (``Config.stop_after_grok``) is per member in effect: the stacked group keeps
training until every member has reached its :func:`~grokutils.result.stop_step` (or ``num_steps``),
a member that has is no longer evaluated, and its result ends at its own stop. The results equal
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
from typing import TYPE_CHECKING

import torch
from torch import nn
from torch.func import functional_call, stack_module_state, vmap

from grokutils import data as data_module
from grokutils import intervention, models
from grokutils.config import Config, eval_steps
from grokutils.result import Result, environment, stop_step
from grokutils.train import (CHECKPOINT_EVERY_S, CHECKPOINT_EVERY_STEPS, BatchSampler, Checkpointer, EvalContext,
                             NormTrace, check_finite, check_training_arguments, evaluate, flush_denormals,
                             make_optimizer, objective, progress_bar, registered_callbacks, resolve_device,
                             show_progress, warmup_factor)

if TYPE_CHECKING:
    from grokutils.train import Callback

SWEEPABLE = ("seed", "weight_decay", "init_scale", "mixing_alpha", "norm_matched", "stop_after_grok")


def check_configs(configs, entry: str) -> list[Config]:
    """``configs`` as a list, checked before any work: a non-empty list of distinct :class:`Config`\\ s
    (``entry`` names the function in the message)."""
    if isinstance(configs, (Config, str, bytes, dict)) or not hasattr(configs, "__iter__"):
        raise ValueError(f"{entry} takes a list of Configs, got {type(configs).__name__}; wrap one Config in a list "
                         "(or use grokutils.runs.run).")
    configs = list(configs)
    if not configs:
        raise ValueError(f"{entry} got an empty list of configs; pass at least one Config.")
    for index, config in enumerate(configs):
        if not isinstance(config, Config):
            raise ValueError(f"{entry}: configs[{index}] is a {type(config).__name__}, not a grokutils.Config.")
    first: dict[Config, int] = {}
    for index, config in enumerate(configs):
        if config in first:
            raise ValueError(f"{entry}: configs[{index}] repeats configs[{first[config]}] ({config.label()}, key "
                             f"{config.key()}); list each configuration once.")
        first[config] = index
    return configs


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
    if isinstance(max_members, bool) or not isinstance(max_members, int) or max_members < 1:
        raise ValueError(f"max_members (the sweep size) must be an integer >= 1, got {max_members!r}.")
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


def member_steps(steps: list[int], history: dict) -> list[int]:
    """The evaluation steps one member recorded: all of the sweep's, or those up to its early stop."""
    return steps[:len(history.get("test_acc", []))]


def member_stopped(config: Config, steps: list[int], history: dict) -> bool:
    """Whether a member has reached its early stop after grokking (:func:`grokutils.result.stop_step`)."""
    return stop_step(config, member_steps(steps, history), history.get("test_acc", [])) is not None


def _load_member(template: torch.nn.Module, params: dict, buffers: dict, index: int) -> torch.nn.Module:
    with torch.no_grad():
        for name, tensor in template.named_parameters():
            tensor.copy_(params[name][index])
        for name, tensor in template.named_buffers():
            tensor.copy_(buffers[name][index])
    return template


class MixedLoss(nn.Module):
    """``model`` wrapped so that ``functional_call`` can evaluate Part III's mixed loss
    (:func:`grokutils.intervention.mixed_loss`) with one member's α under ``vmap``."""

    def __init__(self, model: nn.Module, config: Config):
        super().__init__()
        self.model, self.config = model, config

    def forward(self, x: torch.Tensor, y: torch.Tensor, alpha: torch.Tensor) -> torch.Tensor:
        return intervention.mixed_loss(lambda logits, labels: objective(self.config, logits, labels),
                                       self.model, x, y, alpha)


def member_loss_fn(base: Config, skeleton: nn.Module, mixing: bool):
    """One member's training loss as a function of ``(params, buffers, x, y, alpha)`` for ``vmap``:
    the plain objective, or with ``mixing`` the mixed loss of :class:`MixedLoss` (α = 0 members
    then get ½ [L + L], the same loss)."""
    if not mixing:
        return lambda p, b, x, y, alpha: objective(base, functional_call(skeleton, (p, b), (x,)), y)
    wrapper = MixedLoss(skeleton, base)

    def loss(p, b, x, y, alpha):
        state = {f"model.{k}": v for k, v in p.items()} | {f"model.{k}": v for k, v in b.items()}
        return functional_call(wrapper, state, (x, y, alpha))

    return loss


def baseline_targets(configs: list[Config], traces) -> torch.Tensor | None:
    """``(M, num_steps + 1)`` norms that the norm-matched members follow (NaN rows for the others),
    from their baselines' ``norm_trace``; ``None`` when no member is norm-matched."""
    if not any(c.norm_matched for c in configs):
        return None
    traces = traces if traces is not None else [None] * len(configs)
    if len(traces) != len(configs):
        raise ValueError(f"baseline_norm_traces has {len(traces)} entries for {len(configs)} configs; "
                         "pass one per config (None for those that are not norm-matched).")
    rows = [torch.from_numpy(intervention.check_norm_trace(c, t)) if c.norm_matched
            else torch.full((c.num_steps + 1,), float("nan")) for c, t in zip(configs, traces)]
    return torch.stack(rows).double()


def train_sweep(configs: list[Config], dataset: data_module.Dataset | None = None,
                callbacks: Iterable[Callback] = (), progress: bool = True,
                checkpoint_path: str | Path | None = None, checkpoint_every_s: float = CHECKPOINT_EVERY_S,
                baseline_norm_traces: list | None = None,
                checkpoint_every_steps: int | None = CHECKPOINT_EVERY_STEPS) -> list[Result]:
    """Train ``configs`` together; returns one :class:`Result` per config, in order.

    Norm-matched members (Part III, claim 3) need ``baseline_norm_traces``: one entry per config,
    the ``norm_trace`` of that config's baseline result (``None`` for the other members). Checkpoints as
    :func:`grokutils.train.train`'s (:class:`~grokutils.train.Checkpointer`); an interrupted sweep resumes
    to the same histories bit for bit.
    """
    configs = check_configs(configs, "train_sweep")
    check_same_shape(configs)
    callbacks = check_training_arguments(configs[0], dataset, callbacks, progress, checkpoint_path, "train_sweep")
    checkpointer = Checkpointer(checkpoint_path, sweep_checkpoint_key(configs), checkpoint_every_s,
                                checkpoint_every_steps)
    targets = baseline_targets(configs, baseline_norm_traces)
    with flush_denormals():
        return _train_sweep(configs, dataset, callbacks, progress, checkpointer, targets)


def _train_sweep(configs: list[Config], dataset: data_module.Dataset | None, callbacks: list[Callback],
                 progress: bool, checkpointer: Checkpointer, targets: torch.Tensor | None) -> list[Result]:
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

    alphas = torch.tensor([c.mixing_alpha for c in configs], device=device)
    member_loss = member_loss_fn(base, skeleton, mixing=bool((alphas > 0).any()))
    batched_loss = vmap(member_loss, in_dims=(0, 0, None, None, 0) if full_batch else (0, 0, 0, 0, 0))
    stacked = list(params.values())
    recording = [c.records_norm_trace for c in configs]
    trace = NormTrace(base.num_steps, device, len(configs)) if any(recording) else None
    if targets is not None:
        targets = targets.to(device)
        matched = torch.tensor([c.norm_matched for c in configs], device=device)
    optimizer = make_optimizer(base, params.values(), weight_decay=0.0)
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, warmup_factor(base))
    decays = {name: _per_member([c.weight_decay for c in configs], p) for name, p in params.items()}
    callbacks = registered_callbacks(base) + list(callbacks)

    start, steps, histories = 0, [], [{} for _ in configs]
    elapsed = {"train": 0.0, "eval": [0.0] * len(configs)}
    state = checkpointer.load()
    if state is not None:
        with torch.no_grad():
            for name, tensor in params.items():
                tensor.copy_(state["params"][name])
            for name, tensor in buffers.items():
                tensor.copy_(state.get("buffers", {}).get(name, tensor))
        optimizer.load_state_dict(state["optimizer"])
        schedule.load_state_dict(state["schedule"])
        start, steps, histories, elapsed = state["step"], state["steps"], state["histories"], state["elapsed"]
        if trace is not None:
            trace.load(state["norm_trace"])
    elif trace is not None:
        trace.record(0, intervention.member_norms(stacked))
    train_at_stop = elapsed.setdefault("train_at_stop", [None] * len(configs))  # per member, early stop

    def active() -> list[int]:
        return [i for i, c in enumerate(configs) if not member_stopped(c, steps, histories[i])]

    def snapshot() -> dict:
        return {"params": {k: v.detach().clone() for k, v in params.items()},
                "buffers": {k: v.detach().clone() for k, v in buffers.items()},
                "optimizer": optimizer.state_dict(), "schedule": schedule.state_dict(), "step": step,
                "steps": steps, "histories": histories, "elapsed": elapsed,
                **({} if trace is None else {"norm_trace": trace.state()})}

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
    checkpointer.start(start)
    bar = progress_bar(progress, base.num_steps, start, label)
    step = start
    pending = [s for s in eval_steps(base.eval_schedule, base.num_steps) if s >= start and s not in steps]
    if not active():
        pending = []  # resumed after every member's early stop: nothing left to train
    for next_eval in pending:
        tick = time.perf_counter()
        for step in range(step, next_eval):
            if full_batch:
                x, y = dataset.x_train, dataset.y_train
            else:
                batch = torch.stack([sampler(step) for sampler in samplers])
                x, y = dataset.x_train[batch], dataset.y_train[batch]
            loss = batched_loss(params, buffers, x, y, alphas).sum()
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            decay_and_step()
            schedule.step()
            if targets is not None:
                intervention.match_member_norms_(stacked, targets[:, step + 1], matched)
            if trace is not None:
                trace.record(step + 1, intervention.member_norms(stacked))
        step = next_eval
        elapsed["train"] += time.perf_counter() - tick
        evaluated = active()  # members that stopped early are trained on but no longer evaluated
        steps.append(step)
        for index in evaluated:
            config = configs[index]
            tock = time.perf_counter()
            model = _load_member(template, params, buffers, index)
            row = evaluate(EvalContext(model, dataset, config, step), callbacks)
            elapsed["eval"][index] += time.perf_counter() - tock
            row["wall_time"] = elapsed["train"] + sum(elapsed["eval"])
            check_finite(row, step, config)
            for name, value in row.items():
                histories[index].setdefault(name, []).append(value)
            if member_stopped(config, steps, histories[index]):
                train_at_stop[index] = elapsed["train"]
        show_progress(bar, step, {k: v[-1] for k, v in histories[0].items()})
        checkpointer.maybe_save(snapshot, step=step)
        if not active():
            break  # every member has reached its early stop
    if bar is not None:
        bar.close()
    env = environment(device) | dataset.provenance | {"sweep_size": len(configs)}
    traces = None if trace is None else trace.array()
    results = []
    for index, config in enumerate(configs):
        own = member_steps(steps, histories[index])
        train_s = elapsed["train"] if train_at_stop[index] is None else train_at_stop[index]
        timings = {"train_s": train_s, "eval_s": elapsed["eval"][index], "sweep_size": len(configs),
                   "ms_per_step": 1000 * train_s / max(own[-1], 1)}
        norm_trace = traces[index][:own[-1] + 1].copy() if recording[index] else None
        results.append(Result(config, own, histories[index], timings, env, norm_trace=norm_trace))
    return results
