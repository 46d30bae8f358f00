"""Sphinx extension of the book's API reference (book/api.md, book/api/*.md): how autodoc reads grokutils'
docstrings. _config.yml loads it (``sphinx: local_extensions``). It changes what Sphinx reads, never the
docstrings themselves, in five ways:

1. **Bars are text.** grokutils writes absolute values and norms as ``|x|`` (``|test − train|``,
   ``|ab − a'b'|``); reStructuredText reads ``|x|`` as a substitution reference, and an undefined one is an
   error. No grokutils docstring uses substitutions, so every ``|`` outside inline literals, interpreted text
   (roles) and literal blocks is escaped (``\\|``), which renders as the bar that was written.
2. **Napoleon for code objects only.** ``sphinx.ext.napoleon`` turns the Google-style sections (``Args:``,
   ``Returns:``) into Sphinx fields. It also reads the first line of every *data*, *attribute* and
   *property* docstring as ``type: description``, which grokutils does not follow: its ``#:`` comments are
   sentences that often contain a colon ("Bootstrap resamples behind every interval, and their seed (fixed:
   a rerun gives the same interval)"), which napoleon would render as the type "Bootstrap resamples behind
   every interval, and their seed (fixed". Those docstrings stay plain reStructuredText.
3. **Verbatim docstrings.** A docstring named in ``api_verbatim_docstrings`` (_config.yml) is shown as a
   literal block, exactly as written, instead of being parsed: for a docstring whose markup is not valid
   reStructuredText (tests/test_api_reference.py checks that each one named still fails to parse, so that a
   repaired docstring leaves the list).
4. **Names as Python sees them.** A cross-reference that Sphinx cannot resolve (``:class:`Result``` in
   :mod:`grokutils.sweep`, which imports it; ``:data:`grokutils.config.METRIC_NAMES```, which
   :mod:`grokutils.config` re-exports from :mod:`grokutils.config_checks`) is looked up as Python would
   look it up in the docstring's module, and links to the one documented object that is that very object
   (classes, functions and modules; data only when it is a non-empty container, since small numbers and
   strings are shared between modules). A class, function or module that Python finds outside grokutils
   (``torch.Tensor``, ``Path`` in a signature) is shown as text without a link: the book builds offline,
   without intersphinx. A bare name that Python does not find there (an import made only for type checkers)
   links to the one documented object of that name, if there is exactly one. Anything else stays a nitpick
   warning, which ``make book`` turns into an error.
5. **No borrowed docstrings.** A data object without a doc comment shows nothing rather than the docstring
   of its type (``dict``'s, for :data:`grokutils.metrics.REGISTRY`).
"""

from __future__ import annotations

import importlib
import inspect
import re

from sphinx.ext import napoleon
from sphinx.util.nodes import make_refnode

#: autodoc's object kinds whose docstrings napoleon leaves alone here.
PLAIN = frozenset({"data", "attribute", "property"})

# inline literals (``...``) and interpreted text (:role:`...` or `...`), in which a backslash is not an escape
_CODE_SPAN = re.compile(r"``.+?``|`[^`]+`")
_MISSING = object()


def escape_bars(lines: list[str]) -> list[str]:
    """``lines`` with every ``|`` escaped, except inside inline literals, interpreted text and literal blocks
    (the indented lines after a line that ends with ``::``)."""
    out, literal_indent = [], None
    for line in lines:
        stripped = line.lstrip()
        indent = len(line) - len(stripped)
        if literal_indent is not None and stripped and indent <= literal_indent:
            literal_indent = None  # the literal block ended at this line
        if literal_indent is not None or not stripped:
            out.append(line)
            continue
        pieces, end = [], 0
        for span in _CODE_SPAN.finditer(line):
            pieces += [line[end:span.start()].replace("|", "\\|"), span.group()]
            end = span.end()
        out.append("".join(pieces) + line[end:].replace("|", "\\|"))
        if stripped.endswith("::"):
            literal_indent = indent
    return out


def verbatim(lines: list[str]) -> list[str]:
    """The docstring as a literal block."""
    return ["::", ""] + ["   " + line if line.strip() else "" for line in lines] + [""]


def process_docstring(app, what, name, obj, options, lines) -> None:
    """autodoc's ``autodoc-process-docstring`` handler: rules 1, 2, 3 and 5 of the module docstring."""
    if name in app.config.api_verbatim_docstrings:
        lines[:] = verbatim(lines)
        return
    borrowed = type(obj).__doc__
    if what in ("data", "attribute") and isinstance(borrowed, str) and " ".join(lines).split() == borrowed.split():
        lines[:] = []  # rule 5
        return
    lines[:] = escape_bars(lines)
    if what not in PLAIN:
        napoleon._process_docstring(app, what, name, obj, options, lines)


def _object_at(path: str):
    """The object that the dotted ``path`` names (its longest importable module, then attributes), or
    ``_MISSING``."""
    parts = path.split(".")
    for i in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:i]))
        except ImportError:
            continue
        try:
            for attribute in parts[i:]:
                obj = getattr(obj, attribute)
        except AttributeError:
            return _MISSING
        return obj
    return _MISSING


def _identifiable(obj) -> bool:
    """Whether ``obj``'s identity tells where it was defined (see rule 4 of the module docstring)."""
    if inspect.ismodule(obj) or inspect.isclass(obj) or inspect.isroutine(obj) or isinstance(obj, property):
        return True
    return isinstance(obj, (tuple, list, dict, set, frozenset)) and len(obj) > 0


def resolve_by_object(app, env, node, contnode):
    """``missing-reference`` handler: rule 4 of the module docstring."""
    if node.get("refdomain") != "py":
        return None
    target, module, cls = node["reftarget"], node.get("py:module"), node.get("py:class")
    scopes = [f"{module}.{cls}" if module and cls else None, module, None]
    obj = next((found for scope in scopes if (found := _object_at(f"{scope}.{target}" if scope else target))
                is not _MISSING), _MISSING)
    domain = env.get_domain("py")
    last = target.rsplit(".", 1)[-1]
    named = [name for name in domain.objects if name.rsplit(".", 1)[-1] == last]
    if obj is _MISSING:
        same = named if "." not in target else []
    elif _identifiable(obj):
        same = [name for name in named if _object_at(name) is obj]
        home = getattr(obj, "__name__" if inspect.ismodule(obj) else "__module__", None) or ""
        if not same and not isinstance(obj, (tuple, list, dict, set, frozenset)) \
                and home.split(".")[0] not in ("grokutils", ""):
            return contnode  # outside grokutils: text without a link
    else:
        return None
    if len(same) != 1:
        return None
    entry = domain.objects[same[0]]
    return make_refnode(app.builder, node["refdoc"], entry.docname, entry.node_id, contnode, same[0])


def setup(app):
    app.add_config_value("api_verbatim_docstrings", [], "env", types=[list])
    app.setup_extension("sphinx.ext.napoleon")
    # napoleon connected its own handler; process_docstring replaces it (and calls it where it applies)
    replaced = False
    for listener in list(app.events.listeners.get("autodoc-process-docstring", [])):
        if listener.handler is napoleon._process_docstring:
            app.disconnect(listener.id)
            replaced = True
    if not replaced:
        raise RuntimeError("api_docstrings: sphinx.ext.napoleon's docstring handler was not found; "
                           "this Sphinx release registers it differently")
    app.connect("autodoc-process-docstring", process_docstring)
    app.connect("missing-reference", resolve_by_object)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
