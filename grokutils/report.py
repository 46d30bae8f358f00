"""Tables and sentences that notebooks display, written by code from results.

Nothing here types a number: every value comes from a
:class:`~grokutils.config.Config` or a :class:`~grokutils.result.Result`.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from grokutils.grokking import (DELAY_FACTOR, is_late, memorisation_ceiling, reaches_threshold,
                                test_accuracy_at_fit)
from grokutils.result import FIT_THRESHOLD

if TYPE_CHECKING:
    from grokutils.config import Config
    from grokutils.result import Result


class Markdown(str):
    """A string that Jupyter renders as Markdown (and prints as text elsewhere)."""

    def _repr_markdown_(self) -> str:
        return str(self)


def source_code(function) -> Markdown:
    """The source of ``function`` as a highlighted Python block: how a page shows a loop that grokutils runs
    for it (the monitor pages' plain loops)."""
    if not callable(function):
        raise ValueError(f"source_code: expected a function, got {type(function).__name__}.")
    return Markdown("```python\n" + inspect.getsource(function).rstrip() + "\n```")


def _cell(value) -> str:
    """A table cell: pipes escaped (norms like ||w|| would otherwise split the cell), one line."""
    return str(value).replace("|", "\\|").replace("\n", " ")


def markdown_table(header: Sequence[str], rows: Iterable[Sequence]) -> Markdown:
    """A Markdown (MyST / GFM) table; cells may contain '|' (escaped here)."""
    lines = ["| " + " | ".join(_cell(h) for h in header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(_cell(cell) for cell in row) + " |" for row in rows]
    return Markdown("\n".join(lines))


def config_table(config: Config, fields: Sequence[str] | None = None) -> Markdown:
    """The configuration of a run as a two-column table (all fields by default)."""
    values = config.to_dict()
    fields = fields or list(values)
    return markdown_table(("field", "value"), ((f"`{name}`", f"`{values[name]!r}`") for name in fields))


def deviations_table(deviations: Iterable) -> Markdown:
    """A chapter's setup deviations: item, value in the paper, value here, why."""
    return markdown_table(("item", "paper", "here", "why"),
                          ((d.item, d.paper, d.here, d.why) for d in deviations))


@dataclass(frozen=True)
class GrokkingCheck:
    """Whether a run shows delayed generalisation, with the numbers behind the verdict."""

    label: str
    t_fit: int | None
    t_grok: int | None
    final_test_acc: float
    required_test_acc: float
    seconds_to_grok: float | None
    stopped_at: int | None = None  # the early stop after grokking (Config.stop_after_grok), if the run ended there
    test_acc_at_fit: float | None = None
    memorisation_ceiling: float = 1.0

    @property
    def groks(self) -> bool:
        """:func:`grokutils.grokking.generalises_late` on these numbers."""
        return is_late(self.t_fit, self.t_grok, self.test_acc_at_fit, self.memorisation_ceiling)

    def sentence(self) -> str:
        if self.t_fit is None:
            return f"{self.label}: the training set was never fitted (train accuracy < {FIT_THRESHOLD})."
        if self.t_grok is None:
            return (f"{self.label}: NOT reproduced — train accuracy reached {FIT_THRESHOLD} at step "
                    f"{self.t_fit}, but test accuracy never reached {self.required_test_acc} "
                    f"(final {self.final_test_acc:.3f}).")
        if self.groks:
            verdict = "grokking reproduced"
        elif self.t_grok >= DELAY_FACTOR * max(self.t_fit, 1):
            verdict = (f"generalised, but not from memorisation (test accuracy {self.test_acc_at_fit:.3f} at t_fit, "
                       f"above {self.memorisation_ceiling:.3f})")
        else:
            verdict = "generalised, but without a delay"
        final = "final" if self.stopped_at is None else f"training stopped early at step {self.stopped_at}, with"
        return (f"{self.label}: {verdict} — train accuracy ≥ {FIT_THRESHOLD} at step {self.t_fit}, test "
                f"accuracy ≥ {self.required_test_acc} at step {self.t_grok}, a delay of "
                f"{self.t_grok - self.t_fit} steps ({self.t_grok / max(self.t_fit, 1):.1f}× the fitting "
                f"time), {self.seconds_to_grok:.0f} s of training; {final} test accuracy "
                f"{self.final_test_acc:.3f}.")


def grokking_check(result: Result) -> GrokkingCheck:
    """Verdict on delayed generalisation (:func:`grokutils.grokking.generalises_late`). The final test
    accuracy is that of the last evaluation: ``num_steps``, or the early stop after grokking."""
    seconds = result.wall_time_at(result.t_grok) if reaches_threshold(result) else None
    return GrokkingCheck(result.config.label(), result.t_fit, result.t_grok, float(result["test_acc"][-1]),
                         result.config.grok_threshold, seconds, result.steps[-1] if result.ended_early else None,
                         test_accuracy_at_fit(result), memorisation_ceiling(result.config))


def timings_table(results: Iterable[Result]) -> Markdown:
    """Training and evaluation seconds of runs, with their device; steps are those trained
    (fewer than ``num_steps`` for a run that stopped early after grokking)."""
    return markdown_table(
        ("run", "steps", "training (s)", "evaluation (s)", "ms / step", "device"),
        ((r.config.label(), r.steps[-1], f"{r.timings['train_s']:.0f}", f"{r.timings['eval_s']:.0f}",
          f"{r.timings['ms_per_step']:.1f}", r.env.get("gpu", r.env.get("device", "?")))
         for r in results))
