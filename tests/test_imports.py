"""Every grokutils module imports on its own, and its dependencies are visible at its top.

A module imported first, in an interpreter that has loaded no grokutils module, must load (no import
cycle hides behind the order in which ``grokutils/__init__`` happens to import things). No function
imports a grokutils module: such an import hides a dependency, usually a cycle, until the function runs.
Functions may import other packages only to spare an import cost or an optional dependency, said in a
comment on that line or just above it. :mod:`grokutils.config_checks`, :mod:`grokutils.profiles` and
:mod:`grokutils.files` are leaves; :mod:`grokutils.config` imports only :mod:`grokutils.config_checks`.

One fresh interpreter per module costs ~2 s each (torch, scipy, matplotlib), over a minute for the
package on two cores. Instead one fresh interpreter loads the third-party packages that grokutils
modules import at their top, then forks a child per module that imports it first: ~5 s in all, and
the same test for grokutils, whose own import is what can fail. Without ``os.fork`` (not Linux) each
module gets its own interpreter.
"""

from __future__ import annotations

import ast
import importlib.util
import io
import json
import os
import pkgutil
import subprocess
import sys
import tokenize
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

import grokutils

MODULES = sorted(info.name for info in pkgutil.walk_packages(grokutils.__path__, "grokutils."))
LEAVES = ("grokutils.config_checks", "grokutils.files", "grokutils.profiles")
IMPORT_TIMEOUT_S = 120


def source(name: str) -> str:
    return Path(importlib.util.find_spec(name).origin).read_text(encoding="utf-8")


def imported_names(node: ast.Import | ast.ImportFrom) -> list[str]:
    """The modules an import statement loads (a relative import counts as grokutils)."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    return ["grokutils"] if node.level else [node.module]


def is_grokutils(module: str) -> bool:
    return module == "grokutils" or module.startswith("grokutils.")


def function_level_imports(tree: ast.Module) -> list[ast.Import | ast.ImportFrom]:
    """Import statements inside any function (nested ones once), in line order."""
    found = {}
    for function in ast.walk(tree):
        if isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            for node in ast.walk(function):
                if isinstance(node, (ast.Import, ast.ImportFrom)):
                    found[(node.lineno, node.col_offset)] = node
    return [found[k] for k in sorted(found)]


def comment_lines(text: str) -> set[int]:
    tokens = tokenize.generate_tokens(io.StringIO(text).readline)
    return {token.start[0] for token in tokens if token.type == tokenize.COMMENT}


def says_why(node: ast.stmt, comments: set[int], import_lines: set[int]) -> bool:
    """A comment on the statement's lines or on the line above it, or above the run of
    function-level imports that the statement ends."""
    if comments & set(range(node.lineno - 1, node.end_lineno + 1)):
        return True
    line = node.lineno - 1
    while line in import_lines:
        line -= 1
        if line in comments:
            return True
    return False


#: Run as ``python -c IMPORT_EACH '<json list of third-party modules>' module...``: prints
#: ``{module: [exit code, traceback]}`` as JSON, each module imported first in a forked child.
IMPORT_EACH = """
import importlib, json, os, sys, traceback
for module in json.loads(sys.argv[1]):
    try:
        importlib.import_module(module)
    except ImportError:
        pass
loaded = sorted(m for m in sys.modules if m == "grokutils" or m.startswith("grokutils."))
assert not loaded, f"preloading third-party packages loaded {loaded}"
status = {}
for name in sys.argv[2:]:
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read)
        try:
            importlib.import_module(name)
        except BaseException:
            os.write(write, traceback.format_exc().encode())
            os._exit(1)
        os._exit(0)
    os.close(write)
    with os.fdopen(read, "rb") as pipe:
        message = pipe.read().decode()
    status[name] = [os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]), message]
print(json.dumps(status))
"""


def third_party_imports() -> list[str]:
    """The modules other than grokutils that grokutils modules import at their top (outside functions);
    ``from a import b`` lists ``a`` and ``a.b``, which may be a submodule (``from scipy import stats``)."""
    found = set()
    for name in MODULES:
        tree = ast.parse(source(name))
        inside = {id(node) for node in function_level_imports(tree)}
        for node in ast.walk(tree):
            if not isinstance(node, (ast.Import, ast.ImportFrom)) or id(node) in inside:
                continue
            modules = imported_names(node)
            if isinstance(node, ast.ImportFrom) and not node.level:
                modules += [f"{node.module}.{alias.name}" for alias in node.names]
            found.update(m for m in modules if not is_grokutils(m) and m.split(".")[0] != "__future__")
    return sorted(found)


def _import_alone(name: str) -> list:
    done = subprocess.run([sys.executable, "-c", f"import {name}"], capture_output=True, text=True,
                          timeout=IMPORT_TIMEOUT_S)
    return [done.returncode, done.stderr]


@pytest.fixture(scope="module")
def imported_alone() -> dict[str, list]:
    """``{module: [exit code, traceback]}`` of importing each module first (see the module docstring)."""
    if not hasattr(os, "fork") or sys.platform != "linux":
        with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
            return dict(zip(MODULES, pool.map(_import_alone, MODULES)))
    done = subprocess.run([sys.executable, "-c", IMPORT_EACH, json.dumps(third_party_imports()), *MODULES],
                          capture_output=True, text=True, timeout=IMPORT_TIMEOUT_S)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_discovery_finds_the_package_tree():
    assert {"grokutils.config", "grokutils.runs", "grokutils.metrics", "grokutils.metrics.spectral"} <= set(MODULES)


@pytest.mark.parametrize("name", MODULES)
def test_module_imports_first(name, imported_alone):
    code, message = imported_alone[name]
    assert code == 0, f"`import {name}` with no grokutils module loaded failed:\n{message}"


@pytest.mark.parametrize("name", MODULES)
def test_no_function_imports_a_grokutils_module(name):
    tree = ast.parse(source(name))
    hidden = [f"line {node.lineno}: {ast.unparse(node)}" for node in function_level_imports(tree)
              if any(is_grokutils(m) for m in imported_names(node))]
    assert not hidden, f"{name} imports grokutils modules inside functions (move them to the top): {hidden}"


@pytest.mark.parametrize("name", MODULES)
def test_function_level_imports_of_other_packages_say_why(name):
    text = source(name)
    nodes = function_level_imports(ast.parse(text))
    comments, import_lines = comment_lines(text), {line for n in nodes for line in range(n.lineno, n.end_lineno + 1)}
    silent = [f"line {node.lineno}: {ast.unparse(node)}" for node in nodes
              if not any(is_grokutils(m) for m in imported_names(node))
              and not says_why(node, comments, import_lines)]
    assert not silent, (f"{name} imports inside functions without a comment saying which cost or optional "
                        f"dependency that spares (or move them to the top): {silent}")


@pytest.mark.parametrize("name", LEAVES)
def test_leaf_modules_import_nothing_from_grokutils(name):
    imports = [node for node in ast.walk(ast.parse(source(name))) if isinstance(node, (ast.Import, ast.ImportFrom))]
    assert not [m for node in imports for m in imported_names(node) if is_grokutils(m)]


def test_the_checks_see_what_they_should():
    text = '''
import grokutils.config

def f():
    # torchvision is slow to import
    import torchvision
    from PIL import Image
    import tqdm  # slow
    from grokutils import runs

def g():
    import scipy
    return lambda: __import__("x")
'''
    nodes = function_level_imports(ast.parse(text))
    assert [n.lineno for n in nodes] == [6, 7, 8, 9, 12]
    comments, lines = comment_lines(text), {n.lineno for n in nodes}
    assert [says_why(n, comments, lines) for n in nodes] == [True, True, True, True, False]
    assert [any(is_grokutils(m) for m in imported_names(n)) for n in nodes] == [False, False, False, True, False]


def module_level_edges(name: str) -> set[str]:
    """The grokutils modules that ``name`` imports at run time (outside functions and outside
    ``if TYPE_CHECKING:``), ``from grokutils import x`` read as the module ``grokutils.x``."""
    tree = ast.parse(source(name))
    guarded = [node for node in ast.walk(tree)
               if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)]
    skipped = {id(n) for node in guarded for n in ast.walk(node)}
    skipped |= {id(n) for n in function_level_imports(tree)}
    edges = set()
    for node in ast.walk(tree):
        if id(node) in skipped or not isinstance(node, (ast.Import, ast.ImportFrom)):
            continue
        if isinstance(node, ast.ImportFrom) and node.module and is_grokutils(node.module):
            for alias in node.names:
                candidate = f"{node.module}.{alias.name}"
                edges.add(candidate if candidate in MODULES else node.module)
        else:
            edges |= {m for m in imported_names(node) if is_grokutils(m)}
    return edges - {name}


def test_the_module_import_graph_has_no_cycle():
    """Read without the package facades (``__init__`` modules that re-export their submodules), the
    modules import one another in layers: no chain of imports leads back to where it started."""
    facades = {name for name in MODULES if Path(importlib.util.find_spec(name).origin).name == "__init__.py"}
    facades.add("grokutils")
    graph = {name: module_level_edges(name) - facades for name in MODULES if name not in facades}
    visiting, done = [], set()

    def visit(node: str) -> None:
        if node in done:
            return
        assert node not in visiting, "import cycle: " + " → ".join(visiting[visiting.index(node):] + [node])
        visiting.append(node)
        for target in sorted(graph.get(node, ())):
            visit(target)
        visiting.pop()
        done.add(node)

    for node in sorted(graph):
        visit(node)
    assert graph["grokutils.config"] == {"grokutils.config_checks"} and "grokutils.part3.analysis" in graph
    assert graph["grokutils.config_checks"] == set()
