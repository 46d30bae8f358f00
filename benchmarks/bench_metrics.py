"""Speed of every metric of ``grokutils.metrics`` on the sizes the book uses.

    python benchmarks/bench_metrics.py [--threads 2] [--repeats 5] [--json PATH]

Feature metrics run on n = 1,000 samples × d = 200 features in 10 classes (the
Part I probe); model metrics on the Part I MLP 784-200-200-200-10 with 1,000
MNIST-shaped inputs; Fourier metrics on a 113 × 128 embedding. Prints the median
time of ``--repeats`` calls, the budget of the metric-library issue (50 ms; 2 s for
the MI estimator; the exact Hessian has none) and whether it is met.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import time
from pathlib import Path

import torch

import grokutils as gu
from grokutils.metrics import collapse, flatness, fourier, information, robustness, spectral

FAST, MI_BUDGET = 0.050, 2.0


def fixtures(n: int = 1000, d: int = 200, classes: int = 10) -> dict:
    generator = torch.Generator().manual_seed(0)
    labels = torch.arange(n) % classes
    means = 3 * torch.randn(classes, d, generator=generator)
    features = torch.relu(means[labels] + torch.randn(n, d, generator=generator))
    config = gu.presets.collapse_mnist("smoke")
    torch.manual_seed(0)
    model = gu.models.MLP(784, config.widths, classes, config.init_scale)
    images = torch.randn(n, 1, 28, 28, generator=generator)
    tokens = torch.cartesian_prod(torch.arange(113), torch.arange(113))[:n]
    tokens = torch.cat([tokens, torch.full((n, 1), 113)], 1)
    transformer = gu.models.Transformer(114, 113)
    return {"h": features.double(), "y": labels, "w": torch.randn(classes, d, dtype=torch.float64, generator=generator),
            "b": torch.randn(classes, dtype=torch.float64, generator=generator), "model": model, "images": images,
            "codes": torch.randn(n, 4, generator=generator, dtype=torch.float64), "tokens": tokens,
            "transformer": transformer, "embedding": torch.randn(113, 128, generator=generator)}


def cases(f: dict) -> list[tuple[str, str, float | None, callable]]:
    h, y, w, b = f["h"], f["y"], f["w"], f["b"]
    unit = h / h.norm(dim=1, keepdim=True)
    gram = unit @ unit.T
    kernels = [information.gaussian_kernel(h[i:i + 100]) for i in range(0, 1000, 100)]
    model, images = f["model"], f["images"]

    def mse_loss():
        return ((model(images[:200]) - 1.0) ** 2).sum(1).mean()

    return [
        ("collapse", "within_class_variance", FAST, lambda: collapse.within_class_variance(h, y)),
        ("collapse", "nc1", FAST, lambda: collapse.nc1(h, y)),
        ("collapse", "nc1_papyan", FAST, lambda: collapse.nc1_papyan(h, y)),
        ("collapse", "rnc1", FAST, lambda: collapse.rnc1(h, y)),
        ("collapse", "nc2", FAST, lambda: collapse.nc2(h, y)),
        ("collapse", "ncc_mismatch", FAST, lambda: collapse.ncc_mismatch(h, y)),
        ("collapse", "ncc (Part IV, summed CDNV)", FAST, lambda: collapse.ncc(h, y)),
        ("collapse", "class_mean_angles", FAST, lambda: collapse.class_mean_angles(h, y)),
        ("collapse", "margin_error_bound", FAST, lambda: collapse.margin_error_bound(h, y, w, b)),
        ("spectral", "spectral_entropy", FAST, lambda: spectral.spectral_entropy(h)),
        ("spectral", "effective_rank", FAST, lambda: spectral.effective_rank(h)),
        ("spectral", "feature_renyi_entropy (1000 × 200 features)", FAST,
         lambda: spectral.feature_renyi_entropy(unit, 1.0)),
        ("spectral", "feature_mutual_information (1000 × 200 and × 10)", FAST,
         lambda: spectral.feature_mutual_information(unit, unit[:, :10], 1.0)),
        ("spectral", "matrix_renyi_entropy (1000 × 1000 Gram)", None, lambda: spectral.matrix_renyi_entropy(gram, 1.0)),
        ("spectral", "matrix_mutual_information (200 × 200 Grams)", FAST,
         lambda: spectral.matrix_mutual_information(gram[:200, :200], gram[:200, :200], 1.0)),
        ("flatness", "relative_flatness_closed_form", FAST, lambda: flatness.relative_flatness_closed_form(h, y, w, b)),
        ("flatness", "flatness_bound", FAST, lambda: flatness.flatness_bound(h, y, w, b)),
        ("flatness", "relative_flatness (exact, autograd)", None, lambda: flatness.relative_flatness(h, y, w, b)),
        ("flatness", "hutchinson_trace (10 HVPs, MLP, 200 inputs)", None,
         lambda: flatness.hutchinson_trace(mse_loss, list(model.parameters()), num_samples=10)),
        ("information", "kl_entropy (d = 4)", FAST, lambda: information.kl_entropy(f["codes"])),
        ("information", "kl_entropy (d = 8, weighted)", FAST,
         lambda: information.kl_entropy(torch.cat([f["codes"], f["codes"].flip(1) ** 3], 1))),
        ("information", "compression_mutual_information", MI_BUDGET,
         lambda: information.compression_mutual_information(h, f["codes"], y)),
        ("information", "nhsic (10 batches of 100)", FAST,
         lambda: [information.nhsic(k, k) for k in kernels]),
        ("information", "ib_bounds", FAST, lambda: information.ib_bounds(h, y)),
        ("robustness", "perturbation_error (MLP, 1000 images)", FAST,
         lambda: robustness.perturbation_error(model, images, 0.1)),
        ("robustness", "matrix_information_signals (MLP, 1000 images)", FAST,
         lambda: robustness.matrix_information_signals(model, images, 0.1)),
        ("robustness", "abelian_agreement (transformer, 1000 pairs)", FAST,
         lambda: robustness.abelian_agreement(f["transformer"], f["tokens"])),
        ("fourier", "mean_fourier_alignment (113 × 128)", FAST,
         lambda: fourier.mean_fourier_alignment(f["embedding"], 113)),
        ("fourier", "key_frequencies (113 × 128)", FAST, lambda: fourier.key_frequencies(f["embedding"], 113)),
    ]


def median_seconds(fn, repeats: int) -> float:
    fn()  # warm-up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--json", type=Path, default=None, help="also write the table here")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    rows = []
    print(f"{'family':<12} {'metric':<50} {'median ms':>10} {'budget ms':>10}  ok")
    for family, name, budget, fn in cases(fixtures()):
        seconds = median_seconds(fn, args.repeats)
        ok = "—" if budget is None else ("yes" if seconds <= budget else "NO")
        budget_ms = "—" if budget is None else f"{budget * 1e3:.0f}"
        print(f"{family:<12} {name:<50} {seconds * 1e3:>10.1f} {budget_ms:>10}  {ok}", flush=True)
        rows.append({"family": family, "metric": name, "median_s": seconds, "budget_s": budget})
    if args.json:
        args.json.write_text(json.dumps({"threads": args.threads, "machine": platform.processor() or platform.machine(),
                                         "torch": torch.__version__, "rows": rows}, indent=1))


if __name__ == "__main__":
    main()
