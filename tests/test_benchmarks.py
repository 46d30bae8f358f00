"""The benchmarks time every callback the book can record: none is left out when a metric is added."""

import os
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


def test_the_regeneration_estimate_groups_the_stored_runs_by_shape_and_times_a_short_sweep(monkeypatch):
    """bench_regeneration: every fully stored quick-start group, by shape (configurations that differ only in
    sweepable fields share one), and a time per step from the difference of two short runs."""
    import bench_regeneration

    import grokutils as gu

    monkeypatch.setenv(gu.runs.STORED_ONLY_ENV, "1")
    base = gu.presets.nanda("smoke", d_model=16, d_mlp=32, device="cpu")
    assert gu.sweep.shape_key(base) == gu.sweep.shape_key(base.replace(seed=3, weight_decay=0.1))
    assert gu.sweep.shape_key(base) != gu.sweep.shape_key(base.replace(lr=0.01))
    shapes = bench_regeneration.stored_groups_by_shape(["00"])
    assert shapes and all(len({gu.sweep.shape_key(r.config) for r in g}) == 1
                          for groups in shapes.values() for g in groups)
    ms, compiled = bench_regeneration.ms_per_step([base, base.replace(seed=1)], (4, 80))
    assert not compiled and ms > 0 and gu.steps.COMPILE_ENV not in os.environ
