"""Sweep engine vs one-by-one training on Part I's shape (Omnigrok MNIST MLP).

    python benchmarks/bench_sweep_mlp.py [--steps 1000] [--seeds 3]

Trains seeds x weight decays {0.01, 0.1} of ``gu.presets.omnigrok_mnist`` once
with ``gu.sweep.train_sweep`` and once with sequential ``gu.train.train``
calls, in the same process on the same data, and prints both times, the
ratio, and the largest difference in final test accuracy between the two.
"""

import argparse
import time

import grokutils as gu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--seeds", type=int, default=3)
    args = parser.parse_args()
    base = gu.presets.omnigrok_mnist("paper", num_steps=args.steps, eval_schedule=f"every:{args.steps}")
    configs = [base.replace(seed=s, weight_decay=wd) for s in range(args.seeds) for wd in (0.01, 0.1)]
    dataset = gu.data.load(base)
    start = time.perf_counter()
    swept = gu.sweep.train_sweep(configs, dataset=dataset, progress=False)
    sweep_s = time.perf_counter() - start
    start = time.perf_counter()
    single = [gu.train.train(c, dataset=dataset, progress=False) for c in configs]
    single_s = time.perf_counter() - start
    gap = max(abs(a["test_acc"][-1] - b["test_acc"][-1]) for a, b in zip(swept, single))
    print(f"{len(configs)} configs x {args.steps} steps (MNIST MLP, batch {base.batch_size}): "
          f"sweep {sweep_s:.1f} s, one by one {single_s:.1f} s, speed-up {single_s / sweep_s:.2f}x; "
          f"largest final test-accuracy difference {gap:.4f}")


if __name__ == "__main__":
    main()
