"""robots.txt, obeyed for every request.

Scrapy 2.19's RobotsTxtMiddleware hands the parsed robots.txt to the first
request that waits for it; every other request to that host arriving while
robots.txt is still downloading gets None and goes unchecked (the Deferred's
result is consumed by the first ``asFuture`` waiter). A crawl that starts
with several URLs of one site can then fetch disallowed pages. This subclass
gives each waiter its own copy of the result.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from scrapy.downloadermiddlewares.robotstxt import RobotsTxtMiddleware
from scrapy.http import Request
from scrapy.utils.defer import maybe_deferred_to_future
from scrapy.utils.httpobj import urlparse_cached
from twisted.internet.defer import Deferred

if TYPE_CHECKING:
    from scrapy.robotstxt import RobotParser


class SharedRobotsTxtMiddleware(RobotsTxtMiddleware):
    async def robot_parser(self, request: Request) -> RobotParser | None:
        pending = self._parsers.get(urlparse_cached(request).netloc)
        if isinstance(pending, Deferred):
            waiter: Deferred[RobotParser | None] = Deferred()

            def relay(result: RobotParser | None) -> RobotParser | None:
                waiter.callback(result)
                return result  # pass it on to the next waiter

            pending.addBoth(relay)
            return await maybe_deferred_to_future(waiter)
        return await super().robot_parser(request)
