"""The API reference (book/api.md and book/api/*.md, the part "API reference" of _toc.yml): Sphinx autodoc pages
of the modules a researcher reuses. The fast tests read the pages and the configuration; the slow one builds the
reference alone, with the book's configuration and warnings as errors, as make book does."""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import io
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
CONFIG = yaml.safe_load((ROOT / "_config.yml").read_text())
TOC = yaml.safe_load((ROOT / "_toc.yml").read_text())

# The modules the reference must cover (its brief): Part V's monitor and indicators, Part III's monitor, every metric
# family, and configuring, storing, training, sweeping, testing and deciding.
REQUIRED = ["grokutils.signal_monitor", "grokutils.indicators", "grokutils.monitor", "grokutils.metrics",
            *(f"grokutils.metrics.{family}" for family in ("collapse", "spectral", "flatness", "flatness_theory",
                                                           "robustness", "sharpness", "information", "fourier",
                                                           "basic", "signals")),
            "grokutils.config", "grokutils.runs", "grokutils.train", "grokutils.sweep", "grokutils.stats",
            "grokutils.verdicts"]
# Modules whose every public name (__all__) the reference must show.
ALL_COVERED = ["grokutils.signal_monitor", "grokutils.indicators", "grokutils.metrics"]

DIRECTIVE = re.compile(r"^\.\. (auto\w+):: +(\S+) *$")
OPTION = re.compile(r"^ +:([\w-]+):(?: +(.*))?$")


def api_part() -> dict:
    (part,) = [p for p in TOC["parts"] if p["caption"] == "API reference"]
    return part


def api_pages() -> list[Path]:
    (chapter,) = api_part()["chapters"]
    files = [chapter["file"]] + [s["file"] for s in chapter.get("sections", [])]
    return [ROOT / f"{name}.md" for name in files]


def directives() -> list[tuple[str, str, dict[str, str]]]:
    """(directive, target, options) of every autodoc directive of the reference's pages, in order."""
    found = []
    for page in api_pages():
        lines = page.read_text().splitlines()
        for i, line in enumerate(lines):
            if match := DIRECTIVE.match(line):
                options = {}
                for option in lines[i + 1:]:
                    if not (opt := OPTION.match(option)):
                        break
                    options[opt.group(1)] = (opt.group(2) or "").strip()
                found.append((match.group(1), match.group(2), options))
    return found


def automodules() -> dict[str, dict[str, str]]:
    return {target: options for kind, target, options in directives() if kind == "automodule"}


def has_doc_comment(module: str, name: str) -> bool:
    """Whether module-level ``name`` has a ``#:`` comment or docstring that autodoc reads from the source."""
    pycode = pytest.importorskip("sphinx.pycode", reason="Sphinx comes with jupyter-book (the [book] extra)")
    return ("", name) in pycode.ModuleAnalyzer.for_module(module).find_attr_docs()


def covered(module_name: str, name: str) -> str | None:
    """None if the reference shows ``module_name.name``; else why not. Mirrors autodoc's rules: an automodule
    with :members: shows the names of ``__all__`` (every public name defined in the module with
    :ignore-module-all:), except what :exclude-members: names, submodules (they need their own automodule)
    and data without a doc comment (autodoc has no documenter for those: they need an explicit autodata)."""
    module = importlib.import_module(module_name)
    obj = getattr(module, name)
    full = f"{module_name}.{name}"
    if inspect.ismodule(obj):
        return None if obj.__name__ in automodules() else f"submodule {obj.__name__} has no automodule"
    if any(target == full for kind, target, _ in directives() if kind != "automodule"):
        return None
    options = automodules().get(module_name)
    if options is None or "members" not in options:
        return f"{module_name} has no automodule with :members:"
    if name in {n.strip() for n in options.get("exclude-members", "").split(",")}:
        return f"{name} is in :exclude-members:"
    if "ignore-module-all" in options and getattr(obj, "__module__", module_name) != module_name:
        return f"{name} is imported into {module_name}, which :ignore-module-all: leaves out"
    if not (inspect.isclass(obj) or inspect.isroutine(obj)) and not has_doc_comment(module_name, name):
        return f"{full} is data without a doc comment: autodoc skips it unless an autodata directive names it"
    return None


# --- configuration and table of contents -------------------------------------------------------------------------


def test_config_enables_autodoc_napoleon_and_the_docstring_extension():
    sphinx = CONFIG["sphinx"]
    assert {"sphinx.ext.autodoc", "sphinx.ext.napoleon"} <= set(sphinx["extra_extensions"])
    assert sphinx["local_extensions"]["api_docstrings"] == "book/_ext"
    assert (ROOT / "book" / "_ext" / "api_docstrings.py").is_file()


def test_api_reference_is_its_own_part_just_before_references():
    captions = [part["caption"] for part in TOC["parts"]]
    assert captions[-2:] == ["API reference", "References"], captions
    assert api_part()["chapters"][0]["file"] == "book/api"
    for page in api_pages():
        assert page.is_file(), f"_toc.yml names {page.relative_to(ROOT)}, which does not exist"
    listed = {p.resolve() for p in api_pages()}
    on_disk = {(ROOT / "book" / "api.md").resolve(), *(p.resolve() for p in (ROOT / "book" / "api").glob("*.md"))}
    assert on_disk == listed, f"pages of the reference missing from _toc.yml: {sorted(map(str, on_disk - listed))}"


def test_autodoc_runs_inside_eval_rst_blocks():
    """MyST would parse the reST that autodoc generates as Markdown; autodoc directives belong in {eval-rst}."""
    for page in api_pages():
        text = page.read_text()
        blocks = "\n".join(re.findall(r"^```\{eval-rst\}\n(.*?)^```$", text, re.M | re.S))
        outside = [line for line in text.splitlines() if DIRECTIVE.match(line) and line not in blocks.splitlines()]
        assert not outside, f"{page.relative_to(ROOT)}: autodoc directives outside {{eval-rst}}: {outside}"
        assert not re.search(r"^```\{auto", text, re.M), f"{page.relative_to(ROOT)}: a MyST autodoc directive"


# --- what the pages document -------------------------------------------------------------------------------------


def test_every_documented_module_and_object_imports():
    assert directives(), "the reference has no autodoc directive"
    for kind, target, _ in directives():
        if kind == "automodule":
            importlib.import_module(target)
        else:
            module, _, name = target.rpartition(".")
            assert hasattr(importlib.import_module(module), name), f"{kind}:: {target}: no such object"


def test_every_automodule_documents_members_and_no_module_twice():
    modules = [target for kind, target, _ in directives() if kind == "automodule"]
    assert len(modules) == len(set(modules)), "a module is documented twice (duplicate object descriptions)"
    for module, options in automodules().items():
        assert "members" in options, f"automodule:: {module} without :members: shows only the module docstring"


def test_the_required_modules_are_documented():
    missing = sorted(set(REQUIRED) - set(automodules()))
    assert not missing, f"the API reference lacks {missing}"


@pytest.mark.parametrize("module_name", ALL_COVERED)
def test_every_public_name_is_covered(module_name):
    module = importlib.import_module(module_name)
    assert module.__all__, f"{module_name}.__all__ is empty"
    gaps = {name: why for name in module.__all__ if (why := covered(module_name, name))}
    assert not gaps, f"{module_name}: names of __all__ the reference does not show: {gaps}"


def test_coverage_check_catches_what_autodoc_skips():
    """The check itself: undocumented data (grokutils.metrics.REGISTRY has no doc comment) is covered only by
    an explicit autodata, and a module with no automodule covers nothing."""
    assert not has_doc_comment("grokutils.metrics", "REGISTRY")
    assert ("autodata", "grokutils.metrics.REGISTRY") in {(k, t) for k, t, _ in directives()}
    assert covered("grokutils", "presets") == "submodule grokutils.presets has no automodule"
    assert "no automodule" in covered("grokutils.presets", "nanda")


# --- book/_ext/api_docstrings.py ---------------------------------------------------------------------------------


def extension():
    pytest.importorskip("sphinx.ext.napoleon", reason="Sphinx comes with jupyter-book (the [book] extra)")
    spec = importlib.util.spec_from_file_location("api_docstrings", ROOT / "book" / "_ext" / "api_docstrings.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def rst_problems(text: str) -> list[str]:
    """What docutils reports on ``text`` (warnings and errors), leaving out Sphinx's roles, unknown to docutils."""
    core = pytest.importorskip("docutils.core", reason="docutils comes with jupyter-book (the [book] extra)")
    stream = io.StringIO()
    core.publish_doctree(text, settings_overrides={"report_level": 2, "halt_level": 5, "warning_stream": stream})
    problems = re.findall(r"\((?:WARNING|ERROR|SEVERE)/\d\) (.+)", stream.getvalue())
    return [p for p in problems if not p.startswith("Unknown interpreted text role")]


def test_bars_are_escaped_outside_literals():
    escape = extension().escape_bars
    assert escape(["the gap |test − train| and ``|x|``, :math:`|x|`"]) == [
        "the gap \\|test − train\\| and ``|x|``, :math:`|x|`"]
    block = ["Example::", "", "    a | b", "after |x|"]
    assert escape(block) == ["Example::", "", "    a | b", "after \\|x\\|"]
    assert any("Undefined substitution" in p for p in rst_problems("the gap |test − train| here"))
    assert rst_problems("\n".join(escape(["the gap |test − train| here"]))) == []


def test_verbatim_docstrings_are_still_invalid_rst():
    """A docstring shown verbatim (``api_verbatim_docstrings`` in _config.yml) is one that docutils cannot parse;
    once it is repaired in grokutils, this test asks to take it off the list."""
    ext = extension()
    names = CONFIG["sphinx"]["config"].get("api_verbatim_docstrings", [])
    for name in names:
        obj = ext._object_at(name)
        assert obj is not ext._MISSING, f"api_verbatim_docstrings names {name}, which does not exist"
        problems = rst_problems("\n".join(ext.escape_bars(inspect.getdoc(obj).splitlines())))
        assert problems, f"{name}'s docstring parses now: remove it from api_verbatim_docstrings in _config.yml"
    # the check's control: a module docstring with reST markup and bars parses cleanly
    good = importlib.import_module("grokutils.signal_monitor").__doc__
    assert rst_problems("\n".join(ext.escape_bars(inspect.cleandoc(good).splitlines()))) == []


# --- the reference built alone -----------------------------------------------------------------------------------


@pytest.mark.slow
def test_api_reference_builds_without_warnings_and_shows_every_public_name(tmp_path):
    """jupyter-book builds the reference's pages (with the conventions and references pages they link to) with the
    book's _config.yml, notebook execution off, warnings as errors and --nitpick, as make book does; every module
    and every name of the __all__ lists checked above gets its anchor. Seconds, where make book takes minutes."""
    jupyter_book = Path(sys.executable).parent / "jupyter-book"
    if not jupyter_book.exists():
        pytest.skip("jupyter-book is not installed (the [book] extra)")
    source = tmp_path / "book"
    shutil.copytree(ROOT / "book", source / "book", ignore=shutil.ignore_patterns("__pycache__", "_build"))
    config = {**CONFIG, "execute": {**CONFIG["execute"], "execute_notebooks": "off"}}
    (source / "_config.yml").write_text(yaml.safe_dump(config))
    (source / "_toc.yml").write_text(yaml.safe_dump({
        "format": "jb-book", "root": "book/api",
        "chapters": [{"file": str(p.relative_to(ROOT).with_suffix(""))} for p in api_pages()[1:]]
        + [{"file": "book/conventions"}, {"file": "book/references"}]}))
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    build = subprocess.run([str(jupyter_book), "build", str(source), "--warningiserror", "--nitpick", "--keep-going"],
                           capture_output=True, text=True, timeout=900, cwd=tmp_path, env=env)
    output = re.sub(r"\x1b\[[0-9;]*m", "", build.stdout + build.stderr)
    problems = [line for line in output.splitlines() if "WARNING" in line or "ERROR" in line]
    assert build.returncode == 0 and not problems, "\n".join(problems) or output[-3000:]
    html = "".join(p.read_text() for p in (source / "_build" / "html" / "book").rglob("api*.html"))
    html += "".join(p.read_text() for p in (source / "_build" / "html" / "book" / "api").glob("*.html"))
    missing = [m for m in automodules() if f'id="module-{m}"' not in html]
    for module_name in ALL_COVERED:
        module = importlib.import_module(module_name)
        for name in module.__all__:
            anchor = (f"module-{getattr(module, name).__name__}" if inspect.ismodule(getattr(module, name))
                      else f"{module_name}.{name}")
            if f'id="{anchor}"' not in html:
                missing.append(anchor)
    assert not missing, f"no anchor in the built reference for {missing}"
