"""Load-or-run, the result store, and the derived times of a Result."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest

import grokutils as gu
import grokutils.train
from grokutils.result import Result
from grokutils.runs import MissingResult, ResultStore, run, run_sweep, store_for


@pytest.fixture
def config(tiny_nanda):
    return tiny_nanda.replace(num_steps=10, eval_schedule="every:5")


def forbid_training(monkeypatch):
    def fail(*args, **kwargs):
        raise AssertionError("trained although a stored result exists")

    monkeypatch.setattr(grokutils.train, "train", fail)
    monkeypatch.setattr(gu.sweep, "train_sweep", fail)


def store_files(store: ResultStore) -> list[str]:
    return sorted(os.path.relpath(os.path.join(d, f), store.root)
                  for d, _, files in os.walk(store.root) for f in files)


def test_run_trains_once_then_loads(store, config, monkeypatch):
    first = run(config, store, progress=False)
    assert config in store
    assert store_files(store) == [f"{config.label()}-{config.key()}.json"]  # checkpoint removed, no .tmp
    forbid_training(monkeypatch)
    second = run(config, store, progress=False)
    assert second == first  # same config, steps, history, timings, env (incl. 'finished')
    assert second.env["finished"] == first.env["finished"]
    assert first.model is not None and second.model is None  # the trained model is never stored


def test_run_force_retrains(store, config, monkeypatch):
    run(config, store, progress=False)
    calls = []
    real = grokutils.train.train
    monkeypatch.setattr(grokutils.train, "train", lambda *a, **k: calls.append(1) or real(*a, **k))
    run(config, store, progress=False, force=True)
    assert calls == [1]


def test_changed_config_gets_another_file(store, config):
    run(config, store, progress=False)
    other = config.replace(lr=2e-3)
    assert other not in store
    assert store.path(other) != store.path(config)
    run(other, store, progress=False)
    assert len(store_files(store)) == 2
    # device does not change what a run is
    assert config.replace(device="auto") in store


def test_stored_json_round_trips(store, config):
    result = run(config, store, progress=False)
    text = store.path(config).read_text()
    loaded = Result.from_json(text)
    assert loaded == result
    assert Result.from_json(loaded.to_json()) == loaded
    data = json.loads(text)
    assert data["key"] == config.key()
    assert data["config"] == json.loads(json.dumps(config.to_dict()))
    assert set(data) == {"config", "key", "steps", "history", "timings", "env"}


def test_tampered_key_is_rejected(store, config):
    run(config, store, progress=False)
    path = store.path(config)
    data = json.loads(path.read_text())
    data["key"] = "0" * 16
    with pytest.raises(ValueError, match="does not match"):
        Result.from_json(json.dumps(data))
    # a config edited inside the file no longer matches its key either
    data = json.loads(path.read_text())
    data["config"]["lr"] = 0.5
    path.write_text(json.dumps(data))
    with pytest.raises(ValueError, match="regenerate"):
        store.load(config)


def test_stored_only_raises_missing_result(store, config, monkeypatch):
    monkeypatch.setenv(gu.runs.STORED_ONLY_ENV, "1")
    with pytest.raises(MissingResult, match="make results") as info:
        run(config, store, progress=False)
    assert config.key() in str(info.value)
    assert isinstance(info.value, LookupError)
    with pytest.raises(MissingResult, match="make results"):
        run_sweep([config, config.replace(seed=1)], store, progress=False)
    assert store_files(store) == []


def test_stored_only_still_loads_stored_results(store, config, monkeypatch):
    stored = run(config, store, progress=False)
    monkeypatch.setenv(gu.runs.STORED_ONLY_ENV, "1")
    forbid_training(monkeypatch)
    assert run(config, store, progress=False) == stored
    assert run_sweep([config], store, progress=False) == [stored]


def test_save_is_atomic_and_leaves_no_temporary_files(store, config, monkeypatch):
    result = run(config, store, progress=False)
    path = store.path(config)
    before = path.read_text()

    # a write that fails half way must leave the stored file untouched and nothing else behind
    def broken_replace(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError):
        store.save(result)
    monkeypatch.undo()
    assert path.read_text() == before
    leftovers = [f for f in store_files(store) if f.endswith(".tmp")]
    # the temporary file of the failed write is the only possible leftover: never the result itself
    assert all(f.startswith(".") for f in leftovers)
    for f in leftovers:
        (store.root / f).unlink()
    store.save(result)
    assert not [f for f in store_files(store) if f.endswith(".tmp")]
    assert Result.from_json(path.read_text()) == result


def test_store_for_profiles(monkeypatch, tmp_path):
    with pytest.raises(ValueError) as info:
        store_for("bogus")
    for profile in ("smoke", "quick", "paper"):
        assert profile in str(info.value)
    assert "bogus" in str(info.value)
    assert store_for("smoke").root != store_for("quick").root
    monkeypatch.setenv("GROKUTILS_RESULTS", str(tmp_path))
    assert store_for("paper").root == tmp_path


def test_presets_validate_profile():
    with pytest.raises(ValueError, match="smoke"):
        gu.presets.nanda("bogus")
    assert gu.presets.nanda("smoke").num_steps == 40 and gu.presets.nanda("smoke").p == 23
    assert gu.presets.nanda("smoke", seed=3).seed == 3


def test_run_sweep_stores_each_member_in_input_order(store, config, monkeypatch):
    configs = [config.replace(seed=2, weight_decay=0.1), config.replace(seed=0), config.replace(seed=1)]
    stored_first = run(configs[1], store, progress=False)  # one member already stored
    swept = []
    real = gu.sweep.train_sweep
    monkeypatch.setattr(gu.sweep, "train_sweep", lambda todo, **k: swept.append(list(todo)) or real(todo, **k))
    results = run_sweep(configs, store, progress=False)
    assert swept == [[configs[0], configs[2]]]  # only the missing ones trained, together
    assert [r.config for r in results] == configs
    assert results[1] == stored_first
    assert all(c in store for c in configs)
    assert not [f for f in store_files(store) if not f.endswith(".json")]  # no checkpoints or .tmp left
    for c, r in zip(configs, results):
        assert store.load(c) == r
    forbid_training(monkeypatch)
    assert run_sweep(configs, store, progress=False) == results


# --------------------------------------------------------------- derived times
def hand_made(train_acc, test_acc, steps=None, grok_threshold=0.95):
    steps = steps or [10 * i for i in range(len(train_acc))]
    config = gu.Config(grok_threshold=grok_threshold)
    history = {"train_acc": train_acc, "test_acc": test_acc, "wall_time": [float(s) / 10 for s in steps]}
    return Result(config, steps, history)


def test_t_fit_t_grok_grok_delay():
    result = hand_made(train_acc=[0.1, 0.5, 0.98, 0.99, 1.0, 1.0, 1.0],
                       test_acc=[0.0, 0.1, 0.2, 0.3, 0.94, 0.951, 0.99])
    assert result.t_fit == 30      # first >= 0.99 (0.98 is not enough)
    assert result.t_grok == 50     # first >= 0.95
    assert result.grok_delay == 20
    assert result.wall_time_at(result.t_grok) == 5.0


def test_threshold_is_inclusive_and_configurable():
    result = hand_made([1.0, 1.0], [0.5, 0.85], grok_threshold=0.85)
    assert result.t_fit == 0 and result.t_grok == 10 and result.grok_delay == 10


def test_never_fit_or_never_grok():
    never_fit = hand_made([0.1, 0.9], [0.1, 0.2])
    assert never_fit.t_fit is None and never_fit.grok_delay is None
    never_grok = hand_made([0.1, 1.0], [0.1, 0.2])
    assert never_grok.t_fit == 10 and never_grok.t_grok is None and never_grok.grok_delay is None
    assert never_grok.wall_time_at(None) is None


def test_result_item_access():
    result = hand_made([0.1, 1.0], [0.1, 0.2], steps=[0, 7])
    assert isinstance(result["train_acc"], np.ndarray)
    assert np.array_equal(result.step_array, [0, 7])
    with pytest.raises(KeyError, match="recorded"):
        result["nope"]


def test_a_store_shows_its_folder_without_the_building_machines_path(tmp_path, monkeypatch):
    from grokutils.runs import REPO_ROOT, ResultStore

    assert ResultStore(REPO_ROOT / "results").shown_root == "results/"
    monkeypatch.setenv("HOME", str(tmp_path))
    assert ResultStore(tmp_path / "cache" / "smoke").shown_root == "~/cache/smoke/"
    outside = tmp_path.parent / "elsewhere"
    assert ResultStore(outside).shown_root == f"{outside.resolve().as_posix()}/"
