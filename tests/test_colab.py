"""The Colab setup cell (grokutils.colab): every page has the current one, hidden, right after its title."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest
import yaml

from grokutils import colab, pages

ROOT = Path(__file__).resolve().parents[1]
TOOL = ROOT / "tools" / "add_colab_cell.py"


def tool():
    spec = importlib.util.spec_from_file_location("add_colab_cell", TOOL)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("page", sorted(pages.PAGES))
def test_every_page_has_the_current_colab_cell_hidden_after_its_title(page):
    cells = json.loads((ROOT / "notebooks" / f"{page}.ipynb").read_text(encoding="utf-8"))["cells"]
    assert cells[0]["cell_type"] == "markdown" and "".join(cells[0]["source"]).startswith("# ")
    found = [i for i, c in enumerate(cells) if c.get("id") == colab.CELL_ID]
    assert found == [1], f"{page}: the cell {colab.CELL_ID!r} is at {found}, not at 1 only"
    assert cells[1] == colab.cell(), f"{page}: the Colab cell is not current; run python {TOOL.relative_to(ROOT)}"
    assert cells[1]["metadata"]["tags"] == ["remove-cell"]
    assert sum(colab.SOURCE in "".join(c["source"]) for c in cells) == 1


def test_the_cell_clones_the_repository_the_launch_buttons_open():
    repository = yaml.safe_load((ROOT / "_config.yml").read_text())["repository"]
    assert (colab.REPOSITORY, colab.BRANCH) == (repository["url"], repository["branch"])
    assert f"-b {colab.BRANCH} {colab.REPOSITORY} " in colab.SOURCE


def test_the_cell_is_python_once_ipython_transforms_it_and_binds_no_parameter_like_name():
    transform = pytest.importorskip("IPython.core.inputtransformer2", reason="IPython comes with the [book] extra")
    code = transform.TransformerManager().transform_cell(colab.SOURCE)
    compile(code, "colab-setup", "exec")
    assert "get_ipython().system(" in code and "get_ipython().run_line_magic('pip'" in code
    # Outside Colab it only imports modules, which pages.check_parameters ignores: no name a page could mistake
    # for a papermill parameter
    namespace: dict = {}
    exec(code.split("\nif ")[0], namespace)  # noqa: S102  (the cell's imports only)
    assert all(name.startswith("_") or type(value).__name__ == "module" for name, value in namespace.items())


def test_the_tool_finds_every_page_current():
    assert tool().main(["--check"]) == 0


def test_the_tool_inserts_moves_and_updates_the_cell(tmp_path):
    add = tool()
    title = {"cell_type": "markdown", "id": "t", "metadata": {}, "source": ["# A page"]}
    other = {"cell_type": "code", "execution_count": None, "id": "p", "metadata": {"tags": ["parameters"]},
             "outputs": [], "source": ["profile = \"paper\""]}
    stale = dict(colab.cell(), source=["old text"])
    for cells in ([title, other], [title, other, stale], [title, stale, other]):
        notebook = {"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
        assert add.with_cell(notebook)["cells"] == [title, colab.cell(), other]
        assert add.with_cell(add.with_cell(notebook)) == add.with_cell(notebook)
    path = tmp_path / "page.ipynb"
    path.write_text(json.dumps({"cells": [title, other], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}))
    assert add.update(path, check=True) and json.loads(path.read_text())["cells"] == [title, other]
    assert add.update(path) and not add.update(path)
    assert path.read_text(encoding="utf-8").endswith("}\n")
    with pytest.raises(ValueError, match="title"):
        add.with_cell({"cells": [other]})


def test_the_cell_does_nothing_where_grokutils_is_importable(tmp_path, monkeypatch):
    """Run as the book and papermill run it (grokutils installed): no clone, same directory, same sys.path."""
    transform = pytest.importorskip("IPython.core.inputtransformer2", reason="IPython comes with the [book] extra")
    monkeypatch.chdir(tmp_path)
    path = list(sys.path)
    exec(transform.TransformerManager().transform_cell(colab.SOURCE), {})  # noqa: S102
    assert Path.cwd() == tmp_path and sys.path == path and not list(tmp_path.iterdir())


def test_the_cell_keeps_a_runtimes_torch_and_installs_the_other_core_dependencies():
    import tomllib

    from IPython.core.inputtransformer2 import TransformerManager

    core = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    assert list(colab.DEPENDENCIES_BESIDES_TORCH) == [r for r in core if not r.startswith("torch")]
    python = TransformerManager().transform_cell(colab.SOURCE)
    compile(python, "colab-setup", "exec")  # valid IPython: the magics become calls
    assert "--no-deps -e" in colab.SOURCE and all(f'"{r}"' in colab.SOURCE for r in colab.DEPENDENCIES_BESIDES_TORCH)
