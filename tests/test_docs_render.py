"""The built site, rendered at 1280 px by headless Chromium: nothing is cut, figures are wide.

The site is built as ``make docs`` builds it, served on 127.0.0.1 (an ephemeral port, a
stdlib ``http.server`` thread) and loaded in Debian's ``chromium``: a few pages for a
screenshot (kept in the test's temporary folder, to look at), and every page with
``--dump-dom``. The server adds a small probe script to every page it serves; after
layout the probe measures the page and writes what it found into the DOM, which the dump
returns. On every page:

* the page is no wider than the window (``document.documentElement.scrollWidth``);
* no code block needs a horizontal scrollbar (a wide diagram or code comment is cut);
* no identifier in a table breaks mid-word (a line ending between two word characters);
* no table is wider than the text column;
* every image loads, and the NDCG figure renders at least 600 px wide.

Skips with a message where chromium is absent (``apt-get install -y chromium``).
"""

from __future__ import annotations

import functools
import json
import re
import shutil
import struct
import subprocess
import tempfile
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

WIDTH = 1280
DOCS = Path(__file__).resolve().parents[1] / "docs"
# Every page of the site, as its URL path ("" is the home page).
PAGES = sorted(
    (str(page.relative_to(DOCS).with_suffix("")).removesuffix("index") + "/").lstrip("/")
    for page in DOCS.rglob("*.md")
)
SCREENSHOTS = ["", "feeds/", "local-recommender/", "configuration/"]
FIGURE = "local-recommender-ndcg10.png"


def _page_id(page: str) -> str:
    return page.strip("/").replace("/", "-") or "index"


# Runs after every image and stylesheet is loaded; the result is JSON in a script element
# ("<" escaped, so no text of the page can close it early).
PROBE = """
<script>
addEventListener("load", () => {
  const longest = (e) =>
    e.textContent.split("\\n").reduce((a, b) => (b.length > a.length ? b : a));
  // True when a line ends between two word characters (a letter, digit or _) of `e`.
  const breaksMidWord = (e) => {
    const walker = document.createTreeWalker(e, NodeFilter.SHOW_TEXT);
    const range = document.createRange();
    let prev = null;
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      for (let i = 0; i < node.length; i++) {
        range.setStart(node, i);
        range.setEnd(node, i + 1);
        const rect = range.getClientRects()[0];
        if (!rect) continue;
        const ch = node.data[i];
        if (prev && rect.top > prev.top + 1 && /\\w/.test(prev.ch) && /\\w/.test(ch)) {
          return true;
        }
        prev = { ch, top: rect.top };
      }
    }
    return false;
  };
  const report = {
    viewport: innerWidth,
    scrollWidth: document.documentElement.scrollWidth,
    wideCode: [...document.querySelectorAll(".md-content pre > code")]
      .filter((e) => e.scrollWidth > e.clientWidth + 1)
      .map((e) => `${e.scrollWidth - e.clientWidth} px over: ${longest(e)}`),
    brokenCode: [...document.querySelectorAll(".md-content td code, .md-content th code")]
      .filter((e) => e.getClientRects().length > 1 && breaksMidWord(e))
      .map((e) => e.textContent),
    scrollingTables: [...document.querySelectorAll(".md-content .md-typeset__scrollwrap")]
      .filter((e) => e.scrollWidth > e.clientWidth + 1)
      .map((e) => `${e.scrollWidth - e.clientWidth} px over: ${e.querySelector("tr").innerText}`),
    images: [...document.querySelectorAll(".md-content img")].map((e) => ({
      src: e.getAttribute("src"),
      width: Math.round(e.getBoundingClientRect().width),
      natural: e.naturalWidth,
    })),
  };
  const out = document.createElement("script");
  out.type = "application/json";
  out.id = "render-probe";
  out.textContent = JSON.stringify(report).replace(/</g, "\\\\u003c");
  document.body.append(out);
});
</script>
"""
REPORT = re.compile(r'<script type="application/json" id="render-probe">(.*?)</script>', re.DOTALL)


def _find_chromium() -> str | None:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None and Path("/usr/bin/chromium").is_file():
        found = "/usr/bin/chromium"
    return found


CHROMIUM = _find_chromium()


class _ProbingHandler(SimpleHTTPRequestHandler):
    """Serves the site; HTML pages get the probe before ``</body>``."""

    def do_GET(self) -> None:
        path = Path(self.translate_path(self.path))
        if path.is_dir():
            path /= "index.html"
        if path.suffix != ".html" or not path.is_file():
            super().do_GET()
            return
        body = path.read_text(encoding="utf-8").replace("</body>", PROBE + "</body>", 1)
        data = body.encode("utf-8")
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib's name
        """Quiet: the test reports what matters."""


@pytest.fixture(scope="module")
def served(docs_site: Path) -> Iterator[str]:
    """The built site on an ephemeral loopback port; yields its root URL."""
    handler = functools.partial(_ProbingHandler, directory=str(docs_site))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def _run_chromium(*args: str) -> subprocess.CompletedProcess[str]:
    """One headless Chromium, in a fresh profile, that fetches nothing but the page."""
    with tempfile.TemporaryDirectory(prefix="reclio-chromium-") as profile:
        return subprocess.run(  # noqa: S603 - fixed argv
            [
                CHROMIUM or "chromium",
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                f"--user-data-dir={profile}",
                f"--window-size={WIDTH},2000",
                *args,
            ],
            capture_output=True,
            text=True,
            check=False,
            timeout=120,
        )


def _png_size(path: Path) -> tuple[int, int]:
    header = path.read_bytes()[:24]
    assert header[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    width, height = struct.unpack(">II", header[16:24])
    return width, height


@functools.cache
def _report(url: str) -> dict[str, Any]:
    """What the probe measured on the page at ``url`` (each page is loaded once)."""
    done = _run_chromium(
        "--run-all-compositor-stages-before-draw", "--virtual-time-budget=10000", "--dump-dom", url
    )
    found = REPORT.search(done.stdout)
    assert found, f"no probe report from {url} (exit {done.returncode}): {done.stderr[-1500:]}"
    report: dict[str, Any] = json.loads(found.group(1))
    return report


def test_the_site_fetches_no_web_fonts(docs_site: Path) -> None:
    """theme.font is off: no page links Google Fonts (the site must work offline)."""
    pages = [p for p in docs_site.rglob("*.html") if "fonts.g" in p.read_text("utf-8")]
    assert pages == []


needs_chromium = pytest.mark.skipif(
    CHROMIUM is None, reason="chromium is not installed (Debian: apt-get install -y chromium)"
)


@needs_chromium
@pytest.mark.parametrize("page", SCREENSHOTS, ids=_page_id)
def test_screenshot_at_1280_px(page: str, served: str, tmp_path: Path) -> None:
    """Chromium renders the page into a 1280 px screenshot (kept in tmp_path, to look at)."""
    shot = tmp_path / f"{_page_id(page)}.png"
    done = _run_chromium("--hide-scrollbars", f"--screenshot={shot}", served + page)
    assert shot.is_file(), f"no screenshot of {page}: {done.stderr[-1500:]}"
    assert _png_size(shot) == (WIDTH, 2000)


@needs_chromium
@pytest.mark.parametrize("page", PAGES, ids=_page_id)
def test_page_fits_1280_px(page: str, served: str) -> None:
    """Nothing on the page is cut at 1280 px: the page, its code, its tables, its figures."""
    report = _report(served + page)
    assert report["viewport"] == WIDTH
    assert report["scrollWidth"] <= WIDTH, "something is wider than the window"
    assert report["wideCode"] == [], "code blocks cut at 1280 px (shorten these lines)"
    assert report["brokenCode"] == [], "identifiers broken mid-word in a table"
    assert report["scrollingTables"] == [], "tables wider than the text column"
    for image in report["images"]:
        assert image["natural"] > 0, f"{image['src']} did not load"


@needs_chromium
def test_the_ndcg_figure_renders_full_width(served: str) -> None:
    """The figure is a figure, not a thumbnail in a table cell: at least 600 px wide."""
    report = _report(served + "local-recommender/")
    (figure,) = [image for image in report["images"] if image["src"].endswith(FIGURE)]
    assert figure["natural"] > 0
    assert figure["width"] >= 600, f"the NDCG figure renders {figure['width']} px wide"
