"""Every signal of grokking that the four papers champion, as one registry of indicators (Part V).

Part V measures all the rivals' signals on the same runs. An :class:`Indicator` is a small object: a
name, a one-line description citing the Part (and paper) that champions it, what it needs, and a function
``(model, probe) -> float`` (or a dict of floats) that calls the book's own metric function, never a
re-implementation:

==========================  =====================================================================  ========
indicator                   metric function                                                        Part
==========================  =====================================================================  ========
``weight_norm``             :func:`grokutils.metrics.basic.weight_norm`                            II (III)
``rnc1``, ``nc1``, ``nc2``  :func:`~grokutils.metrics.collapse.rnc1`, ``nc1``, ``nc2``             I
``ncc``, ``ncc_mean``       :func:`~grokutils.metrics.collapse.ncc`, ``ncc_mean``                  IV
``spectral_entropy``,       :func:`~grokutils.metrics.spectral.spectral_entropy`,                  III
``effective_rank``          ``effective_rank``
``relative_flatness``       :func:`~grokutils.metrics.flatness.relative_flatness_closed_form`      IV
``flatness_bound``          :func:`~grokutils.metrics.flatness.flatness_bound`                     IV
``sharpness``               :func:`~grokutils.metrics.flatness.hutchinson_trace` of the loss       II
``perturbation_error``      :func:`~grokutils.metrics.robustness.perturbation_error`               II
``matrix_information``      :func:`~grokutils.metrics.robustness.matrix_information_signals`       II
                            (values ``pmi``, ``pe``, ``mid``, ``ed``)
``nhsic``                   :func:`~grokutils.metrics.information.nhsic`                           I
                            (``nhsic_zx``, ``nhsic_zy``, ``nhsic_redundancy``)
``compression_mi``          :func:`~grokutils.metrics.information.compression_mutual_information`  I
                            (``mi_zx``, ``mi_zy``, ``mi_redundancy``)
``fourier_alignment``       :func:`~grokutils.metrics.fourier.mean_fourier_alignment`              III
``abelian_agreement``       :func:`~grokutils.metrics.robustness.abelian_agreement`                II
==========================  =====================================================================  ========

The probe (:class:`Probe`) is one fixed batch of inputs with labels, the same for every indicator and
every evaluation; settings that the book's callbacks fix (noise σ and seeds, Hutchinson's vectors, the
nHSIC batches, Theorem 3.4's noise) are taken from those callbacks' modules, so that on the same probe an
indicator gives the callback's number. An indicator that does not apply to a model, probe or task (Fourier
alignment on MNIST, the abelian test on a non-commutative task, nHSIC on tokens) says why through
:meth:`Indicator.not_applicable` instead of raising. Each call can be timed (:meth:`Indicator.timed`,
``time.perf_counter``): the cost of one evaluation of that indicator alone, its own forward passes included.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace

import torch
import torch.nn.functional as F
from torch import nn

from grokutils.config import COMMUTATIVE_TASKS
from grokutils.metrics import collapse, flatness, information, robustness, sharpness, spectral
from grokutils.metrics.autoencoder import load_or_train_encoder
from grokutils.metrics.basic import weight_norm
from grokutils.metrics.fourier import MODULAR_TASKS, mean_fourier_alignment

__all__ = ["INDICATORS", "REQUIREMENTS", "Indicator", "Probe", "autoencoder_codes", "features", "select"]

_CHUNK = 8192  # rows per forward pass, as the book's callbacks


# --------------------------------------------------------------------------- probe


@dataclass(eq=False)
class Probe:
    """The fixed batch every indicator is measured on (Part V: one probe for all signals).

    ``x``: inputs, images ``(N, C, H, W)`` (any floating tensor) or integer token rows ``(N, T)``;
    ``y``: integer labels ``(N,)``. ``task``: the task name (``'add'``, ``'mnist'``, ...), which decides
    whether Fourier alignment (modular tasks) and the abelian test (commutative tasks) apply; ``p``: the
    modulus of a modular task (default: the model's number of classes, which is p for those tasks).
    ``loss_fn(logits, labels)``: the scalar training loss whose Hessian trace is the sharpness (default the
    mean cross-entropy; pass the run's objective with ``reduction='mean'``, as Part II's callback does).
    ``codes``: autoencoder codes ``(N, k)`` of ``x`` for the compression MI (:func:`autoencoder_codes`).
    Quantities of the probe alone (nHSIC's X and Y kernels) are computed once and kept.
    """

    x: torch.Tensor
    y: torch.Tensor
    task: str | None = None
    p: int | None = None
    loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] | None = None
    codes: torch.Tensor | None = None
    _cache: dict = field(default_factory=dict, repr=False)

    def __post_init__(self):
        if not isinstance(self.x, torch.Tensor) or self.x.ndim < 2 or self.x.shape[0] < 2:
            shape = tuple(self.x.shape) if isinstance(self.x, torch.Tensor) else type(self.x).__name__
            raise ValueError(f"probe x must be a batch tensor (N, ...) with N >= 2, got {shape}.")
        if not isinstance(self.y, torch.Tensor) or self.y.ndim != 1 or self.y.shape[0] != self.x.shape[0] \
                or self.y.is_floating_point() or self.y.is_complex():
            shape = (str(self.y.dtype), tuple(self.y.shape)) if isinstance(self.y, torch.Tensor) \
                else type(self.y).__name__
            raise ValueError(f"probe y must be integer labels of shape ({self.x.shape[0]},), got {shape}.")
        if self.codes is not None and (not isinstance(self.codes, torch.Tensor) or self.codes.ndim != 2
                                       or self.codes.shape[0] != self.x.shape[0]):
            shape = tuple(self.codes.shape) if isinstance(self.codes, torch.Tensor) else type(self.codes).__name__
            raise ValueError(f"probe codes must be an ({self.x.shape[0]}, k) tensor (one code per input), "
                             f"got {shape}.")
        if self.p is not None and (isinstance(self.p, bool) or not isinstance(self.p, int) or self.p < 3):
            raise ValueError(f"probe p must be an integer modulus >= 3 or None, got {self.p!r}.")
        if self.loss_fn is not None and not callable(self.loss_fn):
            raise ValueError(f"probe loss_fn must be callable (logits, labels) -> loss, got {self.loss_fn!r}.")

    @property
    def tokens(self) -> bool:
        """Whether the inputs are integer tokens (else continuous inputs such as images)."""
        return not (self.x.is_floating_point() or self.x.is_complex())

    def loss(self, logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """The probe's training loss (``loss_fn``, default the mean cross-entropy)."""
        return (self.loss_fn or F.cross_entropy)(logits, labels)

    def to(self, device) -> Probe:
        """The same probe with ``x`` and ``y`` on ``device`` (codes and the kept kernels stay where they are)."""
        if self.x.device == torch.device(device) and self.y.device == torch.device(device):
            return self
        return replace(self, x=self.x.to(device), y=self.y.to(device), _cache=self._cache)

    def kept(self, key: str, make: Callable[[], object]):
        """``make()`` the first time, the stored value afterwards (quantities of the probe alone)."""
        if key not in self._cache:
            self._cache[key] = make()
        return self._cache[key]


@torch.no_grad()
def autoencoder_codes(x: torch.Tensor, images: torch.Tensor | None = None,
                      settings: information.AutoencoderSettings = information.AUTOENCODER_SETTINGS) -> torch.Tensor:
    """Codes of the probe images ``x`` by the autoencoder that compresses X for Part I's compression MI
    (Sato & Sakamoto 2025, Figure 4a; :func:`grokutils.metrics.autoencoder.load_or_train_encoder`, trained on
    ``images`` (default ``x``) once and cached on disk). Part I's callback trains it on the train and test
    images together; pass those as ``images`` to get its encoder. Images of side >= 15 only."""
    encoder = load_or_train_encoder((x if images is None else images).detach().cpu(), settings)
    return encoder.encode(x.detach().cpu().float())


# --------------------------------------------------------------------------- what an indicator needs


def _has_features(model, probe):
    return None if callable(getattr(model, "features", None)) else \
        f"{type(model).__name__} has no features(x) (the penultimate representation)"


def _has_two_classes(model, probe):
    classes = int(torch.unique(probe.y).numel())
    return None if classes >= 2 else f"the probe holds {classes} class; class statistics need 2 or more"


def _has_head(model, probe):
    return None if isinstance(getattr(model, "head", None), nn.Linear) else \
        f"{type(model).__name__} has no linear last layer .head"


def _is_perturbable(model, probe):
    if not probe.tokens or (hasattr(model, "embed") and hasattr(model, "forward_from_embeddings")):
        return None
    return f"the probe holds tokens and {type(model).__name__} has no embed / forward_from_embeddings to perturb"


def _has_first_layer(model, probe):
    name = "first_layer_from_embeddings" if probe.tokens else "first_layer"
    return None if callable(getattr(model, name, None)) else f"{type(model).__name__} has no {name}"


def _has_trainable_parameters(model, probe):
    return None if any(p.requires_grad for p in model.parameters()) else "the model has no trainable parameters"


def _has_image_batches(model, probe):
    if probe.tokens or probe.x.ndim != 4:
        return f"nHSIC's X kernel is defined on images (N, C, H, W) (Part I), the probe holds {_kind(probe)}"
    if probe.x.shape[0] < information.HSIC_BATCH:
        return f"nHSIC uses batches of {information.HSIC_BATCH} samples, the probe has {probe.x.shape[0]}"
    return None


def _has_codes(model, probe):
    if probe.codes is None:
        return "the compression MI needs autoencoder codes of the probe (Probe.codes; see autoencoder_codes)"
    fewest = int(torch.unique(probe.y, return_counts=True)[1].min())
    if fewest <= information.NUM_NEIGHBOURS:
        return f"every class needs more than {information.NUM_NEIGHBOURS} probe samples, one has {fewest}"
    return None


def _is_modular(model, probe):
    if probe.task not in MODULAR_TASKS:
        return f"Fourier alignment is defined for modular tasks {MODULAR_TASKS}, the task is {probe.task!r}"
    embed = getattr(model, "embed", None)
    if not isinstance(embed, nn.Embedding) or embed.num_embeddings < _modulus(model, probe):
        return f"{type(model).__name__} has no token embedding .embed with a row per residue"
    return None


def _is_commutative(model, probe):
    if probe.task not in COMMUTATIVE_TASKS:
        return f"the abelian test needs a commutative task {COMMUTATIVE_TASKS}, the task is {probe.task!r}"
    if not probe.tokens or probe.x.shape[1] < 2:
        return f"the abelian test swaps token pairs (a, b), the probe holds {_kind(probe)}"
    return None


def _kind(probe) -> str:
    return f"{'tokens' if probe.tokens else 'inputs'} of shape {tuple(probe.x.shape)}"


#: What an indicator may need, each with the check that says why it is missing (None: present).
REQUIREMENTS: dict[str, Callable[[nn.Module, Probe], str | None]] = {
    "features": _has_features,            # model.features(x), the penultimate representation
    "labels": _has_two_classes,           # probe labels with at least two classes
    "head": _has_head,                    # model.head, the last (linear) layer
    "perturbable": _is_perturbable,       # inputs (or token embeddings) that noise can be added to
    "first_layer": _has_first_layer,      # the first-layer representation (Part II's PMI)
    "loss": _has_trainable_parameters,    # a loss whose Hessian is taken over the trainable parameters
    "images": _has_image_batches,         # image inputs, at least one nHSIC batch of them
    "codes": _has_codes,                  # autoencoder codes of the probe inputs
    "modular_task": _is_modular,          # a modular task and its token embedding
    "commutative_task": _is_commutative,  # a commutative task on token pairs
}


# --------------------------------------------------------------------------- indicator


@dataclass(frozen=True)
class Indicator:
    """One signal of grokking (Part V): ``compute(model, probe)`` returns a float (recorded under ``name``)
    or a dict of floats (recorded under ``keys``). ``needs``: names in :data:`REQUIREMENTS`."""

    name: str
    description: str
    needs: tuple[str, ...]
    compute: Callable[[nn.Module, Probe], float | dict[str, float]]
    keys: tuple[str, ...] = ()

    def __post_init__(self):
        unknown = [n for n in self.needs if n not in REQUIREMENTS]
        if unknown:
            raise ValueError(f"indicator {self.name!r} needs unknown requirements {unknown}; known: "
                             f"{sorted(REQUIREMENTS)}.")
        if not self.keys:
            object.__setattr__(self, "keys", (self.name,))

    def not_applicable(self, model: nn.Module, probe: Probe) -> str | None:
        """Why the indicator does not apply to this model, probe and task, or None when it does."""
        for need in self.needs:
            reason = REQUIREMENTS[need](model, probe)
            if reason is not None:
                return reason
        return None

    def __call__(self, model: nn.Module, probe: Probe) -> float | dict[str, float]:
        """The indicator's value (no gradient is kept; ``sharpness`` takes Hessian-vector products)."""
        with torch.no_grad():
            return self.compute(model, probe)

    def values(self, model: nn.Module, probe: Probe) -> dict[str, float]:
        """The value as a dict ``{key: float}`` over :attr:`keys`."""
        value = self(model, probe)
        if isinstance(value, dict):
            return {key: float(value[key]) for key in self.keys}
        return {self.name: float(value)}

    def timed(self, model: nn.Module, probe: Probe) -> tuple[dict[str, float], float]:
        """(:meth:`values`, seconds it took by ``time.perf_counter``): the cost of one evaluation."""
        tick = time.perf_counter()
        out = self.values(model, probe)
        return out, time.perf_counter() - tick


# --------------------------------------------------------------------------- the metric calls


def features(model: nn.Module, probe: Probe) -> torch.Tensor:
    """``model.features`` of the probe, float64, in chunks of 8,192 rows as the book's callbacks."""
    return torch.cat([model.features(chunk) for chunk in probe.x.split(_CHUNK)]).double()


def _on_features(metric: Callable) -> Callable[[nn.Module, Probe], float]:
    def compute(model, probe):
        return metric(features(model, probe), probe.y)
    return compute


def _spectral(metric: Callable) -> Callable[[nn.Module, Probe], float]:
    def compute(model, probe):
        return metric(features(model, probe))
    return compute


def _last_layer(metric: Callable) -> Callable[[nn.Module, Probe], float]:
    def compute(model, probe):
        return metric(features(model, probe), probe.y, model.head.weight, model.head.bias)
    return compute


def _sharpness(model, probe) -> float:
    """Part II's callback (:func:`grokutils.metrics.sharpness.sharpness_metrics`) on the probe: Hutchinson's
    Tr ∇²_θ L with the same Rademacher vectors (seed ``SEED``, ``SAMPLES`` of them) at every evaluation."""
    parameters = [p for p in model.parameters() if p.requires_grad]
    generator = torch.Generator().manual_seed(sharpness.SEED)
    with torch.enable_grad():
        trace, _ = flatness.hutchinson_trace(lambda: probe.loss(model(probe.x), probe.y), parameters,
                                             num_samples=sharpness.SAMPLES, generator=generator)
    return trace


def _sigma(probe) -> float:
    return robustness.SIGMA_EMBEDDING if probe.tokens else robustness.SIGMA_IMAGE


def _noise() -> torch.Generator:
    return torch.Generator().manual_seed(robustness.NOISE_SEED)


def _perturbation_error(model, probe) -> float:
    return robustness.perturbation_error(model, probe.x, _sigma(probe), generator=_noise())


def _matrix_information(model, probe) -> dict[str, float]:
    return robustness.matrix_information_signals(model, probe.x, _sigma(probe), generator=_noise())


def _hsic_constants(probe) -> dict:
    """nHSIC's batches and the X and Y kernels of Part I's callback, for this probe."""
    batches = information._batches(probe.x.shape[0], information.HSIC_BATCH)
    x, one_hot = probe.x.detach().cpu(), F.one_hot(probe.y.detach().cpu()).double()
    return {"batches": batches, "x": [information.gaussian_kernel(x[b]) for b in batches],
            "y": [one_hot[b] @ one_hot[b].T for b in batches]}


def _nhsic(model, probe) -> dict[str, float]:
    """Part I's callback (:func:`grokutils.metrics.information.information_metrics`): nHSIC of the raw
    features with X and with Y, in batches of ``HSIC_BATCH``, and their difference."""
    constants = probe.kept("nhsic", lambda: _hsic_constants(probe))
    h = features(model, probe).cpu()
    kernels = [information.gaussian_kernel(h[b]) for b in constants["batches"]]
    zx = information._batched_nhsic(kernels, constants["x"], information.HSIC_EPS)
    zy = information._batched_nhsic(kernels, constants["y"], information.HSIC_EPS)
    return {"nhsic_zx": zx, "nhsic_zy": zy, "nhsic_redundancy": zx - zy}


def _compression_mi(model, probe) -> dict[str, float]:
    """Part I's callback: the compression MI of Z = h/s + ε (Theorem 3.4's Z, ε fixed: seed ``NOISE_SEED``,
    σ = ``NOISE_STD``) with the autoencoder codes of X and with Y, and the redundancy I(Z;X) − I(Z;Y)."""
    rescaled = information._rescaled(features(model, probe).cpu())
    generator = torch.Generator().manual_seed(information.NOISE_SEED)
    noise = torch.randn(rescaled.shape, generator=generator, dtype=torch.float64)
    mi = information.compression_mutual_information(rescaled + information.NOISE_STD * noise, probe.codes,
                                                     probe.y.detach().cpu())
    return {"mi_zx": mi["mi_zx"], "mi_zy": mi["mi_zy"], "mi_redundancy": mi["redundancy"]}


def _modulus(model, probe) -> int:
    return probe.p if probe.p is not None else int(model.head.out_features)


def _fourier_alignment(model, probe) -> float:
    return mean_fourier_alignment(model.embed.weight, _modulus(model, probe))


def _abelian(model, probe) -> float:
    return robustness.abelian_agreement(model, probe.x)


_FEATURES = ("features", "labels")

#: Every indicator of Part V, in the order of its specification.
INDICATORS: dict[str, Indicator] = {i.name: i for i in (
    Indicator("weight_norm", "Parameter norm ‖θ‖ (Part II, Tan & Huang 2023, Figure 1, after Liu et al.'s "
              "Omnigrok; Part III: the norm is not the driver).", (), lambda model, probe: weight_norm(model)),
    Indicator("rnc1", "Rescaled within-class variance of h(x) (Part I, Sato & Sakamoto 2025: collapse drives "
              "generalisation).", _FEATURES, _on_features(collapse.rnc1)),
    Indicator("nc1", "Neural-collapse NC1 = tr Σ_W / tr Σ_B (Part I, Sato & Sakamoto 2025).", _FEATURES,
              _on_features(collapse.nc1)),
    Indicator("nc2", "Neural-collapse NC2, condition number of the class-mean matrix (Part I, Sato & Sakamoto "
              "2025).", _FEATURES, _on_features(collapse.nc2)),
    Indicator("ncc", "Class-distance normalised variance summed over class pairs, Definition 3.1 (Part IV, Han "
              "et al. 2025: collapse is not necessary).", _FEATURES, _on_features(collapse.ncc)),
    Indicator("ncc_mean", "Class-distance normalised variance, the authors' averaged form (Part IV, Han et al. "
              "2025).", _FEATURES, _on_features(collapse.ncc_mean)),
    Indicator("spectral_entropy", "Normalised spectral entropy H̃ of the feature covariance (Part III, "
              "'Spectral Entropy Collapse...', 2026).", ("features",), _spectral(spectral.spectral_entropy)),
    Indicator("effective_rank", "Effective rank exp(H̃ log d) of the feature covariance (Part III, 'Spectral "
              "Entropy Collapse...', 2026).", ("features",), _spectral(spectral.effective_rank)),
    Indicator("relative_flatness", "Relative flatness κ of the last layer, closed form (Part IV, Han et al. "
              "2025 after Petzka et al. 2021: flatness is necessary).", (*_FEATURES, "head"),
              _last_layer(flatness.relative_flatness_closed_form)),
    Indicator("flatness_bound", "‖W‖²_F · Tr H, the upper bound on κ (Part IV, Han et al. 2025, Lemma A.2).",
              (*_FEATURES, "head"), _last_layer(flatness.flatness_bound)),
    Indicator("sharpness", "Hutchinson's trace of the loss Hessian over all parameters (Part II, Tan & Huang "
              "2023, Figure 2 c-d).", ("loss",), _sharpness),
    Indicator("perturbation_error", "E‖f(x + ε) − f(x)‖² under input noise (Part II, Tan & Huang 2023, "
              "Figure 2 a-b).", ("perturbable",), _perturbation_error),
    Indicator("matrix_information", "PMI, PE, MID, ED of first-layer and output Grams (Part II, Tan & Huang "
              "2023, Figures 8-11).", ("perturbable", "first_layer"), _matrix_information,
              ("pmi", "pe", "mid", "ed")),
    Indicator("nhsic", "Normalised HSIC of h(x) with X and Y and their difference (Part I, Sato & Sakamoto "
              "2025, Figure 4b).", (*_FEATURES, "images"), _nhsic, ("nhsic_zx", "nhsic_zy", "nhsic_redundancy")),
    Indicator("compression_mi", "Compression MI I(Z;X), I(Z;Y) and the redundancy I(Z;X) − I(Z;Y) (Part I, "
              "Sato & Sakamoto 2025, Figure 4a).", (*_FEATURES, "codes"), _compression_mi,
              ("mi_zx", "mi_zy", "mi_redundancy")),
    Indicator("fourier_alignment", "Mean Fourier alignment of the token embedding (Part III, claim 7, "
              "'Spectral Entropy Collapse...', 2026; Nanda et al. 2023).", ("modular_task",), _fourier_alignment),
    Indicator("abelian_agreement", "Fraction of pairs with argmax f(a, b) = argmax f(b, a) (Part II, Tan & "
              "Huang 2023, Figure 5).", ("commutative_task",), _abelian),
)}


def select(indicators: Iterable[str | Indicator] | None = None) -> list[Indicator]:
    """Indicators by name (or given as :class:`Indicator` objects); None: every one of :data:`INDICATORS`.
    Names must be distinct, and so must the keys they record."""
    if indicators is None:
        return list(INDICATORS.values())
    if isinstance(indicators, (str, Indicator)):
        indicators = [indicators]
    chosen = []
    for item in indicators:
        if isinstance(item, Indicator):
            chosen.append(item)
        elif item in INDICATORS:
            chosen.append(INDICATORS[item])
        else:
            raise ValueError(f"unknown indicator {item!r}; known: {list(INDICATORS)}.")
    keys = [key for indicator in chosen for key in indicator.keys]
    if len(set(keys)) != len(keys) or len({i.name for i in chosen}) != len(chosen):
        raise ValueError(f"indicators must be distinct and record distinct values, got {[i.name for i in chosen]}.")
    return chosen
