"""The three profiles of every preset and result store: how long the runs of a chapter train.

``smoke`` takes seconds (CI), ``quick`` minutes (a laptop), ``paper`` is the full setup whose
results the rendered book shows. :mod:`grokutils.presets` picks a configuration per profile
and :func:`grokutils.runs.store_for` a store.
"""

from __future__ import annotations

PROFILES = ("smoke", "quick", "paper")


def check_profile(profile: str) -> str:
    """Return ``profile`` if it is one of :data:`PROFILES`, else raise ``ValueError`` saying which are."""
    if profile not in PROFILES:
        raise ValueError(f"profile={profile!r} is not known; expected one of {PROFILES} "
                         "(smoke: seconds, for CI; quick: minutes, on a laptop; paper: the stored runs).")
    return profile
