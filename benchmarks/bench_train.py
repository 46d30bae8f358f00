"""Speed of grokutils' training loop against a plain PyTorch reference.

    python benchmarks/bench_train.py                  # the Nanda step, then Part I's MLP step (~3 min on 2 cores)
    python benchmarks/bench_train.py --steps 300 --threads 2
    python benchmarks/bench_train.py --sweep          # also: train_sweep of 5 seeds vs 5 single runs
    python benchmarks/bench_train.py --no-mlp         # the Nanda step only

Everything runs in one process. Both loops are warmed up first, then timed
alternately (grokutils, reference, grokutils, reference, ...) ``--repeats``
times; the best run of each counts. Both evaluate at the same steps (the
config's schedule), so "train + eval" compares the whole run; "train only"
is the training steps alone. ``tests/test_reference_loop.py`` checks that the
reference computes the same function as grokutils' model.

grokutils is timed on the path the profile's full-length run takes: a paper run long enough to compile its
step (``gu.train.compile_wanted``) is timed compiled (``--compile on``; the compilation happens in the
untimed warm-up) and also eagerly, as shorter runs train. ``--compile off`` times the eager step only.

The table is printed and written as JSON to
``benchmarks/results/bench_train-<hostname>.json``. Without ``--no-mlp`` the run ends with
``bench_mlp.py``'s comparison on Part I's MNIST MLP (its own JSON next to this one).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import socket
import sys
import time
from pathlib import Path

import torch

import grokutils as gu

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_mlp  # noqa: E402
from bench_common import RESULTS_DIR, environment, per_step, stamped  # noqa: E402
from reference_loop import reference_train  # noqa: E402

@contextlib.contextmanager
def compiling(on: bool):
    """``gu.train.train`` compiles its step (``on``) or not, whatever the run's length."""
    before = os.environ.get(gu.train.COMPILE_ENV)
    os.environ[gu.train.COMPILE_ENV] = "1" if on else "0"
    try:
        yield
    finally:
        if before is None:
            del os.environ[gu.train.COMPILE_ENV]
        else:
            os.environ[gu.train.COMPILE_ENV] = before


def time_grokutils(config: gu.Config, dataset: gu.data.Dataset, compiled: bool = False) -> dict:
    tick, cpu = time.perf_counter(), time.process_time()
    with compiling(compiled):
        result = gu.train.train(config, dataset=dataset, progress=False)
    wall, cpu = time.perf_counter() - tick, time.process_time() - cpu
    if result.env["compiled"] != compiled:
        raise RuntimeError(f"asked for compiled={compiled}, trained compiled={result.env['compiled']}")
    return {"train_s": result.timings["train_s"], "eval_s": result.timings["eval_s"], "wall_s": wall,
            "cpu_s": cpu, "eval_steps": list(result.steps)}


def time_reference(config: gu.Config, dataset: gu.data.Dataset) -> dict:
    tick, cpu = time.perf_counter(), time.process_time()
    run = reference_train(config, config.num_steps, dataset=dataset)
    wall, cpu = time.perf_counter() - tick, time.process_time() - cpu
    return {"train_s": run["timings"]["train_s"], "eval_s": run["timings"]["eval_s"], "wall_s": wall,
            "cpu_s": cpu, "eval_steps": run["steps"]}


def bench_single(config: gu.Config, steps: int, repeats: int, warmup_steps: int, compile_mode: str) -> dict:
    """grokutils vs the reference on ``config`` for ``steps`` steps; with ``compile_mode`` 'on' (or 'auto' for
    a configuration whose full run compiles) grokutils is timed compiled and eagerly."""
    full = config.replace(device="cpu")
    config = full.replace(num_steps=steps)
    dataset = gu.data.load(config)
    cpu = torch.device("cpu")
    compiled = compile_mode == "on" or (compile_mode == "auto" and gu.train.compile_wanted(full, len(dataset.y_train),
                                                                                           cpu))
    paths = {"grokutils": compiled} | ({"grokutils_eager": False} if compiled else {})
    warm = config.replace(num_steps=warmup_steps)
    tick = time.perf_counter()
    for on in sorted(set(paths.values()), reverse=True):  # the first compilation happens here, untimed
        time_grokutils(warm, dataset, on)
    warmup_s = time.perf_counter() - tick
    time_reference(warm, dataset)
    runs: dict[str, list[dict]] = {name: [] for name in (*paths, "reference")}
    for _ in range(repeats):
        for name, on in paths.items():
            runs[name].append(time_grokutils(config, dataset, on))
        runs["reference"].append(time_reference(config, dataset))
    if runs["grokutils"][0]["eval_steps"] != runs["reference"][0]["eval_steps"]:
        raise RuntimeError(f"evaluation steps differ: {runs['grokutils'][0]['eval_steps']} vs "
                           f"{runs['reference'][0]['eval_steps']}")
    timed = {name: per_step(values, steps) for name, values in runs.items()}
    reference = timed["reference"]
    ratios = {name: {"ratio_total": reference["total_ms_per_step"] / timed[name]["total_ms_per_step"],
                     "ratio_train": reference["train_ms_per_step"] / timed[name]["train_ms_per_step"]}
              for name in paths}
    return {"config": config.label(), "p": config.p, "frac_train": config.frac_train,
            "num_train": len(dataset.y_train), "num_test": len(dataset.y_test), "steps": steps,
            "eval_steps": runs["grokutils"][0]["eval_steps"], "repeats": repeats, "compiled": compiled,
            "loss_dtype": config.loss_dtype, "warmup_s": warmup_s, **timed, **ratios["grokutils"],
            **({"ratios_eager": ratios["grokutils_eager"]} if compiled else {})}


def bench_sweep(config: gu.Config, steps: int, seeds: int, repeats: int, warmup_steps: int) -> dict:
    """``train_sweep`` of ``seeds`` seeds (the strategy it picks, then each strategy forced) vs the runs one by
    one, in ms per configuration-step. Every run is shorter than a compiled one: all eager."""
    configs = [config.replace(num_steps=steps, seed=s, device="cpu") for s in range(seeds)]
    dataset = gu.data.load(configs[0])

    def sweep(cs, strategy=None):
        results = gu.sweep.train_sweep(cs, dataset=dataset, progress=False, strategy=strategy)
        return results[0].timings["train_s"], sum(r.timings["eval_s"] for r in results)

    def sequential(cs):
        results = [gu.train.train(c, dataset=dataset, progress=False) for c in cs]
        return sum(r.timings["train_s"] for r in results), sum(r.timings["eval_s"] for r in results)

    with compiling(False):
        sweep([c.replace(num_steps=warmup_steps) for c in configs])  # also measures the strategy for this shape
        chosen = gu.sweep.choose_strategy(configs, dataset, torch.device("cpu"))
        sequential([c.replace(num_steps=warmup_steps) for c in configs[:1]])
        runs: dict[str, list] = {"train_sweep": [], "vmap": [], "loop": [], "sequential": []}
        for _ in range(repeats):
            runs["train_sweep"].append(sweep(configs))
            runs["vmap"].append(sweep(configs, "vmap"))
            runs["loop"].append(sweep(configs, "loop"))
            runs["sequential"].append(sequential(configs))
    config_steps = seeds * steps

    def best(values):
        return {"train_ms_per_config_step": min(1000 * t / config_steps for t, _ in values),
                "total_ms_per_config_step": min(1000 * (t + e) / config_steps for t, e in values)}

    timed = {name: best(values) for name, values in runs.items()}
    single = timed["sequential"]
    return {"seeds": seeds, "steps": steps, "repeats": repeats, "strategy": chosen["strategy"],
            "probe_ms_per_step": chosen["ms_per_step"], **timed,
            "ratio_total": single["total_ms_per_config_step"] / timed["train_sweep"]["total_ms_per_config_step"],
            "ratio_train": single["train_ms_per_config_step"] / timed["train_sweep"]["train_ms_per_config_step"]}


def print_table(report: dict) -> None:
    env = report["environment"]
    single = report["single"]
    print(f"\nNanda et al. (2023) setup, profile {report['profile']!r}: {single['config']}, "
          f"{single['num_train']} train / {single['num_test']} test, full batch, loss in {single['loss_dtype']}")
    print(f"{single['steps']} steps, evaluation at steps {single['eval_steps']}, best of {single['repeats']}; "
          f"grokutils {'compiled (as the full run)' if single['compiled'] else 'eager'}\n")
    names = ["grokutils", "reference"] + (["grokutils_eager"] if single["compiled"] else [])
    print(f"{'':22}" + "".join(f"{name:>17}" for name in names) + f"{'ratio ref/gu':>14}")
    for label, key, ratio in (("ms/step train + eval", "total_ms_per_step", "ratio_total"),
                              ("ms/step train only", "train_ms_per_step", "ratio_train")):
        eager = f"   (eager {single['ratios_eager'][ratio]:.2f}x)" if single["compiled"] else ""
        print(f"{label:22}" + "".join(f"{single[name][key]:17.2f}" for name in names) + f"{single[ratio]:13.2f}x"
              + eager)
    usage = {name: [round(c / w, 2) for c, w in zip(single[name]["all_cpu_s"], single[name]["all_wall_s"])]
             for name in names}
    print(f"CPU time / wall time of each timed run (near {env['threads']} = cores to itself): "
          + ", ".join(f"{name} {values}" for name, values in usage.items()))
    if "sweep" in report:
        sweep = report["sweep"]
        print(f"\ntrain_sweep of {sweep['seeds']} seeds vs {sweep['seeds']} sequential runs, "
              f"{sweep['steps']} steps each, best of {sweep['repeats']}; the sweep chose {sweep['strategy']!r} "
              f"(probe ms/step {({k: round(v, 1) for k, v in sweep['probe_ms_per_step'].items()})})\n")
        names = ("train_sweep", "vmap", "loop", "sequential")
        print(f"{'':30}" + "".join(f"{name:>12}" for name in names) + f"{'seq/sweep':>12}")
        for label, key, ratio in (("ms/config-step train + eval", "total_ms_per_config_step", "ratio_total"),
                                  ("ms/config-step train only", "train_ms_per_config_step", "ratio_train")):
            print(f"{label:30}" + "".join(f"{sweep[name][key]:12.2f}" for name in names) + f"{sweep[ratio]:11.2f}x")
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
    parser.add_argument("--compile", default="auto", choices=["auto", "on", "off"],
                        help="time grokutils compiled: as the profile's full run (auto), always, or never")
    parser.add_argument("--sweep", action="store_true",
                        help="also time gu.sweep.train_sweep of --seeds seeds vs sequential single runs")
    parser.add_argument("--seeds", type=int, default=5, help="sweep size for --sweep (default 5)")
    parser.add_argument("--sweep-steps", type=int, default=100, help="steps per run for --sweep (default 100)")
    parser.add_argument("--no-mlp", action="store_true", help="skip bench_mlp.py's MNIST-MLP comparison")
    parser.add_argument("--output", type=Path, default=None,
                        help="JSON path (default benchmarks/results/bench_train-<hostname>.json)")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)

    config = gu.presets.nanda(args.profile)
    env = environment()
    report = {"benchmark": "bench_train", "profile": args.profile, "environment": env,
              "single": stamped(lambda: bench_single(config, args.steps, args.repeats, args.warmup_steps,
                                                     args.compile))}
    if args.sweep:
        report["sweep"] = stamped(lambda: bench_sweep(config, args.sweep_steps, args.seeds, args.repeats,
                                                      args.warmup_steps))
    output = args.output or RESULTS_DIR / f"bench_train-{socket.gethostname()}.json"
    if not args.sweep and output.exists():  # keep an earlier --sweep measurement of the same setup
        earlier = json.loads(output.read_text())
        if "sweep" in earlier and earlier.get("profile") == args.profile and earlier.get("environment") == env:
            report["sweep"] = earlier["sweep"]
    print_table(report)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(report, indent=2) + "\n")
    print(f"\nwritten to {output}")
    if not args.no_mlp:
        bench_mlp.main([] if args.threads is None else ["--threads", str(args.threads)])
    return report


if __name__ == "__main__":
    main()
