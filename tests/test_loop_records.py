"""The monitor pages' plain loops and their stored recordings (grokutils.loop_records): a recording round-trips
the monitors exactly, is keyed by the page, the configuration and what it depends on, is never half-written, and
a file that cannot be read is moved aside and recorded again."""

from __future__ import annotations

import json
import math
import warnings

import numpy as np
import pytest

import grokutils as gu
from grokutils import loop_records, regenerate
from grokutils.forecast import PowerLaw
from grokutils.loop_records import LoopRecording, load_or_record, recording_path
from grokutils.monitor import SpectralEntropyMonitor
from grokutils.runs import CorruptResultWarning, MissingResult
from grokutils.signal_monitor import SignalMonitor


@pytest.fixture(scope="module")
def signal_recording() -> LoopRecording:
    """Part V's loop in its smoke profile (40 full-batch steps, every indicator every 20)."""
    return gu.part5.monitor_loop.train_in_plain_loop(gu.presets.monitor_loop_config("smoke"), every=20)


@pytest.fixture(scope="module")
def spectral_recording() -> LoopRecording:
    """Part III's loop in its smoke profile, uncalibrated: 40 steps, so H̃ (every 200 steps) at step 0 only."""
    return gu.part3.monitor_loop.train_in_plain_loop(gu.presets.spectral_monitor_config("smoke"))


def json_round_trip(recording: LoopRecording) -> LoopRecording:
    return LoopRecording.from_dict(json.loads(json.dumps(recording.to_dict())))


# ------------------------------------------------------------------ the monitors, restored
def test_a_restored_signal_monitor_answers_as_the_one_that_recorded(signal_recording):
    restored = SignalMonitor.from_dict(json_round_trip(signal_recording).monitor)
    original = signal_recording.monitor
    assert restored.steps == original["steps"] == [0, 20, 40]
    assert restored.history == original["history"] and restored.costs() == original["costs"]
    assert restored.not_applicable == original["not_applicable"]
    assert restored.overhead_seconds == original["overhead_seconds"]
    t_fit = 20
    for key in restored.history:
        assert restored.transition(key, t_fit) == gu.signal_monitor.transition_step(
            original["steps"], original["history"][key], t_fit)
    with pytest.raises(ValueError, match="restored from a recording"):
        restored.record(60, gu.models.build(gu.presets.monitor_loop_config("smoke"), (2,), 31, 32))


def test_a_restored_spectral_monitor_keeps_its_calibration_and_forecasts():
    monitor = SpectralEntropyMonitor(np.zeros((4, 2)), lambda probe: None, every=10)
    monitor._steps, monitor._entropy, monitor._rank, monitor._norm = [0, 10, 20], [0.9, 0.8, 0.6], [3.0, 2.5, 2.0], \
        [1.0, 1.1, 1.2]
    monitor.onset, monitor.overhead_seconds = 20, 0.25
    monitor.calibrate(0.3, PowerLaw(c1=1000.0, gamma=1.5, c2=50.0, r2=0.9, n=7, residuals=(-40.0, 10.0, 30.0)))
    restored = SpectralEntropyMonitor.from_dict(json.loads(json.dumps(monitor.to_dict())))
    for name, series in monitor.history().items():
        np.testing.assert_array_equal(restored.history()[name], series)
    assert restored.onset == 20 and restored.calibrated and restored.threshold == 0.3
    assert restored.power_law == monitor.power_law and restored.power_law.residuals == (-40.0, 10.0, 30.0)
    assert restored.forecast() == monitor.forecast() is not None
    assert restored.overhead_fraction(1.0) == 0.25
    with pytest.raises(ValueError, match="restored from a recording"):
        restored.record(30)


def test_a_recording_that_is_not_a_monitors_is_refused_by_name():
    with pytest.raises(ValueError, match=r"lacks \['delta', 'effective_rank', 'every'"):
        SpectralEntropyMonitor.from_dict({"steps": []})
    with pytest.raises(ValueError, match=r"lacks \['errors', 'history'"):
        SignalMonitor.from_dict({"steps": [], "seconds": {}, "overhead_seconds": 0, "not_applicable": {}})


def test_the_spectral_loop_records_what_the_page_reads(spectral_recording):
    restored = json_round_trip(spectral_recording)
    assert restored == spectral_recording
    monitor = SpectralEntropyMonitor.from_dict(restored.monitor)
    assert list(restored.accuracy["test"]) == list(monitor.history()["step"])
    assert not monitor.calibrated and restored.forecasts == ()
    assert 0 < monitor.overhead_seconds < restored.loop_seconds


# ------------------------------------------------------------------ the store
def test_stored_once_then_read_without_training(store, signal_recording):
    config, calls = gu.presets.monitor_loop_config("smoke"), []
    record = lambda: calls.append(1) or signal_recording  # noqa: E731
    first = load_or_record("p5_monitor", config, store, record)
    second = load_or_record("p5_monitor", config, store, record)
    assert calls == [1] and first == second == json_round_trip(signal_recording)
    stored = json.loads(recording_path(store, "p5_monitor", config).read_text())
    assert gu.Config.from_dict(stored["config"]) == config and stored["page"] == "p5_monitor"


def test_a_changed_configuration_or_dependency_is_recorded_again(store, signal_recording):
    config, calls = gu.presets.monitor_loop_config("smoke"), []
    record = lambda: calls.append(1) or signal_recording  # noqa: E731
    load_or_record("p5_monitor", config, store, record)
    load_or_record("p5_monitor", config.replace(seed=1), store, record)
    load_or_record("p5_monitor", config, store, record, depends_on=[config.replace(seed=2)])
    load_or_record("p3_monitor", config, store, record)
    assert len(calls) == 4 and len(list((store.root / loop_records.LOOPS_FOLDER).glob("*.json"))) == 4
    keys = {loop_records.recording_key("p5_monitor", config, depends) for depends in
            ([], [config.replace(seed=2)], [config.replace(seed=2), config.replace(seed=3)])}
    assert len(keys) == 3
    assert loop_records.recording_key("p5_monitor", config, [config.replace(seed=2), config.replace(seed=3)]) == \
        loop_records.recording_key("p5_monitor", config, [config.replace(seed=3), config.replace(seed=2)])


@pytest.mark.parametrize("damage", [b'{"key": "trunc', b'{"key": "0000000000000000", "recording": {}}', b"[1, 2]"],
                         ids=["truncated", "another key", "not an object"])
def test_a_file_that_cannot_be_read_is_moved_aside_and_recorded_again(store, signal_recording, damage):
    config, calls = gu.presets.monitor_loop_config("smoke"), []
    record = lambda: calls.append(1) or signal_recording  # noqa: E731
    path = recording_path(store, "p5_monitor", config)
    path.parent.mkdir(parents=True)
    path.write_bytes(damage)
    with pytest.warns(CorruptResultWarning, match=path.name):
        load_or_record("p5_monitor", config, store, record)
    assert calls == [1] and path.with_name(path.name + ".corrupt").read_bytes() == damage
    assert load_or_record("p5_monitor", config, store, record) == json_round_trip(signal_recording)


def test_a_stored_recording_with_an_impossible_loop_time_is_refused(store, signal_recording):
    config = gu.presets.monitor_loop_config("smoke")
    load_or_record("p5_monitor", config, store, lambda: signal_recording)
    path = recording_path(store, "p5_monitor", config)
    data = json.loads(path.read_text())
    data["recording"]["loop_seconds"] = -1.0
    path.write_text(json.dumps(data))
    with pytest.warns(CorruptResultWarning, match="not a positive number of seconds"):
        load_or_record("p5_monitor", config, store, lambda: signal_recording)


def test_only_stored_recordings_are_read_in_the_book_build(store, stored_only):
    config = gu.presets.monitor_loop_config("smoke")
    with pytest.raises(MissingResult, match="python -m grokutils.regenerate --chapter p5_monitor"):
        load_or_record("p5_monitor", config, store, lambda: pytest.fail("trained in the book build"))


def test_a_record_function_that_returns_something_else_writes_nothing(store):
    config = gu.presets.monitor_loop_config("smoke")
    with pytest.raises(ValueError, match="must return a LoopRecording, got dict"):
        load_or_record("p5_monitor", config, store, lambda: {"monitor": {}})
    assert not recording_path(store, "p5_monitor", config).exists()
    with pytest.raises(ValueError, match="store must be a ResultStore"):
        load_or_record("p5_monitor", config, "results", lambda: None)


def test_the_quick_and_smoke_profiles_train_the_loop_live_and_store_nothing(store):
    recording = gu.part5.monitor_loop.recording("smoke", store)
    assert recording.monitor["steps"] == [0, 20, 40] and math.isfinite(recording.loop_seconds)
    assert not (store.root / loop_records.LOOPS_FOLDER).exists()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert gu.part3.monitor_loop.recording("smoke", store).monitor["steps"] == [0]


# ------------------------------------------------------------------ the book's stored recordings
@pytest.mark.parametrize("page", sorted(regenerate.LOOP_PAGES))
def test_the_book_reads_a_stored_recording_of_each_monitor_page(page, stored_only):
    store = gu.store_for("paper")
    recording = regenerate.LOOP_PAGES[page]("paper", store, False)
    assert regenerate.loop_path(page, "paper", store).exists()
    assert recording.monitor["steps"][0] == 0 and recording.loop_seconds > 0
