"""Sphinx extension: every inline ``<script>`` an extension adds appears once in a page, not twice.

Sphinx 7 (the series jupyter-book 1 requires) writes an inline script twice when an extension adds it with
``app.add_js_file(None, body=...)`` after the HTML builder started (on ``builder-inited`` or later).
``Sphinx.add_js_file`` records it in the registry and hands it to the builder with the file name ``None``; when the
builder prepares writing it adds every registered script again, this time with the name ``''``, and
``StandaloneHTMLBuilder.add_js_file``'s duplicate check compares the names (``None != ''``), so the second copy
stays. Two of the book's extensions add such scripts late: sphinx-thebe (``const THEBE_JS_URL = ...``, on
``env-before-read-docs``) and sphinx-togglebutton (``var togglebuttonSelector = ...``, on ``builder-inited``). The
second ``const`` is a SyntaxError in every page's console ("Identifier 'THEBE_JS_URL' has already been declared"),
which stops the rest of that script. Sphinx fixed it upstream (sphinx-doc/sphinx#13402, Sphinx 8.2: ``None``
becomes ``''`` before the builder sees it); this extension does the same for the Sphinx the book builds with: it
wraps the HTML builder's ``add_js_file`` so that an inline script's name is ``''`` whichever way it arrives, and
the builder's own duplicate check then drops the second copy. _config.yml loads it (``sphinx: local_extensions``);
tools/check_book_in_browser.py finds the error in a page's console if it comes back.
"""

from __future__ import annotations


def inline_name(filename: str | None) -> str:
    """The name the HTML builder records a script under: ``''`` for an inline script, whether it came as ``None``
    (``Sphinx.add_js_file``) or ``''`` (the builder's own re-adding of the registry)."""
    return filename or ""


def _normalise(app) -> None:
    builder = app.builder
    add = getattr(builder, "add_js_file", None)
    if add is None or getattr(add, "inline_scripts_once", False):
        return

    def add_js_file(filename, **kwargs):
        return add(inline_name(filename), **kwargs)

    add_js_file.inline_scripts_once = True
    builder.add_js_file = add_js_file


def setup(app):
    # before every other extension's builder-inited handler (default priority 500), which may add inline scripts
    app.connect("builder-inited", _normalise, priority=1)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
