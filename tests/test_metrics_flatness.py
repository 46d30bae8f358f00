"""Tests of grokutils.metrics.flatness (Part IV: Hessian traces, relative flatness)."""

import math

import mpmath
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from grokutils.metrics import flatness as fl


def _data(seed, n=20, d=5, c=4, bias=False):
    g = torch.Generator().manual_seed(seed)
    h = torch.randn(n, d, generator=g, dtype=torch.float64)
    y = torch.randint(0, c, (n,), generator=g)
    w = torch.randn(c, d, generator=g, dtype=torch.float64)
    b = torch.randn(c, generator=g, dtype=torch.float64) if bias else None
    return h, y, w, b


@pytest.mark.parametrize("bias", [False, True])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_closed_form_matches_autograd_hessian(seed, bias):
    h, y, w, b = _data(seed, bias=bias)
    exact = fl.relative_flatness(h, y, w, b)
    closed = fl.relative_flatness_closed_form(h, y, w, b)
    assert closed == pytest.approx(exact, rel=1e-6)
    assert exact > 0


def test_last_layer_hessian_shape_symmetry_and_trace():
    h, y, w, b = _data(3, bias=True)
    hess = fl.last_layer_hessian(h, y, w, b)
    assert hess.shape == (20, 20) and hess.dtype == torch.float64
    assert torch.allclose(hess, hess.T, atol=1e-12)
    assert torch.linalg.eigvalsh(hess).min() > -1e-10  # CE is convex in W
    bound = fl.flatness_bound(h, y, w, b)
    assert bound == pytest.approx(float((w * w).sum()) * float(torch.trace(hess)), rel=1e-9)


@pytest.mark.parametrize("seed", range(8))
def test_kappa_below_bound(seed):
    # κ = Tr(G T) with G = W Wᵀ, T = (Tr H_ss') both PSD, so κ ≤ λmax(G) Tr T ≤ Tr G · Tr T.
    h, y, w, b = _data(seed, n=10 + seed, d=2 + seed % 4, c=2 + seed % 3, bias=seed % 2 == 0)
    kappa = fl.relative_flatness_closed_form(h, y, w, b)
    assert 0 <= kappa <= fl.flatness_bound(h, y, w, b) * (1 + 1e-12)


def test_kappa_layerwise_rescaling_invariant():
    h, y, w, b = _data(4, bias=True)
    k = fl.relative_flatness_closed_form(h, y, w, b)
    for c in (0.1, 3.0):
        assert fl.relative_flatness_closed_form(h * c, y, w / c, b) == pytest.approx(k, rel=1e-10)
        assert fl.relative_flatness(h * c, y, w / c, b) == pytest.approx(k, rel=1e-8)


def test_kappa_not_invariant_to_neuronwise_rescaling():
    # Documented convention: with distinct c_j the logits are unchanged but κ is not.
    h, y, w, b = _data(5)
    c = torch.tensor([0.2, 1.0, 3.0, 0.5, 2.0], dtype=torch.float64)
    assert torch.allclose(h @ w.T, (h * c) @ (w / c).T)
    k = fl.relative_flatness_closed_form(h, y, w)
    k2 = fl.relative_flatness_closed_form(h * c, y, w / c)
    assert abs(k2 - k) > 1e-3 * k


def _saturated(seed, n=12, d=6, c=5, bias=False, gaps=(30.0, 60.0)):
    """Features whose logit gap (own class over the runner-up) runs from 30 to 60: 1 − max p < 1e-12."""
    g = torch.Generator().manual_seed(seed)
    w = torch.randn(c, d, generator=g, dtype=torch.float64)
    b = torch.randn(c, generator=g, dtype=torch.float64) if bias else torch.zeros(c, dtype=torch.float64)
    y = torch.randint(0, c, (n,), generator=g)
    logits = torch.randn(n, c, generator=g, dtype=torch.float64)
    rows = torch.arange(n)
    logits[rows, y] = logits.max(1).values + torch.linspace(*gaps, n, dtype=torch.float64)
    null = torch.randn(n, d, generator=g, dtype=torch.float64)
    null -= null @ torch.linalg.pinv(w) @ w  # orthogonal to the rows of w: leaves the logits alone
    h = (logits - b) @ torch.linalg.pinv(w).T + null
    return h, y, w, (b if bias else None)


def _mp_flatness(h, w, b):
    """(κ, ‖W‖² Tr H) from Def. 3.2's sum Σ_{s,s'} ⟨w_s, w_s'⟩ Tr H_{s,s'} at 80 digits on the float64 inputs."""
    with mpmath.workdps(80):
        hm = [[mpmath.mpf(x) for x in row] for row in h.tolist()]
        wm = [[mpmath.mpf(x) for x in row] for row in w.tolist()]
        bm = [mpmath.mpf(x) for x in (b.tolist() if b is not None else [0.0] * len(wm))]
        c = len(wm)
        gram = [[mpmath.fsum(a * z for a, z in zip(wm[s], wm[t])) for t in range(c)] for s in range(c)]
        kappa = trace = mpmath.mpf(0)
        for hi in hm:
            z = [mpmath.fsum(a * x for a, x in zip(ws, hi)) + bs for ws, bs in zip(wm, bm)]
            e = [mpmath.exp(zs - max(z)) for zs in z]
            p = [es / mpmath.fsum(e) for es in e]
            sq = mpmath.fsum(x * x for x in hi)
            kappa += sq * mpmath.fsum(gram[s][t] * (p[s] * (s == t) - p[s] * p[t]) for s in range(c) for t in range(c))
            trace += sq * mpmath.fsum(ps * (1 - ps) for ps in p)
        frob = mpmath.fsum(x * x for row in wm for x in row)
        return float(kappa / len(hm)), float(frob * trace / len(hm))


@pytest.mark.parametrize("bias", [False, True])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_closed_forms_keep_their_digits_when_the_softmax_saturates(seed, bias):
    # Σ_c G_cc p_c − pᵀGp and Σp − Σp² cancel here (relative errors 1e-2 to 1 before); the sums of
    # non-negative terms keep ~15 digits.
    h, y, w, b = _saturated(seed, bias=bias)
    p = torch.softmax(h @ w.T + (0 if b is None else b), dim=1)
    assert float(1 - p.max(1).values.max()) < 1e-12
    kappa, bound = _mp_flatness(h, w, b)
    assert kappa > 0 and bound > 0
    assert fl.relative_flatness_closed_form(h, y, w, b) == pytest.approx(kappa, rel=1e-12, abs=0)
    assert fl.flatness_bound(h, y, w, b) == pytest.approx(bound, rel=1e-12, abs=0)


@pytest.mark.parametrize("gap", [45.0, 60.0])
def test_kappa_stays_positive_when_every_point_is_memorised(gap):
    # All gaps 45 (or 60): the G-form gave κ = −1.8e-13 against the true 6.7e-16 (and 1.3e-23 for 3.6e-22).
    h, y, w, b = _saturated(3, gaps=(gap, gap))
    kappa, bound = _mp_flatness(h, w, b)
    assert fl.relative_flatness_closed_form(h, y, w, b) == pytest.approx(kappa, rel=1e-12, abs=0)
    assert fl.flatness_bound(h, y, w, b) == pytest.approx(bound, rel=1e-12, abs=0)


@pytest.mark.parametrize("seed", [0, 1])
def test_closed_forms_match_high_precision_unsaturated(seed):
    h, y, w, b = _data(seed, bias=True)
    kappa, bound = _mp_flatness(h, w, b)
    assert fl.relative_flatness_closed_form(h, y, w, b) == pytest.approx(kappa, rel=1e-12, abs=0)
    assert fl.flatness_bound(h, y, w, b) == pytest.approx(bound, rel=1e-12, abs=0)


def _mlp_loss(seed):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(16, 3, generator=g, dtype=torch.float64)
    y = torch.randint(0, 2, (16,), generator=g)
    w1 = torch.randn(4, 3, generator=g, dtype=torch.float64).requires_grad_()
    b1 = torch.randn(4, generator=g, dtype=torch.float64).requires_grad_()
    w2 = torch.randn(2, 4, generator=g, dtype=torch.float64).requires_grad_()
    params = [w1, b1, w2]
    return (lambda: F.cross_entropy(torch.tanh(x @ w1.T + b1) @ w2.T, y)), params


def test_hutchinson_matches_exact_on_tiny_mlp():
    loss_fn, params = _mlp_loss(0)
    exact = fl.exact_hessian_trace(loss_fn, params)
    g = torch.Generator().manual_seed(0)
    mean, se = fl.hutchinson_trace(loss_fn, params, num_samples=400, generator=g)
    assert se > 0
    assert abs(mean - exact) < 3 * se


def test_hutchinson_and_exact_on_quadratic():
    g = torch.Generator().manual_seed(1)
    m = torch.randn(6, 6, generator=g, dtype=torch.float64)
    a = m + m.T
    x = torch.randn(6, generator=g, dtype=torch.float64).requires_grad_()
    loss_fn = lambda: 0.5 * x @ a @ x  # noqa: E731
    true = float(torch.trace(a))
    assert fl.exact_hessian_trace(loss_fn, [x]) == pytest.approx(true, rel=1e-10)
    mean, se = fl.hutchinson_trace(loss_fn, [x], num_samples=400, generator=torch.Generator().manual_seed(2))
    assert abs(mean - true) < 3 * se
    # Diagonal A: Rademacher vᵀAv = Tr A exactly, SE = 0.
    d = torch.diag(torch.arange(1.0, 5.0, dtype=torch.float64))
    z = torch.zeros(4, dtype=torch.float64, requires_grad=True)
    mean, se = fl.hutchinson_trace(lambda: 0.5 * z @ d @ z, [z], num_samples=10)
    assert mean == pytest.approx(10.0) and se == pytest.approx(0.0, abs=1e-12)


def test_hutchinson_is_reproducible_with_generator():
    loss_fn, params = _mlp_loss(1)
    r1 = fl.hutchinson_trace(loss_fn, params, num_samples=20, generator=torch.Generator().manual_seed(7))
    r2 = fl.hutchinson_trace(loss_fn, params, num_samples=20, generator=torch.Generator().manual_seed(7))
    assert r1 == r2


def test_validation_errors():
    h, y, w, b = _data(0, bias=True)
    bad = h.clone()
    bad[0, 0] = float("nan")
    for fn in (fl.relative_flatness, fl.relative_flatness_closed_form, fl.flatness_bound, fl.last_layer_hessian):
        with pytest.raises(ValueError, match="NaN"):
            fn(bad, y, w, b)
    winf = w.clone()
    winf[0, 0] = math.inf
    with pytest.raises(ValueError, match="infinite"):
        fl.relative_flatness_closed_form(h, y, winf)
    with pytest.raises(ValueError, match="columns"):
        fl.relative_flatness_closed_form(h, y, w[:, :3])
    with pytest.raises(ValueError, match="labels"):
        fl.relative_flatness_closed_form(h, y + 10, w)
    with pytest.raises(ValueError, match="bias"):
        fl.flatness_bound(h, y, w, b[:2])
    big = torch.zeros(5001, dtype=torch.float64, requires_grad=True)
    with pytest.raises(ValueError, match="5001"):
        fl.exact_hessian_trace(lambda: (big**2).sum(), [big])
    x = torch.ones(3, dtype=torch.float64, requires_grad=True)
    with pytest.raises(ValueError, match="num_samples"):
        fl.hutchinson_trace(lambda: (x**2).sum(), [x], num_samples=1)
    with pytest.raises(ValueError, match="scalar"):
        fl.hutchinson_trace(lambda: x**2, [x])
    with pytest.raises(ValueError, match="requires_grad"):
        fl.exact_hessian_trace(lambda: (x**2).sum(), [x.detach()])


@settings(max_examples=15, deadline=None)
@given(st.lists(st.floats(0.1, 10.0), min_size=3, max_size=3), st.booleans())
def test_kappa_invariant_to_petzka_neuronwise_rescaling_of_rows(scales, bias):
    # Petzka et al. (2021): rows w_s scaled by λ_s, undone in g (logits = output_scale ⊙ (W h + b)).
    h, y, w, b = _data(6, n=12, d=4, c=3, bias=bias)
    lam = torch.tensor(scales, dtype=torch.float64)
    b2 = None if b is None else lam * b
    assert fl.relative_flatness(h, y, lam[:, None] * w, b2, output_scale=1 / lam) == pytest.approx(
        fl.relative_flatness(h, y, w, b), rel=1e-8)


@settings(max_examples=15, deadline=None)
@given(st.integers(0, 1000))
def test_kappa_invariant_to_orthogonal_maps_of_the_features(seed):
    h, y, w, b = _data(7, n=12, d=4, c=3, bias=True)
    q, _ = torch.linalg.qr(torch.randn(4, 4, generator=torch.Generator().manual_seed(seed), dtype=torch.float64))
    assert fl.relative_flatness_closed_form(h @ q.T, y, w @ q.T, b) == pytest.approx(
        fl.relative_flatness_closed_form(h, y, w, b), rel=1e-9)


def test_output_scale_must_be_positive_per_row():
    h, y, w, b = _data(8, n=6, d=2, c=3)
    with pytest.raises(ValueError, match="output_scale"):
        fl.relative_flatness(h, y, w, b, output_scale=torch.tensor([1.0, -1.0, 1.0]))


def _mp_quadratic(h, w, b):
    """wᵀ H w = Σ_{s,s'} w_sᵀ H_{s,s'} w_s' from the Hessian blocks (1/N) Σ_i (p_is δ_ss' − p_is p_is') h_i h_iᵀ,
    at 80 digits on the float64 inputs."""
    with mpmath.workdps(80):
        wm = [[mpmath.mpf(x) for x in row] for row in w.tolist()]
        bm = [mpmath.mpf(x) for x in (b.tolist() if b is not None else [0.0] * len(wm))]
        total = mpmath.mpf(0)
        for row in h.tolist():
            hi = [mpmath.mpf(x) for x in row]
            u = [mpmath.fsum(a * x for a, x in zip(ws, hi)) for ws in wm]  # w_sᵀ h_i
            z = [us + bs for us, bs in zip(u, bm)]
            e = [mpmath.exp(zs - max(z)) for zs in z]
            p = [es / mpmath.fsum(e) for es in e]
            total += mpmath.fsum(u[s] * u[t] * (p[s] * (s == t) - p[s] * p[t])
                                 for s in range(len(wm)) for t in range(len(wm)))
        return float(total / len(h.tolist()))


@pytest.mark.parametrize("bias", [False, True])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_quadratic_form_is_w_hessian_w_from_autograd(seed, bias):
    h, y, w, b = _data(seed, bias=bias)
    flat = w.reshape(-1)
    assert fl.relative_flatness_quadratic(h, y, w, b) == pytest.approx(
        float(flat @ fl.last_layer_hessian(h, y, w, b) @ flat), rel=1e-9)


@pytest.mark.parametrize("bias", [False, True])
def test_quadratic_form_keeps_its_digits_when_the_softmax_saturates(bias):
    h, y, w, b = _saturated(4, bias=bias)
    assert fl.relative_flatness_quadratic(h, y, w, b) == pytest.approx(_mp_quadratic(h, w, b), rel=1e-10, abs=0)


@settings(max_examples=20, deadline=None)
@given(st.lists(st.floats(0.05, 20.0), min_size=5, max_size=5))
def test_quadratic_form_is_invariant_where_the_trace_form_is_not(scales):
    """The neuron-wise rescaling of the features h → h ⊙ c, W → W / c leaves the logits, and wᵀHw, unchanged."""
    h, y, w, b = _data(9, bias=True)
    c = torch.tensor(scales, dtype=torch.float64)
    assert fl.relative_flatness_quadratic(h * c, y, w / c, b) == pytest.approx(
        fl.relative_flatness_quadratic(h, y, w, b), rel=1e-9)
