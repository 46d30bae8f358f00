"""Part II's numbers as tables and computed sentences (what the pages display)."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np

from grokutils import cells
from grokutils.part2 import analysis, paper, theory
from grokutils.report import Markdown, markdown_table
from grokutils.result import Result

#: How the pages name the arms.
ARM_NAMES = {"standard": "standard", "perturbed": "input perturbation", "abelian": "abelian regulariser (c = 100)"}


def _grokked(runs: Sequence[Result]) -> str:
    return cells.grokked_note(len(analysis.grokking_runs(runs)), len(runs))


def arms_table(arms: Mapping[str, Mapping[str, Sequence[Result]]]) -> Markdown:
    """Figures 4 and 6: per task and arm, the grokked runs, t_fit and t_grok (mean ± sd over the seeds that
    reach them) and the one-sided Mann–Whitney p that standard training groks later."""
    rows = []
    for task, by_arm in arms.items():
        for arm, runs in by_arm.items():
            p = "—" if arm == "standard" else cells.p_value(
                analysis.compare_arms(by_arm["standard"], runs, arm).p_value)
            rows.append((paper.TASK_NAMES[task], ARM_NAMES[arm], _grokked(runs),
                         cells.mean_sd([r.t_fit for r in runs]), cells.mean_sd([r.t_grok for r in runs]), p))
    return markdown_table(("task", "training", "grokked", "t_fit", "t_grok", "p (standard later)"), rows)


def swap_split_table(by_arm: Mapping[str, Sequence[Result]]) -> Markdown:
    """Beside Figure 5: test accuracy at t_fit and at the end, on the test pairs whose swap (b, a) was a
    training pair and on the others, mean over seeds, per arm of the modular task."""
    rows = []
    for arm, runs in by_arm.items():
        at_fit = [analysis.swap_split_at(r, r.t_fit) for r in runs if r.t_fit is not None]
        at_end = [analysis.swap_split_at(r) for r in runs]
        rows.append((ARM_NAMES[arm], _mean_of(at_fit, 0), _mean_of(at_fit, 1), _mean_of(at_end, 0),
                     _mean_of(at_end, 1)))
    return markdown_table(("training", "at t_fit: swap trained", "at t_fit: swap not trained",
                           "end: swap trained", "end: swap not trained"), rows)


def _mean_of(pairs: Sequence[tuple[float, float]], i: int) -> str:
    return f"{np.nanmean([p[i] for p in pairs]):.3f}" if pairs else "—"


def abelian_table(standard: Sequence[Result], perturbed: Sequence[Result]) -> Markdown:
    """Figure 5 per seed: t_fit, t_abelian and t_grok of both arms, and where t_abelian falls."""
    rows = []
    for s, p in zip(standard, perturbed):
        rows.append((s.config.seed, cells.steps(s.t_fit), cells.steps(analysis.abelian_time(s)), cells.steps(s.t_grok),
                     f"{analysis.abelian_position(s):.2f}", cells.steps(p.t_fit), cells.steps(analysis.abelian_time(p)),
                     cells.steps(p.t_grok), f"{analysis.abelian_position(p, span_of=s):.2f}"))
    return markdown_table(("seed", "standard t_fit", "t_abelian", "t_grok", "position", "perturbed t_fit",
                           "t_abelian", "t_grok", "position in standard span"), rows)


def lag_table(standard: Mapping[str, Sequence[Result]]) -> Markdown:
    """Figures 8, 9, 13: per task, the lag of each signal's half-change behind t_grok (mean ± sd over the
    grokking seeds; negative: before t_grok)."""
    signals = ("weight_norm", "pmi", "pe", "mid", "ed", "label_pmi")
    rows = []
    for task, runs in standard.items():
        grokked = analysis.grokking_runs(runs)
        row = [paper.TASK_NAMES[task], _grokked(runs)]
        for signal in signals:
            present = grokked and signal in grokked[0].history
            row.append(cells.mean_sd([analysis.lag(r, signal) for r in grokked]) if present else "—")
        rows.append(row)
    return markdown_table(("task", "grokked", *(f"lag: {s}" for s in signals)), rows)


def mid_ed_table(standard: Mapping[str, Sequence[Result]], controls: Mapping[str, Sequence[Result]]) -> Markdown:
    """Figures 10, 11: |MID| and |ED| at t_fit in each run, grokking runs and wd = 0 controls."""
    rows = []
    for task in standard:
        for kind, runs in (("wd as the paper", standard[task]), ("wd = 0 control", controls[task])):
            for r in runs:
                groks = "yes" if analysis.grokking_runs([r]) else "no"
                rows.append((paper.TASK_NAMES[task], kind, r.config.seed, groks, cells.steps(r.t_fit),
                             _value(analysis.value_at_fit(r, "mid")), _value(analysis.value_at_fit(r, "ed"))))
    return markdown_table(("task", "run", "seed", "groks", "t_fit", "|MID| at t_fit", "|ED| at t_fit"), rows)


def _value(x: float) -> str:
    return "—" if math.isnan(x) else f"{x:.4f}"


def per_seed_table(runs: Sequence[Result]) -> Markdown:
    """Figures 1, 2: per seed, t_fit, t_grok, the norm's fall to t_grok, the perturbation error's change after
    the fit and the sharpness trend after the fit."""
    rows = []
    for r in runs:
        fall = analysis.norm_fall(r)
        change = analysis.perturbation_change(r)
        rows.append((r.config.seed, cells.steps(r.t_fit), cells.steps(r.t_grok), "yes" if analysis.grokking_runs([r])
                     else "no", f"{fall.fall:.1%} (peak at {cells.steps(fall.peak_step)})",
                     "—" if math.isnan(change) else f"×{math.exp(change):.3g}",
                     cells.correlation(analysis.sharpness_trend(r))))
    return markdown_table(("seed", "t_fit", "t_grok", "groks", "norm fall to t_grok (to the end without it)",
                           "perturbation error end / t_fit",
                           "ρ(step, sharpness) after t_fit"), rows)


def lemma31_slack_table(mnist: Sequence[Result]) -> Markdown:
    """Lemma 3.1's slack (right side / left side; 1 is tight) at t_fit, at t_grok and at the last step, mean ± sd
    over the runs that grok: does the bound stay tight enough to carry the paper's explanation?"""
    grokked = analysis.grokking_runs(mnist)
    rows = []
    for name, lhs, rhs in theory.LEMMA31_FORMS:
        at = [[theory.slack_at(r, lhs, rhs, step(r)) for r in grokked]
              for step in (lambda r: r.t_fit, lambda r: r.t_grok, lambda r: r.steps[-1])]
        rows.append((name, *(cells.mean_sd(values, 1) for values in at)))
    return markdown_table(("bound", "slack at t_fit", "slack at t_grok", "slack at the end"), rows)
