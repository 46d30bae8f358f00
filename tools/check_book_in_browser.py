"""Open the built book in a real headless browser and check every page as a reader would see it.

``make test`` runs it after ``make book`` (``make browser-check``; 15 s for the book's 35 pages on two busy cores).
Debian's ``chromium`` and ``chromium-driver`` drive it through selenium (``make browser`` installs them with
apt-get when they are missing; nothing is downloaded at run time). The site is served over HTTP from
``_build/html`` on a free local port. For every page:

- it loads no script and no stylesheet from another host: the book works offline (MathJax is served with it,
  and the explorer pages load no widget manager: ``_config.yml``'s ``nb_ipywidgets_js``);
- it loads with no error in the browser console (none is allowed: ``ALLOWED_CONSOLE``, a named allow-list where
  each entry says why its message is not the book's problem, is empty); any other resource of another host that
  does not load (the check runs offline) is listed as a note, not a problem;
- every image has a non-zero size;
- math is rendered: no formula is left as its TeX source (``\\(...\\)`` inside a ``math`` element, the navigation
  sidebar's included) and no raw ``$...$`` with a TeX command shows outside code;
- every internal link resolves (the file exists in the site; an anchor exists in it);
- every chapter page shows its claims table (coloured verdict badges).

A page that only redirects (the site's ``index.html``) is checked for its target's existence, not opened: the
target is a page of its own. Screenshots of the chapter pages go to ``_build/screenshots/`` for a person to look
at. Exit status 1 with one line per problem, 0 when every page passes.
"""

from __future__ import annotations

import argparse
import functools
import http.server
import re
import shutil
import socketserver
import sys
import threading
import time
from collections import Counter
from pathlib import Path
from urllib.parse import unquote, urldefrag, urlparse

ROOT = Path(__file__).resolve().parents[1]
SITE = ROOT / "_build" / "html"
SCREENSHOTS = ROOT / "_build" / "screenshots"
#: Pages that are not the book's (Sphinx's generated index and search) are not checked.
SKIPPED = {"genindex.html", "search.html", "py-modindex.html"}
#: Chapter pages: each must show a claims table, and is photographed.
CHAPTER = re.compile(r"notebooks/p\d_00_chapter\.html$")
#: A formula left as source: a TeX command between dollars, outside code.
RAW_DOLLAR_MATH = re.compile(r"\$[^$\n]{0,200}\\[A-Za-z]+[^$\n]{0,200}\$")
#: Seconds to wait for MathJax to typeset a page.
MATH_TIMEOUT = 60
#: A page that only sends the reader on (the site's index.html: ``<meta http-equiv="Refresh" content="0; url=...">``).
REDIRECT = re.compile(r"""<meta\s+http-equiv=["']refresh["']\s+content=["']\d+\s*;\s*url=([^"']+)["']""", re.I)

#: Console errors that are not the book's problem, by name, each with a comment that says why. Anything not matched
#: here fails the check: one regex per message, as narrow as the message allows. Empty: every console error the
#: book had was fixed where it came from (book/_ext/inline_scripts_once.py, book/_ext/offline_mathjax.py's
#: BLANK_FONT, _config.yml's html_context and favicon).
ALLOWED_CONSOLE: dict[str, re.Pattern] = {}


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:  # the browser's requests are not the check's output
        pass


def serve(site: Path) -> tuple[socketserver.TCPServer, str]:
    """Serve ``site`` over HTTP on a free local port, in a daemon thread."""
    handler = functools.partial(_QuietHandler, directory=str(site))
    server = socketserver.TCPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}/"


def browser():
    """Headless chromium with its console log, through Debian's chromedriver."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    binary = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    if not binary or not driver:
        sys.exit("chromium and chromedriver are needed: `make browser` installs Debian's chromium and "
                 "chromium-driver (apt-get, as root).")
    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--window-size=1280,1600"):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(service=Service(driver), options=options)


def pages(site: Path) -> list[Path]:
    """Every HTML page of the book (not ``_static``, ``_sources``, ``_images`` or Sphinx's index and search)."""
    return sorted(p for p in site.rglob("*.html") if not p.relative_to(site).parts[0].startswith("_")
                  and p.name not in SKIPPED)


_RENDERED = "'.MathJax, .MathJax_Display, .MathJax_SVG, mjx-container'"
_MATH_STATE = """
const rendered = %s;
const spans = Array.from(document.querySelectorAll('.math'));
const source = s => s.textContent.includes('\\\\(') || s.textContent.includes('\\\\[');
const pending = spans.filter(s => source(s) && !s.querySelector(rendered) && !s.parentElement.querySelector(rendered));
return [spans.length, pending.length];
""" % _RENDERED

_VISIBLE_TEXT = """
const clone = document.querySelector('main, article, body').cloneNode(true);
clone.querySelectorAll('pre, code, script, style, .MathJax_Preview, .MathJax, .MathJax_Display')
     .forEach(e => e.remove());
return clone.textContent;
"""


def _anchor_exists(target: Path, anchor: str) -> bool:
    text = target.read_text(errors="replace")
    return f'id="{anchor}"' in text or f"id='{anchor}'" in text or f'name="{anchor}"' in text


def _external(message: str, base: str) -> bool:
    """A console error about a resource of another host (a CDN the offline check cannot reach)."""
    url = message.split(" ", 1)[0]
    return url.startswith(("http://", "https://")) and not url.startswith(base)


def allowed(message: str) -> str | None:
    """The name of the ``ALLOWED_CONSOLE`` entry that a console error matches, or None: a problem."""
    return next((name for name, pattern in ALLOWED_CONSOLE.items() if pattern.search(message)), None)


def console_problems(entries: list[dict], base: str, name: str, notes: list[str],
                     tolerated: Counter | None = None) -> list[str]:
    """The console errors (level SEVERE) of chromium's log ``entries`` that are problems: not a resource of another
    host (appended to ``notes``) and not in ``ALLOWED_CONSOLE`` (counted in ``tolerated``). Each message starts with
    the URL it came from, so one logged after its page's checks, listed under the next page, still names its page."""
    problems = []
    for entry in entries:
        if entry["level"] != "SEVERE":
            continue
        if _external(entry["message"], base):
            notes.append(f"{name}: external resource not loaded: {entry['message'][:160]}")
        elif name_allowed := allowed(entry["message"]):
            if tolerated is not None:
                tolerated[name_allowed] += 1
        else:
            problems.append(f"console error: {entry['message'][:200]}")
    return problems


def external_assets(html: str) -> list[str]:
    """The URLs of the scripts and stylesheets that a page's ``html`` loads from another host."""
    urls = re.findall(r"""<script\b[^>]*\bsrc=["']((?:https?:)?//[^"']+)""", html, re.I)
    for tag in re.findall(r"<link\b[^>]*>", html, re.I):
        loads = re.search(r"""\brel=["'](?:stylesheet|preload|modulepreload)["']""", tag, re.I)
        url = re.search(r"""\bhref=["']((?:https?:)?//[^"']+)""", tag, re.I)
        if loads and url:
            urls.append(url.group(1))
    return urls


def redirect_target(html: str) -> str | None:
    """Where a page that only redirects (a ``<meta http-equiv="Refresh">``) sends the reader, or None."""
    match = REDIRECT.search(html)
    return unquote(match.group(1).strip()) if match else None


def link_problem(site: Path, page: Path, href: str) -> str | None:
    """What is wrong with a link of ``page`` (a file of the built site), or None: the file it names exists (a folder
    means its index.html) and so does its anchor. Links to other hosts, mail and scripts are not checked."""
    parsed = urlparse(href)
    if parsed.scheme or parsed.netloc or href.startswith(("mailto:", "javascript:")):
        return None
    path, anchor = urldefrag(href)
    target = (page.parent / unquote(path) if path else page).resolve()
    if target.is_dir():
        target = target / "index.html"
    if not target.is_file() or not target.is_relative_to(site.resolve()):
        return f"broken link: {href}"
    if anchor and target.suffix == ".html" and not _anchor_exists(target, unquote(anchor)):
        return f"link to a missing anchor: {href}"
    return None


def check_page(driver, base: str, site: Path, page: Path, notes: list[str],
               tolerated: Counter | None = None) -> list[str]:
    """Every problem of one page, as lines ``page: problem``; resources of other hosts that did not load (the
    check runs offline) are appended to ``notes`` instead, and console errors in ``ALLOWED_CONSOLE`` counted in
    ``tolerated`` by name."""
    name = page.relative_to(site).as_posix()
    html = page.read_text(errors="replace")
    target = redirect_target(html)
    if target is not None:  # checked as itself (it is a page of the book too): only that it exists
        problem = link_problem(site, page, target)
        return [f"{name}: redirects to a missing page ({problem})"] if problem else []
    driver.get(base + name)
    problems = [f"loads {url} from another host (the book must work offline)" for url in external_assets(html)]
    deadline = time.time() + MATH_TIMEOUT
    while True:
        total, pending = driver.execute_script(_MATH_STATE)
        if not pending or time.time() > deadline:
            break
        time.sleep(0.5)
    if pending:
        problems.append(f"{pending} of {total} formulas still TeX source after {MATH_TIMEOUT} s")
    raw = RAW_DOLLAR_MATH.findall(driver.execute_script(_VISIBLE_TEXT))
    if raw:
        problems.append(f"raw $...$ math in the text: {raw[0][:80]!r}")
    broken = driver.execute_script(
        "return Array.from(document.images).filter(i => !i.complete || i.naturalWidth === 0)"
        ".map(i => i.getAttribute('src'))")
    problems += [f"image without size: {src}" for src in broken]
    problems += console_problems(driver.get_log("browser"), base, name, notes, tolerated)
    for href in driver.execute_script("return Array.from(document.querySelectorAll('a[href]'))"
                                      ".map(a => a.getAttribute('href'))"):
        if problem := link_problem(site, page, href):
            problems.append(problem)
    if CHAPTER.search(name):
        if not driver.execute_script("return document.querySelectorAll('table span.verdict').length"):
            problems.append("chapter page without its claims table")
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        driver.save_screenshot(str(SCREENSHOTS / (page.stem + ".png")))
    return [f"{name}: {p}" for p in problems]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--site", type=Path, default=SITE, help="the built book (default: _build/html)")
    args = parser.parse_args(argv)
    if not (args.site / "index.html").is_file():
        sys.exit(f"no built book at {args.site}: run `make book` first.")
    server, base = serve(args.site)
    driver = browser()
    problems, notes, tolerated, checked = [], [], Counter(), pages(args.site)
    started = time.perf_counter()
    try:
        for page in checked:
            problems += check_page(driver, base, args.site, page, notes, tolerated)
        time.sleep(1)  # what the last page logs after its checks (a late font request) is read here
        problems += [f"(after the last page) {p}" for p in
                     console_problems(driver.get_log("browser"), base, "(after the last page)", notes, tolerated)]
    finally:
        driver.quit()
        server.shutdown()
    print(f"browser check: {len(checked)} pages in {time.perf_counter() - started:.0f} s, "
          f"{len(problems)} problems; screenshots in {SCREENSHOTS.relative_to(ROOT)}")
    for line in problems:
        print("  " + line)
    if tolerated:
        print("console errors allowed (ALLOWED_CONSOLE): "
              + ", ".join(f"{name} x{count}" for name, count in sorted(tolerated.items())))
    if notes:
        print(f"{len(notes)} resources of other hosts did not load here (the check runs offline; online they do):")
        for line in notes:
            print("  " + line)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
