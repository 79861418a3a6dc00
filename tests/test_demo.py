"""`warcwire demo` as a newcomer runs it: twice in one folder, then the read-side commands."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.fixtures_site import free_port

REPO = Path(__file__).resolve().parent.parent


def warcwire(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "warcwire.cli", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=300,
                          env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO)})


def test_a_second_demo_is_an_incremental_recrawl_and_the_hints_work(tmp_path: Path) -> None:
    port = str(free_port())
    first = warcwire(tmp_path, "demo", "--port", port)
    assert first.returncode == 0, first.stderr[-3000:]
    assert "articles: 10 new, 0 changed" in first.stdout
    second = warcwire(tmp_path, "demo", "--port", port)
    assert second.returncode == 0, second.stderr[-3000:]
    assert "articles: 0 new, 0 changed, 0 unchanged, 10 not modified (304)" in second.stdout
    # the hints the demo prints work as printed, from the same folder
    assert f"  warcwire captures http://127.0.0.1:{port}/news/ --prefix\n" in second.stdout
    captures = warcwire(tmp_path, "captures", f"http://127.0.0.1:{port}/news/", "--prefix")
    assert captures.returncode == 0, captures.stderr
    assert "revisit: not modified (v1)" in captures.stdout
    runs = warcwire(tmp_path, "runs")
    assert runs.returncode == 0, runs.stderr
    assert len([line for line in runs.stdout.splitlines() if " sample-news " in line]) == 2
