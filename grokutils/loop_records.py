"""Stored recordings of the book's plain PyTorch loops: the monitor pages of Part III and Part V.

Those two pages train a run in an ordinary loop with a monitor dropped in, to show the monitor working outside
grokutils' trainer and to measure what it costs. In the ``paper`` profile the book reads the loop's recording
(the monitor's state, the loop's accuracies and forecasts, its wall time) from ``results/loops/``, so that the
book build trains nothing; the ``quick`` and ``smoke`` profiles run the loop live and store nothing.

A recording is keyed by the page, the loop's configuration and the configurations it depends on (Part III's
calibration runs): a changed configuration never reuses an old recording. Writes are atomic; a file that cannot
be read is moved aside with a :class:`~grokutils.runs.CorruptResultWarning` and recorded again; where only stored
results may be read (``GROKUTILS_STORED_ONLY``) a missing one raises :class:`~grokutils.runs.MissingResult`.
``python -m grokutils.regenerate --chapter <page>`` records it.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from grokutils.config import Config
from grokutils.files import atomic_write, move_aside
from grokutils.monitor import Forecast
from grokutils.result import environment
from grokutils.runs import STORED_ONLY_ENV, CorruptResultWarning, MissingResult, ResultStore

#: The folder of the recordings inside a result store.
LOOPS_FOLDER = "loops"


@dataclass(frozen=True)
class LoopRecording:
    """What one plain loop recorded: ``monitor``, the monitor's ``to_dict()``; ``accuracy``, the loop's own
    accuracies at the monitor's steps by split (``{"test": {step: accuracy}}``); ``loop_seconds``, its wall time
    (monitor included); ``forecasts``, the monitor's forecasts of t_grok as it made them (Part III, claim 4)."""

    monitor: dict
    accuracy: dict[str, dict[int, float]]
    loop_seconds: float
    forecasts: tuple[Forecast, ...] = field(default=())

    def to_dict(self) -> dict:
        return {"monitor": self.monitor, "loop_seconds": self.loop_seconds,
                "accuracy": {split: {str(step): value for step, value in by_step.items()}
                             for split, by_step in self.accuracy.items()},
                "forecasts": [[f.t_grok, f.low, f.high, f.step] for f in self.forecasts]}

    @classmethod
    def from_dict(cls, data: dict) -> LoopRecording:
        return cls(data["monitor"], {split: {int(step): float(value) for step, value in by_step.items()}
                                     for split, by_step in data["accuracy"].items()},
                   float(data["loop_seconds"]), tuple(Forecast(t, low, high, int(step))
                                                      for t, low, high, step in data["forecasts"]))


def recording_key(page: str, config: Config, depends_on: Sequence[Config] = ()) -> str:
    """16 hex digits of SHA-256 over the page, the loop's configuration key and the sorted keys it depends on."""
    text = json.dumps({"page": page, "config": config.key(), "depends_on": sorted(c.key() for c in depends_on)})
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def recording_path(store: ResultStore, page: str, config: Config, depends_on: Sequence[Config] = ()) -> Path:
    return store.root / LOOPS_FOLDER / f"{page}-{config.label()}-{recording_key(page, config, depends_on)}.json"


def _read(path: Path, key: str) -> LoopRecording | str:
    """The stored recording, or why the file cannot serve (a sentence)."""
    try:
        data = json.loads(path.read_bytes().decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        return f"it is not valid JSON ({error})"
    if not isinstance(data, dict) or data.get("key") != key or not isinstance(data.get("recording"), dict):
        return f"it is not the recording with key {key}"
    try:
        recording = LoopRecording.from_dict(data["recording"])
    except (KeyError, TypeError, ValueError) as error:
        return f"its recording is incomplete ({type(error).__name__}: {error})"
    if not math.isfinite(recording.loop_seconds) or recording.loop_seconds <= 0:
        return f"its loop time {recording.loop_seconds!r} is not a positive number of seconds"
    return recording


def load_or_record(page: str, config: Config, store: ResultStore, record: Callable[[], LoopRecording],
                   depends_on: Sequence[Config] = (), force: bool = False) -> LoopRecording:
    """The stored recording of ``page``'s loop (the module docstring's rules), else ``record()`` stored; ``force``
    records again."""
    if not isinstance(store, ResultStore):
        raise ValueError(f"load_or_record: store must be a ResultStore, got {type(store).__name__}.")
    if not isinstance(config, Config) or not all(isinstance(c, Config) for c in depends_on):
        raise ValueError("load_or_record: config and depends_on must be grokutils.Config objects.")
    key, path = recording_key(page, config, depends_on), recording_path(store, page, config, depends_on)
    if path.exists() and not force:
        stored = _read(path, key)
        if isinstance(stored, LoopRecording):
            return stored
        aside = move_aside(path)
        store.moved_aside.append(aside)
        warnings.warn(f"{path} cannot be read: {stored}. Moved it to {aside.name}; the loop is recorded again "
                      "(unless only stored results may be read).", CorruptResultWarning, stacklevel=2)
    if os.environ.get(STORED_ONLY_ENV):
        raise MissingResult(f"the recording of {page}'s loop ({config.label()}, key {key}) is missing from "
                            f"{store.root / LOOPS_FOLDER}. The book build only reads stored results ({STORED_ONLY_ENV} "
                            f"is set); record it with `python -m grokutils.regenerate --chapter {page}`, or unset "
                            "it to train here.")
    recording = record()
    if not isinstance(recording, LoopRecording):
        raise ValueError(f"load_or_record: record() must return a LoopRecording, got {type(recording).__name__}.")
    payload = {"page": page, "key": key, "config": config.to_dict(), "depends_on": sorted(c.key() for c in depends_on),
               "recording": recording.to_dict(), "env": environment(config.device)}
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, lambda f: f.write(json.dumps(payload, indent=1).encode()))
    return recording
