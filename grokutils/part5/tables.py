"""Part V's numbers as tables (what the pages display)."""

from __future__ import annotations

import math
import re
from collections.abc import Sequence

from grokutils import plots
from grokutils.indicators import INDICATORS
from grokutils.part5 import paper
from grokutils.part5.leaderboard import Grid, Row, grokking_runs, indicator_of, quiet_controls
from grokutils.report import Markdown, markdown_table


def champion(key: str) -> str:
    """The book Part whose paper champions indicator value ``key`` ("—" for the fit)."""
    if key == paper.FIT:
        return "—"
    found = re.search(r"Part (I{1,3}V?|IV|V)\b", INDICATORS[indicator_of(key)].description)
    return found.group(1) if found else "—"


def _interval(values: tuple[float, float, float], percent: bool = False) -> str:
    median, low, high = values
    if math.isnan(median):
        return "—"

    def show(v: float) -> str:
        if math.isinf(v):
            return "∞"
        return f"{100 * v:.0f} %" if percent else f"{v:.2f}"

    return f"{show(median)} [{show(low)}, {show(high)}]"


def leaderboard_table(rows: Sequence[Row]) -> Markdown:
    """The leaderboard: one row per indicator value, ranked (:func:`grokutils.part5.leaderboard.leaderboard`)."""
    lines = []
    for rank, r in enumerate(rows, 1):
        better = "—" if r.better_than_fit is None else f"p = {r.better_than_fit:.2g}"
        cost = "—" if math.isnan(r.cost) else f"{1000 * r.cost:.1f}"
        lines.append((rank, f"`{r.key}`", champion(r.key), f"{r.transitions}/{r.runs}", _interval(r.position),
                      f"{r.false_alarms}/{r.controls}", _interval(r.error, percent=True), better, cost))
    return markdown_table(("rank", "indicator", "Part", "transitions", "position: median [quartiles]",
                           "false alarms", "forecast error: median [95 %]", "better than the fit", "ms per evaluation"),
                          lines)


def _span(steps: Sequence[int]) -> str:
    return f"{min(steps):,}–{max(steps):,}" if steps else "—"


def runs_table(grid: Grid) -> Markdown:
    """The grid per task: grokking runs (of how many), t_fit and t_grok, controls that stayed controls."""
    rows = []
    for task, arms in grid.items():
        grokked = grokking_runs(arms["grokking"])
        rows.append((task, f"{len(grokked)}/{len(arms['grokking'])}", _span([r.t_fit for r in grokked]),
                     _span([r.t_grok for r in grokked]),
                     f"{len(quiet_controls(arms['control']))}/{len(arms['control'])}"))
    return markdown_table(("task", "grokked", "t_fit", "t_grok", "controls that fit and never grok"), rows)


def leaderboard_figure(rows: Sequence[Row], xlim: tuple[float, float] = (0.0, 1.0)):
    """The leaderboard at a glance: each indicator's median forecast error of t_grok with its 95 % interval, best
    on top, coloured by the Part that champions it; the dashed line is the fit's own median error."""
    fit = next((r for r in rows if r.key == paper.FIT), None)
    ax = plots.interval_bars([r.key for r in rows], [r.error for r in rows],
                             [f"Part {champion(r.key)}" if champion(r.key) != "—" else "reference" for r in rows],
                             xlabel="forecast error of t_grok, |forecast − t_grok| / t_grok (median, 95 % interval)",
                             reference=fit.error[0] if fit and math.isfinite(fit.error[0]) else None,
                             reference_label="the fit's error", xlim=xlim)
    return ax.figure
