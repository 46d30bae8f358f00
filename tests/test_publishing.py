"""Reading the book online: its references (book/references.bib and the References page), how to cite it
(CITATION.cff), its GitHub Pages workflow (.github/workflows/book.yml) and its launch buttons (Binder, Colab)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import tomllib
from collections import Counter
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[1]
BIB = ROOT / "book" / "references.bib"
CONFIG = yaml.safe_load((ROOT / "_config.yml").read_text())
WORKFLOW = ROOT / ".github" / "workflows" / "book.yml"
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())

# The four papers the book reproduces: bib key -> (year, family names in order, title).
PAPERS = {
    "sato2025explaining": (2025, ["Sato", "Sakamoto"],
                           "Explaining Grokking and Information Bottleneck through Neural Collapse Emergence"),
    "tan2023understanding": (2023, ["Tan", "Huang"], "Understanding Grokking Through A Robustness Viewpoint"),
    "khanh2026spectral": (2026, ["Khanh", "Hoa", "Trung", "Duc"],
                          "Spectral Entropy Collapse as an Empirical Signature of Delayed Generalisation in Grokking"),
    "han2025flatness": (2025, ["Han", "Adilova", "Petzka", "Kleesiek", "Kamp"],
                        "Flatness is Necessary, Neural Collapse is Not: Rethinking Generalization via Grokking"),
}

# {cite}`a`, {cite:t}`a,b`, {cite:ps}`a` ... in MyST markdown
CITE = re.compile(r"\{cite(?::[a-z]+)?\}`([^`]+)`")


def tool(name: str) -> str | None:
    """A command installed in this environment (.venv/bin) or on PATH."""
    here = Path(sys.executable).parent / name
    return str(here) if here.exists() else shutil.which(name)


def check_jsonschema(schema: str, *paths: Path) -> subprocess.CompletedProcess:
    exe = tool("check-jsonschema")
    if exe is None:
        pytest.skip("check-jsonschema is not installed (the [test] extra installs it)")
    return subprocess.run([exe, "--builtin-schema", schema, *map(str, paths)],
                          capture_output=True, text=True, timeout=120)


def bib_keys() -> list[str]:
    return re.findall(r"^@\w+\{([^,\s]+),", BIB.read_text(), re.M)


def markdown_sources() -> dict[str, str]:
    """The text of every book page and every notebook's markdown cells."""
    texts = {str(p.relative_to(ROOT)): p.read_text() for p in sorted((ROOT / "book").glob("*.md"))}
    for path in sorted((ROOT / "notebooks").glob("*.ipynb")):
        cells = json.loads(path.read_text())["cells"]
        texts[str(path.relative_to(ROOT))] = "\n".join(
            "".join(cell["source"]) for cell in cells if cell["cell_type"] == "markdown")
    return texts


# --- references ---------------------------------------------------------------------------------------------


def test_bib_keys_are_unique_and_include_the_four_papers():
    keys = bib_keys()
    assert len(keys) == len(set(keys)), f"book/references.bib defines a key twice: {sorted(keys)}"
    assert set(PAPERS) <= set(keys)


def test_bib_entries_parse_with_their_authors_years_and_titles():
    database = pytest.importorskip("pybtex.database", reason="pybtex comes with jupyter-book (the [book] extra)")
    entries = database.parse_file(str(BIB)).entries
    for key, entry in entries.items():
        assert {"title", "year"} <= set(entry.fields) and entry.persons.get("author"), f"{key} lacks author/title/year"
        assert re.fullmatch(r"(19|20)\d\d", entry.fields["year"]), f"{key}: year {entry.fields['year']!r}"
    for key, (year, families, title) in PAPERS.items():
        entry = entries[key]
        assert int(entry.fields["year"]) == year and entry.fields["title"] == title, key
        assert [" ".join(p.last_names) for p in entry.persons["author"]] == families, key


def test_every_citation_in_the_book_names_an_entry():
    keys = set(bib_keys())
    cited = {page: {k.strip() for group in CITE.findall(text) for k in group.split(",")}
             for page, text in markdown_sources().items()}
    unknown = {page: sorted(ks - keys) for page, ks in cited.items() if ks - keys}
    assert not unknown, f"cited but not in book/references.bib: {unknown}"
    intro = cited["book/intro.md"]
    assert set(PAPERS) <= intro, "the introduction cites each of the four papers"


def test_bibtex_is_enabled_and_the_references_page_ends_the_table_of_contents():
    assert CONFIG["bibtex_bibfiles"] == ["book/references.bib"]
    assert CONFIG["sphinx"]["config"]["bibtex_reference_style"] == "author_year"
    page = (ROOT / "book" / "references.md").read_text()
    assert re.search(r"^```\{bibliography\}\n:all:\n```$", page, re.M), "the page lists every entry (:all:)"
    last = yaml.safe_load((ROOT / "_toc.yml").read_text())["parts"][-1]
    assert last == {"caption": "References", "chapters": [{"file": "book/references"}]}


def test_book_extra_names_sphinxcontrib_bibtex():
    book = PYPROJECT["project"]["optional-dependencies"]["book"]
    assert "sphinxcontrib-bibtex" in {Requirement(r).name for r in book}


# --- CITATION.cff ---------------------------------------------------------------------------------------------


def citation() -> dict:
    return yaml.safe_load((ROOT / "CITATION.cff").read_text())


def test_citation_cff_has_the_required_fields():
    cff = citation()
    assert cff["cff-version"] == "1.2.0" and cff["message"].strip()
    assert cff["title"] == "The grokking book"
    assert cff["authors"] == [{"name": "The grokking book authors"}], "one entity author"
    assert str(cff["version"]) == PYPROJECT["project"]["version"], "CITATION.cff and pyproject.toml name one version"
    assert str(cff["date-released"]) == "2026-12-02"
    assert "license" not in cff, "the repository states no license, so CITATION.cff must not claim one"


def test_citation_cff_references_are_the_four_papers_of_the_bibliography():
    refs = citation()["references"]
    assert [r["title"] for r in refs] == [title for _, _, title in PAPERS.values()]
    for ref, (year, families, _) in zip(refs, PAPERS.values()):
        assert ref["type"] == "article" and ref["year"] == year, ref["title"]
        assert [a["family-names"] for a in ref["authors"]] == families, ref["title"]
        assert re.fullmatch(r"https://arxiv\.org/abs/\d{4}\.\d{5}(v\d+)?", ref["url"]), ref["url"]


def test_citation_cff_validates_against_the_cff_1_2_0_schema(tmp_path):
    ok = check_jsonschema("vendor.citation-file-format", ROOT / "CITATION.cff")
    assert ok.returncode == 0, ok.stdout + ok.stderr
    broken = tmp_path / "CITATION.cff"
    broken.write_text((ROOT / "CITATION.cff").read_text().replace('date-released: "2026-12-02"',
                                                                   'date-released: "2026-13-02"'))
    bad = check_jsonschema("vendor.citation-file-format", broken)
    assert bad.returncode != 0 and "date-released" in bad.stdout, "the schema check must catch an invalid date"


# --- the GitHub Pages workflow ---------------------------------------------------------------------------------


def workflow() -> dict:
    return yaml.safe_load(WORKFLOW.read_text())


def steps_using(job: dict, action: str) -> list[dict]:
    return [s for s in job["steps"] if s.get("uses", "").split("@")[0] == action]


def test_workflow_builds_on_push_to_main_and_by_hand():
    wf = workflow()
    triggers = wf.get("on", wf.get(True))  # YAML 1.1 reads the bare key `on` as true
    assert triggers["push"]["branches"] == ["main"] and "workflow_dispatch" in triggers
    assert wf["permissions"]["pages"] == "write" and wf["permissions"]["id-token"] == "write"
    assert wf["concurrency"]["group"]


def test_workflow_build_job_runs_make_book_and_uploads_the_html():
    build = workflow()["jobs"]["build"]
    assert steps_using(build, "actions/checkout")
    (python,) = steps_using(build, "actions/setup-python")
    assert str(python["with"]["python-version"]) == "3.11" and python["with"]["cache"] == "pip"
    caches = steps_using(build, "actions/cache")
    venv = [c for c in caches if c["with"]["path"].strip() == ".venv"]
    assert venv and "hashFiles('pyproject.toml', 'environment.yml')" in venv[0]["with"]["key"]
    runs = [s.get("run", "") for s in build["steps"]]
    assert any(re.match(r"make book\b", r) for r in runs)
    (upload,) = steps_using(build, "actions/upload-pages-artifact")
    assert upload["with"]["path"] == "_build/html"
    order = [s.get("uses", s.get("run", "")).split("@")[0] for s in build["steps"]]
    assert order.index("actions/checkout") < order.index(next(r for r in runs if r.startswith("make book")))
    assert order.index(next(r for r in runs if r.startswith("make book"))) < order.index(
        "actions/upload-pages-artifact")


def test_workflow_deploy_job_deploys_the_build():
    jobs = workflow()["jobs"]
    deploy = jobs["deploy"]
    needs = deploy["needs"] if isinstance(deploy["needs"], list) else [deploy["needs"]]
    assert set(needs) <= set(jobs) and "build" in needs
    assert deploy["environment"]["name"] == "github-pages"
    (step,) = steps_using(deploy, "actions/deploy-pages")
    assert step["id"] in deploy["environment"]["url"]


def test_workflow_validates_against_githubs_schema():
    ok = check_jsonschema("vendor.github-workflows", *sorted(WORKFLOW.parent.glob("*.yml")))
    assert ok.returncode == 0, ok.stdout + ok.stderr


@pytest.mark.parametrize("old, new", [
    ("    runs-on: ubuntu-latest\n    timeout-minutes", "    runs_on: ubuntu-latest\n    timeout-minutes"),
    ("  workflow_dispatch:\n", "  workflow-dispatch:\n"),
    ("      - name: Check out\n        uses:", "      - name: Check out\n        use:"),
], ids=["job-key-typo", "trigger-typo", "step-key-typo"])
def test_schema_check_rejects_a_broken_copy_of_the_workflow(tmp_path, old, new):
    text = WORKFLOW.read_text()
    assert text.count(old) == 1
    broken = tmp_path / "book.yml"
    broken.write_text(text.replace(old, new))
    result = check_jsonschema("vendor.github-workflows", broken)
    assert result.returncode != 0, f"a workflow with {new.strip()!r} passed the schema check"


def test_actionlint_accepts_the_workflow_where_installed(tmp_path):
    """actionlint also checks expressions and job references; no PyPI package installs it without downloading its
    binary from GitHub, so it runs only where a developer has it on PATH."""
    exe = tool("actionlint")
    if exe is None:
        pytest.skip("actionlint is not on PATH (optional; make lint checks the workflows with check-jsonschema)")
    ok = subprocess.run([exe, "-no-color", str(WORKFLOW)], capture_output=True, text=True, timeout=120)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    broken = tmp_path / "book.yml"
    broken.write_text(WORKFLOW.read_text().replace("    needs: build\n", "    needs: biuld\n"))
    bad = subprocess.run([exe, "-no-color", str(broken)], capture_output=True, text=True, timeout=120)
    assert bad.returncode != 0 and "biuld" in bad.stdout


def test_make_lint_checks_the_workflows_and_the_citation_file():
    makefile = (ROOT / "Makefile").read_text()
    lint = re.search(r"^lint: .*\n((?:\t.*\n)+)", makefile, re.M).group(1)
    assert "\t$(VENV)/bin/check-jsonschema --builtin-schema vendor.github-workflows .github/workflows/*.yml\n" in lint
    assert "\t$(VENV)/bin/check-jsonschema --builtin-schema vendor.citation-file-format CITATION.cff\n" in lint
    assert "check-jsonschema" in {Requirement(r).name for r in PYPROJECT["project"]["optional-dependencies"]["test"]}


# --- launch buttons and Binder ---------------------------------------------------------------------------------


def test_launch_buttons_open_the_repository_on_binder_and_colab():
    launch = CONFIG["launch_buttons"]
    assert launch == {"notebook_interface": "jupyterlab", "binderhub_url": "https://mybinder.org",
                      "colab_url": "https://colab.research.google.com"}
    repo = CONFIG["repository"]
    assert re.fullmatch(r"https://github\.com/[\w.-]+/[\w.-]+", repo["url"]) and repo["branch"] == "main"
    assert repo["path_to_book"] == "", "the book's root is the repository's root; '.' puts './' into every link"


def test_binder_installs_the_package_with_its_book_extras_and_pyprojects_cpu_torch():
    lines = [line.split("#")[0].strip() for line in (ROOT / "binder" / "requirements.txt").read_text().splitlines()]
    lines = [line for line in lines if line]
    (torch,) = [r for r in PYPROJECT["project"]["dependencies"] if Requirement(r).name == "torch"]
    pin = next(iter(Requirement(torch).specifier)).version
    assert f"torch=={pin}+cpu" in lines, f"binder/requirements.txt must install torch {pin}, the CPU build"
    assert "--extra-index-url https://download.pytorch.org/whl/cpu" in lines
    assert "-e .[book]" in lines and "book" in PYPROJECT["project"]["optional-dependencies"]
    runtime = (ROOT / "binder" / "runtime.txt").read_text().strip()
    version = re.fullmatch(r"python-(\d+\.\d+)", runtime).group(1)
    assert PYPROJECT["project"]["requires-python"] == f">={version}", (
        "Binder runs the oldest Python that the package supports")


# --------------------------------------------------------------------------- MathJax served with the book
def test_the_book_serves_mathjax_itself(tmp_path, monkeypatch):
    """book/_ext/offline_mathjax.py copies MathJax into the built site and points Sphinx at it, so that math renders
    without the CDN; the configuration it names exists in the copy."""
    assert CONFIG["sphinx"]["local_extensions"].get("offline_mathjax") == "book/_ext"
    monkeypatch.syspath_prepend(str(ROOT / "book" / "_ext"))
    import offline_mathjax

    target = offline_mathjax.copy_mathjax(tmp_path)
    assert target == tmp_path / "_static" / "mathjax" and (target / "MathJax.js").is_file()
    path, _, query = offline_mathjax.MATHJAX_PATH.partition("?config=")
    assert (tmp_path / "_static" / path).is_file() and (target / "config" / f"{query}.js").is_file()
    assert (target / "jax" / "output" / "HTML-CSS").is_dir() and any((target / "fonts").iterdir())
    assert "math" in offline_mathjax.MATHJAX2_CONFIG["tex2jax"]["processClass"].split("|")
    requirements = {Requirement(r).name for r in PYPROJECT["project"]["optional-dependencies"]["book"]}
    assert "jupyter-server-mathjax" in requirements



# --------------------------------------------------------------------------- the browser check's pieces
def test_the_browser_check_finds_pages_anchors_raw_math_and_external_errors(tmp_path, monkeypatch):
    """tools/check_book_in_browser.py (make browser-check runs it on the built book in chromium): which pages it
    opens, how it resolves anchors, what counts as raw math and as an external resource."""
    monkeypatch.syspath_prepend(str(ROOT / "tools"))
    import check_book_in_browser as check

    (tmp_path / "_static").mkdir()
    (tmp_path / "notebooks").mkdir()
    for name in ("index.html", "search.html", "genindex.html", "_static/x.html", "notebooks/p3_00_chapter.html"):
        (tmp_path / name).write_text('<h1 id="top">t</h1>')
    assert check.pages(tmp_path) == [tmp_path / "index.html", tmp_path / "notebooks" / "p3_00_chapter.html"]
    assert check.CHAPTER.search("notebooks/p3_00_chapter.html") and not check.CHAPTER.search("notebooks/p3_lemmas.html")
    index = tmp_path / "index.html"
    assert check._anchor_exists(index, "top") and not check._anchor_exists(index, "x")
    assert check.RAW_DOLLAR_MATH.search(r"where $\tilde H$ falls") and not check.RAW_DOLLAR_MATH.search("$5 and $6")
    base = "http://127.0.0.1:8000/"
    assert check._external("https://cdn.jsdelivr.net/npm/x.js - Failed to load resource", base)
    assert not check._external("http://127.0.0.1:8000/_static/a.js - Failed to load resource: 404", base)
    page = ('<script src="../_static/a.js"></script><script defer src="https://cdn.example.org/require.min.js">'
            '</script><script type="application/json">{"src": "https://x.org/y.js"}</script>'
            '<link rel="stylesheet" href="//fonts.example.org/a.css"><link rel="canonical" href="https://x.org/p.html">'
            '<link href="https://cdn.example.org/b.css" rel="preload"><a href="https://example.org/">a link</a>')
    assert check.external_assets(page) == ["https://cdn.example.org/require.min.js", "//fonts.example.org/a.css",
                                           "https://cdn.example.org/b.css"]
    assert check.external_assets('<script src="_static/mathjax/MathJax.js?config=x"></script>') == []
    makefile = (ROOT / "Makefile").read_text()
    assert "browser-check: $(STAMP) browser" in makefile
    assert "apt-get install -y -qq chromium chromium-driver" in makefile
    test_recipe = makefile.split("\ntest:", 1)[1].split("\n\n", 1)[0]
    assert test_recipe.index("$(MAKE) book") < test_recipe.index("$(MAKE) browser-check"), (
        "make test opens the book it just built in the browser")
    assert "not yet part of make test" not in makefile


def test_the_browser_check_resolves_links_and_redirects_and_sorts_console_errors(tmp_path, monkeypatch):
    """The browser check's pure logic: a link is broken when its file (a folder: its index.html) is missing or lies
    outside the site, or its anchor is; the site's index.html only redirects (checked by its target); console
    errors are problems unless they come from another host (a note) or match a named ALLOWED_CONSOLE entry."""
    monkeypatch.syspath_prepend(str(ROOT / "tools"))
    import check_book_in_browser as check

    site = tmp_path / "site"
    (site / "book" / "api").mkdir(parents=True)
    (site / "notebooks").mkdir()
    page = site / "book" / "intro.html"
    page.write_text('<section id="how-to-use-this-book"><a name="old">x</a></section>')
    (site / "book" / "api" / "index.html").write_text('<h1 id="api">API</h1>')
    (site / "notebooks" / "p1 fig.html").write_text('<h1 id="fig-2">Fig</h1>')
    (tmp_path / "outside.html").write_text("")
    ok = ["#how-to-use-this-book", "#old", "intro.html", "api/", "api/index.html#api", "mailto:a@b.c",
          "../notebooks/p1%20fig.html#fig-2", "https://example.org/x.html#nowhere", "javascript:void(0)"]
    assert [check.link_problem(site, page, href) for href in ok] == [None] * len(ok)
    assert check.link_problem(site, page, "missing.html") == "broken link: missing.html"
    assert check.link_problem(site, page, "../../outside.html") == "broken link: ../../outside.html"
    assert check.link_problem(site, page, "#nowhere") == "link to a missing anchor: #nowhere"
    assert check.link_problem(site, page, "api/#top") == "link to a missing anchor: api/#top"

    redirect = '<meta http-equiv="Refresh" content="0; url=book/intro.html" />'  # jupyter-book's index.html
    assert check.redirect_target(redirect) == "book/intro.html"
    assert check.redirect_target("<meta http-equiv='refresh' content='5;URL=a%20b.html'>") == "a b.html"
    assert check.redirect_target(page.read_text()) is None
    (site / "index.html").write_text(redirect)
    assert check.check_page(None, "http://127.0.0.1:8000/", site, site / "index.html", []) == []  # no browser needed
    (site / "index.html").write_text(redirect.replace("intro", "gone"))
    assert check.check_page(None, "http://127.0.0.1:8000/", site, site / "index.html", []) == [
        "index.html: redirects to a missing page (broken link: book/gone.html)"]

    base = "http://127.0.0.1:8000/"
    thebe = f"{base}book/intro.html 61:12 Uncaught SyntaxError: Identifier 'THEBE_JS_URL' has already been declared"
    entries = [{"level": "SEVERE", "message": thebe},
               {"level": "WARNING", "message": f"{base}book/intro.html - a warning is not an error"},
               {"level": "SEVERE", "message": "https://cdn.jsdelivr.net/npm/x.js - Failed to load resource"},
               {"level": "SEVERE", "message": "about:blank - Failed to load resource: net::ERR_FAILED"}]
    assert check.ALLOWED_CONSOLE == {}, "every console error the book had is fixed at its source"
    notes, tolerated = [], Counter()
    assert check.console_problems(entries, base, "book/intro.html", notes, tolerated) == [
        f"console error: {thebe}", "console error: about:blank - Failed to load resource: net::ERR_FAILED"]
    assert notes == ["book/intro.html: external resource not loaded: https://cdn.jsdelivr.net/npm/x.js - Failed to "
                     "load resource"] and not tolerated
    monkeypatch.setitem(check.ALLOWED_CONSOLE, "blank-font", re.compile(r"^about:blank - Failed to load resource"))
    assert check.allowed(entries[3]["message"]) == "blank-font" and check.allowed(thebe) is None
    assert check.console_problems(entries, base, "book/intro.html", [], tolerated) == [f"console error: {thebe}"]
    assert tolerated == Counter({"blank-font": 1})


def test_the_book_fixes_the_console_errors_at_their_source(tmp_path, monkeypatch):
    """What tools/check_book_in_browser.py found in every page's console, fixed where it came from: a favicon (no
    /favicon.ico 404), a valid colour mode for pydata-sphinx-theme (not "Got invalid theme mode: ."), MathJax 2's
    never-loading font declared local() (no about:blank font request, refused by CORS), and MathJax on every page
    (the sidebar's titles have math)."""
    favicon = CONFIG["html"]["favicon"]
    assert (ROOT / favicon).is_file() and favicon.startswith("book/")
    assert CONFIG["sphinx"]["config"]["html_context"]["default_mode"] in {"light", "dark", "auto"}
    assert CONFIG["sphinx"]["local_extensions"].get("inline_scripts_once") == "book/_ext"
    monkeypatch.syspath_prepend(str(ROOT / "book" / "_ext"))
    import offline_mathjax

    blank = offline_mathjax.MATHJAX2_CONFIG["HTML-CSS"]["styles"]["@font-face"]
    assert blank["font-family"] == "MathJax_Blank"
    assert blank["src"].startswith("local(") and "about:" not in blank["src"]

    class App:
        policy = None

        def set_html_assets_policy(self, policy):
            self.policy = policy

        def connect(self, *args, **kwargs):
            pass

    app = App()
    offline_mathjax.setup(app)
    assert app.policy == "always"


def test_each_inline_script_is_written_once(tmp_path):
    """book/_ext/inline_scripts_once.py: Sphinx 7 wrote the inline scripts that sphinx-thebe and sphinx-togglebutton
    add after the builder started twice (a SyntaxError, 'THEBE_JS_URL' declared twice, in every page's console); a
    small Sphinx project with both extensions and the book's theme has each once with it (and twice without, while
    the Sphinx in use has the bug)."""
    for module in ("sphinx", "sphinx_thebe", "sphinx_togglebutton", "sphinx_book_theme"):
        pytest.importorskip(module, reason="comes with jupyter-book (the [book] extra)")
    sys.path.insert(0, str(ROOT / "book" / "_ext"))
    try:
        import inline_scripts_once
    finally:
        sys.path.remove(str(ROOT / "book" / "_ext"))
    assert inline_scripts_once.inline_name(None) == inline_scripts_once.inline_name("") == ""
    assert inline_scripts_once.inline_name("a.js") == "a.js"

    source = tmp_path / "source"
    source.mkdir()
    (source / "index.rst").write_text("Title\n=====\n\nText.\n")
    counts = {}
    for fixed in (False, True):
        extensions = ["sphinx_thebe", "sphinx_togglebutton"] + (["inline_scripts_once"] if fixed else [])
        (source / "conf.py").write_text(f"import sys\nsys.path.insert(0, {str(ROOT / 'book' / '_ext')!r})\n"
                                          f"extensions = {extensions!r}\nhtml_theme = 'sphinx_book_theme'\n")
        out = tmp_path / f"html_{fixed}"
        build = subprocess.run([sys.executable, "-m", "sphinx", "-q", "-b", "html", str(source), str(out)],
                               capture_output=True, text=True, timeout=300)
        assert build.returncode == 0, build.stderr
        html = (out / "index.html").read_text()
        counts[fixed] = (html.count("const THEBE_JS_URL"), html.count("var togglebuttonSelector"))
    assert counts[True] == (1, 1)
    assert counts[False] in {(1, 1), (2, 2)}  # (1, 1) once Sphinx has sphinx-doc/sphinx#13402
