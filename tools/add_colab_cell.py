"""Insert or update the Colab setup cell (``grokutils.colab``) in every notebook page, right after its title.

    python tools/add_colab_cell.py          # write every page of grokutils.pages.PAGES
    python tools/add_colab_cell.py --check  # change nothing; exit 1 if a page lacks the current cell

Idempotent: a page whose cell is already current is not rewritten. A cell with the id ``colab-setup`` found
elsewhere is moved to position 1 (after the title cell); other cells keep their ids and order. Run it again
after adding a page or changing ``grokutils/colab.py``.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from grokutils import colab  # noqa: E402
from grokutils.pages import PAGES  # noqa: E402


def with_cell(notebook: dict) -> dict:
    """``notebook`` with the current Colab cell in position 1 (after its first, title, cell) and no other copy."""
    cells = [c for c in notebook["cells"] if c.get("id") != colab.CELL_ID]
    if not cells or cells[0]["cell_type"] != "markdown":
        raise ValueError("a page's first cell must be its markdown title cell")
    return dict(notebook, cells=[cells[0], colab.cell(), *cells[1:]])


def update(path: Path, check: bool = False) -> bool:
    """Bring ``path`` up to date (or only compare, with ``check``); True when it was (or would be) changed."""
    notebook = json.loads(path.read_text(encoding="utf-8"))
    updated = with_cell(notebook)
    if updated == notebook:
        return False
    if not check:
        path.write_text(json.dumps(updated, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="change nothing; exit 1 if a page is not current")
    args = parser.parse_args(argv)
    changed = [name for name in PAGES if update(ROOT / "notebooks" / f"{name}.ipynb", args.check)]
    verb = "would change" if args.check else "updated"
    print(f"{verb} {len(changed)} of {len(PAGES)} notebook(s)" + (f": {', '.join(changed)}" if changed else ""))
    return 1 if args.check and changed else 0


if __name__ == "__main__":
    sys.exit(main())
