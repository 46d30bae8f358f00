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

``REGISTRY`` (defined in ``grokutils.metrics.registry``) maps a name that a :class:`~grokutils.config.Config`
may list in ``metrics`` to a callback of an :class:`~grokutils.train.EvalContext` returning a dict of values
recorded at every evaluation step. Its names are also :data:`grokutils.config.METRIC_NAMES`, which validates a
Config without importing the metrics (``tests/test_config.py`` keeps the two equal).
"""

import importlib

from grokutils.metrics import (balance, collapse, flatness, flatness_theory, fourier, information, information_ablation,
                               robustness, robustness_bounds, sharpness, snapshots, spectral, spectral_lemmas)
from grokutils.metrics.basic import accuracy, representation_norm, weight_norm

__all__ = ["REGISTRY", "accuracy", "balance", "collapse", "flatness", "flatness_theory", "fourier", "information",
           "information_ablation", "representation_norm", "robustness", "robustness_bounds", "sharpness", "signals",
           "snapshots", "spectral", "spectral_lemmas", "weight_norm"]


def __getattr__(name: str):
    """``signals`` and ``REGISTRY`` (:mod:`grokutils.metrics.registry`) load on first use: ``signals`` records the
    indicators of :mod:`grokutils.indicators`, which import the families above, so importing it here would make
    this package and the indicators import each other."""
    if name == "signals":
        return importlib.import_module("grokutils.metrics.signals")
    if name == "REGISTRY":
        return importlib.import_module("grokutils.metrics.registry").REGISTRY
    raise AttributeError(f"module 'grokutils.metrics' has no attribute {name!r}")
