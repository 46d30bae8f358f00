"""How the book writes numbers in its tables and sentences ("—" where a value is missing).

One function per kind of cell, shared by every part, so that the same quantity reads the same
on every page.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

import numpy as np

Interval = tuple[float, float, float]  # (estimate, low, high)


def steps(value: float | None) -> str:
    """A step count: ``12,345``."""
    return "—" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:,.0f}"


def signed_steps(value: float | None) -> str:
    """A difference of steps: ``+1,940``."""
    return "—" if value is None else f"{value:+,.0f}"


def interval(estimate: Interval | None, digits: int = 3) -> str:
    """An estimate with its interval: ``0.489 [0.454, 0.519]``."""
    if estimate is None:
        return "—"
    value, low, high = estimate
    return f"{value:.{digits}f} [{low:.{digits}f}, {high:.{digits}f}]"


def signed_interval(estimate: Interval | None) -> str:
    """A signed difference with its interval: ``+0.018 [+0.004, +0.032]``."""
    return "—" if estimate is None else "{:+.3f} [{:+.3f}, {:+.3f}]".format(*estimate)


def steps_interval(estimate: Interval | None) -> str:
    """A step count with its interval: ``2,300 [1,820, 2,840]``."""
    if estimate is None:
        return "—"
    value, low, high = estimate
    return f"{value:,.0f} [{low:,.0f}, {high:,.0f}]"


def mean_sd(values: Sequence[float | None], digits: int = 0) -> str:
    """Mean ± sample sd of the known values (None and NaN left out), as steps by default or to ``digits``
    decimals (one value alone; "—" for none)."""
    known = [v for v in values if v is not None and not (isinstance(v, float) and math.isnan(v))]
    if not known:
        return "—"
    if len(known) == 1:
        return f"{known[0]:,.{digits}f}"
    return f"{np.mean(known):,.{digits}f} ± {np.std(known, ddof=1):,.{digits}f}"


def mean(values: Sequence[float | None]) -> str:
    """Mean of the known values to 3 decimals ("—" for none)."""
    known = [v for v in values if v is not None]
    return f"{np.mean(known):.3f}" if known else "—"


def correlation(value: float | None) -> str:
    """A correlation: "—" when not computed, a word when undefined (a constant series)."""
    if value is None:
        return "—"
    return "undefined (a constant series)" if math.isnan(value) else f"{value:.2f}"


def p_value(value: float | None) -> str:
    """A p-value to 2 significant digits."""
    return "—" if value is None else f"{value:.2g}"


def percent(value: float | None) -> str:
    """A fraction as a percentage: ``4.0 %``."""
    return "—" if value is None else f"{100 * value:.1f} %"


def grokked_note(grokked: int, total: int) -> str:
    """``8/10 grokked (2 did not and are left out)``."""
    missing = total - grokked
    return f"{grokked}/{total} grokked" + (f" ({missing} did not and are left out)" if missing else "")


def seed_list(seeds: Iterable[int]) -> str:
    """Seeds as a range when consecutive (``0–9``), else listed."""
    seeds = sorted(seeds)
    if len(seeds) > 2 and seeds == list(range(seeds[0], seeds[-1] + 1)):
        return f"{seeds[0]}–{seeds[-1]}"
    return ", ".join(map(str, seeds))
