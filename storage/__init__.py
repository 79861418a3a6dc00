"""Archive storage: WARC writing, the local spool and backends chosen by URI scheme.

Synchronous and free of Scrapy imports so that the CLI, the scheduler and
restore can share it.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from storage.base import Store, StoredObject
from warcwire.exceptions import UnknownStorageScheme

# scheme -> "module:Class"; imported lazily so local use never needs boto3 loaded.
STORE_SCHEMES: dict[str, str] = {
    "": "storage.local:LocalStore",
    "file": "storage.local:LocalStore",
    "s3": "storage.s3:S3Store",
}


def check_uri(uri: str) -> None:
    """Raise ValueError saying what is wrong with a storage URI, before anything is crawled."""
    scheme = urlsplit(uri).scheme.lower() if "://" in uri else ""
    if scheme not in STORE_SCHEMES:
        raise ValueError(f"unknown storage scheme {scheme!r} in {uri!r}; use a folder path, "
                         "file:///folder or s3://bucket/prefix")
    if scheme == "s3" and not urlsplit(uri).netloc:
        raise ValueError(f"{uri!r} names no bucket; write s3://bucket or s3://bucket/prefix")
    if not uri.strip():
        raise ValueError("storage is empty; use a folder path or s3://bucket/prefix")


def get_store(uri: str) -> Store:
    """Build the backend for ``uri`` (a path, file://..., or s3://bucket/prefix)."""
    scheme = urlsplit(uri).scheme.lower() if "://" in uri else ""
    if scheme not in STORE_SCHEMES:
        raise UnknownStorageScheme(uri, sorted(s for s in STORE_SCHEMES if s))
    module_name, _, class_name = STORE_SCHEMES[scheme].partition(":")
    import importlib

    cls = getattr(importlib.import_module(module_name), class_name)
    return cls.from_uri(uri)


__all__ = ["STORE_SCHEMES", "Store", "StoredObject", "check_uri", "get_store"]
