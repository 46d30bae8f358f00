"""Part II's runs: which stored runs each page reads (trained first where missing, except in a book build)."""

from __future__ import annotations

from grokutils import presets
from grokutils.result import Result
from grokutils.runs import ResultStore, run_groups, store_for

#: The arms of every task, in the order the pages show them.
ARMS = {"mnist": ("standard", "perturbed"), "add": ("standard", "perturbed", "abelian")}


def _load(configs, profile: str, store: ResultStore | None, progress: bool) -> list[Result]:
    return run_groups(configs, store or store_for(profile), progress, presets.SWEEP_SIZES["p2"])


def load_standard(profile: str, store: ResultStore | None = None, progress: bool = True) -> dict[str, list[Result]]:
    """Figures 1–3 and 8–13: the standard runs of both tasks, ``{"mnist": [...], "add": [...]}``
    (:func:`grokutils.presets.robustness_runs`)."""
    return {task: _load(arms["standard"], profile, store, progress)
            for task, arms in presets.robustness_runs(profile).items()}


def load_arms(profile: str, store: ResultStore | None = None,
              progress: bool = True) -> dict[str, dict[str, list[Result]]]:
    """Figures 4–7: every arm of both tasks on the same seeds, ``{task: {arm: [...]}}`` (:data:`ARMS`)."""
    return {task: {arm: _load(configs, profile, store, progress) for arm, configs in arms.items()}
            for task, arms in presets.robustness_runs(profile).items()}


def load_controls(profile: str, store: ResultStore | None = None, progress: bool = True) -> dict[str, list[Result]]:
    """The runs without weight decay (:func:`grokutils.presets.robustness_controls`), by task: the
    non-grokking controls of Figures 1, 10 and 11."""
    return {task: _load(configs, profile, store, progress)
            for task, configs in presets.robustness_controls(profile).items()}
