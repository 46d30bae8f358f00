"""The sweep engine: many configurations of one shape trained at once.

Configurations that differ only in ``seed``, ``weight_decay``,
``init_scale``, ``mixing_alpha``, ``norm_matched`` or ``stop_after_grok`` share data and
architecture, and train in one loop with one evaluation schedule, by one of two strategies:

- ``'vmap'``: their parameters are stacked (``torch.func.stack_module_state``) and one vectorised
  forward/backward (``torch.func.vmap`` over ``functional_call``) trains all of them per step. AdamW's
  decoupled decay is applied per member before the optimiser step, exactly as ``torch.optim.AdamW`` does
  for one model. It pays off for small models (Part I's MLPs on the CPU); for the CPU transformer,
  whose matrix products already use both cores, its batched products are slower than one by one.
- ``'loop'``: each member keeps its own model and optimiser and they take their steps one after the
  other: exactly the numbers and the cost of training them one by one with :func:`grokutils.train.train`.

:func:`train_sweep` picks the faster for each shape from a short measurement (:func:`choose_strategy`,
once per process), so a sweep is never much slower than training its members one by one.
Each member keeps its own initialisation, minibatch order and weight decay. Part III's intervention
(:mod:`grokutils.intervention`) is per member too: its own mixing α, and for
norm-matched members a rescaling to their own baseline's norm after every step. Part II's strategies
(:mod:`grokutils.perturbation`) and Part IV's regularisers (:mod:`grokutils.regularisers`) train by ``'loop'``
only, each member with its own loss of every step. The early stop
after grokking (``Config.stop_after_grok``) is per member in effect: the group keeps
training until every member has reached its :func:`~grokutils.result.stop_step` (or ``num_steps``),
a member that has is no longer evaluated (nor trained, in a loop), and its result ends at its own stop.
The results equal training the configurations one by one to float tolerance (``'vmap'``) or exactly
(``'loop'``), tested in ``tests/test_sweep.py``, and are evaluated with the same code as
:func:`grokutils.train.train`.
"""

from __future__ import annotations

import copy
import hashlib
import math
import os
import time
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

import torch
from torch import nn
from torch.func import functional_call, stack_module_state, vmap

from grokutils import data as data_module
from grokutils import intervention, models, perturbation, regularisers, stacked
from grokutils.config import Config, eval_steps
from grokutils.result import Result, environment, stop_step
from grokutils.losses import objective
from grokutils.steps import Gradients, compile_wanted, make_optimizer, optimizer_step, warmup_factor
from grokutils.train import (CHECKPOINT_EVERY_S, CHECKPOINT_EVERY_STEPS, BatchSampler, Checkpointer, EvalContext,
                             NormTrace, check_finite, check_training_arguments, evaluate, flush_denormals,
                             progress_bar, registered_callbacks, show_progress, training_device)

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


def shape_key(config: Config) -> str:
    """What decides whether configurations can train together: every field but the :data:`SWEEPABLE` ones."""
    return repr(sorted((config.to_dict() | {name: None for name in SWEEPABLE}).items()))


def sweep_groups(configs: list[Config], max_members: int) -> list[list[Config]]:
    """Split ``configs`` into sweeps: same shape (see :func:`check_same_shape`), in the given
    order, at most ``max_members`` each, so that each group's results are stored as it ends."""
    if isinstance(max_members, bool) or not isinstance(max_members, int) or max_members < 1:
        raise ValueError(f"max_members (the sweep size) must be an integer >= 1, got {max_members!r}.")
    by_shape: dict[str, list[Config]] = {}
    for config in configs:
        by_shape.setdefault(shape_key(config), []).append(config)
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
                checkpoint_every_steps: int | None = CHECKPOINT_EVERY_STEPS,
                strategy: str | None = None) -> list[Result]:
    """Train ``configs`` together; returns one :class:`Result` per config, in order.

    Norm-matched members (Part III, claim 3) need ``baseline_norm_traces``: one entry per config,
    the ``norm_trace`` of that config's baseline result (``None`` for the other members). Checkpoints as
    :func:`grokutils.train.train`'s (:class:`~grokutils.train.Checkpointer`); an interrupted sweep resumes
    to the same histories bit for bit, with the strategy it started with.

    ``strategy``: ``'vmap'`` (one vectorised step of the stacked members), ``'loop'`` (each member's own
    model and optimiser, one after the other in every step: the cost of training them one by one, and the
    same numbers) or ``None``: the faster of the two for this shape, measured once per process
    (:func:`choose_strategy`).
    """
    configs = check_configs(configs, "train_sweep")
    check_same_shape(configs)
    callbacks = check_training_arguments(configs[0], dataset, callbacks, progress, checkpoint_path, "train_sweep")
    if strategy is not None and strategy not in STRATEGIES:
        raise ValueError(f"train_sweep: strategy={strategy!r} is not allowed; expected one of {STRATEGIES} or None "
                         "(measure which is faster).")
    checkpointer = Checkpointer(checkpoint_path, sweep_checkpoint_key(configs), checkpoint_every_s,
                                checkpoint_every_steps)
    targets = baseline_targets(configs, baseline_norm_traces)
    with flush_denormals():
        return _train_sweep(configs, dataset, callbacks, progress, checkpointer, targets, strategy)


# ---------------------------------------------------------------- strategies
#: How a sweep trains its members (see :func:`train_sweep`).
STRATEGIES = ("vmap", "loop")
#: ``GROKUTILS_SWEEP_STRATEGY`` fixes the strategy of every sweep that does not pass one.
STRATEGY_ENV = "GROKUTILS_SWEEP_STRATEGY"
#: Steps of each strategy that :func:`choose_strategy` times (after one untimed step each), alternately.
PROBE_STEPS = 3
_CHOSEN: dict[str, dict] = {}


class VmapMembers:
    """The members' parameters stacked (``torch.func.stack_module_state``) and trained by one vectorised
    forward/backward (``vmap`` over ``functional_call``) and one optimiser step per training step.
    AdamW's decoupled decay is applied per member before the optimiser step, exactly as
    ``torch.optim.AdamW`` does for one model; for SGD, each member's L2 term is added to its gradient."""

    strategy = "vmap"

    def __init__(self, configs: list[Config], dataset: data_module.Dataset, device: torch.device):
        base = configs[0]
        self.configs, self.base = configs, base
        members = [models.build(c, dataset.input_shape, dataset.num_classes, dataset.vocab_size).to(device)
                   for c in configs]
        self.params, self.buffers = stack_module_state(members)
        self.template = members[0]
        self.full_batch = BatchSampler(len(dataset.y_train), base.batch_size, base.seed, device).full
        self.alphas = torch.tensor([c.mixing_alpha for c in configs], device=device)
        mixing = bool((self.alphas > 0).any())
        self.turned: set[str] = set()  # weights trained input-major (grokutils.stacked)
        if stacked.applies(self.template, mixing):
            self.params, self.turned = stacked.input_major(self.params, self.template)
            self.batched_loss = stacked.stacked_mlp_loss(base, self.template, dataset.input_shape, self.full_batch)
        else:
            member_loss = member_loss_fn(base, copy.deepcopy(self.template).to("meta"), mixing)
            self.batched_loss = vmap(member_loss, in_dims=(0, 0, None, None, 0) if self.full_batch else (0, 0, 0, 0, 0))
        self.stacked = list(self.params.values())
        self.optimizer = make_optimizer(base, self.params.values(), weight_decay=0.0)
        self.schedule = torch.optim.lr_scheduler.LambdaLR(self.optimizer, warmup_factor(base))
        self.decays = {name: _per_member([c.weight_decay for c in configs], p) for name, p in self.params.items()}
        self._factors, self._factors_lr = {}, None  # 1 - lr × decay per member, for the current lr

    def train_step(self, x: torch.Tensor, y: torch.Tensor, active: list[int], step: int = 0,
                   noise: list[float] | None = None) -> None:
        """One step of every member (``x``, ``y``: shared full batch, or stacked per-member batches). Part II's
        strategies and Part IV's regularisers never train here (:func:`choose_strategy`), so ``step`` and
        ``noise`` are not read."""
        loss = self.batched_loss(self.params, self.buffers, x, y, self.alphas).sum()
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        lr = self.optimizer.param_groups[0]["lr"]
        if self.base.optimizer == "adamw" and lr != self._factors_lr:  # constant after the warm-up: kept
            self._factors = {name: 1 - lr * decay for name, decay in self.decays.items()}
            self._factors_lr = lr
        with torch.no_grad():
            for name, tensor in self.params.items():
                if self.base.optimizer == "adamw":
                    tensor.mul_(self._factors[name])  # AdamW's decoupled decay, per member
                else:
                    tensor.grad.add_(self.decays[name] * tensor)  # SGD's L2 term, per member
        optimizer_step(self.optimizer)
        if self.schedule.last_epoch < self.base.warmup_steps:
            self.schedule.step()

    def norms(self) -> torch.Tensor:
        return intervention.member_norms(self.stacked)

    def match_norms_(self, targets: torch.Tensor, matched: torch.Tensor) -> None:
        intervention.match_member_norms_(self.stacked, targets, matched)

    def _outward(self, name: str, tensor: torch.Tensor) -> torch.Tensor:
        """``tensor`` of parameter ``name`` in ``stack_module_state``'s layout, whichever layout trains it."""
        return stacked.output_major(name, tensor, self.turned)

    def model(self, index: int) -> nn.Module:
        params = {name: self._outward(name, tensor) for name, tensor in self.params.items()}
        return _load_member(self.template, params, self.buffers, index)

    def _optimizer_state(self, optimizer_state: dict) -> dict:
        """``optimizer_state`` with the moments of turned weights transposed (the same call turns them back)."""
        if not self.turned:
            return optimizer_state
        names = list(self.params)
        moments = {index: {key: (self._outward(names[index], value).contiguous() if torch.is_tensor(value)
                                 and value.dim() == 3 else value) for key, value in entry.items()}
                   for index, entry in optimizer_state["state"].items()}
        return {**optimizer_state, "state": moments}

    def state(self) -> dict:
        return {"params": {k: self._outward(k, v).detach().clone() for k, v in self.params.items()},
                "buffers": {k: v.detach().clone() for k, v in self.buffers.items()},
                "optimizer": self._optimizer_state(self.optimizer.state_dict()), "schedule": self.schedule.state_dict()}

    def load(self, state: dict) -> None:
        with torch.no_grad():
            for name, tensor in self.params.items():
                tensor.copy_(self._outward(name, state["params"][name]))
            for name, tensor in self.buffers.items():
                tensor.copy_(state.get("buffers", {}).get(name, tensor))
        self.optimizer.load_state_dict(self._optimizer_state(state["optimizer"]))
        self.schedule.load_state_dict(state["schedule"])


class LoopMembers:
    """Each member's own model, optimiser and warm-up (as :func:`grokutils.train.train` builds them), trained
    one after the other within every step: the same numbers as training them one by one, at the same cost,
    without ``vmap``'s batched matrix products. A member that has reached its early stop is no longer
    trained."""

    strategy = "loop"

    def __init__(self, configs: list[Config], dataset: data_module.Dataset, device: torch.device,
                 may_compile: bool = True):
        self.configs = configs
        self.members = [models.build(c, dataset.input_shape, dataset.num_classes, dataset.vocab_size).to(device)
                        for c in configs]
        self.optimizers = [make_optimizer(c, m.parameters()) for c, m in zip(configs, self.members)]
        self.schedules = [torch.optim.lr_scheduler.LambdaLR(o, warmup_factor(c))
                          for c, o in zip(configs, self.optimizers)]
        self.parameters = [list(m.parameters()) for m in self.members]
        size = len(dataset.y_train)
        self.gradients = [Gradients(c, m, o, may_compile and compile_wanted(c, size, device))
                          for c, m, o in zip(configs, self.members, self.optimizers)]
        self.full_batch = BatchSampler(size, configs[0].batch_size, configs[0].seed, device).full

    def train_step(self, x: torch.Tensor, y: torch.Tensor, active: list[int], step: int = 0,
                   noise: list[float] | None = None) -> None:
        """One step of each active member; ``noise``: each member's input-noise σ (Part II), else none."""
        for index in active:
            xi, yi = (x, y) if self.full_batch else (x[index], y[index])
            self.member_step(index, xi, yi, step, 0.0 if noise is None else noise[index])

    def member_step(self, index: int, x: torch.Tensor, y: torch.Tensor, step: int = 0,
                    noise_std: float = 0.0) -> None:
        """One step of member ``index`` on its own batch ``x``, ``y``, with input noise σ ``noise_std``."""
        self.gradients[index](x, y, step, noise_std)
        optimizer_step(self.optimizers[index])
        if self.schedules[index].last_epoch < self.configs[index].warmup_steps:
            self.schedules[index].step()

    def norms(self) -> torch.Tensor:
        return torch.stack([intervention.parameter_norm(p) for p in self.parameters])

    def match_norms_(self, targets: torch.Tensor, matched: torch.Tensor) -> None:
        for index in torch.nonzero(matched).flatten().tolist():
            intervention.match_norm_(self.parameters[index], targets[index])

    def model(self, index: int) -> nn.Module:
        return self.members[index]

    def state(self) -> dict:
        return {"members": [m.state_dict() for m in self.members],
                "optimizers": [o.state_dict() for o in self.optimizers],
                "schedules": [s.state_dict() for s in self.schedules],
                "compiled": [g.compiled for g in self.gradients]}

    def load(self, state: dict) -> None:
        for index, member in enumerate(self.members):
            member.load_state_dict(state["members"][index])
            self.optimizers[index].load_state_dict(state["optimizers"][index])
            self.schedules[index].load_state_dict(state["schedules"][index])
            self.gradients[index].compiled = state["compiled"][index]


MEMBERS = {"vmap": VmapMembers, "loop": LoopMembers}


def _batches(configs: list[Config], samplers: list[BatchSampler], dataset: data_module.Dataset, step: int):
    """The training inputs of one step: the full batch, or each member's minibatch stacked ``(M, B, ...)``."""
    if samplers[0].full:
        return dataset.x_train, dataset.y_train
    batch = torch.stack([sampler(step) for sampler in samplers])
    rows = batch.flatten()  # index_select, then the member axis: the same tensors as x_train[batch], sooner
    return (dataset.x_train.index_select(0, rows).unflatten(0, batch.shape),
            dataset.y_train.index_select(0, rows).unflatten(0, batch.shape))


def _member_batch(sampler: BatchSampler, dataset: data_module.Dataset, step: int):
    """One member's training inputs of one step (the rows :func:`_batches` stacks for it)."""
    if sampler.full:
        return dataset.x_train, dataset.y_train
    rows = sampler(step)
    return dataset.x_train.index_select(0, rows), dataset.y_train.index_select(0, rows)


def _train_members_in_turn(members: LoopMembers, samplers: list[BatchSampler], dataset: data_module.Dataset,
                           training: list[int], steps: range, noise: list[float], targets: torch.Tensor | None,
                           matched: torch.Tensor | None, trace: NormTrace | None) -> None:
    """The loop strategy's ``steps`` (from one evaluation to the next): each training member's steps in a row, as
    one-by-one training runs them, so that its weights, optimiser state and activations stay in the caches
    (interleaving five Nanda transformers step by step cost ≈ 2–5 % on 2 cores). The members are independent, so
    the order changes no number; a norm-matched member is rescaled, and the norm trace recorded, after each of
    its steps, as in the vectorised loop."""
    for index in training:
        parameters = members.parameters[index]
        for step in steps:
            members.member_step(index, *_member_batch(samplers[index], dataset, step), step, noise[index])
            if targets is not None and matched[index]:
                intervention.match_norm_(parameters, targets[index, step + 1])
            if trace is not None:
                trace.record_member(index, step + 1, intervention.parameter_norm(parameters))


def probe_key(configs: list[Config], device: torch.device) -> str:
    """What the probe's answer depends on: the shape (the configuration but its sweepable fields), the number of
    members, the device and torch's threads."""
    neutral = {name: None for name in SWEEPABLE}
    shape = repr(sorted((configs[0].to_dict() | neutral | {"device": None}).items()))
    return f"{shape}|{len(configs)}|{device}|{torch.get_num_threads()}"


def choose_strategy(configs: list[Config], dataset: data_module.Dataset, device: torch.device) -> dict:
    """The faster strategy for this sweep, measured: :data:`PROBE_STEPS` steps of throwaway members of each
    strategy, alternately, after one untimed step each (the real members are not touched; the loop's are not
    compiled); the lowest time of each counts and ``'loop'`` wins ties (its numbers equal one-by-one
    training's). Measured once per :func:`probe_key` and process; ``$GROKUTILS_SWEEP_STRATEGY`` or a single
    member decide without measuring.
    Returns ``{"strategy", "ms_per_step": {strategy: ms} (empty unless measured), "why"}``."""
    if any(perturbation.active(c) for c in configs):
        return {"strategy": "loop", "ms_per_step": {}, "why": "Part II's strategies train one member at a time"}
    if any(regularisers.active(c) for c in configs):
        return {"strategy": "loop", "ms_per_step": {}, "why": "Part IV's regularisers train one member at a time"}
    fixed = os.environ.get(STRATEGY_ENV, "").strip()
    if fixed in STRATEGIES:
        return {"strategy": fixed, "ms_per_step": {}, "why": f"${STRATEGY_ENV}"}
    if len(configs) == 1:
        return {"strategy": "loop", "ms_per_step": {}, "why": "one member"}
    key = probe_key(configs, device)
    if key not in _CHOSEN:
        probes = {"vmap": MEMBERS["vmap"](configs, dataset, device),
                  "loop": MEMBERS["loop"](configs, dataset, device, False)}
        samplers = [BatchSampler(len(dataset.y_train), c.batch_size, c.seed, device) for c in configs]
        active = list(range(len(configs)))
        best = {name: math.inf for name in STRATEGIES}
        for round_ in range(PROBE_STEPS + 1):
            for name, members in probes.items():
                x, y = _batches(configs, samplers, dataset, round_)
                tick = time.perf_counter()
                members.train_step(x, y, active)
                if device.type == "cuda":
                    torch.cuda.synchronize()
                if round_:
                    best[name] = min(best[name], time.perf_counter() - tick)
        chosen = "vmap" if best["vmap"] < best["loop"] else "loop"
        _CHOSEN[key] = {"strategy": chosen, "ms_per_step": {k: 1000 * v for k, v in best.items()}, "why": "measured"}
    return _CHOSEN[key]


def _train_sweep(configs: list[Config], dataset: data_module.Dataset | None, callbacks: list[Callback],
                 progress: bool, checkpointer: Checkpointer, targets: torch.Tensor | None,
                 strategy: str | None) -> list[Result]:
    base = configs[0]
    device = training_device(base)
    dataset = (dataset or data_module.load(base)).to(device)
    state = checkpointer.load()
    if state is not None:  # resume with the strategy the sweep started with: the same numbers
        choice = {"strategy": state.get("strategy", "vmap"), "ms_per_step": {}, "why": "checkpoint"}
    elif strategy is not None:
        if strategy == "vmap" and any(perturbation.active(c) or regularisers.active(c) for c in configs):
            raise ValueError("train_sweep: strategy='vmap' is not allowed for Part II's strategies (noise_scale, "
                             "noise_floor, abelian_weight) nor Part IV's regularisers (ncc_weight, "
                             "flatness_weight); use strategy='loop' or None.")
        choice = {"strategy": strategy, "ms_per_step": {}, "why": "asked"}
    else:
        choice = choose_strategy(configs, dataset, device)
    members = MEMBERS[choice["strategy"]](configs, dataset, device)
    samplers = [BatchSampler(len(dataset.y_train), c.batch_size, c.seed, device) for c in configs]
    recording = [c.records_norm_trace for c in configs]
    trace = NormTrace(base.num_steps, device, len(configs)) if any(recording) else None
    matched = None
    if targets is not None:
        targets = targets.to(device)
        matched = torch.tensor([c.norm_matched for c in configs], device=device)
    callbacks = registered_callbacks(base) + list(callbacks)

    start, steps, histories = 0, [], [{} for _ in configs]
    elapsed = {"train": 0.0, "eval": [0.0] * len(configs)}
    if state is not None:
        members.load(state)
        start, steps, histories, elapsed = state["step"], state["steps"], state["histories"], state["elapsed"]
        if trace is not None:
            trace.load(state["norm_trace"])
    elif trace is not None:
        trace.record(0, members.norms())
    train_at_stop = elapsed.setdefault("train_at_stop", [None] * len(configs))  # per member, early stop

    def active() -> list[int]:
        return [i for i, c in enumerate(configs) if not member_stopped(c, steps, histories[i])]

    def snapshot() -> dict:
        return {**members.state(), "strategy": members.strategy, "step": step, "steps": steps,
                "histories": histories, "elapsed": elapsed, **({} if trace is None else {"norm_trace": trace.state()})}

    label = f"sweep of {len(configs)} × {base.label()}"
    checkpointer.start(start)
    bar = progress_bar(progress, base.num_steps, start, label)
    step = start
    pending = [s for s in eval_steps(base.eval_schedule, base.num_steps) if s >= start and s not in steps]
    training = active()
    if not training:
        pending = []  # resumed after every member's early stop: nothing left to train
    for next_eval in pending:
        tick = time.perf_counter()
        noise = [perturbation.noise_std(c, h.get("train_acc")) for c, h in zip(configs, histories)]
        if members.strategy == "loop":
            _train_members_in_turn(members, samplers, dataset, training, range(step, next_eval), noise, targets,
                                   matched, trace)
        else:
            for step in range(step, next_eval):
                x, y = _batches(configs, samplers, dataset, step)
                members.train_step(x, y, training, step, noise)
                if targets is not None:
                    members.match_norms_(targets[:, step + 1], matched)
                if trace is not None:
                    trace.record(step + 1, members.norms())
        step = next_eval
        elapsed["train"] += time.perf_counter() - tick
        evaluated = active()  # members that stopped early are no longer evaluated (nor, in a loop, trained)
        steps.append(step)
        for index in evaluated:
            config = configs[index]
            tock = time.perf_counter()
            row = evaluate(EvalContext(members.model(index), dataset, config, step), callbacks)
            elapsed["eval"][index] += time.perf_counter() - tock
            row["wall_time"] = elapsed["train"] + sum(elapsed["eval"])
            check_finite(row, step, config)
            for name, value in row.items():
                histories[index].setdefault(name, []).append(value)
            if member_stopped(config, steps, histories[index]):
                train_at_stop[index] = elapsed["train"]
        show_progress(bar, step, {k: v[-1] for k, v in histories[0].items()})
        checkpointer.maybe_save(snapshot, step=step)
        training = active()
        if not training:
            break  # every member has reached its early stop
    if bar is not None:
        bar.close()
    env = environment(device) | dataset.provenance | {"sweep_size": len(configs), "sweep_strategy": members.strategy}
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
