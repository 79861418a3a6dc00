"""The sites config: a YAML file validated into typed models.

One file describes the global settings (storage, spool, user agent, WARC
limits) and every site to crawl. Validation errors become a single
:class:`ConfigError` naming the file, the site and the field.
"""

from __future__ import annotations

import hashlib
import ipaddress
import re
from pathlib import Path
from typing import Annotated, Any

import yaml
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from warcwire import __version__, defaults
from warcwire.exceptions import ConfigError, UnknownSite

DEFAULT_USER_AGENT = f"warcwire/{__version__} (+https://github.com/warcwire/warcwire)"

_SIZE_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgt]?i?b?)?\s*$", re.IGNORECASE)
_UNITS = {"": 1, "b": 1, "k": 1000, "m": 1000**2, "g": 1000**3, "t": 1000**4,
          "ki": 1024, "mi": 1024**2, "gi": 1024**3, "ti": 1024**4}


def parse_size(value: Any) -> int:
    """Accept 1048576, "10MB", "1GiB"; sizes in config files are written by humans."""
    if isinstance(value, bool):
        raise ValueError("expected a size such as 1GB or 500MB")
    if isinstance(value, int):
        if value < 0:
            raise ValueError("size must not be negative")
        return value
    if isinstance(value, str):
        m = _SIZE_RE.match(value)
        if m:
            unit = (m.group(2) or "").lower().rstrip("b")
            if unit in _UNITS:
                return int(float(m.group(1)) * _UNITS[unit])
    raise ValueError(f"expected a size such as 1GB or 500MB, got {value!r}")


Size = Annotated[int, BeforeValidator(parse_size)]

_DURATION_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw]?)\s*$", re.IGNORECASE)
_SECONDS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def parse_duration(value: Any) -> float:
    """Seconds from 3600, "90s", "30m", "6h", "2d" or "1w"."""
    if isinstance(value, bool):
        raise ValueError("expected a duration such as 6h or 2d")
    if isinstance(value, int | float):
        if value < 0:
            raise ValueError("duration must not be negative")
        return float(value)
    if isinstance(value, str):
        m = _DURATION_RE.match(value)
        if m:
            return float(m.group(1)) * _SECONDS[m.group(2).lower()]
    raise ValueError(f"expected a duration such as 6h or 2d, got {value!r}")


Duration = Annotated[float, BeforeValidator(parse_duration)]

_CRON_FIELD = re.compile(r"^[\d*/,\-A-Za-z?]+$")


def _check_cron(expr: str) -> str:
    """5-field cron, or 6 with seconds first; values checked by building the trigger."""
    parts = expr.split()
    if len(parts) not in (5, 6) or not all(_CRON_FIELD.match(p) for p in parts):
        raise ValueError(
            "expected a cron expression of 5 fields (minute hour day month day-of-week, "
            f"e.g. '0 * * * *') or 6 (seconds first), got {expr!r}")
    from datetime import UTC, datetime

    from warcwire.cron import cron_trigger  # lazy: APScheduler is only needed for schedules

    trigger = cron_trigger(expr, "UTC")
    if trigger.get_next_fire_time(None, datetime.now(UTC)) is None:
        raise ValueError(f"the schedule {expr!r} never fires (no such date)")
    return expr


def _check_timezone(name: str) -> str:
    from warcwire.cron import parse_timezone

    parse_timezone(name)
    return name


def _check_selector(value: str) -> str:
    """Selectors are 'css:<expr>' or 'xpath:<expr>' so both kinds read the same way."""
    kind, _, expr = value.partition(":")
    if kind not in ("css", "xpath") or not expr.strip():
        raise ValueError(f"expected 'css:<selector>' or 'xpath:<expression>', got {value!r}")
    from parsel import Selector  # scrapy dependency; validates the expression itself

    try:
        sel = Selector(text="<html></html>")
        sel.css(expr) if kind == "css" else sel.xpath(expr)
    except Exception as exc:  # parsel raises several types for bad expressions
        raise ValueError(f"invalid {kind} selector {expr!r}: {exc}") from None
    return value


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Politeness(_Model):
    delay: float = Field(1.0, ge=0, description="Minimum seconds between requests to a domain.")
    concurrency: int = Field(2, ge=1, le=64, description="Parallel requests per domain.")
    autothrottle: bool = True
    obey_robots: bool = True


class Selectors(_Model):
    """Override extraction for sites where trafilatura guesses wrong."""

    title: str | None = None
    body: str | None = None
    date: str | None = None

    _check = field_validator("title", "body", "date")(
        lambda v: None if v is None else _check_selector(v)
    )


class Revisit(_Model):
    """Which known articles a run fetches again although the site gives no sign of change."""

    window: Duration = Field(2 * 86400, description=(
        "Re-check articles first seen within this long (news is corrected while young)."))
    interval: Duration = Field(6 * 3600, description=(
        "At most once per this long; 0 = every run."))


_SITE_NAME = re.compile(r"^[a-z0-9][a-z0-9_\-]{0,62}$")


def _check_site_name(name: str) -> str:
    if not _SITE_NAME.match(name):
        raise ValueError(
            "a site name is 1 to 63 lowercase letters, digits, '-' and '_', starting with a "
            f"letter or digit (it names folders and files), got {name!r}")
    return name


class SiteConfig(_Model):
    name: str
    start_urls: list[str] = []
    sitemaps: list[str] = []
    feeds: list[str] = []
    allowed_domains: list[str] = []
    article_patterns: list[str] = []
    follow_depth: int = Field(1, ge=0, le=20)
    max_pages: int = Field(1000, ge=1)
    page_assets: bool = Field(True, description="Also archive images and stylesheets of pages.")
    download_timeout: float = Field(30.0, gt=0, le=600)
    retries: int = Field(2, ge=0, le=10)
    politeness: Politeness = Politeness()
    selectors: Selectors = Selectors()
    schedule: str | None = None
    time_limit: int | None = Field(None, ge=1, description="Seconds; default scheduler.time_limit.")
    allow_addresses: list[str] = Field(
        [], description="Non-public networks this site may fetch, e.g. 127.0.0.1/32.")
    archive_credentials: bool = Field(
        False, description="Store Authorization and Cookie request headers unredacted.")
    revisit: Revisit = Revisit()
    strip_params: list[str] | None = Field(None, description=(
        "Query parameters (globs) removed from URLs before de-duplication; "
        "unset = the built-in tracking list (utm_*, fbclid, gclid, ...), [] = none."))

    _name = field_validator("name")(lambda v: _check_site_name(v))

    @field_validator("start_urls", "sitemaps", "feeds")
    @classmethod
    def _urls(cls, urls: list[str]) -> list[str]:
        for url in urls:
            if not re.match(r"^https?://[^/\s]+", url):
                raise ValueError(f"expected an http(s) URL, got {url!r}")
        return urls

    @field_validator("article_patterns")
    @classmethod
    def _patterns(cls, patterns: list[str]) -> list[str]:
        for p in patterns:
            try:
                re.compile(p)
            except re.error as exc:
                raise ValueError(f"invalid regular expression {p!r}: {exc}") from None
        return patterns

    @field_validator("allow_addresses")
    @classmethod
    def _networks(cls, networks: list[str]) -> list[str]:
        for n in networks:
            try:
                ipaddress.ip_network(n, strict=False)
            except ValueError:
                raise ValueError(
                    f"expected an IP address or network such as 127.0.0.1 or 10.0.0.0/8, "
                    f"got {n!r}") from None
        return networks

    @field_validator("schedule")
    @classmethod
    def _cron(cls, v: str | None) -> str | None:
        return None if v is None else _check_cron(v)

    @model_validator(mode="after")
    def _has_entry_points(self) -> SiteConfig:
        if not (self.start_urls or self.sitemaps or self.feeds):
            raise ValueError("a site needs at least one of start_urls, sitemaps or feeds")
        return self

    @property
    def domains(self) -> list[str]:
        """Allowed domains, defaulting to the hosts of the entry points."""
        if self.allowed_domains:
            return list(self.allowed_domains)
        from urllib.parse import urlsplit

        hosts = {urlsplit(u).hostname for u in self.start_urls + self.sitemaps + self.feeds}
        return sorted(h for h in hosts if h)


class WarcSettings(_Model):
    rotate_size: Size = Field(defaults.WARC_ROTATE_SIZE,
                              description="Start a new WARC after this many bytes.")
    max_body_size: Size = Field(
        defaults.WARC_MAX_BODY_SIZE,
        description="Cut (and mark WARC-Truncated) bodies larger than this.")
    prefix: str = Field(defaults.WARC_PREFIX, pattern=r"^[A-Za-z0-9_\-]+$")


class ExtractSettings(_Model):
    max_page_size: Size = Field(10_000_000, description=(
        "Pages larger than this are archived but not extracted (extract_too_large)."))
    timeout: Duration = Field(30, gt=0, description=(
        "Seconds one page's extraction may take; then it is given up (extract_timeout)."))


def _check_listen(value: str) -> str:
    host, sep, port = value.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"expected host:port such as 127.0.0.1:8740, got {value!r}")
    return value


class SchedulerSettings(_Model):
    listen: str = Field("127.0.0.1:8740", description="host:port of the control API.")
    max_parallel: int = Field(0, ge=0, description="Crawls at once; 0 = number of cores.")
    misfire_grace_time: int = Field(3600, ge=1, description="Seconds a missed run may be late.")
    time_limit: int = Field(21600, ge=1, description="Default seconds one crawl may take.")
    stop_grace: int = Field(60, ge=0, description="Seconds running crawls get on shutdown.")
    sweep_interval: int = Field(300, ge=0, description=(
        "Seconds between sweeps that store and index what waits in the spool "
        "(as warcwire sync does) while no crawl runs; 0 = no sweep."))

    _listen = field_validator("listen")(lambda v: _check_listen(v))


class ReviewSettings(_Model):
    listen: str = Field("127.0.0.1:8750", description="host:port of the review web page.")

    _listen = field_validator("listen")(lambda v: _check_listen(v))


class Config(_Model):
    storage: str = "./archive"
    data_dir: str = Field(".warcwire", description="State: database, job store, logs.")
    database: str = Field("", description="SQLAlchemy URL; empty = SQLite in data_dir.")
    spool_dir: str = ".warcwire/spool"
    user_agent: str = DEFAULT_USER_AGENT
    timezone: str = "UTC"
    warc: WarcSettings = WarcSettings()
    extract: ExtractSettings = ExtractSettings()
    scheduler: SchedulerSettings = SchedulerSettings()
    review: ReviewSettings = ReviewSettings()
    sites: list[SiteConfig] = Field(min_length=1)

    _timezone = field_validator("timezone")(lambda v: _check_timezone(v))

    @field_validator("storage")
    @classmethod
    def _storage(cls, uri: str) -> str:
        from storage import check_uri  # lazy: storage imports warcwire

        check_uri(uri)
        return uri

    # where the config came from, for messages and the warcinfo record
    path: str = Field("<memory>", exclude=True)
    digest: str = Field("", exclude=True)

    @field_validator("sites")
    @classmethod
    def _unique_names(cls, sites: list[SiteConfig]) -> list[SiteConfig]:
        seen: set[str] = set()
        for site in sites:
            if site.name in seen:
                raise ValueError(f"duplicate site name {site.name!r}")
            seen.add(site.name)
        return sites

    @property
    def database_url(self) -> str:
        """Run history, scheduler jobs and the capture catalog live here."""
        if self.database:
            return self.database
        return f"sqlite:///{Path(self.data_dir).resolve() / 'warcwire.db'}"

    def site(self, name: str) -> SiteConfig:
        for s in self.sites:
            if s.name == name:
                return s
        raise UnknownSite(name, [s.name for s in self.sites], self.path)


def _error_from_validation(path: str, raw: Any, exc: ValidationError) -> ConfigError:
    err = exc.errors()[0]
    loc = list(err["loc"])
    site = None
    if len(loc) >= 2 and loc[0] == "sites" and isinstance(loc[1], int):
        index = loc[1]
        sites = raw.get("sites") if isinstance(raw, dict) else None
        entry = sites[index] if isinstance(sites, list) and index < len(sites) else None
        name = entry.get("name") if isinstance(entry, dict) else None
        site = str(name) if name else f"#{index + 1}"
        loc = loc[2:]
    field = ".".join(str(p) for p in loc) or None
    msg = err["msg"]
    if err["type"] == "extra_forbidden":
        msg = "unknown field (check the spelling against the config reference in README.md)"
    elif err["type"] == "missing":
        msg = "required field is missing"
    elif msg.startswith("Value error, "):
        msg = msg[len("Value error, "):]
    return ConfigError(path, msg, site=site, field=field)


def parse_config(text: str, path: str = "<memory>") -> Config:
    """Validate config text; raise ConfigError naming the file, site and field."""
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or "invalid YAML"
        raise ConfigError(path, f"invalid YAML{where}: {problem}") from None
    if not isinstance(raw, dict):
        raise ConfigError(path, "expected a mapping with a 'sites' list at the top level")
    try:
        config = Config.model_validate(raw)
    except ValidationError as exc:
        raise _error_from_validation(path, raw, exc) from None
    digest = "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()
    return config.model_copy(update={"path": path, "digest": digest})


def _resolved(config: Config, folder: Path) -> Config:
    """Relative storage, spool and state folders, taken from the config file's folder.

    Otherwise a command run from another directory would quietly use (and create)
    other folders: an empty catalog, a spool no crawl writes to.
    """
    def absolute(value: str) -> str:
        return value if Path(value).expanduser().is_absolute() else str(folder / value)

    update = {"spool_dir": absolute(config.spool_dir), "data_dir": absolute(config.data_dir)}
    if "://" not in config.storage:
        update["storage"] = absolute(config.storage)
    return config.model_copy(update=update)


def config_from_text(text: str, path: str | Path) -> Config:
    """The config in ``text``, read from the file ``path``: relative paths are relative to it."""
    return _resolved(parse_config(text, str(path)), Path(path).resolve().parent)


def load_config(path: str | Path) -> Config:
    """Read and validate a sites config file; relative paths in it are relative to it."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(str(p), "file not found (pass --config PATH)") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(str(p), f"cannot read file: {exc}") from None
    return config_from_text(text, p)

