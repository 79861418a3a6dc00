"""Pieces shared by several verbs."""

from __future__ import annotations

import argparse
import os
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from jobs.crawl import RunSummary

from warcwire.humanize import human_bytes

RAW = argparse.RawDescriptionHelpFormatter


DEMO_CONFIG = os.path.join(".warcwire", "demo-sites.yaml")  # what `warcwire demo` saves


def default_config() -> str:
    """$WARCWIRE_CONFIG, else sites.yaml, else (in a demo's folder) the demo's config."""
    if "WARCWIRE_CONFIG" in os.environ:
        return os.environ["WARCWIRE_CONFIG"]
    if not os.path.exists("sites.yaml") and os.path.exists(DEMO_CONFIG):
        return DEMO_CONFIG
    return "sites.yaml"


def timestamp_arg(value: str) -> str:
    """A 14-digit UTC timestamp or a prefix of one, checked as argparse reads it."""
    digits = value.strip()
    if not digits.isdigit() or len(digits) > 14:
        raise argparse.ArgumentTypeError(
            f"expected a timestamp such as 20261125 or 20261125093000 (UTC, YYYYMMDDhhmmss "
            f"or a prefix of it), got {value!r}")
    return digits


def add_config_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", default=default_config(),
                        help="sites config (default: $WARCWIRE_CONFIG, else sites.yaml, else "
                             "the demo's .warcwire/demo-sites.yaml)")


def summary_lines(s: RunSummary) -> list[str]:
    """The end-of-run report a person reads after a crawl."""
    from jobs.history import describe_incremental

    errors = s.errors
    lines = [
        f"Crawled {s.site} (run {s.run_id}) in {s.elapsed:.1f}s",
        f"  pages {s.pages}   articles {s.articles}   assets {s.stats.get('warcwire/assets', 0)}   "
        f"archived {human_bytes(s.archived_bytes)}   errors {sum(errors.values())}",
    ]
    lines.append("  " + describe_incremental(s.incremental))
    skipped = {"robots.txt": s.stats.get("warcwire/skipped_robots", 0),
               "page budget": s.stats.get("warcwire/skipped_max_pages", 0)}
    if any(skipped.values()):
        lines.append("  skipped: " + ", ".join(f"{v} by {k}" for k, v in skipped.items() if v))
    if errors:
        lines.append("  errors by kind: " + ", ".join(f"{k} {v}" for k, v in errors.items()))
        failed = str(s.stats.get("warcwire/failed") or "").splitlines()
        lines += [f"    {line}" for line in failed[:5]]
        if len(failed) > 5 or sum(errors.values()) > len(failed[:5]):
            lines.append("    (the failed URLs: warcwire runs -v)")
    lines.append(f"  stored {len(s.stored)} file(s) in {s.storage}")
    lines += [f"    {loc}" for loc in s.stored]
    if s.finish_reason == "shutdown":
        lines.append("  STOPPED early by a signal: what was fetched until then is stored")
    if s.disk_full:
        lines.append(f"  DISK FULL: no space left in the spool {s.spool_dir} ({s.disk_full}); "
                     "the crawl stopped early, keeping what it wrote until then; free space "
                     "there or set spool_dir to a bigger disk")
    if s.recovered:
        lines.append(f"  recovered {len(s.recovered)} file(s) from an interrupted run")
        lines += [f"    {item}" for item in s.recovered]
    if s.not_indexed:
        lines.append(f"  NOT indexed: {len(s.not_indexed)} file(s); run 'warcwire reindex'")
        lines += [f"    {key}: {why}" for key, why in s.not_indexed]
    if s.kept:
        lines.append(f"  NOT stored: {len(s.kept)} file(s) kept in the spool {s.spool_dir}; "
                     "the next run uploads them")
        lines += [f"    {path}: {why}" for path, why in s.kept]
    return lines
