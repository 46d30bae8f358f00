"""Part V's monitor in a plain PyTorch loop ("the monitor API exposes all of them as one callback"): the loop of
the monitor page, and its recording.

:func:`train_in_plain_loop` is an ordinary full-batch training loop with a
:class:`~grokutils.signal_monitor.SignalMonitor` dropped in: it needs nothing from grokutils' trainer.
:func:`recording` runs it live in the ``quick`` and ``smoke`` profiles and reads its stored recording in ``paper``
(:mod:`grokutils.loop_records`), so that the book build trains nothing.
"""

from __future__ import annotations

import time

import torch
import torch.nn.functional as F

from grokutils import data as datasets
from grokutils import models, presets
from grokutils.config import Config
from grokutils.loop_records import LoopRecording, load_or_record
from grokutils.profiles import check_profile
from grokutils.runs import ResultStore
from grokutils.signal_monitor import SignalMonitor

#: The page whose loop this is (its recording's name).
PAGE = "p5_monitor"


def train_in_plain_loop(config: Config, every: int) -> LoopRecording:
    """Train ``config`` full batch in a plain loop with every applicable indicator monitored on the training set
    every ``every`` steps, and the loop's own train and test accuracy at the same steps."""
    torch.manual_seed(config.seed)
    data = datasets.load(config)
    model = models.build(config, data.input_shape, data.num_classes, data.vocab_size)
    optimizer = torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=config.weight_decay,
                                  betas=config.betas)
    monitor = SignalMonitor(data.x_train, data.y_train, every=every, task=config.task, p=config.p)

    accuracy = {"train": {}, "test": {}}  # the loop's own bookkeeping, at the monitor's steps
    loop_start = time.perf_counter()
    for step in range(config.num_steps + 1):
        if monitor(step, model) is not None:  # an evaluation step of the monitor
            with torch.no_grad():
                for split, x, y in (("train", data.x_train, data.y_train), ("test", data.x_test, data.y_test)):
                    accuracy[split][step] = (model(x).argmax(-1) == y).float().mean().item()
        if step == config.num_steps:
            break
        loss = F.cross_entropy(model(data.x_train), data.y_train)  # full batch
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
    loop_seconds = time.perf_counter() - loop_start
    return LoopRecording(monitor.to_dict(), accuracy, loop_seconds)


def recording(profile: str, store: ResultStore, force: bool = False) -> LoopRecording:
    """The monitor page's loop (:func:`grokutils.presets.monitor_loop_config`): its stored recording in ``paper``
    (recorded and stored if missing), trained live otherwise."""
    config, every = presets.monitor_loop_config(profile), presets.MONITOR_EVERY[check_profile(profile)]
    train = lambda: train_in_plain_loop(config, every)  # noqa: E731
    if profile != "paper":
        return train()
    return load_or_record(PAGE, config, store, train, force=force)
