"""Brute-force and closed-form tests of grokutils.part2.distance_bound: Theorem 3.2, Corollaries 3.3 and
3.4 and Figure 3 of Tan & Huang (2023)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy.spatial.distance import cdist
from scipy.special import erf
from scipy.stats import halfnorm, norm

from grokutils.part2 import distance_bound as db


def rng(seed: int = 0) -> np.random.Generator:
    return np.random.default_rng(seed)


# ----------------------------------------------------------------------------------------------
# Nearest training distances
# ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("chunk_size", [1, 7, 1024])
def test_nearest_distances_match_brute_force(chunk_size):
    test, train = rng(1).normal(size=(53, 3, 4)), rng(2).normal(size=(31, 3, 4))
    distances, index = db.nearest_train_distances(test, train, chunk_size=chunk_size, return_index=True)
    full = cdist(test.reshape(53, -1), train.reshape(31, -1))
    np.testing.assert_allclose(distances, full.min(axis=1), rtol=1e-12)
    np.testing.assert_array_equal(index, full.argmin(axis=1))
    assert distances.dtype == np.float64


def test_duplicated_points_are_at_distance_zero():
    train = rng(3).normal(size=(20, 784)) * 5 + 3
    test = np.concatenate([train[[4, 11, 4]], rng(4).normal(size=(5, 784))])
    distances, index = db.nearest_train_distances(test, train, return_index=True)
    assert distances[:3].tolist() == [0.0, 0.0, 0.0]
    assert index[:3].tolist() == [4, 11, 4]
    assert (distances[3:] > 0).all()


def test_nearest_distances_take_float32_tensors_as_float64():
    test, train = torch.randn(10, 1, 5, 5), torch.randn(12, 1, 5, 5)
    expected = cdist(test.reshape(10, -1).double().numpy(), train.reshape(12, -1).double().numpy()).min(axis=1)
    np.testing.assert_allclose(db.nearest_train_distances(test, train), expected, rtol=1e-12)


def test_between_class_distance_matches_brute_force():
    x, y = rng(5).normal(size=(40, 6)), rng(6).integers(0, 3, size=40)
    full = cdist(x, x)
    assert db.between_class_distance(x, y, chunk_size=4) == pytest.approx(full[y[:, None] != y[None, :]].min())


def test_nearest_distances_on_offline_mnist(mnist_offline):
    distances = db.nearest_train_distances(mnist_offline.x_test[:300], mnist_offline.x_train)
    flat = (mnist_offline.x_test[:300].reshape(300, -1).double().numpy(),
            mnist_offline.x_train.reshape(1000, -1).double().numpy())
    np.testing.assert_allclose(distances, cdist(*flat).min(axis=1), rtol=1e-10)


@pytest.mark.parametrize("test, train, match", [
    (np.zeros((0, 4)), np.zeros((3, 4)), "empty"),
    (np.full((2, 4), np.nan), np.zeros((3, 4)), "NaN"),
    (np.zeros((2, 4)), np.zeros((3, 5)), "same number"),
    (np.zeros(4), np.zeros((3, 4)), "one row per input"),
])
def test_nearest_distances_reject_bad_inputs(test, train, match):
    with pytest.raises(ValueError, match=match):
        db.nearest_train_distances(test, train)


# ----------------------------------------------------------------------------------------------
# ρ(r): empirical and half-normal
# ----------------------------------------------------------------------------------------------


def test_empirical_rho_is_a_cdf():
    d = rng(7).gamma(4.0, size=500)
    grid = np.linspace(0, d.max() * 1.2, 2001)
    rho = db.neighbouring_probability(d, grid)
    assert rho.shape == grid.shape and (np.diff(rho) >= 0).all()
    assert db.neighbouring_probability(d, d.min() * 0.999) == 0.0
    assert db.neighbouring_probability(d, d.max()) == 1.0
    assert db.neighbouring_probability(d, math.inf) == 1.0
    assert db.neighbouring_probability(d, np.sort(d)[99]) == pytest.approx(100 / 500)
    assert db.neighbouring_probability(d, grid.reshape(-1, 1)).shape == (2001, 1)


def test_agree_counts_only_correctly_labelled_points():
    d, agree = np.array([1.0, 2.0, 3.0, 4.0]), np.array([True, False, True, True])
    np.testing.assert_allclose(db.neighbouring_probability(d, [1.5, 2.5, 10], agree=agree), [0.25, 0.25, 0.75])


def test_half_normal_model_is_the_closed_form_cdf():
    r = np.linspace(0, 0.1, 101)
    np.testing.assert_allclose(db.half_normal_probability(r, 0.01), halfnorm.cdf(r, scale=0.01), atol=1e-14)
    np.testing.assert_allclose(db.half_normal_probability(r, 0.01), 2 * norm.cdf(r / 0.01) - 1, atol=1e-14)
    assert db.half_normal_probability(0.0, 0.01) == 0.0


def test_half_normal_fit_is_the_maximum_likelihood_scale():
    d = halfnorm.rvs(scale=2.0, size=20_000, random_state=8)
    assert db.fit_half_normal_scale(d) == pytest.approx(np.sqrt(np.mean(d ** 2)))
    assert db.fit_half_normal_scale(d) == pytest.approx(halfnorm.fit(d, floc=0)[1], rel=1e-6)
    assert db.fit_half_normal_scale(d) == pytest.approx(2.0, rel=0.03)


@pytest.mark.parametrize("distances, r, match", [
    ([], 1.0, "empty"), ([1.0, -0.5], 1.0, "negative"), ([1.0, np.nan], 1.0, "NaN"),
    ([1.0, 2.0], -1.0, "r="), ([1.0, 2.0], np.nan, "r="), ([1.0, 2.0], [], "r="),
])
def test_rho_rejects_bad_inputs(distances, r, match):
    with pytest.raises(ValueError, match=match):
        db.neighbouring_probability(distances, r)


def test_rho_rejects_a_mask_of_the_wrong_shape():
    with pytest.raises(ValueError, match="boolean array of shape"):
        db.neighbouring_probability([1.0, 2.0], 1.0, agree=[True])


# ----------------------------------------------------------------------------------------------
# r(θ), its constants and the predicted accuracy
# ----------------------------------------------------------------------------------------------


def test_radius_solves_the_theorem_quadratic():
    norms = np.array([10.0, 50.0, 90.0])
    np.testing.assert_allclose(db.radius(norms, scale=0.02, margin=0.5), 0.5 / (0.02 * norms))
    r = db.radius(norms, scale=0.02, lipschitz=0.3, margin=0.4)
    np.testing.assert_allclose(0.02 * norms * r + 0.3 * r ** 2 / 2, 0.4, rtol=1e-12)
    assert db.radius(0.0, scale=1.0).item() == math.inf
    assert (db.radius(norms, scale=0.02, lipschitz=1.0) < db.radius(norms, scale=0.02)).all()


def test_predicted_accuracy_falls_as_the_norm_grows():
    """Theorem 3.2: a larger norm gives a smaller radius and a smaller (or equal) predicted accuracy."""
    norms = np.linspace(20, 100, 81)
    d = rng(9).gamma(9.0, size=400)
    for lipschitz in (0.0, 0.005):
        p = db.predicted_accuracy(norms, d, scale=0.005, lipschitz=lipschitz)
        assert (np.diff(p.radius) < 0).all()
        assert (np.diff(p.empirical) <= 0).all() and (np.diff(p.half_normal) < 0).all()
        assert p.empirical[0] > p.empirical[-1]
    assert p.half_normal_scale == pytest.approx(db.fit_half_normal_scale(d))
    fixed = db.predicted_accuracy(norms, d, scale=0.005, half_normal_scale=2.0)
    np.testing.assert_allclose(fixed.half_normal, erf(fixed.radius / (2.0 * math.sqrt(2))))


def test_train_consistent_scale_is_tight_and_caps_the_radius():
    delta, norms = 3.0, np.array([80.0, 60.0, 45.0, 50.0])
    for lipschitz in (0.0, 0.1):
        kappa = db.train_consistent_scale(delta, norms, lipschitz=lipschitz)
        g = kappa * norms.min()
        assert g * delta + lipschitz * delta ** 2 / 2 == pytest.approx(math.sqrt(2))
        r_max = db.largest_admissible_radius(delta, lipschitz=lipschitz)
        r = db.radius(norms, scale=kappa, lipschitz=lipschitz)
        assert r.max() == pytest.approx(r_max) and (db.radius(norms, scale=kappa * 1.5, lipschitz=lipschitz)
                                                     < r_max).all()
    assert db.largest_admissible_radius(delta) == pytest.approx(0.5 * delta / math.sqrt(2))


def test_largest_radius_over_every_lipschitz_constant():
    delta = 4.0
    best = max(db.largest_admissible_radius(delta, lipschitz=L) for L in np.linspace(0, 1, 20_001))
    assert db.largest_admissible_radius(delta, lipschitz=None) == pytest.approx(best, rel=1e-4)
    assert db.largest_admissible_radius(delta, lipschitz=None) >= best
    at_kink = db.largest_admissible_radius(delta, lipschitz=2 * math.sqrt(2) / delta ** 2)
    assert at_kink == pytest.approx(db.largest_admissible_radius(delta, lipschitz=None), rel=1e-12)


def test_lemma31_scale():
    np.testing.assert_allclose(db.lemma31_scale([4.0, 1.0], 100, 5.0), [4.0, 2.0])


def test_critical_scale_is_where_the_bound_first_beats_chance():
    d, norms = rng(10).gamma(9.0, size=1000), np.linspace(40, 90, 30)
    for lipschitz in (0.0, 0.001):
        kappa = db.critical_scale(norms, d, 10, lipschitz=lipschitz)
        above = db.predicted_accuracy(norms, d, scale=kappa * (1 - 1e-9), lipschitz=lipschitz).empirical
        below = db.predicted_accuracy(norms, d, scale=kappa * (1 + 1e-6), lipschitz=lipschitz).empirical
        assert above.max() > 0.1 and below.max() <= 0.1
    assert math.isnan(db.critical_scale(norms, d, 10, agree=np.arange(1000) < 100))


@pytest.mark.parametrize("call, match", [
    (lambda: db.radius([1.0], scale=-1.0), "negative"),
    (lambda: db.radius([1.0, 2.0], scale=[1.0, 2.0, 3.0]), "shape"),
    (lambda: db.radius([1.0], scale=1.0, margin=0.75), "margin"),
    (lambda: db.radius([1.0], scale=1.0, margin=0.0), "margin"),
    (lambda: db.radius([1.0], scale=1.0, lipschitz=-1.0), "lipschitz"),
    (lambda: db.critical_scale([1.0], [1.0], 1), "num_classes"),
    (lambda: db.train_consistent_scale(0.0, [1.0]), "between_class"),
    (lambda: db.between_class_distance(np.zeros((3, 2)), [1, 1, 1]), "single class"),
    (lambda: db.half_normal_probability(1.0, 0.0), "scale"),
    (lambda: db.paper_figure3(form="cubic"), "form"),
])
def test_constants_are_checked(call, match):
    with pytest.raises(ValueError, match=match):
        call()


# ----------------------------------------------------------------------------------------------
# Figure 3 as read
# ----------------------------------------------------------------------------------------------


def test_paper_curve_rises_with_the_decaying_norm():
    curve = db.paper_figure3()
    assert curve.steps[0] == 1 and curve.steps[-1] == db.PAPER_STEPS and curve.form == "hyperbolic"
    assert (np.diff(curve.norms) < 0).all() and (np.diff(curve.accuracy) >= 0).all()
    norm = 1925 / (1 + 1e4 / 500)
    at = db.paper_figure3([1e4])
    assert at.norms[0] == pytest.approx(norm) and at.accuracy[0] == pytest.approx(erf(1 / (norm * 0.01 * 2 ** .5)))


def test_paper_curve_where_the_norm_model_reaches_zero():
    curve = db.paper_figure3([10.0, 1e4], form="log-linear")
    assert curve.norms[1] < 0 and curve.radius[1] == math.inf and curve.accuracy[1] == 1.0


# ----------------------------------------------------------------------------------------------
# The summary: vacuous, informative, invalid
# ----------------------------------------------------------------------------------------------

STEPS = np.array([0, 100, 200, 300, 400])
MEASURED = np.array([0.10, 0.12, 0.40, 0.80, 0.90])


def test_always_vacuous():
    s = db.summarise_bound(STEPS, np.full(5, 0.05), MEASURED, 10)
    assert s.vacuous and s.valid and not s.informative and s.first_step_above_chance is None
    assert s.largest_gap == pytest.approx(0.85) and db.is_vacuous(np.full(5, 0.05), 10)


def test_valid_and_informative():
    s = db.summarise_bound(STEPS, MEASURED / 2, MEASURED, 10)
    assert s.informative and s.first_step_above_chance == 200 and s.first_step_above_measured is None
    assert s.largest_gap == pytest.approx(0.45) and s.largest_violation == pytest.approx(-0.05)
    assert not db.is_vacuous(MEASURED / 2, 10)


def test_invalid_where_the_bound_exceeds_the_measured_accuracy():
    bound = np.array([0.05, 0.30, 0.30, 0.70, 0.85])
    s = db.summarise_bound(STEPS, bound, MEASURED, 10)
    assert not s.valid and s.first_step_above_measured == 100 and s.largest_violation == pytest.approx(0.18)
    fitted = np.array([False, False, True, True, True])
    t = db.summarise_bound(STEPS, bound, MEASURED, 10, where=fitted)
    assert t.valid and t.informative and t.steps_used == 3 and t.first_step_above_chance == 200
    assert db.summarise_bound(STEPS, bound, MEASURED, 10, tol=0.2).valid


@pytest.mark.parametrize("steps, bound, measured, where, match", [
    (STEPS[:4], MEASURED, MEASURED, None, "equal lengths"),
    (STEPS, MEASURED * 2, MEASURED, None, r"\[0, 1\]"),
    (STEPS, MEASURED, MEASURED, np.zeros(5, dtype=bool), "no step"),
    (STEPS, MEASURED, MEASURED, np.ones(5), "boolean"),
])
def test_summary_rejects_bad_inputs(steps, bound, measured, where, match):
    with pytest.raises(ValueError, match=match):
        db.summarise_bound(steps, bound, measured, 10, where=where)
