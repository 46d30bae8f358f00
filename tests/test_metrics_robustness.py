"""Closed-form and brute-force tests of grokutils.metrics.robustness (Part II, Tan & Huang 2023)
and of the models' first-layer / from-embeddings entry points that it uses."""

from __future__ import annotations

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

import grokutils as gu
from grokutils.metrics.robustness import (
    PROBE_SIZE,
    abelian_agreement,
    commutativity_penalty,
    logit_distance,
    matrix_information_signals,
    perturb_inputs,
    perturbation_error,
    robustness_metrics,
)
from grokutils.models import CNN, MLP, EmbedMLP, Transformer
from grokutils.train import EvalContext

FAST = settings(max_examples=20, deadline=None)
P = 11


def gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


class Linear(nn.Module):
    """f(x) = W x; the first layer is a positive, input-dependent rescaling of ReLU(V x)."""

    def __init__(self, d_in: int, d_out: int, seed: int = 0, row_scale: float = 0.0, scale: float = 1.0):
        super().__init__()
        g = gen(seed)
        self.w = torch.randn(d_out, d_in, generator=g, dtype=torch.float64)
        self.v = torch.randn(6, d_in, generator=g, dtype=torch.float64)
        self.row_scale, self.scale = row_scale, scale

    def forward(self, x):
        return x @ self.w.T

    def first_layer(self, x):
        return self.scale * torch.exp(self.row_scale * x[:, :1]) * (torch.relu(x @ self.v.T) + 0.1)


class Fixed(nn.Module):
    """Returns given first-layer and output rows for inputs 0..n-1 (x holds row indices, σ = 0)."""

    def __init__(self, first, out):
        super().__init__()
        self.first, self.out = first, out

    def forward(self, x):
        return self.out[x[:, 0].long()]

    def first_layer(self, x):
        return self.first[x[:, 0].long()]


class SymmetricSum(nn.Module):
    """Logits of ReLU(E[a] + E[b]): commutative by construction."""

    def __init__(self, vocab: int, classes: int):
        super().__init__()
        torch.manual_seed(0)
        self.embed, self.lin = nn.Embedding(vocab, 8), nn.Linear(8, classes)

    def forward(self, tokens):
        return self.lin(torch.relu(self.embed(tokens[:, 0]) + self.embed(tokens[:, 1])))


def index_inputs(n: int) -> torch.Tensor:
    return torch.arange(n, dtype=torch.float64)[:, None]


def table(p: int = P) -> torch.Tensor:
    return gu.data.algorithmic("add", p, 0.5).x_train


def transformer(num_layers: int = 1, layer_norm: bool = False, seed: int = 0) -> Transformer:
    torch.manual_seed(seed)
    return Transformer(P + 1, P, d_model=16, num_heads=4, d_mlp=24, num_layers=num_layers, layer_norm=layer_norm)


# --------------------------------------------------------------------------- models


@pytest.mark.parametrize("num_layers, layer_norm", [(1, False), (1, True), (2, False), (2, True)])
def test_transformer_from_embeddings_matches_forward(num_layers, layer_norm):
    model = transformer(num_layers, layer_norm)
    with torch.no_grad():  # biases and norms non-trivial so that every parameter matters
        for name, parameter in model.named_parameters():
            if "norm" in name or name.endswith("bias"):
                parameter.add_(0.3 * torch.randn_like(parameter))
    tokens = table()
    with torch.no_grad():
        embedded = model.embed(tokens)
        torch.testing.assert_close(model.forward_from_embeddings(embedded), model(tokens), atol=1e-5, rtol=0)
        torch.testing.assert_close(model.first_layer(tokens), model.first_layer_from_embeddings(embedded))
        assert model.first_layer(tokens).shape == (len(tokens), 16)


@pytest.mark.parametrize("layer_norm", [False, True])
def test_transformer_first_layer_is_residual_before_the_mlp(layer_norm):
    # 1 layer: features = norm_final(block.mlp(first_layer)), block.mlp(h) = h + MLP(h), computed by the
    # fast per-(token, position) table path, so this checks first_layer against an independent route.
    model = transformer(1, layer_norm)
    with torch.no_grad():
        model.blocks[0].mlp_in.bias.add_(0.3)
        h = model.first_layer(table())
        torch.testing.assert_close(model.norm_final(model.blocks[0].mlp(h)), model.features(table()),
                                   atol=1e-5, rtol=0)


def test_first_layer_of_other_models():
    torch.manual_seed(0)
    images, tokens = torch.randn(4, 1, 28, 28), table()[:5]
    mlp, cnn, embed_mlp = MLP(784, (16, 8), 10), CNN(1, 28, 10, width=16), EmbedMLP(P + 1, 6, (12, 5), P)
    with torch.no_grad():
        lin = mlp.body[1]
        torch.testing.assert_close(mlp.first_layer(images), torch.relu(lin(images.flatten(1))))
        assert cnn.first_layer(images).shape == (4, 32 * 14 * 14)
        embedded = embed_mlp.embed(tokens)
        torch.testing.assert_close(embed_mlp.forward_from_embeddings(embedded), embed_mlp(tokens))
        assert embed_mlp.first_layer(tokens).shape == (5, 12)


# --------------------------------------------------------------------------- perturbation error


def test_linear_perturbation_error_is_sigma2_frobenius2():
    # E‖Wε‖² = σ² ‖W‖²_F; Var‖Wε‖² = 2σ⁴ ‖W Wᵀ‖²_F per sample (Gaussian quadratic form).
    model, sigma, n, draws = Linear(5, 3), 0.7, 400, 25
    x = torch.randn(n, 5, generator=gen(1), dtype=torch.float64)
    expected = sigma**2 * float(model.w.pow(2).sum())
    se = math.sqrt(2 * sigma**4 * float((model.w @ model.w.T).pow(2).sum()) / (n * draws))
    value = perturbation_error(model, x, sigma, num_draws=draws, generator=gen(2))
    assert abs(value - expected) < 4 * se


def test_perturbation_error_is_the_brute_force_mean():
    model, x = Linear(4, 2), torch.randn(30, 4, generator=gen(3), dtype=torch.float64)
    noisy = perturb_inputs(model, x, 0.3, gen(4))
    expected = float((model(noisy) - model(x)).pow(2).sum(1).mean())
    assert perturbation_error(model, x, 0.3, generator=gen(4)) == pytest.approx(expected, rel=1e-12)


def test_token_inputs_perturb_the_embeddings():
    model, tokens = transformer(), table()
    noisy = perturb_inputs(model, tokens, 0.05, gen(5))
    with torch.no_grad():
        assert noisy.shape == (len(tokens), 3, 16)
        torch.testing.assert_close(perturb_inputs(model, tokens, 0.0), model.embed(tokens))
        expected = float((model.forward_from_embeddings(noisy) - model(tokens)).double().pow(2).sum(1).mean())
    assert perturbation_error(model, tokens, 0.05, generator=gen(5)) == pytest.approx(expected, rel=1e-4)
    with pytest.raises(ValueError, match="embeddings"):
        perturbation_error(SymmetricSum(P + 1, P), tokens, 0.1)


@pytest.mark.parametrize("model, x", [
    (MLP(784, (16, 8), 10), torch.randn(50, 1, 28, 28)),
    (transformer(2), table()),
    (EmbedMLP(P + 1, 6, (12,), P), table()),
], ids=["MLP", "Transformer", "EmbedMLP"])
def test_sigma_zero_is_exactly_zero(model, x):
    assert perturbation_error(model, x, 0.0, num_draws=2) == 0.0
    signals = matrix_information_signals(model, x, 0.0, batch_size=16)
    assert signals["mid"] == 0.0 and signals["ed"] == 0.0
    assert signals["pmi"] == signals["mi"] and signals["pe"] == signals["entropy"]
    assert perturbation_error(model, x, 0.1, generator=gen(0)) > 0


# --------------------------------------------------------------------------- PMI, PE, MID, ED


def test_cluster_codes_give_shannon_entropy():
    # Outputs = one-hot cluster codes (first layer: the same codes scaled): K is block-diagonal
    # of all-ones blocks, K/n has eigenvalues n_c/n, and K∘K = K, so PE = PMI = −Σ (n_c/n) log(n_c/n).
    labels = torch.tensor([0] * 5 + [1] * 3 + [2] * 2)
    codes = nn.functional.one_hot(labels, 4).double()
    s = matrix_information_signals(Fixed(7.0 * codes, codes), index_inputs(10), 0.0, batch_size=10)
    shannon = -sum(c / 10 * math.log(c / 10) for c in (5, 3, 2))
    assert s["pe"] == pytest.approx(shannon, abs=1e-10)
    assert s["pmi"] == pytest.approx(shannon, abs=1e-10)


def test_equal_outputs_give_zero_entropy_and_information():
    first = torch.randn(12, 5, generator=gen(6), dtype=torch.float64)
    out = torch.ones(12, 3, dtype=torch.float64)
    s = matrix_information_signals(Fixed(first, out), index_inputs(12), 0.0, batch_size=12)
    assert s["pe"] == pytest.approx(0.0, abs=1e-10) and s["pmi"] == pytest.approx(0.0, abs=1e-10)


def test_batches_are_averaged_and_a_single_leftover_row_dropped():
    g = gen(7)
    first, out = torch.randn(9, 4, generator=g).double(), torch.randn(9, 3, generator=g).double()
    whole = [matrix_information_signals(Fixed(first[i:j], out[i:j]), index_inputs(j - i), 0.0, batch_size=4)
             for i, j in ((0, 4), (4, 8))]
    s = matrix_information_signals(Fixed(first, out), index_inputs(9), 0.0, batch_size=4)
    for key in ("pmi", "pe"):
        assert s[key] == pytest.approx((whole[0][key] + whole[1][key]) / 2, abs=1e-12)


def test_zero_rows_do_not_give_nan():
    first = torch.randn(8, 4, generator=gen(8), dtype=torch.float64)
    first[2] = 0.0
    out = torch.randn(8, 3, generator=gen(9), dtype=torch.float64)
    out[5] = 0.0
    s = matrix_information_signals(Fixed(first, out), index_inputs(8), 0.0, batch_size=8)
    assert all(math.isfinite(v) for v in s.values())
    with pytest.raises(ValueError, match="every row"):
        matrix_information_signals(Fixed(first, torch.zeros(8, 3)), index_inputs(8), 0.0)


def test_signals_bounds_on_a_random_mlp():
    torch.manual_seed(0)
    model, x = MLP(784, (32, 32), 10), torch.randn(90, 1, 28, 28)
    s = matrix_information_signals(model, x, 0.5, batch_size=30, generator=gen(10))
    assert set(s) == {"pmi", "pe", "mi", "entropy", "mid", "ed"}
    assert 0.0 - 1e-9 <= s["pmi"] <= s["pe"] + 1e-9 <= math.log(30) + 2e-9
    assert s["mid"] == s["pmi"] - s["mi"] and s["ed"] == s["pe"] - s["entropy"]


@FAST
@given(seed=st.integers(0, 2**31 - 1), sigma=st.floats(0.0, 2.0), row_scale=st.floats(-2.0, 2.0),
       scale=st.floats(1e-3, 1e3), alpha=st.sampled_from([0.5, 1.0, 2.0]))
def test_signals_invariant_to_positive_rescaling_of_first_layer_rows(seed, sigma, row_scale, scale, alpha):
    x = torch.randn(24, 5, generator=gen(seed), dtype=torch.float64)
    base = matrix_information_signals(Linear(5, 3, seed), x, sigma, alpha, 12, gen(seed + 1))
    rescaled = matrix_information_signals(Linear(5, 3, seed, row_scale, scale), x, sigma, alpha, 12, gen(seed + 1))
    for key in base:
        assert rescaled[key] == pytest.approx(base[key], abs=1e-8)


# --------------------------------------------------------------------------- validation

BAD_SIGMA = st.one_of(st.floats(max_value=-1e-300), st.sampled_from([math.nan, math.inf, True, "0.1", None]))


@FAST
@given(sigma=BAD_SIGMA)
def test_bad_sigma_raises(sigma):
    model, x = Linear(3, 2), torch.randn(4, 3, dtype=torch.float64)
    with pytest.raises(ValueError, match="sigma"):
        perturbation_error(model, x, sigma)
    with pytest.raises(ValueError, match="sigma"):
        matrix_information_signals(model, x, sigma)


@pytest.mark.parametrize("kwargs, word", [
    ({"alpha": 0.0}, "alpha"), ({"alpha": -1.0}, "alpha"), ({"alpha": math.nan}, "alpha"),
    ({"alpha": math.inf}, "alpha"), ({"batch_size": 1}, "batch_size"), ({"batch_size": 2.5}, "batch_size"),
])
def test_bad_signal_arguments_raise(kwargs, word):
    with pytest.raises(ValueError, match=word):
        matrix_information_signals(Linear(3, 2), torch.randn(4, 3, dtype=torch.float64), 0.1, **kwargs)


def test_model_without_first_layer():
    model, x = nn.Linear(3, 2).double(), torch.randn(4, 3, dtype=torch.float64)
    assert perturbation_error(model, x, 0.1) > 0  # needs only forward
    with pytest.raises(ValueError, match="first_layer"):
        matrix_information_signals(model, x, 0.1)


@pytest.mark.parametrize("draws", [0, -1, 1.5, True])
def test_bad_num_draws_raises(draws):
    with pytest.raises(ValueError, match="num_draws"):
        perturbation_error(Linear(3, 2), torch.randn(4, 3, dtype=torch.float64), 0.1, num_draws=draws)


def test_nan_outputs_raise():
    model = Linear(3, 2)
    model.w[0, 0] = math.nan
    with pytest.raises(ValueError, match="NaN"):
        perturbation_error(model, torch.randn(4, 3, dtype=torch.float64), 0.1)


# --------------------------------------------------------------------------- abelian test


def test_symmetric_model_is_abelian():
    model, tokens = SymmetricSum(P + 1, P), table()
    assert abelian_agreement(model, tokens) == 1.0
    assert logit_distance(model, tokens) == 0.0
    penalty = commutativity_penalty(model, tokens)
    assert penalty.requires_grad and float(penalty.detach()) == 0.0


def test_random_transformer_is_not_abelian():
    model, tokens = transformer(), table()
    swapped = tokens[:, [1, 0, 2]]
    with torch.no_grad():
        ab, ba = model(tokens).double(), model(swapped).double()
    agreement = abelian_agreement(model, tokens)
    assert agreement == pytest.approx(float((ab.argmax(1) == ba.argmax(1)).double().mean()))
    assert agreement < 1.0
    distance = sum(float((ab[i] - ba[i]).norm()) for i in range(len(tokens))) / len(tokens)
    assert logit_distance(model, tokens) == pytest.approx(distance, rel=1e-6)
    penalty = commutativity_penalty(model, tokens)
    assert float(penalty.detach()) == pytest.approx(float((ab - ba).pow(2).mean()), rel=1e-5)
    penalty.backward()
    assert float(model.embed.weight.grad.abs().sum()) > 0


@pytest.mark.parametrize("tokens", [torch.randn(5, 3), torch.zeros(5, dtype=torch.long),
                                    torch.zeros(5, 1, dtype=torch.long), torch.zeros(0, 3, dtype=torch.long)],
                         ids=["float", "1-D", "one column", "empty"])
def test_non_pairs_raise(tokens):
    model = SymmetricSum(P + 1, P)
    for fn in (abelian_agreement, logit_distance, commutativity_penalty):
        with pytest.raises(ValueError, match="token pairs"):
            fn(model, tokens)


# --------------------------------------------------------------------------- callback


def test_callback_on_modular_addition_transformer():
    config = gu.Config(task="add", p=P, d_model=16, num_heads=4, d_mlp=32)
    data = gu.data.algorithmic("add", P, 0.5)
    model = gu.models.build(config, data.input_shape, data.num_classes, data.vocab_size)
    row = robustness_metrics(EvalContext(model, data, config, step=0))
    assert set(row) == {"perturbation_error", "pmi", "pe", "mid", "ed",
                        "abelian_train", "abelian_test", "logit_distance_train", "test_acc_swap_seen",
                        "test_acc_swap_unseen"}
    assert all(isinstance(v, float) and math.isfinite(v) for v in row.values())
    assert row == robustness_metrics(EvalContext(model, data, config, step=1))  # same noise every time
    sub = config.replace(task="sub")
    assert "abelian_train" not in robustness_metrics(EvalContext(model, data, sub, step=0))


def test_callback_on_images_uses_a_fixed_probe():
    g = gen(11)
    x = torch.randn(PROBE_SIZE + 20, 1, 28, 28, generator=g)
    y = torch.randint(0, 10, (len(x),), generator=g)
    data = gu.data.Dataset(x, y, x[:10], y[:10], num_classes=10)
    config = gu.Config(task="mnist", model="mlp", widths=(16, 16))
    model = gu.models.build(config, data.input_shape, 10)
    row = robustness_metrics(EvalContext(model, data, config, step=0))
    assert set(row) == {"perturbation_error", "pmi", "pe", "mid", "ed"}
    assert all(math.isfinite(v) for v in row.values()) and row["perturbation_error"] > 0
    outside = torch.ones(len(x), dtype=torch.bool)
    outside[gu.metrics.probe.probe_indices(len(x), PROBE_SIZE)] = False
    x2 = x.clone()
    x2[outside] = 100 * torch.randn(int(outside.sum()), 1, 28, 28, generator=g)
    data2 = gu.data.Dataset(x2, y, x[:10], y[:10], num_classes=10)
    assert robustness_metrics(EvalContext(model, data2, config, step=0)) == row


def test_swap_split_on_a_table_that_is_commutative_on_its_training_pairs():
    """A lookup table of the training pairs, symmetrised, answers exactly the test pairs whose swap was trained."""
    data = gu.data.algorithmic("add", P, 0.3)
    answers = {tuple(row[:2]): int(y) for row, y in zip(data.x_train.tolist(), data.y_train)}

    class Table(nn.Module):
        def forward(self, tokens):
            guess = [answers.get((a, b), answers.get((b, a), 0)) for a, b, *_ in tokens.tolist()]
            return torch.nn.functional.one_hot(torch.tensor(guess), data.num_classes).double()

    seen = gu.metrics.robustness.swap_seen(data.x_train, data.x_test)
    brute = [any(t[:2] == [b, a] for t in data.x_train.tolist()) for a, b, *_ in data.x_test.tolist()]
    assert seen.tolist() == brute and 0 < int(seen.sum()) < len(seen)
    acc_seen, acc_unseen = gu.metrics.robustness.swap_split_accuracy(Table(), data.x_train, data.x_test, data.y_test)
    expected_unseen = float((data.y_test[~seen] == 0).double().mean())  # the table answers 0 when it cannot know
    assert acc_seen == 1.0 and acc_unseen == pytest.approx(expected_unseen)
