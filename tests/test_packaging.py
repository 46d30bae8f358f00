"""The dependency files say one thing: pyproject.toml is the source, the Makefile and environment.yml agree with it,
and the extras cover what the code imports. make lab runs the environment's JupyterLab. The wheel holds the package
and installs into a new environment with the core dependencies alone."""

from __future__ import annotations

import ast
import email.parser
import importlib.metadata
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
import zipfile
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

# Packages a module may import that another listed package installs: IPython comes with ipywidgets (no grokutils
# module imports it today; the explorers draw through ipywidgets alone).
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
    local = {"grokutils"} | {p.stem for folder in ("tests", "benchmarks", "tools", "book/_ext")
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


# --- JupyterLab from the environment -----------------------------------------------------------------------------


def test_make_lab_installs_nothing_at_launch():
    """make lab starts the JupyterLab of .venv (the [book] extra) and installs nothing: it works offline once make
    env ran."""
    makefile = (ROOT / "Makefile").read_text()
    recipe = re.search(r"^lab: .*\n((?:\t.*\n)+)", makefile, re.M).group(1)
    assert "pip" not in recipe and "install" not in recipe, f"make lab installs something at launch:\n{recipe}"
    assert re.search(r"^\t\$\(VENV\)/bin/jupyter lab notebooks/$", recipe, re.M)
    assert re.search(r"^lab: \$\(STAMP\)", makefile, re.M), "make lab must depend on the environment (make env)"


def test_book_extra_has_jupyterlab_and_ipywidgets():
    assert {"jupyterlab", "ipywidgets"} <= names(EXTRAS["book"])


def test_jupyterlab_runs_from_this_environment():
    (lab,) = [r for r in EXTRAS["book"] if canonicalize_name(r.name) == "jupyterlab"]
    jupyter = Path(sys.executable).parent / "jupyter"
    assert jupyter.exists(), f"{jupyter} is missing: make env installs the [book] extra, which brings JupyterLab"
    ran = subprocess.run([str(jupyter), "lab", "--version"], capture_output=True, text=True, timeout=120)
    assert ran.returncode == 0, ran.stdout + ran.stderr
    version = ran.stdout.strip().splitlines()[-1]
    assert lab.specifier.contains(version), f"jupyter lab --version says {version}; pyproject.toml asks {lab}"


# --- the wheel ---------------------------------------------------------------------------------------------------
#
# How clean the install is, and why. A wheel's promise is that `pip install grokutils` in an empty environment
# gives a working package with the core dependencies alone. Installing those from an index would download torch
# (the CPU build, about 200 MB, lives on PyTorch's own index; PyPI's Linux wheel is the several-GB CUDA build) on
# every run, so by default the test gets the same guarantee offline: a new venv (no system site-packages) gets the
# wheel with `pip install --no-deps --no-index`, and sees, through a .pth file, a folder of links to exactly the
# distributions that the core dependencies need, transitively, as installed in this environment (their
# Requires-Dist, markers evaluated, no extras). No book or test package is importable there, and neither is the
# source tree (the smoke script runs from another folder, with python -I). GROKUTILS_TEST_CLEAN_WHEEL=1 adds the
# full route: the same venv, the wheel and its dependencies from the index pip is configured for (for the CPU
# torch: PIP_EXTRA_INDEX_URL=https://download.pytorch.org/whl/cpu). The offline tests take about 10 s together
# (building the wheel 1-2 s, the new venv and the smoke run 5 s), so none is marked slow.

WHEEL_SMOKE = '''
import importlib.metadata, importlib.util, json, math, sys
from pathlib import Path

site, version = Path(sys.argv[1]).resolve(), sys.argv[2]
import grokutils
import grokutils.metrics
import grokutils.signal_monitor
import torch
from torch import nn

assert Path(grokutils.__file__).resolve().is_relative_to(site), f"grokutils imported from {grokutils.__file__}"
assert importlib.metadata.version("grokutils") == grokutils.__version__ == version
leaked = [m for m in ("pytest", "jupyter_book", "papermill", "ipywidgets", "yaml") if importlib.util.find_spec(m)]
assert not leaked, f"not core dependencies, importable anyway: {leaked}"


class TwoLayer(nn.Module):
    def __init__(self):
        super().__init__()
        self.hidden, self.head = nn.Linear(8, 16), nn.Linear(16, 3)

    def features(self, x):
        return torch.relu(self.hidden(x))

    def forward(self, x):
        return self.head(self.features(x))


torch.manual_seed(0)
x = torch.randn(96, 8)
y = x[:, :3].argmax(1)
model = TwoLayer()
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
monitor = grokutils.signal_monitor.SignalMonitor(x, y, every=5)
for step in range(20):
    monitor(step, model)
    loss = nn.functional.cross_entropy(model(x), y)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
assert monitor.steps == [0, 5, 10, 15], monitor.steps
assert not monitor.errors, monitor.errors
assert {"weight_norm", "rnc1", "spectral_entropy", "sharpness"} <= set(monitor.history), sorted(monitor.history)
assert all(len(v) == 4 and all(math.isfinite(value) for value in v) for v in monitor.history.values())
print(json.dumps({"grokutils": grokutils.__file__, "recorded": sorted(monitor.history),
                  "not_applicable": sorted(monitor.not_applicable)}))
'''


def run_checked(args, **kwargs) -> subprocess.CompletedProcess:
    ran = subprocess.run([str(a) for a in args], capture_output=True, text=True, **kwargs)
    assert ran.returncode == 0, f"{' '.join(map(str, args))} failed:\n{ran.stdout[-3000:]}\n{ran.stderr[-3000:]}"
    return ran


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> tuple[Path, Path]:
    """(the wheel, the sources it was built from): a copy of pyproject.toml, README.md and grokutils/, built by pip
    without build isolation (this environment's setuptools: offline), so that the build leaves nothing in the
    checkout, and compared with that copy (grokutils/ may change while the tests run)."""
    source = tmp_path_factory.mktemp("source")
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, source / name)
    shutil.copytree(ROOT / "grokutils", source / "grokutils", ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    out = tmp_path_factory.mktemp("dist")
    isolation = [] if importlib.util.find_spec("setuptools") is None else ["--no-build-isolation"]
    run_checked([sys.executable, "-m", "pip", "wheel", "--no-deps", *isolation, "--wheel-dir", out, source],
                timeout=600, cwd=source)
    (path,) = out.glob("grokutils-*.whl")
    return path, source


@pytest.fixture(scope="module")
def wheel(built) -> Path:
    return built[0]


def wheel_metadata(path: Path):
    with zipfile.ZipFile(path) as archive:
        metadata = next(n for n in archive.namelist() if n.endswith(".dist-info/METADATA"))
        return email.parser.Parser().parsestr(archive.read(metadata).decode()), archive.namelist()


def test_wheel_metadata_matches_pyproject(wheel):
    metadata, _ = wheel_metadata(wheel)
    assert metadata["Name"] == PROJECT["name"] and metadata["Version"] == PROJECT["version"]
    assert metadata["Requires-Python"] == PROJECT["requires-python"]
    requires = [Requirement(r) for r in metadata.get_all("Requires-Dist") or []]
    core = [r for r in requires if "extra" not in str(r.marker or "")]
    assert keyed(core) == keyed(CORE), "the wheel's core Requires-Dist differ from pyproject.toml's dependencies"
    assert all(r.marker is None for r in core), f"core requirements with markers: {[str(r) for r in core]}"
    assert set(metadata.get_all("Provides-Extra") or []) == set(EXTRAS)
    for extra, reqs in EXTRAS.items():
        listed = [r for r in requires if r not in core and r.marker.evaluate({"extra": extra})]
        assert keyed(listed) == keyed(reqs), f"the wheel's [{extra}] differs from pyproject.toml's"
    assert names(core).isdisjoint(names(EXTRAS["book"] + EXTRAS["test"])), "a book or test package is in the core"


def test_wheel_holds_every_module_and_nothing_else(built):
    wheel, source = built
    _, files = wheel_metadata(wheel)
    dist_info = f"{PROJECT['name']}-{PROJECT['version']}.dist-info"
    assert {f.split("/")[0] for f in files} == {"grokutils", dist_info}, sorted({f.split("/")[0] for f in files})
    package = {str(p.relative_to(source)) for p in (source / "grokutils").rglob("*")
               if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc"}
    shipped = {f for f in files if f.startswith("grokutils/")}
    assert package - shipped == set(), f"in grokutils/ but not in the wheel: {sorted(package - shipped)}"
    assert shipped - package == set(), f"in the wheel but not in grokutils/: {sorted(shipped - package)}"


def core_distributions() -> list[importlib.metadata.Distribution]:
    """The installed distributions that the core dependencies need, transitively: each requirement's
    Requires-Dist with its markers evaluated here, for the extras it was asked with (none for the core)."""
    found: dict[str, importlib.metadata.Distribution] = {}
    seen: set[tuple[str, str]] = set()
    todo = [(r, "") for r in CORE] + [(r, extra) for r in CORE for extra in r.extras]
    while todo:
        requirement, extra = todo.pop()
        name = canonicalize_name(requirement.name)
        if (name, extra) in seen:
            continue
        seen.add((name, extra))
        try:
            dist = importlib.metadata.distribution(requirement.name)
        except importlib.metadata.PackageNotFoundError:
            pytest.fail(f"{requirement} is needed by the core dependencies but not installed here (pip check)")
        found[name] = dist
        for line in dist.requires or []:
            dependency = Requirement(line)
            if dependency.marker is None or dependency.marker.evaluate({"extra": extra}):
                todo += [(dependency, "")] + [(dependency, e) for e in dependency.extras]
    return list(found.values())


def link_core_distributions(folder: Path) -> list[str]:
    """Links in ``folder`` to the top-level modules, packages and .dist-info folders of core_distributions()."""
    folder.mkdir()
    linked = []
    for dist in core_distributions():
        assert dist.files, f"{dist.metadata['Name']} has no RECORD: its files are unknown"
        for top in sorted({f.parts[0] for f in dist.files} - {"..", "__pycache__"}):
            target = Path(dist.locate_file(top))
            if target.exists() and not (folder / top).exists():
                (folder / top).symlink_to(target)
        linked.append(canonicalize_name(dist.metadata["Name"]))
    return sorted(linked)


def fresh_venv(tmp_path: Path) -> tuple[Path, Path]:
    """A venv without pip and without the system's site-packages: (its python, its site-packages)."""
    venv = tmp_path / "venv"
    run_checked([sys.executable, "-m", "venv", "--without-pip", venv], timeout=300)
    python = venv / "bin" / "python"
    site = Path(run_checked([python, "-I", "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                            timeout=60).stdout.strip())
    return python, site


def install_and_smoke(python: Path, site: Path, wheel: Path, *pip_args: str) -> dict:
    run_checked([sys.executable, "-m", "pip", "--python", python, "install", *pip_args, wheel], timeout=1800,
                env={**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1"})
    script = site.parent / "wheel_smoke.py"
    script.write_text(WHEEL_SMOKE)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV"))}
    ran = run_checked([python, "-I", script, site, PROJECT["version"]], timeout=600, cwd=site.parent,
                      env={**env, "OMP_NUM_THREADS": "1", "MPLBACKEND": "Agg"})
    return json.loads(ran.stdout.strip().splitlines()[-1])


def test_wheel_installs_into_a_new_venv_and_runs_a_signal_monitor_with_only_the_core(wheel, tmp_path):
    """The offline route (see the comment above WHEEL_SMOKE): the wheel with --no-deps --no-index, the core
    dependencies as this environment has them and nothing else; the smoke script imports grokutils from the wheel
    and runs a SignalMonitor over a two-layer network in a plain training loop."""
    python, site = fresh_venv(tmp_path)
    linked = link_core_distributions(tmp_path / "core")
    assert names(CORE) <= set(linked)
    assert set(linked).isdisjoint({"pytest", "jupyter-book", "papermill", "ipywidgets", "pyyaml"}), linked
    (site / "grokutils-core-dependencies.pth").write_text(f"{tmp_path / 'core'}\n")
    smoke = install_and_smoke(python, site, wheel, "--no-deps", "--no-index")
    assert Path(smoke["grokutils"]).resolve().is_relative_to(site.resolve())
    assert {"weight_norm", "rnc1", "sharpness"} <= set(smoke["recorded"])


@pytest.mark.slow
@pytest.mark.skipif(os.environ.get("GROKUTILS_TEST_CLEAN_WHEEL") != "1",
                    reason="downloads torch and every core dependency: set GROKUTILS_TEST_CLEAN_WHEEL=1 (and, for "
                           "the CPU torch, PIP_EXTRA_INDEX_URL=https://download.pytorch.org/whl/cpu)")
def test_wheel_installs_with_its_dependencies_from_the_index_into_an_empty_venv(wheel, tmp_path):
    python, site = fresh_venv(tmp_path)
    smoke = install_and_smoke(python, site, wheel)
    assert Path(smoke["grokutils"]).resolve().is_relative_to(site.resolve())
