"""Notebook pages: their "Profile and runtime" paragraph is computed from the runs they read."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from grokutils import pages, presets

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("*.ipynb"))


def test_every_notebook_is_a_page_and_every_page_a_notebook():
    assert {path.stem for path in NOTEBOOKS} == set(pages.PAGES)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_a_notebook_starts_its_own_page_shows_its_paragraph_and_prints_its_runtime(path):
    code = "\n".join("".join(c["source"]) for c in json.loads(path.read_text())["cells"] if c["cell_type"] == "code")
    assert f'page = gu.pages.start("{path.stem}", profile)' in code
    assert "page.about()" in code and "page.finish()" in code
    assert "Profile and runtime" not in path.read_text().replace('"page.about()"', "")


def test_describe_names_what_varies_and_the_seed_count():
    assert pages.describe(presets.collapse_sweep("paper")) == "30 runs (6 weight_decay × 5 seeds), 100,000 steps"
    assert pages.describe(presets.spectral_mlp("paper")) == "1 run, 80,000 steps"
    assert pages.describe([]) == "no runs"


def test_the_paragraph_follows_the_presets(monkeypatch):
    text = pages.profile_and_runtime("p3_two_phases")
    assert "10 runs (10 seeds), 20,000 steps" in text and "--chapter p3_two_phases" in text
    monkeypatch.setattr(presets, "spectral_main", lambda profile: presets.SPECTRAL_PAPER.replace(num_steps=123)
                        and [presets.SPECTRAL_PAPER.replace(num_steps=123, seed=s) for s in range(3)])
    monkeypatch.setitem(pages.PAGES, "p3_two_phases", pages.PageRuns(pages._groups(x=presets.spectral_main)))
    assert "3 runs (3 seeds), 123 steps" in pages.profile_and_runtime("p3_two_phases")


def test_an_unknown_page_or_profile_is_refused_before_any_work():
    with pytest.raises(ValueError, match="p9_nothing.*expected one of"):
        pages.start("p9_nothing", "paper")
    with pytest.raises(ValueError, match="profile='fast'"):
        pages.start("p3_two_phases", "fast")


def test_finish_says_what_the_runtime_included(capsys):
    pages.start("p3_lemmas", "smoke").finish()
    pages.start("p3_two_phases", "paper").finish()
    out = capsys.readouterr().out.splitlines()
    assert "one run trains here" in out[0] and "reading stored results" in out[1]
