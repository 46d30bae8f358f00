"""Part III forecasting (grokutils.forecast) and its statistics (grokutils.stats): closed forms,
brute force and synthetic runs whose answers are known."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from scipy import stats as scipy_stats

from grokutils import forecast, stats

C1, GAMMA, C2, H_STAR = 2e5, 1.65, 300.0, 0.625  # 0.625 = 5/8: means of copies of it are exact


def law_run(t_grok: int | None, name: str = "", every: int = 200, last: int = 20_000,
            h_star: float = H_STAR) -> forecast.Run:
    """A run whose H̃ follows t_grok − t = C1 (H̃ − H*)^γ + C2 exactly wherever t_grok − t > C2.

    Closer to t_grok (within C2 steps) H̃ sits below H*; at t_grok it is H*; afterwards it keeps
    falling. Its norm is 10 + 20 (H̃ − H*), an exact power law in the norm gap too.
    """
    steps = np.arange(0, last + 1, every)
    if t_grok is None:
        entropy = np.full(steps.size, 0.9)
    else:
        remaining = (t_grok - steps).astype(float)
        gap = np.where(remaining > C2, np.abs(remaining - C2) / C1, 0.0) ** (1 / GAMMA)
        entropy = np.where(remaining > C2, h_star + gap, h_star - 0.05)
        entropy[steps == t_grok] = h_star
        entropy[steps > t_grok] = h_star - 0.1 - 1e-6 * (steps[steps > t_grok] - t_grok)
    return forecast.Run(steps, entropy, t_grok, 10 + 20 * (entropy - h_star), name)


@pytest.fixture
def law_runs() -> list[forecast.Run]:
    runs = [law_run(8000 + 1000 * k, f"seed{k}") for k in range(9)]
    return runs + [law_run(None, "no-grok")]


# --------------------------------------------------------------------------- collapse onset

def test_onset_of_a_flat_curve_then_a_ramp_is_the_first_window_that_falls_more_than_delta():
    steps = 200 * np.arange(30)
    entropy = np.where(np.arange(30) < 10, 0.9, 0.9 - 0.015 * (np.arange(30) - 9))
    # evaluation 10 has fallen 0.015 over its window, evaluation 11 0.03 > δ = 0.02
    assert forecast.collapse_onset(steps, entropy) == 2200
    assert forecast.collapse_onset(steps, entropy, delta=0.04) == 2400  # 0.045 at evaluation 12
    assert forecast.collapse_onset(steps, entropy, window=2) is None  # neighbours differ by 0.015 < δ
    assert forecast.collapse_onset(steps, entropy, delta=0.01, window=2) == 2000


def test_onset_matches_a_brute_force_scan():
    rng = np.random.default_rng(1)
    entropy = np.cumsum(rng.normal(-0.003, 0.01, 200)) + 0.9
    steps = 50 * np.arange(200)
    for delta, window in itertools.product((0.01, 0.02, 0.05), (2, 5, 9)):
        expected = next((int(steps[i]) for i in range(window - 1, 200)
                         if entropy[i - window + 1] - entropy[i] > delta), None)
        assert forecast.collapse_onset(steps, entropy, delta, window) == expected


def test_noise_below_delta_gives_no_onset():
    rng = np.random.default_rng(0)
    entropy = 0.9 + rng.uniform(-0.009, 0.009, 100)
    assert forecast.collapse_onset(200 * np.arange(100), entropy) is None
    assert forecast.collapse_onset([0, 200, 400], [0.9, 0.5, 0.1]) is None  # fewer than 5 evaluations


def test_onset_constants_are_the_documented_choice():
    assert forecast.ONSET_DELTA == 0.02 and forecast.ONSET_WINDOW == 5


@pytest.mark.parametrize("kwargs, message", [
    ({"steps": [0, 1, 2], "entropy": [0.9, 0.8]}, "same length"),
    ({"steps": [0, 2, 1], "entropy": [0.9, 0.8, 0.7]}, "strictly increasing"),
    ({"steps": [0, 1, 2], "entropy": [0.9, float("nan"), 0.7]}, "NaN"),
    ({"steps": [0, 1, 2], "entropy": [0.9, 0.8, 0.7], "delta": 0.0}, "delta"),
    ({"steps": [0, 1, 2], "entropy": [0.9, 0.8, 0.7], "window": 1}, "window"),
])
def test_onset_rejects_bad_input(kwargs, message):
    with pytest.raises(ValueError, match=message):
        forecast.collapse_onset(**kwargs)


def test_value_at_reads_an_evaluation_and_refuses_other_steps():
    assert forecast.value_at([0, 200, 400], [0.9, 0.8, 0.7], 200) == 0.8
    with pytest.raises(ValueError, match="step 300 was not evaluated"):
        forecast.value_at([0, 200, 400], [0.9, 0.8, 0.7], 300)


# --------------------------------------------------------------------------- power law and log law

def test_power_law_is_recovered_from_noiseless_data():
    gap = np.linspace(0.01, 0.4, 60)
    law = forecast.fit_power_law(gap, 5e4 * gap ** 1.65 + 300)
    assert law.gamma == pytest.approx(1.65, abs=1e-3)
    assert law.c1 == pytest.approx(5e4, rel=1e-3) and law.c2 == pytest.approx(300, abs=1)
    assert law.r2 == pytest.approx(1.0, abs=1e-9) and law.n == 60
    assert law.remaining(0.2) == pytest.approx(5e4 * 0.2 ** 1.65 + 300, rel=1e-6)


def test_power_law_with_large_gaps_and_exponents_does_not_overflow():
    gap = np.linspace(50, 400, 40)  # a parameter norm as predictor (claim 5)
    law = forecast.fit_power_law(gap, 1e-12 * gap ** 6.0 - 7.0)
    assert law.gamma == pytest.approx(6.0, abs=1e-3) and law.r2 == pytest.approx(1.0)


def test_power_law_under_small_noise_is_close():
    rng = np.random.default_rng(0)
    gap = np.linspace(0.01, 0.4, 200)
    clean = 5e4 * gap ** 1.65 + 300
    law = forecast.fit_power_law(gap, clean + rng.normal(0, 0.01 * np.ptp(clean), gap.size))
    assert law.gamma == pytest.approx(1.65, abs=0.05) and law.r2 > 0.99


def test_power_law_fit_is_the_global_least_squares_minimum():
    rng = np.random.default_rng(3)
    gap = rng.uniform(0.01, 0.5, 80)
    remaining = 3e4 * gap ** 0.7 + rng.normal(0, 2000, gap.size)
    law = forecast.fit_power_law(gap, remaining)
    best_brute = min(np.linalg.lstsq(np.c_[gap ** g, np.ones_like(gap)], remaining, rcond=None)[1][0]
                     for g in np.linspace(0.05, 10, 4000))
    ours = float(np.sum(np.asarray(law.residuals) ** 2))
    assert ours <= best_brute * (1 + 1e-9)
    assert ours == pytest.approx(float(np.sum((remaining - law.remaining(gap)) ** 2)), rel=1e-9)
    assert law.r2 == pytest.approx(1 - ours / np.sum((remaining - remaining.mean()) ** 2))


@pytest.mark.parametrize("gap, remaining, message", [
    ([0.1, 0.2], [1.0, 2.0], "at least 3 points"),
    ([0.1, 0.2, 0.3], [1.0, 2.0], "same length"),
    ([0.1, -0.2, 0.3], [1.0, 2.0, 3.0], "gap must be positive"),
    ([0.1, 0.2, float("inf")], [1.0, 2.0, 3.0], "NaN or infinite"),
    ([0.1, 0.1, 0.3, 0.3], [1.0, 2.0, 3.0, 4.0], "3 distinct"),
    ([0.1, 0.2, 0.3], [5.0, 5.0, 5.0], "constant"),
])
def test_power_law_rejects_bad_input(gap, remaining, message):
    with pytest.raises(ValueError, match=message):
        forecast.fit_power_law(gap, remaining)


def test_power_law_remaining_refuses_gaps_at_or_below_the_threshold():
    law = forecast.PowerLaw(1.0, 2.0, 0.0, 1.0, 3)
    np.testing.assert_allclose(law.remaining(np.array([1.0, 2.0])), [1.0, 4.0])
    with pytest.raises(ValueError, match="positive"):
        law.remaining(0.0)


def test_log_formula_recovers_kappa_and_h_inf():
    entropy = np.linspace(0.62, 0.95, 50)
    remaining = np.log((entropy - 0.3) / (0.6 - 0.3)) / 2e-4
    law = forecast.fit_log_formula(entropy, remaining, threshold=0.6)
    assert law.kappa == pytest.approx(2e-4, rel=1e-4) and law.h_inf == pytest.approx(0.3, abs=1e-4)
    assert law.r2 == pytest.approx(1.0) and law.remaining(0.6) == pytest.approx(0.0)


def test_log_formula_rejects_entropy_below_the_threshold_and_a_law_that_needs_negative_kappa():
    with pytest.raises(ValueError, match="above the threshold"):
        forecast.fit_log_formula([0.5, 0.7, 0.8], [1.0, 2.0, 3.0], threshold=0.6)
    with pytest.raises(ValueError, match="κ > 0"):
        forecast.fit_log_formula([0.65, 0.7, 0.8], [-1.0, -2.0, -3.0], threshold=0.6)


# --------------------------------------------------------------------------- threshold and statistics

def test_bootstrap_interval_contains_the_mean_narrows_with_n_and_is_reproducible():
    rng = np.random.default_rng(0)
    small, large = rng.normal(0.61, 0.02, 10), rng.normal(0.61, 0.02, 400)
    mean, low, high = stats.bootstrap_mean_ci(small)
    assert low < mean < high and mean == pytest.approx(small.mean())
    _, low_large, high_large = stats.bootstrap_mean_ci(large)
    assert high_large - low_large < (high - low) / 3
    assert stats.bootstrap_mean_ci(small, seed=7) == stats.bootstrap_mean_ci(small, seed=7)
    assert stats.bootstrap_mean_ci(small, seed=7) != stats.bootstrap_mean_ci(small, seed=8)
    assert stats.bootstrap_mean_ci([0.6] * 5) == pytest.approx((0.6, 0.6, 0.6))
    assert forecast.threshold_with_ci(small) == stats.bootstrap_mean_ci(small)


@pytest.mark.parametrize("kwargs, message", [
    ({"values": [0.6]}, "at least 2"),
    ({"values": [0.6, float("nan")]}, "NaN"),
    ({"values": [0.6, 0.7], "resamples": 0}, "resamples"),
    ({"values": [0.6, 0.7], "level": 1.0}, "level"),
])
def test_bootstrap_rejects_bad_input(kwargs, message):
    with pytest.raises(ValueError, match=message):
        stats.bootstrap_mean_ci(**kwargs)


def test_mann_whitney_u_is_the_pair_count_and_p_the_exact_permutation_tail():
    a, b = [5020.0, 3100.0, 7000.0, 900.0], [1000.0, 2500.0, 400.0, 3000.0, 200.0]
    u, p = stats.mann_whitney_greater(a, b)
    assert u == sum(x > y for x in a for y in b)
    pooled = a + b
    tails = [sum(pooled[i] > y for i in chosen for y in (pooled[j] for j in range(9) if j not in chosen)) >= u
             for chosen in itertools.combinations(range(9), 4)]
    assert p == pytest.approx(sum(tails) / len(tails))
    assert p == pytest.approx(scipy_stats.mannwhitneyu(a, b, alternative="greater").pvalue)
    a, b = [1.0, 2.0, 2.0], [2.0, 0.0]
    assert stats.mann_whitney_greater(a, b)[0] == sum((x > y) + 0.5 * (x == y) for x in a for y in b) == 4.0


@pytest.mark.parametrize("a, b", [
    ([0.897, 0.897, 0.898], [0.892, 0.892, 0.897]),
    ([3.0, 3.0, 2.0, 1.0], [1.0, 1.0, 2.0]),
    ([5.0, 5.0, 5.0], [5.0, 5.0]),
    ([2.0], [1.0, 1.0, 3.0]),
])
def test_mann_whitney_p_with_ties_is_the_exact_permutation_tail(a, b):
    """Ties used to fall back on the normal approximation, which gave p = 0.038 for 3 runs against 3,
    below the design's exact minimum 1/C(6, 3) = 0.05."""
    u, p = stats.mann_whitney_greater(a, b)
    pooled, n = a + b, len(a) + len(b)
    pair_count = lambda chosen: sum((pooled[i] > pooled[j]) + 0.5 * (pooled[i] == pooled[j])  # noqa: E731
                                    for i in chosen for j in range(n) if j not in chosen)
    tails = [pair_count(chosen) >= u for chosen in itertools.combinations(range(n), len(a))]
    assert p == pytest.approx(sum(tails) / len(tails), abs=1e-12)
    assert p >= 1 / math.comb(n, len(a)) - 1e-12


def test_mann_whitney_uses_the_normal_approximation_only_past_the_exact_limit():
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=30).tolist(), rng.normal(size=30).tolist()
    exact = scipy_stats.mannwhitneyu(a, b, alternative="greater", method="exact").pvalue
    assert stats.mann_whitney_greater(a, b)[1] == pytest.approx(exact, rel=1e-9)
    a.append(0.5)
    assert stats.mann_whitney_greater(a, b)[1] == pytest.approx(
        scipy_stats.mannwhitneyu(a, b, alternative="greater").pvalue)


def test_rank_biserial_is_plus_or_minus_one_for_separated_samples():
    assert stats.rank_biserial([5, 6, 7], [1, 2]) == 1.0
    assert stats.rank_biserial([1, 2], [5, 6, 7]) == -1.0
    assert stats.rank_biserial([1, 2, 3], [1, 2, 3]) == pytest.approx(0.0)


def test_mann_whitney_refuses_nan_and_empty_samples():
    with pytest.raises(ValueError, match="did not grok"):
        stats.mann_whitney_greater([1.0, math.nan], [2.0])
    with pytest.raises(ValueError, match="at least 1"):
        stats.mann_whitney_greater([], [2.0])


# --------------------------------------------------------------------------- runs and leave-one-seed-out

def test_loso_on_runs_that_follow_the_law_exactly_forecasts_without_error(law_runs):
    result = forecast.loso_forecast(law_runs)
    assert result.not_grokked == ("no-grok",) and len(result.runs) == 9
    assert result.mape == pytest.approx(0.0, abs=1e-6)
    for run in result.runs:
        assert run.threshold == H_STAR
        assert run.law.gamma == pytest.approx(GAMMA, abs=1e-3)
        assert run.steps.size and (run.steps < run.t_grok - C2).all()
        np.testing.assert_allclose(run.predicted, run.t_grok, rtol=1e-6)
        assert run.onset is not None and run.onset_prediction == pytest.approx(run.t_grok, rel=1e-6)
    expected_warning = np.mean([np.mean(r.t_grok - r.steps) for r in result.runs])
    assert result.mean_warning == pytest.approx(expected_warning)


def test_loso_threshold_comes_from_the_other_runs_only():
    runs = [law_run(8000 + 1000 * k, h_star=0.6 + 0.01 * k) for k in range(4)]
    result = forecast.loso_forecast(runs)
    at_grok = [0.6 + 0.01 * k for k in range(4)]
    for k, run in enumerate(result.runs):
        assert run.threshold == pytest.approx(np.mean(at_grok[:k] + at_grok[k + 1:]))


def test_norm_gap_is_an_exact_predictor_too_and_absolute_norm_is_not(law_runs):
    assert forecast.loso_forecast(law_runs, "norm_gap").mape == pytest.approx(0.0, abs=1e-6)
    assert forecast.pooled_fit(law_runs, "entropy").law.r2 == pytest.approx(1.0)
    assert forecast.pooled_fit(law_runs, "norm_gap").law.r2 == pytest.approx(1.0)
    assert forecast.pooled_fit(law_runs, "norm").law.r2 < 1.0 - 1e-6
    assert forecast.pooled_fit(law_runs, "norm").threshold == 0.0


def test_runs_can_be_mappings_and_entropy_at_grok_reads_the_grokked_ones(law_runs):
    as_dicts = [{"steps": r.steps, "entropy": r.entropy, "t_grok": r.t_grok, "name": r.name} for r in law_runs]
    assert forecast.loso_forecast(as_dicts).mape == pytest.approx(0.0, abs=1e-6)
    assert forecast.entropy_at_grok(law_runs) == [H_STAR] * 9


@pytest.mark.parametrize("make, message", [
    (lambda runs: forecast.loso_forecast(runs[:1] + runs[-1:]), "at least 2 grokked"),
    (lambda runs: forecast.loso_forecast(runs, "loss"), "predictor must be one of"),
    (lambda runs: forecast.loso_forecast([{"steps": [0, 1], "entropy": [1, 1]}] * 2), "needs keys"),
    (lambda runs: forecast.loso_forecast([forecast.Run(r.steps, r.entropy, r.t_grok) for r in runs], "norm"),
     "needs each run's norm"),
    (lambda runs: forecast.Run([0, 200], [0.9, 0.8], 300), "not one of its evaluation steps"),
    (lambda runs: forecast.Run([0, 200], [0.9, 0.8, 0.7], None), "same length"),
    (lambda runs: forecast.loso_forecast(["run"]), "a run must be"),
])
def test_loso_and_runs_reject_bad_input(law_runs, make, message):
    with pytest.raises(ValueError, match=message):
        make(law_runs)


def test_run_from_a_result_reads_entropy_norm_and_t_grok():
    import grokutils as gu

    config = gu.config.Config(task="add", p=97, num_steps=400, device="cpu")
    history = {"spectral_entropy": [0.9, 0.7, 0.6], "weight_norm": [30.0, 25.0, 20.0], "test_acc": [0.0, 0.5, 0.97]}
    run = forecast.as_run(gu.Result(config, [0, 200, 400], history))
    assert run.t_grok == 400 and run.norm.tolist() == [30.0, 25.0, 20.0] and run.name == config.label()


def test_every_public_forecast_and_monitor_name_cites_part_iii():
    import importlib
    import inspect
    import re

    for module_name in ("grokutils.forecast", "grokutils.monitor"):
        module = importlib.import_module(module_name)
        public = [(name, obj) for name, obj in vars(module).items() if not name.startswith("_")
                  and (inspect.isfunction(obj) or inspect.isclass(obj)) and obj.__module__ == module_name]
        missing = [name for name, obj in public if not re.search(r"\bPart III\b", inspect.getdoc(obj) or "")]
        assert not missing, f"{module_name}: docstrings without 'Part III': {missing}"


def test_log_formula_keeps_its_limit_non_negative_unless_told_otherwise():
    """H̃ is a normalised entropy: by default H̃_∞ ≥ 0; floor=None lets the fit find a negative one."""
    kappa, h_inf, threshold = 1e-3, -0.5, 0.5
    h = np.linspace(0.55, 0.9, 40)
    remaining = np.log((h - h_inf) / (threshold - h_inf)) / kappa
    free = forecast.fit_log_formula(h, remaining, threshold, floor=None)
    assert free.h_inf == pytest.approx(h_inf, abs=1e-3)
    bounded = forecast.fit_log_formula(h, remaining, threshold)
    assert bounded.h_inf == pytest.approx(0.0, abs=1e-6) and bounded.kappa > 0
    with pytest.raises(ValueError, match="floor"):
        forecast.fit_log_formula(h - 0.6, remaining, -0.1)


def _forecast_at(steps, t_grok: int) -> forecast.RunForecast:
    steps = np.asarray(steps)
    return forecast.RunForecast("held-out", t_grok, H_STAR, None, steps, steps.astype(float), None, None)


def test_the_placebo_forecasts_the_other_seeds_mean_t_grok_and_never_a_step_already_passed():
    assert forecast.placebo_ape(_forecast_at([100, 200], 1000), [800, 1200]) == 0.0
    # the others' mean (500) has passed at both steps: the placebo says "now", 400 and 300 steps early
    assert forecast.placebo_ape(_forecast_at([600, 700], 1000), [500]) == pytest.approx(0.35)
    assert forecast.placebo_ape(_forecast_at([], 1000), [500]) is None
    with pytest.raises(ValueError, match="at least one other grokked run"):
        forecast.placebo_ape(_forecast_at([100], 1000), [])


def test_the_placebo_is_left_one_seed_out_and_exact_when_every_seed_groks_at_once(law_runs):
    same = [law_run(9000, f"seed{k}") for k in range(4)]
    assert set(forecast.placebo_apes(forecast.loso_forecast(same)).values()) == {0.0}
    result = forecast.loso_forecast(law_runs)
    apes = forecast.placebo_apes(result)
    assert list(apes) == [run.name for run in result.runs]
    for run in result.runs:  # brute force: the mean of the eight other t_grok
        mean = np.mean([other.t_grok for other in result.runs if other is not run])
        expected = np.mean([abs(max(step, mean) - run.t_grok) for step in run.steps]) / run.t_grok
        assert apes[run.name] == pytest.approx(expected)
    # the seeds grok 1,000 steps apart: only the middle one (12,000, the others' mean) is forecast exactly
    assert [name for name, value in apes.items() if value == 0] == ["seed4"]
