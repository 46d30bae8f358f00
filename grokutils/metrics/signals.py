"""Every indicator of Part V as one metric callback, ``Config(metrics=("signals",))``.

Part V puts the signals that the four papers champion on the same runs. This callback records every
indicator of :mod:`grokutils.indicators` that applies to the run (through
:class:`grokutils.signal_monitor.SignalMonitor`, the monitor a plain PyTorch loop uses too) on one fixed
probe: :data:`~grokutils.signal_monitor.PROBE_SIZE` training samples (seed
:data:`~grokutils.signal_monitor.PROBE_SEED`, the samples of Part II's robustness and sharpness callbacks),
and the seconds each indicator took at that evaluation as ``cost_<indicator>`` (Part V's cost per
evaluation). It keeps no state between calls but a cache of the probe per dataset, so the members of a sweep
and resumed runs get the same numbers as single runs.
"""

from __future__ import annotations

import torch

from grokutils.indicators import autoencoder_codes, select
from grokutils.metrics import information
from grokutils.metrics.probe import probe_indices
from grokutils.signal_monitor import PROBE_SEED, PROBE_SIZE, SignalMonitor, objective_of

__all__ = ["COST_PREFIX", "signals_metrics"]

#: Prefix of the recorded seconds of one indicator at one evaluation: ``cost_<indicator name>``.
COST_PREFIX = "cost_"
#: Probes of the last few datasets: (the dataset, so that its id is not reused; probe inputs, labels, codes).
_PROBES: dict[int, tuple] = {}
_PROBES_KEPT = 4


def _probe(data, wants_codes: bool) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
    cached = _PROBES.get(id(data))
    if cached is None or cached[0] is not data:
        index = probe_indices(len(data.y_train), PROBE_SIZE, PROBE_SEED).to(data.y_train.device)
        x, y = data.x_train[index], data.y_train[index]
        images = x.is_floating_point() and x.ndim == 4 and min(x.shape[-2:]) >= 15
        codes = (autoencoder_codes(x, torch.cat([data.x_train, data.x_test]), information.AUTOENCODER_SETTINGS)
                 if images and wants_codes else None)
        while len(_PROBES) >= _PROBES_KEPT:
            _PROBES.pop(next(iter(_PROBES)))
        cached = _PROBES[id(data)] = (data, x, y, codes)
    return cached[1], cached[2], cached[3]


def signals_metrics(context) -> dict[str, float]:
    """Part V: every applicable indicator of :mod:`grokutils.indicators` at this evaluation, on the run's fixed
    probe, with ``cost_<indicator>`` its seconds (``context``: a :class:`grokutils.train.EvalContext`).

    The same values as :class:`~grokutils.signal_monitor.SignalCallback` (which keeps a monitor across
    calls): weight norm (Parts II–III), RNC1, NC1, NC2, nHSIC and compression MI (Part I), NCC and relative
    flatness with its bound (Part IV), spectral entropy and effective rank (Part III), sharpness,
    perturbation error and PMI/PE/MID/ED (Part II), Fourier alignment (modular tasks) and the abelian test
    (commutative tasks). An indicator that does not apply is not recorded."""
    indicators = select(None)
    x, y, codes = _probe(context.data, any(i.name == "compression_mi" for i in indicators))
    config = context.config
    monitor = SignalMonitor(x, y, indicators, task=config.task, p=getattr(config, "p", None),
                            loss_fn=objective_of(config), codes=codes)
    row = monitor.record(context.step, context.model)
    row.update({f"{COST_PREFIX}{name}": seconds[-1] for name, seconds in monitor.seconds.items() if seconds})
    return row
