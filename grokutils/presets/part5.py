"""Part V's grid: every signal of grokking on the same runs (the book's own synthesis; spec ``p5_synthesis.md``).

One setup per task, taken from the part that already runs it, every run recording every indicator of
:mod:`grokutils.indicators` (``metrics=("signals",)``, the one monitor) at every evaluation:

- x + y, x − y and x · y mod 97 and S5 composition with Part III's one-layer transformer
  (:data:`~grokutils.presets.part3.SPECTRAL_PAPER`); S5 at train fraction 0.5, the split at which Part III's
  exploratory runs grokked (at 0.3 no S5 run groks within 50,000 steps, and a task without grokking has no lead
  to measure);
- MNIST with the Omnigrok MLP (:func:`~grokutils.presets.quickstart.omnigrok_mnist`), as Parts I and II.

Five seeds per task, and per task a non-grokking control: the same runs with weight decay 0 on
:data:`CONTROL_SEEDS` (a control that groks after all is reported and left out of the false alarms). Every
grokking run stops :data:`STOP_AFTER_GROK` steps after t_grok (its evaluations) so that its "final value" is
the value just after grokking for every indicator alike; a control runs its whole budget. Fixed before any
Part V run.
"""

from __future__ import annotations

from grokutils.config import Config
from grokutils.presets.common import Deviation
from grokutils.presets.part3 import S5_LARGER_FRAC, SPECTRAL_PAPER
from grokutils.presets.quickstart import omnigrok_mnist
from grokutils.profiles import check_profile

#: The grid's tasks, in the order of the leaderboard's tables.
SIGNAL_TASKS = ("add", "sub", "mul", "s5", "mnist")
#: Seeds of every grokking arm, and of the weight-decay-0 controls.
SIGNAL_SEEDS, CONTROL_SEEDS = (0, 1, 2, 3, 4), (0, 1)
#: Steps a grokking run goes on after t_grok (per task: the transformer's 200-step evaluations, MNIST's
#: longer time scale), then stops.
STOP_AFTER_GROK = {"transformer": 2_000, "mnist": 10_000}
#: Budgets: Part III's 20,000 steps for the transformer tasks (its S5 check at fraction 0.5 used the same),
#: Omnigrok's 100,000 for MNIST.
TRANSFORMER_STEPS = 20_000

SIGNAL_DEVIATIONS = [
    Deviation("runs", "each paper its own setups", "one grid: x ± y, x · y mod 97 and S5 (Part III's transformer), "
              "MNIST (Omnigrok's MLP); 5 seeds and 2 weight-decay-0 controls per task",
              "the book's own comparison: every indicator on the same runs"),
    Deviation("S5 train fraction", "0.3 (Part III)", f"{S5_LARGER_FRAC}",
              "at 0.3 no S5 run groks within 50,000 steps (Part III): no lead to measure"),
    Deviation("end of a grokking run", "the papers' budgets",
              f"{STOP_AFTER_GROK['transformer']:,} steps after t_grok (MNIST: {STOP_AFTER_GROK['mnist']:,})",
              "the transition rule compares the post-fit value with the final one; stopping at a fixed distance "
              "after t_grok gives every indicator and task the same reference, and saves most of the budget. "
              "It also ties every transition to t_grok: the leaderboard's placebo shows what that does"),
    Deviation("probe", "each paper its own", "1,000 training samples (seed 0) for every indicator",
              "one probe, so that indicators differ only in what they measure"),
]


def _transformer(task: str, profile: str) -> Config:
    steps, schedule = {"paper": (TRANSFORMER_STEPS, "every:200"), "quick": (8_000, "every:200"),
                       "smoke": (40, "every:20")}[profile]
    base = SPECTRAL_PAPER.replace(task=task, num_steps=steps, eval_schedule=schedule, metrics=("signals",),
                                  stop_after_grok=STOP_AFTER_GROK["transformer"] if profile != "smoke" else 0)
    return base.replace(frac_train=S5_LARGER_FRAC) if task == "s5" else base


def _mnist(profile: str) -> Config:
    schedule = {"paper": "paper", "quick": "every:500", "smoke": "every:20"}[profile]
    return omnigrok_mnist(profile).replace(eval_schedule=schedule, metrics=("signals",),
                                           stop_after_grok=STOP_AFTER_GROK["mnist"] if profile != "smoke" else 0)


def _signal_base(grid_task: str, profile: str = "paper") -> Config:
    """The grokking run of ``grid_task`` (one of :data:`SIGNAL_TASKS`) in the grid, seed 0."""
    p = check_profile(profile)
    if grid_task not in SIGNAL_TASKS:
        raise ValueError(f"grid_task={grid_task!r} is not in Part V's grid; expected one of {SIGNAL_TASKS}.")
    return _mnist(p) if grid_task == "mnist" else _transformer(grid_task, p)


def _signal_tasks(profile: str = "paper") -> tuple[str, ...]:
    """The grid's tasks under ``profile``: all of :data:`SIGNAL_TASKS` (quick: x + y and MNIST, which a laptop
    trains in minutes; smoke: the same two, a few steps each)."""
    return SIGNAL_TASKS if check_profile(profile) == "paper" else ("add", "mnist")


def signal_grid(profile: str = "paper") -> dict[str, dict[str, list[Config]]]:
    """``{task: {"grokking": [...], "control": [...]}}``: :data:`SIGNAL_SEEDS` of each task's run and
    :data:`CONTROL_SEEDS` of its weight-decay-0 control (quick: 3 seeds and 1 control; smoke: 1 and 1)."""
    p = check_profile(profile)
    seeds, controls = {"paper": (SIGNAL_SEEDS, CONTROL_SEEDS), "quick": (SIGNAL_SEEDS[:3], CONTROL_SEEDS[:1]),
                       "smoke": (SIGNAL_SEEDS[:1], CONTROL_SEEDS[:1])}[p]
    grid = {}
    for task in _signal_tasks(p):
        base = _signal_base(task, p)
        control = base.replace(weight_decay=0.0, stop_after_grok=0)
        grid[task] = {"grokking": [base.replace(seed=s) for s in seeds],
                      "control": [control.replace(seed=s) for s in controls]}
    return grid


#: The run the monitor page trains in a plain PyTorch loop: a small x + y mod 31 (60 % split) with Part III's
#: transformer at width 64, which fits by step ≈ 200 and groks by ≈ 3,000 on one CPU core in about half a minute.
MONITOR_STEPS = {"paper": 3_600, "quick": 3_600, "smoke": 40}
MONITOR_EVERY = {"paper": 200, "quick": 200, "smoke": 20}


def monitor_loop_config(profile: str = "paper") -> Config:
    """The configuration of the monitor page's plain loop (every profile trains it; smoke for a few steps)."""
    p = check_profile(profile)
    return SPECTRAL_PAPER.replace(p=31, frac_train=0.6, d_model=64, d_mlp=256, batch_size=None, metrics=(),
                                  num_steps=MONITOR_STEPS[p], eval_schedule=f"every:{MONITOR_EVERY[p]}")
