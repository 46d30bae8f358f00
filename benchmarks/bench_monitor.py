"""Overhead of the spectral-entropy monitor on Part III's training run (paper: < 1 % of training).

    python benchmarks/bench_monitor.py                       # 1,000 steps, 2 repeats (~1 min on one core)
    python benchmarks/bench_monitor.py --steps 400 --repeats 1 --threads 1

Part III's setup: x + y mod 97, 30 % of the pairs for training, a 1-layer transformer (d_model 128,
4 heads, d_mlp 512), AdamW (lr 1e-3, weight decay 1), minibatch 512. Model, optimiser, warm-up
schedule and batches come from grokutils (``gu.models.build``, ``gu.train.make_optimizer``,
``gu.train.warmup_factor``, ``gu.train.BatchSampler``, ``gu.train.objective``) inside a plain
PyTorch loop, the kind of loop the monitor is meant for. In one process, after a short untimed
warm-up, the same N steps from the same initialisation run alternately without and with
:class:`grokutils.monitor.SpectralEntropyMonitor` (every 200 steps, steps 0 and N included,
probe = the first 512 training samples, features from ``model.features``, the model passed so
that its norm is recorded too); the best run of each counts.

Two overhead numbers are printed: the wall-clock ratio of the two loops (noisy on a shared
machine: differences well under 1 % are below its resolution) and the monitor's own time
(``monitor.overhead_seconds``, timed inside ``update``) as a fraction of the monitored run, plus
the steady-state projection one evaluation / (200 × one training step).

Then every indicator of Part V (:class:`grokutils.signal_monitor.SignalMonitor`, all of them, Part V's
1,000-sample probe) on the same run: each indicator's seconds per evaluation, and its steady-state share of
training at one evaluation every 200 steps (``--no-indicators`` skips it).
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path

import torch

import grokutils as gu
from grokutils.metrics.spectral import PROBE_SIZE
from grokutils.metrics.probe import probe_indices
from grokutils.monitor import SpectralEntropyMonitor
from grokutils.signal_monitor import PROBE_SEED, SignalMonitor, objective_of
from grokutils.signal_monitor import PROBE_SIZE as SIGNAL_PROBE_SIZE

EVERY = 200


def part3_config(steps: int) -> gu.Config:
    """Part III's addition run (book spec, Setup table) on the CPU."""
    return gu.config.Config(task="add", p=97, frac_train=0.3, model="transformer", d_model=128, num_heads=4,
                            d_mlp=512, weight_decay=1.0, lr=1e-3, batch_size=512, num_steps=steps, device="cpu")


def train_steps(config: gu.Config, dataset: gu.data.Dataset, steps: int, monitored: bool) -> dict:
    """``steps`` training steps from ``config``'s initialisation, optionally monitored; wall time."""
    device = torch.device("cpu")
    model = gu.models.build(config, dataset.input_shape, dataset.num_classes, dataset.vocab_size)
    optimizer = gu.train.make_optimizer(config, model.parameters())
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, gu.train.warmup_factor(config))
    sampler = gu.train.BatchSampler(len(dataset.y_train), config.batch_size, config.seed, device)
    monitor = SpectralEntropyMonitor(dataset.x_train[:PROBE_SIZE], model.features, every=EVERY) if monitored else None
    model.train()
    with gu.train.flush_denormals():
        tick = time.perf_counter()
        for step in range(steps):
            if monitor is not None:
                monitor(step, model)
            batch = sampler(step)
            x, y = (dataset.x_train, dataset.y_train) if batch is None else (dataset.x_train[batch],
                                                                             dataset.y_train[batch])
            loss = gu.train.objective(config, model(x), y)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            schedule.step()
        if monitor is not None:
            monitor(steps, model)
        wall = time.perf_counter() - tick
    out = {"wall_s": wall}
    if monitor is not None:
        history = monitor.history()
        out |= {"monitor_s": monitor.overhead_seconds, "evaluations": int(history["step"].size),
                "last_entropy": float(history["spectral_entropy"][-1])}
    return out


def bench(steps: int, repeats: int, warmup_steps: int) -> dict:
    config = part3_config(steps)
    dataset = gu.data.load(config)
    train_steps(config, dataset, warmup_steps, monitored=False)
    train_steps(config, dataset, warmup_steps, monitored=True)
    plain, monitored = [], []
    for _ in range(repeats):
        plain.append(train_steps(config, dataset, steps, monitored=False))
        monitored.append(train_steps(config, dataset, steps, monitored=True))
    best_plain = min(r["wall_s"] for r in plain)
    best = min(monitored, key=lambda r: r["wall_s"])
    step_ms = 1000 * best_plain / steps
    eval_ms = 1000 * best["monitor_s"] / best["evaluations"]
    return {"config": config.label(), "num_train": len(dataset.y_train), "steps": steps, "repeats": repeats,
            "every": EVERY, "probe": PROBE_SIZE, "evaluations": best["evaluations"],
            "plain_wall_s": [round(r["wall_s"], 3) for r in plain],
            "monitored_wall_s": [round(r["wall_s"], 3) for r in monitored],
            "monitor_s": [round(r["monitor_s"], 4) for r in monitored],
            "plain_ms_per_step": step_ms, "monitored_ms_per_step": 1000 * best["wall_s"] / steps,
            "wall_ratio": best["wall_s"] / best_plain,
            "monitor_fraction": best["monitor_s"] / best["wall_s"],
            "ms_per_evaluation": eval_ms, "steady_state_fraction": eval_ms / (EVERY * step_ms),
            "last_entropy": best["last_entropy"]}


def bench_indicators(config: gu.Config, dataset: gu.data.Dataset, steps: int, step_ms: float) -> dict:
    """Every indicator of :mod:`grokutils.indicators` on Part III's run: seconds per evaluation (the mean over
    the evaluations of ``steps`` training steps, every :data:`EVERY`) and the steady-state share of training,
    seconds / (EVERY × one training step of the plain loop)."""
    probe = probe_indices(len(dataset.y_train), SIGNAL_PROBE_SIZE, PROBE_SEED)
    x, y = dataset.x_train[probe], dataset.y_train[probe]
    model = gu.models.build(config, dataset.input_shape, dataset.num_classes, dataset.vocab_size)
    optimizer = gu.train.make_optimizer(config, model.parameters())
    sampler = gu.train.BatchSampler(len(dataset.y_train), config.batch_size, config.seed, torch.device("cpu"))
    monitor = SignalMonitor(x, y, every=EVERY, task=config.task, p=config.p, loss_fn=objective_of(config))
    with gu.train.flush_denormals():
        for step in range(steps + 1):
            monitor(step, model)
            if step == steps:
                break
            batch = sampler(step)
            loss = gu.train.objective(config, model(dataset.x_train[batch]), dataset.y_train[batch])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
    costs = monitor.costs()
    return {"probe": len(y), "evaluations": len(monitor.steps), "not_applicable": sorted(monitor.not_applicable),
            "seconds_per_evaluation": costs,
            "steady_state_fraction": {name: s / (EVERY * step_ms / 1000) for name, s in costs.items()}}


def print_report(report: dict) -> None:
    print(f"\nPart III setup: {report['config']}, {report['num_train']} training pairs, minibatch 512")
    print(f"{report['steps']} steps, monitor every {report['every']} steps ({report['evaluations']} evaluations, "
          f"probe {report['probe']}), best of {report['repeats']}\n")
    print(f"{'ms/step without monitor':34}{report['plain_ms_per_step']:10.2f}")
    print(f"{'ms/step with monitor':34}{report['monitored_ms_per_step']:10.2f}")
    print(f"{'wall-clock ratio with/without':34}{report['wall_ratio']:10.4f}")
    print(f"{'ms per monitor evaluation':34}{report['ms_per_evaluation']:10.2f}")
    print(f"{'monitor time / monitored run':34}{100 * report['monitor_fraction']:9.3f}%")
    print(f"{'steady state (1 eval / 200 steps)':34}{100 * report['steady_state_fraction']:9.3f}%")
    print(f"\nall wall times (s): without {report['plain_wall_s']}, with {report['monitored_wall_s']}, "
          f"inside the monitor {report['monitor_s']}")
    env = report["environment"]
    print(f"torch {env['torch']}, {env['threads']} threads, Python {env['python']}; "
          f"H̃ at the last evaluation {report['last_entropy']:.4f}")
    if "indicators" in report:
        ind = report["indicators"]
        print(f"\nEvery Part V indicator on the same run ({ind['evaluations']} evaluations, probe {ind['probe']}; "
              f"not applicable: {', '.join(ind['not_applicable']) or 'none'}):\n")
        print(f"{'indicator':28}{'ms / evaluation':>16}{'share at 1 / 200 steps':>24}")
        shares = ind["steady_state_fraction"]
        for name, seconds in sorted(ind["seconds_per_evaluation"].items(), key=lambda kv: -kv[1]):
            print(f"{name:28}{1000 * seconds:16.2f}{100 * shares[name]:23.3f}%")
        print(f"{'all together':28}{1000 * sum(ind['seconds_per_evaluation'].values()):16.2f}"
              f"{100 * sum(shares.values()):23.3f}%")


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=1000, help="training steps per timed run (default 1000)")
    parser.add_argument("--repeats", type=int, default=2, help="timed runs of each loop; the best counts")
    parser.add_argument("--warmup-steps", type=int, default=20, help="steps of the untimed warm-up runs")
    parser.add_argument("--threads", type=int, default=None, help="torch.set_num_threads (default: torch's)")
    parser.add_argument("--output", type=Path, default=None, help="also write the report as JSON here")
    parser.add_argument("--no-indicators", action="store_true", help="skip the per-indicator costs of Part V")
    args = parser.parse_args(argv)
    if args.steps < 1 or args.repeats < 1 or args.warmup_steps < 1:
        parser.error("--steps, --repeats and --warmup-steps must be positive")
    if args.threads:
        torch.set_num_threads(args.threads)
    report = bench(args.steps, args.repeats, args.warmup_steps)
    if not args.no_indicators:
        config = part3_config(args.steps)
        report["indicators"] = bench_indicators(config, gu.data.load(config), args.steps,
                                                report["plain_ms_per_step"])
    report["environment"] = {"torch": torch.__version__, "threads": torch.get_num_threads(),
                             "python": platform.python_version(), "platform": platform.platform()}
    print_report(report)
    if args.output:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(json.dumps(report, indent=2) + "\n")
        print(f"\nwritten to {args.output}")
    return report


if __name__ == "__main__":
    main()
