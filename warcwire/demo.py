"""``warcwire demo``: serve the bundled sample news site and crawl it.

Shows the whole pipeline on a fresh machine with no network: the site is
served on 127.0.0.1, crawled politely, archived as WARC and normalized. The
site keeps its address between runs, so a second demo is a real re-crawl.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from importlib import resources
from pathlib import Path

from jobs.crawl import RunSummary
from warcwire.config import load_config
from warcwire.site_server import serve_site

DEMO_SITE = "sample-news"
DEMO_CONFIG_NAME = "demo-sites.yaml"  # saved in the demo's data_dir
DEMO_PORT = 8741  # fixed, so runs share URLs; off the common dev ports (8000, 8080, 8888)


def sample_site_root() -> Path:
    return Path(str(resources.files("warcwire") / "sample_site" / "htdocs"))


def demo_config_text(base_url: str, storage: str, spool_dir: str,
                     data_dir: str = ".warcwire") -> str:
    text = (resources.files("warcwire") / "demo_sites.yaml").read_text(encoding="utf-8")
    text = text.replace("{{BASE_URL}}", base_url)
    text = text.replace("storage: ./archive", f"storage: {storage!r}")
    text = text.replace("data_dir: .warcwire", f"data_dir: {data_dir!r}")
    return text.replace("spool_dir: .warcwire/spool", f"spool_dir: {spool_dir!r}")


@contextmanager
def serve_demo_site(port: int = DEMO_PORT) -> Iterator[str]:
    """Serve the sample site on ``port``, or on a free one if it is in use; yields its URL."""
    with serve_site(sample_site_root(), port=port, fallback=True) as base_url:
        yield base_url


def run_demo(storage: str = "./archive", spool_dir: str = ".warcwire/spool",
             verbose: bool = False, progress: bool = True, port: int = DEMO_PORT,
             data_dir: str = ".warcwire") -> tuple[RunSummary, Path, str]:
    """Crawl the sample site; returns the summary, the config it used and the site URL.

    The config is saved as ``<data_dir>/demo-sites.yaml``, with absolute paths, so
    that the other commands (captures, restore, review, runs) find what the demo
    archived; run in the same folder they find that file without ``--config``.
    The run is recorded in the run history like any crawl by hand.
    """
    from jobs.record import crawl_and_record

    def absolute(path: str) -> str:
        return path if "://" in path else str(Path(path).expanduser().resolve())

    with serve_demo_site(port) as base_url:
        saved = Path(data_dir) / DEMO_CONFIG_NAME
        saved.parent.mkdir(parents=True, exist_ok=True)
        saved.write_text(demo_config_text(base_url, absolute(storage), absolute(spool_dir),
                                          absolute(data_dir)), encoding="utf-8")
        config = load_config(saved)
        summary = crawl_and_record(config, DEMO_SITE, progress=progress,
                                   log_level="DEBUG" if verbose else "WARNING")
    return summary, saved, base_url
