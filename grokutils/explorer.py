"""Interactive explorer of Part I's weight-decay sweep (JupyterLab), and its static version for
the rendered book.

Pick a weight decay, a seed and one of the stored snapshot steps: the left panel shows the
representation snapshot (Part I, Figure 2's projection), the right panels the accuracy and
RNC1 curves of that run with the chosen step marked. Everything is read from stored results;
nothing is trained.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import matplotlib.pyplot as plt
import numpy as np

from grokutils import plots
from grokutils.run_explorer import show

if TYPE_CHECKING:
    from grokutils.result import Result


def explorer_figure(run: Result, step: int, metrics: Sequence[str] = ("test_acc", "rnc1")):
    """Snapshot of ``run`` at ``step`` beside its curves, the step marked by a vertical line."""
    snapshots = run.snapshots()
    if step not in snapshots:
        raise ValueError(f"step {step} has no stored snapshot; available: {sorted(snapshots)}")
    fig, axes = plt.subplots(1, 1 + len(metrics), figsize=(4.0 * (1 + len(metrics)), 3.5), constrained_layout=True)
    position = run.steps.index(step)
    title = (f"{run.config.label()}, step {step:,}: train {run['train_acc'][position]:.2f}, "
             f"test {run['test_acc'][position]:.2f}")
    plots.representation_snapshot(snapshots[step], axes[0])
    for ax, metric in zip(axes[1:], metrics):
        x = np.maximum(run.step_array, 1)
        ax.plot(x, run[metric], color="k")
        plots.log_scale(ax, "x")
        ax.set_xlabel("optimisation step")
        ax.set_ylabel(metric)
        ax.axvline(max(step, 1), color="tab:orange")
    fig.suptitle(title)
    return fig


def static_grid(groups: dict[float, Sequence[Result]], fractions: Sequence[float] = (0.16, 0.5, 1.0)):
    """Rows: weight decays (first seed); columns: the snapshots nearest to ``fractions`` of training."""
    fig, axes = plt.subplots(len(groups), len(fractions), figsize=(3.2 * len(fractions), 2.9 * len(groups)),
                             constrained_layout=True, squeeze=False)
    for row, (wd, results) in zip(axes, groups.items()):
        run = results[0]
        steps = sorted(run.snapshots())
        for ax, fraction in zip(row, fractions):
            step = min(steps, key=lambda s: abs(s - fraction * run.config.num_steps))
            test = run["test_acc"][run.steps.index(step)]
            plots.representation_snapshot(run.snapshots()[step], ax, f"wd {wd:g}, step {step:,} (test {test:.2f})")
            ax.get_legend().remove()
            ax.set_xlabel("")
            ax.set_ylabel("")
    return fig


def collapse_explorer(groups: dict[float, Sequence[Result]]):
    """An ipywidgets panel over the sweep: weight decay, seed and snapshot step (JupyterLab)."""
    # here, not at the top: ipywidgets takes ~0.15 s to import and only this widget needs it
    import ipywidgets as widgets

    decay = widgets.SelectionSlider(options=list(groups), description="weight decay")
    seed = widgets.Dropdown(description="seed")
    step = widgets.SelectionSlider(options=[0], description="step")
    output = widgets.Output()

    def run() -> Result:
        return next(r for r in groups[decay.value] if r.config.seed == seed.value)

    def on_decay(*_):
        seed.options = [r.config.seed for r in groups[decay.value]]
        on_seed()

    def on_seed(*_):
        if seed.value is None:  # transient while the options are replaced
            return
        step.options = sorted(run().snapshots())
        draw()

    def draw(*_):
        if seed.value is None or step.value not in run().snapshots():
            return
        show(output, explorer_figure(run(), step.value))  # one update of the widget's outputs, figure closed

    decay.observe(on_decay, names="value")
    seed.observe(on_seed, names="value")
    step.observe(draw, names="value")
    on_decay()
    return widgets.VBox([widgets.HBox([decay, seed, step]), output])
