"""Scrapy settings for warcwire crawls.

The module-level names are the project defaults (``scrapy.cfg`` points here).
:func:`crawl_settings` layers one site's config on top for a run.

warcwire's own settings, with their defaults:

- ``WARCWIRE_ALLOW_ADDRESSES`` (``[]``): non-public networks the crawl may fetch (SSRF guard).
- ``WARCWIRE_ARCHIVE_CREDENTIALS`` (``False``): store Authorization/Cookie request headers as sent.
- ``WARCWIRE_EXTRACT`` (``True``): extract articles during the crawl; off = archive only.
- ``WARCWIRE_EXTRACT_MAX_BYTES`` (``10_000_000``): larger pages are archived, not extracted.
- ``WARCWIRE_EXTRACT_TIMEOUT`` (``30``): seconds one page's extraction may take; then its
  worker is replaced and the page counted under ``extract_timeout``.
- ``WARCWIRE_EXTRACT_WORKERS`` (``-1``): extraction processes; -1 = one per core, 0 = inline.
- ``WARCWIRE_PROGRESS`` (``False``): show a progress line (the CLI turns it on).
- ``WARCWIRE_REVISIT_INTERVAL`` (``21600``): seconds before a young article is re-checked.
- ``WARCWIRE_REVISIT_WINDOW`` (``172800``): articles first seen this many seconds ago are young.
- ``WARCWIRE_PROGRESS_INTERVAL`` (``10``): seconds between progress log lines off a terminal.
- ``WARCWIRE_RUN_ID`` (``"run"``): identifies the run in WARC and JSONL names and records.
- ``WARCWIRE_SITE`` (``"default"``): site name; groups files in storage.
- ``WARCWIRE_SPOOL_DIR`` (required): local folder files are written to before upload.
- ``WARCWIRE_STATE_COMMIT_INTERVAL`` (``10``): seconds between crawl state commits.
- ``WARCWIRE_STATE_DATABASE`` (``""``): crawl state database URL; empty = every run is a
  first run (no conditional requests, revisits or article versions).
- ``WARCWIRE_STORAGE_URI`` (``""``): where finished files go; empty = no background upload.
- ``WARCWIRE_UPLOAD_INTERVAL`` (``60``): seconds between background uploads of rotated files.
- ``WARCWIRE_WARC_MAX_BODY_SIZE`` (``50_000_000``): bodies are cut here, marked WARC-Truncated.
- ``WARCWIRE_WARC_PREFIX`` (``"warcwire"``): first part of WARC file names.
- ``WARCWIRE_WARC_ROTATE_SIZE`` (``1_000_000_000``): start a new WARC after this many bytes.
- ``WARCWIRE_WARC_WRITER_PROCESS`` (``True``): write WARC records in a child process, off
  the reactor thread; False writes them in the crawl process.
- ``WARCWIRE_WARCINFO`` (``{}``): extra fields for each file's warcinfo record.
"""

from __future__ import annotations

from typing import Any

from warcwire import defaults
from warcwire.config import Config, SiteConfig

BOT_NAME = "warcwire"
SPIDER_MODULES = ["crawler.spiders"]
NEWSPIDER_MODULE = "crawler.spiders"

ROBOTSTXT_OBEY = True
AUTOTHROTTLE_ENABLED = True
AUTOTHROTTLE_START_DELAY = 1.0
AUTOTHROTTLE_TARGET_CONCURRENCY = 2.0
DOWNLOAD_DELAY = 1.0
CONCURRENT_REQUESTS = 16
CONCURRENT_REQUESTS_PER_DOMAIN = 2
# Scrapy's default of 100 starts that many item tasks per response; articles are one per page.
CONCURRENT_ITEMS = 16
DOWNLOAD_TIMEOUT = 30
RETRY_TIMES = 2
COOKIES_ENABLED = True
TELNETCONSOLE_ENABLED = False
LOG_LEVEL = "INFO"
FEED_EXPORT_ENCODING = "utf-8"

# Scrapy's own lets concurrency run past the per-site limit when no delay is set.
DOWNLOADER = "crawler.downloader.PoliteDownloader"

DOWNLOADER_MIDDLEWARES = {
    # Before robots.txt: a blocked host's robots.txt is not fetched either.
    "crawler.ssrf.AddressGuardMiddleware": 50,
    # Scrapy's own skips the check for requests made while robots.txt downloads.
    "scrapy.downloadermiddlewares.robotstxt.RobotsTxtMiddleware": None,
    "crawler.robotstxt.SharedRobotsTxtMiddleware": 100,
    # DOWNLOAD_MAXSIZE = 0 below would leave decompression unbounded (gzip bombs):
    # same place, same behaviour, but decoded bodies are capped.
    "scrapy.downloadermiddlewares.httpcompression.HttpCompressionMiddleware": None,
    "crawler.decoded_limit.BoundedHttpCompressionMiddleware": 590,
    # Above HttpCompression (590), Redirect (600) and Cookies (700): sees raw bodies,
    # unfollowed redirects and the final request headers.
    "crawler.warc_capture.WarcCaptureMiddleware": 950,
}
ITEM_PIPELINES = {"crawler.pipelines.NormalizerPipeline": 300}
EXTENSIONS = {
    "crawler.progress.Progress": 500,
    "crawler.uploader.SpoolUploader": 510,
    "crawler.state_recorder.CrawlStateRecorder": 520,
}

WARCWIRE_WARC_MAX_BODY_SIZE = defaults.WARC_MAX_BODY_SIZE
# Scrapy aborts (and loses) bodies over DOWNLOAD_MAXSIZE; keep it above our limit so
# the capture middleware cuts them first and archives the part it got.
DOWNLOAD_MAXSIZE = 0
DOWNLOAD_WARNSIZE = 0
# Redirect loops are otherwise dropped silently by the duplicate filter; this one counts them.
DUPEFILTER_CLASS = "crawler.dupefilter.CountingDupeFilter"


def crawl_settings(config: Config, site: SiteConfig, *, run_id: str, storage: str,
                   extract: bool = True, progress: bool = False) -> dict[str, Any]:
    """Settings for one run of one site, on top of this module's defaults."""
    p = site.politeness
    return {
        "USER_AGENT": config.user_agent,
        "ROBOTSTXT_OBEY": p.obey_robots,
        "AUTOTHROTTLE_ENABLED": p.autothrottle,
        "DOWNLOAD_DELAY": p.delay,
        "AUTOTHROTTLE_START_DELAY": max(p.delay, 0.1) if p.autothrottle else p.delay,
        "CONCURRENT_REQUESTS_PER_DOMAIN": p.concurrency,
        # the global cap must not undercut a site's own concurrency
        "CONCURRENT_REQUESTS": max(CONCURRENT_REQUESTS, p.concurrency),
        "DOWNLOAD_TIMEOUT": site.download_timeout,
        "RETRY_TIMES": site.retries,
        "WARCWIRE_SITE": site.name,
        "WARCWIRE_ALLOW_ADDRESSES": list(site.allow_addresses),
        "WARCWIRE_ARCHIVE_CREDENTIALS": site.archive_credentials,
        "WARCWIRE_RUN_ID": run_id,
        "WARCWIRE_SPOOL_DIR": config.spool_dir,
        "WARCWIRE_STATE_DATABASE": config.database_url,
        "WARCWIRE_REVISIT_WINDOW": site.revisit.window,
        "WARCWIRE_REVISIT_INTERVAL": site.revisit.interval,
        "WARCWIRE_STORAGE_URI": storage,
        "WARCWIRE_EXTRACT": extract,
        "WARCWIRE_EXTRACT_MAX_BYTES": config.extract.max_page_size,
        "WARCWIRE_EXTRACT_TIMEOUT": config.extract.timeout,
        "WARCWIRE_PROGRESS": progress,
        "WARCWIRE_WARC_PREFIX": config.warc.prefix,
        "WARCWIRE_WARC_ROTATE_SIZE": config.warc.rotate_size,
        "WARCWIRE_WARC_MAX_BODY_SIZE": config.warc.max_body_size,
        # site, run id, user agent and robots policy are added by the capture middleware
        "WARCWIRE_WARCINFO": {"isPartOf": site.name, "config-digest": config.digest},
    }
