"""Part IV's measurements and verdicts on synthetic runs whose answers are known by construction."""

from __future__ import annotations

import numpy as np
import pytest

import grokutils as gu
from grokutils.part4 import analysis, claim_checks
from grokutils.result import Result
from grokutils.verdicts import Verdict

END, EVERY, T_FIT = 10_000, 100, 1_000
BASE = gu.Config(task="add", p=97, frac_train=0.5, num_layers=2, num_steps=END, eval_schedule=f"every:{EVERY}")


def run(seed: int = 0, t_grok: int | None = 6_000, ncc_fall: int = 1_500, kappa_fall: int | None = None,
        final_acc: float = 0.99, ncc_end: float = 1.0, kappa_end: float = 1.0, unplugged: int | None = None,
        diverges: bool = False) -> Result:
    """NCC falls from 10 to ``ncc_end`` at ``ncc_fall``; κ from 10 to ``kappa_end`` at ``kappa_fall`` (default
    t_grok); test accuracy jumps to ``final_acc`` at t_grok."""
    s = np.arange(0, END + 1, EVERY, dtype=float)
    grok = t_grok if t_grok is not None else 10 * END
    kappa_fall = kappa_fall if kappa_fall is not None else grok
    history = {
        "train_acc": np.where(s >= T_FIT, 1.0, 0.1),
        "test_acc": np.where(s >= grok, final_acc, 0.01 + 0.001 * seed),
        "train_loss": np.where(s > 5_000, np.inf, 0.1) if diverges else np.full_like(s, 0.1),
        "ncc": np.where(s < ncc_fall, 10.0, ncc_end), "relative_flatness": np.where(s < kappa_fall, 10.0, kappa_end),
        "ncc_mean": np.where(s < ncc_fall, 1.0, ncc_end / 10), "flatness_bound": np.where(s < kappa_fall, 90.0, 9.0),
        "representativeness": np.where(s < grok, 1.0, 0.01),
    }
    history |= {"rnc1": history["ncc"] / 10, "flatness_quadratic": history["relative_flatness"] / 10}
    return Result(BASE.replace(seed=seed), s.astype(int).tolist(),
                  {k: np.asarray(v).tolist() for k, v in history.items()})


def seeds(**kwargs) -> list[Result]:
    return [run(seed, **kwargs) for seed in range(5)]


def test_half_fall_and_position_by_hand():
    r = run()
    assert analysis.half_fall_step(r, "ncc") == 1_500 and analysis.position(r, 1_500) == pytest.approx(0.1)
    assert analysis.half_fall_step(r, "relative_flatness") == 6_000 and analysis.position(r, 6_000) == 1.0
    assert analysis.half_fall_step(run(ncc_end=10.0), "ncc") is None
    assert analysis.value_at(r, "test_acc", 6_050) == 0.99 and analysis.value_at(r, "test_acc", 5_999) < 0.5
    assert analysis.half_rise_step(r) == 6_000 and analysis.half_rise_step(run(final_acc=0.01)) is None
    ramp = Result(BASE, [0, 100, 200, 300, 400], {"test_acc": [0.2, 0.0, 0.3, 0.6, 1.0]})
    assert analysis.half_rise_step(ramp) == 300  # from the smallest value (0.0), half of the rise to 1.0


def test_figure1_claims():
    assert claim_checks.claim_ncc_memorisation(seeds()).verdict == Verdict.REPRODUCED
    assert claim_checks.claim_ncc_memorisation(seeds(ncc_fall=5_800)).verdict == Verdict.NOT_REPRODUCED
    assert claim_checks.claim_kappa_grokking(seeds()).verdict == Verdict.REPRODUCED
    assert claim_checks.claim_kappa_grokking(seeds(kappa_fall=1_200)).verdict == Verdict.NOT_REPRODUCED
    assert claim_checks.claim_kappa_grokking(seeds(t_grok=None)).verdict == Verdict.NOT_REPRODUCED


def test_ncc_regulariser_needs_the_rise_and_both_equivalences():
    base = seeds()
    assert claim_checks.claim_ncc_regulariser(base, seeds(ncc_end=5.0)).verdict == Verdict.REPRODUCED
    assert claim_checks.claim_ncc_regulariser(base, seeds(ncc_end=5.0, kappa_end=3.0)).verdict == Verdict.PARTLY
    hurt = seeds(ncc_end=5.0, kappa_end=3.0, final_acc=0.5)
    assert claim_checks.claim_ncc_regulariser(base, hurt).verdict == Verdict.NOT_REPRODUCED
    assert claim_checks.claim_ncc_regulariser(base, seeds()).verdict == Verdict.NOT_REPRODUCED  # no rise
    with pytest.raises(ValueError, match="seeds"):
        claim_checks.claim_ncc_regulariser(base, base[::-1])


def test_ablation_and_flatness_regulariser():
    base = seeds()
    assert claim_checks.claim_ncc_ablation(base, seeds(diverges=True)).verdict == Verdict.REPRODUCED
    assert claim_checks.claim_ncc_ablation(base, seeds(final_acc=0.5)).verdict == Verdict.REPRODUCED
    assert claim_checks.claim_ncc_ablation(base, seeds()).verdict == Verdict.NOT_REPRODUCED
    unplug = 7_000
    delayed = seeds(t_grok=8_000, kappa_fall=8_000, final_acc=0.96)
    assert claim_checks.claim_flatness_regulariser(base, delayed, unplug).verdict == Verdict.REPRODUCED
    as_good = seeds(t_grok=8_000, kappa_fall=8_000)
    assert claim_checks.claim_flatness_regulariser(base, as_good, unplug).verdict == Verdict.PARTLY
    assert claim_checks.claim_flatness_regulariser(base, seeds(), unplug).verdict == Verdict.NOT_REPRODUCED


def test_representativeness_claim():
    assert claim_checks.claim_representativeness(seeds(), "representativeness").verdict == Verdict.REPRODUCED
    flat = seeds()
    for r in flat:
        r.history["representativeness"] = [1.0] * len(r.steps)
    assert claim_checks.claim_representativeness(flat, "representativeness").verdict == Verdict.NOT_REPRODUCED


def test_the_setting_rule_takes_the_first_candidate_in_which_every_seed_groks():
    first, second, third = gu.presets.FLATNESS_CANDIDATES
    assert gu.presets.chosen_candidate({first: [True, False, True], second: [True] * 3, third: [True] * 3}) == second
    assert gu.presets.chosen_candidate({first: [True] * 3, second: [True] * 3}) == first
    assert gu.presets.chosen_candidate({first: [False] * 3}) is None


@pytest.mark.parametrize("profile", ["smoke", "quick", "paper"])
def test_flatness_candidates_are_the_paper_setup_with_one_or_two_changes(profile):
    cells = gu.presets.flatness_candidates(profile)
    paper = gu.presets.FLATNESS_PAPER
    for (lr, frac), configs in cells.items():
        assert all(c.lr == lr and c.frac_train == frac and c.num_layers == 2 for c in configs)
        assert all(c.metrics == ("flatness", "collapse", "flatness_theory") for c in configs)
        assert all(c.weight_decay == paper.weight_decay and c.betas == paper.betas for c in configs)
    assert len(cells) == (3 if profile == "paper" else 1)


def test_part4_tables():
    runs = seeds()
    candidates = {gu.presets.FLATNESS_CANDIDATES[0]: runs}
    assert "5/5" in gu.part4.tables.candidates_table(candidates)
    table = gu.part4.tables.half_fall_table(runs + [run(5, t_grok=None)])
    assert "0.10" in table and "1.00" in table and "—" in table
    chosen, chosen_runs = gu.part4.chosen_runs(candidates)
    assert chosen == gu.presets.FLATNESS_CANDIDATES[0] and chosen_runs == runs


@pytest.mark.parametrize("profile", ["smoke", "quick", "paper"])
def test_causal_runs_follow_the_papers_recipe(profile):
    ncc = gu.presets.ncc_regulariser_runs(profile)
    flat = gu.presets.flatness_regulariser_runs(profile)
    for configs in [*ncc.values(), *flat.values()]:
        assert all(c.optimizer == "sgd" and c.lr == 0.01 and c.momentum == 0.9 and c.batch_size == 64
                   and c.weight_decay == 0.0 for c in configs)
    assert all(c.ncc_weight == 0 for c in ncc["baseline"]) and all(c.ncc_weight == 1e-3 for c in ncc["λ = 0.001"])
    regularised = flat["regularised"][0]
    assert regularised.flatness_weight == 1e-4 and 0 < regularised.unplug_step < regularised.num_steps
    if profile == "paper":
        assert regularised.unplug_step == 100 * gu.presets.STEPS_PER_EPOCH and len(ncc) == 6
        assert [c.seed for c in ncc["baseline"]] == [1, 42, 15213, 0, 2]


# ------------------------------------------------------------------ Proposition 5.2 and Lemma A.2 (part4.theory)
def test_proposition52_fails_exactly_beyond_the_predicted_offset_of_the_global_mean():
    theory = gu.part4.theory
    for k, M, lam in ((2, 1.0, 1.0), (3, 0.5, 4.0), (10, 2.0, 0.1)):
        threshold = theory.offset_threshold(k, M, lam)
        below, at, above = theory.offset_scan(k, M, lam, [0.0, threshold, threshold * 1.05])
        assert below.ratio < 1 and at.ratio == pytest.approx(1.0, rel=1e-9) and above.ratio > 1
        assert below.ratio == pytest.approx(gu.metrics.flatness_theory.proposition52_kappa(k, M, lam) /
                                            gu.metrics.flatness_theory.proposition52_bound(k, M, lam), rel=1e-9)


def test_proposition52_claim_is_uninformative_when_it_holds_and_not_reproduced_with_a_counterexample():
    theory = gu.part4.theory
    grid = gu.metrics.flatness_theory.proposition52_grid((2, 4), (1.0,), (0.1, 1.0, 10.0))
    centred = theory.offset_scan(offsets=[0.0, 0.5])
    assert theory.claim_proposition52(grid, centred).verdict == Verdict.UNINFORMATIVE
    row = theory.claim_proposition52(grid, theory.offset_scan(offsets=[0.0, 0.5, 1.5]))
    assert row.verdict == Verdict.NOT_REPRODUCED and "fails from ‖μ_g‖ = 1.5 M" in row.measured
    low, high = theory.autograd_agreement(grid)
    assert low < 1e-8  # the autograd Hessian keeps κ's digits until the softmax saturates


def test_lemma_a2_along_runs_skips_diverged_evaluations_and_finds_violations():
    theory = gu.part4.theory
    holding = seeds()
    for r in holding:
        r.history["flatness_bound"] = [3 * v for v in r["relative_flatness"]]
    diverged = run(9)
    diverged.history["relative_flatness"] = [float("nan")] * len(diverged.steps)
    diverged.history["flatness_bound"] = [float("nan")] * len(diverged.steps)
    check = theory.lemma_a2_check(holding + [diverged], "synthetic")
    assert check.evaluations == 5 * len(holding[0].steps) and check.violations == 0 and check.median_slack == 3
    assert theory.claim_lemma_a2([check]).verdict == Verdict.UNINFORMATIVE
    holding[0].history["flatness_bound"][4] = 0.5 * holding[0]["relative_flatness"][4]
    assert theory.claim_lemma_a2([theory.lemma_a2_check(holding, "x")]).verdict == Verdict.NOT_REPRODUCED


@pytest.mark.parametrize("profile", ["smoke", "quick", "paper"])
def test_modular_causal_runs_share_their_baseline_and_groks_setup(profile):
    ncc, flat = gu.presets.modular_ncc_runs(profile), gu.presets.modular_flatness_runs(profile)
    assert flat["baseline"] == ncc["baseline"]  # one baseline, stored once (by Section 5's chapter)
    base = ncc["baseline"][0]
    assert (base.task, base.p, base.frac_train, base.num_layers) == ("add", 97, 0.3, 1)
    assert base.metrics == ("flatness",)
    assert all(c.ncc_weight > 0 for arm, configs in ncc.items() if arm != "baseline" for c in configs)
    regularised = flat["regularised"][0]
    assert regularised.flatness_weight == gu.presets.FLATNESS_WEIGHT and 0 < regularised.unplug_step < base.num_steps
    if profile == "paper":
        assert regularised.unplug_step == gu.presets.MODULAR_UNPLUG
        assert set(ncc) == {"baseline", "λ = 0.001", "λ = 0.01"}
        assert {len(v) for v in (*ncc.values(), *flat.values())} == {5}
    chapters = gu.presets.chapter_runs(profile)
    assert set(ncc["baseline"]) <= set(chapters["p4_sec5_ncc_regulariser"])
    assert not set(ncc["baseline"]) & set(chapters["p4_sec6_flatness_regulariser"])


def test_the_chapter_claims_gain_the_modular_rows():
    arms = {"baseline": seeds(), "λ = 0.001": seeds(ncc_end=2.0), "λ = 0.01": seeds(final_acc=0.5)}
    regularised = [Result(r.config.replace(flatness_weight=1e-4, unplug_step=3_000), r.steps, r.history)
                   for r in seeds(t_grok=8_000)]
    flat = {"baseline": seeds(), "regularised": regularised}
    rows = claim_checks.claims(seeds(), arms, flat, 3_000, modular_ncc=arms, modular_flatness=flat)
    ids = [row.id for row in rows]
    assert ids[-3:] == ["p4.ncc-regulariser-modular", "p4.ncc-ablation-modular", "p4.flatness-regulariser-modular"]
    assert len(rows) == 9 and len(claim_checks.claims(seeds(), arms, flat, 3_000)) == 6


def test_strongest_arm_is_the_largest_weight_and_refuses_arms_without_one():
    arms = {"baseline": [], "λ = 0.001": [], "λ = 0.01": [], "λ = 1e-06": []}
    assert gu.part4.analysis.strongest_arm(arms) == "λ = 0.01"
    with pytest.raises(ValueError, match="no regularised arm"):
        gu.part4.analysis.strongest_arm({"baseline": []})


def test_a_candidate_settles_the_rule_only_when_every_seed_of_it_groks():
    first, second, _ = gu.presets.FLATNESS_CANDIDATES

    def tried(candidate, **kwargs):
        return [Result(r.config.replace(lr=candidate[0], frac_train=candidate[1]), r.steps, r.history)
                for r in seeds(**kwargs)[:3]]

    assert not gu.presets.candidate_settled([])
    assert gu.presets.candidate_settled([tried(first)])
    assert not gu.presets.candidate_settled([tried(first, t_grok=None)])
    assert gu.presets.candidate_settled([tried(first, t_grok=None), tried(second)])
    assert not gu.presets.candidate_settled([tried(first)[:2] + [None]])  # a seed not stored settles nothing


def test_the_rescaling_counterexample_changes_the_trace_form_and_not_the_function():
    built, rescaled = gu.part4.theory.rescaling_counterexample().values()
    assert built["logit_change"] == 0 and rescaled["logit_change"] < 1e-12
    assert rescaled["trace"] > 10 * built["trace"]  # Definition 3.2's κ is not a function of the network alone
    assert rescaled["quadratic"] == pytest.approx(built["quadratic"], rel=1e-12)
    assert "619.8" in gu.part4.tables.rescaling_table({"rescaled": rescaled})


def test_the_at_grokking_table_pairs_seeds_and_divides_by_the_baseline():
    table = gu.part4.tables.at_grokking_table({"baseline": seeds(), "λ = 0.01": seeds(t_grok=7_000, kappa_end=100.0)})
    assert "+1,000, +1,000" in table and "×100 to ×100" in table  # κ at t_grok: 100 against 1
    with pytest.raises(ValueError, match="seeds"):
        gu.part4.tables.at_grokking_table({"baseline": seeds(), "λ = 0.01": seeds()[:2]})


def test_the_probe_ratios_pair_seeds_at_the_end_and_at_each_runs_grokking():
    baseline, treated = seeds(), seeds(t_grok=7_000, kappa_end=100.0)
    for at_grok in (False, True):  # κ: 100 against 1 at the end, and at each run's own t_grok
        q = analysis.ratio_interval(baseline, treated, "relative_flatness", at_grok)
        assert q["ratio"] == pytest.approx(100) and (q["least"], q["most"]) == pytest.approx((100, 100))
        assert (q["low"], q["high"]) == pytest.approx((100, 100)) and q["higher"] == q["seeds"] == 5
    assert analysis.ratio_interval(baseline, seeds(ncc_end=0.5), "ncc")["higher"] == 0
    never = analysis.ratio_interval(baseline, seeds(t_grok=None), "ncc", at_grok=True)
    assert never["seeds"] == 0 and np.isnan(never["ratio"])  # no seed grokked in both arms
    with pytest.raises(ValueError, match="seeds"):
        analysis.ratio_interval(baseline, treated[:2], "ncc")


def test_a_rerun_trains_as_stored_only_with_every_shared_series_equal():
    stored = run(0)
    assert analysis.trains_as_stored(run(0), stored)
    assert not analysis.trains_as_stored(run(0, final_acc=0.98), stored)
    assert not analysis.trains_as_stored(run(1), stored)  # its test accuracy differs before t_grok


def test_the_probe_table_and_its_runs():
    table = gu.part4.tables.probe_table({"MNIST": {"baseline": seeds(), "λ = 0.01": seeds(kappa_end=100.0)}})
    assert "×100" in table and "RNC1 (Part I)" in table and "wᵀHw, invariant form" in table and "5/5" in table
    large = gu.part4.tables.probe_table({"MNIST": {"baseline": seeds(), "λ = 0.01": seeds(kappa_end=1_240.0)}})
    assert "×1,240" in large and "e+" not in large
    for profile, arm in (("paper", "λ = 0.01"), ("smoke", "λ = 0.001")):
        probes = gu.presets.collapse_probe_runs(profile)
        sources = {"MNIST": gu.presets.ncc_regulariser_runs(profile),
                   "x + y mod 97": gu.presets.modular_ncc_runs(profile)}
        assert set(probes) == set(sources)
        for task, arms in probes.items():
            assert list(arms) == ["baseline", arm]
            for name, configs in arms.items():
                assert configs == [c.replace(metrics=gu.presets.PROBE_METRICS) for c in sources[task][name]]
