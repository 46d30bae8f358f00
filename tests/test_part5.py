"""Part V's leaderboard (grokutils.part5) on synthetic runs whose transitions are known by construction, and the
grid's presets."""

from __future__ import annotations

import math

import numpy as np
import pytest

import grokutils as gu
from grokutils.part5 import collisions, leaderboard, paper, tables
from grokutils.result import Result

END, EVERY, T_FIT = 10_000, 100, 1_000
BASE = gu.Config(task="add", p=97, frac_train=0.3, num_steps=END, eval_schedule=f"every:{EVERY}")


def run(seed: int, t_grok: int | None, early: int | None = None, late_lag: int = 500,
        control: bool = False) -> Result:
    """Train accuracy 1 from T_FIT; test accuracy 1 from ``t_grok``. ``early`` steps from 0 to 1 at ``early``
    (None: flat after the fit); ``late`` steps at t_grok − ``late_lag``; ``flat`` never changes after the fit."""
    s = np.arange(0, END + 1, EVERY)
    grok = t_grok if t_grok is not None else 10 * END
    history = {
        "train_acc": np.where(s >= T_FIT, 1.0, 0.1), "test_acc": np.where(s >= grok, 1.0, 0.01),
        "rnc1": np.where(s >= (early if early is not None else 10 * END), 1.0, 0.0) + np.where(s < T_FIT, 5.0, 0.0),
        "spectral_entropy": np.where(s >= grok - late_lag, 0.2, 0.8),
        "weight_norm": np.where(s < T_FIT, s / T_FIT, 1.0),
        "cost_rnc1": np.full(s.shape, 0.002), "cost_spectral_entropy": np.full(s.shape, 0.01),
        "cost_weight_norm": np.full(s.shape, 0.0001),
    }
    config = BASE.replace(seed=seed, weight_decay=0.0 if control else 1.0)
    return Result(config, s.tolist(), {k: np.asarray(v, dtype=float).tolist() for k, v in history.items()})


def grid(controls_fire: bool = False) -> dict:
    groks = (4_000, 6_200, 8_000, 5_000, 7_000)  # the fit's own forecast is exact for none of them
    return {"add": {"grokking": [run(i, t, early=2_000) for i, t in enumerate(groks)],
                    "control": [run(10 + i, None, early=3_000 if controls_fire else None,
                                    control=True) for i in range(2)]}}


def test_transitions_leads_and_positions_by_construction():
    r = run(0, 6_000, early=2_000)
    assert leaderboard.transition(r, "spectral_entropy") == 5_500
    assert leaderboard.transition(r, "rnc1") == 2_000
    assert leaderboard.transition(r, "weight_norm") is None  # flat after the fit
    assert leaderboard.transition(r, paper.FIT) == T_FIT == r.t_fit
    assert leaderboard.position(r, 5_500) == pytest.approx(0.9)


def test_forecast_is_the_transition_plus_the_other_seeds_median_lead():
    g = grid()
    by_seed = {f.seed: f for f in leaderboard.forecasts(g, "spectral_entropy")}
    assert all(f.forecast == f.t_grok and f.error == 0 for f in by_seed.values())  # a constant lead: exact
    rnc1 = {f.seed: f for f in leaderboard.forecasts(g, "rnc1")}
    # every seed's rnc1 transitions at 2,000; leads of the others: t_grok - 2,000; seed 0 (t_grok 4,000) gets
    # 2,000 + median(4,200, 6,000, 3,000, 5,000) = 6,600
    assert rnc1[0].forecast == 6_600 and rnc1[0].error == pytest.approx(2_600 / 4_000)
    flat = leaderboard.forecasts(g, "weight_norm")
    assert all(f.forecast is None and math.isinf(f.error) for f in flat)


def test_leaderboard_ranks_by_forecast_error_and_counts_false_alarms():
    rows = leaderboard.leaderboard(grid(controls_fire=True))
    keys = [r.key for r in rows]
    assert keys[0] == "spectral_entropy" and keys[-1] == "weight_norm"
    by_key = {r.key: r for r in rows}
    assert by_key["spectral_entropy"].false_alarms == 0 and by_key["rnc1"].false_alarms == 2
    assert by_key["spectral_entropy"].controls == 2 and by_key["spectral_entropy"].transitions == 5
    assert by_key["spectral_entropy"].better_than_fit < 0.05  # 0 error in every run, paired against the fit's
    assert by_key["weight_norm"].better_than_fit > 0.5
    assert by_key["spectral_entropy"].cost == pytest.approx(0.01) and by_key[paper.FIT].cost == 0
    assert by_key["spectral_entropy"].error == (0.0, 0.0, 0.0)
    assert math.isinf(by_key["weight_norm"].error[0])
    table = tables.leaderboard_table(rows)
    assert "| 1 | `spectral_entropy` | III | 5/5 |" in table and "∞" in table


def test_a_control_that_groks_is_no_control():
    g = grid()
    g["add"]["control"].append(run(20, 5_000, early=2_000, control=True))
    rows = {r.key: r for r in leaderboard.leaderboard(g)}
    assert rows["rnc1"].controls == 2
    assert "| add | 5/5 | 1,000–1,000 | 4,000–8,000 | 2/3 |" in tables.runs_table(g)


@pytest.mark.parametrize("profile", ["smoke", "quick", "paper"])
def test_grid_presets(profile):
    grid_configs = gu.presets.signal_grid(profile)
    assert tuple(grid_configs) == (gu.presets.SIGNAL_TASKS if profile == "paper" else ("add", "mnist"))
    for task, arms in grid_configs.items():
        configs = arms["grokking"] + arms["control"]
        assert all(c.metrics == ("signals",) and c.task == task for c in configs)
        assert all(c.weight_decay == 0 and c.stop_after_grok == 0 for c in arms["control"])
        assert len({c.key() for c in configs}) == len(configs)
    if profile == "paper":
        assert {t: len(a["grokking"]) for t, a in grid_configs.items()} == dict.fromkeys(gu.presets.SIGNAL_TASKS, 5)
        assert grid_configs["s5"]["grokking"][0].frac_train == gu.presets.S5_LARGER_FRAC
        assert grid_configs["add"]["grokking"][0].num_layers == 1


def test_collapse_that_comes_before_grokking_and_not_in_controls_sides_with_part_one():
    """rnc1 transitions at 2,000 in every grokking run (position < 1); quiet controls: Part I; firing
    controls: Part IV; no controls: not testable."""
    quiet = collisions.collapse_answers(leaderboard.leaderboard(grid()))
    assert [(a.key, a.transitions, a.runs, a.side) for a in quiet] == [("rnc1", 5, 5, "Part I")]
    firing = collisions.collapse_answers(leaderboard.leaderboard(grid(controls_fire=True)))
    assert firing[0].false_alarms == 2 and firing[0].side == "Part IV"
    g = grid()
    g["add"]["control"] = []
    assert collisions.collapse_answers(leaderboard.leaderboard(g))[0].side == "not testable here"
    late = collisions.CollapseAnswer("rnc1", 5, 5, 1.4, 0, 2)  # after grokking: not Part I's order
    assert late.side == "Part IV"
    assert "| `rnc1` | 5/5 |" in collisions.collapse_table(quiet)


def test_norm_question_compares_forecast_errors_seed_by_seed():
    g = grid()
    entropy = collisions.paired_forecast(g, "weight_norm", "spectral_entropy")
    assert entropy.runs == 5 and entropy.second_error == 0 and math.isinf(entropy.first_error)
    assert entropy.p_second_better < 0.05 and entropy.answer == "`spectral_entropy` forecasts better"
    same = collisions.paired_forecast(g, "rnc1", "rnc1")
    assert same.answer == "not separated"
    g["add"]["grokking"] = g["add"]["grokking"][:4]
    assert collisions.paired_forecast(g, "weight_norm", "spectral_entropy").answer == "not testable here"
    assert "∞ vs 0 %" in collisions.norm_table([entropy])
