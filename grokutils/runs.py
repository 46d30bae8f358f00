"""Load-or-run: the result store keyed by the full configuration.

``run(config)`` returns the stored :class:`~grokutils.result.Result` of exactly
this configuration if one exists, else trains it (resuming from a checkpoint
if an earlier attempt was interrupted) and stores the result atomically.
``run_sweep(configs)`` does the same for many configurations of one shape,
training the missing ones together with :mod:`grokutils.sweep`. A norm-matched
control (Part III, claim 3) needs its baseline's per-step norm trace: both load
the baseline from the store, or train and store it first.

Every entry point checks what it is given before any training or write: configurations
(:class:`~grokutils.config.Config`, non-empty and distinct lists, one shape for a sweep), the store,
the flags. A configuration with ``num_steps = 0`` is refused: it trains nothing (its one evaluation is
the initial model, which :func:`grokutils.train.train` gives without storing anything). A stored file
that cannot be read (truncated, or not this configuration's result) is moved aside to
``<name>.corrupt`` with a :class:`CorruptResultWarning` and recomputed, never deleted.

Stores: ``results/`` in the repository holds the ``paper`` profile results
that the rendered book shows (committed); other profiles write to
``.cache/grokutils/results`` so that smoke and quick runs never pollute it.
"""

from __future__ import annotations

import json
import os
import warnings
from pathlib import Path

import numpy as np

from grokutils import sweep
from grokutils import train as training
from grokutils.config import Config
from grokutils.files import atomic_write, move_aside
from grokutils.profiles import check_profile
from grokutils.result import Result

REPO_ROOT = Path(__file__).resolve().parents[1]
STORED_ONLY_ENV = "GROKUTILS_STORED_ONLY"


class MissingResult(LookupError):
    """A stored result was required (book build) but none exists for this config."""


class CorruptResultWarning(UserWarning):
    """A stored result could not be read; the file was moved aside and the run counts as missing."""


RESULT_FIELDS = {"config": dict, "key": str, "steps": list, "history": dict, "timings": dict, "env": dict}


def _structure_problem(data) -> str | None:
    """Why parsed JSON is not a stored result (None if it has the shape of one)."""
    if not isinstance(data, dict):
        return f"it holds a {type(data).__name__}, not an object"
    for name, kind in RESULT_FIELDS.items():
        if not isinstance(data.get(name), kind):
            return f"its {name!r} is missing or not a {kind.__name__}"
    steps = data["steps"]
    if not steps or not all(isinstance(s, int) for s in steps) or steps != sorted(set(steps)):
        return "its steps are not a non-empty increasing list of integers"
    short = [name for name, series in data["history"].items() if not isinstance(series, list)
             or len(series) != len(steps)]
    if short:
        return f"its series {short[:3]} do not hold one value per step ({len(steps)})"
    return None


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
        if not isinstance(root, (str, Path)) or not str(root):
            raise ValueError(f"ResultStore: root must be a folder path, got {root!r}.")
        self.root = Path(root)
        self.checkpoints = self.root / ".checkpoints"
        self.moved_aside: list[Path] = []

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
        """The stored result of ``config``, or None if there is none. A file that cannot be read
        (truncated JSON, not a result, another configuration's, a norm trace of the wrong length) is
        moved aside to ``<name>.corrupt`` (:func:`grokutils.files.move_aside`) with a
        :class:`CorruptResultWarning` naming it, and None is returned, so that the run is recomputed. A
        readable file whose configuration this version of :class:`Config` refuses raises ``ValueError``
        naming the file (it is left in place)."""
        if not isinstance(config, Config):
            raise ValueError(f"ResultStore.load: config must be a grokutils.Config, got {type(config).__name__}.")
        if config not in self:
            return None
        path = self.path(config)
        try:
            data = json.loads(path.read_bytes().decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as error:
            return self._corrupt(path, f"it is not valid JSON ({error})")
        problem = _structure_problem(data)
        if problem is not None:
            return self._corrupt(path, problem)
        try:
            stored = Config.from_dict(data["config"])
        except (ValueError, TypeError) as error:
            raise ValueError(f"{path}: the stored configuration is refused by this version of grokutils ({error}). "
                             "The file is left in place; regenerate it, or fix the configuration check.") from None
        if data["key"] != stored.key():
            return self._corrupt(path, f"its stored key {data['key']} does not match its config ({stored.key()}): it "
                                       "was edited, or written by another store format")
        if stored.replace(device=config.device) != config:  # the device says where a run trained, not what it is
            return self._corrupt(path, f"it holds the result of another configuration ({stored.label()})")
        result = Result(stored, data["steps"], data["history"], data["timings"], data["env"])
        if config.records_norm_trace:
            trace_path = self.norm_trace_path(config)
            try:
                trace = np.load(trace_path)
            except (ValueError, OSError, EOFError) as error:
                return self._corrupt(trace_path, f"it is not a readable .npy file ({error})")
            last = result.steps[-1]
            if trace.shape != (last + 1,):
                return self._corrupt(trace_path, f"it holds {trace.shape} values, not ({last + 1},) (the norm after "
                                                 f"steps 0..{last}, the result's last evaluation)")
            result.norm_trace = trace
        return result

    def _corrupt(self, path: Path, why: str) -> None:
        aside = move_aside(path)
        self.moved_aside.append(aside)
        warnings.warn(f"{path} cannot be read: {why}. Moved it to {aside.name}; the run counts as missing and is "
                      "recomputed (unless only stored results may be read).", CorruptResultWarning, stacklevel=3)
        return None

    def save(self, result: Result) -> Path:
        """Store ``result`` (atomically; its norm trace first). Refuses a result that is not complete or
        trained nothing (``num_steps = 0``)."""
        if not isinstance(result, Result):
            raise ValueError(f"ResultStore.save: expected a grokutils.Result, got {type(result).__name__}.")
        _check_trains(result.config, "ResultStore.save")
        if not result.complete:
            raise ValueError(f"ResultStore.save: {result.config.label()} is not complete (its last evaluation is "
                             f"step {result.steps[-1] if result.steps else None}, not num_steps = "
                             f"{result.config.num_steps} or its early stop); only finished runs are stored.")
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


def _check_trains(config: Config, entry: str) -> None:
    if config.num_steps == 0:
        raise ValueError(f"{entry}: {config.label()} has Config.num_steps = 0, which trains nothing, and the store "
                         "keeps trained runs only. Set num_steps >= 1, or evaluate the initial model with "
                         "grokutils.train.train(config), which stores nothing.")


def _check_call(store, progress, force, entry: str) -> None:
    if store is not None and not isinstance(store, ResultStore):
        raise ValueError(f"{entry}: store must be a ResultStore (e.g. grokutils.store_for('quick')) or None, got "
                         f"{type(store).__name__}.")
    for name, value in (("progress", progress), ("force", force)):
        if not isinstance(value, bool):
            raise ValueError(f"{entry}: {name}={value!r} is not allowed; expected True or False.")


def _require_stored(configs: list[Config], store: ResultStore) -> None:
    missing = [c for c in configs if c not in store]
    if missing and os.environ.get(STORED_ONLY_ENV):
        names = ", ".join(f"{c.label()} ({c.key()})" for c in missing[:5])
        baselines = {c.baseline() for c in missing if c.norm_matched} - set(missing)
        baselines = [b for b in baselines if b not in store]
        also = "" if not baselines else (
            " The norm-matched controls among them also need their baselines' norm traces, missing too: "
            + ", ".join(f"{b.label()} ({b.key()})" for b in baselines[:5]) + ".")
        if store.moved_aside:
            also += " Unreadable files were moved aside: " + ", ".join(p.name for p in store.moved_aside[-5:]) + "."
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
    if not isinstance(config, Config):
        raise ValueError(f"run: config must be a grokutils.Config, got {type(config).__name__}; for a list of "
                         "configs use run_sweep or run_groups.")
    _check_call(store, progress, force, "run")
    _check_trains(config, "run")
    store = store or store_for("quick")
    if not force:
        stored = store.load(config)
        if stored is not None:
            return stored
        _require_stored([config], store)
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
    ``configs``: a non-empty list of distinct configurations of one shape (see
    :func:`grokutils.sweep.check_same_shape`; :func:`run_groups` splits any list into such sweeps).
    """
    configs = sweep.check_configs(configs, "run_sweep")
    sweep.check_same_shape(configs)
    _check_call(store, progress, force, "run_sweep")
    for config in configs:
        _check_trains(config, "run_sweep")
    store = store or store_for("quick")
    results = {c: (None if force else store.load(c)) for c in configs}
    if not force:
        _require_stored(configs, store)
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
    as it ends). Results come back in the order of ``configs``: a non-empty list of distinct configurations."""
    configs = sweep.check_configs(configs, "run_groups")
    _check_call(store, progress, False, "run_groups")
    if isinstance(sweep_size, bool) or not isinstance(sweep_size, int) or sweep_size < 1:
        raise ValueError(f"run_groups: sweep_size={sweep_size!r} is not allowed; expected an integer >= 1 "
                         "(configurations trained together).")
    for config in configs:
        _check_trains(config, "run_groups")
    by_config = {}
    for group in sweep.sweep_groups(list(configs), sweep_size):
        by_config.update(zip(group, run_sweep(group, store=store, progress=progress)))
    return [by_config[c] for c in configs]
