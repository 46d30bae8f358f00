"""The metric callbacks a :class:`~grokutils.config.Config` may name in ``metrics``: ``REGISTRY`` maps each name to a
callback of an :class:`~grokutils.train.EvalContext` returning a dict of values recorded at every evaluation step.
Its names are also :data:`grokutils.config.METRIC_NAMES` (``tests/test_config.py`` keeps the two equal).
``grokutils.metrics.REGISTRY`` is this dictionary."""

from grokutils.metrics import (balance, collapse, flatness, flatness_theory, fourier, information, information_ablation,
                               robustness, robustness_bounds, sharpness, signals, snapshots, spectral)
from grokutils.metrics.basic import representation_norm

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
    "flatness_invariant": flatness.flatness_invariant_metrics,
    "signals": signals.signals_metrics,
}

__all__ = ["REGISTRY"]
