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
    assert f'page = gu.pages.start("{path.stem}", profile, progress=progress, namespace=globals())' in code
    assert "page.about()" in code and "page.finish()" in code
    assert "Profile and runtime" not in path.read_text().replace('"page.about()"', "")


def test_describe_names_what_varies_and_the_seed_count():
    assert pages.describe(presets.collapse_sweep("paper")) == "30 runs (6 weight_decay × 5 seeds), 100,000 steps"
    assert pages.describe(presets.spectral_mlp("paper")) == "1 run, 80,000 steps"
    assert pages.describe([]) == "no runs"
    base = presets.SPECTRAL_PAPER
    not_a_grid = [base.replace(seed=s, **fields) for fields in ({}, {"lr": 3e-3, "weight_decay": 0.5})
                  for s in range(2)]  # 2 of the 4 (lr, weight_decay) pairs: no "2 lr × 2 weight_decay"
    assert pages.describe(not_a_grid) == "4 runs (2 combinations of lr, weight_decay × 2 seeds), 20,000 steps"


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
    pages.start("p3_monitor", "smoke").finish()
    pages.start("p3_monitor", "paper").finish()
    pages.start("p3_two_phases", "paper").finish()
    out = capsys.readouterr().out.splitlines()
    assert "its loop trains here" in out[0] and "reading the stored recording of its loop" in out[1]
    assert "reading stored results" in out[2]


def test_a_monitor_page_says_it_reads_a_recording_in_paper_and_trains_its_loop_otherwise():
    about = pages.profile_and_runtime("p5_monitor")
    assert "reads the stored recording of its own plain loop" in about
    assert "`python -m grokutils.regenerate --chapter p5_monitor`" in about
    assert "trains in its own plain loop, storing nothing" in about
    assert pages.PAGES["p5_monitor"].trains_live("quick") and not pages.PAGES["p5_monitor"].trains_live("paper")


# ------------------------------------------------------------------ papermill parameters
def parameters_namespace(path: Path) -> dict:
    """The notebook's namespace when its setup cell runs: its parameters cell executed, then ``gu``."""
    import grokutils as gu

    cells = json.loads(path.read_text())["cells"]
    (parameters,) = [c for c in cells if "parameters" in c.get("metadata", {}).get("tags", [])]
    namespace: dict = {}
    exec("".join(parameters["source"]), namespace)  # noqa: S102  (the notebook's own two assignments)
    namespace.pop("__builtins__")
    return namespace | {"gu": gu, "In": [""], "Out": {}, "_i1": "", "get_ipython": print}


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_every_notebook_passes_its_own_parameter_check(path):
    namespace = parameters_namespace(path)
    assert set(namespace) >= set(pages.PARAMETERS)
    pages.check_parameters(namespace, path.stem)
    page = pages.start(path.stem, "smoke", progress=False, namespace=namespace | {"profile": "smoke"})
    assert page.progress is False and page.profile == "smoke"


BAD_PARAMETERS = [
    ({"profil": "quick"}, "unknown parameter(s) profil='quick'"),
    ({"progres": False}, "unknown parameter(s) progres=False"),
    ({"profile": "fast"}, "profile='fast'"),
    ({"profile": 1}, "parameter profile=1 is a int; expected a str"),
    ({"progress": "no"}, "parameter progress='no' is a str; expected a bool, True or False"),
    ({"progress": 0}, "parameter progress=0 is a int"),
    ({"seed": 3}, "unknown parameter(s) seed=3"),
]


@pytest.mark.parametrize("extra, message", BAD_PARAMETERS, ids=[str(e) for e, _ in BAD_PARAMETERS])
def test_unknown_or_mistyped_parameters_are_refused_before_any_work(extra, message, monkeypatch):
    path = NOTEBOOKS[0]
    monkeypatch.setattr(pages.plots, "use_book_style", lambda: pytest.fail("work started before the check"))
    monkeypatch.setattr(pages, "store_for", lambda profile: pytest.fail("work started before the check"))
    namespace = parameters_namespace(path) | extra
    with pytest.raises(ValueError) as info:
        pages.start(path.stem, namespace["profile"] if isinstance(namespace["profile"], str) else "smoke",
                    progress=True, namespace=namespace)
    assert message in str(info.value) and path.stem in str(info.value)
    if "unknown" in message:
        assert "profile (str); progress (bool)" in str(info.value)


def test_names_the_notebook_binds_itself_are_not_parameters():
    """A live kernel whose later cells already ran can run the setup cell again."""
    path = next(p for p in NOTEBOOKS if p.stem == "p3_monitor")
    own = pages.notebook_names(path.stem)
    assert {"page", "store", "config", "calibration_runs", "gu"} <= own
    pages.check_parameters(parameters_namespace(path) | {"page": None, "calibration_runs": []}, path.stem)
    with pytest.raises(ValueError, match="the parameter 'progress' is not set"):
        pages.check_parameters({"profile": "smoke"}, path.stem)
    with pytest.raises(ValueError, match="globals"):
        pages.check_parameters([("profile", "smoke")], path.stem)
    with pytest.raises(ValueError, match="progress='yes'"):
        pages.start(path.stem, "smoke", progress="yes")
    with pytest.raises(ValueError, match=r"page=\['p3_monitor'\] is not a notebook of the book"):
        pages.start([path.stem], "smoke")


@pytest.mark.slow
def test_papermill_refuses_a_misspelt_parameter_in_the_setup_cell(tmp_path):
    """Through a real kernel: papermill injects ``profil`` after the parameters cell, and the setup cell
    fails with the check's message before anything runs (papermill itself only warns)."""
    papermill = pytest.importorskip("papermill")
    source = json.loads(NOTEBOOKS[0].read_text())
    setup = next(c for c in source["cells"] if c["cell_type"] == "code" and "gu.pages.start" in "".join(c["source"]))
    parameters = next(c for c in source["cells"] if "parameters" in c.get("metadata", {}).get("tags", []))
    setup_lines = [line for line in "".join(setup["source"]).splitlines() if "import" in line or "pages.start" in line]
    check = dict(setup, source="\n".join(setup_lines + ["print('SETUP-OK', page.profile, page.progress)"]))
    notebook = dict(source, cells=[parameters, check])
    path = tmp_path / NOTEBOOKS[0].name
    path.write_text(json.dumps(notebook))
    out = papermill.execute_notebook(str(path), str(tmp_path / "ok.ipynb"), parameters={"profile": "smoke",
                                     "progress": False}, progress_bar=False, cwd=str(NOTEBOOKS[0].parent))
    printed = "".join(o.get("text", "") for c in out["cells"] for o in c.get("outputs", []))
    assert "SETUP-OK smoke False" in printed
    with pytest.raises(papermill.PapermillExecutionError, match="unknown parameter"):
        papermill.execute_notebook(str(path), str(tmp_path / "bad.ipynb"), parameters={"profil": "quick"},
                                   progress_bar=False, cwd=str(NOTEBOOKS[0].parent))


def test_run_notebooks_checks_every_notebook_before_running_one(monkeypatch, capsys):
    import importlib.util
    import sys
    import types

    path = NOTEBOOKS[0].parents[1] / "tools" / "run_notebooks.py"
    spec = importlib.util.spec_from_file_location("run_notebooks", path)
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    fake = types.SimpleNamespace(execute_notebook=lambda *a, **k: pytest.fail("ran a notebook before the check"))
    monkeypatch.setitem(sys.modules, "papermill", fake)
    with pytest.raises(SystemExit) as info:
        tool.main([str(NOTEBOOKS[0]), "notebooks/p9_nothing.ipynb", "README.md"])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert "p9_nothing.ipynb does not exist" in err and "README.md is not a notebook" in err
    assert "Nothing was run" in err
    assert tool.notebook_problems(NOTEBOOKS) == []


def test_run_notebooks_runs_pages_that_share_a_run_in_one_process_each_page_once_in_order():
    import importlib.util

    path = NOTEBOOKS[0].parents[1] / "tools" / "run_notebooks.py"
    spec = importlib.util.spec_from_file_location("run_notebooks", path)
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    notebooks = sorted(NOTEBOOKS)
    keys = {p: {c.key() for g in pages.PAGES[p.stem].reads("smoke").values() for c in g} for p in notebooks}
    for workers in (1, 2, 3, 8):
        planned = tool.chains(notebooks, workers, "smoke")
        assert 1 <= len(planned) <= workers
        assert sorted(p for chain in planned for p in chain) == notebooks  # each page once
        assert all(chain == sorted(chain) for chain in planned)  # in the order given
        where = {p: i for i, chain in enumerate(planned) for p in chain}
        for a in notebooks:
            for b in notebooks:
                if keys[a] & keys[b]:
                    assert where[a] == where[b], f"{a.stem} and {b.stem} read a common run in two processes"
    assert len(tool.chains(notebooks, 2, "smoke")) == 2
