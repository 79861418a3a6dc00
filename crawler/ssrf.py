"""Refuse to fetch internal addresses: a crawler in a cloud must not be steered to them.

A page can link or redirect to ``http://169.254.169.254/`` (cloud metadata),
``http://localhost:6379/`` or an office router; this downloader middleware
refuses every request whose host is, or resolves to, a non-public address.
Redirects, robots.txt and page assets are new requests through the same chain,
so they are checked too. Place it before robots.txt (100), e.g. at 50, so a
blocked host's robots.txt is not fetched either.

Settings::

    # networks a site may fetch although they are not public, e.g. ["127.0.0.1/32"]
    WARCWIRE_ALLOW_ADDRESSES = []

The check resolves the host itself and refuses if ANY answer is non-public.
Twisted then connects by name and resolves again, so a DNS server that
answers differently the second time (DNS rebinding) has a narrow window;
closing it would need connecting to the checked address, which Scrapy's
HTTP client does not offer.
"""

from __future__ import annotations

import ipaddress
import logging
import socket
from collections.abc import Iterable

from scrapy import Request
from scrapy.crawler import Crawler
from scrapy.exceptions import IgnoreRequest
from scrapy.utils.defer import maybe_deferred_to_future
from scrapy.utils.httpobj import urlparse_cached
from twisted.internet import threads

logger = logging.getLogger(__name__)

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network

_NAT64 = ipaddress.ip_network("64:ff9b::/96")


class BlockedAddress(IgnoreRequest):
    """A request refused because its host is, or resolves to, a non-public address."""

    def __init__(self, url: str, host: str, address: Address) -> None:
        via = "" if host == str(address) else f" ({host} resolves to it)"
        super().__init__(
            f"Refused to fetch {url}: {address} is {address_kind(address)}{via}; "
            f"a site may allow it with allow_addresses in sites.yaml"
        )
        self.url, self.host, self.address = url, host, address


def _unwrap(address: Address) -> Address:
    """The IPv4 address inside IPv4-mapped, 6to4 and NAT64 IPv6 addresses."""
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return address.ipv4_mapped
        if address.sixtofour is not None:
            return address.sixtofour
        if address in _NAT64:
            return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return address


def address_kind(address: Address) -> str:
    """'a loopback address', 'a private address', ... or 'a public address'."""
    address = _unwrap(address)
    for kind, flag in (("loopback", address.is_loopback),
                       ("unspecified", address.is_unspecified),
                       ("link-local", address.is_link_local),
                       ("multicast", address.is_multicast),
                       ("reserved", address.is_reserved),
                       ("private", address.is_private)):
        if flag:
            return f"a {kind} address"
    if isinstance(address, ipaddress.IPv6Address) and address.is_site_local:
        return "a site-local address"
    if not address.is_global:  # e.g. 100.64.0.0/10, carrier-grade NAT
        return "a non-public address"
    return "a public address"


def is_public(address: Address) -> bool:
    return address_kind(address) == "a public address"


class AddressGuardMiddleware:
    """Downloader middleware raising :class:`BlockedAddress` for non-public hosts."""

    def __init__(self, allow: Iterable[str] = ()) -> None:
        self.allow: list[Network] = [ipaddress.ip_network(n, strict=False) for n in allow]
        self._verdicts: dict[str, Address | None] = {}  # host -> first refused address

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> AddressGuardMiddleware:
        return cls(crawler.settings.getlist("WARCWIRE_ALLOW_ADDRESSES"))

    def allowed(self, address: Address) -> bool:
        return any(address in net or _unwrap(address) in net for net in self.allow) \
            or is_public(address)

    async def process_request(self, request: Request) -> None:
        parsed = urlparse_cached(request)
        if parsed.scheme not in ("http", "https") or not parsed.hostname:
            return
        host = parsed.hostname
        if host in self._verdicts:
            refused = self._verdicts[host]
        else:
            try:
                refused = await self._first_refused(host, parsed.port)
            except OSError:
                return  # the download fails with a DNS error, counted as such; not cached
            self._verdicts[host] = refused
        if refused is not None:
            blocked = BlockedAddress(request.url, host, refused)
            logger.warning("%s", blocked)
            raise blocked

    async def _first_refused(self, host: str, port: int | None) -> Address | None:
        try:
            addresses = [ipaddress.ip_address(host)]
        except ValueError:
            infos = await maybe_deferred_to_future(threads.deferToThread(
                socket.getaddrinfo, host, port or 80, type=socket.SOCK_STREAM))
            addresses = [ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]) for info in infos]
        return next((a for a in addresses if not self.allowed(a)), None)
