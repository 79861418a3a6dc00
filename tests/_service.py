"""Helpers for the scheduler tests: a real ``warcwire serve`` process and a state DB.

Every wait is a bounded poll for a condition; nothing sleeps to assert.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest

from jobs.client import call
from jobs.history import History, Run
from tests.fixtures_site import free_port, site_entry, write_config
from warcwire.config import load_config

T = TypeVar("T")
ARTICLE = "/news/turkey/istanbul-ferries-add-night-crossings.html"
PG_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


def wait_for(check: Callable[[], T], timeout: float, what: str, interval: float = 0.1) -> T:
    """Poll ``check`` until it returns something truthy; fail naming ``what``."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


def quick_site(base_url: str, name: str = "quick", **overrides: Any) -> dict:
    """A front page and one article: about as short as a real crawl gets (~2 s)."""
    entry = site_entry(base_url, name=name, sitemaps=[], feeds=[], follow_depth=0,
                       start_urls=[f"{base_url}/", f"{base_url}{ARTICLE}"], max_pages=2)
    entry.update(overrides)
    return entry


def slow_site(base_url: str, name: str = "slow", **overrides: Any) -> dict:
    """A crawl that waits on a 4-second page, so it is still running when we act."""
    entry = site_entry(base_url, name=name, sitemaps=[], feeds=[], follow_depth=0,
                       start_urls=[f"{base_url}/", f"{base_url}/faults/slow.html"],
                       max_pages=5)
    entry.update(overrides)
    return entry


def many_slow_pages(base_url: str, name: str = "slow") -> dict:
    """96 four-second pages fetched in waves of 16: ~25 s in all.

    A crawl stopped by SIGTERM first finishes every request the downloader holds;
    with the site's concurrency equal to Scrapy's global limit (16) those are all in
    flight, so it takes at most 4 s, then stores its files: well within 7 s.
    """
    pages = [f"{base_url}/faults/slow.html?n={i}" for i in range(96)]
    return slow_site(base_url, name, start_urls=[f"{base_url}/", *pages], max_pages=120,
                     politeness={"delay": 0, "concurrency": 16, "autothrottle": False})


def service_config(tmp_path: Path, sites: list[dict], database: str = "",
                   **scheduler: Any) -> Path:
    settings = {"listen": f"127.0.0.1:{free_port()}", "stop_grace": 10, **scheduler}
    extra: dict[str, Any] = {"data_dir": str(tmp_path / "state"), "scheduler": settings}
    if database:
        extra["database"] = database
    return write_config(tmp_path, sites, storage=str(tmp_path / "archive"), **extra)


class ServiceProcess:
    """``warcwire serve`` in a child process, its log in a file."""

    def __init__(self, config: Path) -> None:
        self.config = config
        self.address = load_config(config).scheduler.listen
        self.log_path = config.parent / f"serve-{uuid.uuid4().hex[:6]}.log"
        with self.log_path.open("wb") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "warcwire.cli", "serve", "--config", str(config)],
                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                cwd=config.parent)
        wait_for(self._ready, 30, f"the service on {self.address}\n{self.log()}")

    def _ready(self) -> bool:
        if self.proc.poll() is not None:
            raise AssertionError(f"service exited with {self.proc.returncode}:\n{self.log()}")
        try:
            return call(self.address, "GET", "/health", timeout=2)[0] == 200
        except Exception:
            return False

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def get(self, path: str) -> Any:
        return call(self.address, "GET", path)

    def post(self, path: str) -> tuple[int, Any]:
        return call(self.address, "POST", path)

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 60) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)
            raise AssertionError(f"service did not stop within {timeout}s:\n{self.log()}"
                                 ) from None


@pytest.fixture(name="services")
def services_fixture() -> Iterator[list[ServiceProcess]]:
    """Collects started services and makes sure none outlives its test."""
    started: list[ServiceProcess] = []
    yield started
    for svc in started:
        if svc.proc.poll() is None:
            svc.proc.kill()
            svc.proc.wait(timeout=10)
    # crawl children are in their own sessions: kill any a failed test left behind
    for svc in started:
        for pid in _children_of_config(svc.config):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(pid, signal.SIGKILL)


def _children_of_config(config: Path) -> list[int]:
    snapshot = str(config.parent / "state" / "service" / "sites.yaml")
    pids = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                cmdline = (proc / "cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            if b"jobs.child" in cmdline and snapshot.encode() in cmdline:
                pids.append(int(proc.name))
    return pids


def history_of(config: Path) -> History:
    return History.from_url(load_config(config).database_url)


def finished_runs(history: History, site: str) -> list[Run]:
    return [r for r in history.runs(site=site, last=100) if r.outcome != "running"]


def postgres_available() -> str | None:
    """None if PostgreSQL answers on 127.0.0.1:5432, else the reason."""
    from sqlalchemy import create_engine, text

    try:
        engine = create_engine(PG_ADMIN, connect_args={"connect_timeout": 3})
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        engine.dispose()
    except Exception as exc:  # any failure means: skip, and say why
        return f"PostgreSQL not reachable at 127.0.0.1:5432 ({type(exc).__name__}: {exc})"
    return None


@pytest.fixture(name="state_db", params=["sqlite", "postgresql"])
def state_db_fixture(request: pytest.FixtureRequest) -> Iterator[str]:
    """'' (SQLite under data_dir) or the URL of a fresh PostgreSQL database, dropped after."""
    if request.param == "sqlite":
        yield ""
        return
    reason = postgres_available()
    if reason:
        pytest.skip(reason)
    from sqlalchemy import create_engine, text

    name = f"warcwire_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield f"postgresql://postgres@127.0.0.1:5432/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
