"""One group of configurations, trained once wherever it runs: its lock, its training, its plan.

:mod:`grokutils.regenerate` (local processes) and :mod:`grokutils.dask_backend` (a Dask cluster) both
train a group with :func:`train_group`, so the store, the lock per group and the resume from
checkpoints are the same on one laptop and on a cluster.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from pathlib import Path

from filelock import FileLock, Timeout

from grokutils import presets
from grokutils.config import Config
from grokutils.report import grokking_check
from grokutils.runs import ResultStore, run, run_sweep
from grokutils.sweep import sweep_checkpoint_key, sweep_groups


@contextlib.contextmanager
def group_lock(path: Path):
    """Yield True if this process now holds the lock file ``path``, else False (another process is
    training the group). The operating system releases the lock when its holder exits, so the lock
    of a process that died never blocks a later run."""
    path.parent.mkdir(parents=True, exist_ok=True)
    lock = FileLock(path)
    try:
        lock.acquire(timeout=0)
    except Timeout:
        yield False
        return
    try:
        yield True
    finally:
        lock.release()


def group_lock_path(store: ResultStore, group: list[Config]) -> Path:
    """The lock file of one group of configurations in ``store``."""
    return store.checkpoints / f"group-{sweep_checkpoint_key(group)}.lock"


def train_group(group: list[Config], store: ResultStore, force: bool = False) -> list[str]:
    """Train one group (loaded where stored, unless ``force``) under its lock; the lines to print.

    Both backends call this, so a group trains the same way, once, wherever it runs.
    """
    with group_lock(group_lock_path(store, group)) as owned:
        if not owned:
            return ["  another process is training this group; skipped"]
        wall, cpu = time.perf_counter(), time.process_time()
        results = [run(group[0], store=store, force=force)] if len(group) == 1 else \
            run_sweep(group, store=store, force=force)
        lines = [f"  {grokking_check(result).sentence()}" for result in results]
        lines.append(f"  {len(group)} run(s): wall {time.perf_counter() - wall:.0f} s, "
                     f"CPU {time.process_time() - cpu:.0f} s")
        return lines


def settled_groups(chapter: str, configs: list[Config], store: ResultStore,
                   sweep_size: int | None = None) -> Iterator[tuple[list[Config], bool]]:
    """(group, settled) for every group of ``chapter``: settled when the chapter has a rule in
    :data:`grokutils.presets.SETTLED_BY` and the stored runs of the groups before it satisfy it (read lazily: a
    group the caller trains before asking for the next one counts)."""
    rule, tried = presets.SETTLED_BY.get(chapter), []
    for group in sweep_groups(configs, sweep_size or presets.sweep_size(chapter)):
        yield group, rule is not None and rule(tried)
        tried.append([store.load(config) for config in group])


def needed_configs(chapter: str, configs: list[Config], store: ResultStore,
                   sweep_size: int | None = None) -> list[Config]:
    """``configs`` of ``chapter`` without the groups after the one that settled its rule (:func:`settled_groups`),
    as they stand in ``store`` now."""
    return [config for group, settled in settled_groups(chapter, configs, store, sweep_size) if not settled
            for config in group]


def not_needed(chapters: dict[str, list[Config]], store: ResultStore, sweep_size: int | None = None) -> set[Config]:
    """The configurations that are not stored and never will be: those of groups after the one that settled their
    chapter's rule (:func:`settled_groups`)."""
    return {config for chapter, configs in chapters.items() if chapter in presets.SETTLED_BY
            for group, settled in settled_groups(chapter, configs, store, sweep_size) if settled
            for config in group if config not in store}


def planned_groups(chapters: dict[str, list[Config]], store: ResultStore, sweep_size: int | None,
                   force: bool) -> Iterator[tuple[str, list[Config], bool]]:
    """(chapter, group, whether it needs training) for every group, printing each configuration's state; the
    groups after the one that settles their chapter's rule are not needed (:func:`settled_groups`)."""
    for chapter, configs in chapters.items():
        for group, settled in settled_groups(chapter, configs, store, sweep_size):
            for config in group:
                state = "stored" if config in store else "missing"
                if settled and state == "missing":
                    state = "not needed (an earlier group settled the chapter's rule)"
                print(f"{chapter}: {config.label()} [{config.key()}] {state}", flush=True)
            yield chapter, group, not settled and (force or not all(config in store for config in group))
