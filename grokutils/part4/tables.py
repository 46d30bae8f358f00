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


def half_fall_table(runs: Sequence[Result]) -> Markdown:
    """Figure 1 per seed: t_fit, t_grok, and the half-fall step and position of NCC and κ."""
    rows = []
    for r in runs:
        ncc, kappa = analysis.half_fall_step(r, "ncc"), analysis.half_fall_step(r, "relative_flatness")
        rows.append((r.config.seed, cells.steps(r.t_fit), cells.steps(r.t_grok), cells.steps(ncc),
                     _position(analysis.position(r, ncc)), cells.steps(kappa), _position(analysis.position(r, kappa))))
    return markdown_table(("seed", "t_fit", "t_grok", "NCC half-fall", "position", "κ half-fall", "position"), rows)


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
