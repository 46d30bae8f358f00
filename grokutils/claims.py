"""Claims tables: each paper's statement, the numbers measured here, and a computed verdict.

A :class:`Claim` is built by a chapter's analysis function from stored results; the
notebook only displays :func:`claims_table`. Verdicts are one of :data:`VERDICTS`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from grokutils.report import Markdown, markdown_table

VERDICTS = ("reproduced", "partly reproduced", "not reproduced", "not testable here")


@dataclass(frozen=True)
class Claim:
    """One row of a claims table."""

    name: str
    paper: str
    measured: str
    verdict: str

    def __post_init__(self):
        if self.verdict not in VERDICTS:
            raise ValueError(f"verdict must be one of {VERDICTS}, got {self.verdict!r}.")


def verdict(holds: bool, partly: bool = False) -> str:
    """'reproduced' if ``holds``, else 'partly reproduced' if ``partly``, else 'not reproduced'."""
    return VERDICTS[0] if holds else (VERDICTS[1] if partly else VERDICTS[2])


def claims_table(claims: Iterable[Claim]) -> Markdown:
    """The chapter's claims as a Markdown table: claim, paper, measured here, verdict (bold)."""
    return markdown_table(("claim", "paper", "measured here", "verdict"),
                          ((c.name, c.paper, c.measured, f"**{c.verdict}**") for c in claims))


def verdict_summary(claims: Iterable[Claim]) -> Markdown:
    """One line per verdict, the claims that received it, in the table's order.

    The chapter pages open their findings with it, so that the prose never states
    a verdict the code did not compute.
    """
    claims = list(claims)
    lines = []
    for name in VERDICTS:
        names = [c.name for c in claims if c.verdict == name]
        if names:
            lines.append(f"- **{name}** ({len(names)} of {len(claims)}): " + "; ".join(names) + ".")
    return Markdown("\n".join(lines))
