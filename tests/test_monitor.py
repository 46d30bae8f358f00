"""The Part III spectral-entropy monitor (grokutils.monitor) on synthetic representations with
closed-form H̃, inside a plain PyTorch loop, and its forecasts."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from grokutils import forecast
from grokutils.monitor import Forecast, SpectralEntropyMonitor

N, D = 256, 16


def isotropic_probe(n: int = N, d: int = D) -> torch.Tensor:
    """n × d features with exactly isotropic covariance: √n × orthonormal, centred columns."""
    g = torch.Generator().manual_seed(0)
    z = torch.randn(n, d, generator=g, dtype=torch.float64)
    q, _ = torch.linalg.qr(z - z.mean(0))
    return math.sqrt(n) * q


def closed_form_entropy(a: float, d: int = D) -> float:
    """H̃ of a covariance with eigenvalues (1, a², …, a²)."""
    p = np.array([1.0] + [a * a] * (d - 1))
    p /= p.sum()
    return max(0.0, float(-(p * np.log(p + 1e-12)).sum() / math.log(d)))


def squeeze(step: int) -> float:
    """1 until step 2,000, then linearly to 0 at step 6,000: isotropic → rank one."""
    return float(np.clip(1 - (step - 2000) / 4000, 0.0, 1.0))


class Collapsing:
    """representation_fn whose features go from isotropic to rank one as ``step`` advances."""

    def __init__(self):
        self.step = 0

    def __call__(self, probe: torch.Tensor) -> torch.Tensor:
        a = squeeze(self.step)
        return probe * torch.tensor([1.0] + [a] * (probe.shape[1] - 1), dtype=probe.dtype)


def run_collapse(monitor: SpectralEntropyMonitor, representation: Collapsing, first: int = 0,
                 last: int = 6400) -> None:
    for step in range(first, last + 1):
        representation.step = step
        monitor(step)


# --------------------------------------------------------------------------- recording and onset

def test_monitor_sees_isotropic_then_rank_one_and_the_onset_at_the_expected_step():
    representation = Collapsing()
    monitor = SpectralEntropyMonitor(isotropic_probe(), representation, every=200)
    run_collapse(monitor, representation)
    history = monitor.history()
    steps = np.arange(0, 6401, 200)
    np.testing.assert_array_equal(history["step"], steps)
    expected = np.array([closed_form_entropy(squeeze(s)) for s in steps])
    np.testing.assert_allclose(history["spectral_entropy"], expected, atol=1e-9)
    assert history["spectral_entropy"][0] == pytest.approx(1.0, abs=1e-9)
    assert history["spectral_entropy"][-1] == pytest.approx(0.0, abs=1e-9)
    np.testing.assert_allclose(history["effective_rank"], np.exp(expected * math.log(D)), rtol=1e-8)
    assert history["effective_rank"][0] == pytest.approx(D)
    onset = next(int(steps[i]) for i in range(4, steps.size) if expected[i - 4] - expected[i] > 0.02)
    assert monitor.onset == onset == forecast.collapse_onset(steps, history["spectral_entropy"])
    assert 2000 < onset < 6000 and "weight_norm" not in history


def test_update_evaluates_on_the_schedule_and_record_whenever_asked():
    monitor = SpectralEntropyMonitor(isotropic_probe(), lambda p: p, every=3)
    rows = [monitor.update(step) for step in range(7)]
    assert [r is not None for r in rows] == [True, False, False, True, False, False, True]
    assert rows[3]["step"] == 3 and rows[3]["spectral_entropy"] == pytest.approx(1.0)
    assert monitor.record(7)["step"] == 7
    assert monitor.history()["step"].tolist() == [0, 3, 6, 7]
    assert monitor.overhead_seconds > 0
    assert monitor.overhead_fraction(2 * monitor.overhead_seconds) == pytest.approx(0.5)


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2 ** 32 - 1), scale=st.floats(1e-3, 1e3), shift=st.floats(-10.0, 10.0))
def test_recorded_entropy_is_invariant_to_rotation_scaling_and_translation(seed, scale, shift):
    g = torch.Generator().manual_seed(seed)
    z = torch.randn(64, 8, generator=g, dtype=torch.float64) @ torch.randn(8, 8, generator=g, dtype=torch.float64)
    rotation, _ = torch.linalg.qr(torch.randn(8, 8, generator=g, dtype=torch.float64))
    plain = SpectralEntropyMonitor(z, lambda p: p)
    moved = SpectralEntropyMonitor(z, lambda p: scale * p @ rotation + shift)
    assert moved.record(0)["spectral_entropy"] == pytest.approx(plain.record(0)["spectral_entropy"], abs=1e-9)


def test_monitor_inside_a_plain_pytorch_loop():
    torch.manual_seed(0)
    x = torch.randn(256, 10)
    y = (x[:, 0] + x[:, 1] > 0).long()
    model = nn.Sequential(nn.Linear(10, 32), nn.ReLU(), nn.Dropout(0.5), nn.Linear(32, 2))
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-2)
    modes = []

    def hidden(probe):
        modes.append(model.training)
        return model[:3](probe)

    monitor = SpectralEntropyMonitor(x[:64], hidden, every=10)
    model.train()
    for step in range(50):
        loss = F.cross_entropy(model(x), y)
        optimizer.zero_grad()
        loss.backward()
        grads = [p.grad.clone() for p in model.parameters()]
        monitor(step, model)  # between backward and step: must not touch the gradients
        assert all(torch.equal(a, p.grad) for a, p in zip(grads, model.parameters()))
        optimizer.step()
    monitor(50, model)
    history = monitor.history()
    assert history["step"].tolist() == [0, 10, 20, 30, 40, 50]
    assert ((history["spectral_entropy"] > 0) & (history["spectral_entropy"] <= 1)).all()
    assert modes == [False] * 6 and model.training  # eval mode for the probe, restored after
    norms = history["weight_norm"]
    assert (norms > 0).all() and len(set(norms.tolist())) == 6
    assert monitor.overhead_fraction(1.0) == monitor.overhead_seconds


# --------------------------------------------------------------------------- forecasts

def test_forecast_needs_calibration_then_follows_the_law_until_the_threshold():
    representation = Collapsing()
    monitor = SpectralEntropyMonitor(isotropic_probe(), representation, every=200)
    assert monitor.forecast() is None and not monitor.calibrated
    threshold = closed_form_entropy(0.5)
    law = forecast.PowerLaw(1e4, 2.0, 100.0, 1.0, 3, residuals=(-50.0, 10.0, 30.0))
    monitor.calibrate(threshold, law)
    assert monitor.forecast() is None  # nothing recorded yet
    assert monitor.half_width == pytest.approx(np.quantile([50.0, 10.0, 30.0], 0.95))
    monitor(0)
    t_hat = 1e4 * (1.0 - threshold) ** 2 + 100
    made = monitor.forecast()
    assert made == Forecast(pytest.approx(t_hat), pytest.approx(t_hat - monitor.half_width),
                            pytest.approx(t_hat + monitor.half_width), 0)
    run_collapse(monitor, representation, first=1)  # ends rank one: below the threshold
    assert monitor.forecast() is None


def test_interval_is_clipped_at_the_current_step_and_half_width_can_be_given():
    monitor = SpectralEntropyMonitor(isotropic_probe(), lambda p: p, every=1)
    monitor.calibrate(0.5, forecast.PowerLaw(10.0, 1.0, -20.0, 0.5, 3), half_width=100.0)
    monitor(1000)
    made = monitor.forecast()  # remaining = 10 · 0.5 − 20 < 0: grokking due now
    assert made.t_grok == 1000 and made.low == 1000 and made.high == 1100


def law_runs(c1=2e5, gamma=1.65, c2=300.0, h_star=0.625) -> list[forecast.Run]:
    runs = []
    for t_grok in range(8000, 16001, 1000):
        steps = np.arange(0, 20001, 200)
        remaining = (t_grok - steps).astype(float)
        above = remaining > c2
        entropy = np.where(above, h_star + (np.abs(remaining - c2) / c1) ** (1 / gamma), h_star - 0.05)
        entropy[steps >= t_grok] = h_star
        runs.append(forecast.Run(steps, entropy, t_grok))
    return runs


def test_calibration_from_runs_that_follow_the_law_forecasts_exactly():
    monitor = SpectralEntropyMonitor(isotropic_probe(), lambda p: p).calibrate_from_runs(law_runs())
    assert monitor.threshold == 0.625
    assert monitor.power_law.gamma == pytest.approx(1.65, abs=1e-3)
    assert monitor.half_width == pytest.approx(0.0, abs=1e-3)


@pytest.mark.parametrize("kwargs, message", [
    ({"every": 0}, "every must be a positive integer"),
    ({"every": -200}, "every must be a positive integer"),
    ({"every": 2.5}, "every must be a positive integer"),
    ({"every": True}, "every must be a positive integer"),
    ({"representation_fn": None}, "callable"),
    ({"delta": 0.0}, "delta"),
    ({"window": 1}, "window"),
])
def test_constructor_rejects_bad_arguments(kwargs, message):
    arguments = {"probe": isotropic_probe(), "representation_fn": lambda p: p} | kwargs
    with pytest.raises(ValueError, match=message):
        SpectralEntropyMonitor(**arguments)


def test_bad_steps_representations_and_calibrations_raise():
    monitor = SpectralEntropyMonitor(isotropic_probe(), lambda p: p, every=1)
    monitor(5)
    for step, message in ((5, "steps must increase"), (3, "steps must increase"), (-1, "non-negative"),
                          (6.0, "non-negative integer")):
        with pytest.raises(ValueError, match=message):
            monitor(step)
    with pytest.raises(ValueError, match=r"\(n, d\) tensor"):
        SpectralEntropyMonitor(isotropic_probe(), lambda p: p[None], every=1)(0)
    with pytest.raises(ValueError, match="threshold must be a spectral entropy"):
        monitor.calibrate(1.5, forecast.PowerLaw(1.0, 1.0, 0.0, 1.0, 3, (1.0,)))
    with pytest.raises(ValueError, match="PowerLaw"):
        monitor.calibrate(0.6, (1.0, 1.0, 0.0))
    with pytest.raises(ValueError, match="no residuals"):
        monitor.calibrate(0.6, forecast.PowerLaw(1.0, 1.0, 0.0, 1.0, 3))
    with pytest.raises(ValueError, match="level"):
        monitor.calibrate(0.6, forecast.PowerLaw(1.0, 1.0, 0.0, 1.0, 3, (1.0,)), level=1.0)
    with pytest.raises(ValueError, match="total_seconds"):
        monitor.overhead_fraction(0.0)
    assert monitor.forecast() is None  # the failed calibrations left it uncalibrated


@pytest.mark.parametrize("make, message", [
    (lambda: SpectralEntropyMonitor(None, lambda p: p), "probe must be the fixed batch"),
    (lambda: SpectralEntropyMonitor(torch.zeros(1, 4), lambda p: p), "at least 2 samples"),
    (lambda: SpectralEntropyMonitor(isotropic_probe(), lambda p: p)(0, model="net"), "model must be a torch.nn.Module"),
    (lambda: SpectralEntropyMonitor(isotropic_probe(), lambda p: p).calibrate(
        0.6, forecast.PowerLaw(1.0, 1.0, 0.0, 1.0, 3, (1.0,)), level="0.9"), "level must be a number in"),
    (lambda: SpectralEntropyMonitor(isotropic_probe(), lambda p: p).calibrate(
        0.6, forecast.PowerLaw(1.0, 1.0, 0.0, 1.0, 3, (1.0,)), half_width="5"), "half_width must be"),
    (lambda: SpectralEntropyMonitor(isotropic_probe(), lambda p: p).calibrate_from_runs([]), "non-empty list"),
    (lambda: SpectralEntropyMonitor(isotropic_probe(), lambda p: p).calibrate_from_runs(law_runs(), level=1.5),
     "level must be"),
], ids=["probe-none", "probe-one-row", "model-str", "level-str", "half-width-str", "no-runs", "level-1.5"])
def test_the_monitor_refuses_bad_inputs_naming_them(make, message):
    with pytest.raises(ValueError, match=message):
        make()
