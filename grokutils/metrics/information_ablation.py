"""The α ablation (Figure 12) and the label information (Appendix B, Figure 13) of Tan & Huang (2023).

"Grokking through a robustness viewpoint", book Part II. Section 6 recomputes the matrix information
signals of Figures 8–11 at other orders α of the matrix Rényi entropy, on the training set and on the
unperturbed MNIST test set, to show that their trends do not depend on α. Appendix B compares PMI with the
matrix mutual information between the *perturbed logits* and the one-hot labels, which it finds "not as
timely". The paper names neither the α values nor the probe sizes; :data:`ABLATION_ALPHAS` is chosen once
here, around the α = 1 of the main figures.

Every order α is computed from one decomposition per Gram matrix
(:func:`~grokutils.metrics.robustness.batch_spectra`), so the α = 1 values equal
:func:`~grokutils.metrics.robustness.matrix_information_signals` on the same inputs and noise.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from grokutils.metrics.probe import probe_indices
from grokutils.metrics.robustness import (BATCH_SIZE, NOISE_SEED, PROBE_SEED, PROBE_SIZE, SIGMA_EMBEDDING,
                                          SIGMA_IMAGE, _add_noise, _check_count, _check_sigma, _input_space,
                                          _outputs, _unit_rows, batch_spectra)
from grokutils.metrics.spectral import _check_alpha, feature_information_spectra, renyi_from_spectrum

__all__ = ["ABLATION_ALPHAS", "alpha_key", "information_ablation", "information_ablation_metrics",
           "label_information"]

#: Orders of the matrix Rényi entropy in the α ablation (Figure 12): one below, the main figures' α = 1, one
#: above (chosen; the paper's values are not in its text).
ABLATION_ALPHAS = (0.5, 1.0, 2.0)


def alpha_key(name: str, alpha: float) -> str:
    """The history key of signal ``name`` at order ``alpha``: ``"pmi_a0.5"`` (Part II)."""
    return f"{name}_a{alpha:g}"


def _check_alphas(alphas) -> tuple[float, ...]:
    if isinstance(alphas, (str, bytes)) or not hasattr(alphas, "__iter__"):
        raise ValueError(f"alphas must be a non-empty sequence of numbers > 0, got {alphas!r}.")
    checked = tuple(_check_alpha(a) for a in alphas)
    if not checked:
        raise ValueError("alphas is empty; give at least one order α > 0.")
    return checked


@torch.no_grad()
def information_ablation(model, x: torch.Tensor, sigma: float, alphas=ABLATION_ALPHAS,
                         batch_size: int = BATCH_SIZE, generator: torch.Generator | None = None) -> dict[str, float]:
    """PMI, PE, MID and ED (:func:`~grokutils.metrics.robustness.matrix_information_signals`) at every order
    in ``alphas``, keyed by :func:`alpha_key` (Tan & Huang 2023, Section 6, Figure 12; book Part II).

    The noise is drawn once from ``generator`` and shared by every α; batches and cut-offs are those of
    ``matrix_information_signals``, whose values these equal at each α.
    """
    sigma, alphas = _check_sigma(sigma), _check_alphas(alphas)
    batch_size = _check_count(batch_size, "batch_size", 2)
    z, f, g = _input_space(model, x)
    if g is None or z.shape[0] < 2:
        raise ValueError(f"information_ablation needs a model with a first layer and at least 2 inputs; got "
                         f"{type(model).__name__} and {z.shape[0]} inputs.")
    noisy = _add_noise(z, sigma, generator)
    sums = {(name, a): [] for name in ("pmi", "pe", "mi", "entropy") for a in alphas}
    for inputs, (mi_key, h_key) in ((noisy, ("pmi", "pe")), (z, ("mi", "entropy"))):
        first, out = _outputs(g, inputs, "first-layer outputs"), _outputs(f, inputs, "network outputs")
        for rows in torch.arange(z.shape[0]).split(batch_size):
            if len(rows) < 2:
                continue
            spectra = batch_spectra(first[rows], out[rows])
            for a in alphas:
                s_first, s_out, s_joint = (renyi_from_spectrum(s, a) for s in spectra)
                sums[mi_key, a].append(s_first + s_out - s_joint)
                sums[h_key, a].append(s_out)
    mean = {key: math.fsum(values) / len(values) for key, values in sums.items()}
    signals = {}
    for a in alphas:
        signals[alpha_key("pmi", a)], signals[alpha_key("pe", a)] = mean["pmi", a], mean["pe", a]
        signals[alpha_key("mid", a)] = mean["pmi", a] - mean["mi", a]
        signals[alpha_key("ed", a)] = mean["pe", a] - mean["entropy", a]
    return signals


@torch.no_grad()
def label_information(model, x: torch.Tensor, labels: torch.Tensor, num_classes: int, sigma: float,
                      alpha: float = 1.0, batch_size: int = BATCH_SIZE,
                      generator: torch.Generator | None = None) -> float:
    """I_α(K_logits; K_labels) on perturbed inputs, averaged over batches (Tan & Huang 2023, Appendix B,
    Figure 13; Part II): K_logits from the unit-norm network outputs on x + ε, K_labels = Y Yᵀ of the one-hot labels
    (1 where two samples share a class)."""
    sigma, alpha = _check_sigma(sigma), _check_alpha(alpha)
    batch_size = _check_count(batch_size, "batch_size", 2)
    z, f, _ = _input_space(model, x)
    if not isinstance(labels, torch.Tensor) or labels.shape != (z.shape[0],) or labels.is_floating_point():
        raise ValueError(f"labels must be an integer tensor of shape ({z.shape[0]},), got "
                         f"{getattr(labels, 'shape', type(labels).__name__)}.")
    out = _outputs(f, _add_noise(z, sigma, generator), "network outputs")
    one_hot = F.one_hot(labels.cpu().long(), num_classes).double()
    values = []
    for rows in torch.arange(z.shape[0]).split(batch_size):
        if len(rows) < 2:
            continue
        spectra = feature_information_spectra(_unit_rows(out[rows], "network outputs"), one_hot[rows])
        s_logits, s_labels, s_joint = (renyi_from_spectrum(s, alpha) for s in spectra)
        values.append(s_logits + s_labels - s_joint)
    return math.fsum(values) / len(values)


def information_ablation_metrics(context) -> dict:
    """Training-loop callback ``information_ablation`` (Part II): :func:`information_ablation` on the training probe of
    :func:`~grokutils.metrics.robustness.robustness_metrics` (keys ``train_pmi_a0.5`` …) and on as many
    unperturbed-split test samples (``test_…``), and :func:`label_information` on the training probe
    (``label_pmi``); same σ and noise seed as the robustness callback."""
    model, data = context.model, context.data
    row = {}
    for split, x_all, y_all in (("train", data.x_train, data.y_train), ("test", data.x_test, data.y_test)):
        index = probe_indices(len(x_all), PROBE_SIZE, PROBE_SEED).to(x_all.device)
        x = x_all[index]
        sigma = SIGMA_IMAGE if x.is_floating_point() else SIGMA_EMBEDDING
        signals = information_ablation(model, x, sigma, generator=torch.Generator().manual_seed(NOISE_SEED))
        row.update({f"{split}_{key}": value for key, value in signals.items()})
        if split == "train":
            row["label_pmi"] = label_information(model, x, y_all[index], data.num_classes, sigma,
                                                 generator=torch.Generator().manual_seed(NOISE_SEED))
    return row
