"""The service's Prometheus metrics, written in the plain text exposition format.

A handful of counters and one histogram, kept in memory since the service
started (Prometheus handles counter resets); hand-written because the format is
a few lines and prometheus_client would be a dependency for that alone.
"""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Iterable

DURATION_BUCKETS = (10, 30, 60, 300, 900, 1800, 3600, 7200, 21600, float("inf"))

_HELP = {
    "warcwire_runs_total": ("counter", "Crawl runs that ended, by site, trigger and outcome."),
    "warcwire_runs_skipped_total": (
        "counter", "Scheduled runs not started, by site and reason (running, missed, stopping)."),
    "warcwire_pages_total": ("counter", "Pages fetched."),
    "warcwire_articles_total": ("counter", "Articles extracted."),
    "warcwire_archived_bytes_total": ("counter", "Bytes written to WARC files."),
    "warcwire_crawl_errors_total": ("counter", "Fetch errors during crawls."),
    "warcwire_run_duration_seconds": ("histogram", "Wall time of crawl runs."),
    "warcwire_running_crawls": ("gauge", "Crawls running now."),
    "warcwire_sites": ("gauge", "Sites in the active config."),
    "warcwire_next_run_timestamp_seconds": ("gauge", "Next scheduled run (Unix time)."),
    "warcwire_last_run_end_timestamp_seconds": ("gauge", "End of the last run (Unix time)."),
    "warcwire_last_run_ok": ("gauge", "1 if the site's last run ended ok, else 0."),
    "warcwire_config_reloads_total": ("counter", "Config reloads, by result (ok, refused)."),
}


def _labels(labels: dict[str, str]) -> str:
    if not labels:
        return ""
    esc = {k: str(v).replace("\\", r"\\").replace("\n", r"\n").replace('"', r"\"")
           for k, v in labels.items()}
    return "{" + ",".join(f'{k}="{v}"' for k, v in sorted(esc.items())) + "}"


def _num(value: float) -> str:
    if value == float("inf"):
        return "+Inf"
    return repr(float(value)) if isinstance(value, float) and not value.is_integer() else (
        str(int(value)))


class Metrics:
    """Thread-safe counters; :meth:`render` adds the service's current gauges."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counters: dict[str, dict[tuple[tuple[str, str], ...], float]] = defaultdict(
            lambda: defaultdict(float))
        self._durations: dict[str, list[float]] = defaultdict(
            lambda: [0.0] * len(DURATION_BUCKETS))
        self._duration_sum: dict[str, float] = defaultdict(float)
        self._duration_count: dict[str, int] = defaultdict(int)

    def inc(self, name: str, value: float = 1, **labels: str) -> None:
        with self._lock:
            self._counters[name][tuple(sorted(labels.items()))] += value

    def run_ended(self, site: str, trigger: str, outcome: str, *, pages: int, articles: int,
                  archived_bytes: int, errors: int, duration: float) -> None:
        self.inc("warcwire_runs_total", site=site, trigger=trigger, outcome=outcome)
        self.inc("warcwire_pages_total", pages, site=site)
        self.inc("warcwire_articles_total", articles, site=site)
        self.inc("warcwire_archived_bytes_total", archived_bytes, site=site)
        self.inc("warcwire_crawl_errors_total", errors, site=site)
        with self._lock:
            buckets = self._durations[site]
            for i, bound in enumerate(DURATION_BUCKETS):
                if duration <= bound:
                    buckets[i] += 1
            self._duration_sum[site] += duration
            self._duration_count[site] += 1

    def render(self, gauges: Iterable[tuple[str, dict[str, str], float]] = ()) -> str:
        """The exposition text: counters, the duration histogram, then ``gauges``."""
        samples: dict[str, list[str]] = defaultdict(list)
        with self._lock:
            for name, series in self._counters.items():
                for key, value in sorted(series.items()):
                    samples[name].append(f"{name}{_labels(dict(key))} {_num(value)}")
            hist = "warcwire_run_duration_seconds"
            for site in sorted(self._durations):
                for bound, count in zip(DURATION_BUCKETS, self._durations[site], strict=True):
                    samples[hist].append(
                        f"{hist}_bucket{_labels({'site': site, 'le': _num(bound)})} "
                        f"{_num(count)}")
                samples[hist].append(f"{hist}_sum{_labels({'site': site})} "
                                     f"{_num(self._duration_sum[site])}")
                samples[hist].append(f"{hist}_count{_labels({'site': site})} "
                                     f"{self._duration_count[site]}")
        for name, labels, value in gauges:
            samples[name].append(f"{name}{_labels(labels)} {_num(value)}")
        lines: list[str] = []
        for name, (kind, text) in _HELP.items():
            if name in samples or kind == "counter":
                lines += [f"# HELP {name} {text}", f"# TYPE {name} {kind}"]
                lines += samples.get(name, [])
        return "\n".join(lines) + "\n"
