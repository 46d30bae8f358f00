"""Speed of grokutils' training loop against a plain PyTorch reference.

    python benchmarks/bench_train.py                  # 150 steps of the Nanda et al. paper setup (~1.5 min)
    python benchmarks/bench_train.py --steps 300 --threads 2
    python benchmarks/bench_train.py --sweep          # also: train_sweep of 5 seeds vs 5 single runs

Everything runs in one process. Both loops are warmed up first, then timed
alternately (grokutils, reference, grokutils, reference, ...) ``--repeats``
times; the best run of each counts. Both evaluate at the same steps (the
config's schedule), so "train + eval" compares the whole run; "train only"
is the training steps alone. ``tests/test_reference_loop.py`` checks that the
reference computes the same function as grokutils' model.

The table is printed and written as JSON to
``benchmarks/results/bench_train-<hostname>.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import socket
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import torch

import grokutils as gu

sys.path.insert(0, str(Path(__file__).resolve().parent))
from reference_loop import reference_train  # noqa: E402

RESULTS_DIR = Path(__file__).resolve().parent / "results"


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def load_average() -> list[float] | None:
    try:
        return [round(v, 2) for v in os.getloadavg()]
    except (AttributeError, OSError):
        return None


def time_grokutils(config: gu.Config, dataset: gu.data.Dataset) -> dict:
    tick, cpu = time.perf_counter(), time.process_time()
    result = gu.train.train(config, dataset=dataset, progress=False)
    wall, cpu = time.perf_counter() - tick, time.process_time() - cpu
    return {"train_s": result.timings["train_s"], "eval_s": result.timings["eval_s"], "wall_s": wall,
            "cpu_s": cpu, "eval_steps": list(result.steps)}


def time_reference(config: gu.Config, dataset: gu.data.Dataset) -> dict:
    tick, cpu = time.perf_counter(), time.process_time()
    run = reference_train(config, config.num_steps, dataset=dataset)
    wall, cpu = time.perf_counter() - tick, time.process_time() - cpu
    return {"train_s": run["timings"]["train_s"], "eval_s": run["timings"]["eval_s"], "wall_s": wall,
            "cpu_s": cpu, "eval_steps": run["steps"]}


def per_step(runs: list[dict], steps: int) -> dict:
    """Best (lowest) ms/step over ``runs``, training only and training + evaluation."""
    return {"train_ms_per_step": min(1000 * r["train_s"] / steps for r in runs),
            "total_ms_per_step": min(1000 * (r["train_s"] + r["eval_s"]) / steps for r in runs),
            "all_total_ms_per_step": [round(1000 * (r["train_s"] + r["eval_s"]) / steps, 3) for r in runs],
            # whole call (setup included), wall clock and process CPU time: CPU time well below
            # threads x wall time means the cores were shared with other processes
            "all_wall_s": [round(r["wall_s"], 3) for r in runs],
            "all_cpu_s": [round(r["cpu_s"], 3) for r in runs]}


def bench_single(config: gu.Config, steps: int, repeats: int, warmup_steps: int) -> dict:
    config = config.replace(num_steps=steps, device="cpu")
    dataset = gu.data.load(config)
    warm = config.replace(num_steps=warmup_steps)
    time_grokutils(warm, dataset)
    time_reference(warm, dataset)
    fast_runs, reference_runs = [], []
    for _ in range(repeats):
        fast_runs.append(time_grokutils(config, dataset))
        reference_runs.append(time_reference(config, dataset))
    if fast_runs[0]["eval_steps"] != reference_runs[0]["eval_steps"]:
        raise RuntimeError(f"evaluation steps differ: {fast_runs[0]['eval_steps']} vs "
                           f"{reference_runs[0]['eval_steps']}")
    fast, reference = per_step(fast_runs, steps), per_step(reference_runs, steps)
    return {"config": config.label(), "p": config.p, "frac_train": config.frac_train,
            "num_train": len(dataset.y_train), "num_test": len(dataset.y_test), "steps": steps,
            "eval_steps": fast_runs[0]["eval_steps"], "repeats": repeats,
            "grokutils": fast, "reference": reference,
            "ratio_total": reference["total_ms_per_step"] / fast["total_ms_per_step"],
            "ratio_train": reference["train_ms_per_step"] / fast["train_ms_per_step"]}


def bench_sweep(config: gu.Config, steps: int, seeds: int, repeats: int, warmup_steps: int) -> dict:
    configs = [config.replace(num_steps=steps, seed=s, device="cpu") for s in range(seeds)]
    dataset = gu.data.load(configs[0])

    def sweep(cs):
        results = gu.sweep.train_sweep(cs, dataset=dataset, progress=False)
        return results[0].timings["train_s"], sum(r.timings["eval_s"] for r in results)

    def sequential(cs):
        results = [gu.train.train(c, dataset=dataset, progress=False) for c in cs]
        return sum(r.timings["train_s"] for r in results), sum(r.timings["eval_s"] for r in results)

    sweep([c.replace(num_steps=warmup_steps) for c in configs])
    sequential([c.replace(num_steps=warmup_steps) for c in configs[:1]])
    swept, single = [], []
    for _ in range(repeats):
        swept.append(sweep(configs))
        single.append(sequential(configs))
    config_steps = seeds * steps

    def best(runs):
        return {"train_ms_per_config_step": min(1000 * t / config_steps for t, _ in runs),
                "total_ms_per_config_step": min(1000 * (t + e) / config_steps for t, e in runs)}

    sweep_best, single_best = best(swept), best(single)
    return {"seeds": seeds, "steps": steps, "repeats": repeats, "train_sweep": sweep_best,
            "sequential": single_best,
            "ratio_total": single_best["total_ms_per_config_step"] / sweep_best["total_ms_per_config_step"],
            "ratio_train": single_best["train_ms_per_config_step"] / sweep_best["train_ms_per_config_step"]}


def stamped(measure) -> dict:
    """``measure()`` with its start time and the load averages around it (other processes show there)."""
    before, started = load_average(), datetime.now(timezone.utc).isoformat(timespec="seconds")
    section = measure()
    return section | {"started": started, "load_average_before": before, "load_average_after": load_average()}


def print_table(report: dict) -> None:
    env = report["environment"]
    single = report["single"]
    print(f"\nNanda et al. (2023) setup, profile {report['profile']!r}: {single['config']}, "
          f"{single['num_train']} train / {single['num_test']} test, full batch")
    print(f"{single['steps']} steps, evaluation at steps {single['eval_steps']}, "
          f"best of {single['repeats']}\n")
    print(f"{'':22}{'grokutils':>12}{'reference':>12}{'ratio ref/gu':>14}")
    for label, key, ratio in (("ms/step train + eval", "total_ms_per_step", "ratio_total"),
                              ("ms/step train only", "train_ms_per_step", "ratio_train")):
        print(f"{label:22}{single['grokutils'][key]:12.2f}{single['reference'][key]:12.2f}"
              f"{single[ratio]:13.2f}x")
    usage = {name: [round(c / w, 2) for c, w in zip(single[name]["all_cpu_s"], single[name]["all_wall_s"])]
             for name in ("grokutils", "reference")}
    print(f"CPU time / wall time of each timed run (near {env['threads']} = cores to itself): "
          f"grokutils {usage['grokutils']}, reference {usage['reference']}")
    if "sweep" in report:
        sweep = report["sweep"]
        print(f"\ntrain_sweep of {sweep['seeds']} seeds vs {sweep['seeds']} sequential runs, "
              f"{sweep['steps']} steps each, best of {sweep['repeats']}\n")
        print(f"{'':30}{'train_sweep':>12}{'sequential':>12}{'ratio seq/sweep':>17}")
        for label, key, ratio in (("ms/config-step train + eval", "total_ms_per_config_step", "ratio_total"),
                                  ("ms/config-step train only", "train_ms_per_config_step", "ratio_train")):
            print(f"{label:30}{sweep['train_sweep'][key]:12.2f}{sweep['sequential'][key]:12.2f}"
                  f"{sweep[ratio]:16.2f}x")
    print(f"\ntorch {env['torch']}, {env['threads']} threads, {env['cpu']} ({env['cpu_count']} logical CPUs)")
    for name in ("single", "sweep"):
        if name in report:
            section = report[name]
            print(f"{name}: started {section['started']}, load average (1, 5, 15 min) before "
                  f"{section['load_average_before']}, after {section['load_average_after']}")


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=150, help="training steps per timed run (default 150)")
    parser.add_argument("--profile", default="paper", choices=["paper", "quick", "smoke"],
                        help="profile of gu.presets.nanda (default paper)")
    parser.add_argument("--repeats", type=int, default=2, help="timed runs of each loop; the best counts")
    parser.add_argument("--warmup-steps", type=int, default=20, help="steps of the untimed warm-up runs")
    parser.add_argument("--threads", type=int, default=None, help="torch.set_num_threads (default: torch's)")
    parser.add_argument("--sweep", action="store_true",
                        help="also time gu.sweep.train_sweep of --seeds seeds vs sequential single runs")
    parser.add_argument("--seeds", type=int, default=5, help="sweep size for --sweep (default 5)")
    parser.add_argument("--sweep-steps", type=int, default=100, help="steps per run for --sweep (default 100)")
    parser.add_argument("--output", type=Path, default=None,
                        help="JSON path (default benchmarks/results/bench_train-<hostname>.json)")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)

    config = gu.presets.nanda(args.profile)
    environment = {
        "hostname": socket.gethostname(), "torch": torch.__version__, "grokutils": gu.__version__,
        "python": platform.python_version(), "threads": torch.get_num_threads(), "cpu": cpu_model(),
        "cpu_count": os.cpu_count(), "platform": platform.platform()}
    report = {"benchmark": "bench_train", "profile": args.profile, "environment": environment,
              "single": stamped(lambda: bench_single(config, args.steps, args.repeats, args.warmup_steps))}
    if args.sweep:
        report["sweep"] = stamped(lambda: bench_sweep(config, args.sweep_steps, args.seeds, args.repeats,
                                                      args.warmup_steps))
    output = args.output or RESULTS_DIR / f"bench_train-{socket.gethostname()}.json"
    if not args.sweep and output.exists():  # keep an earlier --sweep measurement of the same setup
        earlier = json.loads(output.read_text())
        if "sweep" in earlier and earlier.get("profile") == args.profile and \
                earlier.get("environment") == environment:
            report["sweep"] = earlier["sweep"]
    print_table(report)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(report, indent=2) + "\n")
    print(f"\nwritten to {output}")
    return report


if __name__ == "__main__":
    main()
