"""Part III's runs: which stored runs each page reads (trained first where missing, except
in a book build), and the stored representations the lemmas page checks."""

from __future__ import annotations

from typing import TYPE_CHECKING

from grokutils import presets, probes
from grokutils.result import Result
from grokutils.runs import ResultStore, run_groups, store_for

if TYPE_CHECKING:
    import torch


def _load(configs, profile: str, store: ResultStore | None, progress: bool) -> list[Result]:
    return run_groups(configs, store or store_for(profile), progress, presets.SWEEP_SIZES["p3"])


def load_main(profile: str, store: ResultStore | None = None, progress: bool = True) -> list[Result]:
    """x + y mod 97 over seeds (:func:`grokutils.presets.spectral_main`): claims 1, 2, 4, 5, 8."""
    return _load(presets.spectral_main(profile), profile, store, progress)


def load_intervention(profile: str, store: ResultStore | None = None,
                      progress: bool = True) -> dict[str, list[Result]]:
    """Claim 3: ``{"baseline", "mixing", "norm-matched"}`` runs on the same seeds."""
    arms = presets.spectral_intervention(profile)
    results = {"baseline": load_main(profile, store, progress)}
    for name, configs in arms.items():
        results[name] = _load(configs, profile, store, progress)
    return results


def load_mixing_strong(profile: str, store: ResultStore | None = None, progress: bool = True) -> list[Result]:
    """Claim 3, exploratory: the stronger mixing of :func:`grokutils.presets.spectral_mixing_strong`."""
    return _load(presets.spectral_mixing_strong(profile), profile, store, progress)


def load_s5_larger_split(profile: str, store: ResultStore | None = None, progress: bool = True) -> list[Result]:
    """Claim 6, exploratory: S5 with a larger training split (:func:`grokutils.presets.spectral_s5_larger_split`)."""
    return _load(presets.spectral_s5_larger_split(profile), profile, store, progress)


def load_tasks(profile: str, store: ResultStore | None = None, progress: bool = True) -> dict[str, list[Result]]:
    """Claim 6 (Table 3): ``{"add", "sub", "mul", "s5"}`` runs (``add`` is :func:`load_main`)."""
    results = {"add": load_main(profile, store, progress)}
    for task, configs in presets.spectral_tasks(profile).items():
        results[task] = _load(configs, profile, store, progress)
    return results


def load_controls(profile: str, store: ResultStore | None = None, progress: bool = True) -> list[Result]:
    """Runs that never grok, the controls of claims 1 and 2 (does a signal fire without grokking?): the S5
    runs of Table 3 (:func:`grokutils.presets.spectral_tasks`) that do not reach the threshold. The chapter
    page takes the same runs from its tasks, so every page shows the same verdicts."""
    return [r for r in _load(presets.spectral_tasks(profile)["s5"], profile, store, progress) if r.t_grok is None]


def load_mlp(profile: str, store: ResultStore | None = None, progress: bool = True) -> list[Result]:
    """Claim 7: the MLP on x + y mod 97 (:func:`grokutils.presets.spectral_mlp`)."""
    return _load(presets.spectral_mlp(profile), profile, store, progress)


def load_lemma_representations(profile: str, store: ResultStore | None = None,
                               progress: bool = True) -> dict[int, torch.Tensor]:
    """The train-probe representations the lemmas page checks (:func:`grokutils.presets.spectral_lemmas`
    at :func:`grokutils.presets.lemmas_steps`), stored or trained and stored (:mod:`grokutils.probes`)."""
    config = presets.spectral_lemmas(profile)
    return probes.load_or_probe(config, presets.lemmas_steps(config), store or store_for(profile), progress)


def load_mixing_doses(profile: str, store: ResultStore | None = None,
                      progress: bool = True) -> dict[float, list[Result]]:
    """Claim 3, exploratory: the mixing arm at every α of :func:`grokutils.presets.spectral_mixing_doses`."""
    return {alpha: _load(configs, profile, store, progress)
            for alpha, configs in presets.spectral_mixing_doses(profile).items()}


def load_s5_fractions(profile: str, store: ResultStore | None = None,
                      progress: bool = True) -> dict[float, list[Result]]:
    """Claim 6, exploratory: S5 at the train fractions of :func:`grokutils.presets.spectral_s5_fractions`."""
    return {frac: _load(configs, profile, store, progress)
            for frac, configs in presets.spectral_s5_fractions(profile).items()}


def load_calibration(profile: str, store: ResultStore | None = None,
                     progress: bool = True) -> dict[tuple[float, float, str], list[Result]]:
    """Exploratory calibration: every procedure of :func:`grokutils.presets.spectral_calibration`,
    keyed ``(train fraction, β₂, init)``."""
    return {cell: _load(configs, profile, store, progress)
            for cell, configs in presets.spectral_calibration(profile).items()}
