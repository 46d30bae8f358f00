"""Part III: H̃ of a covariance matrix, its gradient, and the numerical checks of the paper's
Lemma 1 (sensitivity) and Lemma 5 (mixing), against closed forms."""

from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from grokutils.intervention import mix
from grokutils.metrics import spectral as S
from grokutils.metrics import spectral_lemmas as L
from grokutils.metrics.probe import probe_indices

FAST = settings(max_examples=25, deadline=None)


def _random_orthogonal(d: int, seed: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    q, r = torch.linalg.qr(torch.randn(d, d, generator=g, dtype=torch.float64))
    return q * torch.sign(torch.diagonal(r))


def _anisotropic(n: int, d: int, seed: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, d, generator=g, dtype=torch.float64) * torch.linspace(0.2, 3.0, d, dtype=torch.float64)


def _shannon(weights) -> float:
    p = np.asarray(weights, dtype=float) / np.sum(weights)
    return float(-(p[p > 0] * np.log(p[p > 0])).sum() / math.log(len(p)))


# --------------------------------------------------------------------------- H̃ of a covariance


def test_covariance_entropy_of_a_diagonal_matrix_is_the_normalised_shannon_entropy():
    lam = [4.0, 2.0, 1.0, 1.0]
    assert S.covariance_spectral_entropy(torch.diag(torch.tensor(lam))) == pytest.approx(_shannon(lam), abs=1e-10)


def test_isotropic_is_one_and_rank_one_is_zero():
    assert S.covariance_spectral_entropy(3.0 * torch.eye(6)) == pytest.approx(1.0, abs=1e-10)
    u = torch.arange(1.0, 6.0)
    assert S.covariance_spectral_entropy(torch.outer(u, u)) == 0.0
    assert S.covariance_spectral_entropy(torch.tensor([[2.5]])) == 1.0  # d = 1, as for features


def test_features_and_their_covariance_share_one_code_path():
    z = _anisotropic(50, 7, 0)
    cov = S.feature_covariance(z)
    centred = z - z.mean(0)
    assert torch.allclose(cov, centred.T @ centred / 50, atol=0)
    assert S.covariance_spectral_entropy(cov) == S.spectral_entropy(z)


@pytest.mark.parametrize("bad, word", [
    (torch.ones(2, 3), "square"),
    (torch.tensor([[1.0, 0.5], [0.0, 1.0]]), "symmetric"),
    (torch.tensor([[1.0, float("nan")], [float("nan"), 1.0]]), "NaN"),
    (torch.zeros(3, 3), "zero covariance"),
    (torch.diag(torch.tensor([1.0, -0.5])), "positive semi-definite"),
])
def test_bad_covariances_raise(bad, word):
    with pytest.raises(ValueError, match=word):
        S.covariance_spectral_entropy(bad)


@FAST
@given(seed=st.integers(0, 2**31 - 1), d=st.integers(2, 9), scale=st.floats(1e-3, 1e3))
def test_covariance_entropy_is_invariant_to_rotation_and_scale(seed, d, scale):
    z = _anisotropic(3 * d, d, seed)
    cov = S.feature_covariance(z)
    q = _random_orthogonal(d, seed + 1)
    h = S.covariance_spectral_entropy(cov)
    assert 0.0 <= h <= 1.0
    assert S.covariance_spectral_entropy(q @ cov @ q.T) == pytest.approx(h, abs=1e-9)
    assert S.covariance_spectral_entropy(scale * cov) == pytest.approx(h, abs=1e-9)


# --------------------------------------------------------------------------- gradient


def test_gradient_of_a_diagonal_matrix_matches_the_closed_form():
    # ∂H̃/∂λ_i = −(log p_i + H)/(T log d) for ε → 0 (H the unnormalised entropy).
    lam = np.array([4.0, 2.0, 1.0, 0.5])
    p, total = lam / lam.sum(), lam.sum()
    entropy = -(p * np.log(p)).sum()
    expected = -(np.log(p) + entropy) / (total * math.log(4))
    grad = L.spectral_entropy_gradient(torch.diag(torch.tensor(lam)))
    assert np.allclose(np.diag(grad.numpy()), expected, atol=1e-10)
    assert np.allclose(grad.numpy() - np.diag(np.diag(grad.numpy())), 0.0, atol=1e-14)


@FAST
@given(seed=st.integers(0, 2**31 - 1), d=st.integers(2, 8))
def test_gradient_matches_central_finite_differences(seed, d):
    cov = S.feature_covariance(_anisotropic(4 * d, d, seed))
    g = torch.Generator().manual_seed(seed + 7)
    a = torch.randn(d, d, generator=g, dtype=torch.float64)
    direction = (a + a.T) / 2
    h = 1e-6 * float(torch.trace(cov))
    numeric = (S.covariance_spectral_entropy(cov + h * direction)
               - S.covariance_spectral_entropy(cov - h * direction)) / (2 * h)
    analytic = float((L.spectral_entropy_gradient(cov) * direction).sum())
    assert numeric == pytest.approx(analytic, rel=1e-4, abs=1e-9)


def test_gradient_is_zero_at_isotropy_and_orthogonal_to_sigma():
    assert float(L.spectral_entropy_gradient(2.0 * torch.eye(5)).abs().max()) < 1e-12
    cov = S.feature_covariance(_anisotropic(40, 6, 3))
    assert abs(float((L.spectral_entropy_gradient(cov) * cov).sum())) < 1e-12  # scale invariance


# --------------------------------------------------------------------------- Lemma 1


def test_lemma1_ratio_tends_to_the_gradient_norm_and_stays_below_the_proof_constant():
    cov = S.feature_covariance(_anisotropic(200, 8, 0))
    check = L.lemma1_sensitivity(cov, directions=6, seed=1)
    assert check.ratios.shape == (6, 6)
    assert check.trace == pytest.approx(float(torch.trace(cov)))
    assert check.lambda_min == pytest.approx(float(torch.linalg.eigvalsh(cov).min()))
    # The steepest direction (row 0) at the smallest ε attains ‖G‖_F; no direction beats it.
    assert check.ratios[0, 0] == pytest.approx(check.local_constant, rel=1e-3)
    assert check.sup_ratio[0] <= check.local_constant * (1 + 1e-3)
    assert check.local_constant <= check.proof_constant
    assert check.ratios.max() <= check.proof_constant
    # ‖G‖_F and d·M from the closed-form derivative.
    grad = L.spectral_entropy_gradient(cov)
    assert check.local_constant == pytest.approx(float(grad.norm()), rel=1e-10)
    assert check.proof_constant == pytest.approx(8 * float(torch.linalg.eigvalsh(grad).abs().max()), rel=1e-10)


def test_lemma1_constants_scale_with_one_over_the_trace():
    cov = S.feature_covariance(_anisotropic(100, 5, 2))
    small, large = L.lemma1_sensitivity(cov, directions=2), L.lemma1_sensitivity(10 * cov, directions=2)
    assert large.local_constant == pytest.approx(small.local_constant / 10, rel=1e-8)
    assert np.allclose(large.epsilons, 10 * small.epsilons)
    assert np.allclose(large.ratios, small.ratios / 10, rtol=1e-5)


def test_lemma1_at_isotropy_is_second_order():
    check = L.lemma1_sensitivity(torch.eye(4), epsilons=[1e-4, 1e-3, 1e-2], directions=4)
    assert check.local_constant < 1e-12
    ratios = check.sup_ratio
    assert ratios[1] / ratios[0] == pytest.approx(10, rel=0.05)  # |ΔH̃| ∝ ε², so the ratio ∝ ε
    assert ratios[2] / ratios[1] == pytest.approx(10, rel=0.05)


def test_lemma1_derivative_grows_as_the_smallest_eigenvalue_shrinks():
    constants = [L.lemma1_sensitivity(torch.diag(torch.tensor([1.0, 1.0, small])), directions=1).max_derivative
                 for small in (1e-1, 1e-3, 1e-6)]
    assert constants[0] < constants[1] < constants[2]
    # Rank-deficient Σ: Σ + Δ leaves the PSD cone; the clamp keeps every ratio finite.
    check = L.lemma1_sensitivity(torch.diag(torch.tensor([1.0, 1.0, 0.0])), directions=3)
    assert np.isfinite(check.ratios).all()


def test_lemma1_rejects_bad_arguments():
    with pytest.raises(ValueError, match="epsilons"):
        L.lemma1_sensitivity(torch.eye(3), epsilons=[0.0])
    with pytest.raises(ValueError, match="directions"):
        L.lemma1_sensitivity(torch.eye(3), directions=0)
    with pytest.raises(ValueError, match="positive semi-definite"):
        L.lemma1_sensitivity(torch.diag(torch.tensor([1.0, -1.0])))


# --------------------------------------------------------------------------- Lemma 5


def test_mixing_uses_the_interventions_cyclic_shift():
    z = _anisotropic(6, 3, 0)
    assert torch.equal(L.mixed_features(z, 0.1), mix(z, 0.1))
    assert torch.allclose(L.mixed_features(z, 0.25)[0], 0.75 * z[0] + 0.25 * z[1])
    assert torch.allclose(L.mixed_features(z, 0.25)[-1], 0.75 * z[-1] + 0.25 * z[0])


@pytest.mark.parametrize("alpha", [0.0, 0.05, 0.3, 0.5, 1.0])
def test_mixed_covariance_matches_its_closed_form(alpha):
    z = _anisotropic(30, 4, 1)
    sigma, cross = S.feature_covariance(z), L.shift_cross_covariance(z)
    expected = ((1 - alpha) ** 2 + alpha ** 2) * sigma + alpha * (1 - alpha) * (cross + cross.T)
    assert torch.allclose(L.mixed_covariance(z, alpha), expected, atol=1e-12)


def test_mixing_identical_rows_changes_nothing():
    z = torch.tensor([[1.0, -2.0, 0.5]]).repeat(8, 1)
    assert torch.allclose(L.mixed_features(z, 0.3), z.double())
    assert float(L.mixed_covariance(z, 0.3).abs().max()) < 1e-14
    with pytest.raises(ValueError, match="covariance is zero"):
        L.lemma5_mixing(z)


def test_mixing_a_full_shift_or_its_mirror_gives_the_same_entropy():
    z = _anisotropic(40, 5, 4)
    check = L.lemma5_mixing(z, alphas=[0.2, 0.8, 1.0])
    assert check.mixed[2] == pytest.approx(check.entropy, abs=1e-12)  # α = 1: a permutation of the rows
    assert check.mixed[0] == pytest.approx(check.mixed[1], abs=1e-12)  # α ↔ 1 − α


def test_lemma5_first_order_term_matches_finite_differences():
    z = _anisotropic(64, 6, 5)
    check = L.lemma5_mixing(z)
    h = 1e-6
    numeric = (S.covariance_spectral_entropy(L.mixed_covariance(z, h)) - check.entropy) / h
    assert numeric == pytest.approx(check.first_order, rel=1e-3, abs=1e-8)
    assert check.change == pytest.approx(check.mixed - check.entropy)
    expected_k = max(0.0, float(np.max(-check.change / check.alphas ** 2)))
    assert check.quadratic_constant == pytest.approx(expected_k)


def test_lemma5_on_a_collapsed_batch_mixing_raises_entropy():
    # Rows that alternate along two directions: neighbours differ, so mixing spreads the spectrum.
    g = torch.Generator().manual_seed(0)
    n = 64
    base = torch.zeros(n, 4, dtype=torch.float64)
    base[0::2, 0] = 3.0
    base[1::2, 1] = 3.0
    z = base + 0.01 * torch.randn(n, 4, generator=g, dtype=torch.float64)
    check = L.lemma5_mixing(z, alphas=[0.01, 0.1, 0.3])
    assert check.entropy < 0.6
    assert (check.change >= 0).all() and check.quadratic_constant == 0.0


def test_lemma5_rejects_bad_alphas():
    with pytest.raises(ValueError, match="alphas"):
        L.lemma5_mixing(_anisotropic(10, 3, 0), alphas=[0.0])
    with pytest.raises(ValueError, match="alpha"):
        L.mixed_features(_anisotropic(10, 3, 0), 1.5)


# --------------------------------------------------------------------------- the callback's test probe


class _Model(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.lin = torch.nn.Linear(6, 5)

    def features(self, x):
        return torch.tanh(self.lin(x))


def test_callback_records_a_fixed_random_test_probe():
    torch.manual_seed(0)
    model = _Model()
    x_train, x_test = torch.randn(600, 6), torch.randn(700, 6)
    row = S.spectral_metrics(SimpleNamespace(model=model, data=SimpleNamespace(x_train=x_train, x_test=x_test)))
    assert set(row) == {"spectral_entropy", "effective_rank", "spectral_entropy_test"}
    index = probe_indices(700, S.PROBE_SIZE, S.TEST_PROBE_SEED)
    with torch.no_grad():
        expected = S.spectral_entropy(model.features(x_test[index]))
    assert row["spectral_entropy_test"] == pytest.approx(expected, abs=1e-12)
    # The same samples at every call, and a small test split is used whole.
    again = S.spectral_metrics(SimpleNamespace(model=model, data=SimpleNamespace(x_train=x_train, x_test=x_test)))
    assert again == row
    small = S.spectral_metrics(SimpleNamespace(model=model, data=SimpleNamespace(x_train=x_train, x_test=x_test[:50])))
    with torch.no_grad():
        # the probe is the 50 rows in another order: equal up to float32 rounding of the features' sums
        whole = S.spectral_entropy(model.features(x_test[:50]))
    assert small["spectral_entropy_test"] == pytest.approx(whole, abs=1e-7)
