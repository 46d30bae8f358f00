"""Claims tables: each paper's statement, the numbers measured here, and a computed verdict.

A part's ``paper`` module states each headline claim once, as a :class:`PaperClaim` (an id, a
short name, what the paper reports); its analysis turns stored results into numbers, and
:meth:`PaperClaim.judged` makes the table row, a :class:`Claim`, with a
:class:`~grokutils.verdicts.Verdict` decided by the rules of :mod:`grokutils.verdicts`.
Notebooks display :func:`claims_table` and pick rows by id with :func:`select`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from grokutils.report import Markdown, markdown_table
from grokutils.verdicts import Verdict


@dataclass(frozen=True)
class Claim:
    """One row of a claims table; ``id`` names the claim in code (e.g. ``"p3.threshold"``)."""

    id: str
    name: str
    paper: str
    measured: str
    verdict: Verdict

    def __post_init__(self):
        if self.verdict not in set(Verdict):
            raise ValueError(f"Claim {self.id!r}: verdict must be one of {[v.value for v in Verdict]}, "
                             f"got {self.verdict!r}.")
        object.__setattr__(self, "verdict", Verdict(self.verdict))


@dataclass(frozen=True)
class PaperClaim:
    """A headline claim as the paper states it: its id, its name in the table, what the paper reports."""

    id: str
    name: str
    paper: str

    def judged(self, measured: str, verdict: Verdict) -> Claim:
        """The table row: what was measured here and the verdict the rules gave."""
        return Claim(self.id, self.name, self.paper, measured, verdict)

    def untestable(self, why: str) -> Claim:
        """The table row of a claim these runs cannot test, and why."""
        return self.judged(why, Verdict.NOT_TESTABLE)


#: The colour of each verdict's badge (inline HTML, so that it shows in the rendered book and in JupyterLab alike).
VERDICT_COLOURS = {Verdict.REPRODUCED: "#1b7f3b", Verdict.PARTLY: "#9a6200", Verdict.NOT_REPRODUCED: "#b3261e",
                   Verdict.UNINFORMATIVE: "#5f6368", Verdict.NOT_TESTABLE: "#5f6368"}
#: Characters of the paper's and the measured text that a claims table shows; the full texts are folded beneath.
CELL_LIMIT = 120


def badge(verdict: Verdict | str) -> str:
    """A verdict as a coloured badge (``<span class="verdict …">``)."""
    verdict = Verdict(verdict)
    return (f'<span class="verdict verdict-{verdict.name.lower()}" style="background:{VERDICT_COLOURS[verdict]};'
            f'color:#fff;border-radius:0.7em;padding:0.05em 0.5em;white-space:nowrap;font-size:0.85em">'
            f"{verdict.value}</span>")


def gist(text: str, limit: int = CELL_LIMIT) -> str:
    """The first clause of ``text`` (up to its first "; "), cut at a word within ``limit`` characters; "…" marks
    what was left for the full text."""
    first = text.split("; ", 1)[0]
    if len(first) > limit:
        return first[: first.rfind(" ", 0, limit)].rstrip(",;: ") + " …"
    return first if first == text else first + " …"


def claims_table(claims: Iterable[Claim]) -> Markdown:
    """The chapter's claims as a compact Markdown table (claim · paper · here · a coloured verdict badge), with
    every claim's full paper and measured texts folded beneath it (``<details>``)."""
    claims = list(claims)
    table = markdown_table(("claim", "paper", "here", "verdict"),
                           ((c.name, gist(c.paper), gist(c.measured), badge(c.verdict)) for c in claims))
    details = "\n".join(f"- **{c.name}** ({c.verdict}). *Paper:* {c.paper}. *Here:* {c.measured}." for c in claims)
    return Markdown(f"{table}\n\n<details>\n<summary>Every claim in full</summary>\n\n{details}\n\n</details>")


def select(claims: Iterable[Claim], *ids: str) -> list[Claim]:
    """The claims with these ids, in the order given; ``KeyError`` naming an unknown id."""
    by_id = {c.id: c for c in claims}
    unknown = [i for i in ids if i not in by_id]
    if unknown:
        raise KeyError(f"no claim with id {unknown}; the ids here are {sorted(by_id)}.")
    return [by_id[i] for i in ids]


def verdict_summary(claims: Iterable[Claim]) -> Markdown:
    """One line per verdict, the claims that received it, in the table's order.

    The chapter pages open their findings with it, so that the prose never states
    a verdict the code did not compute.
    """
    claims = list(claims)
    lines = []
    for name in Verdict:
        names = [c.name for c in claims if c.verdict == name]
        if names:
            lines.append(f"- **{name}** ({len(names)} of {len(claims)}): " + "; ".join(names) + ".")
    return Markdown("\n".join(lines))
