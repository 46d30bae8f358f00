"""What each metric callback adds to one evaluation, next to what a training step costs.

    python benchmarks/bench_callbacks.py [--threads N] [--repeats 5] [--json PATH]

For every name of ``grokutils.metrics.REGISTRY`` (what ``Config(metrics=...)`` may list), the callback
runs on the model and data of the setup that records it in the book: Part I's MNIST MLP (collapse,
population, concentration, information, snapshots, representation_norm, balancedness), Part III's
transformer on x + y mod 97 (spectral, fourier) and Part II's robustness signals on the same transformer. Reported:
the median seconds of one call over ``--repeats`` (after one untimed call that fills caches, e.g. the
information metric's autoencoder), the accuracy/loss evaluation every run pays, and one training step
of that setup, so that the overhead reads as "evaluations cost this many training steps".
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import torch

import grokutils as gu
from grokutils.metrics import REGISTRY
from grokutils.train import EvalContext, evaluate

#: The setup whose model and data time each callback: the book's preset that records it.
SETUPS = {"mlp": lambda: gu.presets.collapse_mnist("paper"),
          "transformer": lambda: gu.presets.spectral_main("paper")[0]}
CALLBACK_SETUP = {"collapse": "mlp", "population": "mlp", "concentration": "mlp", "information": "mlp",
                  "snapshots": "mlp", "representation_norm": "mlp", "spectral": "transformer",
                  "fourier": "transformer", "robustness": "transformer", "balancedness": "mlp",
                  "sharpness": "mlp", "information_ablation": "mlp", "robustness_bounds": "mlp",
                  "flatness": "transformer", "flatness_theory": "mlp", "flatness_invariant": "transformer",
                  "signals": "transformer"}


def median_seconds(call, repeats: int) -> float:
    call()  # fills caches (autoencoder, probes) and warms the allocator
    times = []
    for _ in range(repeats):
        tick = time.perf_counter()
        call()
        times.append(time.perf_counter() - tick)
    return statistics.median(times)


def training_step_seconds(config: gu.Config, steps: int = 20) -> float:
    """Seconds per step of the book's training loop on ``config`` (no evaluation in between)."""
    timed = config.replace(num_steps=steps, eval_schedule=f"every:{steps}", metrics=())
    result = gu.train.train(timed, progress=False)
    return result.timings["train_s"] / steps


def setup_context(name: str) -> tuple[gu.Config, EvalContext]:
    config = SETUPS[name]()
    data = gu.data.load(config)
    torch.manual_seed(config.seed)
    model = gu.models.build(config, data.input_shape, data.num_classes, data.vocab_size)
    return config, EvalContext(model, data, config, step=config.num_steps // 2)


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, default=None, help="torch.set_num_threads (default: torch's)")
    parser.add_argument("--repeats", type=int, default=5, help="timed calls per callback; the median counts")
    parser.add_argument("--json", type=Path, default=None, help="also write the table as JSON here")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    missing = set(REGISTRY) - set(CALLBACK_SETUP)
    if missing:
        parser.error(f"callbacks without a setup to time them on: {sorted(missing)}; add them to CALLBACK_SETUP")
    rows = []
    for setup in SETUPS:
        config, context = setup_context(setup)
        step = training_step_seconds(config)
        base = median_seconds(lambda: evaluate(context), args.repeats)
        rows.append({"callback": "(accuracy and loss on both splits)", "setup": setup, "seconds": base,
                     "training_steps": base / step})
        for name in [n for n, s in CALLBACK_SETUP.items() if s == setup]:
            seconds = median_seconds(lambda: REGISTRY[name](context), args.repeats)
            rows.append({"callback": name, "setup": setup, "seconds": seconds, "training_steps": seconds / step})
        print(f"{setup}: one training step {1000 * step:.1f} ms ({config.label()})")
    print(f"\n{'callback':<38} {'setup':<12} {'ms per evaluation':>18} {'= training steps':>17}")
    for row in rows:
        print(f"{row['callback']:<38} {row['setup']:<12} {1000 * row['seconds']:>18.1f} {row['training_steps']:>17.1f}")
    report = {"threads": torch.get_num_threads(), "repeats": args.repeats, "rows": rows}
    if args.json:
        args.json.write_text(json.dumps(report, indent=1) + "\n")
    return report


if __name__ == "__main__":
    main()
