"""Spectral-entropy monitor for any PyTorch training loop (Part III, "Monitor API").

"Spectral Entropy Collapse as an Empirical Signature of Delayed Generalisation in Grokking"
(2026) ships a monitor; this is the book's. It needs nothing from grokutils' trainer::

    monitor = SpectralEntropyMonitor(x_train[:512], model.features, every=200)
    monitor.calibrate_from_runs(finished_runs)          # optional: H̃* and the power law
    for step in range(num_steps):
        monitor(step, model)                             # evaluates at steps 0, 200, 400, ...
        ...                                              # the loop's own training step
        if (forecast := monitor.forecast()) is not None:
            print(forecast.t_grok, forecast.low, forecast.high)

Claim numbers are those of the book's Part III specification: H̃ and the effective rank
(definition), the collapse onset and the threshold H̃* (claim 2), the power-law forecast
(claim 4), its overhead (paper: < 1 % of training time).

There is no adapter to grokutils' trainer callbacks: :func:`grokutils.train.train` builds its
model inside the call, so a monitor cannot be bound to it beforehand; inside that trainer,
:func:`grokutils.metrics.spectral.spectral_metrics` records H̃, and
:func:`grokutils.forecast.Run.from_result` turns the finished run into forecast input.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch

from grokutils import forecast as forecast_module
from grokutils.forecast import ONSET_DELTA, ONSET_WINDOW, PowerLaw
from grokutils.metrics.basic import weight_norm
from grokutils.metrics.spectral import spectral_entropy

#: Coverage of the forecast interval (chosen: the paper gives the forecast without an interval;
#: 0.95 matches the level of every other interval of Part III).
FORECAST_LEVEL = 0.95


def _check_level(level) -> None:
    if isinstance(level, bool) or not isinstance(level, (int, float, np.floating)) or not 0 < level < 1:
        raise ValueError(f"level must be a number in (0, 1) (the coverage of the forecast interval), got {level!r}.")


@dataclass(frozen=True)
class Forecast:
    """A forecast of t_grok made at evaluation ``step`` (Part III, claim 4): point and interval."""

    t_grok: float
    low: float
    high: float
    step: int


class SpectralEntropyMonitor:
    """Records H̃ of ``representation_fn(probe)`` every ``every`` steps, detects the collapse
    onset and, once calibrated, forecasts t_grok (Part III, "Monitor API", claims 2 and 4).

    Args:
        probe: a fixed batch (paper: 512 training samples), passed to ``representation_fn``.
        representation_fn: maps the probe to an (n, d) tensor of representations (paper: the
            penultimate layer, e.g. ``model.features``). Called under ``torch.no_grad()``.
        every: evaluation period in steps (paper: 200); step 0 is evaluated.
        delta, window: collapse-onset rule of :func:`grokutils.forecast.collapse_onset`.
    """

    def __init__(self, probe, representation_fn: Callable, every: int = 200, delta: float = ONSET_DELTA,
                 window: int = ONSET_WINDOW):
        if probe is None:
            raise ValueError("probe must be the fixed batch passed to representation_fn (paper: 512 training "
                             "samples), got None.")
        if isinstance(probe, torch.Tensor) and (probe.ndim == 0 or probe.shape[0] < 2):
            raise ValueError(f"probe must hold at least 2 samples (a covariance needs two), got a tensor of shape "
                             f"{tuple(probe.shape)}.")
        if not callable(representation_fn):
            raise ValueError(f"representation_fn must be callable, got {type(representation_fn).__name__}.")
        if isinstance(every, bool) or not isinstance(every, int) or every < 1:
            raise ValueError(f"every must be a positive integer (steps between evaluations), got {every!r}.")
        delta, window = forecast_module.check_onset_rule(delta, window)
        self.probe, self.representation_fn = probe, representation_fn
        self.every, self.delta, self.window = every, delta, window
        self._steps: list[int] = []
        self._entropy: list[float] = []
        self._rank: list[float] = []
        self._norm: list[float | None] = []
        self.onset: int | None = None
        self.threshold: float | None = None
        self.power_law: PowerLaw | None = None
        self.half_width: float | None = None
        self.overhead_seconds = 0.0

    # ------------------------------------------------------------------------------ recording
    def update(self, step: int, model: torch.nn.Module | None = None) -> dict | None:
        """Evaluate if ``step`` is a multiple of ``every`` (Part III: every 200 steps); else nothing.

        Returns the recorded row (see :meth:`record`) or None. Also ``monitor(step, model)``.
        """
        tick = time.perf_counter()
        try:
            self._check_step(step, model)
            return self._record(step, model) if step % self.every == 0 else None
        finally:
            self.overhead_seconds += time.perf_counter() - tick

    __call__ = update

    def record(self, step: int, model: torch.nn.Module | None = None) -> dict:
        """Evaluate now, whatever ``every`` says (Part III, definition of H̃ and claim 2).

        Records the step, H̃ of ``representation_fn(probe)`` (via
        :func:`grokutils.metrics.spectral.spectral_entropy`), the effective rank exp(H̃ log d)
        and, if ``model`` is given, its parameter norm (Part III, claim 1: phase I); ``model`` is
        also put in eval mode for the probe and restored afterwards. Updates the collapse onset
        online. Steps must increase from call to call.
        """
        tick = time.perf_counter()
        try:
            self._check_step(step, model)
            return self._record(step, model)
        finally:
            self.overhead_seconds += time.perf_counter() - tick

    def _check_step(self, step: int, model) -> None:
        if isinstance(step, bool) or not isinstance(step, (int, np.integer)) or step < 0:
            raise ValueError(f"step must be a non-negative integer, got {step!r}.")
        if self._steps and step <= self._steps[-1]:
            raise ValueError(f"steps must increase: step {step} after recorded step {self._steps[-1]}.")
        if model is not None and not isinstance(model, torch.nn.Module):
            raise ValueError(f"model must be a torch.nn.Module or None (then no weight norm is recorded), got "
                             f"{type(model).__name__}.")

    def _record(self, step: int, model: torch.nn.Module | None) -> dict:
        if self.representation_fn is None:
            raise ValueError("this monitor was restored from a recording (SpectralEntropyMonitor.from_dict): it "
                             "answers questions about what it recorded but cannot record; make a new monitor.")
        was_training = model.training if model is not None else False
        if model is not None:
            model.eval()
        try:
            with torch.no_grad():
                features = self.representation_fn(self.probe)
        finally:
            if model is not None:
                model.train(was_training)
        if not isinstance(features, torch.Tensor) or features.ndim != 2:
            shape = tuple(features.shape) if isinstance(features, torch.Tensor) else type(features).__name__
            raise ValueError(f"representation_fn must return an (n, d) tensor, got {shape}.")
        h = spectral_entropy(features)
        d = features.shape[1]
        row = {"step": int(step), "spectral_entropy": h, "effective_rank": 1.0 if d == 1 else math.exp(h * math.log(d))}
        if model is not None:
            row["weight_norm"] = weight_norm(model)
        self._steps.append(row["step"])
        self._entropy.append(h)
        self._rank.append(row["effective_rank"])
        self._norm.append(row.get("weight_norm"))
        if self.onset is None and len(self._entropy) >= self.window \
                and self._entropy[-self.window] - h > self.delta:
            self.onset = row["step"]
        return row

    def history(self) -> dict[str, np.ndarray]:
        """The recorded series as arrays: ``step``, ``spectral_entropy``, ``effective_rank``, and
        ``weight_norm`` if every evaluation was given the model (Part III, Figure 1 curves)."""
        out = {"step": np.asarray(self._steps, dtype=np.int64),
               "spectral_entropy": np.asarray(self._entropy, dtype=float),
               "effective_rank": np.asarray(self._rank, dtype=float)}
        if self._norm and all(n is not None for n in self._norm):
            out["weight_norm"] = np.asarray(self._norm, dtype=float)
        return out

    # ------------------------------------------------------------------------------ forecasting
    @property
    def calibrated(self) -> bool:
        """Whether H̃* and the power law are set (:meth:`calibrate`, Part III, claims 2 and 4)."""
        return self.power_law is not None

    def calibrate(self, threshold: float, power_law: PowerLaw, level: float = FORECAST_LEVEL,
                  half_width: float | None = None) -> SpectralEntropyMonitor:
        """Set H̃* (Part III, claim 2) and the power law t_grok − t = C₁(H̃_t − H̃*)^γ + C₂ (claim 4).

        The forecast interval is t̂ ± ``half_width`` steps. By default ``half_width`` is the
        ``level`` quantile of the absolute residuals of the calibration fit
        (``power_law.residuals``), i.e. a split-conformal interval that assumes the forecast
        error does not depend on the gap; it is in-sample, hence optimistic when the law was
        fitted on the same runs. Returns the monitor.
        """
        if isinstance(threshold, bool) or not isinstance(threshold, (int, float, np.floating)) \
                or not 0 <= threshold <= 1:
            raise ValueError(f"threshold must be a spectral entropy in [0, 1], got {threshold!r}.")
        if not isinstance(power_law, PowerLaw):
            raise ValueError(f"power_law must be a grokutils.forecast.PowerLaw, got {type(power_law).__name__}.")
        _check_level(level)
        if half_width is None:
            if not power_law.residuals:
                raise ValueError("power_law carries no residuals (it was not made by fit_power_law); "
                                 "pass half_width in steps.")
            half_width = float(np.quantile(np.abs(power_law.residuals), level))
        if isinstance(half_width, bool) or not isinstance(half_width, (int, float, np.floating)) \
                or not math.isfinite(half_width) or half_width < 0:
            raise ValueError(f"half_width must be a finite non-negative number of steps, got {half_width!r}.")
        self.threshold, self.power_law, self.half_width = float(threshold), power_law, float(half_width)
        return self

    def calibrate_from_runs(self, runs: Sequence, level: float = FORECAST_LEVEL) -> SpectralEntropyMonitor:
        """Calibrate from finished runs (Part III, claims 2 and 4): H̃* = mean H̃ at t_grok over the
        grokked runs and the power law pooled over their evaluations above it
        (:func:`grokutils.forecast.pooled_fit`). ``runs``: Runs, mappings or Results."""
        _check_level(level)
        if isinstance(runs, (str, bytes, dict)) or not hasattr(runs, "__len__") or not len(runs):
            raise ValueError(f"runs must be a non-empty list of finished runs (Runs, mappings or Results), got "
                             f"{runs!r:.80}.")
        calibration = forecast_module.pooled_fit(runs, "entropy")
        return self.calibrate(calibration.threshold, calibration.law, level)

    def forecast(self) -> Forecast | None:
        """Forecast of t_grok from the latest evaluation (Part III, claim 4).

        t̂ = max(t, t + C₁(H̃_t − H̃*)^γ + C₂), interval [max(t, t̂ − w), t̂ + w] with w from
        :meth:`calibrate`. None before calibration, before the first evaluation, and once
        H̃_t ≤ H̃* (the threshold is crossed: grokking is due now, claim 2).
        """
        if not self.calibrated or not self._steps:
            return None
        step, gap = self._steps[-1], self._entropy[-1] - self.threshold
        if gap <= 0:
            return None
        t_hat = max(float(step), step + self.power_law.remaining(gap))
        return Forecast(t_hat, max(float(step), t_hat - self.half_width), t_hat + self.half_width, step)

    # ------------------------------------------------------------------------------ recordings
    def to_dict(self) -> dict:
        """Everything recorded and calibrated, as plain Python (JSON): what :meth:`from_dict` restores."""
        law = self.power_law
        return {"every": self.every, "delta": self.delta, "window": self.window, "steps": list(self._steps),
                "spectral_entropy": list(self._entropy), "effective_rank": list(self._rank),
                "weight_norm": list(self._norm), "onset": self.onset, "threshold": self.threshold,
                "power_law": None if law is None else {"c1": law.c1, "gamma": law.gamma, "c2": law.c2, "r2": law.r2,
                                                       "n": law.n, "residuals": list(law.residuals)},
                "half_width": self.half_width, "overhead_seconds": self.overhead_seconds}

    @classmethod
    def from_dict(cls, data: dict) -> SpectralEntropyMonitor:
        """A monitor restored from :meth:`to_dict`: its history, onset, calibration, forecast and overhead are
        those recorded; it cannot record again (no probe)."""
        missing = sorted({"every", "delta", "window", "steps", "spectral_entropy", "effective_rank", "weight_norm",
                          "onset", "threshold", "power_law", "half_width", "overhead_seconds"} - set(data))
        if missing:
            raise ValueError(f"SpectralEntropyMonitor.from_dict: the recording lacks {missing}; it was not written by "
                             "SpectralEntropyMonitor.to_dict.")
        monitor = cls.__new__(cls)
        monitor.probe = monitor.representation_fn = None
        monitor.every, monitor.delta, monitor.window = data["every"], data["delta"], data["window"]
        monitor._steps, monitor._entropy = [int(s) for s in data["steps"]], [float(h) for h in data["spectral_entropy"]]
        monitor._rank, monitor._norm = [float(r) for r in data["effective_rank"]], list(data["weight_norm"])
        monitor.onset, monitor.threshold, monitor.half_width = data["onset"], data["threshold"], data["half_width"]
        law = data["power_law"]
        monitor.power_law = None if law is None else PowerLaw(**{**law, "residuals": tuple(law["residuals"])})
        monitor.overhead_seconds = float(data["overhead_seconds"])
        return monitor

    # ------------------------------------------------------------------------------ cost
    def overhead_fraction(self, total_seconds: float) -> float:
        """Time spent inside the monitor over ``total_seconds`` of training (Part III, "Monitor
        API": the overhead must be measured and shown; paper: < 1 %)."""
        if isinstance(total_seconds, bool) or not isinstance(total_seconds, (int, float, np.floating)) \
                or not math.isfinite(total_seconds) or total_seconds <= 0:
            raise ValueError(f"total_seconds must be a finite positive number, got {total_seconds!r}.")
        return self.overhead_seconds / total_seconds
