"""warcwire: scheduled news crawling into WARC archives with normalized article text."""

import os

__version__ = "0.1.0"

# tldextract (used by Scrapy's cookie handling and by surt) downloads the Public Suffix
# List from the internet on first use. A crawler must contact only the sites and the
# store it is configured for, so it uses the copy bundled with tldextract. Set before
# tldextract is imported anywhere: every warcwire process imports this package first.
os.environ.setdefault("TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS", "")
