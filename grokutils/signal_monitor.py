"""One monitor for all signals of grokking (Part V, "the monitor API exposes all of them as one callback").

The generalisation of Part III's :class:`grokutils.monitor.SpectralEntropyMonitor` to every indicator of
:mod:`grokutils.indicators`. It needs nothing from grokutils' trainer::

    monitor = SignalMonitor(x_train[:1000], y_train[:1000], every=200, task="add")
    for step in range(num_steps):
        monitor(step, model)            # evaluates at steps 0, 200, 400, ... (or at the chosen ``steps``)
        ...                             # the loop's own training step
    monitor.history["rnc1"], monitor.steps, monitor.costs(), monitor.overhead(training_seconds)
    monitor.transition("rnc1", t_fit), monitor.lead("rnc1", t_grok, t_fit), monitor.false_alarm("pmi", t_fit)

Each evaluation runs on one fixed probe, puts the model in eval mode and restores its mode, keeps no
gradient (sharpness takes Hessian-vector products through ``torch.autograd.grad``, which writes no
``.grad``), and leaves the global random state as it found it (``torch.random.fork_rng``; every indicator
draws its noise from its own seeded generator), so that a run trains bit-identically with or without the
monitor. An indicator that does not apply to the model, probe or task is listed in
:attr:`SignalMonitor.not_applicable` with the reason, and recorded nowhere; one whose metric raises
``ValueError`` at an evaluation (an undefined value, e.g. the spectral entropy of all-equal features) is
recorded as NaN there, with the message in :attr:`SignalMonitor.errors`.

**One transition definition for every indicator** (:func:`transition_step`, fixed before any run is looked
at): the first evaluation at or after t_fit at which the indicator has covered :data:`HALF_CHANGE` (half) of
its change from its value at t_fit to its final value — the rule of Part II
(``grokutils.part2.analysis.half_change_step``, mirrored exactly by :func:`half_change_step`; Part II is not
imported, to keep the layering) — provided that change is at least :data:`MIN_RELATIVE_CHANGE` (10 %) of the
indicator's range over the whole recorded run; otherwise it has no transition (None). Why: the half-way
point is where a monotone sigmoid-like change is steepest and is insensitive to where the plateaus are cut,
and it needs no threshold on the indicator's own scale, so one rule serves norms, entropies, accuracies and
information estimates alike. The 10 % floor is what a non-grokking control must exceed for a "transition" to
count as a false alarm: measured against the whole run's range (memorisation included), post-fit noise of a
flat indicator stays under it, while the post-fit change of a real transition does not. A constant series
has range 0 and never transitions. The same floor applies to grokking runs, so the definition is one.
The lead of an indicator is t_grok − transition (positive: it moves before the test accuracy does).

:class:`SignalCallback` attaches the same monitor to grokutils' trainer as a metric callback
``(context) -> dict`` (not registered in :data:`grokutils.metrics.REGISTRY`).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable, Sequence

import numpy as np
import torch
from torch import nn

from grokutils.indicators import Indicator, Probe, autoencoder_codes, select
from grokutils.losses import objective
from grokutils.metrics.probe import probe_indices

__all__ = ["HALF_CHANGE", "MIN_RELATIVE_CHANGE", "PROBE_SEED", "PROBE_SIZE", "SignalCallback", "SignalMonitor",
           "half_change_step", "lead", "objective_of", "transition_step"]

#: Fraction of its post-fit change an indicator has covered at its transition (Part II's ``HALF_CHANGE``).
HALF_CHANGE = 0.5
#: A post-fit change |v_final − v(t_fit)| below this fraction of the indicator's range over the whole run
#: (max − min of every recorded value) is no transition: the false-alarm threshold of the controls.
MIN_RELATIVE_CHANGE = 0.10
#: Probe of :class:`SignalCallback`: a seeded subset of this many training samples (Part II's 1,000; the
#: same samples as the robustness and sharpness callbacks draw).
PROBE_SIZE, PROBE_SEED = 1000, 0


# --------------------------------------------------------------------------- the transition rule


def _series(steps, values) -> tuple[np.ndarray, np.ndarray]:
    steps, values = np.asarray(steps, dtype=np.int64), np.asarray(values, dtype=float)
    if steps.ndim != 1 or steps.shape != values.shape:
        raise ValueError(f"steps and values must be 1-D and aligned, got shapes {steps.shape} and {values.shape}.")
    if steps.size > 1 and not (np.diff(steps) > 0).all():
        raise ValueError("steps must increase.")
    return steps, values


def half_change_step(steps: Sequence[int], values: Sequence[float], t_fit: int | None) -> int | None:
    """The first evaluation at or after ``t_fit`` at which ``values`` has covered :data:`HALF_CHANGE` of its
    change from t_fit (the first evaluation at or after it) to the last evaluation; t_fit's evaluation for a
    series that does not change; None without a fit or without an evaluation from t_fit on. Part II's
    ``grokutils.part2.analysis.half_change_step`` applies it to stored runs."""
    steps, values = _series(steps, values)
    if t_fit is None:
        return None
    start = int(np.searchsorted(steps, t_fit))
    steps, values = steps[start:], values[start:]
    if not steps.size:
        return None
    total = values[-1] - values[0]
    if total == 0:
        return int(steps[0])
    covered = (values - values[0]) / total
    return int(steps[np.nonzero(covered >= HALF_CHANGE)[0][0]])


def transition_step(steps: Sequence[int], values: Sequence[float], t_fit: int | None,
                    min_relative_change: float = MIN_RELATIVE_CHANGE) -> int | None:
    """Part V's transition of an indicator (one definition for all; see the module docstring).

    Non-finite values (evaluations where the metric was undefined) are left out. None when there is no
    fit, fewer than two evaluations from t_fit on, or a post-fit change below ``min_relative_change`` of
    the range of the whole series (a constant series included); else :func:`half_change_step`."""
    steps, values = _series(steps, values)
    if not 0 <= min_relative_change <= 1:
        raise ValueError(f"min_relative_change must be a fraction in [0, 1], got {min_relative_change!r}.")
    finite = np.isfinite(values)
    steps, values = steps[finite], values[finite]
    if t_fit is None or not values.size:
        return None
    after = values[int(np.searchsorted(steps, t_fit)):]
    spread = float(values.max() - values.min())
    if after.size < 2 or spread == 0 or abs(after[-1] - after[0]) < min_relative_change * spread:
        return None
    return half_change_step(steps, values, t_fit)


def lead(t_grok: int | None, transition: int | None) -> float:
    """t_grok − transition in steps (positive: the indicator moves first); NaN if either is missing."""
    return math.nan if t_grok is None or transition is None else float(t_grok - transition)


# --------------------------------------------------------------------------- the monitor


def _check_step(step) -> int:
    if isinstance(step, bool) or not isinstance(step, (int, np.integer)) or step < 0:
        raise ValueError(f"step must be a non-negative integer, got {step!r}.")
    return int(step)


class SignalMonitor:
    """Records every applicable indicator of :mod:`grokutils.indicators` on a fixed probe (Part V).

    Args:
        probe_x, probe_y: the fixed probe, inputs and integer labels (Part II uses 1,000 training samples).
        indicators: names or :class:`~grokutils.indicators.Indicator` objects; None: all of them.
        every: evaluation period in steps (step 0 is evaluated); ignored when ``steps`` is given.
        steps: the exact steps to evaluate at (any increasing integers), instead of ``every``.
        task: task name (``'add'``, ``'mnist'``, ...): Fourier alignment needs a modular task, the abelian
            test a commutative one. ``p``: the modulus (default: the model's number of classes).
        loss_fn: ``(logits, labels) -> scalar`` loss for the sharpness (default: mean cross-entropy).
        codes: autoencoder codes of ``probe_x`` for the compression MI (``"auto"``: computed once by
            :func:`~grokutils.indicators.autoencoder_codes` on the probe images; None: that indicator does
            not apply).
    """

    def __init__(self, probe_x: torch.Tensor, probe_y: torch.Tensor,
                 indicators: Iterable[str | Indicator] | None = None, every: int = 200,
                 steps: Iterable[int] | None = None, task: str | None = None, p: int | None = None,
                 loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] | None = None,
                 codes: torch.Tensor | str | None = None):
        if isinstance(every, bool) or not isinstance(every, int) or every < 1:
            raise ValueError(f"every must be a positive integer (steps between evaluations), got {every!r}.")
        if steps is not None:
            chosen = [_check_step(s) for s in steps]
            if not chosen or any(b <= a for a, b in zip(chosen, chosen[1:])):
                raise ValueError(f"steps must be a non-empty increasing list of steps, got {chosen!r}.")
            steps = frozenset(chosen)
        if isinstance(codes, str):
            if codes != "auto":
                raise ValueError(f"codes must be a tensor, 'auto' or None, got {codes!r}.")
            codes = autoencoder_codes(probe_x)
        self.probe = Probe(probe_x, probe_y, task=task, p=p, loss_fn=loss_fn, codes=codes)
        self.indicators = select(indicators)
        self.every, self.chosen_steps = every, steps
        self.steps: list[int] = []
        self.history: dict[str, list[float]] = {}
        self.not_applicable: dict[str, str] = {}
        self.errors: dict[str, list[tuple[int, str]]] = {}
        self.seconds: dict[str, list[float]] = {}
        self.overhead_seconds = 0.0
        self._active: list[Indicator] | None = None

    # ------------------------------------------------------------------------------ recording
    def due(self, step: int) -> bool:
        """Whether ``step`` is an evaluation step (one of ``steps``, else a multiple of ``every``)."""
        step = _check_step(step)
        return step in self.chosen_steps if self.chosen_steps is not None else step % self.every == 0

    def update(self, step: int, model: nn.Module) -> dict[str, float] | None:
        """Evaluate if ``step`` is due (:meth:`due`); else nothing. Also ``monitor(step, model)``.
        Returns the recorded row ``{key: value}`` or None."""
        tick = time.perf_counter()
        try:
            return self._record(step, model) if self.due(step) else None
        finally:
            self.overhead_seconds += time.perf_counter() - tick

    __call__ = update

    def record(self, step: int, model: nn.Module) -> dict[str, float]:
        """Evaluate now, whatever the schedule says. Steps must increase from call to call."""
        tick = time.perf_counter()
        try:
            return self._record(step, model)
        finally:
            self.overhead_seconds += time.perf_counter() - tick

    def _applicable(self, model: nn.Module, probe: Probe) -> list[Indicator]:
        if self._active is None:
            self._active = []
            for indicator in self.indicators:
                reason = indicator.not_applicable(model, probe)
                if reason is None:
                    self._active.append(indicator)
                    self.history.update({key: [] for key in indicator.keys})
                    self.seconds[indicator.name] = []
                else:
                    self.not_applicable[indicator.name] = reason
        return self._active

    def _record(self, step: int, model: nn.Module) -> dict[str, float]:
        if self.probe is None:
            raise ValueError("this monitor was restored from a recording (SignalMonitor.from_dict): it answers "
                             "questions about what it recorded but cannot record; make a new monitor.")
        step = _check_step(step)
        if self.steps and step <= self.steps[-1]:
            raise ValueError(f"steps must increase: step {step} after recorded step {self.steps[-1]}.")
        if not isinstance(model, nn.Module):
            raise ValueError(f"model must be a torch.nn.Module, got {type(model).__name__}.")
        device = next(model.parameters()).device if any(True for _ in model.parameters()) else self.probe.x.device
        probe = self.probe.to(device)
        was_training = model.training
        cuda = [device.index or 0] if device.type == "cuda" else []
        row: dict[str, float] = {}
        model.eval()
        try:
            with torch.random.fork_rng(devices=cuda):
                for indicator in self._applicable(model, probe):
                    tick = time.perf_counter()
                    try:
                        values = indicator.values(model, probe)
                    except ValueError as error:
                        values = dict.fromkeys(indicator.keys, math.nan)
                        self.errors.setdefault(indicator.name, []).append((step, str(error)))
                    self.seconds[indicator.name].append(time.perf_counter() - tick)
                    row.update(values)
        finally:
            model.train(was_training)
        self.steps.append(step)
        for key, value in row.items():
            self.history[key].append(value)
        return row

    # ------------------------------------------------------------------------------ cost
    def costs(self) -> dict[str, float]:
        """Mean seconds per evaluation of each applicable indicator (``time.perf_counter``, its own forward
        passes included: what monitoring that indicator alone costs)."""
        return {name: float(np.mean(s)) for name, s in self.seconds.items() if s}

    def overhead(self, training_seconds: float) -> float:
        """Seconds spent inside the monitor over ``training_seconds`` of training (Part III's overhead,
        paper: < 1 % for the spectral entropy alone)."""
        if isinstance(training_seconds, bool) or not isinstance(training_seconds, (int, float, np.floating)) \
                or not math.isfinite(training_seconds) or training_seconds <= 0:
            raise ValueError(f"training_seconds must be a finite positive number, got {training_seconds!r}.")
        return self.overhead_seconds / training_seconds

    # ------------------------------------------------------------------------------ transitions
    def _values(self, name: str) -> list[float]:
        if name not in self.history:
            raise KeyError(f"{name!r} was not recorded; recorded: {sorted(self.history)} "
                           f"(not applicable: {sorted(self.not_applicable)}).")
        return self.history[name]

    def transition(self, name: str, t_fit: int | None) -> int | None:
        """The transition step of recorded value ``name`` (:func:`transition_step`), or None."""
        return transition_step(self.steps, self._values(name), t_fit)

    def lead(self, name: str, t_grok: int | None, t_fit: int | None) -> float:
        """t_grok − :meth:`transition` (NaN without a transition or without t_grok)."""
        return lead(t_grok, self.transition(name, t_fit))

    def false_alarm(self, name: str, t_fit: int | None) -> bool:
        """Whether ``name`` transitions (same rule) in a run that never groks: a false alarm."""
        return self.transition(name, t_fit) is not None

    def summary(self, t_fit: int | None, t_grok: int | None = None) -> dict[str, dict]:
        """Per recorded value: its ``transition``, ``lead`` (NaN when the run does not grok), and
        ``false_alarm`` (meaningful for a run that does not grok: ``t_grok`` None)."""
        out = {}
        for name in self.history:
            transition = self.transition(name, t_fit)
            out[name] = {"transition": transition, "lead": lead(t_grok, transition),
                         "false_alarm": t_grok is None and transition is not None}
        return out

    def to_dict(self) -> dict:
        """Everything recorded, as plain Python: steps, history, costs (and the seconds of every evaluation),
        not-applicable indicators, errors; what :meth:`from_dict` restores."""
        return {"steps": list(self.steps), "history": {k: list(v) for k, v in self.history.items()},
                "costs": self.costs(), "seconds": {k: list(v) for k, v in self.seconds.items()},
                "overhead_seconds": self.overhead_seconds, "not_applicable": dict(self.not_applicable),
                "errors": {k: [list(e) for e in v] for k, v in self.errors.items()}}

    @classmethod
    def from_dict(cls, data: dict) -> SignalMonitor:
        """A monitor restored from :meth:`to_dict`: its history, transitions, leads, costs and overhead are those
        recorded; it cannot record again (no probe)."""
        missing = sorted({"steps", "history", "seconds", "overhead_seconds", "not_applicable", "errors"} - set(data))
        if missing:
            raise ValueError(f"SignalMonitor.from_dict: the recording lacks {missing}; it was not written by "
                             "SignalMonitor.to_dict.")
        monitor = cls.__new__(cls)
        monitor.probe, monitor.indicators, monitor._active = None, [], []
        monitor.every, monitor.chosen_steps = 1, None
        monitor.steps = [int(s) for s in data["steps"]]
        monitor.history = {k: [float(x) for x in v] for k, v in data["history"].items()}
        monitor.seconds = {k: [float(x) for x in v] for k, v in data["seconds"].items()}
        monitor.not_applicable = dict(data["not_applicable"])
        monitor.errors = {k: [(int(step), str(message)) for step, message in v] for k, v in data["errors"].items()}
        monitor.overhead_seconds = float(data["overhead_seconds"])
        return monitor


# --------------------------------------------------------------------------- the trainer adapter


class _Objective:
    """The run's objective with mean reduction, as Part II's sharpness callback takes it (picklable)."""

    def __init__(self, config):
        self.config = config

    def __call__(self, logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        return objective(self.config, logits, labels, reduction="mean")


def objective_of(config) -> Callable[[torch.Tensor, torch.Tensor], torch.Tensor]:
    """The loss a monitor's sharpness takes for a run of ``config``: its objective, mean reduction."""
    return _Objective(config)


class SignalCallback:
    """A :class:`SignalMonitor` as a metric callback of grokutils' trainer: ``callback(context) -> dict``
    with ``context.model``, ``.data``, ``.config``, ``.step`` (see :class:`grokutils.train.EvalContext`).

    The probe is :data:`PROBE_SIZE` training samples chosen by
    :func:`~grokutils.metrics.probe.probe_indices` (seed :data:`PROBE_SEED`: the samples of Part II's
    robustness and sharpness callbacks), the task and modulus come from the config, the sharpness takes the
    run's objective (mean reduction), and for image data the compression MI uses the codes of Part I's
    autoencoder trained on the train and test images (as Part I's callback). Every evaluation of the trainer
    is recorded (the trainer decides when). A new monitor starts when the data or the model changes or the
    step does not increase (a new run); :attr:`monitor` is the latest. ``record_costs`` adds each
    indicator's seconds as ``cost_<name>``. Its stateless twin is the registered callback ``signals``
    (:func:`grokutils.metrics.signals.signals_metrics`).
    """

    def __init__(self, indicators: Iterable[str | Indicator] | None = None, probe_size: int = PROBE_SIZE,
                 probe_seed: int = PROBE_SEED, record_costs: bool = False):
        self.indicators = select(indicators)
        self.probe_size, self.probe_seed, self.record_costs = probe_size, probe_seed, record_costs
        self.monitor: SignalMonitor | None = None
        self._run: tuple | None = None

    def _start(self, context) -> SignalMonitor:
        data, config = context.data, context.config
        index = probe_indices(len(data.y_train), self.probe_size, self.probe_seed).to(data.y_train.device)
        x, y = data.x_train[index], data.y_train[index]
        codes = None
        images = x.is_floating_point() and x.ndim == 4 and min(x.shape[-2:]) >= 15
        if images and any(indicator.name == "compression_mi" for indicator in self.indicators):
            codes = autoencoder_codes(x, torch.cat([data.x_train, data.x_test]))
        return SignalMonitor(x, y, self.indicators, task=config.task, p=getattr(config, "p", None),
                             loss_fn=objective_of(config), codes=codes)

    def __call__(self, context) -> dict[str, float]:
        run = (id(context.data), id(context.model))
        if self.monitor is None or run != self._run or (self.monitor.steps and context.step <= self.monitor.steps[-1]):
            self.monitor, self._run = self._start(context), run
        row = self.monitor.record(context.step, context.model)
        if self.record_costs:
            row.update({f"cost_{name}": s[-1] for name, s in self.monitor.seconds.items()})
        return row
