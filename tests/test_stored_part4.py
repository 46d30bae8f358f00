"""Part IV's stored paper-profile results: what each page's reading says, checked on the stored runs.

Like tests/test_stored_part2.py, these read results/ (committed) and never train: a missing run fails them.
Every number a Part IV reading states in prose is guarded here.
"""

import numpy as np
import pytest

import grokutils as gu
from grokutils.part4 import analysis

STORE = gu.store_for("paper")


@pytest.fixture(autouse=True)
def _never_train(monkeypatch):
    """A missing paper run must fail these tests, never be trained by them (hours)."""
    monkeypatch.setenv(gu.runs.STORED_ONLY_ENV, "1")


@pytest.fixture(scope="module")
def figure1():
    candidates = gu.part4.load_candidates("paper", STORE, progress=False)
    chosen, runs = gu.part4.chosen_runs(candidates)
    assert list(candidates) == [chosen] == [gu.presets.FLATNESS_CANDIDATES[0]]  # the later ones: not trained
    return runs


def _steps(runs, find, key):
    return [find(r, key) for r in runs]


def test_figure1_is_what_its_page_says(figure1):
    """p4_fig1_grokking's reading: fit at 400, grok at 1,200–1,400, test accuracy 0.14–0.24 at the fit; NCC
    half-fall at step 200 in both forms; κ peaks at the fit (622, 627, 732), 52/54/42 by steps 800/800/1,000
    with test accuracy 0.54/0.45/0.68; κ half-fall positions 0.5/0.4/0.6, the test accuracy's half-rise
    0.5/0.6/0.6, κ's at it or one evaluation before; the bound's half-fall with κ's, 104–109 × κ at the fit;
    after grokking κ as low as 0.002–0.003, jumps > ×2,000 between evaluations, ends 1.6/6.9/1.8;
    representativeness ends below 0.3 % of its largest; RNC1 half-fall positions 1.0/1.2/1.0."""
    runs = figure1
    assert [r.t_fit for r in runs] == [400] * 3 and [r.t_grok for r in runs] == [1_200, 1_400, 1_400]
    at_fit = [r.history["test_acc"][r.steps.index(r.t_fit)] for r in runs]
    assert 0.14 <= min(at_fit) and max(at_fit) < 0.245
    ncc = _steps(runs, analysis.half_fall_step, "ncc")
    assert ncc == _steps(runs, analysis.half_fall_step, "ncc_mean") == [200] * 3
    kappa = [np.asarray(r["relative_flatness"]) for r in runs]
    assert [r.steps[int(np.argmax(k))] for r, k in zip(runs, kappa)] == [400] * 3
    assert [round(float(k.max())) for k in kappa] == [622, 627, 732]
    half = _steps(runs, analysis.half_fall_step, "relative_flatness")
    assert half == [800, 800, 1_000] == _steps(runs, analysis.half_fall_step, "flatness_bound")
    assert [round(analysis.value_at(r, "relative_flatness", s)) for r, s in zip(runs, half)] == [52, 54, 42]
    assert [round(analysis.value_at(r, "test_acc", s), 2) for r, s in zip(runs, half)] == [0.54, 0.45, 0.68]
    assert [round(analysis.position(r, s), 2) for r, s in zip(runs, half)] == [0.5, 0.4, 0.6]
    rise = [analysis.half_rise_step(r) for r in runs]
    assert [round(analysis.position(r, s), 2) for r, s in zip(runs, rise)] == [0.5, 0.6, 0.6]
    assert all(0 <= s_rise - s_kappa <= 200 for s_rise, s_kappa in zip(rise, half))
    ratios = [r.history["flatness_bound"][r.steps.index(400)] / r.history["relative_flatness"][r.steps.index(400)]
              for r in runs]
    assert 104 <= min(ratios) and max(ratios) < 110
    after = [k[r.steps.index(r.t_grok):] for r, k in zip(runs, kappa)]
    assert all(0.0015 <= a.min() < 0.0035 and (a[1:] / a[:-1]).max() > 2_000 for a in after)
    assert [round(float(k[-1]), 1) for k in kappa] == [1.6, 6.9, 1.8]
    assert all(r["representativeness"][-1] < 0.003 * np.nanmax(r["representativeness"]) for r in runs)
    assert [round(analysis.position(r, analysis.half_fall_step(r, "rnc1")), 1) for r in runs] == [1.0, 1.2, 1.0]
    verdicts = [c.verdict.value for c in (gu.part4.claim_checks.claim_ncc_memorisation(runs),
                                          gu.part4.claim_checks.claim_kappa_grokking(runs))]
    assert verdicts == ["reproduced", "not reproduced"]
