"""The package stays readable: no module over 600 lines."""

from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "grokutils"
MAX_LINES = 600


@pytest.mark.parametrize("path", sorted(PACKAGE.rglob("*.py")), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_module_is_under_the_line_limit(path):
    lines = len(path.read_text().splitlines())
    assert lines < MAX_LINES, f"{path.relative_to(PACKAGE)} has {lines} lines; split it by what it holds"
