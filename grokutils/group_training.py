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


def planned_groups(chapters: dict[str, list[Config]], store: ResultStore, sweep_size: int | None,
                   force: bool) -> Iterator[tuple[str, list[Config], bool]]:
    """(chapter, group, whether it needs training) for every group, printing each configuration's state. In a
    chapter of :data:`grokutils.presets.SETTLED_BY` the groups after the one that settles its rule are not
    needed (read lazily: a group yielded for training is stored before the next is planned)."""
    for chapter, configs in chapters.items():
        settled_by, tried = presets.SETTLED_BY.get(chapter), []
        for group in sweep_groups(configs, sweep_size or presets.sweep_size(chapter)):
            settled = settled_by is not None and settled_by(tried)
            for config in group:
                state = "stored" if config in store else "missing"
                if settled and state == "missing":
                    state = "not needed (an earlier group settled the chapter's rule)"
                print(f"{chapter}: {config.label()} [{config.key()}] {state}", flush=True)
            yield chapter, group, not settled and (force or not all(config in store for config in group))
            tried.append([store.load(config) for config in group])
