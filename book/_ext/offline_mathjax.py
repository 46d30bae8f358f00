"""Sphinx extension: the book serves MathJax itself, so that its math renders without the MathJax CDN.

The rendered book is read online, but also from a copy on disk, behind a proxy, or offline; with the CDN
unreachable every formula would show as raw ``\\(\\tilde H\\)``. MathJax 2.7 (the version the Jupyter server
ships, from the ``jupyter-server-mathjax`` package in the book's extra) is copied into the built site's
``_static/mathjax`` when the build ends, and Sphinx's ``mathjax_path`` points at it, with the TeX and MathML
input and the HTML-CSS output of its combined ``TeX-AMS-MML_HTMLorMML-full`` configuration (the one the package
ships). _config.yml loads it (``sphinx: local_extensions``).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import jupyter_server_mathjax

#: Where MathJax lands in the built site, and the path Sphinx's pages load it from (relative to ``_static``).
TARGET = "mathjax"
MATHJAX_PATH = f"{TARGET}/MathJax.js?config=TeX-AMS-MML_HTMLorMML-full"


def mathjax_source() -> Path:
    """The MathJax tree of the installed ``jupyter-server-mathjax`` (``MathJax.js`` at its top)."""
    source = Path(jupyter_server_mathjax.__file__).parent / "static"
    if not (source / "MathJax.js").is_file():
        raise FileNotFoundError(f"no MathJax.js under {source}: reinstall jupyter-server-mathjax "
                                f"(.venv/bin/pip install --force-reinstall jupyter-server-mathjax).")
    return source


def copy_mathjax(outdir: str | Path) -> Path:
    """Copy MathJax into ``outdir/_static/mathjax`` (kept if already there and complete); returns the folder."""
    target = Path(outdir) / "_static" / TARGET
    if not (target / "MathJax.js").is_file():
        shutil.copytree(mathjax_source(), target, dirs_exist_ok=True)
    return target


#: MathJax 2's own form of what MyST tells MathJax 3 (``processHtmlClass``): MyST marks every page's top section
#: ``tex2jax_ignore mathjax_ignore`` (so that a stray ``$`` in prose is left alone) and every formula it parsed
#: ``math``; MathJax 2 must skip the first and typeset the second.
#: The package ships MathJax's STIX-Web fonts only (not its default TeX fonts), so both outputs are told to use them.
MATHJAX2_CONFIG = {"tex2jax": {"ignoreClass": "tex2jax_ignore|mathjax_ignore",
                               "processClass": "tex2jax_process|mathjax_process|math|output_area"},
                   "HTML-CSS": {"availableFonts": [], "preferredFont": None, "webFont": "STIX-Web", "imageFont": None},
                   "SVG": {"font": "STIX-Web"}}


def _set_path(app, config) -> None:
    config.mathjax_path = MATHJAX_PATH
    config.mathjax2_config = MATHJAX2_CONFIG


def _copy(app, exception) -> None:
    if exception is None and app.builder.format == "html":
        copy_mathjax(app.outdir)


def setup(app):
    mathjax_source()  # fail at the start of a build, not after it, if MathJax is missing
    app.connect("config-inited", _set_path, priority=900)
    app.connect("build-finished", _copy)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
