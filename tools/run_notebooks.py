"""Execute notebooks with papermill under one profile; fail on the first failing cell.

    python tools/run_notebooks.py --profile smoke            # every notebook (what CI runs)
    python tools/run_notebooks.py --profile quick notebooks/00_quickstart.ipynb

Executed copies go to ``_build/papermill/<profile>/``; the sources are untouched. Every notebook named is
checked (it exists, it is a page of the book) before the first one runs; each page checks its parameters
itself (``grokutils.pages.check_parameters``). Each notebook gets a fresh kernel, started as a fork of a
process that has already imported torch, SciPy and matplotlib (``tools/kernel_forkserver.py``) unless
``--no-fork`` is given.

With ``--workers N`` (default: one per core) the notebooks run in N processes, each kernel on its share of
the cores. Notebooks that read a common run (``grokutils.pages.PAGES``) run one after another in the same
process, in the order given, so that no run is trained twice at once (:func:`chains`).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor
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


def chains(notebooks: list[Path], workers: int, profile: str) -> list[list[Path]]:
    """``notebooks`` in at most ``workers`` lists, each run in order by one process. Two pages that read a
    common run (:data:`grokutils.pages.PAGES`, under ``profile``) are in the same list, so that the first
    trains it and the second reads it; the lists are balanced by the number of runs their pages read."""
    from grokutils.pages import PAGES

    reads = {path: {config.key() for group in PAGES[path.stem].reads(profile).values() for config in group}
             if path.stem in PAGES else set() for path in notebooks}
    components: list[tuple[list[Path], set[str]]] = []  # pages and the runs they read
    for path in notebooks:  # merge every earlier component that shares a run with this page
        joined = [c for c in components if c[1] & reads[path]]
        components = [c for c in components if c not in joined] + [
            ([p for pages, _ in joined for p in pages] + [path], reads[path].union(*(runs for _, runs in joined)))]
    lists: list[list[Path]] = [[] for _ in range(max(1, min(workers, len(components))))]
    weight = [0] * len(lists)
    for pages, runs in sorted(components, key=lambda c: -len(c[1])):
        emptiest = weight.index(min(weight))
        lists[emptiest] += pages
        weight[emptiest] += len(runs) + 1
    order = {path: i for i, path in enumerate(notebooks)}
    return [sorted(chain, key=order.get) for chain in lists if chain]


def run_chain(chain: list[Path], profile: str, kernel: str, fork: bool, threads: int | None) -> str | None:
    """Run ``chain``'s notebooks one after another; the first failure's message (the rest are not run), or None."""
    import papermill

    import kernel_forkserver

    if threads is not None:
        kernel_forkserver.limit_kernel_threads(threads)
    forking = kernel_forkserver.client_options(fork)
    out_dir = ROOT / "_build" / "papermill" / profile
    out_dir.mkdir(parents=True, exist_ok=True)
    for notebook in chain:
        start = time.perf_counter()
        name = notebook.relative_to(ROOT) if notebook.is_absolute() else notebook
        print(f"[{profile}] {name} ...", flush=True)
        try:
            papermill.execute_notebook(str(notebook), str(out_dir / notebook.name), kernel_name=kernel,
                                       parameters={"profile": profile, "progress": False},
                                       cwd=str(notebook.resolve().parent), progress_bar=False, **forking)
        except Exception as error:  # papermill's error carries the failing cell's traceback
            return f"{name} failed:\n{error}"
        print(f"    {name} ok in {time.perf_counter() - start:.1f} s", flush=True)
    return None


def main(argv: list[str] | None = None) -> int:
    if str(ROOT / "tools") not in sys.path:  # loaded by path (tests/test_pages.py), not run as a script
        sys.path.insert(0, str(ROOT / "tools"))
    import kernel_forkserver

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="*", type=Path, help="default: every notebooks/**/*.ipynb")
    parser.add_argument("--profile", default="smoke", choices=("smoke", "quick", "paper"))
    parser.add_argument("--kernel", default="python3")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1,
                        help="processes running notebooks at once (default: one per core)")
    kernel_forkserver.add_fork_option(parser)
    args = parser.parse_args(argv)
    if args.workers < 1:
        parser.error(f"--workers must be at least 1, got {args.workers}. Nothing was run.")
    notebooks = args.notebooks or sorted(p for p in (ROOT / "notebooks").rglob("*.ipynb")
                                         if ".ipynb_checkpoints" not in p.parts)
    problems = notebook_problems(notebooks)
    if problems:
        parser.error("; ".join(problems) + ". Nothing was run.")
    total = time.perf_counter()
    planned = chains(notebooks, args.workers, args.profile)
    if len(planned) == 1:
        failures = [run_chain(planned[0], args.profile, args.kernel, args.fork, None)]
    else:
        threads = kernel_forkserver.share_of_cores(len(planned))
        print(f"{len(notebooks)} notebook(s) in {len(planned)} processes, {threads} thread(s) each", flush=True)
        with ProcessPoolExecutor(len(planned)) as pool:
            futures = [pool.submit(run_chain, chain, args.profile, args.kernel, args.fork, threads)
                       for chain in planned]
            failures = [future.result() for future in futures]
    failed = [failure for failure in failures if failure]
    for failure in failed:
        print(failure, file=sys.stderr, flush=True)
    print(f"{len(notebooks)} notebook(s) ran with profile {args.profile!r} in "
          f"{time.perf_counter() - total:.0f} s" + (f"; {len(failed)} process(es) stopped at a failure" if failed
                                                     else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
