"""Part IV's runs: which stored runs each page reads (trained first where missing, except in a book build)."""

from __future__ import annotations

from grokutils import presets
from grokutils.grokking import generalises_late
from grokutils.group_training import settled_groups
from grokutils.result import Result
from grokutils.runs import ResultStore, run_groups, store_for


def _arms(preset, profile: str, store: ResultStore | None, progress: bool) -> dict:
    """Every arm of ``preset(profile)`` (``{arm: [config, ...]}``), loaded or trained in Part IV's sweep groups."""
    return {arm: run_groups(configs, store or store_for(profile), progress, presets.SWEEP_SIZES["p4"])
            for arm, configs in preset(profile).items()}


def load_candidates(profile: str, store: ResultStore | None = None,
                    progress: bool = True) -> dict[tuple[float, float], list[Result]]:
    """Figure 1: the candidate settings of :func:`grokutils.presets.flatness_candidates`, keyed (lr, frac), in
    order up to the one the rule chooses (:func:`grokutils.group_training.settled_groups` with
    :func:`grokutils.presets.candidate_settled`): those after it are not trained."""
    store, chapter = store or store_for(profile), presets.FLATNESS_CANDIDATES_CHAPTER
    configs = [config for group in presets.flatness_candidates(profile).values() for config in group]
    loaded: dict[tuple[float, float], list[Result]] = {}
    for group, settled in settled_groups(chapter, configs, store):
        if settled:
            break
        for config, result in zip(group, run_groups(group, store, progress, presets.sweep_size(chapter))):
            loaded.setdefault((config.lr, config.frac_train), []).append(result)
    return loaded


def chosen_runs(candidates: dict[tuple[float, float], list[Result]]) -> tuple[tuple[float, float] | None, list[Result]]:
    """The candidate :func:`grokutils.presets.chosen_candidate` picks and its runs; with none chosen (quick,
    smoke, or no candidate in which every seed groks), the first candidate's runs."""
    chosen = presets.chosen_candidate({c: [generalises_late(r) for r in runs] for c, runs in candidates.items()})
    return chosen, candidates[chosen if chosen is not None else next(iter(candidates))]


def load_ncc_regulariser(profile: str, store: ResultStore | None = None,
                         progress: bool = True) -> dict[str, list[Result]]:
    """Section 5 on MNIST: the baseline and every λ of :func:`grokutils.presets.ncc_regulariser_runs`."""
    return _arms(presets.ncc_regulariser_runs, profile, store, progress)


def load_flatness_regulariser(profile: str, store: ResultStore | None = None,
                              progress: bool = True) -> dict[str, list[Result]]:
    """Section 6 on MNIST: the baseline and the unplugged flatness regulariser
    (:func:`grokutils.presets.flatness_regulariser_runs`)."""
    return _arms(presets.flatness_regulariser_runs, profile, store, progress)


def load_modular_ncc(profile: str, store: ResultStore | None = None,
                     progress: bool = True) -> dict[str, list[Result]]:
    """Section 5 on x + y mod 97: the baseline and the NCC regulariser (:func:`grokutils.presets.modular_ncc_runs`)."""
    return _arms(presets.modular_ncc_runs, profile, store, progress)


def load_modular_flatness(profile: str, store: ResultStore | None = None,
                          progress: bool = True) -> dict[str, list[Result]]:
    """Section 6 on x + y mod 97: the baseline and the unplugged flatness regulariser
    (:func:`grokutils.presets.modular_flatness_runs`)."""
    return _arms(presets.modular_flatness_runs, profile, store, progress)


def load_collapse_probe(profile: str, store: ResultStore | None = None,
                        progress: bool = True) -> dict[str, dict[str, list[Result]]]:
    """Exploratory: Section 5's baseline and strongest arm on both tasks, re-run recording RNC1 and wᵀHw
    (:func:`grokutils.presets.collapse_probe_runs`), ``{task: {arm: [result, …]}}``."""
    probes = presets.collapse_probe_runs(profile)
    return {task: _arms(lambda _, arms=arms: arms, profile, store, progress) for task, arms in probes.items()}
