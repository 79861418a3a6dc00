"""warcwire: scheduled news crawling into WARC archives with normalized article text."""

__version__ = "0.1.0"
