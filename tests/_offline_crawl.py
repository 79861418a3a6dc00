"""A crawl of a cookie-setting site, run by tests/test_no_phone_home.py inside a network
namespace that has only loopback: ``python -m tests._offline_crawl TMP``.

Writes TMP/result.json with the exit codes of ``warcwire crawl`` and ``warcwire reindex``
and their stderr.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.fixtures_site import site_entry, write_config
from warcwire.demo import sample_site_root
from warcwire.site_server import StaticSiteHandler, serve_site


class CookieSite(StaticSiteHandler):
    """Every page sets a cookie, so Scrapy's cookie middleware asks for the public suffix."""

    def send_body(self, status: int, body: bytes, ctype: str, **kwargs: object) -> None:
        extra = list(kwargs.pop("extra", None) or [])  # type: ignore[call-overload]
        extra.append(("Set-Cookie", "session=abc; Path=/; Domain=127.0.0.1"))
        super().send_body(status, body, ctype, extra=extra, **kwargs)  # type: ignore[arg-type]


def main(tmp: Path) -> None:
    results = {}
    with serve_site(sample_site_root(), handler=CookieSite) as base:
        config = write_config(tmp, [site_entry(base)], storage=str(tmp / "archive"))
        for verb in (["crawl", "sample-news"], ["reindex"]):
            proc = subprocess.run([sys.executable, "-m", "warcwire.cli", *verb, "--config",
                                   str(config)], capture_output=True, text=True, timeout=300)
            results[verb[0]] = {"exit": proc.returncode, "stdout": proc.stdout,
                                "stderr": proc.stderr[-20000:]}
    (tmp / "result.json").write_text(json.dumps(results), encoding="utf-8")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
