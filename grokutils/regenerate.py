"""Regenerate the stored ``paper`` results: ``python -m grokutils.regenerate``.

Runs every configuration of :func:`grokutils.presets.paper_runs` that is not
yet stored (``--force`` retrains them all), resuming interrupted runs from
their checkpoints, and prints the CPU/wall time each took. Configurations of
one shape train together with the sweep engine, ``--sweep-size`` at a time
(each group is stored as soon as it ends).
"""

from __future__ import annotations

import argparse
import time

import torch

from grokutils import presets
from grokutils.report import grokking_check
from grokutils.runs import run, run_sweep, store_for
from grokutils.sweep import sweep_groups


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chapter", action="append", help="only these chapters (repeatable)")
    parser.add_argument("--force", action="store_true", help="retrain even if a result is stored")
    parser.add_argument("--list", action="store_true", help="list the configurations and exit")
    parser.add_argument("--sweep-size", type=int, default=6, help="configurations trained at once (default 6)")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's choice)")
    args = parser.parse_args(argv)
    if args.sweep_size < 1:
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
        for group in sweep_groups(configs, args.sweep_size):
            for config in group:
                state = "stored" if config in store else "missing"
                print(f"{chapter}: {config.label()} [{config.key()}] {state}", flush=True)
            if args.list or (not args.force and all(config in store for config in group)):
                continue
            wall, cpu = time.perf_counter(), time.process_time()
            if len(group) == 1:
                results = [run(group[0], store=store, force=args.force)]
            else:
                results = run_sweep(group, store=store, force=args.force)
            for result in results:
                print(f"  {grokking_check(result).sentence()}", flush=True)
            print(f"  {len(group)} run(s): wall {time.perf_counter() - wall:.0f} s, "
                  f"CPU {time.process_time() - cpu:.0f} s", flush=True)


if __name__ == "__main__":
    main()
