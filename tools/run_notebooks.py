"""Execute notebooks with papermill under one profile; fail on the first failing cell.

    python tools/run_notebooks.py --profile smoke            # every notebook (what CI runs)
    python tools/run_notebooks.py --profile quick notebooks/00_quickstart.ipynb

Executed copies go to ``_build/papermill/<profile>/``; the sources are untouched. Every notebook named is
checked (it exists, it is a page of the book) before the first one runs; each page checks its parameters
itself (``grokutils.pages.check_parameters``). Each notebook gets a fresh kernel, started as a fork of a
process that has already imported torch, SciPy and matplotlib (``tools/kernel_forkserver.py``) unless
``--no-fork`` is given.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def notebook_problems(notebooks: list[Path]) -> list[str]:
    """Why some of ``notebooks`` cannot run (missing, not a notebook, not a page of the book); empty if none."""
    pages = {path.stem for path in (ROOT / "notebooks").glob("*.ipynb")}
    problems = []
    for notebook in notebooks:
        if notebook.suffix != ".ipynb":
            problems.append(f"{notebook} is not a notebook (.ipynb)")
        elif not notebook.is_file():
            problems.append(f"{notebook} does not exist")
        elif notebook.stem not in pages:
            problems.append(f"{notebook} is not a page of the book (those are notebooks/*.ipynb: {sorted(pages)})")
    return problems


def main(argv: list[str] | None = None) -> int:
    import papermill

    if str(ROOT / "tools") not in sys.path:  # loaded by path (tests/test_pages.py), not run as a script
        sys.path.insert(0, str(ROOT / "tools"))
    import kernel_forkserver

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="*", type=Path, help="default: every notebooks/**/*.ipynb")
    parser.add_argument("--profile", default="smoke", choices=("smoke", "quick", "paper"))
    parser.add_argument("--kernel", default="python3")
    parser.add_argument("--no-fork", dest="fork", action="store_false",
                        help="start every kernel as a plain process, not as a fork of the preloaded server")
    args = parser.parse_args(argv)
    notebooks = args.notebooks or sorted(p for p in (ROOT / "notebooks").rglob("*.ipynb")
                                         if ".ipynb_checkpoints" not in p.parts)
    problems = notebook_problems(notebooks)
    if problems:
        parser.error("; ".join(problems) + ". Nothing was run.")
    out_dir = ROOT / "_build" / "papermill" / args.profile
    out_dir.mkdir(parents=True, exist_ok=True)
    forking = {"kernel_manager_class": kernel_forkserver.kernel_manager_class()} if (
        args.fork and kernel_forkserver.supported()) else {}
    total = time.perf_counter()
    for notebook in notebooks:
        start = time.perf_counter()
        print(f"[{args.profile}] {notebook.relative_to(ROOT) if notebook.is_absolute() else notebook} ...",
              flush=True)
        papermill.execute_notebook(str(notebook), str(out_dir / notebook.name), kernel_name=args.kernel,
                                   parameters={"profile": args.profile, "progress": False},
                                   cwd=str(notebook.resolve().parent), progress_bar=False, **forking)
        print(f"    ok in {time.perf_counter() - start:.1f} s", flush=True)
    print(f"{len(notebooks)} notebook(s) ran with profile {args.profile!r} in "
          f"{time.perf_counter() - total:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
