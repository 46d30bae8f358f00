"""The benchmarks time every callback the book can record: none is left out when a metric is added."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

import bench_callbacks  # noqa: E402

from grokutils.metrics import REGISTRY  # noqa: E402


def test_every_registered_callback_has_a_setup_to_time_it_on():
    assert set(bench_callbacks.CALLBACK_SETUP) == set(REGISTRY)
    assert set(bench_callbacks.CALLBACK_SETUP.values()) <= set(bench_callbacks.SETUPS)
