"""Part V's numbers as tables (what the pages display)."""

from __future__ import annotations

import math
import re
from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np

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


def monitor_table(monitor, t_fit: int | None, t_grok: int | None, loop_seconds: float) -> Markdown:
    """One plain-loop run's indicators (a :class:`grokutils.signal_monitor.SignalMonitor`): transition, lead over
    t_grok, cost per evaluation and its share of the loop's time (the indicator alone)."""
    summary, costs = monitor.summary(t_fit, t_grok), monitor.costs()
    rows = []
    for key, found in summary.items():
        name = indicator_of(key)
        seconds = sum(monitor.seconds[name])
        step = "—" if found["transition"] is None else f"{found['transition']:,}"
        lead = "—" if math.isnan(found["lead"]) else f"{found['lead']:+,.0f}"
        rows.append((f"`{key}`", champion(key), step, lead, f"{1000 * costs[name]:.1f}",
                     f"{100 * seconds / loop_seconds:.1f} %"))
    return markdown_table(("indicator", "Part", "transition", "lead over t_grok", "ms per evaluation",
                           "share of the loop's time"), rows)


def monitor_figure(monitor, t_fit: int | None, t_grok: int | None, columns: int = 6):
    """Every recorded indicator of a monitor, min–max scaled, with its transition (dotted) and t_grok (dashed)."""
    keys = list(monitor.history)
    rows = -(-len(keys) // columns)
    fig, axes = plt.subplots(rows, columns, figsize=(2.2 * columns, 1.7 * rows), sharex=True, constrained_layout=True)
    for ax, key in zip(np.ravel(axes), keys):
        values = np.asarray(monitor.history[key], dtype=float)
        span = np.nanmax(values) - np.nanmin(values) if np.isfinite(values).any() else 0.0
        ax.plot(monitor.steps, (values - np.nanmin(values)) / span if span > 0 else values * 0, color="C0")
        step = monitor.transition(key, t_fit)
        if step is not None:
            ax.axvline(step, color="C1", ls=":", lw=1.2)
        if t_grok is not None:
            ax.axvline(t_grok, color="k", ls="--", lw=0.8)
        ax.set_title(key, fontsize=8)
        ax.tick_params(labelsize=6)
    for ax in np.ravel(axes)[len(keys):]:
        ax.axis("off")
    return fig
