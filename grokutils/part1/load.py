"""Part I's runs: which stored runs each page reads (trained first where missing, except in a
book build), grouped the way the pages compare them."""

from __future__ import annotations

from collections.abc import Iterable

from grokutils import presets
from grokutils.result import Result
from grokutils.runs import ResultStore, run, run_groups, store_for


def _load_or_train(configs, store: ResultStore, progress: bool) -> list[Result]:
    """Results of ``configs``, each loaded, or trained by the sweep engine in Part I's groups."""
    return run_groups(configs, store, progress, presets.SWEEP_SIZES["p1"])


def load_sweep(profile: str, store: ResultStore | None = None, progress: bool = True) -> dict[float, list[Result]]:
    """The weight-decay sweep of Figures 3-4 for ``profile``, loaded or trained (resumable),
    grouped by weight decay. Every Part I notebook but Theorem 4.1's reads it."""
    results = _load_or_train(presets.collapse_sweep(profile), store or store_for(profile), progress)
    return group_by_weight_decay(results)


def load_architectures(profile: str, store: ResultStore | None = None,
                       progress: bool = True) -> dict[str, Result]:
    """Appendix C's CNN and ViT runs on offline MNIST, loaded or trained."""
    store = store or store_for(profile)
    return {name: run(config, store, progress=progress)
            for name, config in presets.collapse_architectures(profile).items()}


def load_cnn_snapshots(profile: str, store: ResultStore | None = None, progress: bool = True) -> Result:
    """Appendix C, Figure 7: the CNN run that records representation snapshots
    (:func:`grokutils.presets.collapse_cnn_snapshots`)."""
    return run(presets.collapse_cnn_snapshots(profile), store or store_for(profile), progress=progress)


def load_vit_sweep(profile: str, store: ResultStore | None = None, progress: bool = True) -> list[Result]:
    """Appendix C, Figure 8: every ViT run, :func:`load_architectures`' and those of
    :func:`grokutils.presets.collapse_vit_sweep`, ordered by training-set size and weight decay."""
    store = store or store_for(profile)
    configs = [presets.collapse_architectures(profile)["ViT"], *presets.collapse_vit_sweep(profile)]
    results = _load_or_train(configs, store, progress)
    return sorted(results, key=lambda r: (r.config.num_train, r.config.weight_decay))


def load_theory(profile: str, store: ResultStore | None = None, progress: bool = True) -> dict[float, list[Result]]:
    """Theorem 4.3's own small-scale setting (:func:`grokutils.presets.collapse_theory`), keyed by
    λ = weight_decay / 2, each λ's runs ordered by seed."""
    results = _load_or_train(presets.collapse_theory(profile), store or store_for(profile), progress)
    return {weight_decay / 2: runs for weight_decay, runs in group_by_weight_decay(results).items()}


def load_concentration(profile: str, store: ResultStore | None = None,
                       progress: bool = True) -> dict[int, list[Result]]:
    """The training-set-size sweep of Theorem 4.1, loaded or trained, grouped by n."""
    results = _load_or_train(presets.concentration_sweep(profile), store or store_for(profile), progress)
    groups: dict[int, list[Result]] = {}
    for result in sorted(results, key=lambda r: (r.config.num_train, r.config.seed)):
        groups.setdefault(result.config.num_train, []).append(result)
    return groups


def group_by_weight_decay(results: Iterable[Result]) -> dict[float, list[Result]]:
    """Results keyed by weight decay (ascending), each list ordered by seed."""
    groups: dict[float, list[Result]] = {}
    for result in sorted(results, key=lambda r: (r.config.weight_decay, r.config.seed)):
        groups.setdefault(result.config.weight_decay, []).append(result)
    return groups
