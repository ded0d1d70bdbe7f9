"""Background runs started from the viewer: ``iadsim run`` in a child process, its progress read back.

One job runs at a time (a run uses a whole core and the machine may have two); the child writes
JSON progress lines (``iadsim run --progress-format json``) that a reader thread turns into the
job's phase and fraction. The child is a separate process so a failing or cancelled run cannot take
the server down, and nothing crosses between them but text lines. It writes into a hidden folder
of its own (``.job-<id>``, never listed as a run); the finished run folder is then renamed into the
served folder under a name no other run has, so a job never overwrites or half-writes a run the
page may be showing.
"""

from __future__ import annotations

import itertools
import json
import logging
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from iadsim.io.run_folder import pid_alive
from iadsim.runs.workers import PARENT_ENV

__all__ = ["MAX_JOBS_KEPT", "Job", "JobConflict", "JobManager", "remove_stale_job_folders"]

_log = logging.getLogger("iadsim.web.jobs")

MAX_JOBS_KEPT = 50
"""Finished jobs kept for the job list; older ones are forgotten."""

_STDERR_LINES = 20


def _failure_message(stderr: list[str], code: int | None) -> str:
    """What the page shows of a failed run: the CLI's own message, or, should the child have crashed
    with a traceback (a bug in iadsim), its last line only — the page never shows a traceback."""
    # only the last lines are kept, so the "Traceback" header may be gone: its frames tell too
    if any(line.startswith("Traceback (most recent call last)") or line.startswith('  File "')
           for line in stderr):
        _log.error("a background run crashed:\n%s", "\n".join(stderr))
        return (f"iadsim run failed unexpectedly ({stderr[-1][:300]}); this is a bug in iadsim — "
                "the server's log has the details")
    return "\n".join(stderr) or f"iadsim run exited with code {code}"


class JobConflict(Exception):
    """A job is already running; the message names it."""


@dataclass
class Job:
    """One background run: what it runs, how far it is, and how it ended."""

    id: str
    scenario: str
    arrangement: str | None
    coverage: bool
    state: str = "queued"
    phase: str | None = None
    done: int = 0
    total: int = 0
    run: str | None = None
    message: str | None = None
    started: float = field(default_factory=time.monotonic)
    ended: float | None = None
    process: subprocess.Popen[str] | None = field(default=None, repr=False)
    stderr: deque[str] = field(default_factory=lambda: deque(maxlen=_STDERR_LINES), repr=False)

    def to_json(self) -> dict[str, Any]:
        """The job as the API shows it."""
        end = self.ended if self.ended is not None else time.monotonic()
        return {"id": self.id, "scenario": self.scenario, "arrangement": self.arrangement,
                "coverage": self.coverage, "state": self.state, "phase": self.phase, "done": self.done,
                "total": self.total, "fraction": (round(self.done / self.total, 4) if self.total else None),
                "run": self.run, "message": self.message, "elapsed_s": round(end - self.started, 1)}


_JOB_DIR = re.compile(r"^\.job-(?:(?P<pid>\d+)-)?\d+$")


def remove_stale_job_folders(out_dir: Path) -> list[Path]:
    """Remove the work folders (``.job-<pid>-<id>``) of servers no longer running, and those of
    iadsim 0.1 (``.job-<id>``): what a server killed during a job left. Returns them."""
    removed: list[Path] = []
    if not out_dir.is_dir():
        return removed
    for child in out_dir.iterdir():
        m = _JOB_DIR.match(child.name)
        if m and child.is_dir() and not (m["pid"] and pid_alive(int(m["pid"]))):
            shutil.rmtree(child, ignore_errors=True)
            removed.append(child)
    return removed


class JobManager:
    """Starts, watches and cancels ``iadsim run`` child processes writing into one folder.

    Args:
        out_dir: the folder the runs are written to (the served folder).
        python: the interpreter for the child (default: this one).
    """

    def __init__(self, out_dir: Path, python: str = sys.executable) -> None:
        self.out_dir = out_dir
        self.python = python
        self._jobs: dict[str, Job] = {}
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self.removed = remove_stale_job_folders(out_dir)

    def start(self, scenario: str, arrangement: str | None, coverage: bool) -> Job:
        """Start a run of ``scenario`` (a bundled id or a file path); JobConflict if one is running."""
        with self._lock:
            running = [j for j in self._jobs.values() if j.state in ("queued", "running")]
            if running:
                raise JobConflict(f"job {running[0].id} ({running[0].scenario}) is still running; "
                                  "one run at a time — wait for it or cancel it")
            job = Job(str(next(self._ids)), Path(scenario).name if "/" in scenario else scenario,
                      arrangement, coverage)
            work = self._work_dir(job)
            shutil.rmtree(work, ignore_errors=True)  # a leftover of a server killed mid-job
            work.mkdir(parents=True)
            cmd = [self.python, "-m", "iadsim", "run", scenario, "--out", str(work),
                   "--progress-format", "json"]
            if not coverage:
                cmd.append("--no-coverage")
            if arrangement is not None:
                cmd += ["--arrangement", arrangement]
            # the child watches this server and stops if it dies (kill -9 of the server)
            env = {**os.environ, PARENT_ENV: str(os.getpid())}
            job.process = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                           stdin=subprocess.DEVNULL, text=True, encoding="utf-8",
                                           errors="replace", bufsize=1, env=env)
            job.state = "running"
            self._jobs[job.id] = job
            self._forget_old()
        reader = threading.Thread(target=self._read_stderr, args=(job,), daemon=True)
        reader.start()
        threading.Thread(target=self._watch, args=(job, reader), daemon=True).start()
        return job

    def get(self, job_id: str) -> Job | None:
        """The job with this id, or None."""
        with self._lock:
            return self._jobs.get(job_id)

    def all(self) -> list[Job]:
        """All jobs kept, newest first."""
        with self._lock:
            return sorted(self._jobs.values(), key=lambda j: int(j.id), reverse=True)

    def cancel(self, job_id: str) -> Job | None:
        """Stop a running job (its child is terminated); None if there is no such job."""
        with self._lock:
            job = self._jobs.get(job_id)
            if job is None:
                return None
            if job.state == "running" and job.process is not None and job.process.poll() is None:
                job.state = "cancelled"
                job.message = "cancelled from the viewer"
                job.process.terminate()
        return job

    def shutdown(self, wait_s: float = 5.0) -> None:
        """Terminate every running child, and kill those still alive after ``wait_s`` (the server
        is stopping)."""
        with self._lock:
            running = [j.process for j in self._jobs.values()
                       if j.process is not None and j.process.poll() is None]
        for proc in running:
            proc.terminate()
        for proc in running:
            try:
                proc.wait(timeout=wait_s)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()

    def _work_dir(self, job: Job) -> Path:
        return self.out_dir / f".job-{os.getpid()}-{job.id}"

    def _publish(self, job: Job, report: Path) -> str:
        """Move the finished run folder into the served folder under a new name; returns the name."""
        folder = self._work_dir(job) / report.parent.name
        name, n = folder.name, 2
        with self._lock:  # two publishers must not pick the same name
            while (self.out_dir / name).exists():
                name, n = f"{folder.name}-{n}", n + 1
            os.replace(folder, self.out_dir / name)
        return name

    def _forget_old(self) -> None:
        done = [j for j in self._jobs.values() if j.state not in ("queued", "running")]
        for job in sorted(done, key=lambda j: int(j.id))[:max(0, len(self._jobs) - MAX_JOBS_KEPT)]:
            del self._jobs[job.id]

    def _read_stderr(self, job: Job) -> None:
        assert job.process is not None and job.process.stderr is not None
        for line in job.process.stderr:
            text = line.rstrip()
            if text:
                job.stderr.append(text)

    def _watch(self, job: Job, stderr_reader: threading.Thread) -> None:
        """Read the child's progress lines until it exits, then record how it ended."""
        proc = job.process
        assert proc is not None and proc.stdout is not None
        last_line = ""
        try:
            for line in proc.stdout:
                text = line.strip()
                if not text:
                    continue
                try:
                    msg = json.loads(text)
                except ValueError:
                    last_line = text  # the report path, printed last
                    continue
                if isinstance(msg, dict) and "phase" in msg:
                    with self._lock:
                        job.phase = str(msg["phase"])
                        job.done = int(msg.get("done", 0))
                        job.total = int(msg.get("total", 0))
            code = proc.wait()
            stderr_reader.join(timeout=5.0)
            run = self._publish(job, Path(last_line)) if code == 0 and last_line and \
                job.state != "cancelled" else None
        except Exception as exc:  # whatever went wrong, the job must end, not hang
            code, run = -1, None
            job.stderr.append(f"the server could not follow the run ({type(exc).__name__}: {exc})")
            if proc.poll() is None:
                proc.kill()
        finally:
            shutil.rmtree(self._work_dir(job), ignore_errors=True)
        with self._lock:
            job.ended = time.monotonic()
            if job.state == "cancelled":
                return
            if run is not None:
                job.state = "done"
                job.run = run
                job.message = f"wrote {run}"
            else:
                job.state = "failed"
                job.message = _failure_message(list(job.stderr), code)
