"""Domain errors that build their own one-line, actionable message.

The CLI prints ``Error: <message>`` and exits with ``exit_code``; nothing here
should ever surface to a user as a traceback.
"""

from __future__ import annotations


class WarcwireError(Exception):
    """Base class: a failure we can explain to the user in one line."""

    exit_code = 1


class ConfigError(WarcwireError):
    """The sites config is unreadable or invalid; names file, site and field."""

    exit_code = 2

    def __init__(self, path: str, message: str, site: str | None = None,
                 field: str | None = None) -> None:
        self.path = path
        self.site = site
        self.field = field
        self.detail = message
        where = path
        if site is not None:
            where += f": site '{site}'"
        if field:
            where += f": field '{field}'"
        super().__init__(f"{where}: {message}")


class UnknownSite(WarcwireError):
    exit_code = 2

    def __init__(self, name: str, known: list[str], path: str) -> None:
        choices = ", ".join(known) or "(none)"
        super().__init__(f"No site named '{name}' in {path}. Configured sites: {choices}")


class StorageError(WarcwireError):
    """A store could not be reached or did not keep what we sent."""

    exit_code = 3


class UnknownStorageScheme(StorageError):
    exit_code = 2

    def __init__(self, uri: str, supported: list[str]) -> None:
        scheme = uri.split("://", 1)[0]
        super().__init__(
            f"Unknown storage scheme '{scheme}' in '{uri}'. Supported: {', '.join(supported)}"
        )


class VerificationError(StorageError):
    """An uploaded object does not match the local file (size or checksum)."""

    def __init__(self, location: str, reason: str) -> None:
        super().__init__(f"Stored object {location} failed verification: {reason}")


class CatalogError(WarcwireError):
    """The capture catalog database cannot be opened or queried."""


class StateError(WarcwireError):
    """The crawl state database failed (incremental archiving)."""


class CaptureNotFound(WarcwireError):
    """No capture matches a URL (or capture id) in the catalog."""

    def __init__(self, url: str, at: str | None = None, hint: str = "") -> None:
        self.url = url
        self.at = at
        when = f" at or near {at}" if at else ""
        hint = hint or "check the URL, or run 'warcwire reindex' to rebuild the catalog"
        super().__init__(f"No capture of {url}{when} in the catalog; {hint}")


class RestoreError(WarcwireError):
    """A capture was found but cannot be written out as asked."""


class UnsafeOutputPath(RestoreError):
    """An output file would land outside the folder it was meant for."""

    exit_code = 2

    def __init__(self, path: str, folder: str) -> None:
        super().__init__(f"Refusing to write {path}: it is outside the target folder {folder}")


class OutputExists(RestoreError):
    """Restore never overwrites a file unless asked to."""

    exit_code = 2

    def __init__(self, path: str) -> None:
        super().__init__(f"{path} already exists; pass --force to overwrite it")


class HistoryError(WarcwireError):
    """The state database (run history, job store) cannot be opened or written."""


class ServiceUnavailable(WarcwireError):
    """No ``warcwire serve`` answers at the configured control address."""

    def __init__(self, address: str, reason: str) -> None:
        super().__init__(f"No warcwire service answering at {address} ({reason}); start it "
                         "with 'warcwire serve', or check scheduler.listen in the config")


class ServiceRefused(WarcwireError):
    """The service answered but refused the request (already running, bad config...)."""

    def __init__(self, message: str, exit_code: int = 1) -> None:
        self.exit_code = exit_code
        super().__init__(message)


class AlreadyRunning(WarcwireError):
    """A crawl of the site is already running or waiting for a slot."""

    def __init__(self, site: str, since: str = "") -> None:
        since = f" (since {since})" if since else ""
        super().__init__(f"A crawl of '{site}' is already running{since}; "
                         "it was not started again")


class ListenError(WarcwireError):
    """The control API could not bind its address."""

    exit_code = 2

    def __init__(self, address: str, reason: str) -> None:
        super().__init__(f"Cannot listen on {address}: {reason}. Is another 'warcwire serve' "
                         "running? Change scheduler.listen in the config to use another port")
