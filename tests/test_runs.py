"""Load-or-run, the result store, and the derived times of a Result."""

from __future__ import annotations

import json
import os
import warnings

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


def test_a_run_stored_on_one_device_loads_under_another(store, config):
    """A result trained with device 'cpu' (or 'cuda') is the result of device 'auto': it loads, is not moved aside."""
    stored = run(config.replace(device="cpu"), store, progress=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        loaded = store.load(config.replace(device="auto"))
    assert loaded is not None and loaded.history == stored.history
    assert store.path(config).exists() and not list(store.root.glob("*.corrupt*"))


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
    # a config edited inside the file no longer matches its key either: the file is moved aside, recomputed
    data = json.loads(path.read_text())
    data["config"]["lr"] = 0.5
    path.write_text(json.dumps(data))
    with pytest.warns(gu.runs.CorruptResultWarning, match="does not match its config"):
        assert store.load(config) is None
    assert json.loads(path.with_name(path.name + ".corrupt").read_text()) == data


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


@pytest.mark.parametrize("profile", ["smoke", "quick", "paper"])
def test_the_nanda_setup_computes_its_loss_in_float64_and_the_quickstart_keeps_the_float32_run(profile):
    double = gu.presets.nanda(profile)
    assert double.loss_dtype == "float64"
    single = gu.presets.nanda(profile, loss_dtype="float32")
    assert gu.presets.chapter_runs(profile)["00_quickstart"] == [double, single, gu.presets.omnigrok_mnist(profile)]
    assert double.replace(loss_dtype="float32") == single and double.key() != single.key()


def test_the_stored_quickstart_runs_are_the_two_precisions_of_one_run():
    store = store_for("paper")
    double, single = (store.load(gu.presets.nanda("paper", loss_dtype=d)) for d in ("float64", "float32"))
    assert double is not None and single is not None
    assert double.config.replace(loss_dtype="float32") == single.config
    assert double.steps == single.steps == list(range(0, 14_001, 100))
    assert double.t_grok is not None and single.t_grok is not None


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


# ------------------------------------------------------ unreadable stored files
def truncate(path, keep: float = 0.5) -> bytes:
    data = path.read_bytes()
    path.write_bytes(data[:int(len(data) * keep)])
    return data[:int(len(data) * keep)]


@pytest.mark.parametrize("damage, why", [
    (lambda p: truncate(p), "not valid JSON"),
    (lambda p: p.write_bytes(b"\xff\xfe\x00garbage"), "not valid JSON"),
    (lambda p: p.write_text("[1, 2, 3]"), "not an object"),
    (lambda p: p.write_text(json.dumps(json.loads(p.read_text()) | {"steps": []})), "steps"),
    (lambda p: p.write_text(json.dumps(json.loads(p.read_text()) | {"history": {"test_acc": [1.0]}})),
     "one value per step"),
    (lambda p: p.write_text(json.dumps({k: v for k, v in json.loads(p.read_text()).items() if k != "env"})), "'env'"),
], ids=["truncated", "binary", "a-list", "no-steps", "short-series", "no-env"])
def test_an_unreadable_result_is_moved_aside_named_and_recomputed(store, config, damage, why):
    first = run(config, store, progress=False)
    path = store.path(config)
    damage(path)
    damaged = path.read_bytes()
    with pytest.warns(gu.runs.CorruptResultWarning) as warned:
        again = run(config, store, progress=False)
    message = str(warned[0].message)
    assert str(path) in message and why in message and f"{path.name}.corrupt" in message
    assert (store.root / f"{path.name}.corrupt").read_bytes() == damaged  # kept, never deleted
    assert again.steps == first.steps and Result.from_json(path.read_text()) == again  # recomputed, stored
    assert {k: v for k, v in again.history.items() if k != 'wall_time'} == \
        {k: v for k, v in first.history.items() if k != 'wall_time'}
    truncate(path)
    with pytest.warns(gu.runs.CorruptResultWarning, match=rf"{path.name}\.corrupt\.1"):
        run(config, store, progress=False)  # a second corrupt file does not overwrite the first


def test_a_corrupt_result_in_a_stored_only_build_is_named_and_not_trained(store, config, monkeypatch):
    run(config, store, progress=False)
    truncate(store.path(config))
    monkeypatch.setenv(gu.runs.STORED_ONLY_ENV, "1")
    forbid_training(monkeypatch)
    with pytest.warns(gu.runs.CorruptResultWarning), pytest.raises(MissingResult) as info:
        run(config, store, progress=False)
    assert f"{store.path(config).name}.corrupt" in str(info.value) and "make results" in str(info.value)


def test_a_stored_config_that_this_version_refuses_is_named_and_left_in_place(store, config):
    run(config, store, progress=False)
    path = store.path(config)
    data = json.loads(path.read_text())
    data["config"]["num_heads"] = 3
    path.write_text(json.dumps(data))
    with pytest.raises(ValueError, match=rf"{path.name}.*refused by this version.*Config.num_heads = 3"):
        store.load(config)
    assert path.exists()


def test_a_result_of_another_config_under_this_name_is_moved_aside(store, config):
    other = config.replace(lr=2e-3)
    run(other, store, progress=False)
    store.path(other).rename(store.path(config))
    with pytest.warns(gu.runs.CorruptResultWarning, match="another configuration"):
        assert store.load(config) is None


# ------------------------------------------------------ what the entry points refuse
def test_a_zero_step_run_is_refused_by_every_entry_point_before_any_work(store, config, monkeypatch):
    zero = config.replace(num_steps=0)
    forbid_training(monkeypatch)
    for call in (lambda: run(zero, store), lambda: run_sweep([zero], store), lambda: gu.runs.run_groups([zero], store)):
        with pytest.raises(ValueError, match="num_steps = 0, which trains nothing.*grokutils.train.train"):
            call()
    with pytest.raises(ValueError, match="num_steps = 0"):
        store.save(Result(zero, [0], {"train_acc": [0.1], "test_acc": [0.1]}))
    assert store_files(store) == []


@pytest.mark.parametrize("call, message", [
    (lambda c, s: run_sweep([], s), "empty list of configs"),
    (lambda c, s: gu.runs.run_groups([], s), "empty list of configs"),
    (lambda c, s: run_sweep([c, c.replace(seed=1), c], s), r"configs\[2\] repeats configs\[0\]"),
    (lambda c, s: gu.runs.run_groups([c.replace(seed=1), c, c.replace(seed=1)], s),
     r"configs\[2\] repeats configs\[0\]"),
    (lambda c, s: run_sweep(c, s), "takes a list of Configs, got Config"),
    (lambda c, s: run_sweep([c, c.to_dict()], s), r"configs\[1\] is a dict"),
    (lambda c, s: run_sweep([c, c.replace(lr=2e-3)], s), r"may differ only in .*\['lr'\]"),
    (lambda c, s: gu.runs.run_groups([c], s, sweep_size=0), "sweep_size=0"),
    (lambda c, s: gu.runs.run_groups([c], s, sweep_size=2.0), "sweep_size=2.0"),
    (lambda c, s: run([c], s), "config must be a grokutils.Config, got list"),
    (lambda c, s: run(c.to_dict(), s), "got dict"),
    (lambda c, s: run(c, str(s.root)), "store must be a ResultStore"),
    (lambda c, s: run(c, s, progress="no"), "progress='no'"),
    (lambda c, s: run_sweep([c], s, force=1), "force=1"),
    (lambda c, s: ResultStore(None), "root must be a folder path"),
    (lambda c, s: s.save({"config": c}), "expected a grokutils.Result"),
    (lambda c, s: s.save(Result(c, [0, 5], {"test_acc": [0.1, 0.2]})), "not complete"),
], ids=["sweep-empty", "groups-empty", "sweep-duplicate", "groups-duplicate", "sweep-one-config", "sweep-a-dict",
        "sweep-two-shapes", "size-0", "size-float", "run-a-list", "run-a-dict", "store-a-str", "progress-str",
        "force-int", "store-none", "save-a-dict", "save-incomplete"])
def test_bad_calls_are_refused_before_any_work(store, config, monkeypatch, call, message):
    forbid_training(monkeypatch)
    with pytest.raises(ValueError, match=message):
        call(config, store)
    assert not store.root.exists() or store_files(store) == []
