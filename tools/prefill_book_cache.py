"""Execute the book's notebooks in parallel into jupyter-book's execution cache, before the build.

    python tools/prefill_book_cache.py [--workers N] [--cache _build/.jupyter_cache]

jupyter-book (``execute_notebooks: cache``) executes one notebook after another. This fills the same
jupyter-cache database first, N notebooks at a time, exactly as myst-nb would (the notebook's folder as
working directory, the book's timeout, errors not allowed; the widgets' state is not stored, as the book shows
static figures in their place: ``_config.yml``'s ``nb_ipywidgets_js``), so that the build then finds every page
cached and only renders. Notebooks already cached are skipped. Each kernel gets one thread per worker's share of the
cores. A notebook that fails stops the command with its traceback and nothing is cached for it.

Each kernel is a fresh one, as in JupyterLab, but started as a fork of a process that has already imported
torch, SciPy, matplotlib and the rest (``tools/kernel_forkserver.py``: what that does and does not change),
which takes a kernel's start from about 5 s to under 2 s. ``--no-fork`` starts each kernel as a plain
``python -m ipykernel_launcher`` process.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

import nbformat
import yaml
from jupyter_cache import get_cache
from jupyter_cache.base import CacheBundleIn
from jupyter_cache.executors.utils import single_nb_execution

import kernel_forkserver
from grokutils.pages import PAGES

ROOT = Path(__file__).resolve().parents[1]


def book_notebooks() -> list[Path]:
    """The notebooks of ``_toc.yml``, in its order."""
    files = re.findall(r"file:\s*(\S+)", (ROOT / "_toc.yml").read_text())
    return [ROOT / f"{name}.ipynb" for name in files if (ROOT / f"{name}.ipynb").is_file()]


def trains_live(page: str) -> bool:
    """Whether the page trains a run in the book build (:data:`grokutils.pages.PAGES`): the slow ones."""
    runs = PAGES.get(page)
    return bool(runs and runs.trains_live("paper"))


def book_timeout() -> int:
    return int(yaml.safe_load((ROOT / "_config.yml").read_text())["execute"]["timeout"])


def _execute(path: Path, timeout: int, threads: int, fork: bool) -> tuple[Path, str, float, str | None]:
    kernel_forkserver.limit_kernel_threads(threads)
    notebook = nbformat.read(path, as_version=4)
    result = single_nb_execution(notebook, cwd=str(path.parent), timeout=timeout, allow_errors=False,
                                 meta_override=True, store_widget_state=False, **kernel_forkserver.client_options(fork))
    return path, nbformat.writes(notebook), result.time, result.exc_string if result.err else None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="*", type=Path, help="default: every notebook of _toc.yml")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--cache", type=Path, default=ROOT / "_build" / ".jupyter_cache")
    kernel_forkserver.add_fork_option(parser)
    args = parser.parse_args(argv)
    if args.workers < 1:
        parser.error(f"--workers must be at least 1, got {args.workers}")
    cache = get_cache(str(args.cache))
    missing = []
    chosen = [path.resolve() for path in args.notebooks] or book_notebooks()
    unknown = [str(path) for path in chosen if path not in book_notebooks()]
    if unknown:
        parser.error(f"not notebooks of the book (_toc.yml): {unknown}. Nothing was run.")
    for path in chosen:
        try:
            cache.match_cache_notebook(nbformat.read(path, as_version=4))
        except KeyError:
            missing.append(path)
    missing.sort(key=lambda path: not trains_live(path.stem))  # the longest first: they overlap the rest
    print(f"{len(missing)} notebook(s) to execute, {args.workers} at a time", flush=True)
    threads = kernel_forkserver.share_of_cores(args.workers)
    start, failed = time.perf_counter(), []
    with ProcessPoolExecutor(args.workers) as pool:
        futures = [pool.submit(_execute, path, book_timeout(), threads, args.fork) for path in missing]
        for future in as_completed(futures):
            path, text, seconds, error = future.result()
            name = path.relative_to(ROOT)
            if error:
                failed.append(name)
                print(f"  {name} FAILED after {seconds:.0f} s:\n{error}", file=sys.stderr, flush=True)
                continue
            cache.cache_notebook_bundle(CacheBundleIn(nbformat.reads(text, as_version=4), str(path),
                                                      data={"execution_seconds": seconds}),
                                        check_validity=False, overwrite=True)
            print(f"  {name}: {seconds:.0f} s", flush=True)
    print(f"executed in {time.perf_counter() - start:.0f} s", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
