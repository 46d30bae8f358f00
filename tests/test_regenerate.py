"""``python -m grokutils.regenerate``: the group lock, and one sweep size per part shared with the loaders."""

from __future__ import annotations

import subprocess
import sys

import pytest

from grokutils import presets
from grokutils.regenerate import group_lock


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
