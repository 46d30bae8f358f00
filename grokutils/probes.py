"""Representations of a fixed probe at a few steps of one run, stored next to the results.

Part III's lemmas page checks Lemmas 1 and 5 on the real covariances Σ_t of a run's train-probe
representations (the first :data:`grokutils.metrics.spectral.PROBE_SIZE` training samples through
``model.features``). They are kept in ``<label>-<key>.probes.npz`` in the result store (one float32 array per
step, ``step_<s>``), written atomically; a file that cannot be read, or holds other steps or shapes, is moved
aside with a :class:`~grokutils.runs.CorruptResultWarning` and recomputed; in a book build
(``GROKUTILS_STORED_ONLY``) a missing file raises :class:`~grokutils.runs.MissingResult` instead.
``python -m grokutils.regenerate`` writes those of :func:`grokutils.presets.chapter_probes`.
"""

from __future__ import annotations

import os
import warnings
import zipfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

from grokutils.config import Config, eval_steps
from grokutils.files import atomic_write, move_aside
from grokutils.metrics.spectral import PROBE_SIZE
from grokutils.runs import STORED_ONLY_ENV, CorruptResultWarning, MissingResult, ResultStore
from grokutils.train import train


def check_steps(config: Config, at_steps: Sequence[int]) -> list[int]:
    """``at_steps`` sorted, each an evaluation step of ``config``; else ``ValueError`` naming the others."""
    wanted = sorted({int(s) for s in at_steps})
    if not wanted:
        raise ValueError(f"probe steps of {config.label()}: none given; pass evaluation steps of the run.")
    missing = [s for s in wanted if s not in set(eval_steps(config.eval_schedule, config.num_steps))]
    if missing:
        raise ValueError(f"at_steps {missing} are not evaluation steps of {config.label()} "
                         f"(eval_schedule {config.eval_schedule!r}, num_steps {config.num_steps}).")
    return wanted


def probe_representations(config: Config, at_steps: Sequence[int], progress: bool = False) -> dict[int, torch.Tensor]:
    """Train ``config`` once (nothing stored) and keep the train-probe representations at the evaluation steps
    ``at_steps``: ``{step: (PROBE_SIZE, d) tensor}``."""
    wanted = set(check_steps(config, at_steps))
    kept = {}

    def keep(context) -> dict:
        if context.step in wanted:
            kept[context.step] = context.model.features(context.data.x_train[:PROBE_SIZE]).detach().cpu().clone()
        return {}

    train(config, callbacks=[keep], progress=progress)
    return kept


def probes_path(store: ResultStore, config: Config) -> Path:
    return store.root / f"{config.label()}-{config.key()}.probes.npz"


def _read(path: Path, steps: list[int]) -> dict[int, torch.Tensor] | str:
    """The stored representations, or why the file cannot serve (a sentence)."""
    try:
        with np.load(path, allow_pickle=False) as stored:
            arrays = {name: stored[name] for name in stored.files}
    except (ValueError, OSError, EOFError, zipfile.BadZipFile) as error:
        return f"it is not a readable .npz file ({error})"
    expected = {f"step_{s}" for s in steps}
    if set(arrays) != expected:
        return f"it holds {sorted(arrays)}, not {sorted(expected)}"
    shapes = {a.shape for a in arrays.values()}
    if len(shapes) != 1 or len(next(iter(shapes))) != 2 or any(a.dtype != np.float32 for a in arrays.values()):
        return f"its arrays are not float32 matrices of one shape ({sorted(map(str, shapes))})"
    if not all(np.isfinite(a).all() for a in arrays.values()):
        return "it holds non-finite values"
    return {s: torch.from_numpy(arrays[f"step_{s}"]) for s in steps}


def load_or_probe(config: Config, at_steps: Sequence[int], store: ResultStore, progress: bool = False,
                  force: bool = False) -> dict[int, torch.Tensor]:
    """The stored probe representations of ``config`` at ``at_steps`` (the module docstring's rules), else
    trained by :func:`probe_representations` and stored; ``force`` retrains."""
    if not isinstance(store, ResultStore):
        raise ValueError(f"load_or_probe: store must be a ResultStore, got {type(store).__name__}.")
    steps = check_steps(config, at_steps)
    path = probes_path(store, config)
    if path.exists() and not force:
        stored = _read(path, steps)
        if not isinstance(stored, str):
            return stored
        aside = move_aside(path)
        store.moved_aside.append(aside)
        warnings.warn(f"{path} cannot be read: {stored}. Moved it to {aside.name}; the probe representations are "
                      "recomputed (unless only stored results may be read).", CorruptResultWarning, stacklevel=2)
    if os.environ.get(STORED_ONLY_ENV):
        raise MissingResult(f"the probe representations of {config.label()} ({config.key()}) at steps {steps} are "
                            f"missing from {store.root}. The book build only reads stored results ({STORED_ONLY_ENV} "
                            "is set); regenerate them with `make results`, or unset it to train here.")
    kept = probe_representations(config, steps, progress=progress)
    atomic_write(path, lambda f: np.savez_compressed(f, **{f"step_{s}": kept[s].numpy().astype(np.float32)
                                                             for s in steps}))
    return {s: kept[s].to(torch.float32) for s in steps}
