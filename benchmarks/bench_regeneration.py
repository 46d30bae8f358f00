"""What regenerating stored results would cost with today's engine, estimated against what their groups recorded.

    python benchmarks/bench_regeneration.py [--parts 00 p1 p3] [--steps 20 80] [--threads 1]

For every shape of group (:func:`grokutils.sweep.sweep_groups`: the configurations trained together) in the
chosen parts' chapters, the first stored group of that shape is trained again by today's sweep engine (the
strategy it picks; compiled where the full run would be) for S1 and then S2 steps, after an untimed warm-up that
fills the compilation caches, evaluating only at the end. Its time per step is the difference of the two training
times over S2 − S1, which leaves out building, compiling and evaluating. A stored group's cost today is then that
time per step × the steps it trained (its longest member's last step) plus the evaluation time it recorded (the
evaluation code is unchanged), summed over the shape's stored groups. The recorded cost is
:func:`grokutils.regenerate.group_wall_seconds` of the same groups, as ``regenerate --costs`` sums it.

The recorded times come from the machines and code versions of their day, one thread per worker; this script
runs one process with ``--threads`` threads (1 by default, as each regeneration worker does). Part III's
norm-matched members train here without norm matching (a rescaling per step, negligible next to the step).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

import torch

import grokutils as gu
from grokutils.group_training import not_needed
from grokutils.regenerate import group_wall_seconds
from grokutils.steps import COMPILE_ENV, compile_wanted
from grokutils.sweep import shape_key, sweep_groups
from grokutils.train import training_device


#: When the speed work of issue 12 landed (commit 4ca857c): groups that finished before it ran on the old code.
SPEED_WORK = "2026-12-01T22:54:54+00:00"


def stored_groups_by_shape(parts: list[str]) -> dict[str, list[list[gu.Result]]]:
    """Every fully stored group of the chapters of ``parts``, by shape (groups never needed left out)."""
    store = gu.store_for("paper")
    chapters = {c: configs for c, configs in gu.presets.paper_runs().items() if c.split("_", 1)[0] in parts}
    unneeded = not_needed(chapters, store)
    shapes: dict[str, list[list[gu.Result]]] = {}
    for chapter, configs in chapters.items():
        for group in sweep_groups([c for c in configs if c not in unneeded], gu.presets.sweep_size(chapter)):
            results = [store.load(c) for c in group]
            if all(r is not None for r in results):
                shapes.setdefault(shape_key(group[0]), []).append(results)
    return shapes


def ms_per_step(configs: list[gu.Config], steps: tuple[int, int]) -> tuple[float, bool]:
    """Today's training time per step of ``configs`` trained together, in ms, and whether the step compiled."""
    dataset = gu.data.load(configs[0])
    compiled = compile_wanted(configs[0], len(dataset.y_train), training_device(configs[0]))
    os.environ[COMPILE_ENV] = "1" if compiled else "0"
    try:
        seconds = []
        for count in (5, *steps):  # the first call warms the caches, untimed
            short = [c.replace(num_steps=count, eval_schedule=f"every:{count}", stop_after_grok=None,
                               norm_matched=False) for c in configs]
            results = gu.sweep.train_sweep(short, dataset=dataset, progress=False)
            seconds.append(max(r.timings["train_s"] for r in results))
    finally:
        del os.environ[COMPILE_ENV]
    return 1000 * (seconds[2] - seconds[1]) / (steps[1] - steps[0]), compiled


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--parts", nargs="+", default=["00", "p1", "p3"])
    parser.add_argument("--steps", nargs=2, type=int, default=[20, 80])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--output", type=Path,
                        default=Path(__file__).parent / "results" / f"bench_regeneration-{platform.node()}.json")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    os.environ[gu.runs.STORED_ONLY_ENV] = "1"  # read the stored groups, never train one
    rows, started = [], time.time()
    for shape, groups in stored_groups_by_shape(args.parts).items():
        sample = [r.config for r in groups[0]]
        ms, compiled = ms_per_step(sample, tuple(args.steps))
        per_group = [{"finished": max(r.env.get("finished", "") for r in g), "recorded_s": group_wall_seconds(g),
                      "today_s": ms / 1000 * max(r.steps[-1] for r in g) + sum(r.timings["eval_s"] for r in g)}
                     for g in groups]
        recorded, today = (sum(g[key] for g in per_group) for key in ("recorded_s", "today_s"))
        rows.append({"shape": sample[0].label(), "key": shape, "groups": per_group, "members": len(sample),
                     "ms_per_step_today": ms, "compiled": compiled, "recorded_s": recorded, "today_s": today})
        print(f"{sample[0].label():60s} {len(groups):3d} groups  {ms:8.2f} ms/step  recorded {recorded:9,.0f} s  "
              f"today ≈ {today:9,.0f} s", flush=True)
    recorded, today = sum(r["recorded_s"] for r in rows), sum(r["today_s"] for r in rows)
    print(f"\nall {len(rows)} shapes: recorded {recorded:,.0f} s, today ≈ {today:,.0f} s "
          f"({today / recorded:.2f} of the recorded cost)")
    earlier = [g for r in rows for g in r["groups"] if g["finished"] and g["finished"] < SPEED_WORK]
    if earlier:
        old, new = sum(g["recorded_s"] for g in earlier), sum(g["today_s"] for g in earlier)
        print(f"the {len(earlier)} groups trained before the speed work ({SPEED_WORK}): recorded {old:,.0f} s, "
              f"today ≈ {new:,.0f} s ({new / old:.2f})")
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps({"parts": args.parts, "steps": args.steps, "threads": args.threads,
                                       "torch": torch.__version__, "started": started,
                                       "seconds": time.time() - started, "recorded_s": recorded, "today_s": today,
                                       "shapes": rows}, indent=1) + "\n")
    print(f"written to {args.output}")


if __name__ == "__main__":
    main()
