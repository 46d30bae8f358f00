"""Part V's stored grid: what the leaderboard and collisions pages say, checked on the stored runs.

Like tests/test_stored_part4.py, these read results/ (committed) and never train: a missing run fails them.
Every number a Part V reading states in prose is guarded here.
"""

import numpy as np
import pytest

import grokutils as gu
from grokutils.part5 import collisions, foresight, leaderboard

STORE = gu.store_for("paper")

pytestmark = pytest.mark.usefixtures("stored_only")  # read results/, never train


@pytest.fixture(scope="module")
def grid():
    return gu.part5.load_grid("paper", STORE, progress=False)


@pytest.fixture(scope="module")
def rows(grid):
    return {row.key: row for row in leaderboard.leaderboard(grid)}


def _median_position(grid, key, task):
    runs = leaderboard.grokking_runs(grid[task]["grokking"])
    return float(np.nanmedian([leaderboard.position(r, leaderboard.transition(r, key)) for r in runs]))


def test_the_leaderboard_is_what_its_page_says(grid, rows):
    """p5_leaderboard's reading, every number of it."""
    grokked = {task: len(leaderboard.grokking_runs(arms["grokking"])) for task, arms in grid.items()}
    assert grokked == {"add": 5, "sub": 3, "mul": 5, "s5": 2, "mnist": 5}
    assert all(not leaderboard.grokking_runs(arms["control"]) and len(arms["control"]) == 2 for arms in grid.values())
    assert [key for key in rows][:2] == ["nc2", "weight_norm"]

    def pct(key):
        return round(100 * rows[key].error[0])

    assert pct("nc2") == pct("weight_norm") == 3 and pct("t_fit") == 21
    assert rows["weight_norm"].better_than_fit < 2.5e-6 and rows["nc2"].better_than_fit < 2.5e-6
    assert round(rows["weight_norm"].position[0], 2) == 0.96 and round(rows["nc2"].position[0], 2) == 1.17
    alarms = {key: (rows[key].false_alarms, rows[key].controls) for key in rows}
    assert alarms["weight_norm"] == (10, 10) and alarms["nc2"] == (8, 10) and alarms["rnc1"] == (10, 10)
    assert alarms["ncc"] == alarms["nc1"] == (4, 10) and alarms["pmi"] == (10, 10)
    assert [round(rows[k].position[0], 2) for k in ("ncc", "nc1", "rnc1")] == [0.68, 0.69, 0.88]
    assert (pct("ncc"), pct("nc1"), pct("spectral_entropy"), pct("pmi")) == (6, 10, 8, 9)
    entropy = [_median_position(grid, "spectral_entropy", t) for t in ("add", "sub", "mul", "s5", "mnist")]
    assert round(min(entropy[:4]), 2) == 0.91 and round(max(entropy[:4]), 2) == 0.95 and round(entropy[4], 2) == 0.18
    assert alarms["spectral_entropy"] == (8, 10) and round(rows["pmi"].position[0], 2) == 0.60
    assert [round(rows[k].better_than_fit, 2) for k in ("pe", "perturbation_error", "sharpness")] == [0.96, 0.94, 0.39]
    for key in ("relative_flatness", "flatness_bound"):
        assert round(rows[key].position[0], 2) == 0.08 and alarms[key] == (8, 10) and pct(key) == 20
        assert round(rows[key].better_than_fit, 3) == 0.006
    assert round(rows["abelian_agreement"].position[0], 2) == 0.78 and rows["abelian_agreement"].false_alarms == 1
    assert min(r.false_alarms for r in rows.values() if r.key != "t_fit") == 1
    assert round(rows["fourier_alignment"].position[0], 2) == 1.06
    assert round(1000 * rows["weight_norm"].cost, 1) == 0.4 and round(rows["sharpness"].cost, 1) == 0.6
    assert round(rows["sharpness"].cost / rows["weight_norm"].cost, -2) == 1_300


def test_the_leaderboards_checks_are_what_its_page_says(grid, rows):
    """p5_leaderboard's "Forecast, or hindsight?" reading: the placebo beats the fit (10 %, p = 4e-5), so the
    column is uninformative; Holm leaves NC2, the norm and NCC; cut at ρ = 0.5 nothing beats the fit (κ 20 %,
    p = 0.29; the fit and the placebo 21 %; the norm 12/20 runs, 83 %; NC2, NCC, NC1 40–48 %), at ρ = 0.75 every
    p ≥ 0.98; matched controls: RNC1 1/10, NCC, NC1, NC2, PMI, spectral entropy 2/10, the norm 10/10 in the
    window but 2/10 in the grokking direction, κ and sharpness 10/10."""
    placebo = foresight.placebo_check(grid)
    assert round(100 * placebo.error[0]) == 10 and 3.5e-5 < placebo.p_better < 5e-5
    assert not foresight.better_than_fit_is_informative(grid)
    ranked_after = [r.key for r in rows.values() if r.error[0] > placebo.error[0]]
    assert {"effective_rank", "relative_flatness", "pe", "perturbation_error", "sharpness"} <= set(ranked_after)
    holm = foresight.board_holm(list(rows.values()))
    assert {k for k, p in holm.items() if p is not None and p < 0.05} == {"nc2", "weight_norm", "ncc", "ncc_mean"}
    half = {c.key: c for c in foresight.foresight_board(grid, 0.5)}
    assert round(100 * half["relative_flatness"].error[0]) == round(100 * half["flatness_bound"].error[0]) == 20
    assert round(half["relative_flatness"].p_better, 2) == 0.29
    assert min(c.p_better for c in half.values() if c.p_better is not None) == half["relative_flatness"].p_better
    assert round(100 * half["t_fit"].error[0]) == round(100 * half[foresight.PLACEBO].error[0]) == 21
    assert (half["weight_norm"].forecasts, round(100 * half["weight_norm"].error[0])) == (12, 83)
    assert [round(100 * half[k].error[0]) for k in ("nc2", "ncc", "nc1")] == [40, 43, 48]
    later = foresight.foresight_board(grid, 0.75)
    assert min(c.p_better for c in later if c.p_better is not None) >= 0.98
    matched = {k: foresight.matched_false_alarms(grid, k) for k in rows if k != "t_fit"}
    assert (matched["rnc1"].fixed, matched["rnc1"].matched_direction) == (10, 1)
    assert all(matched[k].matched_direction == 2 for k in ("ncc", "nc1", "nc2", "pmi", "spectral_entropy"))
    assert (matched["weight_norm"].matched_window, matched["weight_norm"].matched_direction) == (10, 2)
    assert matched["relative_flatness"].matched_direction == matched["sharpness"].matched_direction == 10
    assert [round(rows[k].position[0], 2) for k in ("pmi", "ncc", "nc1")] == [0.60, 0.68, 0.69]


def test_the_collisions_are_what_their_page_says(grid, rows):
    """p5_collisions' reading: RNC1 sides with Part IV, NC1 and NCC with Part I; the norm forecasts better than
    PMI (3 % vs 9 %, p = 0.005), PE (26 %, p = 8e-5) and the spectral entropy (8 %, p = 0.001)."""
    sides = {a.key: a.side for a in collisions.collapse_answers(list(rows.values()))}
    assert sides == {"rnc1": "Part IV", "nc1": "Part I", "ncc": "Part I"}
    pairs = {b: collisions.paired_forecast(grid, a, b) for a, b in collisions.NORM_RIVALS}
    assert all(p.runs == 20 for p in pairs.values())
    assert [round(p.p_first_better, 3) for p in pairs.values()] == [0.005, 0.0, 0.001]
    assert 7e-5 < pairs["pe"].p_first_better < 8.5e-5
    assert [round(100 * p.second_error) for p in pairs.values()] == [9, 26, 8]
    assert all(round(100 * p.first_error) == 3 for p in pairs.values())


def test_the_collisions_checks_are_what_their_page_says(grid, rows):
    """p5_collisions' exploratory readings: with matched controls RNC1 false-alarms in 1/10, NC1 and NCC in 2/10,
    and all three side with Part I; cut before grokking, PMI beats the norm at ρ = 0.5 (21 % vs 83 %, p = 0.011),
    the spectral entropy (p = 0.014) and PMI (p = 0.037) at ρ = 0.75; the norm beats PE (p = 0.017, 0.030)."""
    matched = {a.key: a for a in collisions.matched_collapse_answers(grid, list(rows.values()))}
    assert {k: a.false_alarms for k, a in matched.items()} == {"rnc1": 1, "nc1": 2, "ncc": 2}
    assert {a.side for a in matched.values()} == {"Part I"}
    half, later = ({b: collisions.paired_forecast(grid, a, b, h) for a, b in collisions.NORM_RIVALS}
                   for h in foresight.HORIZONS)
    assert (round(100 * half["pmi"].second_error), round(100 * half["pmi"].first_error)) == (21, 83)
    assert round(half["pmi"].p_second_better, 3) == 0.011
    assert round(later["spectral_entropy"].p_second_better, 3) == 0.014
    assert round(later["pmi"].p_second_better, 3) == 0.037
    assert (round(half["pe"].p_first_better, 3), round(later["pe"].p_first_better, 3)) == (0.017, 0.030)
    assert round(half["spectral_entropy"].p_second_better, 2) > 0.05
