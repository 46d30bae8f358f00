"""Metrics of the four papers, usable on your own tensors or as training callbacks.

``REGISTRY`` maps a name that a :class:`~grokutils.config.Config` may list in
``metrics`` to a callback of an :class:`~grokutils.train.EvalContext`
returning a dict of values recorded at every evaluation step.
"""

from grokutils.metrics.basic import accuracy, representation_norm, weight_norm

REGISTRY = {
    "representation_norm": representation_norm,
}

__all__ = ["REGISTRY", "accuracy", "representation_norm", "weight_norm"]
