"""Sweep engine vs one-by-one training on Part I's shape (Omnigrok MNIST MLP).

    python benchmarks/bench_sweep_mlp.py [--steps 1000] [--seeds 3] [--repeats 2]

Trains seeds x weight decays {0.01, 0.1} of ``gu.presets.omnigrok_mnist``
with ``gu.sweep.train_sweep`` and with sequential ``gu.train.train`` calls, in
the same process on the same data: first 20 untimed steps each way (the sweep
measures its strategy then), then ``--repeats`` times alternately; it prints the
best time of each, the ratio, the sweep's strategy, and the largest difference
in final test accuracy between the two, and writes them as JSON to
``benchmarks/results/bench_sweep_mlp-<hostname>.json``.
"""

import argparse
import json
import socket
import time

from bench_common import RESULTS_DIR, environment

import grokutils as gu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    base = gu.presets.omnigrok_mnist("paper", num_steps=args.steps, eval_schedule=f"every:{args.steps}")
    configs = [base.replace(seed=s, weight_decay=wd) for s in range(args.seeds) for wd in (0.01, 0.1)]
    dataset = gu.data.load(base)
    warm = [c.replace(num_steps=20, eval_schedule="every:20") for c in configs]
    gu.sweep.train_sweep(warm, dataset=dataset, progress=False)
    gu.train.train(warm[0], dataset=dataset, progress=False)
    sweep_s, single_s = [], []
    for _ in range(args.repeats):
        start = time.perf_counter()
        swept = gu.sweep.train_sweep(configs, dataset=dataset, progress=False)
        sweep_s.append(time.perf_counter() - start)
        start = time.perf_counter()
        single = [gu.train.train(c, dataset=dataset, progress=False) for c in configs]
        single_s.append(time.perf_counter() - start)
    gap = max(abs(a["test_acc"][-1] - b["test_acc"][-1]) for a, b in zip(swept, single))
    print(f"{len(configs)} configs x {args.steps} steps (MNIST MLP, batch {base.batch_size}): "
          f"sweep ({swept[0].env['sweep_strategy']}) {min(sweep_s):.1f} s, one by one {min(single_s):.1f} s, "
          f"speed-up {min(single_s) / min(sweep_s):.2f}x; largest final test-accuracy difference {gap:.4f}")
    output = RESULTS_DIR / f"bench_sweep_mlp-{socket.gethostname()}.json"
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps({"benchmark": "bench_sweep_mlp", "environment": environment(),
                                  "configs": len(configs), "steps": args.steps,
                                  "strategy": swept[0].env["sweep_strategy"], "sweep_s": sweep_s,
                                  "one_by_one_s": single_s,
                                  "speed_up": min(single_s) / min(sweep_s), "accuracy_gap": gap}, indent=2) + "\n")
    print(f"written to {output}")


if __name__ == "__main__":
    main()
