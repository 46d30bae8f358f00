"""Part I tables: per weight decay (or λ, or n, or architecture), as the pages print them."""

from __future__ import annotations

import math

import numpy as np

from grokutils import cells
from grokutils.part1.analysis import (bound_check, events, ib_check, slope_matches, spearman_over_time,
                                      time_scale_slopes)
from grokutils.part1.paper import SLOPE_PREDICTIONS
from grokutils.report import Markdown, markdown_table
from grokutils.result import Result


def events_table(groups: dict[float, list[Result]], key: str = "weight decay") -> Markdown:
    """Per weight decay (or whatever ``key`` names the groups by, e.g. λ): runs that grok, t_fit,
    t_RNC1, t_grok (mean ± sd over seeds), test accuracy at the fit and at the end."""
    rows = []
    for wd, results in groups.items():
        ev = [events(r) for r in results]
        rows.append((wd, f"{sum(e.groks for e in ev)} / {len(ev)}", cells.mean_sd([e.t_fit for e in ev]),
                     cells.mean_sd([e.t_rnc1 for e in ev]), cells.mean_sd([e.t_grok for e in ev]),
                     cells.mean([e.test_acc_at_fit for e in ev]), cells.mean([e.final_test_acc for e in ev])))
    return markdown_table((key, "grok", "t_fit", "t_RNC1", "t_grok", "test acc at t_fit",
                           "final test acc"), rows)


def bound_table(groups: dict[float, list[Result]]) -> Markdown:
    """Theorem 3.2 per weight decay: share of checkpoints where bound ≥ test error, the smallest
    gap bound − error, and the correlation over time (means over seeds)."""
    rows = []
    for wd, results in groups.items():
        checks = [bound_check(r) for r in results]
        rows.append((wd, f"{np.mean([c['holds'] for c in checks]):.1%}",
                     f"{min(c['min_bound'] for c in checks):.3f}", f"{min(c['min_gap'] for c in checks):.3f}",
                     f"{np.nanmean([c['correlation'] for c in checks]):.2f}"))
    return markdown_table(("weight decay", "bound ≥ test error", "lowest bound", "smallest gap bound − error",
                           "correlation with test error"), rows)


def ib_table(groups: dict[float, list[Result]]) -> Markdown:
    """Theorem 3.4 and Proposition 3.3 per weight decay (means over seeds; see :func:`ib_check`)."""
    rows = []
    for wd, results in groups.items():
        checks = [ib_check(r) for r in results]
        rows.append((wd, f"{np.nanmean([c['bound_tracks_rnc1'] for c in checks]):.2f}",
                     f"{np.mean([c['violations'] for c in checks]):.1%}",
                     f"{np.mean([c['prop33_violations'] for c in checks]):.1%}"))
    return markdown_table(("weight decay", "Spearman(log-det bound, RNC1) after t_fit",
                           "estimate above the bound", "Prop. 3.3 violated"), rows)


def slopes_table(groups: dict[float, list[Result]]) -> Markdown:
    """Theorem 4.3: measured slope of log t vs log λ with its 95 % bootstrap interval, the
    theorem's prediction, and whether they agree (the interval contains the prediction)."""
    rows = []
    for name, slope in time_scale_slopes(groups).items():
        measured = "—" if slope is None else f"{slope[0]:.2f} [{slope[1]:.2f}, {slope[2]:.2f}]"
        agreement = slope_matches(name, slope)
        agrees = "—" if slope is None else {True: "yes", False: "no", None: "cannot tell (the interval holds both)"}[
            agreement]
        rows.append((name, measured, f"{SLOPE_PREDICTIONS[name]:g}", agrees))
    return markdown_table(("time", "slope of log t vs log λ [95 % CI]", "Theorem 4.3", "agrees"), rows)


def concentration_table(groups: dict[int, list[Result]]) -> Markdown:
    """Per n: final train and test accuracy, V_train, V_test, gap and C(h)/(s√n) (means over seeds)."""
    rows = []
    for n, results in groups.items():
        def final(metric):
            return np.mean([r[metric][-1] for r in results])
        rows.append((n, len(results), f"{final('train_acc'):.3f}", f"{final('test_acc'):.3f}",
                     f"{final('within_train'):.4f}", f"{final('within_test'):.4f}", f"{final('within_gap'):.4f}",
                     f"{np.mean([r['complexity_over_scale'][-1] / math.sqrt(n) for r in results]):.3g}"))
    return markdown_table(("n", "seeds", "train acc", "test acc", "V train", "V test", "gap", "C(h)/(s√n)"), rows)


def architecture_table(results: dict[str, Result]) -> Markdown:
    """Per architecture: t_fit, t_grok, whether it groks, test accuracy at t_fit and at the end,
    RNC1 at t_fit and at the end, and the Spearman correlations of RNC1 and NC1 with test accuracy."""
    rows = []
    for name, result in results.items():
        ev = events(result)
        at_fit = result.steps.index(ev.t_fit) if ev.t_fit is not None else None
        rnc1_fit = "—" if at_fit is None else f"{result['rnc1'][at_fit]:.3f}"
        rows.append((name, ev.t_fit or "—", ev.t_grok or "—", "yes" if ev.groks else "no",
                     cells.mean([ev.test_acc_at_fit]), f"{ev.final_test_acc:.3f}", rnc1_fit,
                     f"{result['rnc1'][-1]:.3f}", f"{spearman_over_time(result, 'rnc1'):.2f}",
                     f"{spearman_over_time(result, 'nc1'):.2f}"))
    return markdown_table(("model", "t_fit", "t_grok", "groks", "test acc at t_fit", "final test acc",
                           "RNC1 at t_fit", "final RNC1", "Spearman(RNC1, test acc)", "Spearman(NC1, test acc)"),
                          rows)
