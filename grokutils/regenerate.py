"""Regenerate the stored ``paper`` results: ``python -m grokutils.regenerate``.

Runs every configuration of :func:`grokutils.presets.paper_runs` that is not
yet stored (``--force`` retrains them all), resuming interrupted runs from
their checkpoints, and prints the CPU/wall time each took. Configurations of
one shape train together with the sweep engine, as many at a time as their part's
:data:`grokutils.presets.SWEEP_SIZES` (``--sweep-size`` overrides it; each group is stored as soon
as it ends). Several processes may share the work
(``--workers 2`` on a 2-core machine, one thread each): a lock file per group
keeps two processes from training the same one.
"""

from __future__ import annotations

import argparse
import contextlib
import subprocess
import sys
import time
from pathlib import Path

import torch
from filelock import FileLock, Timeout

from grokutils import presets
from grokutils.report import grokking_check
from grokutils.runs import run, run_sweep, store_for
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


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chapter", action="append", help="only these chapters (repeatable)")
    parser.add_argument("--force", action="store_true", help="retrain even if a result is stored")
    parser.add_argument("--list", action="store_true", help="list the configurations and exit")
    parser.add_argument("--sweep-size", type=int, default=None,
                        help="configurations trained at once (default: the part's, presets.SWEEP_SIZES)")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's choice)")
    parser.add_argument("--workers", type=int, default=1,
                        help="processes sharing the groups, one thread each (default 1)")
    args = parser.parse_args(argv)
    if args.workers < 1:
        parser.error(f"--workers must be at least 1, got {args.workers}")
    if args.workers > 1:
        sys.exit(_spawn_workers(args, argv if argv is not None else sys.argv[1:]))
    if args.sweep_size is not None and args.sweep_size < 1:
        parser.error(f"--sweep-size must be at least 1, got {args.sweep_size}")
    if args.threads is not None:
        if args.threads < 1:
            parser.error(f"--threads must be at least 1, got {args.threads}")
        torch.set_num_threads(args.threads)
    chapters = presets.paper_runs()
    unknown = set(args.chapter or ()) - set(chapters)
    if unknown:
        parser.error(f"unknown chapter(s) {sorted(unknown)}; known: {sorted(chapters)}")
    store = store_for("paper")
    for chapter, configs in chapters.items():
        if args.chapter and chapter not in args.chapter:
            continue
        for group in sweep_groups(configs, args.sweep_size or presets.sweep_size(chapter)):
            for config in group:
                state = "stored" if config in store else "missing"
                print(f"{chapter}: {config.label()} [{config.key()}] {state}", flush=True)
            if args.list or (not args.force and all(config in store for config in group)):
                continue
            with group_lock(store.checkpoints / f"group-{sweep_checkpoint_key(group)}.lock") as owned:
                if not owned:
                    print("  another process is training this group; skipped", flush=True)
                    continue
                _train_group(group, store, args.force)


def _train_group(group, store, force: bool) -> None:
    wall, cpu = time.perf_counter(), time.process_time()
    if len(group) == 1:
        results = [run(group[0], store=store, force=force)]
    else:
        results = run_sweep(group, store=store, force=force)
    for result in results:
        print(f"  {grokking_check(result).sentence()}", flush=True)
    print(f"  {len(group)} run(s): wall {time.perf_counter() - wall:.0f} s, "
          f"CPU {time.process_time() - cpu:.0f} s", flush=True)


def _spawn_workers(args, argv: list[str]) -> int:
    """Run ``args.workers`` copies of this command with one thread each; return the worst exit code."""
    passed = [a for i, a in enumerate(argv) if not a.startswith("--workers") and
              not (i > 0 and argv[i - 1] == "--workers") and not a.startswith("--threads") and
              not (i > 0 and argv[i - 1] == "--threads")]
    command = [sys.executable, "-m", "grokutils.regenerate", *passed, "--threads", "1"]
    workers = []
    for index in range(args.workers):
        workers.append(subprocess.Popen(command))
        time.sleep(5 * (index < args.workers - 1))  # let the first take its lock before the next looks
    return max(worker.wait() for worker in workers)


if __name__ == "__main__":
    main()
