"""stats (slopes, correlations, fall steps), claims tables, and Part I's computed verdicts
on synthetic results whose answers are known."""

from __future__ import annotations

import math

import numpy as np
import pytest

import grokutils as gu
from grokutils import part1, stats
from grokutils.claims import Claim, PaperClaim, claims_table, select, verdict_summary
from grokutils.result import Result
from grokutils.verdicts import Verdict, majority_verdict, share, verdict


def test_loglog_slope_recovers_a_power_law():
    x = np.array([0.001, 0.01, 0.1, 1.0])
    assert stats.loglog_slope(x, 5 * x ** -1.0) == pytest.approx(-1.0)


def test_bootstrap_interval_contains_the_slope_and_is_degenerate_without_noise():
    samples = {wd: [100 / wd] * 3 for wd in (0.01, 0.1, 1.0)}
    slope, low, high = stats.bootstrap_loglog_slope(samples)
    assert slope == pytest.approx(-1.0) and low == pytest.approx(-1.0) and high == pytest.approx(-1.0)
    noisy = {wd: [100 / wd * f for f in (0.8, 1.0, 1.25)] for wd in (0.01, 0.1, 1.0)}
    slope, low, high = stats.bootstrap_loglog_slope(noisy)
    assert low < slope < high


def test_spearman_of_a_monotone_decreasing_relation_is_minus_one():
    rho, p = stats.spearman([1, 2, 3, 4, 5], [9, 7, 4, 2, 1])
    assert rho == pytest.approx(-1.0) and p < 0.05


def test_correlations_refuse_too_few_pairs():
    with pytest.raises(ValueError, match="at least 3"):
        stats.spearman([1, 2], [2, 1])


def test_fall_step_is_measured_after_the_peak():
    steps = [0, 10, 20, 30, 40, 50]
    values = [0.2, 1.0, 0.9, 0.6, 0.4, 0.1]
    assert stats.fall_step(steps, values, 0.5) == 40
    assert stats.fall_step(steps, [0.2, 1.0, 0.9, 0.8, 0.7, 0.6], 0.5) is None


def test_claim_rejects_an_unknown_verdict_and_the_table_renders():
    with pytest.raises(ValueError, match="verdict"):
        Claim("x.id", "x", "y", "z", "sort of")
    table = claims_table([Claim("c.id", "c", "p", "m", "reproduced")])
    assert "| c | p | m | <span class=\"verdict verdict-reproduced\"" in table and "<details>" in table


def test_a_claim_from_a_string_verdict_carries_the_verdict_type():
    assert Claim("c.id", "c", "p", "m", "partly reproduced").verdict is Verdict.PARTLY


def test_select_returns_claims_by_id_in_the_order_asked_and_names_an_unknown_id():
    claims = [PaperClaim(f"x.{i}", f"claim {i}", "paper").judged("m", Verdict.REPRODUCED) for i in range(3)]
    assert [c.id for c in select(claims, "x.2", "x.0")] == ["x.2", "x.0"]
    with pytest.raises(KeyError, match=r"x\.9.*x\.0"):
        select(claims, "x.9")


def test_paper_claim_rows_carry_the_statement_and_untestable_reads_not_testable():
    claim = PaperClaim("x.1", "a claim", "the paper says")
    row = claim.untestable("no runs")
    assert (row.id, row.name, row.paper, row.measured, row.verdict) == ("x.1", "a claim", "the paper says", "no runs",
                                                                         Verdict.NOT_TESTABLE)


@pytest.mark.parametrize("holds, partly, expected", [(True, False, Verdict.REPRODUCED),
                                                     (True, True, Verdict.REPRODUCED), (False, True, Verdict.PARTLY),
                                                     (False, False, Verdict.NOT_REPRODUCED)])
def test_verdict_rule(holds, partly, expected):
    assert verdict(holds, partly) is expected


@pytest.mark.parametrize("agreeing, expected", [(1.0, Verdict.REPRODUCED), (0.8, Verdict.REPRODUCED),
                                                (0.79, Verdict.PARTLY), (0.4, Verdict.PARTLY),
                                                (0.39, Verdict.NOT_REPRODUCED), (math.nan, Verdict.NOT_TESTABLE)])
def test_majority_verdict_thresholds(agreeing, expected):
    assert majority_verdict(agreeing) is expected


def test_share_of_flags_and_nan_without_flags():
    assert share([True, False, True, True]) == 0.75 and math.isnan(share([]))


def test_part_claim_ids_are_unique_across_parts():
    ids = [c.id for module in (part1.paper, gu.part3.paper) for c in vars(module).values() if isinstance(c, PaperClaim)]
    ids += [part1.paper.grokking_claim(0.01).id] + [gu.part3.paper.threshold_claim(t)[0].id for t in ("add", "s5")]
    assert len(ids) == len(set(ids)) and len(ids) >= 20


# --------------------------------------------------------------------------- Part I on synthetic runs

def synthetic_run(wd: float, seed: int, t_grok: float, t_fit: float = 1000.0, bound_gap: float = 0.1) -> Result:
    config = gu.presets.collapse_mnist("paper").replace(weight_decay=wd, seed=seed)
    steps = np.unique(np.round(np.logspace(0, 5, 120)).astype(int)).tolist()
    s = np.array(steps, dtype=float)
    sigmoid = lambda t, width=0.15: 1 / (1 + np.exp(-(np.log(s) - np.log(t)) / width))  # noqa: E731
    train = 0.1 + 0.9 * sigmoid(t_fit, 0.05)
    test = 0.1 + 0.8 * sigmoid(t_grok)
    rnc1 = 0.05 + 0.3 * (1 - sigmoid(t_grok))  # falls with the test accuracy
    history = {"train_acc": train.tolist(), "test_acc": test.tolist(), "rnc1": rnc1.tolist(),
               "margin_bound_test": (1 - test + bound_gap).tolist(),
               "mi_redundancy": (2 * rnc1).tolist(), "nhsic_redundancy": (50 * rnc1).tolist(),
               "ib_bound_logdet": (40 * rnc1 + 1).tolist(), "mi_zy": [2.0] * len(steps),
               "ib_lower_bound": [1.0] * len(steps)}
    return Result(config, steps, history)


def jitter(wd: float, seed: int, scale: float = 0.1) -> float:
    """A seed's reproducible departure from the law (seeds differ; a noiseless sweep gives point intervals)."""
    return float(np.exp(np.random.default_rng([seed, int(wd * 1000)]).normal(0, scale)))


def test_part1_claims_are_reproduced_when_the_synthetic_runs_follow_the_paper():
    runs = [synthetic_run(wd, seed, t_grok=300 / wd * jitter(wd, seed), t_fit=1000 * jitter(wd, seed + 7))
            for wd in (0.01, 0.03, 0.1) for seed in (42, 43, 44)]
    groups = part1.group_by_weight_decay(runs)
    assert list(groups) == [0.01, 0.03, 0.1]
    ev = part1.events(groups[0.01][0])
    # the threshold 0.85 sits 1.5× past the sigmoid's midpoint 30,000 × the seed's jitter
    assert ev.groks and ev.t_fit < 2000 and abs(ev.t_grok / (45_000 * jitter(0.01, 42)) - 1) < 0.1
    verdicts = {c.id: c.verdict for c in part1.claims(groups)}
    # Theorems 3.2 and 3.4 are uninformative by construction whatever the runs do
    assert verdicts.pop("p1.thm3.2") == verdicts.pop("p1.thm3.4") == "uninformative"
    assert set(verdicts.values()) <= {"reproduced"}, verdicts
    slopes = part1.time_scale_slopes(groups)
    assert slopes["t_grok"][0] == pytest.approx(-1.0, abs=0.1)
    assert abs(slopes["t_fit"][0]) < 0.1


def test_part1_claims_are_refuted_when_weight_decay_does_not_matter_and_the_bound_fails():
    runs = [synthetic_run(wd, seed, t_grok=30_000 * (1 + 0.1 * (seed - 42) - 0.05 * wd), bound_gap=-0.05)
            for wd in (0.01, 0.03, 0.1) for seed in (42, 43)]
    verdicts = {c.id: c.verdict for c in part1.claims(part1.group_by_weight_decay(runs))}
    assert verdicts["p1.weight-decay"] != "reproduced"
    assert verdicts["p1.thm3.2"] == "uninformative"  # whether it holds or not: it cannot fail as computed


def test_part1_claims_say_not_testable_without_grokking():
    runs = [synthetic_run(wd, 42, t_grok=10 ** 9) for wd in (0.01, 0.1)]
    claims = part1.claims(part1.group_by_weight_decay(runs))
    assert {c.id: c.verdict for c in claims}["p1.fig4"] == "not testable here"
    assert not math.isnan(part1.bound_check(runs[0])["holds"])
    assert "| 0.01 | 0 / 1 |" in part1.events_table(part1.group_by_weight_decay(runs))


def synthetic_concentration_run(n: int, seed: int, exponent: float) -> Result:
    config = gu.presets.concentration_sweep("paper")[0].replace(num_train=n, seed=seed)
    gap = 0.3 * n ** exponent * (1 + 0.05 * (seed - 42))
    history = {"train_acc": [1.0], "test_acc": [0.9], "within_train": [0.01], "within_test": [0.01 + gap],
               "within_gap": [gap], "complexity_over_scale": [50.0 * (1 + 0.01 * seed)]}
    return Result(config, [config.num_steps], history)


@pytest.mark.parametrize("exponent, expected", [(-0.5, "reproduced"), (0.0, "not reproduced")])
def test_concentration_claim_reads_the_slope_of_the_gap(exponent, expected):
    groups = {n: [synthetic_concentration_run(n, s, exponent) for s in (42, 43, 44)] for n in (250, 1000, 3000)}
    claim = part1.concentration_claim(groups)
    assert claim.verdict == expected, claim.measured
    assert "| 250 | 3 |" in part1.concentration_table(groups)


def test_architecture_claims_on_runs_that_learn_without_delay():
    runs = {}
    for name in ("CNN", "ViT"):
        run = synthetic_run(0.01, 42, t_grok=1500)  # generalises right after the fit: no grokking
        train = np.array(run.history["train_acc"])
        run.history["rnc1"] = list(0.35 - 0.3 * (train - 0.1) / 0.9)  # collapses while fitting
        run.history["nc1"] = list(np.array(run.history["rnc1"]) * 3)
        runs[name] = run
    verdicts = {c.id: c.verdict for c in part1.architecture_claims(runs)}
    assert verdicts["p1.cnn"] == "reproduced"
    assert verdicts["p1.vit"] != "not testable here"
    assert "| CNN |" in part1.architecture_table(runs)


def test_theory_claim_uses_the_same_slope_criteria():
    """One deterministic run per λ: the slope's interval is the least-squares one, which contains −1 here."""
    runs = [synthetic_run(wd, 42, t_grok=300 / wd * jitter(wd, 42), t_fit=1000 * jitter(wd, 9))
            for wd in (0.01, 0.02, 0.03, 0.1)]
    claim = part1.theory_claim(part1.group_by_weight_decay(runs))
    assert claim.name.startswith("time scales, theorem") and claim.verdict == "reproduced", claim.measured
    slope = part1.time_scale_slopes(part1.group_by_weight_decay(runs))["t_grok"]
    assert slope[1] < slope[0] < slope[2] and slope[2] - slope[1] > 0.01


def test_one_value_per_x_gives_the_least_squares_interval_not_a_point():
    x = [0.01, 0.03, 0.1, 0.3]
    y = [100 / v * f for v, f in zip(x, (1.1, 0.9, 1.05, 0.95))]
    slope, low, high = gu.stats.bootstrap_loglog_slope({v: [w] for v, w in zip(x, y)})
    fit = __import__("scipy").stats.linregress(np.log(x), np.log(y))
    half = __import__("scipy").stats.t.ppf(0.975, 2) * fit.stderr
    assert (slope, low, high) == pytest.approx((fit.slope, fit.slope - half, fit.slope + half))
    assert all(math.isnan(v) for v in gu.stats.bootstrap_loglog_slope({1: [1.0], 10: [0.1]})[1:])


def test_a_bound_built_from_the_test_sets_own_margins_is_uninformative():
    runs = [synthetic_run(wd, 42, t_grok=300 / wd, bound_gap=5.0) for wd in (0.01, 0.03, 0.1)]
    verdicts = {c.id: c for c in part1.claims(part1.group_by_weight_decay(runs))}
    claim = verdicts["p1.thm3.2"]
    assert claim.verdict == "uninformative" and "vacuous" in claim.measured and "by construction" in claim.measured


def test_the_alignment_claim_reports_how_often_rnc1_falls_after_grokking():
    runs = [synthetic_run(wd, seed, t_grok=300 / wd * jitter(wd, seed)) for wd in (0.01, 0.1) for seed in (42, 43)]
    claim = {c.id: c for c in part1.claims(part1.group_by_weight_decay(runs))}["p1.rnc1-alignment"]
    assert "t_RNC1 after t_grok in 0 of them" in claim.measured


def test_verdict_summary_groups_claims_by_verdict_in_order_and_counts_them():
    claims = [Claim("x.a", "a", "p", "m", "not reproduced"), Claim("x.b", "b", "p", "m", "reproduced"),
              Claim("x.c", "c", "p", "m", "not reproduced")]
    lines = verdict_summary(claims).splitlines()
    assert lines == ["- **reproduced** (1 of 3): b.", "- **not reproduced** (2 of 3): a; c."]
    assert verdict_summary([]) == ""


def _vit_run(wd: float, nc1_tracks: bool) -> Result:
    run = synthetic_run(wd, 42, t_grok=1500)  # generalises right after the fit: no grokking
    test = np.array(run.history["test_acc"])
    falling = list(1.0 - test)  # falls as test accuracy rises: |Spearman| = 1
    wobble = list(0.2 + 0.01 * np.sin(np.arange(test.size)))  # unrelated to test accuracy
    run.history["nc1"], run.history["rnc1"] = (falling, wobble) if nc1_tracks else (wobble, falling)
    return run


def test_the_vit_row_is_judged_over_every_vit_run_of_figure_8():
    tracking = [_vit_run(wd, True) for wd in (0.003, 0.01, 0.03, 0.1)]
    claim = next(c for c in part1.architecture_claims({}, tracking) if c.id == "p1.vit")
    assert claim.verdict == "reproduced" and "groks in 0/4 runs" in claim.measured and "4/4 runs" in claim.measured
    mixed = tracking[:2] + [_vit_run(wd, False) for wd in (0.03, 0.1)]  # NC1 better in 2 of 4: below a majority
    claim = next(c for c in part1.architecture_claims({}, mixed) if c.id == "p1.vit")
    assert claim.verdict == "partly reproduced" and "2/4 runs" in claim.measured
