"""Scrapy's downloader, with per-site concurrency that holds.

In Scrapy 2.19 ``Downloader._process_queue`` pops queued requests while
``slot.free_transfer_slots() > 0``, but a request only joins
``slot.transferring`` once its download coroutine starts running, on a later
turn of the event loop. With no download delay, every request queued for a
site at that moment is started at once: ``politeness.concurrency: 1`` let
three requests to one host run together. Reserving the transfer slot when the
download is scheduled makes the loop see it.
"""

from __future__ import annotations

from collections.abc import Coroutine
from typing import Any

from scrapy import Request
from scrapy.core.downloader import Downloader, Slot
from twisted.internet.defer import Deferred


class PoliteDownloader(Downloader):
    def _wait_for_download(self, slot: Slot, request: Request,
                           queue_dfd: Deferred[Any]) -> Coroutine[Any, Any, None]:
        slot.transferring.add(request)  # Downloader._download adds it again and removes it
        return super()._wait_for_download(slot, request, queue_dfd)
