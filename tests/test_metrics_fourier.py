"""Tests for grokutils.metrics.fourier (Part III claim 7; Nanda et al. 2023)."""

import math
from types import SimpleNamespace

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import grokutils as gu
from grokutils.metrics import fourier


def _pure(p, omega, shift=0):
    a = torch.arange(p, dtype=torch.float64) + shift
    angle = 2 * math.pi * omega * a / p
    return torch.stack([torch.cos(angle), torch.sin(angle)], dim=1)


def test_pure_frequency_alignment_and_power():
    p, omega = 23, 7
    e = _pure(p, omega)
    align = fourier.fourier_alignment(e, p)
    assert align.dtype == torch.float64 and align.shape == (p // 2,)
    assert abs(float(align[omega - 1]) - 1.0) < 1e-9
    # other frequencies are orthogonal to the pure ω = 7 columns
    others = torch.cat([align[: omega - 1], align[omega:]])
    assert float(others.max()) < 1e-9
    assert fourier.key_frequencies(e, p, top=1) == [omega]
    power = fourier.fourier_power(e, p)
    assert abs(float(power.sum()) - 1.0) < 1e-12
    assert abs(float(power[omega - 1]) - 1.0) < 1e-9


def test_extra_rows_ignored():
    p = 23
    e = torch.cat([_pure(p, 3), torch.full((1, 2), 1e6, dtype=torch.float64)])
    assert abs(float(fourier.fourier_alignment(e, p)[2]) - 1.0) < 1e-9


def test_random_embedding_low_alignment():
    # Under independence each |r| ≈ |N(0, 1/(p−1))|, sd ≈ 0.10 for p = 97; the max over
    # 4 columns × 2 bases is typically ≈ 0.2, so a mean < 0.5 is a very loose bound
    # (seed fixed, so the test is deterministic).
    g = torch.Generator().manual_seed(0)
    e = torch.randn(97, 4, generator=g)
    assert fourier.mean_fourier_alignment(e, 97) < 0.5


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000),
       scales=st.lists(st.floats(0.01, 100.0), min_size=3, max_size=3),
       signs=st.lists(st.sampled_from([-1.0, 1.0]), min_size=3, max_size=3),
       shifts=st.lists(st.floats(-100.0, 100.0), min_size=3, max_size=3))
def test_alignment_invariant_to_column_scale_and_shift(seed, scales, signs, shifts):
    p = 19
    e = torch.randn(p, 3, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    s = torch.tensor(scales, dtype=torch.float64) * torch.tensor(signs, dtype=torch.float64)
    e2 = e * s + torch.tensor(shifts, dtype=torch.float64)
    assert torch.allclose(fourier.fourier_alignment(e, p), fourier.fourier_alignment(e2, p), atol=1e-9)


@settings(max_examples=25, deadline=None)
@given(p=st.sampled_from([7, 11, 23, 31]), data=st.data())
def test_phase_shift_keeps_alignment(p, data):
    # cos(θ + φ) = cosφ·cosθ − sinφ·sinθ, and for 0 < ω < p/2 the cos/sin vectors are
    # orthogonal, centred and of equal norm, so r = (cosφ, −sinφ): max ≥ 1/√2.
    omega = data.draw(st.integers(1, p // 2))
    k = data.draw(st.integers(0, p - 1))
    align = fourier.fourier_alignment(_pure(p, omega, shift=k)[:, :1], p)
    assert float(align[omega - 1]) >= 1 / math.sqrt(2) - 1e-9


def test_constant_column_has_zero_correlation():
    p = 11
    e = torch.cat([_pure(p, 2)[:, :1], torch.full((p, 1), 3.0, dtype=torch.float64)], dim=1)
    align = fourier.fourier_alignment(torch.full((p, 2), 3.0), p)
    assert torch.equal(align, torch.zeros(p // 2, dtype=torch.float64))
    assert abs(float(fourier.fourier_alignment(e, p)[1]) - 1.0) < 1e-9


def test_validation_errors():
    e = torch.randn(11, 3)
    with pytest.raises(ValueError, match="2-D"):
        fourier.fourier_alignment(torch.randn(11), 11)
    with pytest.raises(ValueError, match="rows"):
        fourier.fourier_alignment(e, 13)
    with pytest.raises(ValueError, match="at least 3"):
        fourier.fourier_alignment(e, 2)
    bad = e.clone()
    bad[0, 0] = float("nan")
    with pytest.raises(ValueError, match="NaN"):
        fourier.key_frequencies(bad, 11)
    bad[0, 0] = float("inf")
    with pytest.raises(ValueError, match="infinite"):
        fourier.mean_fourier_alignment(bad, 11)
    with pytest.raises(ValueError, match="top"):
        fourier.key_frequencies(e, 11, top=6)
    with pytest.raises(ValueError, match="constant"):
        fourier.fourier_power(torch.ones(11, 3), 11)


def test_callback_skips_non_modular_task():
    context = SimpleNamespace(model=torch.nn.Linear(3, 2), config=gu.presets.omnigrok_mnist("smoke"), data=None)
    assert fourier.fourier_metrics(context) == {}


def test_callback_on_tiny_transformer():
    config = gu.presets.nanda("smoke")
    torch.manual_seed(0)
    model = gu.models.Transformer(vocab_size=config.p + 1, num_classes=config.p, d_model=16,
                                  num_heads=4, d_mlp=32)
    out = fourier.fourier_metrics(SimpleNamespace(model=model, config=config, data=None))
    assert set(out) == {"fourier_alignment", "fourier_top_power"}
    assert 0.0 <= out["fourier_alignment"] <= 1.0
    assert 5 / (config.p // 2) - 1e-9 <= out["fourier_top_power"] <= 1.0 + 1e-9
