"""The progress line: what was fetched, what is queued, and the time left."""

from __future__ import annotations

from crawler.progress import progress_line


def test_progress_line_shows_queue_and_time_left() -> None:
    stats = {"response_received_count": 40, "scheduler/enqueued": 100,
             "scheduler/dequeued": 44, "warcwire/pages": 30, "warcwire/articles": 28,
             "warc/bytes": 1_500_000, "warcwire/errors/timeout": 2}
    assert progress_line(stats, 10.0) == (
        "fetched 40 (4.0/s)  queued 56  pages 30  articles 28  archived 1.5 MB  errors 2  "
        "10s  ~14s left")


def test_no_estimate_without_a_queue_or_a_rate() -> None:
    assert progress_line({}, 0.0) == (
        "fetched 0 (0.0/s)  queued 0  pages 0  articles 0  archived 0 B  errors 0  0s")
