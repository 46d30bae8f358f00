"""Part II's measurements and verdicts on synthetic runs whose answers are known by construction."""

from __future__ import annotations

import math

import numpy as np
import torch
import pytest

import grokutils as gu
from grokutils.metrics.information_ablation import ABLATION_ALPHAS, alpha_key
from grokutils.part2 import analysis, claim_checks, paper
from grokutils.result import Result
from grokutils.verdicts import Verdict

END, EVERY, T_FIT = 10_000, 100, 500
ADD = gu.Config(task="add", p=113, num_steps=END, eval_schedule=f"every:{EVERY}", metrics=("robustness", "sharpness"))
MNIST = gu.Config(task="mnist", model="mlp", loss="mse", num_steps=END, eval_schedule=f"every:{EVERY}",
                  metrics=("robustness", "sharpness", "information_ablation"), grok_threshold=0.85)


def run(seed: int = 0, t_grok: int | None = 5_000, config: gu.Config = ADD, t_fit: int = T_FIT,
        t_abelian: int | None = None, signal_at: int | None = None, norm_falls: bool = True,
        logit_after: float = 0.0, logit_noise: float = 0.0, mid_at_fit: float = 0.01,
        sharpness_slope: float = -1.0) -> Result:
    """A run that fits at ``t_fit``, groks at ``t_grok`` (None: never), becomes commutative at ``t_abelian``
    (default: t_grok), and whose PMI/PE change at ``signal_at`` (default t_grok) while the norm falls from
    t_fit on."""
    s = np.arange(0, END + 1, EVERY, dtype=float)
    grok = t_grok if t_grok is not None else END * 10
    t_abelian = t_abelian if t_abelian is not None else grok
    signal_at = signal_at if signal_at is not None else grok
    rng = np.random.default_rng(seed)
    step = (s >= signal_at).astype(float)
    history = {
        "train_acc": np.where(s >= t_fit, 1.0, 0.1),
        "test_acc": np.where(s >= grok, 0.99, 0.01),
        "weight_norm": (np.where(s < t_fit, 10 + s / t_fit, 11 - 8 * (s - t_fit) / END) if norm_falls
                        else 10 + s / END),
        "perturbation_error": 1.0 / (1 + s / 1000),
        "sharpness": 100 + sharpness_slope * s / 100 + 0.01 * rng.standard_normal(s.size),
        "pmi": 1 + step, "pe": 2 - step, "mid": np.where(s < t_fit, mid_at_fit * (1 + 1 / (1 + s)), mid_at_fit),
        "ed": np.where(s < t_fit, mid_at_fit, mid_at_fit / 2),
        # an untrained network is trivially commutative (one class for every pair), as the stored runs are
        "abelian_train": np.where((s >= t_abelian) | (s == 0), 1.0, 0.5),
        "logit_distance_train": np.where(s >= grok, logit_after + logit_noise * rng.random(s.size), 10.0),
        "test_acc_swap_seen": np.where(s >= t_fit, 1.0, 0.0), "test_acc_swap_unseen": np.where(s >= grok, 1.0, 0.0),
        "label_pmi": 1 + (s >= grok + 2_000).astype(float),
    }
    for split in ("train", "test"):
        for a in ABLATION_ALPHAS:
            history[f"{split}_{alpha_key('pmi', a)}"] = (1 + a) * history["pmi"] + 0.001 * s / END
            history[f"{split}_{alpha_key('pe', a)}"] = a * history["pe"] - 0.001 * s / END
    return Result(config.replace(seed=seed), s.astype(int).tolist(), {k: np.asarray(v).tolist()
                                                                        for k, v in history.items()})


def seeds(**kwargs) -> list[Result]:
    return [run(seed, **kwargs) for seed in range(5)]


def test_measurements_by_hand():
    r = run()
    fall = analysis.norm_fall(r)
    assert (fall.peak_step, fall.end) == (T_FIT, 5_000) and fall.fires and fall.fall == pytest.approx(1 - 7.4 / 11)
    assert analysis.perturbation_change(r) == pytest.approx(math.log((1 + 0.5) / (1 + 10)))
    assert analysis.sharpness_trend(r) < -0.99
    assert analysis.abelian_time(r) == 5_000 and analysis.abelian_position(r) == pytest.approx(1.0)
    assert analysis.half_change_step(r, "pmi") == 5_000 and analysis.lag(r, "pmi") == 0
    assert analysis.lag(r, "label_pmi") == 2_000
    assert analysis.more_timely(r, "pmi", "label_pmi") and not analysis.more_timely(r, "label_pmi", "pmi")
    assert analysis.value_at_fit(r, "mid") == pytest.approx(0.01)
    assert analysis.swap_split_at(r) == (1.0, 1.0) and analysis.swap_split_at(r, T_FIT) == (1.0, 0.0)
    never = run(t_grok=None)
    assert analysis.norm_fall(never).end == END and math.isnan(analysis.lag(never, "pmi"))
    assert analysis.abelian_position(run(t_abelian=END * 10)) == math.inf


def test_norm_claim_reproduced_and_uninformative_when_controls_fall_too():
    quiet = [run(seed, t_grok=None, norm_falls=False) for seed in range(2)]
    assert claim_checks.claim_norm("add", seeds(), quiet).verdict == Verdict.REPRODUCED
    falling = [run(seed, t_grok=None) for seed in range(2)]
    assert claim_checks.claim_norm("add", seeds(), falling).verdict == Verdict.UNINFORMATIVE
    assert claim_checks.claim_norm("add", seeds(t_grok=None), quiet).verdict == Verdict.NOT_REPRODUCED
    assert claim_checks.claim_norm("add", seeds(norm_falls=False), quiet).verdict == Verdict.NOT_REPRODUCED


def test_perturbation_and_sharpness_claims():
    assert claim_checks.claim_perturbation("add", seeds()).verdict == Verdict.REPRODUCED
    assert claim_checks.claim_sharpness("add", seeds()).verdict == Verdict.REPRODUCED
    assert claim_checks.claim_sharpness("add", seeds(sharpness_slope=0.0)).verdict == Verdict.NOT_REPRODUCED
    flat = seeds()
    for r in flat:
        r.history["perturbation_error"] = [1.0 + 0.01 * ((i + r.config.seed) % 3 - 1)
                                           for i in range(len(r.steps))]
    assert claim_checks.claim_perturbation("add", flat).verdict == Verdict.NOT_REPRODUCED  # a null change


def test_degrok_claims_need_significance():
    standard = seeds(t_grok=6_000)
    faster = [run(seed, t_grok=2_000) for seed in range(5)]
    assert claim_checks.claim_degrok("add", {"standard": standard, "perturbed": faster}).verdict == Verdict.REPRODUCED
    same = [run(seed, t_grok=6_000) for seed in range(5)]
    assert claim_checks.claim_degrok("add", {"standard": standard, "perturbed": same}).verdict \
        == Verdict.NOT_REPRODUCED
    fastest = [run(seed, t_grok=1_000) for seed in range(5)]
    arms = {"standard": standard, "perturbed": faster, "abelian": fastest}
    assert claim_checks.claim_abelian_degrok(arms).verdict == Verdict.REPRODUCED
    arms["perturbed"] = fastest
    assert claim_checks.claim_abelian_degrok(arms).verdict == Verdict.PARTLY
    with pytest.raises(ValueError, match="seeds"):
        analysis.compare_arms(standard, faster[::-1], "perturbed")


def test_abelian_timing_claims():
    late = seeds(t_grok=6_000)
    early = [run(seed, t_grok=6_000, t_abelian=T_FIT + 100) for seed in range(5)]
    assert claim_checks.claim_abelian_standard(late).verdict == Verdict.REPRODUCED
    assert claim_checks.claim_abelian_standard(early).verdict == Verdict.NOT_REPRODUCED
    assert claim_checks.claim_abelian_perturbed(late, early).verdict == Verdict.REPRODUCED
    assert claim_checks.claim_abelian_perturbed(late, late).verdict == Verdict.NOT_REPRODUCED


def test_logit_distance_claim():
    standard = seeds(logit_after=0.0)
    chaotic = [run(seed, logit_after=1.0, logit_noise=5.0) for seed in range(5)]
    assert claim_checks.claim_logit_distance(standard, chaotic).verdict == Verdict.REPRODUCED
    assert claim_checks.claim_logit_distance(standard, standard).verdict == Verdict.PARTLY
    high = seeds(logit_after=5.0)
    assert claim_checks.claim_logit_distance(high, high).verdict == Verdict.NOT_REPRODUCED


def test_timeliness_claims():
    timely = seeds()
    assert claim_checks.claim_timely(paper.PMI["add"], timely, "pmi").verdict == Verdict.REPRODUCED
    late = [run(seed, signal_at=9_500) for seed in range(5)]
    assert claim_checks.claim_timely(paper.PMI["add"], late, "pmi").verdict == Verdict.NOT_REPRODUCED
    assert claim_checks.claim_timely(paper.LABEL_PMI, timely, "pmi", "label_pmi").verdict == Verdict.REPRODUCED
    # a tie in timeliness (lags equal up to noise) is a null effect: not reproduced, never partly
    mixed = [run(seed, signal_at=None if seed < 3 else 9_500) for seed in range(5)]  # 3 of 5 seeds nearer
    tie = claim_checks.claim_timely(paper.PMI["add"], mixed, "pmi")
    assert "3/5" in tie.measured and "paired p" in tie.measured and tie.verdict == Verdict.NOT_REPRODUCED
    assert claim_checks.claim_timely(paper.PMI["add"], timely[:4], "pmi").verdict == Verdict.NOT_TESTABLE


def test_mid_ed_claim_needs_complete_separation_from_the_controls():
    controls = [run(seed, t_grok=None, mid_at_fit=1.0) for seed in range(2)]
    assert claim_checks.claim_mid_ed("add", seeds(), controls).verdict == Verdict.REPRODUCED
    mixed = [run(seed, mid_at_fit=0.01 if seed else 5.0) for seed in range(5)]
    assert claim_checks.claim_mid_ed("add", mixed, controls).verdict == Verdict.NOT_REPRODUCED
    assert claim_checks.claim_mid_ed("add", seeds(), seeds()[:2]).verdict == Verdict.NOT_TESTABLE


def test_alpha_claim():
    runs = [run(seed, config=MNIST) for seed in range(5)]
    assert claim_checks.claim_alpha(runs).verdict == Verdict.REPRODUCED
    for r in runs:
        r.history[f"test_{alpha_key('pmi', 2.0)}"] = list(reversed(r.history[f"test_{alpha_key('pmi', 2.0)}"]))
    assert claim_checks.claim_alpha(runs).verdict == Verdict.NOT_REPRODUCED


def test_the_claims_table_has_every_row_once():
    standard = {"mnist": [run(seed, config=MNIST) for seed in range(5)], "add": seeds()}
    arms = {"mnist": {"standard": standard["mnist"], "perturbed": [run(s, config=MNIST, t_grok=2_000)
                                                                   for s in range(5)]},
            "add": {"standard": standard["add"], "perturbed": seeds(t_grok=2_000), "abelian": seeds(t_grok=1_000)}}
    controls = {task: [run(seed, config=c, t_grok=None, mid_at_fit=1.0) for seed in range(2)]
                for task, c in (("mnist", MNIST), ("add", ADD))}
    rows = claim_checks.claims(standard, arms, controls)
    assert len({r.id for r in rows}) == len(rows) == 20
    assert all(r.verdict in set(Verdict) for r in rows)


def test_tables_show_every_arm_and_seed():
    arms = {"add": {"standard": seeds(t_grok=6_000), "perturbed": seeds(t_grok=2_000), "abelian": seeds(t_grok=1_000)}}
    table = gu.part2.tables.arms_table(arms)
    assert table.count("\n") == 1 + 3 and "6,000 ± 0" in table and "input perturbation" in table
    assert "1.000" in gu.part2.tables.swap_split_table(arms["add"])
    assert gu.part2.tables.abelian_table(arms["add"]["standard"], arms["add"]["perturbed"]).count("\n") == 1 + 5
    standard = {"add": seeds(), "mnist": [run(s, config=MNIST) for s in range(5)]}
    lags = gu.part2.tables.lag_table(standard)
    assert "5/5" in lags and lags.count("\n") == 1 + 2
    controls = {"add": [run(0, t_grok=None)], "mnist": [run(0, config=MNIST, t_grok=None)]}
    assert gu.part2.tables.mid_ed_table(standard, controls).count("\n") == 1 + 12
    assert gu.part2.tables.per_seed_table(seeds()).count("\n") == 1 + 5


def test_arm_panels_draw_one_band_per_arm():
    import matplotlib.pyplot as plt

    fig = gu.plots.arm_panels({"standard": seeds(), "perturbed": seeds(t_grok=2_000)}, ["test_acc", "pmi"])
    assert len(fig.axes) == 2 and len(fig.axes[0].collections) == 2
    plt.close(fig)


def with_bounds(result: Result, lhs: float, rhs: float) -> Result:
    n = len(result.steps)
    for key in ("lemma31", "theorem59", "theorem512"):
        result.history[f"{key}_lhs"] = [lhs] * n
        result.history[f"{key}_rhs"] = [rhs] * n
    result.history["lemma31_sharpness_rhs"] = [rhs] * n
    return result


def test_bounds_that_hold_are_uninformative_and_violations_are_not_reproduced():
    holding = [with_bounds(run(s, config=MNIST), 1.0, 3.0) for s in range(3)]
    row = gu.part2.theory.claim_lemma31(holding)
    assert row.verdict == Verdict.UNINFORMATIVE and "median 3" in row.measured
    assert gu.part2.theory.claim_section5({"mnist": holding}).verdict == Verdict.UNINFORMATIVE
    broken = holding[:2] + [with_bounds(run(3, config=MNIST), 2.0, 1.0)]
    assert gu.part2.theory.claim_lemma31(broken).verdict == Verdict.NOT_REPRODUCED
    check = gu.bound_checks.bound_check(broken, "x", "lemma31_lhs", "lemma31_rhs", from_fit=True)
    assert check.violations == len(broken[2].steps) - T_FIT // EVERY and check.smallest_slack == 0.5


def test_theorem32_on_data_far_from_its_training_points_is_vacuous():
    g = np.random.default_rng(0)
    x_train = torch.tensor(g.normal(size=(40, 1, 4, 4)))
    y_train = torch.arange(40) % 4
    data = gu.data.Dataset(x_train, y_train, x_train + 5.0, y_train, num_classes=4)
    row = gu.part2.theory.claim_theorem32([run(0, config=MNIST)], data)
    assert row.verdict == Verdict.UNINFORMATIVE and "0/1" in row.measured
