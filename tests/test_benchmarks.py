"""The benchmarks time every callback the book can record: none is left out when a metric is added."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

import bench_callbacks  # noqa: E402

from grokutils.metrics import REGISTRY  # noqa: E402


def test_every_registered_callback_has_a_setup_to_time_it_on():
    assert set(bench_callbacks.CALLBACK_SETUP) == set(REGISTRY)
    assert set(bench_callbacks.CALLBACK_SETUP.values()) <= set(bench_callbacks.SETUPS)


def test_the_monitor_benchmark_times_every_applicable_indicator_on_part3s_run():
    """Part V's overhead report: each indicator's seconds per evaluation on Part III's setting, and its share of
    training at one evaluation every 200 steps (a short run here: 2 evaluations)."""
    import bench_monitor

    import grokutils as gu

    config = bench_monitor.part3_config(200)
    report = bench_monitor.bench_indicators(config, gu.data.load(config), 200, step_ms=20.0)
    applicable = {i.name for i in gu.indicators.select(None)} - set(report["not_applicable"])
    assert report["evaluations"] == 2 and set(report["seconds_per_evaluation"]) == applicable
    assert {"spectral_entropy", "sharpness", "fourier_alignment", "abelian_agreement"} <= applicable
    for name, seconds in report["seconds_per_evaluation"].items():
        assert seconds > 0 and report["steady_state_fraction"][name] == seconds / (200 * 0.020)
