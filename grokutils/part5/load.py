"""Part V's runs: the grid's stored runs (trained first where missing, except in a book build)."""

from __future__ import annotations

from grokutils import presets
from grokutils.result import Result
from grokutils.runs import ResultStore, run_groups, store_for


def load_grid(profile: str, store: ResultStore | None = None,
              progress: bool = True) -> dict[str, dict[str, list[Result]]]:
    """``{task: {"grokking": [...], "control": [...]}}`` (:func:`grokutils.presets.signal_grid`)."""
    store = store or store_for(profile)
    return {task: {arm: run_groups(configs, store, progress, presets.SWEEP_SIZES["p5"])
                   for arm, configs in arms.items()}
            for task, arms in presets.signal_grid(profile).items()}
