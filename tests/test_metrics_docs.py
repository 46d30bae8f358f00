"""Every public metric names the paper and the book Part that uses it (issue: metric library)."""

import importlib
import inspect
import re

import pytest

FAMILIES = ["basic", "collapse", "spectral", "fourier", "flatness", "information", "robustness", "autoencoder",
            "flatness_theory", "information_ablation", "robustness_bounds", "sharpness"]


def public_callables(module):
    for name, obj in vars(module).items():
        if not name.startswith("_") and (inspect.isfunction(obj) or inspect.isclass(obj)) \
                and obj.__module__ == module.__name__:
            yield name, obj


@pytest.mark.parametrize("family", FAMILIES)
def test_public_metrics_cite_the_book_part_that_uses_them(family):
    module = importlib.import_module(f"grokutils.metrics.{family}")
    missing = [name for name, obj in public_callables(module)
               if not re.search(r"\bPart (I|II|III|IV)\b|every Part", inspect.getdoc(obj) or "")]
    assert not missing, f"grokutils.metrics.{family}: docstrings without a book Part: {missing}"


@pytest.mark.parametrize("family", FAMILIES)
def test_metric_modules_name_their_paper(family):
    doc = inspect.getdoc(importlib.import_module(f"grokutils.metrics.{family}")) or ""
    assert re.search(r"\(\d{4}\)|\d{4}\)|Part (I|II|III|IV)|every chapter", doc), family


@pytest.mark.parametrize("name", ["matrix_renyi_entropy", "feature_renyi_entropy"])
def test_renyi_entropies_state_their_eigenvalue_cut_off(name):
    doc = inspect.getdoc(getattr(importlib.import_module("grokutils.metrics.spectral"), name)) or ""
    assert "Cut-off" in doc and "ε" in doc, f"{name}: the docstring must state below which eigenvalue it counts 0"
