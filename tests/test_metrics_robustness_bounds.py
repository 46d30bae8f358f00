"""Closed-form and brute-force tests of grokutils.metrics.robustness_bounds: the theory of Tan & Huang (2023),
"Grokking through a robustness viewpoint" (book Part II) — Lemma 3.1 and the α = 2 results of Section 5.2."""

from __future__ import annotations

import copy
import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

import grokutils as gu
from grokutils.losses import objective
from grokutils.metrics.probe import probe_indices
from grokutils.metrics.robustness import (NOISE_SEED, PROBE_SEED, PROBE_SIZE, SIGMA_EMBEDDING, SIGMA_IMAGE,
                                          matrix_information_signals)
from grokutils.metrics.robustness_bounds import (Bound, first_order_perturbation_error, jacobian_norms, lemma_3_1,
                                                 lemma_5_7, lemma_5_8, lemma_5_10, lemma_5_11, mse_loss_scale,
                                                 renyi2_entropy, renyi2_mutual_information, robustness_bounds_metrics,
                                                 section5_bounds, theorem_5_9, theorem_5_12, unit_rows)
from grokutils.metrics.spectral import matrix_mutual_information, matrix_renyi_entropy
from grokutils.models import CNN, MLP, Transformer
from grokutils.train import EvalContext

FAST = settings(max_examples=25, deadline=None)
P = 11
TOL = 1e-12  # relative round-off allowed on a "≤"


def gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def randn(*shape, seed: int = 0) -> torch.Tensor:
    return torch.randn(*shape, generator=gen(seed), dtype=torch.float64)


def holds(lhs, rhs) -> bool:
    lhs, rhs = torch.as_tensor(lhs, dtype=torch.float64), torch.as_tensor(rhs, dtype=torch.float64)
    return bool((lhs <= rhs * (1 + TOL) + 1e-13).all())


def tiny_mlp(seed: int = 0, activation: str = "tanh", widths=(8, 7), d_in: int = 5, classes: int = 3,
             init_scale: float = 1.0) -> MLP:
    torch.manual_seed(seed)
    return MLP(d_in, widths, classes, init_scale, activation).double()


def interpolate(model: MLP, x: torch.Tensor, y: torch.Tensor) -> MLP:
    """Set the head so that f(x_i) = onehot(y_i) exactly (least squares on [features, 1], width + 1 ≥ n)."""
    with torch.no_grad():
        features = torch.cat([model.features(x), torch.ones(len(x), 1, dtype=torch.float64)], 1)
        targets = torch.eye(model.head.out_features, dtype=torch.float64)[y]
        solution = torch.linalg.lstsq(features, targets, driver="gelsd").solution
        model.head.weight.copy_(solution[:-1].T)
        model.head.bias.copy_(solution[-1])
    return model


def flat_function(model: nn.Module, fn):
    """(θ₀, g) with g(θ) = fn(model with parameters θ), for torch.autograd.functional.hessian."""
    names, shapes = zip(*[(n, p.shape) for n, p in model.named_parameters()])
    theta = torch.cat([p.detach().flatten() for p in model.parameters()])

    def g(flat):
        params, i = {}, 0
        for name, shape in zip(names, shapes):
            params[name] = flat[i:i + shape.numel()].view(shape)
            i += shape.numel()
        return fn(lambda x: torch.func.functional_call(model, params, (x,)))
    return theta, g


def exact_hessian_trace(model, x, y, config) -> float:
    theta, loss = flat_function(model, lambda f: objective(config, f(x), y, reduction="mean"))
    return float(torch.trace(torch.autograd.functional.hessian(loss, theta)))


def residual_term(model, x, y, c) -> float:
    """2c Σ_{i,k} r_ik tr ∇²_θ f_k(x_i), r = f − onehot(y), by autograd."""
    with torch.no_grad():
        r = model(x) - torch.eye(model.head.out_features, dtype=torch.float64)[y]
    theta, weighted = flat_function(model, lambda f: (r * f(x)).sum())
    return 2 * c * float(torch.trace(torch.autograd.functional.hessian(weighted, theta)))


MSE = gu.Config(task="mnist", model="mlp", widths=(8, 7), loss="mse", loss_reduction="mean")


# --------------------------------------------------------------------------- Lemma 3.1: c and Jacobians


@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_loss_scale_is_the_objectives(reduction):
    logits, labels = randn(13, 4, seed=1), torch.randint(0, 4, (13,), generator=gen(2))
    residual = (logits - torch.eye(4, dtype=torch.float64)[labels]).pow(2).sum()
    value = objective(MSE, logits, labels, reduction=reduction)
    assert float(value) == pytest.approx(mse_loss_scale(13, 4, reduction) * float(residual), rel=1e-14)


@pytest.mark.parametrize("args, word", [((0, 3), "num_samples"), ((5, 2.0), "num_classes"),
                                        ((5, 3, "none"), "reduction"), ((True, 3), "num_samples")])
def test_bad_loss_scale_arguments(args, word):
    with pytest.raises(ValueError, match=word):
        mse_loss_scale(*args)


@pytest.mark.parametrize("activation", ["relu", "tanh", "softplus"])
def test_layer_identity_matches_full_parameter_jacobians(activation):
    model, x = tiny_mlp(3, activation), randn(11, 5, seed=4)
    fast, full = jacobian_norms(model, x), jacobian_norms(model, x, method="full", chunk=4)
    for field in ("input", "first_layer", "parameters", "x"):
        torch.testing.assert_close(getattr(fast, field), getattr(full, field), rtol=1e-12, atol=0)


def test_jacobians_against_autograd_per_sample():
    model, x = tiny_mlp(5, "softplus"), randn(4, 5, seed=6)
    norms = jacobian_norms(model, x)
    first = model.body[1].weight
    for i in range(len(x)):
        j_x = torch.autograd.functional.jacobian(model, x[i:i + 1])
        assert float(j_x.pow(2).sum()) == pytest.approx(float(norms.input[i]), rel=1e-12)
        rows = [torch.autograd.grad(model(x[i:i + 1])[0, k], first)[0] for k in range(3)]
        assert sum(float(r.pow(2).sum()) for r in rows) == pytest.approx(float(norms.first_layer[i]), rel=1e-12)
        grads = [torch.autograd.grad(model(x[i:i + 1])[0, k], list(model.parameters())) for k in range(3)]
        assert sum(float(g.pow(2).sum()) for gs in grads for g in gs) == pytest.approx(float(norms.parameters[i]),
                                                                                         rel=1e-12)


def test_sequential_without_biases_and_image_inputs():
    torch.manual_seed(7)
    model = nn.Sequential(nn.Flatten(), nn.Linear(12, 6, bias=False), nn.ReLU(), nn.Linear(6, 3, bias=False))
    x = torch.randn(5, 1, 3, 4)
    fast, full = jacobian_norms(model, x), jacobian_norms(model, x, "full")
    torch.testing.assert_close(fast.parameters, full.parameters, rtol=1e-12, atol=0)


# --------------------------------------------------------------------------- Lemma 3.1: inequality and Hessian


@FAST
@given(seed=st.integers(0, 2**31 - 1), activation=st.sampled_from(["relu", "tanh", "softplus"]),
       scale=st.floats(0.05, 20.0), widths=st.sampled_from([(4,), (9, 3), (3, 8, 5)]))
def test_lemma_3_1_holds_per_sample_on_random_mlps(seed, activation, scale, widths):
    model, x = tiny_mlp(seed % 1000, activation, widths, 6, 4, scale), randn(7, 6, seed=seed) * scale
    norms = jacobian_norms(model, x)
    w1 = float(torch.linalg.matrix_norm(model.body[1].weight.detach(), ord=2))
    assert holds(norms.x * norms.input, w1 ** 2 * norms.first_layer)
    assert holds(norms.first_layer, norms.parameters)
    lemma = lemma_3_1(model, x)
    assert holds(lemma.lhs, lemma.rhs) and holds(lemma.rhs, lemma.sharpness_rhs)
    assert lemma.slack >= 1 - 1e-12 and lemma.sharpness_slack >= lemma.slack * (1 - 1e-12)


def test_lemma_3_1_is_tight_for_a_scaled_isometric_first_layer():
    # W₁ = s Qᵀ with orthonormal columns of Q: ‖W₁ᵀ v‖ = s ‖v‖ for every v, so the first inequality is an equality.
    model = tiny_mlp(8, "tanh", (4, 5), 6, 3)
    q, _ = torch.linalg.qr(randn(6, 4, seed=9))
    with torch.no_grad():
        model.body[1].weight.copy_(2.5 * q.T)
    lemma = lemma_3_1(model, randn(10, 6, seed=10))
    assert lemma.first_layer_norm == pytest.approx(2.5, rel=1e-14)
    assert lemma.lhs == pytest.approx(lemma.rhs, rel=1e-12) and lemma.slack == pytest.approx(1.0, rel=1e-12)


@pytest.mark.parametrize("activation", ["tanh", "relu", "softplus"])
def test_gauss_newton_trace_is_the_exact_hessian_trace_at_interpolation(activation):
    model = tiny_mlp(11, activation)
    x, y = randn(6, 5, seed=12), torch.tensor([0, 1, 2, 0, 1, 2])
    interpolate(model, x, y)
    lemma = lemma_3_1(model, x, y)
    assert lemma.loss < 1e-26  # exactly interpolating: the residual term is 0
    assert lemma.loss_scale == 1 / (6 * 3)
    exact = exact_hessian_trace(model, x, y, MSE)
    assert lemma.gauss_newton_trace == pytest.approx(exact, rel=1e-10)
    # the lemma in its sharpness form, with the exact trace: E‖x‖²‖∇ₓf‖² ≤ ‖W₁‖₂² tr H / (2cn)
    assert holds(lemma.lhs, lemma.first_layer_norm ** 2 * exact / (2 * lemma.loss_scale * 6))


def test_off_interpolation_the_residual_term_is_the_difference():
    model, x, y = tiny_mlp(13, "tanh"), randn(6, 5, seed=14), torch.tensor([2, 1, 0, 0, 1, 2])
    lemma, c = lemma_3_1(model, x, y), mse_loss_scale(6, 3)
    exact, residual = exact_hessian_trace(model, x, y, MSE), residual_term(model, x, y, c)
    assert lemma.loss > 0.01 and abs(residual) > 1e-3 * abs(exact)
    assert lemma.gauss_newton_trace + residual == pytest.approx(exact, rel=1e-10)


def test_relu_mlp_hessian_trace_is_gauss_newton_everywhere():
    # every parameter enters a ReLU MLP piecewise linearly: tr ∇²_θ f_k = 0 and tr H = tr H_GN off interpolation too
    model, x, y = tiny_mlp(15, "relu"), randn(6, 5, seed=16), torch.tensor([2, 1, 0, 0, 1, 2])
    lemma = lemma_3_1(model, x, y)
    assert lemma.loss > 0.01
    assert lemma.gauss_newton_trace == pytest.approx(exact_hessian_trace(model, x, y, MSE), rel=1e-10)


def test_loss_scale_argument_and_the_paper_normalisation():
    # the paper's L = 1/(2n) Σ ‖f − y‖² (c = 1/(2n)) makes tr H_GN / (2cn) = tr H_GN: rhs = ‖W₁‖₂² tr H
    model, x = tiny_mlp(17), randn(8, 5, seed=18)
    lemma = lemma_3_1(model, x, loss_scale=1 / 16)
    assert lemma.sharpness_rhs == pytest.approx(lemma.first_layer_norm ** 2 * lemma.gauss_newton_trace, rel=1e-13)


# --------------------------------------------------------------------------- first-order perturbation error


def test_first_order_error_of_a_linear_map_is_sigma2_frobenius2():
    torch.manual_seed(19)
    linear = nn.Sequential(nn.Flatten(), nn.Linear(6, 4))
    expected = 0.3 ** 2 * float(linear[1].weight.detach().double().pow(2).sum())
    assert first_order_perturbation_error(linear, torch.randn(9, 2, 3), 0.3) == pytest.approx(expected, rel=1e-12)
    assert first_order_perturbation_error(linear, torch.randn(9, 2, 3), 0.0) == 0.0


def test_first_order_error_mlp_path_equals_the_generic_path():
    model, x = tiny_mlp(20, "softplus"), randn(9, 5, seed=21)
    generic = gu.metrics.robustness_bounds._generic_first_order(model, x, 0.2, 4)
    assert first_order_perturbation_error(model, x, 0.2) == pytest.approx(generic, rel=1e-12)


def test_first_order_error_on_token_embeddings_against_autograd():
    torch.manual_seed(22)
    model, tokens = Transformer(P + 1, P, d_model=16, num_heads=4, d_mlp=24), gu.data.algorithmic("add", P, 0.5)
    tokens = tokens.x_train[:6]
    double = copy.deepcopy(model).double()
    embedded = double.embed(tokens).detach()
    brute = sum(float(torch.autograd.functional.jacobian(double.forward_from_embeddings, embedded[i:i + 1])
                      .pow(2).sum()) for i in range(len(tokens))) / len(tokens)
    assert first_order_perturbation_error(model, tokens, 0.05, chunk=4) == pytest.approx(0.05 ** 2 * brute, rel=1e-10)


# --------------------------------------------------------------------------- Props 5.5 and 5.6


def grams():
    z = unit_rows(randn(9, 4, seed=23))
    codes = unit_rows(torch.nn.functional.one_hot(torch.tensor([0, 0, 1, 2, 2, 2, 1, 0, 3]), 5).double())
    return {"random": z @ z.T, "clusters": codes @ codes.T, "identity": torch.eye(9, dtype=torch.float64),
            "rank one": torch.ones(9, 9, dtype=torch.float64), "wide": (lambda w: w @ w.T)(unit_rows(randn(9, 30)))}


@pytest.mark.parametrize("name", list(grams()))
def test_prop_5_5_is_the_order_2_renyi_entropy(name):
    k = grams()[name]
    assert renyi2_entropy(k) == pytest.approx(matrix_renyi_entropy(k, 2.0), abs=1e-10)


def test_prop_5_5_closed_forms():
    assert renyi2_entropy(torch.eye(7, dtype=torch.float64)) == pytest.approx(math.log(7), abs=1e-14)
    assert renyi2_entropy(torch.ones(7, 7, dtype=torch.float64)) == pytest.approx(0.0, abs=1e-14)


@pytest.mark.parametrize("a", list(grams()))
@pytest.mark.parametrize("b", ["random", "clusters", "wide"])
def test_prop_5_6_is_the_order_2_mutual_information(a, b):
    ka, kb = grams()[a], grams()[b]
    assert renyi2_mutual_information(ka, kb) == pytest.approx(matrix_mutual_information(ka, kb, 2.0), abs=1e-10)


def test_identity_input_gram_gives_information_equal_to_entropy():
    # Appendix A's remark: K₁ = I makes K₁∘K₂ = I, so I₂(I; K₂) = log n + H₂(K₂) − log n = H₂(K₂)
    k = grams()["random"]
    assert renyi2_mutual_information(torch.eye(9, dtype=torch.float64), k) == pytest.approx(renyi2_entropy(k),
                                                                                             abs=1e-13)


# --------------------------------------------------------------------------- Lemmas 5.7, 5.8, 5.10, 5.11


def unit(*shape, seed):
    return unit_rows(randn(*shape, seed=seed).reshape(-1, shape[-1])).reshape(shape)


def test_lemma_5_7_random_adversarial_and_equality():
    a, b, ap, bp = (unit(500, 4, seed=s) for s in range(24, 28))
    assert holds(*lemma_5_7(a, b, ap, bp))
    assert holds(*lemma_5_7(a, b, -a, -b))  # antipodal
    e1, e2 = torch.eye(3, dtype=torch.float64)[:2]
    lhs, rhs = lemma_5_7(e1, e1, -e1, e1)  # equality: b ∥ a − a', a' ∥ b − b' (= 0)
    assert float(lhs) == 2.0 and float(rhs) == 2.0
    assert [float(v) for v in lemma_5_7(e1, e2, e1, e2)] == [0.0, 0.0]  # identical
    assert float(lemma_5_7(e1, e1, e2, e2)[0]) == 0.0  # orthogonal moves that keep the inner product


def test_lemma_5_10_grid_and_equality():
    values = torch.linspace(-1, 1, 9, dtype=torch.float64)
    a, b, ap, bp = torch.meshgrid(values, values, values, values, indexing="ij")
    assert holds(*lemma_5_10(a, b, ap, bp))
    lhs, rhs = lemma_5_10(1.0, 1.0, -1.0, 1.0)
    assert float(lhs) == float(rhs) == 2.0
    with pytest.raises(ValueError, match="absolute values"):
        lemma_5_10(-10.0, -10.0, -10.0, -9.0)  # "≤ 1" without absolute values fails: |100 − 90| > 0 + 1


def brute_gram_difference(z, zp) -> float:
    n = len(z)
    return math.sqrt(sum(float(z[i] @ z[j] - zp[i] @ zp[j]) ** 2 for i in range(n) for j in range(n)))


@pytest.mark.parametrize("case", ["random", "small noise", "identical", "orthogonal", "antipodal", "two rows"])
def test_lemma_5_8(case):
    z = unit(8, 5, seed=28)
    zp = {"random": unit(8, 5, seed=29), "small noise": unit_rows(z + 1e-3 * randn(8, 5, seed=30)),
          "identical": z.clone(), "antipodal": -z,
          "orthogonal": unit_rows(randn(8, 5, seed=31) - (randn(8, 5, seed=31) * z).sum(1, keepdim=True) * z)}.get(case)
    if case == "two rows":
        z, zp = torch.tensor([[1.0, 0.0], [1.0, 0.0]]).double(), torch.tensor([[1.0, 0.0], [-1.0, 0.0]]).double()
    bound = lemma_5_8(z, zp)
    assert bound.lhs == pytest.approx(brute_gram_difference(z, zp), rel=1e-12, abs=1e-14)
    delta = float((z - zp).norm())
    assert bound.rhs_paper == pytest.approx(2 * math.sqrt(len(z)) * delta, rel=1e-14)
    assert holds(bound.lhs, bound.rhs) and holds(bound.rhs, bound.rhs_paper)
    if case in ("identical", "antipodal"):  # K' = K: both Grams equal
        assert bound.lhs == pytest.approx(0.0, abs=1e-14)
    if case == "identical":
        assert bound.rhs == 0.0 and bound.slack == 1.0


def test_lemma_5_11_random_identical_and_brute_force():
    z1, z1p, z2, z2p = (unit(7, 3, seed=s) for s in range(32, 36))
    k1, k1p, k2, k2p = (z @ z.T for z in (z1, z1p, z2, z2p))
    bound = lemma_5_11(k1, k1p, k2, k2p)
    brute = math.sqrt(sum(float(k1[i, j] * k2[i, j] - k1p[i, j] * k2p[i, j]) ** 2 for i in range(7) for j in range(7)))
    assert bound.lhs == pytest.approx(brute, rel=1e-12) and holds(bound.lhs, bound.rhs)
    assert lemma_5_11(k1, k1, k2, k2) == Bound(0.0, 0.0, 0.0)
    assert holds(lemma_5_11(k1, -k1 + 2 * torch.eye(7).double(), k2, k2).lhs, 2 * float((k1 - torch.eye(7)).norm()))


# --------------------------------------------------------------------------- Theorems 5.9 and 5.12


def entropy_of(z) -> float:
    return matrix_renyi_entropy(z @ z.T, 2.0)


@FAST
@given(seed=st.integers(0, 2**31 - 1), noise=st.sampled_from([0.0, 1e-6, 1e-2, 0.3, 3.0, 100.0]),
       n=st.integers(2, 30), d=st.integers(1, 12))
def test_theorems_5_9_and_5_12_hold_against_brute_force(seed, noise, n, d):
    z1, z2 = unit_rows(randn(n, d + 2, seed=seed)), unit_rows(randn(n, d, seed=seed + 1))
    z1p = unit_rows(z1 + noise * randn(n, d + 2, seed=seed + 2))
    z2p = unit_rows(z2 + noise * randn(n, d, seed=seed + 3))
    ed = theorem_5_9(z2, z2p)
    assert ed.lhs == pytest.approx(abs(entropy_of(z2p) - entropy_of(z2)), abs=1e-10)
    gram_step = 2 * math.log1p(float((z2p @ z2p.T - z2 @ z2.T).norm()) / math.sqrt(n))
    assert holds(ed.lhs, gram_step) and holds(gram_step, ed.rhs) and holds(ed.rhs, ed.rhs_paper)
    assert holds(ed.rhs_paper, 4 * float((z2p - z2).norm()))
    mid = theorem_5_12(z1, z1p, z2, z2p)
    brute = matrix_mutual_information(z1p @ z1p.T, z2p @ z2p.T, 2.0) - matrix_mutual_information(z1 @ z1.T,
                                                                                                z2 @ z2.T, 2.0)
    assert mid.lhs == pytest.approx(abs(brute), abs=1e-10)
    assert holds(mid.lhs, mid.rhs) and holds(mid.rhs, mid.rhs_paper)
    assert holds(mid.rhs_paper, 8 * float((z1p - z1).norm() + (z2p - z2).norm()))


def test_theorems_are_zero_for_identical_representations():
    z1, z2 = unit(10, 4, seed=40), unit(10, 3, seed=41)
    assert theorem_5_9(z2, z2.clone()) == Bound(0.0, 0.0, 0.0)
    assert theorem_5_12(z1, z1.clone(), z2, z2.clone()) == Bound(0.0, 0.0, 0.0)


def test_theorem_5_9_for_collapse_to_orthogonal_codes():
    # clean outputs all equal (H₂ = 0) → perturbed outputs orthonormal (H₂ = log n): |ED| = log n
    n = 6
    z, zp = torch.zeros(n, n, dtype=torch.float64), torch.eye(n, dtype=torch.float64)
    z[:, 0] = 1.0
    bound = theorem_5_9(z, zp)
    assert bound.lhs == pytest.approx(math.log(n), rel=1e-13) and holds(bound.lhs, bound.rhs)


def test_section5_bounds_on_one_batch():
    first, out = randn(12, 6, seed=42), randn(12, 4, seed=43)
    bounds = section5_bounds(first, first + 0.1 * randn(12, 6, seed=44), out, out + 0.1 * randn(12, 4, seed=45))
    assert set(bounds) == {"lemma_5_7_first", "lemma_5_7_out", "lemma_5_8_first", "lemma_5_8_out", "lemma_5_10",
                           "lemma_5_11", "theorem_5_9", "theorem_5_12"}
    for name, bound in bounds.items():
        assert holds(bound.lhs, bound.rhs) and holds(bound.rhs, bound.rhs_paper), name
        assert bound.lhs > 0 and bound.slack >= 1 - 1e-12, name
    assert bounds["theorem_5_9"] == theorem_5_9(unit_rows(out), unit_rows(out + 0.1 * randn(12, 4, seed=45)))
    same = section5_bounds(first, 3.0 * first, out, out)  # rescaled rows: the same unit rows
    assert all(b.lhs == pytest.approx(0.0, abs=1e-13) for b in same.values())


# --------------------------------------------------------------------------- validation


@pytest.mark.parametrize("call, word", [
    (lambda: lemma_5_8(randn(4, 3), unit(4, 3, seed=1)), "unit rows"),
    (lambda: lemma_5_8(unit(4, 3, seed=1), unit(5, 3, seed=2)), "same shape"),
    (lambda: theorem_5_12(unit(4, 3, seed=1), unit(4, 3, seed=2), unit(5, 2, seed=3), unit(5, 2, seed=4)), "rows"),
    (lambda: renyi2_entropy(2 * torch.eye(3)), "unit diagonal"),
    (lambda: renyi2_entropy(torch.ones(2, 3)), "square"),
    (lambda: renyi2_mutual_information(torch.eye(3), torch.eye(4)), "same shape"),
    (lambda: lemma_5_7(torch.ones(3), torch.ones(3), torch.ones(3), torch.ones(3)), "unit norm"),
    (lambda: lemma_5_10(0.5, 1.5, 0.0, 0.0), "absolute values"),
    (lambda: unit_rows(torch.zeros(3, 2)), "zero row"),
    (lambda: unit_rows(torch.tensor([[math.nan, 1.0]])), "NaN"),
    (lambda: section5_bounds(randn(4, 3), randn(4, 3), randn(4, 2), randn(5, 2)), "share n rows"),
    (lambda: jacobian_norms(tiny_mlp(), randn(3, 5), method="exact"), "method"),
    (lambda: jacobian_norms(tiny_mlp(), randn(3, 6)), "first Linear"),
    (lambda: jacobian_norms(tiny_mlp(), torch.zeros(3, 5, dtype=torch.long)), "floating"),
    (lambda: jacobian_norms(CNN(1, 28, 10, width=4), torch.randn(2, 1, 28, 28)), "Lemma 3.1 needs"),
    (lambda: jacobian_norms(nn.Sequential(nn.Linear(5, 3), nn.Dropout()), randn(2, 5)), "Dropout"),
    (lambda: lemma_3_1(tiny_mlp(), randn(3, 5), torch.tensor([0, 1, 3])), "class indices"),
    (lambda: lemma_3_1(tiny_mlp(), randn(3, 5), loss_scale=0.0), "loss_scale"),
    (lambda: first_order_perturbation_error(tiny_mlp(), randn(3, 5), -1.0), "sigma"),
])
def test_invalid_arguments_raise(call, word):
    with pytest.raises(ValueError, match=word):
        call()


# --------------------------------------------------------------------------- callback

LEMMA_KEYS = {"lemma31_lhs", "lemma31_rhs", "lemma31_slack", "lemma31_sharpness_rhs", "lemma31_sharpness_slack",
              "perturbation_first_order"}
THEOREM_KEYS = {f"{t}_{s}" for t in ("theorem59", "theorem512") for s in ("lhs", "rhs", "rhs_paper", "slack")}


def finite_floats(row) -> bool:
    return all(isinstance(v, float) and math.isfinite(v) for v in row.values())


@pytest.mark.parametrize("loss", ["mse", "cross_entropy"])
def test_callback_on_an_mlp_on_images(loss):
    g = gen(46)
    x = torch.randn(PROBE_SIZE + 20, 1, 28, 28, generator=g)
    y = torch.randint(0, 10, (len(x),), generator=g)
    data = gu.data.Dataset(x, y, x[:10], y[:10], num_classes=10)
    config = gu.Config(task="mnist", model="mlp", widths=(16, 16), loss=loss)
    model = gu.models.build(config, data.input_shape, 10)
    row = robustness_bounds_metrics(EvalContext(model, data, config, step=0))
    assert set(row) == THEOREM_KEYS | LEMMA_KEYS | ({"gauss_newton_trace"} if loss == "mse" else set())
    assert finite_floats(row) and row == robustness_bounds_metrics(EvalContext(model, data, config, step=1))
    for key in ("theorem59", "theorem512", "lemma31"):
        assert row[f"{key}_lhs"] <= row[f"{key}_rhs"] and row[f"{key}_slack"] >= 1
    assert row["lemma31_rhs"] <= row["lemma31_sharpness_rhs"]
    probe = x[probe_indices(len(x), PROBE_SIZE, PROBE_SEED)]
    assert row["perturbation_first_order"] == pytest.approx(first_order_perturbation_error(model, probe, SIGMA_IMAGE),
                                                            rel=1e-12)


def test_callback_on_a_transformer_matches_the_robustness_signals_at_alpha_2():
    config = gu.Config(task="add", p=P, d_model=16, num_heads=4, d_mlp=32)
    data = gu.data.algorithmic("add", P, 0.5)  # 60 training pairs: one batch
    model = gu.models.build(config, data.input_shape, data.num_classes, data.vocab_size)
    row = robustness_bounds_metrics(EvalContext(model, data, config, step=0))
    assert set(row) == THEOREM_KEYS and finite_floats(row)
    assert row["theorem59_lhs"] <= row["theorem59_rhs"] and row["theorem512_lhs"] <= row["theorem512_rhs"]
    x = data.x_train[probe_indices(len(data.x_train), PROBE_SIZE, PROBE_SEED)]
    signals = matrix_information_signals(model, x, SIGMA_EMBEDDING, alpha=2.0, generator=gen(NOISE_SEED))
    assert row["theorem59_lhs"] == pytest.approx(abs(signals["ed"]), abs=1e-9)
    assert row["theorem512_lhs"] == pytest.approx(abs(signals["mid"]), abs=1e-9)
