"""Metrics of the four papers, usable on your own tensors or as training callbacks.

Submodules by family:

- ``basic``: accuracy, weight norm, representation norm;
- ``collapse`` (Part I): NC1, RNC1, NC2, NCC, class-mean angles, Theorem 3.2 bound;
- ``spectral`` (Parts II-III): spectral entropy (train and test probes), effective rank, matrix Rényi
  entropy and MI; ``spectral_lemmas``: the numerical checks of Part III's Lemmas 1 and 5;
- ``flatness`` (Part IV): relative flatness (exact and closed form), Hessian traces;
- ``fourier`` (Part III): Fourier alignment and key frequencies of embeddings;
- ``information`` (Part I): Kozachenko–Leonenko entropy, compression MI, nHSIC, IB bounds
  (with ``autoencoder``, the cached compressor of X);
- ``balance`` (Part I, Appendix A.4): weight balancedness of consecutive layers;
- ``snapshots`` (Part I, Figure 2): 2-D projections of train/test features at a few steps;
- ``sharpness`` (Part II): Hutchinson's trace of the training loss's Hessian;
- ``robustness`` (Part II): perturbation error, PMI / PE / MID / ED, abelian test, logit distance;
- ``signals`` (Part V): every indicator of :mod:`grokutils.indicators` at once, with its cost.

``REGISTRY`` maps a name that a :class:`~grokutils.config.Config` may list in
``metrics`` to a callback of an :class:`~grokutils.train.EvalContext`
returning a dict of values recorded at every evaluation step. Its names are also
:data:`grokutils.config.METRIC_NAMES`, which validates a Config without importing the metrics
(``tests/test_config.py`` keeps the two equal).
"""

from grokutils.metrics import (balance, collapse, flatness, flatness_theory, fourier, information, information_ablation,
                               robustness, robustness_bounds, sharpness, snapshots, spectral, spectral_lemmas)
from grokutils.metrics.basic import accuracy, representation_norm, weight_norm
from grokutils.metrics import signals  # noqa: E402  (after the families: the indicators it records import them)

REGISTRY = {
    "representation_norm": representation_norm,
    "collapse": collapse.collapse_metrics,
    "spectral": spectral.spectral_metrics,
    "fourier": fourier.fourier_metrics,
    "information": information.information_metrics,
    "robustness": robustness.robustness_metrics,
    "population": collapse.population_metrics,
    "concentration": collapse.concentration_metrics,
    "snapshots": snapshots.representation_snapshots,
    "balancedness": balance.balancedness_metrics,
    "sharpness": sharpness.sharpness_metrics,
    "information_ablation": information_ablation.information_ablation_metrics,
    "robustness_bounds": robustness_bounds.robustness_bounds_metrics,
    "flatness": flatness.flatness_metrics,
    "flatness_theory": flatness_theory.flatness_theory_metrics,
    "signals": signals.signals_metrics,
}

__all__ = ["REGISTRY", "accuracy", "balance", "collapse", "flatness", "flatness_theory", "fourier", "information",
           "information_ablation", "representation_norm", "robustness", "robustness_bounds", "sharpness", "signals",
           "snapshots", "spectral", "spectral_lemmas", "weight_norm"]
