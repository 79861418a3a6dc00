"""``warcwire demo``: serve the bundled sample news site and crawl it.

Shows the whole pipeline on a fresh machine with no network: the site is
served on 127.0.0.1, crawled politely, archived as WARC and normalized.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from jobs.crawl import RunSummary, run_site
from warcwire.config import parse_config
from warcwire.site_server import serve_site

DEMO_SITE = "sample-news"


def sample_site_root() -> Path:
    return Path(str(resources.files("warcwire") / "sample_site" / "htdocs"))


def demo_config_text(base_url: str, storage: str, spool_dir: str) -> str:
    text = (resources.files("warcwire") / "demo_sites.yaml").read_text(encoding="utf-8")
    text = text.replace("{{BASE_URL}}", base_url)
    text = text.replace("storage: ./archive", f"storage: {storage!r}")
    return text.replace("spool_dir: .warcwire/spool", f"spool_dir: {spool_dir!r}")


def run_demo(storage: str = "./archive", spool_dir: str = ".warcwire/spool",
             verbose: bool = False, progress: bool = True) -> tuple[RunSummary, Path, str]:
    """Crawl the sample site; returns the summary, the config it used and the site URL.

    The config is saved under the data dir so that the other commands
    (captures, restore, review) can be pointed at what the demo archived.
    """
    with serve_site(sample_site_root()) as base_url:
        text = demo_config_text(base_url, storage, spool_dir)
        config = parse_config(text, path="warcwire/demo_sites.yaml")
        summary = run_site(config, DEMO_SITE, progress=progress,
                           log_level="DEBUG" if verbose else "WARNING")
    saved = Path(config.data_dir) / "demo-sites.yaml"
    saved.parent.mkdir(parents=True, exist_ok=True)
    saved.write_text(text, encoding="utf-8")
    return summary, saved, base_url
