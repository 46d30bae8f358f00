"""grokutils: data, models, training loops and metrics of the grokking book.

Import with a namespace::

    import grokutils as gu
    config = gu.presets.nanda("quick")          # a validated, hashable Config
    result = gu.run(config, gu.store_for("quick"))  # load if stored, else train and store
    gu.plots.grokking_panel(result)
"""

__version__ = "0.1.0"

from grokutils import (bound_checks, cells, claims, config, data, exercises, explorer, forecast,  # noqa: E402
                       glossary, grokking, intervention, metrics, models, monitor, pages, part1, part2, part3, part4,
                       part5, plots, presets, probes, report, run_explorer, runs, stats, sweep, train, verdicts)
from grokutils.config import Config  # noqa: E402
from grokutils.result import Result  # noqa: E402
from grokutils.runs import ResultStore, run, run_sweep, store_for  # noqa: E402

__all__ = ["Config", "Result", "ResultStore", "__version__", "bound_checks", "cells", "claims", "config", "data",
           "exercises", "explorer", "forecast", "glossary", "grokking", "intervention", "metrics", "models", "monitor",
           "pages", "part1", "part2", "part3", "part4", "part5", "plots", "presets", "probes", "report", "run",
           "run_explorer", "run_sweep", "runs", "stats", "store_for", "sweep", "train", "verdicts"]
