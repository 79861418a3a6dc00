"""Run one crawl child to the end, within its time limit, and say how it ended.

The child's output goes to a log file per run; its summary comes back as a
JSON file (see :mod:`jobs.child`). A time limit or a shutdown sends SIGTERM to
the child (Scrapy then closes its WARCs and stores them); a child still alive
``stop_grace`` seconds later is SIGKILLed together with its process group.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import subprocess
import threading
import time
from collections import deque
from dataclasses import dataclass
from pathlib import Path

from jobs.child import read_summary
from jobs.crawl import RunSummary

logger = logging.getLogger(__name__)

POLL = 0.25  # seconds between checks of a running child's deadlines
LOG_TAIL_LINES = 30


@dataclass
class ChildResult:
    exit_status: int | None
    summary: RunSummary | None
    stop_reason: str | None  # 'timeout' / 'shutdown' if we sent SIGTERM
    killed: bool  # we had to SIGKILL it
    log_tail: str

    @property
    def outcome(self) -> str:
        """History outcome for a child that left no summary is decided here."""
        from jobs.record import outcome_of

        if self.summary is not None:
            return outcome_of(self.summary, self.stop_reason)
        if self.killed:
            return "killed"
        return "timeout" if self.stop_reason == "timeout" else "failed"

    @property
    def message(self) -> str | None:
        if self.killed:
            return (f"did not stop within the grace period after SIGTERM "
                    f"({self.stop_reason}); killed")
        if self.stop_reason == "timeout":
            return "time limit reached; stopped with SIGTERM"
        if self.stop_reason == "shutdown":
            return "service shutting down; stopped with SIGTERM"
        if self.summary is None:
            status = self.exit_status
            how = (f"killed by signal {signal.Signals(-status).name}"
                   if status is not None and status < 0 else f"exit status {status}")
            return f"crawl process ended without a summary ({how})"
        if self.summary.finish_reason == "shutdown":
            return "stopped by a signal"
        from jobs.record import message_of

        return message_of(self.summary)


def tail(path: Path, lines: int = LOG_TAIL_LINES) -> str:
    try:
        with path.open("r", encoding="utf-8", errors="replace") as fh:
            return "".join(deque(fh, maxlen=lines)).rstrip()
    except OSError:
        return ""


class ChildRun:
    """One crawl child: start it, wait for it, stop it on request (thread-safe)."""

    def __init__(self, command: list[str], *, log_path: Path, summary_path: Path,
                 time_limit: float, stop_grace: float,
                 env: dict[str, str] | None = None) -> None:
        self.command = command
        self.log_path = log_path
        self.summary_path = summary_path
        self.time_limit = time_limit
        self.stop_grace = stop_grace
        self.env = env
        self.proc: subprocess.Popen[bytes] | None = None
        self.started = 0.0
        self.stop_reason: str | None = None
        self._term_at: float | None = None
        self._killed = False
        self._lock = threading.Lock()

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc else None

    def start(self) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self.summary_path.parent.mkdir(parents=True, exist_ok=True)
        self.summary_path.unlink(missing_ok=True)
        with self.log_path.open("ab") as log:
            # Own session: a Ctrl-C in the service's terminal reaches the service,
            # which then decides when its crawls stop.
            self.proc = subprocess.Popen(self.command, stdout=log, stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL, env=self.env,
                                         start_new_session=True)
        self.started = time.monotonic()

    def stop(self, reason: str) -> None:
        """SIGTERM the child now (once); it gets stop_grace seconds before SIGKILL."""
        with self._lock:
            if self.proc is None or self.proc.poll() is not None or self._term_at is not None:
                return
            self.stop_reason = reason
            self._term_at = time.monotonic()
            logger.info("Stopping crawl process %d (%s)", self.proc.pid, reason)
            with contextlib.suppress(ProcessLookupError):
                self.proc.send_signal(signal.SIGTERM)

    def _kill(self) -> None:
        with self._lock:
            if self.proc is None or self.proc.poll() is not None:
                return
            logger.warning("Crawl process %d did not stop within %ss; killing it",
                           self.proc.pid, self.stop_grace)
            self._killed = True
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)  # the child and its workers
            except (ProcessLookupError, PermissionError):
                self.proc.kill()

    def wait(self) -> ChildResult:
        """Block until the child has exited; bounded by time_limit + 2 * stop_grace."""
        if self.proc is None:
            raise RuntimeError("ChildRun.wait() before start()")
        while True:
            try:
                status = self.proc.wait(timeout=POLL)
                break
            except subprocess.TimeoutExpired:
                pass
            now = time.monotonic()
            if self._term_at is None and now - self.started >= self.time_limit:
                self.stop("timeout")
            term_at = self._term_at
            if term_at is not None and not self._killed and now - term_at >= self.stop_grace:
                self._kill()
        if not self._killed and status < 0:
            # Whatever killed the child may have left its workers behind.
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.proc.pid, signal.SIGKILL)
        summary = read_summary(self.summary_path)
        self.summary_path.unlink(missing_ok=True)
        return ChildResult(exit_status=status, summary=summary, stop_reason=self.stop_reason,
                           killed=self._killed, log_tail=tail(self.log_path))
