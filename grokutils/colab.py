"""The hidden first code cell of every notebook page, from one source: on a bare runtime (the book's Colab
launch button), it fetches the book's repository and installs it, so that the page runs as in the book.

Colab opens a notebook's file from GitHub in a runtime that has neither grokutils nor the stored results. The
cell then clones the repository (:data:`REPOSITORY`, branch :data:`BRANCH`: ``_config.yml``'s
``repository``), installs it editable with pip (its core dependencies; a torch the runtime already has is kept,
see :data:`DEPENDENCIES_BESIDES_TORCH`), puts the clone first on ``sys.path``
(an editable install is seen by a new kernel only) and moves into its ``notebooks/`` folder, where the book
runs its notebooks. ``grokutils.runs.store_for("paper")`` then reads the clone's ``results/``, so the page's
default profile loads the stored runs instead of training. Where grokutils is importable (a local install, the
book build, papermill) the cell does nothing. It is tagged ``remove-cell``: the rendered book shows neither its
code nor its output.

``tools/add_colab_cell.py`` writes :func:`cell` into every page (``grokutils.pages.PAGES``) after its title
cell, and updates it there when this text changes; ``tests/test_colab.py`` checks that every page has it.
"""

from __future__ import annotations

#: The book's repository and branch (``_config.yml``: ``repository.url``, ``repository.branch``).
REPOSITORY = "https://github.com/grokking-book/grokking-book"
BRANCH = "main"
#: The cell's id in every notebook and its tags (jupyter-book's ``remove-cell``: input and output removed).
CELL_ID = "colab-setup"
TAGS = ["remove-cell"]

#: The core dependencies besides torch (``pyproject.toml``'s, checked by ``tests/test_colab.py``): what the cell
#: installs where the runtime already has a torch of its own.
DEPENDENCIES_BESIDES_TORCH = ("numpy>=1.26", "scipy>=1.11", "matplotlib>=3.8", "tqdm>=4.66", "mlxtend>=0.23",
                              "filelock>=3.12")

SOURCE = f"""\
# On Colab (or any Python without grokutils): fetch the book's repository, with its stored results, install it
# and run from its notebooks/ folder, as the book does. Where grokutils is installed, this cell does nothing.
# A torch already installed (Colab's, built for its GPU) is kept: installing the book's pinned release
# (pyproject.toml) over it would download gigabytes. The stored results were computed with the pinned one.
import importlib.util
import os
import sys

if importlib.util.find_spec("grokutils") is None:
    _repo = os.path.abspath("grokking-book")
    if not os.path.isdir(_repo):
        !git clone -q --depth 1 -b {BRANCH} {REPOSITORY} {{_repo}}
    if importlib.util.find_spec("torch") is None:
        %pip install -q -e {{_repo}}
    else:
        %pip install -q --no-deps -e {{_repo}}
        %pip install -q {" ".join(f'"{requirement}"' for requirement in DEPENDENCIES_BESIDES_TORCH)}
    sys.path.insert(0, _repo)
    os.chdir(os.path.join(_repo, "notebooks"))"""


def cell() -> dict:
    """The cell as nbformat 4.5 JSON: a code cell with no outputs, its id :data:`CELL_ID`, tagged :data:`TAGS`."""
    lines = SOURCE.splitlines(keepends=True)
    return {"cell_type": "code", "execution_count": None, "id": CELL_ID, "metadata": {"tags": list(TAGS)},
            "outputs": [], "source": lines}
