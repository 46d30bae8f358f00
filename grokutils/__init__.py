"""grokutils: data, models, training loops and metrics of the grokking book.

Import with a namespace::

    import grokutils as gu
    config = gu.presets.nanda("quick")          # a validated, hashable Config
    result = gu.run(config, gu.store_for("quick"))  # load if stored, else train and store
    gu.plots.grokking_panel(result)
"""

__version__ = "0.1.0"

import importlib

#: The subpackages and modules ``gu.<name>`` reaches, imported on first use (PEP 562): a page that reads stored
#: runs and plots them does not pay for the exercises, the explorers or the other parts.
_MODULES = frozenset({"bound_checks", "cells", "claims", "config", "data", "exercises", "explorer", "forecast",
                      "glossary", "grokking", "intervention", "metrics", "models", "monitor", "pages", "part1", "part2",
                      "part3", "part4", "part5", "plots", "presets", "probes", "report", "run_explorer", "runs",
                      "stats", "sweep", "train", "verdicts"})
#: The names ``gu.<name>`` reaches inside a module.
_NAMES = {"Config": "config", "Result": "result", "ResultStore": "runs", "run": "runs", "run_sweep": "runs",
          "store_for": "runs"}

__all__ = sorted(["__version__", *_MODULES, *_NAMES])


def __getattr__(name: str):
    if name in _MODULES:
        return importlib.import_module(f"grokutils.{name}")
    if name in _NAMES:
        value = getattr(importlib.import_module(f"grokutils.{_NAMES[name]}"), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'grokutils' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
