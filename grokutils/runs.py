"""Load-or-run: the result store keyed by the full configuration.

``run(config)`` returns the stored :class:`~grokutils.result.Result` of exactly
this configuration if one exists, else trains it (resuming from a checkpoint
if an earlier attempt was interrupted) and stores the result atomically.
``run_sweep(configs)`` does the same for many configurations of one shape,
training the missing ones together with :mod:`grokutils.sweep`. A norm-matched
control (Part III, claim 3) needs its baseline's per-step norm trace: both load
the baseline from the store, or train and store it first.

Stores: ``results/`` in the repository holds the ``paper`` profile results
that the rendered book shows (committed); other profiles write to
``.cache/grokutils/results`` so that smoke and quick runs never pollute it.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from grokutils import sweep
from grokutils import train as training
from grokutils.files import atomic_write
from grokutils.profiles import check_profile
from grokutils.result import Result

if TYPE_CHECKING:
    from grokutils.config import Config

REPO_ROOT = Path(__file__).resolve().parents[1]
STORED_ONLY_ENV = "GROKUTILS_STORED_ONLY"


class MissingResult(LookupError):
    """A stored result was required (book build) but none exists for this config."""


class ResultStore:
    """A folder of ``<label>-<key>.json`` results plus a checkpoint folder.

    Writes are atomic (temporary file + rename), so an interrupted run never
    leaves a half-written result; lookups are by :meth:`Config.key`, so a
    changed configuration never reuses an old result. A run that records its
    per-step norm (``config.records_norm_trace``, Part III, claim 3) also has a
    ``<label>-<key>.norm_trace.npy`` file (float32, written before the JSON);
    without it the result counts as missing. It holds ``steps[-1] + 1`` norms: ``num_steps + 1``,
    or fewer for a run that stopped early after grokking (``Config.stop_after_grok``).
    """

    def __init__(self, root: str | Path):
        self.root = Path(root)
        self.checkpoints = self.root / ".checkpoints"

    def __repr__(self) -> str:
        return f"ResultStore({str(self.root)!r})"

    @property
    def shown_root(self) -> str:
        """The folder as a notebook prints it: relative to the repository when inside it (the
        rendered book must not show the machine that built it), else with ``~`` for the home."""
        root = self.root.resolve()
        if root.is_relative_to(REPO_ROOT):
            return f"{root.relative_to(REPO_ROOT).as_posix()}/"
        home = Path.home().resolve()
        return f"~/{root.relative_to(home).as_posix()}/" if root.is_relative_to(home) else f"{root.as_posix()}/"

    def path(self, config: Config) -> Path:
        return self.root / f"{config.label()}-{config.key()}.json"

    def checkpoint(self, config: Config) -> Path:
        return self.checkpoints / f"{config.key()}.pt"

    def norm_trace_path(self, config: Config) -> Path:
        return self.root / f"{config.label()}-{config.key()}.norm_trace.npy"

    def __contains__(self, config: Config) -> bool:
        complete = not config.records_norm_trace or self.norm_trace_path(config).exists()
        return self.path(config).exists() and complete

    def load(self, config: Config) -> Result | None:
        if config not in self:
            return None
        result = Result.from_json(self.path(config).read_text())
        if config.records_norm_trace:
            trace = np.load(self.norm_trace_path(config))
            if trace.shape != (result.steps[-1] + 1,):
                raise ValueError(f"{self.norm_trace_path(config).name} holds {trace.shape} values, not "
                                 f"({result.steps[-1] + 1},) (the norm after steps 0..{result.steps[-1]}, the "
                                 "result's last evaluation); regenerate it.")
            result.norm_trace = trace
        return result

    def save(self, result: Result) -> Path:
        path = self.path(result.config)
        if result.config.records_norm_trace:
            if result.norm_trace is None:
                raise ValueError(f"{result.config.label()} lists 'norm_trace' in metrics but its result has no "
                                 "norm_trace; it was not trained by grokutils.train or grokutils.sweep.")
            atomic_write(self.norm_trace_path(result.config),
                          lambda f: np.save(f, np.asarray(result.norm_trace, dtype=np.float32)))
        atomic_write(path, lambda f: f.write(result.to_json().encode()))
        return path


def store_for(profile: str) -> ResultStore:
    """``results/`` for the paper profile (committed), a cache folder otherwise.

    ``$GROKUTILS_RESULTS`` overrides the paper store's location.
    """
    if check_profile(profile) == "paper":
        return ResultStore(os.environ.get("GROKUTILS_RESULTS", REPO_ROOT / "results"))
    return ResultStore(REPO_ROOT / ".cache" / "grokutils" / "results" / profile)


def _require_stored(configs: list[Config], store: ResultStore) -> None:
    missing = [c for c in configs if c not in store]
    if missing and os.environ.get(STORED_ONLY_ENV):
        names = ", ".join(f"{c.label()} ({c.key()})" for c in missing[:5])
        baselines = {c.baseline() for c in missing if c.norm_matched} - set(missing)
        baselines = [b for b in baselines if b not in store]
        also = "" if not baselines else (
            " The norm-matched controls among them also need their baselines' norm traces, missing too: "
            + ", ".join(f"{b.label()} ({b.key()})" for b in baselines[:5]) + ".")
        raise MissingResult(
            f"{len(missing)} result(s) missing from {store.root}: {names}.{also} The book build only reads "
            f"stored results ({STORED_ONLY_ENV} is set); regenerate them with `make results`, or unset "
            f"{STORED_ONLY_ENV} to train here.")


def _baseline_trace(config: Config, store: ResultStore, progress: bool):
    """The norm trace a norm-matched ``config`` follows (Part III, claim 3): its baseline's,
    loaded from ``store`` or trained and stored first; ``None`` for any other config."""
    if not config.norm_matched:
        return None
    return run(config.baseline(), store, progress=progress).norm_trace


def run(config: Config, store: ResultStore | None = None, progress: bool = True,
        force: bool = False) -> Result:
    """The result of ``config``: loaded if stored, else trained, stored and returned."""
    store = store or store_for("quick")
    if not force:
        _require_stored([config], store)
        stored = store.load(config)
        if stored is not None:
            return stored
    result = training.train(config, progress=progress, checkpoint_path=store.checkpoint(config),
                            baseline_norm_trace=_baseline_trace(config, store, progress))
    store.save(result)
    store.checkpoint(config).unlink(missing_ok=True)
    return result


def run_sweep(configs: list[Config], store: ResultStore | None = None, progress: bool = True,
              force: bool = False) -> list[Result]:
    """Results of many configurations of one shape; the missing ones train together.

    Norm-matched controls (Part III, claim 3) train after the others, following the norm traces
    of their baselines: those requested here, else loaded from ``store`` or trained first.
    """
    store = store or store_for("quick")
    if not force:
        _require_stored(configs, store)
    results = {c: (None if force else store.load(c)) for c in configs}
    todo = [c for c, r in results.items() if r is None]
    controls = [c for c in todo if c.norm_matched]
    for group in ([c for c in todo if not c.norm_matched], controls):
        if not group:
            continue
        if group is controls:
            needed = list(dict.fromkeys(c.baseline() for c in controls if c.baseline() not in results))
            results |= dict(zip(needed, run_sweep(needed, store, progress=progress))) if needed else {}
        traces = [results[c.baseline()].norm_trace if c.norm_matched else None for c in group]
        for result in _train_sweep_and_store(group, store, progress, traces):
            results[result.config] = result
    return [results[c] for c in configs]


def _train_sweep_and_store(configs: list[Config], store: ResultStore, progress: bool, traces: list) -> list[Result]:
    checkpoint = store.checkpoints / f"sweep-{sweep.sweep_checkpoint_key(configs)}.pt"
    results = sweep.train_sweep(configs, progress=progress, checkpoint_path=checkpoint, baseline_norm_traces=traces)
    for result in results:
        store.save(result)
    checkpoint.unlink(missing_ok=True)
    return results


def run_groups(configs: list[Config], store: ResultStore | None = None, progress: bool = True,
               sweep_size: int = 6) -> list[Result]:
    """Results of many configurations: each loaded if stored, the missing ones trained by the sweep
    engine, configurations of one shape together, ``sweep_size`` at a time (each group is stored
    as it ends). Results come back in the order of ``configs``."""
    by_config = {}
    for group in sweep.sweep_groups(list(configs), sweep_size):
        by_config.update(zip(group, run_sweep(group, store=store, progress=progress)))
    return [by_config[c] for c in configs]
