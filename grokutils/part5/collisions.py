"""Where the papers collide, answered from Part V's grid under rules fixed before the grid was run.

Two disagreements between the book's papers (``../shared/spec/p5_synthesis.md``):

- **Is within-class collapse needed?** Part I (Sato et al.): the fall of within-class variance (RNC1) drives
  generalisation, so it comes before grokking in runs that grok and not in runs that do not. Part IV (Han et
  al.): collapse is not needed; it comes with memorisation. On the grid, per collapse indicator
  (:data:`COLLAPSE_KEYS`): does it transition in most grokking runs (:data:`~grokutils.verdicts.MAJORITY`),
  no later than grokking (median position ≤ 1), and not as often in the controls
  (:func:`~grokutils.verdicts.fires_without_grokking`)? All three: Part I's order; it fires without grokking,
  or misses most grokking runs: Part IV's reading. Neither is necessity: that is causal, and only an
  intervention (Part IV's NCC regulariser) tests it.
- **Is the weight norm the signal?** Part II (Tan & Huang): the norm falls, but PMI and PE change more timely;
  Part III: the spectral entropy, not the norm, collapses before grokking. On the same runs, the
  leave-one-seed-out forecast errors of each pair (:data:`NORM_RIVALS`) are compared seed by seed (one-sided
  exact Wilcoxon, each direction, p < :data:`~grokutils.verdicts.SIGNIFICANCE`; fewer than five paired runs:
  "not testable here"). Whether the norm *drives* grokking is again causal: Part III's norm-matched
  intervention tests it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from grokutils.part5.foresight import foresight_transition, matched_false_alarms
from grokutils.part5.leaderboard import Grid, Row, forecasts, wilcoxon_better
from grokutils.report import Markdown, markdown_table
from grokutils.verdicts import MAJORITY, SIGNIFICANCE, fires_without_grokking, signed_rank_test_can_reject

#: The collapse indicators of Part I (RNC1, NC1) and Part IV (NCC, sum form), in the grid's names.
COLLAPSE_KEYS = ("rnc1", "nc1", "ncc")
#: The pairs of the norm question: (the norm, its rival) in the grid's names.
NORM_RIVALS = (("weight_norm", "pmi"), ("weight_norm", "pe"), ("weight_norm", "spectral_entropy"))


@dataclass(frozen=True)
class CollapseAnswer:
    """One collapse indicator on the grid: its share of transitions, its median position and its false alarms."""

    key: str
    transitions: int
    runs: int
    position: float
    false_alarms: int
    controls: int

    @property
    def side(self) -> str:
        """Whose reading the grid supports: "Part I", "Part IV", or "not testable here" without runs or
        controls."""
        if not self.runs or not self.controls:
            return "not testable here"
        alarms = [True] * self.false_alarms + [False] * (self.controls - self.false_alarms)
        before = self.transitions / self.runs >= MAJORITY and not math.isnan(self.position) and self.position <= 1
        return "Part I" if before and not fires_without_grokking(alarms) else "Part IV"


def collapse_answers(rows: Sequence[Row]) -> list[CollapseAnswer]:
    """:class:`CollapseAnswer` of every collapse indicator the leaderboard ranks."""
    by_key = {r.key: r for r in rows}
    return [CollapseAnswer(k, by_key[k].transitions, by_key[k].runs, by_key[k].position[0], by_key[k].false_alarms,
                           by_key[k].controls) for k in COLLAPSE_KEYS if k in by_key]


def matched_collapse_answers(grid: Grid, rows: Sequence[Row]) -> list[CollapseAnswer]:
    """:func:`collapse_answers` with the false alarms of controls matched to the grokking runs
    (:func:`grokutils.part5.foresight.matched_false_alarms`: cut to their length, counted in their direction);
    exploratory, beside the fixed answer."""
    answers = []
    for answer in collapse_answers(rows):
        matched = matched_false_alarms(grid, answer.key)
        answers.append(CollapseAnswer(answer.key, answer.transitions, answer.runs, answer.position,
                                      matched.matched_direction, matched.controls))
    return answers


@dataclass(frozen=True)
class PairedForecast:
    """Two indicators' forecast errors on the same grokking runs, compared seed by seed."""

    first: str
    second: str
    runs: int
    first_error: float
    second_error: float
    p_first_better: float | None
    p_second_better: float | None

    @property
    def answer(self) -> str:
        """Which indicator forecasts t_grok better on these runs, "not separated", or "not testable here"."""
        if not signed_rank_test_can_reject(self.runs):
            return "not testable here"
        for name, p in ((self.first, self.p_first_better), (self.second, self.p_second_better)):
            if p is not None and p < SIGNIFICANCE:
                return f"`{name}` forecasts better"
        return "not separated"


def _median(values: Sequence[float]) -> float:
    ordered = sorted(values)
    if not ordered:
        return math.nan
    middle = len(ordered) // 2
    return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2


def paired_forecast(grid: Grid, first: str, second: str, horizon: float | None = None) -> PairedForecast:
    """``first`` against ``second``: median forecast errors on every grokking run and both one-sided p-values;
    with a ``horizon``, from histories cut before grokking (:func:`grokutils.part5.foresight.foresight_transition`,
    exploratory)."""
    def of(key: str):
        return None if horizon is None else foresight_transition(key, horizon)

    a, b = ([f.error for f in forecasts(grid, key, of(key))] for key in (first, second))
    return PairedForecast(first, second, len(a), _median(a), _median(b), wilcoxon_better(a, b), wilcoxon_better(b, a))


def _percent(x: float) -> str:
    return "—" if math.isnan(x) else "∞" if math.isinf(x) else f"{100 * x:.0f} %"


def collapse_table(answers: Sequence[CollapseAnswer]) -> Markdown:
    """The collapse question, one row per indicator."""
    rows = [(f"`{a.key}`", f"{a.transitions}/{a.runs}", "—" if math.isnan(a.position) else f"{a.position:.2f}",
             f"{a.false_alarms}/{a.controls}", a.side) for a in answers]
    return markdown_table(("indicator", "transitions in grokking runs", "median position (1: t_grok)",
                           "false alarms in controls", "the grid sides with"), rows)


def norm_table(pairs: Sequence[PairedForecast]) -> Markdown:
    """The norm question, one row per pair of indicators."""
    def p(value: float | None) -> str:
        return "—" if value is None else f"{value:.2g}"

    rows = [(f"`{c.first}` vs `{c.second}`", c.runs, f"{_percent(c.first_error)} vs {_percent(c.second_error)}",
             p(c.p_first_better), p(c.p_second_better), c.answer) for c in pairs]
    return markdown_table(("pair", "grokking runs", "median forecast error", "p (first better)",
                           "p (second better)", "on these runs"), rows)
