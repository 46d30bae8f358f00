"""The outcome of one run: configuration, per-evaluation metric series, timings.

A :class:`Result` is what :func:`grokutils.runs.run` returns and what the
result store writes (JSON, one file per configuration; a run that records its
per-step ``norm_trace`` gets a float32 ``.npy`` file next to it). The derived times
``t_fit``, ``t_grok`` and ``grok_delay`` follow the book's shared definitions, and
:func:`stop_step` applies them to ``Config.stop_after_grok``, the optional early stop
after grokking that both training loops use.
"""

from __future__ import annotations

import json
import platform
import sys
from dataclasses import dataclass, field
from datetime import datetime, timezone

import numpy as np
import torch

from grokutils import __version__
from grokutils.config import Config

FIT_THRESHOLD = 0.99


def first_step_at_least(steps: np.ndarray, values: np.ndarray, threshold: float) -> int | None:
    """First step whose value is >= ``threshold`` (None if never)."""
    hits = np.flatnonzero(np.asarray(values) >= threshold)
    return int(steps[hits[0]]) if hits.size else None


def grok_step(config: Config, steps, test_acc) -> int | None:
    """t_grok: the first evaluation step with test accuracy >= ``config.grok_threshold`` (None if never)."""
    return first_step_at_least(np.asarray(steps), np.asarray(test_acc, dtype=float), config.grok_threshold)


def stop_step(config: Config, steps, test_acc) -> int | None:
    """The evaluation at which ``config.stop_after_grok = k`` ends a run: the first of ``steps`` that is
    >= t_grok + k (:func:`grok_step`). None when k is None, the run has not grokked, or no evaluation
    so far is that late. The training loops (:mod:`grokutils.train`, :mod:`grokutils.sweep`) call it
    after every evaluation and stop at the first one where it is not None; Part III trains
    "≤ 50,000 steps", and nothing it measures needs the steps long after t_grok."""
    if config.stop_after_grok is None:
        return None
    steps = np.asarray(steps)
    t_grok = grok_step(config, steps, test_acc)
    if t_grok is None:
        return None
    late = steps[steps >= t_grok + config.stop_after_grok]
    return int(late[0]) if late.size else None


def environment(device: torch.device | str) -> dict:
    """Where a run executed: versions, device and threads (stored with every result)."""
    env = {
        "grokutils": __version__, "torch": torch.__version__, "python": sys.version.split()[0],
        "platform": platform.platform(), "device": str(device), "threads": torch.get_num_threads(),
        "finished": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
    if str(device).startswith("cuda"):
        env["gpu"] = torch.cuda.get_device_name(torch.device(device))
    return env


@dataclass
class Result:
    """Config, evaluation steps, one series per metric, timings and environment.

    ``norm_trace`` (float32, ``steps[-1] + 1`` values) is the parameter norm after every step
    when ``config.records_norm_trace`` (Part III, claim 3: the baseline of the norm-matched
    control), else ``None``. It is stored in its own file and left out of ``==``.

    ``model`` is the trained model, only on a result that :func:`grokutils.train.train` just
    returned; ``None`` when loaded from a store (it is never stored) and on :mod:`grokutils.sweep`
    results. It is left out of ``==``.

    A run ends at ``config.num_steps``, or earlier at its :attr:`stop_step` when
    ``config.stop_after_grok`` is set (:attr:`ended_early`); :attr:`complete` checks either.
    """

    config: Config
    steps: list[int]
    history: dict[str, list]
    timings: dict[str, float] = field(default_factory=dict)
    env: dict = field(default_factory=dict)
    norm_trace: np.ndarray | None = field(default=None, compare=False, repr=False)
    model: torch.nn.Module | None = field(default=None, compare=False, repr=False)

    def __getitem__(self, metric: str) -> np.ndarray:
        """The series of ``metric`` as an array aligned with :attr:`step_array`."""
        try:
            return np.asarray(self.history[metric], dtype=float)
        except KeyError:
            raise KeyError(f"metric {metric!r} was not recorded; recorded: {sorted(self.history)}") from None

    def snapshots(self, metric: str = "snapshot") -> dict[int, object]:
        """{step: value} of a metric recorded only at some steps (``None`` elsewhere), such as the
        representation snapshots of :mod:`grokutils.metrics.snapshots` (Part I, Figure 2)."""
        if metric not in self.history:
            raise KeyError(f"metric {metric!r} was not recorded; recorded: {sorted(self.history)}")
        return {step: value for step, value in zip(self.steps, self.history[metric]) if value is not None}

    @property
    def step_array(self) -> np.ndarray:
        return np.asarray(self.steps)

    @property
    def t_fit(self) -> int | None:
        """First evaluation step with train accuracy >= 0.99."""
        return first_step_at_least(self.step_array, self["train_acc"], FIT_THRESHOLD)

    @property
    def t_grok(self) -> int | None:
        """First evaluation step with test accuracy >= ``config.grok_threshold``."""
        return grok_step(self.config, self.step_array, self["test_acc"])

    @property
    def stop_step(self) -> int | None:
        """The evaluation at which ``config.stop_after_grok`` ends the run (see :func:`stop_step`)."""
        if self.config.stop_after_grok is None:
            return None
        return stop_step(self.config, self.step_array, self["test_acc"])

    @property
    def ended_early(self) -> bool:
        """Whether the run stopped before ``num_steps`` because it grokked (``config.stop_after_grok``)."""
        return self.stop_step is not None and self.steps[-1] == self.stop_step < self.config.num_steps

    @property
    def complete(self) -> bool:
        """Whether the run trained as far as its config says: its last evaluation is ``num_steps``, or
        the :attr:`stop_step` of an early stop after grokking (nothing recorded after it)."""
        end = self.stop_step
        return bool(self.steps) and self.steps[-1] == (self.config.num_steps if end is None else end)

    @property
    def grok_delay(self) -> int | None:
        """``t_grok - t_fit`` (None unless both exist)."""
        if self.t_fit is None or self.t_grok is None:
            return None
        return self.t_grok - self.t_fit

    def wall_time_at(self, step: int | None) -> float | None:
        """Seconds of training (evaluation included) when ``step`` was evaluated."""
        if step is None:
            return None
        return float(self["wall_time"][self.steps.index(step)])

    # ------------------------------------------------------------ persistence
    def to_json(self) -> str:
        return json.dumps({"config": self.config.to_dict(), "key": self.config.key(), "steps": self.steps,
                           "history": self.history, "timings": self.timings, "env": self.env})

    @classmethod
    def from_json(cls, text: str) -> Result:
        data = json.loads(text)
        config = Config.from_dict(data["config"])
        if data.get("key") != config.key():
            raise ValueError(f"stored key {data.get('key')} does not match its config ({config.key()}): "
                             "the file was written by another store format; regenerate it.")
        return cls(config, data["steps"], data["history"], data["timings"], data["env"])


# ------------------------------------------------------------------ loss spikes
#: A loss spike: a training loss more than ``SPIKE_FACTOR`` times the median of the ``SPIKE_WINDOW``
#: evaluations before it (the quick-start's test of the float32 and float64 Nanda runs).
SPIKE_FACTOR, SPIKE_WINDOW = 10.0, 5
#: The smallest non-zero cross-entropy float32 can give a sample, ln(1 + 2⁻²³) ≈ 1.19e-7: below a logit gap of
#: ln 2²⁴ ≈ 16.6 the softmax sum 1 + Σ e^(−gap) rounds to 1 and the sample's loss to exactly 0.
FLOAT32_LOSS_QUANTUM = float(np.log1p(2.0 ** -23))


def loss_spikes(result: Result, factor: float = SPIKE_FACTOR, window: int = SPIKE_WINDOW,
                after: int | None = None) -> list[int]:
    """Evaluation steps at which a loss spike begins, after ``after`` (default: t_fit, or none if the run
    never fits): the training loss exceeds ``factor`` × the median of the ``window`` evaluations before it.
    Consecutive spiking evaluations are one spike, reported at its first."""
    start = result.t_fit if after is None else after
    if start is None:
        return []
    steps, loss = result.step_array, result["train_loss"]
    spikes, previous = [], False
    for i in range(window, len(steps)):
        spiking = steps[i] > start and loss[i] > factor * np.median(loss[i - window:i])
        if spiking and not previous:
            spikes.append(int(steps[i]))
        previous = spiking
    return spikes


def norm_back_and_forth(result: Result, after: int | None = None) -> float:
    """How far the weight norm travels back and forth after ``after`` (default t_fit): the summed absolute
    changes between evaluations minus the net change, 0 for a norm that only falls (or only rises)."""
    start = result.t_fit if after is None else after
    if start is None:
        return 0.0
    norm = result["weight_norm"][result.step_array >= start]
    return float(np.abs(np.diff(norm)).sum() - abs(norm[-1] - norm[0])) if len(norm) > 1 else 0.0


def losses_before_spikes(result: Result, spikes: list[int] | None = None) -> list[float]:
    """The training loss at the evaluation just before each spike of :func:`loss_spikes`."""
    spikes = loss_spikes(result) if spikes is None else spikes
    return [float(result["train_loss"][result.steps.index(step) - 1]) for step in spikes]
