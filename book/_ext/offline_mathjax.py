"""Sphinx extension: the book serves MathJax itself, so that its math renders without the MathJax CDN.

The rendered book is read online, but also from a copy on disk, behind a proxy, or offline; with the CDN
unreachable every formula would show as raw ``\\(\\tilde H\\)``. MathJax 2.7 (the version the Jupyter server
ships, from the ``jupyter-server-mathjax`` package in the book's extra) is copied into the built site's
``_static/mathjax`` when the build ends, and Sphinx's ``mathjax_path`` points at it, with the TeX and MathML
input and the HTML-CSS output of its combined ``TeX-AMS-MML_HTMLorMML-full`` configuration (the one the package
ships). Every page loads MathJax, not only the pages whose own text has math (Sphinx's default): the navigation
sidebar on every page shows the chapters' titles, some with math (``$\\tilde H^*$``), which would otherwise stay TeX
source on the pages without math of their own (the API reference, the references). _config.yml loads it
(``sphinx: local_extensions``).
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
#: The HTML-CSS output measures text in a font that is sure not to load (``MathJax_Blank``, its ``webFontDefault``)
#: to tell when a web font has arrived; MathJax declares it ``src: url('about:blank')``, which Chrome fetches and
#: refuses as a cross-origin font: "Access to font at 'about:blank' ... has been blocked by CORS policy" and
#: "about:blank - Failed to load resource" in the console of every page that loads a STIX-Web font file
#: (mathjax/MathJax#926, #2054). A ``local()`` font that no system has fails just the same, with no request and
#: no error; the formulas typeset in STIX-Web with the same widths (tools/check_book_in_browser.py checks the
#: console).
BLANK_FONT = {"font-family": "MathJax_Blank", "src": "local('MathJax_Blank_Missing')"}
MATHJAX2_CONFIG = {"tex2jax": {"ignoreClass": "tex2jax_ignore|mathjax_ignore",
                               "processClass": "tex2jax_process|mathjax_process|math|output_area"},
                   "HTML-CSS": {"availableFonts": [], "preferredFont": None, "webFont": "STIX-Web", "imageFont": None,
                                "styles": {"@font-face": BLANK_FONT}},
                   "SVG": {"font": "STIX-Web"}}


def _set_path(app, config) -> None:
    config.mathjax_path = MATHJAX_PATH
    config.mathjax2_config = MATHJAX2_CONFIG


def _copy(app, exception) -> None:
    if exception is None and app.builder.format == "html":
        copy_mathjax(app.outdir)


def setup(app):
    mathjax_source()  # fail at the start of a build, not after it, if MathJax is missing
    app.set_html_assets_policy("always")  # MathJax on every page: the sidebar's titles have math (the docstring)
    app.connect("config-inited", _set_path, priority=900)
    app.connect("build-finished", _copy)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
