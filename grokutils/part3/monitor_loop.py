"""Part III's monitor in a plain PyTorch loop ("Monitor API"): the loop of the monitor page, and its recording.

:func:`train_in_plain_loop` is an ordinary training loop (AdamW, minibatches, cross-entropy) with a
:class:`~grokutils.monitor.SpectralEntropyMonitor` dropped in: it needs nothing from grokutils' trainer.
:func:`recording` runs it live in the ``quick`` and ``smoke`` profiles and reads its stored recording in ``paper``
(:mod:`grokutils.loop_records`), so that the book build trains nothing.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

import torch
import torch.nn.functional as F

from grokutils import data as datasets
from grokutils import models, presets
from grokutils.config import Config
from grokutils.loop_records import LoopRecording, load_or_record
from grokutils.monitor import SpectralEntropyMonitor
from grokutils.profiles import check_profile
from grokutils.result import Result
from grokutils.runs import ResultStore

#: The page whose loop this is (its recording's name).
PAGE = "p3_monitor"
#: Part III's probe: 512 training samples; its evaluation period: every 200 steps.
PROBE_SIZE, EVERY = 512, 200


def train_in_plain_loop(config: Config, calibration_runs: Sequence[Result] = ()) -> LoopRecording:
    """Train ``config`` in a plain loop with the monitor, calibrated on ``calibration_runs`` when there are at
    least two (Part III, claims 2 and 4): H̃ every 200 steps on 512 training samples, the loop's own test
    accuracy at the same steps, and the monitor's forecast of t_grok after each evaluation."""
    torch.manual_seed(config.seed)
    data = datasets.load(config)
    model = models.build(config, data.input_shape, data.num_classes, data.vocab_size)
    optimizer = torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=config.weight_decay,
                                  betas=config.betas)
    monitor = SpectralEntropyMonitor(data.x_train[:PROBE_SIZE], model.features, every=EVERY)
    if len(calibration_runs) >= 2:
        monitor.calibrate_from_runs(calibration_runs)

    forecasts, test_accuracy = [], {}
    loop_start = time.perf_counter()
    for step in range(config.num_steps + 1):
        if monitor(step, model) is not None:  # an evaluation step of the monitor
            with torch.no_grad():
                test_accuracy[step] = (model(data.x_test).argmax(-1) == data.y_test).float().mean().item()
            if (forecast := monitor.forecast()) is not None:
                forecasts.append(forecast)
        if step == config.num_steps:
            break
        batch = torch.randint(len(data.x_train), (config.batch_size,))
        loss = F.cross_entropy(model(data.x_train[batch]), data.y_train[batch])
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
    loop_seconds = time.perf_counter() - loop_start
    return LoopRecording(monitor.to_dict(), {"test": test_accuracy}, loop_seconds, tuple(forecasts))


def recording(profile: str, store: ResultStore, calibration_runs: Sequence[Result] = (),
              force: bool = False) -> LoopRecording:
    """The monitor page's loop (:func:`grokutils.presets.spectral_monitor_config`): its stored recording in ``paper``
    (recorded and stored if missing), trained live otherwise."""
    config = presets.spectral_monitor_config(profile)
    train = lambda: train_in_plain_loop(config, calibration_runs)  # noqa: E731
    if check_profile(profile) != "paper":
        return train()
    return load_or_record(PAGE, config, store, train, [r.config for r in calibration_runs], force)
