"""The α ablation and label information of Part II (Tan & Huang 2023, Section 6 and Appendix B) against the
one-α signals and against matrix mutual information of explicitly formed Gram matrices."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

import grokutils as gu
from grokutils.metrics.information_ablation import (ABLATION_ALPHAS, alpha_key, information_ablation,
                                                    information_ablation_metrics, label_information)
from grokutils.metrics.robustness import matrix_information_signals
from grokutils.metrics.spectral import matrix_mutual_information
from grokutils.train import EvalContext


def mlp(seed: int = 0):
    torch.manual_seed(seed)
    return gu.models.MLP(36, (12, 12), 4, init_scale=2.0)


def images(n: int, seed: int = 0) -> torch.Tensor:
    return torch.randn(n, 1, 6, 6, generator=torch.Generator().manual_seed(seed))


@pytest.mark.parametrize("alpha", ABLATION_ALPHAS + (3.0,))
def test_every_alpha_equals_the_one_alpha_signals(alpha):
    model, x = mlp(), images(450)
    both = information_ablation(model, x, 0.3, alphas=(alpha,), batch_size=200,
                                generator=torch.Generator().manual_seed(5))
    one = matrix_information_signals(model, x, 0.3, alpha=alpha, batch_size=200,
                                     generator=torch.Generator().manual_seed(5))
    for name in ("pmi", "pe", "mid", "ed"):
        assert both[alpha_key(name, alpha)] == pytest.approx(one[name], rel=1e-12, abs=1e-12)


def test_sigma_zero_gives_zero_differences_at_every_alpha():
    signals = information_ablation(mlp(), images(300), 0.0)
    assert all(signals[alpha_key(n, a)] == 0.0 for n in ("mid", "ed") for a in ABLATION_ALPHAS)


def test_label_information_is_the_mutual_information_of_the_two_grams():
    model, x = mlp(1), images(250, 1)
    labels = torch.arange(250) % 4
    value = label_information(model, x, labels, 4, 0.0, batch_size=125)
    with torch.no_grad():
        out = model(x).double()
    expected = []
    for rows in torch.arange(250).split(125):
        z = out[rows] / out[rows].norm(dim=1, keepdim=True)
        y = F.one_hot(labels[rows], 4).double()
        expected.append(matrix_mutual_information(z @ z.T, y @ y.T, 1.0))
    assert value == pytest.approx(sum(expected) / 2, rel=1e-9)


def test_labels_that_the_outputs_encode_exactly_give_the_label_entropy():
    class OneHot(torch.nn.Module):
        def forward(self, x):
            return F.one_hot(x[:, 0, 0, 0].long(), 4).double()

    labels = torch.arange(200) % 4
    x = labels.double().reshape(-1, 1, 1, 1).expand(200, 1, 2, 2).contiguous()
    value = label_information(OneHot(), x, labels, 4, 0.0)
    assert value == pytest.approx(math.log(4), rel=1e-12)  # I(K; K) = H(K) = log 4 for 4 balanced clusters


@pytest.mark.parametrize("kwargs, word", [({"alphas": ()}, "empty"), ({"alphas": "1"}, "sequence"),
                                          ({"alphas": (0.0,)}, "alpha"), ({"sigma": -1.0}, "sigma"),
                                          ({"batch_size": 1}, "batch_size")])
def test_bad_arguments_raise(kwargs, word):
    args = {"sigma": 0.1} | kwargs
    with pytest.raises(ValueError, match=word):
        information_ablation(mlp(), images(20), **args)


def test_bad_labels_raise():
    with pytest.raises(ValueError, match="labels"):
        label_information(mlp(), images(20), torch.zeros(19, dtype=torch.long), 4, 0.1)


def test_callback_keys_and_fixed_noise():
    g = torch.Generator().manual_seed(3)
    x, y = torch.randn(300, 1, 6, 6, generator=g), torch.randint(0, 4, (300,), generator=g)
    data = gu.data.Dataset(x, y, x[:250] + 1, y[:250], num_classes=4)
    config = gu.Config(task="mnist", model="mlp", widths=(12, 12))
    model = mlp()
    row = information_ablation_metrics(EvalContext(model, data, config, step=0))
    expected = {f"{split}_{alpha_key(n, a)}" for split in ("train", "test") for n in ("pmi", "pe", "mid", "ed")
                for a in ABLATION_ALPHAS} | {"label_pmi"}
    assert set(row) == expected and all(math.isfinite(v) for v in row.values())
    assert row == information_ablation_metrics(EvalContext(model, data, config, step=5))
    assert row["train_pmi_a1"] != row["test_pmi_a1"]
