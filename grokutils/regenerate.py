"""Regenerate the stored ``paper`` results: ``python -m grokutils.regenerate``.

Runs every configuration of :func:`grokutils.presets.paper_runs` that is not
yet stored (``--force`` retrains them all), resuming interrupted runs from
their checkpoints, and prints the CPU/wall time each took.
"""

from __future__ import annotations

import argparse
import time

from grokutils import presets
from grokutils.report import grokking_check
from grokutils.runs import run, store_for


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chapter", action="append", help="only these chapters (repeatable)")
    parser.add_argument("--force", action="store_true", help="retrain even if a result is stored")
    parser.add_argument("--list", action="store_true", help="list the configurations and exit")
    args = parser.parse_args(argv)
    chapters = presets.paper_runs()
    unknown = set(args.chapter or ()) - set(chapters)
    if unknown:
        parser.error(f"unknown chapter(s) {sorted(unknown)}; known: {sorted(chapters)}")
    store = store_for("paper")
    for chapter, configs in chapters.items():
        if args.chapter and chapter not in args.chapter:
            continue
        for config in configs:
            state = "stored" if config in store else "missing"
            print(f"{chapter}: {config.label()} [{config.key()}] {state}", flush=True)
            if args.list:
                continue
            wall, cpu = time.perf_counter(), time.process_time()
            result = run(config, store=store, force=args.force)
            print(f"  {grokking_check(result).sentence()}\n  wall {time.perf_counter() - wall:.0f} s, "
                  f"CPU {time.process_time() - cpu:.0f} s", flush=True)


if __name__ == "__main__":
    main()
