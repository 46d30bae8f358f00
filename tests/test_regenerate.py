"""``python -m grokutils.regenerate``: the group lock, and one sweep size per part shared with the loaders."""

from __future__ import annotations

import subprocess
import sys

import pytest

import grokutils as gu
from grokutils import presets, regenerate
from grokutils.group_training import group_lock


def test_group_lock_excludes_a_second_owner_and_is_free_again_after_release(tmp_path):
    path = tmp_path / "group.lock"
    with group_lock(path) as first:
        assert first
        with group_lock(path) as second:
            assert not second
    with group_lock(path) as again:
        assert again


def test_the_lock_of_a_process_that_died_does_not_block(tmp_path):
    path = tmp_path / "group.lock"
    script = (f"import time\nfrom filelock import FileLock\nlock = FileLock({str(path)!r})\nlock.acquire()\n"
              "print('held', flush=True)\ntime.sleep(60)")
    holder = subprocess.Popen([sys.executable, "-c", script],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        with group_lock(path) as taken:
            assert not taken
    finally:
        holder.kill()
        holder.wait()
    assert path.exists()
    with group_lock(path) as taken:
        assert taken


def test_every_chapter_has_its_parts_sweep_size_and_an_unknown_part_is_named():
    assert {chapter: presets.sweep_size(chapter) for chapter in presets.paper_runs()} == {
        chapter: presets.SWEEP_SIZES[chapter.split("_")[0]] for chapter in presets.paper_runs()}
    with pytest.raises(ValueError, match="p9_new.*SWEEP_SIZES"):
        presets.sweep_size("p9_new")


@pytest.mark.parametrize("part, module, loader", [("p1", "grokutils.part1.load", "load_theory"),
                                                  ("p3", "grokutils.part3.load", "load_main")])
def test_loaders_train_in_groups_of_their_parts_sweep_size(monkeypatch, part, module, loader):
    import importlib

    load = importlib.import_module(module)
    seen = []
    monkeypatch.setitem(presets.SWEEP_SIZES, part, 3)
    monkeypatch.setattr(load, "run_groups", lambda configs, store, progress, size: seen.append(size) or [])
    try:
        getattr(load, loader)("smoke", progress=False)
    except (IndexError, KeyError, ValueError):
        pass  # the fake returned no results; only the size matters here
    assert seen == [3]


@pytest.mark.slow
def test_the_dask_backend_trains_missing_groups_on_a_local_cluster_then_finds_them_stored(tmp_path, capsys):
    pytest.importorskip("distributed")
    from grokutils.regenerate import main
    from grokutils.runs import ResultStore

    command = ["--profile", "smoke", "--results", str(tmp_path), "--chapter", "p3_two_phases"]
    with pytest.raises(SystemExit) as ended:
        main([*command, "--backend", "dask", "--scheduler", "local", "--workers", "2"])
    assert ended.value.code == 0
    out = capsys.readouterr().out
    assert "a group ended on the cluster" in out and "missing" in out
    configs = presets.chapter_runs("smoke")["p3_two_phases"]
    store = ResultStore(tmp_path)
    assert all(config in store for config in configs)
    local = [store.load(config).history["test_acc"] for config in configs]
    main(command)  # the local backend finds everything stored: nothing trains
    out = capsys.readouterr().out
    assert "missing" not in out and "run(s): wall" not in out
    assert [store.load(config).history["test_acc"] for config in configs] == local


@pytest.mark.slow
def test_the_dask_backend_skips_a_group_another_process_holds(tmp_path, capsys):
    pytest.importorskip("distributed")
    from grokutils.group_training import group_lock_path
    from grokutils.regenerate import main
    from grokutils.runs import ResultStore

    group = presets.chapter_runs("smoke")["p3_not_sufficient"]
    with group_lock(group_lock_path(ResultStore(tmp_path), group)) as held:
        assert held
        with pytest.raises(SystemExit):
            main(["--profile", "smoke", "--results", str(tmp_path), "--chapter", "p3_not_sufficient",
                  "--backend", "dask", "--scheduler", "local", "--workers", "1"])
    assert "another process is training this group; skipped" in capsys.readouterr().out
    assert group[0] not in ResultStore(tmp_path)


def test_profile_and_results_folder_choose_the_store(tmp_path, capsys):
    from grokutils.regenerate import main

    main(["--profile", "smoke", "--results", str(tmp_path), "--chapter", "p3_not_sufficient", "--list"])
    out = capsys.readouterr().out
    assert out.count("missing") == len(presets.chapter_runs("smoke")["p3_not_sufficient"])
    assert not list(tmp_path.iterdir())


def test_costs_sum_the_wall_time_the_stored_groups_recorded(tmp_path, capsys):
    """One group of two members: the shared training time once (the longer) plus both evaluations."""
    configs = gu.presets.collapse_theory("smoke")
    store = gu.ResultStore(tmp_path)
    for config, (train_s, eval_s) in zip(configs, [(10.0, 1.0), (12.0, 2.0)]):
        steps = gu.config.eval_steps(config.eval_schedule, config.num_steps)
        history = {"train_acc": [0.5] * len(steps), "test_acc": [0.5] * len(steps)}
        store.save(gu.Result(config, steps, history, {"train_s": train_s, "eval_s": eval_s}, {}))
    table = regenerate.recorded_costs({"p1_thm43_time_scales": configs, "p3_lemmas": []}, store)
    assert "| `p1_thm43_time_scales` | 2 | 2 | 1 | 15 s |" in table and "p3_lemmas" not in table
    missing = regenerate.recorded_costs({"p1_thm43_time_scales": configs + [configs[0].replace(seed=7)]}, store)
    assert "| 3 | 2 | 1 (1 not stored) | 0 s |" in missing  # the third member joins the group: not summed
    regenerate.main(["--costs", "--profile", "smoke", "--results", str(tmp_path), "--chapter", "p1_thm43_time_scales"])
    assert "15 s" in capsys.readouterr().out


def _store_groks(store, configs, groks: bool) -> None:
    for config in configs:
        steps = gu.config.eval_steps(config.eval_schedule, config.num_steps)
        test = [0.0] * (len(steps) - 2) + [1.0, 1.0] if groks else [0.0] * len(steps)
        history = {"train_acc": [0.0] + [1.0] * (len(steps) - 1), "test_acc": test}
        store.save(gu.Result(config, steps, history, {"train_s": 1.0, "eval_s": 0.0}, {}))


@pytest.mark.parametrize("first_groks", [True, False])
def test_alternatives_after_the_one_that_settles_the_rule_are_not_trained(tmp_path, capsys, first_groks):
    """Figure 1 of Part IV tries its candidate settings in order: once every seed of one grokked (the rule,
    presets.candidate_settled), the later candidates are not needed; until then each is."""
    smoke = [c for configs in presets.flatness_candidates("smoke").values() for c in configs][0]
    candidates = {(lr, frac): [smoke.replace(lr=lr, frac_train=frac, seed=s) for s in (0, 1, 2)]
                  for lr, frac in presets.FLATNESS_CANDIDATES}
    configs = [c for group in candidates.values() for c in group]
    store = gu.ResultStore(tmp_path)
    _store_groks(store, candidates[presets.FLATNESS_CANDIDATES[0]], first_groks)
    needed = [needed for _, _, needed in gu.group_training.planned_groups({"p4_fig1_grokking": configs}, store, 3,
                                                                          force=False)]
    out = capsys.readouterr().out
    if first_groks:
        assert needed == [False, False, False] and out.count("not needed") == 6
        assert "(2 not needed)" in regenerate.recorded_costs({"p4_fig1_grokking": configs}, store)
    else:
        assert needed == [False, True, True] and "not needed" not in out
        assert "(2 not stored)" in regenerate.recorded_costs({"p4_fig1_grokking": configs}, store)
