"""Part II's stored paper-profile results: what each page's reading says, checked on the stored runs.

Like tests/test_stored_results.py, these read results/ (committed) and never train: a missing run fails them.
Every number a Part II reading states in prose is guarded here.
"""

import re

import numpy as np
import pytest

import grokutils as gu

STORE = gu.store_for("paper")

pytestmark = pytest.mark.usefixtures("stored_only")  # read results/, never train


def test_part2_theory_is_what_its_page_says():
    """p2_theory's reading: Lemma 3.1's first-layer form stays within about an order of magnitude (≈2.5× at the
    fit, ≈4× at t_grok, ≈12× at the end); its sharpness form is ≈3× at the fit, over 100× at t_grok and thousands at
    the end; Theorems 5.9/5.12 are loose by two to three orders of magnitude, smallest slack above 40."""
    standard = gu.part2.load_standard("paper", STORE, progress=False)
    grokked = gu.part2.analysis.grokking_runs(standard["mnist"])
    assert len(grokked) == 5

    def mean_slack(form, step):
        _, lhs, rhs = gu.part2.theory.LEMMA31_FORMS[form]
        return sum(gu.part2.theory.slack_at(r, lhs, rhs, step(r)) for r in grokked) / len(grokked)

    fit, grok, end = (lambda r: r.t_fit), (lambda r: r.t_grok), (lambda r: r.steps[-1])
    assert 2.0 <= mean_slack(0, fit) <= 3.0 and 3.0 <= mean_slack(0, grok) <= 6.0
    assert 8.0 <= mean_slack(0, end) <= 16.0
    assert mean_slack(1, fit) <= 4.0 and mean_slack(1, grok) >= 100 and mean_slack(1, end) >= 1000
    section5 = gu.part2.theory.section5_checks(standard)
    assert all(c.violations == 0 and c.smallest_slack > 40 and 100 <= c.median_slack < 10_000 for c in section5)


def test_part2_distance_bound_is_what_its_page_says():
    """p2_fig3_distance_bound's reading: median test→train distance 18.1, closest 3.8, closest different-class
    training pair 12.8; the largest admissible radius holds 0.03 % of test images (2.5 % for any L); the predicted
    accuracy stays ≤ 0.00025 while the measured reaches ≈ 0.89; the half-normal model creeps up to ≈ 0.19."""
    mnist = gu.part2.load_standard("paper", STORE, progress=False)["mnist"]
    data = gu.data.load(mnist[0].config)
    bound = gu.part2.distance_bound
    x_train, x_test = data.x_train.double().flatten(1).numpy(), data.x_test.double().flatten(1).numpy()
    distances = bound.nearest_train_distances(x_test, x_train)
    assert round(float(np.median(distances)), 1) == 18.1 and round(float(distances.min()), 1) == 3.8
    between = bound.between_class_distance(x_train, data.y_train.numpy())
    assert round(float(between), 1) == 12.8
    shares = [float((distances <= bound.largest_admissible_radius(between, lipschitz=lip)).mean())
              for lip in (0.0, None)]
    assert round(shares[0] * 100, 2) == 0.03 and round(shares[1] * 100, 1) == 2.5
    checks = [gu.part2.theory.theorem32(r, data, distances) for r in mnist]
    assert max(float(c.predicted.empirical.max()) for c in checks) <= 0.00025
    assert all(0.87 <= r["test_acc"][-1] <= 0.91 for r in mnist)
    assert all(0.15 <= float(c.predicted.half_normal.max()) <= 0.23 for c in checks)


@pytest.fixture(scope="module")
def part2_runs():
    """The standard runs and the wd-0 controls of both tasks, as the pages load them."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(gu.runs.STORED_ONLY_ENV, "1")
        return (gu.part2.load_standard("paper", STORE, progress=False),
                gu.part2.load_controls("paper", STORE, progress=False))


def test_part2_figures_1_2_are_what_their_page_says(part2_runs):
    """p2_fig1_2_robustness's reading: the norm falls 38–46 % (MNIST, from the ×8 initialisation's peak at step 0)
    and 31–34 % (a + b, from the fit) by t_grok, the wd-0 controls much less; MNIST's perturbation error falls by
    five orders of magnitude after the fit, and by about four in the controls that never grok; on a + b it rises
    ×2.0 [1.6, 2.6] and peaks within 600 steps of t_grok in every seed; the sharpness falls after the fit in
    every run (ρ ≤ −0.92), the controls' included."""
    standard, controls = part2_runs
    analysis = gu.part2.analysis
    falls = {task: [analysis.norm_fall(r) for r in runs] for task, runs in standard.items()}
    assert all(f.peak_step == 0 for f in falls["mnist"]) and all(0.38 <= f.fall <= 0.46 for f in falls["mnist"])
    assert all(f.peak_step <= 800 for f in falls["add"]) and all(0.31 <= f.fall <= 0.35 for f in falls["add"])
    assert all(analysis.norm_fall(r).fall <= 0.07 for r in controls["mnist"])
    assert all(1.73 <= r["weight_norm"][-1] / r["weight_norm"][0] <= 1.77 and analysis.norm_fall(r).fall == 0
               for r in controls["add"])  # the a + b controls' norm grows to its largest at the end
    assert all(5.6 <= np.exp(analysis.perturbation_change(r)) <= 5.8 for r in controls["add"])
    ratio = {task: [np.exp(analysis.perturbation_change(r)) for r in runs] for task, runs in standard.items()}
    assert all(1e-5 <= x <= 1.4e-5 for x in ratio["mnist"])
    assert all(2e-4 <= np.exp(analysis.perturbation_change(r)) <= 2.5e-4 for r in controls["mnist"])
    claim = gu.part2.claim_checks.claim_perturbation("add", standard["add"])
    assert "×2.02 [1.58, 2.56]" in claim.measured and claim.verdict == gu.verdicts.Verdict.NOT_REPRODUCED
    for r in standard["add"]:
        assert abs(r.steps[int(np.argmax(r["perturbation_error"]))] - r.t_grok) <= 600
    assert all(analysis.sharpness_trend(r) <= -0.92 for runs in standard.values() for r in runs)
    assert all(analysis.sharpness_trend(r) <= -0.99 for runs in controls.values() for r in runs)
    assert {round(float(r["test_acc"][-1]), 2) for r in controls["mnist"]} == {0.81, 0.82}


def test_part2_figures_8_13_are_what_their_page_says(part2_runs):
    """p2_fig8_13_information's reading: no signal is nearer t_grok than the norm (MNIST PMI 3/5 seeds, paired
    p = 0.41); on a + b PMI and PE complete half their change before the norm does, in every seed; PMI is
    nearer t_grok than the label information in 5/5 MNIST seeds (p = 0.031); PMI keeps its trend across α and
    the test set (ρ ≥ 0.84) while the test-set PE runs against the training one (ρ < 0)."""
    standard, _ = part2_runs
    checks, paper, analysis = gu.part2.claim_checks, gu.part2.paper, gu.part2.analysis
    mnist_pmi = checks.claim_timely(paper.PMI["mnist"], standard["mnist"], "pmi")
    assert "3/5" in mnist_pmi.measured and "paired p = 0.41" in mnist_pmi.measured
    for task in standard:
        for signal, claim in (("pmi", paper.PMI), ("pe", paper.PE)):
            verdict = checks.claim_timely(claim[task], standard[task], signal).verdict
            assert verdict == gu.verdicts.Verdict.NOT_REPRODUCED
    for r in standard["add"]:
        norm = analysis.half_change_step(r, "weight_norm")
        assert analysis.half_change_step(r, "pmi") < norm and analysis.half_change_step(r, "pe") < norm
    label = checks.claim_timely(paper.LABEL_PMI, standard["mnist"], "pmi", "label_pmi")
    assert label.verdict == gu.verdicts.Verdict.REPRODUCED and "paired p = 0.031" in label.measured
    assert min(analysis.alpha_agreement(r, "pmi") for r in standard["mnist"]) >= 0.84
    reference = "train_" + gu.metrics.information_ablation.alpha_key("pe", 1.0)
    test_pe = "test_" + gu.metrics.information_ablation.alpha_key("pe", 1.0)
    assert all(gu.stats.spearman(r[reference], r[test_pe])[0] < 0 for r in standard["mnist"])
    assert all(0.99 * np.log(10) <= max(r[reference]) < np.log(10) for r in standard["mnist"])
    standard, controls = part2_runs
    mid_ed = {task: checks.claim_mid_ed(task, standard[task], controls[task]) for task in standard}
    assert all(c.verdict == gu.verdicts.Verdict.NOT_REPRODUCED for c in mid_ed.values())
    assert "p = 0.57" in mid_ed["mnist"].measured
    fits = [r for runs in (standard["add"], controls["add"]) for r in runs]
    assert all(r.t_fit == 200 and analysis.value_at_fit(r, m) < 0.001 for r in fits for m in ("mid", "ed"))
    assert all(float(p) >= 0.43 for p in re.findall(r"p = ([0-9.]+)", mid_ed["add"].measured))


def test_part2_figures_4_7_are_what_their_page_says():
    """p2_fig4_7_degrokking's reading: input noise does not degrok (MNIST: none groks, final 0.62–0.82, two never
    fit; a + b p = 0.73); the abelian regulariser does (1,600–3,400 against 5,000–7,800, p = 0.004; against noise
    p = 0.008); standard and perturbed runs become commutative 200–400 steps before their own t_grok; swapped test
    pairs 11 % at the fit; the logit distance is 40–58 % of its fit value at t_grok."""
    arms = gu.part2.load_arms("paper", STORE, progress=False)
    checks, analysis, verdict = gu.part2.claim_checks, gu.part2.analysis, gu.verdicts.Verdict
    noisy = arms["mnist"]["perturbed"]
    assert all(r.t_grok is None for r in noisy) and sum(r.t_fit is None for r in noisy) == 2
    assert {round(float(r["test_acc"][-1]), 2) for r in noisy} <= set(np.round(np.arange(0.62, 0.83, 0.01), 2))
    add = arms["add"]
    assert "p = 0.73" in checks.claim_degrok("add", add).measured
    assert "7,360 ± 3,675" in gu.part2.tables.arms_table(arms) and "6,640 ± 1,135" in gu.part2.tables.arms_table(arms)
    abelian = checks.claim_abelian_degrok(add)
    assert abelian.verdict == verdict.REPRODUCED
    assert "p = 0.004" in abelian.measured and "p = 0.0079" in abelian.measured
    assert [min(r.t_grok for r in add[a]) for a in ("abelian", "standard")] == [1_600, 5_000]
    assert [max(r.t_grok for r in add[a]) for a in ("abelian", "standard")] == [3_400, 7_800]
    lead = {arm: [r.t_grok - analysis.abelian_time(r) for r in add[arm]] for arm in ("standard", "perturbed")}
    assert set(lead["standard"]) | set(lead["perturbed"]) == {200, 400}
    positions = [analysis.abelian_position(r) for r in add["standard"]]
    assert round(min(positions), 2) == 0.92 and round(max(positions), 2) == 0.97
    assert checks.claim_abelian_standard(add["standard"]).verdict == verdict.REPRODUCED
    assert checks.claim_abelian_perturbed(add["standard"], add["perturbed"]).verdict == verdict.NOT_REPRODUCED
    assert all(round(float(r["abelian_train"][0]), 2) >= 0.98 for arm in ("standard", "perturbed") for r in add[arm])
    assert round(np.mean([analysis.swap_split_at(r, r.t_fit)[0] for r in add["standard"]]), 2) == 0.11
    distances = [analysis.logit_distance(r) for arm in ("standard", "perturbed") for r in add[arm]]
    assert all(0.39 <= d.max_after_grok / d.at_fit <= 0.58 and 46 <= d.at_fit <= 63 for d in distances)
    ends = [float(r["logit_distance_train"][-1]) for arm in ("standard", "perturbed") for r in add[arm]]
    assert all(0.6 <= end <= 1.6 for end in ends)


def test_part2_chapter_is_what_its_page_says(part2_runs):
    """p2_00_chapter's reading: the abelian regulariser groks in about a third of the steps; PMI and PE complete
    half their change about 1,600 steps before t_grok on a + b, earlier than the norm (the other numbers it cites
    are guarded by the tests of their pages)."""
    standard, _ = part2_runs
    abelian = gu.part2.load_arms("paper", STORE, progress=False)["add"]["abelian"]
    ratio = np.mean([r.t_grok for r in abelian]) / np.mean([r.t_grok for r in standard["add"]])
    assert 0.3 <= ratio <= 0.4
    lags = {m: np.mean([gu.part2.analysis.lag(r, m) for r in standard["add"]]) for m in ("pmi", "pe", "weight_norm")}
    assert -1_750 <= lags["pe"] <= lags["pmi"] <= -1_500 and lags["weight_norm"] > lags["pmi"]
