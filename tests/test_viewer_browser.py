"""The viewer in a real browser: Debian's Chromium driven by Playwright against ``iadsim serve``.

The tests start the server themselves (uvicorn in a thread, on a free loopback port, with a token)
over a folder holding a real run — the bundled mixed raid cut to 20 minutes, with coverage — and a
short scenario file the page starts as a background run. Chromium is launched by its path (installed
by scripts/install-system-deps.sh); Playwright never downloads a browser. Screenshots are kept in
``test-artifacts/viewer/``.
"""

from __future__ import annotations

import math
import os
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from iadsim.web import create_app

from .conftest import free_port

sync_api = pytest.importorskip("playwright.sync_api", reason="Playwright for Python is not installed")

CHROMIUM = os.environ.get("IADSIM_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed "
                                "(scripts/install-system-deps.sh installs it)")

ARTEFACTS = Path(__file__).resolve().parent.parent / "test-artifacts" / "viewer"
TOKEN = "browser-test-token-0123456789"
RAID = "raid-cut-2020-12-31"
SHORT_RUN = "short-violation-2020-12-31"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]



@pytest.fixture(scope="module")
def raid_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder with the cut raid's run (made by ``iadsim run``) and a short scenario file."""
    root = tmp_path_factory.mktemp("viewer")
    (root / "raid-cut.yaml").write_text(
        "name: Raid cut\ndescription: The bundled mixed raid, its first 25 minutes.\n"
        "include: [mixed-raid]\nduration_s: 1500\nsaturation_scales: []\n", encoding="utf-8")
    (root / "short.yaml").write_text(
        "name: Short violation\ndescription: The bundled violation, its first two minutes.\n"
        "include: [air-policing-violation]\nduration_s: 120\n", encoding="utf-8")
    done = subprocess.run([sys.executable, "-m", "iadsim", "run", str(root / "raid-cut.yaml"), "--out",
                           str(root), "--progress-format", "json"], capture_output=True, text=True,
                          check=False)
    assert done.returncode == 0, done.stderr
    return root


@pytest.fixture(scope="module")
def served(raid_root: Path) -> Iterator[str]:
    """The URL of a running ``iadsim serve`` over the folder with the cut raid and a short scenario."""
    import uvicorn

    root = raid_root
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(root, token=TOKEN), host="127.0.0.1", port=port,
                                           log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline, "the server did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}/"
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Any, served: str) -> Iterator[Any]:
    """A fresh page on the viewer with the token in the URL; fails the test on any page error."""
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.on("response", lambda r: errors.append(f"{r.status} {r.url}") if r.status >= 400 else None)
    page.goto(f"{served}#token={TOKEN}")
    _wait_ready(page)
    yield page
    context.close()
    assert errors == [], f"errors in the page: {errors}"


def _wait_ready(page: Any, run: str | None = None) -> None:
    condition = ("() => window.iadsimViewer && window.iadsimViewer.ready"
                 + (f" && window.iadsimViewer.run === {run!r}" if run else ""))
    page.wait_for_function(condition, timeout=30_000)


def _state(page: Any) -> dict[str, Any]:
    return page.evaluate("() => JSON.parse(JSON.stringify(window.iadsimViewer))")  # type: ignore[no-any-return]


def _shot(page: Any, name: str) -> None:
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTEFACTS / f"{name}.png"))


def _api(page: Any, served: str, path: str) -> Any:
    """An API answer fetched from inside the page, with the token, as the page would."""
    return page.evaluate("""async ([url, token]) => (await fetch(url, {headers: {
        Authorization: 'Bearer ' + token}})).json()""", [f"{served}api/{path}", TOKEN])


def _seek(page: Any, t_s: float) -> None:
    """Move the time slider as a user would: set it and fire its input and change events."""
    page.eval_on_selector("#time-slider", """(el, t) => { el.value = String(t);
        el.dispatchEvent(new Event('input', {bubbles: true}));
        el.dispatchEvent(new Event('change', {bubbles: true})); }""", t_s)
    page.wait_for_function(f"() => window.iadsimViewer.ready && window.iadsimViewer.frameS !== null"
                           f" && Math.abs(window.iadsimViewer.frameS - {t_s}) < 1", timeout=15_000)


def test_the_page_loads_the_raid_with_units_on_the_borders(page):
    state = _state(page)
    assert state["run"] == RAID
    assert state["counts"]["units"] > 20
    assert page.locator(".iad-unit").count() == state["counts"]["units"]
    assert page.locator("#run-select option").count() >= 1
    # the folder's scenario list comes after the run: each file is checked as a run would check it
    page.wait_for_selector("button[data-scenario='short.yaml']", timeout=15_000)
    assert page.locator("button[data-scenario='short.yaml']").count() == 1
    assert page.locator("#node-list input[data-node]").count() == 5
    _shot(page, "01-loaded")


def test_layers_toggle_on_and_off(page):
    units = page.locator(".iad-unit").count()
    page.uncheck("#layer-units")
    page.wait_for_function("() => document.querySelectorAll('.iad-unit').length === 0")
    page.check("#layer-units")
    page.wait_for_function(f"() => document.querySelectorAll('.iad-unit').length === {units}")
    page.check("#layer-coverage")
    page.wait_for_function("() => window.iadsimViewer.counts.coverage > 0", timeout=15_000)
    page.select_option("#coverage-altitude", index=2)
    page.wait_for_function("() => window.iadsimViewer.counts.coverage > 0", timeout=15_000)
    _shot(page, "02-coverage-10000m")
    page.uncheck("#layer-coverage")
    page.wait_for_function("() => window.iadsimViewer.counts.coverage === 0")


def test_the_run_plays_and_pauses(page):
    _seek(page, 600)
    page.select_option("#speed", "100")
    page.click("#play")
    assert page.get_attribute("#play", "aria-pressed") == "true"
    page.wait_for_function("() => window.iadsimViewer.timeS >= 800", timeout=20_000)
    page.click("#play")
    assert page.get_attribute("#play", "aria-pressed") == "false"
    # on pause the map catches up with the clock, and the clock stays put
    page.wait_for_function("() => Math.abs(window.iadsimViewer.frameS - window.iadsimViewer.timeS) < 0.001",
                           timeout=10_000)
    paused = _state(page)["timeS"]
    page.wait_for_timeout(500)
    state = _state(page)
    assert state["timeS"] == paused and abs(state["frameS"] - paused) < 0.001 and state["playing"] is False
    assert state["counts"]["truth"] > 0 and state["counts"]["tracks"] > 0
    assert page.locator(".iad-truth").count() == state["counts"]["truth"]
    assert page.inner_text("#clock").startswith("T+")
    _shot(page, "03-played")


def test_engagements_are_drawn_when_missiles_fly(page, served):
    # the layer lists refused orders too (no launch); the map draws the missiles that flew
    rows = [r for r in _api(page, served, f"runs/{RAID}/layers/engagements")["rows"]
            if r.get("status", "engaged") == "engaged"]
    assert rows, "the cut raid has engagements"
    first = min(rows, key=lambda r: r["launch_s"])
    _seek(page, math.ceil(first["launch_s"] / 10.0) * 10.0)  # the slider's step is the 10 s sample
    state = _state(page)
    assert state["counts"]["engagements"] > 0
    assert page.locator(".iad-engagement").count() >= 1
    _shot(page, "04-engagements")


def _boxes_overlap(a: dict[str, float], b: dict[str, float]) -> bool:
    return (a["x"] < b["x"] + b["width"] and b["x"] < a["x"] + a["width"]
            and a["y"] < b["y"] + b["height"] and b["y"] < a["y"] + a["height"])


def test_clicking_a_track_opens_its_history(page, served):
    _seek(page, 900)
    track = page.locator(".iad-track").last  # the last drawn is on top of any it overlaps
    node, track_id = track.get_attribute("data-node"), track.get_attribute("data-track-id")
    track.click()
    page.wait_for_selector("#track-panel", state="visible")
    page.wait_for_function("() => document.querySelectorAll('#track-history tbody tr').length > 0")
    assert page.locator(".iad-history").count() >= 1
    name = _api(page, served, f"runs/{RAID}/timeline")["node_names"].get(node, node)
    assert f"{name} · track {track_id}" in page.inner_text("#track-panel")
    # every object the track followed has its truth path drawn (up to six)
    rows = _api(page, served, f"runs/{RAID}/tracks/{node}/{track_id}")["rows"]
    followed = {r["object_id"] for r in rows if r.get("object_id")}
    page.wait_for_function(f"() => document.querySelectorAll('.iad-truth-path').length === {min(len(followed), 6)}",
                           timeout=10_000)
    # the panel leaves the legend and the scale bar in view
    panel = page.locator("#track-panel").bounding_box()
    for control in (".iad-legend", ".leaflet-control-scale"):
        assert not _boxes_overlap(panel, page.locator(control).bounding_box()), control
    _shot(page, "05-track-history")
    page.click("#track-close")
    page.wait_for_selector("#track-panel", state="hidden")


def test_a_scenario_started_from_the_page_runs_in_the_background_and_opens(page):
    page.click("button[data-scenario='short.yaml']")
    job = page.locator("#jobs li[data-job-id]").first
    job.wait_for(state="visible")
    page.wait_for_selector("#jobs [data-open-run]", timeout=120_000)
    _shot(page, "06-job-done")
    page.click("#jobs [data-open-run]")
    _wait_ready(page, SHORT_RUN)
    assert page.input_value("#run-select") == SHORT_RUN
    assert _state(page)["counts"]["units"] == page.locator(".iad-unit").count() > 20
    assert page.locator("#jobs li[data-job-id]").first.inner_text().lower().count("done") >= 1


def test_the_event_log_names_the_track_an_event_is_about(page, served):
    events = _api(page, served, f"runs/{RAID}/timeline")["events"]
    bare = [e for e in events if e["track_id"] is not None and not e["subject"] and not e["object_id"]]
    event = bare[0] if bare else next(e for e in events if e["track_id"] is not None and not e["subject"])
    _seek(page, math.ceil(event["time_s"] / 10.0) * 10.0)
    assert f"track {event['track_id']}" in page.inner_text("#event-log")


def test_a_link_to_a_run_that_is_not_there_says_so(browser, served):
    context = browser.new_context()
    page = context.new_page()
    page.goto(f"{served}#token={TOKEN}&run=gone-2020-12-31")
    _wait_ready(page)
    assert "There is no run gone-2020-12-31" in page.inner_text("#error")
    assert _state(page)["run"] is not None  # and a run that is there is shown
    context.close()


def test_without_the_token_the_page_says_so(browser, served):
    context = browser.new_context()
    page = context.new_page()
    page.goto(served)
    page.wait_for_selector("#error", state="visible", timeout=15_000)
    assert "token" in page.inner_text("#error").lower()
    _shot(page, "07-no-token")
    context.close()


def test_the_run_report_prints_within_the_page(browser, raid_root):
    """The report of ``iadsim run`` printed from the browser: every table fits an A4 page's width."""
    context = browser.new_context(viewport={"width": 720, "height": 1000})  # A4 portrait at 96 dpi
    page = context.new_page()
    page.goto((raid_root / RAID / "report.html").as_uri())
    page.emulate_media(media="print")
    wide = page.evaluate("""() => [...document.querySelectorAll('table')]
        .filter((t) => t.getBoundingClientRect().right > document.body.getBoundingClientRect().right + 1)
        .map((t) => t.rows[0].textContent.slice(0, 60))""")
    assert wide == [], f"tables wider than the printed page: {wide}"
    assert page.evaluate("document.documentElement.scrollWidth") <= 720
    assert page.locator("h4", has_text="Outcome per violating object").count() == 2
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    page.pdf(path=str(ARTEFACTS / "report-raid-cut.pdf"), format="A4")
    context.close()


def test_towns_are_on_the_map_and_the_largest_are_named(page):
    page.wait_for_function("() => document.querySelectorAll('.iad-town').length > 100", timeout=15_000)
    named = page.locator(".iad-town-named .iad-town-name")
    names = named.all_inner_texts()
    assert "Minsk" in names
    # names are shown for the largest towns only, so that labels do not cover the map
    assert 0 < len(names) < page.locator(".iad-town").count()
    assert "GeoNames" in page.inner_text(".leaflet-control-attribution")
    _shot(page, "08-towns")


def _centre(box: dict[str, float]) -> tuple[float, float]:
    return (box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)


def test_units_at_one_place_fan_out(page, served):
    features = _api(page, served, f"runs/{RAID}/layers/units")
    features = (features.get("geojson") or features)["features"]
    by_place: dict[tuple[float, float], list[str]] = {}
    for f in features:
        lon, lat = f["geometry"]["coordinates"]
        by_place.setdefault((round(lon, 4), round(lat, 4)), []).append(f["properties"]["unit_id"])
    crowded = max(by_place.values(), key=len)
    assert len(crowded) >= 3, "the reference data have towns with several units"
    centres = [_centre(page.locator(f".iad-unit[data-unit-id='{u}']").bounding_box()) for u in crowded]
    for i, a in enumerate(centres):
        for b in centres[i + 1:]:
            assert math.dist(a, b) >= 8, (crowded, centres)
    _shot(page, "09-fanned-units")


def test_nodes_are_listed_by_their_names(page, served):
    names = _api(page, served, f"runs/{RAID}/timeline")["node_names"]
    listed = page.locator("#node-list .node-name").all_inner_texts()
    ids = [page.locator("#node-list input[data-node]").nth(i).get_attribute("data-node")
           for i in range(len(listed))]
    assert listed == [names[i] for i in ids]
    assert not any("_" in text for text in listed)  # names, not ids such as rus_6_aada


def test_a_units_popup_shows_its_assumptions(page, served):
    features = _api(page, served, f"runs/{RAID}/layers/units")
    features = (features.get("geojson") or features)["features"]
    unit = next(f["properties"] for f in features if f["properties"].get("assumed"))
    reason = next(iter(unit["assumed"].values()))
    page.locator(f".iad-unit[data-unit-id='{unit['unit_id']}']").dispatch_event("click")
    popup = page.locator(".leaflet-popup-content")
    popup.wait_for(state="visible")
    text = popup.inner_text()
    assert "assumed" in text and " ".join(reason.split())[:40] in " ".join(text.split())
    assert "sources" in text
    _shot(page, "10-unit-popup")


def test_units_are_app6_symbols_with_a_legend(page, served):
    features = _api(page, served, f"runs/{RAID}/layers/units")
    features = (features.get("geojson") or features)["features"]
    for f in features[:10]:
        unit = page.locator(f".iad-unit[data-unit-id='{f['properties']['unit_id']}']")
        assert unit.get_attribute("data-sidc") == f["properties"]["sidc"]
        assert unit.locator("svg").count() == 1  # milsymbol's drawing of the code
    sam = next(f["properties"] for f in features if f["properties"]["kind"].startswith("sam"))
    assert sam["sidc"].startswith("SFGPUCDM")  # a defender's air defence missile unit: friend
    legend = page.locator(".iad-legend .lg-units li")
    assert legend.count() == 5 and legend.locator("svg").count() == 5
    assert "Frame: nation" in page.inner_text(".iad-legend")
    _shot(page, "11-symbols")


def test_terrain_shading_is_drawn_from_the_bundled_dem(page, served):
    page.wait_for_selector("img.iad-relief", state="attached", timeout=15_000)
    data = _api(page, served, "terrain")
    assert data["image"].startswith("data:image/png;base64,")
    lon0, lon1, lat0, lat1 = data["bounds"]
    assert lon0 < 24 < lon1 and lat0 < 54 < lat1  # covers Belarus
    # the overlay is placed on the map where its corners say, under the units
    box = page.locator("img.iad-relief").bounding_box()
    assert box["width"] > 100 and box["height"] > 100
    assert "ETOPO5" in page.inner_text(".leaflet-control-attribution")


def test_a_units_popup_draws_its_rings_at_a_chosen_altitude(page, served):
    features = _api(page, served, f"runs/{RAID}/layers/units")
    features = (features.get("geojson") or features)["features"]
    sam = next(f["properties"] for f in features
               if f["properties"]["kind"] == "sam_regiment" and f["properties"]["nation"] == "BLR")
    # a click event on the symbol itself, wherever the fan puts it on the screen
    page.locator(f".iad-unit[data-unit-id='{sam['unit_id']}']").dispatch_event("click")
    page.wait_for_function("() => document.querySelectorAll('.iad-ring').length > 0", timeout=15_000)
    low = _api(page, served, f"runs/{RAID}/units/{sam['unit_id']}/rings?alt_m=100")["rings"]
    high = _api(page, served, f"runs/{RAID}/units/{sam['unit_id']}/rings?alt_m=10000")["rings"]
    # the radar horizon: a low target is seen and engaged closer than a high one
    assert max(r["radius_m"] for r in low) < max(r["radius_m"] for r in high)
    page.select_option(".leaflet-popup .iad-ring-alt", "10000")
    # the rings are fetched for the new altitude: wait for them, not for the text of the old ones
    page.wait_for_function("() => document.querySelector('.leaflet-popup .iad-rings').textContent.includes('km')"
                           " && document.querySelectorAll('.iad-ring-engagement').length >= 1"
                           " && document.querySelectorAll('.iad-ring-detection').length >= 1", timeout=15_000)
    assert "null" not in page.inner_text(".leaflet-popup .iad-rings")
    _shot(page, "12-rings")
    page.keyboard.press("Escape")


def test_tracks_show_their_error_ellipse(page):
    _seek(page, 900)
    page.wait_for_function("() => window.iadsimViewer.counts.tracks > 0", timeout=15_000)
    assert page.locator(".iad-ellipse").count() >= page.locator(".iad-track").count() > 0
    page.locator(".iad-track").last.hover()
    page.wait_for_selector(".leaflet-tooltip", state="visible")
    assert "position error" in page.inner_text(".leaflet-tooltip")
    _shot(page, "13-error-ellipses")
