"""Regeneration on a Dask cluster: one task per group of configurations (``python -m
grokutils.regenerate --backend dask``).

Each task is :func:`grokutils.regenerate.train_group` on a worker, with one torch thread: the same
result store (which every worker must see, e.g. a shared file system on a SLURM cluster), the same
lock file per group and the same resume from checkpoints as the local backend. A cluster of academic
machines is one command away with dask-jobqueue, e.g. ``SLURMCluster(cores=1, memory="4GB")``
scaled to N jobs, whose ``scheduler_address`` goes to ``--scheduler``.
"""

from __future__ import annotations

from collections.abc import Iterable

import torch

from grokutils.config import Config
from grokutils.group_training import train_group
from grokutils.runs import ResultStore


def _train_group_task(configs: list[dict], root: str, force: bool) -> list[str]:
    """A worker's task: the group from plain dicts (nothing but data crosses the wire)."""
    torch.set_num_threads(1)
    return train_group([Config.from_dict(values) for values in configs], ResultStore(root), force)


def regenerate(groups: Iterable[tuple[str, list[Config], bool]], store: ResultStore, force: bool, scheduler: str,
               workers: int) -> int:
    """Submit every group that needs training to the cluster at ``scheduler`` ("local": a local cluster of
    ``workers`` single-thread processes), print each group's lines as it ends; 0 when all ended, else 1."""
    # the optional dependency (the [cluster] extra), imported only when a Dask backend is asked for
    from distributed import Client, LocalCluster, as_completed

    cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None) \
        if scheduler == "local" else None
    with Client(cluster if cluster is not None else scheduler) as client:
        futures = {client.submit(_train_group_task, [c.to_dict() for c in group], str(store.root), force,
                                 key=f"{chapter}-{group[0].key()}", pure=False): chapter
                   for chapter, group, needed in groups if needed}
        failed = 0
        for future in as_completed(futures):
            print(f"{futures[future]}: a group ended on the cluster", flush=True)
            try:
                lines = future.result()
            except Exception as error:  # noqa: BLE001 - report every failed group, then fail the command
                failed += 1
                print(f"  failed: {type(error).__name__}: {error}", flush=True)
                continue
            for line in lines:
                print(line, flush=True)
    if cluster is not None:
        cluster.close()
    return 1 if failed else 0
