"""Load-or-run: the result store keyed by the full configuration.

``run(config)`` returns the stored :class:`~grokutils.result.Result` of exactly
this configuration if one exists, else trains it (resuming from a checkpoint
if an earlier attempt was interrupted) and stores the result atomically.
``run_sweep(configs)`` does the same for many configurations of one shape,
training the missing ones together with :mod:`grokutils.sweep`.

Stores: ``results/`` in the repository holds the ``paper`` profile results
that the rendered book shows (committed); other profiles write to
``.cache/grokutils/results`` so that smoke and quick runs never pollute it.
"""

from __future__ import annotations

import os
from pathlib import Path

from grokutils.config import Config
from grokutils.result import Result

REPO_ROOT = Path(__file__).resolve().parents[1]
PROFILES = ("smoke", "quick", "paper")
STORED_ONLY_ENV = "GROKUTILS_STORED_ONLY"


class MissingResult(LookupError):
    """A stored result was required (book build) but none exists for this config."""


def check_profile(profile: str) -> str:
    if profile not in PROFILES:
        raise ValueError(f"profile={profile!r} is not known; expected one of {PROFILES} "
                         "(smoke: seconds, for CI; quick: minutes, on a laptop; paper: the stored runs).")
    return profile


class ResultStore:
    """A folder of ``<label>-<key>.json`` results plus a checkpoint folder.

    Writes are atomic (temporary file + rename), so an interrupted run never
    leaves a half-written result; lookups are by :meth:`Config.key`, so a
    changed configuration never reuses an old result.
    """

    def __init__(self, root: str | Path):
        self.root = Path(root)
        self.checkpoints = self.root / ".checkpoints"

    def __repr__(self) -> str:
        return f"ResultStore({str(self.root)!r})"

    def path(self, config: Config) -> Path:
        return self.root / f"{config.label()}-{config.key()}.json"

    def checkpoint(self, config: Config) -> Path:
        return self.checkpoints / f"{config.key()}.pt"

    def __contains__(self, config: Config) -> bool:
        return self.path(config).exists()

    def load(self, config: Config) -> Result | None:
        path = self.path(config)
        return Result.from_json(path.read_text()) if path.exists() else None

    def save(self, result: Result) -> Path:
        path = self.path(result.config)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        try:
            tmp.write_text(result.to_json())
            os.replace(tmp, path)
        finally:
            tmp.unlink(missing_ok=True)
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
        raise MissingResult(
            f"{len(missing)} result(s) missing from {store.root}: {names}. The book build only reads stored "
            f"results ({STORED_ONLY_ENV} is set); regenerate them with `make results`, or unset "
            f"{STORED_ONLY_ENV} to train here.")


def run(config: Config, store: ResultStore | None = None, progress: bool = True,
        force: bool = False) -> Result:
    """The result of ``config``: loaded if stored, else trained, stored and returned."""
    from grokutils.train import train

    store = store or store_for("quick")
    if not force:
        _require_stored([config], store)
        stored = store.load(config)
        if stored is not None:
            return stored
    result = train(config, progress=progress, checkpoint_path=store.checkpoint(config))
    store.save(result)
    store.checkpoint(config).unlink(missing_ok=True)
    return result


def run_sweep(configs: list[Config], store: ResultStore | None = None, progress: bool = True,
              force: bool = False) -> list[Result]:
    """Results of many configurations of one shape; the missing ones train together."""
    from grokutils.sweep import sweep_checkpoint_key, train_sweep

    store = store or store_for("quick")
    if not force:
        _require_stored(configs, store)
    results = {c: (None if force else store.load(c)) for c in configs}
    todo = [c for c, r in results.items() if r is None]
    if todo:
        checkpoint = store.checkpoints / f"sweep-{sweep_checkpoint_key(todo)}.pt"
        for result in train_sweep(todo, progress=progress, checkpoint_path=checkpoint):
            store.save(result)
            results[result.config] = result
        checkpoint.unlink(missing_ok=True)
    return [results[c] for c in configs]
