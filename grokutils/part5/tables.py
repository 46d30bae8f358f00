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
from grokutils.part5.foresight import (HORIZONS, PLACEBO, ForecastCheck, foresight_board,
                                       matched_false_alarms)
from grokutils.part5.leaderboard import Grid, Row, grokking_runs, indicator_of, quiet_controls, transition
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


def _p(value: float | None) -> str:
    return "—" if value is None else f"p = {value:.2g}"


def leaderboard_table(rows: Sequence[Row], placebo: ForecastCheck | None = None,
                      holm: dict[str, float | None] | None = None) -> Markdown:
    """The leaderboard: one row per indicator value, ranked (:func:`grokutils.part5.leaderboard.leaderboard`);
    with ``placebo`` (:func:`grokutils.part5.foresight.placebo_check`) a last, unranked row for it, and with
    ``holm`` (:func:`grokutils.part5.foresight.board_holm`) a column of Holm-adjusted p-values (exploratory)."""
    lines = []
    for rank, r in enumerate(rows, 1):
        cost = "—" if math.isnan(r.cost) else f"{1000 * r.cost:.1f}"
        lines.append((rank, f"`{r.key}`", champion(r.key), f"{r.transitions}/{r.runs}", _interval(r.position),
                      f"{r.false_alarms}/{r.controls}", _interval(r.error, percent=True), _p(r.better_than_fit),
                      *(() if holm is None else (_p(holm.get(r.key)),)), cost))
    if placebo is not None:
        lines.append(("—", placebo.key, "—", f"{placebo.forecasts}/{placebo.runs}", "—", "—",
                      _interval(placebo.error, percent=True), _p(placebo.p_better),
                      *(() if holm is None else ("—",)), "0"))
    return markdown_table(("rank", "indicator", "Part", "transitions", "position: median [quartiles]",
                           "false alarms", "forecast error: median [95 %]", "better than the fit",
                           *(() if holm is None else ("Holm-adjusted",)), "ms per evaluation"), lines)


def placebo_verdict(placebo: ForecastCheck) -> Markdown:
    """Whether the board's "better than the fit" column can be read as evidence, from the placebo's check."""
    error = _interval(placebo.error, percent=True)
    if placebo.p_better is not None and placebo.p_better < paper.BETTER_THAN_FIT:
        return Markdown(f"**\"Better than the fit\" is uninformative on this grid.** The step count, which knows "
                        f"nothing of the network, forecasts t_grok to {error} and beats the fit at "
                        f"p = {placebo.p_better:.2g}, under the same fixed rules. A test a placebo passes holds by "
                        "construction (rule 4 of the conventions): that column cannot show that an indicator "
                        "carries information about grokking.")
    return Markdown(f"The step count (placebo) forecasts t_grok to {error} and does not beat the fit "
                    f"({_p(placebo.p_better)}): the \"better than the fit\" column is informative on this grid.")


def lead_table(grid: Grid, keys: Sequence[str]) -> Markdown:
    """Per indicator value and task: the median lead t_grok − transition over the task's grokking runs in which it
    transitions, with the seed spread (standard deviation over those runs) and their number."""
    lines = []
    for key in keys:
        cells = []
        for arms in grid.values():
            runs = grokking_runs(arms["grokking"])
            steps = [(r, transition(r, key)) for r in runs]
            leads = [r.t_grok - step for r, step in steps if step is not None]
            if not leads:
                cells.append("—")
                continue
            spread = f"{np.std(leads, ddof=1):,.0f}" if len(leads) > 1 else "—"
            cells.append(f"{np.median(leads):+,.0f} (SD {spread}; {len(leads)}/{len(runs)})")
        lines.append((f"`{key}`", champion(key), *cells))
    return markdown_table(("indicator", "Part", *(f"{task}: lead in steps" for task in grid)), lines)


def foresight_table(grid: Grid, horizons: Sequence[float] = HORIZONS) -> Markdown:
    """Forecasts from histories cut before grokking (:func:`grokutils.part5.foresight.foresight_board`), one
    column pair per horizon ρ, rows in the order of the first horizon's board."""
    boards = [{c.key: c for c in foresight_board(grid, h)} for h in horizons]
    lines = []
    for key, first in boards[0].items():
        cells = []
        for board in boards:
            check = board[key]
            cells += [f"{check.forecasts}/{check.runs}", _interval(check.error, percent=True),
                      "—" if check.p_better is None else f"{check.p_better:.2g} ({check.p_holm:.2g})"]
        lines.append((f"`{key}`" if key != PLACEBO else key, *cells))
    header = [part for h in horizons for part in (f"ρ = {h}: forecasts", f"ρ = {h}: error, median [95 %]",
                                                   f"ρ = {h}: p better than the fit (Holm)")]
    return markdown_table(("indicator", *header), lines)


def alarms_table(grid: Grid, keys: Sequence[str]) -> Markdown:
    """False alarms of ``keys`` under the fixed rule and in controls matched to the grokking runs
    (:func:`grokutils.part5.foresight.matched_false_alarms`)."""
    lines = []
    for key in keys:
        m = matched_false_alarms(grid, key)
        lines.append((f"`{key}`", champion(key), f"{m.fixed}/{m.controls}", f"{m.matched_window}/{m.controls}",
                      f"{m.matched_direction}/{m.controls}"))
    return markdown_table(("indicator", "Part", "false alarms (fixed rule)", "controls cut to the grokking runs' "
                           "length", "… and moving the grokking runs' way"), lines)


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


def leaderboard_figure(rows: Sequence[Row], xlim: tuple[float, float] = (0.0, 1.0),
                       placebo: ForecastCheck | None = None):
    """The leaderboard at a glance: each indicator's median forecast error of t_grok with its 95 % interval, best
    on top, coloured by the Part that champions it; the dashed line is the fit's own median error. With
    ``placebo``, the step count's bar at its place among them."""
    fit = next((r for r in rows if r.key == paper.FIT), None)
    bars = [(r.key, r.error, f"Part {champion(r.key)}" if champion(r.key) != "—" else "reference") for r in rows]
    if placebo is not None:
        bars = sorted(bars + [(placebo.key, placebo.error, "placebo")],
                      key=lambda bar: math.inf if math.isnan(bar[1][0]) else bar[1][0])
    ax = plots.interval_bars([bar[0] for bar in bars], [bar[1] for bar in bars], [bar[2] for bar in bars],
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
