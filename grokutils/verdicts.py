"""How a verdict is decided: the rules every part's claims table shares.

A claim of a paper gets one :class:`Verdict`, computed by code from stored runs with criteria
fixed before the runs (each part's ``paper`` module). The rules that are the same in every
part live here: the vocabulary of verdicts, the two-level rule :func:`verdict`, and the share
of runs that must agree (:data:`MAJORITY`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from enum import StrEnum


class Verdict(StrEnum):
    """The verdicts of a claims table; each member is also its printed text."""

    REPRODUCED = "reproduced"
    PARTLY = "partly reproduced"
    NOT_REPRODUCED = "not reproduced"
    NOT_TESTABLE = "not testable here"


#: Share of runs that must agree for "reproduced" (Parts I and III; half of it gives Part I's
#: "partly"). The papers report 10/10 seeds; 80 % lets 2 of 10 miss at this book's granularity.
MAJORITY = 0.8


def verdict(holds: bool, partly: bool = False) -> Verdict:
    """:attr:`Verdict.REPRODUCED` if ``holds``, else :attr:`Verdict.PARTLY` if ``partly``, else
    :attr:`Verdict.NOT_REPRODUCED`."""
    if holds:
        return Verdict.REPRODUCED
    return Verdict.PARTLY if partly else Verdict.NOT_REPRODUCED


def share(flags: Sequence[bool]) -> float:
    """The share of true flags; NaN when there are none (nothing to judge)."""
    return sum(map(bool, flags)) / len(flags) if flags else math.nan


def majority_verdict(agreeing: float) -> Verdict:
    """A claim about every run, judged by the share that agrees: ≥ :data:`MAJORITY` reproduced,
    ≥ half of it partly, NaN (no runs) not testable."""
    if math.isnan(agreeing):
        return Verdict.NOT_TESTABLE
    return verdict(agreeing >= MAJORITY, agreeing >= MAJORITY / 2)
