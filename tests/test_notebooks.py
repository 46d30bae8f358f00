"""Static checks of the notebooks: papermill can parameterise them, the book lists them."""

import json
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted(p for p in (ROOT / "notebooks").rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts)


def cells(path):
    return json.loads(path.read_text())["cells"]


def test_there_are_notebooks():
    assert NOTEBOOKS, "no notebooks found under notebooks/"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_exactly_one_parameters_cell_with_profile_first(path):
    tagged = [c for c in cells(path) if "parameters" in c.get("metadata", {}).get("tags", [])]
    assert len(tagged) == 1, f"{path.name}: {len(tagged)} cells tagged 'parameters'"
    source = "".join(tagged[0]["source"]).strip().splitlines()
    assert source[0].startswith("profile = "), f"{path.name}: first parameter is {source[0]!r}, not profile"
    assert '"paper"' in source[0], "the book renders the paper profile by default"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebooks_are_stored_without_outputs(path):
    with_outputs = [i for i, c in enumerate(cells(path)) if c["cell_type"] == "code" and c.get("outputs")]
    assert not with_outputs, f"{path.name}: cells {with_outputs} carry outputs; clear them before committing"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebooks_import_grokutils_with_a_namespace(path):
    sources = ["".join(c["source"]) for c in cells(path) if c["cell_type"] == "code"]
    assert not any("import *" in s for s in sources)
    assert any("import grokutils as gu" in s for s in sources)


def toc_files(entries):
    for entry in entries:
        if "file" in entry:
            yield entry["file"]
        for key in ("chapters", "sections", "parts"):
            yield from toc_files(entry.get(key, []))


def in_progress() -> set[str]:
    """Notebooks listed in notebooks/in_progress.txt: their paper results are still being generated."""
    lines = (ROOT / "notebooks" / "in_progress.txt").read_text().splitlines()
    return {line.strip() for line in lines if line.strip() and not line.startswith("#")}


def test_every_notebook_is_in_the_table_of_contents_or_listed_as_in_progress():
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    listed = set(toc_files(toc.get("parts", []))) | {toc["root"]}
    pending = in_progress()
    for path in NOTEBOOKS:
        name = str(path.relative_to(ROOT).with_suffix(""))
        assert (name in listed) != (path.stem in pending), (
            f"{path} must be either in _toc.yml or in notebooks/in_progress.txt (exactly one)")
    assert pending <= {path.stem for path in NOTEBOOKS}, "in_progress.txt names a notebook that does not exist"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_every_cell_has_a_unique_id(path):
    """nbformat 4.5 requires cell ids; papermill warns (and later nbformat will fail) without them."""
    ids = [cell.get("id") for cell in json.loads(path.read_text())["cells"]]
    assert None not in ids and len(set(ids)) == len(ids), f"{path.name}: cells without an id or with a repeated one"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_markdown_has_no_control_characters(path):
    """A tab or backspace in a markdown cell is almost always a LaTeX command eaten by a string escape
    (``"\\to"`` written as ``"\to"``): the formula renders wrongly."""
    for cell in json.loads(path.read_text())["cells"]:
        if cell["cell_type"] == "markdown":
            text = "".join(cell["source"])
            bad = sorted({repr(ch) for ch in text if ord(ch) < 32 and ch != "\n"})
            assert not bad, f"{path.name}: control characters {bad} in a markdown cell"
