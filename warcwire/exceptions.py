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
