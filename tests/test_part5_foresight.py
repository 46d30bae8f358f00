"""Part V's exploratory checks (grokutils.part5.foresight) and Holm's adjustment, on synthetic runs whose
transitions are known by construction (the runs of tests/test_part5.py)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from grokutils import stats
from grokutils.part5 import collisions, foresight, leaderboard, paper, tables
from grokutils.result import Result
from test_part5 import END, T_FIT, grid, run

GROKS = (4_000, 6_200, 8_000, 5_000, 7_000)
AFTER = 2_000  # a grokking run stops this many steps after t_grok, as the grid's do


def stopped(result: Result, at: int) -> Result:
    """``result`` up to step ``at``, as a run that stopped there."""
    keep = sum(s <= at for s in result.steps)
    return Result(result.config, result.steps[:keep], {k: v[:keep] for k, v in result.history.items()})


def stopped_grid(control_early: int | None = None) -> dict:
    """Grokking runs that stop AFTER steps after t_grok; two controls that run to END."""
    return {"add": {"grokking": [stopped(run(i, t, early=2_000), t + AFTER) for i, t in enumerate(GROKS)],
                    "control": [run(10 + i, None, early=control_early, control=True) for i in range(2)]}}


def test_the_placebo_transitions_halfway_between_the_fit_and_the_end():
    r = run(0, 6_000)
    assert foresight.placebo_transition(r) == (T_FIT + END) // 2
    assert foresight.placebo_transition(stopped(r, 8_000)) == (T_FIT + 8_000) // 2


def test_the_placebo_beats_the_fit_only_when_runs_stop_after_grokking():
    """Runs that all end at one step: the placebo's forecast is the fit's (informative). Runs that stop a fixed
    distance after t_grok: the placebo halves the fit's error, and the check says so."""
    assert foresight.better_than_fit_is_informative(grid())
    fit = leaderboard.forecasts(stopped_grid(), paper.FIT)
    placebo = foresight.placebo_check(stopped_grid())
    assert placebo.forecasts == placebo.runs == 5 and placebo.p_better < 0.05
    assert placebo.error[0] < np.median([f.error for f in fit])
    assert not foresight.better_than_fit_is_informative(stopped_grid())
    assert "uninformative" in tables.placebo_verdict(placebo)


def test_a_forecast_before_grokking_reads_the_history_up_to_its_cut():
    """Seed 0 groks at 4,000; the other seeds' delays t_grok − t_fit are 5,200, 7,000, 4,000, 6,000 (median
    5,600): at ρ = 0.5 its cut is 3,800, at ρ = 0.75 it is 5,200, after grokking: no forecast."""
    runs = stopped_grid()["add"]["grokking"]
    first = runs[0]
    assert foresight.cut_step(first, runs, 0.5) == T_FIT + 0.5 * 5_600
    entropy_half = foresight.foresight_transition("spectral_entropy", 0.5)
    assert entropy_half(first, runs) == 3_500  # the entropy steps at t_grok − 500, before the cut
    assert foresight.foresight_transition("spectral_entropy", 0.75)(first, runs) is None
    assert foresight.foresight_transition("rnc1", 0.5)(first, runs) == 2_000
    assert foresight.foresight_transition(paper.FIT, 0.75)(first, runs) == T_FIT
    assert foresight.foresight_transition("not_recorded", 0.5)(first, runs) is None


def test_the_foresight_board_ranks_and_adjusts():
    board = foresight.foresight_board(stopped_grid(), 0.5)
    keys = [c.key for c in board]
    assert set(keys) == {paper.FIT, "rnc1", "spectral_entropy", "weight_norm", foresight.PLACEBO}
    fit = next(c for c in board if c.key == paper.FIT)
    assert fit.p_better is None and fit.p_holm is None and fit.forecasts == 5
    assert all(c.p_holm >= c.p_better for c in board if c.p_better is not None)
    errors = [c.error[0] for c in board]
    assert errors == sorted(errors, key=lambda e: math.inf if math.isnan(e) else e)
    assert "ρ = 0.5" in tables.foresight_table(stopped_grid())


def _control(seed: int, values: np.ndarray) -> Result:
    r = run(seed, None, control=True)
    return Result(r.config, r.steps, r.history | {"rnc1": values.tolist()})


def test_matched_controls_are_cut_to_the_grokking_runs_and_counted_in_their_direction():
    """The grokking runs (median length 8,000) move rnc1 up after 2,000. Controls: one moves up at 3,000 (an
    alarm either way), one at 9,500 (after the cut), one down at 3,000 (the other way)."""
    steps = np.asarray(run(0, None).steps)
    fitted = np.where(steps < T_FIT, 5.0, 0.0)
    g = stopped_grid()
    g["add"]["control"] = [_control(20, fitted + (steps >= 3_000)), _control(21, fitted + (steps >= 9_500)),
                           _control(22, fitted - (steps >= 3_000))]
    alarms = foresight.matched_false_alarms(g, "rnc1")
    assert (alarms.controls, alarms.fixed, alarms.matched_window, alarms.matched_direction) == (3, 3, 2, 1)
    fit = foresight.matched_false_alarms(g, paper.FIT)
    assert fit.fixed == fit.matched_window == fit.matched_direction == 3
    assert "| `rnc1` | I | 3/3 | 2/3 | 1/3 |" in tables.alarms_table(g, ["rnc1"])
    answers = {a.key: a for a in collisions.matched_collapse_answers(g, leaderboard.leaderboard(g))}
    assert answers["rnc1"].false_alarms == 1 and answers["rnc1"].controls == 3


def test_holm_by_hand():
    """Sorted 0.01, 0.03, 0.04 of m = 3: 0.03, 0.06, then max(0.06, 0.04) = 0.06; None stays None."""
    assert stats.holm([0.01, 0.04, 0.03, None]) == pytest.approx([0.03, 0.06, 0.06, None])
    assert stats.holm([0.5, 0.9]) == [1.0, 1.0]
    assert stats.holm([]) == [] and stats.holm([None]) == [None]
    for bad in (-0.1, 1.5, math.nan):
        with pytest.raises(ValueError, match="p-values must lie in"):
            stats.holm([0.01, bad])


@settings(max_examples=200, deadline=None)
@given(st.lists(st.floats(0, 1), min_size=1, max_size=30))
def test_holm_never_lowers_a_p_and_keeps_their_order(pvalues):
    adjusted = stats.holm(pvalues)
    assert all(raw <= adj <= 1 for raw, adj in zip(pvalues, adjusted))
    order = np.argsort(pvalues, kind="stable")
    assert all(adjusted[a] <= adjusted[b] for a, b in zip(order, order[1:]))
    # the smallest p is multiplied by m exactly (capped at 1)
    assert adjusted[order[0]] == pytest.approx(min(1.0, len(pvalues) * pvalues[order[0]]))


def test_the_lead_table_gives_each_tasks_median_lead_and_seed_spread():
    """rnc1 transitions at 2,000 in every run: leads t_grok − 2,000 = 2,000, 4,200, 6,000, 3,000, 5,000 (median
    4,200, SD 1,579.2); the spectral entropy 500 in each (SD 0); the weight norm never."""
    table = tables.lead_table(grid(), ["rnc1", "spectral_entropy", "weight_norm"])
    leads = [2_000, 4_200, 6_000, 3_000, 5_000]
    assert f"| `rnc1` | I | +4,200 (SD {np.std(leads, ddof=1):,.0f}; 5/5) |" in table
    assert "| `spectral_entropy` | III | +500 (SD 0; 5/5) |" in table
    assert "| `weight_norm` | II | — |" in table and "add: lead in steps" in table
