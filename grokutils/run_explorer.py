"""Interactive explorer of stored runs for Parts II–V (JupyterLab), and its static version for the
rendered book. Part I has its own (:mod:`grokutils.explorer`: representation snapshots).

The input is what every part's loader returns, arms of runs: ``{label: [Result, ...]}``, one
:class:`~grokutils.result.Result` per seed, and the names of the metrics to offer, as the runs store them
(``Result.history``). Nested arms (``{task: {arm: [...]}}``, Parts II and V) become one level with
:func:`flatten`. Everything is read from the runs; nothing is trained.

- :func:`run_explorer`: an ipywidgets panel: pick an arm, a seed (or every seed: each thin, their median
  thick) and one or more metrics; each metric is drawn against the optimisation step (log axis) with t_fit
  (train accuracy ≥ 0.99) and t_grok (test accuracy ≥ the run's threshold) marked, and the train and test
  accuracy on a twin axis of the same panel. :func:`run_figure` draws that figure without the widget.
- :func:`static_panels`: the rendered book's equivalent: small multiples, one panel per metric (test accuracy
  first), every arm overlaid as the median over its seeds in a band from the lowest to the highest seed, the
  median t_grok of its grokked seeds dotted. In medians and bands a run that stopped early after grokking
  (``Config.stop_after_grok``: Parts III–V) holds its last value, so that they do not jump to the seeds that
  grok late as the others stop.

The metrics each part offers (:data:`PART_METRICS`), by the names the runs record:

- Part II (Tan & Huang 2023; ``metrics=("robustness", "sharpness", "robustness_bounds")``):
  ``weight_norm``, ``perturbation_error`` (Figure 2 a-b), ``sharpness`` (Hutchinson's trace of the loss
  Hessian, Figure 2 c-d), ``mid`` and ``ed`` (matrix mutual information and entropy difference of the
  first-layer and output Grams, Figures 8–11), ``pmi`` and ``pe``, and on a + b mod 113 ``abelian_test``
  (Figure 5).
- Part III ("Spectral entropy collapse"; ``metrics=("spectral", "fourier")``): ``spectral_entropy`` (the
  normalised spectral entropy H̃ on the training probe), ``spectral_entropy_test``, ``effective_rank``,
  ``weight_norm`` (not the driver, claim 3) and ``fourier_alignment`` (claim 7).
- Part IV (Han et al. 2025; ``metrics=("flatness",)``): ``ncc`` (Definition 3.1's sum form), ``ncc_mean``
  (the authors' averaged form), ``relative_flatness`` (κ, Definition 3.2), ``flatness_bound`` (‖W‖²_F · Tr H,
  Lemma A.2), ``angle_deviation`` (Figure 3) and ``weight_norm``.
- Part V (``metrics=("signals",)``): every value of :data:`grokutils.indicators.INDICATORS` (``weight_norm``,
  ``rnc1``, ``nc1``, ``nc2``, ``ncc``, ``ncc_mean``, ``spectral_entropy``, ``effective_rank``,
  ``relative_flatness``, ``flatness_bound``, ``sharpness``, ``perturbation_error``, ``pmi``, ``pe``, ``mid``,
  ``ed``, ``nhsic_*``, ``mi_*``, ``fourier_alignment``, ``abelian_agreement``) that the grid's runs record
  (:func:`grokutils.part5.leaderboard.indicator_keys`).

A metric need not be recorded by every arm (the abelian test exists on a + b only, the Fourier alignment on
modular tasks): the widget offers each arm the metrics its runs record, and a static panel overlays the arms
that record its metric. A metric recorded by no run is an error that lists the metrics that are recorded.
"""

from __future__ import annotations

import base64
import io
import warnings
from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np

from grokutils.indicators import INDICATORS
from grokutils.plots import TEST_STYLE, TRAIN_STYLE, log_scale, on_common_grid
from grokutils.result import Result

#: The widget's seed option that shows every seed of the arm (thin) and their median (thick).
ALL_SEEDS = "all seeds"

#: The metrics each part's explorer offers (see the module's docstring for what they measure).
PART_METRICS: dict[str, tuple[str, ...]] = {
    "II": ("weight_norm", "perturbation_error", "sharpness", "mid", "ed", "pmi", "pe", "abelian_test"),
    "III": ("spectral_entropy", "spectral_entropy_test", "effective_rank", "weight_norm", "fourier_alignment"),
    "IV": ("ncc", "ncc_mean", "relative_flatness", "flatness_bound", "angle_deviation", "weight_norm"),
    "V": tuple(key for indicator in INDICATORS.values() for key in indicator.keys),
}

#: Axis labels of the metrics the explorers offer (any other metric is labelled by its name).
METRIC_LABELS: dict[str, str] = {
    "train_acc": "train accuracy", "test_acc": "test accuracy", "train_loss": "train loss", "test_loss": "test loss",
    "weight_norm": "weight norm ‖θ‖₂", "perturbation_error": "perturbation error",
    "sharpness": "sharpness (Tr of the loss Hessian)", "mid": "MID", "ed": "ED", "pmi": "PMI", "pe": "PE",
    "abelian_test": "abelian test (test pairs)", "abelian_agreement": "abelian agreement",
    "spectral_entropy": "spectral entropy H̃ (train probe)", "spectral_entropy_test": "H̃ (test probe)",
    "effective_rank": "effective rank", "fourier_alignment": "Fourier alignment",
    "ncc": "NCC (sum form)", "ncc_mean": "NCC (averaged form)", "relative_flatness": "relative flatness κ",
    "flatness_bound": "bound on κ (Frobenius ‖W‖² · Tr H)", "angle_deviation": "angle to the simplex (rad)",
    "rnc1": "RNC1", "nc1": "NC1", "nc2": "NC2", "nhsic_zx": "nHSIC(Z; X)", "nhsic_zy": "nHSIC(Z; Y)",
    "nhsic_redundancy": "nHSIC redundancy", "mi_zx": "I(Z; X)", "mi_zy": "I(Z; Y)",
    "mi_redundancy": "I(Z; X) − I(Z; Y)",
}

Arms = Mapping[str, Sequence[Result]]


def label(metric: str) -> str:
    """The axis label of ``metric`` (:data:`METRIC_LABELS`, else its name)."""
    return METRIC_LABELS.get(metric, metric)


def flatten(nested: Mapping[str, Mapping[str, Sequence[Result]]], outer_names: Mapping[str, str] | None = None,
            inner_names: Mapping[str, str] | None = None, separator: str = ": ") -> dict[str, list[Result]]:
    """``{task: {arm: runs}}`` (Parts II and V's loaders) as ``{"task: arm": runs}``, the names taken from
    ``outer_names`` and ``inner_names`` where they have one."""
    outer_names, inner_names = outer_names or {}, inner_names or {}
    return {f"{outer_names.get(outer, outer)}{separator}{inner_names.get(inner, inner)}": list(runs)
            for outer, arms in nested.items() for inner, runs in arms.items()}


def recorded(arms: Arms) -> list[str]:
    """Every metric that some run of ``arms`` records, sorted."""
    return sorted({name for runs in arms.values() for run in runs for name in run.history})


def _records(runs: Sequence[Result], metric: str) -> bool:
    return any(metric in run.history for run in runs)


def check_arms(arms: Arms, metrics: Sequence[str] = ()) -> dict[str, list[Result]]:
    """``arms`` as ``{label: [Result, ...]}`` after checking it: a non-empty mapping of string labels to
    non-empty sequences of :class:`~grokutils.result.Result`, and each of ``metrics`` recorded by at least
    one run. ``ValueError`` says what is wrong (for an unknown metric: which metrics the runs record)."""
    if not isinstance(arms, Mapping):
        raise ValueError(f"arms must be a dict {{label: [Result, ...]}}, got {type(arms).__name__}.")
    if not arms:
        raise ValueError("arms is empty: the explorer needs at least one arm {label: [Result, ...]} "
                         "(a part's loader returns them, e.g. grokutils.part3.load_intervention(profile)).")
    checked = {}
    for name, runs in arms.items():
        if not isinstance(name, str):
            raise ValueError(f"arm labels must be strings, got {name!r} ({type(name).__name__}).")
        if isinstance(runs, Result) or not isinstance(runs, Sequence):
            raise ValueError(f"arm {name!r} must be a list of Result (one per seed), got {type(runs).__name__}.")
        if not runs:
            raise ValueError(f"arm {name!r} has no runs; every arm needs at least one Result.")
        bad = [type(run).__name__ for run in runs if not isinstance(run, Result)]
        if bad:
            raise ValueError(f"arm {name!r} holds {bad[0]}, not Result; every arm is a list of Result.")
        checked[name] = list(runs)
    if isinstance(metrics, str):
        raise ValueError(f"metrics must be a list of metric names, got the string {metrics!r}; "
                         f"write [{metrics!r}].")
    unknown = [m for m in metrics if not any(_records(runs, m) for runs in checked.values())]
    if unknown:
        raise ValueError(f"metric(s) {unknown} recorded by no run of these arms; they record: "
                         f"{', '.join(recorded(checked))}.")
    return checked


def _check_metrics(metrics: Sequence[str]) -> list[str]:
    if isinstance(metrics, str) or not metrics:
        raise ValueError(f"metrics must be a non-empty list of metric names, got {metrics!r}.")
    return list(metrics)


def _grid(runs: Sequence[Result], metric: str, hold: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """:func:`grokutils.plots.on_common_grid` over the runs that record ``metric``."""
    return on_common_grid([run for run in runs if metric in run.history], metric, hold)


def _median_band(values: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    with warnings.catch_warnings():  # a step where no run has a value is NaN, as it should be
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.nanmedian(values, axis=0), np.nanmin(values, axis=0), np.nanmax(values, axis=0)


def _median_step(steps: Sequence[int | None]) -> tuple[float | None, int]:
    reached = [s for s in steps if s is not None]
    return (float(np.median(reached)), len(reached)) if reached else (None, 0)


def _x(steps: np.ndarray) -> np.ndarray:
    return np.maximum(steps, 1)  # step 0 (the first evaluation) at 1 on the log axis


def _mark(ax, step: float | None, name: str, color: str, note: str = "") -> None:
    if step is None:
        return
    ax.axvline(max(step, 1.0), color=color, alpha=0.6, linewidth=1.1, linestyle=":")
    ax.annotate(name + note, (max(step, 1.0), 1.0), xycoords=("data", "axes fraction"), color=color, ha="left",
                va="top", fontsize=8)


def _seed_options(runs: Sequence[Result]) -> list[tuple[str, object]]:
    return [(ALL_SEEDS, ALL_SEEDS)] + [(f"seed {run.config.seed}", index) for index, run in enumerate(runs)]


def run_figure(arms: Arms, arm: str, seed: int | str = ALL_SEEDS, metrics: Sequence[str] = ("weight_norm",),
               logy: bool = False):
    """The widget's figure: one panel per metric of arm ``arm``, against the step (log axis). ``seed``: the
    index of a run in the arm (its position, not its seed number) or :data:`ALL_SEEDS` (each seed thin, the
    median thick). t_fit and t_grok are marked (with every seed: the median over the seeds that reach them,
    with their count); the train (dashed) and test (solid) accuracy are on each panel's twin axis (with every
    seed: their medians). ``logy``: a log scale for the metrics."""
    arms = check_arms(arms, _check_metrics(metrics))
    if arm not in arms:
        raise ValueError(f"arm={arm!r} is not one of the arms; expected one of {list(arms)}.")
    runs = arms[arm]
    if seed != ALL_SEEDS and (isinstance(seed, bool) or not isinstance(seed, (int, np.integer))
                              or not 0 <= seed < len(runs)):
        raise ValueError(f"seed={seed!r}: expected {ALL_SEEDS!r} or the index of a run of arm {arm!r}, "
                         f"0 to {len(runs) - 1}.")
    shown = runs if seed == ALL_SEEDS else [runs[seed]]
    columns = min(2, len(metrics))
    rows = -(-len(metrics) // columns)
    fig, axes = plt.subplots(rows, columns, figsize=(5.6 * columns, 3.4 * rows), constrained_layout=True,
                             squeeze=False)
    for ax in axes.flat[len(metrics):]:
        ax.set_visible(False)
    for ax, metric in zip(axes.flat, metrics):
        _metric_panel(ax, shown, metric, logy)
    if seed == ALL_SEEDS:
        who = f"{len(runs)} seed{'s' * (len(runs) > 1)}" + (", their median thick" if len(runs) > 1 else "")
        setup = runs[0].config.label().removesuffix(f"-s{runs[0].config.seed}")
    else:
        who, setup = f"seed {runs[seed].config.seed}", runs[seed].config.label()
    fig.suptitle(f"{arm} ({who}): {setup}", fontsize=10)
    handles = [plt.Line2D([], [], color="k", linewidth=1.5, label="metric (left axis)"),
               plt.Line2D([], [], **{**TRAIN_STYLE, "alpha": 0.6, "label": "train accuracy (right axis)"}),
               plt.Line2D([], [], **{**TEST_STYLE, "alpha": 0.6, "label": "test accuracy (right axis)"}),
               plt.Line2D([], [], color="tab:blue", linestyle=":", label="$t_{fit}$ (train ≥ 0.99)"),
               plt.Line2D([], [], color="tab:red", linestyle=":", label="$t_{grok}$ (test ≥ threshold)")]
    if len(shown) > 1:
        handles[0].set_label("each seed (thin) and their median (left axis)")
        handles[1:3] = [plt.Line2D([], [], **{**h_style, "alpha": 0.6, "label": f"median {name} accuracy"})
                        for h_style, name in ((TRAIN_STYLE, "train"), (TEST_STYLE, "test"))]
        handles[3:] = [plt.Line2D([], [], color=h.get_color(), linestyle=":",
                                  label=h.get_label() + ", median over the seeds that reach it") for h in handles[3:]]
    fig.legend(handles=handles, loc="outside lower center", ncol=3, fontsize=8)
    return fig


def _metric_panel(ax, runs: Sequence[Result], metric: str, logy: bool) -> None:
    log_scale(ax, "x")
    ax.set_xlabel("optimisation step")
    ax.set_ylabel(label(metric))
    steps, values = _grid(runs, metric)
    if not np.isfinite(values).any():
        ax.text(0.5, 0.5, f"{metric} is not recorded by this arm", transform=ax.transAxes, ha="center",
                va="center", color="0.4")
    elif len(values) == 1:
        ax.plot(_x(steps), values[0], color="k", linewidth=1.5)
    else:
        for row in values:
            ax.plot(_x(steps), row, color="k", linewidth=0.6, alpha=0.35)
        ax.plot(_x(steps), _median_band(_grid(runs, metric, hold=True)[1])[0], color="k", linewidth=1.8,
                label="median")
    if logy:
        log_scale(ax, "y")
    twin = ax.twinx()
    twin.spines["right"].set_visible(True)
    twin.set_ylim(-0.03, 1.03)
    twin.set_ylabel("accuracy", color="0.45")
    twin.grid(False)
    for name, style in (("train_acc", TRAIN_STYLE), ("test_acc", TEST_STYLE)):
        acc_steps, acc = _grid(runs, name, hold=True)
        if acc.size:
            twin.plot(_x(acc_steps), _median_band(acc)[0], **{**style, "alpha": 0.45, "linewidth": 1.0})
    many = len(runs) > 1
    for step, name, color in ((_median_step([r.t_fit for r in runs]), "$t_{fit}$", "tab:blue"),
                              (_median_step([r.t_grok for r in runs]), "$t_{grok}$", "tab:red")):
        _mark(ax, step[0], name, color, f" ({step[1]}/{len(runs)})" if many else "")


def static_panels(arms: Arms, metrics: Sequence[str], columns: int = 3, logy: Sequence[str] = (),
                  accuracy: bool = True, title: str | None = None):
    """The rendered book's explorer: small multiples, one panel per metric (``accuracy``: test accuracy
    first), ``columns`` to a row; in each panel every arm that records the metric, as the median over its
    seeds in a band from the lowest to the highest seed, and a dotted line at the median t_grok of its seeds
    that reach it (their count in the legend); a run that stopped early after grokking holds its last value
    in the median and the band. Metrics in ``logy`` get a log scale. The panels share one (log) step axis,
    labelled under the lowest panel of each column."""
    arms = check_arms(arms, _check_metrics(metrics))
    if not isinstance(columns, int) or isinstance(columns, bool) or columns < 1:
        raise ValueError(f"columns={columns!r}: expected a positive integer.")
    panels = (["test_acc"] if accuracy else []) + list(metrics)
    columns = min(columns, len(panels))
    rows = -(-len(panels) // columns)
    fig, axes = plt.subplots(rows, columns, figsize=(4.0 * columns, 3.0 * rows + 0.6), constrained_layout=True,
                             squeeze=False, sharex=True)
    for ax in axes.flat[len(panels):]:
        ax.set_visible(False)
    for column in range(columns):  # the step axis is labelled under the lowest panel of each column only
        lowest = axes[(len(panels) - 1 - column) // columns, column]
        lowest.xaxis.set_tick_params(which="both", labelbottom=True)
        lowest.set_xlabel("optimisation step")
    log_scale(axes[0, 0], "x")
    colors = {name: f"C{i % 10}" for i, name in enumerate(arms)}
    for ax, metric in zip(axes.flat, panels):
        ax.set_title(label(metric), fontsize=9)
        for name, runs in arms.items():
            if not _records(runs, metric):
                continue
            steps, values = _grid(runs, metric, hold=True)
            median, low, high = _median_band(values)
            ax.plot(_x(steps), median, color=colors[name], linewidth=1.4)
            if len(values) > 1:
                ax.fill_between(_x(steps), low, high, color=colors[name], alpha=0.18, linewidth=0)
            t_grok, grokked = _median_step([r.t_grok for r in runs])
            if t_grok is not None:
                ax.axvline(max(t_grok, 1.0), color=colors[name], linestyle=":", linewidth=1.2)
        if metric in logy:
            log_scale(ax, "y")
    handles = [plt.Line2D([], [], color=colors[name], linewidth=2,
                          label=f"{name} ({_grokked_note(runs)})") for name, runs in arms.items()]
    handles.append(plt.Line2D([], [], color="0.3", linestyle=":", label="median $t_{grok}$ of the seeds that grok"))
    fig.legend(handles=handles, loc="outside lower center", ncol=min(3, len(handles)), fontsize=8)
    if title:
        fig.suptitle(title)
    return fig


def _grokked_note(runs: Sequence[Result]) -> str:
    grokked = sum(r.t_grok is not None for r in runs)
    return f"{grokked}/{len(runs)} reach t_grok"


def show(output, figure) -> None:
    """Make ``output`` (an ``ipywidgets.Output``) show ``figure`` alone, as a PNG, and close the figure.

    The figure replaces the widget's ``outputs`` in one update instead of being displayed inside
    ``with output:``: that capture context routes the kernel's display messages through the widget, and a
    widget cell executed under papermill (nbclient) that drew this way hung twice in a dozen runs here,
    never to finish (nbclient's known "cell containing ipywidgets sometimes blocks", jupyter/nbclient#312)."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    plt.close(figure)
    output.outputs = ({"output_type": "display_data", "metadata": {},
                       "data": {"image/png": base64.b64encode(buffer.getvalue()).decode("ascii"),
                                "text/plain": repr(figure)}},)


def run_explorer(arms: Arms, metrics: Sequence[str], logy: bool = False):
    """An ipywidgets panel over ``arms`` (JupyterLab): arm, seed (:data:`ALL_SEEDS` or one), metrics (those of
    ``metrics`` that the arm's runs record; pick several with shift or ctrl) and a log-scale switch; the
    figure is :func:`run_figure`. Returns the ``VBox`` (controls, then the figure's output)."""
    # here, not at the top: ipywidgets takes ~0.15 s to import and only this widget needs it
    import ipywidgets as widgets

    arms = check_arms(arms, _check_metrics(metrics))
    metrics = list(metrics)
    arm = widgets.Dropdown(options=list(arms), description="arm")
    seed = widgets.Dropdown(description="seed")
    chosen = widgets.SelectMultiple(description="metrics", rows=min(6, len(metrics)))
    log = widgets.Checkbox(value=logy, description="log scale")
    output = widgets.Output()
    busy = [False]  # options being replaced: draw once, after

    def offered() -> list[str]:
        return [m for m in metrics if _records(arms[arm.value], m)]

    def on_arm(*_):
        busy[0] = True
        try:
            seed.options = _seed_options(arms[arm.value])
            seed.value = ALL_SEEDS
            before = [m for m in chosen.value if m in offered()]
            chosen.options = [(label(m), m) for m in offered()]
            chosen.value = tuple(before or offered()[:1])
        finally:
            busy[0] = False
        draw()

    def draw(*_):
        if busy[0] or seed.value is None or not chosen.value:
            return
        show(output, run_figure(arms, arm.value, seed.value, list(chosen.value), log.value))

    arm.observe(on_arm, names="value")
    for control in (seed, chosen, log):
        control.observe(draw, names="value")
    on_arm()
    return widgets.VBox([widgets.HBox([widgets.VBox([arm, seed, log]), chosen]), output])
