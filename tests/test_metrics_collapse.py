"""Known answers, brute-force agreement, invariances, degenerate inputs and speed of
grokutils.metrics.collapse (Part I, Sato & Sakamoto 2025)."""

from __future__ import annotations

import math
import time
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from grokutils.metrics import collapse as C

SCALAR_METRICS = [C.within_class_variance, C.between_class_variance, C.nc1, C.nc1_papyan, C.rnc1, C.nc2,
                  C.ncc_mismatch, C.ncc_mismatch_sum]


def clusters(seed: int, n: int = 60, d: int = 8, k: int = 4, noise: float = 1.0):
    g = torch.Generator().manual_seed(seed)
    centres = 3 * torch.randn(k, d, generator=g, dtype=torch.float64)
    labels = torch.arange(n) % k
    feats = centres[labels] + noise * torch.randn(n, d, generator=g, dtype=torch.float64)
    return feats, labels


def orthogonal(seed: int, d: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    q, _ = torch.linalg.qr(torch.randn(d, d, generator=g, dtype=torch.float64))
    return q


# ----------------------------------------------------------------------------- known answers

def test_perfect_collapse_gives_zero():
    means = torch.randn(5, 7, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    labels = torch.tensor([0, 1, 2, 3, 4] * 4)
    feats = means[labels]
    assert C.within_class_variance(feats, labels) == pytest.approx(0.0, abs=1e-24)
    assert C.nc1(feats, labels) == pytest.approx(0.0, abs=1e-24)
    assert C.rnc1(feats, labels) == pytest.approx(0.0, abs=1e-24)
    assert C.nc1_papyan(feats, labels) == pytest.approx(0.0, abs=1e-20)
    assert C.ncc_mismatch(feats, labels) == 0.0
    assert C.ncc_mismatch_sum(feats, labels) == 0
    assert C.between_class_variance(feats, labels) > 0


def test_orthogonal_equinorm_means_nc2_is_one():
    k, d = 4, 6
    means = 2.5 * torch.eye(k, d, dtype=torch.float64) @ orthogonal(1, d)
    labels = torch.arange(40) % k
    noise = torch.randn(40, d, dtype=torch.float64, generator=torch.Generator().manual_seed(2))
    noise -= torch.zeros(k, d, dtype=torch.float64).index_add_(0, labels, noise)[labels] / 10  # zero class-mean noise
    assert C.nc2(means[labels] + 0.1 * noise, labels) == pytest.approx(1.0, abs=1e-9)


@pytest.mark.parametrize("k", [2, 3, 5])
def test_simplex_etf_angles(k):
    etf = torch.eye(k, dtype=torch.float64) - 1.0 / k  # centered simplex ETF in R^k
    etf = torch.cat([etf, torch.zeros(k, 3, dtype=torch.float64)], 1) @ orthogonal(k, k + 3) + 1.7
    labels = torch.arange(3 * k) % k
    angles = C.class_mean_angles(etf[labels], labels)
    assert angles.shape == (k * (k - 1) // 2,)
    assert torch.allclose(angles, torch.full_like(angles, C.simplex_angle(k)), atol=1e-7)
    assert C.simplex_angle(2) == pytest.approx(math.pi)
    assert C.simplex_angle(3) == pytest.approx(2 * math.pi / 3)


# ----------------------------------------------------------------------------- brute force

def brute(feats: np.ndarray, labels: np.ndarray) -> dict:
    n, d = feats.shape
    classes = sorted(set(labels.tolist()))
    mu = {c: feats[labels == c].mean(0) for c in classes}
    mu_g = feats.mean(0)
    sw, sb, sb_equal = np.zeros((d, d)), np.zeros((d, d)), np.zeros((d, d))
    tw = tb = 0.0
    for i in range(n):
        v = feats[i] - mu[labels[i]]
        tw += v @ v / n
        sw += np.outer(v, v) / n
    for c in classes:
        p = (labels == c).sum() / n
        v = mu[c] - mu_g
        tb += p * (v @ v)
        sb += p * np.outer(v, v)
        sb_equal += np.outer(v, v) / len(classes)
    s = np.mean([np.linalg.norm(f) for f in feats])
    sv = np.linalg.svd(np.stack([mu[c] for c in classes]), compute_uv=False)
    wrong = 0
    for i in range(n):
        dists = [np.linalg.norm(feats[i] - mu[c]) for c in classes]
        wrong += classes[int(np.argmin(dists))] != labels[i]
    angles = []
    for a in range(len(classes)):
        for b in range(a + 1, len(classes)):
            u, v = mu[classes[a]] - mu_g, mu[classes[b]] - mu_g
            angles.append(math.acos(np.clip(u @ v / np.linalg.norm(u) / np.linalg.norm(v), -1, 1)))
    return dict(within=tw, between=tb, nc1=tw / tb, papyan=np.trace(sw @ np.linalg.pinv(sb_equal)) / len(classes),
                papyan_share=np.trace(sw @ np.linalg.pinv(sb)) / len(classes),
                rnc1=tw / s**2, nc2=sv.max() / sv.min(), ncc=wrong / n, ncc_sum=wrong, angles=angles)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_vectorised_agrees_with_brute_force(seed):
    rng = np.random.default_rng(seed)
    feats = rng.normal(size=(30, 6)) + rng.normal(size=(4, 6))[np.arange(30) % 4] * 1.5
    labels = np.array([7, 2, 5, 9] * 7 + [2, 9])  # arbitrary label values, unequal class sizes
    ref = brute(feats, labels)
    f, y = torch.from_numpy(feats), torch.from_numpy(labels)
    assert C.within_class_variance(f, y) == pytest.approx(ref["within"], rel=1e-10)
    assert C.between_class_variance(f, y) == pytest.approx(ref["between"], rel=1e-10)
    assert C.nc1(f, y) == pytest.approx(ref["nc1"], rel=1e-10)
    assert C.nc1_papyan(f, y) == pytest.approx(ref["papyan"], rel=1e-8)
    assert C.nc1_papyan_share_weighted(f, y) == pytest.approx(ref["papyan_share"], rel=1e-8)
    assert C.rnc1(f, y) == pytest.approx(ref["rnc1"], rel=1e-10)
    assert C.nc2(f, y) == pytest.approx(ref["nc2"], rel=1e-8)
    assert C.ncc_mismatch(f, y) == pytest.approx(ref["ncc"])
    assert C.ncc_mismatch_sum(f, y) == ref["ncc_sum"]
    assert np.allclose(C.class_mean_angles(f, y).numpy(), ref["angles"], atol=1e-10)
    assert isinstance(C.nc1(f, y), float) and isinstance(C.ncc_mismatch_sum(f, y), int)


def papyan_nc1_numpy(feats: np.ndarray, labels: np.ndarray, weights: str) -> float:
    """Papyan et al. (2020): μ_G the mean of all samples, Σ_W over samples, Σ_B over classes (equal or share)."""
    classes = sorted(set(labels.tolist()))
    mu_g = feats.mean(0)
    mu = np.stack([feats[labels == c].mean(0) for c in classes])
    dev = feats - mu[np.searchsorted(classes, labels)]
    sigma_w = dev.T @ dev / len(feats)
    share = np.array([(labels == c).mean() for c in classes])
    wts = np.full(len(classes), 1 / len(classes)) if weights == "equal" else share
    sigma_b = ((mu - mu_g) * wts[:, None]).T @ (mu - mu_g)
    return float(np.trace(sigma_w @ np.linalg.pinv(sigma_b)) / len(classes))


@pytest.mark.parametrize("seed", range(3))
def test_papyan_nc1_weights_classes_equally_on_unbalanced_data(seed):
    feats, labels = unbalanced_clusters(seed)
    h, y = torch.from_numpy(feats), torch.from_numpy(labels)
    equal, share = papyan_nc1_numpy(feats, labels, "equal"), papyan_nc1_numpy(feats, labels, "share")
    assert C.nc1_papyan(h, y) == pytest.approx(equal, rel=1e-9)
    assert C.nc1_papyan_share_weighted(h, y) == pytest.approx(share, rel=1e-9)
    assert abs(equal - share) > 0.05 * equal  # the two weightings really differ here


@pytest.mark.parametrize("seed", range(3))
def test_papyan_nc1_weightings_agree_on_balanced_data(seed):
    h, y = clusters(seed, noise=2.0)
    assert C.nc1_papyan(h, y) == pytest.approx(C.nc1_papyan_share_weighted(h, y), rel=1e-12)
    assert C.nc1_papyan(h, y) == pytest.approx(papyan_nc1_numpy(h.numpy(), y.numpy(), "equal"), rel=1e-9)


def brute_margin_bound(feats, labels, w, b):
    n = len(feats)
    s = np.mean([np.linalg.norm(f) for f in feats])
    g, bs = feats / s, b / s
    total = 0.0
    for k in sorted(set(labels.tolist())):
        gk = g[labels == k]
        mk = gk.mean(0)
        vk = np.mean([np.sum((x - mk) ** 2) for x in gk])
        for j in range(len(w)):
            if j == k:
                continue
            u = w[k] - w[j]
            m = u @ mk + bs[k] - bs[j]
            total += len(gk) / n * ((u @ u) * vk / ((u @ u) * vk + m * m) if m > 0 else 1.0)
    return total


def test_margin_bound_formula_brute_force():
    rng = np.random.default_rng(3)
    labels = np.array([0, 0, 0, 1, 1, 2, 2, 2, 2])
    feats = rng.normal(size=(9, 3)) + 2 * np.eye(3)[labels]
    w, b = rng.normal(size=(4, 3)), rng.normal(size=4)  # C = 4 > K present: class 3 is a competitor only
    got = C.margin_error_bound(*map(torch.from_numpy, (feats, labels, w, b)))
    assert got == pytest.approx(brute_margin_bound(feats, labels, w, b), rel=1e-10)
    # bias=None means zeros
    assert C.margin_error_bound(torch.from_numpy(feats), torch.from_numpy(labels), torch.from_numpy(w)) == \
        pytest.approx(brute_margin_bound(feats, labels, w, np.zeros(4)), rel=1e-10)


@pytest.mark.parametrize("noise,small", [(0.1, True), (1.5, False), (3.0, False)])
def test_margin_bound_dominates_empirical_error(noise, small):
    k, d, n = 4, 20, 200
    centres = 5 * torch.eye(k, d, dtype=torch.float64)
    labels = torch.arange(n) % k
    feats = centres[labels] + noise * torch.randn(n, d, dtype=torch.float64, generator=torch.Generator().manual_seed(4))
    w = torch.zeros(k, d, dtype=torch.float64).index_add_(0, labels, feats) / (n // k)  # W = class means
    b = -0.5 * w.pow(2).sum(1)  # nearest-mean classifier
    logits = feats @ w.T + b
    err = float((logits.argmax(1) != labels).double().mean())
    bound = C.margin_error_bound(feats, labels, w, b)
    assert bound >= err
    if small:
        assert err == 0.0 and bound < 0.1
    else:
        assert err > 0.0 or bound > 0.1


# ----------------------------------------------------------------------------- invariances (hypothesis)

@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), scale=st.floats(1e-3, 1e3))
def test_scale_invariance(seed, scale):
    f, y = clusters(seed)
    for fn in (C.rnc1, C.nc1, C.nc2, C.nc1_papyan):
        assert fn(scale * f, y) == pytest.approx(fn(f, y), rel=1e-7)
    assert C.ncc_mismatch(scale * f, y) == C.ncc_mismatch(f, y)


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 10_000))
def test_rotation_invariance(seed):
    f, y = clusters(seed, noise=2.0)
    q = orthogonal(seed + 1, f.shape[1])
    assert C.nc1(f @ q, y) == pytest.approx(C.nc1(f, y), rel=1e-9)
    assert C.rnc1(f @ q, y) == pytest.approx(C.rnc1(f, y), rel=1e-9)
    assert C.ncc_mismatch(f @ q, y) == C.ncc_mismatch(f, y)


# ----------------------------------------------------------------------------- degenerate inputs

def test_single_class():
    f, y = torch.randn(5, 3, dtype=torch.float64), torch.zeros(5, dtype=torch.int64)
    assert C.within_class_variance(f, y) > 0
    assert C.between_class_variance(f, y) == 0.0
    assert C.ncc_mismatch(f, y) == 0.0
    assert C.rnc1(f, y) > 0
    for fn in (C.nc1, C.nc1_papyan, C.nc2, C.class_mean_angles):
        with pytest.raises(ValueError, match="at least 2 classes"):
            fn(f, y)


def test_singleton_class_and_zero_between():
    f = torch.tensor([[1.0, 0.0], [3.0, 0.0], [5.0, 1.0]])
    y = torch.tensor([0, 0, 1])
    assert C.within_class_variance(f, y) == pytest.approx(2.0 / 3)  # singleton contributes 0
    same_means = torch.tensor([[1.0, 0.0], [-1.0, 0.0], [0.0, 1.0], [0.0, -1.0]])
    y2 = torch.tensor([0, 0, 1, 1])
    assert C.between_class_variance(same_means, y2) == 0.0
    assert C.nc1(same_means, y2) == math.inf
    assert C.nc1_papyan(same_means, y2) == math.inf
    same = torch.ones(4, 3)
    assert C.nc1(same, y2) == 0.0 and C.nc1_papyan(same, y2) == 0.0
    assert C.rnc1(torch.zeros(4, 3), y2) == 0.0
    with pytest.raises(ValueError, match="zero"):
        C.class_mean_angles(torch.tensor([[1.0], [1.0], [2.0], [0.0]]), torch.tensor([0, 1, 2, 2]))


def test_nc2_rank_deficient_is_inf():
    f, y = clusters(0, d=3, k=5)  # K > d
    assert C.nc2(f, y) == math.inf
    assert C.nc2(torch.zeros(4, 3), torch.tensor([0, 0, 1, 1])) == math.inf


def test_d_larger_than_n():
    f, y = clusters(5, n=12, d=50, k=3)
    for fn in SCALAR_METRICS:
        assert math.isfinite(fn(f, y))


@pytest.mark.parametrize("fn", SCALAR_METRICS + [C.class_mean_angles])
def test_bad_inputs_raise(fn):
    f, y = clusters(0, n=8, d=3, k=2)
    bad_f = f.clone()
    bad_f[2, 1] = float("nan")
    with pytest.raises(ValueError, match="NaN"):
        fn(bad_f, y)
    bad_f[2, 1] = float("inf")
    with pytest.raises(ValueError, match="finite"):
        fn(bad_f, y)
    with pytest.raises(ValueError, match="rows but labels"):
        fn(f, y[:-1])
    with pytest.raises(ValueError, match="integer"):
        fn(f, y.double())
    with pytest.raises(ValueError, match=r"shape \(N, d\)"):
        fn(f[:, 0], y)
    with pytest.raises(ValueError, match="empty"):
        fn(f[:0], y[:0])


def test_margin_bound_bad_inputs():
    f, y = clusters(0, n=8, d=3, k=2)
    w = torch.randn(2, 3, dtype=torch.float64)
    with pytest.raises(ValueError, match="weight"):
        C.margin_error_bound(f, y, torch.randn(2, 4))
    with pytest.raises(ValueError, match="bias"):
        C.margin_error_bound(f, y, w, torch.zeros(3))
    with pytest.raises(ValueError, match="labels must lie"):
        C.margin_error_bound(f, y + 1, w)
    with pytest.raises(ValueError, match="s = 0"):
        C.margin_error_bound(torch.zeros(8, 3), y, w)
    with pytest.raises(ValueError, match=">= 2"):
        C.simplex_angle(1)


# ----------------------------------------------------------------------------- callback and speed

def test_collapse_metrics_callback():
    torch.manual_seed(0)
    lin = torch.nn.Linear(4, 6)
    model = SimpleNamespace(features=lambda x: torch.relu(lin(x)))
    x, y = torch.randn(50, 4), torch.arange(50) % 3
    data = SimpleNamespace(x_train=x, y_train=y, x_test=x[:5], y_test=y[:5])
    out = C.collapse_metrics(SimpleNamespace(model=model, data=data))
    assert set(out) == {"rnc1", "nc1", "nc2", "within_class_variance"}
    assert all(isinstance(v, float) for v in out.values())
    h = torch.relu(lin(x)).detach()
    assert out["nc1"] == pytest.approx(C.nc1(h, y), rel=1e-5)


@pytest.mark.parametrize("fn", [C.within_class_variance, C.between_class_variance, C.nc1, C.rnc1, C.nc2,
                                C.ncc_mismatch, C.ncc_mismatch_sum, C.class_mean_angles, "bound"],
                         ids=lambda f: f if isinstance(f, str) else f.__name__)
def test_speed(fn):
    f, y = clusters(0, n=1000, d=200, k=10)
    f = f.float()
    w = torch.randn(10, 200)
    call = (lambda: C.margin_error_bound(f, y, w)) if fn == "bound" else (lambda: fn(f, y))
    best = math.inf
    for _ in range(3):
        t0 = time.perf_counter()
        call()
        best = min(best, time.perf_counter() - t0)
    print(f"\n{fn if isinstance(fn, str) else fn.__name__}: {1e3 * best:.2f} ms (1000x200, 10 classes)")
    assert best < 0.150


def test_coincident_means_with_roundoff_give_inf():
    g = torch.Generator().manual_seed(9)
    base = torch.randn(6, 5, dtype=torch.float64, generator=g) * 1e3 + 0.1
    f = torch.cat([base, base])  # both classes hold the same points: means equal up to round-off
    y = torch.tensor([0] * 6 + [1] * 6)
    f[6:] = f[:6][torch.tensor([3, 1, 4, 0, 5, 2])]
    assert C.nc1(f, y) == math.inf and C.nc1_papyan(f, y) == math.inf


# --------------------------------------------------------------------------- NCC of Part IV (Galanti's CDNV)

def brute_ncc(feats: np.ndarray, labels: np.ndarray, averaged: bool) -> float:
    """Definition 3.1 of Han et al. (2025) by loops: V_c the sum (paper) or the mean (authors' code) over class c."""
    classes = sorted(set(labels.tolist()))
    mu, var = {}, {}
    for c in classes:
        rows = [f for f, y in zip(feats, labels) if y == c]
        mu[c] = sum(rows) / len(rows)
        var[c] = sum(float((f - mu[c]) @ (f - mu[c])) for f in rows)
        if averaged:
            var[c] /= len(rows)
    total = 0.0
    for a in classes:
        for b in classes:
            if a != b:
                total += (var[a] + var[b]) / (2 * float((mu[a] - mu[b]) @ (mu[a] - mu[b])))
    k = len(classes)
    return total / (k * (k - 1)) if averaged else total


def unbalanced_clusters(seed: int):
    g = np.random.default_rng(seed)
    labels = np.repeat([3, 0, 8, 5], [4, 11, 7, 2])  # class sizes 4, 11, 7, 2; labels not 0..K-1
    g.shuffle(labels)
    feats = 2.0 * g.normal(size=(9, 5))[labels] + g.normal(size=(len(labels), 5))
    return feats, labels


@pytest.mark.parametrize("seed", range(5))
def test_ncc_sum_and_averaged_forms_match_brute_force_loops(seed):
    # Definition 3.1 sums ‖φ(x) − μ_c‖² over the class; the former ncc averaged it and summed over pairs
    # (K(K − 1) × the averaged form), which this unbalanced case tells apart from both.
    feats, labels = unbalanced_clusters(seed)
    h, y = torch.from_numpy(feats), torch.from_numpy(labels)
    paper, averaged = brute_ncc(feats, labels, averaged=False), brute_ncc(feats, labels, averaged=True)
    assert C.ncc(h, y) == pytest.approx(paper, rel=1e-10)
    assert C.ncc_mean(h, y) == pytest.approx(averaged, rel=1e-10)
    assert float(C.ncc_terms(h, y).sum()) == pytest.approx(paper, rel=1e-10)
    assert C.ncc(h, y) != pytest.approx(12 * averaged, rel=1e-3)


@pytest.mark.parametrize("seed", range(3))
def test_ncc_pair_sum_is_k_k_minus_1_times_the_averaged_form(seed):
    h, y = clusters(seed)  # 4 balanced classes of 15
    k, n_c = 4, 15
    mean_form = C.ncc_mean(h, y)
    assert float(C.ncc_terms(h, y, averaged=True).sum()) == pytest.approx(k * (k - 1) * mean_form, rel=1e-12)
    assert C.ncc(h, y) == pytest.approx(n_c * k * (k - 1) * mean_form, rel=1e-12)


def test_ncc_closed_form_for_two_classes():
    # class 0 at ±1 around 0 (V = 1 + 1 = 2, mean 1), class 1 at 4 ± 2 (V = 8, mean 4); ‖μ_0 − μ_1‖² = 16.
    h = torch.tensor([[-1.0], [1.0], [2.0], [6.0]], dtype=torch.float64)
    y = torch.tensor([0, 0, 1, 1])
    assert C.ncc(h, y) == pytest.approx(2 * (2 + 8) / 32)
    assert C.ncc_mean(h, y) == pytest.approx((1 + 4) / 32)


def test_ncc_is_zero_for_collapsed_features_and_differentiable():
    y = torch.arange(12) % 3
    h = torch.eye(3, dtype=torch.float64)[y]
    assert C.ncc(h, y) == 0.0
    feats = (h + 0.1 * torch.randn(12, 3, dtype=torch.float64)).requires_grad_()
    C.ncc_terms(feats, y).sum().backward()
    assert feats.grad is not None and bool(torch.isfinite(feats.grad).all())


@settings(max_examples=20, deadline=None)
@given(st.floats(1e-3, 1e3), st.integers(0, 100))
def test_ncc_is_scale_rotation_and_shift_invariant(scale, seed):
    h, y = clusters(seed)
    q = orthogonal(seed, h.shape[1])
    assert C.ncc(scale * h @ q.T + 5.0, y) == pytest.approx(C.ncc(h, y), rel=1e-8)


def test_ncc_degenerate_inputs_raise_clear_errors():
    with pytest.raises(ValueError, match="at least 2 classes"):
        C.ncc(torch.randn(5, 2), torch.zeros(5, dtype=torch.long))
    with pytest.raises(ValueError, match="coincide"):
        C.ncc(torch.tensor([[1.0], [-1.0], [2.0], [-2.0]]), torch.tensor([0, 0, 1, 1]))
    with pytest.raises(ValueError, match="NaN"):
        C.ncc(torch.tensor([[float("nan")], [1.0]]), torch.tensor([0, 1]))


# --------------------------------------------------------------------------- Theorem 4.1 quantities

def test_rescaled_within_variance_is_rnc1_at_the_own_scale_and_scales_quadratically():
    h, y = clusters(3)
    s = float(h.norm(dim=1).mean())
    assert C.rescaled_within_class_variance(h, y, s) == pytest.approx(C.rnc1(h, y), rel=1e-12)
    assert C.rescaled_within_class_variance(h, y, 2 * s) == pytest.approx(C.rnc1(h, y) / 4, rel=1e-12)
    with pytest.raises(ValueError, match="scale"):
        C.rescaled_within_class_variance(h, y, 0.0)


def test_spectral_complexity_is_the_product_of_layer_spectral_norms():
    from grokutils.models import MLP

    model = MLP(6, (5, 4), 3)
    expected = 1.0
    for layer in (model.body[1], model.body[3]):
        expected *= float(torch.linalg.svdvals(layer.weight.detach().double())[0])
    assert C.spectral_complexity(model) == pytest.approx(expected, rel=1e-10)
    with pytest.raises(ValueError, match="MLP"):
        C.spectral_complexity(torch.nn.Linear(2, 2))


def test_concentration_callback_reports_a_gap_and_a_complexity():
    import grokutils as gu
    from grokutils.train import EvalContext

    g = torch.Generator().manual_seed(0)
    y = torch.arange(200) % 10
    x = torch.randn(200, 1, 28, 28, generator=g)
    data = gu.data.Dataset(x[:100], y[:100], x[100:], y[100:], num_classes=10)
    row = C.concentration_metrics(EvalContext(gu.models.MLP(784, (8,), 10), data, None, 0))
    assert row["within_gap"] == pytest.approx(abs(row["within_test"] - row["within_train"]))
    assert row["complexity_over_scale"] > 0
