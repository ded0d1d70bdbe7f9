"""The viewer server under hostile requests: cross-site writes refused, uploads validated in a
bounded pool of processes with a time limit (the rest of the API stays responsive), work folders
of a killed server removed at start, heavy responses built a few at a time."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from iadsim.web import app as web_app
from iadsim.web import validation
from iadsim.web.app import create_app
from iadsim.web.jobs import remove_stale_job_folders

SLOW = ("a: &a [" + ", ".join(["1"] * 1000) + "]\nb: [" + ", ".join(["*a"] * 1900) + "]\n").encode()
"""A 9 KB upload that expands to 1.9 million nodes: about 2.5 s of validation on the development
machine (the tests' time limits are well below it)."""


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return tmp_path


@pytest.mark.parametrize("headers", [
    {"Origin": "http://evil.example"},
    {"Origin": "http://localhost:9999"},
    {"Origin": "null"},
    {"Sec-Fetch-Site": "cross-site"},
    {"Sec-Fetch-Site": "same-site"},
])
def test_writing_endpoints_refuse_cross_site_requests(root, headers):
    client = TestClient(create_app(root))
    for method, url in (("POST", "/api/scenarios/validate"), ("POST", "/api/jobs"),
                        ("DELETE", "/api/jobs/1")):
        response = client.request(method, url, content=b"name: x\n", headers=headers)
        assert response.status_code == 403, (method, url)
        assert "cross-site request refused" in response.json()["detail"]


def test_same_origin_and_header_less_writes_pass(root):
    client = TestClient(create_app(root))
    for headers in ({"Origin": "http://testserver", "Sec-Fetch-Site": "same-origin"}, {}):
        response = client.post("/api/scenarios/validate", content=b"name: x\n", headers=headers)
        assert response.status_code == 200 and response.json()["ok"] is False


def test_reads_are_not_refused_for_a_foreign_origin(root):
    client = TestClient(create_app(root))
    assert client.get("/api/info", headers={"Origin": "http://evil.example"}).status_code == 200


def test_a_slow_upload_is_stopped_at_the_time_limit(root, monkeypatch):
    monkeypatch.setattr(validation, "UPLOAD_TIME_LIMIT_S", 0.5)
    with TestClient(create_app(root)) as client:
        start = time.monotonic()
        response = client.post("/api/scenarios/validate", content=SLOW)
        assert response.status_code == 422 and "took more than 0.5 s" in response.json()["detail"]
        assert time.monotonic() - start < 6
        # the killed worker is replaced: the next upload is answered
        assert client.post("/api/scenarios/validate", content=b"name: x\n").json()["ok"] is False


def test_uploads_beyond_the_pool_are_refused_at_once_and_the_api_stays_responsive(root, monkeypatch):
    monkeypatch.setattr(validation, "UPLOAD_TIME_LIMIT_S", 0.5)
    with TestClient(create_app(root)) as client:
        client.post("/api/scenarios/validate", content=b"name: x\n")  # the workers are up
        codes: list[int] = []
        threads = [threading.Thread(target=lambda: codes.append(
            client.post("/api/scenarios/validate", content=SLOW).status_code)) for _ in range(6)]
        for t in threads:
            t.start()
        time.sleep(0.5)
        slowest = 0.0
        for _ in range(10):
            start = time.monotonic()
            assert client.get("/api/info").status_code == 200
            slowest = max(slowest, time.monotonic() - start)
        for t in threads:
            t.join()
        assert slowest < 1.0  # a loaded test machine; docs/benchmarks.md has the p99
        assert codes.count(503) >= 6 - validation.UPLOAD_WORKERS and set(codes) <= {422, 503}


def test_stale_job_folders_are_removed_at_server_start(root):
    with subprocess.Popen([sys.executable, "-c", "pass"]) as dead:
        dead.wait()
    stale = [root / f".job-{dead.pid}-1", root / ".job-3"]  # a killed server's; iadsim 0.1's
    live = root / f".job-{os.getpid()}-9"
    for p in (*stale, live):
        (p / "partial").mkdir(parents=True)
    create_app(root)
    assert not any(p.exists() for p in stale) and live.exists()
    assert remove_stale_job_folders(root) == []


def test_heavy_responses_wait_for_a_slot(root, monkeypatch):
    """With every slot taken, a layer request waits, then is answered 503 after the wait limit."""
    monkeypatch.setattr(web_app, "HEAVY_WAIT_S", 0.2)
    client = TestClient(create_app(root))
    taken = [web_app._heavy_slots.acquire(timeout=1) for _ in range(web_app.HEAVY_AT_ONCE)]
    try:
        assert all(taken)
        response = client.get("/api/runs/none/layers/truth")
        assert response.status_code == 503 and response.headers["retry-after"] == "5"
    finally:
        for _ in taken:
            web_app._heavy_slots.release()
    assert client.get("/api/runs/none/layers/truth").status_code == 404


def _free_slots() -> int:
    taken = 0
    while web_app._heavy_slots.acquire(timeout=0):
        taken += 1
    for _ in range(taken):
        web_app._heavy_slots.release()
    return taken


def test_a_streamed_layer_gives_its_turn_back_when_it_ends(tmp_path):
    from .test_web_api import RUN, _write_run

    _write_run(tmp_path / RUN)
    client = TestClient(create_app(tmp_path))
    assert client.get(f"/api/runs/{RUN}/layers/truth").status_code == 200
    assert client.get(f"/api/runs/{RUN}/layers/units").status_code == 200
    assert client.get(f"/api/runs/{RUN}/layers/nothing").status_code == 404
    assert _free_slots() == web_app.HEAVY_AT_ONCE


def test_a_lease_gives_its_turn_back_once_and_after_its_time_at_the_latest(monkeypatch):
    """A client that stops reading keeps its stream, not its turn."""
    monkeypatch.setattr(web_app, "STREAM_LEASE_S", 0.2)
    leases = [web_app._Lease() for _ in range(web_app.HEAVY_AT_ONCE)]
    assert _free_slots() == 0
    time.sleep(0.6)
    assert _free_slots() == web_app.HEAVY_AT_ONCE
    for lease in leases:
        lease.release()  # already given back: nothing (a second release would raise ValueError)
    assert _free_slots() == web_app.HEAVY_AT_ONCE
