"""Tests of grokutils.metrics.flatness_theory: Part IV's theory (Han et al. 2025) checked numerically.

Proposition 5.2 on exact neural-collapse configurations (against the autograd Hessian, the closed form and
mpmath), Lemmas A.1 and A.2, Appendix D's representativeness and the training-loop callback.
"""

import math

import mpmath
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import grokutils as gu
from grokutils.config import Config
from grokutils.data import Dataset
from grokutils.metrics import collapse
from grokutils.metrics import flatness as fl
from grokutils.metrics import flatness_theory as ft
from grokutils.metrics.probe import probe_indices
from grokutils.train import EvalContext


def _e(k, M, lam):
    return math.exp(-lam * M * M * k / (k - 1))


# ------------------------------------------------------------------------------ NC configuration


@pytest.mark.parametrize("k,d,offset", [(2, None, 0.0), (3, 2, 0.0), (5, None, 0.0), (10, 12, 0.0), (4, 6, 1.5)])
def test_configuration_satisfies_nc1_to_nc4(k, d, offset):
    M, lam = 1.7, 0.6
    cfg = ft.neural_collapse_configuration(k, M, lam, d=d, samples_per_class=4, seed=3, global_mean_norm=offset,
                                           bias_constant=0.25)
    h, y, w, b = cfg.features, cfg.labels, cfg.weight, cfg.bias
    assert h.dtype == w.dtype == b.dtype == torch.float64 and h.shape == (4 * k, d or k)
    # NC1: every feature is its class mean, zero within-class variance (Definition 3.1's NCC = 0)
    assert torch.equal(h, cfg.class_means[y])
    assert collapse.within_class_variance(h, y) == 0.0 and collapse.ncc(h, y) == 0.0
    # NC2: ‖μ_c − μ_g‖ = M, μ_g = the global mean (balanced), ETF angles arccos(−1/(k−1))
    assert torch.allclose(h.mean(0), cfg.global_mean, atol=1e-14)
    centred = cfg.class_means - cfg.global_mean
    assert torch.allclose(centred.norm(dim=1), torch.full((k,), M, dtype=torch.float64), rtol=1e-14)
    angles = collapse.class_mean_angles(h, y)
    assert torch.allclose(angles, torch.full_like(angles, collapse.simplex_angle(k)), atol=1e-7)
    gram = centred @ centred.T
    off = ~torch.eye(k, dtype=torch.bool)
    assert torch.allclose(gram[off], torch.full((k * k - k,), -M * M / (k - 1), dtype=torch.float64), atol=1e-13)
    assert float(cfg.global_mean.norm()) == pytest.approx(offset, abs=1e-14)
    assert float((centred @ cfg.global_mean).abs().max()) < 1e-13  # the offset is orthogonal to the simplex
    # NC3, self-duality: w_j = λ(μ_j − μ_g)
    assert torch.allclose(w, lam * centred, atol=1e-15)
    # NC4 on the data and on points anywhere, with Lemma A.1's bias
    a1 = ft.lemma_a1_check(h, y, w, b, num_probes=4000, seed=1)
    assert a1["nc4_train"] == 1.0 and a1["nc4_probe"] == 1.0 and a1["holds"]
    assert torch.allclose(a1["constants"], torch.full((k,), 0.25, dtype=torch.float64), atol=1e-14)
    a4 = ft.proposition_a4_check(h, y, w, b)
    assert a4["k"] == k and a4["M"] == pytest.approx(M, rel=1e-14) and a4["lam"] == pytest.approx(lam, rel=1e-14)
    assert a4["feature_norm_ratio"] == pytest.approx(1 + (offset / M) ** 2, rel=1e-13)
    assert a4["assumptions_hold"] == (offset == 0.0)
    assert max(a4[key] for key in ("nc1", "nc2_norm", "nc2_etf", "nc3", "lemma_a1")) < 1e-12


def test_configuration_rejects_impossible_requests():
    for bad in [dict(k=1, M=1.0, lam=1.0), dict(k=3, M=0.0, lam=1.0), dict(k=3, M=1.0, lam=-1.0),
                dict(k=4, M=1.0, lam=1.0, d=2), dict(k=4, M=1.0, lam=1.0, d=3, global_mean_norm=1.0)]:
        with pytest.raises(ValueError):
            ft.neural_collapse_configuration(**bad)
    with pytest.raises(ValueError):
        ft.proposition52_bound(2.5, 1.0, 1.0)


# ------------------------------------------------------------------------------ Proposition 5.2


def test_bound_holds_on_the_grid_and_kappa_over_bound_is_exactly_2_plus_k_minus_2_e_over_k_squared():
    rows = ft.proposition52_grid((2, 3, 5, 10), (0.5, 1.0, 3.0), (0.01, 1.0, 10.0, 100.0, 1000.0))
    assert len(rows) == 60 and all(row["holds"] for row in rows)
    for row in rows:
        k, e = row["k"], _e(row["k"], row["M"], row["lam"])
        # from ln κ − ln bound: rounding of order margin × 1e-16
        assert row["ratio"] == pytest.approx((2 + (k - 2) * e) / k**2, rel=1e-10, abs=0)
        assert 2 / k**2 * (1 - 1e-10) <= row["ratio"] <= 1 / k * (1 + 1e-10) < 1  # never an equality
        if row["kappa_exact"] > 1e-290:  # closed form = analytic value, to rounding, even when saturated
            assert row["kappa_closed_form"] == pytest.approx(row["kappa_exact"], rel=1e-12, abs=0)
            assert row["ratio_closed_form"] == pytest.approx(row["ratio"], rel=1e-12, abs=0)
            assert row["lemma_a2_bound"] == pytest.approx((k - 1) * row["kappa_exact"], rel=1e-12, abs=0)
        if row["margin"] < 5:  # the autograd Hessian agrees until p − p² cancels
            assert row["kappa_autograd"] == pytest.approx(row["kappa_exact"], rel=1e-9, abs=0)
        elif row["margin"] > 60 and row["kappa_exact"] > 1e-290:  # ... then drops the diagonal term
            assert row["kappa_autograd"] == pytest.approx(row["kappa_exact"] * (k + 1) / (2 * k), rel=1e-6, abs=0)


def _mp_kappa(cfg, dps=60):
    """κ = Σ_{s,s'} ⟨w_s, w_s'⟩ Tr H_{s,s'} with Tr H_{s,s'} = mean_i ‖φ_i‖² (p_is δ_ss' − p_is p_is'), in mpmath
    from the configuration's float64 numbers; 1 − p_is is taken as Σ_{j≠s} p_ij (no cancellation)."""
    with mpmath.workdps(dps):
        h = [[mpmath.mpf(float(v)) for v in row] for row in cfg.features]
        w = [[mpmath.mpf(float(v)) for v in row] for row in cfg.weight]
        b = [mpmath.mpf(float(v)) for v in cfg.bias]
        k, n = len(w), len(h)
        trace = [[mpmath.mpf(0)] * k for _ in range(k)]
        for hi in h:
            z = [mpmath.fsum(a * c for a, c in zip(wj, hi)) + bj for wj, bj in zip(w, b)]
            top = max(z)
            ez = [mpmath.exp(v - top) for v in z]
            p = [v / mpmath.fsum(ez) for v in ez]
            sq = mpmath.fsum(v * v for v in hi)
            for s in range(k):
                for t in range(k):
                    q = mpmath.fsum(p[j] for j in range(k) if j != s) if s == t else -p[t]
                    trace[s][t] += sq * p[s] * q / n
        return mpmath.fsum(mpmath.fsum(a * c for a, c in zip(w[s], w[t])) * trace[s][t]
                           for s in range(k) for t in range(k))


def _mp_bound(k, M, lam, dps=60):
    with mpmath.workdps(dps):
        lam, M = mpmath.mpf(lam), mpmath.mpf(M)
        e = mpmath.exp(-lam * M**2 * k / (k - 1))
        return lam**2 * k**3 * M**4 * e / (1 + (k - 1) * e) ** 2


@pytest.mark.parametrize("k,M,lam", [(2, 1.0, 20.0), (3, 1.0, 30.0), (5, 2.0, 10.0), (4, 1.0, 500.0),
                                     (3, 3.0, 900.0)])
def test_saturated_softmax_against_mpmath(k, M, lam):
    """Margins 40 … 12150: the bound holds in high precision, ln κ and ln bound match mpmath to 1e-9 (absolute,
    the float64 configuration's own rounding), and the float64 closed form keeps its digits until underflow."""
    cfg = ft.neural_collapse_configuration(k, M, lam, samples_per_class=1, seed=2)
    kappa, bound = _mp_kappa(cfg), _mp_bound(k, M, lam)
    assert kappa <= bound
    assert float(mpmath.log(kappa)) == pytest.approx(ft.proposition52_kappa(k, M, lam, log=True), abs=1e-9)
    assert float(mpmath.log(bound)) == pytest.approx(ft.proposition52_bound(k, M, lam, log=True), abs=1e-12)
    assert ft.proposition52_bound(k, M, lam) == pytest.approx(float(bound), rel=1e-12, abs=1e-300)
    closed = fl.relative_flatness_closed_form(cfg.features, cfg.labels, cfg.weight, cfg.bias)
    if float(kappa) > 1e-290:
        assert closed == pytest.approx(float(kappa), rel=1e-9, abs=0)
    else:
        assert closed <= 1e-290


def test_exponential_decay_in_lambda():
    """ln κ = 2 ln λ − λM²k/(k−1) + ln(2kM⁴) + o(1) and ln bound = 2 ln λ − λM²k/(k−1) + ln(k³M⁴) + o(1)."""
    k, M = 5, 1.0
    delta = M * M * k / (k - 1)
    lams = [5.0, 10.0, 20.0, 50.0, 100.0, 400.0, 2000.0]
    logs = [ft.proposition52_kappa(k, M, lam, log=True) for lam in lams]
    for lam, log_kappa in zip(lams[3:], logs[3:]):
        assert log_kappa - 2 * math.log(lam) + lam * delta == pytest.approx(math.log(2 * k * M**4), abs=1e-9)
        log_bound = ft.proposition52_bound(k, M, lam, log=True)
        assert log_bound - 2 * math.log(lam) + lam * delta == pytest.approx(math.log(k**3 * M**4), abs=1e-9)
    assert all(a > b for a, b in zip(logs, logs[1:]))
    slopes = [(b - a) / (lb - la) for a, b, la, lb in zip(logs, logs[1:], lams, lams[1:])]
    assert slopes[-1] == pytest.approx(-delta, rel=1e-2)
    for lam in (10.0, 20.0, 50.0):  # the float64 configuration agrees where κ does not underflow
        cfg = ft.neural_collapse_configuration(k, M, lam)
        closed = fl.relative_flatness_closed_form(cfg.features, cfg.labels, cfg.weight, cfg.bias)
        assert math.log(closed) == pytest.approx(ft.proposition52_kappa(k, M, lam, log=True), abs=1e-12)


def test_a_global_mean_offset_breaks_the_bound():
    """The proof takes ‖φ(x_c)‖² = M² (μ_g = 0). With μ_g ⟂ the simplex κ grows by 1 + ‖μ_g‖²/M²."""
    k, M, lam, g = 2, 1.0, 5.0, 2.0
    cfg = ft.neural_collapse_configuration(k, M, lam, global_mean_norm=g)
    kappa = fl.relative_flatness(cfg.features, cfg.labels, cfg.weight, cfg.bias)
    assert kappa == pytest.approx(ft.proposition52_kappa(k, M, lam, global_mean_norm=g), rel=1e-9, abs=0)
    assert kappa / ft.proposition52_bound(k, M, lam) == pytest.approx(0.5 * (1 + g * g), rel=1e-9, abs=0)  # 2.5
    check = ft.proposition_a4_check(cfg.features, cfg.labels, cfg.weight, cfg.bias)
    assert not check["holds"] and not check["assumptions_hold"] and check["nc4_train"] == 1.0
    # k = 10, saturated: the bound fails exactly when ‖μ_g‖²/M² > k²/2 − 1 = 49
    for g2, holds in ((48.0, True), (50.0, False)):
        cfg = ft.neural_collapse_configuration(10, 1.0, 50.0, global_mean_norm=math.sqrt(g2))
        assert ft.proposition_a4_check(cfg.features, cfg.labels, cfg.weight, cfg.bias)["holds"] is holds


# ------------------------------------------------------------------------------ Lemmas A.1 and A.2


def test_lemma_a1_needs_nc4_everywhere_not_only_on_the_data():
    cfg = ft.neural_collapse_configuration(4, 2.0, 0.7, d=6, seed=1, global_mean_norm=1.5, bias_constant=0.3)
    bias = cfg.bias.clone()
    bias[0] += 0.05  # NC1–NC3 untouched, NC4 still true on every training feature
    check = ft.lemma_a1_check(cfg.features, cfg.labels, cfg.weight, bias, num_probes=4000)
    assert check["nc4_train"] == 1.0 and check["nc3_residual"] < 1e-14
    assert not check["holds"] and check["lhs"] == pytest.approx(0.05, rel=1e-9)
    assert check["nc4_probe"] < 1.0  # ... but not everywhere


@settings(max_examples=60, deadline=None)
@given(n=st.integers(1, 12), d=st.integers(1, 6), c=st.integers(2, 5), seed=st.integers(0, 10**6),
       scale=st.sampled_from([0.01, 1.0, 10.0, 60.0]), with_bias=st.booleans())
def test_lemma_a2_on_random_inputs(n, d, c, seed, scale, with_bias):
    g = torch.Generator().manual_seed(seed)
    h = torch.randn(n, d, generator=g, dtype=torch.float64)
    y = torch.randint(0, c, (n,), generator=g)
    w = scale * torch.randn(c, d, generator=g, dtype=torch.float64)
    b = torch.randn(c, generator=g, dtype=torch.float64) if with_bias else None
    check = ft.lemma_a2_check(h, y, w, b)
    assert check["holds"]
    assert 0 <= check["lhs"] <= check["spectral_bound"] * (1 + 1e-12) + 1e-300
    assert check["spectral_bound"] <= check["rhs"] * (1 + 1e-12) + 1e-300
    assert check["rhs"] == pytest.approx(fl.flatness_bound(h, y, w, b), rel=1e-12, abs=1e-300)
    assert check["lhs"] == pytest.approx(fl.relative_flatness_closed_form(h, y, w, b), rel=1e-12, abs=1e-300)
    if scale <= 1.0:
        assert check["lhs"] == pytest.approx(fl.relative_flatness(h, y, w, b), rel=1e-8, abs=0)


def test_lemma_a2_equality_case_and_its_value_under_collapse():
    g = torch.Generator().manual_seed(0)
    h = torch.randn(15, 4, generator=g, dtype=torch.float64)
    y = torch.randint(0, 2, (15,), generator=g)
    w1 = torch.randn(4, generator=g, dtype=torch.float64)
    equal = ft.lemma_a2_check(h, y, torch.stack([w1, -w1]), torch.tensor([0.3, -0.1], dtype=torch.float64))
    assert equal["lhs"] == pytest.approx(equal["rhs"], rel=1e-12, abs=0)
    assert equal["ratio"] == pytest.approx(1, rel=1e-12, abs=0)
    generic = ft.lemma_a2_check(h, y, torch.stack([w1, 0.5 * w1 + torch.ones(4, dtype=torch.float64)]))
    assert generic["lhs"] < generic["rhs"] * (1 - 1e-3)
    for k in (3, 5, 10):  # under NC: κ = ‖w‖²Tr H/(k−1), and λ_max(WWᵀ)·Tr H is exact
        cfg = ft.neural_collapse_configuration(k, 1.3, 0.8)
        check = ft.lemma_a2_check(cfg.features, cfg.labels, cfg.weight, cfg.bias)
        assert check["ratio"] == pytest.approx(1 / (k - 1), rel=1e-12, abs=0)
        assert check["spectral_bound"] == pytest.approx(check["lhs"], rel=1e-12, abs=0)


# ------------------------------------------------------------------------------ representativeness


def test_representativeness_vanishes_on_the_training_features_with_a_small_loss():
    cfg = ft.neural_collapse_configuration(4, 20.0, 1.0)  # margin 533 ≫ the bandwidth-1 perturbation
    args = (cfg.features, cfg.labels, cfg.features, cfg.labels, cfg.weight, cfg.bias)
    assert abs(ft.representativeness(*args)) < 1e-12
    cfg = ft.neural_collapse_configuration(4, 5.0, 1.0, samples_per_class=10)  # margin 33, some draws cost
    terms = ft.representativeness_terms(cfg.features, cfg.labels, cfg.features, cfg.labels, cfg.weight, cfg.bias,
                                        num_samples=64)
    assert terms["test_loss"] < 1e-12 and terms["kde_loss"] < 1e-3 and abs(terms["representativeness"]) < 1e-3
    assert terms["se"] >= 0


def test_representativeness_is_positive_when_test_features_are_far():
    cfg = ft.neural_collapse_configuration(4, 3.0, 1.0, samples_per_class=5)
    far = cfg.features + 6.0 * cfg.global_mean.new_ones(cfg.features.shape[1])
    wrong = cfg.features[torch.roll(torch.arange(20), 5)]  # every test point sits on another class's mean
    for test in (far, wrong):
        terms = ft.representativeness_terms(cfg.features, cfg.labels, test, cfg.labels, cfg.weight, cfg.bias)
        assert terms["representativeness"] > 1.0 and terms["representativeness"] > 10 * terms["se"]
    # logits 9 for the class whose mean it is, −3 for the three others: the margin λM²k/(k−1) = 12, lost
    assert terms["test_loss"] == pytest.approx(12.0 + math.log1p(3 * math.exp(-12.0)), rel=1e-12)


def test_representativeness_weightings_bandwidth_and_seed():
    g = torch.Generator().manual_seed(4)
    h, ht = torch.randn(30, 5, generator=g, dtype=torch.float64), torch.randn(20, 5, generator=g, dtype=torch.float64)
    y, yt = torch.randint(0, 3, (30,), generator=g), torch.randint(0, 3, (20,), generator=g)
    w = torch.randn(3, 5, generator=g, dtype=torch.float64)
    base = ft.representativeness_terms(h, y, ht, yt, w)
    assert base == ft.representativeness_terms(h, y, ht, yt, w)  # the same draws every call
    assert base != ft.representativeness_terms(h, y, ht, yt, w, seed=1)
    literal = ft.representativeness_terms(h, y, ht, yt, w, weighting="literal")
    assert literal["kde_loss"] == pytest.approx(0.02 * 30 * base["kde_loss"], rel=1e-12, abs=0)
    assert ft.representativeness_terms(h, y, ht, yt, w, sample_weight=0.5) == base  # normalised: 0.02 cancels
    assert ft.representativeness_terms(h, y, ht, yt, w, weighting="feature_norm")["kde_loss"] > 0
    exact = ft.representativeness_terms(h, y, ht, yt, w, bandwidth=0.0)
    assert exact["kde_loss"] == pytest.approx(exact["train_loss"], rel=1e-12, abs=0) and exact["se"] == 0
    for bad in [dict(bandwidth=-1.0), dict(sample_weight=0.0), dict(num_samples=1), dict(weighting="kde")]:
        with pytest.raises(ValueError):
            ft.representativeness_terms(h, y, ht, yt, w, **bad)


# ------------------------------------------------------------------------------ callback


def _context(model):
    g = torch.Generator().manual_seed(0)
    data = Dataset(torch.randn(60, 36, generator=g), torch.randint(0, 4, (60,), generator=g),
                   torch.randn(40, 36, generator=g), torch.randint(0, 4, (40,), generator=g), num_classes=4)
    return data, EvalContext(model, data, Config(), 0)


KEYS = {"lemma_a2_kappa", "lemma_a2_intermediate", "lemma_a2_bound", "lemma_a2_slack", "lemma_a2_ratio",
        "representativeness", "representativeness_se", "representativeness_test_loss", "representativeness_kde_loss"}


def test_callback_keys_values_and_determinism():
    torch.manual_seed(0)
    model = gu.models.MLP(36, (12, 12), 4)
    data, context = _context(model)
    row = ft.flatness_theory_metrics(context)
    assert set(row) == KEYS and all(isinstance(v, float) and math.isfinite(v) for v in row.values())
    assert row == ft.flatness_theory_metrics(context)
    assert row["lemma_a2_kappa"] <= row["lemma_a2_intermediate"] <= row["lemma_a2_bound"]
    with torch.no_grad():
        h = model.features(data.x_train[probe_indices(60, ft.PROBE_SIZE, ft.PROBE_SEED)]).double()
    y = data.y_train[probe_indices(60, ft.PROBE_SIZE, ft.PROBE_SEED)]
    w, b = model.head.weight.detach(), model.head.bias.detach()
    assert row["lemma_a2_kappa"] == pytest.approx(fl.relative_flatness(h, y, w, b), rel=1e-8)
    assert row["lemma_a2_bound"] == pytest.approx(fl.flatness_bound(h, y, w, b), rel=1e-12)


def test_callback_without_a_head_bias_and_without_a_head():
    class NoBias(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.body, self.head = torch.nn.Linear(36, 8), torch.nn.Linear(8, 4, bias=False)

        def features(self, x):
            return torch.tanh(self.body(x))

    torch.manual_seed(0)
    assert set(ft.flatness_theory_metrics(_context(NoBias())[1])) == KEYS
    with pytest.raises(ValueError, match="features"):
        ft.flatness_theory_metrics(_context(torch.nn.Linear(36, 4))[1])
