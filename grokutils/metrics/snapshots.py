"""Representation snapshots: 2-D projections of train and test features at a few steps (Part I, Figure 2).

Sato & Sakamoto (2025), Figure 2, show the penultimate representations of train and test
points in the overfitting phase and after grokking, with the distribution of test margins.
The callback :func:`representation_snapshots` stores, at about a dozen evaluation steps
spread over training (:data:`SNAPSHOT_FRACTIONS`), a small fixed sample of points projected
on the top two principal directions of the *training class means*, rescaled by the mean
feature norm s, and the quantiles of the test margins. At other steps it records ``None``,
so the stored result stays small; :meth:`grokutils.result.Result.snapshots` collects them.
"""

from __future__ import annotations

import torch

from grokutils.config import eval_steps
from grokutils.metrics.probe import probe_indices

#: Where snapshots are taken, as fractions of ``num_steps`` (each moved to the nearest
#: evaluation step); 0.16 is the paper's overfitting snapshot (step 16k of 100k).
SNAPSHOT_FRACTIONS = (0.0, 0.001, 0.003, 0.01, 0.03, 0.1, 0.16, 0.3, 0.5, 0.7, 1.0)
#: Points per split kept in a snapshot, and the seed that picks them (the same at every step).
SNAPSHOT_POINTS, SNAPSHOT_SEED = 200, 1
#: Quantiles (in %) of the test margin distribution kept in a snapshot.
MARGIN_QUANTILES = tuple(range(1, 100))


def snapshot_steps(config) -> list[int]:
    """The evaluation steps nearest to :data:`SNAPSHOT_FRACTIONS` of ``config.num_steps``."""
    steps = eval_steps(config.eval_schedule, config.num_steps)
    return sorted({min(steps, key=lambda s: abs(s - fraction * config.num_steps)) for fraction in SNAPSHOT_FRACTIONS})


def class_mean_plane(features: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """(d, 2): the top two principal directions of the centred class means (Part I, Figure 2)."""
    classes = torch.unique(labels)
    means = torch.stack([features[labels == c].mean(0) for c in classes])
    _, _, vh = torch.linalg.svd(means - means.mean(0), full_matrices=False)
    return vh[:2].T


def margins(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """f_y(x) − max_{j≠y} f_j(x) per sample: negative exactly when the prediction is wrong (ties aside)."""
    true = logits.gather(1, labels[:, None]).squeeze(1)
    others = logits.scatter(1, labels[:, None], float("-inf"))
    return true - others.max(1).values


def _rounded(x: torch.Tensor) -> list:
    return [[round(float(v), 4) for v in row] for row in x] if x.dim() == 2 else [round(float(v), 4) for v in x]


@torch.no_grad()
def representation_snapshots(context) -> dict:
    """Training callback: ``snapshot`` = a dict at :func:`snapshot_steps`, ``None`` elsewhere.

    A snapshot holds ``train_xy`` / ``test_xy`` (200 points each, (x, y) on the class-mean
    plane of the training features, divided by s = mean ‖h‖ of the training features),
    ``train_y`` / ``test_y`` (their labels), ``test_margin_quantiles`` (1..99 % of
    f_y − max_{j≠y} f_j on the whole test split) and ``test_error``. Book Part I, Figure 2.
    """
    if context.step not in snapshot_steps(context.config):
        return {"snapshot": None}
    model, data = context.model, context.data
    train = torch.cat([model.features(chunk) for chunk in data.x_train.split(8192)]).double()
    plane = class_mean_plane(train, data.y_train)
    centre, scale = train.mean(0), float(train.norm(dim=1).mean()) or 1.0
    snapshot = {}
    for split, x, y, feats in (("train", data.x_train, data.y_train, train), ("test", data.x_test, data.y_test, None)):
        pick = probe_indices(len(x), SNAPSHOT_POINTS, SNAPSHOT_SEED).to(x.device)
        chosen = feats[pick] if feats is not None else model.features(x[pick]).double()
        snapshot[f"{split}_xy"] = _rounded((chosen - centre) @ plane / scale)
        snapshot[f"{split}_y"] = y[pick].tolist()
    logits = torch.cat([model(chunk) for chunk in data.x_test.split(8192)]).double()
    test_margins = margins(logits, data.y_test)
    levels = torch.tensor(MARGIN_QUANTILES, dtype=torch.float64) / 100
    snapshot["test_margin_quantiles"] = _rounded(torch.quantile(test_margins, levels))
    snapshot["test_error"] = float((test_margins <= 0).double().mean())
    return {"snapshot": snapshot}
