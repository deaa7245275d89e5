"""The HTML report and the comparison report, opened in a real headless browser.

Chromium is not a dependency of segsim: these tests run where a ``chromium`` (or
``chromium-browser``, ``google-chrome``; or the path in ``SEGSIM_CHROMIUM``) is installed and
are skipped elsewhere. The page is loaded from ``file://`` with every host name unresolvable,
and a copy of it carries a small script that writes what the browser laid out into the DOM,
which ``--dump-dom`` prints: the page width, each table's right edge, each image's decoded
size and every resource the page fetched.
"""

from __future__ import annotations

import html
import json
import os
import re
import shutil
import subprocess
import warnings
from pathlib import Path

import pytest

import segsim as ss
from segsim.compare import ScheduledEditWarning

WINDOW_WIDTH = 1280


def _chromium() -> str | None:
    given = os.environ.get("SEGSIM_CHROMIUM")
    if given:
        return given
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        found = shutil.which(name)
        if found:
            return found
    return None


CHROMIUM = _chromium()
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="no chromium installed")

_MEASURE = """
<script>
window.addEventListener("load", function () {
  var box = document.querySelector(".segsim-report").getBoundingClientRect();
  var out = {
    clientWidth: document.documentElement.clientWidth,
    scrollWidth: document.documentElement.scrollWidth,
    reportRight: Math.ceil(box.right),
    images: Array.from(document.images).map(function (i) {
      var r = i.getBoundingClientRect();
      return {alt: i.alt, complete: i.complete, natural: i.naturalWidth,
              naturalHeight: i.naturalHeight, width: r.width, height: r.height};
    }),
    tables: Array.from(document.querySelectorAll("table")).map(function (t) {
      var section = t.closest("section");
      return {section: section ? section.id : "", right: Math.ceil(t.getBoundingClientRect().right)};
    }),
    resources: performance.getEntriesByType("resource").map(function (e) { return e.name; })
  };
  var pre = document.createElement("pre");
  pre.id = "segsim-measure";
  pre.textContent = JSON.stringify(out);
  document.body.appendChild(pre);
});
</script>
"""


@pytest.fixture(scope="module")
def pages(tmp_path_factory):
    """The report of the demo scenario and a comparison of two variants, as HTML files."""
    folder = tmp_path_factory.mktemp("pages")
    scenario = ss.datasets.demo_scenario(contacts=300)
    result = ss.simulate(scenario, progress=False)
    report = result.report().to_html(folder / "report.html")
    flow = next(f for f in scenario.flows if f.name == "Welcome Pro")
    data = flow.model_dump()
    data["steps"] = [s for s in data["steps"] if s["id"] != "s_upsell"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ScheduledEditWarning)  # the demo edits Welcome Pro
        comparison = ss.compare(scenario, {"A": flow, "B, no SMS": ss.Flow.model_validate(data)})
    compared = comparison.report().to_html(folder / "comparison.html")
    return {"report": report, "comparison": compared}


def _open(path: Path) -> dict:
    """Load ``path`` in headless chromium, offline, and read back the layout."""
    measured = path.with_name(f"{path.stem}-measured.html")
    text = path.read_text(encoding="utf-8")
    measured.write_text(text.replace("</body>", f"{_MEASURE}</body>"), encoding="utf-8")
    command = [
        CHROMIUM,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-extensions",
        "--no-first-run",
        "--disable-background-networking",
        "--host-resolver-rules=MAP * ~NOTFOUND",  # nothing could be fetched anyway
        f"--window-size={WINDOW_WIDTH},1000",
        "--virtual-time-budget=10000",
        "--dump-dom",
        measured.resolve().as_uri(),
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=180, check=False)
    match = re.search(r'<pre id="segsim-measure">(.*?)</pre>', done.stdout, re.S)
    assert match, f"chromium did not render the page (exit {done.returncode}): {done.stderr[-800:]}"
    return json.loads(html.unescape(match.group(1)))


@pytest.mark.parametrize("page", ["report", "comparison"])
def test_the_page_references_nothing_outside_itself(page, pages):
    text = pages[page].read_text(encoding="utf-8")
    references = re.findall(r'(?:src|href|srcset|action)\s*=\s*"([^"]*)"', text)
    references += re.findall(r"url\(\s*['\"]?([^'\")]*)", text)
    references += re.findall(r"@import\s+['\"]?([^'\";]*)", text)
    assert references, "the page embeds its charts"
    assert all(r.startswith("data:") for r in references), [
        r[:60] for r in references if not r.startswith("data:")
    ]
    assert "<script" not in text and "<link" not in text and "<iframe" not in text


@pytest.mark.parametrize("page", ["report", "comparison"])
def test_the_browser_renders_every_chart_and_fits_every_table(page, pages):
    layout = _open(pages[page])
    # no request left the page: every resource it loaded was inline
    assert all(name.startswith(("data:", "file:")) for name in layout["resources"]), layout[
        "resources"
    ]
    # every chart decodes and is shown
    images = layout["images"]
    assert len(images) >= 2
    for image in images:
        assert image["complete"] and image["natural"] > 0 and image["naturalHeight"] > 0, image
        assert image["width"] > 0 and image["height"] > 0, image
    # nothing is wider than the page, and no table runs out of the report's column
    assert layout["scrollWidth"] <= layout["clientWidth"]
    wide = [t for t in layout["tables"] if t["right"] > layout["reportRight"]]
    assert not wide, wide
