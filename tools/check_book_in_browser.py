"""Open the built book in a real headless browser and check every page as a reader would see it.

``make test`` runs it after ``make book`` (``make browser-check``). Debian's ``chromium`` and ``chromium-driver``
drive it through selenium (``make browser`` installs them with apt-get when they are missing; nothing is
downloaded at run time). The site is served over HTTP from ``_build/html`` on a free local port. For every
page:

- it loads with no error in the browser console;
- every image has a non-zero size;
- math is rendered: no formula is left as its TeX source (``\\(...\\)`` inside a ``math`` element) and no raw
  ``$...$`` with a TeX command shows outside code;
- every internal link resolves (the file exists; an anchor exists in it);
- every chapter page shows its claims table (coloured verdict badges).

Screenshots of the chapter pages go to ``_build/screenshots/`` for a person to look at. Exit status 1 with one
line per problem, 0 when every page passes.
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


def check_page(driver, base: str, site: Path, page: Path, notes: list[str]) -> list[str]:
    """Every problem of one page, as lines ``page: problem``; resources of other hosts that did not load (the
    check runs offline) are appended to ``notes`` instead."""
    name = page.relative_to(site).as_posix()
    driver.get(base + name)
    problems = []
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
    for entry in driver.get_log("browser"):
        if entry["level"] != "SEVERE":
            continue
        if _external(entry["message"], base):
            notes.append(f"{name}: external resource not loaded: {entry['message'][:160]}")
        else:
            problems.append(f"console error: {entry['message'][:200]}")
    for href in driver.execute_script("return Array.from(document.querySelectorAll('a[href]'))"
                                      ".map(a => a.getAttribute('href'))"):
        parsed = urlparse(href)
        if parsed.scheme or parsed.netloc or href.startswith(("mailto:", "javascript:")):
            continue
        path, anchor = urldefrag(href)
        target = (page.parent / unquote(path)).resolve() if path else page
        if target.is_dir():
            target = target / "index.html"
        if not target.is_file():
            problems.append(f"broken link: {href}")
        elif anchor and target.suffix == ".html" and not _anchor_exists(target, anchor):
            problems.append(f"link to a missing anchor: {href}")
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
    problems, notes, checked = [], [], pages(args.site)
    started = time.perf_counter()
    try:
        for page in checked:
            problems += check_page(driver, base, args.site, page, notes)
    finally:
        driver.quit()
        server.shutdown()
    print(f"browser check: {len(checked)} pages in {time.perf_counter() - started:.0f} s, "
          f"{len(problems)} problems; screenshots in {SCREENSHOTS.relative_to(ROOT)}")
    for line in problems:
        print("  " + line)
    if notes:
        print(f"{len(notes)} resources of other hosts did not load here (the check runs offline; online they do):")
        for line in notes:
            print("  " + line)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
