"""Known-answer and property tests of grokutils.metrics.spectral (Parts II and III)."""

from __future__ import annotations

import math
import time
from types import SimpleNamespace

import mpmath
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from grokutils.metrics.spectral import (
    PROBE_SIZE,
    effective_rank,
    gaussian_gram,
    linear_gram,
    matrix_mutual_information,
    matrix_renyi_entropy,
    spectral_entropy,
    spectral_metrics,
)

FAST = settings(max_examples=25, deadline=None)


def _orthonormal_centred(n: int, k: int, seed: int) -> torch.Tensor:
    """n × k matrix with orthonormal columns, each orthogonal to the all-ones vector (mean 0)."""
    g = torch.Generator().manual_seed(seed)
    m = torch.randn(n, k + 1, generator=g, dtype=torch.float64)
    m[:, 0] = 1.0
    q, _ = torch.linalg.qr(m)
    return q[:, 1:]


def _random_orthogonal(d: int, seed: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    q, r = torch.linalg.qr(torch.randn(d, d, generator=g, dtype=torch.float64))
    return q * torch.sign(torch.diagonal(r))


# --------------------------------------------------------------------------- spectral entropy


def test_isotropic_gaussian_large_n_is_close_to_one():
    # Sample covariance eigenvalues spread with variance ≈ γ = d/n (Marchenko–Pastur), and
    # 1 − H̃ ≈ γ / (2 log d): here 5e-4 / 4.6 ≈ 1.1e-4. The 1e-3 tolerance is ~10× that.
    g = torch.Generator().manual_seed(0)
    z = torch.randn(20_000, 10, generator=g)
    h = spectral_entropy(z)
    assert 1 - 1e-3 < h <= 1.0


def test_exact_isotropic_covariance_is_one():
    n, d = 64, 8
    z = 3.0 * _orthonormal_centred(n, d, seed=1) + 5.0  # Σ = (9/n) I exactly (up to round-off)
    centred = z - z.mean(0)
    torch.testing.assert_close(centred.T @ centred / n, 9.0 / n * torch.eye(d, dtype=torch.float64))
    assert spectral_entropy(z) == pytest.approx(1.0, abs=1e-9)
    assert effective_rank(z) == pytest.approx(d, abs=1e-7)


def test_rank_one_is_zero():
    g = torch.Generator().manual_seed(2)
    direction = torch.randn(16, generator=g, dtype=torch.float64)
    coeffs = torch.randn(100, 1, generator=g, dtype=torch.float64)
    z = coeffs * direction + 1.0
    assert spectral_entropy(z) == pytest.approx(0.0, abs=1e-6)
    assert effective_rank(z) == pytest.approx(1.0, abs=1e-5)


@pytest.mark.parametrize("r", [1, 2, 3, 5])
def test_effective_rank_of_equal_eigenvalue_rank_r(r):
    n, d = 50, 12
    basis = _orthonormal_centred(n, r, seed=3)  # n × r, centred, orthonormal
    embed = _random_orthogonal(d, seed=4)[:r]  # r × d, orthonormal rows
    z = 2.0 * basis @ embed
    assert effective_rank(z) == pytest.approx(r, abs=1e-6)
    assert spectral_entropy(z) == pytest.approx(math.log(r) / math.log(d), abs=1e-7)


def test_d_greater_than_n_is_allowed():
    g = torch.Generator().manual_seed(5)
    z = torch.randn(8, 40, generator=g)
    h = spectral_entropy(z)
    # Rank ≤ n − 1 = 7, so H̃ ≤ log 7 / log 40.
    assert 0.0 < h <= math.log(7) / math.log(40) + 1e-12


def test_d_equal_one_is_defined_as_one():
    z = torch.arange(10.0)[:, None]
    assert spectral_entropy(z) == 1.0
    assert effective_rank(z) == 1.0


def test_zero_covariance_raises():
    z = torch.full((20, 4), 0.1, dtype=torch.float64)
    with pytest.raises(ValueError, match="covariance is zero"):
        spectral_entropy(z)
    with pytest.raises(ValueError, match="covariance is zero"):
        effective_rank(torch.zeros(5, 3))


@pytest.mark.parametrize("bad,word", [(float("nan"), "NaN"), (float("inf"), "infinite")])
def test_non_finite_features_raise(bad, word):
    z = torch.randn(10, 3)
    z[4, 1] = bad
    with pytest.raises(ValueError, match=word):
        spectral_entropy(z)


@pytest.mark.parametrize("shape", [(10,), (1, 5), (2, 3, 4)])
def test_bad_feature_shapes_raise(shape):
    with pytest.raises(ValueError):
        spectral_entropy(torch.randn(*shape))


@FAST
@given(
    seed=st.integers(0, 2**31 - 1),
    n=st.integers(3, 30),
    d=st.integers(2, 12),
    scale=st.floats(1e-3, 1e3),
    shift=st.floats(-100, 100),
)
def test_invariant_to_rotation_scaling_translation(seed, n, d, scale, shift):
    g = torch.Generator().manual_seed(seed)
    # Anisotropic features so the entropy is not trivially 1.
    z = torch.randn(n, d, generator=g, dtype=torch.float64) * torch.linspace(0.2, 3.0, d, dtype=torch.float64)
    q = _random_orthogonal(d, seed + 1)
    offset = shift * torch.randn(d, generator=g, dtype=torch.float64)
    h = spectral_entropy(z)
    assert 0.0 <= h <= 1.0
    assert spectral_entropy(z @ q) == pytest.approx(h, abs=1e-9)
    assert spectral_entropy(scale * z) == pytest.approx(h, abs=1e-9)
    assert spectral_entropy(z + offset) == pytest.approx(h, abs=1e-7)


def test_speed_1000_by_200():
    g = torch.Generator().manual_seed(6)
    z = torch.randn(1000, 200, generator=g)
    spectral_entropy(z)  # warm-up
    best = min(_timed(spectral_entropy, z) for _ in range(3))
    print(f"spectral_entropy on 1000x200: {best * 1e3:.1f} ms (target < 50 ms)")
    assert best < 0.150


def _timed(fn, *args) -> float:
    start = time.perf_counter()
    fn(*args)
    return time.perf_counter() - start


# --------------------------------------------------------------------------- callback


class _Model(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.lin = torch.nn.Linear(6, 5)

    def features(self, x):
        return torch.tanh(self.lin(x))


def test_callback_uses_fixed_probe_without_grad():
    torch.manual_seed(7)
    model = _Model()
    x = torch.randn(PROBE_SIZE + 100, 6)
    context = SimpleNamespace(model=model, data=SimpleNamespace(x_train=x))
    row = spectral_metrics(context)
    assert set(row) == {"spectral_entropy", "effective_rank"}
    assert all(isinstance(v, float) for v in row.values())
    with torch.no_grad():
        expected = spectral_entropy(model.features(x[:PROBE_SIZE]))
    assert row["spectral_entropy"] == pytest.approx(expected, abs=1e-12)
    assert row["effective_rank"] == pytest.approx(math.exp(expected * math.log(5)), rel=1e-12)
    # Samples past the probe do not matter.
    x2 = torch.cat([x[:PROBE_SIZE], 1e3 * torch.randn(100, 6)])
    assert spectral_metrics(SimpleNamespace(model=model, data=SimpleNamespace(x_train=x2))) == row


# --------------------------------------------------------------------------- matrix Rényi entropy


@pytest.mark.parametrize("alpha", [0.5, 1.0, 1.01, 2.0, 5.0, 1000.0])
@pytest.mark.parametrize("n", [2, 7, 32])
def test_identity_gram_entropy_is_log_n(alpha, n):
    k = torch.eye(n, dtype=torch.float64) * 3.0  # normalisation removes the scale
    assert matrix_renyi_entropy(k, alpha) == pytest.approx(math.log(n), abs=1e-10)


@pytest.mark.parametrize("alpha", [0.5, 1.0, 2.0])
def test_rank_one_gram_entropy_is_zero(alpha):
    assert matrix_renyi_entropy(torch.ones(9, 9), alpha) == pytest.approx(0.0, abs=1e-10)


def test_alpha_one_limit_is_continuous():
    g = torch.Generator().manual_seed(8)
    k = gaussian_gram(torch.randn(20, 3, generator=g), sigma=1.0)
    von_neumann = matrix_renyi_entropy(k, 1.0)
    for alpha in (1 - 1e-4, 1 + 1e-4):
        assert matrix_renyi_entropy(k, alpha) == pytest.approx(von_neumann, abs=1e-3)
    # Rényi entropy is non-increasing in α.
    assert matrix_renyi_entropy(k, 1 - 1e-4) >= von_neumann >= matrix_renyi_entropy(k, 1 + 1e-4)


def test_identity_mutual_information_is_log_n():
    n = 10
    eye = torch.eye(n)
    for alpha in (1.0, 2.0):
        assert matrix_mutual_information(eye, eye, alpha) == pytest.approx(math.log(n), abs=1e-10)


def test_linear_and_gaussian_grams():
    x = torch.tensor([[0.0, 0.0], [3.0, 4.0]])
    torch.testing.assert_close(linear_gram(x), torch.tensor([[0.0, 0.0], [0.0, 25.0]], dtype=torch.float64))
    k = gaussian_gram(x, sigma=5.0)
    expected = math.exp(-25 / 50)
    torch.testing.assert_close(k, torch.tensor([[1.0, expected], [expected, 1.0]], dtype=torch.float64))
    with pytest.raises(ValueError, match="sigma"):
        gaussian_gram(x, sigma=0.0)


@FAST
@given(
    seed=st.integers(0, 2**31 - 1),
    n=st.integers(2, 16),
    sigma_a=st.floats(0.1, 10.0),
    sigma_b=st.floats(0.1, 10.0),
    alpha=st.sampled_from([1.0, 2.0]),
)
def test_mutual_information_is_non_negative_at_order_one(seed, n, sigma_a, sigma_b, alpha):
    """Non-negative at α = 1; at α = 2 the matrix Rényi MI can dip slightly below 0 (see below)."""
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 3, generator=g, dtype=torch.float64)
    y = x[:, :2] + 0.5 * torch.randn(n, 2, generator=g, dtype=torch.float64)
    ka, kb = gaussian_gram(x, sigma_a), gaussian_gram(y, sigma_b)
    mi = matrix_mutual_information(ka, kb, alpha)
    assert mi >= (-1e-9 if alpha == 1.0 else -0.01)
    # And bounded by each marginal entropy (joint ≥ max of marginals, Sanchez Giraldo et al.).
    assert mi <= min(matrix_renyi_entropy(ka, alpha), matrix_renyi_entropy(kb, alpha)) + 1e-9


def test_order_two_mutual_information_is_not_always_non_negative():
    """Rényi entropies of order 2 are not subadditive: a found counterexample (MI ≈ −2.8e-4),
    kept so that nobody asserts non-negativity at α = 2 again."""
    g = torch.Generator().manual_seed(166)
    x = torch.randn(3, 3, generator=g, dtype=torch.float64)
    y = x[:, :2] + 0.5 * torch.randn(3, 2, generator=g, dtype=torch.float64)
    mi = matrix_mutual_information(gaussian_gram(x, 4.0), gaussian_gram(y, 2.0), 2.0)
    assert -1e-3 < mi < 0
    assert matrix_mutual_information(gaussian_gram(x, 4.0), gaussian_gram(y, 2.0), 1.0) >= 0


def test_matrix_validation_errors():
    with pytest.raises(ValueError, match="square"):
        matrix_renyi_entropy(torch.ones(3, 4), 2.0)
    with pytest.raises(ValueError, match="symmetric"):
        matrix_renyi_entropy(torch.tensor([[1.0, 0.5], [0.0, 1.0]]), 2.0)
    for alpha in (0.0, -1.0, float("nan"), float("inf")):
        with pytest.raises(ValueError, match="alpha"):
            matrix_renyi_entropy(torch.eye(3), alpha)
    with pytest.raises(ValueError, match="NaN"):
        matrix_renyi_entropy(torch.full((2, 2), float("nan")), 2.0)
    with pytest.raises(ValueError, match="infinite"):
        matrix_renyi_entropy(torch.full((2, 2), float("inf")), 2.0)
    with pytest.raises(ValueError, match="trace"):
        matrix_renyi_entropy(torch.zeros(3, 3), 2.0)
    with pytest.raises(ValueError, match="positive semi-definite"):
        matrix_renyi_entropy(torch.tensor([[1.0, 2.0], [2.0, 1.0]]), 2.0)
    with pytest.raises(ValueError, match="same shape"):
        matrix_mutual_information(torch.eye(3), torch.eye(4), 2.0)


# --------------------------------------------------------------------------- feature (dual) forms

@pytest.mark.parametrize("n, d_a, d_b", [(50, 3, 4), (50, 10, 10), (20, 30, 2), (30, 5, 40)])
@pytest.mark.parametrize("alpha", [0.5, 1.0, 2.0])
def test_feature_forms_equal_the_gram_forms(n, d_a, d_b, alpha):
    from grokutils.metrics.spectral import feature_information_terms, feature_mutual_information, feature_renyi_entropy

    g = torch.Generator().manual_seed(n + d_a + d_b)
    a = torch.randn(n, d_a, generator=g, dtype=torch.float64)
    b = torch.randn(n, d_b, generator=g, dtype=torch.float64)
    ka, kb = linear_gram(a), linear_gram(b)
    assert feature_renyi_entropy(a, alpha) == pytest.approx(matrix_renyi_entropy(ka, alpha), abs=1e-9)
    assert feature_mutual_information(a, b, alpha) == pytest.approx(
        matrix_mutual_information(ka, kb, alpha), abs=1e-9)
    s_a, s_b, _ = feature_information_terms(a, b, alpha)
    assert (s_a, s_b) == (pytest.approx(matrix_renyi_entropy(ka, alpha), abs=1e-9),
                          pytest.approx(matrix_renyi_entropy(kb, alpha), abs=1e-9))


def test_feature_forms_reject_mismatched_rows():
    from grokutils.metrics.spectral import feature_mutual_information

    with pytest.raises(ValueError, match="same rows"):
        feature_mutual_information(torch.randn(5, 2), torch.randn(6, 2), 1.0)


# --------------------------------------------------------------------------- cut-off and precision (α < 1 and S ≪ 1)

def _mp_renyi(spectrum, alpha: float) -> float:
    """S_α at 60 digits of mpmath eigenvalues; those within 1e-40·λ_max are the 60-digit solver's zeros."""
    with mpmath.workdps(60):
        ev = [e for e in spectrum if e > mpmath.mpf("1e-40") * max(spectrum)]
        lam = [e / mpmath.fsum(ev) for e in ev]
        if alpha == 1.0:
            return float(-mpmath.fsum(x * mpmath.log(x) for x in lam))
        return float(mpmath.log(mpmath.fsum(x ** alpha for x in lam)) / (1 - alpha))


def _mp_eigenvalues(matrix: torch.Tensor) -> list:
    with mpmath.workdps(60):
        return list(mpmath.eigsy(mpmath.matrix(matrix.tolist()), eigvals_only=True))


def _mp_feature_spectrum(z: torch.Tensor) -> list:
    """Eigenvalues of Zᵀ Z (the non-zero spectrum of Z Zᵀ), the products exact at 60 digits."""
    with mpmath.workdps(60):
        zm = mpmath.matrix(z.tolist())
        return list(mpmath.eigsy(zm.T * zm, eigvals_only=True))


def _near_collapsed(n: int, d: int, shift: int, seed: int = 0) -> torch.Tensor:
    """Rows a + 2^-shift · e_i (a, e_i small integers): all close to one vector, exactly representable."""
    g = torch.Generator().manual_seed(seed)
    a = torch.randint(1, 4, (d,), generator=g).double()
    return a + 2.0 ** -shift * torch.randint(-3, 4, (n, d), generator=g).double()


@pytest.mark.parametrize("alpha", [0.1, 0.5, 1.0, 2.0])
def test_exactly_rank_deficient_gram_drops_round_off(alpha):
    # Z = A B with integer A (24 × 3), B (3 × 6): Z and K = Z Zᵀ are exact, of rank 3. eigvalsh returns 21
    # round-off eigenvalues of a few ε·‖K‖, svdvals 3 round-off singular values, below the cut-offs
    # n·ε·λ_max and max(n, d)·ε·σ_max; kept, α = 0.1 would turn each into ~(1e-16)^0.1 = 0.03.
    from grokutils.metrics.spectral import feature_renyi_entropy

    g = torch.Generator().manual_seed(11)
    z = torch.randint(-3, 4, (24, 3), generator=g).double() @ torch.randint(-3, 4, (3, 6), generator=g).double()
    gram = z @ z.T
    expected = _mp_renyi(_mp_feature_spectrum(z), alpha)
    assert matrix_renyi_entropy(gram, alpha) == pytest.approx(expected, rel=1e-12, abs=0)
    assert feature_renyi_entropy(z, alpha) == pytest.approx(expected, rel=1e-12, abs=0)
    raw = torch.linalg.eigvalsh(gram / torch.trace(gram))
    assert bool((raw[:-3] != 0).any())
    assert float(raw[:-3].abs().max()) < 24 * torch.finfo(torch.float64).eps * float(raw[-1])


@pytest.mark.parametrize("alpha, shift", [(0.1, 11), (0.5, 11), (1.0, 11), (2.0, 11), (1.0, 17), (2.0, 17)])
def test_near_collapsed_full_rank_gram_keeps_its_small_eigenvalues(alpha, shift):
    # 16 × 16 Gram of rows close to one vector: 15 real eigenvalues from 9e-11 (shift 11) or 2e-14
    # (shift 17) of λ_max, above the cut-off 16·ε·λ_max = 3.6e-15, so all are kept. For α ≥ 1, S_α ≪ 1
    # and the former log Σ λ^α lost its digits (relative error 2.8e-6 at α = 2, shift 17; now 8e-8).
    # For α < 1 at shift 17 eigvalsh's own error ε·‖K‖₂ (1 % of the smallest eigenvalue) leaves ~3e-6.
    gram = linear_gram(_near_collapsed(16, 16, shift))
    spectrum = _mp_eigenvalues(gram)
    small = float(min(spectrum) / max(spectrum))
    assert small > 5 * 16 * torch.finfo(torch.float64).eps
    assert matrix_renyi_entropy(gram, alpha) == pytest.approx(_mp_renyi(spectrum, alpha), rel=1e-6, abs=0)


@pytest.mark.parametrize("alpha", [0.1, 0.5, 1.0, 2.0])
def test_feature_form_resolves_eigenvalues_below_the_gram_cut_off(alpha):
    # Rows a + 2^-24 e_i: the Gram Z Zᵀ has 4 real eigenvalues of 3e-16 to 2e-15 λ_max, below n·ε·λ_max
    # (so matrix_renyi_entropy must drop them), which carry all of S_α. The singular values of Z hold them
    # to ~1e-8; the former feature form (eigvalsh of Zᵀ Z) returned 0, a relative error of 1.
    from grokutils.metrics.spectral import feature_information_terms, feature_renyi_entropy

    z = _near_collapsed(40, 5, 24)
    spectrum = _mp_feature_spectrum(z)
    assert float(sorted(spectrum)[-2] / max(spectrum)) < 40 * torch.finfo(torch.float64).eps
    expected = _mp_renyi(spectrum, alpha)
    assert feature_renyi_entropy(z, alpha) == pytest.approx(expected, rel=1e-8, abs=0)
    s_a, _, _ = feature_information_terms(z, z[:, :2], alpha)
    assert s_a == pytest.approx(expected, rel=1e-8, abs=0)
