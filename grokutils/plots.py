"""The book's figure style: one function per kind of figure.

Steps are on a log axis (grokking spans decades of steps); train is drawn
dashed, test solid; ``t_fit`` and ``t_grok`` are marked by vertical lines.
"""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np

from grokutils.result import Result

TRAIN_STYLE = {"linestyle": "--", "color": "tab:blue", "label": "train"}
TEST_STYLE = {"linestyle": "-", "color": "tab:red", "label": "test"}


def use_book_style() -> None:
    """Matplotlib defaults shared by every chapter."""
    plt.rcParams.update({"figure.dpi": 110, "axes.grid": True, "grid.alpha": 0.3, "axes.spines.top": False,
                         "axes.spines.right": False, "legend.frameon": False, "font.size": 10})


def _log_steps(ax, steps: np.ndarray) -> np.ndarray:
    """Plot step 0 at 1 on a log axis (the first evaluation is before any step)."""
    ax.set_xscale("log")
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
    axes[1].set_yscale("log")
    axes[1].set_ylabel(f"{result.config.loss} loss")
    axes[2].plot(steps, result["weight_norm"], color="k")
    axes[2].set_ylabel("weight norm $\\|\\theta\\|_2$")
    for ax in axes:
        mark_transitions(ax, result)
    fig.suptitle(title or result.config.label())
    return fig


def metric_curves(results: Sequence[Result], metric: str, labels: Sequence[str] | None = None, ax=None,
                  logy: bool = False):
    """One curve of ``metric`` per run (e.g. one per weight decay)."""
    if ax is None:
        _, ax = plt.subplots(figsize=(5, 3.4), constrained_layout=True)
    labels = labels or [r.config.label() for r in results]
    for result, label in zip(results, labels):
        ax.plot(_log_steps(ax, result.step_array), result[metric], label=label)
    if logy:
        ax.set_yscale("log")
    ax.set_ylabel(metric)
    ax.legend()
    return ax


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
            ax.set_yscale("log")
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
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.legend(fontsize=8)
    return ax
