"""warcwire contacts only the sites and the store it is configured for.

A crawl of a site that sets cookies (Scrapy's cookie handling looks up the
public suffix list, as surt does when indexing) runs in a network namespace
that has only loopback, with an audit hook in every Python process of the
crawl (the crawl, its WARC writer, its extraction workers) that notes each
name lookup and connection to anything but loopback.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

AUDIT = '''
import os, sys
_LOG = os.environ["WARCWIRE_TEST_NETLOG"]
_LOCAL = ("127.", "::1", "localhost")

def _note(what):
    with open(_LOG, "a") as f:
        f.write(f"{os.getpid()} {what}\\n")

def _hook(event, args):
    if event == "socket.getaddrinfo":
        host = args[0].decode() if isinstance(args[0], bytes) else str(args[0])
        if not host.startswith(_LOCAL):
            _note(f"lookup {host}")
    elif event == "socket.connect":
        address = args[1]
        if isinstance(address, tuple) and not str(address[0]).startswith(_LOCAL):
            _note(f"connect {address!r}")

sys.addaudithook(_hook)
'''


def test_a_crawl_with_cookies_and_indexing_reaches_nothing_but_loopback(tmp_path: Path) -> None:
    hook_dir = tmp_path / "hook"
    hook_dir.mkdir()
    (hook_dir / "sitecustomize.py").write_text(AUDIT, encoding="utf-8")
    netlog = tmp_path / "netlog.txt"
    netlog.touch()
    env = {**os.environ, "PYTHONPATH": f"{hook_dir}{os.pathsep}{REPO}",
           "WARCWIRE_TEST_NETLOG": str(netlog),
           # a cold tldextract cache: nothing cached that would hide a download
           "TLDEXTRACT_CACHE": str(tmp_path / "tldextract-cache")}
    env.pop("TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS", None)  # the product sets it, not us
    command = [sys.executable, "-m", "tests._offline_crawl", str(tmp_path)]
    if os.geteuid() == 0 and shutil.which("unshare") and shutil.which("ip"):
        # a network namespace of our own, with only loopback (up)
        command = ["unshare", "--net", "sh", "-c", 'ip link set lo up && exec "$@"', "sh",
                   *command]
    proc = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads((tmp_path / "result.json").read_text(encoding="utf-8"))
    assert result["crawl"]["exit"] == 0, result["crawl"]["stderr"][-3000:]
    assert result["reindex"]["exit"] == 0, result["reindex"]["stderr"][-3000:]
    assert "articles: 10 new" in result["crawl"]["stdout"]
    assert netlog.read_text(encoding="utf-8") == ""
    for verb in ("crawl", "reindex"):
        assert "public_suffix_list" not in result[verb]["stderr"].lower()
