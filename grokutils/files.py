"""Atomic file writes (a reader sees the old file or the new one, never half of one), and moving an
unreadable file aside (never deleting it) so that what it held can be recomputed."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO


def atomic_write(path: str | Path, write: Callable[[BinaryIO], object]) -> None:
    """Call ``write(binary_file)`` on a temporary file next to ``path``, then rename it onto ``path``.

    Creates the folder if needed. If ``write`` raises, ``path`` is left as it was and the temporary
    file is removed.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "wb") as handle:
            write(handle)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def move_aside(path: str | Path) -> Path:
    """Rename an unreadable ``path`` to ``<name>.corrupt`` (``<name>.corrupt.1``, ``.2``, … if that exists)
    and return the new path: its content stays on disk for inspection, and ``path`` is free to be
    written again."""
    path = Path(path)
    aside = path.with_name(f"{path.name}.corrupt")
    number = 0
    while aside.exists():
        number += 1
        aside = path.with_name(f"{path.name}.corrupt.{number}")
    os.replace(path, aside)
    return aside
