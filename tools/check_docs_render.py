"""Look at the built docs in a real browser (headless Chromium) and list what renders badly.

    python tools/check_docs_render.py docs/_build/html            # after sphinx-build
    python tools/check_docs_render.py --build                      # build first (-W), then check
    python tools/check_docs_render.py docs/_build/html --pages index,performance --widths 1280

Every page is opened at a desktop width (1280 px) and a narrow one (800 px), after its load
event, its web fonts and MathJax's typesetting, and checked from the rendered layout:

* **clipped code**: a ``pre`` whose text is wider than its box and that does not scroll
  (``overflow-x`` neither ``auto`` nor ``scroll``), or that spills out of the content column;
* **wide tables**: a table wider than the content column that is not inside a box that
  scrolls horizontally and fits the column ("tables that fit or scroll");
* **figures**: an image that did not load, that spills out of the column, or that is shown
  at less than ``--min-image-scale`` of its natural width (its labels and legend shrink by
  the same factor: generate figures at a width that fits the column instead);
* **page overflow**: any element that reaches past the right edge of the window outside a
  scrolling box (the page would scroll sideways);
* **hidden overflow**: an element of the page body that cuts its own content off
  (``overflow: hidden`` or ``clip`` with content wider than the box);
* **broken resources and scripts**: a stylesheet, script or image answered with an HTTP
  error, or a script error in the page;
* **stray emphasis**: bold or italic that starts or ends inside a word or number, which is
  how Markdown renders two powers written ``2**16`` in one paragraph.

A full-page screenshot of each page at each width goes to ``--screenshots`` (default:
``screenshots/`` next to the html folder, e.g. ``docs/_build/screenshots/1280/index.png``).
The exit status is 1 with one line per problem, 0 when there is none, 2 on a usage error.

Needs ``pip install playwright`` and a Chromium: ``--chromium PATH``, else ``/usr/bin/chromium``
(Debian: ``apt-get install chromium``) or the one Playwright downloaded. Nothing here measures
time, so a slow machine cannot make it fail; it takes about 25 s on two cores, screenshots included.
"""

from __future__ import annotations

import argparse
import functools
import http.server
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_HTML = ROOT / "docs" / "_build" / "html"

# Runs in the page after it has settled; returns {problems: [{kind, what, detail}], scrolling: [...]}
# (scrolling: the code blocks and tables that scroll sideways, allowed but worth knowing).
# "Column": the body of the page (alabaster's div.body), the box the text is laid out in.
PROBE = r"""
async (minImageScale) => {
  await document.fonts.ready;
  if (window.MathJax && MathJax.startup && MathJax.startup.promise) { await MathJax.startup.promise; }
  await Promise.all(Array.from(document.images).map((img) => img.complete ? null :
    new Promise((done) => { img.addEventListener("load", done); img.addEventListener("error", done); })));

  const problems = [];
  const slack = 1;  // px of rounding
  const viewport = document.documentElement.clientWidth;
  const column = document.querySelector("div.body") || document.body;
  const style = (el) => getComputedStyle(el);
  // The column's content box: where text is laid out (its padding is margin to the eye).
  const outer = column.getBoundingClientRect();
  const col = {right: outer.right - parseFloat(style(column).paddingRight) - parseFloat(style(column).borderRightWidth)};
  col.width = col.right - outer.left - parseFloat(style(column).paddingLeft) - parseFloat(style(column).borderLeftWidth);
  const scrolls = (el) => ["auto", "scroll"].includes(style(el).overflowX);
  const clips = (el) => ["hidden", "clip"].includes(style(el).overflowX);
  const describe = (el) => {
    let s = el.tagName.toLowerCase();
    if (el.id) s += "#" + el.id;
    else if (el.classList.length) s += "." + Array.from(el.classList).slice(0, 2).join(".");
    const section = el.closest("section[id]");
    const text = (el.innerText || el.getAttribute("src") || "").trim().replace(/\s+/g, " ").slice(0, 60);
    return s + (section ? " in #" + section.id : "") + (text ? ' "' + text + '"' : "");
  };
  // The nearest ancestor (or the element) that scrolls horizontally, inside the column.
  const scroller = (el) => {
    for (let a = el; a && a !== column && a !== document.body; a = a.parentElement) {
      if (scrolls(a)) return a;
    }
    return null;
  };
  const add = (kind, el, detail) => problems.push({kind, what: describe(el), detail});

  for (const pre of column.querySelectorAll("pre")) {
    const r = pre.getBoundingClientRect();
    if (r.width === 0) continue;
    if (pre.scrollWidth > pre.clientWidth + slack && !scrolls(pre)) {
      add("clipped code", pre, `text ${pre.scrollWidth}px wide in a ${pre.clientWidth}px box that does not scroll (overflow-x: ${style(pre).overflowX})`);
    } else if (pre.scrollHeight > pre.clientHeight + slack && !["auto", "scroll"].includes(style(pre).overflowY)) {
      add("clipped code", pre, `text ${pre.scrollHeight}px high in a ${pre.clientHeight}px box that does not scroll (overflow-y: ${style(pre).overflowY})`);
    } else if (r.right > col.right + slack && !scroller(pre.parentElement)) {
      add("clipped code", pre, `box reaches ${Math.round(r.right - col.right)}px past the content column`);
    }
  }
  for (const table of column.querySelectorAll("table")) {
    const r = table.getBoundingClientRect();
    if (r.width === 0 || r.right <= col.right + slack) continue;
    const box = scroller(table);
    if (!box || box.getBoundingClientRect().right > col.right + slack) {
      add("wide table", table, `${Math.round(r.width)}px wide in a ${Math.round(col.width)}px column, no horizontal scroll`);
    }
  }
  for (const img of column.querySelectorAll("img")) {
    const r = img.getBoundingClientRect();
    if (!img.naturalWidth) { add("figure", img, "did not load"); continue; }
    if (r.right > col.right + slack && !scroller(img.parentElement)) {
      add("figure", img, `reaches ${Math.round(r.right - col.right)}px past the content column`);
    }
    const scale = r.width / img.naturalWidth;
    if (scale < minImageScale) {
      add("figure", img, `shown at ${Math.round(r.width)}px of its ${img.naturalWidth}px (${scale.toFixed(2)}x < ${minImageScale}): its text shrinks as much`);
    }
  }
  // Anything past the window's right edge that no scrolling box holds: report the outermost.
  if (document.documentElement.scrollWidth > viewport + slack) {
    for (const el of document.body.querySelectorAll("*")) {
      const r = el.getBoundingClientRect();
      if (r.width === 0 || r.right <= viewport + slack || scroller(el.parentElement || el)) continue;
      const parent = el.parentElement.getBoundingClientRect();
      if (el.parentElement !== document.body && parent.right > viewport + slack) continue;  // the parent is reported
      add("page overflow", el, `reaches ${Math.round(r.right - viewport)}px past the ${viewport}px window`);
    }
    if (!problems.some((p) => p.kind === "page overflow")) {
      problems.push({kind: "page overflow", what: "html", detail: `page ${document.documentElement.scrollWidth}px wide in a ${viewport}px window`});
    }
  }
  // Markdown reads a pair of 2**16-style powers in one paragraph as bold: "2<b>16 ... 2</b>22".
  for (const el of column.querySelectorAll("strong, em")) {
    const before = el.previousSibling, after = el.nextSibling;
    if ((before && before.nodeType === Node.TEXT_NODE && /[0-9A-Za-z]$/.test(before.textContent)) ||
        (after && after.nodeType === Node.TEXT_NODE && /^[0-9A-Za-z]/.test(after.textContent))) {
      add("stray emphasis", el, "bold or italic inside a word or number: a ** or * of the source read as markup (write `2**16` or 2¹⁶)");
    }
  }
  for (const el of column.querySelectorAll("*")) {
    if (el.tagName === "PRE" || !clips(el) || el.scrollWidth <= el.clientWidth + slack) continue;
    add("hidden overflow", el, `content ${el.scrollWidth}px wide cut to ${el.clientWidth}px (overflow-x: ${style(el).overflowX})`);
  }
  const scrolling = Array.from(column.querySelectorAll("pre, table")).filter(
    (el) => scrolls(el) && el.scrollWidth > el.clientWidth + slack).map(
    (el) => `${describe(el)}: ${el.scrollWidth}px in ${el.clientWidth}px`);
  return {problems, scrolling};
}
"""


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002  (the base class's name)
        pass


@contextmanager
def serve(root: Path) -> Iterator[str]:
    """Serve ``root`` on a free local port for the duration; yield its base URL."""
    handler = functools.partial(_QuietHandler, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


def find_chromium(explicit: str | None) -> str | None:
    """The Chromium to drive: ``explicit``, else the system's, else None (Playwright's own)."""
    if explicit:
        return explicit
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    return None


def check(
    html: Path,
    pages: list[str],
    widths: list[int],
    shots: Path | None,
    chromium: str | None,
    min_image_scale: float,
    verbose: bool = False,
) -> list[str]:
    """Open each page at each width; return one line per problem (screenshots as a side effect)."""
    from playwright.sync_api import sync_playwright

    problems: list[str] = []
    scrolling: dict[int, list[str]] = {}
    with serve(html) as base, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, headless=True)
        try:
            for width in widths:
                page = browser.new_page(viewport={"width": width, "height": 900})
                page.on(
                    "pageerror",
                    lambda exc, page=page, width=width: problems.append(f"{page.url} @{width}px: script error: {exc}"),
                )
                page.on(
                    "response",
                    lambda r, width=width: (
                        problems.append(f"{r.url} @{width}px: HTTP {r.status}") if r.status >= 400 else None
                    ),
                )
                for name in pages:
                    response = page.goto(base + name + ".html", wait_until="load")
                    if response is None or not response.ok:
                        problems.append(f"{name} @{width}px: HTTP {response.status if response else '?'}")
                        continue
                    found_here = page.evaluate(PROBE, min_image_scale)
                    scrolling.setdefault(width, []).extend(f"{name}: {what}" for what in found_here["scrolling"])
                    for found in found_here["problems"]:
                        # Markup does not change with the width: say it once.
                        at = "" if found["kind"] == "stray emphasis" else f" @{width}px"
                        line = f"{name}{at}: {found['kind']}: {found['what']}: {found['detail']}"
                        if line not in problems:
                            problems.append(line)
                    if shots is not None:
                        out = shots / str(width) / f"{name}.png"
                        out.parent.mkdir(parents=True, exist_ok=True)
                        page.screenshot(path=str(out), full_page=True)
                page.close()
        finally:
            browser.close()
    for width, scrolled in scrolling.items():
        print(f"note: at {width}px, {len(scrolled)} code block(s) or table(s) scroll sideways (allowed)")
        for line in scrolled if verbose else ():
            print(f"  {line}")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "html",
        nargs="?",
        type=Path,
        default=DEFAULT_HTML,
        help=f"the built html folder (default: {DEFAULT_HTML.relative_to(ROOT)})",
    )
    parser.add_argument("--build", action="store_true", help="run sphinx-build -W on docs/ into HTML first")
    parser.add_argument("--pages", help="comma-separated page names, e.g. index,performance (default: every page)")
    parser.add_argument("--widths", default="1280,800", help="window widths in px (default: 1280,800)")
    parser.add_argument(
        "--screenshots", type=Path, help="folder for the screenshots (default: screenshots/ beside HTML)"
    )
    parser.add_argument("--no-screenshots", action="store_true", help="check only")
    parser.add_argument("--chromium", help="the Chromium executable (default: chromium on PATH, else Playwright's)")
    parser.add_argument("-v", "--verbose", action="store_true", help="also list what scrolls sideways")
    parser.add_argument("--min-image-scale", type=float, default=0.8,
                        help="smallest rendered/natural width of an image (default: 0.8)")  # fmt: skip
    args = parser.parse_args(argv)

    started = time.perf_counter()
    html: Path = args.html.resolve()
    if args.build:
        cmd = [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q", "-b", "html", str(ROOT / "docs"), str(html)]
        if subprocess.run(cmd).returncode:
            print("check_docs_render: the docs did not build", file=sys.stderr)
            return 1
    if not (html / "index.html").is_file():
        parser.error(f"no index.html in {html}: build the docs first (or pass --build)")
    available = sorted(p.stem for p in html.glob("*.html"))
    pages = available if not args.pages else [name.strip().removesuffix(".html") for name in args.pages.split(",")]
    unknown = [name for name in pages if name not in available]
    if unknown:
        parser.error(f"--pages: no such page {', '.join(unknown)}; the pages are {', '.join(available)}")
    try:
        widths = [int(w) for w in args.widths.split(",")]
    except ValueError:
        parser.error(f"--widths: expected comma-separated integers, got {args.widths!r}")
    shots = None if args.no_screenshots else (args.screenshots or html.parent / "screenshots").resolve()
    try:
        import playwright  # noqa: F401
    except ImportError:
        print("check_docs_render: needs Playwright (pip install playwright) and a Chromium", file=sys.stderr)
        return 2

    problems = check(html, pages, widths, shots, find_chromium(args.chromium), args.min_image_scale, args.verbose)
    elapsed = time.perf_counter() - started
    for line in problems:
        print(line)
    where = f"; screenshots in {shots}" if shots else ""
    verdict = f"{len(problems)} problem(s)" if problems else "no problems"
    print(
        f"check_docs_render: {len(pages)} page(s) at {', '.join(map(str, widths))} px: {verdict} ({elapsed:.0f} s{where})"
    )
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
