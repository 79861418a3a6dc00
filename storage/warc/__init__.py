"""The WARC sink: every exchange the crawl archives goes through here.

* :mod:`~storage.warc.records` builds records (request, response, revisit,
  warcinfo) byte-faithful to the wire;
* :mod:`~storage.warc.files` writes them into rotating spool files with a CDXJ
  beside each finished one;
* :mod:`~storage.warc.exchange` turns one exchange into its records, deciding
  between a response and a revisit;
* :mod:`~storage.warc.messages`, :mod:`~storage.warc.process` and
  :mod:`~storage.warc.client` run the writer in a child process;
* :mod:`~storage.warc.sink` is what the capture middleware writes to.

No Scrapy here: ``crawler/wire.py`` turns Scrapy's request and response into an
:class:`Exchange`, ``crawler/warc_capture.py`` is the downloader middleware.
"""

from __future__ import annotations

from storage.warc.client import WarcWriterGone, WarcWriterProcess
from storage.warc.exchange import REDACTED_HEADER, Exchange, Original, Written, write_exchange
from storage.warc.files import RecordLocation, WarcRotatingWriter, is_disk_full
from storage.warc.sink import LocalWarcSink, WarcSink

__all__ = ["REDACTED_HEADER", "Exchange", "LocalWarcSink", "Original", "RecordLocation",
           "WarcRotatingWriter", "WarcSink", "WarcWriterGone", "WarcWriterProcess", "Written",
           "is_disk_full", "write_exchange"]
