"""Does the float32 softmax saturate before the quick-start's loss spikes? (Nanda et al.'s setup, both precisions.)

    python benchmarks/softmax_saturation.py                  # both runs, 14,000 steps each (~25 min each, 1 thread)
    python benchmarks/softmax_saturation.py --dtype float32 --steps 3000

Trains ``gu.presets.nanda("paper", loss_dtype=...)`` with a callback that records, at every evaluation (every
100 steps), what the stored results cannot show: on the training set, the logit gap of every pair (correct
logit minus the largest other one: its minimum, median and maximum), the fraction of pairs whose float32
softmax gives the correct class a probability of exactly 1 (their float32 cross-entropy is exactly 0: a gap
above ln 2^24 = 16.6), the fraction whose float32 ``exp`` of every other logit gap underflows to 0 (a gap above
~87), the full-batch gradient norm of the training loss (in the run's own precision) and its unembedding part,
and the unembedding's norm. Nothing is stored in ``results/``: the JSON goes to
``benchmarks/results/softmax_saturation-<hostname>.json``; the quick-start cites it.
"""

from __future__ import annotations

import argparse
import json
import socket
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F

import grokutils as gu

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_common import RESULTS_DIR, environment, stamped  # noqa: E402


def saturation(context: gu.train.EvalContext) -> dict:
    """The callback: softmax saturation and gradient size on the training set (see the module docstring)."""
    model, x, y = context.model, context.data.x_train, context.data.y_train
    with torch.no_grad():
        logits = model(x).float()
    correct = logits.gather(1, y[:, None])
    gap = (correct[:, 0] - logits.scatter(1, y[:, None], float("-inf")).max(1).values).double()
    p_correct = logits.softmax(-1).gather(1, y[:, None])[:, 0]
    others = torch.exp(logits - correct).scatter(1, y[:, None], 0.0)
    was_training = model.training
    model.train()
    model.zero_grad(set_to_none=True)
    gu.train.objective(context.config, model(x), y).backward()
    grad = torch.sqrt(sum((p.grad.double() ** 2).sum() for p in model.parameters())).item()
    head_grad = model.head.weight.grad.norm().item()
    model.zero_grad(set_to_none=True)
    model.train(was_training)
    return {"gap_min": gap.min().item(), "gap_median": gap.median().item(), "gap_max": gap.max().item(),
            "frac_p1_32": (p_correct == 1.0).double().mean().item(),
            "frac_loss0_32": (F.cross_entropy(logits, y, reduction="none") == 0).double().mean().item(),
            "frac_underflow_32": (others.sum(1) == 0).double().mean().item(),
            "loss64": F.cross_entropy(logits.double(), y).item(), "grad_norm": grad, "head_grad_norm": head_grad,
            "head_norm": model.head.weight.norm().item()}


def measure(dtype: str, steps: int) -> dict:
    config = gu.presets.nanda("paper", loss_dtype=dtype, num_steps=steps, device="cpu")
    tick = time.perf_counter()
    result = gu.train.train(config, callbacks=[saturation], progress=False)
    spikes = gu.result.loss_spikes(result)
    return {"config": config.label(), "key": config.key(), "seconds": time.perf_counter() - tick,
            "t_fit": result.t_fit, "t_grok": result.t_grok, "spikes": spikes, "steps": result.steps,
            "history": result.history}


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dtype", default="both", choices=["both", "float32", "float64"])
    parser.add_argument("--steps", type=int, default=14_000)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--output", type=Path, default=None)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    dtypes = ["float32", "float64"] if args.dtype == "both" else [args.dtype]
    report = {"benchmark": "softmax_saturation", "environment": environment(),
              "runs": {dtype: stamped(lambda dtype=dtype: measure(dtype, args.steps)) for dtype in dtypes}}
    for dtype, run in report["runs"].items():
        history = run["history"]
        before = [history["frac_p1_32"][run["steps"].index(s) - 1] for s in run["spikes"]]
        print(f"{dtype}: t_fit {run['t_fit']}, t_grok {run['t_grok']}, {len(run['spikes'])} spikes at {run['spikes']}; "
              f"pairs with a float32 p = 1 just before each: {[round(b, 3) for b in before]}")
    output = args.output or RESULTS_DIR / f"softmax_saturation-{socket.gethostname()}.json"
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(report) + "\n")
    print(f"written to {output}")
    return report


if __name__ == "__main__":
    main()
