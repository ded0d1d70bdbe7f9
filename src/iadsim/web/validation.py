"""Uploaded scenarios validated in a bounded pool of worker processes, with a time limit, and
cancelled when the client goes away.

Validation is CPU work in Python: in the server's own threads it would hold the interpreter lock
and stall every other request (45 abandoned uploads froze ``/api/info`` for over a minute). Here
each upload goes to one of a few long-lived worker processes; when all are busy the upload is
refused at once with 503 (try again), and a worker whose upload takes longer than the limit, or
whose client has disconnected, is killed and replaced. The server's own threads only wait.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import time
from collections.abc import Awaitable, Callable
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from typing import Any

__all__ = ["UPLOAD_TIME_LIMIT_S", "UPLOAD_WORKERS", "PoolBusy", "UploadTimeout", "ValidationPool"]

UPLOAD_WORKERS = 2
"""Uploads validated at once (the machine's cores are for runs, too)."""

UPLOAD_TIME_LIMIT_S = 8.0
"""Longest validation of one upload; with reading the body, every upload is answered in 10 s."""

_POLL_S = 0.02
_START_LIMIT_S = 120.0


class PoolBusy(Exception):
    """Every worker is validating another upload."""


class UploadTimeout(Exception):
    """The upload's validation took longer than the limit; its worker was killed."""


def _serve(conn: Connection) -> None:  # pragma: no cover - runs in the worker process
    from iadsim.web.app import validate_upload

    conn.send(("ready", None))  # the imports take seconds: not counted in an upload's time limit
    while True:
        try:
            text = conn.recv()
        except EOFError:
            return
        try:
            conn.send(("ok", validate_upload(text)))
        except Exception as exc:  # a bug: reported, the worker stays alive
            conn.send(("error", f"{type(exc).__name__}: {exc}"))


class _Worker:
    def __init__(self, ctx: Any) -> None:
        self.conn, child = ctx.Pipe()
        self.process: BaseProcess = ctx.Process(target=_serve, args=(child,), daemon=True,
                                                name="iadsim-validate")
        self.process.start()
        child.close()
        self.ready = False

    async def wait_ready(self, disconnected: Callable[[], Awaitable[bool]]) -> None:
        deadline = time.monotonic() + _START_LIMIT_S
        while not self.ready:
            if self.conn.poll():
                status, _ = self.conn.recv()
                self.ready = status == "ready"
                continue
            if not self.process.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the validation worker did not start")
            if await disconnected():
                raise ConnectionError("the client went away")
            await asyncio.sleep(_POLL_S)

    def kill(self) -> None:
        if self.process.is_alive():
            self.process.kill()
        self.process.join(timeout=5)
        self.conn.close()


class ValidationPool:
    """A fixed number of validation worker processes (started on first use).

    Args:
        workers: how many uploads are validated at once (default ``UPLOAD_WORKERS``).
        time_limit_s: the longest validation of one upload (default ``UPLOAD_TIME_LIMIT_S``).
    """

    def __init__(self, workers: int | None = None, time_limit_s: float | None = None) -> None:
        # not fork (the server has threads); a fork server that has imported the validation code
        # once, so that a new or replaced worker is ready in milliseconds, not seconds
        self.ctx = multiprocessing.get_context("forkserver")
        self.ctx.set_forkserver_preload(["iadsim.web.app"])
        self.size = UPLOAD_WORKERS if workers is None else workers
        self.time_limit_s = UPLOAD_TIME_LIMIT_S if time_limit_s is None else time_limit_s
        self.idle: list[_Worker] = []
        self.busy = 0
        self.closed = False

    def _take(self) -> _Worker:
        if self.closed:
            raise PoolBusy
        if self.idle:
            worker = self.idle.pop()
        elif self.busy < self.size:
            worker = _Worker(self.ctx)
        else:
            raise PoolBusy
        self.busy += 1
        return worker

    def _give_back(self, worker: _Worker, healthy: bool) -> None:
        self.busy -= 1
        if healthy and not self.closed and worker.process.is_alive():
            self.idle.append(worker)
        else:
            worker.kill()

    async def validate(self, text: str, disconnected: Callable[[], Awaitable[bool]]) -> dict[str, Any]:
        """The validation result of ``validate_upload(text)``, from a worker process.

        Raises PoolBusy (every worker busy), UploadTimeout (over the time limit), ConnectionError
        (the client disconnected; the work was cancelled) or RuntimeError (a worker failed).
        """
        worker = self._take()
        healthy = False
        try:
            await worker.wait_ready(disconnected)
            worker.conn.send(text)
            deadline = time.monotonic() + self.time_limit_s
            while not worker.conn.poll():
                if not worker.process.is_alive():
                    raise RuntimeError("the validation worker died")
                if time.monotonic() > deadline:
                    raise UploadTimeout
                if await disconnected():
                    raise ConnectionError("the client went away")
                await asyncio.sleep(_POLL_S)
            status, result = worker.conn.recv()
            if status != "ok":
                raise RuntimeError(result)
            healthy = True
            return result  # type: ignore[no-any-return]
        finally:
            self._give_back(worker, healthy)

    def start(self) -> None:
        """Start the workers ahead of the first upload (at server start)."""
        while len(self.idle) < self.size - self.busy and not self.closed:
            self.idle.append(_Worker(self.ctx))

    def close(self) -> None:
        """Kill every worker (at server shutdown)."""
        self.closed = True
        for worker in self.idle:
            worker.kill()
        self.idle = []
