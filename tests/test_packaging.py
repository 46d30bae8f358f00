"""The dependency files say one thing: pyproject.toml is the source, the Makefile and environment.yml agree with it,
and the extras cover what the code imports."""

from __future__ import annotations

import ast
import importlib.metadata
import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
PROJECT = PYPROJECT["project"]
CORE = [Requirement(r) for r in PROJECT["dependencies"]]
EXTRAS = {name: [Requirement(r) for r in reqs] for name, reqs in PROJECT["optional-dependencies"].items()}

# Imported directly but installed by a listed package: IPython (grokutils.explorer's display) comes with ipywidgets.
PROVIDED_BY = {"ipython": "ipywidgets"}


def names(requirements) -> set[str]:
    return {canonicalize_name(r.name) for r in requirements}


def keyed(requirements) -> dict[str, str]:
    """name -> specifier set, normalised (sorted clauses), so that `a>=1,<2` and `a<2,>=1` agree."""
    return {canonicalize_name(r.name): ",".join(sorted(str(s) for s in r.specifier)) for r in requirements}


def torch_requirement() -> Requirement:
    torch = [r for r in CORE if canonicalize_name(r.name) == "torch"]
    assert len(torch) == 1, f"pyproject.toml lists torch {len(torch)} times in [project] dependencies"
    return torch[0]


def test_torch_is_one_exact_pin():
    torch = torch_requirement()
    specs = list(torch.specifier)
    assert len(specs) == 1 and specs[0].operator == "==", (
        f"{torch}: the Makefile, environment.yml and the README name one torch release; pin it with ==")
    for name, reqs in EXTRAS.items():
        assert "torch" not in names(reqs), f"[{name}] repeats torch: it belongs to the core dependencies only"


def torch_version() -> str:
    return next(iter(torch_requirement().specifier)).version


def make_torch_spec(**variables: str) -> str:
    env = {k: v for k, v in os.environ.items()
           if k not in {"MAKEFLAGS", "MFLAGS", "MAKELEVEL", "TORCH_SPEC", "TORCH_INDEX", "TORCH_REQ"}}
    args = ["make", "--no-print-directory", "-s", "-C", str(ROOT), "torch-spec"]
    args += [f"{k}={v}" for k, v in variables.items()]
    return subprocess.run(args, env=env, capture_output=True, text=True, check=True, timeout=60).stdout.strip()


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_makefile_installs_pyprojects_torch():
    assert make_torch_spec() == str(torch_requirement())
    index = "https://download.pytorch.org/whl/cpu"
    assert make_torch_spec(TORCH_INDEX=index) == f"{torch_requirement()} --index-url {index}"


def test_makefile_has_no_torch_requirement_of_its_own():
    makefile = (ROOT / "Makefile").read_text()
    assert re.search(r"^TORCH_REQ := \$\(shell .*pyproject\.toml\)$", makefile, re.M), (
        "the Makefile's TORCH_REQ must be read from pyproject.toml")
    assert not re.search(r"^TORCH_SPEC \?=.*torch *[=<>~]", makefile, re.M), "TORCH_SPEC must not name a version"


@pytest.mark.parametrize("name", ["Makefile", "README.md", "environment.yml"])
def test_torch_versions_named_in_text_agree(name):
    """Comments and examples name the pin too (`torch==2.13.0 --index-url …`); they must name the same one."""
    text = (ROOT / name).read_text()
    named = set(re.findall(r"\btorch==([0-9][0-9A-Za-z.+]*[0-9A-Za-z])", text))
    assert named <= {torch_version()}, f"{name} names torch {sorted(named)}; pyproject.toml pins {torch_version()}"
    vision = set(re.findall(r"\btorchvision==([0-9][0-9A-Za-z.]*[0-9])", text))
    assert vision <= {torchvision_version()}, f"{name} names torchvision {sorted(vision)}"


def torchvision_version() -> str:
    (vision,) = EXTRAS["vision"]
    assert canonicalize_name(vision.name) == "torchvision"
    (spec,) = vision.specifier
    assert spec.operator == "=="
    return spec.version


def test_torchvision_is_the_release_built_for_the_torch_pin():
    """Each torchvision release requires one torch release: torch 2.N pairs with torchvision 0.(N + 15)."""
    torch_minor = int(torch_version().split(".")[1])
    assert torchvision_version().split(".")[:2] == ["0", str(torch_minor + 15)]


def test_environment_yml_matches_core_book_and_test():
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    conda, pip = [], []
    for entry in env["dependencies"]:
        if isinstance(entry, dict):
            pip += entry["pip"]
        else:
            conda.append(entry)
    conda = [c for c in conda if not re.match(r"^(python|pip)\b(?!-)", c)]
    listed = [Requirement(r) for r in conda + pip]
    assert len(names(listed)) == len(listed), "environment.yml lists a package twice"
    expected = keyed(CORE + EXTRAS["book"] + EXTRAS["test"])
    assert keyed(listed) == expected, (
        f"environment.yml and pyproject.toml disagree: only in environment.yml "
        f"{sorted(set(keyed(listed).items()) - set(expected.items()))}, only in pyproject.toml "
        f"{sorted(set(expected.items()) - set(keyed(listed).items()))}")
    assert str(torch_requirement()) in pip, "torch comes from pip in environment.yml, as pyproject pins it"


def imported_modules(paths) -> set[str]:
    """Top-level names of every import (module level or inside functions) in these files."""
    modules = set()
    for path in paths:
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, ast.Import):
                modules |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                modules.add(node.module.split(".")[0])
    return modules


def third_party(paths) -> dict[str, set[str]]:
    """distribution name -> the modules of it imported, leaving out the standard library and the project's own."""
    local = {"grokutils"} | {p.stem for folder in ("tests", "benchmarks", "tools")
                             for p in (ROOT / folder).glob("*.py")}
    installed = importlib.metadata.packages_distributions()
    found: dict[str, set[str]] = {}
    for module in imported_modules(paths) - set(sys.stdlib_module_names) - local:
        # a package not installed here (tokenizers, datasets, torchvision) is distributed under its module name
        for dist in installed.get(module, [module]):
            found.setdefault(canonicalize_name(dist), set()).add(module)
    return found


def missing_from(found: dict[str, set[str]], allowed: set[str]) -> list[str]:
    return sorted(f"{dist} (import {', '.join(sorted(mods))})" for dist, mods in found.items()
                  if dist not in allowed and PROVIDED_BY.get(dist) not in allowed)


def test_test_extra_covers_what_the_tests_import():
    found = third_party(sorted((ROOT / "tests").glob("*.py")))
    assert not missing_from(found, names(CORE + EXTRAS["test"])), (
        f"tests/ imports packages that neither the core dependencies nor [test] list: "
        f"{missing_from(found, names(CORE + EXTRAS['test']))}")


def test_extras_cover_what_the_package_and_tools_import():
    paths = sorted([*ROOT.glob("grokutils/**/*.py"), *ROOT.glob("tools/*.py"), *ROOT.glob("benchmarks/*.py")])
    everything = names(CORE).union(*(names(reqs) for reqs in EXTRAS.values()))
    assert not missing_from(third_party(paths), everything), (
        f"imported but listed nowhere in pyproject.toml: {missing_from(third_party(paths), everything)}")


def test_text_and_vision_extras_name_what_grokutils_data_imports_lazily():
    found = third_party([ROOT / "grokutils" / "data.py"])
    assert {"tokenizers", "datasets"} <= set(found) and names(EXTRAS["text"]) == {"tokenizers", "datasets"}
    assert "torchvision" in found and names(EXTRAS["vision"]) == {"torchvision"}


def test_make_test_lints_first_and_ruff_skips_build_folders():
    makefile = (ROOT / "Makefile").read_text()
    assert re.search(r"^lint: .*\n\t\$\(VENV\)/bin/ruff check \.$", makefile, re.M)
    assert re.search(r"^test: \$\(STAMP\) lint\b", makefile, re.M), "make test must run the lint target first"
    ruff = PYPROJECT["tool"]["ruff"]
    assert {".venv", "_build", ".cache"} <= set(ruff.get("exclude", []) + ruff.get("extend-exclude", []))
    assert {"E", "F"} <= set(ruff["lint"]["select"])
    assert "ruff" in names(EXTRAS["test"])
