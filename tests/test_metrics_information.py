"""Information metrics of Part I against closed forms: Gaussian and uniform entropies,
independent vs identical variables, exact invariances, and the IB bounds' algebra."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.special import gammaln

from grokutils.data import Dataset
from grokutils.metrics import autoencoder, information
from grokutils.metrics.information import (berrett_weights, compression_mutual_information, gaussian_kernel,
                                           ib_bounds, ib_lower_bound, kl_entropy, nhsic, whiten)


def gaussian_entropy(cov: np.ndarray) -> float:
    return 0.5 * np.linalg.slogdet(2 * np.pi * np.e * cov)[1]


def random_cov(d: int, rng) -> np.ndarray:
    a = rng.normal(size=(d, d))
    return a @ a.T + 0.5 * np.eye(d)


# --------------------------------------------------------------------------- Berrett weights

@pytest.mark.parametrize("d", [1, 2, 3, 4])
def test_weights_are_the_plain_estimator_up_to_dimension_four(d):
    assert berrett_weights(5, d).tolist() == [0, 0, 0, 0, 1]


@pytest.mark.parametrize("d", [5, 8, 12])
def test_weights_satisfy_the_bias_cancelling_constraints(d):
    w = berrett_weights(5, d)
    j = np.arange(1, 6)
    assert w.sum() == pytest.approx(1.0, abs=1e-10)
    for ell in range(1, d // 4 + 1):
        assert w @ np.exp(gammaln(j + 2 * ell / d) - gammaln(j)) == pytest.approx(0.0, abs=1e-9)


# --------------------------------------------------------------------------- KL entropy

@pytest.mark.parametrize("d", [1, 2, 4])
def test_kl_entropy_of_a_gaussian_is_within_0_1_nats_at_n_5000(d):
    rng = np.random.default_rng(d)
    cov = random_cov(d, rng)
    x = rng.multivariate_normal(np.zeros(d), cov, size=5000)
    assert kl_entropy(torch.tensor(x)) == pytest.approx(gaussian_entropy(cov), abs=0.1)


def test_kl_entropy_in_dimension_eight_plain_within_0_1_weighted_within_0_5():
    # Measured over 10 seeds at n = 5000, d = 8: plain bias -0.06 (SD 0.03);
    # Berrett-weighted (k = 5) bias -0.05 but SD 0.19. The tolerances reflect that.
    rng = np.random.default_rng(8)
    x = rng.normal(size=(5000, 8))
    exact = gaussian_entropy(np.eye(8))
    assert kl_entropy(torch.tensor(x), weighted=False) == pytest.approx(exact, abs=0.1)
    assert kl_entropy(torch.tensor(x)) == pytest.approx(exact, abs=0.5)


def test_kl_entropy_of_the_uniform_cube_is_zero():
    x = np.random.default_rng(0).uniform(size=(5000, 2))
    assert kl_entropy(torch.tensor(x)) == pytest.approx(0.0, abs=0.05)


def test_kl_entropy_shifts_by_log_scale_times_d():
    x = torch.tensor(np.random.default_rng(1).normal(size=(500, 3)))
    assert kl_entropy(7.0 * x) - kl_entropy(x) == pytest.approx(3 * math.log(7.0), abs=1e-9)


@pytest.mark.parametrize("bad, message", [
    (torch.zeros(4, 2), "more samples than neighbours"),
    (torch.ones(20, 2), "coincide"),
    (torch.full((20, 2), float("nan")), "NaN"),
])
def test_kl_entropy_rejects_degenerate_input(bad, message):
    with pytest.raises(ValueError, match=message):
        kl_entropy(bad)


# --------------------------------------------------------------------------- compression MI

def labelled_gaussians(n=2000, classes=4, separation=20.0, seed=0):
    rng = np.random.default_rng(seed)
    y = np.arange(n) % classes
    means = separation * rng.normal(size=(classes, 6))
    z = means[y] + rng.normal(size=(n, 6))
    return torch.tensor(z), torch.tensor(y)


def test_mi_of_independent_gaussian_sides_is_near_zero():
    # The 8-dimensional joint entropy carries the Berrett weights' variance (see the d = 8 test).
    z, y = labelled_gaussians(n=5000, separation=0.0)
    x = torch.tensor(np.random.default_rng(5).normal(size=(len(z), 4)))
    assert compression_mutual_information(z, x, y, weighted=False)["mi_zx"] == pytest.approx(0.0, abs=0.15)
    assert compression_mutual_information(z, x, y)["mi_zx"] == pytest.approx(0.0, abs=0.5)


def test_mi_of_nearly_identical_sides_is_large():
    z, y = labelled_gaussians()
    codes = information.pca_project(z) + 1e-3 * torch.randn(len(z), 4, generator=torch.Generator().manual_seed(0),
                                                             dtype=torch.float64)
    assert compression_mutual_information(z, codes, y)["mi_zx"] > 10.0


def test_mi_with_labels_reaches_log_k_for_separated_classes_and_zero_for_unrelated_ones():
    z, y = labelled_gaussians(classes=4)
    x = torch.tensor(np.random.default_rng(5).normal(size=(len(z), 4)))
    assert compression_mutual_information(z, x, y)["mi_zy"] == pytest.approx(math.log(4), abs=0.1)
    shuffled = y[torch.randperm(len(y), generator=torch.Generator().manual_seed(1))]
    unrelated = torch.tensor(np.random.default_rng(6).normal(size=(len(z), 6)))
    assert compression_mutual_information(unrelated, x, shuffled)["mi_zy"] == pytest.approx(0.0, abs=0.1)


@settings(max_examples=10, deadline=None)
@given(st.integers(0, 10_000))
def test_mi_is_invariant_to_invertible_linear_maps_of_the_codes(seed):
    z, y = labelled_gaussians(n=400, seed=1)
    rng = np.random.default_rng(seed)
    codes = information.pca_project(z) + torch.tensor(rng.normal(size=(400, 4)))
    # An invertible map with singular values in [0.5, 2]: a near-singular one (condition 675 at seed 2341 of the
    # old generator, normal + 3·I) makes the whitening lose digits, and the k-NN distances flip between neighbours.
    left, _ = np.linalg.qr(rng.normal(size=(4, 4)))
    right, _ = np.linalg.qr(rng.normal(size=(4, 4)))
    mixing = torch.tensor(left @ np.diag(rng.uniform(0.5, 2.0, size=4)) @ right)
    before = compression_mutual_information(z, codes, y)["mi_zx"]
    after = compression_mutual_information(z, codes @ mixing, y)["mi_zx"]
    assert after == pytest.approx(before, abs=1e-4)


def test_whitened_samples_have_identity_covariance():
    x = torch.tensor(np.random.default_rng(2).multivariate_normal(np.zeros(3), random_cov(3, np.random.default_rng(3)),
                                                                   size=1000))
    w = whiten(x)
    assert torch.allclose(w.T @ w / 999, torch.eye(3, dtype=torch.float64), atol=1e-5)


def test_mi_needs_more_than_k_samples_per_class():
    z, y = labelled_gaussians(n=40, classes=10)
    with pytest.raises(ValueError, match="more than k"):
        compression_mutual_information(z, z[:, :4], y)


# --------------------------------------------------------------------------- nHSIC

def test_gaussian_kernel_matches_its_formula():
    x = torch.randn(7, 3, dtype=torch.float64)
    brute = torch.tensor([[math.exp(-float((a - b).pow(2).sum()) / (2 * 25 * 3)) for b in x] for a in x],
                         dtype=torch.float64)
    assert torch.allclose(gaussian_kernel(x), brute, atol=1e-12)


def test_nhsic_of_independent_variables_falls_with_n_and_stays_far_below_identical():
    rng = np.random.default_rng(0)
    independent, identical = [], []
    for n in (100, 400, 1600):
        a, b = torch.tensor(rng.normal(size=(n, 2))), torch.tensor(rng.normal(size=(n, 2)))
        ka, kb = gaussian_kernel(a), gaussian_kernel(b)  # the authors' σ = 5
        independent.append(nhsic(ka, kb))
        identical.append(nhsic(ka, ka))
    assert independent[0] > independent[1] > independent[2]  # measured 0.29, 0.08, 0.02 (∝ 1/n)
    assert max(independent) < 0.1 * min(identical)  # identical: ≈ 5 at every n


def test_nhsic_is_symmetric_and_counts_a_projection_rank():
    x = torch.randn(50, 3, dtype=torch.float64)
    ka, kb = gaussian_kernel(x), gaussian_kernel(torch.randn(50, 2, dtype=torch.float64))
    assert nhsic(ka, kb) == pytest.approx(nhsic(kb, ka), rel=1e-9)
    labels = torch.arange(50) % 5
    one_hot = torch.nn.functional.one_hot(labels).double()
    assert nhsic(one_hot @ one_hot.T, one_hot @ one_hot.T) == pytest.approx(4.0, abs=1e-3)  # centred rank K - 1


# --------------------------------------------------------------------------- IB bounds

def test_ib_bounds_match_a_brute_force_computation_and_are_ordered():
    rng = np.random.default_rng(4)
    h = np.abs(rng.normal(size=(300, 5)))
    y = np.arange(300) % 3
    g = h / np.linalg.norm(h, axis=1).mean()
    sigma = 0.1
    logdet = trace = 0.0
    for c in range(3):
        cov = np.cov(g[y == c].T, bias=True)
        logdet += (1 / 3) * 0.5 * np.linalg.slogdet(np.eye(5) + cov / sigma**2)[1]
        trace += (1 / 3) * 2.5 * np.log1p(np.trace(cov) / (5 * sigma**2))
    bounds = ib_bounds(torch.tensor(h), torch.tensor(y), sigma)
    assert bounds["logdet"] == pytest.approx(logdet, rel=1e-10)
    assert bounds["trace"] == pytest.approx(trace, rel=1e-10)
    assert bounds["logdet"] <= bounds["trace"]


@settings(max_examples=20, deadline=None)
@given(st.floats(1e-3, 1e3))
def test_ib_bounds_are_scale_invariant(scale):
    h, y = labelled_gaussians(n=200)
    assert ib_bounds(scale * h, y)["logdet"] == pytest.approx(ib_bounds(h, y)["logdet"], rel=1e-8)


def test_ib_bounds_vanish_for_collapsed_features():
    y = torch.arange(60) % 3
    h = torch.eye(3, dtype=torch.float64)[y]
    assert ib_bounds(h, y) == {"logdet": 0.0, "trace": 0.0}


def test_ib_lower_bound_is_label_entropy_for_confident_correct_logits():
    y = torch.tensor([0, 1, 1, 2])
    logits = 100.0 * torch.nn.functional.one_hot(y, 3).double()
    p = np.array([0.25, 0.5, 0.25])
    assert ib_lower_bound(logits, y) == pytest.approx(-(p * np.log(p)).sum(), abs=1e-9)


def test_ib_lower_bound_rejects_out_of_range_labels():
    with pytest.raises(ValueError, match="labels must lie"):
        ib_lower_bound(torch.zeros(2, 3), torch.tensor([0, 3]))


# --------------------------------------------------------------------------- autoencoder and callback

@pytest.mark.parametrize("size", [28, 32])
def test_autoencoder_reconstructs_the_input_shape_with_a_four_dim_code(size):
    model = autoencoder.ImageAutoencoder(3, size)
    x = torch.randn(2, 3, size, size)
    assert model.encode(x).shape == (2, 4)
    assert model(x).shape == x.shape


def test_autoencoder_on_28x28_has_the_authors_128_to_4_layer():
    assert autoencoder.ImageAutoencoder(1, 28).encoder[-1].in_features == 128


def test_autoencoder_rejects_tiny_images():
    with pytest.raises(ValueError, match="too small"):
        autoencoder.ImageAutoencoder(1, 8)


def test_autoencoder_cache_is_keyed_by_data_and_settings_and_reloads_identically(tmp_path):
    images = torch.randn(64, 1, 28, 28)
    tiny = autoencoder.AutoencoderSettings(epochs=1, batch_size=32)
    key = autoencoder.cache_key(images, tiny)
    assert key != autoencoder.cache_key(images + 1, tiny)
    assert key != autoencoder.cache_key(images, autoencoder.AutoencoderSettings(epochs=2, batch_size=32))
    first = autoencoder.load_or_train_encoder(images, tiny, cache_dir=tmp_path)
    assert (tmp_path / f"ae-{key}.pt").exists()
    assert not list(tmp_path.glob("*.tmp*"))
    autoencoder._MEMORY.clear()
    second = autoencoder.load_or_train_encoder(images, tiny, cache_dir=tmp_path)
    assert first is not second
    assert torch.equal(first.encode(images), second.encode(images))


def test_autoencoder_settings_are_validated():
    with pytest.raises(ValueError, match="epochs"):
        autoencoder.AutoencoderSettings(epochs=0)


def test_information_callback_records_finite_values(tmp_path, monkeypatch):
    from grokutils import presets
    from grokutils.models import MLP
    from grokutils.train import EvalContext

    monkeypatch.setenv("GROKUTILS_CACHE", str(tmp_path))
    monkeypatch.setattr(information, "AUTOENCODER_SETTINGS", autoencoder.AutoencoderSettings(epochs=1))
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(300, 1, 28, 28, generator=generator)
    y = torch.arange(300) % 10
    data = Dataset(x[:100], y[:100], x[100:], y[100:], num_classes=10)
    model = MLP(784, (16,), 10)
    row = information.information_metrics(EvalContext(model, data, presets.collapse_mnist("smoke"), 0))
    assert set(row) >= {"mi_zx", "mi_zy", "mi_redundancy", "nhsic_zx", "nhsic_zy", "ib_bound_logdet",
                        "ib_bound_trace", "ib_lower_bound"}
    assert all(math.isfinite(v) for v in row.values())


def test_information_callback_refuses_token_data():
    from grokutils.train import EvalContext

    data = Dataset(torch.zeros(4, 3, dtype=torch.long), torch.zeros(4, dtype=torch.long),
                   torch.zeros(4, 3, dtype=torch.long), torch.zeros(4, dtype=torch.long), num_classes=2, vocab_size=3)
    with pytest.raises(ValueError, match="image data"):
        information.information_metrics(EvalContext(torch.nn.Identity(), data, None, 0))


def test_probe_is_fixed_and_covers_every_class_of_a_class_sorted_split():
    from grokutils.metrics.probe import probe_indices

    labels = torch.arange(4000) // 400  # sorted by class, like the offline MNIST test split
    probe = probe_indices(4000, 1000)
    assert torch.equal(probe, probe_indices(4000, 1000))
    assert len(set(probe.tolist())) == 1000
    assert set(labels[probe].tolist()) == set(range(10))
    assert len(probe_indices(50, 1000)) == 50
