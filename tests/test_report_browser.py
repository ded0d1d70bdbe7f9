"""The run report in a real browser (Debian's Chromium driven by Playwright): findings first, long
tables folded with their data linked, no word split across lines, on screen and in print.
Screenshots and the PDF are kept in ``test-artifacts/report/``."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

# the viewer's browser tests launch Debian's chromium; the same browser fixture serves here
from .test_viewer_browser import CHROMIUM, browser

pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed "
                                "(scripts/install-system-deps.sh installs it)")
__all__ = ["browser"]

ARTEFACTS = Path(__file__).resolve().parent.parent / "test-artifacts" / "report"

# Every table cell whose text is laid out over more lines than it has words' breaks: a word (a run
# of letters) drawn in pieces on two lines. Cells that may break anywhere (ids, URLs) are left out.
SPLIT_WORDS_JS = """() => {
  const split = [];
  for (const td of document.querySelectorAll('td:not(.url), th')) {
    if (!td.offsetParent) continue;
    const walker = document.createTreeWalker(td, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      const re = /[A-Za-z\\u00C0-\\u024F]{4,}/g;
      let m;
      while ((m = re.exec(node.textContent)) !== null) {
        const range = document.createRange();
        range.setStart(node, m.index); range.setEnd(node, m.index + m[0].length);
        const tops = new Set([...range.getClientRects()].map((r) => Math.round(r.top)));
        if (tops.size > 1) split.push(m[0]);
      }
    }
  }
  return split;
}"""


@pytest.fixture(scope="module")
def raid_report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The report of the bundled mixed raid cut to 20 minutes, with coverage, as ``iadsim run`` writes it."""
    root = tmp_path_factory.mktemp("report")
    (root / "raid-cut.yaml").write_text(
        "name: Raid cut\ninclude: [mixed-raid]\nduration_s: 1200\nsaturation_scales: []\n", encoding="utf-8")
    done = subprocess.run([sys.executable, "-m", "iadsim", "run", str(root / "raid-cut.yaml"), "--out",
                           str(root)], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    return Path(done.stdout.strip().splitlines()[-1])


def _open(browser: Any, report: Path, width: int) -> tuple[Any, Any]:
    context = browser.new_context(viewport={"width": width, "height": 900})
    page = context.new_page()
    page.goto(report.as_uri())
    return context, page


def test_report_opens_with_its_findings_at_screen_width(browser, raid_report):
    context, page = _open(browser, raid_report, 1366)
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTEFACTS / "report-screen-top.png"))
    page.screenshot(path=str(ARTEFACTS / "report-screen-full.png"), full_page=True)
    first_h2 = page.locator("h2").first.inner_text()
    assert first_h2 == "Key findings"
    box = page.locator("section.findings").bounding_box()
    assert box is not None and box["y"] < 900, "the findings are not on the first screen"
    text = page.locator("section.findings").inner_text()
    # sentences with numbers: each class that entered, with detections, destructions and leakers
    assert re.search(r"\d+ cruise missiles entered the defended airspace: \d+ detected, \d+ destroyed, "
                     r"\d+ leaked; \d+ missiles? fired at them", text), text
    assert re.search(r"Lithuania: detected over \d+ % at 100 m AGL", text), text
    # the complete data of every folded table is linked, and the linked files exist
    folded = page.locator("details.long").count()
    assert folded >= 3
    for href in page.eval_on_selector_all("a[href]", "els => els.map((a) => a.getAttribute('href'))"):
        if not href.startswith(("http", "#")):
            assert (raid_report.parent / href).is_file(), href
    closed = page.evaluate("document.documentElement.scrollHeight")
    page.eval_on_selector_all("details", "els => els.forEach((d) => { d.open = true; })")
    opened = page.evaluate("document.documentElement.scrollHeight")
    assert closed < opened / 2, (closed, opened)
    assert page.evaluate(SPLIT_WORDS_JS) == []
    context.close()


def test_report_in_print_keeps_words_whole_and_tables_on_the_page(browser, raid_report):
    context, page = _open(browser, raid_report, 720)  # A4 portrait at 96 dpi
    page.emulate_media(media="print")
    page.eval_on_selector_all("details", "els => els.forEach((d) => { d.open = true; })")
    wide = page.evaluate("""() => [...document.querySelectorAll('table')]
        .filter((t) => t.getBoundingClientRect().right > document.body.getBoundingClientRect().right + 1)
        .map((t) => t.rows[0].textContent.slice(0, 60))""")
    assert wide == [], f"tables wider than the printed page: {wide}"
    assert page.evaluate(SPLIT_WORDS_JS) == []
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTEFACTS / "report-print-top.png"))
    page.pdf(path=str(ARTEFACTS / "report-print.pdf"), format="A4")
    context.close()
