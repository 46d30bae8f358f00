"""Part IV's numbers as tables (what the pages display)."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

from grokutils import cells
from grokutils.grokking import generalises_late
from grokutils.part4 import analysis
from grokutils.report import Markdown, markdown_table
from grokutils.result import Result


def candidates_table(candidates: Mapping[tuple[float, float], Sequence[Result]]) -> Markdown:
    """The CPU-sized candidates of Figure 1: seeds that grok, t_fit and t_grok (mean ± sd)."""
    rows = [(f"{lr:g}", f"{frac:g}", f"{sum(generalises_late(r) for r in runs)}/{len(runs)}",
             cells.mean_sd([r.t_fit for r in runs]), cells.mean_sd([r.t_grok for r in runs]))
            for (lr, frac), runs in candidates.items()]
    return markdown_table(("learning rate", "train fraction", "grok", "t_fit", "t_grok"), rows)


def _position(value: float) -> str:
    return "—" if math.isnan(value) else f"{value:.2f}"


#: The measures of Figure 1's table, by recorded key: NCC in the paper's sum form and the authors' averaged form,
#: κ (Definition 3.2's trace form) and its bound ‖w‖²_F·Tr H (Lemma A.2).
FIGURE1_MEASURES = {"ncc": "NCC (sum)", "ncc_mean": "NCC (averaged)", "relative_flatness": "κ",
                    "flatness_bound": "‖w‖²·Tr H"}
#: Part I against Part IV on the same runs: Part I's within-class collapse (RNC1) beside NCC and κ.
RIVAL_MEASURES = {"rnc1": "RNC1 (Part I)", "ncc": "NCC (Part IV)", "relative_flatness": "κ (Part IV)"}


def half_fall_table(runs: Sequence[Result], measures: Mapping[str, str] = FIGURE1_MEASURES) -> Markdown:
    """Per seed: t_fit, t_grok, the middle of the test accuracy's rise, and each measure's half-fall step, each
    with its position (0 at the fit, 1 at grokking); ``measures``: recorded key → column name (default:
    Figure 1's NCC and κ)."""
    rows = []
    for r in runs:
        rise = analysis.half_rise_step(r, "test_acc")
        row = [r.config.seed, cells.steps(r.t_fit), cells.steps(r.t_grok), cells.steps(rise),
               _position(analysis.position(r, rise))]
        for key in measures:
            step = analysis.half_fall_step(r, key)
            row += [cells.steps(step), _position(analysis.position(r, step))]
        rows.append(row)
    header = ["seed", "t_fit", "t_grok", "test accuracy half-rise", "position"]
    for name in measures.values():
        header += [f"{name} half-fall", "position"]
    return markdown_table(header, rows)


def arms_table(arms: Mapping[str, Sequence[Result]]) -> Markdown:
    """Sections 5 and 6: per arm, the final test accuracy, NCC, κ and angle deviation (mean ± sd over seeds), and
    how many runs diverged."""
    rows = []
    for arm, runs in arms.items():
        finite = [r for r in runs if not analysis.diverged(r)]
        row = [arm, f"{len(runs) - len(finite)}/{len(runs)}"]
        for metric, digits in (("test_acc", 3), ("ncc", 1), ("relative_flatness", 3), ("angle_deviation", 3)):
            row.append(cells.mean_sd([analysis.final(r, metric) for r in finite], digits))
        rows.append(row)
    return markdown_table(("arm", "diverged", "final test accuracy", "final NCC", "final κ", "angle deviation (rad)"),
                          rows)


def _ratio(value: float) -> str:
    if math.isnan(value):
        return "—"
    return f"×{value:,.0f}" if value >= 1_000 else f"×{value:.3g}"


def _ratio_range(ratios: Sequence[float]) -> str:
    finite = [x for x in ratios if math.isfinite(x)]
    return f"{_ratio(min(finite))} to {_ratio(max(finite))}" if finite else "—"


def at_grokking_table(arms: Mapping[str, Sequence[Result]]) -> Markdown:
    """Exploratory, beside the verdicts: per arm, t_grok against the baseline's (paired by seed), and NCC and κ at
    each run's own t_grok as a multiple of the baseline's at its t_grok (the range over seeds)."""
    baseline = arms["baseline"]
    rows = []
    for arm, runs in arms.items():
        analysis.check_paired(baseline, runs, arm)
        pairs = [(r, b) for r, b in zip(runs, baseline) if r.t_grok is not None and b.t_grok is not None]
        later = [r.t_grok - b.t_grok for r, b in pairs]
        row = [arm, f"{len(pairs)}/{len(runs)}", ", ".join(cells.steps(r.t_grok) for r in runs),
               ", ".join(cells.signed_steps(d) for d in later) if arm != "baseline" else "—"]
        for metric in ("ncc", "relative_flatness"):
            row.append(_ratio_range(analysis.seed_ratios(baseline, runs, metric, at_grok=True))
                       if arm != "baseline" else "1")
        rows.append(row)
    return markdown_table(("arm", "grok", "t_grok per seed", "t_grok − baseline's", "NCC at t_grok ÷ baseline's",
                           "κ at t_grok ÷ baseline's"), rows)


def proposition52_table(grid: Sequence[dict]) -> Markdown:
    """Proposition 5.2 on the grid, per number of classes k: points, how many hold, κ / bound against the range
    the proof's algebra gives under exact collapse, (2 + (k−2)e)/k² ∈ [2/k², 1/k]."""
    rows = []
    for k in sorted({row["k"] for row in grid}):
        at_k = [row for row in grid if row["k"] == k]
        ratios = [row["ratio"] for row in at_k]
        rows.append((k, len(at_k), sum(row["holds"] for row in at_k), f"{min(ratios):.3g} – {max(ratios):.3g}",
                     f"{2 / k**2:.3g} – {1 / k:.3g}"))
    return markdown_table(("k", "grid points", "bound holds", "κ / bound", "the proof's range"), rows)


def lemma_a1_table(examples: Mapping[str, dict]) -> Markdown:
    """Lemma A.1 on its examples (:func:`grokutils.part4.theory.lemma_a1_examples`): the spread of the constant
    over classes (relative to λM²), and NC4 on the training features and on probes around the global mean."""
    return markdown_table(("configuration", "spread of b_j + λ(μ_j − μ_g)ᵀμ_g (relative)", "NC4 on the training "
                           "features", "NC4 around μ_g", "lemma holds"),
                          [(name, f"{row['relative_spread']:.2g}", f"{row['nc4_train']:.0%}",
                            f"{row['nc4_probe']:.1%}", "yes" if row["holds"] else "no")
                           for name, row in examples.items()])


def rescaling_table(rows: Mapping[str, dict]) -> Markdown:
    """The two forms of relative flatness before and after a neuron-wise rescaling of the features
    (:func:`grokutils.part4.theory.rescaling_counterexample`)."""
    return markdown_table(("last layer", "largest change of a logit", "κ, trace form (Def. 3.2)",
                           "wᵀHw, quadratic form"),
                          [(name, f"{row['logit_change']:.1e}", f"{row['trace']:.4g}", f"{row['quadratic']:.4g}")
                           for name, row in rows.items()])


#: The exploratory probe's measures, by recorded key: Part IV's NCC and κ, Part I's RNC1, and wᵀHw.
PROBE_MEASURES = {"ncc": "NCC (Part IV)", "rnc1": "RNC1 (Part I)", "relative_flatness": "κ, trace form",
                  "flatness_quadratic": "wᵀHw, invariant form"}


def probe_table(probes: Mapping[str, Mapping[str, Sequence[Result]]]) -> Markdown:
    """The exploratory re-runs (:func:`grokutils.presets.collapse_probe_runs`): per task and measure, the regularised
    arm against the baseline, at the end and at each run's t_grok: the geometric mean ratio over seeds with its 95 %
    bootstrap interval, the seeds' range and how many seeds rose."""
    rows = []
    for task, arms in probes.items():
        baseline, (arm, treated) = arms["baseline"], next((a, r) for a, r in arms.items() if a != "baseline")
        for key, name in PROBE_MEASURES.items():
            for moment, at_grok in (("end", False), ("t_grok", True)):
                q = analysis.ratio_interval(baseline, treated, key, at_grok)
                interval = "—" if math.isnan(q["low"]) else f"[{_ratio(q['low'])}, {_ratio(q['high'])}]"
                rows.append((task, arm, name, moment, _ratio(q["ratio"]), interval,
                             _ratio_range((q["least"], q["most"])), f"{q['higher']}/{q['seeds']}"))
    return markdown_table(("task", "arm", "measure", "at", "arm / baseline (geometric mean)", "95 % interval",
                           "seeds' range", "seeds higher"), rows)
