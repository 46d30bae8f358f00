"""The book's figure style: one function per kind of figure.

Steps are on a log axis (grokking spans decades of steps); train is drawn
dashed, test solid; ``t_fit`` and ``t_grok`` are marked by vertical lines.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import matplotlib.ticker
import matplotlib.pyplot as plt
import numpy as np

from grokutils.stats import pearson

if TYPE_CHECKING:
    from grokutils.result import Result

#: Minor ticks of the book's log axes: at 2 and 5 times each power of ten. Matplotlib's default (every multiple
#: from 2 to 9) costs a quarter of the time it takes to draw a figure (its tick labels are laid out even when hidden).
LOG_MINOR_SUBS = (2.0, 5.0)

TRAIN_STYLE = {"linestyle": "--", "color": "tab:blue", "label": "train"}
TEST_STYLE = {"linestyle": "-", "color": "tab:red", "label": "test"}


def use_book_style() -> None:
    """Matplotlib defaults shared by every chapter."""
    plt.rcParams.update({"figure.dpi": 110, "axes.grid": True, "grid.alpha": 0.3, "axes.spines.top": False,
                         "axes.spines.right": False, "legend.frameon": False, "font.size": 10})


def log_scale(ax, which: str = "x") -> None:
    """A log scale on the ``which`` (``"x"`` or ``"y"``) axis of ``ax``, minor ticks at :data:`LOG_MINOR_SUBS`."""
    if which not in ("x", "y"):
        raise ValueError(f"which={which!r}: expected 'x' or 'y'.")
    getattr(ax, f"set_{which}scale")("log")
    getattr(ax, f"{which}axis").set_minor_locator(matplotlib.ticker.LogLocator(subs=LOG_MINOR_SUBS))


def _log_steps(ax, steps: np.ndarray) -> np.ndarray:
    """Plot step 0 at 1 on a log axis (the first evaluation is before any step)."""
    log_scale(ax, "x")
    ax.set_xlabel("optimisation step")
    return np.maximum(steps, 1)


def mark_transitions(ax, result: Result) -> None:
    """Vertical lines at ``t_fit`` (train acc ≥ 0.99) and ``t_grok``."""
    for step, name, color in ((result.t_fit, "$t_{fit}$", "tab:blue"), (result.t_grok, "$t_{grok}$", "tab:red")):
        if step is not None:
            ax.axvline(max(step, 1), color=color, alpha=0.4, linewidth=1)
            ax.annotate(name, (max(step, 1), 1.0), xycoords=("data", "axes fraction"), color=color,
                        ha="left", va="top", fontsize=9)


def grokking_panel(result: Result, title: str | None = None, axes: Sequence | None = None):
    """Accuracy, loss and weight norm against step (log axis) for one run."""
    if axes is None:
        fig, axes = plt.subplots(1, 3, figsize=(12, 3.4), constrained_layout=True)
    else:
        fig = axes[0].figure
    steps = _log_steps(axes[0], result.step_array)
    for ax in axes[1:]:
        _log_steps(ax, result.step_array)
    axes[0].plot(steps, result["train_acc"], **TRAIN_STYLE)
    axes[0].plot(steps, result["test_acc"], **TEST_STYLE)
    axes[0].set_ylabel("accuracy")
    axes[0].set_ylim(-0.02, 1.02)
    axes[0].legend(loc="center left")
    axes[1].plot(steps, result["train_loss"], **TRAIN_STYLE)
    axes[1].plot(steps, result["test_loss"], **TEST_STYLE)
    log_scale(axes[1], "y")
    axes[1].set_ylabel(f"{result.config.loss} loss")
    axes[2].plot(steps, result["weight_norm"], color="k")
    axes[2].set_ylabel("weight norm $\\|\\theta\\|_2$")
    for ax in axes:
        mark_transitions(ax, result)
    fig.suptitle(title or result.config.label())
    return fig


def mean_band(results: Sequence[Result], metric: str, ax=None, label: str | None = None, color=None):
    """Mean ± one standard deviation of ``metric`` over runs evaluated at the same steps (seeds)."""
    if ax is None:
        _, ax = plt.subplots(figsize=(5, 3.4), constrained_layout=True)
    steps = results[0].step_array
    if any(not np.array_equal(r.step_array, steps) for r in results):
        raise ValueError("mean_band needs runs evaluated at the same steps (same num_steps and eval_schedule, "
                         "and none stopped early by stop_after_grok).")
    values = np.stack([r[metric] for r in results])
    mean, std = values.mean(0), values.std(0)
    x = _log_steps(ax, steps)
    (line,) = ax.plot(x, mean, label=label, color=color)
    ax.fill_between(x, mean - std, mean + std, color=line.get_color(), alpha=0.2)
    ax.set_ylabel(metric)
    return ax


def sweep_panels(groups: dict[float, Sequence[Result]], metrics: Sequence[str], labels: Sequence[str] | None = None,
                 logy: Sequence[str] = (), title: str | None = None, legend_title: str = "weight decay"):
    """One panel per metric; in each, mean ± sd over seeds of one curve per sweep value
    (e.g. weight decay), coloured from light (small) to dark (large). Part I, Figures 3-4."""
    fig, axes = plt.subplots(1, len(metrics), figsize=(3.6 * len(metrics), 3.3), constrained_layout=True,
                             squeeze=False)
    colors = plt.cm.viridis_r(np.linspace(0.15, 0.95, max(len(groups), 2)))
    for ax, metric, label in zip(axes[0], metrics, labels or metrics):
        for color, (value, results) in zip(colors, groups.items()):
            label_text = f"{value:g}" if isinstance(value, (int, float)) else str(value)
            mean_band(results, metric, ax=ax, label=label_text, color=color)
        ax.set_ylabel(label)
        if metric in logy:
            log_scale(ax, "y")
    axes[0][-1].legend(title=legend_title, fontsize=8, loc="best")
    if title:
        fig.suptitle(title)
    return fig


def representation_snapshot(snapshot: dict, ax=None, title: str | None = None):
    """Train (dots) and test (crosses) points on the class-mean plane, coloured by class
    (Part I, Figure 2); ``snapshot`` is one value of :meth:`Result.snapshots`."""
    if ax is None:
        _, ax = plt.subplots(figsize=(3.6, 3.4), constrained_layout=True)
    cmap = plt.get_cmap("tab10")
    handles = []
    for split, marker, size, alpha in (("train", "o", 10, 0.8), ("test", "x", 14, 0.6)):
        xy = np.asarray(snapshot[f"{split}_xy"])
        ax.scatter(xy[:, 0], xy[:, 1], c=[cmap(int(c) % 10) for c in snapshot[f"{split}_y"]], marker=marker,
                   s=size, alpha=alpha, linewidths=0.8)
        handles.append(plt.Line2D([], [], marker=marker, color="0.4", linestyle="", label=split))
    ax.set_xlabel("class-mean PC 1 (÷ mean ‖h‖)")
    ax.set_ylabel("class-mean PC 2")
    ax.set_title(title or "")
    ax.legend(handles=handles, loc="best", fontsize=8, title="colour = class", title_fontsize=7)
    return ax


def margin_quantiles(snapshots: dict[int, dict], ax=None):
    """Quantile functions of the test margins f_y − max_{j≠y} f_j at several steps (Part I,
    Figure 2); left of 0 the prediction is wrong."""
    if ax is None:
        _, ax = plt.subplots(figsize=(4.2, 3.4), constrained_layout=True)
    colors = plt.cm.viridis(np.linspace(0.1, 0.9, max(len(snapshots), 2)))
    for color, (step, snap) in zip(colors, sorted(snapshots.items())):
        quantiles = np.asarray(snap["test_margin_quantiles"])
        ax.plot(quantiles, np.linspace(0.01, 0.99, len(quantiles)), color=color, label=f"step {step:,}")
    ax.axvline(0, color="k", linewidth=0.8)
    ax.set_xlabel("test margin $f_y - \\max_{j \\neq y} f_j$")
    ax.set_ylabel("fraction of test points below")
    ax.legend(fontsize=8)
    return ax


def fit_and_final_snapshots(run: Result) -> dict[int, dict]:
    """The run's snapshot at its first fit (the first one at or after t_fit; the middle one if it never fits)
    and its last: the two moments of Part I's Figures 2 and 7."""
    snaps = run.snapshots()
    fit = min((s for s in snaps if run.t_fit is not None and s >= run.t_fit), default=sorted(snaps)[len(snaps) // 2])
    return {fit: snaps[fit], max(snaps): snaps[max(snaps)]}


def snapshot_panels(run: Result, title: str = ""):
    """Part I, Figures 2 and 7: the representations at the first fit and at the end, and the test margins from
    the fit on (:func:`representation_snapshot`, :func:`margin_quantiles`); returns the figure."""
    shown = fit_and_final_snapshots(run)
    fit = min(shown)
    fig, axes = plt.subplots(1, 3, figsize=(12, 3.6), constrained_layout=True)
    for ax, (step, snap) in zip(axes, shown.items()):
        representation_snapshot(snap, ax, f"{title}step {step:,}")
    margin_quantiles({s: snap for s, snap in run.snapshots().items() if s >= fit}, axes[2])
    return fig


def bound_and_error(groups: dict[float, Sequence[Result]], title: str | None = None):
    """Theorem 3.2 (Part I): the held-out error bound (solid) and the test error (dashed) of the
    first seed of each weight decay, one panel per weight decay."""
    fig, axes = plt.subplots(1, len(groups), figsize=(2.9 * len(groups), 3.0), constrained_layout=True,
                             sharey=True, squeeze=False)
    for ax, (wd, results) in zip(axes[0], groups.items()):
        result = results[0]
        steps = _log_steps(ax, result.step_array)
        ax.plot(steps, np.minimum(result["margin_bound_test"], 1.0), color="k", label="bound (clipped at 1)")
        ax.plot(steps, 1 - result["test_acc"], **{**TEST_STYLE, "linestyle": "--", "label": "test error"})
        ax.set_title(f"wd {wd:g}, seed {result.config.seed}")
        ax.set_ylim(-0.02, 1.02)
    axes[0][0].set_ylabel("probability of error")
    axes[0][0].legend(fontsize=8)
    if title:
        fig.suptitle(title)
    return fig


def time_scales(samples: dict[str, dict[float, Sequence[float]]], ax=None, xlabel: str = "weight decay λ",
                ylabel: str = "step"):
    """log y against log x for several quantities, one marker per seed and a least-squares line
    each: event times against weight decay (Part I, Theorem 4.3), or the within-class variance
    gap against the training-set size (Theorem 4.1)."""
    if ax is None:
        _, ax = plt.subplots(figsize=(4.6, 3.6), constrained_layout=True)
    for (name, by_value), color in zip(samples.items(), ("tab:blue", "tab:green", "tab:red")):
        xs = [wd for wd, ts in by_value.items() for _ in ts]
        ys = [t for ts in by_value.values() for t in ts]
        if not xs:
            continue
        ax.scatter(xs, ys, color=color, s=14, label=name)
        if len(set(xs)) >= 2:
            slope, intercept = np.polyfit(np.log(xs), np.log(ys), 1)
            grid = np.geomspace(min(xs), max(xs), 20)
            ax.plot(grid, np.exp(intercept) * grid ** slope, color=color, alpha=0.6)
    log_scale(ax, "x")
    log_scale(ax, "y")
    values = sorted({x for by_value in samples.values() for x, ts in by_value.items() if len(ts)})
    if values:  # label the measured values themselves, not log-scale minor ticks that overlap
        ax.set_xticks(values, [f"{v:g}" for v in values])
        ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.legend(fontsize=8)
    return ax


# ----------------------------------------------------------------------------------------------
# Part III: spectral entropy collapse
# ----------------------------------------------------------------------------------------------


def on_common_grid(results: Sequence[Result], metric: str, hold: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """(steps, values): the union of the runs' evaluation steps and one row per run, NaN where a run
    was not evaluated (e.g. after it stopped early). ``hold``: a run that stopped early keeps its last value
    to the end, so that a median over seeds does not jump to the late grokkers as the early ones stop."""
    steps = np.unique(np.concatenate([r.step_array for r in results])) if results else np.zeros(0, dtype=int)
    values = np.full((len(results), steps.size), np.nan)
    for row, result in zip(values, results):
        row[np.searchsorted(steps, result.step_array)] = result[metric]
        finite = np.flatnonzero(np.isfinite(row))
        if hold and result.ended_early and finite.size:
            row[finite[-1] + 1:] = row[finite[-1]]
    return steps, values


def seed_band(results: Sequence[Result], metric: str, ax=None, label: str | None = None, color=None,
              mark_grok: bool = True, logx: bool = True):
    """The mean of ``metric`` over seeds in a band from the lowest to the highest seed, with a dotted
    vertical line at the mean t_grok of the runs that grokked (their count in its legend entry; no
    line when none did).

    Part III, Figures 1, 5 and 9. The band is the seeds' range, not ± one standard deviation: the
    seeds grok at different steps, so a bounded metric (an accuracy) is bimodal around the
    transition and mean ± sd would leave [0, 1]. Unlike :func:`mean_band`, runs may end at different
    steps (an early stop after grokking): each step uses the runs evaluated there. ``logx=False``
    keeps the paper's linear step axis.
    """
    if not results:
        raise ValueError("seed_band needs at least one run.")
    if ax is None:
        _, ax = plt.subplots(figsize=(5, 3.4), constrained_layout=True)
    steps, values = on_common_grid(results, metric)
    mean, low, high = np.nanmean(values, axis=0), np.nanmin(values, axis=0), np.nanmax(values, axis=0)
    if logx:
        x = _log_steps(ax, steps)
    else:
        x = steps
        ax.set_xlabel("optimisation step")
    (line,) = ax.plot(x, mean, label=label, color=color)
    ax.fill_between(x, low, high, color=line.get_color(), alpha=0.2)
    grokked = [r.t_grok for r in results if r.t_grok is not None]
    if mark_grok and grokked:
        ax.axvline(max(float(np.mean(grokked)), 1.0), color=line.get_color(), linestyle=":", linewidth=1.2,
                   label=f"mean $t_{{grok}}$ ({len(grokked)}/{len(results)} grokked)")
    ax.set_ylabel(metric)
    return ax


def entropy_norm_scatter(results: Sequence[Result], ax=None):
    """H̃ against the parameter norm at every evaluation of every run, coloured by test accuracy
    (Part III, claim 1, Figure 4a); the pooled Pearson r in the title."""
    if ax is None:
        _, ax = plt.subplots(figsize=(4.8, 3.6), constrained_layout=True)
    norm = np.concatenate([r["weight_norm"] for r in results])
    entropy = np.concatenate([r["spectral_entropy"] for r in results])
    points = ax.scatter(norm, entropy, c=np.concatenate([r["test_acc"] for r in results]), cmap="viridis",
                        vmin=0, vmax=1, s=8, alpha=0.7)
    ax.figure.colorbar(points, ax=ax, label="test accuracy")
    r = pearson(norm, entropy) if norm.size >= 3 else float("nan")
    ax.set_title(f"Pearson r = {r:.2f} ({len(results)} runs)" if np.isfinite(r) else f"{len(results)} runs")
    ax.set_xlabel("weight norm $\\|\\theta\\|_2$")
    ax.set_ylabel("spectral entropy $\\tilde H$")
    return ax


def forecast_scatter(loso, ax=None):
    """Leave-one-seed-out forecasts of t_grok against the actual t_grok (Part III, claim 4, Figure 4b):
    one dot per forecast, coloured by how many steps before t_grok it was made, a star for the
    forecast at the collapse onset, and the diagonal. ``loso``: a
    :class:`grokutils.forecast.LosoForecast` (from :func:`grokutils.forecast.loso_forecast`)."""
    if ax is None:
        _, ax = plt.subplots(figsize=(4.8, 3.8), constrained_layout=True)
    runs = [r for r in loso.runs if r.steps.size]
    if runs:
        points = ax.scatter(np.concatenate([np.full(r.steps.size, r.t_grok) for r in runs]),
                            np.concatenate([r.predicted for r in runs]),
                            c=np.concatenate([r.t_grok - r.steps for r in runs]), cmap="magma_r", s=10, alpha=0.7)
        ax.figure.colorbar(points, ax=ax, label="steps before $t_{grok}$")
    onsets = [(r.t_grok, r.onset_prediction) for r in loso.runs if r.onset_prediction is not None]
    if onsets:
        ax.scatter(*zip(*onsets), marker="*", s=90, color="tab:blue", edgecolor="k", label="at the collapse onset")
        ax.legend(fontsize=8, loc="upper left")
    actual = [r.t_grok for r in loso.runs]
    if actual:
        low, high = min(actual), max(actual)
        ax.plot([low, high], [low, high], color="k", linewidth=1)
    mape = loso.mape
    ax.set_title(f"MAPE {100 * mape:.1f} %" if mape is not None else "no forecast")
    ax.set_xlabel("actual $t_{grok}$")
    ax.set_ylabel("forecast $t_{grok}$")
    return ax


def architecture_panels(mlp: Sequence[Result], transformer: Sequence[Result], threshold: float | None = None,
                        title: str | None = None):
    """MLP against transformer on the same task (Part III, claim 7, Figure 9): accuracies (train
    dashed, test solid), H̃ with the threshold H̃* as a horizontal line, and the Fourier alignment
    of the embedding (a note when it was not recorded). Mean ± sd over seeds, linear step axis."""
    fig, axes = plt.subplots(1, 3, figsize=(12, 3.4), constrained_layout=True)
    for (name, runs), color in zip((("MLP", mlp), ("transformer", transformer)), ("tab:orange", "tab:purple")):
        seed_band(runs, "train_acc", ax=axes[0], color=color, mark_grok=False, logx=False)
        axes[0].lines[-1].set_linestyle("--")
        seed_band(runs, "test_acc", ax=axes[0], label=name, color=color, logx=False)
        seed_band(runs, "spectral_entropy", ax=axes[1], label=name, color=color, mark_grok=False, logx=False)
        if all("fourier_alignment" in r.history for r in runs):
            seed_band(runs, "fourier_alignment", ax=axes[2], label=name, color=color, mark_grok=False, logx=False)
        else:
            axes[2].text(0.5, 0.5 if name == "MLP" else 0.4, f"{name}: Fourier alignment not recorded",
                         transform=axes[2].transAxes, ha="center", fontsize=8)
    if threshold is not None:
        axes[1].axhline(threshold, color="k", linestyle=":", linewidth=1, label=f"$\\tilde H^*$ = {threshold:.3f}")
    axes[0].set_ylabel("accuracy (train dashed, test solid)")
    axes[0].set_ylim(-0.02, 1.02)
    axes[1].set_ylabel("spectral entropy $\\tilde H$")
    axes[2].set_ylabel("Fourier alignment")
    for ax in axes:
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=8)
    if title:
        fig.suptitle(title)
    return fig


def strip(groups: Mapping[str, Sequence[float]], ax=None, ylabel: str = "", reference: float | None = None,
          band: tuple[float, float] | None = None, reference_label: str = "paper"):
    """One column of dots per named group (each dot a run) with its mean as a bar; an optional reference
    line and band (e.g. the paper's value and interval). Empty groups keep their column, marked "none"."""
    if ax is None:
        _, ax = plt.subplots(figsize=(6.5, 3.6), constrained_layout=True)
    for index, values in enumerate(groups.values()):
        values = np.asarray(list(values), dtype=float)
        if values.size == 0:
            ax.annotate("none", (index, 0.5), xycoords=("data", "axes fraction"), ha="center", color="0.5")
            continue
        offsets = np.linspace(-0.12, 0.12, values.size) if values.size > 1 else np.zeros(1)
        ax.plot(index + offsets, values, "o", color="tab:blue", ms=4, alpha=0.8)
        ax.plot([index - 0.25, index + 0.25], [values.mean()] * 2, color="k", lw=1.5)
    if band is not None:
        ax.axhspan(*band, color="tab:red", alpha=0.12, lw=0)
    if reference is not None:
        ax.axhline(reference, color="tab:red", lw=1, ls="--", label=reference_label)
        ax.legend(fontsize=8)
    ax.set_xticks(range(len(groups)), list(groups), rotation=45, ha="right", fontsize=8)
    ax.set_ylabel(ylabel)
    return ax


def arm_panels(arms: Mapping[str, Sequence[Result]], metrics: Sequence[str], labels: Sequence[str] | None = None,
               logy: Sequence[str] = (), title: str | None = None, logx: bool = True):
    """One panel per metric; in each, one :func:`seed_band` per arm (its name in the legend, the mean t_grok
    of its grokked seeds dotted). Part II, Figures 1, 2 and 4–12."""
    fig, axes = plt.subplots(1, len(metrics), figsize=(3.8 * len(metrics), 3.3), constrained_layout=True,
                             squeeze=False)
    for ax, metric, label in zip(axes[0], metrics, labels or metrics):
        for arm, results in arms.items():
            seed_band(results, metric, ax=ax, label=arm, logx=logx)
        ax.set_ylabel(label)
        if metric in logy:
            log_scale(ax, "y")
    axes[0][-1].legend(fontsize=7, loc="best")
    if title:
        fig.suptitle(title)
    return fig


def interval_bars(labels: Sequence[str], intervals: Sequence[tuple[float, float, float]], groups: Sequence[str] = (),
                  xlabel: str = "", reference: float | None = None, reference_label: str = "", ax=None,
                  xlim: tuple[float, float] | None = None):
    """One horizontal line per label, top to bottom: its (estimate, low, high) as a dot and a bar, coloured by
    ``groups`` (e.g. the Part that champions it), with an optional vertical reference line. Infinite or NaN
    ends are drawn to the axis edge (``xlim`` fixes it) and marked "beyond"."""
    if ax is None:
        _, ax = plt.subplots(figsize=(7, 0.32 * len(labels) + 1.2), constrained_layout=True)
    finite = [v for interval in intervals for v in interval if np.isfinite(v)]
    right = xlim[1] if xlim else (max(finite) * 1.1 if finite else 1.0)
    colours = {g: f"C{i}" for i, g in enumerate(dict.fromkeys(groups))}
    for row, (label, (estimate, low, high)) in enumerate(zip(labels, intervals)):
        y = len(labels) - 1 - row
        colour = colours.get(groups[row], "0.4") if groups else "0.4"
        clipped = [min(v, right) if np.isfinite(v) else right for v in (estimate, low, high)]
        ax.plot(clipped[1:], [y, y], color=colour, lw=2, alpha=0.7)
        ax.plot(clipped[0], y, "o", color=colour, ms=5)
        if not np.isfinite(estimate) or estimate > right:
            ax.annotate("beyond", (right, y), xytext=(-4, 0), textcoords="offset points", ha="right", va="center",
                        fontsize=7, color=colour)
    for group, colour in colours.items():
        ax.plot([], [], "o", color=colour, label=group)
    if reference is not None:
        ax.axvline(reference, color="k", lw=1, ls="--", label=reference_label or None)
    ax.set_yticks(range(len(labels)), list(reversed(labels)), fontsize=8)
    ax.set_xlim(xlim or (0, right))
    ax.set_xlabel(xlabel)
    if colours or reference_label:
        ax.legend(fontsize=8, loc="lower right")
    return ax
