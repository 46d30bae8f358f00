"""Robustness metrics of Part II (Tan & Huang 2023).

Tan & Huang, "Grokking through a robustness viewpoint" (2023) track grokking
through the network's sensitivity to input noise: the perturbation error
(Figure 2 a,b), matrix-information signals of first-layer and output
representations on perturbed inputs (PMI, PE, MID, ED; Figures 8–11) and, on
modular addition, whether the network has become commutative (abelian test,
Figure 5; logit distance, Figure 7; the abelian-degrok regulariser, Figure 6).
This module holds them as functions of a model and its inputs, plus the
training-loop callback :func:`robustness_metrics`.

Where the noise goes: image inputs (floating tensors) get x + ε; token inputs
(integer tensors) get ε on their token embeddings, which needs a model with
``embed``, ``forward_from_embeddings`` and ``first_layer_from_embeddings``
(:class:`~grokutils.models.Transformer`, :class:`~grokutils.models.EmbedMLP`).
ε ~ N(0, σ² I), drawn from ``generator`` (the global RNG when None); σ = 0
adds nothing, so every "perturbed" quantity equals its clean one exactly.

Conventions: scalars come back as Python floats computed in float64; invalid
arguments raise :class:`ValueError` naming what was given and what is allowed;
NaN or infinite model outputs raise instead of giving a silent NaN. Gram
matrices and matrix entropies are those of :mod:`grokutils.metrics.spectral`.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from grokutils.config import COMMUTATIVE_TASKS
from grokutils.metrics.checks import finite_float64
from grokutils.metrics.probe import probe_indices
from grokutils.metrics.spectral import _check_alpha, feature_information_spectra, feature_information_terms

__all__ = [
    "abelian_agreement",
    "batch_spectra",
    "commutativity_penalty",
    "logit_distance",
    "matrix_information_signals",
    "perturb_inputs",
    "perturbation_error",
    "robustness_metrics",
    "swap_seen",
    "swap_split_accuracy",
    "swapped_pairs",
]

#: Training samples the callback probes: a fixed seeded subset (see :mod:`grokutils.metrics.probe`).
PROBE_SIZE, PROBE_SEED = 1000, 0

#: σ of the callback's image noise. Images are normalised to unit pixel std, so a 28×28 image has
#: norm ≈ 28 and ‖ε‖ ≈ 0.1·28: a 10 % perturbation, small enough that the perturbation error
#: measures the local sensitivity σ²·E‖∂f/∂x‖²_F (Lemma 3.1's quantity), far above round-off.
SIGMA_IMAGE = 0.1

#: σ of the callback's token-embedding noise. Embedding entries start at std init_scale/√d_model
#: (norm ≈ init_scale); with Part II's d_model = 128 and init_scale = 1, ‖ε‖ ≈ 0.01·√128 ≈ 0.11:
#: the same ≈ 10 % relative perturbation as :data:`SIGMA_IMAGE`.
SIGMA_EMBEDDING = 0.01

#: Seed of the callback's noise: every evaluation perturbs the probe with the same ε.
NOISE_SEED = 0

#: Rows per Gram matrix in :func:`matrix_information_signals` (the paper's batch size 200).
BATCH_SIZE = 200

#: c of the abelian-degrok loss, loss + c · :func:`commutativity_penalty` (as reported, Figure 6).
DEGROK_WEIGHT = 100.0

_CHUNK = 8192  # rows per forward pass in the no-grad evaluations


# --------------------------------------------------------------------------- checks


def _check_sigma(sigma) -> float:
    if isinstance(sigma, bool) or not isinstance(sigma, (int, float)) or not math.isfinite(sigma) or sigma < 0:
        raise ValueError(f"sigma must be a finite number >= 0, got {sigma!r}.")
    return float(sigma)


def _check_count(value, name: str, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}.")
    return value


# --------------------------------------------------------------------------- where the noise goes


def _input_space(model, x: torch.Tensor):
    """(z, f, g): the continuous input that noise is added to, and the maps from it to the
    network output (f) and to the first-layer representation (g, None if the model has none)."""
    if not isinstance(x, torch.Tensor) or x.ndim < 2 or x.shape[0] == 0:
        shape = tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__
        raise ValueError(f"x must be a non-empty batch tensor (N, ...), got {shape}.")
    if x.is_floating_point():
        return x, model, getattr(model, "first_layer", None)
    if hasattr(model, "embed") and hasattr(model, "forward_from_embeddings"):
        return model.embed(x), model.forward_from_embeddings, getattr(model, "first_layer_from_embeddings", None)
    raise ValueError(f"x holds tokens (dtype {x.dtype}) but {type(model).__name__} has no "
                     "embed / forward_from_embeddings to perturb its token embeddings.")


def _add_noise(z: torch.Tensor, sigma: float, generator: torch.Generator | None) -> torch.Tensor:
    if sigma == 0.0:
        return z
    device = generator.device if generator is not None else z.device
    noise = torch.randn(z.shape, generator=generator, dtype=z.dtype, device=device)
    return z + sigma * noise.to(z.device)


def perturb_inputs(model, x: torch.Tensor, sigma: float, generator: torch.Generator | None = None) -> torch.Tensor:
    """The perturbed input x + ε, ε ~ N(0, σ² I), of Tan & Huang (2023), book Part II.

    "Grokking through a robustness viewpoint": the perturbation of Figure 2 (a,b), of the
    degrokking runs (Figure 4) and of PMI/PE (Figures 8–9). Images (floating ``x``) come back
    as x + ε; tokens (integer ``x``) come back as perturbed token *embeddings*
    ``model.embed(x) + ε`` (feed them to ``model.forward_from_embeddings``). σ = 0 returns
    the unperturbed input.
    """
    sigma = _check_sigma(sigma)
    z, _, _ = _input_space(model, x)
    return _add_noise(z, sigma, generator)


def _outputs(f, z: torch.Tensor, name: str) -> torch.Tensor:
    return finite_float64(torch.cat([f(chunk) for chunk in z.split(_CHUNK)]).flatten(1), name, "robustness")


# --------------------------------------------------------------------------- perturbation error


@torch.no_grad()
def perturbation_error(model, x: torch.Tensor, sigma: float, num_draws: int = 1,
                       generator: torch.Generator | None = None) -> float:
    """Perturbation error E_{x, ε} ‖f(x + ε) − f(x)‖², ε ~ N(0, σ² I).

    Tan & Huang (2023), "Grokking through a robustness viewpoint", Figure 2 (a,b); book
    Part II. The mean over the rows of ``x`` and ``num_draws`` independent draws of ε of the
    squared L2 distance between the outputs (logits) of the perturbed and clean inputs. ε is
    added to images, or to the token embeddings of token inputs (see :func:`perturb_inputs`).
    For small σ it is ≈ σ² E‖∂f/∂x‖²_F; for a linear f(x) = Wx it is σ² ‖W‖²_F in expectation.
    σ = 0 gives exactly 0.0. ``sigma`` finite and ≥ 0, ``num_draws`` an integer ≥ 1.
    """
    sigma = _check_sigma(sigma)
    num_draws = _check_count(num_draws, "num_draws", 1)
    z, f, _ = _input_space(model, x)
    clean = _outputs(f, z, "outputs")
    total = 0.0
    for _ in range(num_draws):
        noisy = _outputs(f, _add_noise(z, sigma, generator), "perturbed outputs")
        total += float((noisy - clean).pow(2).sum(1).mean())
    return total / num_draws


# --------------------------------------------------------------------------- PMI, PE, MID, ED


def _unit_rows(z: torch.Tensor, name: str) -> torch.Tensor:
    """Rows scaled to unit L2 norm. The norm is clamped at the smallest normal float64, so an
    all-zero row stays zero (a zero row and column of K, i.e. one zero eigenvalue) instead of
    0/0 = NaN; every other row gets norm 1."""
    norms = z.norm(dim=1, keepdim=True)
    if not bool((norms > 0).any()):
        raise ValueError(f"every row of the {name} in a batch is zero; their matrix entropy is undefined.")
    return z / norms.clamp_min(torch.finfo(torch.float64).tiny)


def _batch_signals(first: torch.Tensor, out: torch.Tensor, alpha: float) -> tuple[float, float]:
    """(I_α(K_first; K_out), H_α(K_out)) of one batch, K = Z Zᵀ of the unit-norm rows."""
    s_first, s_out, s_joint = feature_information_terms(
        _unit_rows(first, "first-layer outputs"), _unit_rows(out, "network outputs"), alpha)
    return s_first + s_out - s_joint, s_out


def batch_spectra(first: torch.Tensor, out: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The trace-normalised spectra of K_first, K_out and K_first ∘ K_out of one batch (unit-norm rows),
    from which :func:`~grokutils.metrics.spectral.renyi_from_spectrum` gives every order α at the cost of one
    decomposition each (the same cut-offs as :func:`_batch_signals`; Part II's α ablation)."""
    return feature_information_spectra(_unit_rows(first, "first-layer outputs"), _unit_rows(out, "network outputs"))


@torch.no_grad()
def matrix_information_signals(model, x: torch.Tensor, sigma: float, alpha: float = 1.0,
                               batch_size: int = BATCH_SIZE,
                               generator: torch.Generator | None = None) -> dict[str, float]:
    """PMI, PE, MI, entropy, MID and ED of Tan & Huang (2023), Figures 8–11; book Part II.

    "Grokking through a robustness viewpoint", matrix information signals. Per batch of
    ``batch_size`` consecutive rows of ``x`` (a final batch of fewer than 2 rows is dropped),
    the first-layer outputs (``model.first_layer``) and network outputs are L2-normalised row
    by row and turned into Gram matrices K = Z Zᵀ (unit diagonal); then

    * ``pmi`` = I_α(K_first; K_out) and ``pe`` = H_α(K_out) on the perturbed inputs
      (ε ~ N(0, σ² I) drawn once from ``generator``, on images or token embeddings),
    * ``mi`` and ``entropy``: the same on the unperturbed inputs,
    * ``mid`` = pmi − mi and ``ed`` = pe − entropy,

    each averaged over batches, with the matrix Rényi entropy and mutual information of order
    ``alpha`` (:func:`~grokutils.metrics.spectral.feature_information_terms`, equal to
    :func:`~grokutils.metrics.spectral.matrix_mutual_information` of the Grams). Rows are
    divided by their norm clamped at the smallest normal float64, so a zero row stays a zero
    row and column of K (one zero eigenvalue) rather than NaN; a batch whose rows are all zero
    raises ``ValueError``. σ = 0 gives mid = ed = 0.0 exactly. PMI
    and PE are invariant to positive rescaling of either representation's rows.
    ``sigma`` finite and ≥ 0, ``alpha`` finite and > 0, ``batch_size`` an integer ≥ 2.
    """
    sigma = _check_sigma(sigma)
    alpha = _check_alpha(alpha)
    batch_size = _check_count(batch_size, "batch_size", 2)
    z, f, g = _input_space(model, x)
    if g is None:
        raise ValueError(f"{type(model).__name__} has no first_layer (first_layer_from_embeddings for tokens); "
                         "PMI needs the first-layer representation.")
    if z.shape[0] < 2:
        raise ValueError(f"matrix_information_signals needs at least 2 inputs, got {z.shape[0]}.")
    noisy = _add_noise(z, sigma, generator)
    per_batch = {"pmi": [], "pe": [], "mi": [], "entropy": []}
    for inputs, (mi_key, h_key) in ((noisy, ("pmi", "pe")), (z, ("mi", "entropy"))):
        first, out = _outputs(g, inputs, "first-layer outputs"), _outputs(f, inputs, "network outputs")
        for rows in torch.arange(z.shape[0]).split(batch_size):
            if len(rows) < 2:
                continue
            mi, h = _batch_signals(first[rows], out[rows], alpha)
            per_batch[mi_key].append(mi)
            per_batch[h_key].append(h)
    signals = {key: math.fsum(values) / len(values) for key, values in per_batch.items()}
    signals["mid"] = signals["pmi"] - signals["mi"]
    signals["ed"] = signals["pe"] - signals["entropy"]
    return signals


# --------------------------------------------------------------------------- abelian test


def swapped_pairs(tokens: torch.Tensor) -> torch.Tensor:
    """``tokens`` with columns 0 and 1 (a and b) exchanged: the inputs f(b, a) of the abelian test and of the
    abelian regulariser (Tan & Huang 2023, Figures 5-7; book Part II). ValueError unless token pairs."""
    if not isinstance(tokens, torch.Tensor) or tokens.ndim != 2 or tokens.shape[1] < 2 \
            or tokens.is_floating_point() or tokens.is_complex() or tokens.shape[0] == 0:
        described = f"dtype {tokens.dtype}, shape {tuple(tokens.shape)}" if isinstance(tokens, torch.Tensor) \
            else type(tokens).__name__
        raise ValueError("the abelian test needs integer token pairs of shape (N, >= 2) with N >= 1 "
                         f"(columns a, b, ...), got {described}.")
    return tokens[:, [1, 0, *range(2, tokens.shape[1])]]


def _logits_both_ways(model, tokens: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    swapped = swapped_pairs(tokens)
    return _outputs(model, tokens, "logits f(a, b)"), _outputs(model, swapped, "logits f(b, a)")


def _agreement(ab: torch.Tensor, ba: torch.Tensor) -> float:
    return float((ab.argmax(1) == ba.argmax(1)).double().mean())


def _distance(ab: torch.Tensor, ba: torch.Tensor) -> float:
    return float((ab - ba).norm(dim=1).mean())


@torch.no_grad()
def abelian_agreement(model, tokens: torch.Tensor) -> float:
    """Abelian test: fraction of pairs with argmax f(a, b) = argmax f(b, a).

    Tan & Huang (2023), "Grokking through a robustness viewpoint", Figure 5; book Part II.
    ``tokens`` are integer rows (a, b, ...) such as ``(a, b, '=')``; the swapped input
    exchanges columns 0 and 1. 1.0 for a model that is symmetric in a and b.
    """
    return _agreement(*_logits_both_ways(model, tokens))


@torch.no_grad()
def logit_distance(model, tokens: torch.Tensor) -> float:
    """Logit distance: mean over pairs of ‖f(a, b) − f(b, a)‖₂.

    Tan & Huang (2023), "Grokking through a robustness viewpoint", Figure 7; book Part II.
    Same inputs as :func:`abelian_agreement`; 0.0 for a model symmetric in a and b.
    """
    return _distance(*_logits_both_ways(model, tokens))


def swap_seen(train_tokens: torch.Tensor, test_tokens: torch.Tensor) -> torch.Tensor:
    """Boolean mask over ``test_tokens``: True where the swapped pair (b, a, ...) is a training input (Part II).

    A network that memorises its training pairs as a lookup table and is commutative on them answers these
    test pairs without generalising, so they split the test accuracy of the abelian test (Figure 5; about 30 %
    of test pairs at a 30 % split, fewer where a = b)."""
    swapped = swapped_pairs(test_tokens)
    train = {tuple(row) for row in train_tokens.tolist()}
    return torch.tensor([tuple(row) in train for row in swapped.tolist()], dtype=torch.bool)


@torch.no_grad()
def swap_split_accuracy(model, train_tokens: torch.Tensor, test_tokens: torch.Tensor,
                        test_labels: torch.Tensor) -> tuple[float, float]:
    """Test accuracy on the test pairs whose swap was trained on, and on the others (NaN for an empty group).

    :func:`swap_seen` splits the pairs; the two numbers show how much of the test accuracy a commutative
    lookup table already explains (Part II, beside Figure 5)."""
    seen = swap_seen(train_tokens, test_tokens)
    predicted = _outputs(model, test_tokens, "logits f(a, b)").argmax(1).cpu()
    correct = (predicted == test_labels.cpu()).double()
    return tuple(float(correct[group].mean()) if bool(group.any()) else math.nan for group in (seen, ~seen))


def commutativity_penalty(model, tokens: torch.Tensor) -> torch.Tensor:
    """Abelian-degrok regulariser MSE(f(a, b), f(b, a)) as a differentiable scalar tensor.

    Tan & Huang (2023), "Grokking through a robustness viewpoint", Figure 6; book Part II:
    the training loss becomes loss + c · penalty with c = :data:`DEGROK_WEIGHT` = 100. The
    mean over pairs and classes of the squared logit difference; gradients flow through both
    orders. 0 for a model symmetric in a and b.
    """
    swapped = swapped_pairs(tokens)
    return F.mse_loss(model(tokens), model(swapped))


# --------------------------------------------------------------------------- callback


@torch.no_grad()
def robustness_metrics(context) -> dict:
    """Training-loop callback: Part II's robustness signals (Tan & Huang 2023).

    "Grokking through a robustness viewpoint", book Part II. On :data:`PROBE_SIZE` training
    samples (a fixed seeded subset), with σ = :data:`SIGMA_IMAGE` for images or :data:`SIGMA_EMBEDDING` for
    token embeddings and the same noise at every step (seed :data:`NOISE_SEED`, one draw,
    shared by both calls), records ``perturbation_error`` (Figure 2 a,b) and ``pmi``, ``pe``,
    ``mid``, ``ed`` (α = 1, batches of 200; Figures 8–11). For commutative tasks
    (:data:`COMMUTATIVE_TASKS`) also ``abelian_train`` and ``abelian_test`` (Figure 5) and
    ``logit_distance_train`` (Figure 7) on the full splits, and the test accuracy split by whether each test
    pair's swap is a training pair, ``test_acc_swap_seen`` and ``test_acc_swap_unseen``
    (:func:`swap_split_accuracy`).
    """
    model, data, config = context.model, context.data, context.config
    x = data.x_train[probe_indices(len(data.x_train), PROBE_SIZE, PROBE_SEED).to(data.x_train.device)]
    sigma = SIGMA_IMAGE if x.is_floating_point() else SIGMA_EMBEDDING

    def noise() -> torch.Generator:
        return torch.Generator().manual_seed(NOISE_SEED)

    row = {"perturbation_error": perturbation_error(model, x, sigma, generator=noise())}
    signals = matrix_information_signals(model, x, sigma, generator=noise())
    row.update({key: signals[key] for key in ("pmi", "pe", "mid", "ed")})
    if config.task in COMMUTATIVE_TASKS:
        train_logits = _logits_both_ways(model, data.x_train)  # one forward pass for both train values
        row["abelian_train"] = _agreement(*train_logits)
        row["abelian_test"] = abelian_agreement(model, data.x_test)
        row["logit_distance_train"] = _distance(*train_logits)
        row["test_acc_swap_seen"], row["test_acc_swap_unseen"] = swap_split_accuracy(
            model, data.x_train, data.x_test, data.y_test)
    return row
