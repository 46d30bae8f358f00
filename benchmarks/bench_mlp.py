"""Speed of grokutils' training loop on Part I's MNIST MLP against a plain PyTorch loop.

    python benchmarks/bench_mlp.py                    # 1,000 steps of presets.collapse_mnist (~1 min on 2 cores)
    python benchmarks/bench_mlp.py --preset omnigrok_mnist --steps 2000 --threads 1

The setup is Part I's (``gu.presets.collapse_mnist("paper")``: MLP 784-200-200-200-10, every parameter × 8,
MSE summed over the batch of 100, AdamW lr 1e-3, wd 0.01) or Omnigrok's (``--preset omnigrok_mnist``:
784-200-200-10, MSE mean, batch 200). The reference is ``reference_loop.reference_train_mlp``: the loop a
reader writes (``nn.Sequential``, ``torch.optim.AdamW`` with PyTorch's defaults, ``x[batch]``,
``F.mse_loss`` against ``F.one_hot``), drawing the same batches and starting from the same weights, so
both train the same run (checked here on the evaluated accuracies, and in ``tests/test_reference_loop.py``).

Everything runs in one process: data loaded once, both loops warmed up, then timed alternately
(grokutils, reference, grokutils, ...) ``--repeats`` times; the best run of each counts. Both evaluate
at the steps of ``--eval-every`` (default 500: about as often as Part I's 193 evaluations in 100k steps).
The table is printed and written as JSON to ``benchmarks/results/bench_mlp-<hostname>.json``.
``--sweep`` also times ``gu.sweep.train_sweep`` of 3 seeds × weight decays {0.01, 0.1} against the six
runs one by one (ms per configuration-step), with the strategy it picks and both strategies forced.
"""

from __future__ import annotations

import argparse
import json
import socket
import sys
import time
from pathlib import Path

import torch

import grokutils as gu

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_common import RESULTS_DIR, environment, per_step, stamped  # noqa: E402
from reference_loop import reference_train_mlp  # noqa: E402

PRESETS = {"collapse_mnist": gu.presets.collapse_mnist, "omnigrok_mnist": gu.presets.omnigrok_mnist}


def mlp_config(preset: str, steps: int, eval_every: int) -> gu.Config:
    """The paper profile of ``preset`` for ``steps`` steps, no metric callbacks, on the CPU."""
    return PRESETS[preset]("paper").replace(num_steps=steps, eval_schedule=f"every:{eval_every}", metrics=(),
                                            device="cpu")


def time_grokutils(config: gu.Config, dataset: gu.data.Dataset) -> dict:
    tick, cpu = time.perf_counter(), time.process_time()
    result = gu.train.train(config, dataset=dataset, progress=False)
    return {"train_s": result.timings["train_s"], "eval_s": result.timings["eval_s"],
            "wall_s": time.perf_counter() - tick, "cpu_s": time.process_time() - cpu, "eval_steps": list(result.steps),
            "test_acc": result.history["test_acc"]}


def time_reference(config: gu.Config, dataset: gu.data.Dataset) -> dict:
    tick, cpu = time.perf_counter(), time.process_time()
    run = reference_train_mlp(config, dataset=dataset)
    return {"train_s": run["timings"]["train_s"], "eval_s": run["timings"]["eval_s"],
            "wall_s": time.perf_counter() - tick, "cpu_s": time.process_time() - cpu, "eval_steps": run["steps"],
            "test_acc": run["history"]["test_acc"]}


def bench_mlp(preset: str, steps: int, repeats: int, warmup_steps: int, eval_every: int) -> dict:
    """grokutils vs the plain loop on ``preset``'s MLP, alternately; best of ``repeats`` each."""
    config = mlp_config(preset, steps, eval_every)
    tick = time.perf_counter()
    dataset = gu.data.load(config)
    load_s = time.perf_counter() - tick
    warm = config.replace(num_steps=warmup_steps, eval_schedule=f"every:{warmup_steps}")
    time_grokutils(warm, dataset)
    time_reference(warm, dataset)
    fast_runs, reference_runs = [], []
    for _ in range(repeats):
        fast_runs.append(time_grokutils(config, dataset))
        reference_runs.append(time_reference(config, dataset))
    if fast_runs[0]["eval_steps"] != reference_runs[0]["eval_steps"]:
        raise RuntimeError("the two loops evaluated at different steps")
    gap = max(abs(a - b) for a, b in zip(fast_runs[0]["test_acc"], reference_runs[0]["test_acc"]))
    fast, reference = per_step(fast_runs, steps), per_step(reference_runs, steps)
    return {"preset": preset, "config": config.label(), "widths": list(config.widths),
            "batch_size": config.batch_size, "loss_reduction": config.loss_reduction, "steps": steps,
            "eval_steps": fast_runs[0]["eval_steps"], "repeats": repeats, "data_load_s": load_s,
            "largest_test_acc_difference": gap, "grokutils": fast, "reference": reference,
            "ratio_total": reference["total_ms_per_step"] / fast["total_ms_per_step"],
            "ratio_train": reference["train_ms_per_step"] / fast["train_ms_per_step"]}


def bench_mlp_sweep(preset: str, steps: int, seeds: int, repeats: int) -> dict:
    """``train_sweep`` (its own strategy, then each forced) vs the runs one by one, ms per configuration-step."""
    base = mlp_config(preset, steps, steps)
    configs = [base.replace(seed=s, weight_decay=wd) for s in range(seeds) for wd in (0.01, 0.1)]
    dataset = gu.data.load(base)
    gu.sweep.train_sweep([c.replace(num_steps=20, eval_schedule="every:20") for c in configs], dataset=dataset,
                         progress=False)  # warm-up, and the measurement of the strategy
    chosen = gu.sweep.choose_strategy(configs, dataset, torch.device("cpu"))
    times: dict[str, list[float]] = {"sweep": [], "vmap": [], "loop": [], "one_by_one": []}
    for _ in range(repeats):
        for name in times:
            tick = time.perf_counter()
            if name == "one_by_one":
                for config in configs:
                    gu.train.train(config, dataset=dataset, progress=False)
            else:
                gu.sweep.train_sweep(configs, dataset=dataset, progress=False,
                                     strategy=None if name == "sweep" else name)
            times[name].append(time.perf_counter() - tick)
    per = {name: 1000 * min(values) / (len(configs) * steps) for name, values in times.items()}
    return {"preset": preset, "configs": len(configs), "steps": steps, "repeats": repeats,
            "strategy": chosen["strategy"], "probe_ms_per_step": chosen["ms_per_step"],
            "ms_per_config_step": per, "ratio": per["one_by_one"] / per["sweep"],
            "all_s": {name: [round(v, 3) for v in values] for name, values in times.items()}}


def print_mlp(section: dict, threads: int) -> None:
    print(f"\nPart I's MLP ({section['preset']}): {section['config']}, widths {section['widths']}, batch "
          f"{section['batch_size']}, MSE {section['loss_reduction']}; {section['steps']} steps, evaluation at "
          f"{section['eval_steps']}, best of {section['repeats']}\n")
    print(f"{'':22}{'grokutils':>12}{'reference':>12}{'ratio ref/gu':>14}")
    for label, key, ratio in (("ms/step train + eval", "total_ms_per_step", "ratio_total"),
                              ("ms/step train only", "train_ms_per_step", "ratio_train")):
        print(f"{label:22}{section['grokutils'][key]:12.3f}{section['reference'][key]:12.3f}"
              f"{section[ratio]:13.2f}x")
    usage = {name: [round(c / w, 2) for c, w in zip(section[name]["all_cpu_s"], section[name]["all_wall_s"])]
             for name in ("grokutils", "reference")}
    print(f"CPU time / wall time of each timed run (near {threads} = cores to itself): "
          f"grokutils {usage['grokutils']}, reference {usage['reference']}")
    print(f"largest difference of the evaluated test accuracies: {section['largest_test_acc_difference']:.4f}; "
          f"data loaded in {section['data_load_s']:.2f} s")


def print_sweep(section: dict) -> None:
    per = section["ms_per_config_step"]
    probe = {k: round(v, 2) for k, v in section["probe_ms_per_step"].items()}
    print(f"\ntrain_sweep of {section['configs']} MLP configs x {section['steps']} steps (chose "
          f"{section['strategy']!r}; probe ms/step {probe})")
    print(", ".join(f"{name} {value:.3f}" for name, value in per.items()) + " ms per config-step; "
          f"one by one / sweep = {section['ratio']:.2f}x")


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--preset", default="collapse_mnist", choices=sorted(PRESETS))
    parser.add_argument("--steps", type=int, default=1000, help="training steps per timed run (default 1000)")
    parser.add_argument("--eval-every", type=int, default=500, help="evaluation interval in steps (default 500)")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs of each loop; the best counts")
    parser.add_argument("--warmup-steps", type=int, default=50, help="steps of the untimed warm-up runs")
    parser.add_argument("--threads", type=int, default=None, help="torch.set_num_threads (default: torch's)")
    parser.add_argument("--sweep", action="store_true", help="also time train_sweep vs one by one")
    parser.add_argument("--output", type=Path, default=None,
                        help="JSON path (default benchmarks/results/bench_mlp-<hostname>.json)")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    report = {"benchmark": "bench_mlp", "environment": environment(),
              "mlp": stamped(lambda: bench_mlp(args.preset, args.steps, args.repeats, args.warmup_steps,
                                               args.eval_every))}
    print_mlp(report["mlp"], report["environment"]["threads"])
    if args.sweep:
        report["sweep"] = stamped(lambda: bench_mlp_sweep(args.preset, args.steps, 3, args.repeats))
        print_sweep(report["sweep"])
    output = args.output or RESULTS_DIR / f"bench_mlp-{socket.gethostname()}.json"
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(report, indent=2) + "\n")
    print(f"\nwritten to {output}")
    return report


if __name__ == "__main__":
    main()
