"""Regenerate the stored results: ``python -m grokutils.regenerate``.

Runs every configuration of :func:`grokutils.presets.chapter_runs` (``--profile``, default ``paper``)
that is not yet stored (``--force`` retrains them all), resuming interrupted runs from their
checkpoints, and prints the CPU/wall time each group took; then stores the probe representations of
:func:`grokutils.presets.chapter_probes` that are missing (:mod:`grokutils.probes`), and, in the ``paper``
profile, the recordings of the monitor pages' plain loops (:data:`LOOP_PAGES`, :mod:`grokutils.loop_records`).
Configurations of one shape train together with the sweep engine, as many at a time as their part's
:data:`grokutils.presets.SWEEP_SIZES` (``--sweep-size`` overrides it); each group is stored as soon as it ends.

Two ways to share the groups, with the same store, locks and resume:

- ``--workers N`` (the default backend, ``local``): N processes on this machine, one thread each;
  a lock file per group keeps two processes from training the same one.
- ``--backend dask``: one task per group on a Dask cluster (:mod:`grokutils.dask_backend`; each
  group trains as :func:`grokutils.group_training.train_group`, as locally):
  ``--scheduler local`` starts a local cluster of ``--workers`` processes; ``--scheduler
  tcp://host:8786`` uses a running one (e.g. started by dask-jobqueue on a SLURM cluster). The
  results folder (``--results``) must then be on a file system every worker sees.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

import torch

from grokutils import dask_backend, part3, part5, presets, probes
from grokutils.config import Config
from grokutils.group_training import group_lock, planned_groups, settled_groups, train_group
from grokutils.loop_records import LoopRecording, recording_path
from grokutils.profiles import PROFILES
from grokutils.runs import ResultStore, store_for
from grokutils.sweep import sweep_groups

#: The pages whose plain loops the ``paper`` profile reads as stored recordings: ``(profile, store, force)`` ->
#: the recording (loaded, or recorded and stored), and the store path it has.
LOOP_PAGES = {
    "p3_monitor": lambda profile, store, force: part3.monitor_loop.recording(
        profile, store, part3.load_main(profile, store, progress=False), force),
    "p5_monitor": lambda profile, store, force: part5.monitor_loop.recording(profile, store, force),
}


def loop_path(page: str, profile: str, store: ResultStore) -> Path:
    """Where ``page``'s loop recording is stored (:func:`grokutils.loop_records.recording_path`)."""
    if page == part3.monitor_loop.PAGE:
        return recording_path(store, page, presets.spectral_monitor_config(profile), presets.spectral_main(profile))
    return recording_path(store, page, presets.monitor_loop_config(profile))


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chapter", action="append", help="only these chapters (repeatable)")
    parser.add_argument("--profile", default="paper", choices=PROFILES,
                        help="whose runs: paper (stored in results/, the default) or smoke/quick (the cache)")
    parser.add_argument("--results", type=Path, default=None, help="the results folder (default: the profile's)")
    parser.add_argument("--force", action="store_true", help="retrain even if a result is stored")
    parser.add_argument("--list", action="store_true", help="list the configurations and exit")
    parser.add_argument("--costs", action="store_true",
                        help="print the wall time each chapter's stored groups recorded, and exit")
    parser.add_argument("--sweep-size", type=int, default=None,
                        help="configurations trained at once (default: the part's, presets.SWEEP_SIZES)")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's choice)")
    parser.add_argument("--workers", type=int, default=1,
                        help="processes sharing the groups, one thread each (default 1)")
    parser.add_argument("--backend", default="local", choices=("local", "dask"),
                        help="local processes (default) or a Dask cluster, one task per group")
    parser.add_argument("--scheduler", default="local",
                        help="with --backend dask: 'local' (a local cluster of --workers processes) or the "
                             "address of a running scheduler, e.g. tcp://host:8786")
    return parser


def _check(parser: argparse.ArgumentParser, args: argparse.Namespace) -> dict[str, list[Config]]:
    for name in ("workers", "sweep_size", "threads"):
        value = getattr(args, name)
        if value is not None and value < 1:
            parser.error(f"--{name.replace('_', '-')} must be at least 1, got {value}")
    chapters = ({name: [] for name in [*presets.chapter_probes(args.profile), *LOOP_PAGES]}
                | presets.chapter_runs(args.profile))
    unknown = set(args.chapter or ()) - set(chapters)
    if unknown:
        parser.error(f"unknown chapter(s) {sorted(unknown)}; known: {sorted(chapters)}")
    return {name: configs for name, configs in chapters.items() if not args.chapter or name in args.chapter}


def main(argv: list[str] | None = None) -> None:
    parser = _parser()
    args = parser.parse_args(argv)
    chapters = _check(parser, args)
    store = ResultStore(args.results) if args.results else store_for(args.profile)
    if args.costs:
        print(recorded_costs(chapters, store, args.sweep_size))
        return
    if args.backend == "dask" and not args.list:
        code = dask_backend.regenerate(planned_groups(chapters, store, args.sweep_size, args.force), store,
                                       args.force, args.scheduler, args.workers)
        sys.exit(code or _probes(chapters, args, store) or _loops(chapters, args, store))
    if args.workers > 1 and not args.list:
        sys.exit(_spawn_workers(argv if argv is not None else sys.argv[1:], args.workers))
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    for _, group, needed in planned_groups(chapters, store, args.sweep_size, args.force):
        if needed and not args.list:
            for line in train_group(group, store, args.force):
                print(line, flush=True)
    _probes(chapters, args, store)
    _loops(chapters, args, store)


def group_wall_seconds(results: list) -> float:
    """The wall time one stored group recorded: its shared training time (the longest member's, which stopped
    last) plus every member's evaluations; a single run's training plus evaluation."""
    return max(r.timings["train_s"] for r in results) + sum(r.timings["eval_s"] for r in results)


def recorded_costs(chapters: dict[str, list[Config]], store: ResultStore, sweep_size: int | None = None) -> str:
    """A markdown table: per chapter, its runs, how many are stored, and the wall time their groups recorded
    when they were trained (one thread each unless noted in the README; machines and code versions as they
    were then). Groups not fully stored are left out of the sum and counted."""
    rows = ["| chapter | runs | stored | groups | recorded wall time |", "|---|---|---|---|---|"]
    total = 0.0
    for chapter, configs in chapters.items():
        if not configs:
            continue
        groups = sweep_groups(configs, sweep_size or presets.sweep_size(chapter))
        stored = [[store.load(c) for c in group] for group in groups]
        complete = [g for g in stored if all(r is not None for r in g)]
        seconds = sum(group_wall_seconds(g) for g in complete)
        total += seconds
        unneeded = sum(settled and not all(c in store for c in group)
                       for group, settled in settled_groups(chapter, configs, store, sweep_size))
        missing = len(groups) - len(complete) - unneeded
        notes = ", ".join(f"{n} {what}" for n, what in ((missing, "not stored"), (unneeded, "not needed")) if n)
        rows.append(f"| `{chapter}` | {len(configs)} | {sum(r is not None for g in stored for r in g)} | "
                    f"{len(groups)}{f' ({notes})' if notes else ''} | {seconds:,.0f} s |")
    rows.append(f"| all | | | | {total:,.0f} s ≈ {total / 3600:.1f} h |")
    return "\n".join(rows)


def _probes(chapters: dict[str, list[Config]], args: argparse.Namespace, store: ResultStore) -> int:
    """The stored probe representations of the chosen chapters (:func:`grokutils.presets.chapter_probes`):
    listed, or computed where missing (``--force``: all), each under a lock like a group's."""
    for chapter, probed in presets.chapter_probes(args.profile).items():
        if chapter not in chapters:
            continue
        for config, steps in probed:
            path = probes.probes_path(store, config)
            print(f"{chapter}: probe representations of {config.label()} [{config.key()}] at steps {steps} "
                  f"{'stored' if path.exists() else 'missing'}", flush=True)
            if args.list or (path.exists() and not args.force):
                continue
            with group_lock(store.checkpoints / f"{path.name}.lock") as owned:
                if owned:
                    wall = time.perf_counter()
                    probes.load_or_probe(config, steps, store, force=args.force)
                    print(f"  stored {path.name}: wall {time.perf_counter() - wall:.0f} s", flush=True)
    return 0


def _loops(chapters: dict[str, list[Config]], args: argparse.Namespace, store: ResultStore) -> int:
    """The chosen monitor pages' loop recordings (:data:`LOOP_PAGES`; ``paper`` only, the other profiles train
    the loop live): listed, or recorded where missing (``--force``: all), each under a lock like a group's."""
    for page, record in LOOP_PAGES.items():
        if page not in chapters or args.profile != "paper":
            continue
        path = loop_path(page, args.profile, store)
        print(f"{page}: the recording of its plain loop {'stored' if path.exists() else 'missing'} ({path.name})",
              flush=True)
        if args.list or (path.exists() and not args.force):
            continue
        with group_lock(store.checkpoints / f"{path.name}.lock") as owned:
            if owned:
                wall = time.perf_counter()
                recording: LoopRecording = record(args.profile, store, args.force)
                print(f"  stored {path.name}: wall {time.perf_counter() - wall:.0f} s (the loop "
                      f"{recording.loop_seconds:.0f} s)", flush=True)
    return 0


def _spawn_workers(argv: list[str], workers: int) -> int:
    """Run ``workers`` copies of this command with one thread each; return the worst exit code."""
    passed = [a for i, a in enumerate(argv) if not a.startswith("--workers") and
              not (i > 0 and argv[i - 1] == "--workers") and not a.startswith("--threads") and
              not (i > 0 and argv[i - 1] == "--threads")]
    command = [sys.executable, "-m", "grokutils.regenerate", *passed, "--threads", "1"]
    processes = []
    for index in range(workers):
        processes.append(subprocess.Popen(command))
        time.sleep(5 * (index < workers - 1))  # let the first take its lock before the next looks
    return max(process.wait() for process in processes)


if __name__ == "__main__":
    main()
